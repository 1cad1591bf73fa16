//! The crash harness, short: the server and the witnesses are each killed
//! with SIGKILL several times under load; no receipted statement is lost,
//! every published checkpoint is consistent with the final one, and no
//! witness cosigned two roots for one size. The full run (50 kills of
//! each) is `provlog-crash`, recorded in RELIABILITY.md.

use provlog_tests::crash::{run, CrashConfig};

#[test]
fn sigkills_of_server_and_witnesses_lose_nothing_and_fork_nothing() {
    let config = CrashConfig { server_kills: 6, witness_kills: 6, submitters: 2, ..CrashConfig::default() };
    // `run` fails, saying what, on any receipted statement lost, any
    // checkpoint inconsistent with the final one, or any witness that
    // cosigned two roots for one size.
    let r = run(&config).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!((r.server_kills, r.witness_kills), (6, 6));
    assert!(r.receipts > 20, "the load made progress: {r:?}");
    assert!(r.checkpoints > 5 && r.cosigned_sizes > 5, "{r:?}");
}
