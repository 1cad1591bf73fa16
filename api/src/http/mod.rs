//! The HTTP interface of `provlog-server` on axum.
//!
//! Spec: `spec/http-api.md`; an OpenAPI description is served at
//! `/openapi.json`.
//!
//! ```text
//! POST /entries                    one COSE statement -> 201 receipt | 303 pending | problem
//! POST /entries/batch              CBOR array of statements -> JSON array of results
//! GET  /entries/{id}               receipt (C2SP tlog-proof) | 404
//! GET  /entries/{id}/statement     the stored statement (application/cose)
//! GET  /entries/{id}/status        JSON: index, registration time, rule set, flags
//! GET  /checkpoint                 C2SP tlog-tiles
//! GET  /tile/<L>/<N>[.p/<W>]       hash tiles
//! GET  /tile/entries/<N>[.p/<W>]   entry bundles
//! GET  /proof/inclusion            ?index=N&size=S | ?id=HEX&size=S (size defaults to the published one)
//! GET  /proof/consistency          ?old=A&new=B
//! GET  /lineage/{identifier}       ?direction=back|forward|recall&at=…: the answer with its proofs
//! GET  /registry, /registry/partners, /registry/partners/{id}, /registry/rule-sets
//! GET  /healthz, /metrics, /openapi.json
//! ```

mod entries;
pub(crate) mod lineage;
pub(crate) mod read;

use crate::config::{Config, HttpConfig};
use crate::limits::RateLimiter;
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::sequencer::{Sequencer, SignedCheckpoint};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use provlog_ledger::log::FilteredState;
use provlog_ledger::receipt::Receipt;
use provlog_ledger::tiled_tree::TreeReader;
use std::net::IpAddr;
use std::sync::Arc;

/// A path parameter whose rejection (bytes that do not decode to UTF-8,
/// such as `%FF`) is a 400 problem like every other malformed request,
/// instead of axum's plain-text answer.
pub(crate) struct PathText(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathText {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(p)) => Ok(PathText(p)),
            Err(e) => Err(Problem::malformed("request.path", e.body_text())),
        }
    }
}

/// Everything a request handler needs. Cloned for every request (axum's
/// `State`), so its fields are reference counted or small.
#[derive(Clone)]
pub struct App {
    pub origin: Arc<str>,
    pub sequencer: Sequencer,
    pub reader: TreeReader,
    /// Read through the log's filter of known keys: most submissions are
    /// new, and their duplicate check then skips the store.
    pub state: FilteredState,
    pub http: HttpConfig,
    pub partner_limits: Arc<RateLimiter<String>>,
    pub address_limits: Arc<RateLimiter<IpAddr>>,
    /// `limits.trusted_proxies`: see [`client_address`].
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
    pub metrics: Arc<Metrics>,
    /// The log's verifier key, for `/` and the OpenAPI description.
    pub log_vkey: Arc<str>,
    /// `http.max_body_memory_bytes`, in units of [`BODY_UNIT`] bytes, that
    /// submissions set aside for their bodies.
    pub bodies: Arc<tokio::sync::Semaphore>,
}

/// Most `X-Forwarded-For` entries [`client_address`] looks at.
const MAX_FORWARDED_HOPS: usize = 32;

/// The address a request's per-address rate limit is charged to. From a
/// peer that is not a trusted proxy: the peer. From a trusted proxy: the
/// nearest address in `X-Forwarded-For` (all its lines, read as one list
/// from the right, as each proxy appends the address it received from)
/// that is not a trusted proxy; entries further left could have been
/// written by the client itself. An entry that is not an IP address (or
/// not text) ends the walk, and the request is charged to the last trusted
/// hop, as is one with no such entry, or more than [`MAX_FORWARDED_HOPS`]
/// of them. IPv4-mapped IPv6 addresses (a dual-stack listener's IPv4
/// peers) count as the IPv4 addresses they map.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer.to_canonical();
    if !is_trusted(&peer) {
        return peer;
    }
    let lines: Vec<&[u8]> = headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes()).collect();
    let entries = lines.iter().rev().flat_map(|line| line.rsplit(|&b| b == b','));
    let mut hop = peer;
    for entry in entries.take(MAX_FORWARDED_HOPS) {
        let ip = std::str::from_utf8(entry).ok().and_then(|e| e.trim().parse::<IpAddr>().ok());
        match ip.map(|ip| ip.to_canonical()) {
            Some(ip) if is_trusted(&ip) => hop = ip,
            Some(ip) => return ip,
            None => break,
        }
    }
    hop
}

/// The unit of [`App::bodies`].
pub(crate) const BODY_UNIT: usize = 1024;

impl App {
    pub fn new(
        config: &Config,
        sequencer: Sequencer,
        reader: TreeReader,
        state: FilteredState,
        metrics: Arc<Metrics>,
        log_vkey: String,
    ) -> App {
        let limits = &config.limits;
        App {
            origin: config.origin.as_str().into(),
            sequencer,
            reader,
            state,
            http: config.http.clone(),
            partner_limits: Arc::new(RateLimiter::new(limits.per_partner_per_s, limits.per_partner_burst)),
            address_limits: Arc::new(RateLimiter::new(limits.per_address_per_s, limits.per_address_burst)),
            trusted_proxies: limits.trusted_proxies.as_slice().into(),
            metrics,
            log_vkey: log_vkey.into(),
            // Rounded up, as each body's share is: the largest body always fits.
            bodies: Arc::new(tokio::sync::Semaphore::new(
                config.http.max_body_memory_bytes.div_ceil(BODY_UNIT),
            )),
        }
    }

    /// The latest published checkpoint.
    pub fn published(&self) -> Option<SignedCheckpoint> {
        self.sequencer.shared().published.borrow().clone()
    }

    /// The receipt of entry `index` against `cp`.
    ///
    /// # Errors
    /// A 500 problem if storage fails.
    pub fn receipt(&self, index: u64, cp: &SignedCheckpoint) -> Result<Receipt, Problem> {
        let internal = |e| Problem::storage_read("building a receipt", &e);
        let entry = self.reader.entry(index).map_err(internal)?;
        let proof = self.reader.prove_inclusion(index, cp.size).map_err(internal)?;
        Ok(Receipt { extra: Some(entry), index, proof, checkpoint: cp.note.clone() })
    }
}

/// The server's routes.
pub fn router(app: App) -> Router {
    // The submission handlers read their bodies themselves, with the
    // configured size limits and read timeout (`entries::read_body`).
    Router::new()
        .route("/entries", post(entries::submit))
        .route("/entries/batch", post(entries::submit_batch))
        .route("/entries/{id}", get(entries::receipt))
        .route("/entries/{id}/statement", get(entries::statement))
        .route("/entries/{id}/status", get(entries::status))
        .route("/checkpoint", get(read::checkpoint::<App>))
        .route("/tile/{*path}", get(read::tile::<App>))
        .route("/proof/inclusion", get(read::inclusion::<App>))
        .route("/proof/consistency", get(read::consistency::<App>))
        .route("/lineage/{identifier}", get(lineage::lineage::<App>))
        .route("/registry", get(read::registry_view))
        .route("/registry/partners", get(read::partners))
        .route("/registry/partners/{id}", get(read::partner))
        .route("/registry/rule-sets", get(read::rule_sets))
        .route("/healthz", get(read::healthz))
        .route("/metrics", get(read::metrics))
        .route("/openapi.json", get(read::openapi))
        .route("/", get(read::index))
        .fallback(|| async { Problem::not_found("no such resource") })
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", l.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_address_is_the_nearest_untrusted_hop_behind_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = ["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()].into();
        let proxy = ip("10.0.0.5");
        for (peer, lines, want) in [
            // Not from a proxy: the header is the client's own, ignored.
            ("203.0.113.9", &["198.51.100.1"][..], "203.0.113.9"),
            // From a proxy: the address it received from.
            ("10.0.0.5", &["198.51.100.1"][..], "198.51.100.1"),
            // Entries left of the first untrusted one are the client's word.
            ("10.0.0.5", &["6.6.6.6, 198.51.100.1"][..], "198.51.100.1"),
            // Through two proxies, over two header lines.
            ("10.0.0.5", &["6.6.6.6, 198.51.100.1", "10.1.2.3"][..], "198.51.100.1"),
            ("::1", &["2001:db8::7"][..], "2001:db8::7"),
            // No header, or only proxies in it: the last proxy.
            ("10.0.0.5", &[][..], "10.0.0.5"),
            ("10.0.0.5", &["10.9.9.9"][..], "10.9.9.9"),
            // Not an address (a port, junk): the walk stops at the proxy.
            ("10.0.0.5", &["198.51.100.1:4711"][..], "10.0.0.5"),
            ("10.0.0.5", &["198.51.100.1, junk"][..], "10.0.0.5"),
            // IPv4 through a dual-stack listener, and in the header.
            ("::ffff:10.0.0.5", &["::ffff:198.51.100.1"][..], "198.51.100.1"),
        ] {
            assert_eq!(client_address(ip(peer), &headers(lines), &trusted), ip(want), "{peer} {lines:?}");
        }
        // A line that is not text ends the walk too: it is not skipped, so
        // the client cannot make the proxy's entry vanish into it.
        let mut h = headers(&["6.6.6.6"]);
        h.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff, 198.51.100.1").unwrap());
        assert_eq!(client_address(proxy, &h, &trusted), ip("198.51.100.1"));
        let mut h = headers(&["6.6.6.6"]);
        h.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(client_address(proxy, &h, &trusted), proxy);
        // Without trusted proxies the peer, always.
        assert_eq!(client_address(proxy, &headers(&["198.51.100.1"]), &[]), proxy);
        // At most 32 entries are read: a header of 40 proxies ends at a proxy.
        let long = vec!["10.0.0.1"; 40].join(", ");
        let with_client = format!("198.51.100.1, {long}");
        assert_eq!(client_address(proxy, &headers(&[&with_client]), &trusted), ip("10.0.0.1"));
    }
}
