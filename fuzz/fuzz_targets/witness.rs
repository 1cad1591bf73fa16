//! C2SP tlog-witness bodies (`witness_protocol::AddCheckpointRequest::parse`,
//! `parse_cosignatures`, `parse_witness_size`), and the decision on them.
//!
//! Properties: each parser's output formats back to exactly the input, and
//! parse → format → parse is identity; `AddCheckpointRequest::new` agrees
//! with the parser; `decide` cosigns only checkpoints the fixture log
//! signed, never one inconsistent with a checkpoint it cosigned before
//! (a fork), and never from a size other than its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::tree::Hash;
use provlog_ledger::witness_protocol::{
    decide, format_cosignatures, format_witness_size, parse_cosignatures, parse_witness_size,
    AddCheckpointRequest, TrustedLogs,
};
use std::sync::OnceLock;

fn trusted() -> &'static TrustedLogs {
    static TRUSTED: OnceLock<TrustedLogs> = OnceLock::new();
    TRUSTED.get_or_init(|| {
        let mut t = TrustedLogs::new();
        t.add(provlog_fuzz::ORIGIN, provlog_fuzz::fixtures().log_verifier.clone()).expect("fixture log");
        t
    })
}

fuzz_target!(|data: &[u8]| {
    let fx = provlog_fuzz::fixtures();
    if let Ok(req) = AddCheckpointRequest::parse(data) {
        let body = req.format();
        assert_eq!(body.as_bytes(), data, "request format differs from the parsed body");
        assert_eq!(AddCheckpointRequest::parse(body.as_bytes()).as_ref(), Ok(&req));
        assert_eq!(AddCheckpointRequest::new(req.old_size, req.proof.clone(), &req.note).as_ref(), Ok(&req));

        // What the witness has cosigned: nothing, a genuine fixture
        // checkpoint, or a fork of one (same size, another root).
        let size = (req.old_size as usize).min(fx.checkpoints.len() - 1);
        let genuine = &fx.checkpoints[size];
        let mut fork = genuine.clone();
        fork.root = Hash([0x5a; 32]);
        let latest: [Option<&Checkpoint>; 3] = [None, Some(genuine), Some(&fork)];
        for (i, latest) in latest.into_iter().enumerate() {
            let Ok(signed) = decide(&req, trusted(), latest) else { continue };
            assert!(fx.signed_texts.contains(&signed.note.text), "cosigned a checkpoint the log never signed");
            assert_eq!(fx.checkpoints.get(signed.checkpoint.size as usize), Some(&signed.checkpoint));
            assert_eq!(req.old_size, latest.map_or(0, |c| c.size), "cosigned from a size not its own");
            assert!(i != 2 || fork.size == 0, "cosigned a checkpoint inconsistent with a cosigned fork");
        }
    }
    if let Ok(sigs) = parse_cosignatures(data) {
        assert!(!sigs.is_empty());
        let body = format_cosignatures(&sigs);
        assert_eq!(body.as_bytes(), data, "cosignature lines format differently from the parsed body");
        assert_eq!(parse_cosignatures(body.as_bytes()), Ok(sigs));
    }
    if let Ok(size) = parse_witness_size(data) {
        assert_eq!(format_witness_size(size).as_bytes(), data);
    }
});
