//! # provlog-tests
//!
//! End-to-end tests that run provlog's real binaries on loopback ports and
//! real sled files, the crash harnesses that kill them with SIGKILL, and the
//! benchmark binaries. Shared helpers for those live here:
//!
//! - [`server`]: a log under test (data directory, keys, genesis, witness
//!   policy, a real `provlog-server`) and an HTTP client for it;
//! - [`chain`]: its partners, and the events and statements they sign;
//! - [`crash`]: the crash harness (SIGKILL of the server and witnesses
//!   under load, then every receipt, checkpoint and cosignature checked);
//! - [`process`]: real `provlog-server` and `provlog-witness` processes;
//! - [`storage_fault`]: a full file system, failing `fsync` (libfiu) and
//!   damaged data files, for the storage-fault tests;
//! - [`problem`]: RFC 9290 problem details as the server sends them;
//! - [`audit`]: the whole-log and receipt verification every server test
//!   ends with;
//! - [`workload`]: the partners and pre-signed statements of the load
//!   benchmarks (`provlog-load`, `bench_pg`).

pub mod audit;
pub mod chain;
pub mod crash;
pub mod garage;
pub mod problem;
pub mod process;
pub mod server;
pub mod storage_fault;
pub mod workload;

/// The deterministic entry at `index` used by the tree crash harness and the
/// tree benchmark: its content is a pure function of the index, so a
/// survivor can be checked without any record of what was written.
pub fn synthetic_entry(index: u64) -> Vec<u8> {
    let len = 64 + (index.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 57) as usize;
    let mut e = Vec::with_capacity(len + 8);
    e.extend_from_slice(&index.to_be_bytes());
    e.resize(len + 8, (index % 251) as u8);
    e
}

/// The path of a binary of another workspace package, e.g.
/// `workspace_binary("provlog-witness")`. Cargo sets `CARGO_BIN_EXE_<name>`
/// only for the binaries of the package under test, so this looks next to
/// the running test executable (`target/<profile>/deps/<test>`): the binary
/// is in `target/<profile>/`. `cargo test --workspace` builds it there,
/// because its package has integration tests (e.g. `witness/tests/cli.rs`).
///
/// # Panics
/// If the binary is not there, with the command that builds it.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    // A test runs from target/<profile>/deps/, a binary of this package
    // (the load generator) from target/<profile>/.
    let here = exe.parent().expect("an executable's directory");
    let candidates = [here.to_owned(), here.parent().unwrap_or(here).to_owned()];
    let found = candidates.iter().map(|d| d.join(&file)).find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "{file} is missing next to {}: run the tests with `cargo test --workspace`, or `cargo build -p {name}` first",
            exe.display()
        )
    })
}

/// An HTTP response read by [`http_request`].
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request on a new connection and reads the whole
/// response (`Connection: close`). Deliberately minimal and exact, so tests
/// control every byte sent; bodies are sent with `Content-Length`, responses
/// read with `Content-Length` or to the end of the stream.
///
/// # Errors
/// I/O errors, or a response that is not HTTP/1.1.
pub fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_http_response(&raw)
}

/// Parses a complete HTTP/1.1 response (as read to the end of the stream).
///
/// # Errors
/// [`std::io::ErrorKind::InvalidData`] if it is not one.
pub fn parse_http_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if let Some(len) = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()) {
        body.truncate(len);
    }
    Ok(HttpResponse { status, headers, body })
}
