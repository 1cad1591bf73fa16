//! EPCIS event payloads (`epcis::parse_event`, `EpcisEvent::parse`).
//!
//! Properties: parsing is deterministic (twice, equal results or equal
//! errors) and agrees between the typed and the normalized reader; for an
//! accepted event, `canonical_identifiers()` is exactly the set of the
//! canonical forms of `identifiers()`, and every identifier reparses from
//! its raw text to itself and from its canonical form to the same
//! canonical form, kind and GS1 key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::epcis::{self, EpcisEvent, Event, Role};
use std::collections::BTreeSet;

fuzz_target!(|data: &[u8]| {
    let a = epcis::parse_event(data);
    let b = epcis::parse_event(data);
    let event = match (a, b) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x, y, "parse_event is not deterministic");
            x
        }
        (Err(x), Err(y)) => {
            assert_eq!(format!("{x:?}"), format!("{y:?}"), "parse_event errors are not deterministic");
            let _ = x.to_string();
            return;
        }
        (x, y) => panic!("parse_event is not deterministic: {x:?} then {y:?}"),
    };
    let typed = EpcisEvent::parse(data).expect("the typed reader accepts what parse_event accepts");
    assert_eq!(Event::from(typed), event);

    let ids = event.identifiers();
    let canonical: BTreeSet<&str> = ids.iter().map(|r| r.id.canonical.as_str()).collect();
    assert_eq!(event.canonical_identifiers(), canonical);
    for r in &ids {
        let quantity_role = matches!(r.role, Role::Quantity | Role::ChildQuantity | Role::InputQuantity | Role::OutputQuantity);
        assert!(quantity_role || (r.quantity.is_none() && r.uom.is_none()), "an object role with a quantity");
        if !quantity_role {
            assert!(!r.id.is_class(), "a class identifier where one object is expected: {}", r.id.raw);
        }
        provlog_fuzz::identifiers::check(r.id);
    }
    for location in [&event.read_point, &event.biz_location].into_iter().flatten() {
        provlog_fuzz::identifiers::check(location);
    }
    serde_json::to_vec(&event).expect("an event serializes");
    let _ = (event.is_recall(), event.sensor_reports().count());
});
