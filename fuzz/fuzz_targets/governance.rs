//! Governance payloads (`governance::GovernancePayload::parse`), and the
//! registry applying them.
//!
//! Properties: parse → `to_json` → parse gives an equal value and the same
//! JSON; applying a payload to a registry either succeeds or leaves the
//! registry exactly as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::governance::{GovernancePayload, Registry};
use std::sync::OnceLock;

/// The registry after the fixture genesis (entry 0).
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = Registry::new(provlog_fuzz::ORIGIN);
        let genesis = &provlog_fuzz::governance_payloads()[0];
        r.apply(genesis, &[0; 32], &[0; 32], 0).expect("fixture genesis applies");
        r
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(p) = GovernancePayload::parse(data) else { return };
    let json = p.to_json();
    let q = GovernancePayload::parse(&json).expect("to_json output parses");
    assert_eq!(q, p, "parse → to_json → parse changed the payload");
    assert_eq!(q.to_json(), json);

    for index in [0, 1] {
        let mut r = if index == 0 { Registry::new(provlog_fuzz::ORIGIN) } else { registry().clone() };
        let before = serde_json::to_string(&r).expect("a registry serializes");
        if r.apply(&p, &[1; 32], &[2; 32], index).is_err() {
            assert_eq!(serde_json::to_string(&r).expect("serializes"), before, "a refused action changed the registry");
        }
    }
});
