//! Random chains: a small universe of lots, cases and pallets, events of
//! every type at random times (so the log's order is not time order),
//! registered in random batches under permissive rules, so that anything
//! the rules would only flag (cycles, a child inside itself, receipts
//! before shipments, repeated and dangling declarations) reaches the index.
//! Every identifier is then traced every way, at random times and tree
//! sizes, and compared with the reference.

use crate::common::*;
use crate::model::{Kind, Qty, Spec};
use crate::{check, identifiers, query, Builder};
use provlog_ledger::governance::Role;
use provlog_ledger::lineage::{Direction, View};
use provlog_ledger::rules::RuleSet;

/// SplitMix64: a small deterministic generator, so that a failure names
/// its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// A random subset of `items`, in order, of at most `max` items.
    fn subset<T: Clone>(&mut self, items: &[T], max: usize) -> Vec<T> {
        let mut out = Vec::new();
        for it in items {
            if out.len() < max && self.chance(30) {
                out.push(it.clone());
            }
        }
        out
    }
}

struct Universe {
    lots: Vec<String>,
    cases: Vec<String>,
    pallets: Vec<String>,
}

/// `urn` in one of its spellings: as written, as canonical Digital Link,
/// or as a Digital Link on another host.
fn spell(rng: &mut Rng, urn: &str) -> String {
    let canonical = crate::model::canonical(urn);
    match rng.below(4) {
        0 => canonical,
        1 => canonical.replace("https://id.gs1.org/", "https://example.com/"),
        _ => urn.to_owned(),
    }
}

fn quantities(rng: &mut Rng, u: &Universe, max: usize) -> Vec<Qty> {
    let lots = rng.subset(&u.lots, max);
    lots.iter().map(|l| (spell(rng, l), (1 + rng.below(100)) as f64, "KGM")).collect()
}

fn random_spec(rng: &mut Rng, u: &Universe, p: &Party, id: String, previous: &[Spec]) -> Spec {
    let t0 = ms("2026-10-01T00:00:00Z") as i64;
    let mut s = Spec {
        event_id: id,
        time_ms: t0 + rng.below(48) as i64 * 3_600_000,
        location: Some(p.location()),
        ..Spec::default()
    };
    let instances: Vec<String> = u.cases.iter().chain(u.pallets.iter()).cloned().collect();
    let actions = ["ADD", "OBSERVE", "DELETE"];
    let epcs = |rng: &mut Rng, max| {
        let v = rng.subset(&instances, max);
        v.iter().map(|e| spell(rng, e)).collect::<Vec<_>>()
    };
    match rng.below(12) {
        0 if !previous.is_empty() => {
            // A declaration: of an earlier event, or (rarely) of nothing.
            let mut d = previous[rng.below(previous.len())].clone();
            d.declaration = None;
            if rng.chance(10) {
                d.event_id = format!("urn:uuid:00000000-0000-4000-9000-{:012}", rng.below(1000));
            }
            let correctives = (0..rng.below(3))
                .map(|_| {
                    format!("urn:uuid:00000000-0000-4000-8000-{:012}", 1 + rng.below(previous.len() + 3))
                })
                .collect();
            return d.declared(if rng.chance(50) { "did_not_occur" } else { "incorrect_data" }, correctives);
        }
        0..=2 => {
            s.kind = Kind::Object;
            s.action = Some(actions[rng.below(3)]);
            s.biz_step = Some(["commissioning", "shipping", "receiving", "holding"][rng.below(4)]);
            s.epcs = epcs(rng, 3);
            s.quantities = quantities(rng, u, 2);
            if s.biz_step == Some("shipping") || s.biz_step == Some("receiving") {
                s.sources = vec![("owning_party", p.id.clone())];
                s.destinations = vec![("owning_party", "urn:epc:id:pgln:0614144.00001".into())];
            }
        }
        3..=5 => {
            s.kind = if rng.chance(80) { Kind::Aggregation } else { Kind::Association };
            s.action = Some(actions[rng.below(3)]);
            if s.action == Some("OBSERVE") && s.kind == Kind::Aggregation && rng.chance(30) {
                s.parent = None;
            } else {
                let parent = if rng.chance(80) {
                    &u.pallets[rng.below(u.pallets.len())]
                } else {
                    &u.cases[rng.below(u.cases.len())]
                };
                s.parent = Some(spell(rng, parent));
            }
            s.children = epcs(rng, 3);
            if rng.chance(30) {
                s.child_quantities = quantities(rng, u, 1);
            }
            if s.action == Some("DELETE") && rng.chance(40) {
                s.children.clear();
                s.child_quantities.clear();
            }
            if s.children.is_empty() && s.child_quantities.is_empty() && s.action != Some("DELETE") {
                let case = &u.cases[rng.below(u.cases.len())];
                s.children = vec![spell(rng, case)];
            }
        }
        6 => {
            s.kind = Kind::Transaction;
            s.action = Some(actions[rng.below(2)]);
            s.biz_transactions = vec![("po", "urn:epcglobal:cbv:bt:0614141000012:1".into())];
            if rng.chance(50) {
                let pallet = &u.pallets[rng.below(u.pallets.len())];
                s.parent = Some(spell(rng, pallet));
            }
            s.epcs = epcs(rng, 2);
        }
        _ => {
            s.kind = Kind::Transformation;
            s.inputs = epcs(rng, 2);
            s.input_quantities = quantities(rng, u, 2);
            s.outputs = epcs(rng, 2);
            s.output_quantities = quantities(rng, u, 2);
            let both = (!s.inputs.is_empty() || !s.input_quantities.is_empty())
                && (!s.outputs.is_empty() || !s.output_quantities.is_empty());
            if rng.chance(40) || !both {
                s.transformation_id = Some(format!("urn:example:tx:{}", rng.below(3)));
                if rng.chance(50) {
                    s.inputs.clear();
                    s.input_quantities.clear();
                } else {
                    s.outputs.clear();
                    s.output_quantities.clear();
                }
            }
            if s.inputs.is_empty()
                && s.input_quantities.is_empty()
                && s.outputs.is_empty()
                && s.output_quantities.is_empty()
            {
                s.output_quantities = vec![(u.lots[rng.below(u.lots.len())].clone(), 1.0, "KGM")];
            }
        }
    }
    s
}

fn random_chain(seed: u64) -> Builder {
    let mut rng = Rng(seed);
    let issuer = Party::new(31, "0614199", Role::Partner);
    let mut chain = Chain::with_partners(RuleSet::permissive("random"), &[(&issuer, STEPS_ALL)]);
    chain.now = ms("2026-12-01T00:00:00Z");
    let (farm, processor) = (chain.farm.clone(), chain.processor.clone());
    let u = Universe {
        lots: vec![
            farm.lot("107346", "A"),
            farm.lot("107346", "B"),
            processor.lot("200001", "J"),
            issuer.lot("300001", "X"),
        ],
        cases: (1..=6).map(|i| processor.sgtin("200001", &i.to_string())).collect(),
        pallets: (1..=3).map(|i| processor.sscc(&format!("{i:010}"))).collect(),
    };
    let mut b = Builder::new(chain);
    // Events that are not declarations, for declarations to copy.
    let mut specs: Vec<Spec> = Vec::new();
    let mut texts = std::collections::HashSet::new();
    let events = 30 + rng.below(40);
    while specs.len() < events {
        let batch = 1 + rng.below(4);
        let mut items = Vec::new();
        for _ in 0..batch {
            let id = b.event_id();
            let spec = random_spec(&mut rng, &u, &issuer, id, &specs);
            // The same declaration twice would be the same statement.
            if !texts.insert(spec.to_json().to_string()) {
                continue;
            }
            let stmt = b.chain.sign(&issuer, &spec.to_json());
            if spec.declaration.is_none() {
                specs.push(spec.clone());
            }
            items.push((stmt, spec));
        }
        b.submit_statements(items);
        if specs.is_empty() {
            // Only declarations so far: make progress anyway.
            let id = b.event_id();
            let mut s = Spec { kind: Kind::Object, event_id: id, action: Some("ADD"), ..Spec::default() };
            s.epcs = vec![u.cases[0].clone()];
            s.time_ms = ms("2026-10-01T00:00:00Z") as i64;
            let stmt = b.chain.sign(&issuer, &s.to_json());
            b.submit_statements(vec![(stmt, s.clone())]);
            specs.push(s);
        }
    }
    b
}

#[test]
fn random_chains_match_the_reference() {
    let mut stats = (0, 0, 0, 0, 0, 0);
    for seed in 0..48u64 {
        let b = random_chain(seed);
        let mut rng = Rng(seed ^ 0xdead_beef);
        let n = b.chain.log.size();
        let t0 = ms("2026-10-01T00:00:00Z") as i64;
        for id in identifiers(&b.events) {
            for dir in [Direction::Back, Direction::Forward, Direction::Recall] {
                let at = if rng.chance(50) { None } else { Some(t0 + rng.below(50) as i64 * 3_600_000) };
                let view = if rng.chance(50) { View::Effective } else { View::AsRecorded };
                let size = if rng.chance(70) { n } else { 1 + rng.below(n as usize) as u64 };
                let q = query(&id, dir, at, view, size);
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&b, &q)));
                match result {
                    Err(_) => panic!("seed {seed}: {q:?}"),
                    Ok(a) => {
                        stats.0 += 1;
                        stats.1 += a.events.len();
                        stats.2 += a.corrections.len();
                        stats.3 += a.edges.len();
                        stats.4 = stats.4.max(a.events.len());
                        stats.5 += a.identifiers.len();
                    }
                }
            }
        }
    }
    eprintln!("STATS queries/events/corrections/edges/max/idents {stats:?}");
}
