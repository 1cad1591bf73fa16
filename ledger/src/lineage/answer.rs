//! Lineage queries and their answers, as the HTTP layer and the client
//! exchange them (JSON through serde).
//!
//! Spec: `spec/lineage.md` §4 (queries), §5 (views), §6 (the answer).

use super::summary::{EventSummary, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which way to trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// What could have contributed to the identifier as of `at` (§4.1).
    Back,
    /// Everything the identifier could have reached from `at` on (§4.2).
    Forward,
    /// Back to the origins, then forward from each (§4.3).
    Recall,
}

/// Whether corrections apply (§5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Declared events left out (the default).
    #[default]
    Effective,
    /// Every event as recorded; declared ones marked.
    AsRecorded,
}

/// Error of parsing a [`Direction`] or [`View`] query parameter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of {expected}")]
pub struct ParamError {
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for Direction {
    type Err = ParamError;
    /// `back`, `forward` or `recall`.
    fn from_str(s: &str) -> Result<Self, ParamError> {
        match s {
            "back" => Ok(Direction::Back),
            "forward" => Ok(Direction::Forward),
            "recall" => Ok(Direction::Recall),
            _ => Err(ParamError { value: s.to_owned(), expected: "back, forward, recall" }),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Back => "back",
            Direction::Forward => "forward",
            Direction::Recall => "recall",
        })
    }
}

impl FromStr for View {
    type Err = ParamError;
    /// `effective` or `as-recorded`.
    fn from_str(s: &str) -> Result<Self, ParamError> {
        match s {
            "effective" => Ok(View::Effective),
            "as-recorded" => Ok(View::AsRecorded),
            _ => Err(ParamError { value: s.to_owned(), expected: "effective, as-recorded" }),
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            View::Effective => "effective",
            View::AsRecorded => "as-recorded",
        })
    }
}

/// Bounds on the work and size of one answer (§4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Deepest visit made (default 32).
    pub max_depth: u32,
    /// Most events in an answer (default 10,000).
    pub max_events: usize,
    /// Most visits of identifiers (default 10,000).
    pub max_identifiers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_depth: 32, max_events: 10_000, max_identifiers: 10_000 }
    }
}

/// The limit that truncated an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Depth,
    Events,
    Identifiers,
    /// An identifier had more mention records than are read for one query.
    Mentions,
}

/// One lineage query (`spec/lineage.md` §4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// An EPC URI, a GS1 Digital Link URI or any other URI; answered in
    /// canonical form.
    pub identifier: String,
    pub direction: Direction,
    /// UTC milliseconds; default: the end of time for `back` and `recall`,
    /// the beginning of time for `forward`.
    pub at_ms: Option<i64>,
    #[serde(default)]
    pub view: View,
    /// Answer as of this tree size (the size of the checkpoint the proofs
    /// are made against): entries at or beyond it do not exist for the query.
    pub tree_size: u64,
    #[serde(default)]
    pub limits: Limits,
}

impl Query {
    /// A query with the default view and limits.
    pub fn new(identifier: &str, direction: Direction, at_ms: Option<i64>, tree_size: u64) -> Query {
        Query {
            identifier: identifier.to_owned(),
            direction,
            at_ms,
            view: View::Effective,
            tree_size,
            limits: Limits::default(),
        }
    }
}

/// A traced identifier's participation in an event of the answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reach {
    /// The traced identifier (or the `transformationID` that joined this
    /// event to a transformation, with no roles).
    pub identifier: String,
    /// Its roles in the event (the container's, when through one).
    pub roles: Vec<Role>,
    /// The container it participates through; `None` when named directly.
    pub container: Option<String>,
}

/// One event of an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerEvent {
    /// The entry index.
    pub index: u64,
    /// The least depth of a visit that reached it (§4.4).
    pub depth: u32,
    /// As-recorded view only: the entry that declared this event erroneous.
    pub declared_by: Option<u64>,
    pub summary: EventSummary,
    pub reached_by: Vec<Reach>,
}

/// What an edge of the answer stands for (§6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Consecutive events of one identifier, named directly in both.
    Object,
    /// Consecutive events of one identifier, at least one through a container.
    Container,
    /// A shipment followed by a receipt of one identifier.
    Custody,
    /// Two parts of one transformation (same `transformationID`).
    Transformation,
}

/// An edge between two events of an answer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edge {
    pub from: u64,
    pub to: u64,
    pub kind: EdgeKind,
    /// The identifier that links them (the `transformationID` for
    /// [`EdgeKind::Transformation`]).
    pub identifier: String,
    /// The container it travelled in, if any.
    pub container: Option<String>,
}

/// A visited identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub id: String,
    pub depth: u32,
    /// Found by `back` with no producing transformation and no contents.
    pub origin: bool,
}

/// A declared event the trace touched (§5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// The entry of the declared event.
    pub declared: u64,
    /// The entry of its (first) declaration.
    pub declaration: u64,
    pub declaration_time_ms: i64,
    pub reason: Option<String>,
    pub corrective_event_ids: Vec<String>,
    /// The entries (`< tree_size`) of those corrective events found in the log.
    pub correctives: Vec<u64>,
}

/// The answer to a [`Query`] (`spec/lineage.md` §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The canonical form of the queried identifier.
    pub identifier: String,
    pub direction: Direction,
    pub at_ms: Option<i64>,
    pub view: View,
    pub tree_size: u64,
    /// Sorted by (event time, entry index).
    pub events: Vec<AnswerEvent>,
    /// Sorted, distinct; both ends are events of the answer.
    pub edges: Vec<Edge>,
    /// Sorted by identifier.
    pub identifiers: Vec<Reached>,
    /// Sorted; empty for `forward`.
    pub origins: Vec<String>,
    /// Sorted by declared entry.
    pub corrections: Vec<Correction>,
    pub truncated: bool,
    pub truncated_by: Option<LimitKind>,
}

impl Answer {
    /// Every entry the answer refers to (its events, declared events,
    /// declarations, corrective events), sorted and distinct: the entries
    /// whose inclusion proofs make the answer verifiable (§6, "Proofs").
    pub fn entry_indexes(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.events.iter().map(|e| e.index).collect();
        for c in &self.corrections {
            v.push(c.declared);
            v.push(c.declaration);
            v.extend_from_slice(&c.correctives);
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The event at entry `index`, if it is in the answer.
    pub fn event(&self, index: u64) -> Option<&AnswerEvent> {
        self.events.iter().find(|e| e.index == index)
    }
}
