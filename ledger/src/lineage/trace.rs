//! The trace: participation through containers, containment intervals,
//! transformation edges, and the breadth-first visits of `back`, `forward`
//! and `recall`, read from the lineage index records.
//!
//! Spec: `spec/lineage.md` §3 (facts), §4 (queries), §5 (corrections).
//!
//! Everything a query reads is cached for the query's duration (nodes,
//! mention lists, containment intervals, declarations), so each record is
//! read at most once per answer.

use super::answer::*;
use super::index::{self, Mention};
use super::summary::{EventSummary, EventType, RoleSet};
use super::LineageError;
use crate::state::{StateView, StoredState};
use crate::storage::Store;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// Mention records read per identifier per query (§4.4).
pub const MAX_MENTIONS: usize = 100_000;
/// Containers nest at most this deep (§3.1).
pub const MAX_NESTING: usize = 8;
/// Parts of one transformation read per query (more: truncated, §4.4).
pub const MAX_TRANSFORMATION_PARTS: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Back,
    Forward,
}

/// Closed time intervals [a, d] of containment, UTC ms.
type Intervals = Vec<(i64, i64)>;
/// Containment intervals of one parent: child → intervals.
type Contents = BTreeMap<String, Intervals>;

/// An event in which a visited identifier participates (§3.1).
#[derive(Clone)]
struct Part {
    index: u64,
    time: i64,
    roles: RoleSet,
    via: Option<Rc<str>>,
}

/// One event of the answer being built.
struct Acc {
    depth: u32,
    /// (identifier, container) → roles.
    reached: BTreeMap<(String, Option<String>), RoleSet>,
}

pub(super) struct Tracer<'s> {
    store: &'s dyn Store,
    state: StoredState,
    tree_size: u64,
    view: View,
    limits: Limits,
    nodes: HashMap<u64, Rc<EventSummary>>,
    mentions: HashMap<String, Rc<[Mention]>>,
    declared: HashMap<u64, Option<u64>>,
    contents: HashMap<String, Rc<Contents>>,
    events: BTreeMap<u64, Acc>,
    edges: BTreeSet<Edge>,
    /// Declared event → its declaration, for every one the trace touched.
    touched: BTreeMap<u64, u64>,
    /// Visited identifier → (least depth, origin).
    visited: BTreeMap<String, (u32, bool)>,
    visits: usize,
    truncated_by: Option<LimitKind>,
}

impl<'s> Tracer<'s> {
    pub(super) fn new(store: &'s Arc<dyn Store>, q: &Query) -> Tracer<'s> {
        Tracer {
            store: store.as_ref(),
            state: StoredState::new(store.clone()),
            tree_size: q.tree_size,
            view: q.view,
            limits: q.limits,
            nodes: HashMap::new(),
            mentions: HashMap::new(),
            declared: HashMap::new(),
            contents: HashMap::new(),
            events: BTreeMap::new(),
            edges: BTreeSet::new(),
            touched: BTreeMap::new(),
            visited: BTreeMap::new(),
            visits: 0,
            truncated_by: None,
        }
    }

    /// Runs the query for the canonical identifier `start`.
    pub(super) fn run(mut self, start: String, q: &Query) -> Result<Answer, LineageError> {
        let mut origins = Vec::new();
        match q.direction {
            Direction::Back => {
                self.trace(Dir::Back, vec![(start.clone(), q.at_ms.unwrap_or(i64::MAX))])?;
                origins = self.origins();
            }
            Direction::Forward => {
                self.trace(Dir::Forward, vec![(start.clone(), q.at_ms.unwrap_or(i64::MIN))])?;
            }
            Direction::Recall => {
                self.trace(Dir::Back, vec![(start.clone(), q.at_ms.unwrap_or(i64::MAX))])?;
                origins = self.origins();
                if !matches!(self.truncated_by, Some(LimitKind::Events | LimitKind::Identifiers)) {
                    let seeds = origins.iter().map(|o| (o.clone(), i64::MIN)).collect();
                    self.trace(Dir::Forward, seeds)?;
                }
            }
        }
        self.finish(start, q, origins)
    }

    fn origins(&self) -> Vec<String> {
        self.visited.iter().filter(|(_, (_, origin))| *origin).map(|(id, _)| id.clone()).collect()
    }

    fn stopped(&self) -> bool {
        matches!(self.truncated_by, Some(LimitKind::Events | LimitKind::Identifiers))
    }

    fn truncate(&mut self, why: LimitKind) {
        self.truncated_by.get_or_insert(why);
    }

    /// Breadth-first visits from `seeds` (identifier, bound) at depth 0.
    fn trace(&mut self, dir: Dir, seeds: Vec<(String, i64)>) -> Result<(), LineageError> {
        let mut best: HashMap<String, i64> = HashMap::new();
        let mut queue: VecDeque<(String, i64, u32)> = seeds.into_iter().map(|(id, t)| (id, t, 0)).collect();
        let covered = |best: &HashMap<String, i64>, id: &str, t: i64| {
            best.get(id).is_some_and(|&b| if dir == Dir::Back { t <= b } else { t >= b })
        };
        while let Some((id, bound, depth)) = queue.pop_front() {
            if covered(&best, &id, bound) {
                continue;
            }
            if self.visits >= self.limits.max_identifiers {
                self.truncate(LimitKind::Identifiers);
                return Ok(());
            }
            self.visits += 1;
            best.insert(id.clone(), bound);
            let next = self.visit(dir, &id, bound, depth)?;
            if self.stopped() {
                return Ok(());
            }
            for (nid, nbound) in next {
                if covered(&best, &nid, nbound) {
                    continue;
                }
                if depth + 1 > self.limits.max_depth {
                    self.truncate(LimitKind::Depth);
                } else {
                    queue.push_back((nid, nbound, depth + 1));
                }
            }
        }
        Ok(())
    }

    /// One visit (§4.1, §4.2): adds the events of `id` in its window to the
    /// answer and returns the visits it causes.
    fn visit(
        &mut self,
        dir: Dir,
        id: &str,
        bound: i64,
        depth: u32,
    ) -> Result<Vec<(String, i64)>, LineageError> {
        let (lo, hi) = if dir == Dir::Back { (i64::MIN, bound) } else { (bound, i64::MAX) };
        let mut parts = Vec::new();
        let mut path = vec![id.to_owned()];
        self.participation(id, lo, hi, None, &mut path, &mut parts)?;
        // One part per event, with every role `id` plays there (directly or
        // through any container), marked direct if the event names `id`.
        parts.sort_by_key(|p| (p.time, p.index, p.via.is_some()));
        parts.dedup_by(|later, first| {
            let same = later.index == first.index;
            if same {
                first.roles = first.roles.or(later.roles);
            }
            same
        });
        let mut kept = Vec::with_capacity(parts.len());
        for p in parts {
            if self.in_view(p.index)? {
                kept.push(p);
            }
        }
        for p in &kept {
            if !self.add_event(p.index, depth, id, p.roles, p.via.as_deref()) {
                return Ok(Vec::new());
            }
        }
        for w in kept.windows(2) {
            let (a, b) = (self.node(w[0].index)?, self.node(w[1].index)?);
            let container = w[1].via.as_ref().or(w[0].via.as_ref()).map(|c| c.to_string());
            let kind =
                if a.biz_step.as_deref() == Some("shipping") && b.biz_step.as_deref() == Some("receiving") {
                    EdgeKind::Custody
                } else if container.is_some() {
                    EdgeKind::Container
                } else {
                    EdgeKind::Object
                };
            self.edges.insert(Edge {
                from: w[0].index,
                to: w[1].index,
                kind,
                identifier: id.to_owned(),
                container,
            });
        }

        let mut next = Vec::new();
        let mut has_sources = false;
        let (follow, linked) = if dir == Dir::Back {
            (RoleSet::OUTPUT, RoleSet::INPUT)
        } else {
            (RoleSet::INPUT, RoleSet::OUTPUT)
        };
        for p in &kept {
            let node = self.node(p.index)?;
            if node.event_type != EventType::TransformationEvent || !p.roles.intersects(follow) {
                continue;
            }
            has_sources = true;
            next.extend(node.objects_in(linked).map(|o| (o.to_owned(), node.event_time_ms)));
            let Some(tx) = node.transformation_id.clone() else { continue };
            let mut parts =
                index::read_transformation(self.store, &tx, self.tree_size, MAX_TRANSFORMATION_PARTS + 1)?;
            if parts.len() > MAX_TRANSFORMATION_PARTS {
                parts.truncate(MAX_TRANSFORMATION_PARTS);
                self.truncate(LimitKind::Mentions);
            }
            for (j, tj) in parts {
                let joins =
                    if dir == Dir::Back { tj <= node.event_time_ms } else { tj >= node.event_time_ms };
                if j == p.index || !joins || !self.in_view(j)? {
                    continue;
                }
                if !self.add_event(j, depth, &tx, RoleSet::default(), None) {
                    return Ok(Vec::new());
                }
                let (from, to) = if dir == Dir::Back { (j, p.index) } else { (p.index, j) };
                self.edges.insert(Edge {
                    from,
                    to,
                    kind: EdgeKind::Transformation,
                    identifier: tx.clone(),
                    container: None,
                });
                let other = self.node(j)?;
                next.extend(other.objects_in(linked).map(|o| (o.to_owned(), tj)));
            }
        }
        let contents = self.contents_of(id)?;
        for (child, intervals) in contents.iter() {
            let reach = if dir == Dir::Back {
                intervals.iter().filter(|(a, _)| *a <= bound).map(|&(_, d)| d.min(bound)).max()
            } else {
                intervals.iter().filter(|(_, d)| *d >= bound).map(|&(a, _)| a.max(bound)).min()
            };
            if let Some(u) = reach {
                has_sources = true;
                next.push((child.clone(), u));
            }
        }
        let entry = self.visited.entry(id.to_owned()).or_insert((depth, false));
        entry.0 = entry.0.min(depth);
        if dir == Dir::Back {
            // A later visit has a larger window: its verdict is the final one.
            entry.1 = !has_sources;
        }
        Ok(next)
    }

    /// Appends the events in which `id` participates at a time in [lo, hi]:
    /// directly (`via` = None), or, when `via` is `id` itself, as the
    /// container of the traced identifier; then through `id`'s own
    /// containers (§3.1).
    fn participation(
        &mut self,
        id: &str,
        lo: i64,
        hi: i64,
        via: Option<&Rc<str>>,
        path: &mut Vec<String>,
        out: &mut Vec<Part>,
    ) -> Result<(), LineageError> {
        let mentions = self.mentions_of(id)?;
        for m in mentions.iter() {
            if m.event_time_ms < lo || m.event_time_ms > hi || !m.roles.intersects(RoleSet::OBJECT) {
                continue;
            }
            let contents_event = m.event_type.is_containment() && m.roles.intersects(RoleSet::PARENT);
            let roles = match via {
                None => m.roles.and(RoleSet::OBJECT),
                // A container's contents events concern the traced
                // identifier only if they remove everything.
                Some(_) if contents_event && !m.is_empty_delete() => continue,
                Some(_) if contents_event => RoleSet::default().with(super::Role::Child),
                Some(_) => m.roles.and(RoleSet::OBJECT),
            };
            out.push(Part { index: m.index, time: m.event_time_ms, roles, via: via.cloned() });
        }
        if path.len() > MAX_NESTING {
            return Ok(());
        }
        for (parent, intervals) in self.containers_of(id)? {
            if path.contains(&parent) {
                continue;
            }
            let container: Rc<str> = Rc::from(parent.as_str());
            for (a, d) in intervals {
                let (wl, wh) = (a.max(lo), d.min(hi));
                if wl > wh {
                    continue;
                }
                path.push(parent.clone());
                self.participation(&parent, wl, wh, Some(&container), path, out)?;
                path.pop();
            }
        }
        Ok(())
    }

    /// The parents `id` was contained in, with the intervals (§3.2).
    fn containers_of(&mut self, id: &str) -> Result<Vec<(String, Intervals)>, LineageError> {
        let mentions = self.mentions_of(id)?;
        let mut parents = BTreeSet::new();
        for m in mentions.iter() {
            if m.event_type.is_containment() && m.roles.intersects(RoleSet::CHILD) && m.action.is_some() {
                let node = self.node(m.index)?;
                parents.extend(node.objects_in(RoleSet::PARENT).map(str::to_owned));
            }
        }
        let mut out = Vec::new();
        for p in parents {
            if let Some(iv) = self.contents_of(&p)?.get(id) {
                out.push((p, iv.clone()));
            }
        }
        Ok(out)
    }

    /// The containment intervals of every child of `parent` (§3.2), from
    /// the events in view that name it as parent.
    fn contents_of(&mut self, parent: &str) -> Result<Rc<Contents>, LineageError> {
        if let Some(c) = self.contents.get(parent) {
            return Ok(c.clone());
        }
        let mentions = self.mentions_of(parent)?;
        let mut evs: Vec<&Mention> = mentions
            .iter()
            .filter(|m| {
                m.event_type.is_containment()
                    && m.roles.intersects(RoleSet::PARENT)
                    && matches!(m.action, Some(super::Action::Add | super::Action::Delete))
            })
            .collect();
        evs.sort_by_key(|m| (m.event_time_ms, m.index));
        let mut open: BTreeMap<String, i64> = BTreeMap::new();
        let mut contents = Contents::new();
        for m in evs {
            if self.declared_by(m.index)?.is_some() && self.view == View::Effective {
                continue;
            }
            let t = m.event_time_ms;
            if m.is_empty_delete() {
                for (c, a) in std::mem::take(&mut open) {
                    contents.entry(c).or_default().push((a, t));
                }
                continue;
            }
            let node = self.node(m.index)?;
            for c in node.objects_in(RoleSet::CHILD) {
                if m.action == Some(super::Action::Add) {
                    open.entry(c.to_owned()).or_insert(t);
                } else if let Some(a) = open.remove(c) {
                    contents.entry(c.to_owned()).or_default().push((a, t));
                }
            }
        }
        for (c, a) in open {
            contents.entry(c).or_default().push((a, i64::MAX));
        }
        let rc = Rc::new(contents);
        self.contents.insert(parent.to_owned(), rc.clone());
        Ok(rc)
    }

    /// Whether the event at `index` is in the view; records a touched
    /// declared event either way (§5).
    fn in_view(&mut self, index: u64) -> Result<bool, LineageError> {
        match self.declared_by(index)? {
            None => Ok(true),
            Some(declaration) => {
                self.touched.insert(index, declaration);
                Ok(self.view == View::AsRecorded)
            }
        }
    }

    fn declared_by(&mut self, index: u64) -> Result<Option<u64>, LineageError> {
        if let Some(d) = self.declared.get(&index) {
            return Ok(*d);
        }
        let d = index::read_declaration(self.store, index)?.filter(|&d| d < self.tree_size);
        self.declared.insert(index, d);
        Ok(d)
    }

    /// The events that name the object `id` (entries below the answer size),
    /// from the state's mention index and the nodes (§2).
    fn mentions_of(&mut self, id: &str) -> Result<Rc<[Mention]>, LineageError> {
        if let Some(m) = self.mentions.get(id) {
            return Ok(m.clone());
        }
        let mut indexes = self.state.mentions(id, 0, MAX_MENTIONS + 1)?;
        indexes.retain(|&i| i < self.tree_size);
        if indexes.len() > MAX_MENTIONS {
            indexes.truncate(MAX_MENTIONS);
            self.truncate(LimitKind::Mentions);
        }
        let mut list = Vec::with_capacity(indexes.len());
        for i in indexes {
            let node = self.node(i)?;
            list.extend(Mention::of_object(i, &node, id));
        }
        let rc: Rc<[Mention]> = list.into();
        self.mentions.insert(id.to_owned(), rc.clone());
        Ok(rc)
    }

    fn node(&mut self, index: u64) -> Result<Rc<EventSummary>, LineageError> {
        if let Some(n) = self.nodes.get(&index) {
            return Ok(n.clone());
        }
        let node = index::read_node(self.store, index)?.ok_or(LineageError::MissingNode { index })?;
        let rc = Rc::new(node);
        self.nodes.insert(index, rc.clone());
        Ok(rc)
    }

    /// Adds an event reached by `id`; false (and truncated) if the answer
    /// is full.
    fn add_event(&mut self, index: u64, depth: u32, id: &str, roles: RoleSet, via: Option<&str>) -> bool {
        if !self.events.contains_key(&index) && self.events.len() >= self.limits.max_events {
            self.truncate(LimitKind::Events);
            return false;
        }
        let acc = self.events.entry(index).or_insert(Acc { depth, reached: BTreeMap::new() });
        acc.depth = acc.depth.min(depth);
        let r = acc.reached.entry((id.to_owned(), via.map(str::to_owned))).or_default();
        *r = r.or(roles);
        true
    }

    fn finish(mut self, start: String, q: &Query, origins: Vec<String>) -> Result<Answer, LineageError> {
        let mut events = Vec::with_capacity(self.events.len());
        let accs = std::mem::take(&mut self.events);
        for (index, acc) in &accs {
            let summary = (*self.node(*index)?).clone();
            let declared_by = match self.view {
                View::AsRecorded => self.declared_by(*index)?,
                View::Effective => None,
            };
            let reached_by = acc
                .reached
                .iter()
                .map(|((identifier, container), roles)| Reach {
                    identifier: identifier.clone(),
                    roles: roles.roles(),
                    container: container.clone(),
                })
                .collect();
            events.push(AnswerEvent { index: *index, depth: acc.depth, declared_by, summary, reached_by });
        }
        events.sort_by_key(|e| (e.summary.event_time_ms, e.index));
        let edges = std::mem::take(&mut self.edges)
            .into_iter()
            .filter(|e| accs.contains_key(&e.from) && accs.contains_key(&e.to))
            .collect();
        let mut corrections = Vec::new();
        for (&declared, &declaration) in &self.touched.clone() {
            let d = self.node(declaration)?;
            let decl = d.declaration.clone().unwrap_or_else(|| super::DeclarationSummary {
                declaration_time_ms: d.event_time_ms,
                reason: None,
                corrective_event_ids: Vec::new(),
            });
            let mut correctives = Vec::new();
            for id in &decl.corrective_event_ids {
                if let Some(rec) = self.state.event(id)? {
                    if rec.index < self.tree_size {
                        correctives.push(rec.index);
                    }
                }
            }
            correctives.sort_unstable();
            correctives.dedup();
            corrections.push(Correction {
                declared,
                declaration,
                declaration_time_ms: decl.declaration_time_ms,
                reason: decl.reason,
                corrective_event_ids: decl.corrective_event_ids,
                correctives,
            });
        }
        let identifiers = self
            .visited
            .iter()
            .map(|(id, &(depth, origin))| Reached { id: id.clone(), depth, origin })
            .collect();
        Ok(Answer {
            identifier: start,
            direction: q.direction,
            at_ms: q.at_ms,
            view: q.view,
            tree_size: q.tree_size,
            events,
            edges,
            identifiers,
            origins,
            corrections,
            truncated: self.truncated_by.is_some(),
            truncated_by: self.truncated_by,
        })
    }
}
