//! `provlog-crash`: the crash harness at full length (RELIABILITY.md).
//!
//! usage: provlog-crash [--server-kills N] [--witness-kills N] [--submitters N] [--seed S]
//!
//! Kills the server and the witnesses with SIGKILL at random moments under
//! continuous load, restarts them, and then checks every receipt, every
//! published checkpoint and every cosignature (see `provlog_tests::crash`).
//! Exit status 0 when every property held.

use clap::Parser;
use provlog_tests::crash::{run, CrashConfig};

/// Kills a provlog-server and its two witnesses with SIGKILL at random
/// moments under continuous load, restarts them, then checks that every
/// statement that got a receipt is in the log at its receipt's index, that
/// every published checkpoint is consistent with the final one, and that no
/// witness cosigned two roots for one size. Exit status 0 when all held.
#[derive(Parser)]
#[command(name = "provlog-crash", version)]
struct Args {
    /// Server kills (SIGKILL) before the final check.
    #[arg(long, default_value_t = CrashConfig::default().server_kills)]
    server_kills: usize,
    /// Witness kills (SIGKILL), spread over both witnesses.
    #[arg(long, default_value_t = CrashConfig::default().witness_kills)]
    witness_kills: usize,
    /// Concurrent submitting clients.
    #[arg(long, default_value_t = CrashConfig::default().submitters)]
    submitters: usize,
    /// Seed of the kill schedule.
    #[arg(long, default_value_t = CrashConfig::default().seed)]
    seed: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = CrashConfig {
        server_kills: args.server_kills,
        witness_kills: args.witness_kills,
        submitters: args.submitters,
        seed: args.seed,
        ..CrashConfig::default()
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
