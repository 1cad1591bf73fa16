//! A small, real walk through the ledger core: appends a batch of entries to
//! a sled-backed tree in DIR, signs a checkpoint with a log key kept in
//! DIR/log.key (mode 0600), proves one entry's inclusion and the consistency
//! with the previous run's checkpoint, and verifies both offline.
//!
//! usage: cargo run --release -p provlog-ledger --example demo -- [DIR]

use provlog_ledger::checkpoint::{self, Checkpoint};
use provlog_ledger::note::Ed25519Signer;
use provlog_ledger::proof::{check_consistency, check_inclusion};
use provlog_ledger::storage::{Batch, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use provlog_ledger::tree::leaf_hash;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

const ORIGIN: &str = "demo.provlog.invalid/log";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "provlog-demo-data".into());
    let dir = Path::new(&dir);
    fs::create_dir_all(dir)?;
    let key_path = dir.join("log.key");
    let signer = if key_path.exists() {
        Ed25519Signer::from_skey(&fs::read_to_string(&key_path)?)?
    } else {
        let s = Ed25519Signer::generate(ORIGIN)?;
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&key_path)?;
        writeln!(f, "{}", &*s.skey())?;
        s
    };
    let verifier = signer.verifier();
    println!("log vkey: {}", verifier.vkey());

    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.join("db"), &SledConfig::default())?);
    let mut tree = TiledTree::open(store)?;
    let old_size = tree.size();
    let old_root = tree.root();
    println!("opened tree of size {old_size}");

    let entries: Vec<Vec<u8>> =
        (old_size..old_size + 1000).map(|i| format!("demo entry {i}").into_bytes()).collect();
    let appended = tree.append(&entries, Batch::new())?;
    tree.flush()?; // durable before anything is signed
    let note = Checkpoint::new(ORIGIN, appended.size, appended.root).sign(&[&signer])?;
    fs::write(dir.join("checkpoint"), &note)?;
    println!("appended 1000 entries; signed checkpoint:\n{note}");

    let cp = checkpoint::open(&note, ORIGIN, &[&verifier])?.checkpoint;
    let index = old_size + 500;
    let proof = tree.reader().prove_inclusion(index, cp.size)?;
    check_inclusion(&leaf_hash(&tree.reader().entry(index)?), index, cp.size, &proof, &cp.root)?;
    println!("entry {index} is included in the checkpoint ({} proof hashes): verified", proof.len());

    if old_size > 0 {
        let proof = tree.reader().prove_consistency(old_size, cp.size)?;
        check_consistency(old_size, cp.size, &proof, &old_root, &cp.root)?;
        println!("size {old_size} -> {} is consistent ({} proof hashes): verified", cp.size, proof.len());
    }
    Ok(())
}
