//! A partner submits GS1's example events to the real `provlog-server
//! --dev` (two witness processes, quorum both) with `provlog submit`, and
//! verifies every receipt offline with `provlog verify`, with the server
//! stopped. Re-running the submission registers nothing new.

mod support;

use provlog_client::TrustPolicy;
use std::path::PathBuf;
use support::{gs1_examples, provlog, DevLog};

fn receipts_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tlog-proof"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_partner_submits_every_gs1_example_and_verifies_every_receipt_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = DevLog::start(&tmp.path().join("dev"));
    let policy = log.policy();
    let key = log.partner_key("farm");
    let receipts = tmp.path().join("receipts");
    let examples = gs1_examples();
    assert!(examples.len() >= 40, "{} GS1 example files", examples.len());

    let (mut registered, mut refused) = (std::collections::BTreeSet::new(), Vec::new());
    for file in &examples {
        let run = provlog(&[
            "--json".as_ref(),
            "submit".as_ref(),
            "--policy".as_ref(),
            policy.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
            "--receipts".as_ref(),
            receipts.as_os_str(),
            file.as_os_str(),
        ]);
        assert!(run.code == 0 || run.code == 5, "{}: {run:?}", file.display());
        for item in run.json_lines() {
            match item["status"].as_str().unwrap() {
                // A file may repeat another's event exactly: the same
                // statement, answered as already present.
                "registered" => {
                    registered.insert(item["statement_id"].as_str().unwrap().to_owned());
                }
                "refused" => refused.push((file.clone(), item["rule"].as_str().unwrap_or("").to_owned())),
                other => panic!("{other}: {item}"),
            }
        }
        assert_eq!(run.code == 5, run.json_lines().iter().any(|i| i["status"] == "refused"), "{run:?}");
    }
    // Every GS1 example event is registered (the dev log's rule set is
    // permissive: what a strict one would refuse is flagged). Some files
    // repeat another's event verbatim (with a comment, with headers…): the
    // same statement, answered as already present.
    eprintln!("{} statements registered; refused: {refused:?}", registered.len());
    assert!(refused.is_empty(), "{refused:?}");
    assert!(registered.len() >= 45, "{} registered", registered.len());
    let size = 1 + registered.len() as u64;
    assert_eq!(log.published_size(), Some(size));

    // The whole log, from its tiles, against its witnessed checkpoint.
    let trust = TrustPolicy::load(&policy).unwrap();
    let report = provlog_client::verify_log(&log.url(), &trust).unwrap();
    assert_eq!(report.size, size);
    assert_eq!(report.checkpoint.cosigners.len(), 2);

    // Offline: the log is stopped.
    log.stop();
    let files = receipts_in(&receipts);
    assert_eq!(files.len(), registered.len());
    let mut args = vec!["--json".into(), "verify".into(), "--policy".into(), policy.clone().into_os_string()];
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    let run = provlog(&args);
    run.expect(0);
    let results = run.json_lines();
    assert_eq!(results.len(), files.len());
    for r in &results {
        assert_eq!(r["verified"], true, "{r}");
        assert_eq!(r["proves"]["iss"], "urn:epc:id:pgln:0614141.00001");
        assert_eq!(r["proves"]["cosigners"].as_array().unwrap().len(), 2);
        let id = r["proves"]["statement_id"].as_str().unwrap();
        assert!(r["receipt"].as_str().unwrap().ends_with(&format!("{id}.tlog-proof")));
    }

    // With the statement: the receipt holds exactly it, and no other.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(receipts.join("submitted.json")).unwrap()).unwrap();
    let first = record["statements"]
        .as_object()
        .unwrap()
        .values()
        .find(|s| registered.contains(s["id"].as_str().unwrap()))
        .unwrap();
    let stmt = tmp.path().join("one.cose");
    use base64::Engine as _;
    std::fs::write(
        &stmt,
        base64::engine::general_purpose::STANDARD.decode(first["statement"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let mine = receipts.join(format!("{}.tlog-proof", first["id"].as_str().unwrap()));
    let other = files.iter().find(|f| **f != mine).unwrap();
    provlog(&[
        "verify".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--statement".as_ref(),
        stmt.as_os_str(),
        mine.as_os_str(),
    ])
    .expect(0);
    let run = provlog(&[
        "verify".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--statement".as_ref(),
        stmt.as_os_str(),
        other.as_os_str(),
    ]);
    run.expect(1);
    assert!(run.stdout.contains("NOT VERIFIED"), "{run:?}");

    // A receipt with one altered proof hash is not verified (1); a
    // truncated one is malformed (2).
    let text = std::fs::read_to_string(&mine).unwrap();
    let altered = tmp.path().join("altered.tlog-proof");
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let proof_line = lines.iter().position(|l| l.len() == 44).expect("a proof line");
    lines[proof_line] = format!("{}=", "A".repeat(43));
    std::fs::write(&altered, lines.join("\n")).unwrap();
    provlog(&["verify".as_ref(), "--policy".as_ref(), policy.as_os_str(), altered.as_os_str()]).expect(1);
    let truncated = tmp.path().join("truncated.tlog-proof");
    std::fs::write(&truncated, &text[..60]).unwrap();
    provlog(&["verify".as_ref(), "--policy".as_ref(), policy.as_os_str(), truncated.as_os_str()]).expect(2);
    // A receipt file that is not there is malformed input too (2), also
    // after a good one; and a missing policy file is the same mistake.
    let missing = tmp.path().join("missing.tlog-proof");
    let run = provlog(&[
        "verify".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        mine.as_os_str(),
        missing.as_os_str(),
    ]);
    run.expect(2);
    assert!(run.stdout.contains("verified  ") && run.stdout.contains("NOT VERIFIED"), "{run:?}");
    provlog(&["verify".as_ref(), "--policy".as_ref(), missing.as_os_str(), mine.as_os_str()]).expect(2);
    // Under a policy whose quorum is a witness that did not cosign, the same
    // receipt is not verified.
    let other_policy = tmp.path().join("other.policy");
    let p = std::fs::read_to_string(&policy).unwrap();
    let log_line = p.lines().next().unwrap();
    std::fs::write(
        &other_policy,
        format!(
            "{log_line}\nwitness w1 {}\nquorum w1\n",
            provlog_client::keys::generate("w1.elsewhere", &tmp.path().join("w.key")).unwrap().witness_vkey
        ),
    )
    .unwrap();
    provlog(&["verify".as_ref(), "--policy".as_ref(), other_policy.as_os_str(), mine.as_os_str()]).expect(1);

    // Submitting everything again, one by one and in batches, registers
    // nothing new: the same statements are answered with their entries.
    log.restart();
    for (i, file) in examples.iter().enumerate() {
        let batch = if i % 2 == 0 { "1" } else { "16" };
        let run = provlog(&[
            "--json".as_ref(),
            "submit".as_ref(),
            "--policy".as_ref(),
            policy.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
            "--receipts".as_ref(),
            receipts.as_os_str(),
            "--batch".as_ref(),
            batch.as_ref(),
            file.as_os_str(),
        ]);
        for item in run.json_lines() {
            if item["status"] == "registered" {
                assert_eq!(item["created"], false, "{}: {item}", file.display());
            }
        }
    }
    assert_eq!(log.published_size(), Some(size));
    assert_eq!(receipts_in(&receipts).len(), registered.len());
}
