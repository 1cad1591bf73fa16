//! Building governance statements (`spec/governance.md`) and collecting
//! the quorum's signatures on them, key holder by key holder.
//!
//! Spec: `spec/client.md` ("Governance").
//!
//! A change starts as a *proposal* file: the governance payload (origin,
//! a random nonce, the action) with the statement's `sub` and `iat` fixed,
//! so that everyone who signs it signs the same bytes:
//!
//! ```json
//! {"format": "provlog-governance-proposal/v1", "sub": "add_partner urn:…",
//!  "iat": 1790000000, "payload": {"origin": "…", "nonce": "…", "action": {…}}}
//! ```
//!
//! The statement is a `COSE_Sign` whose body protected header holds the
//! content type `application/vnd.provlog.governance+json` and the CWT
//! claims (`iss` `provlog:governance`, `sub`, `iat`); each signer adds a
//! `COSE_Signature` with its own protected header (`alg` EdDSA, `kid`).
//! A signature covers the body header, its own header and the payload
//! (RFC 9052 §4.4), not the other signatures, so key holders sign
//! independently — each appends to one statement file in turn
//! ([`add_signature`]), or signs a copy and a coordinator merges the copies
//! ([`combine`]). The result is byte-for-byte the statement that
//! `Statement::sign_multi` would give with all the keys at once.

use crate::error::ClientError;
use ed25519_dalek::{Signer as _, SigningKey};
use provlog_ledger::cose::{
    sig_structure, ContentType, CoseSign, CoseSignature, CwtClaims, Header, ProtectedHeader, ALG_EDDSA,
};
use provlog_ledger::governance::{Action, GovernancePayload, GOVERNANCE_ISSUER};
use provlog_ledger::statement::{key_thumbprint, Statement, CONTENT_TYPE_GOVERNANCE, STATEMENT_LIMITS};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` of a proposal file.
pub const PROPOSAL_FORMAT: &str = "provlog-governance-proposal/v1";

/// An unsigned governance change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub format: String,
    /// The statement's subject: what the change is about.
    pub sub: String,
    /// The statement's `iat`, fixed when the proposal is made.
    pub iat: u64,
    pub payload: GovernancePayload,
}

/// A random nonce: 16 bytes, hex.
pub fn random_nonce() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the system's random number generator");
    hex::encode(b)
}

/// A short description of an action, for `sub`.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Genesis { .. } => "genesis".into(),
        Action::AddPartner { partner } => format!("add_partner {}", partner.id),
        Action::AddKey { partner, .. } => format!("add_key {partner}"),
        Action::RevokeKey { partner, kid, .. } => format!("revoke_key {partner} {kid}"),
        Action::SetScopes { partner, .. } => format!("set_scopes {partner}"),
        Action::SetRole { partner, role } => format!("set_role {partner} {role:?}"),
        Action::AdoptRuleSet { rule_set } => format!("adopt_rule_set {}", rule_set.name),
        Action::SetGovernance { governance } => format!("set_governance quorum {}", governance.quorum),
    }
}

impl Proposal {
    /// A proposal for `action` on the log `origin`, with a random nonce
    /// (unless `nonce` is given), `sub` describing the action, and `iat`.
    pub fn new(origin: &str, action: Action, nonce: Option<String>, iat: u64) -> Proposal {
        let sub = describe(&action);
        Proposal {
            format: PROPOSAL_FORMAT.into(),
            sub,
            iat,
            payload: GovernancePayload {
                origin: origin.to_owned(),
                nonce: nonce.unwrap_or_else(random_nonce),
                action,
            },
        }
    }

    /// Reads a proposal file.
    ///
    /// # Errors
    /// [`ClientError::Io`]; [`ClientError::Json`]; [`ClientError::Invalid`]
    /// for another format.
    pub fn load(path: &Path) -> Result<Proposal, ClientError> {
        let bytes = std::fs::read(path).map_err(ClientError::input("read proposal", path))?;
        let p: Proposal = serde_json::from_slice(&bytes).map_err(|source| ClientError::Json {
            path: path.to_owned(),
            what: "governance proposal",
            source,
        })?;
        if p.format != PROPOSAL_FORMAT {
            return Err(ClientError::invalid(path.display().to_string(), format!("format {:?}", p.format)));
        }
        Ok(p)
    }

    /// Writes the proposal file (pretty JSON), refusing to overwrite.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), ClientError> {
        let mut json = serde_json::to_vec_pretty(self).expect("serializable");
        json.push(b'\n');
        write_new(path, &json)
    }

    /// The payload bytes every signer signs.
    pub fn payload_bytes(&self) -> Vec<u8> {
        self.payload.to_json()
    }

    /// The body's protected header.
    ///
    /// # Errors
    /// [`ClientError::Invalid`] for an `iat` beyond `i64::MAX`.
    pub fn body_header(&self) -> Result<ProtectedHeader, ClientError> {
        let iat =
            i64::try_from(self.iat).map_err(|_| ClientError::invalid("proposal", "iat out of range"))?;
        Ok(ProtectedHeader::new(Header {
            content_type: Some(ContentType::Text(CONTENT_TYPE_GOVERNANCE.into())),
            cwt_claims: Some(CwtClaims {
                iss: Some(GOVERNANCE_ISSUER.into()),
                sub: Some(self.sub.clone()),
                iat: Some(iat),
                other: Vec::new(),
            }),
            ..Header::default()
        }))
    }

    /// One key holder's signature on the proposal.
    ///
    /// # Errors
    /// As [`Proposal::body_header`].
    pub fn sign(&self, key: &SigningKey) -> Result<CoseSignature, ClientError> {
        let body = self.body_header()?;
        let signer = ProtectedHeader::new(Header {
            alg: Some(ALG_EDDSA),
            kid: Some(key_thumbprint(&key.verifying_key()).to_vec()),
            ..Header::default()
        });
        let tbs = sig_structure(body.as_bytes(), signer.as_bytes(), &self.payload_bytes());
        Ok(CoseSignature {
            protected: signer,
            unprotected: Header::default(),
            signature: key.sign(&tbs).to_bytes().to_vec(),
        })
    }

    /// The statement with just this signature.
    ///
    /// # Errors
    /// As [`Proposal::sign`]; [`ClientError::MalformedStatement`] if the
    /// result is not a statement (e.g. too large).
    pub fn signed_by(&self, key: &SigningKey) -> Result<Statement, ClientError> {
        let message = CoseSign {
            protected: self.body_header()?,
            unprotected: Header::default(),
            payload: self.payload_bytes(),
            signatures: vec![self.sign(key)?],
        };
        Statement::parse(&message.to_bytes()).map_err(|source| ClientError::MalformedStatement {
            what: "built from the proposal".into(),
            source,
        })
    }
}

fn parse_sign(bytes: &[u8], what: &str) -> Result<CoseSign, ClientError> {
    // The whole profile first, for its precise errors.
    Statement::parse(bytes)
        .map_err(|source| ClientError::MalformedStatement { what: what.to_owned(), source })?;
    CoseSign::parse(bytes, &STATEMENT_LIMITS)
        .map_err(|e| ClientError::MalformedStatement { what: what.to_owned(), source: e.into() })
}

/// Adds `key`'s signature to a governance statement for `proposal`: to
/// `existing` (the statement file's bytes) if given, else to a new
/// statement. A key that already signed is not added twice.
///
/// # Errors
/// [`ClientError::MalformedStatement`] if `existing` is not a
/// `COSE_Sign` statement; [`ClientError::Invalid`] if it is not for this
/// proposal (another payload or body header).
pub fn add_signature(
    proposal: &Proposal,
    key: &SigningKey,
    existing: Option<&[u8]>,
) -> Result<Statement, ClientError> {
    let Some(existing) = existing else { return proposal.signed_by(key) };
    let mine = parse_sign(proposal.signed_by(key)?.as_bytes(), "new")?;
    let theirs = parse_sign(existing, "existing statement")?;
    if theirs.protected != mine.protected || theirs.payload != mine.payload {
        return Err(ClientError::invalid("statement", "it is not a statement of this proposal"));
    }
    merge(theirs, mine.signatures)
}

/// Merges copies of one governance statement, each signed by some of the
/// key holders, into one with every distinct signer (in the order first
/// seen).
///
/// # Errors
/// [`ClientError::MalformedStatement`]; [`ClientError::Invalid`] if the
/// copies differ in payload or body header, or none is given.
pub fn combine(copies: &[Vec<u8>]) -> Result<Statement, ClientError> {
    let (first, rest) =
        copies.split_first().ok_or_else(|| ClientError::invalid("combine", "no statements given"))?;
    let mut out = parse_sign(first, "statement 1")?;
    for (i, c) in rest.iter().enumerate() {
        let other = parse_sign(c, &format!("statement {}", i + 2))?;
        if other.protected != out.protected || other.payload != out.payload {
            return Err(ClientError::invalid(
                format!("statement {}", i + 2),
                "it is a statement of another change",
            ));
        }
        out = parse_sign(merge(out, other.signatures)?.as_bytes(), "combined")?;
    }
    Statement::parse(&out.to_bytes())
        .map_err(|source| ClientError::MalformedStatement { what: "combined".into(), source })
}

fn merge(mut base: CoseSign, more: Vec<CoseSignature>) -> Result<Statement, ClientError> {
    for s in more {
        let kid = s.protected.header().kid.clone();
        if !base.signatures.iter().any(|b| b.protected.header().kid == kid) {
            base.signatures.push(CoseSignature { unprotected: Header::default(), ..s });
        }
    }
    Statement::parse(&base.to_bytes())
        .map_err(|source| ClientError::MalformedStatement { what: "merged".into(), source })
}

/// What a governance statement says, for key holders to review.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    #[serde(serialize_with = "crate::serde_display")]
    pub id: provlog_ledger::statement::StatementId,
    pub sub: String,
    pub iat: u64,
    /// Hex thumbprints of the signers, in order.
    pub signers: Vec<String>,
    pub payload: GovernancePayload,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "statement {}", self.id)?;
        writeln!(f, "sub {}", self.sub)?;
        writeln!(f, "iat {}", self.iat)?;
        writeln!(f, "signers (kid) {}", self.signers.join(" "))?;
        write!(f, "{}", serde_json::to_string_pretty(&self.payload).expect("serializable"))
    }
}

/// Reads a governance statement.
///
/// # Errors
/// [`ClientError::MalformedStatement`]; [`ClientError::Invalid`] if it is
/// not a governance statement.
pub fn summarize(bytes: &[u8], what: &str) -> Result<Summary, ClientError> {
    let s = Statement::parse(bytes)
        .map_err(|source| ClientError::MalformedStatement { what: what.into(), source })?;
    if s.content_type() != CONTENT_TYPE_GOVERNANCE {
        return Err(ClientError::invalid(what, "not a governance statement"));
    }
    let payload =
        GovernancePayload::parse(s.payload()).map_err(|e| ClientError::invalid(what, e.to_string()))?;
    Ok(Summary {
        id: s.id(),
        sub: s.sub().to_owned(),
        iat: s.iat(),
        signers: s.signers().iter().map(|g| hex::encode(g.kid)).collect(),
        payload,
    })
}

/// Writes a new file, refusing to overwrite one.
///
/// # Errors
/// [`ClientError::Io`], also when the file exists.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(ClientError::io("create", path))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(ClientError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use provlog_ledger::governance::{KeySpec, PartnerSpec, Role, Scopes};

    fn proposal() -> Proposal {
        let partner = PartnerSpec {
            id: "urn:epc:id:pgln:0614141.00009".into(),
            name: "New Farm".into(),
            role: Role::Partner,
            keys: vec![KeySpec { public_key: "AA==".into(), not_before_ms: None, not_after_ms: None }],
            scopes: Scopes::default(),
        };
        Proposal::new("example.com/log", Action::AddPartner { partner }, Some("n1".into()), 1_790_000_000)
    }

    fn keys() -> [SigningKey; 3] {
        [SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[2; 32]), SigningKey::from_bytes(&[3; 32])]
    }

    #[test]
    fn separate_signatures_combine_into_what_sign_multi_makes() {
        let p = proposal();
        let [a, b, c] = keys();
        let one = add_signature(&p, &a, None).unwrap();
        let two = add_signature(&p, &b, Some(one.as_bytes())).unwrap();
        let all = Statement::sign_multi(
            &[&a, &b],
            GOVERNANCE_ISSUER,
            &p.sub,
            p.iat,
            CONTENT_TYPE_GOVERNANCE,
            &p.payload_bytes(),
        )
        .unwrap();
        assert_eq!(two.as_bytes(), all.as_bytes());
        for i in 0..2 {
            two.verify_signer(i, &[&a, &b][i].verifying_key()).unwrap();
        }
        // The same, by a coordinator merging separate copies.
        let copies =
            vec![p.signed_by(&a).unwrap().as_bytes().to_vec(), p.signed_by(&b).unwrap().as_bytes().to_vec()];
        assert_eq!(combine(&copies).unwrap().as_bytes(), all.as_bytes());
        // A key that signed already is not added twice; a third one is.
        let again = add_signature(&p, &a, Some(two.as_bytes())).unwrap();
        assert_eq!(again.signers().len(), 2);
        assert_eq!(add_signature(&p, &c, Some(two.as_bytes())).unwrap().signers().len(), 3);
        assert_eq!(summarize(two.as_bytes(), "s").unwrap().signers.len(), 2);
    }

    #[test]
    fn signatures_on_another_proposal_do_not_mix() {
        let p = proposal();
        let mut q = proposal();
        q.payload.nonce = "n2".into();
        let [a, b, _] = keys();
        let theirs = q.signed_by(&a).unwrap();
        let e = add_signature(&p, &b, Some(theirs.as_bytes())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        let e =
            combine(&[p.signed_by(&a).unwrap().as_bytes().to_vec(), theirs.as_bytes().to_vec()]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert_eq!(add_signature(&p, &a, Some(b"junk")).unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn proposals_round_trip_and_are_never_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("p.json");
        let p = proposal();
        p.save(&path).unwrap();
        assert_eq!(Proposal::load(&path).unwrap(), p);
        assert_eq!(p.save(&path).unwrap_err().kind(), crate::ErrorKind::Transport);
        assert_eq!(random_nonce().len(), 32);
        assert_ne!(random_nonce(), random_nonce());
    }
}
