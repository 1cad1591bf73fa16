//! GS1 identifiers: EPC URIs and Digital Link URIs (`Identifier::parse`).
//!
//! Properties: parsing is deterministic; the canonical form is idempotent
//! (`parse(canonical).canonical == canonical`) with the same kind and GS1
//! key; GTINs, GLNs and SSCCs come out with their length and a correct
//! check digit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::epcis::Identifier;

fuzz_target!(|data: &[u8]| {
    let Ok(uri) = std::str::from_utf8(data) else { return };
    if let Ok(id) = Identifier::parse(uri) {
        assert_eq!(id.raw, uri);
        provlog_fuzz::identifiers::check(&id);
    }
});
