//! SIGKILL of `provlog-server` while statements are in flight, several times
//! over one data directory: every statement that got a `201` (or a `200`)
//! is still in the log at the same index, its receipt still verifies, the
//! statements whose answer was lost are either in the log once or can be
//! submitted again, and every checkpoint published after a restart is
//! consistent with every one published before. Spec: `spec/http-api.md`
//! ("Sequencing": no checkpoint leaves, and nothing is acknowledged,
//! before it is durable).

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::entry::Entry;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, StatementId};
use provlog_tests::audit::verify_receipt;
use provlog_tests::chain::{hours_ago, Party};
use provlog_tests::server::{Setup, TestLog, COSE};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What the submitters learned.
#[derive(Default)]
struct Outcomes {
    /// Acknowledged (201 or 200 with a verified receipt), in the order the
    /// answers came: (statement, index).
    acked: Vec<(Statement, u64)>,
    /// Sent, but the answer was lost or was an error.
    uncertain: Vec<Statement>,
}

/// Submits new statements by `party` one at a time until `stop`.
fn submit_one_by_one(log: &TestLog, party: &Party, stop: &AtomicBool, out: &Mutex<Outcomes>, tag: &str) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let e = log.commission(party, &[party.sgtin("107346", &format!("{tag}-{n}"))], &hours_ago(1.0));
        let s = log.sign(party, &e);
        let r = log
            .client
            .post(log.url("/entries"))
            .header("content-type", COSE)
            .body(s.as_bytes().to_vec())
            .send();
        let answer = r.ok().map(|r| (r.status().as_u16(), r.text().unwrap_or_default()));
        let mut out = out.lock().unwrap();
        match answer {
            Some((201 | 200, text)) => {
                let v =
                    verify_receipt(&text, &log.origin, &log.log_vkey, None, &s).expect("receipt verifies");
                log.saw(&v.checkpoint_note);
                out.acked.push((s, v.index));
            }
            _ => out.uncertain.push(s),
        }
    }
}

/// Submits batches of ten new statements until `stop`.
fn submit_batches(log: &TestLog, party: &Party, stop: &AtomicBool, out: &Mutex<Outcomes>, tag: &str) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let batch: Vec<Statement> = (0..10)
            .map(|_| {
                n += 1;
                let e =
                    log.commission(party, &[party.sgtin("107346", &format!("{tag}-{n}"))], &hours_ago(1.0));
                log.sign(party, &e)
            })
            .collect();
        let body = cbor::encode(&Cbor::Array(batch.iter().map(|s| Cbor::bytes(s.as_bytes())).collect()));
        let r = log
            .client
            .post(log.url("/entries/batch"))
            .header("content-type", "application/cbor")
            .body(body)
            .send();
        let results: Option<Vec<serde_json::Value>> =
            r.ok().and_then(|r| serde_json::from_slice(&r.bytes().ok()?).ok());
        let mut out = out.lock().unwrap();
        match results {
            Some(results) => {
                for (s, res) in batch.into_iter().zip(results) {
                    match (res["status"].as_u64(), res["receipt"].as_str()) {
                        (Some(201 | 200), Some(text)) => {
                            let v = verify_receipt(text, &log.origin, &log.log_vkey, None, &s).unwrap();
                            log.saw(&v.checkpoint_note);
                            out.acked.push((s, v.index));
                        }
                        _ => out.uncertain.push(s),
                    }
                }
            }
            None => out.uncertain.extend(batch),
        }
    }
}

#[test]
fn statements_acknowledged_before_sigkill_survive_at_the_same_index() {
    let mut log = TestLog::start(Setup::new(RuleSet::permissive("permissive")));
    let parties = log.parties.clone();
    let out = Mutex::new(Outcomes::default());
    let mut checked = 0;
    // Kill after these many milliseconds of load, one round each, counted
    // from the round's first acknowledgement (so that a slow machine still
    // kills a server with acknowledged work in flight).
    for (round, delay_ms) in [200u64, 310, 240, 450, 280].into_iter().enumerate() {
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (log, out, stop) = (&log, &out, &stop);
            for (i, p) in [&parties.farm, &parties.processor, &parties.retailer].into_iter().enumerate() {
                scope.spawn(move || submit_one_by_one(log, p, stop, out, &format!("r{round}t{i}")));
            }
            let p = &parties.certifier;
            scope.spawn(move || submit_batches(log, p, stop, out, &format!("r{round}b")));
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while out.lock().unwrap().acked.len() <= checked && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(delay_ms));
            log.sigkill_server();
            stop.store(true, Ordering::Relaxed);
        });
        log.kill_server();
        log.start_server();

        // The new checkpoint is consistent with every one seen before, and
        // every statement acknowledged in any round is in the verified
        // entries at the index its receipt gave.
        let verified = log.verify();
        let index_of: HashMap<StatementId, u64> = verified
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (Statement::parse(&Entry::decode(e).unwrap().statement).unwrap().id(), i as u64))
            .collect();
        let out = out.lock().unwrap();
        assert!(out.acked.len() > checked, "round {round}: nothing was acknowledged before the kill");
        for (s, index) in &out.acked {
            assert_eq!(
                index_of.get(&s.id()),
                Some(index),
                "round {round}: acknowledged {} lost or moved",
                s.id()
            );
        }
        // The statements acknowledged in this round are found by ID too,
        // with receipts that verify against the new checkpoint.
        for (s, index) in &out.acked[checked..] {
            let r = log.get(&format!("/entries/{}", s.id()));
            assert_eq!(r.status, 200, "round {round}: {} not found by ID", s.id());
            let v = verify_receipt(&r.text(), &log.origin, &log.log_vkey, None, s).unwrap();
            assert_eq!(v.index, *index);
        }
        checked = out.acked.len();
        eprintln!(
            "round {round}: {} acknowledged, {} uncertain, tree size {}",
            out.acked.len(),
            out.uncertain.len(),
            verified.checkpoint.size
        );
    }

    // A statement whose answer was lost is in the log once, or registers now.
    let out = out.into_inner().unwrap();
    for s in &out.uncertain {
        let r = log.submit(s);
        assert!(r.status == 200 || r.status == 201, "{}", r.text());
        let v = verify_receipt(&r.text(), &log.origin, &log.log_vkey, None, s).unwrap();
        log.saw(&v.checkpoint_note);
    }
    let v = log.verify();
    assert!(v.checkpoint.size as usize > out.acked.len());
}
