//! Receipts: C2SP tlog-proof (`c2sp.org/tlog-proof@v1`), the portable,
//! offline proof that an entry is in the log. Sans-I/O: parse, format, and
//! check against keys the caller trusts.
//!
//! Spec: `spec/receipt.md`.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the entry record>        (provlog always writes it)
//! index <leaf index>
//! <base64 inclusion-proof hash>             (0 to 63 lines, leaf sibling first)
//!
//! <signed checkpoint note, with every cosignature>
//! ```
//!
//! provlog puts the entry record (`spec/statement.md`, "Entries") in `extra`:
//! the leaf hash is `SHA-256(0x00 || entry)`, so the inclusion proof
//! authenticates it, and with it the registration time, the rule set and the
//! flags the log recorded for the statement.

use crate::checkpoint::{self, CheckpointError, SignedCheckpoint};
use crate::note::NoteVerifier;
use crate::proof::{self, ProofError};
use crate::tile::parse_decimal;
use crate::tree::{leaf_hash, Hash};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::fmt::Write as _;
use thiserror::Error;

/// The first line of every receipt.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most proof lines (a tree of 2^63 leaves needs 63).
pub const MAX_PROOF_LINES: usize = 63;
/// Receipts larger than this are refused unread.
pub const MAX_RECEIPT_SIZE: usize = 256 * 1024;

/// A parsed receipt; nothing in it is verified yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The unauthenticated `extra` data (for provlog: the entry record).
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, exactly as carried.
    pub checkpoint: String,
}

/// Why a receipt was refused. [`ReceiptError::Malformed`] is bad input;
/// the others are failed verifications.
#[derive(Debug, Error)]
pub enum ReceiptError {
    #[error("malformed receipt: {0}")]
    Malformed(&'static str),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    #[error("the receipt carries no entry, so there is nothing to prove")]
    NoEntry,
}

impl ReceiptError {
    /// Whether this is a failed verification (a security event) rather than
    /// malformed input.
    pub fn is_verification_failure(&self) -> bool {
        !matches!(
            self,
            ReceiptError::Malformed(_)
                | ReceiptError::NoEntry
                | ReceiptError::Checkpoint(CheckpointError::Malformed(_))
                | ReceiptError::Checkpoint(CheckpointError::Note(crate::note::NoteError::Malformed(_)))
        )
    }
}

impl Receipt {
    /// The receipt as text.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(200 + 45 * self.proof.len() + self.checkpoint.len());
        self.write_text(&mut s, "\n", &self.checkpoint);
        s
    }

    /// Appends the receipt's text to `out` with every line break written as
    /// `newline` and `checkpoint` in place of [`Receipt::checkpoint`]: for
    /// putting the receipt inside another format (a JSON string) without
    /// escaping all of it. Everything else in a receipt is ASCII letters,
    /// digits, `+`, `/`, `=`, `.`, `-`, `@` and spaces, which need no
    /// escaping in a JSON string; so the caller passes its escaped line
    /// break and the checkpoint escaped once (it is the same for every
    /// receipt against one checkpoint).
    pub fn write_text(&self, out: &mut String, newline: &str, checkpoint: &str) {
        out.push_str(HEADER);
        out.push_str(newline);
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            BASE64.encode_string(extra, out);
            out.push_str(newline);
        }
        let _ = write!(out, "index {}", self.index);
        out.push_str(newline);
        for h in &self.proof {
            BASE64.encode_string(h.0, out);
            out.push_str(newline);
        }
        out.push_str(newline);
        out.push_str(checkpoint);
    }

    /// Parses a receipt.
    ///
    /// # Errors
    /// [`ReceiptError::Malformed`] naming the bad line.
    pub fn parse(text: &str) -> Result<Receipt, ReceiptError> {
        let bad = ReceiptError::Malformed;
        if text.len() > MAX_RECEIPT_SIZE {
            return Err(bad("receipt too large"));
        }
        let (head, checkpoint) = text.split_once("\n\n").ok_or(bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or(bad("missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(BASE64.decode(b64).map_err(|_| bad("extra is not base64"))?);
            line = lines.next().ok_or(bad("missing index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(bad("index line is not `index <decimal>`"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 proof lines"));
            }
            proof.push(Hash::from_base64(l).ok_or(bad("proof line is not a base64 SHA-256 hash"))?);
        }
        if checkpoint.is_empty() {
            return Err(bad("missing checkpoint"));
        }
        Ok(Receipt { extra, index, proof, checkpoint: checkpoint.to_owned() })
    }

    /// Checks the receipt against the log's key: the checkpoint is signed by
    /// it for `origin`, and the entry in `extra` is at `index` in the tree
    /// the checkpoint commits to. Witness cosignatures in the checkpoint are
    /// checked by the caller's policy (`verifiers` may include witness keys;
    /// every signature by a key in `verifiers` must be valid).
    ///
    /// # Errors
    /// [`ReceiptError`]: malformed, bad signature, or bad proof.
    pub fn verify(
        &self,
        origin: &str,
        verifiers: &[&dyn NoteVerifier],
    ) -> Result<SignedCheckpoint, ReceiptError> {
        let signed = checkpoint::open(&self.checkpoint, origin, verifiers)?;
        let entry = self.extra.as_ref().ok_or(ReceiptError::NoEntry)?;
        let cp = &signed.checkpoint;
        proof::check_inclusion(&leaf_hash(entry), self.index, cp.size, &self.proof, &cp.root)?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::Ed25519Signer;
    use crate::proof::{prove_inclusion, InMemoryLeaves};
    use crate::tree::root_of;

    fn sample() -> (Receipt, Ed25519Signer) {
        let entries: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let log = Ed25519Signer::generate("example.com/log").unwrap();
        let cp = Checkpoint::new("example.com/log", 5, root_of(&leaves)).sign(&[&log]).unwrap();
        let proof = prove_inclusion(&InMemoryLeaves(&leaves), 3, 5).unwrap();
        (Receipt { extra: Some(entries[3].clone()), index: 3, proof, checkpoint: cp }, log)
    }

    #[test]
    fn receipt_round_trips_and_verifies() {
        let (r, log) = sample();
        let parsed = Receipt::parse(&r.to_text()).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(parsed.verify("example.com/log", &[&log.verifier()]).unwrap().checkpoint.size, 5);
    }

    #[test]
    fn written_into_a_json_string_it_reads_back_as_the_text() {
        let (r, _) = sample();
        let escaped = serde_json::to_string(&r.checkpoint).unwrap();
        let mut json = String::from("\"");
        r.write_text(&mut json, "\\n", &escaped[1..escaped.len() - 1]);
        json.push('"');
        assert!(r.checkpoint.contains('\u{2014}') && r.checkpoint.contains('\n'), "{}", r.checkpoint);
        assert_eq!(serde_json::from_str::<String>(&json).unwrap(), r.to_text());
        assert_eq!(json, serde_json::to_string(&r.to_text()).unwrap(), "the escaping serde_json does");
    }

    #[test]
    fn a_receipt_for_another_entry_fails_verification() {
        let (mut r, log) = sample();
        r.extra = Some(vec![9; 10]);
        let err = r.verify("example.com/log", &[&log.verifier()]).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
        let (mut r, log) = sample();
        r.index = 2;
        assert!(r.verify("example.com/log", &[&log.verifier()]).unwrap_err().is_verification_failure());
    }

    #[test]
    fn malformed_receipts_are_not_verification_failures() {
        let (r, _) = sample();
        let text = r.to_text();
        for bad in [
            text.replacen(HEADER, "c2sp.org/tlog-proof@v2", 1),
            text.replacen("index 3", "index 03", 1),
            text.replacen("\n\n", "\n", 1),
            text.replacen("index 3\n", "index 3\nnot-a-hash\n", 1),
        ] {
            let err = Receipt::parse(&bad).unwrap_err();
            assert!(!err.is_verification_failure(), "{err}");
        }
    }

    /// spec/receipt.md: a receipt without `extra` parses, and is then
    /// refused as malformed once its checkpoint has opened, not as a
    /// failed verification.
    #[test]
    fn a_receipt_without_extra_parses_and_is_refused_as_malformed() {
        let (mut r, log) = sample();
        r.extra = None;
        let parsed = Receipt::parse(&r.to_text()).unwrap();
        assert_eq!(parsed, r);
        let err = parsed.verify("example.com/log", &[&log.verifier()]).unwrap_err();
        assert!(matches!(err, ReceiptError::NoEntry), "{err}");
        assert!(!err.is_verification_failure());
        // The checkpoint is opened first: under another log's key the
        // answer is the failed signature, not the missing entry.
        let other = Ed25519Signer::generate("example.com/log").unwrap();
        let err = parsed.verify("example.com/log", &[&other.verifier()]).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
    }

    /// spec/receipt.md: receipts over 256 KiB are refused unread; the
    /// largest that fit are read.
    #[test]
    fn receipts_over_256_kib_are_refused() {
        let (mut r, _) = sample();
        r.extra = Some(Vec::new());
        // Base64 of 3n bytes is 4n characters: the largest entry that
        // keeps the receipt within the limit, and 3 bytes more.
        let fits = (MAX_RECEIPT_SIZE - r.to_text().len()) / 4 * 3;
        r.extra = Some(vec![7; fits]);
        let within = r.to_text();
        assert!(within.len() <= MAX_RECEIPT_SIZE && within.len() > MAX_RECEIPT_SIZE - 4, "{}", within.len());
        assert_eq!(Receipt::parse(&within).unwrap(), r);
        r.extra = Some(vec![7; fits + 3]);
        let over = r.to_text();
        assert!(over.len() > MAX_RECEIPT_SIZE);
        let err = Receipt::parse(&over).unwrap_err();
        assert!(matches!(err, ReceiptError::Malformed("receipt too large")), "{err}");
    }
}
