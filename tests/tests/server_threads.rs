//! The real server's threads and their scheduling priority: the blocking
//! threads that check a batch's signatures run `http.worker_nice` steps
//! below the process's priority, which the sequencer, the storage engine's
//! workers and tokio's workers keep. Spec: `spec/http-api.md`
//! ("Sequencing", `http.worker_nice`).

use provlog_ledger::cbor::{self, Value};
use provlog_ledger::governance::Action;
use provlog_ledger::rules::RuleSet;
use provlog_tests::chain::{now_ms, rfc3339};
use provlog_tests::server::{Setup, TestLog, Tuning};
use provlog_tests::workload;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The name and nice value in a `/proc/…/stat` line: `pid (comm) state
/// ppid …`. The name may hold spaces, so it ends at the last ')'; the nice
/// value is field 19, the 17th after it.
fn name_and_nice(stat: &str) -> (String, i64) {
    let (head, rest) = stat.rsplit_once(')').expect("stat has (comm)");
    let name = head.split_once('(').expect("stat has (comm)").1.to_owned();
    (name, rest.split_whitespace().nth(16).expect("field 19").parse().expect("a number"))
}

/// The nice value of each thread of `pid`, by thread name.
fn nice_by_thread(pid: u32) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the server's threads") {
        let Ok(stat) = std::fs::read_to_string(task.expect("a thread").path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let (name, nice) = name_and_nice(&stat);
        out.entry(name).or_default().push(nice);
    }
    out
}

#[cfg(target_os = "linux")]
#[test]
fn signature_checks_of_batches_run_below_the_sequencer_and_the_storage_workers() {
    let tuning = Tuning { engine: "fjall", ..Tuning::default() };
    let log = TestLog::start(Setup::new(RuleSet::strict("threads")).tuning(tuning));
    let pid = log.server.as_ref().expect("server").pid();

    // A batch large enough to be verified on the blocking pool.
    let partners = workload::partners(2);
    for p in &partners {
        let r = log.submit(&log.govern(Action::AddPartner { partner: p.spec() }, &[0, 1]));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let statements =
        workload::presign(&Arc::new(partners), 200, &rfc3339(now_ms() - 60_000), now_ms() / 1000);
    let body = cbor::encode(&Value::Array(statements.into_iter().map(Value::Bytes).collect()));
    let r = log.post("/entries/batch", "application/cbor", body, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let results: Vec<serde_json::Value> = serde_json::from_slice(&r.body).expect("JSON results");
    assert!(results.iter().all(|x| x["status"] == 201), "every statement registered: {results:?}");

    let threads = nice_by_thread(pid);
    let base = threads.get("sequencer").expect("a sequencer thread")[0];
    let (_, main_nice) = name_and_nice(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap());
    assert_eq!(base, main_nice, "the sequencer keeps the process's priority: {threads:?}");
    let storage: Vec<i64> =
        threads.iter().filter(|(name, _)| name.starts_with("fjall")).flat_map(|(_, v)| v.clone()).collect();
    assert!(!storage.is_empty(), "fjall's worker threads: {threads:?}");
    assert!(storage.iter().all(|&n| n == base), "fjall's workers keep the process's priority: {threads:?}");
    // tokio's workers and blocking threads share one name; the workers
    // (at least one) keep the process's priority, the blocking threads
    // that checked the batch (at least one) are lowered by the default 15.
    let tokio = threads.get("tokio-rt-worker").expect("tokio threads");
    let lowered = (base + 15).min(19);
    assert!(tokio.iter().all(|&n| n == base || n == lowered), "no other priority: {threads:?}");
    assert!(tokio.contains(&base), "tokio's workers at the process's priority: {threads:?}");
    assert!(tokio.contains(&lowered), "signature-checking threads at nice {lowered}: {threads:?}");
}
