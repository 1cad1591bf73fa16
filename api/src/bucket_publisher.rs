//! The bucket publisher: copies every published (witnessed) checkpoint, and
//! every tile and entry bundle it needs, to an S3-compatible bucket in the
//! C2SP tlog-tiles layout.
//!
//! Spec: `spec/mirror.md` ("Publication order").
//!
//! Invariants:
//! - the checkpoint object is written only after every tile and bundle of
//!   its size was uploaded, so a reader of the bucket never sees a
//!   checkpoint it cannot verify;
//! - the checkpoint in the bucket is where publication resumes after a
//!   restart: it is read back at start-up and checked to be this log's
//!   (same origin, and a root equal to the local tree's at its size), so a
//!   restart leaves no gap and never overwrites another log's bucket;
//! - it runs beside the sequencer and never blocks it: while the bucket is
//!   down it retries with backoff and, once it is back, publishes the newest
//!   checkpoint in one step (catching up on every tile since). The lag is
//!   the gauge `provlog_bucket_lag_entries`.

use crate::bucket::{Bucket, BucketError};
use crate::metrics::Metrics;
use crate::sequencer::{Shared, SignedCheckpoint};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::note;
use provlog_ledger::tile::{self, Tile};
use provlog_ledger::tiled_tree::TreeReader;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// The longest wait between two attempts while the bucket fails.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why one round of publication failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Bucket(#[from] BucketError),
    /// The bucket holds a checkpoint this log did not sign at that size: it
    /// is another log's bucket, or the local store lost data. Nothing is
    /// overwritten.
    #[error("the bucket's checkpoint is not this log's: {0}")]
    Foreign(String),
    #[error("reading the local tree: {0}")]
    Tree(String),
}

pub struct BucketPublisher {
    shared: Arc<Shared>,
    reader: TreeReader,
    bucket: Bucket,
    origin: String,
    metrics: Arc<Metrics>,
}

impl BucketPublisher {
    pub fn new(
        shared: Arc<Shared>,
        reader: TreeReader,
        bucket: Bucket,
        origin: String,
        metrics: Arc<Metrics>,
    ) -> BucketPublisher {
        BucketPublisher { shared, reader, bucket, origin, metrics }
    }

    /// Runs until the sequencer's channel closes.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(250);
        let fail = |e: PublishError, backoff: &mut Duration| {
            tracing::warn!("bucket publication: {}; retrying in {backoff:?}", crate::bucket::error_chain(&e));
            self.metrics.bucket_failures.inc();
            let wait = *backoff;
            *backoff = (*backoff * 2).min(MAX_BACKOFF);
            wait
        };
        let mut done = loop {
            match self.resume_point().await {
                Ok(size) => break size,
                Err(e) => tokio::time::sleep(fail(e, &mut backoff)).await,
            }
        };
        self.metrics.bucket_size.store(done, Ordering::Relaxed);
        tracing::info!("bucket publication resumes at size {done}");
        let mut rx = self.shared.published.subscribe();
        loop {
            // A log always holds its genesis entry, so a checkpoint of size
            // 0 is never published and `done == 0` means "nothing yet".
            let target = rx.borrow_and_update().clone();
            if let Some(cp) = target.filter(|cp| cp.size > done) {
                match self.publish(done, &cp).await {
                    Ok(()) => {
                        done = cp.size;
                        backoff = Duration::from_millis(250);
                        self.metrics.bucket_size.store(done, Ordering::Relaxed);
                    }
                    Err(e) => tokio::time::sleep(fail(e, &mut backoff)).await,
                }
                continue;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// The size of the checkpoint in the bucket (0 if there is none), once
    /// it is shown to be this log's.
    async fn resume_point(&self) -> Result<u64, PublishError> {
        let Some(bytes) = self.bucket.get("checkpoint", note::MAX_NOTE_SIZE).await? else { return Ok(0) };
        let foreign = |why: String| PublishError::Foreign(why);
        let text = String::from_utf8(bytes).map_err(|_| foreign("not UTF-8".into()))?;
        let body = note::split(&text).map_err(|e| foreign(e.to_string()))?.0;
        let cp = Checkpoint::parse(body).map_err(|e| foreign(e.to_string()))?;
        if cp.origin != self.origin {
            return Err(foreign(format!("origin {:?}, want {:?}", cp.origin, self.origin)));
        }
        let reader = self.reader.clone();
        let size = cp.size;
        let root = tokio::task::spawn_blocking(move || reader.root_at(size))
            .await
            .map_err(|e| PublishError::Tree(e.to_string()))?
            .map_err(|e| foreign(format!("size {size}: {e}")))?;
        if root != cp.root {
            return Err(foreign(format!("root at size {size} is {}, the local tree's is {root}", cp.root)));
        }
        Ok(cp.size)
    }

    /// Uploads every tile of `cp.size` that the bucket's `old` size does not
    /// have, `concurrency` at a time, then the checkpoint.
    async fn publish(&self, old: u64, cp: &SignedCheckpoint) -> Result<(), PublishError> {
        let tiles = tile::tiles_between(old, cp.size);
        for chunk in tiles.chunks(self.bucket.concurrency) {
            let reader = self.reader.clone();
            let chunk: Vec<Tile> = chunk.to_vec();
            let data = tokio::task::spawn_blocking(move || {
                chunk.into_iter().map(|t| reader.tile(t).map(|d| (t, d))).collect::<Result<Vec<_>, _>>()
            })
            .await
            .map_err(|e| PublishError::Tree(e.to_string()))?
            .map_err(|e| PublishError::Tree(e.to_string()))?;
            let mut uploads = JoinSet::new();
            for (t, bytes) in data {
                let bucket = self.bucket.clone();
                uploads.spawn(async move { bucket.put_tile(t, bytes).await });
            }
            while let Some(joined) = uploads.join_next().await {
                joined.map_err(|e| PublishError::Tree(e.to_string()))??;
                self.metrics.bucket_objects.inc();
            }
        }
        self.bucket.put_checkpoint(&cp.note).await?;
        self.metrics.bucket_objects.inc();
        Ok(())
    }
}
