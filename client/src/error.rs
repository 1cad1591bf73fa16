//! The client's one error type, and the three kinds of failure it keeps
//! apart: malformed input, failed verification (a security event), and
//! transport or storage trouble.
//!
//! Spec: `spec/client.md` ("Failures and exit status").
//!
//! The kind decides what a user should do. Malformed input is fixed by
//! fixing the input; a transport failure by trying again later; a failed
//! verification is evidence that a log, a witness or a partner misbehaved,
//! and is never retried away. A network error is never reported as a
//! failed verification, nor the reverse: every variant has exactly one
//! kind, chosen where the error is made, where the cause is known.

use provlog_ledger::entry::EntryError;
use provlog_ledger::epcis::EpcisError;
use provlog_ledger::keyfile::KeyFileError;
use provlog_ledger::log::LogError;
use provlog_ledger::note::NoteError;
use provlog_ledger::policy::{PolicyCheckError, PolicyError};
use provlog_ledger::proof::ProofError;
use provlog_ledger::receipt::ReceiptError;
use provlog_ledger::statement::{StatementError, StatementId};
use provlog_ledger::tile::TileError;
use provlog_ledger::Hash;
use serde::Serialize;
use std::path::PathBuf;
use thiserror::Error;

/// Which of the three kinds of failure an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad input: a file, an argument or a response body that does not
    /// parse. Fix the input.
    Malformed,
    /// A failed verification: a bad signature, a quorum not met, a proof
    /// that does not check, a fork, tile content that does not match its
    /// entries, a replayed decision that differs. A security event.
    Verification,
    /// The network, an HTTP status, or the local disk. Try again later.
    Transport,
}

/// Everything that can go wrong in the client. Each variant has one
/// [`ErrorKind`] ([`ClientError::kind`]).
#[derive(Debug, Error)]
pub enum ClientError {
    // ---- malformed input ----
    /// A trust policy file is not C2SP tlog-policy.
    #[error("policy {path}")]
    Policy {
        path: PathBuf,
        #[source]
        source: PolicyError,
    },
    /// A policy that does not name exactly the one log the command needs.
    #[error("policy {path}: {reason}")]
    PolicyLog { path: PathBuf, reason: &'static str },
    /// A receipt (tlog-proof) that does not parse.
    #[error("receipt {what} is malformed")]
    MalformedReceipt {
        what: String,
        #[source]
        source: ReceiptError,
    },
    /// A checkpoint note that does not parse (the policy check never ran).
    #[error("checkpoint from {what} is malformed")]
    MalformedCheckpoint {
        what: String,
        #[source]
        source: PolicyCheckError,
    },
    /// A statement that does not parse (`spec/statement.md`).
    #[error("statement {what} is malformed")]
    MalformedStatement {
        what: String,
        #[source]
        source: StatementError,
    },
    /// An EPCIS document or event the log would refuse as malformed.
    #[error("EPCIS input {what}")]
    Epcis {
        what: String,
        #[source]
        source: EpcisError,
    },
    /// A key file that is not one signer key line, or is readable by others.
    #[error(transparent)]
    KeyFile(KeyFileError),
    /// A public key given as an argument or in a file is not usable.
    #[error("key {what}: {reason}")]
    BadKey { what: String, reason: String },
    /// A JSON file (state, proposal, record, partner, rule set) that does
    /// not parse.
    #[error("{path} is not valid {what}")]
    Json {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A file or argument that parses but does not make sense.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    /// A server's response that does not have the form its endpoint
    /// promises (not a checkpoint, not JSON, a tile of the wrong length).
    #[error("response from {url} is malformed: {reason}")]
    BadResponse { url: String, reason: String },

    // ---- failed verification ----
    /// The checkpoint does not satisfy the trust policy: a bad or missing
    /// log signature, a bad cosignature, or too few cosignatures.
    #[error("checkpoint from {what} does not satisfy the policy")]
    Checkpoint {
        what: String,
        #[source]
        source: PolicyCheckError,
    },
    /// A receipt's signatures or inclusion proof do not verify.
    #[error("receipt {what} does not verify")]
    Receipt {
        what: String,
        #[source]
        source: ReceiptError,
    },
    /// The entry a receipt proves is not the statement the holder has.
    #[error("the receipt proves statement {proved}, not {expected}")]
    StatementMismatch { proved: StatementId, expected: StatementId },
    /// A statement's signature does not verify under the key its `kid` names.
    #[error("statement {what}: signer {signer} does not verify")]
    StatementSignature {
        what: String,
        signer: usize,
        #[source]
        source: StatementError,
    },
    /// A statement signed by a key the caller does not trust.
    #[error("statement {what}: signer {signer} has kid {kid}, which is not a trusted key")]
    UnknownSigner { what: String, signer: usize, kid: String },
    /// The log served a checkpoint smaller than one it signed before.
    #[error("rollback: the log now serves size {served_size}, but size {verified_size} was verified")]
    Rollback { verified_size: u64, served_size: u64 },
    /// Two different roots signed for one size.
    #[error("fork: size {size} was verified with root {verified_root}, the log now serves {served_root}")]
    Fork { size: u64, verified_root: Hash, served_root: Hash },
    /// The log's consistency proof between a verified checkpoint and a new
    /// one does not check: the new tree does not extend the old one.
    #[error("fork: no valid consistency proof from size {old_size} to size {new_size}")]
    Inconsistent {
        old_size: u64,
        new_size: u64,
        #[source]
        source: ProofError,
    },
    /// A hash tile that differs from the hashes recomputed from the entries.
    #[error("tile {tile} differs from the hashes recomputed from the entries")]
    TileMismatch { tile: String },
    /// An entry the log served before (in a partial bundle) changed.
    #[error("entry {index} changed since it was verified")]
    EntryChanged { index: u64 },
    /// An entry bundle with the wrong number of entries, or bad framing.
    #[error("entry bundle {tile} is not what the checkpoint commits to")]
    Bundle {
        tile: String,
        #[source]
        source: TileError,
    },
    /// The tree recomputed from the entries has another root than the
    /// checkpoint.
    #[error("the tree of {size} entries recomputed from the tiles has root {computed}, the checkpoint says {signed}")]
    RootMismatch { size: u64, computed: Hash, signed: Hash },
    /// An entry the log committed to that is not an entry record holding a
    /// statement: the log accepted what it could not have accepted.
    #[error("entry {index} is not a valid entry record")]
    BadEntry {
        index: u64,
        #[source]
        source: EntryError,
    },
    /// An entry whose statement does not parse.
    #[error("entry {index} holds no valid statement")]
    BadEntryStatement {
        index: u64,
        #[source]
        source: StatementError,
    },
    /// Replaying the log's decisions from entry 0 reached another decision.
    #[error("replay diverges at entry {index}: {reason}")]
    Divergence { index: u64, reason: String },
    /// An entry of a lineage answer whose inclusion proof does not put it
    /// in the checkpoint's tree.
    #[error("entry {index} of the lineage answer is not proven in the checkpoint's tree")]
    AnswerProof {
        index: u64,
        #[source]
        source: ProofError,
    },
    /// An entry of a lineage answer, proven in the log, that is no entry
    /// record holding a statement.
    #[error("entry {index} of the lineage answer is not a valid entry")]
    AnswerEntry {
        index: u64,
        #[source]
        source: provlog_ledger::lineage::SummaryError,
    },
    /// A lineage answer that its proven entries contradict, or that
    /// answers another question than the one asked.
    #[error("the lineage answer does not match its proven entries: {reason}")]
    AnswerMismatch { reason: String },

    // ---- transport and storage ----
    /// The request failed: connection refused, reset, timeout, TLS.
    #[error("request to {url} failed")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an unexpected status.
    #[error("{url} answered HTTP {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    HttpStatus { url: String, status: u16, detail: Option<String> },
    /// The response is larger than the client accepts from that endpoint.
    #[error("response from {url} exceeds {limit} bytes")]
    ResponseTooLarge { url: String, limit: usize },
    /// A statement stayed pending for longer than the client waits.
    #[error("statement {id} is still pending after {waited_s} s")]
    StillPending { id: StatementId, waited_s: u64 },
    /// A local file could not be read or written.
    #[error("{op} {path}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file the user named (a policy, a key, a receipt, an input) could
    /// not be read: malformed input if it is missing, unreadable or not a
    /// file, a transport failure for any other I/O error.
    #[error("{op} {path}")]
    Input {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The local scratch store of a replay failed.
    #[error("replay scratch store")]
    Store {
        #[source]
        source: LogError,
    },
}

impl ClientError {
    /// The kind of this failure.
    pub fn kind(&self) -> ErrorKind {
        use ClientError::*;
        match self {
            Policy { .. }
            | PolicyLog { .. }
            | MalformedReceipt { .. }
            | MalformedCheckpoint { .. }
            | MalformedStatement { .. }
            | Epcis { .. }
            | BadKey { .. }
            | Json { .. }
            | Invalid { .. }
            | BadResponse { .. } => ErrorKind::Malformed,
            KeyFile(e) => match e {
                KeyFileError::Read { source, .. } => input_kind(source),
                KeyFileError::Write { .. } => ErrorKind::Transport,
                _ => ErrorKind::Malformed,
            },
            Input { source, .. } => input_kind(source),
            Checkpoint { .. }
            | Receipt { .. }
            | StatementMismatch { .. }
            | StatementSignature { .. }
            | UnknownSigner { .. }
            | Rollback { .. }
            | Fork { .. }
            | Inconsistent { .. }
            | TileMismatch { .. }
            | EntryChanged { .. }
            | Bundle { .. }
            | RootMismatch { .. }
            | BadEntry { .. }
            | BadEntryStatement { .. }
            | Divergence { .. }
            | AnswerProof { .. }
            | AnswerEntry { .. }
            | AnswerMismatch { .. } => ErrorKind::Verification,
            Http { .. }
            | HttpStatus { .. }
            | ResponseTooLarge { .. }
            | StillPending { .. }
            | Io { .. }
            | Store { .. } => ErrorKind::Transport,
        }
    }

    /// Whether this is evidence that the log forked or rolled back: two
    /// checkpoints, both satisfying the policy, that no append-only log
    /// could have signed. A failed verification of its own exit status.
    pub fn is_fork(&self) -> bool {
        matches!(
            self,
            ClientError::Rollback { .. } | ClientError::Fork { .. } | ClientError::Inconsistent { .. }
        )
    }

    /// The process exit status for this error (`spec/client.md`): 1 failed
    /// verification, 2 malformed input, 3 transport or storage, 4 fork.
    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            _ if self.is_fork() => crate::EXIT_FORK,
            ErrorKind::Verification => crate::EXIT_NOT_VERIFIED,
            ErrorKind::Malformed => crate::EXIT_MALFORMED,
            ErrorKind::Transport => crate::EXIT_TRANSPORT,
        }
    }

    /// A closure making [`ClientError::Io`] for `op` on `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ClientError {
        let path = path.into();
        move |source| ClientError::Io { op, path, source }
    }

    /// [`ClientError::Input`] for `path`, a file the user named.
    pub fn input(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ClientError {
        let path = path.into();
        move |source| ClientError::Input { op, path, source }
    }

    /// [`ClientError::Invalid`]: input that parses but makes no sense.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> ClientError {
        ClientError::Invalid { what: what.into(), reason: reason.into() }
    }

    /// Sorts a failed policy check into malformed input (the note or the
    /// checkpoint text does not parse) or a failed verification.
    pub(crate) fn from_policy_check(what: impl Into<String>, source: PolicyCheckError) -> ClientError {
        let malformed = matches!(
            &source,
            PolicyCheckError::Note(NoteError::Malformed(_) | NoteError::BadKey(_))
                | PolicyCheckError::Checkpoint(provlog_ledger::checkpoint::CheckpointError::Malformed(_))
        );
        if malformed {
            ClientError::MalformedCheckpoint { what: what.into(), source }
        } else {
            ClientError::Checkpoint { what: what.into(), source }
        }
    }

    /// Sorts a receipt error into malformed input or a failed verification.
    pub(crate) fn from_receipt(what: impl Into<String>, source: ReceiptError) -> ClientError {
        if source.is_verification_failure() {
            ClientError::Receipt { what: what.into(), source }
        } else {
            ClientError::MalformedReceipt { what: what.into(), source }
        }
    }
}

impl From<KeyFileError> for ClientError {
    fn from(e: KeyFileError) -> ClientError {
        ClientError::KeyFile(e)
    }
}

/// The chain of causes of an error, outermost first, joined by ": ".
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The kind of a failed read of a file the user named: the user's
/// mistake (missing, not readable by them, not a file) is malformed input;
/// anything else (a disk error) is a transport failure, worth a retry.
fn input_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::NotFound | Io::PermissionDenied | Io::IsADirectory | Io::InvalidInput | Io::InvalidFilename => {
            ErrorKind::Malformed
        }
        _ => ErrorKind::Transport,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fork_is_a_verification_failure_with_its_own_exit_code() {
        let fork = ClientError::Rollback { verified_size: 5, served_size: 3 };
        assert_eq!(fork.kind(), ErrorKind::Verification);
        assert!(fork.is_fork());
        assert_eq!(fork.exit_code(), crate::EXIT_FORK);
        let tile = ClientError::TileMismatch { tile: "tile/0/000".into() };
        assert!(!tile.is_fork());
        assert_eq!(tile.exit_code(), crate::EXIT_NOT_VERIFIED);
    }

    #[test]
    fn http_statuses_and_disk_errors_are_transport_failures() {
        let e = ClientError::HttpStatus { url: "http://x/checkpoint".into(), status: 503, detail: None };
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert_eq!(e.exit_code(), crate::EXIT_TRANSPORT);
        let e = ClientError::io("read", "/nonexistent")(std::io::Error::other("boom"));
        assert_eq!(e.kind(), ErrorKind::Transport);
    }

    #[test]
    fn unparsable_checkpoints_are_malformed_and_bad_signatures_are_not() {
        let e = ClientError::from_policy_check(
            "x",
            PolicyCheckError::Note(NoteError::Malformed("no blank line")),
        );
        assert_eq!(e.kind(), ErrorKind::Malformed);
        let e = ClientError::from_policy_check(
            "x",
            PolicyCheckError::Note(NoteError::NoKnownSignature {
                signed: vec![("a".into(), 1)],
                known: Vec::new(),
            }),
        );
        assert_eq!(e.kind(), ErrorKind::Verification);
        let e = ClientError::from_policy_check("x", PolicyCheckError::QuorumNotMet { cosigners: vec![] });
        assert_eq!(e.kind(), ErrorKind::Verification);
    }

    #[test]
    fn error_chain_keeps_every_cause() {
        let e = ClientError::Inconsistent {
            old_size: 3,
            new_size: 7,
            source: ProofError::WrongLength { got: 1, want: 3 },
        };
        assert_eq!(
            chain(&e),
            "fork: no valid consistency proof from size 3 to size 7: proof has 1 hashes, want 3"
        );
    }
}
