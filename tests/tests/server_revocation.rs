//! Emergency revocation of a stolen partner key over HTTP (threat T1 in
//! `spec/threat-model.md`; `spec/governance.md`): after the quorum-signed
//! `revoke_key` statement is registered, every later registration signed
//! with that key is refused — new statements, statements backdated to
//! before the revocation, statements queued in the same batch as it, and
//! after a restart — while the entries made with the key before it stay at
//! their indexes, keep verifying in every later checkpoint, and the
//! partner goes on with its other key.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::governance::Action;
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS};
use provlog_tests::audit::verify_receipt;
use provlog_tests::chain::{hours_ago, key_spec, now_ms, subject};
use provlog_tests::problem::problem;
use provlog_tests::server::{Registered, Setup, TestLog};
use serde_json::Value;

fn refused_as_revoked(log: &TestLog, s: &Statement) {
    let size = log.tree_size();
    let p = problem(&log.submit(s));
    assert_eq!((p.status, p.rule.as_str()), (422, "signature.key-revoked"), "{p:?}");
    assert_eq!(log.tree_size(), size);
}

#[test]
fn revoked_key_is_refused_for_every_later_registration_and_earlier_entries_stay() {
    let mut log = TestLog::start(Setup::new(RuleSet::permissive("revocation")).witnesses(2, 2));
    let farm = log.parties.farm.clone();
    let event =
        |log: &TestLog, serial: &str| log.commission(&farm, &[farm.sgtin("107346", serial)], &hours_ago(1.0));

    // The farm's second key, and entries signed with the key that will be stolen.
    let spare = generate_signing_key();
    log.register(&log.govern(Action::AddKey { partner: farm.id.clone(), key: key_spec(&spare) }, &[0, 1]));
    let earlier: Vec<(Statement, Registered)> = (0..3)
        .map(|i| {
            let s = log.sign(&farm, &event(&log, &format!("before{i}")));
            let r = log.register(&s);
            (s, r)
        })
        .collect();
    let signed_before_ms = now_ms();

    // The revocation, and a statement with the stolen key queued right
    // behind it in the same batch: refused too.
    let revoke = log.govern(
        Action::RevokeKey { partner: farm.id.clone(), kid: farm.kid(), reason: "key stolen".into() },
        &[1, 2],
    );
    let same_batch = log.sign(&farm, &event(&log, "same-batch"));
    let body =
        cbor::encode(&Cbor::Array(vec![Cbor::bytes(revoke.as_bytes()), Cbor::bytes(same_batch.as_bytes())]));
    let r = log.post("/entries/batch", "application/cbor", body, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let results: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(results[0]["status"], 201, "{results}");
    assert_eq!(results[1]["status"], 422, "{results}");
    assert_eq!(results[1]["problem"]["rule"], "signature.key-revoked", "{results}");
    let revoked_at = log.register_expecting(&revoke, 200).index;

    // Later statements with the stolen key, also one that claims to have
    // been signed before the revocation.
    for i in 0..3 {
        refused_as_revoked(&log, &log.sign(&farm, &event(&log, &format!("after{i}"))));
    }
    let e = event(&log, "backdated");
    let iat = signed_before_ms / 1000 - 60;
    let backdated = Statement::sign1(
        &farm.key,
        &farm.id,
        &subject(&e),
        iat,
        CONTENT_TYPE_EPCIS,
        e.to_string().as_bytes(),
    )
    .unwrap();
    refused_as_revoked(&log, &backdated);

    // The registry says so, and the partner goes on with its other key.
    let p: Value = serde_json::from_slice(&log.get(&format!("/registry/partners/{}", farm.id)).body).unwrap();
    let key = p["keys"].as_array().unwrap().iter().find(|k| k["kid"] == farm.kid()).expect("the revoked key");
    assert_eq!(key["key"]["revoked_at_index"], revoked_at, "{p}");
    log.register(&log.sign_with(&farm, &spare, &event(&log, "spare")));

    // After a restart the revocation still holds.
    log.stop_server();
    log.start_server();
    refused_as_revoked(&log, &log.sign(&farm, &event(&log, "after-restart")));

    // The earlier entries stay at their indexes, before the revocation, and
    // their receipts from the latest checkpoint verify; resubmitting one is
    // not a new registration but the same entry.
    for (s, before) in &earlier {
        assert!(before.index < revoked_at);
        let again = log.register_expecting(s, 200);
        assert_eq!(again.index, before.index);
        let fresh = log.get(&format!("/entries/{}", before.id));
        assert_eq!(fresh.status, 200);
        let v = verify_receipt(&fresh.text(), &log.origin, &log.log_vkey, log.policy.as_ref(), s).unwrap();
        assert_eq!(v.index, before.index);
        log.saw(&v.checkpoint_note);
    }
    log.verify();
}
