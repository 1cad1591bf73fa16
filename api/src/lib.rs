//! # provlog-api
//!
//! `provlog-server`: the log's service. Partners submit signed statements
//! over HTTP; the [`sequencer`] decides them with the ledger's rules,
//! appends the accepted ones durably and signs checkpoints; the
//! [`publisher`] has each checkpoint cosigned by the log's witnesses and
//! publishes it; submitters then get their receipts. The read API (tiles,
//! proofs, registry) never touches the sequencer.
//!
//! - [`config`]: the TOML configuration, defaults and validation;
//! - [`sequencer`], [`publisher`]: the write path;
//! - [`bucket`], [`bucket_publisher`]: the copy of the log in an
//!   S3-compatible bucket; [`mirror`]: a read-only server of such a bucket;
//! - [`http`]: routes and handlers; [`problem`]: RFC 9290 errors and their
//!   status codes; [`limits`]: rate limits; [`metrics`]: Prometheus text;
//! - [`dev`]: `--dev`, a complete local log in one directory.
//!
//! Spec: `spec/http-api.md`. Out of scope here: the formats themselves
//! (`provlog-ledger`), the witness (`provlog-witness`).

pub mod bucket;
pub mod bucket_publisher;
mod capped;
pub mod config;
pub mod dev;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod mirror;
pub mod problem;
pub mod publisher;
pub mod recovery;
pub mod sequencer;

use config::Config;
use provlog_ledger::keyfile::{self, KeyFileError};
use provlog_ledger::log::{Log, LogError, Outcome};
use provlog_ledger::policy::{Policy, PolicyError};
use provlog_ledger::statement::{Statement, StatementError};
use provlog_ledger::storage::{
    FjallConfig, FjallStore, ReopenableStore, SledConfig, SledStore, StorageError, Store,
};
use sequencer::{Sequencer, SequencerOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// The OpenAPI description served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("the log key is named {key_name:?} but the origin is {origin:?}; they must be equal")]
    KeyName { key_name: String, origin: String },
    #[error("cannot create data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the {name} thread")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the store in {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error(
        "{other} holds a {other_engine} store, but storage.engine is {engine}: a log stays on the engine it was created with"
    )]
    OtherEngine { other: PathBuf, other_engine: &'static str, engine: &'static str },
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("the log is empty: give a genesis statement (--genesis FILE), or use --dev")]
    NoGenesis,
    #[error("cannot read the genesis statement {path}")]
    GenesisRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the genesis statement {path} is malformed")]
    GenesisMalformed {
        path: PathBuf,
        #[source]
        source: StatementError,
    },
    #[error("the genesis statement {path} was refused")]
    GenesisRefused {
        path: PathBuf,
        #[source]
        source: provlog_ledger::rules::Violation,
    },
    #[error("the genesis statement {path} was not registered as the log's first entry")]
    GenesisNotFirst { path: PathBuf },
    #[error("cannot read the witness policy {path}")]
    PolicyRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("witness policy {path} names no log with this log's key {log_vkey}")]
    PolicyLog { path: PathBuf, log_vkey: String },
    #[error("witness policy {path}")]
    Policy {
        path: PathBuf,
        #[source]
        source: PolicyError,
    },
    #[error(transparent)]
    Bucket(#[from] bucket::BucketError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A started server: the sequencer and publisher run; [`Server::run`]
/// serves HTTP until shutdown.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    http: provlog_witness::http::HttpConfig,
    app: http::App,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Refuses a data directory holding the other engine's store: opening the
/// configured one beside it would start a second, empty log.
fn check_engine(config: &Config) -> Result<(), StartError> {
    let engine = config.storage.engine;
    let other = engine.other().store_dir(&config.data_dir);
    match other.try_exists() {
        Ok(false) => Ok(()),
        Ok(true) => {
            Err(StartError::OtherEngine { other, other_engine: engine.other().name(), engine: engine.name() })
        }
        Err(source) => Err(StartError::DataDir { path: other, source }),
    }
}

/// Whether the configured engine's store exists yet.
fn store_exists(config: &Config) -> Result<bool, StartError> {
    let path = config.storage.engine.store_dir(&config.data_dir);
    path.try_exists().map_err(|source| StartError::DataDir { path, source })
}

/// The configured genesis statement, read and parsed.
fn read_genesis(config: &Config) -> Result<(PathBuf, Statement), StartError> {
    let path = config.genesis.clone().ok_or(StartError::NoGenesis)?;
    let bytes =
        std::fs::read(&path).map_err(|source| StartError::GenesisRead { path: path.clone(), source })?;
    let genesis = Statement::parse(&bytes)
        .map_err(|source| StartError::GenesisMalformed { path: path.clone(), source })?;
    Ok((path, genesis))
}

/// Registers the genesis statement as `log`'s first entry, or says why not.
fn register_genesis(log: &mut Log, path: &Path, genesis: &Statement) -> Result<(), StartError> {
    match log.register(std::slice::from_ref(genesis), now_ms())?.pop() {
        Some(Outcome::Registered { index: 0, .. }) => Ok(()),
        Some(Outcome::Rejected(source)) => Err(StartError::GenesisRefused { path: path.to_owned(), source }),
        // Not reached: the log is empty.
        _ => Err(StartError::GenesisNotFirst { path: path.to_owned() }),
    }
}

/// Opens the configured engine in the data directory (`db/` for sled,
/// `fjall/` for fjall), reopenable for recovery from a failed write. The
/// caller has run [`check_engine`].
fn open_store(config: &Config) -> Result<Arc<ReopenableStore>, StartError> {
    let cache = config.storage.cache_capacity_mb << 20;
    let engine = config.storage.engine;
    let path = engine.store_dir(&config.data_dir);
    let store_path = path.clone();
    let open: provlog_ledger::storage::Opener = match engine {
        config::Engine::Sled => Box::new(move || {
            Ok(Box::new(SledStore::open(&store_path, &SledConfig { cache_capacity: cache })?))
        }),
        config::Engine::Fjall => Box::new(move || {
            Ok(Box::new(FjallStore::open(
                &store_path,
                &FjallConfig { cache_capacity: cache, ..FjallConfig::default() },
            )?))
        }),
    };
    // Every open, at start and at each reopen (a recovery, crate::recovery),
    // first drops the store's pages from the page cache, so that the
    // engine reads what the disk holds, not pages whose write-back failed:
    // after a recovery cut short by a crash or a kill, the next start
    // would otherwise read them as the previous process left them, and
    // nothing would report the error again (RELIABILITY.md, "Storage
    // faults"). The cost is a cold cache after a restart.
    let dir = path.clone();
    let open: provlog_ledger::storage::Opener = Box::new(move || {
        if dir.exists() {
            let files = recovery::evict_page_cache(&dir)
                .map_err(|e| provlog_ledger::storage::StorageError::backend("open", e))?;
            tracing::info!("dropped the cached pages of {files} store files before opening the store");
        }
        open()
    });
    ReopenableStore::open(open).map(Arc::new).map_err(|source| StartError::Store { path, source })
}

impl Server {
    /// Opens the log (registering the genesis statement if it is empty),
    /// starts the sequencer and the publisher, and binds the listener.
    ///
    /// # Errors
    /// [`StartError`] naming what is wrong.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        let signer = keyfile::load(&config.log_key)?;
        if signer.name() != config.origin {
            return Err(StartError::KeyName {
                key_name: signer.name().into(),
                origin: config.origin.clone(),
            });
        }
        let log_vkey = signer.verifier().vkey();
        let policy = match &config.witness_policy {
            None => {
                tracing::warn!(
                    "no witness policy ([witnesses] policy): checkpoints are published without cosignatures"
                );
                None
            }
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| StartError::PolicyRead { path: path.clone(), source })?;
                let policy = Policy::parse(&text)
                    .map_err(|source| StartError::Policy { path: path.clone(), source })?;
                // Clients verify receipts with this file: one naming another
                // log key would make every receipt fail for them.
                if !policy.logs().is_empty() && !policy.logs().iter().any(|l| l.verifier.vkey() == log_vkey) {
                    return Err(StartError::PolicyLog { path: path.clone(), log_vkey });
                }
                Some(policy)
            }
        };
        // A new log starts from its genesis statement: read, parsed and
        // registered first on a log in memory, so that a missing, malformed
        // or refused one stops the start before anything is created (an
        // empty store left behind would fix the engine).
        check_engine(&config)?;
        let genesis = if store_exists(&config)? {
            None
        } else {
            let (path, genesis) = read_genesis(&config)?;
            let mut trial = Log::open(Arc::new(provlog_ledger::storage::MemoryStore::new()), &config.origin)?;
            register_genesis(&mut trial, &path, &genesis)?;
            Some((path, genesis))
        };
        // Created only once the key and the policy are known to be good.
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: config.data_dir.clone(), source })?;
        let reopenable = open_store(&config)?;
        let store: Arc<dyn Store> = reopenable.clone();
        // The filter of known keys fills in the background (about 1.8 s
        // per million events); until then the rules ask the store.
        let (mut log, keys_loader) = Log::open_loading_keys(store.clone(), &config.origin)?;
        std::thread::Builder::new()
            .name("known-keys".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                match keys_loader.run() {
                    Ok(true) => tracing::info!("known keys loaded in {:.1?}", started.elapsed()),
                    Ok(false) => tracing::info!("known keys: the log reloaded them itself"),
                    Err(e) => tracing::error!("loading the known keys failed, the rules read the store: {e}"),
                }
            })
            .map_err(|source| StartError::Thread { name: "known-keys", source })?;
        if log.size() == 0 {
            // A store left empty (by a version that created it before its
            // genesis) is read the same way.
            let (path, genesis) = match genesis {
                Some(g) => g,
                None => read_genesis(&config)?,
            };
            register_genesis(&mut log, &path, &genesis)?;
            log.flush()?;
        }
        let reader = log.reader().clone();
        let state = log.filtered_state();
        let metrics = Arc::new(metrics::Metrics::default());
        let options = SequencerOptions {
            max_batch_size: config.sequencer.max_batch_size,
            max_batch_age: Duration::from_millis(config.sequencer.max_batch_age_ms),
            queue_capacity: config.sequencer.queue_capacity,
        };
        // The gauges start from the recovered log, not from 0.
        metrics.set_tree_size(log.size());
        let recovery = recovery::Recovery { store: reopenable, data_dir: config.data_dir.clone() };
        let sequencer = Sequencer::start(log, signer, options, metrics.clone(), recovery)?;
        if let Some(cp) = sequencer.shared().published.borrow().as_ref() {
            metrics.published_size.store(cp.size, std::sync::atomic::Ordering::Relaxed);
        }
        let publisher = publisher::Publisher::new(
            sequencer.shared().clone(),
            store,
            reader.clone(),
            policy,
            config.witness_timeout,
            metrics.clone(),
            config.data_dir.clone(),
        );
        tokio::spawn(publisher.run());
        if let Some(bucket) = &config.publish {
            let bucket = bucket.open()?;
            metrics.bucket_enabled.store(true, std::sync::atomic::Ordering::Relaxed);
            let shared = sequencer.shared().clone();
            let publisher = bucket_publisher::BucketPublisher::new(
                shared,
                reader.clone(),
                bucket,
                config.origin.clone(),
                metrics.clone(),
            );
            tokio::spawn(publisher.run());
        }
        let app = http::App::new(&config, sequencer, reader, state, metrics, log_vkey);
        let router = http::router(app.clone());
        let listener = provlog_witness::http::listen(config.listen)
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let http = provlog_witness::http::HttpConfig {
            header_read_timeout: Duration::from_millis(config.http.header_read_timeout_ms),
            body_read_timeout: Duration::from_millis(config.http.body_read_timeout_ms),
            max_connections: config.http.max_connections,
            max_concurrent_requests: config.http.max_connections,
        };
        Ok(Server { listener, router, http, app })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn app(&self) -> &http::App {
        &self.app
    }

    /// Serves until `shutdown` completes.
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        provlog_witness::http::serve(self.listener, self.router, self.http, shutdown).await
    }
}

/// Threads of the blocking pool (tokio's default is 512). Its work is
/// signature checks and storage reads, bound by the machine's cores; one
/// thread per concurrent request grew the pool to dozens of threads, each
/// keeping allocator pages (BENCHMARKS.md, "Ingest throughput").
pub const BLOCKING_THREADS: usize = 16;

/// The binaries' tokio runtime (multi-threaded, a bounded blocking pool).
///
/// # Errors
/// If the runtime cannot be built.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(BLOCKING_THREADS).build()
}

/// Sets the calling thread's nice value to the process's plus `nice`, once
/// per thread: the blocking threads that check a batch's signatures call
/// it, so that the sequencer, the pipeline's one serial stage, does not
/// wait for a core behind them. At equal priority it was runnable 88 % of
/// the time but got about 0.37 of a core (BENCHMARKS.md, "Ingest").
/// Raising a nice value needs no privilege, lowering it does, so a thread
/// stays lowered for whatever blocking work it does later. If the system
/// refuses, the thread keeps its priority and a warning says so once.
pub(crate) fn lower_thread_priority(nice: i32) {
    thread_local! {
        static LOWERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    static WARNED: std::sync::Once = std::sync::Once::new();
    if nice == 0 || LOWERED.get() {
        return;
    }
    LOWERED.set(true);
    let result = process_nice().and_then(|base| set_thread_nice((base + nice).min(19)));
    if let Err(e) = result {
        WARNED.call_once(|| tracing::warn!("signature checks keep the process's priority: {e}"));
    }
}

/// The process's nice value: its main thread's (Linux keeps one per
/// thread; other threads inherit theirs from the thread that spawned them).
///
/// # Errors
/// If the system refuses to tell.
fn process_nice() -> std::io::Result<i32> {
    #[cfg(target_os = "linux")]
    // SAFETY: getpid and getpriority take and return plain integers; errno
    // is this thread's own.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, libc::getpid() as libc::id_t);
        if nice == -1 && *libc::__errno_location() != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(nice)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(0)
}

/// Sets the calling thread's nice value.
///
/// # Errors
/// If the system refuses.
fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take plain integers; `who` is this
    // thread's own ID.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, nice) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
    Ok(())
}

/// The binaries' `main`: logs to stderr (level from `RUST_LOG`, default
/// `info`), runs `run`, and turns an error into `name: error` and exit
/// status 1.
pub fn main_with(name: &str, run: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    provlog_witness::init_logging();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT or SIGTERM: the binaries' shutdown trigger.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
