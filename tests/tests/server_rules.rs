//! Every rule family of `spec/rules.md` through the real server under the
//! strict rule set: each refusal is a 422 RFC 9290 problem naming the check,
//! in JSON and in CBOR, and leaves the tree as it was; flagging checks show
//! up in `GET /entries/{id}/status`. Governance changes (new keys,
//! revocations) arrive as statements over HTTP too. Each test ends by
//! verifying the whole log.

// `&[epc.clone()]` reads better in these scenarios than `slice::from_ref`.
#![allow(clippy::cloned_ref_to_slice_refs)]

use ed25519_dalek::SigningKey;
use provlog_ledger::governance::{Action, GovernancePayload, KeySpec, Role, GOVERNANCE_ISSUER};
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{key_thumbprint, Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use provlog_tests::chain::{hours_ago, key_spec, now_ms, subject};
use provlog_tests::problem::{problem, CBOR_PROBLEM};
use provlog_tests::server::{Setup, TestLog, COSE};
use serde_json::{json, Value};

fn strict_log() -> TestLog {
    TestLog::start(Setup::new(RuleSet::strict("strict")))
}

/// Submits `s` twice (JSON and CBOR problem details): both must be 422
/// naming `rule`, the tree must not grow, and nothing is stored.
fn refused(log: &TestLog, s: &Statement, rule: &str) {
    let size = log.tree_size();
    let p = problem(&log.submit(s));
    assert_eq!((p.status, p.rule.as_str()), (422, rule), "{p:?}");
    assert_eq!(p.title, "Statement rejected by the log's rules");
    assert!(!p.detail.is_empty());
    let r = log.post("/entries", COSE, s.as_bytes().to_vec(), Some(CBOR_PROBLEM));
    assert_eq!(r.header("content-type"), Some(CBOR_PROBLEM));
    let c = problem(&r);
    assert_eq!((c.status, &c.rule, &c.title), (p.status, &p.rule, &p.title), "CBOR and JSON agree");
    assert!(!c.detail.is_empty());
    assert_eq!(log.tree_size(), size, "{rule}: a refused statement must not grow the tree");
    let status = log.get(&format!("/entries/{}/status", s.id()));
    assert_eq!(status.status, 404, "{rule}: nothing is stored for a refused statement");
}

/// The flags recorded for a registered statement, as `/entries/{id}/status` reports them.
fn flags(log: &TestLog, s: &Statement) -> Vec<String> {
    let r = log.get(&format!("/entries/{}/status", s.id()));
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    serde_json::from_value(v["flags"].clone()).unwrap()
}

/// A COSE_Sign1 statement with every header chosen by the caller.
fn sign_raw(key: &SigningKey, iss: &str, sub: &str, iat: u64, ctype: &str, payload: &[u8]) -> Statement {
    Statement::sign1(key, iss, sub, iat, ctype, payload).unwrap()
}

/// A governance statement with `payload` as given, signed by `keys`.
fn governance(keys: &[&SigningKey], payload: &GovernancePayload) -> Statement {
    let iat = now_ms() / 1000;
    Statement::sign_multi(keys, GOVERNANCE_ISSUER, "g", iat, CONTENT_TYPE_GOVERNANCE, &payload.to_json())
        .unwrap()
}

#[test]
fn signature_and_governance_refusals_name_their_check() {
    let log = strict_log();
    let p = log.parties.clone();
    let farm = &p.farm;
    let e = log.commission(farm, &[farm.sgtin("107346", "1")], &hours_ago(9.0));
    let mut stranger = farm.clone();
    stranger.id = "urn:epc:id:pgln:0999999.00001".into();
    refused(&log, &log.sign(&stranger, &e), "signature.unknown-issuer");
    refused(&log, &log.sign_with(farm, &generate_signing_key(), &e), "signature.unknown-kid");
    refused(&log, &log.sign_with(farm, &p.processor.key, &e), "signature.issuer-key");
    let mut tampered = log.sign(farm, &e).as_bytes().to_vec();
    *tampered.last_mut().unwrap() ^= 1;
    refused(&log, &Statement::parse(&tampered).unwrap(), "signature.bad-signature");

    // Keys with validity windows, and a revoked key, added by governance over HTTP.
    let (later, expired, revoked) = (generate_signing_key(), generate_signing_key(), generate_signing_key());
    let add = |key: &SigningKey, not_before_ms, not_after_ms| Action::AddKey {
        partner: farm.id.clone(),
        key: KeySpec { not_before_ms, not_after_ms, ..key_spec(key) },
    };
    log.register(&log.govern(add(&later, Some(now_ms() + 3_600_000), None), &[0, 1]));
    log.register(&log.govern(add(&expired, None, Some(now_ms() - 60_000)), &[1, 2]));
    log.register(&log.govern(add(&revoked, None, None), &[0, 2]));
    let kid = hex::encode(key_thumbprint(&revoked.verifying_key()));
    log.register(
        &log.govern(Action::RevokeKey { partner: farm.id.clone(), kid, reason: "lost".into() }, &[0, 1]),
    );
    refused(&log, &log.sign_with(farm, &later, &e), "signature.key-not-yet-valid");
    refused(&log, &log.sign_with(farm, &expired, &e), "signature.key-expired");
    refused(&log, &log.sign_with(farm, &revoked, &e), "signature.key-revoked");
    log.register(&log.sign(farm, &e));

    // Governance: quorum, origin, and the replay of an applied payload.
    let set_role = Action::SetRole { partner: p.distributor.id.clone(), role: Role::Partner };
    refused(&log, &log.govern(set_role.clone(), &[0]), "governance.quorum");
    let [g0, g1, g2] = [&log.governance[0], &log.governance[1], &log.governance[2]];
    let foreign = GovernancePayload {
        origin: "another.example/log".into(),
        nonce: String::new(),
        action: set_role.clone(),
    };
    refused(&log, &governance(&[g0, g1], &foreign), "governance.origin");
    let once = GovernancePayload { origin: log.origin.clone(), nonce: "once".into(), action: set_role };
    log.register(&governance(&[g0, g1], &once));
    refused(&log, &governance(&[g1, g2], &once), "governance.replay");

    let metrics = log.get("/metrics").text();
    assert!(metrics.contains("rule=\"signature.bad-signature\""), "refusals are counted by rule");
    log.verify();
}

#[test]
fn well_formed_scope_and_replay_refusals_name_their_check() {
    let log = strict_log();
    let p = log.parties.clone();
    let (farm, processor, retailer) = (&p.farm, &p.processor, &p.retailer);
    let now_s = now_ms() / 1000;
    let epc = farm.sgtin("107346", "1");
    let original = log.sign(farm, &log.commission(farm, &[epc.clone()], &hours_ago(10.0)));
    log.register(&original);

    // well-formed.
    let e = log.commission(farm, &[farm.sgtin("107346", "2")], &hours_ago(9.0));
    let payload = e.to_string();
    let sub = subject(&e);
    refused(
        &log,
        &sign_raw(&farm.key, &farm.id, &sub, now_s, "text/plain", payload.as_bytes()),
        "well-formed.content-type",
    );
    let not_epcis = json!({"type": "NotAnEvent", "eventTime": hours_ago(1.0)}).to_string();
    refused(
        &log,
        &sign_raw(&farm.key, &farm.id, "x", now_s, CONTENT_TYPE_EPCIS, not_epcis.as_bytes()),
        "well-formed.epcis",
    );
    refused(
        &log,
        &sign_raw(&farm.key, &farm.id, "urn:example:other", now_s, CONTENT_TYPE_EPCIS, payload.as_bytes()),
        "well-formed.subject",
    );
    let by_partner = GovernancePayload {
        origin: log.origin.clone(),
        nonce: String::new(),
        action: Action::SetRole { partner: farm.id.clone(), role: Role::Regulator },
    };
    refused(
        &log,
        &sign_raw(&farm.key, &farm.id, "g", now_s, CONTENT_TYPE_GOVERNANCE, &by_partner.to_json()),
        "well-formed.issuer",
    );

    // scope.role and replay.
    let a = &p.auditor;
    refused(&log, &log.sign(a, &log.commission(a, &[a.sgtin("107346", "1")], &hours_ago(1.0))), "scope.role");
    let mut replay = log.commission(farm, &[epc.clone()], &hours_ago(8.0));
    replay["eventID"] = json!(original.sub());
    refused(&log, &log.sign(farm, &replay), "replay.event-id");

    // scope.
    let d = &p.distributor;
    let commissioning = log.commission(d, &[d.sgtin("107346", "1")], &hours_ago(1.0));
    refused(&log, &log.sign(d, &commissioning), "scope.biz-step");
    let mut elsewhere = log.commission(farm, &[farm.sgtin("107346", "3")], &hours_ago(1.0));
    elsewhere["readPoint"] = json!({"id": processor.location()});
    refused(&log, &log.sign(farm, &elsewhere), "scope.location");
    let theirs = log.commission(farm, &[processor.sgtin("107346", "1")], &hours_ago(1.0));
    refused(&log, &log.sign(farm, &theirs), "scope.product");
    let mut not_mine = log.ship(farm, retailer, &[epc.clone()], &hours_ago(1.0));
    not_mine["sourceList"] = json!([{"type": "owning_party", "source": processor.id}]);
    refused(&log, &log.sign(farm, &not_mine), "scope.shipper");
    log.register(&log.sign(farm, &log.ship(farm, retailer, &[epc.clone()], &hours_ago(1.0))));
    let mut not_for_me = log.receive(retailer, farm, &[epc.clone()], &hours_ago(0.5));
    not_for_me["destinationList"] = json!([{"type": "owning_party", "destination": processor.id}]);
    refused(&log, &log.sign(retailer, &not_for_me), "scope.receiver");
    log.verify();
}

#[test]
fn time_causality_and_lineage_refusals_name_their_check() {
    let log = strict_log();
    let p = log.parties.clone();
    let (farm, processor, retailer) = (&p.farm, &p.processor, &p.retailer);

    // time.
    let future = log.commission(farm, &[farm.sgtin("107346", "4")], &hours_ago(-24.0));
    refused(&log, &log.sign(farm, &future), "time.future");
    let e = log.commission(farm, &[farm.sgtin("107346", "4")], &hours_ago(1.0));
    let tomorrow = now_ms() / 1000 + 86_400;
    refused(
        &log,
        &sign_raw(&farm.key, &farm.id, &subject(&e), tomorrow, CONTENT_TYPE_EPCIS, e.to_string().as_bytes()),
        "time.iat-future",
    );

    // causality: shipped at -5 h, received at -6 h; destroyed at -5 h, seen at -4 h.
    let epc = farm.sgtin("107346", "1");
    log.register(&log.sign(farm, &log.commission(farm, &[epc.clone()], &hours_ago(10.0))));
    log.register(&log.sign(farm, &log.ship(farm, retailer, &[epc.clone()], &hours_ago(5.0))));
    let early = log.receive(retailer, farm, &[epc.clone()], &hours_ago(6.0));
    refused(&log, &log.sign(retailer, &early), "causality.receive-before-ship");
    log.register(&log.sign(retailer, &log.receive(retailer, farm, &[epc.clone()], &hours_ago(4.0))));
    let gone = farm.sgtin("107346", "5");
    log.register(&log.sign(farm, &log.commission(farm, &[gone.clone()], &hours_ago(7.0))));
    let mut destroy = log.commission(farm, &[gone.clone()], &hours_ago(5.0));
    destroy["action"] = json!("DELETE");
    destroy["bizStep"] = json!("destroying");
    destroy["disposition"] = json!("destroyed");
    log.register(&log.sign(farm, &destroy));
    let mut after = log.commission(farm, &[gone], &hours_ago(4.0));
    after["action"] = json!("OBSERVE");
    after["bizStep"] = json!("inspecting");
    refused(&log, &log.sign(farm, &after), "causality.after-destruction");

    // lineage: inputs and children must already be known.
    let apples = farm.lot("107346", "A1");
    let juice = processor.lot("200001", "J1");
    let make_juice = log.transform(processor, &[(apples.clone(), 100.0)], &[(juice, 60.0)], &hours_ago(2.0));
    refused(&log, &log.sign(processor, &make_juice), "lineage.unknown-input");
    let pack = log.aggregate(
        processor,
        &processor.sscc("1234567890"),
        &[processor.sgtin("200001", "9")],
        &hours_ago(2.0),
    );
    refused(&log, &log.sign(processor, &pack), "lineage.unknown-child");
    log.register(&log.sign(farm, &log.commission_lot(farm, &apples, 100.0, &hours_ago(3.0))));
    let juiced = log.sign(processor, &make_juice);
    log.register(&juiced);
    assert!(flags(&log, &juiced).is_empty(), "a yield of 0.6 is plausible");
    log.verify();
}

#[test]
fn quantity_sensor_and_unshipped_receipts_are_flagged_not_refused() {
    let log = strict_log();
    let p = log.parties.clone();
    let (farm, processor, retailer) = (&p.farm, &p.processor, &p.retailer);
    let apples = farm.lot("107346", "A1");
    log.register(&log.sign(farm, &log.commission_lot(farm, &apples, 100.0, &hours_ago(3.0))));
    let greedy = log.transform(
        processor,
        &[(apples, 10.0)],
        &[(processor.lot("200001", "J2"), 90.0)],
        &hours_ago(2.0),
    );
    let greedy = log.sign(processor, &greedy);
    log.register(&greedy);
    assert_eq!(flags(&log, &greedy), ["quantity.yield"]);

    let with_report = |serial: &str, report: Value| {
        let mut e = log.commission(farm, &[farm.sgtin("107346", serial)], &hours_ago(2.0));
        e["sensorElementList"] = json!([{"sensorReport": [report]}]);
        log.sign(farm, &e)
    };
    let hot = with_report("6", json!({"type": "Temperature", "value": 400.0, "uom": "CEL"}));
    log.register(&hot);
    assert_eq!(flags(&log, &hot), ["sensor.range"]);
    let odd =
        with_report("7", json!({"type": "Temperature", "minValue": 5.0, "maxValue": 2.0, "uom": "CEL"}));
    log.register(&odd);
    assert_eq!(flags(&log, &odd), ["sensor.min-mean-max"]);
    let fine = with_report("8", json!({"type": "Temperature", "value": 4.5, "uom": "CEL"}));
    log.register(&fine);
    assert!(flags(&log, &fine).is_empty());

    let unshipped = log.receive(retailer, farm, &[farm.sgtin("107346", "9")], &hours_ago(1.0));
    let unshipped = log.sign(retailer, &unshipped);
    log.register(&unshipped);
    assert_eq!(flags(&log, &unshipped), ["causality.no-shipment"]);
    log.verify();
}

#[test]
fn multisig_and_correction_refusals_name_their_check() {
    let log = strict_log();
    let p = log.parties.clone();
    let (farm, retailer) = (&p.farm, &p.retailer);
    let epc = farm.sgtin("107346", "1");
    let original = log.sign(farm, &log.commission(farm, &[epc.clone()], &hours_ago(10.0)));
    log.register(&original);

    // multisig: a recall and a certification claim need co-signers.
    let mut recall = log.commission(farm, &[epc.clone()], &hours_ago(1.0));
    recall["action"] = json!("OBSERVE");
    recall["bizStep"] = json!("holding");
    recall["disposition"] = json!("recalled");
    refused(&log, &log.sign(farm, &recall), "multisig.recall");
    log.register(&log.sign_multi(farm, &[&p.regulator], &recall));
    let mut cert = log.commission(farm, &[farm.sgtin("107346", "9")], &hours_ago(1.0));
    cert["certificationInfo"] = json!("https://cert.example/organic/123");
    refused(&log, &log.sign(farm, &cert), "multisig.certification");
    log.register(&log.sign_multi(farm, &[&p.certifier], &cert));

    // correction: by the original issuer, once, of a known event.
    let declare = |mut e: Value| {
        e["errorDeclaration"] = json!({"declarationTime": hours_ago(0.5), "reason": "incorrect_data"});
        e
    };
    let mut anonymous = declare(log.commission(farm, &[farm.sgtin("107346", "10")], &hours_ago(1.0)));
    anonymous.as_object_mut().unwrap().remove("eventID");
    refused(&log, &log.sign(farm, &anonymous), "correction.missing-event-id");
    let unknown = declare(log.commission(farm, &[epc.clone()], &hours_ago(1.0)));
    refused(&log, &log.sign(farm, &unknown), "correction.unknown-event");
    let first: Value = serde_json::from_slice(original.payload()).unwrap();
    let mut by_retailer = declare(first.clone());
    by_retailer["readPoint"] = json!({"id": retailer.location()});
    by_retailer["bizLocation"] = json!({"id": retailer.location()});
    by_retailer["action"] = json!("OBSERVE");
    by_retailer["bizStep"] = json!("inspecting");
    refused(&log, &log.sign(retailer, &by_retailer), "correction.not-issuer");
    log.register(&log.sign(farm, &declare(first)));
    refused(&log, &log.sign_multi(retailer, &[&p.regulator], &by_retailer), "correction.already-declared");
    log.verify();
}
