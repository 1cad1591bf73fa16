//! Trust policy: which log a client believes, and which witnesses must have
//! cosigned a checkpoint before the client believes it. A C2SP tlog-policy
//! file (`spec/witness.md`, "Quorum policy") whose single `log` line gives
//! the log's verifier key (its name is the log's origin) and URL.
//!
//! Spec: `spec/client.md` ("Trust policy").
//!
//! ```text
//! log localhost/provlog+3a5e0c9b+AU0n… http://127.0.0.1:7350
//! witness w1 witness-1.localhost+8e1f2a3b+BLr3… http://127.0.0.1:7351
//! witness w2 witness-2.localhost+0c4d5e6f+BPq8… http://127.0.0.1:7352
//! group both all w1 w2
//! quorum both
//! ```

use crate::error::ClientError;
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::note::{Ed25519Verifier, NoteVerifier};
use provlog_ledger::policy::Policy;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A parsed trust policy naming exactly one log.
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    policy: Policy,
    path: PathBuf,
}

/// A checkpoint that satisfies a [`TrustPolicy`]: signed by the log and
/// cosigned by a quorum of its witnesses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedCheckpoint {
    #[serde(skip)]
    pub checkpoint: Checkpoint,
    /// Policy names of the witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
    /// The signed note exactly as received.
    #[serde(skip)]
    pub note: String,
}

impl VerifiedCheckpoint {
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }
}

impl TrustPolicy {
    /// Parses policy text; `path` names it in errors.
    ///
    /// # Errors
    /// [`ClientError::Policy`] for a file that is not C2SP tlog-policy,
    /// [`ClientError::PolicyLog`] unless it names exactly one log.
    pub fn parse(text: &str, path: &Path) -> Result<TrustPolicy, ClientError> {
        let policy =
            Policy::parse(text).map_err(|source| ClientError::Policy { path: path.to_owned(), source })?;
        match policy.logs().len() {
            1 => Ok(TrustPolicy { policy, path: path.to_owned() }),
            0 => Err(ClientError::PolicyLog { path: path.to_owned(), reason: "it names no log" }),
            _ => Err(ClientError::PolicyLog {
                path: path.to_owned(),
                reason: "it names several logs; the client follows one log per policy file",
            }),
        }
    }

    /// Reads and parses a policy file.
    ///
    /// # Errors
    /// [`ClientError::Io`] if it cannot be read; as [`TrustPolicy::parse`].
    pub fn load(path: &Path) -> Result<TrustPolicy, ClientError> {
        let text = std::fs::read(path).map_err(ClientError::input("read policy", path))?;
        let text = String::from_utf8(text)
            .map_err(|_| ClientError::invalid(format!("policy {}", path.display()), "not UTF-8"))?;
        TrustPolicy::parse(&text, path)
    }

    /// The underlying C2SP policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The log's verifier (its key name is the origin).
    pub fn log_verifier(&self) -> &Ed25519Verifier {
        &self.policy.logs()[0].verifier
    }

    /// The log's origin: the key name of its `log` line.
    pub fn origin(&self) -> &str {
        self.log_verifier().name()
    }

    /// The log's URL from its `log` line, if given.
    pub fn url(&self) -> Option<&str> {
        self.policy.logs()[0].url.as_deref()
    }

    /// `explicit` if given, else the policy's URL for the log.
    ///
    /// # Errors
    /// [`ClientError::PolicyLog`] when neither is there.
    pub fn url_or<'a>(&'a self, explicit: Option<&'a str>) -> Result<&'a str, ClientError> {
        explicit.or(self.url()).ok_or(ClientError::PolicyLog {
            path: self.path.clone(),
            reason: "its log line has no URL; give the log's URL with --log",
        })
    }

    /// Checks a cosigned checkpoint note against the policy: a valid
    /// signature by the log for its origin, every signature by a policy key
    /// valid, and valid cosignatures meeting the quorum. `what` names the
    /// note's source in errors.
    ///
    /// # Errors
    /// [`ClientError::MalformedCheckpoint`] if the note or the checkpoint
    /// does not parse; [`ClientError::Checkpoint`] for every failed check.
    pub fn verify_checkpoint(&self, note: &str, what: &str) -> Result<VerifiedCheckpoint, ClientError> {
        let check = self.policy.check(note).map_err(|e| ClientError::from_policy_check(what, e))?;
        Ok(VerifiedCheckpoint {
            checkpoint: check.checkpoint,
            cosigners: check.cosigners,
            note: note.to_owned(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use ed25519_dalek::SigningKey;
    use provlog_ledger::cosignature::CosignatureSigner;
    use provlog_ledger::note::Ed25519Signer;
    use provlog_ledger::tree::empty_root;

    pub const ORIGIN: &str = "example.com/log";

    pub fn log_key() -> Ed25519Signer {
        Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    pub fn witness(i: u8) -> CosignatureSigner {
        CosignatureSigner::new(&format!("w{i}.example"), SigningKey::from_bytes(&[20 + i; 32])).unwrap()
    }

    /// A policy: the test log and two witnesses, both needed.
    pub fn policy_text() -> String {
        format!(
            "log {} http://127.0.0.1:9\nwitness a {}\nwitness b {}\ngroup both all a b\nquorum both\n",
            log_key().verifier().vkey(),
            witness(1).verifier().vkey(),
            witness(2).verifier().vkey()
        )
    }

    pub fn trust() -> TrustPolicy {
        TrustPolicy::parse(&policy_text(), Path::new("test.policy")).unwrap()
    }

    /// A checkpoint signed by the log and cosigned by the given witnesses.
    pub fn cosigned(cp: &Checkpoint, witnesses: &[u8]) -> String {
        let mut note = cp.sign(&[&log_key()]).unwrap();
        for &w in witnesses {
            note.push_str(&witness(w).sign_line(&cp.to_text(), 1_790_000_000));
        }
        note
    }

    #[test]
    fn a_checkpoint_with_the_quorum_verifies() {
        let cp = Checkpoint::new(ORIGIN, 0, empty_root());
        let v = trust().verify_checkpoint(&cosigned(&cp, &[1, 2]), "test").unwrap();
        assert_eq!(v.checkpoint, cp);
        assert_eq!(v.cosigners, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(trust().origin(), ORIGIN);
        assert_eq!(trust().url(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn a_missing_cosignature_is_a_failed_verification() {
        let cp = Checkpoint::new(ORIGIN, 0, empty_root());
        let e = trust().verify_checkpoint(&cosigned(&cp, &[1]), "test").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Verification, "{e:?}");
    }

    #[test]
    fn a_checkpoint_of_another_origin_is_a_failed_verification() {
        let other = Ed25519Signer::new("other.example/log", SigningKey::from_bytes(&[9; 32])).unwrap();
        let cp = Checkpoint::new("other.example/log", 0, empty_root());
        let note = cp.sign(&[&other]).unwrap();
        assert_eq!(trust().verify_checkpoint(&note, "test").unwrap_err().kind(), ErrorKind::Verification);
    }

    #[test]
    fn garbage_is_a_malformed_checkpoint() {
        let e = trust().verify_checkpoint("not a note", "test").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e:?}");
    }

    #[test]
    fn policies_must_name_exactly_one_log() {
        let none = "quorum none\n";
        assert!(matches!(TrustPolicy::parse(none, Path::new("p")), Err(ClientError::PolicyLog { .. })));
        let bad = "log not-a-vkey\nquorum none\n";
        let e = TrustPolicy::parse(bad, Path::new("p")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        // A policy file that is not there is the user's mistake, not a
        // failure to retry.
        let e = TrustPolicy::load(Path::new("/nonexistent/policy")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
    }
}
