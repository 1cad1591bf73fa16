//! Real `provlog-server` and `provlog-witness` processes on loopback ports:
//! started, waited for, killed with SIGKILL or stopped with SIGTERM.

use crate::workspace_binary;
use provlog_ledger::cosignature::CosignatureSigner;
use provlog_ledger::keyfile;
use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A loopback port that was free a moment ago (bound to port 0, then
/// released). Another process may take it before it is used again, so
/// callers that bind it retry with a new one on failure.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// Sends SIGTERM to a process (there is no std API for it).
pub fn sigterm(pid: u32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

/// Sends SIGKILL to a process by its ID, without reaping it (its owner does).
pub fn sigkill(pid: u32) {
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

/// Waits up to `timeout` for `child` to exit; SIGKILLs it after that.
pub fn wait_or_kill(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A `provlog-server` process.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    stderr: PathBuf,
}

impl ServerProcess {
    /// Starts `provlog-server args…` (which must make it listen on `addr`),
    /// with its stderr in the file `stderr`, and waits until `/healthz`
    /// answers 200.
    ///
    /// # Errors
    /// The server's stderr if it exits, or a timeout.
    pub fn start(
        args: &[OsString],
        addr: SocketAddr,
        stderr: &Path,
        client: &reqwest::blocking::Client,
    ) -> Result<ServerProcess, String> {
        ServerProcess::start_binary("provlog-server", args, addr, stderr, client)
    }

    /// [`ServerProcess::start`] for another server binary of the workspace
    /// (`provlog-mirror`), which must answer `/healthz` the same way.
    ///
    /// # Errors
    /// As [`ServerProcess::start`].
    pub fn start_binary(
        binary: &str,
        args: &[OsString],
        addr: SocketAddr,
        stderr: &Path,
        client: &reqwest::blocking::Client,
    ) -> Result<ServerProcess, String> {
        ServerProcess::start_wrapped(&[], binary, args, addr, stderr, client)
    }

    /// [`ServerProcess::start_binary`] run by a wrapper command that execs
    /// it (`fiu-run -x`), so that the wrapper's process ID is the server's.
    ///
    /// # Errors
    /// As [`ServerProcess::start`].
    pub fn start_wrapped(
        wrapper: &[&str],
        binary: &str,
        args: &[OsString],
        addr: SocketAddr,
        stderr: &Path,
        client: &reqwest::blocking::Client,
    ) -> Result<ServerProcess, String> {
        let log = std::fs::File::create(stderr).map_err(|e| e.to_string())?;
        let mut command = match wrapper.split_first() {
            None => Command::new(workspace_binary(binary)),
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(workspace_binary(binary));
                c
            }
        };
        let child = command
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn {binary}: {e}"))?;
        let mut p = ServerProcess { child, addr, stderr: stderr.to_owned() };
        p.wait_healthy(client)?;
        Ok(p)
    }

    /// Waits up to 30 s for `/healthz`.
    fn wait_healthy(&mut self, client: &reqwest::blocking::Client) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("http://{}/healthz", self.addr);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("provlog-server exited with {status}: {}", self.log()));
            }
            if let Ok(r) = client.get(&url).timeout(Duration::from_secs(2)).send() {
                if r.status().as_u16() == 200 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        Err(format!("provlog-server did not become healthy: {}", self.log()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean exit (status 0).
    ///
    /// # Panics
    /// If it does not exit cleanly within 15 s.
    pub fn terminate(mut self) {
        sigterm(self.child.id());
        let status = wait_or_kill(&mut self.child, Duration::from_secs(15));
        assert!(status.is_some_and(|s| s.success()), "unclean shutdown ({status:?}): {}", self.log());
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A witness of a test log: its key, its data directory and its fixed
/// address (the log's policy names it, so a restart reuses it), and the
/// process while it runs.
pub struct TestWitness {
    pub name: String,
    /// The `cosignature/v1` vkey.
    pub vkey: String,
    pub key_file: PathBuf,
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    child: Mutex<Option<Child>>,
}

impl TestWitness {
    /// Makes the witness's key and directory under `root`, and picks its port.
    pub fn create(root: &Path, name: &str, n: usize) -> TestWitness {
        let dir = root.join(format!("witness-{n}"));
        std::fs::create_dir_all(&dir).expect("witness directory");
        let key_file = dir.join("witness.key");
        let signer = keyfile::generate(name, &key_file).expect("witness key");
        let vkey = CosignatureSigner::new(name, signer.signing_key().clone())
            .expect("a valid name")
            .verifier()
            .vkey();
        TestWitness {
            name: name.into(),
            vkey,
            key_file,
            data_dir: dir.join("data"),
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            child: Mutex::new(None),
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.lock().expect("lock").as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The process ID, while started.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().expect("lock").as_ref().map(|c| c.id())
    }

    /// Starts `provlog-witness` for the log `origin`/`log_vkey` from its data
    /// directory, and waits for its "listening" line.
    ///
    /// # Panics
    /// If it does not start (e.g. its port was taken meanwhile).
    pub fn start(&self, origin: &str, log_vkey: &str) {
        let mut guard = self.child.lock().expect("lock");
        assert!(guard.is_none(), "witness {} is already running", self.name);
        let mut child = Command::new(workspace_binary("provlog-witness"))
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data")
            .arg(&self.data_dir)
            .arg("--key")
            .arg(&self.key_file)
            .arg("--log")
            .arg(format!("{origin}={log_vkey}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn provlog-witness");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read stdout");
        assert_eq!(
            line.trim_end(),
            format!("provlog-witness listening on {}", self.addr),
            "witness {} did not start",
            self.name
        );
        *guard = Some(child);
    }

    /// SIGKILL, if running.
    pub fn kill(&self) {
        if let Some(mut c) = self.child.lock().expect("lock").take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The monitoring API's latest cosigned checkpoint of `origin`.
    pub fn latest_checkpoint(&self, client: &reqwest::blocking::Client, origin: &str) -> Option<String> {
        use sha2::Digest as _;
        let url = format!("http://{}/{}/checkpoint", self.addr, hex::encode(sha2::Sha256::digest(origin)));
        let r = client.get(url).send().ok()?;
        (r.status().as_u16() == 200).then(|| r.text().ok()).flatten()
    }
}
