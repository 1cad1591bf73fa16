//! # provlog-client
//!
//! How partners, auditors and monitors use a provlog log from the outside,
//! trusting nothing but keys they hold. Every check is computed here, with
//! `provlog-ledger`'s verifiers, against a trust policy (the log's key and
//! the witness quorum); the server is only a source of bytes.
//!
//! - [`trust`]: the trust policy (a C2SP tlog-policy file) and checkpoint
//!   verification against it;
//! - [`fetch`]: HTTP with timeouts, bounded retries and size limits;
//! - [`receipt`]: receipts (C2SP tlog-proof files) verified offline;
//! - [`consistency`]: consistency between two checkpoints, proved locally;
//! - [`tiles`]: tiles checked against the entries they hash, and
//!   [`verify_log`], which verifies a whole log;
//! - [`follow`]: following a log from a state file, checkpoint after
//!   checkpoint; [`audit`] adds replay of every decision from entry 0;
//!   [`monitor`] adds watching for statements made with given keys or
//!   about given identifiers;
//! - [`statement`]: signing EPCIS events as statements, verifying
//!   statements against partner keys; [`submit`]: submitting them and
//!   keeping their receipts;
//! - [`governance`]: building governance proposals and collecting the
//!   quorum's signatures on them;
//! - [`keys`]: key generation for partners, governance and witnesses;
//! - [`lineage`]: lineage answers (trace back, forward, recall scope)
//!   verified against the checkpoint they carry.
//!
//! Every failure is a [`ClientError`] of one of three kinds
//! ([`ErrorKind`]): malformed input, failed verification (a security
//! event), or transport and storage trouble; a network error is never
//! reported as a failed verification, nor the reverse. The `provlog`
//! command maps them to exit statuses ([`EXIT_NOT_VERIFIED`] …).
//!
//! Spec: `spec/client.md` (the trust model: what each operation proves,
//! from which keys, and what it does not prove). Out of scope: serving
//! logs, witnessing, and anything that would trust a server's word.

pub mod audit;
pub mod consistency;
pub mod error;
pub mod fetch;
pub mod follow;
pub mod governance;
pub mod keys;
pub mod lineage;
pub mod monitor;
pub mod receipt;
pub mod statement;
pub mod submit;
pub mod tiles;
pub mod trust;

pub use error::{ClientError, ErrorKind};
pub use fetch::{FetchOptions, LogClient};
pub use tiles::{verify_log, LogReport, VerifiedTree};
pub use trust::{TrustPolicy, VerifiedCheckpoint};

use provlog_ledger::entry::Entry;
use provlog_ledger::statement::Statement;
use std::path::Path;

/// Exit status: everything verified (or the command did its work).
pub const EXIT_OK: u8 = 0;
/// Exit status: a verification failed — a security event.
pub const EXIT_NOT_VERIFIED: u8 = 1;
/// Exit status: malformed input or bad usage.
pub const EXIT_MALFORMED: u8 = 2;
/// Exit status: network, HTTP or disk trouble; try again.
pub const EXIT_TRANSPORT: u8 = 3;
/// Exit status: the log forked or rolled back — a security event.
pub const EXIT_FORK: u8 = 4;
/// Exit status: the command worked and found something to act on:
/// `submit`, the log refused a statement; `monitor`, statements the owner
/// did not submit.
pub const EXIT_ATTENTION: u8 = 5;

/// Reports the progress of long operations (the `provlog` command draws a
/// progress bar with it). Every method does nothing by default.
pub trait Progress {
    /// A phase of `total` steps starts.
    fn begin(&self, _what: &'static str, _total: u64) {}
    /// `steps` more steps are done.
    fn advance(&self, _steps: u64) {}
    /// The phase is over.
    fn finish(&self) {}
}

/// Looks at each new entry of a round, in order, before the round is
/// stored.
pub trait EntryVisitor {
    /// The entry at `index` (its bytes are authenticated only once the
    /// round ends without error: keep conclusions until
    /// [`EntryVisitor::settle`]).
    ///
    /// # Errors
    /// Any error stops the round; nothing is stored.
    fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), ClientError>;

    /// Every entry of the round was seen and every tile verified; a last
    /// chance to refuse the round.
    ///
    /// # Errors
    /// Any error stops the round; nothing is stored.
    fn settle(&mut self, _checkpoint: &VerifiedCheckpoint) -> Result<(), ClientError> {
        Ok(())
    }
}

impl<F: FnMut(u64, &[u8]) -> Result<(), ClientError>> EntryVisitor for F {
    fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), ClientError> {
        self(index, bytes)
    }
}

/// A [`Progress`] that reports nothing.
pub struct Silent;

impl Progress for Silent {}

/// Reads an entry the log committed to: an entry record holding a
/// statement. Anything else is the log's fault, so a failed verification.
///
/// # Errors
/// [`ClientError::BadEntry`] or [`ClientError::BadEntryStatement`].
pub fn decode_entry(index: u64, bytes: &[u8]) -> Result<(Entry, Statement), ClientError> {
    let entry = Entry::decode(bytes).map_err(|source| ClientError::BadEntry { index, source })?;
    let statement = Statement::parse(&entry.statement)
        .map_err(|source| ClientError::BadEntryStatement { index, source })?;
    Ok((entry, statement))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it,
/// flushed to disk, renamed over `path`, and the directory flushed. A
/// crash leaves the old file or the new one, never a mix.
///
/// # Errors
/// [`ClientError::Io`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ClientError::Io { op: "write", path: path.to_owned(), source: e }
    })
}

/// The current time in UNIX seconds.
pub fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Serializes a value through its `Display` (for IDs and hashes in JSON).
pub(crate) fn serde_display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_the_whole_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file is left");
        let e = write_atomic(&d.path().join("missing/x"), b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport);
    }

    #[test]
    fn an_entry_that_is_not_a_record_is_the_logs_fault() {
        let e = decode_entry(7, b"\x01\x02").unwrap_err();
        assert!(matches!(e, ClientError::BadEntry { index: 7, .. }));
        assert_eq!(e.kind(), ErrorKind::Verification);
    }
}
