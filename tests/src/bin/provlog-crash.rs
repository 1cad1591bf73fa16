//! `provlog-crash`: the crash harness at full length (RELIABILITY.md).
//!
//! usage: provlog-crash [--server-kills N] [--witness-kills N] [--submitters N] [--seed S]
//!
//! Kills the server and the witnesses with SIGKILL at random moments under
//! continuous load, restarts them, and then checks every receipt, every
//! published checkpoint and every cosignature (see `provlog_tests::crash`).
//! Exit status 0 when every property held.

use provlog_tests::crash::{run, CrashConfig};

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: u64| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .map_or(default, |v| v.parse().expect(name))
    };
    let d = CrashConfig::default();
    let config = CrashConfig {
        server_kills: num("--server-kills", d.server_kills as u64) as usize,
        witness_kills: num("--witness-kills", d.witness_kills as u64) as usize,
        submitters: num("--submitters", d.submitters as u64) as usize,
        seed: num("--seed", d.seed),
        ..d
    };
    eprintln!("provlog-crash: {config:?}");
    match run(&config) {
        Ok(r) => {
            println!("{r:#?}");
            println!(
                "server_kills={} witness_kills={} receipts={} lost={} final_size={} checkpoints={} cosigned_sizes={} seconds={:.0}",
                r.server_kills, r.witness_kills, r.receipts, r.lost, r.final_size, r.checkpoints, r.cosigned_sizes, r.seconds
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("provlog-crash: FAILED: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
