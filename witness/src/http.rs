//! The witness's HTTP interface: C2SP tlog-witness `add-checkpoint`, the
//! monitoring API, evidence, health. Every status code is chosen in one
//! place, [`HttpError`]'s `IntoResponse`.
//!
//! Spec: `spec/witness.md` ("HTTP interface").
//!
//! ```text
//! POST /add-checkpoint               C2SP tlog-witness
//! GET  /<hex SHA-256(origin)>/checkpoint   latest cosigned checkpoint (monitors)
//! GET  /evidence                     JSON list of evidence records
//! GET  /evidence/<id>                one evidence record (JSON)
//! GET  /healthz                      "ok"
//! GET  /                             witness name, vkey and logs (text)
//! ```

use crate::state::{origin_hash, EvidenceSummary};
use crate::witness::{AddCheckpointError, Witness};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use provlog_ledger::storage::StorageError;
use provlog_ledger::witness_protocol::{
    format_witness_size, Refusal, CONTENT_TYPE_TLOG_SIZE, MAX_REQUEST_SIZE,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

const TEXT: &str = "text/plain; charset=utf-8";
/// How long a shutdown waits for open connections before returning.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Limits of the HTTP server (defaults and meaning in [`crate::config`]).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub max_concurrent_requests: usize,
}

/// Every way an HTTP request can fail, with its status code.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 413: the body is over [`MAX_REQUEST_SIZE`].
    #[error("request body exceeds {max} bytes")]
    BodyTooLarge { max: usize },
    /// 408: the body did not arrive within the body read timeout.
    #[error("request body not received in time")]
    BodyTimeout,
    /// 400: the connection failed while the body was read.
    #[error("request body could not be read")]
    BodyRead,
    /// The witness's answer: 400, 403, 404, 409, 422, 500 or 503.
    #[error(transparent)]
    AddCheckpoint(#[from] AddCheckpointError),
    /// 503 with `Retry-After`: too many `add-checkpoint` requests at once.
    #[error("too many requests in flight")]
    Overloaded,
    /// 404.
    #[error("not found")]
    NotFound,
    /// 500.
    #[error("witness storage failed")]
    Storage(#[from] StorageError),
    /// 500: a request task panicked.
    #[error("internal error")]
    Internal,
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, TEXT)], body).into_response()
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let msg = format!("{self}\n");
        match self {
            HttpError::BodyTooLarge { .. } => text(StatusCode::PAYLOAD_TOO_LARGE, msg),
            HttpError::BodyTimeout => text(StatusCode::REQUEST_TIMEOUT, msg),
            HttpError::BodyRead => text(StatusCode::BAD_REQUEST, msg),
            HttpError::AddCheckpoint(e) => match e {
                AddCheckpointError::Malformed(_) => text(StatusCode::BAD_REQUEST, msg),
                AddCheckpointError::Refused(Refusal::SizeConflict { witness_size, .. }) => (
                    StatusCode::CONFLICT,
                    [(CONTENT_TYPE, CONTENT_TYPE_TLOG_SIZE)],
                    format_witness_size(witness_size),
                )
                    .into_response(),
                AddCheckpointError::Refused(r) => {
                    let status = StatusCode::from_u16(r.status()).expect("a valid status code");
                    text(status, msg)
                }
                AddCheckpointError::Stopped => {
                    (StatusCode::SERVICE_UNAVAILABLE, [(CONTENT_TYPE, TEXT)], msg).into_response()
                }
                AddCheckpointError::Storage(_) | AddCheckpointError::Clock => {
                    text(StatusCode::INTERNAL_SERVER_ERROR, msg)
                }
            },
            HttpError::Overloaded => {
                (StatusCode::SERVICE_UNAVAILABLE, [(CONTENT_TYPE, TEXT), (RETRY_AFTER, "1")], msg)
                    .into_response()
            }
            HttpError::NotFound => text(StatusCode::NOT_FOUND, msg),
            HttpError::Storage(_) | HttpError::Internal => text(StatusCode::INTERNAL_SERVER_ERROR, msg),
        }
    }
}

#[derive(Clone)]
struct App {
    witness: Arc<Witness>,
    config: HttpConfig,
    /// Permits for `add-checkpoint` requests being decided.
    in_flight: Arc<Semaphore>,
}

/// The witness's routes.
pub fn router(witness: Arc<Witness>, config: HttpConfig) -> Router {
    let in_flight = Arc::new(Semaphore::new(config.max_concurrent_requests));
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(latest_checkpoint))
        .route("/evidence", get(evidence_list))
        .route("/evidence/{id}", get(evidence))
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok\n".into()) }))
        .route("/", get(info))
        .fallback(|| async { HttpError::NotFound })
        .with_state(App { witness, config, in_flight })
}

/// Reads a body of at most [`MAX_REQUEST_SIZE`] bytes within the body timeout.
async fn read_body(req: Request, timeout: Duration) -> Result<Vec<u8>, HttpError> {
    let too_large = HttpError::BodyTooLarge { max: MAX_REQUEST_SIZE };
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_SIZE as u64) {
        return Err(too_large);
    }
    let limited = Limited::new(req.into_body(), MAX_REQUEST_SIZE);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(HttpError::BodyTimeout),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large),
        Ok(Err(_)) => Err(HttpError::BodyRead),
        Ok(Ok(c)) => Ok(c.to_bytes().to_vec()),
    }
}

async fn add_checkpoint(State(app): State<App>, req: Request) -> Result<Response, HttpError> {
    let Ok(_permit) = app.in_flight.clone().try_acquire_owned() else {
        return Err(HttpError::Overloaded);
    };
    let body = read_body(req, app.config.body_read_timeout).await?;
    let witness = app.witness.clone();
    // Decision, signature and the flushed write block: off the async workers.
    let cosigned = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body))
        .await
        .map_err(|_| HttpError::Internal)??;
    Ok(text(StatusCode::OK, cosigned.body))
}

async fn latest_checkpoint(State(app): State<App>, Path(hash): Path<String>) -> Result<Response, HttpError> {
    let bytes: [u8; 32] = hex::decode(&hash)
        .ok()
        .filter(|_| hash.bytes().all(|c| !c.is_ascii_uppercase()))
        .and_then(|b| b.try_into().ok())
        .ok_or(HttpError::NotFound)?;
    let note = app.witness.latest_checkpoint(&bytes)?.ok_or(HttpError::NotFound)?;
    Ok(text(StatusCode::OK, note))
}

async fn evidence_list(State(app): State<App>) -> Result<Json<Vec<EvidenceSummary>>, HttpError> {
    Ok(Json(app.witness.state().evidence_list()?))
}

async fn evidence(State(app): State<App>, Path(id): Path<String>) -> Result<Response, HttpError> {
    let e = app.witness.state().evidence(&id)?.ok_or(HttpError::NotFound)?;
    Ok(Json(e).into_response())
}

async fn info(State(app): State<App>) -> Response {
    let w = &app.witness;
    let mut s = format!("provlog-witness\nname {}\nvkey {}\n", w.name(), w.vkey());
    for origin in w.logs().origins() {
        s.push_str(&format!("log {} {origin}\n", hex::encode(origin_hash(origin))));
    }
    text(StatusCode::OK, s)
}

/// Connections the kernel queues for `accept` (capped by
/// `net.core.somaxconn`, 4096 by default on current Linux). tokio's `bind`
/// asks for 1024; a burst of 1,024 clients connecting at once to a busy log
/// overflowed that queue, and the dropped connection attempts waited 1–3 s
/// for the client's SYN retransmission (BENCHMARKS.md, "Ingest").
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for [`serve`]: SO_REUSEADDR, as `TcpListener::bind` sets
/// it, and a backlog of [`LISTEN_BACKLOG`]. Call it inside the runtime.
///
/// # Errors
/// The socket's, e.g. the address is in use.
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` until `shutdown` completes, then waits up to
/// five seconds for open connections. Each connection is HTTP/1.1 with
/// keep-alive; a client that does not send its headers within the header
/// read timeout is disconnected; at most `max_connections` are open at once.
///
/// # Errors
/// Never returns an error today; accept failures (e.g. out of descriptors)
/// are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: HttpConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(config.max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = connections.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Handlers may read the peer address (rate limits) as
        // `Extension<ConnectInfo<SocketAddr>>`.
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        ));
        let header_read_timeout = config.header_read_timeout;
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
            drop(permit);
        });
    }
    let all = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, connections.acquire_many(all)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// More connections than tokio's default backlog of 1024 complete their
    /// handshake while nobody accepts (with tokio's `bind`, the 1026th
    /// waits for SYN retransmissions and times out).
    #[test]
    fn a_burst_of_connections_beyond_1024_is_queued_not_dropped() {
        const BURST: usize = 1200;
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        // The soft limit on open files, from /proc/self/limits.
        let files: usize = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| {
                l.lines().find(|l| l.starts_with("Max open files"))?.split_whitespace().nth(3)?.parse().ok()
            })
            .unwrap_or(0);
        if somaxconn < BURST || files < BURST + 200 {
            eprintln!("skipped: net.core.somaxconn {somaxconn} or the open-file limit {files} is below the burst of {BURST}");
            return;
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let listener = runtime.block_on(async { listen("127.0.0.1:0".parse().unwrap()) }).unwrap();
        let addr = listener.local_addr().unwrap();
        // Each connection stays open, so that the queue holds them all.
        let mut open = Vec::with_capacity(BURST);
        for i in 0..BURST {
            let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .unwrap_or_else(|e| panic!("connection {i} of {BURST} not queued: {e}"));
            open.push(stream);
        }
    }
}
