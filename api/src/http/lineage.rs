//! `GET /lineage/{identifier}`: trace back, trace forward and recall scope
//! (`spec/lineage.md` §4–§6), answered for the latest published (witnessed)
//! checkpoint and carrying, per entry the answer refers to, the entry and
//! its inclusion proof, so that a client verifies the whole answer offline.
//!
//! Spec: `spec/http-api.md` ("Lineage") and `spec/lineage.md` §6.
//!
//! ```text
//! GET /lineage/urn:epc:class:lgtin:0614141.107346.A1?direction=recall&at=2026-11-01T00:00:00Z
//! -> 200 {"answer": {…}, "checkpoint": "<signed note>", "entries": [{"index", "entry", "proof"}]}
//! ```

use super::read::ReadView;
use super::PathText;
use crate::problem::Problem;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use provlog_ledger::epcis::time::parse_date_time;
use provlog_ledger::lineage::{self, Answer, Direction, Limits, Lineage, LineageError, View};
use provlog_ledger::tiled_tree::TreeReader;
use provlog_ledger::tree::Hash;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

/// Longest identifier accepted, in bytes (after percent-decoding).
pub const MAX_IDENTIFIER_BYTES: usize = 1024;
/// `max_events` when the request gives none.
pub const DEFAULT_MAX_EVENTS: usize = 1_000;
/// Largest `max_events` a request may ask for: every event comes with its
/// entry and a proof, so this bounds the response (tens of MB at most).
pub const MAX_EVENTS_CAP: usize = 10_000;
/// Largest `max_depth` a request may ask for (the default is the ledger's, 32).
pub const MAX_DEPTH_CAP: u32 = 64;
/// Lineage queries computed at once; more get 503 with `Retry-After`, so
/// that traces cannot take every blocking thread from tile and proof reads.
const CONCURRENT_QUERIES: usize = 4;

static RUNNING: Semaphore = Semaphore::const_new(CONCURRENT_QUERIES);

#[derive(Deserialize)]
pub struct LineageQuery {
    direction: Option<String>,
    at: Option<String>,
    view: Option<String>,
    max_events: Option<usize>,
    max_depth: Option<u32>,
}

/// One entry of an answer, with its inclusion proof at the checkpoint's size.
#[derive(Serialize)]
struct ProvenEntry {
    index: u64,
    /// The entry record (`spec/statement.md`), standard base64.
    entry: String,
    /// RFC 6962 inclusion proof at the checkpoint's size, leaf sibling
    /// first, each hash standard base64.
    proof: Vec<Hash>,
}

#[derive(Serialize)]
struct ProvenAnswer {
    answer: Answer,
    /// The published checkpoint (signed note with its cosignatures) whose
    /// size is `answer.tree_size`.
    checkpoint: String,
    /// One per `Answer::entry_indexes()`, in that order.
    entries: Vec<ProvenEntry>,
}

/// The request's parameters as a ledger query for a tree of `tree_size`.
///
/// # Errors
/// A 400 problem naming the parameter.
fn parse_query(identifier: &str, q: &LineageQuery, tree_size: u64) -> Result<lineage::Query, Problem> {
    if identifier.len() > MAX_IDENTIFIER_BYTES {
        return Err(Problem::malformed(
            "request.identifier",
            format!("the identifier has {} bytes; at most {MAX_IDENTIFIER_BYTES}", identifier.len()),
        ));
    }
    let direction: Direction = q
        .direction
        .as_deref()
        .ok_or_else(|| Problem::malformed("request.direction", "give direction=back|forward|recall"))?
        .parse()
        .map_err(|e: lineage::ParamError| Problem::malformed("request.direction", e.to_string()))?;
    let view: View = match &q.view {
        None => View::Effective,
        Some(v) => {
            v.parse().map_err(|e: lineage::ParamError| Problem::malformed("request.view", e.to_string()))?
        }
    };
    let at_ms = match &q.at {
        None => None,
        Some(t) => Some(parse_date_time(t).ok_or_else(|| {
            Problem::malformed("request.at", format!("{t:?} is not an RFC 3339 date-time"))
        })?),
    };
    let max_events = q.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if !(1..=MAX_EVENTS_CAP).contains(&max_events) {
        return Err(Problem::malformed("request.max-events", format!("max_events is 1 to {MAX_EVENTS_CAP}")));
    }
    let max_depth = q.max_depth.unwrap_or(Limits::default().max_depth);
    if max_depth > MAX_DEPTH_CAP {
        return Err(Problem::malformed("request.max-depth", format!("max_depth is 0 to {MAX_DEPTH_CAP}")));
    }
    let mut query = lineage::Query::new(identifier, direction, at_ms, tree_size);
    query.view = view;
    query.limits = Limits { max_depth, max_events, ..Limits::default() };
    Ok(query)
}

/// Why computing a proven answer failed.
fn lineage_problem(e: LineageError) -> Problem {
    match e {
        LineageError::Identifier { .. } => Problem::malformed("request.identifier", e.to_string()),
        other => internal(&other),
    }
}

fn internal(e: &(dyn std::error::Error + 'static)) -> Problem {
    Problem::storage_read("the lineage query", e)
}

/// Answers `query` and attaches every entry it refers to with its
/// inclusion proof at `query.tree_size`. Reads storage: call off the runtime.
fn prove(reader: &TreeReader, query: &lineage::Query) -> Result<(Answer, Vec<ProvenEntry>), Problem> {
    let answer = Lineage::new(reader.store().clone()).query(query).map_err(lineage_problem)?;
    let entries = answer
        .entry_indexes()
        .into_iter()
        .map(|index| {
            let entry = reader.entry(index).map_err(|e| internal(&e))?;
            let proof = reader.prove_inclusion(index, query.tree_size).map_err(|e| internal(&e))?;
            Ok(ProvenEntry { index, entry: BASE64.encode(entry), proof })
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    Ok((answer, entries))
}

/// `GET /lineage/{identifier}?direction=back|forward|recall&at=<RFC 3339>&view=effective|as-recorded&max_events=N&max_depth=D`.
pub async fn lineage<V: ReadView>(
    State(app): State<V>,
    headers: HeaderMap,
    PathText(identifier): PathText,
    q: Result<Query<LineageQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let r = async {
        let Query(q) = q.map_err(|e| Problem::malformed("request.query", e.body_text()))?;
        let cp = app.published().ok_or_else(|| Problem::not_found("no checkpoint has been published yet"))?;
        let query = parse_query(&identifier, &q, cp.size)?;
        let permit = RUNNING
            .try_acquire()
            .map_err(|_| Problem::overloaded("too many lineage queries at once; retry later"))?;
        let reader = app.reader().clone();
        // The permit goes with the work: a query runs on after its client
        // leaves, and must still count.
        let (answer, entries) = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            prove(&reader, &query)
        })
        .await
        .map_err(|e| internal(&e))??;
        let body = ProvenAnswer { answer, checkpoint: cp.note, entries };
        Ok(([(CACHE_CONTROL, "no-cache")], Json(body)).into_response())
    };
    r.await.map_err(|p: Problem| super::read::read_problem(&app, &headers, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(direction: &str) -> LineageQuery {
        LineageQuery {
            direction: Some(direction.into()),
            at: None,
            view: None,
            max_events: None,
            max_depth: None,
        }
    }

    #[test]
    fn parameters_become_a_bounded_query() {
        let mut p = q("recall");
        p.at = Some("2026-11-01T06:00:00+01:00".into());
        p.view = Some("as-recorded".into());
        p.max_events = Some(5);
        let query = parse_query("urn:epc:id:sgtin:0614141.107346.1", &p, 9).unwrap();
        assert_eq!(query.direction, Direction::Recall);
        assert_eq!(query.at_ms, parse_date_time("2026-11-01T05:00:00Z"));
        assert_eq!(query.view, View::AsRecorded);
        assert_eq!((query.tree_size, query.limits.max_events, query.limits.max_depth), (9, 5, 32));
        let query = parse_query("urn:x:y", &q("back"), 9).unwrap();
        assert_eq!(query.limits.max_events, DEFAULT_MAX_EVENTS);
    }

    #[test]
    fn bad_parameters_are_malformed_requests_naming_the_parameter() {
        let rule = |id: &str, p: &LineageQuery| parse_query(id, p, 9).unwrap_err().rule;
        assert_eq!(rule("urn:x:y", &q("sideways")), "request.direction");
        assert_eq!(rule("urn:x:y", &LineageQuery { direction: None, ..q("back") }), "request.direction");
        assert_eq!(
            rule("urn:x:y", &LineageQuery { view: Some("latest".into()), ..q("back") }),
            "request.view"
        );
        assert_eq!(
            rule("urn:x:y", &LineageQuery { at: Some("yesterday".into()), ..q("back") }),
            "request.at"
        );
        assert_eq!(rule("urn:x:y", &LineageQuery { max_events: Some(0), ..q("back") }), "request.max-events");
        let many = LineageQuery { max_events: Some(MAX_EVENTS_CAP + 1), ..q("back") };
        assert_eq!(rule("urn:x:y", &many), "request.max-events");
        assert_eq!(rule("urn:x:y", &LineageQuery { max_depth: Some(65), ..q("back") }), "request.max-depth");
        let long = format!("urn:x:{}", "y".repeat(MAX_IDENTIFIER_BYTES));
        assert_eq!(rule(&long, &q("back")), "request.identifier");
    }
}
