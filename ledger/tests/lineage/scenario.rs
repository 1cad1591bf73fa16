//! A realistic chain under the strict rules: three growers harvest lots; a
//! packer mixes them into packed lots and cases, builds two pallets (takes
//! one case off again before shipping), ships them to a distributor who
//! breaks them and ships cases to two retailers; a processor turns cases
//! into kits in a transformation recorded as two events joined by
//! `transformationID`; the distributor ships two cases to the wrong
//! retailer and corrects it (errorDeclaration + corrective event); the
//! packer declares an aggregation that did not occur; a grower recalls its
//! lot, co-signed by the regulator.

use crate::common::*;
use crate::model::{canonical, Kind, Spec};
use crate::{check, check_invariants, check_summaries, identifiers, query, Builder};
use provlog_ledger::governance::Role;
use provlog_ledger::lineage::{dot, fsma, Direction, EdgeKind, View};
use provlog_ledger::log::Replayer;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::storage::{prefix_end, MemoryStore, Store};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Hours after 2026-10-01T00:00:00Z, in ms.
fn h(hours: f64) -> i64 {
    ms("2026-10-01T00:00:00Z") as i64 + (hours * 3_600_000.0) as i64
}

pub struct World {
    pub b: Builder,
    pub g1: Party,
    pub di: Party,
    /// Canonical identifiers by name.
    pub l1a: String,
    pub s2a: String,
    pub l3a: String,
    pub l1b: String,
    pub c: Vec<String>,
    pub k: Vec<String>,
    pub p1: String,
    pub p2: String,
    /// Entry indexes of notable events.
    pub t1: u64,
    pub t3a: u64,
    pub t3b: u64,
    pub agg_c11: u64,
    pub agg_c11_declaration: u64,
    pub wrong_ship: u64,
    pub wrong_ship_declaration: u64,
    pub right_ship: u64,
    pub pallet_ship: u64,
    pub c4_removed: u64,
    pub c4_ship: u64,
    pub recall: u64,
}

fn spec(kind: Kind, id: String, p: &Party, t: f64) -> Spec {
    Spec { kind, event_id: id, time_ms: h(t), location: Some(p.location()), ..Spec::default() }
}

pub fn world() -> World {
    let g1 = Party::new(21, "0614151", Role::Partner);
    let g2 = Party::new(22, "0614152", Role::Partner);
    let g3 = Party::new(23, "0614153", Role::Partner);
    let pk = Party::new(24, "0614161", Role::Partner);
    let pr = Party::new(25, "0614171", Role::Partner);
    let di = Party::new(26, "0614181", Role::Partner);
    let r1 = Party::new(27, "0614191", Role::Partner);
    let r2 = Party::new(28, "0614192", Role::Partner);
    let parties = [&g1, &g2, &g3, &pk, &pr, &di, &r1, &r2];
    let extra: Vec<(&Party, &[&str])> = parties.iter().map(|p| (*p, STEPS_ALL)).collect();
    let mut chain = Chain::with_partners(RuleSet::strict("lineage-scenario"), &extra);
    chain.now = ms("2026-12-01T00:00:00Z");
    let regulator = chain.regulator.clone();
    let mut b = Builder::new(chain);

    let (l1a, l1b) = (g1.lot("100001", "L1A"), g1.lot("100001", "L1B"));
    let s2a = g2.lot("100002", "S2A");
    let l3a = g3.lot("100003", "L3A");
    let kp1 = pk.lot("200001", "KP1");
    let kp2 = pk.lot("200001", "KP2");
    let kp3 = pk.lot("200001", "KP3");
    let cases: Vec<String> = (1..=14).map(|i| pk.sgtin("200001", &i.to_string())).collect();
    let c = |i: usize| cases[i - 1].clone();
    let (p1, p2) = (pk.sscc("0000000001"), pk.sscc("0000000002"));
    let rk1 = pr.lot("300001", "RK1");
    let kits: Vec<String> = (1..=4).map(|i| pr.sgtin("300001", &i.to_string())).collect();

    let commission = |b: &mut Builder, p: &Party, lot: &str, q: f64, t: f64| {
        let mut s = spec(Kind::Object, b.event_id(), p, t);
        s.action = Some("ADD");
        s.biz_step = Some("commissioning");
        s.disposition = Some("active");
        s.quantities = vec![(lot.to_owned(), q, "KGM")];
        b.submit(p, s)
    };
    let ship = |b: &mut Builder,
                from: &Party,
                to: &Party,
                epcs: Vec<String>,
                q: Vec<(String, f64, &'static str)>,
                t: f64| {
        let mut s = spec(Kind::Object, b.event_id(), from, t);
        s.action = Some("OBSERVE");
        s.biz_step = Some("shipping");
        s.disposition = Some("in_transit");
        s.epcs = epcs;
        s.quantities = q;
        s.sources = vec![("owning_party", from.id.clone()), ("location", from.location())];
        s.destinations = vec![("owning_party", to.id.clone()), ("location", to.location())];
        s.biz_transactions =
            vec![("desadv", format!("urn:epcglobal:cbv:bt:{}0000:{}", from.prefix, b.events.len()))];
        s
    };
    let receive = |b: &mut Builder,
                   to: &Party,
                   from: &Party,
                   epcs: Vec<String>,
                   q: Vec<(String, f64, &'static str)>,
                   t: f64| {
        let mut s = spec(Kind::Object, b.event_id(), to, t);
        s.action = Some("OBSERVE");
        s.biz_step = Some("receiving");
        s.disposition = Some("in_progress");
        s.epcs = epcs;
        s.quantities = q;
        s.sources = vec![("owning_party", from.id.clone())];
        s.destinations = vec![("owning_party", to.id.clone())];
        b.submit(to, s)
    };
    let aggregate =
        |b: &mut Builder, p: &Party, parent: &str, children: Vec<String>, action: &'static str, t: f64| {
            let mut s = spec(Kind::Aggregation, b.event_id(), p, t);
            s.action = Some(action);
            s.biz_step = Some(if action == "ADD" { "packing" } else { "unpacking" });
            s.parent = Some(parent.to_owned());
            s.children = children;
            s
        };

    // Harvest (one lot of g1 is registered late: the log's order is not time order).
    commission(&mut b, &g1, &l1a, 500.0, 1.0);
    commission(&mut b, &g2, &s2a, 400.0, 2.0);
    commission(&mut b, &g3, &l3a, 600.0, 2.0);
    commission(&mut b, &g1, &l1b, 300.0, 0.5);
    for (g, lot, q) in [(&g1, &l1a, 500.0), (&g2, &s2a, 400.0), (&g3, &l3a, 600.0), (&g1, &l1b, 300.0)] {
        let s = ship(&mut b, g, &pk, vec![], vec![(lot.clone(), q, "KGM")], 3.0);
        b.submit(g, s);
        receive(&mut b, &pk, g, vec![], vec![(lot.clone(), q, "KGM")], 4.0);
    }

    // Initial packing: lots mixed into packed lots and cases.
    let transform = |b: &mut Builder,
                     inputs: Vec<(String, f64, &'static str)>,
                     out_lot: &str,
                     q: f64,
                     out_cases: Vec<String>,
                     t: f64| {
        let mut s = spec(Kind::Transformation, b.event_id(), &pk, t);
        s.biz_step = Some("commissioning");
        s.disposition = Some("active");
        s.input_quantities = inputs;
        s.output_quantities = vec![(out_lot.to_owned(), q, "KGM")];
        s.outputs = out_cases;
        s.biz_transactions = vec![("prodorder", format!("urn:epcglobal:cbv:bt:06141610000:{t}"))];
        b.submit(&pk, s)
    };
    let t1 = transform(
        &mut b,
        vec![(l1a.clone(), 300.0, "KGM"), (s2a.clone(), 200.0, "KGM")],
        &kp1,
        450.0,
        (1..=8).map(c).collect(),
        6.0,
    );
    transform(
        &mut b,
        vec![(l1a.clone(), 200.0, "KGM"), (l3a.clone(), 400.0, "KGM")],
        &kp2,
        560.0,
        (9..=12).map(c).collect(),
        7.0,
    );
    transform(&mut b, vec![(l1b.clone(), 300.0, "KGM")], &kp3, 280.0, vec![c(13), c(14)], 8.0);

    // Pallets: built, one case taken off again, a declared aggregation.
    let mut s = spec(Kind::Object, b.event_id(), &pk, 8.0);
    s.action = Some("ADD");
    s.biz_step = Some("commissioning");
    s.epcs = vec![p1.clone(), p2.clone()];
    b.submit(&pk, s);
    let a = aggregate(&mut b, &pk, &p1, (1..=4).map(c).collect(), "ADD", 9.0);
    b.submit(&pk, a);
    let a = aggregate(&mut b, &pk, &p2, vec![c(5), c(6), c(9), c(10)], "ADD", 9.0);
    b.submit(&pk, a);
    let wrong_agg = aggregate(&mut b, &pk, &p2, vec![c(11)], "ADD", 9.5);
    let agg_c11 = b.submit(&pk, wrong_agg.clone());
    let a = aggregate(&mut b, &pk, &p1, vec![c(4)], "DELETE", 10.0);
    let c4_removed = b.submit(&pk, a);
    let s = ship(&mut b, &pk, &di, vec![p1.clone(), p2.clone()], vec![], 11.0);
    let pallet_ship = b.submit(&pk, s);
    let s = ship(&mut b, &pk, &r2, vec![c(4)], vec![], 11.5);
    let c4_ship = b.submit(&pk, s);
    let agg_c11_declaration = b.submit(&pk, wrong_agg.declared("did_not_occur", vec![]));
    let s = ship(&mut b, &pk, &pr, vec![c(7), c(8), c(12)], vec![], 12.0);
    b.submit(&pk, s);
    receive(&mut b, &di, &pk, vec![p1.clone(), p2.clone()], vec![], 13.0);
    receive(&mut b, &r2, &pk, vec![c(4)], vec![], 14.0);
    receive(&mut b, &pr, &pk, vec![c(7), c(8), c(12)], vec![], 14.0);

    // The processor's kits: inputs and outputs in two events of one transformation.
    let tx = "urn:example:transformation:kit-1".to_owned();
    let mut s = spec(Kind::Transformation, b.event_id(), &pr, 15.0);
    s.biz_step = Some("commissioning");
    s.inputs = vec![c(7), c(8), c(12)];
    s.transformation_id = Some(tx.clone());
    let t3a = b.submit(&pr, s);
    let mut s = spec(Kind::Transformation, b.event_id(), &pr, 16.0);
    s.biz_step = Some("commissioning");
    s.outputs = kits.clone();
    s.output_quantities = vec![(rk1.clone(), 4.0, "EA")];
    s.transformation_id = Some(tx);
    let t3b = b.submit(&pr, s);

    // The distributor breaks the pallets and ships cases; one shipment is wrong.
    let a = aggregate(&mut b, &di, &p1, vec![], "DELETE", 17.0);
    b.submit(&di, a);
    let a = aggregate(&mut b, &di, &p2, vec![c(5), c(6), c(9), c(10)], "DELETE", 17.0);
    b.submit(&di, a);
    let s = ship(&mut b, &di, &r1, vec![c(1), c(2)], vec![], 18.0);
    b.submit(&di, s);
    let wrong = ship(&mut b, &di, &r1, vec![c(3), c(5)], vec![], 18.0);
    let wrong_ship = b.submit(&di, wrong.clone());
    let right = ship(&mut b, &di, &r2, vec![c(3), c(5)], vec![], 18.0);
    let wrong_ship_declaration =
        b.submit(&di, wrong.declared("incorrect_data", vec![right.event_id.clone()]));
    let right_ship = b.submit(&di, right);
    let s = ship(&mut b, &di, &r1, vec![c(6), c(9), c(10)], vec![], 18.0);
    b.submit(&di, s);
    receive(&mut b, &r1, &di, vec![c(1), c(2), c(6), c(9), c(10)], vec![], 20.0);
    receive(&mut b, &r2, &di, vec![c(3), c(5)], vec![], 20.0);
    let s = ship(&mut b, &pr, &di, kits.clone(), vec![], 19.0);
    b.submit(&pr, s);
    receive(&mut b, &di, &pr, kits.clone(), vec![], 21.0);
    let s = ship(&mut b, &di, &r2, kits.clone(), vec![], 22.0);
    b.submit(&di, s);
    receive(&mut b, &r2, &di, kits.clone(), vec![], 23.0);
    let mut s = spec(Kind::Object, b.event_id(), &r1, 25.0);
    s.action = Some("OBSERVE");
    s.biz_step = Some("retail_selling");
    s.disposition = Some("retail_sold");
    s.epcs = vec![c(1)];
    b.submit(&r1, s);

    // The grower recalls its lot, co-signed by the regulator.
    let mut s = spec(Kind::Object, b.event_id(), &g1, 30.0);
    s.action = Some("OBSERVE");
    s.biz_step = Some("holding");
    s.disposition = Some("recalled");
    s.quantities = vec![(l1a.clone(), 500.0, "KGM")];
    let recall = b.submit_cosigned(&g1, &[&regulator], s);

    World {
        b,
        g1,
        di,
        l1a: canonical(&l1a),
        s2a: canonical(&s2a),
        l3a: canonical(&l3a),
        l1b: canonical(&l1b),
        c: cases.iter().map(|x| canonical(x)).collect(),
        k: kits.iter().map(|x| canonical(x)).collect(),
        p1: canonical(&p1),
        p2: canonical(&p2),
        t1,
        t3a,
        t3b,
        agg_c11,
        agg_c11_declaration,
        wrong_ship,
        wrong_ship_declaration,
        right_ship,
        pallet_ship,
        c4_removed,
        c4_ship,
        recall,
    }
}

fn set(v: &[&String]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_identifier_traced_every_way_matches_the_reference() {
    let w = world();
    let n = w.b.chain.log.size();
    let times = [None, Some(h(0.0)), Some(h(9.2)), Some(h(10.5)), Some(h(16.0)), Some(h(40.0))];
    for id in identifiers(&w.b.events) {
        for dir in [Direction::Back, Direction::Forward, Direction::Recall] {
            for at in times {
                for view in [View::Effective, View::AsRecorded] {
                    check(&w.b, &query(&id, dir, at, view, n));
                }
            }
        }
    }
}

#[test]
fn trace_back_reaches_the_growers_lots_through_the_packing() {
    let w = world();
    let n = w.b.chain.log.size();
    let a = check(&w.b, &query(&w.c[0], Direction::Back, None, View::Effective, n));
    assert_eq!(
        a.origins,
        vec![w.l1a.clone(), w.s2a.clone()]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    let ids: BTreeSet<String> = a.identifiers.iter().map(|r| r.id.clone()).collect();
    assert!(ids.contains(&w.l1a) && !ids.contains(&w.l3a) && !ids.contains(&w.l1b));
    assert!(
        a.event(w.t1).is_some() && a.event(w.pallet_ship).is_some(),
        "the packing and the pallet's shipment"
    );
    assert!(a.event(w.recall).is_none(), "the lot's recall came after the packing");
    let shipped = a.event(w.pallet_ship).unwrap();
    assert!(shipped
        .reached_by
        .iter()
        .any(|r| r.identifier == w.c[0] && r.container.as_deref() == Some(w.p1.as_str())));
    // The chain of the case runs through its pallet's custody.
    assert!(a.edges.iter().any(|e| e.kind == EdgeKind::Custody
        && e.from == w.pallet_ship
        && e.container.as_deref() == Some(w.p1.as_str())));
    check_summaries(&w.b, &a);
}

#[test]
fn a_case_taken_off_a_pallet_does_not_travel_with_it() {
    let w = world();
    let n = w.b.chain.log.size();
    let c4 = &w.c[3];
    let a = check(&w.b, &query(c4, Direction::Forward, None, View::Effective, n));
    assert!(a.event(w.c4_removed).is_some() && a.event(w.c4_ship).is_some());
    assert!(a.event(w.pallet_ship).is_none(), "the pallet left without C4");
    let back = check(&w.b, &query(c4, Direction::Back, None, View::Effective, n));
    assert!(back.event(w.pallet_ship).is_none());

    // The pallet's forward trace holds C4 only from a time when C4 was on it.
    let after = check(&w.b, &query(&w.p1, Direction::Forward, Some(h(10.5)), View::Effective, n));
    assert!(!after.identifiers.iter().any(|r| &r.id == c4));
    assert!(after.event(w.c4_ship).is_none());
    assert!(after.identifiers.iter().any(|r| r.id == w.c[0]));
    let before = check(&w.b, &query(&w.p1, Direction::Forward, Some(h(8.5)), View::Effective, n));
    assert!(before.identifiers.iter().any(|r| &r.id == c4));
    assert!(before.event(w.c4_ship).is_some());
}

#[test]
fn corrections_apply_by_default_and_as_recorded_shows_history() {
    let w = world();
    let n = w.b.chain.log.size();
    let c3 = &w.c[2];
    let eff = check(&w.b, &query(c3, Direction::Forward, None, View::Effective, n));
    assert!(eff.event(w.wrong_ship).is_none());
    assert!(eff.event(w.right_ship).is_some(), "the corrective shipment");
    assert_eq!(eff.corrections.len(), 1);
    let corr = &eff.corrections[0];
    assert_eq!((corr.declared, corr.declaration), (w.wrong_ship, w.wrong_ship_declaration));
    assert_eq!(corr.reason.as_deref(), Some("incorrect_data"));
    assert_eq!(corr.correctives, vec![w.right_ship]);
    assert!(eff.entry_indexes().contains(&w.wrong_ship_declaration));

    let rec = check(&w.b, &query(c3, Direction::Forward, None, View::AsRecorded, n));
    assert_eq!(rec.event(w.wrong_ship).unwrap().declared_by, Some(w.wrong_ship_declaration));
    assert!(rec.event(w.right_ship).is_some());

    // Before the declaration was registered, the shipment stood.
    let early = check(&w.b, &query(c3, Direction::Forward, None, View::Effective, w.wrong_ship_declaration));
    assert!(early.event(w.wrong_ship).is_some() && early.corrections.is_empty());
    assert!(early.event(w.right_ship).is_none(), "not yet in the log");

    // An aggregation that did not occur opens no containment.
    let c11 = &w.c[10];
    let eff = check(&w.b, &query(c11, Direction::Forward, None, View::Effective, n));
    assert!(eff.event(w.agg_c11).is_none() && eff.event(w.pallet_ship).is_none());
    assert_eq!(eff.corrections[0].declaration, w.agg_c11_declaration);
    let rec = check(&w.b, &query(c11, Direction::Forward, None, View::AsRecorded, n));
    assert!(rec.event(w.agg_c11).is_some() && rec.event(w.pallet_ship).is_some());
}

#[test]
fn recall_scope_goes_back_to_the_origins_and_forward_from_each() {
    let w = world();
    let n = w.b.chain.log.size();
    let kit = &w.k[0];
    let back = check(&w.b, &query(kit, Direction::Back, None, View::Effective, n));
    assert!(back.event(w.t3a).is_some(), "joined by transformationID");
    assert!(back
        .edges
        .iter()
        .any(|e| e.kind == EdgeKind::Transformation && (e.from, e.to) == (w.t3a, w.t3b)));
    let a = check(&w.b, &query(kit, Direction::Recall, None, View::Effective, n));
    assert_eq!(a.origins.iter().collect::<BTreeSet<_>>(), set(&[&w.l1a, &w.s2a, &w.l3a]).iter().collect());
    assert!(a.event(w.recall).is_some(), "the co-signed recall of the grower's lot");
    assert!(a.event(w.recall).unwrap().summary.recall);
    let ids: BTreeSet<&str> = a.identifiers.iter().map(|r| r.id.as_str()).collect();
    for case in &w.c[..12] {
        assert!(ids.contains(case.as_str()), "{case} is made from a recalled origin");
    }
    assert!(!ids.contains(w.l1b.as_str()) && !ids.contains(w.c[12].as_str()));
    check_summaries(&w.b, &a);

    // Limits truncate, never fail.
    let mut q = query(kit, Direction::Recall, None, View::Effective, n);
    q.limits.max_events = 10;
    let t = w.b.lineage().query(&q).unwrap();
    assert!(t.truncated && t.events.len() == 10);
    q.limits = Default::default();
    q.limits.max_depth = 1;
    let t = w.b.lineage().query(&q).unwrap();
    assert_eq!(t.truncated_by, Some(provlog_ledger::lineage::LimitKind::Depth));
    check_invariants(&t);
}

#[test]
fn identifiers_in_any_spelling_are_answered_in_canonical_form() {
    let w = world();
    let n = w.b.chain.log.size();
    let urn = w.g1.lot("100001", "L1A");
    let a = w.b.lineage().query(&query(&urn, Direction::Forward, None, View::Effective, n)).unwrap();
    let dl = w.b.lineage().query(&query(&w.l1a, Direction::Forward, None, View::Effective, n)).unwrap();
    assert_eq!(a.identifier, w.l1a);
    assert_eq!(a.events, dl.events);
    let bad = w.b.lineage().query(&query("not a uri", Direction::Back, None, View::Effective, n));
    assert!(matches!(bad, Err(provlog_ledger::lineage::LineageError::Identifier { .. })));
    // Parties are indexed (not traced): the distributor's events.
    let m = w.b.lineage().mentions(&w.di.id, 0, n, 1000).unwrap();
    assert!(m.iter().any(|m| m.index == w.right_ship));
}

#[test]
fn the_fsma_spreadsheet_has_a_row_per_event_per_lot() {
    let w = world();
    let n = w.b.chain.log.size();
    let a = check(&w.b, &query(&w.k[0], Direction::Recall, None, View::Effective, n));
    let csv = fsma::to_csv(&a);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], fsma::COLUMNS.join(","));
    let t1_rows: Vec<&&str> = lines.iter().filter(|l| l.contains(&format!(",{},", w.t1))).collect();
    assert_eq!(t1_rows.len(), 3, "two input lots and one output lot: {t1_rows:#?}");
    assert!(t1_rows.iter().any(|r| r.starts_with("(01)10614151000016(10)L1A,10614151000016,")
        && r.contains(",input,300,KGM,transformation,")));
    assert!(t1_rows.iter().any(|r| r.contains(",output,450,KGM,transformation,")));
    assert!(
        lines.iter().any(|l| l.contains(",shipping,") && l.contains("owning_party=0614161000016")),
        "{csv}"
    );
    assert!(lines.iter().all(|l| l.split(',').count() >= fsma::COLUMNS.len()));
    // The client renders the answer it received as JSON.
    let json = serde_json::to_string(&a).unwrap();
    let received: provlog_ledger::lineage::Answer = serde_json::from_str(&json).unwrap();
    assert_eq!(received, a);
    assert_eq!(fsma::to_csv(&received), csv);
    for key in [
        r#""direction":"recall""#,
        r#""view":"effective""#,
        r#""event_type":"TransformationEvent""#,
        r#""kind":"custody""#,
        r#""role":"input_quantity""#,
    ] {
        assert!(json.contains(key), "{key}");
    }
    let dot = dot::to_dot(&a);
    assert!(dot.starts_with("digraph lineage {") && dot.contains(&format!("e{} -> e{}", w.t3a, w.t3b)));
    assert_eq!(dot.matches(" [label=").count(), a.events.len() + a.edges.len());
}

#[test]
fn replay_rebuilds_the_same_lineage_index() {
    let w = world();
    let entries = w.b.chain.log.reader().entries(0, w.b.chain.log.size()).unwrap();
    let scratch: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut r = Replayer::new(scratch.clone(), ORIGIN).unwrap();
    r.replay(&entries).unwrap();
    // What lineage reads: its own records and the state's mention index.
    let lineage_records = |s: &Arc<dyn Store>| {
        let mut r = s.range(b"L", &prefix_end(b"L"), usize::MAX, false).unwrap();
        r.extend(s.range(b"m", &prefix_end(b"m"), usize::MAX, false).unwrap());
        r
    };
    let (orig, rebuilt) = (lineage_records(&w.b.chain.store), lineage_records(&scratch));
    assert!(orig.len() > 200, "{}", orig.len());
    assert_eq!(orig, rebuilt, "the lineage index is a function of the entries");
    let n = w.b.chain.log.size();
    for id in [&w.c[0], &w.k[1], &w.l1a, &w.p2] {
        for dir in [Direction::Back, Direction::Forward, Direction::Recall] {
            let q = query(id, dir, None, View::Effective, n);
            assert_eq!(r.log().lineage().query(&q).unwrap(), w.b.lineage().query(&q).unwrap());
        }
    }
}
