//! Crash test of the stored tree, for each storage engine: a real child
//! process appends batches to a tree and is killed with SIGKILL at random
//! moments, many times. After every kill the tree must reopen, equal a recomputation from
//! its stored entries, and hold every batch reported committed before the
//! kill (with the root reported for it).

use provlog_ledger::storage::{FjallConfig, FjallStore, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use provlog_tests::synthetic_entry;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KILLS: usize = 25;

fn open(dir: &std::path::Path, engine: &str) -> Arc<dyn Store> {
    match engine {
        "sled" => Arc::new(SledStore::open(dir, &SledConfig::default()).unwrap()),
        _ => Arc::new(FjallStore::open(dir, &FjallConfig::default()).unwrap()),
    }
}

#[test]
fn sled_tree_survives_sigkill_with_every_committed_batch() {
    survives_sigkill("sled");
}

#[test]
fn fjall_tree_survives_sigkill_with_every_committed_batch() {
    survives_sigkill("fjall");
}

fn survives_sigkill(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut last_committed: Option<(u64, String)> = None;
    let mut max_size = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tree_crash_child"))
            .arg(dir.path())
            .arg(engine)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let seen: Arc<Mutex<Option<(u64, String)>>> = Arc::new(Mutex::new(None));
        let seen2 = seen.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parts: Vec<&str> = line.split(' ').collect();
                if parts[0] == "committed" {
                    *seen2.lock().unwrap() = Some((parts[1].parse().unwrap(), parts[2].to_owned()));
                }
            }
        });
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(50 + rng % 400));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        if let Some(c) = seen.lock().unwrap().clone() {
            last_committed = Some(c);
        }

        let tree = TiledTree::open(open(dir.path(), engine))
            .unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let r = tree.reader();
        r.verify_all(&tree.root()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        if let Some((size, root)) = &last_committed {
            assert!(tree.size() >= *size, "round {round}: size {} lost committed size {size}", tree.size());
            assert_eq!(&r.root_at(*size).unwrap().to_base64(), root, "round {round}");
            let probe = size - 1;
            assert_eq!(r.entry(probe).unwrap(), synthetic_entry(probe));
        }
        assert!(tree.size() >= max_size, "round {round}: the tree shrank");
        max_size = tree.size();
    }
    let (size, _) = last_committed.expect("the child committed something");
    assert!(size > 1000, "the child made progress: {size}");
    // Every surviving entry is exactly what was written at its index.
    let tree = TiledTree::open(open(dir.path(), engine)).unwrap();
    let entries = tree.reader().entries(0, tree.size()).unwrap();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e, &synthetic_entry(i as u64), "entry {i}");
    }
}
