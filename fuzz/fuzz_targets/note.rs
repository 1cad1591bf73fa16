//! C2SP signed notes and checkpoints (`note::split`, `note::open`,
//! `checkpoint::Checkpoint::parse`, `checkpoint::open`).
//!
//! Properties: split → format (text, blank line, signature lines) is the
//! input; checkpoint parse → `to_text` is the input, and parse → format →
//! parse is identity; a note opens under a fixture key only if its text is
//! one that key signed, so any mutation of a signed note's text stops it
//! opening; `checkpoint::open` agrees with `note::open` + `Checkpoint::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::checkpoint::{self, Checkpoint};
use provlog_ledger::note;

fn check_checkpoint_text(text: &str) {
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(cp.to_text(), text, "checkpoint text is not canonical");
        assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = std::str::from_utf8(data) else { return };
    let fx = provlog_fuzz::fixtures();
    check_checkpoint_text(msg);
    let Ok((text, sigs)) = note::split(msg) else { return };
    let mut formatted = format!("{text}\n");
    for s in &sigs {
        formatted.push_str(&s.line());
    }
    assert_eq!(formatted, msg, "split → format is not the input");
    check_checkpoint_text(text);

    let verifiers = fx.note_verifiers();
    if let Ok(n) = note::open(msg, &verifiers) {
        assert_eq!(n.text, text);
        assert!(fx.signed_texts.contains(&n.text), "a note opened whose text no fixture key signed: {text:?}");
        assert!(!n.verified.is_empty());
        for s in &n.verified {
            assert!(verifiers.iter().any(|v| v.name() == s.name && v.key_id() == s.key_id));
        }
    }
    let opened = checkpoint::open(msg, provlog_fuzz::ORIGIN, &verifiers);
    if let Ok(signed) = &opened {
        assert!(fx.signed_texts.contains(&signed.note.text));
        assert_eq!(Checkpoint::parse(text).as_ref(), Ok(&signed.checkpoint));
        let size = signed.checkpoint.size as usize;
        assert_eq!(fx.checkpoints.get(size), Some(&signed.checkpoint), "opened a checkpoint the log never signed");
    }
    assert_eq!(
        opened.is_ok(),
        note::open(msg, &verifiers).is_ok()
            && Checkpoint::parse(text).is_ok_and(|c| c.origin == provlog_fuzz::ORIGIN),
    );
});
