//! Entry records (`entry::Entry::decode`, `Entry::encode`).
//!
//! Property: decode → encode is the input, and decode → encode → decode is
//! identity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::entry::Entry;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Entry::decode(data) {
        let bytes = e.encode().expect("a decoded entry encodes");
        assert_eq!(bytes, data, "entry re-encodes differently");
        assert_eq!(Entry::decode(&bytes), Ok(e));
    }
});
