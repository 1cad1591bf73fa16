//! `bench_proofs`: prepares a large log for the proof-serving benchmark of
//! BENCHMARKS.md ("Serving proofs from a 10-million-entry log") and measures
//! proof generation in-process.
//!
//! ```text
//! bench_proofs fill  --data DIR --entries N [--batch B] [--entry-bytes E]
//! bench_proofs prove --data DIR [--proofs P] [--threads T]
//! ```
//!
//! `fill` opens the store of a stopped `provlog-server` data directory
//! (`DIR/db` for sled, `DIR/fjall` for fjall, as `provlog-server --dev
//! --data DIR` made it, with `[storage] engine` from its configuration) and appends N
//! entries, in durable batches of B, through the same `TiledTree::append`
//! the sequencer uses. Each is a valid entry record (`spec/statement.md`)
//! with the log's rule-set ID, a distinct registration time and, in place
//! of a statement, E filler bytes (default 300, about the size of a
//! stripped one-event statement), so that the server opens the log as usual
//! and every leaf is distinct. They are not registered statements (the
//! state indexes do not list them): the log is only a realistic *tree* for
//! serving proofs and tiles, at about 450 bytes of sled per entry.
//! Start the server on DIR again afterwards and it signs and witnesses a
//! checkpoint at the new size.
//!
//! `prove` generates random inclusion proofs at the store's size on T
//! threads, reading tiles through the server's `TreeReader` (with its tile
//! cache), and prints proofs/s: the ceiling of what the HTTP layer can serve.

use clap::{Parser, Subcommand};
use provlog_ledger::entry::Entry;
use provlog_ledger::storage::{Batch, FjallConfig, FjallStore, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "bench_proofs", version, about = "Prepare a large log and measure proof generation")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Append N re-stamped copies of the last entry to a stopped server's data directory.
    Fill {
        /// The server's data directory (its sled store is DIR/db).
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        entries: u64,
        /// Entries per durable batch.
        #[arg(long, default_value_t = 10_000)]
        batch: u64,
        /// Filler bytes standing in for each entry's statement.
        #[arg(long, default_value_t = 300)]
        entry_bytes: usize,
    },
    /// Generate random inclusion proofs at the stored size.
    Prove {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        proofs: u64,
        #[arg(long, default_value_t = 2)]
        threads: u64,
    },
}

/// Opens the store of a stopped server's data directory with the engine
/// it was made with: `DIR/fjall` (fjall) or `DIR/db` (sled).
fn open(data: &std::path::Path) -> anyhow::Result<TiledTree> {
    let store: Arc<dyn Store> = if data.join("fjall").is_dir() {
        Arc::new(FjallStore::open(&data.join("fjall"), &FjallConfig::default())?)
    } else if data.join("db").is_dir() {
        Arc::new(SledStore::open(&data.join("db"), &SledConfig::default())?)
    } else {
        anyhow::bail!("{} is not a server data directory (no db/ or fjall/ store)", data.display())
    };
    Ok(TiledTree::open(store)?)
}

fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Fill { data, entries, batch, entry_bytes } => {
            fill(&data, entries, batch.max(1), entry_bytes)
        }
        Command::Prove { data, proofs, threads } => prove(&data, proofs, threads.max(1)),
    }
}

fn fill(data: &std::path::Path, entries: u64, batch: u64, entry_bytes: usize) -> anyhow::Result<()> {
    let mut tree = open(data)?;
    let start = tree.size();
    anyhow::ensure!(start > 0, "the log is empty: start the server once with --dev to create its genesis");
    let last = Entry::decode(&tree.reader().entry(start - 1)?)?;
    let mut template = Entry { statement: vec![0xf1; entry_bytes], flags: Vec::new(), ..last };
    let t0 = Instant::now();
    let mut next = 0;
    let mut buf: Vec<Vec<u8>> = Vec::with_capacity(batch as usize);
    while next < entries {
        buf.clear();
        for _ in 0..batch.min(entries - next) {
            template.registered_at_ms += 1;
            buf.push(template.encode()?);
        }
        next += buf.len() as u64;
        tree.append(&buf, Batch::new())?;
        tree.flush()?;
        if next % 1_000_000 < batch {
            eprintln!("  {next} appended, {:.0}/s", next as f64 / t0.elapsed().as_secs_f64());
        }
    }
    println!(
        "filled {}: size {start} -> {} in {:.1}s",
        data.display(),
        tree.size(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn prove(data: &std::path::Path, proofs: u64, threads: u64) -> anyhow::Result<()> {
    let tree = open(data)?;
    let size = tree.size();
    let reader = tree.reader();
    let t0 = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let reader = reader.clone();
                s.spawn(move || -> anyhow::Result<()> {
                    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1);
                    for _ in 0..proofs / threads {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        std::hint::black_box(reader.prove_inclusion(x % size, size)?);
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().expect("prover thread")?;
        }
        Ok(())
    })?;
    let rate = proofs as f64 / t0.elapsed().as_secs_f64();
    println!("size={size} threads={threads} inclusion_proofs_per_s={rate:.0}");
    Ok(())
}
