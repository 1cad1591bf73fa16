//! Replay over a large log: every tile verified against its entries and
//! every acceptance decision re-derived from entry 0 with the ledger's
//! rules, with the same code `provlog audit --replay` runs
//! (`VerifiedTree::advance` with an `audit::Replay` visitor), reading the
//! log's tiles from its store. A tampered copy — the same log with one
//! entry the rules forbid, committed into a tree the log key signs — is
//! reported at exactly that entry.
//!
//! The log has `PROVLOG_REPLAY_ENTRIES` entries, built with the ledger's
//! `Log` (the server's registration code) in a sled store. The default,
//! 10,000, keeps `cargo test` to a few seconds: in the test profile building
//! the log runs at about 4,000 entries/s and the audit at about 5,000, so
//! 100,000 would take most of a minute. The 100,000-entry run is
//! `scripts/bench-audit.sh`'s first step, in release mode:
//!
//! ```text
//! PROVLOG_REPLAY_ENTRIES=100000 cargo test --release -p provlog-client --test replay_large
//! ```

mod support;

use provlog_client::audit::Replay;
use provlog_client::tiles::VerifiedTree;
use provlog_client::{ClientError, ErrorKind, Silent, TrustPolicy, VerifiedCheckpoint};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::keyfile;
use provlog_ledger::storage::{SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use support::synthetic::{self, ORIGIN};

fn entries() -> u64 {
    std::env::var("PROVLOG_REPLAY_ENTRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// The log's checkpoint at its full size, signed with its key and verified
/// against a policy naming that key (no witnesses: `quorum none`).
fn signed_checkpoint(dir: &Path, tree: &TiledTree) -> VerifiedCheckpoint {
    let key = keyfile::load(&dir.join("log.key")).unwrap();
    let note = Checkpoint::new(ORIGIN, tree.size(), tree.root()).sign(&[&key]).unwrap();
    let policy = format!("log {}\nquorum none\n", key.verifier().vkey());
    TrustPolicy::parse(&policy, Path::new("synthetic.policy"))
        .unwrap()
        .verify_checkpoint(&note, "synthetic")
        .unwrap()
}

/// Audits the log in `dir` from its store, replaying into a scratch
/// store in `scratch`. Returns the number of entries replayed.
fn audit(dir: &Path, scratch: &Path) -> Result<u64, ClientError> {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.join("db"), &SledConfig::default()).unwrap());
    let tree = TiledTree::open(store).unwrap();
    let checkpoint = signed_checkpoint(dir, &tree);
    let mut replay = Replay::open_dir(scratch, ORIGIN)?;
    let mut visit = |i: u64, e: &[u8]| replay.entry(i, e).map(drop);
    VerifiedTree::default().advance(tree.reader(), &checkpoint.checkpoint, &mut visit, &Silent)?;
    replay.settle(&checkpoint)?;
    Ok(replay.size())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap())
                .map(|e| {
                    if e.file_type().unwrap().is_dir() {
                        dir_size(&e.path())
                    } else {
                        e.metadata().unwrap().len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn replay_of_a_large_log_finds_no_divergence_and_a_tampered_copy_is_caught_at_the_tampered_entry() {
    let n = entries();
    let tamper_at = n / 10;
    let tmp = tempfile::tempdir().unwrap();
    let (honest, tampered) = (tmp.path().join("honest"), tmp.path().join("tampered"));

    let start = Instant::now();
    let log = synthetic::create(&honest);
    log.grow(tamper_at, 2_000, None, |_| {});
    // The tampered copy shares the first `tamper_at` entries, then has a
    // forged one and a few honest-looking ones after it.
    support::copy_dir(&honest, &tampered);
    log.grow(n, 2_000, None, |_| {});
    synthetic::open(&tampered).grow(tamper_at + 100, 2_000, Some(tamper_at), |_| {});
    let built = start.elapsed();

    let start = Instant::now();
    let replayed = audit(&honest, &tmp.path().join("honest.replay")).expect("the honest log replays");
    let took = start.elapsed();
    assert_eq!(replayed, n);
    eprintln!(
        "{n} entries: built in {:.1} s, verified and replayed in {:.1} s ({:.0} entries/s); log {} MiB, replay scratch store {} MiB",
        built.as_secs_f64(),
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        dir_size(&honest) >> 20,
        dir_size(&tmp.path().join("honest.replay")) >> 20
    );

    let e = audit(&tampered, &tmp.path().join("tampered.replay")).unwrap_err();
    match &e {
        ClientError::Divergence { index, reason } => {
            assert_eq!(*index, tamper_at, "{reason}");
            assert!(reason.contains("signature.unknown-kid"), "{reason}");
        }
        other => panic!("want a divergence at {tamper_at}, got {other:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Verification);
    assert!(!e.is_fork());
}

#[test]
fn a_replay_resumes_from_its_scratch_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = synthetic::create(&dir);
    log.grow(700, 300, None, |_| {});
    let scratch = tmp.path().join("scratch");
    assert_eq!(audit(&dir, &scratch).unwrap(), 700);
    log.grow(1_000, 300, None, |_| {});
    // A second audit with the same scratch store replays only the new
    // entries (the earlier ones are skipped as already replayed).
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.join("db"), &SledConfig::default()).unwrap());
    let tree = TiledTree::open(store).unwrap();
    let checkpoint = signed_checkpoint(&dir, &tree);
    let mut replay = Replay::open_dir(&scratch, ORIGIN).unwrap();
    assert_eq!(replay.size(), 700);
    let mut visit = |i: u64, e: &[u8]| replay.entry(i, e).map(drop);
    VerifiedTree::default().advance(tree.reader(), &checkpoint.checkpoint, &mut visit, &Silent).unwrap();
    replay.settle(&checkpoint).unwrap();
    assert_eq!(replay.take_replayed(), 300);
    assert_eq!(replay.size(), 1_000);
}
