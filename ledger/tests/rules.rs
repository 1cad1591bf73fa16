//! One test per rule family: an accepted case and a refused (or flagged)
//! case, with real signed statements registered in a real log; every
//! refusal names its rule, and a refusal leaves the tree unchanged.

// `&[epc.clone()]` reads better in these scenarios than `slice::from_ref`.
#![allow(clippy::cloned_ref_to_slice_refs)]

mod common;

use common::*;
use provlog_ledger::governance::{Action, KeySpec, Role, Scopes};
use provlog_ledger::log::{Log, Outcome};
use provlog_ledger::rules::{Mode, RuleSet};
use provlog_ledger::state::StateView;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS};
use serde_json::json;

fn strict() -> Chain {
    Chain::new(RuleSet::strict("strict"))
}

/// Registers `out` must be a rejection named `name`, and the tree did not grow.
fn assert_rejected(chain: &Chain, size_before: u64, out: &Outcome, name: &str) {
    assert_eq!(rejected_by(out), name, "{out:?}");
    assert_eq!(chain.log.size(), size_before, "a refused statement must not grow the tree");
}

#[test]
fn signature_rule_accepts_registered_keys_and_refuses_others() {
    let mut c = strict();
    let (farm, processor) = (c.farm.clone(), c.processor.clone());
    let e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    assert!(flags_of(&c.submit(&farm, e)).is_empty());

    let n = c.log.size();
    let e = c.commission(&farm, &[farm.sgtin("107346", "2")], "2026-11-01T10:00:00Z");
    // Another partner's key as the issuer's.
    let s = c.sign_with(&farm, &processor.key, &e);
    let out = c.register(s);
    assert_rejected(&c, n, &out, "signature.issuer-key");
    // A key nobody registered.
    let s = c.sign_with(&farm, &key(99), &e);
    let out = c.register(s);
    assert_rejected(&c, n, &out, "signature.unknown-kid");
    // An issuer nobody registered.
    let mut stranger = farm.clone();
    stranger.id = "urn:epc:id:pgln:0999999.00001".into();
    let s = c.sign(&stranger, &e);
    let out = c.register(s);
    assert_rejected(&c, n, &out, "signature.unknown-issuer");
}

#[test]
fn tampered_signature_is_refused() {
    let mut c = strict();
    let farm = c.farm.clone();
    let e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    let s = c.sign(&farm, &e);
    let mut bytes = s.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // inside the signature
    let tampered = Statement::parse(&bytes).unwrap();
    let n = c.log.size();
    let out = c.register(tampered);
    assert_rejected(&c, n, &out, "signature.bad-signature");
}

#[test]
fn key_validity_window_and_revocation() {
    let mut c = strict();
    let farm = c.farm.clone();
    let later = key(41);
    let out = c.govern(
        Action::AddKey {
            partner: farm.id.clone(),
            key: KeySpec {
                public_key: public_b64(&later),
                not_before_ms: Some(c.now + 3_600_000),
                not_after_ms: None,
            },
        },
        &[0, 1],
    );
    assert!(matches!(out, Outcome::Registered { .. }), "{out:?}");
    let e = c.commission(&farm, &[farm.sgtin("107346", "3")], "2026-11-01T10:00:00Z");
    let s = c.sign_with(&farm, &later, &e);
    let n = c.log.size();
    let out = c.register(s.clone());
    assert_rejected(&c, n, &out, "signature.key-not-yet-valid");
    c.now += 3_600_000;
    assert!(matches!(c.register(s), Outcome::Registered { .. }));

    // Revoke the farm's original key: statements after the revocation fail,
    // the ones before it stay in the log.
    let kid = hex::encode(provlog_ledger::statement::key_thumbprint(&farm.key.verifying_key()));
    let out =
        c.govern(Action::RevokeKey { partner: farm.id.clone(), kid, reason: "lost laptop".into() }, &[1, 2]);
    assert!(matches!(out, Outcome::Registered { .. }), "{out:?}");
    let e = c.commission(&farm, &[farm.sgtin("107346", "4")], "2026-11-01T13:00:00Z");
    let n = c.log.size();
    let out = c.submit(&farm, e.clone());
    assert_rejected(&c, n, &out, "signature.key-revoked");
    let s = c.sign_with(&farm, &later, &e);
    assert!(matches!(c.register(s), Outcome::Registered { .. }));
}

#[test]
fn governance_needs_a_quorum_and_refuses_weak_keys() {
    let mut c = strict();
    let n = c.log.size();
    let out = c.govern(Action::SetRole { partner: c.farm.id.clone(), role: Role::Auditor }, &[0]);
    assert_rejected(&c, n, &out, "governance.quorum");
    // The identity point: a small-order ("weak") Ed25519 key.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let out = c.govern(
        Action::AddKey {
            partner: c.farm.id.clone(),
            key: KeySpec {
                public_key: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, weak),
                not_before_ms: None,
                not_after_ms: None,
            },
        },
        &[0, 1],
    );
    assert_rejected(&c, n, &out, "governance.invalid-action");
    let out = c.govern(Action::SetRole { partner: c.farm.id.clone(), role: Role::Partner }, &[0, 2]);
    assert!(matches!(out, Outcome::Registered { .. }), "{out:?}");
}

#[test]
fn well_formed_rule_refuses_bad_payloads_and_subjects() {
    let mut c = strict();
    let farm = c.farm.clone();
    let n = c.log.size();
    let bad = json!({"type": "ObjectEvent", "eventTime": "not a time", "eventTimeZoneOffset": "+00:00", "action": "ADD"});
    let out = c.submit(&farm, bad);
    assert_rejected(&c, n, &out, "well-formed.epcis");
    let e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    let s = Statement::sign1(
        &farm.key,
        &farm.id,
        "urn:something:else",
        c.now / 1000,
        CONTENT_TYPE_EPCIS,
        e.to_string().as_bytes(),
    )
    .unwrap();
    let out = c.register(s);
    assert_rejected(&c, n, &out, "well-formed.subject");
    let s =
        Statement::sign1(&farm.key, &farm.id, &subject(&e), c.now / 1000, "text/plain", b"hello").unwrap();
    let out = c.register(s);
    assert_rejected(&c, n, &out, "well-formed.content-type");
}

#[test]
fn scope_rule_checks_locations_products_steps_and_parties() {
    let mut c = strict();
    let (farm, processor, retailer) = (c.farm.clone(), c.processor.clone(), c.retailer.clone());
    let n = c.log.size();
    // A product under someone else's company prefix.
    let e = c.commission(&farm, &[processor.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    let out = c.submit(&farm, e);
    assert_rejected(&c, n, &out, "scope.product");
    // Someone else's location.
    let mut e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    e["bizLocation"] = json!({"id": processor.location()});
    let out = c.submit(&farm, e);
    assert_rejected(&c, n, &out, "scope.location");
    // A business step the partner may not record.
    let mut e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    e["bizStep"] = json!("retail_selling");
    let out = c.submit(&farm, e);
    assert_rejected(&c, n, &out, "scope.biz-step");
    // The good case.
    let epc = farm.sgtin("107346", "1");
    let e = c.commission(&farm, &[epc.clone()], "2026-11-01T10:00:00Z");
    assert!(matches!(c.submit(&farm, e), Outcome::Registered { .. }));
    // Shipping where the shipper is not the source party.
    let n = c.log.size();
    let mut e = c.ship(&farm, &retailer, &[epc.clone()], "2026-11-01T11:00:00Z");
    e["sourceList"] = json!([{"type": "owning_party", "source": processor.id}]);
    let out = c.submit(&farm, e);
    assert_rejected(&c, n, &out, "scope.shipper");
    let e = c.ship(&farm, &retailer, &[epc.clone()], "2026-11-01T11:00:00Z");
    assert!(matches!(c.submit(&farm, e), Outcome::Registered { .. }));
    // Receiving where the receiver is not the destination party.
    let n = c.log.size();
    let mut e = c.receive(&retailer, &farm, &[epc.clone()], "2026-11-01T11:30:00Z");
    e["destinationList"] = json!([{"type": "owning_party", "destination": processor.id}]);
    let out = c.submit(&retailer, e);
    assert_rejected(&c, n, &out, "scope.receiver");
}

#[test]
fn scope_rule_in_flag_mode_flags_instead() {
    let mut rules = RuleSet::strict("flagging");
    rules.scope.mode = Mode::Flag;
    let mut c = Chain::new(rules);
    let (farm, processor) = (c.farm.clone(), c.processor.clone());
    let e = c.commission(&farm, &[processor.sgtin("107346", "1")], "2026-11-01T10:00:00Z");
    assert_eq!(flags_of(&c.submit(&farm, e)), vec!["scope.product".to_string()]);
}

#[test]
fn time_rule_refuses_future_events_and_flags_old_ones() {
    let mut rules = RuleSet::strict("timed");
    rules.time.max_age_ms = Some(30 * 24 * 3_600_000);
    let mut c = Chain::new(rules);
    let farm = c.farm.clone();
    let n = c.log.size();
    let e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-02T12:00:00Z");
    let out = c.submit(&farm, e);
    assert_rejected(&c, n, &out, "time.future");
    let e = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T12:04:00Z");
    assert!(flags_of(&c.submit(&farm, e)).is_empty(), "within the skew");
    let e = c.commission(&farm, &[farm.sgtin("107346", "2")], "2026-08-01T12:00:00Z");
    assert_eq!(flags_of(&c.submit(&farm, e)), vec!["time.too-old".to_string()]);
}

#[test]
fn causality_rule_orders_shipments_receipts_and_destruction() {
    let mut c = strict();
    let (farm, retailer) = (c.farm.clone(), c.retailer.clone());
    let epc = farm.sgtin("107346", "1");
    let e = c.commission(&farm, &[epc.clone()], "2026-11-01T08:00:00Z");
    c.submit(&farm, e);
    let e = c.ship(&farm, &retailer, &[epc.clone()], "2026-11-01T09:00:00Z");
    c.submit(&farm, e);
    let n = c.log.size();
    let e = c.receive(&retailer, &farm, &[epc.clone()], "2026-11-01T08:30:00Z");
    let out = c.submit(&retailer, e);
    assert_rejected(&c, n, &out, "causality.receive-before-ship");
    let e = c.receive(&retailer, &farm, &[epc.clone()], "2026-11-01T09:30:00Z");
    assert!(flags_of(&c.submit(&retailer, e)).is_empty());
    let mut e = c.commission(&retailer, &[epc.clone()], "2026-11-01T10:00:00Z");
    e["action"] = json!("DELETE");
    e["bizStep"] = json!("destroying");
    e["disposition"] = json!("destroyed");
    assert!(matches!(c.submit(&retailer, e), Outcome::Registered { .. }));
    let n = c.log.size();
    let mut e = c.receive(&retailer, &farm, &[epc.clone()], "2026-11-01T10:30:00Z");
    e["bizStep"] = json!("retail_selling");
    e.as_object_mut().unwrap().remove("sourceList");
    e.as_object_mut().unwrap().remove("destinationList");
    let out = c.submit(&retailer, e);
    assert_rejected(&c, n, &out, "causality.after-destruction");
}

#[test]
fn lineage_rule_requires_known_inputs_and_children() {
    let mut c = strict();
    let (farm, processor) = (c.farm.clone(), c.processor.clone());
    let apples = farm.lot("107346", "A1");
    let juice = processor.lot("200001", "J1");
    let n = c.log.size();
    let e = c.transform(
        &processor,
        &[(apples.clone(), 100.0, "KGM")],
        &[(juice.clone(), 60.0, "KGM")],
        "2026-11-01T10:00:00Z",
    );
    let out = c.submit(&processor, e.clone());
    assert_rejected(&c, n, &out, "lineage.unknown-input");
    let e2 = c.commission_lot(&farm, &apples, 100.0, "KGM", "2026-11-01T09:00:00Z");
    c.submit(&farm, e2);
    assert!(flags_of(&c.submit(&processor, e)).is_empty());

    let n = c.log.size();
    let pallet = processor.sscc("1234567890");
    let e =
        c.aggregate(&processor, &pallet, &[processor.sgtin("200001", "9")], "ADD", "2026-11-01T11:00:00Z");
    let out = c.submit(&processor, e);
    assert_rejected(&c, n, &out, "lineage.unknown-child");
}

/// The rules read the state through the log's in-memory filter of known
/// keys (`provlog_ledger::known_keys`); after the log is reopened the
/// filter comes from a scan of the store, and every decision that reads
/// the state — duplicate statement, replayed event ID, known and unknown
/// inputs — is the same as before.
#[test]
fn decisions_that_read_the_state_hold_after_the_log_is_reopened() {
    let mut c = strict();
    let (farm, processor) = (c.farm.clone(), c.processor.clone());
    let apples = farm.lot("107346", "A1");
    let original = c.commission_lot(&farm, &apples, 100.0, "KGM", "2026-11-01T09:00:00Z");
    let signed = c.sign(&farm, &original);
    let Outcome::Registered { index: first, .. } = c.register(signed.clone()) else { panic!("commissioned") };

    c.log = Log::open(c.store.clone(), ORIGIN).unwrap();
    match c.register(signed) {
        Outcome::Duplicate { index, .. } => assert_eq!(index, first),
        other => panic!("the identical statement is a duplicate after reopening: {other:?}"),
    }
    let n = c.log.size();
    let mut replay = original.clone();
    replay["eventTime"] = json!("2026-11-01T09:30:00Z");
    let out = c.submit(&farm, replay);
    assert_rejected(&c, n, &out, "replay.event-id");
    let juice = |lot: &str| processor.lot("200001", lot);
    let e = c.transform(
        &processor,
        &[(farm.lot("107346", "never-commissioned"), 1.0, "KGM")],
        &[(juice("J0"), 1.0, "KGM")],
        "2026-11-01T10:00:00Z",
    );
    let out = c.submit(&processor, e);
    assert_rejected(&c, n, &out, "lineage.unknown-input");
    let e = c.transform(
        &processor,
        &[(apples, 100.0, "KGM")],
        &[(juice("J1"), 60.0, "KGM")],
        "2026-11-01T10:00:00Z",
    );
    assert!(flags_of(&c.submit(&processor, e)).is_empty(), "an input from before the reopening is known");
}

#[test]
fn decisions_hold_while_the_known_keys_load_in_the_background_and_after() {
    let mut c = strict();
    let farm = c.farm.clone();
    let event = c.commission_lot(&farm, &farm.lot("107346", "A1"), 1.0, "KGM", "2026-11-01T09:00:00Z");
    let before = c.sign(&farm, &event);
    let Outcome::Registered { index: first, .. } = c.register(before.clone()) else { panic!("registered") };

    let (log, loader) = Log::open_loading_keys(c.store.clone(), ORIGIN).unwrap();
    c.log = log;
    let event = c.commission_lot(&farm, &farm.lot("107346", "A2"), 1.0, "KGM", "2026-11-01T09:01:00Z");
    let during = c.sign(&farm, &event);
    let Outcome::Registered { index: second, .. } = c.register(during.clone()) else { panic!("registered") };
    match c.register(before.clone()) {
        Outcome::Duplicate { index, .. } => assert_eq!(index, first),
        other => panic!("a duplicate while loading: {other:?}"),
    }
    assert!(loader.run().unwrap(), "the scan is put in place");
    for (s, index) in [(before, first), (during, second)] {
        match c.register(s) {
            Outcome::Duplicate { index: i, .. } => assert_eq!(i, index),
            other => panic!("a duplicate after loading: {other:?}"),
        }
    }
}

#[test]
fn a_filtered_state_handed_out_earlier_sees_later_entries_and_reloads() {
    // The HTTP handlers hold a FilteredState from startup and ask it
    // whether a submission is already logged; it must share the log's
    // filter, not a copy taken when it was handed out.
    let mut c = strict();
    let farm = c.farm.clone();
    let view = c.log.filtered_state();
    let event = c.commission_lot(&farm, &farm.lot("107346", "A1"), 1.0, "KGM", "2026-11-01T09:00:00Z");
    let first = c.sign(&farm, &event);
    let Outcome::Registered { index, .. } = c.register(first.clone()) else { panic!("registered") };
    assert_eq!(view.statement_index(&first.id().0).unwrap(), Some(index));
    c.log.reload().unwrap();
    let event = c.commission_lot(&farm, &farm.lot("107346", "A2"), 1.0, "KGM", "2026-11-01T09:01:00Z");
    let second = c.sign(&farm, &event);
    let Outcome::Registered { index: later, .. } = c.register(second.clone()) else { panic!("registered") };
    assert_eq!(view.statement_index(&first.id().0).unwrap(), Some(index), "kept across the reload");
    assert_eq!(view.statement_index(&second.id().0).unwrap(), Some(later));
}

#[test]
fn quantity_rule_flags_impossible_yields() {
    let mut c = strict();
    let (farm, processor) = (c.farm.clone(), c.processor.clone());
    let apples = farm.lot("107346", "A1");
    let e = c.commission_lot(&farm, &apples, 100.0, "KGM", "2026-11-01T09:00:00Z");
    c.submit(&farm, e);
    let e = c.transform(
        &processor,
        &[(apples.clone(), 100.0, "KGM")],
        &[(processor.lot("200001", "J1"), 90.0, "KGM")],
        "2026-11-01T10:00:00Z",
    );
    assert!(flags_of(&c.submit(&processor, e)).is_empty());
    let e = c.transform(
        &processor,
        &[(apples, 10.0, "KGM")],
        &[(processor.lot("200001", "J2"), 90.0, "KGM")],
        "2026-11-01T10:00:00Z",
    );
    assert_eq!(flags_of(&c.submit(&processor, e)), vec!["quantity.yield".to_string()]);
}

#[test]
fn sensor_rule_flags_implausible_readings() {
    let mut c = strict();
    let farm = c.farm.clone();
    let with_sensor = |c: &mut Chain, serial: &str, report: serde_json::Value| {
        let mut e = c.commission(&farm, &[farm.sgtin("107346", serial)], "2026-11-01T10:00:00Z");
        e["sensorElementList"] = json!([{"sensorReport": [report]}]);
        e
    };
    let e = with_sensor(&mut c, "1", json!({"type": "Temperature", "value": 4.5, "uom": "CEL"}));
    assert!(flags_of(&c.submit(&farm, e)).is_empty());
    let e = with_sensor(&mut c, "2", json!({"type": "Temperature", "value": 400.0, "uom": "CEL"}));
    assert_eq!(flags_of(&c.submit(&farm, e)), vec!["sensor.range".to_string()]);
    let e = with_sensor(
        &mut c,
        "3",
        json!({"type": "Temperature", "minValue": 5.0, "maxValue": 2.0, "uom": "CEL"}),
    );
    assert_eq!(flags_of(&c.submit(&farm, e)), vec!["sensor.min-mean-max".to_string()]);
}

#[test]
fn multisig_rule_needs_cosigned_recalls_and_certifications() {
    let mut c = strict();
    let (farm, regulator, certifier) = (c.farm.clone(), c.regulator.clone(), c.certifier.clone());
    let epc = farm.sgtin("107346", "1");
    let e = c.commission(&farm, &[epc.clone()], "2026-11-01T09:00:00Z");
    c.submit(&farm, e);
    let mut recall = c.commission(&farm, &[epc.clone()], "2026-11-01T10:00:00Z");
    recall["action"] = json!("OBSERVE");
    recall["bizStep"] = json!("holding");
    recall["disposition"] = json!("recalled");
    let n = c.log.size();
    let mut scopes = farm.spec(&["commissioning", "shipping", "destroying", "holding"]).scopes;
    scopes.biz_steps.push("holding".into());
    c.govern(Action::SetScopes { partner: farm.id.clone(), scopes: scopes.clone() }, &[0, 1]);
    let n = n + 1;
    let out = c.submit(&farm, recall.clone());
    assert_rejected(&c, n, &out, "multisig.recall");
    assert!(matches!(c.submit_multi(&farm, &[&regulator], recall), Outcome::Registered { .. }));

    let mut cert = c.commission(&farm, &[farm.sgtin("107346", "2")], "2026-11-01T10:00:00Z");
    cert["certificationInfo"] = json!("https://cert.example/organic/123");
    let n = c.log.size();
    let out = c.submit(&farm, cert.clone());
    assert_rejected(&c, n, &out, "multisig.certification");
    assert!(matches!(c.submit_multi(&farm, &[&certifier], cert), Outcome::Registered { .. }));
    let _ = Scopes::default();
}

#[test]
fn correction_rule_allows_the_issuer_or_a_quorum() {
    let mut c = strict();
    let (farm, retailer, regulator) = (c.farm.clone(), c.retailer.clone(), c.regulator.clone());
    let epc = farm.sgtin("107346", "1");
    let original = c.commission(&farm, &[epc.clone()], "2026-11-01T09:00:00Z");
    let signed = c.sign(&farm, &original);
    let first = c.register(signed.clone());
    let declare = |mut e: serde_json::Value| {
        e["errorDeclaration"] =
            json!({"declarationTime": "2026-11-01T11:00:00Z", "reason": "incorrect_data"});
        e
    };
    // A duplicate eventID without a declaration is a replay.
    let n = c.log.size();
    let out = c.register(signed);
    match (&first, &out) {
        (Outcome::Registered { index, .. }, Outcome::Duplicate { index: again, .. }) => {
            assert_eq!(index, again)
        }
        other => panic!("the identical statement is a duplicate of the first: {other:?}"),
    }
    let mut again = original.clone();
    again["eventTime"] = json!("2026-11-01T09:30:00Z");
    let out = c.submit(&farm, again);
    assert_rejected(&c, n, &out, "replay.event-id");
    // Someone else's declaration alone is refused; with a quorum it stands.
    let mut by_retailer = declare(original.clone());
    by_retailer["readPoint"] = json!({"id": retailer.location()});
    by_retailer["bizLocation"] = json!({"id": retailer.location()});
    by_retailer["bizStep"] = json!("receiving");
    by_retailer["sourceList"] = json!([{"type": "owning_party", "source": farm.id}]);
    by_retailer["destinationList"] = json!([{"type": "owning_party", "destination": retailer.id}]);
    let out = c.submit(&retailer, by_retailer.clone());
    assert_rejected(&c, n, &out, "correction.not-issuer");
    // The issuer's own declaration.
    assert!(matches!(c.submit(&farm, declare(original.clone())), Outcome::Registered { .. }));
    // A second declaration of the same event.
    let n = c.log.size();
    let out = c.submit_multi(&retailer, &[&regulator], by_retailer);
    assert_rejected(&c, n, &out, "correction.already-declared");
    // A declaration for an event that is not in the log.
    let mut unknown = c.commission(&farm, &[epc], "2026-11-01T09:00:00Z");
    unknown = declare(unknown);
    let out = c.submit(&farm, unknown);
    assert_rejected(&c, n, &out, "correction.unknown-event");
}

#[test]
fn a_flagged_repeated_event_id_leaves_the_first_entry_as_the_declared_one() {
    use provlog_ledger::state::StateView;
    let mut rules = RuleSet::strict("flag-replays");
    rules.replay.mode = Mode::Flag;
    let mut c = Chain::new(rules);
    let farm = c.farm.clone();
    let original = c.commission(&farm, &[farm.sgtin("107346", "1")], "2026-11-01T09:00:00Z");
    let first = match c.submit(&farm, original.clone()) {
        Outcome::Registered { index, .. } => index,
        other => panic!("{other:?}"),
    };
    let mut again = original.clone();
    again["eventTime"] = json!("2026-11-01T09:30:00Z");
    assert_eq!(flags_of(&c.submit(&farm, again)), vec!["replay.event-id".to_string()]);
    let id = original["eventID"].as_str().unwrap();
    let record = c.log.state().event(id).unwrap().unwrap();
    assert_eq!(record.index, first, "the first entry with the eventID stays the one declarations refer to");
    let mut declared = original.clone();
    declared["errorDeclaration"] =
        json!({"declarationTime": "2026-11-01T11:00:00Z", "reason": "incorrect_data"});
    let declared_at = match c.submit(&farm, declared) {
        Outcome::Registered { index, .. } => index,
        other => panic!("{other:?}"),
    };
    let record = c.log.state().event(id).unwrap().unwrap();
    assert_eq!((record.index, record.declared_at), (first, Some(declared_at)));
}
