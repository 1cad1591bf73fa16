//! The monitor: a follower ([`crate::follow`]) that looks at every new
//! entry for statements signed with keys it watches (by `kid`, the key's
//! RFC 9679 thumbprint) or naming identifiers it watches (EPCIS object
//! identifiers, compared in canonical form), and reports those whose
//! statement ID is not in the owner's known set — the statements the owner
//! submitted, as `provlog submit --receipts DIR` records them. Like a
//! certificate-transparency monitor catching a mis-issued certificate, it
//! catches a statement made with a partner's key (or about its products)
//! that the partner did not make.
//!
//! Spec: `spec/client.md` ("Monitor").

use crate::error::ClientError;
use crate::follow::{Follower, Round};
use crate::statement::parse_public_key;
use crate::submit::SubmittedRecord;
use crate::trust::VerifiedCheckpoint;
use crate::EntryVisitor;
use crate::Progress;
use provlog_ledger::epcis::identifier::Identifier;
use provlog_ledger::statement::{key_thumbprint, StatementId, CONTENT_TYPE_EPCIS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

/// What the monitor watches for.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// Watched keys by thumbprint, with the base64 key as given.
    keys: BTreeMap<[u8; 32], String>,
    /// Watched identifiers in canonical form.
    identifiers: BTreeSet<String>,
}

impl Watch {
    /// Watches statements signed by any of `keys` (standard base64 of
    /// 32-byte Ed25519 public keys) or naming any of `identifiers` (EPCIS
    /// identifiers in any GS1 form, or other URIs, matched exactly).
    ///
    /// # Errors
    /// [`ClientError::BadKey`] for a key that does not parse;
    /// [`ClientError::Invalid`] for an identifier in a GS1 form that is not
    /// well formed, or for nothing to watch.
    pub fn new(keys: &[String], identifiers: &[String]) -> Result<Watch, ClientError> {
        if keys.is_empty() && identifiers.is_empty() {
            return Err(ClientError::invalid("monitor", "watch at least one key or identifier"));
        }
        let mut w = Watch::default();
        for k in keys {
            let key = parse_public_key(k)?;
            w.keys.insert(key_thumbprint(&key), k.clone());
        }
        for id in identifiers {
            let parsed = Identifier::parse(id)
                .map_err(|e| ClientError::invalid(format!("identifier {id:?}"), e.to_string()))?;
            w.identifiers.insert(parsed.canonical);
        }
        Ok(w)
    }

    /// What about the entry matches, if anything: `key <kid hex>` for each
    /// watched signer, `identifier <canonical>` for each watched object.
    ///
    /// # Errors
    /// [`ClientError::BadEntry`] or [`ClientError::BadEntryStatement`] for
    /// an entry the log could not have accepted.
    pub fn matches(&self, index: u64, bytes: &[u8]) -> Result<Option<Finding>, ClientError> {
        let (entry, statement) = crate::decode_entry(index, bytes)?;
        let mut matched = Vec::new();
        for signer in statement.signers() {
            if self.keys.contains_key(&signer.kid) {
                matched.push(format!("key {}", hex::encode(signer.kid)));
            }
        }
        if !self.identifiers.is_empty() && statement.content_type() == CONTENT_TYPE_EPCIS {
            // A payload the log accepted parses; one that does not names nothing.
            if let Ok(event) = provlog_ledger::epcis::parse_event(statement.payload()) {
                for id in event.canonical_identifiers() {
                    if self.identifiers.contains(id) {
                        matched.push(format!("identifier {id}"));
                    }
                }
            }
        }
        if matched.is_empty() {
            return Ok(None);
        }
        Ok(Some(Finding {
            index,
            statement_id: statement.id(),
            iss: statement.iss().to_owned(),
            sub: statement.sub().to_owned(),
            registered_at_ms: entry.registered_at_ms,
            matched,
            known: false,
        }))
    }
}

/// A watched statement found in the log.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub index: u64,
    #[serde(serialize_with = "crate::serde_display")]
    pub statement_id: StatementId,
    pub iss: String,
    pub sub: String,
    pub registered_at_ms: u64,
    /// Why it matched.
    pub matched: Vec<String>,
    /// Whether the owner's known set has it.
    pub known: bool,
}

/// The statements the owner knows it made: the `<statement ID>.tlog-proof`
/// files in a receipts directory and the statements recorded in its
/// `submitted.json`.
#[derive(Clone, Debug, Default)]
pub struct KnownStatements {
    ids: HashSet<StatementId>,
}

impl KnownStatements {
    /// Reads the known set from `dir`; a missing directory is an empty set.
    ///
    /// # Errors
    /// [`ClientError::Io`] for an unreadable directory;
    /// [`ClientError::Json`] for a `submitted.json` that does not parse.
    pub fn load(dir: &Path) -> Result<KnownStatements, ClientError> {
        let mut ids = HashSet::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KnownStatements { ids }),
            Err(e) => return Err(ClientError::io("read directory", dir)(e)),
        };
        for entry in entries {
            let name = entry.map_err(ClientError::io("read directory", dir))?.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name.strip_suffix(".tlog-proof").and_then(|s| s.parse::<StatementId>().ok()) {
                ids.insert(id);
            }
        }
        ids.extend(SubmittedRecord::load(dir)?.statement_ids());
        Ok(KnownStatements { ids })
    }

    pub fn contains(&self, id: &StatementId) -> bool {
        self.ids.contains(id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// What one monitor round found.
#[derive(Clone, Debug, Serialize)]
pub struct MonitorRound {
    #[serde(flatten)]
    pub round: Round,
    /// Every watched statement in the new entries, known or not.
    pub findings: Vec<Finding>,
    /// How many findings the owner did not submit.
    pub unknown: usize,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}  {}  index {}  iss {}  sub {}  ({})",
            if self.known { "known" } else { "ALERT: not submitted by the owner:" },
            self.statement_id,
            self.index,
            self.iss,
            self.sub,
            self.matched.join(", ")
        )
    }
}

impl std::fmt::Display for MonitorRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checkpoint {}: {}; {} new entries scanned",
            self.round.new_size,
            self.round.consistency_text(),
            self.round.read.entries
        )?;
        for finding in &self.findings {
            write!(f, "\n{finding}")?;
        }
        Ok(())
    }
}

struct Scan<'a> {
    watch: &'a Watch,
    findings: Vec<Finding>,
}

impl EntryVisitor for Scan<'_> {
    fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), ClientError> {
        self.findings.extend(self.watch.matches(index, bytes)?);
        Ok(())
    }

    fn settle(&mut self, _: &VerifiedCheckpoint) -> Result<(), ClientError> {
        Ok(())
    }
}

/// One monitor round: a follower round that scans the new entries, then
/// compares the findings with the known set in `known_dir` (read after the
/// entries, so that a statement submitted during the round counts as
/// known).
///
/// # Errors
/// As [`Follower::advance`]; as [`KnownStatements::load`].
pub fn round(
    follower: &mut Follower,
    watch: &Watch,
    known_dir: &Path,
    progress: &dyn Progress,
) -> Result<MonitorRound, ClientError> {
    let (checkpoint, consistency) = follower.next_checkpoint()?;
    let mut scan = Scan { watch, findings: Vec::new() };
    let round = follower.advance(checkpoint, consistency, &mut scan, progress)?;
    let known = KnownStatements::load(known_dir)?;
    let mut findings = scan.findings;
    for f in &mut findings {
        f.known = known.contains(&f.statement_id);
    }
    let unknown = findings.iter().filter(|f| !f.known).count();
    Ok(MonitorRound { round, findings, unknown })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use base64::Engine as _;
    use ed25519_dalek::SigningKey;
    use provlog_ledger::entry::Entry;
    use provlog_ledger::statement::Statement;

    const EVENT: &str = r#"{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"ObjectEvent","eventTime":"2026-01-01T08:00:00.000Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2018"],"action":"OBSERVE"}"#;

    fn entry(key: &SigningKey) -> (Vec<u8>, StatementId) {
        let s = Statement::sign1(
            key,
            "urn:epc:id:pgln:0614141.00001",
            "urn:epc:id:sgtin:0614141.107346.2018",
            1,
            CONTENT_TYPE_EPCIS,
            EVENT.as_bytes(),
        )
        .unwrap();
        let e = Entry {
            statement: s.stripped_bytes().to_vec(),
            registered_at_ms: 1,
            rule_set_id: [0; 32],
            flags: vec![],
        };
        (e.encode().unwrap(), s.id())
    }

    fn b64(key: &SigningKey) -> String {
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
    }

    #[test]
    fn a_statement_signed_with_a_watched_key_is_found() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let (bytes, id) = entry(&key);
        let w = Watch::new(&[b64(&key)], &[]).unwrap();
        let f = w.matches(3, &bytes).unwrap().unwrap();
        assert_eq!(f.statement_id, id);
        assert!(f.matched[0].starts_with("key "));
        let other = Watch::new(&[b64(&SigningKey::from_bytes(&[6; 32]))], &[]).unwrap();
        assert!(other.matches(3, &bytes).unwrap().is_none());
    }

    #[test]
    fn identifiers_match_in_any_gs1_form() {
        let (bytes, _) = entry(&SigningKey::from_bytes(&[5; 32]));
        let w = Watch::new(&[], &["https://example.com/01/10614141073464/21/2018".into()]).unwrap();
        let f = w.matches(0, &bytes).unwrap().unwrap();
        assert_eq!(f.matched, vec!["identifier https://id.gs1.org/01/10614141073464/21/2018".to_string()]);
    }

    #[test]
    fn bad_watch_arguments_are_malformed() {
        assert_eq!(Watch::new(&["xx".into()], &[]).unwrap_err().kind(), ErrorKind::Malformed);
        assert_eq!(Watch::new(&[], &[]).unwrap_err().kind(), ErrorKind::Malformed);
        assert_eq!(
            Watch::new(&[], &["urn:epc:id:sgtin:1.2.3".into()]).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn the_known_set_is_the_receipts_and_the_submitted_record() {
        let d = tempfile::tempdir().unwrap();
        let id: StatementId = "ab".repeat(32).parse().unwrap();
        std::fs::write(d.path().join(format!("{id}.tlog-proof")), "x").unwrap();
        std::fs::write(d.path().join("unrelated.txt"), "x").unwrap();
        let known = KnownStatements::load(d.path()).unwrap();
        assert!(known.contains(&id));
        assert_eq!(known.len(), 1);
        assert!(KnownStatements::load(&d.path().join("missing")).unwrap().is_empty());
    }
}
