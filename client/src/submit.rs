//! Submitting statements (`spec/http-api.md`, SCRAPI shape) and keeping
//! their receipts: each receipt is verified against the trust policy, and
//! shown to hold the very statement submitted, before it is stored as
//! `<statement ID>.tlog-proof`.
//!
//! Spec: `spec/client.md` ("Submitting").
//!
//! Re-running a submission must not make new statements: a statement's
//! `iat` is the signing time, so signing an event again gives another
//! statement, which the log would refuse (`replay.event-id`) or, for an
//! event without an `eventID`, register twice. So the receipts directory
//! keeps `submitted.json`, which maps each event (by BLAKE3 of the signing
//! key's thumbprint and the payload) to the statement signed for it; a
//! re-run resubmits the same bytes and the log answers with the existing
//! entry. The record is written before the statements are sent.
//!
//! ```json
//! {"version": 1, "statements": {"<hex BLAKE3(kid || payload)>":
//!     {"id": "<statement ID>", "sub": "...", "statement": "<base64 COSE>"}}}
//! ```

use crate::error::ClientError;
use crate::fetch::{Answer, LogClient, MAX_BATCH_ANSWER_BYTES};
use crate::receipt::{verify_receipt_for, VerifiedReceipt};
use crate::statement::{events, sign_event};
use crate::trust::TrustPolicy;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use provlog_ledger::cbor::{self, Value};
use provlog_ledger::note::Ed25519Signer;
use provlog_ledger::receipt::MAX_RECEIPT_SIZE;
use provlog_ledger::statement::{key_thumbprint, Statement, StatementId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The name of the record file in a receipts directory.
pub const SUBMITTED_FILE: &str = "submitted.json";

/// One statement signed for an event.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubmittedStatement {
    /// The statement ID, hex.
    pub id: String,
    pub sub: String,
    /// The statement, standard base64.
    pub statement: String,
}

/// `submitted.json`: the statements signed so far, by event.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubmittedRecord {
    pub version: u32,
    pub statements: BTreeMap<String, SubmittedStatement>,
}

impl Default for SubmittedRecord {
    fn default() -> Self {
        SubmittedRecord { version: 1, statements: BTreeMap::new() }
    }
}

impl SubmittedRecord {
    /// Reads `dir/submitted.json`; a missing file is an empty record.
    ///
    /// # Errors
    /// [`ClientError::Io`]; [`ClientError::Json`] for a file that does not
    /// parse.
    pub fn load(dir: &Path) -> Result<SubmittedRecord, ClientError> {
        let path = dir.join(SUBMITTED_FILE);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| ClientError::Json {
                path,
                what: "submitted-statements record",
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SubmittedRecord::default()),
            Err(e) => Err(ClientError::io("read", path)(e)),
        }
    }

    /// Writes `dir/submitted.json` atomically.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub fn save(&self, dir: &Path) -> Result<(), ClientError> {
        crate::write_atomic(
            &dir.join(SUBMITTED_FILE),
            &serde_json::to_vec_pretty(self).expect("serializable"),
        )
    }

    /// The key of an event signed with a key of thumbprint `kid`.
    pub fn event_key(kid: &[u8; 32], payload: &[u8]) -> String {
        let mut h = blake3::Hasher::new();
        h.update(kid);
        h.update(payload);
        h.finalize().to_hex().to_string()
    }

    /// The IDs of every recorded statement (malformed ones skipped).
    pub fn statement_ids(&self) -> impl Iterator<Item = StatementId> + '_ {
        self.statements.values().filter_map(|s| s.id.parse().ok())
    }
}

/// How to submit. Every field has the default shown.
#[derive(Clone, Debug)]
pub struct SubmitOptions {
    /// Statements per `POST /entries/batch`; 1 sends each with
    /// `POST /entries` (default 1).
    pub batch: usize,
    /// Where receipts and `submitted.json` go (default none: receipts are
    /// verified and reported, not stored, and a re-run signs anew).
    pub receipts: Option<PathBuf>,
    /// How long to wait for a pending statement's receipt (default 60 s).
    pub wait: Duration,
}

impl Default for SubmitOptions {
    fn default() -> Self {
        SubmitOptions { batch: 1, receipts: None, wait: Duration::from_secs(60) }
    }
}

/// What became of one statement.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Registered now (201), or already in the log (200); the receipt
    /// verified and holds the statement.
    Registered {
        created: bool,
        #[serde(flatten)]
        receipt: Box<VerifiedReceipt>,
        /// Where the receipt was stored.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<PathBuf>,
        /// The receipt itself.
        #[serde(skip)]
        text: String,
    },
    /// The log refused it (nothing was stored), naming the check.
    Refused { http_status: u16, rule: Option<String>, detail: Option<String> },
}

/// One submitted statement and its outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Submitted {
    pub sub: String,
    #[serde(serialize_with = "crate::serde_display")]
    pub id: StatementId,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Submitted {
    pub fn is_refused(&self) -> bool {
        matches!(self.outcome, Outcome::Refused { .. })
    }
}

impl std::fmt::Display for Submitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Outcome::Registered { created, receipt, path, .. } => {
                let what = if *created { "registered" } else { "present   " };
                write!(f, "{what}  {}  index {}  sub {}", self.id, receipt.index, self.sub)?;
                if let Some(p) = path {
                    write!(f, "  receipt {}", p.display())?;
                }
                Ok(())
            }
            Outcome::Refused { http_status, rule, detail } => write!(
                f,
                "REFUSED     {}  HTTP {http_status}  {}: {}  sub {}",
                self.id,
                rule.as_deref().unwrap_or("(no rule)"),
                detail.as_deref().unwrap_or(""),
                self.sub
            ),
        }
    }
}

/// Signs every event of an EPCIS input (one event or a document) as a
/// statement by `signer` (`iss` = the key's name, the partner ID),
/// reusing the statements recorded in the receipts directory for events
/// signed before, and submits them with [`submit_statements`].
///
/// # Errors
/// Malformed input (nothing is sent then); as [`submit_statements`].
pub fn submit_events(
    client: &LogClient,
    trust: &TrustPolicy,
    signer: &Ed25519Signer,
    input: &[u8],
    what: &str,
    options: &SubmitOptions,
) -> Result<Vec<Submitted>, ClientError> {
    let events = events(input, what)?;
    let key = signer.signing_key();
    let kid = key_thumbprint(&key.verifying_key());
    let mut record = match &options.receipts {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(ClientError::io("create directory", dir))?;
            SubmittedRecord::load(dir)?
        }
        None => SubmittedRecord::default(),
    };
    let iat = crate::now_s();
    let mut statements = Vec::with_capacity(events.len());
    for event in &events {
        let event_key = SubmittedRecord::event_key(&kid, &event.payload);
        let statement = match record.statements.get(&event_key) {
            Some(s) => {
                let bytes = BASE64.decode(&s.statement).map_err(|e| {
                    ClientError::invalid(format!("{SUBMITTED_FILE} entry {event_key}"), e.to_string())
                })?;
                Statement::parse(&bytes).map_err(|source| ClientError::MalformedStatement {
                    what: format!("{SUBMITTED_FILE} entry {event_key}"),
                    source,
                })?
            }
            None => {
                let s = sign_event(key, signer.name(), event, iat)?;
                record.statements.insert(
                    event_key,
                    SubmittedStatement {
                        id: s.id().to_string(),
                        sub: s.sub().to_owned(),
                        statement: BASE64.encode(s.as_bytes()),
                    },
                );
                s
            }
        };
        statements.push(statement);
    }
    if let Some(dir) = &options.receipts {
        record.save(dir)?;
    }
    submit_statements(client, trust, &statements, options)
}

/// Submits statements, one by one or in batches, waits for pending ones,
/// verifies each receipt against `trust` and against the statement sent,
/// and stores it in the receipts directory if there is one.
///
/// # Errors
/// Transport failures (including a statement still pending after
/// `options.wait`); a receipt that fails verification (a security event:
/// nothing further is submitted).
pub fn submit_statements(
    client: &LogClient,
    trust: &TrustPolicy,
    statements: &[Statement],
    options: &SubmitOptions,
) -> Result<Vec<Submitted>, ClientError> {
    let mut out = Vec::with_capacity(statements.len());
    for chunk in statements.chunks(options.batch.max(1)) {
        let answers = if options.batch <= 1 {
            let a = client.request(
                reqwest::Method::POST,
                "/entries",
                Some(("application/cose", chunk[0].as_bytes())),
                MAX_RECEIPT_SIZE,
            )?;
            vec![single_answer(a)?]
        } else {
            batch_answers(client, chunk)?
        };
        for (statement, answer) in chunk.iter().zip(answers) {
            out.push(settle(client, trust, statement, answer, options)?);
        }
    }
    Ok(out)
}

/// The log's answer for one statement, before verification.
enum Reply {
    Receipt { created: bool, text: String },
    Pending,
    Refused { http_status: u16, rule: Option<String>, detail: Option<String> },
}

fn refused(status: u16, problem: &serde_json::Value) -> Reply {
    let field = |k: &str| problem.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Reply::Refused { http_status: status, rule: field("rule"), detail: field("detail") }
}

/// The statuses by which the log refuses a statement, storing nothing
/// (`spec/http-api.md`), alone or as a batch item.
fn is_refusal(status: u16) -> bool {
    matches!(status, 400 | 413 | 415 | 422)
}

fn single_answer(a: Answer) -> Result<Reply, ClientError> {
    match a.status {
        200 | 201 => Ok(Reply::Receipt { created: a.status == 201, text: a.text()? }),
        202 | 303 => Ok(Reply::Pending),
        s if is_refusal(s) => {
            let problem = serde_json::from_slice(&a.body).unwrap_or(serde_json::Value::Null);
            Ok(refused(a.status, &problem))
        }
        _ => Err(a.into_status_error()),
    }
}

fn batch_answers(client: &LogClient, chunk: &[Statement]) -> Result<Vec<Reply>, ClientError> {
    let body = cbor::encode(&Value::Array(chunk.iter().map(|s| Value::bytes(s.as_bytes())).collect()));
    let a = client.request(
        reqwest::Method::POST,
        "/entries/batch",
        Some(("application/cbor", &body)),
        MAX_BATCH_ANSWER_BYTES,
    )?;
    if a.status != 200 {
        return Err(a.into_status_error());
    }
    let bad = |reason: &str| ClientError::BadResponse { url: a.url.clone(), reason: reason.to_owned() };
    let json = a.json()?;
    let items = json.as_array().ok_or_else(|| bad("not a JSON array"))?;
    if items.len() != chunk.len() {
        return Err(bad("not one result per statement"));
    }
    items
        .iter()
        .map(|item| {
            let status = item
                .get("status")
                .and_then(|s| s.as_u64())
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| bad("an item has no status"))?;
            match status {
                200 | 201 => {
                    let text =
                        item.get("receipt").and_then(|r| r.as_str()).ok_or_else(|| bad("no receipt"))?;
                    Ok(Reply::Receipt { created: status == 201, text: text.to_owned() })
                }
                303 => Ok(Reply::Pending),
                s if is_refusal(s) => Ok(refused(s, item.get("problem").unwrap_or(&serde_json::Value::Null))),
                // Stored but not witnessed in time (503), or a failure: as
                // for a single submission, not a refusal.
                s => Err(ClientError::HttpStatus {
                    url: a.url.clone(),
                    status: s,
                    detail: item.get("problem").and_then(crate::fetch::problem_value_summary),
                }),
            }
        })
        .collect()
}

/// Waits for a pending statement's receipt with `GET /entries/{id}`.
fn poll(client: &LogClient, id: &StatementId, wait: Duration) -> Result<Reply, ClientError> {
    let start = Instant::now();
    loop {
        let a = client.request(reqwest::Method::GET, &format!("/entries/{id}"), None, MAX_RECEIPT_SIZE)?;
        match a.status {
            200 => return Ok(Reply::Receipt { created: true, text: a.text()? }),
            202 => {
                if start.elapsed() >= wait {
                    return Err(ClientError::StillPending { id: *id, waited_s: start.elapsed().as_secs() });
                }
                // Retry-After is whole seconds; a receipt usually follows
                // within one batch interval, so look again sooner.
                let pause = Duration::from_secs(a.retry_after_s.unwrap_or(1)).min(Duration::from_millis(500));
                std::thread::sleep(pause);
            }
            _ => return Err(a.into_status_error()),
        }
    }
}

fn settle(
    client: &LogClient,
    trust: &TrustPolicy,
    statement: &Statement,
    reply: Reply,
    options: &SubmitOptions,
) -> Result<Submitted, ClientError> {
    let id = statement.id();
    let reply = match reply {
        Reply::Pending => poll(client, &id, options.wait)?,
        other => other,
    };
    let outcome = match reply {
        Reply::Pending => unreachable!("poll returns a receipt or an error"),
        Reply::Refused { http_status, rule, detail } => Outcome::Refused { http_status, rule, detail },
        Reply::Receipt { created, text } => {
            let what = format!("for statement {id}");
            let receipt = verify_receipt_for(trust, &text, &what, statement.as_bytes())?;
            let path = match &options.receipts {
                Some(dir) => {
                    let path = dir.join(format!("{id}.tlog-proof"));
                    crate::write_atomic(&path, text.as_bytes())?;
                    Some(path)
                }
                None => None,
            };
            Outcome::Registered { created, receipt: Box::new(receipt), path, text }
        }
    };
    Ok(Submitted { sub: statement.sub().to_owned(), id, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn the_record_round_trips_and_lists_statement_ids() {
        let d = tempfile::tempdir().unwrap();
        let mut r = SubmittedRecord::load(d.path()).unwrap();
        assert!(r.statements.is_empty());
        let id = "cd".repeat(32);
        r.statements.insert(
            "k".into(),
            SubmittedStatement { id: id.clone(), sub: "s".into(), statement: "AA==".into() },
        );
        r.save(d.path()).unwrap();
        let again = SubmittedRecord::load(d.path()).unwrap();
        assert_eq!(again, r);
        assert_eq!(again.statement_ids().map(|i| i.to_string()).collect::<Vec<_>>(), vec![id]);
        std::fs::write(d.path().join(SUBMITTED_FILE), "[").unwrap();
        assert_eq!(SubmittedRecord::load(d.path()).unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn event_keys_depend_on_the_key_and_the_payload() {
        let a = SubmittedRecord::event_key(&[1; 32], b"{}");
        assert_ne!(a, SubmittedRecord::event_key(&[2; 32], b"{}"));
        assert_ne!(a, SubmittedRecord::event_key(&[1; 32], b"{ }"));
    }

    #[test]
    fn a_pending_statement_is_polled_until_its_receipt_arrives() {
        use crate::fetch::tests::{quick, response, serve};
        let (statement, receipt) = crate::receipt::tests::sample(&[1, 2]);
        let pending = r#"{"status":"pending"}"#;
        let url = serve(vec![
            response("303 See Other", "Location: /entries/x\r\nRetry-After: 0\r\n", pending),
            response("202 Accepted", "Retry-After: 0\r\n", pending),
            response("200 OK", "", &receipt),
        ]);
        let client = LogClient::new(&url, quick()).unwrap();
        let done = submit_statements(
            &client,
            &crate::trust::tests::trust(),
            std::slice::from_ref(&statement),
            &SubmitOptions::default(),
        )
        .unwrap();
        let Outcome::Registered { receipt, .. } = &done[0].outcome else { panic!("{:?}", done[0]) };
        assert_eq!(receipt.statement_id, statement.id());
    }

    #[test]
    fn a_receipt_for_another_statement_stops_the_submission_as_a_security_event() {
        use crate::fetch::tests::{quick, response, serve};
        let (_, receipt) = crate::receipt::tests::sample(&[1, 2]);
        let other = Statement::sign1(
            &ed25519_dalek::SigningKey::from_bytes(&[4; 32]),
            "a",
            "b",
            1,
            "text/plain",
            b"x",
        )
        .unwrap();
        let url = serve(vec![response("201 Created", "", &receipt)]);
        let client = LogClient::new(&url, quick()).unwrap();
        let e =
            submit_statements(&client, &crate::trust::tests::trust(), &[other], &SubmitOptions::default())
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Verification, "{e:?}");
    }

    #[test]
    fn refusals_and_overload_are_told_apart() {
        use crate::fetch::tests::{quick, response, serve};
        let (statement, _) = crate::receipt::tests::sample(&[1, 2]);
        let problem = r#"{"rule":"scope.location","detail":"not yours","status":422}"#;
        let url = serve(vec![
            response("422 Unprocessable Entity", "", problem),
            response("503 Service Unavailable", "Retry-After: 0\r\n", "{}"),
            response("503 Service Unavailable", "Retry-After: 0\r\n", "{}"),
            response("503 Service Unavailable", "Retry-After: 0\r\n", "{}"),
        ]);
        let client = LogClient::new(&url, quick()).unwrap();
        let trust = crate::trust::tests::trust();
        let done =
            submit_statements(&client, &trust, std::slice::from_ref(&statement), &SubmitOptions::default())
                .unwrap();
        assert!(
            matches!(&done[0].outcome, Outcome::Refused { http_status: 422, rule: Some(r), .. } if r == "scope.location")
        );
        // Still overloaded after the retries: a transport failure, not a refusal.
        let e = submit_statements(&client, &trust, &[statement], &SubmitOptions::default()).unwrap_err();
        assert!(matches!(e, ClientError::HttpStatus { status: 503, .. }), "{e:?}");
    }

    #[test]
    fn a_batch_item_not_witnessed_in_time_is_a_failure_not_a_refusal() {
        use crate::fetch::tests::{quick, response, serve};
        let (statement, _) = crate::receipt::tests::sample(&[1, 2]);
        let refused_item = r#"{"problem":{"rule":"scope.location","detail":"not yours"},"status":422}"#;
        let stuck_item = r#"{"id":"ab","index":7,"problem":{"rule":"log.witness-quorum","detail":"w2 down"},"status":503}"#;
        let url = serve(vec![
            response(
                "200 OK",
                "Content-Type: application/json\r\n",
                &format!("[{refused_item},{refused_item}]"),
            ),
            response(
                "200 OK",
                "Content-Type: application/json\r\n",
                &format!("[{refused_item},{stuck_item}]"),
            ),
        ]);
        let client = LogClient::new(&url, quick()).unwrap();
        let trust = crate::trust::tests::trust();
        let two = [statement.clone(), statement];
        let options = SubmitOptions { batch: 2, ..SubmitOptions::default() };
        let done = submit_statements(&client, &trust, &two, &options).unwrap();
        assert!(done.iter().all(|d| matches!(&d.outcome, Outcome::Refused { http_status: 422, .. })));
        let e = submit_statements(&client, &trust, &two, &options).unwrap_err();
        assert!(
            matches!(&e, ClientError::HttpStatus { status: 503, detail: Some(d), .. } if d == "log.witness-quorum: w2 down"),
            "{e:?}"
        );
    }

    #[test]
    fn refusals_keep_the_rule_name() {
        let p = serde_json::json!({"rule": "scope.location", "detail": "no"});
        let Reply::Refused { http_status, rule, .. } = refused(422, &p) else { panic!() };
        assert_eq!((http_status, rule.as_deref()), (422, Some("scope.location")));
    }
}
