//! Benchmark of the stored tree: appends N leaves into sled in batches
//! (flushing each batch to disk), then generates inclusion and consistency
//! proofs at that size. Prints leaves/s, bytes on disk per leaf, RSS along
//! the way and peak RSS, and proofs/s. See BENCHMARKS.md.
//!
//! usage: bench_tree [--leaves N] [--batch B] [--entry-bytes E] [--proofs P] [--dir DIR]

use provlog_ledger::storage::{Batch, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use std::sync::Arc;
use std::time::Instant;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect(name))
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                // sled deletes blob files concurrently; skip the vanished.
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let leaves = arg("--leaves", 1_000_000);
    let batch = arg("--batch", 1000);
    let entry_bytes = arg("--entry-bytes", 300) as usize;
    let proofs = arg("--proofs", 100_000);
    let args: Vec<String> = std::env::args().collect();
    let tmp;
    let dir = match args.iter().position(|a| a == "--dir").and_then(|i| args.get(i + 1)) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile_dir()?;
            tmp.clone()
        }
    };
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir, &SledConfig::default())?);
    let mut tree = TiledTree::open(store)?;
    let start_size = tree.size();
    println!("bench_tree: dir={} leaves={leaves} batch={batch} entry_bytes={entry_bytes}", dir.display());

    let t0 = Instant::now();
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(batch as usize);
    let mut next = start_size;
    let end = start_size + leaves;
    let report_every = (leaves / 10).max(batch);
    let mut next_report = start_size + report_every;
    while next < end {
        entries.clear();
        let n = batch.min(end - next);
        for i in next..next + n {
            let mut e = vec![(i % 251) as u8; entry_bytes];
            e[..8].copy_from_slice(&i.to_be_bytes());
            entries.push(e);
        }
        tree.append(&entries, Batch::new())?;
        tree.flush()?;
        next += n;
        if next >= next_report {
            println!(
                "  size={next} elapsed={:.1}s rate={:.0} leaves/s rss={} MiB",
                t0.elapsed().as_secs_f64(),
                (next - start_size) as f64 / t0.elapsed().as_secs_f64(),
                status_kib("VmRSS:") / 1024
            );
            next_report += report_every;
        }
    }
    let append_s = t0.elapsed().as_secs_f64();
    let size = tree.size();
    let disk = dir_bytes(&dir);
    println!("append: {leaves} leaves in {append_s:.1}s = {:.0} leaves/s", leaves as f64 / append_s);
    println!("disk: {disk} bytes = {:.1} bytes/leaf ({entry_bytes}-byte entries)", disk as f64 / size as f64);

    let r = tree.reader();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t1 = Instant::now();
    for _ in 0..proofs {
        let i = rand() % size;
        std::hint::black_box(r.prove_inclusion(i, size)?);
    }
    let incl = proofs as f64 / t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    for _ in 0..proofs {
        let old = 1 + rand() % size;
        std::hint::black_box(r.prove_consistency(old, size)?);
    }
    let cons = proofs as f64 / t2.elapsed().as_secs_f64();
    println!("proofs at size {size}: inclusion {incl:.0}/s, consistency {cons:.0}/s (one thread)");
    println!("peak RSS: {} MiB", status_kib("VmHWM:") / 1024);
    println!(
        "leaves_per_s={:.0} bytes_per_leaf={:.1} peak_rss_mib={} inclusion_per_s={incl:.0} consistency_per_s={cons:.0}",
        leaves as f64 / append_s,
        disk as f64 / size as f64,
        status_kib("VmHWM:") / 1024
    );
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let p = std::env::temp_dir().join(format!("provlog-bench-tree-{}", std::process::id()));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}
