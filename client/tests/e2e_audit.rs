//! Auditing the real `provlog-server --dev` with `provlog audit`: following
//! the log while statements arrive; refusing a forked log (the same keys,
//! another history, served at the same URL) as a fork, with `audit` and
//! with `verify --fresh`, and a stopped server as a transport failure.

mod support;

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use support::{event_json, provlog, provlog_bin, DevLog, Run};

fn os(s: impl AsRef<std::ffi::OsStr>) -> OsString {
    s.as_ref().to_owned()
}

/// Submits one event (serial `n`) as the farm, with receipts in `receipts`.
fn submit(log: &DevLog, n: u64, receipts: &Path) -> Run {
    let file = receipts.with_extension(format!("{n}.json"));
    std::fs::write(&file, event_json(n)).unwrap();
    let run = provlog(&[
        os("submit"),
        os("--policy"),
        os(log.policy()),
        os("--key"),
        os(log.partner_key("farm")),
        os("--receipts"),
        os(receipts),
        os(&file),
    ]);
    run.expect(0);
    run
}

fn audit(log: &DevLog, state: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        os("--json"),
        os("--retries"),
        os("1"),
        os("audit"),
        os("--policy"),
        os(log.policy()),
        os("--state"),
        os(state),
    ];
    args.extend(extra.iter().map(os));
    provlog(&args)
}

fn verify_fresh(log: &DevLog, receipts: &[std::path::PathBuf]) -> Run {
    let mut args = vec![
        os("--json"),
        os("--retries"),
        os("1"),
        os("verify"),
        os("--fresh"),
        os("--policy"),
        os(log.policy()),
    ];
    args.extend(receipts.iter().map(os));
    provlog(&args)
}

fn receipts_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tlog-proof"))
        .collect();
    v.sort();
    v
}

#[test]
fn an_auditor_following_the_log_reports_consistency_over_many_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let log = DevLog::start(&tmp.path().join("dev"));
    let state = tmp.path().join("audit.json");
    // The auditor follows in its own process, replaying every decision.
    let auditor = Command::new(provlog_bin())
        .args(["--json", "audit", "--replay", "--follow", "--interval", "0.2", "--rounds", "60", "--policy"])
        .arg(log.policy())
        .arg("--state")
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let receipts = tmp.path().join("receipts");
    // Statements keep arriving, one at a time, while it follows.
    for n in 0..24 {
        submit(&log, n, &receipts);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = auditor.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    run.expect(0);
    let rounds = run.json_lines();
    assert_eq!(rounds.len(), 60, "one line per round");
    let mut sizes: Vec<u64> =
        rounds.iter().map(|r| r["new_size"].as_u64().expect("no failed round")).collect();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    sizes.dedup();
    let proved = rounds.iter().filter(|r| r["consistency"].get("proved").is_some()).count();
    eprintln!("the auditor verified checkpoints of sizes {sizes:?}");
    assert!(sizes.len() >= 6, "the auditor saw only the sizes {sizes:?}");
    assert_eq!(proved, sizes.len() - 1, "every new checkpoint after the first was proved consistent");
    for r in &rounds {
        assert_eq!(r["replay"]["replayed_total"], r["new_size"], "{r}");
    }

    // A last round catches up with the end, and the state file counts the
    // checkpoints and proofs.
    let run = audit(&log, &state, &["--replay", "--once"]);
    run.expect(0);
    let last = &run.json_lines()[0];
    assert_eq!(last["new_size"].as_u64(), log.published_size());
    assert_eq!(last["new_size"], 25);
    assert!(last["checkpoints"].as_u64().unwrap() >= 6, "{last}");
    assert!(last["consistency_proofs"].as_u64().unwrap() >= 5, "{last}");
}

#[test]
fn a_forked_log_is_refused_as_a_fork_and_a_stopped_one_as_a_transport_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let mut honest = DevLog::start(&tmp.path().join("honest"));
    let early = tmp.path().join("early");
    for n in 0..3 {
        submit(&honest, n, &early);
    }
    // A copy of the log as it stands, with its keys and its witnesses'
    // state: what an operator (or a compromised host with restored
    // witnesses) could continue differently.
    honest.stop();
    let fork_dir = honest.copy_to(&tmp.path().join("fork"));
    honest.restart();
    let late = tmp.path().join("late");
    for n in 3..6 {
        submit(&honest, n, &late);
    }
    let state = tmp.path().join("audit.json");
    audit(&honest, &state, &["--once", "--replay"]).expect(0);
    let all: Vec<_> = receipts_in(&early).into_iter().chain(receipts_in(&late)).collect();
    verify_fresh(&honest, &all).expect(0);

    // The server is down: a transport failure (3), never "not verified".
    honest.stop();
    let run = audit(&honest, &state, &["--once"]);
    run.expect(3);
    assert_eq!(run.json_lines()[0]["kind"], "transport");
    verify_fresh(&honest, &all).expect(3);

    // The fork takes the honest log's place at the same URL, with the same
    // log key and witness keys, and grows past it with other entries.
    let mut fork = DevLog::stopped(&fork_dir, honest.port);
    fork.restart();
    let other = tmp.path().join("other");
    for n in 100..106 {
        submit(&fork, n, &other);
    }
    assert!(fork.published_size().unwrap() > 7);

    let run = audit(&fork, &state, &["--once", "--replay"]);
    run.expect(4);
    let e = &run.json_lines()[0];
    assert_eq!(e["kind"], "verification");
    assert_eq!(e["fork"], true);
    assert!(e["error"].as_str().unwrap().contains("consistency proof from size 7"), "{e}");
    // The state still holds the honest checkpoint: a re-run refuses again.
    audit(&fork, &state, &["--once"]).expect(4);

    // Receipts from after the fork point are refused as a fork; those
    // from before it are still consistent with the fork's history.
    let run = verify_fresh(&fork, &receipts_in(&late));
    run.expect(4);
    assert!(run.json_lines().iter().all(|r| r["error"]["fork"] == true), "{}", run.stdout);
    verify_fresh(&fork, &receipts_in(&early)).expect(0);
    // Offline, a receipt cannot tell: it proves inclusion in its own
    // checkpoint, nothing about later ones (spec/client.md).
    let mut args = vec![os("verify"), os("--policy"), os(fork.policy())];
    args.extend(receipts_in(&late).iter().map(os));
    provlog(&args).expect(0);

    drop(fork);
}
