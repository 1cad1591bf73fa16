//! Child process of the tree crash test: appends batches of synthetic
//! entries to a tree in a sled or fjall store until killed, printing
//! `committed <size> <root>` after each batch is flushed to disk.
//!
//! usage: tree_crash_child DIR sled|fjall

use provlog_ledger::storage::{Batch, FjallConfig, FjallStore, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use provlog_tests::synthetic_entry;
use std::io::Write;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    let usage = || anyhow::anyhow!("usage: tree_crash_child DIR sled|fjall");
    let dir = std::env::args().nth(1).ok_or_else(usage)?;
    let store = open(dir.as_ref(), &std::env::args().nth(2).ok_or_else(usage)?)?;
    let mut tree = TiledTree::open(store)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "opened {}", tree.size())?;
    let mut batch_no = tree.size();
    loop {
        // Batch sizes vary so that kills land across tile and bundle edges.
        batch_no = batch_no.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let n = 1 + (batch_no >> 33) % 700;
        let start = tree.size();
        let entries: Vec<Vec<u8>> = (start..start + n).map(synthetic_entry).collect();
        let appended = tree.append(&entries, Batch::new())?;
        tree.flush()?;
        writeln!(out, "committed {} {}", appended.size, appended.root)?;
        out.flush()?;
    }
}

/// Opens the store of the named engine in `dir`.
pub fn open(dir: &std::path::Path, engine: &str) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match engine {
        "sled" => Arc::new(SledStore::open(dir, &SledConfig::default())?),
        "fjall" => Arc::new(FjallStore::open(dir, &FjallConfig::default())?),
        other => anyhow::bail!("unknown engine {other}"),
    })
}
