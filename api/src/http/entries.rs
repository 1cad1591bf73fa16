//! Submission (SCRAPI shape) and per-statement reads.

use super::{App, PathText, BODY_UNIT};
use crate::problem::Problem;
use crate::sequencer::SignedCheckpoint;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use http_body_util::BodyExt as _;
use provlog_ledger::cbor::{self, Limits};
use provlog_ledger::entry::Entry;
use provlog_ledger::governance::Registry;
use provlog_ledger::log::Outcome;
use provlog_ledger::state::StateView;
use provlog_ledger::statement::{Statement, StatementId};
use serde_json::json;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Content type of receipts (C2SP tlog-proof text).
pub const RECEIPT_TYPE: &str = "text/x.tlog-proof; charset=utf-8";
const COSE: &str = "application/cose";

fn media_type(headers: &HeaderMap) -> String {
    let v = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    v.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Bytes of an over-long body the server still reads (and discards) before
/// it answers 413. A client that sends its whole body before reading the
/// answer (most do) would otherwise see the connection reset under its
/// write, and the reset can discard the 413 already sent. Bodies declared
/// longer than the limit plus this are refused at once.
const DRAIN_MAX: u64 = 1 << 20;

/// Reads a request body of at most `limit` bytes, all of it within the
/// configured body read timeout (`http.body_read_timeout_ms`), counted from
/// when the handler starts: at the end of the headers, or later if the
/// request waited because `http.max_connections` requests were in hand
/// (`provlog_witness::http::serve`).
///
/// The body comes with its share of `http.max_body_memory_bytes`, to be
/// kept until the statements are handed to the sequencer.
///
/// # Errors
/// 413 `request.body-too-large` (also for a declared `Content-Length` over
/// the limit, before anything is kept), 503 `request.overloaded` if no
/// memory for the body came free within the timeout, 408
/// `request.body-timeout`, or 400 `request.body` if the connection failed.
async fn read_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), Problem> {
    let too_large = || {
        app.metrics.refuse("body-too-large");
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.body-too-large",
            "Request body too large",
            format!("the body exceeds {limit} bytes"),
        )
    };
    let timeout = Duration::from_millis(app.http.body_read_timeout_ms);
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(n) = declared.filter(|&n| n > limit as u64) {
        if n <= limit as u64 + DRAIN_MAX {
            let _ = tokio::time::timeout(timeout, drain(body, n)).await;
        }
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::now() + timeout;
    match collect_limited(body, limit, &app.bodies, deadline).await {
        Ok(got) => Ok(got),
        Err(Collect::TooLarge) => Err(too_large()),
        Err(Collect::Failed) => Err(Problem::malformed("request.body", "the request body could not be read")),
        Err(Collect::Overloaded) => {
            app.metrics.refuse("overloaded");
            Err(Problem::overloaded(
                "too many request bodies in hand (http.max_body_memory_bytes); retry later",
            ))
        }
        Err(Collect::Timeout) => {
            app.metrics.refuse("body-timeout");
            Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request.body-timeout",
                "Request body too slow",
                format!("the body did not arrive within {} ms", timeout.as_millis()),
            ))
        }
    }
}

/// Why [`collect_limited`] gave up.
enum Collect {
    /// Longer than the limit (up to [`DRAIN_MAX`] more bytes discarded).
    TooLarge,
    /// The connection failed.
    Failed,
    /// The body did not arrive by the deadline.
    Timeout,
    /// No share of `http.max_body_memory_bytes` came free by the deadline.
    Overloaded,
}

/// The body if it is at most `limit` bytes and arrives by `deadline`, with
/// its share of `bodies` (units of [`BODY_UNIT`] bytes, `None` for an empty
/// body). The share grows as bytes arrive, not from a declared length: a
/// client holds only memory it has sent.
async fn collect_limited(
    mut body: Body,
    limit: usize,
    bodies: &Arc<Semaphore>,
    deadline: tokio::time::Instant,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), Collect> {
    let mut buf = Vec::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(Collect::Timeout),
            Ok(None) => break,
            Ok(Some(frame)) => frame.map_err(|_| Collect::Failed)?,
        };
        let Ok(data) = frame.into_data() else { continue };
        if buf.len() + data.len() > limit {
            let seen = (buf.len() + data.len()) as u64;
            let rest = (limit as u64 + DRAIN_MAX).saturating_sub(seen);
            let _ = tokio::time::timeout_at(deadline, drain(body, rest)).await;
            return Err(Collect::TooLarge);
        }
        let want = (buf.len() + data.len()).div_ceil(BODY_UNIT);
        let more = want - held.as_ref().map_or(0, |p| p.num_permits());
        if more > 0 {
            // `more` is at most the limit's units, below u32::MAX (limits
            // are at most 1 GiB, units 1 KiB).
            let more = more as u32;
            let permit =
                match tokio::time::timeout_at(deadline, bodies.clone().acquire_many_owned(more)).await {
                    Ok(Ok(p)) => p,
                    _ => return Err(Collect::Overloaded),
                };
            match held.as_mut() {
                Some(h) => h.merge(permit),
                None => held = Some(permit),
            }
        }
        buf.extend_from_slice(&data);
    }
    Ok((Bytes::from(buf), held))
}

/// Reads and discards up to `max` bytes of `body`.
async fn drain(mut body: Body, max: u64) {
    let mut left = max;
    while left > 0 {
        match body.frame().await {
            Some(Ok(frame)) => {
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                left = left.saturating_sub(n);
            }
            _ => return,
        }
    }
}

fn location(id: &StatementId) -> String {
    format!("/entries/{id}")
}

impl App {
    /// Charges the client address `n` statements, or refuses with 429.
    fn limit_address(&self, peer: Option<SocketAddr>, n: u64, headers: &HeaderMap) -> Result<(), Problem> {
        self.address_limit(peer, n, true, headers)
    }

    /// Refuses with 429, charging nothing, a client address that has not
    /// even one statement left: checked before a batch's body is read,
    /// whose count is known only after.
    fn check_address(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Result<(), Problem> {
        self.address_limit(peer, 1, false, headers)
    }

    fn address_limit(
        &self,
        peer: Option<SocketAddr>,
        n: u64,
        take: bool,
        headers: &HeaderMap,
    ) -> Result<(), Problem> {
        if let Some(peer) = peer {
            let client = super::client_address(peer.ip(), headers, &self.trusted_proxies);
            let limits = &self.address_limits;
            let answer = if take { limits.take(&client, n) } else { limits.has(&client, n) };
            if let Err(wait) = answer {
                self.metrics.refuse("rate-limited");
                return Err(Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "request.rate-limited",
                    "Too many requests",
                    format!("too many statements from {client}"),
                )
                .retry_after(wait)
                .for_request(headers));
            }
        }
        Ok(())
    }

    /// Verifies what can be verified before sequencing and charges each
    /// verified issuer's rate limit. A single statement with at most
    /// [`INLINE_SIGNERS`] signatures is verified on the request's own
    /// thread (about 40 µs of CPU per signature, less than handing it to
    /// the blocking pool and back costs); anything larger goes to blocking
    /// threads, in parts of at least 64 statements (up to four parts, so
    /// that a large batch uses every core), at `http.worker_nice` below
    /// the sequencer's priority ([`crate::lower_thread_priority`]).
    async fn prepare(
        &self,
        statements: Vec<Statement>,
        headers: &HeaderMap,
    ) -> Result<Vec<Statement>, Problem> {
        let registry = self.sequencer.shared().registry.read().expect("lock").clone();
        let verified =
            if statements.len() <= 1 && statements.iter().all(|s| s.signers().len() <= INLINE_SIGNERS) {
                vec![preverify_all(statements, &registry)]
            } else {
                let chunk = statements.len().div_ceil(4).max(64);
                let mut tasks = AbortOnDrop(Vec::new());
                let mut rest = statements;
                while !rest.is_empty() {
                    let tail = rest.split_off(rest.len().min(chunk));
                    let part = std::mem::replace(&mut rest, tail);
                    let (registry, nice) = (registry.clone(), self.http.worker_nice);
                    tasks.0.push(tokio::task::spawn_blocking(move || {
                        crate::lower_thread_priority(nice);
                        preverify_all(part, &registry)
                    }));
                }
                let mut parts = Vec::with_capacity(tasks.0.len());
                for t in &mut tasks.0 {
                    parts.push(t.await.map_err(|_| internal("verification task failed"))?);
                }
                parts
            };
        let mut out = Vec::new();
        for part in verified {
            for (s, verified) in part {
                if verified {
                    if let Err(wait) = self.partner_limits.take(&s.iss().to_owned(), 1) {
                        self.metrics.refuse("rate-limited");
                        return Err(Problem::new(
                            StatusCode::TOO_MANY_REQUESTS,
                            "request.rate-limited",
                            "Too many requests",
                            format!("partner {} is over its rate limit", s.iss()),
                        )
                        .retry_after(wait)
                        .for_request(headers));
                    }
                }
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Waits until a published checkpoint covers `index`, for at most the
    /// configured sync wait.
    async fn published_covering(&self, index: u64) -> Option<SignedCheckpoint> {
        let mut rx = self.sequencer.shared().published.subscribe();
        let wait = async {
            loop {
                // Cloned only when it covers `index`: every publication
                // wakes every waiter.
                if let Some(cp) = rx.borrow_and_update().as_ref().filter(|cp| cp.size > index) {
                    return Some(cp.clone());
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(Duration::from_millis(self.http.sync_wait_ms), wait).await.ok().flatten()
    }

    /// The response for a statement at `index`: its receipt once published
    /// (`created`: 201, else 200), or 303 to its URL while still pending.
    async fn answer(&self, id: &StatementId, index: u64, created: bool) -> Result<Response, Problem> {
        match self.published_covering(index).await {
            Some(cp) => {
                let receipt = self.receipt(index, &cp)?;
                let status = if created { StatusCode::CREATED } else { StatusCode::OK };
                Ok((
                    status,
                    [(CONTENT_TYPE, RECEIPT_TYPE.to_owned()), (LOCATION, location(id))],
                    receipt.to_text(),
                )
                    .into_response())
            }
            None => {
                if let Some(p) = self.publishing_problem() {
                    return Err(p);
                }
                Ok((
                    StatusCode::SEE_OTHER,
                    [(LOCATION, location(id)), (RETRY_AFTER, "1".to_owned())],
                    Json(json!({"status": "pending", "id": id.to_string(), "index": index})),
                )
                    .into_response())
            }
        }
    }

    /// Why a stored statement that no published checkpoint covers yet
    /// will not be covered soon: the log is stopped or cannot write, or
    /// the publisher's latest attempt failed (a 503 rather than a 303:
    /// better no receipt than an unwitnessed one). `None` while it can
    /// still publish.
    fn publishing_problem(&self) -> Option<Problem> {
        if let Err(p) = self.sequencer.shared().check_writable() {
            return Some(p.into());
        }
        let why = self.sequencer.shared().publish_blocked.lock().expect("lock").as_ref()?.to_string();
        Some(
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log.witness-quorum",
                "Checkpoint not witnessed",
                why,
            )
            .retry_after(5),
        )
    }
}

/// Blocking tasks that are called off when the request is dropped (its
/// client gone): those not yet started never run, so a client that sends
/// batches and resets them cannot queue work behind everyone else's. (A
/// task already running finishes; at most one per blocking thread.)
struct AbortOnDrop<T>(Vec<tokio::task::JoinHandle<T>>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

fn internal(what: &str) -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "log.internal", "Internal error", what)
}

fn statement_problem(e: provlog_ledger::statement::StatementError) -> Problem {
    Problem::malformed(format!("statement.{}", e.code()), e.to_string())
}

/// `POST /entries`: one `application/cose` statement.
pub async fn submit(
    State(app): State<App>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let r = submit_one(&app, peer.map(|c| c.0 .0), &headers, body).await;
    r.map_err(|p| p.for_request(&headers))
}

async fn submit_one(
    app: &App,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    if media_type(headers) != COSE {
        app.metrics.refuse("content-type");
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content-type",
            "Unsupported media type",
            "POST /entries takes application/cose",
        ));
    }
    // Charged before the body is read: an address over its limit costs no
    // reading.
    app.limit_address(peer, 1, headers)?;
    let (body, budget) = read_body(app, headers, body, app.http.max_statement_bytes).await?;
    app.sequencer.shared().check_writable()?;
    let statement = Statement::parse(&body).map_err(|e| {
        app.metrics.refuse("malformed");
        statement_problem(e)
    })?;
    drop(body);
    let id = statement.id();
    if let Some(index) = app
        .state
        .statement_index(&id.0)
        .map_err(|e| Problem::storage_read("reading the statement index", &e))?
    {
        drop((statement, budget));
        return app.answer(&id, index, false).await;
    }
    let prepared = app.prepare(vec![statement], headers).await?;
    let outcome = app.sequencer.submit(prepared).await?.pop().ok_or_else(|| internal("no outcome"))?;
    // The statement is the sequencer's now: the wait for a receipt holds no
    // body memory.
    drop(budget);
    match outcome {
        Outcome::Registered { index, .. } => app.answer(&id, index, true).await,
        Outcome::Duplicate { index, .. } => app.answer(&id, index, false).await,
        Outcome::Rejected(v) => Err(Problem::rejected(&v)),
    }
}

/// `POST /entries/batch`: a CBOR array of statements (byte strings), each
/// decided on its own. Answers a JSON array with one result per statement.
pub async fn submit_batch(
    State(app): State<App>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    submit_many(&app, peer.map(|c| c.0 .0), &headers, body).await.map_err(|p| p.for_request(&headers))
}

async fn submit_many(
    app: &App,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let mt = media_type(headers);
    if mt != "application/cbor" {
        app.metrics.refuse("content-type");
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.content-type",
            "Unsupported media type",
            "POST /entries/batch takes application/cbor: an array of COSE statements as byte strings",
        ));
    }
    app.check_address(peer, headers)?;
    let (body, budget) = read_body(app, headers, body, app.http.max_batch_bytes).await?;
    let max = app.http.max_batch_statements;
    let limits = Limits { max_size: app.http.max_batch_bytes, max_depth: 1, max_items: max + 1 };
    let value = cbor::decode(&body, &limits)
        .map_err(|e| Problem::malformed(format!("batch.{}", e.code()), e.to_string()))?;
    let items = value
        .as_array()
        .ok_or_else(|| Problem::malformed("batch.not-an-array", "the body must be a CBOR array"))?;
    if items.is_empty() || items.len() > max {
        return Err(Problem::malformed("batch.size", format!("a batch holds 1 to {max} statements")));
    }
    app.limit_address(peer, items.len() as u64, headers)?;
    app.sequencer.shared().check_writable()?;

    // Parse each; keep per-item results in request order.
    let mut slots = Vec::with_capacity(items.len());
    let mut parsed = Vec::new();
    for item in items {
        let outcome = item
            .as_bytes()
            .ok_or_else(|| Problem::malformed("batch.not-bytes", "each batch item must be a byte string"))
            .and_then(|b| Statement::parse(b).map_err(statement_problem));
        match outcome {
            Ok(s) => {
                slots.push(Slot::Sequenced(parsed.len()));
                parsed.push(s);
            }
            Err(p) => slots.push(Slot::Refused(p)),
        }
    }
    drop((value, body));
    let prepared = app.prepare(parsed, headers).await?;
    let ids: Vec<StatementId> = prepared.iter().map(Statement::id).collect();
    let outcomes = if prepared.is_empty() { Vec::new() } else { app.sequencer.submit(prepared).await? };
    // The statements are the sequencer's now: the wait for a checkpoint
    // holds no body memory.
    drop(budget);
    let max_index = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Registered { index, .. } | Outcome::Duplicate { index, .. } => Some(*index),
            Outcome::Rejected(_) => None,
        })
        .max();
    let published = match max_index {
        Some(i) => app.published_covering(i).await,
        None => None,
    };
    // The answer is written directly rather than built as JSON values: with
    // receipts it runs to a few kilobytes per statement. Each checkpoint is
    // escaped once; the rest of a receipt needs no escaping but its line
    // breaks (`Receipt::write_text`).
    let published = published.map(|cp| {
        let quoted = serde_json::to_string(&cp.note).expect("a string serializes");
        let escaped = quoted[1..quoted.len() - 1].to_owned();
        (cp, escaped)
    });
    // With no checkpoint in time, the items stored get 503 where a single
    // submission would (`answer`), else 303.
    let stalled = match (&published, max_index) {
        (None, Some(_)) => app.publishing_problem(),
        _ => None,
    };
    let per_item = if published.is_some() { 2_600 } else { 200 };
    let mut body = String::with_capacity(2 + slots.len() * per_item);
    body.push('[');
    for (n, slot) in slots.into_iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        let k = match slot {
            Slot::Refused(p) => {
                write_problem_result(&mut body, &p);
                continue;
            }
            Slot::Sequenced(k) => k,
        };
        let (id, index, created) = match &outcomes[k] {
            Outcome::Rejected(v) => {
                write_problem_result(&mut body, &Problem::rejected(v));
                continue;
            }
            Outcome::Registered { index, .. } => (&ids[k], *index, true),
            Outcome::Duplicate { index, .. } => (&ids[k], *index, false),
        };
        // Keys in byte order, as serde_json writes an object.
        let _ = write!(body, r#"{{"id":"{id}","index":{index},"#);
        match &published {
            Some((cp, escaped)) => {
                body.push_str(r#""receipt":""#);
                app.receipt(index, cp)?.write_text(&mut body, "\\n", escaped);
                let _ = write!(body, r#"","status":{}}}"#, if created { 201 } else { 200 });
            }
            None => match &stalled {
                Some(p) => write_problem_fields(&mut body, p),
                None => {
                    let _ = write!(body, r#""location":"{}","status":303}}"#, location(id));
                }
            },
        }
    }
    body.push(']');
    Ok((StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response())
}

/// Where one batch item's result comes from.
enum Slot {
    /// Refused before sequencing.
    Refused(Problem),
    /// The item's position among the statements sent to the sequencer.
    Sequenced(usize),
}

/// Appends `{"problem":…,"status":…}` for a refused item.
fn write_problem_result(out: &mut String, p: &Problem) {
    out.push('{');
    write_problem_fields(out, p);
}

/// Appends `"problem":…,"status":…}`: the last keys of an item's object.
fn write_problem_fields(out: &mut String, p: &Problem) {
    out.push_str(r#""problem":"#);
    out.push_str(std::str::from_utf8(&p.to_json()).expect("serde_json writes UTF-8"));
    let _ = write!(out, r#","status":{}}}"#, p.status.as_u16());
}

fn parse_id(id: &str) -> Result<StatementId, Problem> {
    id.parse()
        .map_err(|_| Problem::malformed("request.statement-id", "a statement ID is 64 lower-case hex digits"))
}

fn index_of(app: &App, id: &StatementId) -> Result<u64, Problem> {
    app.state
        .statement_index(&id.0)
        .map_err(|e| Problem::storage_read("reading the statement index", &e))?
        .ok_or_else(|| Problem::not_found(format!("no statement {id} in the log")))
}

/// `GET /entries/{id}`: the receipt once published; 202 while pending.
pub async fn receipt(
    State(app): State<App>,
    headers: HeaderMap,
    PathText(id): PathText,
) -> Result<Response, Problem> {
    let r = async {
        let id = parse_id(&id)?;
        let index = index_of(&app, &id)?;
        match app.published().filter(|cp| cp.size > index) {
            Some(cp) => {
                Ok((StatusCode::OK, [(CONTENT_TYPE, RECEIPT_TYPE)], app.receipt(index, &cp)?.to_text())
                    .into_response())
            }
            None => Ok((
                StatusCode::ACCEPTED,
                [(RETRY_AFTER, "1")],
                Json(json!({"status": "pending", "id": id.to_string(), "index": index})),
            )
                .into_response()),
        }
    };
    r.await.map_err(|p: Problem| super::read::read_problem(&app, &headers, p))
}

fn stored_entry(app: &App, index: u64) -> Result<Entry, Problem> {
    let bytes = app.reader.entry(index).map_err(|e| Problem::storage_read("reading an entry", &e))?;
    Entry::decode(&bytes).map_err(|_| internal("stored entry is unreadable"))
}

/// `GET /entries/{id}/statement`: the statement as stored (unprotected
/// headers emptied).
pub async fn statement(
    State(app): State<App>,
    headers: HeaderMap,
    PathText(id): PathText,
) -> Result<Response, Problem> {
    let r = (|| {
        let id = parse_id(&id)?;
        let entry = stored_entry(&app, index_of(&app, &id)?)?;
        Ok((StatusCode::OK, [(CONTENT_TYPE, COSE)], entry.statement).into_response())
    })();
    r.map_err(|p: Problem| super::read::read_problem(&app, &headers, p))
}

/// `GET /entries/{id}/status`: what the log recorded for the statement.
pub async fn status(
    State(app): State<App>,
    headers: HeaderMap,
    PathText(id): PathText,
) -> Result<Response, Problem> {
    let r = (|| {
        let id = parse_id(&id)?;
        let index = index_of(&app, &id)?;
        let entry = stored_entry(&app, index)?;
        let published = app.published().is_some_and(|cp| cp.size > index);
        Ok(Json(json!({
            "id": id.to_string(),
            "index": index,
            "registered_at_ms": entry.registered_at_ms,
            "rule_set_id": hex::encode(entry.rule_set_id),
            "flags": entry.flags,
            "published": published,
        }))
        .into_response())
    })();
    r.map_err(|p: Problem| super::read::read_problem(&app, &headers, p))
}

/// The most signatures a request verifies on its own (async) thread: a
/// statement may carry up to 32, which would hold the thread for over a
/// millisecond.
const INLINE_SIGNERS: usize = 2;

/// Parses each EPCIS payload and checks each signature whose key the
/// registry knows, all signatures together ([`Statement::preverify_batch`]),
/// keeping the results, failures included, in the statements for the
/// sequencer: it checks again only a signature whose key changed in between
/// (a registry update), so a flood of bad signatures costs its one thread
/// nothing. Returns each statement with whether its issuer's own signature
/// verified under one of the issuer's keys.
fn preverify_all(mut statements: Vec<Statement>, registry: &Registry) -> Vec<(Statement, bool)> {
    for s in &mut statements {
        if s.content_type() == provlog_ledger::statement::CONTENT_TYPE_EPCIS {
            let _ = s.prepare_event();
        }
    }
    Statement::preverify_batch(&mut statements, |kid| registry.public_key(kid).copied());
    statements
        .into_iter()
        .map(|s| {
            let issuer_verified = s.signers().first().is_some_and(|signer| {
                registry.public_key(&signer.kid).is_some_and(|key| s.is_verified(0, key))
                    && registry.key(&signer.kid).is_some_and(|r| r.partner == s.iss())
            });
            (s, issuer_verified)
        })
        .collect()
}
