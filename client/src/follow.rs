//! Following a log: the last verified checkpoint and the verified tree,
//! kept in a state file, and one *round* at a time: fetch the newest
//! checkpoint, check it against the trust policy, prove it consistent with
//! the stored one, verify every new tile against its entries, and only then
//! store it. The auditor ([`crate::audit`]) and the monitor
//! ([`crate::monitor`]) are followers that also look at each new entry.
//!
//! Spec: `spec/client.md` ("Following a log").
//!
//! The state file is JSON, rewritten atomically after each round, so a
//! follower stopped at any moment resumes from the last round it finished:
//!
//! ```json
//! {"version": 1, "origin": "...", "checkpoint": "<signed note>",
//!  "tree": {"size": 17, "frontier": ["<base64>", ...], "partial": [[...], ...]},
//!  "checkpoints": 12, "consistency_proofs": 11, "updated_at": 1790000000}
//! ```

use crate::consistency::{self, Consistency};
use crate::error::ClientError;
use crate::fetch::LogClient;
use crate::tiles::{TreeAdvance, VerifiedTree};
use crate::trust::{TrustPolicy, VerifiedCheckpoint};
use crate::{EntryVisitor, Progress};
use provlog_ledger::checkpoint::Checkpoint;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The state file's version.
pub const STATE_VERSION: u32 = 1;

/// What a follower keeps between rounds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FollowState {
    pub version: u32,
    /// The origin of the log followed; a state file is for one log.
    pub origin: String,
    /// The last verified checkpoint note, with its cosignatures.
    pub checkpoint: Option<String>,
    /// The tree verified up to that checkpoint's size.
    pub tree: VerifiedTree,
    /// Checkpoints verified (rounds that found a new one).
    pub checkpoints: u64,
    /// Consistency proofs fetched and checked.
    pub consistency_proofs: u64,
    /// When the state was last written (UNIX seconds).
    pub updated_at: u64,
}

impl FollowState {
    fn new(origin: &str) -> FollowState {
        FollowState {
            version: STATE_VERSION,
            origin: origin.to_owned(),
            checkpoint: None,
            tree: VerifiedTree::default(),
            checkpoints: 0,
            consistency_proofs: 0,
            updated_at: 0,
        }
    }

    /// The checkpoint of the stored note.
    pub fn verified_checkpoint(&self) -> Option<Checkpoint> {
        let (text, _) = provlog_ledger::note::split(self.checkpoint.as_deref()?).ok()?;
        Checkpoint::parse(text).ok()
    }

    /// Reads a state file; a missing file is a fresh state for `trust`'s log.
    ///
    /// # Errors
    /// [`ClientError::Io`]; [`ClientError::Json`] for a file that does not
    /// parse; [`ClientError::Invalid`] for one of another log, another
    /// version, or whose tree and checkpoint disagree.
    pub fn load(path: &Path, trust: &TrustPolicy) -> Result<FollowState, ClientError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FollowState::new(trust.origin()))
            }
            Err(e) => return Err(ClientError::io("read state", path)(e)),
        };
        let state: FollowState = serde_json::from_slice(&bytes).map_err(|source| ClientError::Json {
            path: path.to_owned(),
            what: "follower state",
            source,
        })?;
        let what = || format!("state file {}", path.display());
        if state.version != STATE_VERSION {
            return Err(ClientError::invalid(
                what(),
                format!("version {}, want {STATE_VERSION}", state.version),
            ));
        }
        if state.origin != trust.origin() {
            return Err(ClientError::invalid(
                what(),
                format!("it follows {:?}, the policy names {:?}", state.origin, trust.origin()),
            ));
        }
        let agrees = match (&state.checkpoint, state.verified_checkpoint()) {
            (None, _) => state.tree.size() == 0,
            (Some(_), Some(cp)) => cp.size == state.tree.size() && cp.root == state.tree.root(),
            (Some(_), None) => false,
        };
        if !agrees {
            return Err(ClientError::invalid(what(), "its tree and its checkpoint disagree"));
        }
        Ok(state)
    }

    /// Writes the state file atomically.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub fn save(&mut self, path: &Path) -> Result<(), ClientError> {
        self.updated_at = crate::now_s();
        let json = serde_json::to_vec_pretty(self).expect("serializable");
        crate::write_atomic(path, &json)
    }
}

/// What one round found.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    /// The verified size before the round.
    pub old_size: u64,
    /// The verified size after it.
    pub new_size: u64,
    /// The new checkpoint's root, base64.
    pub root: String,
    pub cosigners: Vec<String>,
    /// How the new checkpoint was found consistent with the stored one:
    /// `from_empty` on the first round.
    pub consistency: Consistency,
    #[serde(flatten)]
    pub read: TreeAdvance,
}

impl Round {
    /// How the new checkpoint relates to the stored one, in words.
    pub fn consistency_text(&self) -> String {
        match self.consistency {
            Consistency::FromEmpty => "first checkpoint (trusted on its signatures and quorum)".into(),
            Consistency::Same => "unchanged".into(),
            Consistency::Proved { proof_hashes } => {
                format!("consistent with size {} (proof of {proof_hashes} hashes)", self.old_size)
            }
        }
    }
}

impl std::fmt::Display for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checkpoint {} cosigned by [{}]: {}; {} new entries, {} bundles and {} hash tiles verified",
            self.new_size,
            self.cosigners.join(", "),
            self.consistency_text(),
            self.read.entries,
            self.read.bundles,
            self.read.hash_tiles
        )
    }
}

/// A follower of one log, with its state file.
pub struct Follower {
    client: LogClient,
    trust: TrustPolicy,
    state_path: PathBuf,
    state: FollowState,
}

impl Follower {
    /// Opens (or starts) the state file `state_path` for the log `trust`
    /// names, read through `client`.
    ///
    /// # Errors
    /// As [`FollowState::load`].
    pub fn open(client: LogClient, trust: TrustPolicy, state_path: &Path) -> Result<Follower, ClientError> {
        let state = FollowState::load(state_path, &trust)?;
        Ok(Follower { client, trust, state_path: state_path.to_owned(), state })
    }

    pub fn state(&self) -> &FollowState {
        &self.state
    }

    pub fn client(&self) -> &LogClient {
        &self.client
    }

    pub fn trust(&self) -> &TrustPolicy {
        &self.trust
    }

    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// Fetches the newest checkpoint, checks it against the policy and
    /// proves it consistent with the stored one (fetching the proof and
    /// checking it here). Changes nothing.
    ///
    /// # Errors
    /// Transport failures; [`ClientError::Checkpoint`] for a checkpoint
    /// that does not satisfy the policy; a fork or a rollback
    /// ([`ClientError::is_fork`]).
    pub fn next_checkpoint(&self) -> Result<(VerifiedCheckpoint, Consistency), ClientError> {
        let note = self.client.checkpoint()?;
        let verified = self.trust.verify_checkpoint(&note, &format!("{}/checkpoint", self.client.url()))?;
        let consistency = match self.state.verified_checkpoint() {
            None => Consistency::FromEmpty,
            Some(old) => consistency::prove(&self.client, &old, &verified.checkpoint)?,
        };
        Ok((verified, consistency))
    }

    /// Verifies the tiles up to `checkpoint` (from [`Follower::next_checkpoint`]),
    /// handing each new entry to `visitor`, lets the visitor settle, then
    /// stores the checkpoint in the state file. Nothing is stored unless
    /// every check passed.
    ///
    /// # Errors
    /// As [`VerifiedTree::advance`] and the visitor; [`ClientError::Io`]
    /// writing the state.
    pub fn advance(
        &mut self,
        checkpoint: VerifiedCheckpoint,
        consistency: Consistency,
        visitor: &mut dyn EntryVisitor,
        progress: &dyn Progress,
    ) -> Result<Round, ClientError> {
        let old_size = self.state.tree.size();
        let mut tree = self.state.tree.clone();
        let read = tree.advance(&self.client, &checkpoint.checkpoint, visitor, progress)?;
        visitor.settle(&checkpoint)?;
        let round = Round {
            old_size,
            new_size: checkpoint.checkpoint.size,
            root: checkpoint.checkpoint.root.to_base64(),
            cosigners: checkpoint.cosigners.clone(),
            consistency,
            read,
        };
        let mut next = self.state.clone();
        next.tree = tree;
        if next.checkpoint.as_deref() != Some(checkpoint.note.as_str()) {
            next.checkpoints += 1;
        }
        if matches!(consistency, Consistency::Proved { .. }) {
            next.consistency_proofs += 1;
        }
        next.checkpoint = Some(checkpoint.note);
        next.save(&self.state_path)?;
        self.state = next;
        Ok(round)
    }

    /// One round with no look at the entries: [`Follower::next_checkpoint`]
    /// then [`Follower::advance`].
    ///
    /// # Errors
    /// As those two.
    pub fn round(&mut self, progress: &dyn Progress) -> Result<Round, ClientError> {
        let (cp, consistency) = self.next_checkpoint()?;
        self.advance(cp, consistency, &mut |_: u64, _: &[u8]| Ok(()), progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::trust::tests::trust;

    #[test]
    fn a_missing_state_file_is_a_fresh_start_and_a_saved_one_loads_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        let mut s = FollowState::load(&p, &trust()).unwrap();
        assert_eq!(s.tree.size(), 0);
        s.save(&p).unwrap();
        let again = FollowState::load(&p, &trust()).unwrap();
        assert_eq!(again.origin, s.origin);
    }

    #[test]
    fn a_state_file_of_another_log_or_garbage_is_malformed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        let mut s = FollowState::new("other.example/log");
        s.save(&p).unwrap();
        assert_eq!(FollowState::load(&p, &trust()).unwrap_err().kind(), ErrorKind::Malformed);
        std::fs::write(&p, "{").unwrap();
        assert_eq!(FollowState::load(&p, &trust()).unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn a_state_whose_tree_and_checkpoint_disagree_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        let mut s = FollowState::new(trust().origin());
        s.checkpoint = Some("garbage".into());
        s.save(&p).unwrap();
        assert!(matches!(FollowState::load(&p, &trust()), Err(ClientError::Invalid { .. })));
    }
}
