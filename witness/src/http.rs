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
//! GET  /healthz                      "ok", or 503 once cosigning stopped
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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
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
use tower::limit::GlobalConcurrencyLimitLayer;
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
        .route("/healthz", get(healthz))
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
    // The body first: a slot is taken only for the work, so slow uploads
    // (bounded by the body timeout and the connection limit) cannot hold
    // every slot and keep the log's own requests out.
    let body = read_body(req, app.config.body_read_timeout).await?;
    let Ok(permit) = app.in_flight.clone().try_acquire_owned() else {
        return Err(HttpError::Overloaded);
    };
    let witness = app.witness.clone();
    // Decision, signature and the flushed write block: off the async
    // workers. The slot goes with the work, which runs on even if the
    // client leaves.
    let cosigned = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        witness.add_checkpoint(&body)
    })
    .await
    .map_err(|_| HttpError::Internal)??;
    Ok(text(StatusCode::OK, cosigned.body))
}

/// 200 `ok`, or 503 once cosigning stopped after a storage failure: the
/// witness answers, but will cosign nothing until it is restarted.
async fn healthz(State(app): State<App>) -> Response {
    if app.witness.is_stopped() {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopped: cosigning ended after a storage failure; restart\n".into(),
        )
    } else {
        text(StatusCode::OK, "ok\n".into())
    }
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

/// The first bytes of every HTTP/2 connection (RFC 9113, section 3.4).
const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The streams one HTTP/2 connection may have open at once (its
/// `SETTINGS_MAX_CONCURRENT_STREAMS`); a client wanting more opens more
/// connections, each under `max_connections`, and [`serve`] handles at
/// most `max_connections` requests at once over all of them.
pub const HTTP2_MAX_STREAMS: u32 = 256;

/// The largest header block an HTTP/2 request may carry, decoded
/// (`SETTINGS_MAX_HEADER_LIST_SIZE`): HTTP/1.1 requests get hyper's
/// default of 100 headers in a buffer of about 400 KiB; no provlog request
/// needs more than a few hundred bytes of headers.
pub const HTTP2_MAX_HEADER_LIST: u32 = 16 << 10;

/// How often an idle HTTP/2 connection is pinged, and how long the answer
/// may take before the connection is closed: a peer that vanished does not
/// keep its connection (and its place under `max_connections`).
const HTTP2_PING_INTERVAL: Duration = Duration::from_secs(20);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Which protocol a new connection speaks, from its first bytes, without
/// consuming them: `Some(true)` for the HTTP/2 preface ("prior knowledge",
/// RFC 9113 section 3.3, as clients of a cleartext port send it),
/// `Some(false)` for anything else (an HTTP/1.1 request line), `None` if
/// the client closed or sent too little within `wait`.
async fn opens_http2(stream: &tokio::net::TcpStream, wait: Duration) -> Option<bool> {
    let look = async {
        let mut first = [0u8; HTTP2_PREFACE.len()];
        let mut pause = Duration::from_millis(5);
        loop {
            let n = stream.peek(&mut first).await.ok()?;
            if n == 0 {
                return None;
            }
            if !HTTP2_PREFACE.starts_with(&first[..n]) {
                return Some(false);
            }
            if n == HTTP2_PREFACE.len() {
                return Some(true);
            }
            // Part of the preface so far. `peek` answers at once while any
            // byte is unread, so wait before looking again, longer each
            // time: real clients send the preface in one segment, and one
            // that stalls inside it costs a few wake-ups, not one every 5 ms.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    };
    tokio::time::timeout(wait, look).await.ok().flatten()
}

/// The requests in hand on one HTTP/2 connection, and when the last one
/// ended (or the connection began): HTTP/1.1's header read timeout closes
/// a connection left idle, and [`serve_http2`] does the same for HTTP/2
/// with this.
struct Activity(std::sync::Mutex<(usize, tokio::time::Instant)>);

/// Counts one request from when hyper hands it over until its response
/// (head) is ready.
struct InHand(Arc<Activity>);

impl Activity {
    fn begin(self: &Arc<Self>) -> InHand {
        self.0.lock().expect("lock").0 += 1;
        InHand(self.clone())
    }

    /// When the connection will have been idle for `idle`, if no request
    /// is in hand now.
    fn idle_at(&self, idle: Duration) -> Option<tokio::time::Instant> {
        let (open, last) = *self.0.lock().expect("lock");
        (open == 0).then(|| last + idle)
    }
}

impl Drop for InHand {
    fn drop(&mut self) {
        let mut activity = self.0 .0.lock().expect("lock");
        *activity = (activity.0 - 1, tokio::time::Instant::now());
    }
}

/// Serves one connection that opened with the HTTP/2 preface, and closes
/// it gracefully (GOAWAY, letting open streams finish) once it has had no
/// request in hand for `idle`: as HTTP/1.1's header read timeout closes an
/// idle kept-alive connection, so that an idle HTTP/2 client does not keep
/// its place under `max_connections` (answering pings costs it nothing).
async fn serve_http2<S>(stream: tokio::net::TcpStream, service: S, idle: Duration) -> hyper::Result<()>
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<axum::body::Body>,
            Error = std::convert::Infallible,
        > + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let activity = Arc::new(Activity(std::sync::Mutex::new((0, tokio::time::Instant::now()))));
    let counted = activity.clone();
    let service = hyper::service::service_fn(move |req| {
        let in_hand = counted.begin();
        let answer = service.call(req);
        async move {
            let answer = answer.await;
            drop(in_hand);
            answer
        }
    });
    let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .max_concurrent_streams(HTTP2_MAX_STREAMS)
        .max_header_list_size(HTTP2_MAX_HEADER_LIST)
        .keep_alive_interval(HTTP2_PING_INTERVAL)
        .keep_alive_timeout(HTTP2_PING_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    loop {
        // Look again when the connection would have been idle long
        // enough, or after `idle` while requests are in hand.
        let look = activity.idle_at(idle).unwrap_or_else(|| tokio::time::Instant::now() + idle);
        tokio::select! {
            ended = connection.as_mut() => return ended,
            () = tokio::time::sleep_until(look) => {
                if activity.idle_at(idle).is_some_and(|at| at <= tokio::time::Instant::now()) {
                    connection.as_mut().graceful_shutdown();
                    return connection.await;
                }
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then waits up to
/// five seconds for open connections. Each connection is HTTP/1.1 with
/// keep-alive, or HTTP/2 over cleartext when it opens with the HTTP/2
/// preface (at most [`HTTP2_MAX_STREAMS`] requests at once on it, headers
/// bounded by [`HTTP2_MAX_HEADER_LIST`], pinged while idle). A client that
/// does not send its first bytes (an HTTP/1.1 request line or the HTTP/2
/// preface) within the header read timeout is disconnected, and so is one
/// that then takes as long again for its HTTP/1.1 headers; a connection
/// with no request in hand for that long is closed (HTTP/1.1: hyper's
/// header read timeout, which covers idle kept-alive connections;
/// HTTP/2: [`serve_http2`]). At most `max_connections` connections are
/// open at once, and at most `max_connections` requests are handled at
/// once over all of them: more wait, their bodies unread (HTTP/2's flow
/// control holds what a connection may send ahead to hyper's window of
/// 1 MiB). With HTTP/1.1 alone, which carries one request at a time per
/// connection, no request ever waits for that.
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
    // Requests being handled, over all connections: as many as there may
    // be connections, so that HTTP/2's streams do not multiply the work in
    // hand beyond what HTTP/1.1 allows (with HTTP/1.1 alone, one request
    // at a time per connection, none waits here).
    let requests = Arc::new(Semaphore::new(config.max_connections));
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
        // `Extension<ConnectInfo<SocketAddr>>`. A request waits for one of
        // `requests`' permits before its handler runs.
        let service = TowerToHyperService::new(
            tower::ServiceBuilder::new()
                .layer(GlobalConcurrencyLimitLayer::with_semaphore(requests.clone()))
                .service(router.clone().map_request(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(ConnectInfo(peer));
                        req
                    },
                )),
        );
        let header_read_timeout = config.header_read_timeout;
        tokio::spawn(async move {
            let ended = match opens_http2(&stream, header_read_timeout).await {
                None => Ok(()),
                Some(false) => {
                    hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_read_timeout)
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                }
                Some(true) => serve_http2(stream, service, header_read_timeout).await,
            };
            if let Err(e) = ended {
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

    /// Serves `router` on a loopback port with a header read timeout of
    /// 300 ms and at most 8 connections.
    async fn serve_on_loopback(router: Router) -> std::net::SocketAddr {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let config = HttpConfig {
            header_read_timeout: Duration::from_millis(300),
            body_read_timeout: Duration::from_secs(5),
            max_connections: 8,
            max_concurrent_requests: 64,
        };
        tokio::spawn(serve(listener, router, config, std::future::pending()));
        addr
    }

    /// A server answering `GET /` with "hello" and the HTTP version it was
    /// asked in.
    async fn hello_server() -> std::net::SocketAddr {
        serve_on_loopback(
            Router::new().route("/", get(|req: Request| async move { format!("hello {:?}", req.version()) })),
        )
        .await
    }

    type Empty = http_body_util::Empty<hyper::body::Bytes>;

    async fn body_text(response: hyper::Response<hyper::body::Incoming>) -> String {
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    /// `n` requests for `GET /` sent at once on one HTTP/2 connection, each
    /// answering its response's version and text.
    fn get_at_once(
        sender: &hyper::client::conn::http2::SendRequest<Empty>,
        addr: std::net::SocketAddr,
        n: usize,
    ) -> tokio::task::JoinSet<(hyper::Version, String)> {
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..n {
            let mut sender = sender.clone();
            requests.spawn(async move {
                sender.ready().await.unwrap();
                let request = hyper::Request::get(format!("http://{addr}/")).body(Empty::new()).unwrap();
                let response = sender.send_request(request).await.unwrap();
                (response.version(), body_text(response).await)
            });
        }
        requests
    }

    #[tokio::test]
    async fn one_port_speaks_http2_with_prior_knowledge_and_http1() {
        let addr = hello_server().await;
        // HTTP/2: many requests at once on one connection, under the
        // stream limit the server announces.
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
        tokio::pin!(connection);
        let texts = tokio::select! {
            texts = get_at_once(&sender, addr, 300).join_all() => texts,
            ended = connection.as_mut() => panic!("the connection ended: {ended:?}"),
        };
        assert_eq!(texts, vec![(hyper::Version::HTTP_2, "hello HTTP/2.0".to_owned()); 300]);
        assert_eq!(connection.current_max_send_streams(), HTTP2_MAX_STREAMS as usize);
        // HTTP/1.1 on the same port.
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let request = hyper::Request::get("/").header("host", addr.to_string()).body(Empty::new()).unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), hyper::Version::HTTP_11);
        assert_eq!(body_text(response).await, "hello HTTP/1.1");
    }

    #[tokio::test]
    async fn http2_streams_do_not_raise_the_requests_handled_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Each request is handled for 20 ms; the most at once is kept.
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (n, m) = (now.clone(), most.clone());
        let router = Router::new().route(
            "/",
            get(move || async move {
                m.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                "done"
            }),
        );
        let addr = serve_on_loopback(router).await;
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let texts = get_at_once(&sender, addr, 100).join_all().await;
        assert_eq!(texts, vec![(hyper::Version::HTTP_2, "done".to_owned()); 100]);
        // 100 streams were open at once on the connection; at most 8
        // requests (max_connections) were handled at once.
        let most = most.load(Ordering::SeqCst);
        assert!((2..=8).contains(&most), "{most} requests handled at once");
    }

    #[tokio::test]
    async fn an_idle_http2_connection_is_closed_but_not_while_a_request_is_in_hand() {
        // The header read timeout is 300 ms; `/slow` takes 800 ms.
        let router = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "slow"
            }),
        );
        let addr = serve_on_loopback(router).await;
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
        let mut connection = tokio::spawn(connection);
        let slow = |mut sender: hyper::client::conn::http2::SendRequest<Empty>| async move {
            sender.ready().await.unwrap();
            let request = hyper::Request::get(format!("http://{addr}/slow")).body(Empty::new()).unwrap();
            body_text(sender.send_request(request).await.unwrap()).await
        };
        // A request in hand for longer than the idle time, then another at
        // once: the connection was not closed meanwhile.
        assert_eq!(slow(sender.clone()).await, "slow");
        assert_eq!(slow(sender.clone()).await, "slow");
        // Then idle: closed (GOAWAY) after about 300 ms. The server's idle
        // time began before this client saw the answer, so only a window
        // well inside it is checked (a loaded machine may deschedule the
        // client for a while).
        let idle = std::time::Instant::now();
        assert!(tokio::time::timeout(Duration::from_millis(100), &mut connection).await.is_err());
        let ended = tokio::time::timeout(Duration::from_secs(5), &mut connection).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?} after {:?}", idle.elapsed());
    }

    #[tokio::test]
    async fn a_client_that_stalls_before_its_first_request_is_disconnected() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = hello_server().await;
        // Nothing at all, part of the HTTP/2 preface, part of an HTTP/1.1
        // request line: each connection is closed after the header read
        // timeout (300 ms), well before 5 s.
        for first in [&b""[..], &HTTP2_PREFACE[..10], b"GET / HT"] {
            // Timed from before the connection, so that the server's timer
            // cannot have started before this one.
            let start = std::time::Instant::now();
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(first).await.unwrap();
            let mut rest = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
            assert!(read.is_ok(), "still open after 5 s, having sent {first:?}");
            assert!(start.elapsed() >= Duration::from_millis(250), "closed too early: {:?}", start.elapsed());
        }
    }

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
            // As the other tests that need the machine's help: a failure
            // naming what is missing, unless skipping is asked for.
            let why = format!(
                "net.core.somaxconn {somaxconn} or the open-file limit {files} is below the burst of {BURST}"
            );
            assert!(
                std::env::var_os("PROVLOG_SKIP_FAULT_TESTS").is_some_and(|v| v == "1"),
                "{why}: raise them (sysctl net.core.somaxconn=4096; ulimit -n 4096), or set PROVLOG_SKIP_FAULT_TESTS=1 to skip"
            );
            eprintln!("SKIPPED (PROVLOG_SKIP_FAULT_TESTS=1): {why}");
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
