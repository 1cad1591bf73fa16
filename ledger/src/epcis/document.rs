//! Splitting an `EPCISDocument` or `EPCISQueryDocument` into the events a
//! client signs one by one: the log accepts one event per statement.
//!
//! The document's envelope is checked as GS1's schema checks it (required
//! members, formats, allowed keys, header master data); each event must then
//! pass [`EpcisEvent::parse`] exactly as the log will run it on the payload.
//! Unlike an event payload, a document may repeat a key: the last value
//! wins, as in JavaScript's `JSON.parse`. The client is turning its own
//! document into payloads it will sign, and the payloads it gets have no
//! repeated keys.
//!
//! Spec: `spec/epcis.md`, "Documents".

use serde_json::Value;

use super::event::Event;
use super::json::{self, Json, Path, ReadLimits};
use super::read::{
    as_object, as_str, invalid, read_context, read_list, read_string, read_time, read_uri, Extra, Fields,
};
use super::{EpcisError, EpcisEvent, InvalidReason, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_EVENTS};

/// One event taken out of a document: the payload to sign, and what the log
/// will read from it.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentEvent {
    /// The event as compact JSON, with the document's `@context` when the
    /// event had none of its own. At most [`MAX_EVENT_BYTES`](super::MAX_EVENT_BYTES).
    pub payload: Vec<u8>,
    pub event: Event,
}

/// Splits a document into its events, in document order.
///
/// # Errors
/// What [`super::parse_event`] returns for bytes, JSON and limits (with the
/// document limits [`MAX_DOCUMENT_BYTES`] and [`MAX_DOCUMENT_EVENTS`]);
/// [`EpcisError::NotADocument`] when `type` is not a document type; the
/// field errors for a malformed envelope; [`EpcisError::DocumentEvent`]
/// with the index and the cause when one event is refused.
pub fn split_document(bytes: &[u8]) -> Result<Vec<DocumentEvent>, EpcisError> {
    let limits = ReadLimits {
        max_bytes: MAX_DOCUMENT_BYTES,
        // Events sit four levels down in a query document.
        max_depth: MAX_DEPTH + 4,
        max_items: MAX_DOCUMENT_EVENTS,
        last_duplicate_wins: true,
    };
    let document = json::read(bytes, &limits)?;
    let root = Path::Root;
    let map = as_object(&document, &root)?;
    let type_path = root.key("type");
    let type_name = match map.get("type") {
        Some(v) => as_str(v, &type_path)?,
        None => return Err(EpcisError::MissingField { field: type_path.render() }),
    };
    let events = match type_name {
        "EPCISDocument" => read_document(&document, &root)?,
        "EPCISQueryDocument" => read_query_document(&document, &root)?,
        other => return Err(EpcisError::NotADocument { found: other.to_owned() }),
    };
    let context = map.get("@context").expect("both document readers require @context");
    let mut out = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let one = |source: EpcisError| EpcisError::DocumentEvent { index, source: Box::new(source) };
        let mut event = event.to_value();
        if let Value::Object(members) = &mut event {
            if !members.contains_key("@context") {
                members.insert("@context".to_owned(), context.to_value());
            }
        }
        let payload = serde_json::to_vec(&event).expect("a JSON value always serializes");
        let parsed = EpcisEvent::parse(&payload).map_err(one)?;
        out.push(DocumentEvent { payload, event: parsed.into() });
    }
    Ok(out)
}

/// Checks an `EPCISDocument` envelope and returns its event list.
fn read_document<'v>(document: &'v Json<'v>, root: &Path<'_>) -> Result<&'v Vec<Json<'v>>, EpcisError> {
    let allowed: &[&str] = &[
        "@context",
        "id",
        "type",
        "schemaVersion",
        "creationDate",
        "instanceIdentifier",
        "sender",
        "receiver",
        "epcisHeader",
        "epcisBody",
    ];
    let (f, _) = Fields::new(document, root, &[allowed], Extra::Uris)?;
    f.req("@context", read_context)?;
    f.opt("id", read_uri)?;
    f.req("schemaVersion", read_version)?;
    f.req("creationDate", read_time)?;
    f.opt("instanceIdentifier", read_string)?;
    f.opt("sender", read_string)?;
    f.opt("receiver", read_string)?;
    f.opt("epcisHeader", read_header)?;
    f.req("epcisBody", |body, p| {
        let (body, _) = Fields::new(body, p, &[&["eventList"]], Extra::Anything)?;
        body.req("eventList", read_event_list)
    })
}

/// Checks an `EPCISQueryDocument` envelope and returns its event list.
fn read_query_document<'v>(document: &'v Json<'v>, root: &Path<'_>) -> Result<&'v Vec<Json<'v>>, EpcisError> {
    let allowed: &[&str] = &["@context", "id", "type", "schemaVersion", "creationDate", "epcisBody"];
    let (f, _) = Fields::new(document, root, &[allowed], Extra::Uris)?;
    f.req("@context", read_context)?;
    f.opt("id", read_uri)?;
    f.opt("schemaVersion", read_version)?;
    f.opt("creationDate", read_time)?;
    f.req("epcisBody", |body, p| {
        let (body, _) = Fields::new(body, p, &[&["queryResults"]], Extra::Uris)?;
        body.req("queryResults", |results, p| {
            let (results, _) =
                Fields::new(results, p, &[&["queryName", "subscriptionID", "resultsBody"]], Extra::Uris)?;
            results.req("queryName", read_string)?;
            results.opt("subscriptionID", read_string)?;
            results.req("resultsBody", |body, p| {
                let (body, _) = Fields::new(body, p, &[&["eventList", "vocabularyList"]], Extra::Uris)?;
                body.opt("vocabularyList", |v, p| read_list(v, p, read_vocabulary))?;
                body.req("eventList", read_event_list)
            })
        })
    })
}

fn read_event_list<'v>(v: &'v Json<'v>, path: &Path<'_>) -> Result<&'v Vec<Json<'v>>, EpcisError> {
    v.as_array().ok_or_else(|| super::read::wrong_type(path, "an array"))
}

/// The schema's `version`: `^\d+(\.\d+)*$`.
fn read_version(v: &Json<'_>, path: &Path<'_>) -> Result<String, EpcisError> {
    let s = as_str(v, path)?;
    if !s.split('.').all(|part| !part.is_empty() && part.bytes().all(|c| c.is_ascii_digit())) {
        return Err(invalid(path, InvalidReason::NotVersion));
    }
    Ok(s.to_owned())
}

/// `epcisHeader`: `epcisMasterData` (with a `vocabularyList`) and extensions.
fn read_header(v: &Json<'_>, path: &Path<'_>) -> Result<(), EpcisError> {
    let (f, _) = Fields::new(v, path, &[&["epcisMasterData"]], Extra::Uris)?;
    f.opt("epcisMasterData", |v, p| {
        let (master, _) = Fields::new(v, p, &[&["vocabularyList"]], Extra::Anything)?;
        master.opt("vocabularyList", |v, p| read_list(v, p, read_vocabulary))
    })?;
    Ok(())
}

/// A master-data vocabulary: `type`, and elements with `id`, `attributes`, `children`.
fn read_vocabulary(v: &Json<'_>, path: &Path<'_>) -> Result<(), EpcisError> {
    let (f, _) = Fields::new(v, path, &[&["type", "vocabularyElementList"]], Extra::Anything)?;
    f.req("type", read_uri)?;
    f.opt("vocabularyElementList", |v, p| {
        read_list(v, p, |v, p| {
            let (element, _) = Fields::new(v, p, &[&["id", "attributes", "children"]], Extra::Anything)?;
            element.req("id", read_uri)?;
            element.opt("children", |v, p| read_list(v, p, read_uri))?;
            element.opt("attributes", |v, p| {
                read_list(v, p, |v, p| {
                    let (attribute, _) = Fields::new(v, p, &[&["id", "attribute"]], Extra::Anything)?;
                    attribute.req("id", read_uri)?;
                    attribute.opt("attribute", |v, p| match v {
                        Json::Number(_) | Json::String(_) | Json::Object(_) => Ok(()),
                        _ => Err(super::read::wrong_type(p, "a number, a string or an object")),
                    })
                })
            })
        })
    })?;
    Ok(())
}
