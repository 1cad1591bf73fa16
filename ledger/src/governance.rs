//! Governance in the log: the genesis entry, governance actions, and the
//! registry they build (governance keys and quorum, partners, their keys and
//! scopes, rule sets).
//!
//! Spec: `spec/governance.md`.
//!
//! Who may write, and under which rules, is itself in the log: entry 0 is a
//! genesis statement and every later change is a governance statement signed
//! by a quorum of governance keys. The registry at entry `i` is a pure
//! function of entries `0..i`, so an auditor replaying the log rebuilds it.

use crate::entry::RuleSetId;
use crate::rules::RuleSet;
use crate::statement::key_thumbprint;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

/// The `iss` claim of every governance statement.
pub const GOVERNANCE_ISSUER: &str = "provlog:governance";
/// Most keys, partners and scope entries a governance payload may list.
pub const MAX_LIST: usize = 1024;

/// A key ID: the RFC 9679 COSE key thumbprint of an Ed25519 key.
pub type Kid = [u8; 32];

/// A partner's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Submits supply-chain events for its own locations and products.
    Partner,
    /// Co-signs certification claims.
    Certifier,
    /// Reads and audits; may not issue events.
    Auditor,
    /// May issue and co-sign recalls.
    Regulator,
}

/// What a partner may speak for. An empty list allows nothing; `"*"` allows
/// anything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    /// CBV business steps (short names such as `shipping`).
    #[serde(default)]
    pub biz_steps: Vec<String>,
    /// Location identifiers or prefixes ending in `.` or `*` (for example
    /// `urn:epc:id:sgln:0614141.00001.` covers every sub-location).
    #[serde(default)]
    pub locations: Vec<String>,
    /// GS1 Company Prefixes whose products the partner may create.
    #[serde(default)]
    pub company_prefixes: Vec<String>,
}

/// A key as written in governance payloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// Registrations before this time (UNIX ms) are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<u64>,
    /// Registrations at or after this time (UNIX ms) are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_ms: Option<u64>,
}

/// A partner as written in governance payloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// A GS1 party identifier (`urn:epc:id:pgln:…`) or another URI.
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub role: Role,
    pub keys: Vec<KeySpec>,
    #[serde(default)]
    pub scopes: Scopes,
}

/// The governance keys and how many of them must sign a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceSpec {
    /// Standard base64 of each 32-byte Ed25519 public key.
    pub keys: Vec<String>,
    pub quorum: u32,
}

/// One governance action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Entry 0: governance keys and quorum, first partners, first rule set.
    Genesis {
        governance: GovernanceSpec,
        partners: Vec<PartnerSpec>,
        rule_set: RuleSet,
    },
    AddPartner {
        partner: PartnerSpec,
    },
    /// Adds a key to a partner (a rotation is an add followed by a revoke).
    AddKey {
        partner: String,
        key: KeySpec,
    },
    /// Revokes a key for every registration after this entry; the past is
    /// not rewritten. `kid` is the hex key thumbprint.
    RevokeKey {
        partner: String,
        kid: String,
        reason: String,
    },
    SetScopes {
        partner: String,
        scopes: Scopes,
    },
    SetRole {
        partner: String,
        role: Role,
    },
    AdoptRuleSet {
        rule_set: RuleSet,
    },
    /// Replaces the governance keys and quorum.
    SetGovernance {
        governance: GovernanceSpec,
    },
}

/// The payload of a governance statement (`application/vnd.provlog.governance+json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernancePayload {
    /// The origin of the log this change is for: a statement for another
    /// log is refused.
    pub origin: String,
    /// Free text that makes otherwise identical changes distinct (for
    /// example revoking, re-adding and revoking a key again).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    pub action: Action,
}

impl GovernancePayload {
    /// Parses the JSON payload: unknown fields and duplicate fields refused.
    ///
    /// # Errors
    /// [`GovernanceError::Payload`] with serde's message.
    pub fn parse(bytes: &[u8]) -> Result<Self, GovernanceError> {
        serde_json::from_slice(bytes).map_err(|e| GovernanceError::Payload(e.to_string()))
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("serializable")
    }
}

/// A registered key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub partner: String,
    /// Standard base64 of the public key.
    pub public_key: String,
    pub not_before_ms: Option<u64>,
    pub not_after_ms: Option<u64>,
    /// The log index of the revocation; registrations after it are refused.
    pub revoked_at_index: Option<u64>,
    /// The log index of the governance entry that registered the key.
    pub added_at_index: u64,
}

/// A registered partner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub scopes: Scopes,
    /// Hex thumbprints of every key ever registered to the partner.
    pub keys: Vec<String>,
}

/// Why a governance statement was refused. Each maps to the rule named
/// `governance.<check>` in problem details.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GovernanceError {
    #[error("governance payload is malformed: {0}")]
    Payload(String),
    #[error("governance statement is for origin {got:?}, this log is {want:?}")]
    Origin { got: String, want: String },
    #[error("this governance change was already applied")]
    Replay,
    #[error("genesis must be entry 0 and only entry 0")]
    Genesis,
    #[error("{valid} valid governance signatures, quorum is {quorum}")]
    Quorum { valid: usize, quorum: u32 },
    #[error("invalid governance action: {0}")]
    Invalid(String),
}

impl GovernanceError {
    /// The check name used in `governance.<check>`.
    pub fn check(&self) -> &'static str {
        match self {
            GovernanceError::Payload(_) => "payload",
            GovernanceError::Origin { .. } => "origin",
            GovernanceError::Replay => "replay",
            GovernanceError::Genesis => "genesis",
            GovernanceError::Quorum { .. } => "quorum",
            GovernanceError::Invalid(_) => "invalid-action",
        }
    }
}

/// Everything governance has decided so far.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Registry {
    pub origin: String,
    /// Hex thumbprint to base64 public key of each governance key.
    pub governance_keys: BTreeMap<String, String>,
    pub quorum: u32,
    pub partners: BTreeMap<String, Partner>,
    /// By hex thumbprint.
    pub keys: BTreeMap<String, KeyRecord>,
    /// By hex rule-set ID.
    pub rule_sets: BTreeMap<String, RuleSet>,
    /// Hex ID of the rule set in force.
    pub current_rule_set: String,
    /// BLAKE3 of every governance payload applied, hex.
    pub applied: BTreeSet<String>,
    /// Parsed public keys, rebuilt on load (parsing costs microseconds).
    #[serde(skip)]
    parsed: HashMap<String, VerifyingKey>,
}

fn parse_public_key(b64: &str) -> Result<VerifyingKey, GovernanceError> {
    let bytes =
        BASE64.decode(b64).map_err(|_| GovernanceError::Invalid("public key is not base64".into()))?;
    crate::cose::verifying_key(&bytes).map_err(|e| GovernanceError::Invalid(format!("public key: {e}")))
}

/// `kid` in lower-case hex (how the registry's maps are keyed), written
/// into `buf`: lookups happen for every statement and need no allocation.
fn kid_hex<'b>(kid: &Kid, buf: &'b mut [u8; 64]) -> &'b str {
    hex::encode_to_slice(kid, buf).expect("32 bytes are 64 hex digits");
    std::str::from_utf8(buf).expect("hex digits are ASCII")
}

impl Registry {
    /// An empty registry for the log `origin`, before genesis.
    pub fn new(origin: &str) -> Self {
        Registry { origin: origin.to_owned(), ..Default::default() }
    }

    /// Whether genesis has been applied.
    pub fn is_initialized(&self) -> bool {
        !self.current_rule_set.is_empty()
    }

    /// Rebuilds the parsed-key cache after deserializing.
    ///
    /// # Errors
    /// [`GovernanceError::Invalid`] if a stored key no longer parses.
    pub fn reindex(&mut self) -> Result<(), GovernanceError> {
        self.parsed.clear();
        for (kid, b64) in &self.governance_keys {
            self.parsed.insert(kid.clone(), parse_public_key(b64)?);
        }
        for (kid, rec) in &self.keys {
            self.parsed.insert(kid.clone(), parse_public_key(&rec.public_key)?);
        }
        Ok(())
    }

    /// The parsed public key of a registered partner or governance key.
    pub fn public_key(&self, kid: &Kid) -> Option<&VerifyingKey> {
        self.parsed.get(kid_hex(kid, &mut [0; 64]))
    }

    pub fn key(&self, kid: &Kid) -> Option<&KeyRecord> {
        self.keys.get(kid_hex(kid, &mut [0; 64]))
    }

    pub fn is_governance_key(&self, kid: &Kid) -> bool {
        self.governance_keys.contains_key(kid_hex(kid, &mut [0; 64]))
    }

    pub fn partner(&self, id: &str) -> Option<&Partner> {
        self.partners.get(id)
    }

    /// The rule set in force and its ID.
    pub fn current_rule_set(&self) -> Option<(RuleSetId, &RuleSet)> {
        let rs = self.rule_sets.get(&self.current_rule_set)?;
        let mut id = [0u8; 32];
        hex::decode_to_slice(&self.current_rule_set, &mut id).ok()?;
        Some((id, rs))
    }

    /// Checks `action` against this registry and applies it. `statement_id`
    /// names a rule set the action adopts; `index` is the entry's log index.
    /// On error the registry is unchanged.
    ///
    /// # Errors
    /// [`GovernanceError`] naming why the action is invalid here.
    pub fn apply(
        &mut self,
        payload: &GovernancePayload,
        payload_digest: &[u8; 32],
        statement_id: &[u8; 32],
        index: u64,
    ) -> Result<(), GovernanceError> {
        if payload.origin != self.origin {
            return Err(GovernanceError::Origin { got: payload.origin.clone(), want: self.origin.clone() });
        }
        let digest = hex::encode(payload_digest);
        if self.applied.contains(&digest) {
            return Err(GovernanceError::Replay);
        }
        let is_genesis = matches!(payload.action, Action::Genesis { .. });
        if is_genesis != (index == 0) || (is_genesis && self.is_initialized()) {
            return Err(GovernanceError::Genesis);
        }
        let mut next = self.clone();
        next.apply_action(&payload.action, statement_id, index)?;
        next.applied.insert(digest);
        *self = next;
        Ok(())
    }

    fn apply_action(
        &mut self,
        action: &Action,
        statement_id: &[u8; 32],
        index: u64,
    ) -> Result<(), GovernanceError> {
        let invalid = |s: String| GovernanceError::Invalid(s);
        match action {
            Action::Genesis { governance, partners, rule_set } => {
                self.set_governance(governance)?;
                if partners.len() > MAX_LIST {
                    return Err(invalid("too many partners".into()));
                }
                for p in partners {
                    self.add_partner(p, index)?;
                }
                self.adopt(rule_set, statement_id)?;
            }
            Action::AddPartner { partner } => self.add_partner(partner, index)?,
            Action::AddKey { partner, key } => {
                if !self.partners.contains_key(partner) {
                    return Err(invalid(format!("unknown partner {partner}")));
                }
                self.add_key(partner, key, index)?;
            }
            Action::RevokeKey { partner, kid, .. } => {
                let rec = self.keys.get_mut(kid).ok_or_else(|| invalid(format!("unknown key {kid}")))?;
                if &rec.partner != partner {
                    return Err(invalid(format!("key {kid} is not registered to {partner}")));
                }
                if rec.revoked_at_index.is_some() {
                    return Err(invalid(format!("key {kid} is already revoked")));
                }
                rec.revoked_at_index = Some(index);
            }
            Action::SetScopes { partner, scopes } => {
                check_scopes(scopes)?;
                let p = self
                    .partners
                    .get_mut(partner)
                    .ok_or_else(|| invalid(format!("unknown partner {partner}")))?;
                p.scopes = scopes.clone();
            }
            Action::SetRole { partner, role } => {
                let p = self
                    .partners
                    .get_mut(partner)
                    .ok_or_else(|| invalid(format!("unknown partner {partner}")))?;
                p.role = *role;
            }
            Action::AdoptRuleSet { rule_set } => self.adopt(rule_set, statement_id)?,
            Action::SetGovernance { governance } => self.set_governance(governance)?,
        }
        Ok(())
    }

    fn set_governance(&mut self, g: &GovernanceSpec) -> Result<(), GovernanceError> {
        if g.keys.is_empty() || g.keys.len() > 64 {
            return Err(GovernanceError::Invalid("governance needs 1 to 64 keys".into()));
        }
        if g.quorum == 0 || g.quorum as usize > g.keys.len() {
            return Err(GovernanceError::Invalid(format!("quorum {} of {} keys", g.quorum, g.keys.len())));
        }
        let mut keys = BTreeMap::new();
        for b64 in &g.keys {
            let key = parse_public_key(b64)?;
            let kid = hex::encode(key_thumbprint(&key));
            if self.keys.contains_key(&kid) || keys.insert(kid.clone(), b64.clone()).is_some() {
                return Err(GovernanceError::Invalid(format!(
                    "governance key {kid} is listed twice or is a partner key"
                )));
            }
            self.parsed.insert(kid, key);
        }
        for old in self.governance_keys.keys() {
            if !keys.contains_key(old) {
                self.parsed.remove(old);
            }
        }
        self.governance_keys = keys;
        self.quorum = g.quorum;
        Ok(())
    }

    fn add_partner(&mut self, p: &PartnerSpec, index: u64) -> Result<(), GovernanceError> {
        if p.id.is_empty() || p.id.len() > 256 || p.id.chars().any(char::is_whitespace) {
            return Err(GovernanceError::Invalid(
                "partner id must be 1 to 256 characters, no whitespace".into(),
            ));
        }
        if p.id == GOVERNANCE_ISSUER || self.partners.contains_key(&p.id) {
            return Err(GovernanceError::Invalid(format!("partner {} already exists", p.id)));
        }
        if p.keys.is_empty() {
            return Err(GovernanceError::Invalid(format!("partner {} has no key", p.id)));
        }
        check_scopes(&p.scopes)?;
        self.partners.insert(
            p.id.clone(),
            Partner {
                id: p.id.clone(),
                name: p.name.clone(),
                role: p.role,
                scopes: p.scopes.clone(),
                keys: vec![],
            },
        );
        for k in &p.keys {
            self.add_key(&p.id, k, index)?;
        }
        Ok(())
    }

    fn add_key(&mut self, partner: &str, k: &KeySpec, index: u64) -> Result<(), GovernanceError> {
        let key = parse_public_key(&k.public_key)?;
        if let (Some(a), Some(b)) = (k.not_before_ms, k.not_after_ms) {
            if a >= b {
                return Err(GovernanceError::Invalid("key validity window is empty".into()));
            }
        }
        let kid = hex::encode(key_thumbprint(&key));
        if self.keys.contains_key(&kid) || self.governance_keys.contains_key(&kid) {
            return Err(GovernanceError::Invalid(format!("key {kid} is already registered")));
        }
        let p = self.partners.get_mut(partner).expect("partner checked by caller");
        if p.keys.len() >= MAX_LIST {
            return Err(GovernanceError::Invalid("too many keys".into()));
        }
        p.keys.push(kid.clone());
        self.keys.insert(
            kid.clone(),
            KeyRecord {
                partner: partner.to_owned(),
                public_key: k.public_key.clone(),
                not_before_ms: k.not_before_ms,
                not_after_ms: k.not_after_ms,
                revoked_at_index: None,
                added_at_index: index,
            },
        );
        self.parsed.insert(kid, key);
        Ok(())
    }

    fn adopt(&mut self, rule_set: &RuleSet, statement_id: &[u8; 32]) -> Result<(), GovernanceError> {
        rule_set.validate().map_err(GovernanceError::Invalid)?;
        let id = hex::encode(statement_id);
        self.rule_sets.insert(id.clone(), rule_set.clone());
        self.current_rule_set = id;
        Ok(())
    }
}

fn check_scopes(s: &Scopes) -> Result<(), GovernanceError> {
    for list in [&s.biz_steps, &s.locations, &s.company_prefixes] {
        if list.len() > MAX_LIST || list.iter().any(|e| e.is_empty() || e.len() > 256) {
            return Err(GovernanceError::Invalid(
                "scope lists hold 1 to 256-character entries, at most 1024".into(),
            ));
        }
    }
    Ok(())
}

impl Scopes {
    /// Every business step, location and company prefix (`"*"` each): for
    /// development logs, benchmarks and tests.
    pub fn any() -> Scopes {
        Scopes {
            biz_steps: vec!["*".into()],
            locations: vec!["*".into()],
            company_prefixes: vec!["*".into()],
        }
    }

    /// Whether `location` is covered: an exact entry, `"*"`, or an entry
    /// ending in `.` or `*` that is a prefix of it.
    pub fn allows_location(&self, location: &str) -> bool {
        self.locations.iter().any(|l| pattern_matches(l, location))
    }

    pub fn allows_biz_step(&self, step: &str) -> bool {
        self.biz_steps.iter().any(|s| s == "*" || s == step)
    }

    pub fn allows_company_prefix(&self, prefix: &str) -> bool {
        self.company_prefixes.iter().any(|p| p == "*" || p == prefix)
    }
}

fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" || pattern == value {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return value.starts_with(prefix);
    }
    pattern.ends_with('.') && value.starts_with(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_patterns() {
        let s = Scopes { locations: vec!["urn:epc:id:sgln:0614141.00001.".into()], ..Default::default() };
        assert!(s.allows_location("urn:epc:id:sgln:0614141.00001.0"));
        assert!(!s.allows_location("urn:epc:id:sgln:0614141.00002.0"));
        let star = Scopes { locations: vec!["*".into()], ..Default::default() };
        assert!(star.allows_location("anything"));
    }

    #[test]
    fn payload_refuses_unknown_fields() {
        let j = br#"{"origin":"o","action":{"type":"set_role","partner":"p","role":"partner","extra":1}}"#;
        assert!(GovernancePayload::parse(j).is_err());
        let j = br#"{"origin":"o","action":{"type":"set_role","partner":"p","role":"partner"}}"#;
        assert!(GovernancePayload::parse(j).is_ok());
    }
}
