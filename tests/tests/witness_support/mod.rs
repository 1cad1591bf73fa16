//! Shared by the witness tests: a real `provlog-witness` process on a
//! loopback port, and a test log (a `TiledTree` over a `MemoryStore`, signed
//! with a real log key) that can also fork itself.

#![allow(dead_code)]

use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::cosignature::CosignatureVerifier;
use provlog_ledger::note::{self, Ed25519Signer, NoteVerifier};
use provlog_ledger::storage::{Batch, MemoryStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use provlog_ledger::tree::Hash;
use provlog_ledger::witness_protocol::AddCheckpointRequest;
use provlog_tests::{http_request, workspace_binary, HttpResponse};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// A `provlog-witness` child process, killed when dropped.
pub struct WitnessProcess {
    pub addr: SocketAddr,
    child: Child,
}

impl WitnessProcess {
    /// Starts the witness with `args` plus `--listen 127.0.0.1:0`, and waits
    /// for the line that gives its address.
    pub fn start(args: &[String]) -> WitnessProcess {
        let mut all = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        all.extend_from_slice(args);
        Self::spawn(&all)
    }

    /// Starts the witness with exactly `args` (e.g. `--config FILE`).
    pub fn spawn(args: &[String]) -> WitnessProcess {
        let mut child = Command::new(workspace_binary("provlog-witness"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn provlog-witness");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("provlog-witness listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        WitnessProcess { addr, child }
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn post(&self, body: &[u8]) -> HttpResponse {
        http_request(self.addr, "POST", "/add-checkpoint", body).expect("add-checkpoint")
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        http_request(self.addr, "GET", path, b"").expect("GET")
    }

    /// The monitoring API's latest cosigned checkpoint of `origin`.
    pub fn latest(&self, origin: &str) -> HttpResponse {
        self.get(&format!("/{}/checkpoint", hex::encode(Sha256::digest(origin))))
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes a witness key with `provlog-witness keygen`; returns the key file
/// and the printed cosignature vkey.
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{}.key", name.replace('/', "_")));
    let out = Command::new(workspace_binary("provlog-witness"))
        .args(["keygen", "--name", name, "--out", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (path, String::from_utf8(out.stdout).unwrap().trim_end().to_owned())
}

/// Serve flags for a witness of `logs` (origin, vkey) with its data in `data`.
pub fn serve_args(data: &Path, key: &Path, logs: &[(&str, String)]) -> Vec<String> {
    let mut args =
        vec!["--data".into(), data.to_str().unwrap().into(), "--key".into(), key.to_str().unwrap().into()];
    for (origin, vkey) in logs {
        args.push("--log".into());
        args.push(format!("{origin}={vkey}"));
    }
    args
}

/// A log under test: real tiles in memory, a real Ed25519 log key.
pub struct TestLog {
    pub origin: String,
    pub signer: Ed25519Signer,
    tree: TiledTree,
    /// Mixed into new entries, so that forks differ.
    salt: u64,
}

impl TestLog {
    pub fn new(origin: &str) -> TestLog {
        Self::with_signer(Ed25519Signer::generate(origin).unwrap(), 0)
    }

    pub fn with_signer(signer: Ed25519Signer, salt: u64) -> TestLog {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        TestLog { origin: signer.name().to_owned(), signer, tree: TiledTree::open(store).unwrap(), salt }
    }

    pub fn vkey(&self) -> String {
        self.signer.verifier().vkey()
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// Appends `n` entries.
    pub fn append(&mut self, n: u64) {
        let start = self.size();
        let entries: Vec<Vec<u8>> =
            (start..start + n).map(|i| format!("entry {i} of branch {}", self.salt).into_bytes()).collect();
        self.tree.append(&entries, Batch::new()).unwrap();
    }

    /// This log with `n` more entries.
    pub fn extended(mut self, n: u64) -> Self {
        self.append(n);
        self
    }

    pub fn root(&self, size: u64) -> Hash {
        self.tree.reader().root_at(size).unwrap()
    }

    pub fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint::new(&self.origin, size, self.root(size))
    }

    /// The checkpoint of `size`, signed by the log.
    pub fn signed(&self, size: u64) -> String {
        self.checkpoint(size).sign(&[&self.signer]).unwrap()
    }

    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 || old >= new {
            return Vec::new();
        }
        self.tree.reader().prove_consistency(old, new).unwrap()
    }

    /// The `add-checkpoint` body for the checkpoint of `new` with a proof
    /// from `old`.
    pub fn body(&self, old: u64, new: u64) -> Vec<u8> {
        AddCheckpointRequest::new(old, self.proof(old, new), &self.signed(new)).unwrap().format().into_bytes()
    }

    /// A second branch of this log, signed with the same key: the first
    /// `at` entries are shared, later ones differ.
    pub fn fork(&self, at: u64, salt: u64) -> TestLog {
        let signer = Ed25519Signer::from_skey(&self.signer.skey()).unwrap();
        let mut f = TestLog::with_signer(signer, salt);
        if at > 0 {
            let entries = self.tree.reader().entries(0, at).unwrap();
            f.tree.append(&entries, Batch::new()).unwrap();
        }
        f
    }
}

/// The witness's size for `log`, learned as a client does: `old 0` with a
/// proof, which is 422 if the witness's size is 0 and 409 with its size
/// otherwise.
pub fn discover_size(w: &WitnessProcess, log: &TestLog) -> u64 {
    let size = log.size();
    let body = format!("old 0\n{}\n\n{}", log.root(1), log.signed(size));
    let r = w.post(body.as_bytes());
    match r.status {
        422 => 0,
        409 => provlog_ledger::witness_protocol::parse_witness_size(&r.body).unwrap(),
        s => panic!("status {s}: {}", r.text()),
    }
}

/// Opens `checkpoint_note` with the cosignature lines of a 200 body
/// appended, under the log key and the witness's vkey; returns the
/// cosignature's timestamp.
///
/// # Panics
/// Unless both the log's signature and the witness's cosignature verify.
pub fn verify_cosignature(checkpoint_note: &str, body: &str, log: &Ed25519Signer, witness_vkey: &str) -> u64 {
    let w = CosignatureVerifier::from_vkey(witness_vkey).unwrap();
    let lv = log.verifier();
    let n = note::open(&format!("{checkpoint_note}{body}"), &[&lv as &dyn NoteVerifier, &w]).unwrap();
    assert_eq!(n.verified.len(), 2, "log signature and cosignature");
    let ts = provlog_ledger::cosignature::timestamp(&n.verified[1]).unwrap();
    assert!(ts > 0);
    ts
}
