//! The supply chain of every test log: partners with real Ed25519 keys and
//! scopes, GS1 EPCIS 2.0 events between them (times relative to now, so
//! that the time rules judge them as a partner's live submissions would
//! be), and the statements and governance changes [`TestLog`] signs.

use crate::server::TestLog;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use provlog_ledger::governance::{
    Action, GovernancePayload, KeySpec, PartnerSpec, Role, Scopes, GOVERNANCE_ISSUER,
};
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::statement::{key_thumbprint, Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// The EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Milliseconds since 1970 by this machine's clock (the server's clock too).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis() as u64
}

/// `ms` (UNIX milliseconds) as an RFC 3339 UTC time, e.g.
/// `2026-11-01T12:00:00.250Z`.
pub fn rfc3339(ms: u64) -> String {
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The RFC 3339 time `hours` hours ago (negative: in the future).
pub fn hours_ago(hours: f64) -> String {
    rfc3339((now_ms() as f64 - hours * 3_600_000.0) as u64)
}

/// A registered organization with its own key.
#[derive(Clone)]
pub struct Party {
    pub id: String,
    pub key: SigningKey,
    /// GS1 Company Prefix (7 digits).
    pub prefix: String,
    pub role: Role,
    /// Business steps it may record (`"*"`: any).
    pub biz_steps: Vec<String>,
}

impl Party {
    fn new(prefix: &str, role: Role, biz_steps: &[&str]) -> Party {
        Party {
            id: format!("urn:epc:id:pgln:{prefix}.00001"),
            key: generate_signing_key(),
            prefix: prefix.into(),
            role,
            biz_steps: biz_steps.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Its main location, under its own SGLN prefix.
    pub fn location(&self) -> String {
        format!("urn:epc:id:sgln:{}.00001.0", self.prefix)
    }

    pub fn sgtin(&self, item: &str, serial: &str) -> String {
        format!("urn:epc:id:sgtin:{}.{item}.{serial}", self.prefix)
    }

    pub fn lot(&self, item: &str, lot: &str) -> String {
        format!("urn:epc:class:lgtin:{}.{item}.{lot}", self.prefix)
    }

    pub fn sscc(&self, serial: &str) -> String {
        format!("urn:epc:id:sscc:{}.{serial}", self.prefix)
    }

    /// The hex key thumbprint (`kid`) of its key.
    pub fn kid(&self) -> String {
        hex::encode(key_thumbprint(&self.key.verifying_key()))
    }

    pub(crate) fn spec(&self) -> PartnerSpec {
        PartnerSpec {
            id: self.id.clone(),
            name: format!("party {}", self.prefix),
            role: self.role,
            keys: vec![key_spec(&self.key)],
            scopes: Scopes {
                biz_steps: self.biz_steps.clone(),
                locations: vec![format!("urn:epc:id:sgln:{}.", self.prefix)],
                company_prefixes: vec![self.prefix.clone()],
            },
        }
    }
}

/// A governance key spec with no validity window.
pub fn key_spec(key: &SigningKey) -> KeySpec {
    KeySpec {
        public_key: BASE64.encode(key.verifying_key().as_bytes()),
        not_before_ms: None,
        not_after_ms: None,
    }
}

/// The partners of every test log: a small supply chain.
#[derive(Clone)]
pub struct Parties {
    pub farm: Party,
    pub processor: Party,
    /// The only partner with a restricted list of business steps.
    pub distributor: Party,
    pub retailer: Party,
    pub certifier: Party,
    pub regulator: Party,
    /// May not issue events (`scope.role`).
    pub auditor: Party,
}

impl Parties {
    pub(crate) fn new() -> Parties {
        Parties {
            farm: Party::new("0614141", Role::Partner, &["*"]),
            processor: Party::new("0614142", Role::Partner, &["*"]),
            distributor: Party::new("0614143", Role::Partner, &["receiving", "shipping", "packing"]),
            retailer: Party::new("0614144", Role::Partner, &["*"]),
            certifier: Party::new("0614145", Role::Certifier, &["*"]),
            regulator: Party::new("0614146", Role::Regulator, &["*"]),
            auditor: Party::new("0614147", Role::Auditor, &["*"]),
        }
    }

    pub(crate) fn all(&self) -> [&Party; 7] {
        [
            &self.farm,
            &self.processor,
            &self.distributor,
            &self.retailer,
            &self.certifier,
            &self.regulator,
            &self.auditor,
        ]
    }
}

/// The `sub` of a statement carrying `event`: its eventID, else the first
/// object it names.
pub fn subject(event: &Value) -> String {
    if let Some(id) = event["eventID"].as_str() {
        return id.to_owned();
    }
    let parsed = provlog_ledger::epcis::parse_event(event.to_string().as_bytes()).expect("a valid event");
    parsed.identifiers().first().map(|r| r.id.raw.clone()).expect("an event that names an object")
}

impl TestLog {
    // Statements.

    /// A fresh eventID.
    pub fn event_id(&self) -> String {
        let n = self.next_event.fetch_add(1, Ordering::Relaxed) + 1;
        format!("urn:uuid:00000000-0000-4000-8000-{n:012}")
    }

    /// `event` signed by `issuer` alone (COSE_Sign1), `iat` now.
    pub fn sign(&self, issuer: &Party, event: &Value) -> Statement {
        self.sign_with(issuer, &issuer.key, event)
    }

    pub fn sign_with(&self, issuer: &Party, key: &SigningKey, event: &Value) -> Statement {
        Statement::sign1(
            key,
            &issuer.id,
            &subject(event),
            now_ms() / 1000,
            CONTENT_TYPE_EPCIS,
            event.to_string().as_bytes(),
        )
        .expect("sign")
    }

    /// `event` signed by `issuer` and co-signers (COSE_Sign).
    pub fn sign_multi(&self, issuer: &Party, cosigners: &[&Party], event: &Value) -> Statement {
        let mut keys = vec![&issuer.key];
        keys.extend(cosigners.iter().map(|p| &p.key));
        Statement::sign_multi(
            &keys,
            &issuer.id,
            &subject(event),
            now_ms() / 1000,
            CONTENT_TYPE_EPCIS,
            event.to_string().as_bytes(),
        )
        .expect("sign")
    }

    /// A governance statement for `action`, signed by the given governance keys.
    pub fn govern(&self, action: Action, signers: &[usize]) -> Statement {
        let n = self.next_nonce.fetch_add(1, Ordering::Relaxed);
        let payload = GovernancePayload { origin: self.origin.clone(), nonce: format!("n{n}"), action };
        let keys: Vec<&SigningKey> = signers.iter().map(|&i| &self.governance[i]).collect();
        Statement::sign_multi(
            &keys,
            GOVERNANCE_ISSUER,
            "governance",
            now_ms() / 1000,
            CONTENT_TYPE_GOVERNANCE,
            &payload.to_json(),
        )
        .expect("sign")
    }

    // Events. Times are RFC 3339 strings.

    pub fn commission(&self, p: &Party, epcs: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "readPoint": {"id": p.location()}, "bizLocation": {"id": p.location()}
        })
    }

    pub fn commission_lot(&self, p: &Party, lot: &str, qty: f64, time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": [], "quantityList": [{"epcClass": lot, "quantity": qty, "uom": "KGM"}],
            "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "readPoint": {"id": p.location()}, "bizLocation": {"id": p.location()}
        })
    }

    pub fn ship(&self, from: &Party, to: &Party, epcs: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
            "readPoint": {"id": from.location()},
            "sourceList": [{"type": "owning_party", "source": from.id}],
            "destinationList": [{"type": "owning_party", "destination": to.id}]
        })
    }

    pub fn receive(&self, to: &Party, from: &Party, epcs: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
            "readPoint": {"id": to.location()}, "bizLocation": {"id": to.location()},
            "sourceList": [{"type": "owning_party", "source": from.id}],
            "destinationList": [{"type": "owning_party", "destination": to.id}]
        })
    }

    /// A transformation of lots: inputs and outputs as (class, quantity) in KGM.
    pub fn transform(
        &self,
        p: &Party,
        inputs: &[(String, f64)],
        outputs: &[(String, f64)],
        time: &str,
    ) -> Value {
        let q = |l: &[(String, f64)]| {
            l.iter().map(|(c, n)| json!({"epcClass": c, "quantity": n, "uom": "KGM"})).collect::<Vec<_>>()
        };
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "TransformationEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "inputQuantityList": q(inputs), "outputQuantityList": q(outputs),
            "bizStep": "commissioning", "disposition": "active",
            "readPoint": {"id": p.location()}, "bizLocation": {"id": p.location()}
        })
    }

    pub fn aggregate(&self, p: &Party, parent: &str, children: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "AggregationEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "parentID": parent, "childEPCs": children, "action": "ADD",
            "bizStep": "packing", "disposition": "in_progress",
            "readPoint": {"id": p.location()}
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_what_the_epcis_parser_reads_back() {
        use provlog_ledger::epcis::time::parse_date_time;
        for ms in [0, 951_782_400_000, 1_112_582_011_116, now_ms(), 4_102_444_800_999] {
            assert_eq!(parse_date_time(&rfc3339(ms)), Some(ms as i64), "{}", rfc3339(ms));
        }
        assert_eq!(rfc3339(1_112_582_011_116), "2005-04-04T02:33:31.116Z");
    }
}
