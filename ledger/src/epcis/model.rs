//! The typed EPCIS 2.0 event, shaped as GS1's JSON schema shapes it: the
//! fields every event type has, the "why/where" fields all five types share,
//! and a [`What`] that holds the fields only one type may have. A value of
//! these types has passed every check of `spec/epcis.md`; they are built
//! only by [`EpcisEvent::parse`](super::EpcisEvent::parse).
//!
//! CBV vocabulary fields hold the normalized value (the bare term, or the
//! extension URI verbatim); identifier fields hold an [`Identifier`] with
//! the URI as written and its canonical form; times are UTC milliseconds.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::identifier::Identifier;
use super::time::TimeZoneOffset;

/// Extension members (namespaced keys such as `example:myField`), kept as
/// written, ordered by key.
pub type Extensions = BTreeMap<String, Value>;

/// The five EPCIS 2.0 event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum EventKind {
    Object,
    Aggregation,
    Transaction,
    Transformation,
    Association,
}

impl EventKind {
    /// The JSON `type` value, e.g. `"ObjectEvent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Object => "ObjectEvent",
            EventKind::Aggregation => "AggregationEvent",
            EventKind::Transaction => "TransactionEvent",
            EventKind::Transformation => "TransformationEvent",
            EventKind::Association => "AssociationEvent",
        }
    }

    /// The kind whose JSON `type` value is `name`.
    pub fn from_type(name: &str) -> Option<EventKind> {
        [
            EventKind::Object,
            EventKind::Aggregation,
            EventKind::Transaction,
            EventKind::Transformation,
            EventKind::Association,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an event relates to the life of its objects or aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Action {
    /// Commissioned, aggregated or associated in this event.
    Add,
    /// Seen, without change.
    Observe,
    /// Decommissioned, disaggregated or dissociated in this event.
    Delete,
}

impl Action {
    /// The JSON value, e.g. `"ADD"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    /// The action whose JSON value is `name` (exact case).
    pub fn from_name(name: &str) -> Option<Action> {
        [Action::Add, Action::Observe, Action::Delete].into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One element of a quantity list: an amount of a class of objects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantity {
    /// A class-level identifier (lot, GTIN pattern, or another URI).
    pub epc_class: Identifier,
    /// The amount: finite, not negative, `-0` read as `0`. Absent means
    /// unspecified (not 1).
    pub quantity: Option<f64>,
    /// A UN/ECE Recommendation 20 unit code; absent means a count.
    pub uom: Option<String>,
}

/// A business transaction the event took place in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BizTransaction {
    /// The CBV business transaction type, normalized.
    pub transaction_type: Option<String>,
    /// The transaction's URI, as written.
    pub transaction: String,
}

/// One entry of a source or destination list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceDestination {
    /// The CBV source/destination type (`owning_party`, `possessing_party`,
    /// `location` or an extension URI), normalized.
    pub kind: String,
    /// The party or location.
    pub id: Identifier,
}

/// A `readPoint` or `bizLocation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    pub id: Identifier,
    /// Any other members; the schema does not restrict them.
    pub extensions: Extensions,
}

/// Dispositions that start or stop applying to the objects from this event on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersistentDisposition {
    /// Normalized dispositions, as listed.
    pub set: Vec<String>,
    /// Normalized dispositions, as listed.
    pub unset: Vec<String>,
}

/// The declaration that an earlier event with the same `eventID` was wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorDeclaration {
    pub declaration_time_ms: i64,
    /// The CBV error reason (`did_not_occur`, `incorrect_data`, or an extension URI), normalized.
    pub reason: Option<String>,
    /// The `eventID`s of the events that correct the declared one.
    pub corrective_event_ids: Vec<String>,
    pub extensions: Extensions,
}

/// One sensor element: optional metadata and at least one report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorElement {
    pub metadata: Option<SensorMetadata>,
    /// Never empty.
    pub reports: Vec<SensorReport>,
    pub extensions: Extensions,
}

/// Metadata shared by the reports of a sensor element.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorMetadata {
    pub time_ms: Option<i64>,
    pub start_time_ms: Option<i64>,
    pub end_time_ms: Option<i64>,
    pub device_id: Option<String>,
    pub device_metadata: Option<String>,
    pub raw_data: Option<String>,
    pub data_processing_method: Option<String>,
    pub biz_rules: Option<String>,
    pub extensions: Extensions,
}

/// One sensor reading or aggregate of readings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorReport {
    /// The measurement type (`Temperature`, … or an extension URI).
    pub measurement_type: String,
    /// `ALARM_CONDITION`, `ERROR_CONDITION` or an extension URI.
    pub exception: Option<String>,
    pub device_id: Option<String>,
    pub device_metadata: Option<String>,
    pub raw_data: Option<String>,
    pub data_processing_method: Option<String>,
    pub biz_rules: Option<String>,
    pub time_ms: Option<i64>,
    pub microorganism: Option<String>,
    pub chemical_substance: Option<String>,
    pub coordinate_reference_system: Option<String>,
    pub value: Option<f64>,
    /// The coordinate component (`x`, `latitude`, … or an extension URI).
    pub component: Option<String>,
    pub string_value: Option<String>,
    pub boolean_value: Option<bool>,
    pub hex_binary_value: Option<String>,
    pub uri_value: Option<String>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub mean_value: Option<f64>,
    pub s_dev: Option<f64>,
    pub perc_rank: Option<f64>,
    pub perc_value: Option<f64>,
    /// A unit code; the schema does not restrict its form here.
    pub uom: Option<String>,
    pub extensions: Extensions,
}

/// The fields only some event types have (EPCIS's "what" dimension, plus
/// `action`, `persistentDisposition` and `ilmd`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum What {
    Object {
        action: Action,
        epc_list: Vec<Identifier>,
        quantity_list: Vec<Quantity>,
        persistent_disposition: Option<PersistentDisposition>,
        /// Instance/lot master data; only with action ADD.
        ilmd: Option<Map<String, Value>>,
    },
    Aggregation {
        action: Action,
        /// Present unless the action is OBSERVE.
        parent_id: Option<Identifier>,
        child_epcs: Vec<Identifier>,
        child_quantity_list: Vec<Quantity>,
    },
    Transaction {
        action: Action,
        parent_id: Option<Identifier>,
        epc_list: Vec<Identifier>,
        quantity_list: Vec<Quantity>,
    },
    Transformation {
        transformation_id: Option<String>,
        input_epc_list: Vec<Identifier>,
        input_quantity_list: Vec<Quantity>,
        output_epc_list: Vec<Identifier>,
        output_quantity_list: Vec<Quantity>,
        persistent_disposition: Option<PersistentDisposition>,
        ilmd: Option<Map<String, Value>>,
    },
    Association {
        action: Action,
        parent_id: Identifier,
        child_epcs: Vec<Identifier>,
        child_quantity_list: Vec<Quantity>,
    },
}

impl What {
    pub fn kind(&self) -> EventKind {
        match self {
            What::Object { .. } => EventKind::Object,
            What::Aggregation { .. } => EventKind::Aggregation,
            What::Transaction { .. } => EventKind::Transaction,
            What::Transformation { .. } => EventKind::Transformation,
            What::Association { .. } => EventKind::Association,
        }
    }
}

/// One EPCIS 2.0 event that passed every check of `spec/epcis.md`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpcisEvent {
    /// The JSON-LD `@context`, as written.
    pub context: Value,
    pub event_time_ms: i64,
    pub record_time_ms: Option<i64>,
    pub event_time_zone_offset: TimeZoneOffset,
    pub event_id: Option<String>,
    /// `certificationInfo`, a single URI read as a list of one.
    pub certification_info: Option<Vec<String>>,
    pub error_declaration: Option<ErrorDeclaration>,
    pub what: What,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<Location>,
    pub biz_location: Option<Location>,
    /// Never empty on a TransactionEvent.
    pub biz_transactions: Vec<BizTransaction>,
    pub sources: Vec<SourceDestination>,
    pub destinations: Vec<SourceDestination>,
    pub sensor_elements: Vec<SensorElement>,
    /// Top-level extension members.
    pub extensions: Extensions,
}

impl EpcisEvent {
    pub fn kind(&self) -> EventKind {
        self.what.kind()
    }
}
