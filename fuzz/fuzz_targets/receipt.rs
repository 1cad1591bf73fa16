//! C2SP tlog-proof receipts (`receipt::Receipt::parse`, `Receipt::verify`).
//!
//! Properties: parse → `to_text` is the input, and parse → `to_text` →
//! parse is identity; a receipt verifies under the fixture log's key only
//! if its checkpoint is one the log signed and its `extra` is the entry
//! really at `index` in that tree, so a mutated valid receipt never
//! verifies to a different claim.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::receipt::Receipt;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let fx = provlog_fuzz::fixtures();
    let Ok(r) = Receipt::parse(text) else { return };
    assert_eq!(r.to_text(), text, "receipt text is not canonical");
    assert_eq!(Receipt::parse(&r.to_text()).expect("formatted receipt parses"), r);

    let verifiers = fx.note_verifiers();
    match r.verify(provlog_fuzz::ORIGIN, &verifiers) {
        Ok(signed) => {
            assert!(fx.signed_texts.contains(&signed.note.text), "verified under a checkpoint never signed");
            assert_eq!(fx.checkpoints.get(signed.checkpoint.size as usize), Some(&signed.checkpoint));
            assert!(r.index < signed.checkpoint.size);
            let entry = &fx.entries[r.index as usize];
            assert_eq!(r.extra.as_ref(), Some(entry), "verified an entry that is not at its index");
        }
        Err(e) => {
            let _ = (e.is_verification_failure(), e.to_string());
        }
    }
});
