//! Fixtures shared by provlog's fuzz targets and their corpus seeder.
//!
//! A target can only tell a forgery from a genuine signature if it knows
//! what was genuinely signed. This crate signs a small, fixed world with
//! fixed keys, deterministically: a log of [`LOG_SIZE`] entries (each
//! wrapping a signed statement), its checkpoint at every size, cosigned by
//! [`WITNESSES`] witnesses, inclusion receipts and witness requests over it,
//! a handful of single- and multi-signer statements, governance payloads and
//! policies. The seeder writes these (and the `spec/vectors/`) as seed
//! inputs; the targets rebuild the same world once (see [`fixtures`]) and
//! assert that whatever verifies under a fixture key is something that key
//! signed here.
//!
//! The keys are test keys with published seeds: nothing signed by them means
//! anything outside the fuzz targets.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use provlog_ledger::cbor::Value;
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::cose::{ContentType, CoseMessage, CwtClaims, Header, Sign1Builder, SignBuilder};
use provlog_ledger::cosignature::{CosignatureSigner, CosignatureVerifier};
use provlog_ledger::entry::Entry;
use provlog_ledger::governance::{
    Action, GovernancePayload, GovernanceSpec, KeySpec, PartnerSpec, Role, Scopes,
};
use provlog_ledger::note::{self, Ed25519Signer, Ed25519Verifier, NoteVerifier};
use provlog_ledger::proof::{prove_consistency, prove_inclusion, InMemoryLeaves};
use provlog_ledger::receipt::Receipt;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{key_thumbprint, Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use provlog_ledger::tree::{leaf_hash, root_of, Hash};
use provlog_ledger::witness_protocol::AddCheckpointRequest;

/// The fixture log's origin, and its key's name.
pub const ORIGIN: &str = "fuzz.example/log";
/// Entries in the fixture log.
pub const LOG_SIZE: usize = 11;
/// Witnesses cosigning the fixture checkpoints.
pub const WITNESSES: usize = 3;
/// Keys signing fixture statements.
pub const STATEMENT_KEYS: usize = 3;
/// 2026-01-01T00:00:00Z, the fixtures' clock.
pub const EPOCH_S: u64 = 1_767_225_600;

/// The signed note of `spec/vectors/note/known-answers.json` (from Go's
/// sumdb/note), signed by two keys whose verifier keys follow.
pub const KNOWN_NOTE_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
pub const KNOWN_NOTE_VKEYS: [&str; 2] = [
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
];

/// The fixture log's key.
pub fn log_signer() -> Ed25519Signer {
    Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[0xb1; 32])).expect("valid key name")
}

/// The fixture witnesses' keys, `w0.fuzz.example` and on.
pub fn witness_signers() -> Vec<CosignatureSigner> {
    (0..WITNESSES as u8)
        .map(|i| {
            CosignatureSigner::new(&format!("w{i}.fuzz.example"), SigningKey::from_bytes(&[0xc0 + i; 32]))
                .expect("valid key name")
        })
        .collect()
}

/// The keys that sign fixture statements.
pub fn statement_keys() -> Vec<SigningKey> {
    (0..STATEMENT_KEYS as u8).map(|i| SigningKey::from_bytes(&[0xa1 + i; 32])).collect()
}

/// An EPCIS ObjectEvent about serial `serial`.
pub fn epcis_event(serial: usize) -> String {
    format!(
        r#"{{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"ObjectEvent","eventTime":"2026-01-01T08:00:00.000Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.{serial}"],"action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","readPoint":{{"id":"urn:epc:id:sgln:0614141.07346.1234"}}}}"#
    )
}

const ISS: &str = "urn:epc:id:pgln:0614141.00001";

fn claims(sub: &str, iat: u64) -> CwtClaims {
    CwtClaims { iss: Some(ISS.into()), sub: Some(sub.into()), iat: Some(iat as i64), other: Vec::new() }
}

/// The fixture world, built once per process by [`fixtures`].
pub struct Fixtures {
    /// The fixture log's entry records, in log order.
    pub entries: Vec<Vec<u8>>,
    /// `checkpoints[n]`: the checkpoint of the first `n` entries, for `n` in
    /// `0..=LOG_SIZE`.
    pub checkpoints: Vec<Checkpoint>,
    /// `notes[n]`: `checkpoints[n]` signed by the log and cosigned by every
    /// witness.
    pub notes: Vec<String>,
    /// Every note text a fixture key (log, witness, or the known-answer
    /// vector keys) signed.
    pub signed_texts: HashSet<String>,
    /// Every fixture statement, as bytes.
    pub statements: Vec<Vec<u8>>,
    /// Every (key thumbprint, `Sig_structure`) a fixture statement key signed.
    pub signed_tbs: HashSet<([u8; 32], Vec<u8>)>,
    /// Inclusion receipts over the fixture log.
    pub receipts: Vec<String>,
    /// `add-checkpoint` request bodies over the fixture log.
    pub requests: Vec<String>,
    /// The 200 response bodies (cosignature lines) for the fixture notes.
    pub cosignature_bodies: Vec<String>,
    pub log_verifier: Ed25519Verifier,
    pub witness_verifiers: Vec<CosignatureVerifier>,
    pub known_verifiers: Vec<Ed25519Verifier>,
    pub statement_keys: Vec<SigningKey>,
}

impl Fixtures {
    /// Every note verifier of the fixture world.
    pub fn note_verifiers(&self) -> Vec<&dyn NoteVerifier> {
        let mut v: Vec<&dyn NoteVerifier> = vec![&self.log_verifier];
        v.extend(self.witness_verifiers.iter().map(|w| w as &dyn NoteVerifier));
        v.extend(self.known_verifiers.iter().map(|k| k as &dyn NoteVerifier));
        v
    }

    /// Whether the fixture key with this thumbprint signed `tbs`.
    pub fn signed(&self, kid: &[u8; 32], tbs: &[u8]) -> bool {
        self.signed_tbs.contains(&(*kid, tbs.to_vec()))
    }
}

/// The fixture world (built on first use).
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(build)
}

fn build() -> Fixtures {
    let keys = statement_keys();
    let mut statements = Vec::new();

    // The log: each entry holds a COSE_Sign1 statement by key 0.
    let mut entries = Vec::new();
    for i in 0..LOG_SIZE {
        let sub = format!("urn:epc:id:sgtin:0614141.107346.{i}");
        let s = Statement::sign1(&keys[0], ISS, &sub, EPOCH_S + i as u64, CONTENT_TYPE_EPCIS, epcis_event(i).as_bytes())
            .expect("fixture statement");
        statements.push(s.as_bytes().to_vec());
        let entry = Entry {
            statement: s.stripped_bytes().to_vec(),
            registered_at_ms: (EPOCH_S + i as u64) * 1000 + 17,
            rule_set_id: [i as u8; 32],
            flags: if i % 3 == 0 { vec!["quantity.yield".into(), "time.too_old".into()] } else { Vec::new() },
        };
        entries.push(entry.encode().expect("fixture entry"));
    }
    statements.extend(more_statements(&keys));

    let mut signed_tbs = HashSet::new();
    for bytes in &statements {
        let s = Statement::parse(bytes).expect("fixture statements parse");
        for (i, signer) in s.signers().iter().enumerate() {
            let key = keys.iter().find(|k| key_thumbprint(&k.verifying_key()) == signer.kid).expect("fixture key");
            s.verify_signer(i, &key.verifying_key()).expect("fixture statements verify");
            signed_tbs.insert((signer.kid, to_be_signed(s.message(), i)));
        }
    }

    // Checkpoints at every size, signed by the log and every witness.
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let log = log_signer();
    let witnesses = witness_signers();
    let mut checkpoints = Vec::new();
    let mut notes = Vec::new();
    let mut cosignature_bodies = Vec::new();
    let mut signed_texts = HashSet::new();
    for n in 0..=LOG_SIZE {
        let mut cp = Checkpoint::new(ORIGIN, n as u64, root_of(&leaves[..n]));
        if n == LOG_SIZE {
            cp.extensions.push("fuzz extension line".into());
        }
        let text = cp.to_text();
        let mut note = note::sign(&text, &[&log]).expect("valid checkpoint text");
        let mut body = String::new();
        for (i, w) in witnesses.iter().enumerate() {
            let line = w.sign_line(&text, EPOCH_S + 60 * n as u64 + i as u64);
            note.push_str(&line);
            body.push_str(&line);
        }
        signed_texts.insert(text);
        checkpoints.push(cp);
        notes.push(note);
        cosignature_bodies.push(body);
    }
    signed_texts.insert(KNOWN_NOTE_TEXT.to_owned());

    // Receipts: a few leaves at a few sizes.
    let src = InMemoryLeaves(&leaves);
    let mut receipts = Vec::new();
    for (index, size) in [(0, 1), (0, 2), (1, 2), (3, 5), (4, 5), (0, 8), (7, 8), (5, 11), (10, 11)] {
        let proof = prove_inclusion(&src, index, size).expect("in-memory proof");
        let r = Receipt { extra: Some(entries[index as usize].clone()), index, proof, checkpoint: notes[size as usize].clone() };
        receipts.push(r.to_text());
    }

    // Witness requests: the first checkpoint, extensions, a repeat.
    let mut requests = Vec::new();
    for (old, new) in [(0, 0), (0, 1), (0, 5), (1, 2), (2, 5), (5, 8), (5, 11), (8, 8), (3, 11)] {
        let proof = if old == 0 { Vec::new() } else { prove_consistency(&src, old, new).expect("in-memory proof") };
        let req = AddCheckpointRequest::new(old, proof, &notes[new as usize]).expect("fixture request");
        requests.push(req.format());
    }

    Fixtures {
        entries,
        checkpoints,
        notes,
        signed_texts,
        statements,
        signed_tbs,
        receipts,
        requests,
        cosignature_bodies,
        log_verifier: log.verifier(),
        witness_verifiers: witnesses.iter().map(CosignatureSigner::verifier).collect(),
        known_verifiers: KNOWN_NOTE_VKEYS.iter().map(|v| Ed25519Verifier::from_vkey(v).expect("vector vkey")).collect(),
        statement_keys: keys,
    }
}

/// A digest of everything the fixture keys signed. Corpus inputs derived
/// from a different fixture world carry genuine signatures the targets do
/// not know of, so the seeder starts the corpora afresh when it changes.
pub fn fixture_digest() -> String {
    use sha2::{Digest, Sha256};
    let fx = fixtures();
    let mut h = Sha256::new();
    let parts = fx.statements.iter().map(Vec::as_slice).chain(fx.notes.iter().map(|n| n.as_bytes()));
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// The `Sig_structure` signature `index` of `message` covers.
pub fn to_be_signed(message: &CoseMessage, index: usize) -> Vec<u8> {
    match message {
        CoseMessage::Sign1(m) => m.to_be_signed(),
        CoseMessage::Sign(m) => m.to_be_signed(index).expect("signer index in range"),
    }
}

/// Statements beyond the log's: unprotected headers, unknown labels and
/// claims, several signers.
fn more_statements(keys: &[SigningKey]) -> Vec<Vec<u8>> {
    let kid = |k: &SigningKey| key_thumbprint(&k.verifying_key()).to_vec();
    let note_header = |text: &str| Header {
        other: vec![(Value::text("note"), Value::text(text))],
        ..Header::default()
    };
    let mut out = Vec::new();

    // COSE_Sign1 with an unprotected header, unknown protected labels and
    // an extra CWT claim.
    let mut c = claims("urn:epc:id:sgtin:0614141.107346.2018", EPOCH_S);
    c.other.push((Value::int(4), Value::int(EPOCH_S as i64 + 86_400)));
    let protected = Header {
        content_type: Some(ContentType::Text(CONTENT_TYPE_EPCIS.into())),
        kid: Some(kid(&keys[1])),
        cwt_claims: Some(c),
        other: vec![(Value::int(-70_000), Value::Null)],
        ..Header::default()
    };
    let m = Sign1Builder::new(epcis_event(2018).into_bytes())
        .protected(protected)
        .unprotected(note_header("hello"))
        .sign(&keys[1])
        .expect("fixture COSE_Sign1");
    out.push(m.to_bytes());

    // COSE_Sign with two and three signers, a governance payload.
    let payload = governance_payloads()[1].to_json();
    let s = Statement::sign_multi(
        &[&keys[0], &keys[1]],
        "provlog:governance",
        ORIGIN,
        EPOCH_S,
        CONTENT_TYPE_GOVERNANCE,
        &payload,
    )
    .expect("fixture COSE_Sign");
    out.push(s.as_bytes().to_vec());

    // COSE_Sign with unprotected headers on the body and on each signer.
    let mut b = SignBuilder::new(epcis_event(7).into_bytes())
        .content_type(ContentType::Text(CONTENT_TYPE_EPCIS.into()))
        .cwt_claims(claims("urn:epc:id:sgtin:0614141.107346.7", EPOCH_S + 7))
        .unprotected(note_header("body"));
    for (i, k) in keys.iter().enumerate() {
        let protected = Header { kid: Some(kid(k)), ..Header::default() };
        b = b.signer_with_headers(k, protected, note_header(&format!("signer {i}")));
    }
    out.push(b.sign().expect("fixture COSE_Sign").to_bytes());
    out
}

/// The key of fixture partner `n` in [`governance_payloads`].
fn partner_key(n: usize) -> SigningKey {
    SigningKey::from_bytes(&[0xd0 + n as u8; 32])
}

/// One governance payload of each action; the first is a genesis.
pub fn governance_payloads() -> Vec<GovernancePayload> {
    let keys = statement_keys();
    let b64 = |k: &SigningKey| BASE64.encode(k.verifying_key().as_bytes());
    let partner = |n: usize, role| PartnerSpec {
        id: format!("urn:epc:id:pgln:0614141.0000{n}"),
        name: format!("Partner {n}"),
        role,
        keys: vec![KeySpec {
            public_key: b64(&partner_key(n)),
            not_before_ms: None,
            not_after_ms: Some(4_102_444_800_000),
        }],
        scopes: Scopes {
            biz_steps: vec!["shipping".into(), "receiving".into()],
            locations: vec!["urn:epc:id:sgln:0614141.00001.".into(), "*".into()],
            company_prefixes: vec!["0614141".into()],
        },
    };
    let mut permissive = RuleSet::permissive("permissive");
    permissive.quantity.max_yield = 1.25;
    permissive.sensor.ranges[0].min = -40.5;
    let actions = vec![
        Action::Genesis {
            governance: GovernanceSpec { keys: keys.iter().map(b64).collect(), quorum: 2 },
            partners: vec![partner(1, Role::Partner), partner(2, Role::Regulator)],
            rule_set: RuleSet::strict("strict"),
        },
        Action::AddPartner { partner: partner(3, Role::Certifier) },
        Action::AddKey {
            partner: "urn:epc:id:pgln:0614141.00001".into(),
            key: KeySpec { public_key: b64(&partner_key(4)), not_before_ms: Some(1), not_after_ms: None },
        },
        Action::RevokeKey {
            partner: "urn:epc:id:pgln:0614141.00001".into(),
            kid: hex::encode(key_thumbprint(&partner_key(1).verifying_key())),
            reason: "key compromise".into(),
        },
        Action::SetScopes { partner: "urn:epc:id:pgln:0614141.00002".into(), scopes: Scopes::default() },
        Action::SetRole { partner: "urn:epc:id:pgln:0614141.00002".into(), role: Role::Auditor },
        Action::AdoptRuleSet { rule_set: permissive },
        Action::SetGovernance { governance: GovernanceSpec { keys: vec![b64(&keys[0])], quorum: 1 } },
    ];
    actions
        .into_iter()
        .enumerate()
        .map(|(i, action)| GovernancePayload {
            origin: ORIGIN.into(),
            nonce: if i % 2 == 0 { String::new() } else { format!("nonce {i}") },
            action,
        })
        .collect()
}

/// Policy files over the fixture log and witnesses.
pub fn policies() -> Vec<String> {
    let log = log_signer().verifier().vkey();
    let w: Vec<String> = witness_signers().iter().map(|s| s.verifier().vkey()).collect();
    vec![
        format!("log {log}\nquorum none\n"),
        format!("log {log} https://log.example\nwitness W0 {}\nquorum W0\n", w[0]),
        format!(
            "# three witnesses, two needed\nlog {log}\nwitness W0 {} https://w0.example\nwitness W1 {}\n\twitness W2  {}\ngroup two 2 W0 W1 W2\nquorum two\n",
            w[0], w[1], w[2]
        ),
        format!(
            "log {log}\nwitness A {}\nwitness B {}\nwitness C {}\ngroup ab any A B\ngroup top all ab C\nquorum top",
            w[0], w[1], w[2]
        ),
    ]
}

/// The set of names of `items` selected by the bits of `mask`.
pub fn subset<'a>(items: &[&'a str], mask: u64) -> BTreeSet<&'a str> {
    items.iter().enumerate().filter(|(i, _)| *i < 64 && mask >> i & 1 == 1).map(|(_, s)| *s).collect()
}

/// A small deterministic generator (SplitMix64) for targets that sample.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The properties every accepted GS1 identifier has.
pub mod identifiers {
    use provlog_ledger::epcis::identifier::check_digit;
    use provlog_ledger::epcis::{Identifier, IdentifierKind, IdentifierSyntax};

    /// Asserts that `id` reparses from its raw text to itself, that its
    /// canonical form is a fixed point with the same kind and GS1 key, and
    /// that its GS1 key has the length and check digit of its kind.
    pub fn check(id: &Identifier) {
        assert_eq!(Identifier::parse(&id.raw).as_ref(), Ok(id), "reparsing the raw URI differs");
        let canonical = Identifier::parse(&id.canonical).expect("a canonical form parses");
        assert_eq!(canonical.canonical, id.canonical, "canonical form is not idempotent");
        assert_eq!(canonical.kind, id.kind);
        assert_eq!(canonical.gs1_key, id.gs1_key);
        if id.kind == IdentifierKind::Other {
            assert_eq!((id.syntax, &id.canonical), (IdentifierSyntax::Other, &id.raw));
            assert_eq!(id.gs1_key, None);
            return;
        }
        assert_ne!(id.syntax, IdentifierSyntax::Other);
        assert!(id.canonical.starts_with("https://id.gs1.org/"), "{}", id.canonical);
        let key = id.gs1_key.as_deref().expect("a GS1 identifier has a key");
        let want_len = match id.kind {
            IdentifierKind::Sgtin | IdentifierKind::Lgtin | IdentifierKind::Gtin => Some(14),
            IdentifierKind::Sgln | IdentifierKind::Pgln => Some(13),
            IdentifierKind::Sscc => Some(18),
            _ => None,
        };
        if let Some(len) = want_len {
            assert_eq!(key.len(), len, "{:?} key {key:?}", id.kind);
            assert!(key.bytes().all(|b| b.is_ascii_digit()), "{key:?}");
            assert_eq!(check_digit(&key[..len - 1]), key.as_bytes()[len - 1] as char, "check digit of {key:?}");
        }
        if let Some(cp) = &id.company_prefix {
            assert_eq!(id.syntax, IdentifierSyntax::EpcUri);
            assert!((6..=12).contains(&cp.len()) && cp.bytes().all(|b| b.is_ascii_digit()), "{cp:?}");
        }
        assert_eq!(id.is_instance(), !id.is_class());
    }
}

/// The fixtures are what the targets take them for: every signed object
/// verifies, so the targets' "verified ⇒ genuinely signed" branches are
/// reached from the seeds.
#[cfg(test)]
mod tests {
    use super::*;
    use provlog_ledger::checkpoint;
    use provlog_ledger::governance::Registry;
    use provlog_ledger::policy::Policy;
    use provlog_ledger::witness_protocol::{decide, parse_cosignatures, TrustedLogs};

    #[test]
    fn fixture_notes_open_under_every_fixture_key() {
        let fx = fixtures();
        for (n, note) in fx.notes.iter().enumerate() {
            let opened = checkpoint::open(note, ORIGIN, &fx.note_verifiers()).unwrap();
            assert_eq!(opened.checkpoint, fx.checkpoints[n]);
            assert_eq!(opened.note.verified.len(), 1 + WITNESSES);
            assert_eq!(parse_cosignatures(fx.cosignature_bodies[n].as_bytes()).unwrap().len(), WITNESSES);
        }
        let known: Vec<&dyn NoteVerifier> = fx.known_verifiers.iter().map(|v| v as &dyn NoteVerifier).collect();
        let signed = format!(
            "{KNOWN_NOTE_TEXT}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(note::open(&signed, &known).unwrap().verified.len(), 1);
    }

    #[test]
    fn fixture_receipts_verify() {
        let fx = fixtures();
        for text in &fx.receipts {
            let r = Receipt::parse(text).unwrap();
            let signed = r.verify(ORIGIN, &fx.note_verifiers()).unwrap();
            assert_eq!(r.extra.as_ref(), Some(&fx.entries[r.index as usize]));
            assert!(r.index < signed.checkpoint.size);
        }
    }

    #[test]
    fn fixture_requests_are_cosigned_from_their_old_size() {
        let fx = fixtures();
        let mut trusted = TrustedLogs::new();
        trusted.add(ORIGIN, fx.log_verifier.clone()).unwrap();
        for body in &fx.requests {
            let req = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
            let latest = (req.old_size > 0).then(|| &fx.checkpoints[req.old_size as usize]);
            decide(&req, &trusted, latest).unwrap();
        }
    }

    #[test]
    fn fixture_policies_pass_the_fixture_notes_and_governance_applies() {
        let fx = fixtures();
        for p in policies() {
            let policy = Policy::parse(&p).unwrap();
            let check = policy.check(&fx.notes[LOG_SIZE]).unwrap();
            assert_eq!(check.checkpoint, fx.checkpoints[LOG_SIZE]);
        }
        let mut r = Registry::new(ORIGIN);
        for (i, p) in governance_payloads().iter().enumerate() {
            r.apply(p, &[i as u8; 32], &[i as u8; 32], i as u64).unwrap_or_else(|e| panic!("payload {i}: {e}"));
        }
    }
}
