//! EPCIS documents (`epcis::split_document`).
//!
//! Properties: splitting is deterministic; every event payload it returns
//! is within `MAX_EVENT_BYTES` and parses, on its own, to exactly the event
//! the split returned with it (what a client signs is what the log reads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::epcis::{self, MAX_EVENT_BYTES};

fuzz_target!(|data: &[u8]| {
    let a = epcis::split_document(data);
    let b = epcis::split_document(data);
    let events = match (a, b) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x, y, "split_document is not deterministic");
            x
        }
        (Err(x), Err(y)) => {
            assert_eq!(format!("{x:?}"), format!("{y:?}"), "split_document errors are not deterministic");
            return;
        }
        (x, y) => panic!("split_document is not deterministic: {x:?} then {y:?}"),
    };
    for e in &events {
        assert!(e.payload.len() <= MAX_EVENT_BYTES);
        let reparsed = epcis::parse_event(&e.payload).expect("a split payload parses on its own");
        assert_eq!(reparsed, e.event, "the split event differs from its payload's");
    }
});
