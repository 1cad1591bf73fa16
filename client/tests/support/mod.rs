//! Helpers for the client's end-to-end tests: the real `provlog-server
//! --dev` (with its two witness processes) on loopback ports, and the real
//! `provlog` binary.
//!
//! The server and witness binaries are found next to the `provlog` binary
//! (`target/<profile>/`): `cargo test --workspace` builds them there,
//! because their packages have integration tests.

#![allow(dead_code)]

pub mod synthetic;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// The `provlog` binary under test.
pub fn provlog_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_provlog"))
}

/// A binary of another workspace package, next to `provlog`.
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = provlog_bin().with_file_name(name);
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --workspace`, or `cargo build -p provlog-api -p provlog-witness` first",
        path.display()
    );
    path
}

/// A loopback port `p` such that `p`, `p + 1` and `p + 2` are free now
/// (the dev server puts its witnesses on the next two ports).
pub fn free_port_triple() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u16 % 600) * 30;
    loop {
        let p = 20_000 + (seed + NEXT.fetch_add(3, Ordering::Relaxed)) % 30_000;
        let listeners: Vec<_> = (0..3).filter_map(|i| TcpListener::bind(("127.0.0.1", p + i)).ok()).collect();
        if listeners.len() == 3 {
            return p;
        }
    }
}

/// What a `provlog` run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Each stdout line as JSON (for `--json` runs).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "exit status; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

fn run_output(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `provlog` with `args` to completion.
pub fn provlog<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out = Command::new(provlog_bin()).args(args).stdin(Stdio::null()).output().expect("run provlog");
    run_output(out)
}

/// Sends SIGTERM to a child we started and waits for it (SIGKILL after
/// `grace`), so that the dev server stops its own witness processes.
pub fn terminate(child: &mut Child, grace: Duration) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A running `provlog-server --dev` in `dir`, with its witnesses.
pub struct DevLog {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl DevLog {
    /// Starts a dev log in `dir` (created on first start) on a free port.
    pub fn start(dir: &Path) -> DevLog {
        let mut log = DevLog { dir: dir.to_owned(), port: free_port_triple(), child: None };
        log.restart();
        log
    }

    /// A dev log in `dir` on `port`, not started yet.
    pub fn stopped(dir: &Path, port: u16) -> DevLog {
        DevLog { dir: dir.to_owned(), port, child: None }
    }

    /// Starts the server again on the same port (after [`DevLog::stop`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.with_extension("server.log"))
            .unwrap();
        let child = Command::new(workspace_binary("provlog-server"))
            .arg("--dev")
            .arg("--data")
            .arg(&self.dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start provlog-server");
        self.child = Some(child);
        self.wait_published(1);
    }

    /// Stops the server (SIGTERM: it stops its witnesses too).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(10));
        }
        // The witnesses exit when the server drops them; wait for their ports.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && (0..3).any(|i| TcpListener::bind(("127.0.0.1", self.port + i)).is_err())
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The dev log's facts (`dev.json`).
    pub fn info(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.dir.join("dev.json")).unwrap()).unwrap()
    }

    /// The policy file the dev server wrote (log and both witnesses).
    pub fn policy(&self) -> PathBuf {
        self.dir.join("witnesses.policy")
    }

    /// The key file of the demo partner `name` (farm, processor, retailer).
    pub fn partner_key(&self, name: &str) -> PathBuf {
        self.dir.join("partners").join(format!("{name}.key"))
    }

    /// The base64 public key of the demo partner `name`.
    pub fn partner_public_key(&self, name: &str) -> String {
        let info = self.info();
        let stem = format!("{name}.key");
        info["partners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["key_file"].as_str().unwrap().ends_with(&stem))
            .unwrap()["public_key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The published checkpoint's size, if any.
    pub fn published_size(&self) -> Option<u64> {
        let body = reqwest::blocking::get(format!("{}/checkpoint", self.url())).ok()?;
        if !body.status().is_success() {
            return None;
        }
        body.text().ok()?.lines().nth(1)?.parse().ok()
    }

    /// Waits until a checkpoint of at least `size` is published.
    pub fn wait_published(&self, size: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.published_size().is_some_and(|s| s >= size) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no checkpoint of size {size} published at {}", self.url());
    }

    /// Copies this (stopped) dev log's directory to `to`, with `dev.json`
    /// and the policy rewritten to the new paths: the same keys and the
    /// same history so far, to be continued differently.
    pub fn copy_to(&self, to: &Path) -> PathBuf {
        assert!(self.child.is_none(), "stop the log before copying it");
        copy_dir(&self.dir, to);
        let from = self.dir.to_string_lossy().into_owned();
        let into = to.to_string_lossy().into_owned();
        let info = std::fs::read_to_string(to.join("dev.json")).unwrap().replace(&from, &into);
        std::fs::write(to.join("dev.json"), info).unwrap();
        to.to_owned()
    }
}

impl Drop for DevLog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies a directory tree, keeping file modes (key files stay 0600).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every GS1 example file (`.jsonld`) under `spec/vectors/epcis/`, sorted;
/// the JSON schema is not one.
pub fn gs1_examples() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "jsonld") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/epcis"), &mut out);
    out.sort();
    out
}

/// A one-event EPCIS document for `serial`, from `pgln`'s location.
pub fn event_json(serial: u64) -> String {
    format!(
        concat!(
            r#"{{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"ObjectEvent","#,
            r#""eventTime":"2026-10-01T08:00:00.000Z","eventTimeZoneOffset":"+00:00","#,
            r#""eventID":"urn:uuid:11111111-0000-4000-8000-{:012}","#,
            r#""epcList":["urn:epc:id:sgtin:0614141.107346.{}"],"action":"OBSERVE","bizStep":"inspecting"}}"#
        ),
        serial, serial
    )
}
