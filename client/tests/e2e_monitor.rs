//! `provlog monitor` against the real `provlog-server --dev`: a partner
//! watches its own key and its products; a statement made with its key
//! (stolen) that it did not submit, and another partner's claim about one
//! of its products, are reported; its own statements are not.

mod support;

use std::ffi::OsString;
use std::path::Path;
use support::{provlog, DevLog, Run};

fn os(s: impl AsRef<std::ffi::OsStr>) -> OsString {
    s.as_ref().to_owned()
}

fn event(serial: &str, event_id: &str) -> String {
    format!(
        r#"{{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"ObjectEvent","eventTime":"2026-10-01T08:00:00.000Z","eventTimeZoneOffset":"+00:00","eventID":"{event_id}","epcList":["urn:epc:id:sgtin:0614141.107346.{serial}"],"action":"OBSERVE","bizStep":"inspecting"}}"#
    )
}

fn submit(log: &DevLog, key: &Path, receipts: &Path, json: &str, name: &str) -> serde_json::Value {
    let file = receipts.with_extension(format!("{name}.json"));
    std::fs::write(&file, json).unwrap();
    let run = provlog(&[
        os("--json"),
        os("submit"),
        os("--policy"),
        os(log.policy()),
        os("--key"),
        os(key),
        os("--receipts"),
        os(receipts),
        os(&file),
    ]);
    run.expect(0);
    run.json_lines().remove(0)
}

fn monitor(log: &DevLog, state: &Path, known: &Path) -> Run {
    provlog(&[
        os("--json"),
        os("monitor"),
        os("--policy"),
        os(log.policy()),
        os("--state"),
        os(state),
        os("--watch-key"),
        os(log.partner_public_key("farm")),
        // The farm's product, in Digital Link form: matched canonically.
        os("--watch-id"),
        os("https://example.com/01/10614141073464/21/9"),
        os("--known"),
        os(known),
    ])
}

#[test]
fn a_monitor_reports_a_statement_made_with_the_partners_key_that_it_did_not_submit() {
    let tmp = tempfile::tempdir().unwrap();
    let log = DevLog::start(&tmp.path().join("dev"));
    let farm = log.partner_key("farm");
    let mine = tmp.path().join("farm-receipts");
    let state = tmp.path().join("monitor.json");

    // The farm's own statements: seen, known.
    let a = submit(&log, &farm, &mine, &event("1", "urn:uuid:a0000000-0000-4000-8000-000000000001"), "a");
    let b = submit(&log, &farm, &mine, &event("2", "urn:uuid:a0000000-0000-4000-8000-000000000002"), "b");
    let run = monitor(&log, &state, &mine);
    run.expect(0);
    let round = &run.json_lines()[0];
    let findings = round["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{round}");
    assert!(findings.iter().all(|f| f["known"] == true));
    assert_eq!(findings[0]["statement_id"], a["statement_id"]);
    assert_eq!(findings[1]["statement_id"], b["statement_id"]);
    assert_eq!(round["unknown"], 0);

    // Someone holding a copy of the farm's key signs and submits an event
    // the farm never made; the log accepts it (the signature is valid).
    let thief = tmp.path().join("thief-receipts");
    let stolen =
        submit(&log, &farm, &thief, &event("3", "urn:uuid:b0000000-0000-4000-8000-000000000003"), "c");
    // Another partner makes a claim about the farm's product serial 9.
    let processor = log.partner_key("processor");
    let claim =
        submit(&log, &processor, &thief, &event("9", "urn:uuid:b0000000-0000-4000-8000-000000000009"), "d");
    // And the farm submits one more of its own.
    let own = submit(&log, &farm, &mine, &event("4", "urn:uuid:a0000000-0000-4000-8000-000000000004"), "e");

    let run = monitor(&log, &state, &mine);
    run.expect(5);
    let round = &run.json_lines()[0];
    assert_eq!(round["unknown"], 2, "{round}");
    let findings = round["findings"].as_array().unwrap();
    let by_id =
        |v: &serde_json::Value| findings.iter().find(|f| f["statement_id"] == v["statement_id"]).cloned();
    let f = by_id(&stolen).expect("the stolen-key statement is reported");
    assert_eq!(f["known"], false);
    assert!(f["matched"][0].as_str().unwrap().starts_with("key "), "{f}");
    let f = by_id(&claim).expect("the claim about the farm's product is reported");
    assert_eq!(f["known"], false);
    assert_eq!(f["iss"], "urn:epc:id:pgln:0614142.00001");
    assert_eq!(f["matched"][0], "identifier https://id.gs1.org/01/10614141073464/21/9");
    assert_eq!(by_id(&own).expect("its own statement")["known"], true);

    // Nothing new: a quiet round; the alert is not repeated.
    let run = monitor(&log, &state, &mine);
    run.expect(0);
    assert_eq!(run.json_lines()[0]["findings"].as_array().unwrap().len(), 0);
}
