//! Lineage answers (`GET /lineage/{identifier}`): fetched, and verified
//! offline against a trust policy.
//!
//! Spec: `spec/lineage.md` §6 and `spec/http-api.md` ("Lineage"); the
//! command is `provlog trace` (`spec/client.md`).
//!
//! A verified answer proves that every event, declaration and corrective
//! event it lists is an entry of the log at the checkpoint it carries
//! (signed by the log, cosigned by a quorum of witnesses), that each event's
//! summary is the one computed from its entry, and that each correction's
//! declaration declares its event. It does not prove completeness: that no
//! other entry bears on the answer (an auditor replays the log for that,
//! `provlog audit --replay`, which rebuilds the index).

use crate::error::ClientError;
use crate::fetch::LogClient;
use crate::trust::{TrustPolicy, VerifiedCheckpoint};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use provlog_ledger::epcis::time::parse_date_time;
use provlog_ledger::lineage::{self, fsma, summarize_entry, Answer, Direction, EventSummary, View};
use provlog_ledger::proof::check_inclusion;
use provlog_ledger::tree::leaf_hash;
use provlog_ledger::Hash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest lineage answer accepted (10,000 events with entries and proofs).
pub const MAX_ANSWER_BYTES: usize = 128 << 20;

/// A lineage question (`spec/lineage.md` §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRequest {
    /// Any spelling of the identifier (EPC URI, Digital Link, other URI).
    pub identifier: String,
    pub direction: Direction,
    /// RFC 3339, as given (sent as is).
    pub at: Option<String>,
    pub view: View,
    /// The server's default (1,000) when `None`.
    pub max_events: Option<usize>,
    /// The server's default (32) when `None`.
    pub max_depth: Option<u32>,
}

impl TraceRequest {
    /// A request with the default view and limits.
    pub fn new(identifier: &str, direction: Direction) -> TraceRequest {
        TraceRequest {
            identifier: identifier.to_owned(),
            direction,
            at: None,
            view: View::Effective,
            max_events: None,
            max_depth: None,
        }
    }

    /// `at` in UTC milliseconds.
    ///
    /// # Errors
    /// [`ClientError::Invalid`] if `at` is not an RFC 3339 date-time.
    pub fn at_ms(&self) -> Result<Option<i64>, ClientError> {
        self.at
            .as_deref()
            .map(|t| {
                parse_date_time(t).ok_or_else(|| ClientError::invalid(format!("--at {t:?}"), "not RFC 3339"))
            })
            .transpose()
    }

    /// The path and query of the request, percent-encoded.
    pub fn path(&self) -> String {
        let mut p = format!("/lineage/{}?direction={}", encode(&self.identifier), self.direction);
        if let Some(at) = &self.at {
            p.push_str(&format!("&at={}", encode(at)));
        }
        p.push_str(&format!("&view={}", self.view));
        if let Some(n) = self.max_events {
            p.push_str(&format!("&max_events={n}"));
        }
        if let Some(d) = self.max_depth {
            p.push_str(&format!("&max_depth={d}"));
        }
        p
    }
}

/// Percent-encodes every byte but the unreserved characters and `:`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One entry of an answer with its inclusion proof, as served (standard
/// base64).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProvenEntry {
    pub index: u64,
    /// The entry record.
    pub entry: String,
    /// Inclusion proof at the checkpoint's size, leaf sibling first.
    pub proof: Vec<String>,
}

/// The body of `GET /lineage/{identifier}`, unverified.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProvenAnswer {
    pub answer: Answer,
    /// The signed, cosigned checkpoint note the proofs are made against.
    pub checkpoint: String,
    /// One per entry of [`Answer::entry_indexes`].
    pub entries: Vec<ProvenEntry>,
}

impl ProvenAnswer {
    /// Parses a lineage answer; `what` names its source in errors.
    ///
    /// # Errors
    /// [`ClientError::BadResponse`] if it is not the JSON of §6.
    pub fn parse(bytes: &[u8], what: &str) -> Result<ProvenAnswer, ClientError> {
        serde_json::from_slice(bytes).map_err(|e| ClientError::BadResponse {
            url: what.to_owned(),
            reason: format!("not a lineage answer: {e}"),
        })
    }
}

/// Asks the log; returns the body as received (for saving) and parsed.
///
/// # Errors
/// Transport failures, a status other than 200 (a 400 problem for a
/// malformed identifier is [`ClientError::HttpStatus`] with its detail),
/// [`ClientError::BadResponse`].
pub fn fetch(client: &LogClient, request: &TraceRequest) -> Result<(Vec<u8>, ProvenAnswer), ClientError> {
    let a = client.request(reqwest::Method::GET, &request.path(), None, MAX_ANSWER_BYTES)?;
    if a.status != 200 {
        return Err(a.into_status_error());
    }
    let parsed = ProvenAnswer::parse(&a.body, &a.url)?;
    Ok((a.body, parsed))
}

/// What a verified answer proves.
#[derive(Clone, Debug, Serialize)]
pub struct VerifiedAnswer {
    /// The checkpoint every entry was proven against.
    pub checkpoint: VerifiedCheckpoint,
    pub tree_size: u64,
    /// Entries proven (events, declarations, corrective events).
    pub entries: usize,
    pub events: usize,
    pub corrections: usize,
}

fn mismatch(reason: String) -> ClientError {
    ClientError::AnswerMismatch { reason }
}

/// Checks that the answer is for `request`: the same identifier (in
/// canonical form), direction, time and view.
///
/// # Errors
/// [`ClientError::Invalid`] for a malformed request;
/// [`ClientError::AnswerMismatch`] if the answer is to another question.
pub fn check_question(answer: &Answer, request: &TraceRequest) -> Result<(), ClientError> {
    let id = lineage::canonical(&request.identifier)
        .map_err(|e| ClientError::invalid(format!("identifier {:?}", request.identifier), e.to_string()))?;
    let asked = (id.as_str(), request.direction, request.at_ms()?, request.view);
    let answered = (answer.identifier.as_str(), answer.direction, answer.at_ms, answer.view);
    if asked != answered {
        return Err(mismatch(format!("asked {asked:?}, answered {answered:?}")));
    }
    Ok(())
}

/// Verifies an answer against the trust policy (`spec/lineage.md` §6,
/// "Proofs"): the checkpoint satisfies the policy and has the answer's
/// tree size; the answer carries exactly one entry per
/// [`Answer::entry_indexes`], each in the checkpoint's tree by its
/// inclusion proof; each event's summary is [`summarize_entry`] of its
/// entry; each correction's (and each `declared_by`'s) declaration is an
/// error declaration of the declared event's `eventID`, later in the log,
/// with the stated time, reason and corrective IDs, and each corrective
/// entry is an event with one of those IDs. `what` names the answer in
/// errors.
///
/// # Errors
/// [`ClientError::MalformedCheckpoint`] or [`ClientError::BadResponse`] for
/// what does not parse; [`ClientError::Checkpoint`],
/// [`ClientError::AnswerProof`], [`ClientError::AnswerEntry`] or
/// [`ClientError::AnswerMismatch`] for a failed verification.
pub fn verify_answer(
    trust: &TrustPolicy,
    proven: &ProvenAnswer,
    what: &str,
) -> Result<VerifiedAnswer, ClientError> {
    let checkpoint = trust.verify_checkpoint(&proven.checkpoint, what)?;
    let answer = &proven.answer;
    let size = checkpoint.size();
    if answer.tree_size != size {
        return Err(mismatch(format!("answer for size {}, checkpoint of size {size}", answer.tree_size)));
    }
    let listed: Vec<u64> = proven.entries.iter().map(|e| e.index).collect();
    let wanted = answer.entry_indexes();
    if listed != wanted {
        return Err(mismatch(format!("the answer refers to entries {wanted:?}, proofs are for {listed:?}")));
    }
    let malformed = |index: u64, reason: &str| ClientError::BadResponse {
        url: what.to_owned(),
        reason: format!("entry {index}: {reason}"),
    };
    let mut summaries: BTreeMap<u64, Option<EventSummary>> = BTreeMap::new();
    for e in &proven.entries {
        let bytes = BASE64.decode(&e.entry).map_err(|_| malformed(e.index, "entry is not base64"))?;
        let proof = e
            .proof
            .iter()
            .map(|h| {
                Hash::from_base64(h).ok_or_else(|| malformed(e.index, "proof hash is not base64 of 32 bytes"))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        check_inclusion(&leaf_hash(&bytes), e.index, size, &proof, &checkpoint.checkpoint.root)
            .map_err(|source| ClientError::AnswerProof { index: e.index, source })?;
        let summary =
            summarize_entry(&bytes).map_err(|source| ClientError::AnswerEntry { index: e.index, source })?;
        summaries.insert(e.index, summary);
    }
    // Every index below is in `summaries`: entry_indexes() lists them all.
    let summary = |index: u64| -> Result<&EventSummary, ClientError> {
        summaries
            .get(&index)
            .and_then(Option::as_ref)
            .ok_or_else(|| mismatch(format!("entry {index} is not an EPCIS event")))
    };
    for event in &answer.events {
        if *summary(event.index)? != event.summary {
            return Err(mismatch(format!(
                "the summary of event {} is not the one of its entry",
                event.index
            )));
        }
        if let Some(d) = event.declared_by {
            let found = answer.corrections.iter().any(|c| c.declared == event.index && c.declaration == d);
            if !found {
                return Err(mismatch(format!(
                    "event {} is declared by {d}, which no correction lists",
                    event.index
                )));
            }
        }
    }
    for c in &answer.corrections {
        let declared = summary(c.declared)?;
        let declaration = summary(c.declaration)?;
        let d = declaration.declaration.as_ref();
        let declares = c.declaration > c.declared
            && declared.event_id.is_some()
            && declaration.event_id == declared.event_id
            && d.is_some_and(|d| {
                (d.declaration_time_ms, &d.reason, &d.corrective_event_ids)
                    == (c.declaration_time_ms, &c.reason, &c.corrective_event_ids)
            });
        if !declares {
            return Err(mismatch(format!(
                "entry {} does not declare event {} as stated",
                c.declaration, c.declared
            )));
        }
        for &k in &c.correctives {
            let id = summary(k)?.event_id.as_ref();
            if !id.is_some_and(|id| c.corrective_event_ids.contains(id)) {
                return Err(mismatch(format!(
                    "entry {k} is not a corrective event of declaration {}",
                    c.declaration
                )));
            }
        }
    }
    Ok(VerifiedAnswer {
        tree_size: size,
        entries: proven.entries.len(),
        events: answer.events.len(),
        corrections: answer.corrections.len(),
        checkpoint,
    })
}

/// The answer as a table for people: one line per event.
pub fn to_table(answer: &Answer) -> String {
    let mut s = format!(
        "{} {} (view {}, tree size {}): {} events, {} edges, {} origins{}\n",
        answer.direction,
        answer.identifier,
        answer.view,
        answer.tree_size,
        answer.events.len(),
        answer.edges.len(),
        answer.origins.len(),
        match answer.truncated_by {
            Some(l) => format!(", TRUNCATED by the {l:?} limit").to_lowercase(),
            None => String::new(),
        }
    );
    s.push_str(&format!(
        "{:>7} {:>5} {:<25} {:<19} {:<14} {:<12} {}\n",
        "entry", "depth", "event time", "type", "biz_step", "status", "reached by"
    ));
    for e in &answer.events {
        let reached: Vec<String> = e
            .reached_by
            .iter()
            .map(|r| match &r.container {
                Some(c) => format!("{} via {c}", r.identifier),
                None => r.identifier.clone(),
            })
            .collect();
        s.push_str(&format!(
            "{:>7} {:>5} {:<25} {:<19} {:<14} {:<12} {}\n",
            e.index,
            e.depth,
            fsma::format_time(e.summary.event_time_ms, e.summary.time_zone_offset_minutes),
            format!("{:?}", e.summary.event_type),
            e.summary.biz_step.as_deref().unwrap_or("-"),
            match e.declared_by {
                Some(d) => format!("declared@{d}"),
                None => "effective".into(),
            },
            reached.join(", ")
        ));
    }
    for c in &answer.corrections {
        s.push_str(&format!(
            "correction: event {} declared erroneous by entry {} ({}); corrective entries {:?}\n",
            c.declared,
            c.declaration,
            c.reason.as_deref().unwrap_or("no reason"),
            c.correctives
        ));
    }
    if !answer.origins.is_empty() {
        s.push_str(&format!("origins: {}\n", answer.origins.join(", ")));
    }
    s.pop();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_percent_encoded() {
        let mut r = TraceRequest::new("https://id.gs1.org/01/10614141073464/10/A 1", Direction::Recall);
        r.at = Some("2026-11-01T06:00:00+01:00".into());
        r.max_events = Some(7);
        assert_eq!(
            r.path(),
            "/lineage/https:%2F%2Fid.gs1.org%2F01%2F10614141073464%2F10%2FA%201?direction=recall\
             &at=2026-11-01T06:00:00%2B01:00&view=effective&max_events=7"
        );
        assert_eq!(r.at_ms().unwrap(), parse_date_time("2026-11-01T05:00:00Z"));
        r.at = Some("noon".into());
        assert_eq!(r.at_ms().unwrap_err().kind(), crate::ErrorKind::Malformed);
    }
}
