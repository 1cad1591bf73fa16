//! Builds a synthetic provlog log for benchmarks: `N` signed EPCIS
//! statements registered in-process with `provlog-ledger`'s `Log` into a
//! sled store laid out as `provlog-server --data DIR` expects (`DIR/db`,
//! log key `DIR/log.key`, origin `synthetic.example/log`). Then serve it:
//!
//! ```text
//! cargo run --release -p provlog-client --example build_log -- DIR N [--tamper-at K]
//! provlog-server --data DIR --origin synthetic.example/log --listen 127.0.0.1:PORT
//! ```
//!
//! Used by `scripts/bench-audit.sh`. Re-running with a larger `N` grows the
//! same log.

#[path = "../tests/support/synthetic.rs"]
mod synthetic;

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: build_log DIR ENTRIES [--tamper-at INDEX]";
    let dir = PathBuf::from(args.first().expect(usage));
    let size: u64 = args.get(1).and_then(|n| n.parse().ok()).expect(usage);
    let tamper_at = match args.get(2).map(String::as_str) {
        Some("--tamper-at") => Some(args.get(3).and_then(|n| n.parse().ok()).expect(usage)),
        None => None,
        Some(_) => panic!("{usage}"),
    };
    let log = if dir.join("log.key").exists() { synthetic::open(&dir) } else { synthetic::create(&dir) };
    let start = Instant::now();
    let mut last = Instant::now();
    log.grow(size, 2_000, tamper_at, |n| {
        if last.elapsed().as_secs() >= 5 {
            eprintln!("{n} entries, {:.0}/s", n as f64 / start.elapsed().as_secs_f64());
            last = Instant::now();
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "built {} with {size} entries in {secs:.1} s ({:.0} entries/s)",
        dir.display(),
        size as f64 / secs
    );
}
