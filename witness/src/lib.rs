//! # provlog-witness
//!
//! A C2SP tlog-witness: it cosigns a log's checkpoint only if it is
//! consistent with every checkpoint of that log it cosigned before, so a log
//! that forks or rolls back cannot collect its cosignatures. It witnesses any
//! C2SP log with Ed25519 checkpoint signatures, provlog's or another.
//!
//! - [`witness`]: the decision and the atomic, durable state update, without
//!   HTTP ([`Witness`]);
//! - [`state`]: what the witness stores per log (latest and all cosigned
//!   checkpoints) and the evidence of misbehavior it keeps;
//! - [`http`]: the HTTP interface on axum and hyper, with its limits;
//! - [`config`], [`keyfile`]: configuration by flags or TOML, and the key
//!   file (mode 0600);
//! - [`Server`]: all of the above, started from a [`config::Config`].
//!
//! The wire formats and the decision table are sans-I/O in
//! `provlog_ledger::witness_protocol`. Out of scope: ML-DSA cosignatures,
//! the optional `sign-subtree` call, bastion mode. Spec: `spec/witness.md`.

pub mod config;
pub mod http;
pub mod keyfile;
pub mod state;
pub mod witness;

pub use witness::{AddCheckpointError, Cosigned, Witness};

use provlog_ledger::storage::{SledConfig, SledStore, StorageError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;

/// Logs to stderr at the level `RUST_LOG` gives (default `info`), for the
/// binaries of this workspace. Colours only on a terminal: a log file or
/// journald gets plain text.
pub fn init_logging() {
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Why the witness could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Key(#[from] keyfile::KeyFileError),
    #[error("cannot create data directory {path}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// sled could not open the data directory (for example, another
    /// witness holds it).
    #[error("cannot open the store in {path}")]
    Store {
        path: std::path::PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A witness bound to its address, ready to serve.
pub struct Server {
    witness: Arc<Witness>,
    listener: tokio::net::TcpListener,
    http: http::HttpConfig,
}

impl Server {
    /// Loads the key, opens the store and binds the listening socket.
    ///
    /// # Errors
    /// [`StartError`] naming what could not be opened.
    pub async fn start(config: config::Config) -> Result<Server, StartError> {
        let signer = keyfile::load(&config.key_file)?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: config.data_dir.clone(), source })?;
        let store =
            SledStore::open(&config.data_dir, &SledConfig { cache_capacity: config.sled_cache_bytes })
                .map_err(|source| StartError::Store { path: config.data_dir.clone(), source })?;
        let witness = Arc::new(Witness::new(Arc::new(store), signer, config.logs));
        let listener = crate::http::listen(config.listen)
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        Ok(Server { witness, listener, http: config.http })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn witness(&self) -> &Arc<Witness> {
        &self.witness
    }

    /// Serves until `shutdown` completes.
    ///
    /// # Errors
    /// I/O errors of the listener.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let router = http::router(self.witness.clone(), self.http.clone());
        http::serve(self.listener, router, self.http, shutdown).await
    }
}
