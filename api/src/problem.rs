//! RFC 9290 problem details, in JSON (`application/problem+json`) or CBOR
//! (`application/concise-problem-details+cbor`) as the client asks, and the
//! one place where every error of the HTTP interface gets its status code.
//!
//! Spec: `spec/http-api.md` ("Errors").

use crate::sequencer::SequencerError;
use axum::http::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use provlog_ledger::cbor::{self, Value};
use provlog_ledger::rules::Violation;

pub const JSON: &str = "application/problem+json";
pub const CBOR: &str = "application/concise-problem-details+cbor";
/// The CBOR key (a URI, as RFC 9290 §2.2 allows) of the check's name.
pub const CBOR_RULE_KEY: &str = "tag:provlog.dev,2026:rule";

/// A problem: status, a stable check name, and what happened.
#[derive(Clone, Debug)]
pub struct Problem {
    pub status: StatusCode,
    /// A stable name: a rule check (`scope.location`) or a request check
    /// (`request.content-type`, `statement.cbor-trailing-bytes`, …).
    pub rule: String,
    pub title: &'static str,
    pub detail: String,
    pub retry_after_s: Option<u64>,
    /// Whether the client asked for CBOR.
    pub cbor: bool,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        rule: impl Into<String>,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem { status, rule: rule.into(), title, detail: detail.into(), retry_after_s: None, cbor: false }
    }

    /// A statement the rules refused: 422.
    pub fn rejected(v: &Violation) -> Self {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            v.name(),
            "Statement rejected by the log's rules",
            v.detail.clone(),
        )
    }

    /// The log has no room for the request now: 503 `request.overloaded`,
    /// `Retry-After: 1`.
    pub fn overloaded(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "request.overloaded", "Log overloaded", detail)
            .retry_after(1)
    }

    /// Malformed input: 400.
    pub fn malformed(rule: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, rule, "Malformed request", detail)
    }

    /// A failed read of the store or the tree: 500 `log.storage`. The cause
    /// goes to the server log, not to the client.
    pub fn storage_read(what: &str, cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!("{what} failed: {}", crate::recovery::describe(cause));
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "log.storage",
            "Storage failure",
            format!("{what} failed"),
        )
    }

    /// While the log's storage is failing (`why`), a failed read is answered
    /// like a refused write: 503 `log.storage-unavailable` with
    /// `Retry-After`, since it passes when the store recovers. sled refuses
    /// every change after a failed write until it is reopened, and a read
    /// makes one when a page it passes is due to be split (RELIABILITY.md,
    /// "Storage faults").
    pub fn while_storage_fails(self, why: Option<String>) -> Self {
        match why {
            Some(why) if self.rule == "log.storage" => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log.storage-unavailable",
                "The log cannot read this right now",
                format!("{} while storage is failing ({why})", self.detail),
            )
            .retry_after(5),
            _ => self,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "request.not-found", "Not found", detail)
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    /// Answers in CBOR if the request's `Accept` names the CBOR type.
    pub fn for_request(mut self, headers: &HeaderMap) -> Self {
        self.cbor = wants_cbor(headers);
        self
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": format!("urn:provlog:problem:{}", self.rule),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "rule": self.rule,
        }))
        .expect("serializable")
    }

    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::encode(&Value::Map(vec![
            (Value::int(-1), Value::text(self.title)),
            (Value::int(-2), Value::text(self.detail.clone())),
            (Value::int(-4), Value::Unsigned(self.status.as_u16() as u64)),
            (Value::text(CBOR_RULE_KEY), Value::text(self.rule.clone())),
        ]))
    }
}

pub fn wants_cbor(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(CBOR) || a.contains("application/cbor"))
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (ctype, body) = if self.cbor { (CBOR, self.to_cbor()) } else { (JSON, self.to_json()) };
        let mut resp = (self.status, [(CONTENT_TYPE, ctype)], body).into_response();
        if let Some(s) = self.retry_after_s {
            resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl From<SequencerError> for Problem {
    fn from(e: SequencerError) -> Self {
        match e {
            SequencerError::Overloaded => Problem::overloaded(e.to_string()),
            SequencerError::StorageUnavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log.storage-unavailable",
                "The log cannot write right now",
                e.to_string(),
            )
            .retry_after(5),
            SequencerError::Stopped(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log.stopped",
                "The log is stopped",
                e.to_string(),
            )
            .retry_after(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_read_while_storage_fails_is_a_503_to_retry() {
        let cause = std::io::Error::other("sled: global error");
        let failed = || Problem::storage_read("reading an entry", &cause);
        let p = failed();
        assert_eq!((p.status.as_u16(), p.rule.as_str()), (500, "log.storage"));
        assert!(!p.detail.contains("global error"), "the cause is logged, not sent: {p:?}");

        let p = failed().while_storage_fails(None);
        assert_eq!((p.status.as_u16(), p.retry_after_s), (500, None));

        let p = failed().while_storage_fails(Some("storage flush failed: EIO".into()));
        assert_eq!((p.status.as_u16(), p.rule.as_str()), (503, "log.storage-unavailable"));
        assert_eq!(p.retry_after_s, Some(5));
        assert_eq!(p.detail, "reading an entry failed while storage is failing (storage flush failed: EIO)");

        // Only storage failures change: a missing entry is still a 404.
        let p = Problem::not_found("no statement").while_storage_fails(Some("EIO".into()));
        assert_eq!((p.status.as_u16(), p.rule.as_str()), (404, "request.not-found"));
    }

    /// The sequencer's refusals as spec/http-api.md's problem table lists
    /// them: status, rule and `Retry-After`.
    #[test]
    fn sequencer_refusals_answer_as_the_problem_table_says() {
        for (e, status, rule, retry_after) in [
            (SequencerError::Overloaded, 503, "request.overloaded", 1),
            (SequencerError::StorageUnavailable("EIO".into()), 503, "log.storage-unavailable", 5),
            (SequencerError::Stopped("a second root".into()), 503, "log.stopped", 30),
        ] {
            let p = Problem::from(e);
            assert_eq!(
                (p.status.as_u16(), p.rule.as_str(), p.retry_after_s),
                (status, rule, Some(retry_after))
            );
        }
    }

    #[test]
    fn cbor_problem_is_canonical_and_names_the_rule() {
        let p = Problem::rejected(&Violation::new("scope", "location", "nope"));
        let bytes = p.to_cbor();
        let v = cbor::decode(&bytes, &cbor::Limits::default()).unwrap();
        assert_eq!(v.get(-4).and_then(Value::as_u64), Some(422));
        assert_eq!(v.get_text(CBOR_RULE_KEY).and_then(Value::as_text), Some("scope.location"));
        let j: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(j["rule"], "scope.location");
        assert_eq!(j["status"], 422);
    }
}
