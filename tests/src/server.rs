//! A log under test: a data directory built the way an operator would build
//! one (log key file, governance keys, partners with real Ed25519 keys, a
//! genesis statement, a C2SP tlog-policy for witnesses), a real
//! `provlog-server` process on a loopback port, optional real
//! `provlog-witness` processes, and an HTTP client that records every
//! checkpoint it sees so that a test can end with [`TestLog::verify`].
//!
//! The server is configured through a TOML file with short batch ages, sync
//! waits and timeouts (`api/src/config.rs`), so that the tests stay fast.

use crate::audit::{self, VerifiedLog};
use crate::chain::{now_ms, Parties};
use crate::process::{free_port, ServerProcess, TestWitness};
use crate::HttpResponse;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use provlog_ledger::governance::{Action, GovernancePayload, GovernanceSpec, GOVERNANCE_ISSUER};
use provlog_ledger::keyfile;
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::policy::Policy;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_GOVERNANCE};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The origin of every test log.
pub const ORIGIN: &str = "e2e.provlog.invalid/log";
/// The content type of `POST /entries`.
pub const COSE: &str = "application/cose";

/// Server settings a test may change; the defaults keep tests fast.
#[derive(Clone, Debug)]
pub struct Tuning {
    pub sync_wait_ms: u64,
    pub max_batch_age_ms: u64,
    pub witness_timeout_ms: u64,
    pub header_read_timeout_ms: u64,
    pub body_read_timeout_ms: u64,
    pub max_batch_statements: usize,
    pub max_batch_bytes: usize,
    /// `http.max_body_memory_bytes`.
    pub max_body_memory_bytes: usize,
    /// Per-partner rate limit, statements per second, and its burst.
    pub per_partner_per_s: u64,
    pub per_partner_burst: u64,
    /// Per-address rate limit, its burst, and `limits.trusted_proxies`.
    pub per_address_per_s: u64,
    pub per_address_burst: u64,
    pub trusted_proxies: Vec<&'static str>,
    /// `sled` or `fjall`.
    pub engine: &'static str,
    pub cache_capacity_mb: u64,
    pub max_batch_size: usize,
    pub queue_capacity: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            sync_wait_ms: 5000,
            max_batch_age_ms: 2,
            witness_timeout_ms: 1000,
            header_read_timeout_ms: 5000,
            body_read_timeout_ms: 10_000,
            max_batch_statements: 10_000,
            max_batch_bytes: 16 << 20,
            max_body_memory_bytes: 256 << 20,
            per_partner_per_s: 50_000,
            per_partner_burst: 100_000,
            per_address_per_s: 100_000,
            per_address_burst: 200_000,
            trusted_proxies: Vec::new(),
            engine: "sled",
            cache_capacity_mb: 16,
            max_batch_size: 4096,
            queue_capacity: 65536,
        }
    }
}

/// What to build.
#[derive(Clone, Debug)]
pub struct Setup {
    pub rule_set: RuleSet,
    /// How many `provlog-witness` processes the log has (0: none, and no policy).
    pub witnesses: usize,
    /// How many of them must cosign.
    pub quorum: usize,
    pub tuning: Tuning,
}

impl Setup {
    pub fn new(rule_set: RuleSet) -> Setup {
        Setup { rule_set, witnesses: 0, quorum: 0, tuning: Tuning::default() }
    }

    pub fn witnesses(mut self, n: usize, quorum: usize) -> Setup {
        self.witnesses = n;
        self.quorum = quorum;
        self
    }

    pub fn tuning(mut self, tuning: Tuning) -> Setup {
        self.tuning = tuning;
        self
    }
}

/// A statement that was registered: its ID, index and receipt.
#[derive(Clone, Debug)]
pub struct Registered {
    pub id: String,
    pub index: u64,
    pub receipt: String,
    /// The policy names of the witnesses whose cosignatures the receipt's
    /// checkpoint carries (empty without a policy).
    pub cosigners: Vec<String>,
}

/// A log under test; its processes are killed when it is dropped.
pub struct TestLog {
    pub dir: tempfile::TempDir,
    pub origin: String,
    pub log_vkey: String,
    /// Governance keys; the quorum is 2.
    pub governance: Vec<SigningKey>,
    pub parties: Parties,
    pub policy: Option<Policy>,
    pub witnesses: Vec<TestWitness>,
    pub server: Option<ServerProcess>,
    pub tuning: Tuning,
    pub client: reqwest::blocking::Client,
    config: PathBuf,
    /// Every signed checkpoint note the test has seen, for the final check.
    seen: Mutex<Vec<String>>,
    pub(crate) next_event: AtomicU64,
    pub(crate) next_nonce: AtomicU64,
    run: AtomicU64,
}

/// An HTTP client for tests: no proxies, generous timeouts.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client")
}

/// Converts a blocking reqwest response.
pub fn to_response(r: reqwest::blocking::Response) -> HttpResponse {
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = r.bytes().expect("response body").to_vec();
    HttpResponse { status, headers, body }
}

impl TestLog {
    /// Builds the data directory, starts the witnesses (if any) and the server.
    pub fn start(setup: Setup) -> TestLog {
        let log = TestLog::create(setup);
        log.start_witnesses();
        let mut log = log;
        log.start_server();
        log
    }

    /// Builds the data directory and starts the witnesses, but not the server.
    pub fn create(setup: Setup) -> TestLog {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().to_owned();
        let log_key = root.join("log.key");
        let signer = keyfile::generate(ORIGIN, &log_key).expect("log key");
        let log_vkey = signer.verifier().vkey();
        let governance: Vec<SigningKey> = (0..3).map(|_| generate_signing_key()).collect();
        let parties = Parties::new();

        let genesis = GovernancePayload {
            origin: ORIGIN.into(),
            nonce: String::new(),
            action: Action::Genesis {
                governance: GovernanceSpec {
                    keys: governance.iter().map(|k| BASE64.encode(k.verifying_key().as_bytes())).collect(),
                    quorum: 2,
                },
                partners: parties.all().iter().map(|p| p.spec()).collect(),
                rule_set: setup.rule_set.clone(),
            },
        };
        let genesis = Statement::sign_multi(
            &[&governance[0], &governance[1]],
            GOVERNANCE_ISSUER,
            "genesis",
            now_ms() / 1000,
            CONTENT_TYPE_GOVERNANCE,
            &genesis.to_json(),
        )
        .expect("genesis statement");
        let genesis_file = root.join("genesis.cose");
        std::fs::write(&genesis_file, genesis.as_bytes()).expect("write genesis");

        let mut witnesses = Vec::new();
        let mut policy_path = None;
        let mut policy = None;
        if setup.witnesses > 0 {
            for i in 1..=setup.witnesses {
                witnesses.push(TestWitness::create(&root, &format!("w{i}.e2e.provlog.invalid"), i));
            }
            let mut text = format!("log {log_vkey}\n");
            for (i, w) in witnesses.iter().enumerate() {
                text.push_str(&format!("witness w{} {} http://{}\n", i + 1, w.vkey, w.addr));
            }
            let names: Vec<String> = (1..=setup.witnesses).map(|i| format!("w{i}")).collect();
            text.push_str(&format!("group quorum {} {}\nquorum quorum\n", setup.quorum, names.join(" ")));
            let path = root.join("witnesses.policy");
            std::fs::write(&path, &text).expect("write policy");
            policy = Some(Policy::parse(&text).expect("a valid policy"));
            policy_path = Some(path);
        }

        let t = &setup.tuning;
        let mut config = format!(
            "origin = {ORIGIN:?}\ndata_dir = {:?}\nlog_key = {:?}\ngenesis = {:?}\n\n\
             [sequencer]\nmax_batch_age_ms = {}\nmax_batch_size = {}\nqueue_capacity = {}\n\n\
             [http]\nsync_wait_ms = {}\nheader_read_timeout_ms = {}\nbody_read_timeout_ms = {}\n\
             max_batch_statements = {}\nmax_batch_bytes = {}\nmax_body_memory_bytes = {}\n\n\
             [limits]\nper_partner_per_s = {}\nper_partner_burst = {}\nper_address_per_s = {}\n\
             per_address_burst = {}\ntrusted_proxies = {:?}\n\n\
             [storage]\nengine = {:?}\ncache_capacity_mb = {}\n",
            root.join("data"),
            log_key,
            genesis_file,
            t.max_batch_age_ms,
            t.max_batch_size,
            t.queue_capacity,
            t.sync_wait_ms,
            t.header_read_timeout_ms,
            t.body_read_timeout_ms,
            t.max_batch_statements,
            t.max_batch_bytes,
            t.max_body_memory_bytes,
            t.per_partner_per_s,
            t.per_partner_burst,
            t.per_address_per_s,
            t.per_address_burst,
            t.trusted_proxies,
            t.engine,
            t.cache_capacity_mb,
        );
        if let Some(p) = &policy_path {
            config
                .push_str(&format!("\n[witnesses]\npolicy = {p:?}\ntimeout_ms = {}\n", t.witness_timeout_ms));
        }
        let config_path = root.join("server.toml");
        std::fs::write(&config_path, config).expect("write config");

        TestLog {
            dir,
            origin: ORIGIN.into(),
            log_vkey,
            governance,
            parties,
            policy,
            witnesses,
            server: None,
            tuning: setup.tuning,
            client: client(),
            config: config_path,
            seen: Mutex::new(Vec::new()),
            next_event: AtomicU64::new(0),
            next_nonce: AtomicU64::new(0),
            run: AtomicU64::new(0),
        }
    }

    /// Appends `text` (a TOML section, e.g. `[publish]`) to the server's
    /// configuration file; it takes effect at the next start.
    pub fn append_config(&self, text: &str) {
        let mut config = std::fs::read_to_string(&self.config).expect("read config");
        config.push_str(text);
        std::fs::write(&self.config, config).expect("write config");
    }

    /// Starts every witness that is not running.
    pub fn start_witnesses(&self) {
        for w in &self.witnesses {
            if !w.is_running() {
                w.start(&self.origin, &self.log_vkey);
            }
        }
    }

    /// Starts `provlog-server` on a free loopback port and waits for `/healthz`.
    pub fn start_server(&mut self) {
        self.start_server_wrapped(&[]);
    }

    /// [`TestLog::start_server`] run by a wrapper command that execs it
    /// (`fiu-run -x`).
    pub fn start_server_wrapped(&mut self, wrapper: &[&str]) {
        let mut last = String::new();
        for _attempt in 0..5 {
            match self.try_start_server_wrapped(wrapper) {
                Ok(()) => return,
                Err(e) => last = e,
            }
        }
        panic!("provlog-server did not start: {last}");
    }

    /// Starts `provlog-server` once.
    ///
    /// # Errors
    /// Its exit status and stderr if it exits instead of becoming healthy
    /// (a refused data directory), or a timeout.
    pub fn try_start_server(&mut self) -> Result<(), String> {
        self.try_start_server_wrapped(&[])
    }

    fn try_start_server_wrapped(&mut self, wrapper: &[&str]) -> Result<(), String> {
        assert!(self.server.is_none(), "the server is already running");
        let run = self.run.fetch_add(1, Ordering::Relaxed);
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let stderr = self.dir.path().join(format!("server-{run}.log"));
        let args = vec![
            "--config".into(),
            self.config.clone().into_os_string(),
            "--listen".into(),
            addr.to_string().into(),
        ];
        self.server = Some(ServerProcess::start_wrapped(
            wrapper,
            "provlog-server",
            &args,
            addr,
            &stderr,
            &self.client,
        )?);
        Ok(())
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_server(&mut self) {
        self.server.take().expect("a running server").kill();
    }

    /// SIGKILL through a shared reference, e.g. while other threads are
    /// submitting; [`TestLog::kill_server`] then reaps the process.
    pub fn sigkill_server(&self) {
        crate::process::sigkill(self.server.as_ref().expect("a running server").pid());
    }

    /// SIGTERM, and waits for a clean exit.
    pub fn stop_server(&mut self) {
        self.server.take().expect("a running server").terminate();
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("a running server").addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr())
    }

    /// The server's stderr so far, for failure messages.
    pub fn server_log(&self) -> String {
        self.server.as_ref().map(ServerProcess::log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        to_response(self.client.get(self.url(path)).send().unwrap_or_else(|e| panic!("GET {path}: {e}")))
    }

    /// POSTs `body` with a content type and, optionally, an `Accept` header.
    pub fn post(&self, path: &str, content_type: &str, body: Vec<u8>, accept: Option<&str>) -> HttpResponse {
        let mut req = self.client.post(self.url(path)).header("content-type", content_type).body(body);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        to_response(req.send().unwrap_or_else(|e| panic!("POST {path}: {e}")))
    }

    /// `POST /entries` with one statement's bytes.
    pub fn submit_bytes(&self, bytes: &[u8]) -> HttpResponse {
        self.post("/entries", COSE, bytes.to_vec(), None)
    }

    pub fn submit(&self, s: &Statement) -> HttpResponse {
        self.submit_bytes(s.as_bytes())
    }

    /// Submits `s`, expects `status` (201 or 200), verifies the receipt
    /// offline against the log key and the witness policy, and records its
    /// checkpoint.
    pub fn register_expecting(&self, s: &Statement, status: u16) -> Registered {
        let r = self.submit(s);
        assert_eq!(r.status, status, "{}\n{}", r.text(), self.server_log());
        assert_eq!(r.header("content-type"), Some("text/x.tlog-proof; charset=utf-8"));
        let id = s.id().to_string();
        assert_eq!(r.header("location"), Some(format!("/entries/{id}").as_str()));
        let receipt = r.text();
        let v = audit::verify_receipt(&receipt, &self.origin, &self.log_vkey, self.policy.as_ref(), s)
            .unwrap_or_else(|e| panic!("receipt does not verify: {e:#}\n{receipt}"));
        self.saw(&v.checkpoint_note);
        Registered { id, index: v.index, receipt, cosigners: v.cosigners }
    }

    /// Submits `s` and expects it to be registered now (201).
    pub fn register(&self, s: &Statement) -> Registered {
        self.register_expecting(s, 201)
    }

    /// Records a checkpoint note for the final consistency check.
    pub fn saw(&self, note: &str) {
        self.seen.lock().expect("lock").push(note.to_owned());
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }

    /// The published checkpoint's size (recording the checkpoint).
    pub fn published_size(&self) -> u64 {
        let r = self.get("/checkpoint");
        assert_eq!(r.status, 200, "{}", r.text());
        self.saw(&r.text());
        let text = r.text();
        let (body, _) = provlog_ledger::note::split(&text).expect("a note");
        provlog_ledger::checkpoint::Checkpoint::parse(body).expect("a checkpoint").size
    }

    /// The committed tree size, from `/metrics` (`provlog_tree_size`).
    pub fn tree_size(&self) -> u64 {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200);
        metric(&r.text(), "provlog_tree_size").expect("provlog_tree_size in /metrics") as u64
    }

    /// Verifies the whole log as it stands now, with every checkpoint seen
    /// (`audit::verify_log`), and returns what was verified.
    pub fn verify(&self) -> VerifiedLog {
        let base = self.url("");
        let v = audit::verify_log(
            &self.client,
            &base,
            &self.origin,
            &self.log_vkey,
            self.policy.as_ref(),
            &self.seen(),
        )
        .unwrap_or_else(|e| panic!("the log does not verify: {e:#}\n{}", self.server_log()));
        self.saw(&v.note);
        v
    }
}

impl Drop for TestLog {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.kill();
        }
        for w in &self.witnesses {
            w.kill();
        }
    }
}

/// The value of an unlabelled Prometheus sample `name` in `text`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}
