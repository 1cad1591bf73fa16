//! The witness itself, without HTTP: takes an `add-checkpoint` body, decides
//! it against the stored state, and either cosigns and durably records the
//! checkpoint, or refuses it and keeps any evidence of misbehavior.
//!
//! Spec: `spec/witness.md` ("Guarantees").

use crate::state::{origin_hash, CosignedCheckpoint, Evidence, WitnessState};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::cosignature::CosignatureSigner;
use provlog_ledger::note::NoteVerifier;
use provlog_ledger::storage::{StorageError, Store};
use provlog_ledger::witness_protocol::{self, AddCheckpointRequest, Refusal, RequestError, TrustedLogs};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Why an `add-checkpoint` request got no cosignature. The three kinds stay
/// apart: a malformed request, a refusal (the protocol's answer, some of them
/// security events), and a failure of the witness itself.
#[derive(Debug, Error)]
pub enum AddCheckpointError {
    /// The body does not follow the grammar (400).
    #[error(transparent)]
    Malformed(#[from] RequestError),
    /// The request is well formed and the witness refuses it (the status
    /// code is [`Refusal::status`]).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The store failed; nothing was cosigned (500).
    #[error("witness storage failed")]
    Storage(#[source] StorageError),
    /// Recording an earlier cosignature failed (after a failed flush, what
    /// the witness would read may be ahead of its disk): it cosigns nothing
    /// until restarted (503).
    #[error("the witness stopped cosigning after a storage failure and must be restarted")]
    Stopped,
    /// The system clock reads before 1970-01-01T00:00:01Z, and a cosignature
    /// timestamp may not be 0 (500).
    #[error("the system clock is not set")]
    Clock,
}

/// A successful `add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The response body: the witness's cosignature line.
    pub body: String,
    /// The checkpoint as now recorded, with the log's signatures and the
    /// cosignature.
    pub cosigned: CosignedCheckpoint,
}

/// A witness: its key, the logs it witnesses and its state.
pub struct Witness {
    state: WitnessState,
    signer: CosignatureSigner,
    logs: TrustedLogs,
    /// One lock per witnessed origin, held from reading the log's state to
    /// flushing its update: the decision and the update are one atomic step.
    locks: HashMap<String, Mutex<()>>,
    /// Set when recording a cosignature failed; see
    /// [`AddCheckpointError::Stopped`].
    stopped: AtomicBool,
}

impl Witness {
    pub fn new(store: Arc<dyn Store>, signer: CosignatureSigner, logs: TrustedLogs) -> Self {
        let locks = logs.origins().map(|o| (o.to_owned(), Mutex::new(()))).collect();
        Self { state: WitnessState::new(store), signer, logs, locks, stopped: AtomicBool::new(false) }
    }

    /// The witness's cosignature verifier key (type 0x04).
    pub fn vkey(&self) -> String {
        self.signer.verifier().vkey()
    }

    /// The witness's key name, which its cosignature lines carry.
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    pub fn logs(&self) -> &TrustedLogs {
        &self.logs
    }

    pub fn state(&self) -> &WitnessState {
        &self.state
    }

    /// Handles one `add-checkpoint` body at the current time.
    ///
    /// # Errors
    /// See [`Witness::add_checkpoint_at`].
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Cosigned, AddCheckpointError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        self.add_checkpoint_at(body, now)
    }

    /// Handles one `add-checkpoint` body, cosigning with timestamp `now`
    /// (UNIX seconds). Under the log's lock: reads its latest cosigned
    /// checkpoint, decides ([`witness_protocol::decide`]), and either signs,
    /// records and flushes the new checkpoint before returning its
    /// cosignature, or records and flushes the evidence a refusal carries.
    ///
    /// # Errors
    /// [`AddCheckpointError`]; a failure to store evidence is logged and the
    /// refusal returned all the same.
    pub fn add_checkpoint_at(&self, body: &[u8], now: u64) -> Result<Cosigned, AddCheckpointError> {
        let request = AddCheckpointRequest::parse(body)?;
        if now == 0 || now > i64::MAX as u64 {
            return Err(AddCheckpointError::Clock);
        }
        let origin = &request.checkpoint.origin;
        let Some(lock) = self.locks.get(origin) else {
            // Unknown origin: `decide` answers without any state.
            let refusal = witness_protocol::decide(&request, &self.logs, None).expect_err("unknown origin");
            return Err(refusal.into());
        };
        // A panic under the lock cannot leave a half-written update (every
        // update is one batch), so a poisoned lock is still a valid one.
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if self.stopped.load(Ordering::Acquire) {
            return Err(AddCheckpointError::Stopped);
        }
        let latest = self.state.latest(&origin_hash(origin)).map_err(AddCheckpointError::Storage)?;
        match witness_protocol::decide(&request, &self.logs, latest.as_ref().map(|l| &l.checkpoint)) {
            Ok(signed) => {
                let line = self.signer.sign_line(&signed.note.text, now);
                let mut note = format!("{}\n", signed.note.text);
                for sig in &signed.note.verified {
                    note.push_str(&sig.line());
                }
                note.push_str(&line);
                let cosigned = CosignedCheckpoint { checkpoint: signed.checkpoint, note };
                self.record(&cosigned)?;
                tracing::info!(origin = %origin, size = cosigned.checkpoint.size, "cosigned");
                Ok(Cosigned { body: line, cosigned })
            }
            Err(refusal) => {
                if let Some(kind) = refusal.evidence_kind() {
                    let cosigned_text = latest.as_ref().map(|l| l.checkpoint.to_text());
                    let evidence = Evidence {
                        id: Evidence::id_for(
                            kind.as_str(),
                            cosigned_text.as_deref(),
                            &request.checkpoint.to_text(),
                        ),
                        kind: kind.as_str().to_owned(),
                        origin: origin.clone(),
                        received: now,
                        reason: refusal.to_string(),
                        cosigned: latest.map(|l| l.note),
                        request: String::from_utf8_lossy(body).into_owned(),
                    };
                    match self.state.record_evidence(&evidence) {
                        Ok(true) => tracing::error!(
                            origin = %origin,
                            kind = kind.as_str(),
                            evidence = %evidence.id,
                            "log misbehavior: {refusal}"
                        ),
                        Ok(false) => tracing::warn!(evidence = %evidence.id, "log misbehavior shown again"),
                        Err(e) => tracing::error!(evidence = %evidence.id, "could not store evidence: {e}"),
                    }
                } else {
                    tracing::debug!(origin = %origin, "refused: {refusal}");
                }
                Err(refusal.into())
            }
        }
    }

    /// Whether cosigning stopped after a storage failure (until restart).
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Commits and flushes a cosigned checkpoint. Any failure stops the
    /// witness: after a failed flush the commit is already visible to the
    /// next request but may not be on disk.
    fn record(&self, cosigned: &CosignedCheckpoint) -> Result<(), AddCheckpointError> {
        self.state.record_cosigned(cosigned).map_err(|e| {
            tracing::error!("storing a cosigned checkpoint failed, cosigning stops until restart: {e}");
            self.stopped.store(true, Ordering::Release);
            AddCheckpointError::Storage(e)
        })
    }

    /// The latest cosigned checkpoint of the log whose origin's SHA-256 is
    /// `origin_hash` (the monitoring API), with the log's signatures and the
    /// witness's cosignature.
    ///
    /// # Errors
    /// [`StorageError`] if the store fails.
    pub fn latest_checkpoint(&self, origin_hash: &[u8; 32]) -> Result<Option<String>, StorageError> {
        Ok(self.state.latest(origin_hash)?.map(|c| c.note))
    }

    /// Whether the signed checkpoint `note` carries a valid cosignature by
    /// this witness (and no invalid one).
    pub fn verifies(&self, note: &str) -> bool {
        let v = self.signer.verifier();
        provlog_ledger::note::open(note, &[&v as &dyn NoteVerifier]).is_ok()
    }
}

/// The checkpoint text of a stored note, for callers holding only the note.
pub fn checkpoint_of(note: &str) -> Option<Checkpoint> {
    let (text, _) = provlog_ledger::note::split(note).ok()?;
    Checkpoint::parse(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use provlog_ledger::cosignature::CosignatureVerifier;
    use provlog_ledger::note::{self, Ed25519Signer};
    use provlog_ledger::proof::{prove_consistency, InMemoryLeaves};
    use provlog_ledger::storage::MemoryStore;
    use provlog_ledger::tree::{leaf_hash, root_of, Hash};

    const ORIGIN: &str = "example.com/log";

    fn log_signer() -> Ed25519Signer {
        Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap()
    }

    fn witness() -> Witness {
        let mut logs = TrustedLogs::new();
        logs.add(ORIGIN, log_signer().verifier()).unwrap();
        let signer = CosignatureSigner::new("w.example", SigningKey::from_bytes(&[4; 32])).unwrap();
        Witness::new(Arc::new(MemoryStore::new()), signer, logs)
    }

    fn leaves(n: u64, salt: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[salt, i as u8])).collect()
    }

    fn body(l: &[Hash], old: u64, new: u64) -> Vec<u8> {
        let note = Checkpoint::new(ORIGIN, new, root_of(&l[..new as usize])).sign(&[&log_signer()]).unwrap();
        let proof = if old == 0 || old == new {
            vec![]
        } else {
            let Ok(p) = prove_consistency(&InMemoryLeaves(&l[..new as usize]), old, new);
            p
        };
        AddCheckpointRequest::new(old, proof, &note).unwrap().format().into_bytes()
    }

    #[test]
    fn cosignature_verifies_and_state_advances() {
        let w = witness();
        let l = leaves(10, 0);
        let c = w.add_checkpoint_at(&body(&l, 0, 4), 100).unwrap();
        let v = CosignatureVerifier::from_vkey(&w.vkey()).unwrap();
        let msg = format!(
            "{}{}",
            Checkpoint::new(ORIGIN, 4, root_of(&l[..4])).sign(&[&log_signer()]).unwrap(),
            c.body
        );
        assert_eq!(note::open(&msg, &[&log_signer().verifier(), &v]).unwrap().verified.len(), 2);
        assert!(w.verifies(&c.cosigned.note));
        w.add_checkpoint_at(&body(&l, 4, 10), 101).unwrap();
        let latest = w.latest_checkpoint(&origin_hash(ORIGIN)).unwrap().unwrap();
        assert_eq!(checkpoint_of(&latest).unwrap().size, 10);
        assert_eq!(w.state().history(&origin_hash(ORIGIN)).unwrap().len(), 2);
    }

    #[test]
    fn refusals_keep_evidence_only_for_misbehavior() {
        let w = witness();
        let (a, b) = (leaves(10, 0), leaves(10, 1));
        w.add_checkpoint_at(&body(&a, 0, 6), 100).unwrap();
        let e = w.add_checkpoint_at(&body(&b, 6, 6), 101).unwrap_err();
        assert!(matches!(e, AddCheckpointError::Refused(Refusal::RootMismatch { .. })));
        let e = w.add_checkpoint_at(&body(&b, 6, 10), 102).unwrap_err();
        assert!(matches!(e, AddCheckpointError::Refused(Refusal::InconsistentProof { .. })));
        let e = w.add_checkpoint_at(&body(&b, 3, 10), 103).unwrap_err();
        assert!(matches!(e, AddCheckpointError::Refused(Refusal::SizeConflict { witness_size: 6, .. })));
        // Shown the same fork again: still one record.
        w.add_checkpoint_at(&body(&b, 6, 6), 104).unwrap_err();
        let list = w.state().evidence_list().unwrap();
        assert_eq!(list.len(), 2);
        let fork = list.iter().find(|e| e.kind == "fork").unwrap();
        let ev = w.state().evidence(&fork.id).unwrap().unwrap();
        assert_eq!(ev.request.as_bytes(), body(&b, 6, 6));
        assert_eq!(checkpoint_of(ev.cosigned.as_deref().unwrap()).unwrap().root, root_of(&a[..6]));
    }

    /// A store whose flush fails while `fail` is set.
    struct FlakyStore {
        inner: MemoryStore,
        fail: AtomicBool,
    }

    impl Store for FlakyStore {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            self.inner.get(key)
        }
        fn range(
            &self,
            start: &[u8],
            end: &[u8],
            limit: usize,
            reverse: bool,
        ) -> Result<provlog_ledger::storage::Records, StorageError> {
            self.inner.range(start, end, limit, reverse)
        }
        fn commit(&self, batch: &provlog_ledger::storage::Batch) -> Result<(), StorageError> {
            self.inner.commit(batch)
        }
        fn flush(&self) -> Result<(), StorageError> {
            if self.fail.load(Ordering::Relaxed) {
                return Err(StorageError::backend("flush", std::io::Error::other("disk gone")));
            }
            Ok(())
        }
    }

    #[test]
    fn a_failed_flush_stops_cosigning_until_restart() {
        let store = Arc::new(FlakyStore { inner: MemoryStore::new(), fail: AtomicBool::new(false) });
        let mut logs = TrustedLogs::new();
        logs.add(ORIGIN, log_signer().verifier()).unwrap();
        let signer = CosignatureSigner::new("w.example", SigningKey::from_bytes(&[4; 32])).unwrap();
        let w = Witness::new(store.clone(), signer, logs);
        let l = leaves(10, 0);
        w.add_checkpoint_at(&body(&l, 0, 4), 1).unwrap();
        assert!(!w.is_stopped());
        store.fail.store(true, Ordering::Relaxed);
        assert!(matches!(w.add_checkpoint_at(&body(&l, 4, 6), 2), Err(AddCheckpointError::Storage(_))));
        store.fail.store(false, Ordering::Relaxed);
        assert!(w.is_stopped(), "what /healthz reports");
        // Whatever the store now shows, nothing more is cosigned.
        for b in [body(&l, 4, 8), body(&l, 6, 8)] {
            assert!(matches!(w.add_checkpoint_at(&b, 3), Err(AddCheckpointError::Stopped)));
        }
    }

    #[test]
    fn malformed_unknown_and_clockless_requests_are_told_apart() {
        let w = witness();
        assert!(matches!(w.add_checkpoint_at(b"old x\n\n", 1), Err(AddCheckpointError::Malformed(_))));
        let other = Ed25519Signer::generate("other.example/log").unwrap();
        let note = Checkpoint::new("other.example/log", 0, provlog_ledger::tree::empty_root())
            .sign(&[&other])
            .unwrap();
        let b = format!("old 0\n\n{note}");
        assert!(matches!(
            w.add_checkpoint_at(b.as_bytes(), 1),
            Err(AddCheckpointError::Refused(Refusal::UnknownOrigin { .. }))
        ));
        assert!(matches!(w.add_checkpoint_at(&body(&leaves(1, 0), 0, 1), 0), Err(AddCheckpointError::Clock)));
    }
}
