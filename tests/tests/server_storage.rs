//! Storage faults under a real `provlog-server` (RELIABILITY.md, "Storage
//! faults"; `api/src/recovery.rs`):
//! - a full disk (the data directory on a small tmpfs) makes the log refuse
//!   new statements with a 503 naming storage while every read keeps
//!   working, and it resumes by itself when space returns;
//! - a failed sync (libfiu: `fsync`, `fdatasync` and `sync_file_range`
//!   fail inside the running server) stops checkpoint signing and writes
//!   until syncing works again, for both engines;
//! - a checkpoint anchor file that cannot be written stops publication
//!   and writes until it can;
//! - damaged data files (truncated, flipped bytes, a changed tile, a
//!   rolled-back tree state) stop the server at start-up with a message
//!   and a non-zero exit, never served.
//!
//! Each fault test ends with a SIGKILL and a restart: every statement that
//! got a receipt is at its receipt's index, and the whole log verifies
//! with every checkpoint seen. Mounting needs root and libfiu needs
//! `fiu-utils` (`.ci/run` installs it); see `provlog_tests::storage_fault`.

use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::Statement;
use provlog_ledger::storage::{Batch, SledConfig, SledStore, Store};
use provlog_tests::audit::verify_receipt;
use provlog_tests::chain::hours_ago;
use provlog_tests::problem::problem;
use provlog_tests::server::{metric, Setup, TestLog, Tuning};
use provlog_tests::storage_fault::{
    copy_dir, files_by_size, fill, fiu_available, fiu_ctrl, flip_bytes, skip, truncate, Tmpfs, FIU_RUN,
};
use provlog_tests::HttpResponse;
use std::path::Path;
use std::time::{Duration, Instant};

fn create(engine: &'static str) -> TestLog {
    let tuning = Tuning { sync_wait_ms: 2000, engine, ..Tuning::default() };
    TestLog::create(Setup::new(RuleSet::permissive("storage")).tuning(tuning))
}

/// A new statement by the farm, about a new object named `serial`.
fn statement(log: &TestLog, serial: &str) -> Statement {
    let farm = &log.parties.farm;
    let e = log.commission(farm, &[farm.sgtin("107346", serial)], &hours_ago(0.1));
    log.sign(farm, &e)
}

/// A statement that got a receipt, and the index the receipt gives.
struct Acked {
    statement: Statement,
    index: u64,
}

impl Acked {
    fn id(&self) -> String {
        self.statement.id().to_string()
    }
}

/// Checks a 201's receipt offline and records its checkpoint.
fn receipted(log: &TestLog, s: &Statement, r: &HttpResponse) -> Acked {
    let v = verify_receipt(&r.text(), &log.origin, &log.log_vkey, log.policy.as_ref(), s)
        .unwrap_or_else(|e| panic!("receipt does not verify: {e:#}"));
    log.saw(&v.checkpoint_note);
    Acked { statement: s.clone(), index: v.index }
}

fn register(log: &TestLog, serial: &str) -> Acked {
    let s = statement(log, serial);
    let r = log.register(&s);
    Acked { statement: s, index: r.index }
}

/// Submits new statements until one is refused (at most `limit`); returns
/// the refusal and records those that got receipts before it.
fn submit_until_refused(log: &TestLog, prefix: &str, limit: usize, out: &mut Vec<Acked>) -> HttpResponse {
    for i in 0..limit {
        let s = statement(log, &format!("{prefix}{i}"));
        let r = log.submit(&s);
        match r.status {
            201 => out.push(receipted(log, &s, &r)),
            503 => return r,
            // 303: decided but not published within the sync wait; nothing
            // was promised.
            _ => {}
        }
    }
    panic!("{limit} statements and no refusal: {}", log.server_log());
}

/// The refusal is a 503 problem naming storage, and `/healthz` says why.
fn assert_refused_for_storage(log: &TestLog, r: &HttpResponse, why: &str) {
    let p = problem(r);
    assert_eq!((p.status, p.rule.as_str()), (503, "log.storage-unavailable"), "{p:?}");
    assert_eq!(r.header("retry-after"), Some("5"));
    assert!(p.detail.contains(why), "the detail names the cause ({why}): {p:?}");
    let h = log.get("/healthz");
    assert_eq!(h.status, 503);
    assert!(h.text().contains("storage"), "{}", h.text());
    // Refused before the sequencer: no batch is tried for it.
    let batches = || {
        let text = log.get("/metrics").text();
        metric(&text, "provlog_batch_statements_count").unwrap_or_else(|| panic!("no batch count: {text}"))
    };
    let before = batches();
    let serial = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let again = log.submit(&statement(log, &format!("again-{serial}")));
    let p = problem(&again);
    assert_eq!((p.status, p.rule.as_str()), (503, "log.storage-unavailable"), "{p:?}");
    assert_eq!(again.header("retry-after"), Some("5"));
    assert_eq!(batches(), before, "a batch was tried for a statement refused while storage fails");
}

/// Reads answer, and the published checkpoint does not move while storage
/// refuses writes: no checkpoint leaves the sequencer.
///
/// fjall serves every read. sled refuses every change after a failed write
/// until it is reopened, and a read makes one when a page it passes is due
/// to be split, so with sled a read may instead get a 503 to retry (never
/// a 500); [`assert_reads_work`] checks them all again after recovery.
fn assert_reads_answer_and_nothing_is_signed(log: &TestLog, acked: &[Acked], engine: &str) {
    let size = log.published_size();
    assert!(size > acked.iter().map(|a| a.index).max().unwrap());
    let answered = |path: &str| {
        let r = log.get(path);
        if r.status == 503 && engine == "sled" {
            let p = problem(&r);
            assert_eq!(p.rule, "log.storage-unavailable", "{p:?}");
            assert!(r.header("retry-after").is_some());
            assert!(p.detail.contains("while storage is failing"), "{p:?}");
            return None;
        }
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        Some(r)
    };
    for a in acked {
        answered(&format!("/entries/{}", a.id()));
        if let Some(status) = answered(&format!("/entries/{}/status", a.id())) {
            let v: serde_json::Value = serde_json::from_slice(&status.body).unwrap();
            assert_eq!(v["index"], a.index);
        }
    }
    answered(&format!("/proof/inclusion?index=0&size={size}"));
    answered(&format!("/tile/0/000.p/{}", size % 256));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(log.published_size(), size, "no checkpoint is signed while storage fails");
}

/// Every read works: each statement's receipt verifies at its index.
fn assert_reads_work(log: &TestLog, acked: &[Acked]) {
    for a in acked {
        let r = log.get(&format!("/entries/{}", a.id()));
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(receipted(log, &a.statement, &r).index, a.index);
    }
}

/// Waits up to 20 s for `/healthz` to be 200 again.
fn wait_recovered(log: &TestLog) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while log.get("/healthz").status != 200 {
        assert!(Instant::now() < deadline, "storage did not recover: {}", log.server_log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGKILL, restart, and check every receipt's index and the whole log.
fn kill_restart_and_verify(log: &mut TestLog, acked: &[Acked]) {
    log.kill_server();
    log.start_server();
    for a in acked {
        let r = log.get(&format!("/entries/{}/status", a.id()));
        assert_eq!(r.status, 200, "a receipted statement is lost: {}", a.id());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["index"], a.index, "a receipted statement moved");
    }
    log.verify();
}

#[test]
fn full_disk_refuses_writes_keeps_reads_and_resumes_by_itself() {
    let mut log = create("sled");
    let data = log.dir.path().join("data");
    let _fs = match Tmpfs::mount(&data, 24 << 20) {
        Ok(fs) => fs,
        Err(e) => return skip(&e),
    };
    log.start_server();
    let mut acked: Vec<Acked> = (0..5).map(|i| register(&log, &format!("a{i}"))).collect();

    let filler = fill(&data);
    let refusal = submit_until_refused(&log, "full", 500, &mut acked);
    assert_refused_for_storage(&log, &refusal, "No space left on device");
    assert_reads_answer_and_nothing_is_signed(&log, &acked, "sled");

    std::fs::remove_file(&filler).unwrap();
    wait_recovered(&log);
    assert_reads_work(&log, &acked);
    acked.extend((0..5).map(|i| register(&log, &format!("c{i}"))));
    kill_restart_and_verify(&mut log, &acked);
}

/// Makes every kind of sync fail inside the server (pid), or work again.
fn fail_syncs(pid: u32, on: bool) {
    let verb = if on { "enable" } else { "disable" };
    for point in ["posix/io/sync/fsync", "posix/io/sync/fdatasync", "linux/io/sync_file_range"] {
        fiu_ctrl(pid, &format!("{verb} name={point}"));
    }
}

fn failed_sync_stops_signing_until_syncing_works(engine: &'static str) {
    if !fiu_available() {
        return skip("libfiu (fiu-run, fiu-ctrl) is not installed");
    }
    let mut log = create(engine);
    log.start_server_wrapped(FIU_RUN);
    let mut acked: Vec<Acked> = (0..5).map(|i| register(&log, &format!("a{i}"))).collect();
    let pid = log.server.as_ref().unwrap().pid();

    fail_syncs(pid, true);
    let s = statement(&log, "unsynced");
    let r = log.submit(&s);
    assert_eq!(r.status, 503, "the first statement after a failed sync gets no receipt: {}", r.text());
    assert_refused_for_storage(&log, &r, "flush");
    assert_reads_answer_and_nothing_is_signed(&log, &acked, engine);
    // The probe fsync fails too, so the log stays down.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(log.get("/healthz").status, 503, "no recovery while syncing fails");

    fail_syncs(pid, false);
    wait_recovered(&log);
    assert_reads_work(&log, &acked);
    // The refused statement may or may not have survived the reopen; either
    // way a resubmission now gets a receipt for one index.
    let r = log.submit(&s);
    assert!(matches!(r.status, 200 | 201), "{}", r.text());
    acked.push(receipted(&log, &s, &r));
    acked.extend((0..5).map(|i| register(&log, &format!("c{i}"))));
    kill_restart_and_verify(&mut log, &acked);
}

#[test]
fn failed_sync_stops_signing_until_syncing_works_sled() {
    failed_sync_stops_signing_until_syncing_works("sled");
}

#[test]
fn failed_sync_stops_signing_until_syncing_works_fjall() {
    failed_sync_stops_signing_until_syncing_works("fjall");
}

/// The checkpoint anchor file cannot be written (a directory takes its
/// temporary name) while the store works: the checkpoint of the next batch
/// is not published, its submitter gets a 503 naming the anchor file instead
/// of a receipt, later statements are refused at once; once the file can be
/// written the log resumes by itself, and the anchor holds the published
/// checkpoint.
#[test]
fn an_unwritable_anchor_file_stops_publication_and_writes_until_it_can_be_written() {
    let mut log = create("fjall");
    log.start_server();
    let mut acked: Vec<Acked> = (0..3).map(|i| register(&log, &format!("a{i}"))).collect();
    let data = log.dir.path().join("data");
    let blocker = data.join("checkpoint.tmp");
    std::fs::create_dir(&blocker).unwrap();
    let size = log.published_size();

    let s = statement(&log, "unanchored");
    let r = log.submit(&s);
    assert_refused_for_storage(&log, &r, "anchor file");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(log.published_size(), size, "nothing is published before it is anchored");

    std::fs::remove_dir(&blocker).unwrap();
    wait_recovered(&log);
    // The refused submission was registered; asked again, it has a receipt.
    let r = log.submit(&s);
    assert_eq!(r.status, 200, "{}", r.text());
    acked.push(receipted(&log, &s, &r));
    let body = |note: &str| note.split("\n\n").next().unwrap().to_owned();
    let anchor = std::fs::read_to_string(data.join("checkpoint")).unwrap();
    assert_eq!(
        body(&anchor),
        body(&log.get("/checkpoint").text()),
        "the anchor holds the published checkpoint"
    );
    kill_restart_and_verify(&mut log, &acked);
}

/// Opens the stopped server's sled store directly, as an insider would.
fn with_store<T>(data: &Path, f: impl FnOnce(&SledStore) -> T) -> T {
    let store = SledStore::open(&data.join("db"), &SledConfig::default()).expect("open the store");
    let out = f(&store);
    store.flush().expect("flush");
    out
}

fn put(store: &SledStore, key: &[u8], value: Vec<u8>) {
    let mut b = Batch::new();
    b.put(key, value);
    store.commit(&b).unwrap();
}

#[test]
fn damaged_data_files_are_refused_at_start_up() {
    let mut log = create("sled");
    log.start_server();
    (0..10).for_each(|i| drop(register(&log, &format!("a{i}"))));
    log.stop_server();
    let data = log.dir.path().join("data");
    // The tree state record of 11 entries, for the rollback below.
    let old_state = with_store(&data, |s| s.get(b"S").unwrap().expect("a tree state"));
    log.start_server();
    let acked: Vec<Acked> = (0..20).map(|i| register(&log, &format!("b{i}"))).collect();
    log.stop_server();

    let pristine = log.dir.path().join("pristine");
    copy_dir(&data, &pristine);
    let (log_file, len) = files_by_size(&data.join("db"))[0].clone();
    let log_file = log_file.strip_prefix(&data).unwrap().to_owned();
    let flipped = log_file.clone();
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "the largest sled file cut in half",
            Box::new(move |d: &Path| truncate(&d.join(&log_file), len / 2)),
        ),
        (
            "64 bytes flipped in the middle of the largest sled file",
            Box::new(move |d: &Path| flip_bytes(&d.join(&flipped), len / 2, 64)),
        ),
        (
            "one hash changed in the rightmost level-0 tile",
            Box::new(|d: &Path| {
                with_store(d, |s| {
                    let key = [b'T', 0, 0, 0, 0, 0, 0, 0, 0, 0];
                    let mut tile = s.get(&key).unwrap().expect("tile 0/0");
                    tile[5] ^= 1;
                    put(s, &key, tile);
                })
            }),
        ),
        (
            "the tree state rolled back to 11 entries",
            Box::new(move |d: &Path| with_store(d, |s| put(s, b"S", old_state.clone()))),
        ),
    ];
    for (what, damage) in &cases {
        std::fs::remove_dir_all(&data).unwrap();
        copy_dir(&pristine, &data);
        damage(&data);
        match log.try_start_server() {
            Ok(()) => panic!("the server served a damaged store ({what})"),
            Err(e) => {
                assert!(e.contains("exited with exit status: 1"), "{what}: {e}");
                assert!(e.contains("provlog-server: "), "{what}: a message: {e}");
                eprintln!("{what}: {}", e.lines().last().unwrap_or_default());
            }
        }
    }

    // A data directory that also holds the other engine's store (an
    // operator switched `storage.engine`) is refused, not opened as a
    // second, empty log.
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&pristine, &data);
    std::fs::create_dir(data.join("fjall")).unwrap();
    let e = log.try_start_server().expect_err("a sled log with a fjall directory beside it");
    assert!(e.contains("holds a fjall store, but storage.engine is sled"), "{e}");
    std::fs::remove_dir(data.join("fjall")).unwrap();

    // The undamaged copy still starts and holds every receipt.
    log.start_server();
    kill_restart_and_verify(&mut log, &acked);
}
