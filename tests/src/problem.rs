//! RFC 9290 problem details as the server sends them: JSON
//! (`application/problem+json`) or CBOR
//! (`application/concise-problem-details+cbor`), read and checked for shape.

use crate::HttpResponse;
use serde_json::Value;

/// RFC 9290 problem details in CBOR.
pub const CBOR_PROBLEM: &str = "application/concise-problem-details+cbor";

/// A parsed RFC 9290 problem (from JSON or CBOR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub rule: String,
    pub title: String,
    pub detail: String,
}

/// Reads a problem response: JSON (`application/problem+json`) or CBOR
/// (`application/concise-problem-details+cbor`), checking its shape: the
/// status inside equals the HTTP status, `type` names the rule, nothing is
/// missing.
pub fn problem(r: &HttpResponse) -> Problem {
    match r.header("content-type") {
        Some("application/problem+json") => {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()));
            let s = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("no {k} in {v}")).to_owned();
            let p = Problem {
                status: v["status"].as_u64().expect("status") as u16,
                rule: s("rule"),
                title: s("title"),
                detail: s("detail"),
            };
            assert_eq!(s("type"), format!("urn:provlog:problem:{}", p.rule));
            assert_eq!(p.status, r.status, "{v}");
            p
        }
        Some(CBOR_PROBLEM) => {
            use provlog_ledger::cbor::{decode, Limits, Value as Cbor};
            let v = decode(&r.body, &Limits::default()).expect("canonical CBOR problem details");
            let text = |v: Option<&Cbor>| v.and_then(Cbor::as_text).expect("a text member").to_owned();
            let p = Problem {
                status: v.get(-4).and_then(Cbor::as_u64).expect("status (-4)") as u16,
                rule: text(v.get_text("tag:provlog.dev,2026:rule")),
                title: text(v.get(-1)),
                detail: text(v.get(-2)),
            };
            assert_eq!(p.status, r.status);
            p
        }
        other => panic!("not a problem response ({other:?}, status {}): {}", r.status, r.text()),
    }
}
