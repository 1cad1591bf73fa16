//! GS1 EPCIS 2.0 events in JSON: the payload of every statement.
//!
//! A statement's payload is exactly one EPCIS 2.0 event (ObjectEvent,
//! AggregationEvent, TransactionEvent, TransformationEvent or
//! AssociationEvent) in JSON. [`parse_event`] checks it against what GS1's
//! EPCIS JSON schema enforces for an event, plus the few stricter rules
//! `spec/epcis.md` lists, and returns the normalized [`Event`] that rules,
//! lineage and exports read. [`EpcisEvent::parse`] returns the typed,
//! schema-shaped [`EpcisEvent`] instead. [`split_document`] turns an
//! `EPCISDocument` or `EPCISQueryDocument` into one payload per event, for
//! the client to sign separately.
//!
//! Parsing is a pure function of the bytes: no clock, locale, network or
//! JSON-LD context resolution; numbers are read correctly rounded to
//! binary64; every input is bounded ([`MAX_EVENT_BYTES`], [`MAX_DEPTH`],
//! [`MAX_ITEMS`]). Auditors replaying the log reach the same result.
//!
//! - `json` (private): bounded reading, duplicate keys refused, JSON paths;
//! - [`time`]: RFC 3339 date-times to UTC milliseconds, time-zone offsets;
//! - [`uri`]: RFC 3986 URI syntax;
//! - [`cbv`]: the CBV vocabularies and their normalization;
//! - [`identifier`]: EPC URIs and GS1 Digital Link URIs, canonical form;
//! - [`model`]: the typed event; [`event`]: the normalized view;
//! - [`document`]: splitting documents into events.
//!
//! Out of scope: JSON-LD processing (the `@context` is kept, never fetched),
//! the CBV 2.0 event hash, anything that depends on other events (rules).
//!
//! Spec: `spec/epcis.md`.

use thiserror::Error;

pub mod cbv;
pub mod document;
pub mod event;
pub mod identifier;
mod json;
pub mod model;
mod read;
pub mod time;
pub mod uri;

pub use document::{split_document, DocumentEvent};
pub use event::{Event, ObjectRef, Role};
pub use identifier::{Identifier, IdentifierError, IdentifierKind, IdentifierSyntax};
pub use model::{
    Action, BizTransaction, EpcisEvent, ErrorDeclaration, EventKind, Extensions, Location,
    PersistentDisposition, Quantity, SensorElement, SensorMetadata, SensorReport, SourceDestination, What,
};
pub use time::TimeZoneOffset;

/// Event payloads longer than this are refused unread: an entry bundle
/// holds at most 65,535 bytes per entry, and the payload is only part of it.
pub const MAX_EVENT_BYTES: usize = 65_535;
/// Arrays and objects nested deeper than this are refused (the event object
/// is at depth 1; GS1's deepest examples reach 9).
pub const MAX_DEPTH: usize = 32;
/// Arrays and objects with more members than this are refused.
pub const MAX_ITEMS: usize = 10_000;
/// Documents longer than this are refused by [`split_document`].
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;
/// Documents with more events than this (or any array or object with more
/// members) are refused by [`split_document`].
pub const MAX_DOCUMENT_EVENTS: usize = 100_000;

/// Why an EPCIS payload or document was refused. Every variant is malformed
/// input (never a failed verification, never an I/O failure); `field` is the
/// JSON path of the offending value inside the event, e.g.
/// `sensorElementList[0].sensorReport[2].value`, or `(root)`.
#[derive(Debug, Error)]
pub enum EpcisError {
    /// The input is longer than the limit.
    #[error("input of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    /// Not one well-formed JSON text in UTF-8 (the cause says where), or a
    /// number beyond binary64, or an escape that is not a Unicode scalar.
    #[error("not well-formed JSON")]
    Syntax {
        #[source]
        source: serde_json::Error,
    },
    /// Arrays or objects nested deeper than the limit.
    #[error("{field}: nested deeper than {max} levels")]
    TooDeep { field: String, max: usize },
    /// An array or object with more members than the limit.
    #[error("{field}: more than {max} members")]
    TooManyItems { field: String, max: usize },
    /// An object with two members of the same name.
    #[error("{field}: key {key:?} appears twice")]
    DuplicateKey { field: String, key: String },
    /// A value of the wrong JSON type.
    #[error("{field}: expected {expected}")]
    WrongType { field: String, expected: &'static str },
    /// A required member is absent.
    #[error("{field}: required member is missing")]
    MissingField { field: String },
    /// A member this object may not have: not one of its fields, and not an
    /// extension (a key that is a URI) where extensions are allowed.
    #[error("{field}: not a member of this object, nor an extension URI where one is allowed")]
    UnknownField { field: String },
    /// A value of the right type that breaks a format, vocabulary or rule.
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: InvalidReason },
    /// The `type` is not one of the five EPCIS 2.0 event types (extension
    /// event types are not accepted).
    #[error("event type {found:?} is not one of the five EPCIS 2.0 event types")]
    UnsupportedEventType { found: String },
    /// The payload is a whole document.
    #[error("payload is an {document_type}: sign each of its events as a statement of its own")]
    DocumentGiven { document_type: String },
    /// The input to [`split_document`] is not a document.
    #[error("type {found:?} is not EPCISDocument or EPCISQueryDocument")]
    NotADocument { found: String },
    /// The event names none of the objects its type must name.
    #[error("{event_type} needs {requirement}")]
    MissingWhat { event_type: EventKind, requirement: &'static str },
    /// `ilmd` on an ObjectEvent whose action is not ADD.
    #[error("ilmd is allowed on an ObjectEvent only with action ADD, not {action}")]
    IlmdWithoutAdd { action: Action },
    /// An AggregationEvent that adds or deletes without naming its parent.
    #[error("an AggregationEvent with action {action} needs a parentID")]
    MissingParent { action: Action },
    /// One event of a document was refused.
    #[error("event {index} of the document is refused")]
    DocumentEvent {
        index: usize,
        #[source]
        source: Box<EpcisError>,
    },
}

/// What is wrong with a value in [`EpcisError::InvalidField`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidReason {
    #[error("not an absolute URI (RFC 3986)")]
    NotUri,
    #[error("not an RFC 3339 date-time (leap seconds are refused)")]
    NotDateTime,
    #[error("not a time-zone offset ±HH:MM between -14:00 and +14:00")]
    NotTimeZoneOffset,
    #[error("not ADD, OBSERVE or DELETE")]
    NotAction,
    #[error("not a UN/ECE Recommendation 20 unit code (2 or 3 upper-case letters or digits)")]
    NotUom,
    #[error("not hexadecimal digits")]
    NotHexBinary,
    #[error("not a version number like 2.0")]
    NotVersion,
    #[error("must not be empty")]
    Empty,
    #[error("repeats item {first}")]
    Duplicate { first: usize },
    #[error("quantity is negative")]
    NegativeQuantity,
    #[error("must set or unset at least one disposition")]
    NoSetOrUnset,
    #[error("neither a {vocabulary} term nor a URI")]
    NotVocabulary { vocabulary: &'static str },
    #[error("a URI in a namespace GS1 reserves; write the bare {vocabulary} term")]
    ReservedNamespace { vocabulary: &'static str },
    #[error("a CBV URI that names no {vocabulary} term")]
    UnknownCbvTerm { vocabulary: &'static str },
    #[error("malformed GS1 identifier: {0}")]
    Identifier(IdentifierError),
    #[error("names a class of objects (a lot or a GTIN) where one object is expected")]
    ClassWhereInstanceExpected,
    #[error("names one object or place where a class of objects is expected")]
    InstanceWhereClassExpected,
}

/// The limits of one event payload.
const EVENT_LIMITS: json::ReadLimits = json::ReadLimits {
    max_bytes: MAX_EVENT_BYTES,
    max_depth: MAX_DEPTH,
    max_items: MAX_ITEMS,
    last_duplicate_wins: false,
};

impl EpcisEvent {
    /// Reads one event payload into the typed model.
    ///
    /// # Errors
    /// The [`EpcisError`] of the first check that fails, in the order
    /// `spec/epcis.md` gives.
    pub fn parse(payload: &[u8]) -> Result<EpcisEvent, EpcisError> {
        let value = json::read(payload, &EVENT_LIMITS)?;
        read::read_event(&value)
    }
}

/// Reads one event payload into the normalized [`Event`].
///
/// # Errors
/// As [`EpcisEvent::parse`].
pub fn parse_event(payload: &[u8]) -> Result<Event, EpcisError> {
    EpcisEvent::parse(payload).map(Event::from)
}

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod tests;
