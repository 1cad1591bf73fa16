//! Verifying receipts (C2SP tlog-proof files) offline, against a trust
//! policy and nothing else.
//!
//! Spec: `spec/receipt.md` ("Verifying a receipt") and `spec/client.md`.
//!
//! A verified receipt proves that, in the tree the checkpoint commits to
//! (signed by the log, cosigned by a quorum of witnesses), the entry at
//! `index` is the entry record carried in `extra`, and so that the log
//! registered that statement at that time under that rule set with those
//! flags. It does not prove that the log did not fork after that
//! checkpoint: for that, compare the checkpoint with a newer one
//! ([`crate::consistency`]).

use crate::error::ClientError;
use crate::trust::{TrustPolicy, VerifiedCheckpoint};
use provlog_ledger::entry::Entry;
use provlog_ledger::note::NoteVerifier;
use provlog_ledger::receipt::Receipt;
use provlog_ledger::statement::{Statement, StatementId};
use serde::Serialize;

/// What a verified receipt proves.
#[derive(Clone, Debug, Serialize)]
pub struct VerifiedReceipt {
    /// The leaf index of the entry.
    pub index: u64,
    /// The ID of the statement in the entry.
    #[serde(serialize_with = "crate::serde_display")]
    pub statement_id: StatementId,
    pub iss: String,
    pub sub: String,
    pub content_type: String,
    /// When the log registered the statement (UNIX ms, the log's clock).
    pub registered_at_ms: u64,
    /// The rule set in force then (hex).
    pub rule_set_id: String,
    /// The flagging rules that fired.
    pub flags: Vec<String>,
    /// The size of the tree the receipt's checkpoint commits to.
    pub checkpoint_size: u64,
    /// The witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
    #[serde(skip)]
    pub checkpoint: VerifiedCheckpoint,
    /// The statement as stored in the entry (unprotected headers emptied).
    #[serde(skip)]
    pub statement: Vec<u8>,
}

impl std::fmt::Display for VerifiedReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "statement {} at index {} of a tree of {} (cosigned by [{}]), iss {}, sub {}, registered at {} ms, flags [{}]",
            self.statement_id,
            self.index,
            self.checkpoint_size,
            self.cosigners.join(", "),
            self.iss,
            self.sub,
            self.registered_at_ms,
            self.flags.join(", ")
        )
    }
}

/// Verifies a receipt against the trust policy: the checkpoint is signed by
/// the log and cosigned by a quorum, the inclusion proof puts the entry at
/// its index in that tree, and the entry is an entry record holding a
/// statement. `what` names the receipt in errors (e.g. its path).
///
/// # Errors
/// [`ClientError::MalformedReceipt`] or [`ClientError::MalformedCheckpoint`]
/// for text that does not parse; [`ClientError::Checkpoint`],
/// [`ClientError::Receipt`], [`ClientError::BadEntry`] or
/// [`ClientError::BadEntryStatement`] for a failed verification.
pub fn verify_receipt(trust: &TrustPolicy, text: &str, what: &str) -> Result<VerifiedReceipt, ClientError> {
    let receipt = Receipt::parse(text).map_err(|e| ClientError::from_receipt(what, e))?;
    let checkpoint = trust.verify_checkpoint(&receipt.checkpoint, what)?;
    let verifiers: [&dyn NoteVerifier; 1] = [trust.log_verifier()];
    receipt.verify(trust.origin(), &verifiers).map_err(|e| ClientError::from_receipt(what, e))?;
    let extra = receipt.extra.as_deref().unwrap_or_default();
    let entry =
        Entry::decode(extra).map_err(|source| ClientError::BadEntry { index: receipt.index, source })?;
    let statement = Statement::parse(&entry.statement)
        .map_err(|source| ClientError::BadEntryStatement { index: receipt.index, source })?;
    Ok(VerifiedReceipt {
        index: receipt.index,
        statement_id: statement.id(),
        iss: statement.iss().to_owned(),
        sub: statement.sub().to_owned(),
        content_type: statement.content_type().to_owned(),
        registered_at_ms: entry.registered_at_ms,
        rule_set_id: hex::encode(entry.rule_set_id),
        flags: entry.flags,
        checkpoint_size: checkpoint.checkpoint.size,
        cosigners: checkpoint.cosigners.clone(),
        checkpoint,
        statement: entry.statement,
    })
}

/// [`verify_receipt`], and then that the entry holds `statement` (the same
/// statement ID: unprotected headers do not count).
///
/// # Errors
/// As [`verify_receipt`]; [`ClientError::MalformedStatement`] if
/// `statement` does not parse; [`ClientError::StatementMismatch`] if the
/// receipt is for another statement.
pub fn verify_receipt_for(
    trust: &TrustPolicy,
    text: &str,
    what: &str,
    statement: &[u8],
) -> Result<VerifiedReceipt, ClientError> {
    let expected = Statement::parse(statement)
        .map_err(|source| ClientError::MalformedStatement { what: what.to_owned(), source })?
        .id();
    let verified = verify_receipt(trust, text, what)?;
    if verified.statement_id != expected {
        return Err(ClientError::StatementMismatch { proved: verified.statement_id, expected });
    }
    Ok(verified)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::trust::tests::{cosigned, trust, ORIGIN};
    use ed25519_dalek::SigningKey;
    use provlog_ledger::checkpoint::Checkpoint;
    use provlog_ledger::proof::{prove_inclusion, InMemoryLeaves};
    use provlog_ledger::tree::{leaf_hash, root_of};
    use provlog_ledger::Hash;

    /// A statement, its entry and a receipt for it at index 2 of 4.
    pub fn sample(witnesses: &[u8]) -> (Statement, String) {
        let key = SigningKey::from_bytes(&[3; 32]);
        let stmt =
            Statement::sign1(&key, "urn:epc:id:pgln:0614141.00001", "lot-1", 1, "application/ld+json", b"{}")
                .unwrap();
        let entry = Entry {
            statement: stmt.stripped_bytes().to_vec(),
            registered_at_ms: 5,
            rule_set_id: [1; 32],
            flags: vec![],
        }
        .encode()
        .unwrap();
        let mut entries: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 3]).collect();
        entries[2] = entry.clone();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let cp = Checkpoint::new(ORIGIN, 4, root_of(&leaves));
        let proof = prove_inclusion(&InMemoryLeaves(&leaves), 2, 4).unwrap();
        let r = Receipt { extra: Some(entry), index: 2, proof, checkpoint: cosigned(&cp, witnesses) };
        (stmt, r.to_text())
    }

    #[test]
    fn a_good_receipt_verifies_and_names_its_statement() {
        let (stmt, text) = sample(&[1, 2]);
        let v = verify_receipt_for(&trust(), &text, "r", stmt.as_bytes()).unwrap();
        assert_eq!(v.index, 2);
        assert_eq!(v.statement_id, stmt.id());
        assert_eq!(v.sub, "lot-1");
        assert_eq!(v.checkpoint_size, 4);
    }

    #[test]
    fn a_receipt_without_the_quorum_fails_verification() {
        let (_, text) = sample(&[2]);
        assert_eq!(verify_receipt(&trust(), &text, "r").unwrap_err().kind(), ErrorKind::Verification);
    }

    #[test]
    fn a_receipt_with_a_wrong_index_fails_verification() {
        let (_, text) = sample(&[1, 2]);
        let e = verify_receipt(&trust(), &text.replace("index 2", "index 1"), "r").unwrap_err();
        assert!(matches!(e, ClientError::Receipt { .. }), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Verification);
    }

    #[test]
    fn a_receipt_for_another_statement_is_a_mismatch() {
        let (_, text) = sample(&[1, 2]);
        let other =
            Statement::sign1(&SigningKey::from_bytes(&[4; 32]), "a", "b", 1, "text/plain", b"x").unwrap();
        let e = verify_receipt_for(&trust(), &text, "r", other.as_bytes()).unwrap_err();
        assert!(matches!(e, ClientError::StatementMismatch { .. }));
        assert_eq!(e.kind(), ErrorKind::Verification);
    }

    #[test]
    fn a_truncated_receipt_is_malformed() {
        let (_, text) = sample(&[1, 2]);
        let e = verify_receipt(&trust(), &text[..40], "r").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e:?}");
        let e = verify_receipt_for(&trust(), &text, "r", b"not cose").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
    }
}
