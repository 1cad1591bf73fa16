//! Talking to a log over HTTP (`spec/http-api.md`): the read path (C2SP
//! tlog-tiles checkpoint, tiles and entry bundles), consistency proofs, and
//! statement submission (SCRAPI shape).
//!
//! Everything here is transport: it returns bytes and statuses and
//! verifies nothing. Callers verify what they get with `provlog-ledger`
//! against keys they hold, and never trust a server's judgement of its own
//! proofs.
//!
//! Every request has a connect timeout and a total timeout; a response body
//! is read up to a limit chosen per endpoint. Failures of the transport
//! (connection refused or reset, timeouts) and the statuses that mean "try
//! later" (429, 502, 503, 504) are retried a bounded number of times, with
//! exponential backoff (or the server's `Retry-After`, capped). Nothing
//! else is retried: a 4xx is an answer, and a response that fails
//! verification is evidence, not noise.

use crate::error::ClientError;
use provlog_ledger::tile::{Tile, MAX_ENTRY_SIZE, TILE_WIDTH};
use provlog_ledger::Hash;
use std::io::Read as _;
use std::time::Duration;

/// Largest checkpoint note accepted (the signed-note limit).
pub const MAX_CHECKPOINT_BYTES: usize = provlog_ledger::note::MAX_NOTE_SIZE;
/// Largest hash tile: 256 hashes.
pub const MAX_HASH_TILE_BYTES: usize = TILE_WIDTH as usize * 32;
/// Largest entry bundle: 256 entries of 65,535 bytes with their lengths.
pub const MAX_BUNDLE_BYTES: usize = TILE_WIDTH as usize * (MAX_ENTRY_SIZE + 2);
/// Largest proof or small JSON answer.
pub const MAX_JSON_BYTES: usize = 256 * 1024;
/// Largest batch answer (10,000 items, each with a receipt).
pub const MAX_BATCH_ANSWER_BYTES: usize = 64 << 20;

/// How the client talks to a server. Every field has the default shown.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Time to establish a connection (default 5 s).
    pub connect_timeout: Duration,
    /// Time for a whole request, body included (default 60 s).
    pub timeout: Duration,
    /// Further attempts after a transport failure or a 429/502/503/504
    /// (default 3).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one (default
    /// 250 ms).
    pub backoff: Duration,
    /// The longest wait between attempts, also the cap on `Retry-After`
    /// (default 5 s).
    pub max_backoff: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// An HTTP answer whose status the caller decides about.
#[derive(Clone, Debug)]
pub struct Answer {
    pub url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    /// `Retry-After` in seconds, if given as a number.
    pub retry_after_s: Option<u64>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The answer as an unexpected-status error, with the problem's `rule`
    /// and `detail` (RFC 9290) when the body is a JSON problem.
    pub fn into_status_error(self) -> ClientError {
        let detail = problem_summary(&self.body);
        ClientError::HttpStatus { url: self.url, status: self.status, detail }
    }

    /// The body as JSON.
    ///
    /// # Errors
    /// [`ClientError::BadResponse`] if it is not JSON.
    pub fn json(&self) -> Result<serde_json::Value, ClientError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ClientError::BadResponse { url: self.url.clone(), reason: format!("not JSON: {e}") })
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    /// [`ClientError::BadResponse`] if it is not UTF-8.
    pub fn text(&self) -> Result<String, ClientError> {
        String::from_utf8(self.body.clone())
            .map_err(|_| ClientError::BadResponse { url: self.url.clone(), reason: "not UTF-8".into() })
    }
}

/// `rule: detail` of an RFC 9290 JSON problem, if the body is one.
pub fn problem_summary(body: &[u8]) -> Option<String> {
    problem_value_summary(&serde_json::from_slice(body).ok()?)
}

/// `rule: detail` of a problem object already parsed (a batch item's).
pub fn problem_value_summary(v: &serde_json::Value) -> Option<String> {
    let rule = v.get("rule").and_then(|r| r.as_str());
    let detail = v.get("detail").and_then(|r| r.as_str()).or_else(|| v.get("title").and_then(|t| t.as_str()));
    match (rule, detail) {
        (Some(r), Some(d)) => Some(format!("{r}: {d}")),
        (Some(r), None) => Some(r.to_owned()),
        (None, Some(d)) => Some(d.to_owned()),
        (None, None) => None,
    }
}

/// A client for one log's URL prefix.
#[derive(Clone, Debug)]
pub struct LogClient {
    base: String,
    http: reqwest::blocking::Client,
    options: FetchOptions,
}

impl LogClient {
    /// A client for the log at `url` (e.g. `http://127.0.0.1:7350`).
    ///
    /// # Errors
    /// [`ClientError::Invalid`] for a URL that is not `http(s)://…`;
    /// [`ClientError::Http`] if the HTTP stack cannot be set up.
    pub fn new(url: &str, options: FetchOptions) -> Result<LogClient, ClientError> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < "http://x".len() {
            return Err(ClientError::invalid(format!("log URL {url:?}"), "want http://… or https://…"));
        }
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            // 303 after a submission is handled here, by polling.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("provlog/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Http { url: base.clone(), source })?;
        Ok(LogClient { base, http, options })
    }

    /// The log's URL prefix, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Sends a request, retrying transport failures and "try later"
    /// statuses, and reads the body up to `limit` bytes. Any other status
    /// is returned for the caller to judge.
    ///
    /// # Errors
    /// [`ClientError::Http`] or [`ClientError::HttpStatus`] once the retries
    /// are spent; [`ClientError::ResponseTooLarge`].
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, &[u8])>,
        limit: usize,
    ) -> Result<Answer, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0u32;
        loop {
            let mut req = self.http.request(method.clone(), &url);
            if let Some((content_type, bytes)) = body {
                req = req.header(reqwest::header::CONTENT_TYPE, content_type).body(bytes.to_vec());
            }
            let outcome = req.send().map_err(|source| ClientError::Http { url: url.clone(), source });
            let outcome = outcome.and_then(|resp| read_answer(&url, resp, limit));
            let wait = match &outcome {
                Ok(a) if matches!(a.status, 429 | 502 | 503 | 504) => {
                    a.retry_after_s.map(Duration::from_secs)
                }
                Err(ClientError::Http { .. }) => None,
                _ => return outcome,
            };
            if attempt >= self.options.retries {
                return match outcome {
                    Ok(a) => Err(a.into_status_error()),
                    Err(e) => Err(e),
                };
            }
            let backoff = self.options.backoff.saturating_mul(1 << attempt.min(16));
            std::thread::sleep(wait.unwrap_or(backoff).min(self.options.max_backoff));
            attempt += 1;
        }
    }

    fn get_ok(&self, path: &str, limit: usize) -> Result<Answer, ClientError> {
        let a = self.request(reqwest::Method::GET, path, None, limit)?;
        if a.status != 200 {
            return Err(a.into_status_error());
        }
        Ok(a)
    }

    /// `GET /checkpoint`: the latest published checkpoint note, unverified.
    ///
    /// # Errors
    /// Transport failures, a status other than 200, or a body that is not
    /// UTF-8. A 404 that is not a provlog problem (a provlog log without a
    /// checkpoint yet says so in one) gets a hint that the URL may not be a
    /// log's.
    pub fn checkpoint(&self) -> Result<String, ClientError> {
        match self.get_ok("/checkpoint", MAX_CHECKPOINT_BYTES) {
            Err(ClientError::HttpStatus { url, status: 404, detail: None }) => Err(ClientError::HttpStatus {
                url,
                status: 404,
                detail: Some(
                    "no checkpoint there: is this a provlog log's URL (the policy's log line, or --log)?"
                        .into(),
                ),
            }),
            answer => answer?.text(),
        }
    }

    /// `GET /tile/…`: a hash tile or an entry bundle, unverified. The length
    /// of a hash tile is checked against its width.
    ///
    /// # Errors
    /// Transport failures, a status other than 200,
    /// [`ClientError::BadResponse`] for a hash tile of the wrong length.
    pub fn tile(&self, tile: Tile) -> Result<Vec<u8>, ClientError> {
        let limit = if tile.level().is_some() { MAX_HASH_TILE_BYTES } else { MAX_BUNDLE_BYTES };
        let a = self.get_ok(&format!("/{}", tile.path()), limit)?;
        if tile.level().is_some() && a.body.len() != 32 * tile.width as usize {
            return Err(ClientError::BadResponse {
                url: a.url,
                reason: format!("{} bytes, want {}", a.body.len(), 32 * tile.width as usize),
            });
        }
        Ok(a.body)
    }

    /// `GET /proof/consistency?old=A&new=B`: the proof's hashes, unverified.
    ///
    /// # Errors
    /// Transport failures, a status other than 200,
    /// [`ClientError::BadResponse`] for a body without a list of base64
    /// hashes.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ClientError> {
        let a = self.get_ok(&format!("/proof/consistency?old={old_size}&new={new_size}"), MAX_JSON_BYTES)?;
        hashes_in(&a, "proof")
    }

    /// `GET /proof/inclusion?index=N&size=S`: the proof's hashes, unverified.
    ///
    /// # Errors
    /// As [`LogClient::consistency_proof`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ClientError> {
        let a = self.get_ok(&format!("/proof/inclusion?index={index}&size={size}"), MAX_JSON_BYTES)?;
        hashes_in(&a, "proof")
    }
}

/// The hashes listed under `field` in a JSON answer.
fn hashes_in(a: &Answer, field: &str) -> Result<Vec<Hash>, ClientError> {
    let bad = |reason: &str| ClientError::BadResponse { url: a.url.clone(), reason: reason.to_owned() };
    a.json()?
        .get(field)
        .and_then(|p| p.as_array())
        .ok_or_else(|| bad("no proof array"))?
        .iter()
        .map(|h| {
            h.as_str().and_then(Hash::from_base64).ok_or_else(|| bad("a proof item is not a base64 hash"))
        })
        .collect()
}

fn read_answer(url: &str, resp: reqwest::blocking::Response, limit: usize) -> Result<Answer, ClientError> {
    let header = |name: reqwest::header::HeaderName| {
        resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let status = resp.status().as_u16();
    let content_type = header(reqwest::header::CONTENT_TYPE);
    let location = header(reqwest::header::LOCATION);
    let retry_after_s = header(reqwest::header::RETRY_AFTER).and_then(|v| v.trim().parse().ok());
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ClientError::ResponseTooLarge { url: url.to_owned(), limit });
    }
    let mut body = Vec::new();
    resp.take(limit as u64 + 1).read_to_end(&mut body).map_err(|e| ClientError::Io {
        op: "read the response of",
        path: url.into(),
        source: e,
    })?;
    if body.len() > limit {
        return Err(ClientError::ResponseTooLarge { url: url.to_owned(), limit });
    }
    Ok(Answer { url: url.to_owned(), status, content_type, location, retry_after_s, body })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::io::Write as _;
    use std::net::TcpListener;

    /// A one-shot HTTP server on loopback answering each connection with
    /// the next canned response; returns its URL.
    pub fn serve(responses: Vec<String>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for r in responses {
                let Ok((mut s, _)) = listener.accept() else { return };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(r.as_bytes());
            }
        });
        url
    }

    pub fn response(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    pub fn quick() -> FetchOptions {
        FetchOptions { backoff: Duration::from_millis(1), retries: 2, ..FetchOptions::default() }
    }

    #[test]
    fn connection_refused_is_a_transport_failure_after_retries() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = LogClient::new(&format!("http://127.0.0.1:{port}"), quick()).unwrap();
        let e = c.checkpoint().unwrap_err();
        assert!(matches!(e, ClientError::Http { .. }), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Transport);
    }

    #[test]
    fn service_unavailable_is_retried_then_succeeds() {
        let url = serve(vec![
            response("503 Service Unavailable", "Retry-After: 0\r\n", "busy"),
            response("200 OK", "", "cp\n"),
        ]);
        let c = LogClient::new(&url, quick()).unwrap();
        assert_eq!(c.checkpoint().unwrap(), "cp\n");
    }

    #[test]
    fn not_found_is_not_retried_and_is_a_transport_failure() {
        let url =
            serve(vec![response("404 Not Found", "", "{\"rule\":\"request.range\",\"detail\":\"no\"}")]);
        let c = LogClient::new(&url, quick()).unwrap();
        let e = c.checkpoint().unwrap_err();
        assert!(
            matches!(&e, ClientError::HttpStatus { status: 404, detail: Some(d), .. } if d == "request.range: no")
        );
        assert_eq!(e.kind(), ErrorKind::Transport);
    }

    #[test]
    fn a_plain_not_found_for_the_checkpoint_hints_at_the_url() {
        let url = serve(vec![response("404 Not Found", "Content-Type: text/html\r\n", "<h1>Not Found</h1>")]);
        let c = LogClient::new(&url, quick()).unwrap();
        let e = c.checkpoint().unwrap_err();
        assert!(e.to_string().ends_with("/checkpoint answered HTTP 404: no checkpoint there: is this a provlog log's URL (the policy's log line, or --log)?"), "{e}");
        assert_eq!(e.kind(), ErrorKind::Transport);
    }

    #[test]
    fn oversized_responses_are_refused() {
        let big = "x".repeat(MAX_HASH_TILE_BYTES + 1);
        let url = serve(vec![response("200 OK", "", &big)]);
        let c = LogClient::new(&url, quick()).unwrap();
        let tile = Tile { kind: provlog_ledger::tile::TileKind::Hashes { level: 0 }, index: 0, width: 256 };
        assert!(matches!(c.tile(tile), Err(ClientError::ResponseTooLarge { .. })));
    }

    #[test]
    fn a_hash_tile_of_the_wrong_length_is_malformed() {
        let url = serve(vec![response("200 OK", "", &"x".repeat(33))]);
        let c = LogClient::new(&url, quick()).unwrap();
        let tile = Tile { kind: provlog_ledger::tile::TileKind::Hashes { level: 0 }, index: 0, width: 1 };
        let e = c.tile(tile).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e:?}");
    }

    #[test]
    fn a_proof_that_is_not_json_is_malformed() {
        let url = serve(vec![response("200 OK", "", "not json")]);
        let c = LogClient::new(&url, quick()).unwrap();
        assert_eq!(c.consistency_proof(1, 2).unwrap_err().kind(), ErrorKind::Malformed);
    }

    #[test]
    fn urls_must_be_http() {
        assert_eq!(LogClient::new("ftp://x", quick()).unwrap_err().kind(), ErrorKind::Malformed);
    }
}
