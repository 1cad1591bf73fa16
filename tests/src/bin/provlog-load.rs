//! `provlog-load`: the load generator of BENCHMARKS.md.
//!
//! It starts a real `provlog-server` with two `provlog-witness` processes
//! (2-of-2 quorum) in a temporary directory, registers N partners through
//! governance statements, pre-signs realistic EPCIS statements (one
//! commissioning event each, under the partner's own company prefix and
//! location, with a strict rule set), measures this machine's single-core
//! `verify_strict` rate (again after the load: the ratios below use the
//! mean of the two, as the host's speed may drift during a run), then
//! submits the statements with C concurrent clients, K statements per
//! request (K = 1: `POST /entries`; K > 1: `POST /entries/batch`), and
//! waits for each receipt.
//!
//! It prints accepted statements/s, p50/p99/max submission-to-receipt
//! latency (a request's latency applies to each statement in it), rejected
//! and failed counts, the server's CPU and RSS (its peak, and its highest
//! sample in each 10 s of the load, to show whether it levels off), the
//! CPU the generator and the witnesses took meanwhile, and the ratio of
//! the ingest rate to the single-core `verify_strict` rate. The last line is
//! machine-readable:
//!
//! ```text
//! statements_per_s=… p99_ms=… verify_ratio=… verify_2core_fraction=… …
//! ```
//!
//! With `--http2 N` and K = 1, the C clients share N HTTP/2 connections
//! (cleartext, prior knowledge), their requests multiplexed as streams,
//! instead of holding one HTTP/1.1 connection each. Still one statement per
//! request, each with its own receipt; what changes is the transport, and
//! with it the system calls per request on both sides.
//!
//! usage: provlog-load [--statements N] [--duration S] [--partners N] [--concurrency C]
//!                     [--per-request K] [--engine sled|fjall] [--batch-age-ms MS]
//!                     [--http2 N]

use provlog_ledger::cbor::{self, Value};
use provlog_ledger::governance::Action;
use provlog_ledger::rules::RuleSet;
use provlog_tests::chain::{now_ms, rfc3339};
use provlog_tests::server::{Setup, TestLog, Tuning};
use provlog_tests::workload::{self, cpu_seconds, percentile_ms};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    statements: usize,
    duration: Duration,
    partners: usize,
    concurrency: usize,
    per_request: usize,
    engine: &'static str,
    batch_age_ms: u64,
    /// HTTP/2 connections shared by the one-statement clients (0: one
    /// HTTP/1.1 connection per client).
    http2: usize,
}

fn parse_args() -> Args {
    let argv: Vec<String> = std::env::args().collect();
    let get = |name: &str| argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1)).cloned();
    let num = |name: &str, default: u64| {
        get(name).map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}")))
    };
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "{}",
            include_str!("provlog-load.rs")
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .map(|l| l.trim_start_matches("//!").trim_start())
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::process::exit(0);
    }
    Args {
        statements: num("--statements", 200_000) as usize,
        duration: Duration::from_secs(num("--duration", 60)),
        partners: num("--partners", 100) as usize,
        concurrency: num("--concurrency", 16) as usize,
        per_request: num("--per-request", 500) as usize,
        engine: match get("--engine").as_deref() {
            None | Some("fjall") => "fjall",
            Some("sled") => "sled",
            Some(other) => panic!("unknown engine {other}"),
        },
        batch_age_ms: num("--batch-age-ms", 5),
        http2: num("--http2", 0) as usize,
    }
}

fn status_mib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn main() {
    let args = parse_args();
    eprintln!(
        "provlog-load: {} statements, {} partners, concurrency {}, {} per request, engine {}, {}",
        args.statements,
        args.partners,
        args.concurrency,
        args.per_request,
        args.engine,
        match args.http2 {
            0 => "HTTP/1.1".to_owned(),
            n => format!("HTTP/2 over {n} connections"),
        }
    );
    assert!(args.http2 == 0 || args.per_request == 1, "--http2 is for one statement per request");
    let tuning = Tuning {
        sync_wait_ms: 30_000,
        max_batch_age_ms: args.batch_age_ms,
        witness_timeout_ms: 5000,
        max_batch_statements: 10_000,
        max_batch_bytes: 64 << 20,
        per_partner_per_s: 10_000_000,
        per_partner_burst: 10_000_000,
        engine: args.engine,
        cache_capacity_mb: 64,
        max_batch_size: 8192,
        queue_capacity: 65536,
        ..Tuning::default()
    };
    let mut log = TestLog::create(Setup::new(RuleSet::strict("load")).witnesses(2, 2).tuning(tuning));
    log.start_witnesses();
    log.start_server();
    let pid = log.server.as_ref().expect("server").pid();

    // Partners, registered through governance statements.
    let partners = workload::partners(args.partners);
    let governance: Vec<Vec<u8>> = partners
        .iter()
        .map(|p| log.govern(Action::AddPartner { partner: p.spec() }, &[0, 1]).as_bytes().to_vec())
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (ok, _, _) = runtime.block_on(post_batch(&http_client(1), &log.url("/entries/batch"), &governance));
    assert_eq!(ok, partners.len(), "every partner registered");
    eprintln!("registered {} partners through governance", partners.len());

    // Pre-signed statements, spread over the partners.
    let t = Instant::now();
    let event_time = rfc3339(now_ms() - 60_000);
    let iat = now_ms() / 1000;
    let partners = Arc::new(partners);
    let statements = workload::presign(&partners, args.statements, &event_time, iat);
    eprintln!("pre-signed {} statements in {:.1}s", statements.len(), t.elapsed().as_secs_f64());

    let verify_before = workload::single_core_verify_rate(&statements, &partners);
    eprintln!("single-core verify_strict: {verify_before:.0} signatures/s");

    // The load.
    let statements = Arc::new(statements);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u64>::with_capacity(args.statements)));
    let rss = Arc::new(Mutex::new(Vec::<u64>::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // CPU of the server, of this generator and of the witnesses over the load.
    let witness_pids: Vec<u32> = log.witnesses.iter().filter_map(|w| w.pid()).collect();
    let witnesses_cpu = || witness_pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>();
    let me = std::process::id();
    let (cpu0, gen0, wit0) = (cpu_seconds(pid), cpu_seconds(me), witnesses_cpu());
    let start = Instant::now();
    let sampler = {
        let (rss, done) = (rss.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                rss.lock().unwrap().push(status_mib(pid, "VmRSS:"));
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    // The clients: tasks on one thread of the generator's own runtime, each
    // with a kept-alive connection, as a partner's system would hold one.
    let (url_one, url_batch) = (log.url("/entries"), log.url("/entries/batch"));
    let (k, deadline) = (args.per_request, start + args.duration);
    let client = http_client(args.concurrency);
    runtime.block_on(async {
        let mut shared = Vec::new();
        for _ in 0..args.http2 {
            let mut connection = Connection::new(&url_one, true);
            connection.sender().await.expect("an HTTP/2 connection");
            shared.push(connection);
        }
        let mut workers = tokio::task::JoinSet::new();
        for n in 0..args.concurrency {
            let (statements, next, accepted, rejected, failed, latencies) = (
                statements.clone(),
                next.clone(),
                accepted.clone(),
                rejected.clone(),
                failed.clone(),
                latencies.clone(),
            );
            let (client, url_batch) = (client.clone(), url_batch.clone());
            let mut connection = match shared.get(n % shared.len().max(1)) {
                Some(one) => one.share(),
                None => Connection::new(&url_one, false),
            };
            workers.spawn(async move {
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(k, Ordering::Relaxed);
                    if i >= statements.len() {
                        break;
                    }
                    let chunk = &statements[i..(i + k).min(statements.len())];
                    let t = Instant::now();
                    let (ok, bad, err) = if k == 1 {
                        connection.post_one(&chunk[0]).await
                    } else {
                        post_batch(&client, &url_batch, chunk).await
                    };
                    let micros = t.elapsed().as_micros() as u64;
                    mine.extend(std::iter::repeat_n(micros, ok));
                    accepted.fetch_add(ok as u64, Ordering::Relaxed);
                    rejected.fetch_add(bad as u64, Ordering::Relaxed);
                    failed.fetch_add(err as u64, Ordering::Relaxed);
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
        while let Some(w) = workers.join_next().await {
            w.expect("worker");
        }
    });
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu0;
    let (gen_cpu, wit_cpu) = (cpu_seconds(me) - gen0, witnesses_cpu() - wit0);
    done.store(true, Ordering::Relaxed);
    sampler.join().expect("sampler");

    let accepted = accepted.load(Ordering::Relaxed);
    let rate = accepted as f64 / wall;
    let mut lat = std::mem::take(&mut *latencies.lock().unwrap());
    lat.sort_unstable();
    let (p50, p99, max) =
        (percentile_ms(&lat, 0.5), percentile_ms(&lat, 0.99), lat.last().map_or(0.0, |m| *m as f64 / 1000.0));
    let rss = rss.lock().unwrap().clone();
    let steady = &rss[rss.len().min(5)..];
    let (rss_min, rss_max) =
        (steady.iter().min().copied().unwrap_or(0), steady.iter().max().copied().unwrap_or(0));
    let peak = status_mib(pid, "VmHWM:");
    // Whether RSS levels off: its highest sample in each 10 s of the load.
    let rss_by_10s: Vec<String> = rss.chunks(10).map(|w| w.iter().max().unwrap_or(&0).to_string()).collect();
    let rss_by_10s = rss_by_10s.join("/");
    let published = log.published_size();
    // The host's speed drifts: the reference is measured again after the
    // load, when the server is idle again (its compactions finished; at
    // most 10 s of waiting), and the ratios use the mean of the two.
    for _ in 0..20 {
        let c0 = cpu_seconds(pid);
        std::thread::sleep(Duration::from_millis(500));
        if cpu_seconds(pid) - c0 < 0.025 {
            break;
        }
    }
    let verify_after = workload::single_core_verify_rate(&statements, &partners);
    let single = (verify_before + verify_after) / 2.0;
    println!("accepted {accepted} statements in {wall:.1}s: {rate:.0} statements/s (durable, 2-of-2 witnessed receipts)");
    println!("latency submission->receipt: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
    println!("rejected {}, failed {}", rejected.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    if k == 1 {
        println!(
            "one-statement connections opened: {} ({})",
            CONNECTIONS_OPENED.load(Ordering::Relaxed),
            if args.http2 > 0 { "HTTP/2" } else { "HTTP/1.1" }
        );
    }
    for f in FAILURES.lock().unwrap().iter() {
        println!("  failure: {f}");
    }
    println!(
        "server CPU {cpu:.1}s = {:.2} cores; RSS {rss_min}..{rss_max} MiB after warm-up, peak {peak} MiB",
        cpu / wall
    );
    println!("server RSS, highest in each 10 s of the load: {} MiB", rss_by_10s.replace('/', " "));
    println!(
        "load generator CPU {:.2} cores, witnesses {:.2} cores (the same 2 cores)",
        gen_cpu / wall,
        wit_cpu / wall
    );
    println!(
        "verify_strict single core {single:.0}/s ({verify_before:.0} before the load, {verify_after:.0} after): ingest = {:.2}x one core = {:.2} of two cores",
        rate / single,
        rate / (2.0 * single)
    );
    println!("published tree size {published}");
    let server_log = log.server_log();
    let errors: Vec<&str> = server_log.lines().filter(|l| l.contains("ERROR")).collect();
    if !errors.is_empty() {
        println!("server logged {} errors; the first:", errors.len());
        for e in errors.iter().take(5) {
            println!("  {e}");
        }
    }
    println!(
        "statements_per_s={rate:.0} p50_ms={p50:.1} p99_ms={p99:.1} max_ms={max:.1} verify_ratio={:.3} verify_2core_fraction={:.3} rejected={} failed={} server_cpu_cores={:.2} generator_cpu_cores={:.2} witness_cpu_cores={:.2} rss_peak_mib={peak} verify_before={verify_before:.0} verify_after={verify_after:.0} rss_by_10s_mib={rss_by_10s}",
        rate / single,
        rate / (2.0 * single),
        rejected.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        cpu / wall,
        gen_cpu / wall,
        wit_cpu / wall
    );
    drop(log);
}

/// The first failures (neither accepted nor refused), printed at the end
/// so that a failed count comes with its reasons.
static FAILURES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn note_failure(what: String) {
    let mut f = FAILURES.lock().unwrap();
    if f.len() < 5 {
        f.push(what);
    }
}

/// The start of an answer's body, for a failure note (lossy UTF-8: a cut
/// may fall inside a character).
fn excerpt(body: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(&body[..body.len().min(300)])
}

/// A client keeping up to `connections` connections alive, created when
/// its load starts. The server closes a connection left idle for longer
/// than its header read timeout, which pre-signing takes; the generator's
/// runtime does not run between loads, so its pool would not notice, and
/// the request sent on such a connection would fail. Hence a new client
/// per load and a short idle timeout.
fn http_client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(connections)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client")
}

/// The body of a one-statement request.
type Body = http_body_util::Full<hyper::body::Bytes>;

/// Connections the one-statement clients opened, reconnections included
/// (with `--http2 N`, N unless a shared connection failed and its clients
/// opened their own).
static CONNECTIONS_OPENED: AtomicUsize = AtomicUsize::new(0);

/// A request sender of either protocol.
enum Sender {
    Http1(hyper::client::conn::http1::SendRequest<Body>),
    Http2(hyper::client::conn::http2::SendRequest<Body>),
}

impl Sender {
    fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2(s) => s.is_closed(),
        }
    }

    async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Sender::Http1(s) => s.ready().await,
            Sender::Http2(s) => s.ready().await,
        }
    }

    async fn try_send_request(
        &mut self,
        request: hyper::Request<Body>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, hyper::client::conn::TrySendError<hyper::Request<Body>>>
    {
        match self {
            Sender::Http1(s) => s.try_send_request(request).await,
            Sender::Http2(s) => s.try_send_request(request).await,
        }
    }
}

/// One client of the one-statement-per-request load: a kept-alive HTTP/1.1
/// connection on hyper directly, or its share of an HTTP/2 connection
/// ([`Connection::share`]), opened again if the server closes it. (reqwest's
/// pool, URL handling and redirect and timeout layers took about 0.33 of a
/// core at 12–13k requests/s on the same 2 cores as the server; see
/// BENCHMARKS.md, "Ingest".)
struct Connection {
    /// `host:port` of the server.
    authority: String,
    path: String,
    http2: bool,
    sender: Option<Sender>,
}

impl Connection {
    /// A client of `url` (`http://host:port/path`); connects on first use.
    fn new(url: &str, http2: bool) -> Self {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Self { authority: authority.into(), path: path.into(), http2, sender: None }
    }

    /// Another client of the same HTTP/2 connection (for HTTP/1.1, a client
    /// that connects on first use: an HTTP/1.1 connection is not shared).
    fn share(&self) -> Self {
        let sender = match &self.sender {
            Some(Sender::Http2(s)) => Some(Sender::Http2(s.clone())),
            _ => None,
        };
        Self { authority: self.authority.clone(), path: self.path.clone(), http2: self.http2, sender }
    }

    /// The connection's request sender, connecting if there is none or the
    /// server closed it (a client of a shared HTTP/2 connection then opens
    /// its own).
    async fn sender(&mut self) -> Result<&mut Sender, String> {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        if self.sender.as_ref().is_none_or(Sender::is_closed) {
            let stream = tokio::net::TcpStream::connect(&self.authority).await.map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let sender = if self.http2 {
                let (sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                        .await
                        .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                Sender::Http2(sender)
            } else {
                let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                Sender::Http1(sender)
            };
            self.sender = Some(sender);
            CONNECTIONS_OPENED.fetch_add(1, Ordering::Relaxed);
        }
        let sender = self.sender.as_mut().expect("connected");
        sender.ready().await.map_err(|e| e.to_string())?;
        Ok(sender)
    }

    /// Posts `statement` and reads the whole answer.
    async fn post(&mut self, statement: &[u8]) -> Result<(u16, hyper::body::Bytes), String> {
        use http_body_util::BodyExt as _;
        // HTTP/2 carries the scheme and authority in the request's URI
        // (its :scheme and :authority), HTTP/1.1 in the Host header.
        let request = if self.http2 {
            hyper::Request::post(format!("http://{}{}", self.authority, self.path))
        } else {
            hyper::Request::post(&self.path).header("host", &self.authority)
        };
        let request = request
            .header("content-type", "application/cose")
            .body(Body::new(hyper::body::Bytes::copy_from_slice(statement)))
            .map_err(|e| e.to_string())?;
        let answer = async {
            let mut request = request;
            // A kept-alive connection the server closed after the check in
            // `sender` gives the request back unsent: sent once more on a
            // new connection, as reqwest's pool did.
            let mut resent = false;
            let response = loop {
                match self.sender().await?.try_send_request(request).await {
                    Ok(response) => break response,
                    Err(mut e) => match e.take_message() {
                        Some(unsent) if !resent => {
                            (request, resent) = (unsent, true);
                            self.sender = None;
                        }
                        _ => return Err(e.into_error().to_string()),
                    },
                }
            };
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| format!("body: {e}"))?;
            Ok((status, body.to_bytes()))
        };
        tokio::time::timeout(Duration::from_secs(60), answer)
            .await
            .unwrap_or_else(|_| Err("no answer in 60 s".into()))
    }

    /// Posts one statement; returns (registered or present, refused,
    /// failed). The statement counts once its receipt is read; after a
    /// failure the connection is dropped (the next request opens another).
    async fn post_one(&mut self, statement: &[u8]) -> (usize, usize, usize) {
        match self.post(statement).await {
            Ok((200 | 201, _)) => (1, 0, 0),
            Ok((400..=499, _)) => (0, 1, 0),
            Ok((status, body)) => {
                note_failure(format!("POST /entries: HTTP {status}: {}", excerpt(&body)));
                (0, 0, 1)
            }
            Err(e) => {
                self.sender = None;
                note_failure(format!("POST /entries: {e}"));
                (0, 0, 1)
            }
        }
    }
}

/// One result of `POST /entries/batch` (`spec/http-api.md`); the receipt
/// is skipped unread.
#[derive(serde::Deserialize)]
struct BatchItem {
    status: Option<u64>,
    problem: Option<serde_json::Value>,
    location: Option<String>,
}

/// Posts a batch; returns (registered or present, refused, failed).
async fn post_batch(client: &reqwest::Client, url: &str, chunk: &[Vec<u8>]) -> (usize, usize, usize) {
    let body = cbor::encode(&Value::Array(chunk.iter().map(|b| Value::Bytes(b.clone())).collect()));
    let failed = |what: String| {
        note_failure(format!("POST /entries/batch: {what}"));
        (0, 0, chunk.len())
    };
    let resp = match client.post(url).header("content-type", "application/cbor").body(body).send().await {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    let status = resp.status();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return failed(format!("HTTP {status}, body: {e}")),
    };
    if !status.is_success() {
        return failed(format!("HTTP {status}: {}", excerpt(&body)));
    }
    let results = match serde_json::from_slice::<Vec<BatchItem>>(&body) {
        Ok(r) => r,
        Err(e) => return failed(format!("results not JSON: {e}")),
    };
    let mut counts = (0, 0, 0);
    for r in results {
        match r.status {
            Some(200 | 201) => counts.0 += 1,
            Some(s) if (400..500).contains(&s) => counts.1 += 1,
            other => {
                let problem = r.problem.map(|p| p.to_string()).unwrap_or_default();
                let location = r.location.unwrap_or_default();
                note_failure(format!("batch item with status {other:?} {location} {problem}"));
                counts.2 += 1
            }
        }
    }
    counts
}
