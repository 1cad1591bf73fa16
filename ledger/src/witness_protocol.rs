//! C2SP tlog-witness `add-checkpoint`: the request and response bodies, and
//! the decision a witness takes over them. Sans-I/O: no sockets, no clock, no
//! storage. `provlog-witness` wraps it in HTTP and keeps the state; the log
//! server uses the same types as a client.
//!
//! Spec: `spec/witness.md` (which follows c2sp.org/tlog-witness v1.0.0).
//!
//! ```text
//! request (POST <prefix>/add-checkpoint):
//!     old <size>\n                               canonical decimal
//!     <base64 SHA-256 hash>\n                    0 to 63 consistency-proof lines
//!     \n
//!     <signed checkpoint note>                   text, blank line, signature lines
//! 200: — <witness key name> <base64(key ID || timestamp || signature)>\n   one or more
//! 409: <size of the witness's latest cosigned checkpoint>\n
//!      Content-Type: text/x.tlog.size
//! ```

use crate::checkpoint::{self, Checkpoint, CheckpointError, SignedCheckpoint};
use crate::note::{self, Ed25519Verifier, NoteError, NoteSignature, NoteVerifier};
use crate::proof::{check_consistency, ProofError};
use crate::tile::parse_decimal;
use crate::tree::{empty_root, Hash};
use std::collections::BTreeMap;
use thiserror::Error;

/// The most consistency-proof lines a request may carry (a proof between
/// trees of at most 2^64 - 1 leaves never needs more).
pub const MAX_PROOF_LINES: usize = 63;
/// Request bodies longer than this are refused unread. The largest
/// well-formed request (63 proof lines, a checkpoint with 16 extension lines
/// and dozens of signatures) is far smaller.
pub const MAX_REQUEST_SIZE: usize = 64 << 10;
/// Response bodies longer than this are refused by [`parse_cosignatures`].
pub const MAX_RESPONSE_SIZE: usize = 64 << 10;
/// The content type of a 409 response.
pub const CONTENT_TYPE_TLOG_SIZE: &str = "text/x.tlog.size";

/// Why an `add-checkpoint` request body is malformed (answered with 400).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The body is over [`MAX_REQUEST_SIZE`].
    #[error("request body of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// The body is not UTF-8.
    #[error("request body is not UTF-8")]
    NotUtf8,
    /// The first line is not `old <size>` with a canonical decimal size.
    #[error("first line is not `old <size>` with a canonical decimal size")]
    BadOldLine,
    /// A proof line (numbered from 1 at the top of the body) is not the
    /// canonical base64 of 32 bytes.
    #[error("line {line} is not a base64 SHA-256 hash")]
    BadProofLine { line: usize },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {max} consistency-proof lines")]
    TooManyProofLines { max: usize },
    /// The body ends before the empty line that precedes the checkpoint.
    #[error("no empty line before the checkpoint")]
    MissingEmptyLine,
    /// What follows the empty line is not a signed checkpoint note.
    #[error("malformed signed checkpoint")]
    Checkpoint(#[source] CheckpointError),
}

/// Why a witness's response body is malformed (client side).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// The body is over [`MAX_RESPONSE_SIZE`].
    #[error("response body of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// The body is not UTF-8.
    #[error("response body is not UTF-8")]
    NotUtf8,
    /// A 200 body that is not one or more note signature lines.
    #[error("malformed cosignature lines")]
    BadCosignatures(#[source] NoteError),
    /// A 409 body that is not a canonical decimal followed by a newline.
    #[error("409 body is not `<size>\\n`")]
    BadSize,
}

/// Why a witness refuses to cosign a well-formed request. Each variant names
/// the HTTP status code C2SP tlog-witness assigns to it ([`Refusal::status`]).
/// The checks run in the order of the variants.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 404: the witness does not witness the checkpoint's origin.
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin { origin: String },
    /// 403: no signature on the checkpoint is by a key the witness trusts
    /// for its origin.
    #[error("no signature by a trusted key for origin {origin:?}")]
    NoTrustedSignature { origin: String },
    /// 403: a signature line names a trusted key (name and key ID) but does
    /// not verify. A security event.
    #[error("signature by trusted key {name}+{key_id:08x} does not verify")]
    BadSignature { name: String, key_id: u32 },
    /// 400: the old size is larger than the checkpoint's size.
    #[error("old size {old_size} is larger than the checkpoint size {size}")]
    OldSizeTooLarge { old_size: u64, size: u64 },
    /// 409: the old size is not the size of the latest checkpoint the
    /// witness cosigned for the origin (0 if none). The response body is
    /// `witness_size`, so that the client can retry with a proof from it.
    #[error("old size {old_size} is not the witness's size {witness_size}")]
    SizeConflict { old_size: u64, witness_size: u64 },
    /// 422: a checkpoint of size 0 whose root is not SHA-256(""). The log
    /// signed an impossible checkpoint: evidence of misbehavior.
    #[error("checkpoint of size 0 has root {root}, not the empty-tree root")]
    EmptyTreeRoot { root: Hash },
    /// 422: a proof where none may be: the old size is 0 (the empty tree is
    /// consistent with every tree), or it equals the checkpoint size.
    #[error("{proof_len} proof lines from size {old_size} to size {size}; the proof must be empty")]
    UnexpectedProof { old_size: u64, size: u64, proof_len: usize },
    /// 422: the checkpoint has the size of the witness's latest cosigned
    /// checkpoint but another root: the log signed two trees of one size,
    /// a fork. Evidence of misbehavior.
    #[error("checkpoint of size {size} has root {root}, but the witness cosigned root {witness_root}")]
    RootMismatch { size: u64, root: Hash, witness_root: Hash },
    /// 422: the consistency proof from the witness's latest cosigned
    /// checkpoint to this one does not verify. Kept as evidence: either the
    /// log forked, or the client sent a wrong proof.
    #[error("consistency proof from size {old_size} to size {size} does not verify")]
    InconsistentProof {
        old_size: u64,
        size: u64,
        #[source]
        source: ProofError,
    },
}

/// The kinds of refused submissions a witness keeps as evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EvidenceKind {
    /// Two log-signed checkpoints of one size with different roots.
    Fork,
    /// A log-signed checkpoint whose consistency proof from the witness's
    /// cosigned checkpoint failed.
    InconsistentProof,
    /// A log-signed checkpoint of size 0 with a root other than SHA-256("").
    BadEmptyRoot,
}

impl EvidenceKind {
    /// The name used in stored records and over HTTP.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Fork => "fork",
            EvidenceKind::InconsistentProof => "inconsistent-proof",
            EvidenceKind::BadEmptyRoot => "bad-empty-root",
        }
    }

    /// The inverse of [`EvidenceKind::as_str`].
    pub fn parse(s: &str) -> Option<EvidenceKind> {
        [EvidenceKind::Fork, EvidenceKind::InconsistentProof, EvidenceKind::BadEmptyRoot]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl Refusal {
    /// The HTTP status code C2SP tlog-witness assigns to this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::UnknownOrigin { .. } => 404,
            Refusal::NoTrustedSignature { .. } | Refusal::BadSignature { .. } => 403,
            Refusal::OldSizeTooLarge { .. } => 400,
            Refusal::SizeConflict { .. } => 409,
            Refusal::EmptyTreeRoot { .. }
            | Refusal::UnexpectedProof { .. }
            | Refusal::RootMismatch { .. }
            | Refusal::InconsistentProof { .. } => 422,
        }
    }

    /// Whether the refused checkpoint, validly signed by the log, is kept as
    /// evidence of misbehavior, and of which kind.
    pub fn evidence_kind(&self) -> Option<EvidenceKind> {
        match self {
            Refusal::RootMismatch { .. } => Some(EvidenceKind::Fork),
            Refusal::InconsistentProof { .. } => Some(EvidenceKind::InconsistentProof),
            Refusal::EmptyTreeRoot { .. } => Some(EvidenceKind::BadEmptyRoot),
            _ => None,
        }
    }
}

/// A parsed `add-checkpoint` request. The checkpoint is parsed but not yet
/// authenticated: [`decide`] checks its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the client's previous checkpoint, the start of `proof`.
    pub old_size: u64,
    /// The RFC 6962 consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The checkpoint body, not yet authenticated.
    pub checkpoint: Checkpoint,
    /// The signed checkpoint note exactly as received.
    pub note: String,
}

impl AddCheckpointRequest {
    /// A request for `signed_checkpoint` with a proof from `old_size`.
    ///
    /// # Errors
    /// [`RequestError::TooManyProofLines`], or [`RequestError::Checkpoint`] if
    /// `signed_checkpoint` is not a signed checkpoint note.
    pub fn new(old_size: u64, proof: Vec<Hash>, signed_checkpoint: &str) -> Result<Self, RequestError> {
        if proof.len() > MAX_PROOF_LINES {
            return Err(RequestError::TooManyProofLines { max: MAX_PROOF_LINES });
        }
        let checkpoint = parse_signed_checkpoint(signed_checkpoint)?;
        Ok(Self { old_size, proof, checkpoint, note: signed_checkpoint.to_owned() })
    }

    /// Parses a request body, exactly the grammar above and nothing else:
    /// one space after `old`, no leading zeroes, canonical base64 with
    /// padding, `\n` line ends, at most [`MAX_PROOF_LINES`] proof lines, at
    /// most [`MAX_REQUEST_SIZE`] bytes in all.
    ///
    /// # Errors
    /// A [`RequestError`] naming the first thing that is wrong.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(RequestError::TooLarge { len: body.len(), max: MAX_REQUEST_SIZE });
        }
        let body = std::str::from_utf8(body).map_err(|_| RequestError::NotUtf8)?;
        let rest = body.strip_prefix("old ").ok_or(RequestError::BadOldLine)?;
        let (old, mut rest) = rest.split_once('\n').ok_or(RequestError::BadOldLine)?;
        let old_size = parse_decimal(old).ok_or(RequestError::BadOldLine)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::MissingEmptyLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines { max: MAX_PROOF_LINES });
            }
            let hash = Hash::from_base64(line).ok_or(RequestError::BadProofLine { line: proof.len() + 2 })?;
            proof.push(hash);
        }
        let checkpoint = parse_signed_checkpoint(rest)?;
        Ok(Self { old_size, proof, checkpoint, note: rest.to_owned() })
    }

    /// Formats the request body; the inverse of [`AddCheckpointRequest::parse`].
    pub fn format(&self) -> String {
        let mut s = String::with_capacity(16 + 45 * self.proof.len() + 1 + self.note.len());
        s.push_str(&format!("old {}\n", self.old_size));
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.note);
        s
    }
}

/// Checks the shape of a signed checkpoint note and parses its body.
fn parse_signed_checkpoint(msg: &str) -> Result<Checkpoint, RequestError> {
    let (text, _) = note::split(msg).map_err(|e| RequestError::Checkpoint(e.into()))?;
    Checkpoint::parse(text).map_err(RequestError::Checkpoint)
}

/// Formats a 200 body: the cosignature lines, each ending in a newline.
pub fn format_cosignatures(lines: &[NoteSignature]) -> String {
    lines.iter().map(NoteSignature::line).collect()
}

/// Parses a 200 body: one or more note signature lines (client side). The
/// signatures are not verified: append them to the checkpoint and open the
/// note with the witness keys the client trusts.
///
/// # Errors
/// [`ResponseError`] if the body is too large, not UTF-8, or not signature
/// lines.
pub fn parse_cosignatures(body: &[u8]) -> Result<Vec<NoteSignature>, ResponseError> {
    if body.len() > MAX_RESPONSE_SIZE {
        return Err(ResponseError::TooLarge { len: body.len(), max: MAX_RESPONSE_SIZE });
    }
    let body = std::str::from_utf8(body).map_err(|_| ResponseError::NotUtf8)?;
    if body.is_empty() {
        return Err(ResponseError::BadCosignatures(NoteError::Malformed("no signature lines")));
    }
    // The signature block of a note has exactly this grammar; parse it as
    // one behind a placeholder text. `note::split` cuts at the last blank
    // line, so anything in the body up to a blank line of its own would
    // become part of the text: refuse that rather than skip it.
    const PLACEHOLDER: &str = "-\n";
    let block = format!("{PLACEHOLDER}\n{body}");
    let (text, sigs) = note::split(&block).map_err(ResponseError::BadCosignatures)?;
    if text != PLACEHOLDER {
        return Err(ResponseError::BadCosignatures(NoteError::Malformed("blank line in cosignature lines")));
    }
    Ok(sigs)
}

/// Formats a 409 body: the witness's size, in decimal, and a newline.
pub fn format_witness_size(size: u64) -> String {
    format!("{size}\n")
}

/// Parses a 409 body; the inverse of [`format_witness_size`].
///
/// # Errors
/// [`ResponseError::BadSize`] unless the body is a canonical decimal
/// followed by exactly one newline.
pub fn parse_witness_size(body: &[u8]) -> Result<u64, ResponseError> {
    let body = std::str::from_utf8(body).map_err(|_| ResponseError::NotUtf8)?;
    body.strip_suffix('\n').and_then(parse_decimal).ok_or(ResponseError::BadSize)
}

/// A log origin or key a witness cannot be configured with.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TrustedLogsError {
    /// The origin is empty or holds a control character, so it could never
    /// be a checkpoint's origin line.
    #[error("invalid log origin {origin:?}")]
    BadOrigin { origin: String },
    /// The same key is configured twice for one origin.
    #[error("key {vkey} is configured twice for origin {origin:?}")]
    DuplicateKey { origin: String, vkey: String },
}

/// The logs a witness witnesses: for each origin, the Ed25519 keys whose
/// checkpoint signatures it accepts (more than one during a key rotation).
#[derive(Clone, Debug, Default)]
pub struct TrustedLogs {
    logs: BTreeMap<String, Vec<Ed25519Verifier>>,
}

impl TrustedLogs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `verifier` for checkpoints of `origin`. The key's name need not
    /// equal the origin (C2SP only recommends it).
    ///
    /// # Errors
    /// [`TrustedLogsError`] for an origin that cannot appear in a checkpoint,
    /// or a key already trusted for it.
    pub fn add(&mut self, origin: &str, verifier: Ed25519Verifier) -> Result<(), TrustedLogsError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(TrustedLogsError::BadOrigin { origin: origin.to_owned() });
        }
        let keys = self.logs.entry(origin.to_owned()).or_default();
        if keys.iter().any(|k| k.vkey() == verifier.vkey()) {
            return Err(TrustedLogsError::DuplicateKey { origin: origin.to_owned(), vkey: verifier.vkey() });
        }
        keys.push(verifier);
        Ok(())
    }

    /// The keys trusted for `origin`, or `None` if it is not witnessed.
    pub fn verifiers(&self, origin: &str) -> Option<&[Ed25519Verifier]> {
        self.logs.get(origin).map(Vec::as_slice)
    }

    /// The witnessed origins, in lexical order.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }
}

/// Decides an `add-checkpoint` request, per the table of C2SP tlog-witness:
/// returns the authenticated checkpoint to cosign, or why not. `latest` is
/// the latest checkpoint the witness cosigned for the request's origin, or
/// `None` if it never cosigned one.
///
/// The caller must hold the origin's state fixed from reading `latest` until
/// it has durably stored the returned checkpoint as the new `latest`: the
/// decision and the update are one atomic step (`spec/witness.md`).
///
/// # Errors
/// The [`Refusal`], checked in the order of its variants.
pub fn decide(
    request: &AddCheckpointRequest,
    trusted: &TrustedLogs,
    latest: Option<&Checkpoint>,
) -> Result<SignedCheckpoint, Refusal> {
    let origin = &request.checkpoint.origin;
    let keys = trusted.verifiers(origin).ok_or_else(|| Refusal::UnknownOrigin { origin: origin.clone() })?;
    let keys: Vec<&dyn NoteVerifier> = keys.iter().map(|k| k as &dyn NoteVerifier).collect();
    let signed = checkpoint::open(&request.note, origin, &keys).map_err(|e| match e {
        CheckpointError::Note(NoteError::InvalidSignature { name, key_id }) => {
            Refusal::BadSignature { name, key_id }
        }
        // Anything else (no trusted signature; shapes already checked by the
        // parser) means the checkpoint is not authenticated.
        _ => Refusal::NoTrustedSignature { origin: origin.clone() },
    })?;
    let (old_size, size, root) = (request.old_size, signed.checkpoint.size, signed.checkpoint.root);
    if old_size > size {
        return Err(Refusal::OldSizeTooLarge { old_size, size });
    }
    let witness_size = latest.map_or(0, |c| c.size);
    if old_size != witness_size {
        return Err(Refusal::SizeConflict { old_size, witness_size });
    }
    if size == 0 && root != empty_root() {
        return Err(Refusal::EmptyTreeRoot { root });
    }
    let proof = &request.proof;
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(Refusal::UnexpectedProof { old_size, size, proof_len: proof.len() });
        }
        return Ok(signed);
    }
    // old_size > 0 equals the witness's size, so `latest` is present.
    let witness_root = latest.map(|c| c.root).expect("a cosigned checkpoint of size old_size > 0");
    if old_size == size {
        if root != witness_root {
            return Err(Refusal::RootMismatch { size, root, witness_root });
        }
        if !proof.is_empty() {
            return Err(Refusal::UnexpectedProof { old_size, size, proof_len: proof.len() });
        }
        return Ok(signed);
    }
    check_consistency(old_size, size, proof, &witness_root, &root)
        .map_err(|source| Refusal::InconsistentProof { old_size, size, source })?;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Ed25519Signer;
    use crate::proof::{prove_consistency, InMemoryLeaves};
    use crate::tree::{leaf_hash, root_of};

    const ORIGIN: &str = "example.com/log";

    struct Log {
        signer: Ed25519Signer,
        leaves: Vec<Hash>,
    }

    impl Log {
        fn new(n: u64, salt: u8) -> Log {
            let signer = Ed25519Signer::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
            Log { signer, leaves: (0..n).map(|i| leaf_hash(&[salt, i as u8])).collect() }
        }
        fn checkpoint(&self, size: u64) -> Checkpoint {
            Checkpoint::new(ORIGIN, size, root_of(&self.leaves[..size as usize]))
        }
        fn note(&self, size: u64) -> String {
            self.checkpoint(size).sign(&[&self.signer]).unwrap()
        }
        fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
            if old == 0 || old == new {
                return Vec::new();
            }
            let Ok(p) = prove_consistency(&InMemoryLeaves(&self.leaves[..new as usize]), old, new);
            p
        }
        fn request(&self, old: u64, new: u64) -> AddCheckpointRequest {
            AddCheckpointRequest::new(old, self.proof(old, new), &self.note(new)).unwrap()
        }
        fn trusted(&self) -> TrustedLogs {
            let mut t = TrustedLogs::new();
            t.add(ORIGIN, self.signer.verifier()).unwrap();
            t
        }
    }

    #[test]
    fn request_round_trips_through_its_body() {
        let log = Log::new(20, 0);
        for (old, new) in [(0, 0), (0, 5), (5, 5), (3, 17), (16, 20)] {
            let r = log.request(old, new);
            let body = r.format();
            assert_eq!(AddCheckpointRequest::parse(body.as_bytes()).unwrap(), r, "{body}");
        }
    }

    #[test]
    fn request_parses_the_spec_example_shape() {
        let log = Log::new(8, 0);
        let body = format!("old 3\n{}\n{}\n\n{}", log.proof(3, 8)[0], log.proof(3, 8)[1], log.note(8));
        let r = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
        assert_eq!((r.old_size, r.proof.len(), r.checkpoint.size), (3, 2, 8));
        assert_eq!(r.note, log.note(8));
    }

    #[test]
    fn request_grammar_errors_are_named() {
        let log = Log::new(8, 0);
        let note = log.note(8);
        let h = log.proof(3, 8)[0].to_base64();
        // The last base64 character before '=' carries 2 unused bits; set one.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut noncanonical = h.clone().into_bytes();
        let i = noncanonical.len() - 2;
        let v = ALPHABET.iter().position(|&c| c == noncanonical[i]).unwrap();
        noncanonical[i] = ALPHABET[v ^ 1];
        let noncanonical = String::from_utf8(noncanonical).unwrap();
        let e = |s: &str| AddCheckpointRequest::parse(s.as_bytes()).unwrap_err();
        use RequestError::*;
        assert_eq!(e(&format!("old 03\n\n{note}")), BadOldLine);
        assert_eq!(e(&format!("old +3\n\n{note}")), BadOldLine);
        assert_eq!(e(&format!("old  3\n\n{note}")), BadOldLine);
        assert_eq!(e(&format!("old 3 \n\n{note}")), BadOldLine);
        assert_eq!(e(&format!("Old 3\n\n{note}")), BadOldLine);
        assert_eq!(e(&format!("old 18446744073709551616\n\n{note}")), BadOldLine);
        assert_eq!(e("old 3"), BadOldLine);
        assert_eq!(e(&format!("old 3\r\n\r\n{note}")), BadOldLine);
        assert_eq!(e(&format!("old 3\n{h}x\n\n{note}")), BadProofLine { line: 2 });
        assert_eq!(e(&format!("old 3\n{h}\n{}\n\n{note}", &h[..43])), BadProofLine { line: 3 });
        assert_eq!(e(&format!("old 3\n{noncanonical}\n\n{note}")), BadProofLine { line: 2 });
        assert_eq!(e(&format!("old 3\n {h}\n\n{note}")), BadProofLine { line: 2 });
        let many = format!("{h}\n").repeat(MAX_PROOF_LINES + 1);
        assert_eq!(e(&format!("old 3\n{many}\n{note}")), TooManyProofLines { max: 63 });
        let max = format!("{h}\n").repeat(MAX_PROOF_LINES);
        assert_eq!(
            AddCheckpointRequest::parse(format!("old 3\n{max}\n{note}").as_bytes()).unwrap().proof.len(),
            63
        );
        assert_eq!(e(&format!("old 3\n{h}\n")), MissingEmptyLine);
        assert_eq!(e(&format!("old 3\n{h}")), MissingEmptyLine);
        assert!(matches!(e(&format!("old 3\n\n\n{note}")), Checkpoint(_)));
        assert!(matches!(e(&format!("old 3\n\n{}", note.trim_end())), Checkpoint(_)));
        assert!(matches!(e("old 3\n\nexample.com/log\n8\nAAAA\n\n\u{2014} k AAAAAAA=\n"), Checkpoint(_)));
        assert!(matches!(e(&format!("old 3\n\n{}", note.replace("\n8\n", "\n08\n"))), Checkpoint(_)));
        assert_eq!(AddCheckpointRequest::parse(&[b'o', 0xff]).unwrap_err(), NotUtf8);
        let big = vec![b'a'; MAX_REQUEST_SIZE + 1];
        assert_eq!(
            AddCheckpointRequest::parse(&big).unwrap_err(),
            TooLarge { len: MAX_REQUEST_SIZE + 1, max: MAX_REQUEST_SIZE }
        );
        assert_eq!(
            AddCheckpointRequest::new(0, vec![Hash::default(); 64], &note).unwrap_err(),
            TooManyProofLines { max: 63 }
        );
    }

    #[test]
    fn responses_round_trip() {
        assert_eq!(format_witness_size(20852014), "20852014\n");
        assert_eq!(parse_witness_size(b"20852014\n").unwrap(), 20852014);
        assert_eq!(parse_witness_size(b"0\n").unwrap(), 0);
        for bad in [&b"12"[..], b"012\n", b"12\n\n", b" 12\n", b"\n", b"-1\n", b"12\r\n"] {
            assert_eq!(parse_witness_size(bad), Err(ResponseError::BadSize), "{bad:?}");
        }
        let w = crate::cosignature::CosignatureSigner::new("w", crate::note::generate_signing_key()).unwrap();
        let text = Checkpoint::new(ORIGIN, 1, Hash::default()).to_text();
        let body = format!("{}{}", w.sign_line(&text, 1), w.sign_line(&text, 2));
        let sigs = parse_cosignatures(body.as_bytes()).unwrap();
        assert_eq!(sigs.len(), 2);
        assert_eq!(format_cosignatures(&sigs), body);
        for bad in ["", "\n", body.trim_end(), "- w AAAAAAA=\n"] {
            assert!(parse_cosignatures(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    /// Found by the `witness` fuzz target: a body with a blank line parsed
    /// as the signature lines after its last blank line, skipping the rest
    /// (here a whole request body) instead of refusing it.
    #[test]
    fn parse_cosignatures_refuses_lines_before_a_blank_line() {
        let w = crate::cosignature::CosignatureSigner::new("w", crate::note::generate_signing_key()).unwrap();
        let text = Checkpoint::new(ORIGIN, 1, Hash::default()).to_text();
        let line = w.sign_line(&text, 1);
        for bad in [
            format!("\n{line}"),
            format!("\n\n{line}"),
            format!("{line}\n{line}"),
            format!("junk\n\n{line}"),
            format!("old 0\n\n{text}\n{line}"),
        ] {
            assert_eq!(
                parse_cosignatures(bad.as_bytes()),
                Err(ResponseError::BadCosignatures(NoteError::Malformed("blank line in cosignature lines"))),
                "{bad:?}"
            );
        }
        assert_eq!(format_cosignatures(&parse_cosignatures(line.as_bytes()).unwrap()), line);
    }

    #[test]
    fn trusted_logs_refuse_bad_origins_and_duplicate_keys() {
        let log = Log::new(1, 0);
        let mut t = log.trusted();
        assert!(matches!(t.add(ORIGIN, log.signer.verifier()), Err(TrustedLogsError::DuplicateKey { .. })));
        assert!(matches!(t.add("", log.signer.verifier()), Err(TrustedLogsError::BadOrigin { .. })));
        assert!(matches!(t.add("a\tb", log.signer.verifier()), Err(TrustedLogsError::BadOrigin { .. })));
        t.add("other.example/log", log.signer.verifier()).unwrap();
        assert_eq!(t.origins().collect::<Vec<_>>(), vec![ORIGIN, "other.example/log"]);
    }

    #[test]
    fn decide_cosigns_first_checkpoint_and_consistent_extensions() {
        let log = Log::new(20, 0);
        let t = log.trusted();
        assert_eq!(decide(&log.request(0, 7), &t, None).unwrap().checkpoint, log.checkpoint(7));
        assert!(decide(&log.request(0, 0), &t, None).is_ok());
        assert!(decide(&log.request(0, 9), &t, Some(&log.checkpoint(0))).is_ok());
        assert!(decide(&log.request(7, 20), &t, Some(&log.checkpoint(7))).is_ok());
        assert!(decide(&log.request(7, 7), &t, Some(&log.checkpoint(7))).is_ok());
        assert!(decide(&log.request(16, 20), &t, Some(&log.checkpoint(16))).is_ok());
    }

    #[test]
    fn decide_refuses_unknown_origin_with_404() {
        let log = Log::new(5, 0);
        let r = decide(&log.request(0, 5), &TrustedLogs::new(), None).unwrap_err();
        assert_eq!(r, Refusal::UnknownOrigin { origin: ORIGIN.into() });
        assert_eq!(r.status(), 404);
    }

    #[test]
    fn decide_refuses_untrusted_or_bad_signatures_with_403() {
        let log = Log::new(5, 0);
        let stranger = Ed25519Signer::generate(ORIGIN).unwrap();
        let mut t = TrustedLogs::new();
        t.add(ORIGIN, stranger.verifier()).unwrap();
        let r = decide(&log.request(0, 5), &t, None).unwrap_err();
        assert_eq!(r, Refusal::NoTrustedSignature { origin: ORIGIN.into() });
        assert_eq!(r.status(), 403);

        let t = log.trusted();
        let mut req = log.request(0, 5);
        // Same key and text, a signature over other text.
        let other = log
            .signer
            .sign_line("example.com/log\n6\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
            .unwrap();
        req.note = format!("{}\n{other}", log.checkpoint(5).to_text());
        let r = decide(&req, &t, None).unwrap_err();
        assert!(matches!(r, Refusal::BadSignature { ref name, .. } if name == ORIGIN));
        assert_eq!(r.status(), 403);
        // A bad signature is refused even before a good one. (After a good
        // one by the same key it is a repeat, ignored as in `note::open`.)
        req.note = format!(
            "{}\n{other}{}",
            log.checkpoint(5).to_text(),
            log.signer.sign_line(&log.checkpoint(5).to_text()).unwrap()
        );
        assert_eq!(decide(&req, &t, None).unwrap_err().status(), 403);
        // Unknown keys are ignored.
        req.note = format!("{}{}", log.note(5), stranger.sign_line(&log.checkpoint(5).to_text()).unwrap());
        assert!(decide(&req, &t, None).is_ok());
    }

    #[test]
    fn decide_refuses_old_size_above_checkpoint_size_with_400() {
        let log = Log::new(9, 0);
        let req = AddCheckpointRequest::new(9, Vec::new(), &log.note(5)).unwrap();
        let r = decide(&req, &log.trusted(), Some(&log.checkpoint(9))).unwrap_err();
        assert_eq!(r, Refusal::OldSizeTooLarge { old_size: 9, size: 5 });
        assert_eq!(r.status(), 400);
    }

    #[test]
    fn decide_answers_a_stale_or_unknown_old_size_with_409_and_its_size() {
        let log = Log::new(9, 0);
        let t = log.trusted();
        let r = decide(&log.request(3, 9), &t, Some(&log.checkpoint(5))).unwrap_err();
        assert_eq!(r, Refusal::SizeConflict { old_size: 3, witness_size: 5 });
        assert_eq!(r.status(), 409);
        let r = decide(&log.request(0, 9), &t, Some(&log.checkpoint(5))).unwrap_err();
        assert_eq!(r, Refusal::SizeConflict { old_size: 0, witness_size: 5 });
        let r = decide(&log.request(5, 9), &t, None).unwrap_err();
        assert_eq!(r, Refusal::SizeConflict { old_size: 5, witness_size: 0 });
        // A rollback presented from the witness's own size is a 400, from an
        // older size a 409: never a cosignature.
        let req = AddCheckpointRequest::new(5, Vec::new(), &log.note(3)).unwrap();
        assert_eq!(decide(&req, &t, Some(&log.checkpoint(5))).unwrap_err().status(), 400);
    }

    #[test]
    fn decide_refuses_a_nonempty_root_at_size_zero_with_422_as_evidence() {
        let log = Log::new(1, 0);
        let note = Checkpoint::new(ORIGIN, 0, log.leaves[0]).sign(&[&log.signer]).unwrap();
        let r =
            decide(&AddCheckpointRequest::new(0, vec![], &note).unwrap(), &log.trusted(), None).unwrap_err();
        assert_eq!(r, Refusal::EmptyTreeRoot { root: log.leaves[0] });
        assert_eq!((r.status(), r.evidence_kind()), (422, Some(EvidenceKind::BadEmptyRoot)));
    }

    #[test]
    fn decide_refuses_a_proof_from_size_zero_or_between_equal_sizes_with_422() {
        let log = Log::new(9, 0);
        let t = log.trusted();
        let proof_len = log.proof(3, 9).len();
        let req = AddCheckpointRequest::new(0, log.proof(3, 9), &log.note(9)).unwrap();
        let r = decide(&req, &t, None).unwrap_err();
        assert_eq!(r, Refusal::UnexpectedProof { old_size: 0, size: 9, proof_len });
        assert_eq!((r.status(), r.evidence_kind()), (422, None));
        let req = AddCheckpointRequest::new(9, log.proof(3, 9), &log.note(9)).unwrap();
        let r = decide(&req, &t, Some(&log.checkpoint(9))).unwrap_err();
        assert_eq!((r.status(), r.evidence_kind()), (422, None));
    }

    #[test]
    fn decide_refuses_a_fork_at_the_witness_size_with_422_as_evidence() {
        let (a, b) = (Log::new(9, 0), Log::new(9, 1));
        let r = decide(&b.request(9, 9), &a.trusted(), Some(&a.checkpoint(9))).unwrap_err();
        assert_eq!(
            r,
            Refusal::RootMismatch { size: 9, root: b.checkpoint(9).root, witness_root: a.checkpoint(9).root }
        );
        assert_eq!((r.status(), r.evidence_kind()), (422, Some(EvidenceKind::Fork)));
    }

    #[test]
    fn decide_refuses_a_failing_consistency_proof_with_422_as_evidence() {
        let (a, b) = (Log::new(20, 0), Log::new(20, 1));
        let t = a.trusted();
        // b's proof is valid for b's tree, which does not extend a's.
        let r = decide(&b.request(9, 20), &t, Some(&a.checkpoint(9))).unwrap_err();
        assert!(matches!(
            r,
            Refusal::InconsistentProof { old_size: 9, size: 20, source: ProofError::RootMismatch { .. } }
        ));
        assert_eq!((r.status(), r.evidence_kind()), (422, Some(EvidenceKind::InconsistentProof)));
        // A truncated or empty proof is a failed proof too.
        let mut req = a.request(9, 20);
        req.proof.pop();
        let r = decide(&req, &t, Some(&a.checkpoint(9))).unwrap_err();
        assert!(matches!(r, Refusal::InconsistentProof { source: ProofError::WrongLength { .. }, .. }));
        req.proof.clear();
        assert_eq!(decide(&req, &t, Some(&a.checkpoint(9))).unwrap_err().status(), 422);
    }

    #[test]
    fn evidence_kinds_round_trip_through_their_names() {
        for k in [EvidenceKind::Fork, EvidenceKind::InconsistentProof, EvidenceKind::BadEmptyRoot] {
            assert_eq!(EvidenceKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EvidenceKind::parse("other"), None);
    }
}
