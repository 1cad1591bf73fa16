//! `bench_reads`: read throughput of a log's HTTP read API, for comparing a
//! `provlog-mirror` with the primary `provlog-server` (BENCHMARKS.md, "Reads:
//! mirror and primary").
//!
//! ```text
//! bench_reads --url http://127.0.0.1:7350 --kind inclusion --threads 4 --seconds 10
//! ```
//!
//! Reads `/checkpoint` once for the size, then for `--seconds` each of
//! `--threads` keep-alive connections GETs, in a closed loop:
//! `inclusion` — `/proof/inclusion?index=I&size=S` at random I;
//! `tile` — a random full level-0 tile `/tile/0/<N>`;
//! `bundle` — a random full entry bundle `/tile/entries/<N>`.
//! Every answer must be 200; prints requests/s and the p50/p99 latency.

use clap::{Parser, ValueEnum};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::tile::{Tile, TileKind};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Inclusion,
    Tile,
    Bundle,
}

#[derive(Parser)]
#[command(name = "bench_reads", version, about = "Read throughput of a log's HTTP read API")]
struct Args {
    /// The server's base URL.
    #[arg(long)]
    url: String,
    #[arg(long, value_enum, default_value = "inclusion")]
    kind: Kind,
    #[arg(long, default_value_t = 4)]
    threads: u64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// A small xorshift generator: the load needs spread, not quality.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.url.trim_end_matches('/').to_owned();
    let client = reqwest::blocking::Client::builder().no_proxy().build()?;
    let note = client.get(format!("{base}/checkpoint")).send()?.error_for_status()?.text()?;
    let (body, _) = provlog_ledger::note::split(&note)?;
    let size = Checkpoint::parse(body)?.size;
    let full_tiles = size / 256;
    anyhow::ensure!(size > 0, "empty log");
    anyhow::ensure!(!matches!(args.kind, Kind::Tile | Kind::Bundle) || full_tiles > 0, "no full tile yet");
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let workers: Vec<_> = (0..args.threads)
        .map(|t| {
            let (client, base, kind) = (client.clone(), base.clone(), args.kind);
            std::thread::spawn(move || -> anyhow::Result<Vec<u64>> {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (t + 1);
                let mut latencies_us = Vec::new();
                while Instant::now() < deadline {
                    let r = next(&mut rng);
                    let path = match kind {
                        Kind::Inclusion => format!("/proof/inclusion?index={}&size={size}", r % size),
                        Kind::Tile | Kind::Bundle => {
                            let kind = if matches!(kind, Kind::Tile) {
                                TileKind::Hashes { level: 0 }
                            } else {
                                TileKind::Entries
                            };
                            format!("/{}", Tile { kind, index: r % full_tiles, width: 256 }.path())
                        }
                    };
                    let start = Instant::now();
                    let resp = client.get(format!("{base}{path}")).send()?;
                    anyhow::ensure!(resp.status() == 200, "{path}: {}", resp.status());
                    resp.bytes()?;
                    latencies_us.push(start.elapsed().as_micros() as u64);
                }
                Ok(latencies_us)
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.join().expect("worker")?);
    }
    all.sort_unstable();
    let p = |q: f64| all[((all.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "{} requests in {} s: {:.0}/s; p50 {:.2} ms, p99 {:.2} ms (size {size})",
        all.len(),
        args.seconds,
        all.len() as f64 / args.seconds as f64,
        p(0.5),
        p(0.99)
    );
    Ok(())
}
