//! Lineage through the real log: generated supply chains are signed,
//! registered with `Log::register` and traced with the lineage index, and
//! every answer is compared with a literal reference computed from the
//! generators' own records (`reference.rs`), never from the index.
//!
//! - `scenario`: a realistic chain (growers, a packer, a processor, a
//!   distributor, retailers; lots mixed, pallets built and broken, a
//!   correction, a co-signed recall) under the strict rules, with
//!   hand-written expectations as well;
//! - `random`: many seeded random chains under permissive rules (cycles,
//!   out-of-order times, nested and self-containment, joined
//!   transformations, repeated and dangling declarations, mixed identifier
//!   spellings), every identifier queried every way;
//! - replay rebuilds the lineage index byte for byte.

#[path = "../common/mod.rs"]
mod common;
mod model;
mod random;
mod reference;
mod scenario;

use common::{Chain, Party};
use model::{RefEvent, Spec};
use provlog_ledger::lineage::{self, Answer, Direction, Limits, Lineage, Query, View};
use provlog_ledger::log::Outcome;
use provlog_ledger::statement::Statement;
use reference::{Expected, Reference};
use std::collections::BTreeSet;

/// A chain and the generator's record of what it registered.
pub struct Builder {
    pub chain: Chain,
    pub events: Vec<RefEvent>,
}

impl Builder {
    pub fn new(chain: Chain) -> Builder {
        Builder { chain, events: Vec::new() }
    }

    pub fn event_id(&mut self) -> String {
        self.chain.event_id()
    }

    /// Signs and registers `spec` alone; it must be accepted.
    pub fn submit(&mut self, issuer: &Party, spec: Spec) -> u64 {
        let stmt = self.chain.sign(issuer, &spec.to_json());
        self.submit_statements(vec![(stmt, spec)])[0]
    }

    /// Registers `spec` signed by `issuer` and `cosigners` (COSE_Sign).
    pub fn submit_cosigned(&mut self, issuer: &Party, cosigners: &[&Party], spec: Spec) -> u64 {
        let stmt = self.chain.sign_multi(issuer, cosigners, &spec.to_json());
        self.submit_statements(vec![(stmt, spec)])[0]
    }

    /// Registers the statements as one batch; each must be accepted.
    pub fn submit_statements(&mut self, items: Vec<(Statement, Spec)>) -> Vec<u64> {
        let stmts: Vec<Statement> = items.iter().map(|(s, _)| s.clone()).collect();
        let outcomes = self.chain.register_batch(&stmts);
        items
            .iter()
            .zip(outcomes)
            .map(|((_, spec), out)| match out {
                Outcome::Registered { index, .. } => {
                    self.events.push(spec.to_ref(index));
                    index
                }
                other => panic!("{} refused: {other:?}\n{}", spec.event_id, spec.to_json()),
            })
            .collect()
    }

    pub fn lineage(&self) -> Lineage {
        self.chain.log.lineage()
    }
}

/// A query with limits large enough never to truncate these chains.
pub fn query(id: &str, direction: Direction, at: Option<i64>, view: View, tree_size: u64) -> Query {
    Query {
        identifier: id.to_owned(),
        direction,
        at_ms: at,
        view,
        tree_size,
        limits: Limits { max_depth: 1000, max_events: 1_000_000, max_identifiers: 1_000_000 },
    }
}

/// What the answer says, in the reference's terms.
pub fn observed(a: &Answer) -> Expected {
    Expected {
        events: a.events.iter().map(|e| e.index).collect(),
        identifiers: a.identifiers.iter().map(|r| r.id.clone()).collect(),
        origins: a.origins.iter().cloned().collect(),
        corrections: a.corrections.iter().map(|c| c.declared).collect(),
    }
}

/// The reference's expectation for `q`.
pub fn expected(events: &[RefEvent], q: &Query) -> Expected {
    let r = Reference::new(events, q.tree_size, q.view == View::Effective);
    let id = lineage::canonical(&q.identifier).unwrap();
    match q.direction {
        Direction::Back => r.back(&id, q.at_ms),
        Direction::Forward => r.forward(&id, q.at_ms),
        Direction::Recall => r.recall(&id, q.at_ms),
    }
}

/// Runs `q`, checks the answer's invariants and that it matches the
/// reference, and returns it.
pub fn check(b: &Builder, q: &Query) -> Answer {
    let a = b.lineage().query(q).unwrap();
    assert!(!a.truncated, "{q:?} truncated");
    let want = expected(&b.events, q);
    let got = observed(&a);
    if got != want {
        let diff = |g: &BTreeSet<u64>, w: &BTreeSet<u64>| {
            (g.difference(w).copied().collect::<Vec<_>>(), w.difference(g).copied().collect::<Vec<_>>())
        };
        panic!(
            "{q:?}\nevents (extra, missing): {:?}\nidentifiers got {:?}\n want {:?}\norigins got {:?} want {:?}\ncorrections got {:?} want {:?}",
            diff(&got.events, &want.events),
            got.identifiers,
            want.identifiers,
            got.origins,
            want.origins,
            got.corrections,
            want.corrections
        );
    }
    check_invariants(&a);
    a
}

/// What every answer must satisfy whatever the data.
pub fn check_invariants(a: &Answer) {
    let indexes: Vec<u64> = a.events.iter().map(|e| e.index).collect();
    let keys: Vec<(i64, u64)> = a.events.iter().map(|e| (e.summary.event_time_ms, e.index)).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "events sorted by (time, index)");
    for e in &a.edges {
        assert!(indexes.contains(&e.from) && indexes.contains(&e.to), "edge {e:?} ends in the answer");
        let (f, t) = (a.event(e.from).unwrap(), a.event(e.to).unwrap());
        if e.kind != lineage::EdgeKind::Transformation {
            assert!(f.summary.event_time_ms <= t.summary.event_time_ms, "{e:?} goes forward in time");
            for ev in [f, t] {
                assert!(ev.reached_by.iter().any(|r| r.identifier == e.identifier), "{e:?}: {ev:?}");
            }
        }
    }
    if a.view == View::Effective {
        assert!(a.events.iter().all(|e| e.declared_by.is_none()));
        for c in &a.corrections {
            assert!(!indexes.contains(&c.declared), "a declared event is left out");
        }
    }
    let all = a.entry_indexes();
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert!(indexes.iter().all(|i| all.contains(i)));
}

/// Every event summary of `a` is what a client recomputes from the entry.
pub fn check_summaries(b: &Builder, a: &Answer) {
    for e in &a.events {
        let entry = b.chain.log.reader().entry(e.index).unwrap();
        let s = lineage::summarize_entry(&entry).unwrap().expect("an EPCIS entry");
        assert_eq!(s, e.summary, "summary of entry {}", e.index);
    }
}

/// Every canonical identifier the generator used.
pub fn identifiers(events: &[RefEvent]) -> BTreeSet<String> {
    events.iter().flat_map(|e| e.objects.iter().map(|(o, _)| o.clone())).collect()
}
