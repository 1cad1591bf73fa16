//! A literal reference for `spec/lineage.md` §3–§5, over the generators'
//! own records: no index, no caches, no breadth-first order — every trace
//! is a fixpoint over (identifier → window bound), recomputed by scanning
//! every event. Slow and obviously close to the text, so that the indexed
//! implementation can be checked against it.

use crate::model::{Kind, RefEvent, R};
use std::collections::{BTreeMap, BTreeSet};

/// What the reference expects of an answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub events: BTreeSet<u64>,
    pub identifiers: BTreeSet<String>,
    pub origins: BTreeSet<String>,
    /// Declared events the trace touched.
    pub corrections: BTreeSet<u64>,
}

pub struct Reference<'a> {
    /// Every registered event with index < tree size, declarations included.
    all: Vec<&'a RefEvent>,
    /// Declared event → its first declaration (§1).
    declared: BTreeMap<u64, u64>,
    effective: bool,
    /// (parent, child) → containment intervals in the view.
    intervals: BTreeMap<(String, String), Vec<(i64, i64)>>,
}

const NESTING: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Back,
    Forward,
}

impl<'a> Reference<'a> {
    pub fn new(events: &'a [RefEvent], tree_size: u64, effective: bool) -> Reference<'a> {
        let all: Vec<&RefEvent> = events.iter().filter(|e| e.index < tree_size).collect();
        let mut declared = BTreeMap::new();
        for d in all.iter().filter(|e| e.is_declaration) {
            let target =
                all.iter().find(|e| !e.is_declaration && e.event_id == d.event_id && e.index < d.index);
            if let Some(t) = target {
                declared.entry(t.index).or_insert(d.index);
            }
        }
        let mut r = Reference { all, declared, effective, intervals: BTreeMap::new() };
        r.intervals = r.intervals();
        r
    }

    /// Lineage events (not declarations), declared ones included.
    fn lineage_events(&self) -> impl Iterator<Item = &&'a RefEvent> {
        self.all.iter().filter(|e| !e.is_declaration)
    }

    fn in_view(&self, e: &RefEvent) -> bool {
        !(self.effective && self.declared.contains_key(&e.index))
    }

    /// Containment intervals of every (parent, child), §3.2.
    fn intervals(&self) -> BTreeMap<(String, String), Vec<(i64, i64)>> {
        let mut by_parent: BTreeMap<String, Vec<&RefEvent>> = BTreeMap::new();
        for e in self.lineage_events().filter(|e| e.kind.is_containment() && self.in_view(e)) {
            if !matches!(e.action, Some("ADD") | Some("DELETE")) {
                continue;
            }
            for p in e.with_role(|r| r == R::Parent) {
                by_parent.entry(p).or_default().push(e);
            }
        }
        let mut out: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
        for (p, mut evs) in by_parent {
            evs.sort_by_key(|e| (e.time, e.index));
            let mut open: BTreeMap<String, i64> = BTreeMap::new();
            for e in evs {
                let children = e.with_role(R::is_child);
                match e.action {
                    Some("ADD") => {
                        for c in children {
                            open.entry(c).or_insert(e.time);
                        }
                    }
                    _ if children.is_empty() => {
                        for (c, a) in std::mem::take(&mut open) {
                            out.entry((p.clone(), c)).or_default().push((a, e.time));
                        }
                    }
                    _ => {
                        for c in children {
                            if let Some(a) = open.remove(&c) {
                                out.entry((p.clone(), c)).or_default().push((a, e.time));
                            }
                        }
                    }
                }
            }
            for (c, a) in open {
                out.entry((p.clone(), c)).or_default().push((a, i64::MAX));
            }
        }
        out
    }

    /// (event index → roles) in which `id` participates within [lo, hi], §3.1.
    fn participation(
        &self,
        id: &str,
        lo: i64,
        hi: i64,
        as_container: bool,
        path: &mut Vec<String>,
        out: &mut BTreeMap<u64, BTreeSet<R>>,
    ) {
        for e in self.lineage_events() {
            let roles = e.roles_of(id);
            if roles.is_empty() || e.time < lo || e.time > hi {
                continue;
            }
            let contents_event = e.kind.is_containment() && roles.contains(&R::Parent);
            let roles: Vec<R> = if as_container && contents_event {
                if e.action == Some("DELETE") && !e.has_children() {
                    vec![R::Child]
                } else {
                    continue;
                }
            } else {
                roles
            };
            out.entry(e.index).or_default().extend(roles);
        }
        if path.len() > NESTING {
            return;
        }
        for ((p, c), ivs) in &self.intervals {
            if c != id || path.contains(p) {
                continue;
            }
            for &(a, d) in ivs {
                let (wl, wh) = (a.max(lo), d.min(hi));
                if wl <= wh {
                    path.push(p.clone());
                    self.participation(p, wl, wh, true, path, out);
                    path.pop();
                }
            }
        }
    }

    fn event(&self, index: u64) -> &RefEvent {
        self.all.iter().find(|e| e.index == index).unwrap()
    }

    /// The fixpoint of §4.1 (Back) or §4.2 (Forward) from `seeds`.
    fn trace(&self, dir: Dir, seeds: &[(String, i64)], exp: &mut Expected) -> BTreeMap<String, i64> {
        let iv = &self.intervals;
        let mut s: BTreeMap<String, i64> = BTreeMap::new();
        for (id, t) in seeds {
            raise(&mut s, dir, id, *t);
        }
        let mut origins = BTreeSet::new();
        loop {
            let mut next = s.clone();
            origins.clear();
            for (y, &u) in &s {
                let (lo, hi) = if dir == Dir::Back { (i64::MIN, u) } else { (u, i64::MAX) };
                let mut parts = BTreeMap::new();
                self.participation(y, lo, hi, false, &mut vec![y.clone()], &mut parts);
                let mut sources = false;
                for (&index, roles) in &parts {
                    let e = self.event(index);
                    if self.declared.contains_key(&index) {
                        exp.corrections.insert(index);
                    }
                    if !self.in_view(e) {
                        continue;
                    }
                    exp.events.insert(index);
                    let follows = if dir == Dir::Back {
                        roles.iter().any(|r| r.is_output())
                    } else {
                        roles.iter().any(|r| r.is_input())
                    };
                    if e.kind != Kind::Transformation || !follows {
                        continue;
                    }
                    sources = true;
                    let linked = |e: &RefEvent| {
                        if dir == Dir::Back {
                            e.with_role(R::is_input)
                        } else {
                            e.with_role(R::is_output)
                        }
                    };
                    for l in linked(e) {
                        raise(&mut next, dir, &l, e.time);
                    }
                    let Some(tx) = &e.transformation_id else { continue };
                    for j in self.lineage_events() {
                        let joins = if dir == Dir::Back { j.time <= e.time } else { j.time >= e.time };
                        if j.index == e.index
                            || j.kind != Kind::Transformation
                            || j.transformation_id.as_ref() != Some(tx)
                            || !joins
                        {
                            continue;
                        }
                        if self.declared.contains_key(&j.index) {
                            exp.corrections.insert(j.index);
                        }
                        if !self.in_view(j) {
                            continue;
                        }
                        exp.events.insert(j.index);
                        for l in linked(j) {
                            raise(&mut next, dir, &l, j.time);
                        }
                    }
                }
                for ((p, c), ivs) in iv {
                    if p != y {
                        continue;
                    }
                    let reach = if dir == Dir::Back {
                        ivs.iter().filter(|(a, _)| *a <= u).map(|&(_, d)| d.min(u)).max()
                    } else {
                        ivs.iter().filter(|(_, d)| *d >= u).map(|&(a, _)| a.max(u)).min()
                    };
                    if let Some(v) = reach {
                        sources = true;
                        raise(&mut next, dir, c, v);
                    }
                }
                if !sources {
                    origins.insert(y.clone());
                }
            }
            if next == s {
                break;
            }
            s = next;
        }
        exp.identifiers.extend(s.keys().cloned());
        if dir == Dir::Back {
            exp.origins = origins;
        }
        s
    }

    pub fn back(&self, id: &str, at: Option<i64>) -> Expected {
        let mut exp = Expected::default();
        self.trace(Dir::Back, &[(id.to_owned(), at.unwrap_or(i64::MAX))], &mut exp);
        exp
    }

    pub fn forward(&self, id: &str, at: Option<i64>) -> Expected {
        let mut exp = Expected::default();
        self.trace(Dir::Forward, &[(id.to_owned(), at.unwrap_or(i64::MIN))], &mut exp);
        exp.origins.clear();
        exp
    }

    pub fn recall(&self, id: &str, at: Option<i64>) -> Expected {
        let mut exp = self.back(id, at);
        let seeds: Vec<(String, i64)> = exp.origins.iter().map(|o| (o.clone(), i64::MIN)).collect();
        let origins = exp.origins.clone();
        self.trace(Dir::Forward, &seeds, &mut exp);
        exp.origins = origins;
        exp
    }
}

fn raise(s: &mut BTreeMap<String, i64>, dir: Dir, id: &str, t: i64) {
    match s.get(id) {
        Some(&b) if (dir == Dir::Back && t <= b) || (dir == Dir::Forward && t >= b) => {}
        _ => {
            s.insert(id.to_owned(), t);
        }
    }
}
