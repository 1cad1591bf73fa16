//! The mirror: a read-only server of a log's bucket (`provlog-mirror`). It
//! follows the checkpoint the bucket holds, and serves the read API
//! (checkpoint, tiles, entry bundles, inclusion and consistency proofs)
//! from a local copy that it rebuilt and verified, never from bytes it
//! has not checked.
//!
//! Spec: `spec/mirror.md` ("The mirror").
//!
//! Each round: read `checkpoint` from the bucket and verify it against the
//! trust policy (the log's key and the witness quorum); read the entry
//! bundles from the local size up to the checkpoint's; replay every entry
//! with the ledger's [`Replayer`] into a local store (re-checking every
//! acceptance decision and rebuilding tiles and indexes); and serve the new
//! checkpoint only once the rebuilt root at its size equals the signed one.
//! A checkpoint that does not verify, or is older than the one served, is
//! refused and the mirror keeps serving what it verified. An entry that
//! does not replay, or a root that differs, is a divergence: the local
//! store now holds entries the log never signed, so the mirror stops
//! following and reports it on `/healthz`, still serving its last verified
//! checkpoint.

use crate::bucket::{Bucket, BucketConfig, BucketError};
use crate::http::read::{self, ReadView};
use crate::problem::Problem;
use crate::sequencer::SignedCheckpoint;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use provlog_ledger::log::{FilteredState, LogError, ReplayError, Replayer};
use provlog_ledger::note::{self, NoteVerifier};
use provlog_ledger::policy::Policy;
use provlog_ledger::state::StateView;
use provlog_ledger::statement::StatementId;
use provlog_ledger::storage::{SledConfig, SledStore, StorageError, Store};
use provlog_ledger::tile::{self, TileKind, TILE_WIDTH};
use provlog_ledger::tiled_tree::TreeReader;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

const W: u64 = TILE_WIDTH as u64;

/// The mirror's configuration.
#[derive(Clone, Debug)]
pub struct MirrorConfig {
    pub bucket: BucketConfig,
    /// C2SP tlog-policy text naming the log (its vkey; the origin is its
    /// key name) and the witnesses whose quorum a checkpoint needs.
    pub policy: String,
    /// The local store (rebuilt from the bucket if lost).
    pub data_dir: PathBuf,
    /// How often the bucket's checkpoint is read.
    pub poll_interval: Duration,
}

/// Why the mirror could not start.
#[derive(Debug, thiserror::Error)]
pub enum MirrorStartError {
    #[error("trust policy: {0}")]
    Policy(String),
    #[error(transparent)]
    Bucket(#[from] BucketError),
    #[error("local store {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: LogError,
    },
}

/// Why one follow round stopped.
#[derive(Debug, thiserror::Error)]
enum FollowError {
    /// The bucket or the local store failed: retried next round.
    #[error(transparent)]
    Transport(#[from] BucketError),
    #[error("local store: {0}")]
    Store(String),
    /// What the bucket served does not verify; the round is dropped.
    #[error("refused: {0}")]
    Refused(String),
    /// The local copy holds entries the log did not sign: stop.
    #[error("divergence: {0}")]
    Divergence(String),
}

impl From<LogError> for FollowError {
    fn from(e: LogError) -> Self {
        FollowError::Store(e.to_string())
    }
}

/// What the handlers read. Cheap to clone.
#[derive(Clone)]
pub struct MirrorView {
    reader: TreeReader,
    state: FilteredState,
    /// The latest checkpoint that verified and whose size the local copy
    /// holds and matches; written only by the follow loop.
    verified: Arc<RwLock<Option<SignedCheckpoint>>>,
    /// Set when the mirror stopped following, or the last round was refused.
    problem: Arc<Mutex<Option<String>>>,
    bucket_size: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    origin: String,
}

impl ReadView for MirrorView {
    fn published(&self) -> Option<SignedCheckpoint> {
        self.verified.read().expect("lock").clone()
    }
    fn reader(&self) -> &TreeReader {
        &self.reader
    }
    fn statement_index(&self, id: &StatementId) -> Result<Option<u64>, StorageError> {
        let size = self.servable_size();
        Ok(self.state.statement_index(&id.0)?.filter(|i| *i < size))
    }
    fn servable_size(&self) -> u64 {
        self.published().map_or(0, |cp| cp.size)
    }
}

/// A started mirror: the follow loop runs; [`Mirror::router`] serves.
pub struct Mirror {
    view: MirrorView,
}

impl Mirror {
    /// Opens (or creates) the local store and starts following the bucket.
    ///
    /// # Errors
    /// [`MirrorStartError`] naming what is wrong.
    pub fn start(config: MirrorConfig) -> Result<Mirror, MirrorStartError> {
        let policy = Policy::parse(&config.policy).map_err(|e| MirrorStartError::Policy(e.to_string()))?;
        let [log] = policy.logs() else {
            return Err(MirrorStartError::Policy("it must name exactly one log".into()));
        };
        let origin = log.verifier.name().to_owned();
        let bucket = config.bucket.open()?;
        let path = config.data_dir.join("db");
        let store_err = |source: LogError| MirrorStartError::Store { path: path.clone(), source };
        let store = SledStore::open(&path, &SledConfig { cache_capacity: 64 << 20 })
            .map_err(|e| store_err(e.into()))?;
        let replayer = Replayer::resume(Arc::new(store) as Arc<dyn Store>, &origin).map_err(store_err)?;
        let view = MirrorView {
            reader: replayer.log().reader().clone(),
            state: replayer.log().filtered_state(),
            verified: Arc::default(),
            problem: Arc::default(),
            bucket_size: Arc::default(),
            failures: Arc::default(),
            origin,
        };
        let follower = Follower { view: view.clone(), bucket, policy, replayer: Some(replayer) };
        tokio::spawn(follower.run(config.poll_interval));
        Ok(Mirror { view })
    }

    pub fn view(&self) -> &MirrorView {
        &self.view
    }

    /// The mirror's routes: the read API of `spec/http-api.md` and `/`,
    /// `/healthz`, `/metrics`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/checkpoint", get(read::checkpoint::<MirrorView>))
            .route("/tile/{*path}", get(read::tile::<MirrorView>))
            .route("/proof/inclusion", get(read::inclusion::<MirrorView>))
            .route("/proof/consistency", get(read::consistency::<MirrorView>))
            .route("/lineage/{identifier}", get(crate::http::lineage::lineage::<MirrorView>))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .route("/", get(index))
            .fallback(|| async { Problem::not_found("no such resource (a mirror serves only reads)") })
            .with_state(self.view.clone())
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

/// `GET /healthz`: 200 once a checkpoint verified and while following works.
async fn healthz(axum::extract::State(v): axum::extract::State<MirrorView>) -> Response {
    let problem = v.problem.lock().expect("lock").clone();
    match (v.published(), problem) {
        (Some(_), None) => (StatusCode::OK, [(CONTENT_TYPE, TEXT)], "ok\n".to_owned()).into_response(),
        (None, None) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(CONTENT_TYPE, TEXT)],
            "no verified checkpoint yet\n".to_owned(),
        )
            .into_response(),
        (_, Some(p)) => {
            (StatusCode::SERVICE_UNAVAILABLE, [(CONTENT_TYPE, TEXT)], format!("{p}\n")).into_response()
        }
    }
}

/// `GET /metrics`: the verified size and how far the bucket is ahead.
async fn metrics(axum::extract::State(v): axum::extract::State<MirrorView>) -> Response {
    let verified = v.servable_size();
    let bucket = v.bucket_size.load(Ordering::Relaxed);
    let body = format!(
        "# HELP provlog_mirror_verified_size Size of the checkpoint the mirror verified and serves.\n\
         # TYPE provlog_mirror_verified_size gauge\nprovlog_mirror_verified_size {verified}\n\
         # HELP provlog_mirror_lag_entries Entries in the bucket's checkpoint not yet verified.\n\
         # TYPE provlog_mirror_lag_entries gauge\nprovlog_mirror_lag_entries {}\n\
         # HELP provlog_mirror_failures_total Follow rounds that failed or were refused.\n\
         # TYPE provlog_mirror_failures_total counter\nprovlog_mirror_failures_total {}\n",
        bucket.saturating_sub(verified),
        v.failures.load(Ordering::Relaxed)
    );
    (StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// `GET /`: who this mirror is.
async fn index(axum::extract::State(v): axum::extract::State<MirrorView>) -> Response {
    let size = v.servable_size();
    let body = format!("provlog-mirror\norigin {}\nverified size {size}\n", v.origin);
    (StatusCode::OK, [(CONTENT_TYPE, TEXT)], body).into_response()
}

/// The follow loop's own state.
struct Follower {
    view: MirrorView,
    bucket: Bucket,
    policy: Policy,
    /// Taken while a blocking replay runs.
    replayer: Option<Replayer>,
}

impl Follower {
    async fn run(mut self, poll: Duration) {
        loop {
            match self.round().await {
                Ok(()) => *self.view.problem.lock().expect("lock") = None,
                Err(FollowError::Divergence(why)) => {
                    tracing::error!("mirror stopped following the bucket: divergence: {why}");
                    self.view.failures.fetch_add(1, Ordering::Relaxed);
                    *self.view.problem.lock().expect("lock") = Some(format!("divergence: {why}"));
                    return;
                }
                Err(e) => {
                    tracing::warn!("mirror round: {}", crate::bucket::error_chain(&e));
                    self.view.failures.fetch_add(1, Ordering::Relaxed);
                    if matches!(e, FollowError::Refused(_)) {
                        *self.view.problem.lock().expect("lock") = Some(e.to_string());
                    }
                }
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// One round: verify the bucket's checkpoint, replay up to it, compare.
    async fn round(&mut self) -> Result<(), FollowError> {
        let Some(bytes) = self.bucket.get("checkpoint", note::MAX_NOTE_SIZE).await? else { return Ok(()) };
        let note =
            String::from_utf8(bytes).map_err(|_| FollowError::Refused("checkpoint is not UTF-8".into()))?;
        let checked =
            self.policy.check(&note).map_err(|e| FollowError::Refused(format!("checkpoint: {e}")))?;
        let cp = checked.checkpoint;
        self.view.bucket_size.store(cp.size, Ordering::Relaxed);
        if let Some(served) = self.view.published() {
            if cp.size < served.size {
                return Err(FollowError::Refused(format!(
                    "the bucket's checkpoint went back from size {} to {}",
                    served.size, cp.size
                )));
            }
            if cp.size == served.size {
                if cp.root != served.root {
                    return Err(FollowError::Refused(format!("two roots signed for size {}", cp.size)));
                }
                return Ok(());
            }
        }
        while self.local_size() < cp.size {
            let local = self.local_size();
            let t = tile::tile_at_size(TileKind::Entries, local / W, cp.size).expect("local < size");
            let bundle =
                self.bucket.get(&t.path(), tile::MAX_BUNDLE_SIZE).await?.ok_or_else(|| {
                    FollowError::Refused(format!("{} is missing from the bucket", t.path()))
                })?;
            let mut replayer = self.replayer.take().expect("replayer");
            let skip = (local - t.index * W) as usize;
            let width = t.width as usize;
            let (replayer, result) = tokio::task::spawn_blocking(move || {
                let r = match tile::decode_bundle(&bundle) {
                    Ok(entries) if entries.len() == width => {
                        replayer.replay(&entries[skip..]).map_err(|e| match e {
                            ReplayError::Divergence { .. } => FollowError::Divergence(e.to_string()),
                            ReplayError::Log(e) => e.into(),
                        })
                    }
                    Ok(entries) => Err(FollowError::Refused(format!(
                        "{} holds {} entries, want {width}",
                        t.path(),
                        entries.len()
                    ))),
                    Err(e) => Err(FollowError::Refused(format!("{}: {e}", t.path()))),
                };
                (replayer, r)
            })
            .await
            .map_err(|e| FollowError::Store(e.to_string()))?;
            self.replayer = Some(replayer);
            result?;
        }
        let reader = self.view.reader.clone();
        let size = cp.size;
        let root = tokio::task::spawn_blocking(move || reader.root_at(size))
            .await
            .map_err(|e| FollowError::Store(e.to_string()))?
            .map_err(|e| FollowError::Store(e.to_string()))?;
        if root != cp.root {
            return Err(FollowError::Divergence(format!(
                "the entries in the bucket hash to {root} at size {size}, the signed root is {}",
                cp.root
            )));
        }
        self.replayer.as_ref().expect("replayer").log().flush()?;
        tracing::info!("mirror verified size {size}");
        *self.view.verified.write().expect("lock") = Some(SignedCheckpoint { size, root, note });
        Ok(())
    }

    fn local_size(&self) -> u64 {
        self.view.reader.size()
    }
}
