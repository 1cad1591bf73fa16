//! A real Garage cluster (an S3-compatible distributed object store) on
//! loopback, for the bucket publication and mirror tests: N `garage server`
//! processes with their own directories and ports, one layout with
//! replication factor N, a bucket with website access (anonymous reads
//! with `Host: localhost`, the bucket's global alias) and a key allowed to
//! write it.
//!
//! Needs the `garage` binary (`cargo install garage --locked`, as
//! `.ci/run` does): [`garage_binary`] finds it on `PATH` or in
//! `~/.cargo/bin`.

use crate::process::{free_port, sigkill, sigterm, wait_or_kill};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test cluster has.
pub const BUCKET: &str = "provlog";
/// Garage's S3 region.
pub const REGION: &str = "garage";

/// The `garage` binary: `$GARAGE_BIN`, else `garage` on `PATH`, else
/// `~/.cargo/bin/garage`; `None` if none exists.
pub fn garage_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GARAGE_BIN") {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("garage")).find(|p| p.is_file()));
    on_path.or_else(|| {
        let home = std::env::var_os("HOME")?;
        let p = Path::new(&home).join(".cargo/bin/garage");
        p.is_file().then_some(p)
    })
}

/// One `garage server` process and its ports.
pub struct GarageNode {
    pub config: PathBuf,
    pub s3_port: u16,
    pub web_port: u16,
    pub rpc_port: u16,
    pub id: String,
    child: Option<Child>,
    log: PathBuf,
}

/// A running cluster; every node is killed when it is dropped.
pub struct Garage {
    pub bin: PathBuf,
    pub nodes: Vec<GarageNode>,
    pub key_id: String,
    pub secret: String,
    /// A file holding [`Garage::secret`], for `secret_access_key_file`.
    pub secret_file: PathBuf,
}

fn run(bin: &Path, config: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("-c")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("garage {args:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "garage {args:?}: {}\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

/// Retries `f` until it succeeds or `timeout` passes (a node starting, a
/// layout propagating).
fn retry<T>(timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() > timeout => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The value after `label` on the line that has it (`Key ID: GK…`).
fn field(text: &str, label: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim().strip_prefix(label)).map(|v| v.trim().to_owned())
}

impl GarageNode {
    /// Writes the node's configuration; does not start it.
    fn create(dir: &Path, i: usize, replication: usize, rpc_secret: &str) -> GarageNode {
        let root = dir.join(format!("node{i}"));
        std::fs::create_dir_all(&root).expect("node directory");
        let (s3_port, web_port, rpc_port, admin_port) = (free_port(), free_port(), free_port(), free_port());
        let config = root.join("garage.toml");
        let text = format!(
            "metadata_dir = {meta:?}\ndata_dir = {data:?}\ndb_engine = \"sqlite\"\n\
             replication_factor = {replication}\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\nrpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_secret = \"{rpc_secret}\"\n\n\
             [s3_api]\ns3_region = \"{REGION}\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n\
             root_domain = \".s3.garage.invalid\"\n\n\
             [s3_web]\nbind_addr = \"127.0.0.1:{web_port}\"\nroot_domain = \".web.garage.invalid\"\n\n\
             [admin]\napi_bind_addr = \"127.0.0.1:{admin_port}\"\n",
            meta = root.join("meta"),
            data = root.join("data"),
        );
        std::fs::write(&config, text).expect("write garage.toml");
        let log = root.join("garage.log");
        GarageNode { config, s3_port, web_port, rpc_port, id: String::new(), child: None, log }
    }

    pub fn start(&mut self, bin: &Path) {
        assert!(self.child.is_none(), "node already running");
        let log = std::fs::File::create(&self.log).expect("garage log");
        let child = Command::new(bin)
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn garage server");
        self.child = Some(child);
    }

    /// SIGTERM, then SIGKILL if it does not exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            sigterm(c.id());
            if wait_or_kill(&mut c, Duration::from_secs(10)).is_none() {
                sigkill(c.id());
                let _ = c.wait();
            }
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The S3 endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The website endpoint serving the bucket anonymously (`Host:
    /// localhost`), as a base URL for tlog-tiles clients.
    pub fn web_url(&self) -> String {
        format!("http://localhost:{}", self.web_port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Garage {
    /// Starts `nodes` nodes with replication factor `nodes`, connects them,
    /// applies a layout (one zone per node), creates [`BUCKET`] with
    /// website access and its global alias `localhost`, and a key allowed to
    /// read and write it.
    ///
    /// # Errors
    /// What the `garage` command said, if a step fails.
    pub fn start(bin: PathBuf, dir: &Path, nodes: usize) -> Result<Garage, String> {
        let rpc_secret = hex::encode(rand_bytes());
        let mut ns: Vec<GarageNode> =
            (0..nodes).map(|i| GarageNode::create(dir, i, nodes, &rpc_secret)).collect();
        for n in &mut ns {
            n.start(&bin);
        }
        for n in &mut ns {
            let id = retry(Duration::from_secs(30), || run(&bin, &n.config, &["node", "id", "-q"]))
                .map_err(|e| format!("{e}\n{}", n.log()))?;
            n.id = id.trim().to_owned();
        }
        let first = ns[0].config.clone();
        for n in &ns[1..] {
            retry(Duration::from_secs(30), || run(&bin, &first, &["node", "connect", &n.id]))?;
        }
        for (i, n) in ns.iter().enumerate() {
            let short = &n.id[..16.min(n.id.len())];
            let zone = format!("dc{i}");
            retry(Duration::from_secs(30), || {
                run(&bin, &first, &["layout", "assign", "-z", &zone, "-c", "1G", short])
            })?;
        }
        run(&bin, &first, &["layout", "apply", "--version", "1"])?;
        retry(Duration::from_secs(30), || run(&bin, &first, &["bucket", "create", BUCKET]))?;
        let key = run(&bin, &first, &["key", "create", "provlog-publisher"])?;
        let key_id = field(&key, "Key ID:").ok_or_else(|| format!("no key ID in {key}"))?;
        let secret = field(&key, "Secret key:").ok_or_else(|| format!("no secret in {key}"))?;
        run(&bin, &first, &["bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", &key_id])?;
        run(&bin, &first, &["bucket", "website", "--allow", BUCKET])?;
        run(&bin, &first, &["bucket", "alias", BUCKET, "localhost"])?;
        let secret_file = dir.join("s3.secret");
        std::fs::write(&secret_file, format!("{secret}\n")).expect("write secret");
        // Secret files are held to the key files' rule: mode 0600.
        std::fs::set_permissions(&secret_file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod the secret");
        Ok(Garage { bin, nodes: ns, key_id, secret, secret_file })
    }

    /// The `[publish]` section of a server configuration for this cluster,
    /// through node `i`'s S3 endpoint.
    pub fn publish_config(&self, i: usize) -> String {
        format!(
            "\n[publish]\nendpoint = {:?}\nbucket = {BUCKET:?}\nregion = {REGION:?}\n\
             access_key_id = {:?}\nsecret_access_key_file = {:?}\n",
            self.nodes[i].endpoint(),
            self.key_id,
            self.secret_file
        )
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// 32 random bytes (the cluster's RPC secret).
fn rand_bytes() -> [u8; 32] {
    provlog_ledger::note::generate_signing_key().to_bytes()
}
