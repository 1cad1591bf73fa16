//! The log side of witnessing, over real processes: a log with three
//! `provlog-witness` processes and a 2-of-3 policy keeps publishing while
//! one witness is dead or hangs; with two down, submissions wait and then
//! fail with 503 `log.witness-quorum` instead of getting unwitnessed
//! receipts, and recover when a witness comes back; witnesses restarted
//! from their data directories (and a restarted log, which has forgotten
//! their sizes and resynchronizes on 409) keep cosigning the same log; every
//! receipt carries the quorum's cosignatures. Spec: `spec/witness.md`,
//! `spec/http-api.md`.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::Statement;
use provlog_tests::chain::hours_ago;
use provlog_tests::problem::problem;
use provlog_tests::server::{Setup, TestLog, Tuning};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A new statement by the farm.
fn statement(log: &TestLog, serial: &str) -> Statement {
    let farm = &log.parties.farm;
    log.sign(farm, &log.commission(farm, &[farm.sgtin("107346", serial)], &hours_ago(1.0)))
}

/// Registers a new statement (201) and returns the sorted cosigners of its receipt.
fn cosigners(log: &TestLog, serial: &str) -> Vec<String> {
    let mut c = log.register(&statement(log, serial)).cosigners;
    c.sort();
    c
}

#[test]
fn two_of_three_witnesses_keep_the_log_publishing_and_none_is_skipped_unwitnessed() {
    let tuning = Tuning { sync_wait_ms: 2000, witness_timeout_ms: 4000, ..Tuning::default() };
    let mut log = TestLog::start(Setup::new(RuleSet::permissive("p")).witnesses(3, 2).tuning(tuning));

    // All three up: every receipt carries at least two cosignatures.
    for i in 0..3 {
        assert!(cosigners(&log, &format!("all-{i}")).len() >= 2);
    }

    // w3 dead: the other two keep the log publishing.
    log.witnesses[2].kill();
    for i in 0..3 {
        assert_eq!(cosigners(&log, &format!("w3-dead-{i}")), ["w1", "w2"]);
    }
    // w3 hung (accepts connections, never answers): not waited for either.
    let black_hole = TcpListener::bind(log.witnesses[2].addr).expect("w3's port");
    for i in 0..3 {
        let started = Instant::now();
        assert_eq!(cosigners(&log, &format!("w3-hung-{i}")), ["w1", "w2"]);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(3000), "a hung witness held publication for {took:?}");
    }
    drop(black_hole);

    // w2 dead too: no quorum. The statement is sequenced, but nobody gets a
    // receipt for it: the submitter waits `sync_wait_ms`, then 503.
    log.witnesses[1].kill();
    let published = log.published_size();
    let stuck = statement(&log, "no-quorum");
    let started = Instant::now();
    let r = log.submit(&stuck);
    let waited = started.elapsed();
    let p = problem(&r);
    assert_eq!((p.status, p.rule.as_str()), (503, "log.witness-quorum"), "{p:?}");
    assert!(r.header("retry-after").is_some());
    assert!(waited >= Duration::from_millis(1900), "answered after {waited:?}, before the sync wait");
    let pending = log.get(&format!("/entries/{}", stuck.id()));
    assert_eq!(pending.status, 202, "no receipt without the quorum: {}", pending.text());
    assert!(pending.header("retry-after").is_some());
    assert_eq!(log.published_size(), published, "nothing was published without the quorum");
    // The server itself is healthy (it still takes writes) and says what
    // it is waiting for.
    let health = log.get("/healthz");
    assert_eq!(health.status, 200);
    assert!(health.text().starts_with("ok\nnot publishing: "), "{}", health.text());
    assert!(log.tree_size() > published, "the statement was sequenced all the same");
    let status: serde_json::Value =
        serde_json::from_slice(&log.get(&format!("/entries/{}/status", stuck.id())).body).unwrap();
    assert_eq!(status["published"], false);
    // The batch form answers each stored item as a single submission
    // would: 503 with the problem, its ID and index, never a receipt; an
    // item a rule refuses keeps its own answer.
    let stuck_too = statement(&log, "no-quorum-batch");
    let body = cbor::encode(&Cbor::Array(vec![Cbor::bytes(stuck_too.as_bytes()), Cbor::bytes(b"junk")]));
    let r = log.post("/entries/batch", "application/cbor", body, None);
    let items: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!((r.status, items[0]["status"].as_u64()), (200, Some(503)), "{}", r.text());
    assert_eq!(items[0]["problem"]["rule"], "log.witness-quorum", "{}", r.text());
    assert_eq!(items[0]["id"], stuck_too.id().to_string());
    assert!(items[0]["index"].as_u64().is_some_and(|i| i >= published), "{}", r.text());
    assert!(items[0].get("receipt").is_none() && items[0].get("location").is_none());
    assert_eq!(items[1]["status"], 400, "{}", r.text());
    // Full tiles that no published checkpoint covers yet are served, but not
    // as immutable: until a checkpoint is published their batch may still
    // be lost in a crash and written again differently.
    let fill: Vec<Cbor> =
        (0..256).map(|i| Cbor::bytes(statement(&log, &format!("fill-{i}")).as_bytes())).collect();
    let r = log.post("/entries/batch", "application/cbor", cbor::encode(&Cbor::Array(fill)), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(log.tree_size() >= 256);
    for path in ["/tile/0/000", "/tile/entries/000"] {
        let t = log.get(path);
        assert_eq!((t.status, t.header("cache-control")), (200, Some("public, max-age=1")), "{path}");
    }

    // w3 back from its data directory: the quorum is met again, the stuck
    // statement gets its receipt (200: it was already registered).
    log.witnesses[2].start(&log.origin, &log.log_vkey);
    assert_eq!(cosigners(&log, "w3-back"), ["w1", "w3"]);
    assert_eq!(log.get("/healthz").text(), "ok\n");
    for s in [&stuck, &stuck_too] {
        assert_eq!(log.register_expecting(s, 200).cosigners.len(), 2);
    }
    for path in ["/tile/0/000", "/tile/entries/000"] {
        let t = log.get(path);
        let cache = t.header("cache-control");
        assert_eq!((t.status, cache), (200, Some("public, max-age=31536000, immutable")), "{path}");
    }

    // A restarted log (stopped cleanly this time) has forgotten the
    // witnesses' sizes: it asks from 0 and resynchronizes on their 409s.
    log.stop_server();
    log.start_server();
    assert_eq!(cosigners(&log, "log-restarted"), ["w1", "w3"]);

    // w2, restarted from its data directory far behind, and without w1:
    // w2 and w3 must both cosign, so w2 catches up with a consistency proof.
    log.witnesses[1].start(&log.origin, &log.log_vkey);
    log.witnesses[0].kill();
    assert_eq!(cosigners(&log, "w2-back"), ["w2", "w3"]);
    log.witnesses[0].start(&log.origin, &log.log_vkey);
    for i in 0..3 {
        assert!(cosigners(&log, &format!("all-again-{i}")).len() >= 2);
    }

    // What each witness serves to monitors is a checkpoint of this log.
    for w in &log.witnesses {
        let note = w.latest_checkpoint(&log.client, &log.origin).expect("each witness cosigned something");
        log.saw(&note);
    }
    let v = log.verify();
    assert!(v.cosigners.len() >= 2);
}
