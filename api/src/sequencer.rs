//! The sequencer: the log's single writer. It takes statements from a
//! bounded queue, groups them into batches, registers each batch in one
//! atomic append, flushes it to disk, and only then signs a checkpoint.
//!
//! Spec: `spec/http-api.md` ("Sequencing").
//!
//! Invariants, in the order the loop establishes them:
//! - a batch's entries, tiles and indexes commit together or not at all
//!   ([`Log::register`]);
//! - nothing is signed before the data it covers is flushed;
//! - the log never signs two different roots for one size: every signed
//!   checkpoint is stored under its size before it leaves the sequencer,
//!   and a size already stored is never signed again with another root.
//!
//! A failed flush does not stop the process: the sequencer refuses new work
//! (the HTTP layer answers 503), retries the flush every second, and resumes
//! signing once it succeeds — the committed entries become durable then, and
//! no submitter was told they were registered before that.

use crate::metrics::Metrics;
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::log::{Log, LogError, Outcome};
use provlog_ledger::note::Ed25519Signer;
use provlog_ledger::statement::Statement;
use provlog_ledger::storage::{Batch, StorageError, Store};
use provlog_ledger::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// The latest checkpoint the sequencer signed (not yet witnessed).
    pub signed: watch::Sender<Option<SignedCheckpoint>>,
    /// The latest published checkpoint: signed and, if witnesses are
    /// configured, cosigned by a quorum. Receipts are built against it.
    pub published: watch::Sender<Option<SignedCheckpoint>>,
    /// False while storage refuses writes.
    pub storage_ok: AtomicBool,
    /// Set when the sequencer stopped for good.
    pub stopped: Mutex<Option<String>>,
    /// Set while the publisher cannot publish (witness quorum unreachable).
    pub publish_blocked: Mutex<Option<String>>,
    /// The registry as of the last batch, for read-only views.
    pub registry: RwLock<Arc<provlog_ledger::governance::Registry>>,
    pub metrics: Arc<Metrics>,
}

impl Shared {
    /// Refuses work if storage is failing or the sequencer stopped.
    pub fn check_writable(&self) -> Result<(), SequencerError> {
        if let Some(why) = self.stopped.lock().expect("lock").clone() {
            return Err(SequencerError::Stopped(why));
        }
        if !self.storage_ok.load(Ordering::Acquire) {
            return Err(SequencerError::StorageUnavailable("storage refused the last write".into()));
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
    /// Starts the sequencer thread, which owns `log`. Signs a checkpoint for
    /// the current tree at once if none is stored for its size.
    ///
    /// # Errors
    /// A storage failure reading or writing the stored checkpoints.
    pub fn start(
        log: Log,
        signer: Ed25519Signer,
        options: SequencerOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Sequencer, LogError> {
        let store = log.reader().store().clone();
        let published = load_published(store.as_ref())?;
        let shared = Arc::new(Shared {
            signed: watch::channel(None).0,
            published: watch::channel(published).0,
            storage_ok: AtomicBool::new(true),
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
    let note =
        String::from_utf8(note).map_err(|_| StorageError::corrupt("published checkpoint is not UTF-8"))?;
    let (text, _) = provlog_ledger::note::split(&note).map_err(|e| StorageError::corrupt(e.to_string()))?;
    let cp = Checkpoint::parse(text).map_err(|e| StorageError::corrupt(e.to_string()))?;
    Ok(Some(SignedCheckpoint { size: cp.size, root: cp.root, note }))
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
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Worker {
    fn run(&mut self, rx: Receiver<Submission>) {
        while let Ok(first) = rx.recv() {
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
            self.process(batch, count);
        }
    }

    fn process(&mut self, batch: Vec<Submission>, count: usize) {
        let started = Instant::now();
        let statements: Vec<Statement> = batch.iter().flat_map(|s| s.statements.iter().cloned()).collect();
        let result = self.log.register(&statements, now_ms()).map_err(|e| e.to_string());
        let result = result.and_then(|outcomes| {
            let registered = |o: &Outcome| matches!(o, Outcome::Registered { .. });
            if outcomes.iter().any(registered) {
                let flushed = self.flush_until_durable();
                // Signed whether or not the flush needed retries: either way
                // the entries are durable now.
                self.sign_current().map_err(|e| e.to_string())?;
                let governance = statements.iter().zip(&outcomes).any(|(s, o)| {
                    registered(o) && s.content_type() == provlog_ledger::statement::CONTENT_TYPE_GOVERNANCE
                });
                if governance {
                    *self.shared.registry.write().expect("lock") = Arc::new(self.log.registry().clone());
                }
                flushed?;
            }
            Ok(outcomes)
        });
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
                tracing::error!("append failed: {e}");
                for s in batch {
                    let _ = s.reply.send(Err(SequencerError::StorageUnavailable(e.clone())));
                }
            }
        }
    }

    /// Flushes; on failure marks storage unavailable and retries every
    /// second until it succeeds (the data is committed and must become
    /// durable before anything is signed or appended after it).
    fn flush_until_durable(&mut self) -> Result<(), String> {
        let mut first_error = None;
        loop {
            match self.log.flush() {
                Ok(()) => {
                    if first_error.is_some() {
                        tracing::warn!("storage recovered; flush succeeded");
                    }
                    self.shared.storage_ok.store(true, Ordering::Release);
                    return match first_error {
                        None => Ok(()),
                        // The submitters of this batch were not waited on
                        // for the whole outage; they get an error and, on
                        // retry, the now durable entry.
                        Some(e) => Err(e),
                    };
                }
                Err(e) => {
                    if first_error.is_none() {
                        tracing::error!("flush failed, refusing writes until it succeeds: {e}");
                        self.shared.storage_ok.store(false, Ordering::Release);
                        first_error = Some(format!("flush failed: {e}"));
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    /// Signs a checkpoint of the current (flushed) tree unless the last one
    /// signed already covers it, stores it under its size, and hands it to
    /// the publisher.
    fn sign_current(&mut self) -> Result<(), LogError> {
        let (size, root) = (self.log.size(), self.log.root());
        if self.shared.signed.borrow().as_ref().is_some_and(|s| s.size == size) {
            return Ok(());
        }
        let key = checkpoint_key(size);
        let note = match self.store.get(&key)? {
            Some(existing) => {
                let note =
                    String::from_utf8(existing).map_err(|_| StorageError::corrupt("stored checkpoint"))?;
                let cp = provlog_ledger::note::split(&note)
                    .ok()
                    .and_then(|(text, _)| Checkpoint::parse(text).ok())
                    .ok_or_else(|| StorageError::corrupt("stored checkpoint"))?;
                if cp.root != root {
                    let why = format!("a checkpoint of size {size} with another root is already signed; refusing to sign {root}");
                    *self.shared.stopped.lock().expect("lock") = Some(why.clone());
                    return Err(StorageError::corrupt(why).into());
                }
                note
            }
            None => {
                let note = Checkpoint::new(self.log.origin(), size, root)
                    .sign(&[&self.signer])
                    .expect("the origin is a valid key name");
                let mut b = Batch::new();
                b.put(key, note.as_bytes());
                self.store.commit(&b)?;
                self.store.flush()?;
                note
            }
        };
        self.shared.signed.send_replace(Some(SignedCheckpoint { size, root, note }));
        Ok(())
    }
}
