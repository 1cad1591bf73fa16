//! Lineage and recall: the index the log writes for every accepted EPCIS
//! event, and the queries that answer "where did lot X come from, and where
//! did everything made from it go?".
//!
//! Spec: `spec/lineage.md`.
//!
//! - [`index`]: the records (keys prefixed `L`), written by
//!   [`index_event`] in the same atomic batch as the entry, and their
//!   readers;
//! - [`summary`]: the [`EventSummary`] kept per event, its node encoding,
//!   and [`summarize_entry`], with which a client checks an answer's events
//!   against proven entry bytes;
//! - `trace` (private): participation through containers, containment
//!   intervals, transformation edges and the breadth-first visits;
//! - [`answer`]: [`Query`] and [`Answer`], the types the HTTP layer
//!   (`GET /lineage/{identifier}?direction=…&at=…`) and the client
//!   (`provlog trace`) exchange;
//! - [`fsma`]: the FDA FSMA 204 sortable spreadsheet (CSV) of an answer;
//! - [`dot`]: a Graphviz rendering of an answer.
//!
//! Out of scope: proofs (the HTTP layer attaches an inclusion proof per
//! entry of [`Answer::entry_indexes`]), proof of completeness (no verifiable
//! index), master data (product descriptions, location names).

pub mod answer;
pub mod dot;
pub mod fsma;
pub mod index;
mod node;
pub mod summary;
mod trace;

/// A transformation event with lot inputs and outputs, for the unit tests.
#[cfg(test)]
pub(crate) const TEST_TRANSFORMATION: &str = r#"{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    "type":"TransformationEvent","eventID":"urn:uuid:00000000-0000-4000-8000-000000000001",
    "eventTime":"2026-11-01T09:00:00-05:00","eventTimeZoneOffset":"-05:00",
    "inputQuantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.A1","quantity":500,"uom":"KGM"}],
    "outputQuantityList":[{"epcClass":"https://id.gs1.org/01/10614142000018/10/J1","quantity":452.5,"uom":"KGM"}],
    "outputEPCList":["urn:epc:id:sgtin:0614142.200001.1"],
    "transformationID":"urn:example:tx:1","bizStep":"commissioning",
    "bizLocation":{"id":"urn:epc:id:sgln:0614142.00001.0"},
    "bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614142000010:42"}],
    "sourceList":[{"type":"owning_party","source":"urn:epc:id:pgln:0614142.00001"}]}"#;

pub use answer::{
    Answer, AnswerEvent, Correction, Direction, Edge, EdgeKind, LimitKind, Limits, ParamError, Query, Reach,
    Reached, View,
};
pub use index::{index_event, Mention};
pub use node::NodeError;
pub use summary::{
    summarize_entry, Action, DeclarationSummary, EventSummary, EventType, ObjectMention, PartyMention, Role,
    RoleSet, SummaryError,
};
pub use trace::{MAX_MENTIONS, MAX_NESTING, MAX_TRANSFORMATION_PARTS};

use crate::epcis::{Identifier, IdentifierError};
use crate::storage::{StorageError, Store};
use std::sync::Arc;
use thiserror::Error;

/// Why a lineage query failed. Limits are never an error (the answer is
/// truncated instead, `spec/lineage.md` §4.4).
#[derive(Debug, Error)]
pub enum LineageError {
    /// Malformed input: the queried identifier is not a URI, or is a
    /// malformed GS1 identifier.
    #[error("identifier {identifier:?}: {source}")]
    Identifier {
        identifier: String,
        #[source]
        source: IdentifierError,
    },
    /// The store failed, or a lineage record does not decode.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A mention points at an entry with no event node: the index is
    /// inconsistent (a storage fault, never a property of the data).
    #[error("lineage index names entry {index} but holds no event node for it")]
    MissingNode { index: u64 },
}

/// Read access to the lineage index of a log's store. Cheap to clone; safe
/// to use from any thread while the log appends (each query reads entries
/// below its `tree_size` only, which never change).
#[derive(Clone)]
pub struct Lineage {
    store: Arc<dyn Store>,
}

impl Lineage {
    /// The lineage index in `store` (the log's store).
    pub fn new(store: Arc<dyn Store>) -> Lineage {
        Lineage { store }
    }

    /// Answers `query` (`spec/lineage.md` §4–§6).
    ///
    /// Preconditions: `query.tree_size` is at most the log's committed size
    /// (the HTTP layer passes the size of its latest witnessed checkpoint).
    ///
    /// # Errors
    /// [`LineageError::Identifier`] for a malformed identifier; storage
    /// failures.
    pub fn query(&self, query: &Query) -> Result<Answer, LineageError> {
        let start = canonical(&query.identifier)?;
        trace::Tracer::new(&self.store, query).run(start, query)
    }

    /// The summary of the EPCIS event at entry `index` (`None` for an entry
    /// that is not an EPCIS event, or not in the log).
    ///
    /// # Errors
    /// Storage failures.
    pub fn event(&self, index: u64) -> Result<Option<EventSummary>, LineageError> {
        Ok(index::read_node(self.store.as_ref(), index)?)
    }

    /// The events naming `identifier` (any spelling; objects, and parties
    /// and locations of source and destination lists) among entries
    /// `start_index..tree_size`, at most `limit`, in entry order: the
    /// "events of X" listing, with X's roles in each. Declarations are not
    /// listed (§1).
    ///
    /// # Errors
    /// [`LineageError::Identifier`] for a malformed identifier; storage
    /// failures; [`LineageError::MissingNode`] if the index is incomplete.
    pub fn mentions(
        &self,
        identifier: &str,
        start_index: u64,
        tree_size: u64,
        limit: usize,
    ) -> Result<Vec<Mention>, LineageError> {
        let id = canonical(identifier)?;
        let store = self.store.as_ref();
        let mut out: Vec<Mention> = index::read_party_mentions(store, &id, start_index, tree_size, limit)?;
        let state = crate::state::StoredState::new(self.store.clone());
        for i in state.mentions(&id, start_index, limit)? {
            if i >= tree_size {
                break;
            }
            let node = index::read_node(store, i)?.ok_or(LineageError::MissingNode { index: i })?;
            if let Some(m) = Mention::of_object(i, &node, &id) {
                match out.iter_mut().find(|p| p.index == i) {
                    Some(p) => p.roles = p.roles.or(m.roles),
                    None => out.push(m),
                }
            }
        }
        out.sort_by_key(|m| m.index);
        out.truncate(limit);
        Ok(out)
    }
}

/// The canonical form of a queried identifier.
///
/// # Errors
/// [`LineageError::Identifier`].
pub fn canonical(identifier: &str) -> Result<String, LineageError> {
    Identifier::parse(identifier)
        .map(|i| i.canonical)
        .map_err(|source| LineageError::Identifier { identifier: identifier.to_owned(), source })
}
