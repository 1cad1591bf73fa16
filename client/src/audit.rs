//! The auditor: a follower ([`crate::follow`]) that can also replay every
//! acceptance decision of the log from entry 0 with the log's own rules
//! (`provlog_ledger::log::Replayer`), reporting the first entry whose
//! recorded decision (rule set, flags, registration time) the rules do not
//! reproduce, or that they refuse.
//!
//! Spec: `spec/client.md` ("Audit"), `spec/rules.md` ("Replay").
//!
//! The replay rebuilds the log — tree, registry, indexes — in a scratch
//! store next to the state file (`<state>.replay/`), kept between runs
//! so that a replay resumes where it stopped. The root of the rebuilt tree
//! must equal the verified checkpoint's at the end of every round, so
//! entries re-read to resume a replay are authenticated too.

use crate::error::ClientError;
use crate::fetch::LogClient;
use crate::follow::{Follower, Round};
use crate::tiles::read_entries;
use crate::trust::{TrustPolicy, VerifiedCheckpoint};
use crate::EntryVisitor;
use crate::Progress;
use provlog_ledger::log::{ReplayError, Replayer};
use provlog_ledger::storage::{FjallConfig, FjallStore, Store};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The block cache of the replay's scratch store.
///
/// The scratch store is fjall, not sled: a replay appends one entry at a
/// time, rewriting the rightmost partial tiles of the rebuilt tree each
/// time, and under that load sled 0.34 grew to 15 GB and 3.4 GiB of memory
/// for a 1M-entry log, against about 0.6 GB and 0.3 GiB for fjall, which
/// also replays twice as fast (BENCHMARKS.md, "Client: audit and replay").
pub const REPLAY_CACHE_BYTES: u64 = 512 << 20;

/// The scratch directory of a replay for the state file `state`.
pub fn replay_dir(state: &Path) -> PathBuf {
    let mut name = state.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".replay");
    state.with_file_name(name)
}

/// A replay of one log's decisions into a scratch store.
pub struct Replay {
    replayer: Replayer,
    /// Entries replayed since the last [`Replay::take_replayed`].
    replayed: u64,
}

/// What a replay has covered.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplayProgress {
    /// Entries replayed in this round.
    pub replayed: u64,
    /// Entries replayed in all (the scratch log's size).
    pub replayed_total: u64,
    /// Governance entries and flagged entries among those replayed in this
    /// run of the process.
    pub governance: u64,
    pub flagged: u64,
}

impl Replay {
    /// Opens (or starts) the replay of the log `origin` in the scratch store
    /// `store`.
    ///
    /// # Errors
    /// [`ClientError::Store`] if the store is unusable or holds another log.
    pub fn open(store: Arc<dyn Store>, origin: &str) -> Result<Replay, ClientError> {
        let replayer = Replayer::resume(store, origin).map_err(|source| ClientError::Store { source })?;
        Ok(Replay { replayer, replayed: 0 })
    }

    /// Opens the scratch store (fjall) in `dir` (created if missing).
    ///
    /// # Errors
    /// [`ClientError::Store`].
    pub fn open_dir(dir: &Path, origin: &str) -> Result<Replay, ClientError> {
        let store = FjallStore::open(
            dir,
            &FjallConfig { cache_capacity: REPLAY_CACHE_BYTES, ..FjallConfig::default() },
        )
        .map_err(|e| ClientError::Store { source: e.into() })?;
        Replay::open(Arc::new(store), origin)
    }

    /// The number of entries replayed: the index of the next one.
    pub fn size(&self) -> u64 {
        self.replayer.report().entries
    }

    /// Replays the entry at `index`, which must be the next one; an entry
    /// already replayed is skipped.
    ///
    /// # Errors
    /// [`ClientError::Divergence`] at the first diverging entry;
    /// [`ClientError::Store`] if the scratch store fails.
    pub fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<bool, ClientError> {
        if index < self.size() {
            return Ok(false);
        }
        if index > self.size() {
            return Err(ClientError::invalid(
                "replay",
                format!("entry {index} given before entry {}", self.size()),
            ));
        }
        self.replayer.replay(&[bytes]).map_err(|e| match e {
            ReplayError::Divergence { index, reason } => ClientError::Divergence { index, reason },
            ReplayError::Log(source) => ClientError::Store { source },
        })?;
        self.replayed += 1;
        Ok(true)
    }

    /// Entries replayed since the last call.
    pub fn take_replayed(&mut self) -> u64 {
        std::mem::take(&mut self.replayed)
    }

    /// Checks that the rebuilt tree is the one `checkpoint` commits to
    /// (when the replay has reached its size) and makes the scratch store
    /// durable.
    ///
    /// # Errors
    /// [`ClientError::RootMismatch`]; [`ClientError::Invalid`] if the
    /// scratch log is larger than the checkpoint; [`ClientError::Store`].
    pub fn settle(&self, checkpoint: &VerifiedCheckpoint) -> Result<(), ClientError> {
        let cp = &checkpoint.checkpoint;
        if self.size() > cp.size {
            return Err(ClientError::invalid(
                "replay scratch store",
                format!(
                    "it holds {} entries, more than the {} verified: it belongs to another state file; remove it",
                    self.size(),
                    cp.size
                ),
            ));
        }
        if self.size() == cp.size && self.replayer.log().root() != cp.root {
            return Err(ClientError::RootMismatch {
                size: cp.size,
                computed: self.replayer.log().root(),
                signed: cp.root,
            });
        }
        self.replayer.log().flush().map_err(|source| ClientError::Store { source })
    }

    /// The rebuilt log: its registry (partners, keys, rule sets) and state
    /// as of the last replayed entry.
    pub fn log(&self) -> &provlog_ledger::log::Log {
        self.replayer.log()
    }

    fn counts(&self) -> (u64, u64) {
        (self.replayer.report().governance, self.replayer.report().flagged)
    }
}

impl EntryVisitor for Replay {
    fn entry(&mut self, index: u64, bytes: &[u8]) -> Result<(), ClientError> {
        Replay::entry(self, index, bytes).map(drop)
    }

    fn settle(&mut self, checkpoint: &VerifiedCheckpoint) -> Result<(), ClientError> {
        Replay::settle(self, checkpoint)
    }
}

/// What one audit round found.
#[derive(Clone, Debug, Serialize)]
pub struct AuditRound {
    #[serde(flatten)]
    pub round: Round,
    /// Present when the audit replays decisions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplayProgress>,
    /// Checkpoints verified over the life of the state file.
    pub checkpoints: u64,
    /// Consistency proofs checked over the life of the state file.
    pub consistency_proofs: u64,
}

impl std::fmt::Display for AuditRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.round)?;
        if let Some(r) = &self.replay {
            write!(f, "; replayed {} entries ({} in all), no divergence", r.replayed, r.replayed_total)?;
        }
        Ok(())
    }
}

/// A follower that verifies tiles and, optionally, replays decisions.
pub struct Auditor {
    follower: Follower,
    replay: Option<Replay>,
}

impl Auditor {
    /// Opens the state file (and, with `replay`, the scratch store next to
    /// it) for the log of `trust`, read through `client`.
    ///
    /// # Errors
    /// As [`Follower::open`] and [`Replay::open_dir`].
    pub fn open(
        client: LogClient,
        trust: TrustPolicy,
        state: &Path,
        replay: bool,
    ) -> Result<Auditor, ClientError> {
        let origin = trust.origin().to_owned();
        let follower = Follower::open(client, trust, state)?;
        let replay = if replay { Some(Replay::open_dir(&replay_dir(state), &origin)?) } else { None };
        Ok(Auditor { follower, replay })
    }

    pub fn follower(&self) -> &Follower {
        &self.follower
    }

    /// The replay, if this auditor replays decisions.
    pub fn replay(&self) -> Option<&Replay> {
        self.replay.as_ref()
    }

    /// One round: the newest checkpoint, verified and proved consistent
    /// with the stored one; every new tile verified; with replay, every
    /// entry not yet replayed replayed (re-reading old entries first when
    /// the replay is behind), and the rebuilt root compared with the
    /// checkpoint's. The state file is written only if all of it passes.
    ///
    /// # Errors
    /// Transport failures; failed verifications (a fork:
    /// [`ClientError::is_fork`]); [`ClientError::Divergence`].
    pub fn round(&mut self, progress: &dyn Progress) -> Result<AuditRound, ClientError> {
        let (checkpoint, consistency) = self.follower.next_checkpoint()?;
        let verified_size = self.follower.state().tree.size();
        let round = match self.replay.as_mut() {
            None => {
                self.follower.advance(checkpoint, consistency, &mut |_: u64, _: &[u8]| Ok(()), progress)?
            }
            Some(replay) => {
                let (from, size) = (replay.size(), checkpoint.checkpoint.size);
                let mut catch_up = |i: u64, e: &[u8]| replay.entry(i, e).map(drop);
                read_entries(self.follower.client(), from, verified_size, size, &mut catch_up, progress)?;
                self.follower.advance(checkpoint, consistency, replay, progress)?
            }
        };
        let replay = self.replay.as_mut().map(|r| {
            let (governance, flagged) = r.counts();
            ReplayProgress { replayed: r.take_replayed(), replayed_total: r.size(), governance, flagged }
        });
        let state = self.follower.state();
        Ok(AuditRound {
            round,
            replay,
            checkpoints: state.checkpoints,
            consistency_proofs: state.consistency_proofs,
        })
    }
}
