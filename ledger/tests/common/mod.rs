//! A small supply chain for rule and replay tests: a log on a memory store
//! with a genesis entry, three governance keys (quorum 2) and partners with
//! real Ed25519 keys, and builders for signed EPCIS events.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use provlog_ledger::epcis::time::parse_date_time;
use provlog_ledger::governance::{
    Action, GovernancePayload, GovernanceSpec, KeySpec, PartnerSpec, Role, Scopes, GOVERNANCE_ISSUER,
};
use provlog_ledger::log::{Log, Outcome};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use provlog_ledger::storage::{MemoryStore, Store};
use serde_json::{json, Value};
use std::sync::Arc;

pub const ORIGIN: &str = "test.provlog.invalid/log";
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn public_b64(k: &SigningKey) -> String {
    BASE64.encode(k.verifying_key().as_bytes())
}

/// Milliseconds for an RFC 3339 time.
pub fn ms(t: &str) -> u64 {
    parse_date_time(t).expect("valid time") as u64
}

#[derive(Clone)]
pub struct Party {
    pub id: String,
    pub key: SigningKey,
    /// GS1 Company Prefix (7 digits).
    pub prefix: String,
    pub role: Role,
}

impl Party {
    pub fn new(seed: u8, prefix: &str, role: Role) -> Party {
        Party { id: format!("urn:epc:id:pgln:{prefix}.00001"), key: key(seed), prefix: prefix.into(), role }
    }
    /// The party's main location (an SGLN under its prefix).
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
    pub fn spec(&self, steps: &[&str]) -> PartnerSpec {
        PartnerSpec {
            id: self.id.clone(),
            name: format!("party {}", self.prefix),
            role: self.role,
            keys: vec![KeySpec {
                public_key: public_b64(&self.key),
                not_before_ms: None,
                not_after_ms: None,
            }],
            scopes: Scopes {
                biz_steps: steps.iter().map(|s| s.to_string()).collect(),
                locations: vec![format!("urn:epc:id:sgln:{}.", self.prefix)],
                company_prefixes: vec![self.prefix.clone()],
            },
        }
    }
}

pub struct Chain {
    pub log: Log,
    pub store: Arc<dyn Store>,
    pub gov: Vec<SigningKey>,
    pub farm: Party,
    pub processor: Party,
    pub distributor: Party,
    pub retailer: Party,
    pub certifier: Party,
    pub regulator: Party,
    /// Registration time of the next submission, UNIX ms.
    pub now: u64,
    next_event: u64,
    next_nonce: u64,
}

pub const STEPS_ALL: &[&str] = &["*"];

impl Chain {
    pub fn new(rules: RuleSet) -> Chain {
        Chain::with_partners(rules, &[])
    }

    /// A chain whose genesis also registers the `extra` partners, each
    /// with the business steps it may record.
    pub fn with_partners(rules: RuleSet, extra: &[(&Party, &[&str])]) -> Chain {
        let farm = Party::new(11, "0614141", Role::Partner);
        let processor = Party::new(12, "0614142", Role::Partner);
        let distributor = Party::new(13, "0614143", Role::Partner);
        let retailer = Party::new(14, "0614144", Role::Partner);
        let certifier = Party::new(15, "0614145", Role::Certifier);
        let regulator = Party::new(16, "0614146", Role::Regulator);
        let gov = vec![key(1), key(2), key(3)];
        let partners = vec![
            farm.spec(&["commissioning", "shipping", "destroying"]),
            processor.spec(&["receiving", "commissioning", "packing", "shipping"]),
            distributor.spec(&["receiving", "packing", "unpacking", "shipping", "holding"]),
            retailer.spec(&["receiving", "retail_selling", "destroying"]),
            certifier.spec(STEPS_ALL),
            regulator.spec(STEPS_ALL),
        ];
        let partners: Vec<_> =
            partners.into_iter().chain(extra.iter().map(|(p, steps)| p.spec(steps))).collect();
        let genesis = GovernancePayload {
            origin: ORIGIN.into(),
            nonce: String::new(),
            action: Action::Genesis {
                governance: GovernanceSpec { keys: gov.iter().map(public_b64).collect(), quorum: 2 },
                partners,
                rule_set: rules,
            },
        };
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let log = Log::open(store.clone(), ORIGIN).unwrap();
        let mut chain = Chain {
            log,
            store,
            gov,
            farm,
            processor,
            distributor,
            retailer,
            certifier,
            regulator,
            now: ms("2026-11-01T12:00:00Z"),
            next_event: 0,
            next_nonce: 0,
        };
        let stmt = chain.governance_statement(&genesis, &[0, 1, 2]);
        let out = chain.register(stmt);
        assert!(matches!(out, Outcome::Registered { index: 0, .. }), "genesis: {out:?}");
        chain
    }

    /// Registers `stmts` as one batch (one atomic append), at `self.now`.
    pub fn register_batch(&mut self, stmts: &[Statement]) -> Vec<Outcome> {
        let out = self.log.register(stmts, self.now).unwrap();
        self.now += 1000;
        out
    }

    pub fn register(&mut self, stmt: Statement) -> Outcome {
        let mut out = self.log.register(&[stmt], self.now).unwrap();
        self.now += 1000;
        out.pop().unwrap()
    }

    pub fn governance_statement(&self, payload: &GovernancePayload, signers: &[usize]) -> Statement {
        let keys: Vec<&SigningKey> = signers.iter().map(|&i| &self.gov[i]).collect();
        Statement::sign_multi(
            &keys,
            GOVERNANCE_ISSUER,
            "governance",
            1_700_000_000,
            CONTENT_TYPE_GOVERNANCE,
            &payload.to_json(),
        )
        .unwrap()
    }

    /// Submits a governance action signed by the given governance keys.
    pub fn govern(&mut self, action: Action, signers: &[usize]) -> Outcome {
        self.next_nonce += 1;
        let payload =
            GovernancePayload { origin: ORIGIN.into(), nonce: format!("n{}", self.next_nonce), action };
        let stmt = self.governance_statement(&payload, signers);
        self.register(stmt)
    }

    pub fn event_id(&mut self) -> String {
        self.next_event += 1;
        format!("urn:uuid:00000000-0000-4000-8000-{:012}", self.next_event)
    }

    /// Signs `event` by `issuer` alone (COSE_Sign1).
    pub fn sign(&self, issuer: &Party, event: &Value) -> Statement {
        self.sign_with(issuer, &issuer.key, event)
    }

    pub fn sign_with(&self, issuer: &Party, key: &SigningKey, event: &Value) -> Statement {
        let sub = subject(event);
        Statement::sign1(
            key,
            &issuer.id,
            &sub,
            self.now / 1000,
            CONTENT_TYPE_EPCIS,
            event.to_string().as_bytes(),
        )
        .unwrap()
    }

    /// Signs `event` by `issuer` and co-signers (COSE_Sign).
    pub fn sign_multi(&self, issuer: &Party, cosigners: &[&Party], event: &Value) -> Statement {
        let mut keys = vec![&issuer.key];
        keys.extend(cosigners.iter().map(|p| &p.key));
        Statement::sign_multi(
            &keys,
            &issuer.id,
            &subject(event),
            self.now / 1000,
            CONTENT_TYPE_EPCIS,
            event.to_string().as_bytes(),
        )
        .unwrap()
    }

    pub fn submit(&mut self, issuer: &Party, event: Value) -> Outcome {
        let s = self.sign(issuer, &event);
        self.register(s)
    }

    pub fn submit_multi(&mut self, issuer: &Party, cosigners: &[&Party], event: Value) -> Outcome {
        let s = self.sign_multi(issuer, cosigners, &event);
        self.register(s)
    }

    // Event builders. Times are RFC 3339 strings.

    pub fn commission(&mut self, p: &Party, epcs: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "readPoint": {"id": p.location()}, "bizLocation": {"id": p.location()}
        })
    }

    pub fn commission_lot(&mut self, p: &Party, lot: &str, qty: f64, uom: &str, time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": [], "quantityList": [{"epcClass": lot, "quantity": qty, "uom": uom}],
            "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "readPoint": {"id": p.location()}, "bizLocation": {"id": p.location()}
        })
    }

    pub fn ship(&mut self, from: &Party, to: &Party, epcs: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
            "readPoint": {"id": from.location()},
            "sourceList": [{"type": "owning_party", "source": from.id}],
            "destinationList": [{"type": "owning_party", "destination": to.id}]
        })
    }

    pub fn receive(&mut self, to: &Party, from: &Party, epcs: &[String], time: &str) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
            "readPoint": {"id": to.location()}, "bizLocation": {"id": to.location()},
            "sourceList": [{"type": "owning_party", "source": from.id}],
            "destinationList": [{"type": "owning_party", "destination": to.id}]
        })
    }

    /// A transformation with lot inputs and outputs `(class, quantity, uom)`.
    pub fn transform(
        &mut self,
        p: &Party,
        inputs: &[(String, f64, &str)],
        outputs: &[(String, f64, &str)],
        time: &str,
    ) -> Value {
        let q = |l: &[(String, f64, &str)]| {
            l.iter().map(|(c, n, u)| json!({"epcClass": c, "quantity": n, "uom": u})).collect::<Vec<_>>()
        };
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "TransformationEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "inputQuantityList": q(inputs), "outputQuantityList": q(outputs),
            "bizStep": "commissioning", "disposition": "active",
            "readPoint": {"id": p.location()}, "bizLocation": {"id": p.location()}
        })
    }

    pub fn aggregate(
        &mut self,
        p: &Party,
        parent: &str,
        children: &[String],
        action: &str,
        time: &str,
    ) -> Value {
        json!({
            "@context": EPCIS_CONTEXT,
            "type": "AggregationEvent", "eventID": self.event_id(), "eventTime": time, "eventTimeZoneOffset": "+00:00",
            "parentID": parent, "childEPCs": children, "action": action,
            "bizStep": if action == "ADD" { "packing" } else { "unpacking" }, "disposition": "in_progress",
            "readPoint": {"id": p.location()}
        })
    }
}

/// The `sub` of a statement carrying `event`: its eventID.
pub fn subject(event: &Value) -> String {
    event["eventID"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| event["epcList"].get(0).and_then(Value::as_str).unwrap_or("none").to_owned())
}

pub fn rejected_by(out: &Outcome) -> String {
    match out {
        Outcome::Rejected(v) => v.name(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

pub fn flags_of(out: &Outcome) -> Vec<String> {
    match out {
        Outcome::Registered { flags, .. } => flags.clone(),
        other => panic!("expected registration, got {other:?}"),
    }
}
