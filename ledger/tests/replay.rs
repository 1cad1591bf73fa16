//! A realistic multi-partner log — farm → processor → distributor → retailer,
//! with a key rotation, a revoked key, a correction and a co-signed recall —
//! replayed from entry 0 by an independent replayer that must reproduce
//! every decision; and copies of it with one tampered entry, which replay
//! must catch at that entry.

mod common;

use common::*;
use provlog_ledger::entry::Entry;
use provlog_ledger::governance::{Action, KeySpec};
use provlog_ledger::log::{Outcome, ReplayError, Replayer};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::key_thumbprint;
use provlog_ledger::storage::MemoryStore;
use serde_json::json;
use std::sync::Arc;

fn registered(out: Outcome) -> u64 {
    match out {
        Outcome::Registered { index, .. } => index,
        other => panic!("expected registration, got {other:?}"),
    }
}

/// Builds the scenario and returns the chain and every entry of its log.
fn scenario() -> (Chain, Vec<Vec<u8>>) {
    let mut c = Chain::new(RuleSet::strict("scenario"));
    c.now = ms("2026-11-01T13:00:00Z");
    let (farm, processor, distributor, retailer, regulator) =
        (c.farm.clone(), c.processor.clone(), c.distributor.clone(), c.retailer.clone(), c.regulator.clone());
    let apples = farm.lot("107346", "A1");
    let pears = farm.lot("107347", "P1");

    // The farm harvests two lots and ships them to the processor.
    let e = c.commission_lot(&farm, &apples, 500.0, "KGM", "2026-11-01T06:00:00Z");
    registered(c.submit(&farm, e));
    let e = c.commission_lot(&farm, &pears, 300.0, "KGM", "2026-11-01T06:10:00Z");
    registered(c.submit(&farm, e));
    let mut ship = c.ship(&farm, &processor, &[], "2026-11-01T07:00:00Z");
    ship["quantityList"] = json!([{"epcClass": apples, "quantity": 500.0, "uom": "KGM"}, {"epcClass": pears, "quantity": 300.0, "uom": "KGM"}]);
    registered(c.submit(&farm, ship));
    let mut recv = c.receive(&processor, &farm, &[], "2026-11-01T08:00:00Z");
    recv["quantityList"] = json!([{"epcClass": apples, "quantity": 500.0, "uom": "KGM"}, {"epcClass": pears, "quantity": 300.0, "uom": "KGM"}]);
    registered(c.submit(&processor, recv));

    // The processor presses a juice lot from both fruit lots, cases it.
    let juice = processor.lot("200001", "J1");
    let t = c.transform(
        &processor,
        &[(apples.clone(), 500.0, "KGM"), (pears.clone(), 300.0, "KGM")],
        &[(juice.clone(), 600.0, "KGM")],
        "2026-11-01T09:00:00Z",
    );
    registered(c.submit(&processor, t));
    let cases: Vec<String> = (1..=3).map(|i| processor.sgtin("200001", &i.to_string())).collect();
    let e = c.commission(&processor, &cases, "2026-11-01T09:30:00Z");
    registered(c.submit(&processor, e));
    let pallet = processor.sscc("0000000001");
    let e = c.commission(&processor, std::slice::from_ref(&pallet), "2026-11-01T09:40:00Z");
    registered(c.submit(&processor, e));
    let e = c.aggregate(&processor, &pallet, &cases, "ADD", "2026-11-01T09:45:00Z");
    registered(c.submit(&processor, e));

    // The processor rotates its key: adds a new one, revokes the old.
    let new_key = key(42);
    let out = c.govern(
        Action::AddKey {
            partner: processor.id.clone(),
            key: KeySpec { public_key: public_b64(&new_key), not_before_ms: None, not_after_ms: None },
        },
        &[0, 1],
    );
    registered(out);
    let old_kid = hex::encode(key_thumbprint(&processor.key.verifying_key()));
    registered(c.govern(
        Action::RevokeKey { partner: processor.id.clone(), kid: old_kid, reason: "rotation".into() },
        &[1, 2],
    ));
    let mut processor2 = processor.clone();
    processor2.key = new_key;
    // The old key no longer registers anything.
    let ship = c.ship(&processor, &distributor, std::slice::from_ref(&pallet), "2026-11-01T10:00:00Z");
    assert_eq!(rejected_by(&c.submit(&processor, ship.clone())), "signature.key-revoked");
    registered(c.submit(&processor2, ship));

    // The distributor receives, breaks the pallet, ships cases to the retailer.
    let e = c.receive(&distributor, &processor2, std::slice::from_ref(&pallet), "2026-11-01T11:00:00Z");
    registered(c.submit(&distributor, e));
    let e = c.aggregate(&distributor, &pallet, &cases, "DELETE", "2026-11-01T11:10:00Z");
    registered(c.submit(&distributor, e));
    let ship = c.ship(&distributor, &retailer, &cases[..2], "2026-11-01T11:30:00Z");
    let wrong_ship = ship.clone();
    registered(c.submit(&distributor, ship));
    // The distributor declares that shipment wrong and ships the right cases.
    let mut decl = wrong_ship;
    decl["errorDeclaration"] = json!({"declarationTime": "2026-11-01T11:40:00Z", "reason": "incorrect_data"});
    registered(c.submit(&distributor, decl));
    let ship = c.ship(&distributor, &retailer, &cases[1..], "2026-11-01T11:35:00Z");
    registered(c.submit(&distributor, ship));
    let e = c.receive(&retailer, &distributor, &cases[1..], "2026-11-01T12:00:00Z");
    registered(c.submit(&retailer, e));

    // The processor recalls the juice lot, co-signed by the regulator.
    let recall = json!({
        "@context": EPCIS_CONTEXT, "type": "ObjectEvent", "eventID": c.event_id(), "eventTime": "2026-11-01T12:30:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": [], "quantityList": [{"epcClass": juice, "quantity": 600.0, "uom": "KGM"}],
        "action": "OBSERVE", "bizStep": "holding", "disposition": "recalled", "readPoint": {"id": processor.location()}
    });
    let mut scopes = processor.spec(&["receiving", "commissioning", "packing", "shipping", "holding"]).scopes;
    scopes.biz_steps.sort();
    registered(c.govern(Action::SetScopes { partner: processor.id.clone(), scopes }, &[0, 2]));
    assert_eq!(rejected_by(&c.submit(&processor2, recall.clone())), "multisig.recall");
    registered(c.submit_multi(&processor2, &[&regulator], recall));

    // A flagged entry too, so that replay compares non-empty flags.
    let mut hot = c.commission(&farm, &[farm.sgtin("107346", "77")], "2026-11-01T12:40:00Z");
    hot["sensorElementList"] =
        json!([{"sensorReport": [{"type": "Temperature", "value": 95.0, "uom": "CEL"}]}]);
    assert_eq!(flags_of(&c.submit(&farm, hot)), vec!["sensor.range".to_string()]);

    let entries = c.log.reader().entries(0, c.log.size()).unwrap();
    (c, entries)
}

fn replay(entries: &[Vec<u8>]) -> Result<Replayer, ReplayError> {
    let mut r = Replayer::new(Arc::new(MemoryStore::new()), ORIGIN).unwrap();
    r.replay(entries)?;
    Ok(r)
}

#[test]
fn replay_reproduces_every_decision_of_the_scenario() {
    let (c, entries) = scenario();
    assert!(entries.len() > 20);
    let r = replay(&entries).unwrap();
    let report = r.report();
    assert_eq!(report.entries, entries.len() as u64);
    assert_eq!(report.root, c.log.root(), "the replayed tree has the same root");
    assert_eq!(report.governance, 4, "genesis, a key added, a key revoked, a scope change");
    assert_eq!(report.flagged, 1);
    assert_eq!(r.log().registry().keys.len(), c.log.registry().keys.len());
}

fn tampered(entries: &[Vec<u8>], index: usize, f: impl FnOnce(&mut Entry)) -> Vec<Vec<u8>> {
    let mut out = entries.to_vec();
    let mut e = Entry::decode(&out[index]).unwrap();
    f(&mut e);
    out[index] = e.encode().unwrap();
    out
}

fn diverges_at(entries: &[Vec<u8>]) -> (u64, String) {
    match replay(entries) {
        Err(ReplayError::Divergence { index, reason }) => (index, reason),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("replay accepted a tampered log"),
    }
}

#[test]
fn replay_catches_a_tampered_entry_at_that_entry() {
    let (_, entries) = scenario();
    let last = entries.len() - 1;

    // An added flag.
    let t = tampered(&entries, 5, |e| e.flags = vec!["quantity.yield".into()]);
    let (i, why) = diverges_at(&t);
    assert_eq!(i, 5, "{why}");
    assert!(why.contains("flags"), "{why}");

    // A removed flag.
    let t = tampered(&entries, last, |e| e.flags.clear());
    assert_eq!(diverges_at(&t).0, last as u64);

    // One byte of a signed payload.
    let t = tampered(&entries, 7, |e| {
        let n = e.statement.len();
        e.statement[n - 80] ^= 0x01;
    });
    let (i, why) = diverges_at(&t);
    assert_eq!(i, 7, "{why}");

    // A registration time moved before its predecessor's.
    let t = tampered(&entries, 9, |e| e.registered_at_ms = 1);
    assert_eq!(diverges_at(&t).0, 9);

    // A statement registered under a key that was revoked before it: swap
    // the order of the revocation and the next entry.
    let mut t = entries.clone();
    let revocation = t
        .iter()
        .position(|b| {
            let e = Entry::decode(b).unwrap();
            String::from_utf8_lossy(&e.statement).contains("revoke_key")
        })
        .unwrap();
    t.swap(revocation, revocation + 1);
    let (i, _) = diverges_at(&t);
    assert!(i == revocation as u64 || i == revocation as u64 + 1);

    // A different rule-set ID.
    let t = tampered(&entries, 3, |e| e.rule_set_id = [9; 32]);
    assert_eq!(diverges_at(&t).0, 3);
}
