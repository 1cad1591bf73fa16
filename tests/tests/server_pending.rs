//! A statement stored before any checkpoint covers it, over real processes:
//! with `sync_wait_ms = 0` the server answers `POST /entries` with 303 to
//! the statement's URL (and each stored item of `POST /entries/batch`
//! likewise), the URL answers 202 while no witnessed checkpoint covers the
//! statement (if it is asked that soon) and then serves its receipt, and the `provlog` client follows
//! the 303 to a verified receipt. Spec: `spec/http-api.md` ("Submitting"),
//! `spec/client.md`.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::keyfile;
use provlog_ledger::note::Ed25519Signer;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::Statement;
use provlog_tests::audit;
use provlog_tests::chain::hours_ago;
use provlog_tests::server::{to_response, Setup, TestLog, Tuning};
use provlog_tests::{workspace_binary, HttpResponse};
use std::process::Command;
use std::time::{Duration, Instant};

/// A new statement by the farm.
fn statement(log: &TestLog, serial: &str) -> Statement {
    let farm = &log.parties.farm;
    log.sign(farm, &log.commission(farm, &[farm.sgtin("107346", serial)], &hours_ago(1.0)))
}

/// `POST` without following redirects: the 303 itself is what is tested.
fn post(log: &TestLog, path: &str, content_type: &str, body: Vec<u8>) -> HttpResponse {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client");
    to_response(
        client.post(log.url(path)).header("content-type", content_type).body(body).send().expect("POST"),
    )
}

/// Polls `location` until it serves a receipt; every answer before that is
/// 202 with `Retry-After`. Returns the receipt.
fn receipt_at(log: &TestLog, location: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = log.get(location);
        match r.status {
            200 => {
                assert_eq!(r.header("content-type"), Some("text/x.tlog-proof; charset=utf-8"));
                return r.text();
            }
            202 => assert!(r.header("retry-after").is_some(), "202 without Retry-After"),
            other => panic!("{location}: {other} {}", r.text()),
        }
        assert!(Instant::now() < deadline, "{location} still pending after 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_statement_no_checkpoint_covers_yet_answers_303_and_its_url_serves_the_receipt() {
    // A witness slower than its timeout would block publication and turn
    // the 303 into a 503: the timeout is generous.
    let tuning = Tuning { sync_wait_ms: 0, witness_timeout_ms: 10_000, ..Tuning::default() };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).witnesses(2, 2).tuning(tuning));

    // One statement: 303, pointing at its own URL, with its index.
    let s = statement(&log, "pending-1");
    let r = post(&log, "/entries", "application/cose", s.as_bytes().to_vec());
    assert_eq!(r.status, 303, "{}", r.text());
    let location = format!("/entries/{}", s.id());
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.header("retry-after"), Some("1"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("a JSON body");
    assert_eq!(
        (body["status"].as_str(), body["id"].as_str()),
        (Some("pending"), Some(location[9..].as_ref()))
    );
    let index = body["index"].as_u64().expect("an index");
    let receipt = receipt_at(&log, &location);
    let verified = audit::verify_receipt(&receipt, &log.origin, &log.log_vkey, log.policy.as_ref(), &s)
        .unwrap_or_else(|e| panic!("the receipt does not verify: {e:#}\n{receipt}"));
    assert_eq!(verified.index, index, "the receipt is for the index the 303 named");
    assert_eq!(verified.cosigners.len(), 2);
    // Submitted again, it is present: the receipt at once (sync wait or
    // not, a published checkpoint covers it now).
    let again = post(&log, "/entries", "application/cose", s.as_bytes().to_vec());
    assert_eq!(again.status, 200, "{}", again.text());

    // A batch: every stored item is a 303 of its own.
    let batch: Vec<Statement> = (0..3).map(|i| statement(&log, &format!("pending-batch-{i}"))).collect();
    let body = cbor::encode(&Cbor::Array(batch.iter().map(|s| Cbor::bytes(s.as_bytes())).collect()));
    let r = post(&log, "/entries/batch", "application/cbor", body);
    assert_eq!(r.status, 200, "{}", r.text());
    let items: Vec<serde_json::Value> = serde_json::from_slice(&r.body).expect("a JSON array");
    assert_eq!(items.len(), 3);
    let mut indexes = Vec::new();
    for (item, s) in items.iter().zip(&batch) {
        assert_eq!(item["status"], 303, "{item}");
        assert_eq!(item["id"], s.id().to_string());
        assert_eq!(item["location"], format!("/entries/{}", s.id()));
        assert!(item.get("receipt").is_none(), "{item}");
        let receipt = receipt_at(&log, item["location"].as_str().unwrap());
        let v = audit::verify_receipt(&receipt, &log.origin, &log.log_vkey, log.policy.as_ref(), s)
            .unwrap_or_else(|e| panic!("the receipt does not verify: {e:#}\n{receipt}"));
        assert_eq!(Some(v.index), item["index"].as_u64(), "{item}");
        indexes.push(v.index);
    }
    assert!(indexes.windows(2).all(|w| w[1] == w[0] + 1), "one batch, consecutive indexes: {indexes:?}");
    log.verify();
}

#[test]
fn the_client_follows_a_303_to_a_verified_receipt() {
    // A witness slower than its timeout would block publication and turn
    // the 303 into a 503: the timeout is generous.
    let tuning = Tuning { sync_wait_ms: 0, witness_timeout_ms: 10_000, ..Tuning::default() };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).witnesses(2, 2).tuning(tuning));
    let dir = log.dir.path();
    let farm = &log.parties.farm;
    let key = dir.join("farm.key");
    keyfile::write(&key, &Ed25519Signer::new(&farm.id, farm.key.clone()).expect("a key name"))
        .expect("write the farm's key file");
    let policy = dir.join("witnesses.policy");

    // One POST /entries per statement, then one batch of three, each run
    // with new events. The first answer for each new statement can only be
    // a 303 (sync_wait_ms = 0; the test above shows it), so a run that
    // ends with every receipt stored and verified followed them.
    for (batch, run) in [("1", "single"), ("3", "batch")] {
        let events: Vec<serde_json::Value> = (0..3)
            .map(|i| log.commission(farm, &[farm.sgtin("107346", &format!("{run}-{i}"))], &hours_ago(1.0)))
            .collect();
        let document = serde_json::json!({
            "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": hours_ago(0.5),
            "epcisBody": {"eventList": events},
        });
        let input = dir.join(format!("{run}.json"));
        std::fs::write(&input, serde_json::to_vec(&document).unwrap()).unwrap();
        let receipts = dir.join(format!("receipts-{run}"));
        let out = Command::new(workspace_binary("provlog"))
            .args(["--json", "submit", "--policy"])
            .arg(&policy)
            .args(["--log", &log.url(""), "--batch", batch, "--key"])
            .arg(&key)
            .arg("--receipts")
            .arg(&receipts)
            .arg(&input)
            .output()
            .expect("run provlog");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<serde_json::Value> =
            stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        for line in &lines {
            assert_eq!(line["status"], "registered", "{line}");
            let id = line["statement_id"].as_str().expect("a statement ID");
            let stored = receipts.join(format!("{id}.tlog-proof"));
            assert!(stored.is_file(), "{} missing", stored.display());
        }
    }
    log.verify();
}
