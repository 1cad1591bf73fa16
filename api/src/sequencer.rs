//! The sequencer: the log's single writer. It takes statements from a
//! bounded queue, groups them into batches, registers each batch with the
//! checkpoint it signs for the new tree in one atomic append, flushes it to
//! disk, and only then hands the checkpoint on.
//!
//! Spec: `spec/http-api.md` ("Sequencing").
//!
//! Invariants, in the order the loop establishes them:
//! - a batch's entries, tiles and indexes commit together or not at all,
//!   with the checkpoint signed for the tree they make
//!   ([`Log::register_sealed`]): the checkpoint is durable exactly when
//!   the entries it covers are, with one flush for both;
//! - no signed checkpoint leaves the sequencer before the data it covers
//!   is flushed (at start too: a stored checkpoint found again is flushed
//!   before it is handed on, since its batch may not have been);
//! - the log never lets out two different roots for one size: every
//!   checkpoint is stored under its size before it leaves the sequencer,
//!   and a size already stored is never signed again with another root. A
//!   checkpoint signed for a batch whose write or flush failed never leaves;
//!   if the batch is lost with it, its size may be signed again, unseen.
//!
//! A failed write or flush does not stop the process: the sequencer refuses
//! new work (the HTTP layer answers 503, reads go on), lets no checkpoint
//! out, and recovers by itself once storage works again
//! ([`crate::recovery`]).

use crate::metrics::Metrics;
use crate::recovery::{describe, Recovery, PROBE_INTERVAL};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::log::{Log, LogError, Outcome};
use provlog_ledger::note::Ed25519Signer;
use provlog_ledger::statement::Statement;
use provlog_ledger::storage::{Batch, StorageError, Store};
use provlog_ledger::tiled_tree::TreeError;
use provlog_ledger::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch};

const KEY_CHECKPOINT_PREFIX: u8 = b'C';
const KEY_PUBLISHED: &[u8] = b"CP";

/// The key of the signed checkpoint of `size`.
fn checkpoint_key(size: u64) -> Vec<u8> {
    let mut k = vec![KEY_CHECKPOINT_PREFIX, b'#'];
    k.extend_from_slice(&size.to_be_bytes());
    k
}

/// A signed (and, once published, cosigned) checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, with every signature it has.
    pub note: String,
}

/// Why a submission got no decision.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SequencerError {
    /// The queue is full: try again later (503 with Retry-After).
    #[error("the log is overloaded; retry later")]
    Overloaded,
    /// Storage refuses writes (for example the disk is full); reads still work.
    #[error("the log cannot write to storage right now: {0}")]
    StorageUnavailable(String),
    /// The sequencer stopped (a fatal error, or shutdown).
    #[error("the log is stopped: {0}")]
    Stopped(String),
}

/// One request's statements and where to send their outcomes.
struct Submission {
    statements: Vec<Statement>,
    reply: oneshot::Sender<Result<Vec<Outcome>, SequencerError>>,
}

/// The state the sequencer shares with the HTTP layer and the publisher.
pub struct Shared {
    /// The latest checkpoint the sequencer handed on: signed, stored and
    /// flushed with the entries it covers (not yet witnessed).
    pub signed: watch::Sender<Option<SignedCheckpoint>>,
    /// The latest published checkpoint: signed and, if witnesses are
    /// configured, cosigned by a quorum. Receipts are built against it.
    pub published: watch::Sender<Option<SignedCheckpoint>>,
    /// Why storage refuses writes, while it does (set by the sequencer on
    /// a failed write, cleared when it recovered).
    pub storage_failure: Mutex<Option<String>>,
    /// Why the publisher cannot write the checkpoint anchor file, while it
    /// cannot (set and cleared by the publisher): nothing can be published,
    /// so writes are refused too.
    pub anchor_failure: Mutex<Option<String>>,
    /// Set when the sequencer stopped for good.
    pub stopped: Mutex<Option<String>>,
    /// Set while the publisher cannot publish, and why.
    pub publish_blocked: Mutex<Option<PublishBlocked>>,
    /// The registry as of the last batch, for read-only views.
    pub registry: RwLock<Arc<provlog_ledger::governance::Registry>>,
    pub metrics: Arc<Metrics>,
}

/// Why the publisher's latest attempt to publish failed.
#[derive(Clone, Debug)]
pub enum PublishBlocked {
    /// The witness quorum was not met.
    Witnesses(String),
    /// The cosigned checkpoint, or its anchor file, could not be stored.
    Storage(String),
}

impl std::fmt::Display for PublishBlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishBlocked::Witnesses(why) => f.write_str(why),
            PublishBlocked::Storage(why) => write!(f, "storage: {why}"),
        }
    }
}

impl Shared {
    /// Refuses work if storage is failing (the store, or the anchor file)
    /// or the sequencer stopped.
    pub fn check_writable(&self) -> Result<(), SequencerError> {
        if let Some(why) = self.stopped.lock().expect("lock").clone() {
            return Err(SequencerError::Stopped(why));
        }
        if let Some(why) = self.storage_failure.lock().expect("lock").clone() {
            return Err(SequencerError::StorageUnavailable(why));
        }
        if let Some(why) = self.anchor_failure.lock().expect("lock").clone() {
            return Err(SequencerError::StorageUnavailable(why));
        }
        Ok(())
    }
}

/// The handle the HTTP layer submits through.
#[derive(Clone)]
pub struct Sequencer {
    tx: SyncSender<Submission>,
    queued: Arc<AtomicUsize>,
    capacity: usize,
    shared: Arc<Shared>,
}

/// How the sequencer batches.
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    pub max_batch_size: usize,
    pub max_batch_age: Duration,
    pub queue_capacity: usize,
}

impl Sequencer {
    /// Starts the sequencer thread, which owns `log` (whose store is
    /// `recovery.store`). Checks the tree against the checkpoints signed
    /// before, then signs a checkpoint for the current tree at once if none
    /// is stored for its size.
    ///
    /// # Errors
    /// A storage failure reading or writing the stored checkpoints;
    /// [`StorageError::Corrupt`] if the tree lacks or contradicts a
    /// checkpoint the log signed ([`check_signed_checkpoints`]).
    pub fn start(
        log: Log,
        signer: Ed25519Signer,
        options: SequencerOptions,
        metrics: Arc<Metrics>,
        recovery: Recovery,
    ) -> Result<Sequencer, LogError> {
        let store = log.reader().store().clone();
        check_signed_checkpoints(&log, &recovery.data_dir)?;
        let published = load_published(store.as_ref())?;
        let shared = Arc::new(Shared {
            signed: watch::channel(None).0,
            published: watch::channel(published).0,
            storage_failure: Mutex::new(None),
            anchor_failure: Mutex::new(None),
            stopped: Mutex::new(None),
            publish_blocked: Mutex::new(None),
            registry: RwLock::new(Arc::new(log.registry().clone())),
            metrics,
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(options.queue_capacity);
        let queued = Arc::new(AtomicUsize::new(0));
        let mut worker = Worker {
            log,
            signer,
            store,
            shared: shared.clone(),
            queued: queued.clone(),
            options: options.clone(),
            recovery,
            last_probe: None,
        };
        worker.sign_current()?;
        std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || worker.run(rx))
            .expect("spawn the sequencer thread");
        Ok(Sequencer { tx, queued, capacity: options.queue_capacity, shared })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Queues statements and waits for their decisions (not for their
    /// publication).
    ///
    /// # Errors
    /// [`SequencerError`] if the queue is full, storage is failing, or the
    /// sequencer stopped.
    pub async fn submit(&self, statements: Vec<Statement>) -> Result<Vec<Outcome>, SequencerError> {
        self.shared.check_writable()?;
        let n = statements.len();
        if self.queued.fetch_add(n, Ordering::AcqRel) + n > self.capacity {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            self.shared.metrics.refuse("overloaded");
            return Err(SequencerError::Overloaded);
        }
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Submission { statements, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.queued.fetch_sub(n, Ordering::AcqRel);
                self.shared.metrics.refuse("overloaded");
                return Err(SequencerError::Overloaded);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(n, Ordering::AcqRel);
                return Err(SequencerError::Stopped("the sequencer is not running".into()));
            }
        }
        rx.await.unwrap_or_else(|_| Err(SequencerError::Stopped("the sequencer ended".into())))
    }
}

/// Reads the latest published checkpoint, if any.
fn load_published(store: &dyn Store) -> Result<Option<SignedCheckpoint>, StorageError> {
    let Some(note) = store.get(KEY_PUBLISHED)? else { return Ok(None) };
    let cp = parse_stored(&note)?;
    let note = String::from_utf8(note).expect("checked by parse_stored");
    Ok(Some(SignedCheckpoint { size: cp.size, root: cp.root, note }))
}

/// Checks that the tree holds every checkpoint the log stored or let out:
/// the latest one stored, the published one, and the one in the anchor file of
/// `data_dir` ([`crate::recovery::write_anchor`]) must not be larger than
/// the tree, and the tree's root at their sizes must be the signed roots.
/// A store that lost or changed signed entries (a truncated or damaged
/// data file the engine recovered from without noticing) fails here
/// instead of being served, or signed again with another root.
///
/// # Errors
/// [`StorageError::Corrupt`] naming the checkpoint; storage failures.
pub fn check_signed_checkpoints(log: &Log, data_dir: &std::path::Path) -> Result<(), LogError> {
    let store = log.reader().store();
    let mut latest: Vec<(String, Vec<u8>)> = store
        .range(&checkpoint_key(0), &checkpoint_key(u64::MAX), 1, true)?
        .into_iter()
        .map(|(_, v)| ("the latest stored checkpoint".to_owned(), v))
        .collect();
    latest.extend(store.get(KEY_PUBLISHED)?.map(|v| ("the published checkpoint".to_owned(), v)));
    let anchor = crate::recovery::read_anchor(data_dir).map_err(|e| StorageError::backend("read", e))?;
    latest.extend(anchor.map(|(path, v)| (format!("the checkpoint in {}", path.display()), v)));
    for (what, note) in latest {
        let cp = parse_stored(&note).map_err(|e| StorageError::corrupt(format!("{what}: {e}")))?;
        if cp.size > log.size() {
            return Err(StorageError::corrupt(format!(
                "the store holds {} entries, but {what} has size {}: signed entries are lost",
                log.size(),
                cp.size,
            ))
            .into());
        }
        let root = if cp.size == 0 { cp.root } else { log.reader().root_at(cp.size)? };
        if root != cp.root {
            return Err(StorageError::corrupt(format!(
                "the stored tree's root at size {} is {root}, but {what} has {}",
                cp.size, cp.root
            ))
            .into());
        }
    }
    Ok(())
}

/// Parses a stored signed checkpoint note.
fn parse_stored(note: &[u8]) -> Result<Checkpoint, StorageError> {
    let note =
        std::str::from_utf8(note).map_err(|_| StorageError::corrupt("stored checkpoint is not UTF-8"))?;
    let (text, _) = provlog_ledger::note::split(note).map_err(|e| StorageError::corrupt(e.to_string()))?;
    Checkpoint::parse(text).map_err(|e| StorageError::corrupt(format!("stored checkpoint: {e}")))
}

/// Stores `cp` as the published checkpoint and makes it durable.
pub fn store_published(store: &dyn Store, cp: &SignedCheckpoint) -> Result<(), StorageError> {
    let mut b = Batch::new();
    b.put(KEY_PUBLISHED, cp.note.as_bytes());
    store.commit(&b)?;
    store.flush()
}

struct Worker {
    log: Log,
    signer: Ed25519Signer,
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    queued: Arc<AtomicUsize>,
    options: SequencerOptions,
    recovery: Recovery,
    /// When storage was last probed, while it is failing.
    last_probe: Option<Instant>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Worker {
    fn run(&mut self, rx: Receiver<Submission>) {
        loop {
            let first = if self.storage_failing() {
                match rx.recv_timeout(PROBE_INTERVAL) {
                    Ok(s) => s,
                    Err(RecvTimeoutError::Timeout) => {
                        self.try_recover();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match rx.recv() {
                    Ok(s) => s,
                    Err(_) => return,
                }
            };
            let mut batch = vec![first];
            let mut count = batch[0].statements.len();
            let deadline = Instant::now() + self.options.max_batch_age;
            while count < self.options.max_batch_size {
                let left = deadline.saturating_duration_since(Instant::now());
                let next = if left.is_zero() {
                    rx.try_recv().map_err(|_| RecvTimeoutError::Timeout)
                } else {
                    rx.recv_timeout(left)
                };
                match next {
                    Ok(s) => {
                        count += s.statements.len();
                        batch.push(s);
                    }
                    Err(_) => break,
                }
            }
            self.queued.fetch_sub(count, Ordering::AcqRel);
            if self.storage_failing() {
                self.try_recover();
            }
            match self.shared.check_writable() {
                Ok(()) => self.process(batch, count),
                Err(e) => batch.into_iter().for_each(|s| {
                    let _ = s.reply.send(Err(e.clone()));
                }),
            }
        }
    }

    fn storage_failing(&self) -> bool {
        self.shared.storage_failure.lock().expect("lock").is_some()
    }

    /// Marks storage as failing after `e`: writes are refused and no
    /// checkpoint leaves until [`Worker::try_recover`] succeeds. Returns the
    /// reason.
    fn storage_failed(&mut self, e: &LogError) -> String {
        let why = describe(e);
        tracing::error!("storage failed, refusing writes and publishing nothing until it recovers: {why}");
        *self.shared.storage_failure.lock().expect("lock") = Some(why.clone());
        self.last_probe = Some(Instant::now());
        why
    }

    /// Probes storage at most once per [`PROBE_INTERVAL`] and, if it works,
    /// reopens and reloads the log ([`crate::recovery`]).
    fn try_recover(&mut self) {
        if self.last_probe.is_some_and(|t| t.elapsed() < PROBE_INTERVAL) {
            return;
        }
        self.last_probe = Some(Instant::now());
        if let Err(e) = self.recovery.probe() {
            tracing::debug!("storage still failing: probe in {}: {e}", self.recovery.data_dir.display());
            return;
        }
        let reopened = self.recovery.store.reopen().map_err(LogError::from).and_then(|()| self.log.reload());
        let result = reopened
            .and_then(|()| check_signed_checkpoints(&self.log, &self.recovery.data_dir))
            .and_then(|()| Ok(self.recovery.probe_store()?))
            .and_then(|()| self.sign_current());
        match result {
            Ok(()) => {
                tracing::warn!(
                    "storage recovered: store reopened at size {}; writes resume",
                    self.log.size()
                );
                *self.shared.storage_failure.lock().expect("lock") = None;
                *self.shared.registry.write().expect("lock") = Arc::new(self.log.registry().clone());
                self.shared.metrics.set_tree_size(self.log.size());
            }
            Err(
                e @ (LogError::Storage(StorageError::Corrupt { .. })
                | LogError::Tree(TreeError::Storage(StorageError::Corrupt { .. }))
                | LogError::WrongOrigin { .. }),
            ) => {
                let why = format!("after reopening the store: {}", describe(&e));
                tracing::error!("{why}; the log stops");
                *self.shared.stopped.lock().expect("lock") = Some(why);
            }
            Err(e) => {
                let why = describe(&e);
                tracing::warn!("storage still failing after reopen: {why}");
                *self.shared.storage_failure.lock().expect("lock") = Some(why);
            }
        }
    }

    fn process(&mut self, batch: Vec<Submission>, count: usize) {
        let started = Instant::now();
        // Borrowed, not cloned: each statement holds its bytes, parsed
        // message and event (the clone and its drop showed as about 3 % of
        // a batched profile; an A/B run measured no difference beyond noise).
        let statements: Vec<&Statement> = batch.iter().flat_map(|s| &s.statements).collect();
        let mut sealed = None;
        let (store, signer, shared) = (&self.store, &self.signer, &self.shared);
        let origin = self.log.origin().to_owned();
        let sign = |size, root| {
            let (note, records) = seal(store.as_ref(), signer, shared, &origin, size, root)?;
            sealed = Some(SignedCheckpoint { size, root, note });
            Ok(records)
        };
        let result = self.log.register_sealed(&statements, now_ms(), sign).and_then(|outcomes| {
            let registered = |o: &Outcome| matches!(o, Outcome::Registered { .. });
            if outcomes.iter().any(registered) {
                // The checkpoint leaves the sequencer, and anybody is
                // answered, only once the entries (and it) are durable.
                self.log.flush()?;
                if let Some(cp) = sealed.take() {
                    self.shared.signed.send_replace(Some(cp));
                }
                let governance = statements.iter().zip(&outcomes).any(|(s, o)| {
                    registered(o) && s.content_type() == provlog_ledger::statement::CONTENT_TYPE_GOVERNANCE
                });
                if governance {
                    *self.shared.registry.write().expect("lock") = Arc::new(self.log.registry().clone());
                }
            }
            Ok(outcomes)
        });
        let result = result.map_err(|e| self.storage_failed(&e));
        self.shared.metrics.record_batch(count, started.elapsed(), self.log.size());
        match result {
            Ok(outcomes) => {
                self.shared.metrics.record_outcomes(&outcomes);
                let mut it = outcomes.into_iter();
                for s in batch {
                    let mine: Vec<Outcome> = it.by_ref().take(s.statements.len()).collect();
                    let _ = s.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                for s in batch {
                    let _ = s.reply.send(Err(SequencerError::StorageUnavailable(e.clone())));
                }
            }
        }
    }

    /// Signs a checkpoint of the current tree unless the last one handed on
    /// covers it (or takes the one stored for its size), stores it, flushes
    /// the store and hands it to the publisher: at start and after a
    /// recovery, when no batch brings one. The flush is needed even when
    /// the checkpoint was stored already: a process killed during a batch's
    /// flush can leave the batch, checkpoint included, in the page cache
    /// only, and the next process reads it back from there.
    fn sign_current(&mut self) -> Result<(), LogError> {
        let (size, root) = (self.log.size(), self.log.root());
        if self.shared.signed.borrow().as_ref().is_some_and(|s| s.size == size) {
            return Ok(());
        }
        let (note, records) =
            seal(self.store.as_ref(), &self.signer, &self.shared, self.log.origin(), size, root)?;
        if !records.is_empty() {
            self.store.commit(&records)?;
        }
        self.store.flush()?;
        self.shared.signed.send_replace(Some(SignedCheckpoint { size, root, note }));
        Ok(())
    }
}

/// The signed checkpoint of the tree of `size` and `root`, and the records
/// that store it under its size: the one stored already (and no records)
/// if there is one, else a new signature.
///
/// # Errors
/// [`StorageError::Corrupt`] if a checkpoint of `size` with another root is
/// stored: the sequencer stops rather than sign a second root for a size.
fn seal(
    store: &dyn Store,
    signer: &Ed25519Signer,
    shared: &Shared,
    origin: &str,
    size: u64,
    root: Hash,
) -> Result<(String, Batch), StorageError> {
    let key = checkpoint_key(size);
    let mut records = Batch::new();
    let note = match store.get(&key)? {
        Some(existing) => {
            let cp = parse_stored(&existing)?;
            if cp.root != root {
                let why = format!(
                    "a checkpoint of size {size} with another root is already signed; refusing to sign {root}"
                );
                *shared.stopped.lock().expect("lock") = Some(why.clone());
                return Err(StorageError::corrupt(why));
            }
            String::from_utf8(existing).expect("checked by parse_stored")
        }
        None => {
            let note =
                Checkpoint::new(origin, size, root).sign(&[signer]).expect("the origin is a valid key name");
            records.put(key, note.as_bytes());
            note
        }
    };
    Ok((note, records))
}
