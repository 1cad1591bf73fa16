//! `provlog-server --dev`: a complete local log in one directory. On first
//! run it creates a log key, a governance key, three demo partner keys, a
//! genesis statement with the permissive demo rule set and, unless disabled,
//! keys, data directories and a quorum policy for two local witnesses; the
//! facts a user or a script needs go to `DIR/dev.json`. Later runs reuse
//! all of it, so the same log resumes.
//!
//! Spec: `spec/http-api.md` ("Development mode").

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use provlog_ledger::governance::{
    Action, GovernancePayload, GovernanceSpec, KeySpec, PartnerSpec, Role, Scopes, GOVERNANCE_ISSUER,
};
use provlog_ledger::keyfile::{self, KeyFileError};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{key_thumbprint, Statement, CONTENT_TYPE_GOVERNANCE};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The demo partners: (file stem, PGLN, display name).
pub const DEMO_PARTNERS: [(&str, &str, &str); 3] = [
    ("farm", "urn:epc:id:pgln:0614141.00001", "Demo Farm"),
    ("processor", "urn:epc:id:pgln:0614142.00001", "Demo Processor"),
    ("retailer", "urn:epc:id:pgln:0614144.00001", "Demo Retailer"),
];

/// One demo partner as written to `dev.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevPartner {
    pub name: String,
    pub id: String,
    pub key_file: PathBuf,
    /// Hex thumbprint of the key: the `kid` of its statements.
    pub kid: String,
    pub public_key: String,
}

/// One local witness as written to `dev.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevWitness {
    pub name: String,
    pub url: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    pub vkey: String,
}

/// `DIR/dev.json`: everything a new user or a script needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevInfo {
    pub origin: String,
    pub url: String,
    pub log_vkey: String,
    pub log_key_file: PathBuf,
    pub governance_key_file: PathBuf,
    pub genesis_file: PathBuf,
    pub partners: Vec<DevPartner>,
    pub witnesses: Vec<DevWitness>,
    /// The C2SP tlog-policy file of the witnesses (absent without witnesses).
    pub witness_policy: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("statement: {0}")]
    Statement(#[from] provlog_ledger::statement::StatementError),
    #[error("local witness {name}: {reason}")]
    Witness { name: String, reason: String },
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DevError> {
    std::fs::write(path, bytes).map_err(|source| DevError::Write { path: path.into(), source })
}

fn mkdir(path: &Path) -> Result<(), DevError> {
    std::fs::create_dir_all(path).map_err(|source| DevError::Write { path: path.into(), source })
}

/// Loads `DIR/dev.json`, or creates everything it describes on first run.
///
/// # Errors
/// [`DevError`] for an unreadable `dev.json` or a failed write.
pub fn prepare(dir: &Path, origin: &str, listen: SocketAddr, witnesses: bool) -> Result<DevInfo, DevError> {
    let info_path = dir.join("dev.json");
    if info_path.exists() {
        let text = std::fs::read(&info_path)
            .map_err(|e| DevError::Read { path: info_path.clone(), reason: e.to_string() })?;
        let mut info: DevInfo = serde_json::from_slice(&text)
            .map_err(|e| DevError::Read { path: info_path, reason: e.to_string() })?;
        // The log may be started on another address than the first time.
        info.url = format!("http://{listen}");
        write_examples(dir, &info)?;
        return Ok(info);
    }
    mkdir(dir)?;
    mkdir(&dir.join("partners"))?;
    let log_key_file = dir.join("log.key");
    let log = keyfile::generate(origin, &log_key_file)?;
    let governance_key_file = dir.join("governance.key");
    let governance = keyfile::generate("governance", &governance_key_file)?;

    let everything = Scopes::any();
    let mut partners = Vec::new();
    let mut specs = Vec::new();
    for (stem, id, name) in DEMO_PARTNERS {
        let key_file = dir.join("partners").join(format!("{stem}.key"));
        let signer = keyfile::generate(id, &key_file)?;
        let public = signer.signing_key().verifying_key();
        partners.push(DevPartner {
            name: name.into(),
            id: id.into(),
            key_file,
            kid: hex::encode(key_thumbprint(&public)),
            public_key: BASE64.encode(public.as_bytes()),
        });
        specs.push(PartnerSpec {
            id: id.into(),
            name: name.into(),
            role: Role::Partner,
            keys: vec![KeySpec {
                public_key: BASE64.encode(public.as_bytes()),
                not_before_ms: None,
                not_after_ms: None,
            }],
            scopes: everything.clone(),
        });
    }
    let payload = GovernancePayload {
        origin: origin.into(),
        nonce: String::new(),
        action: Action::Genesis {
            governance: GovernanceSpec {
                keys: vec![BASE64.encode(governance.signing_key().verifying_key().as_bytes())],
                quorum: 1,
            },
            partners: specs,
            rule_set: RuleSet::permissive("demo-permissive"),
        },
    };
    let iat = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let genesis = Statement::sign_multi(
        &[governance.signing_key()],
        GOVERNANCE_ISSUER,
        "genesis",
        iat,
        CONTENT_TYPE_GOVERNANCE,
        &payload.to_json(),
    )?;
    let genesis_file = dir.join("genesis.cose");
    write(&genesis_file, genesis.as_bytes())?;

    let mut dev_witnesses = Vec::new();
    let mut witness_policy = None;
    if witnesses {
        let mut policy = format!("log {} http://{listen}\n", log.verifier().vkey());
        for i in 1..=2u16 {
            let name = format!("witness-{i}.localhost");
            let wdir = dir.join(format!("witness-{i}"));
            mkdir(&wdir)?;
            let key_file = wdir.join("witness.key");
            let signer = keyfile::generate(&name, &key_file)?;
            let cosigner =
                provlog_ledger::cosignature::CosignatureSigner::new(&name, signer.signing_key().clone())
                    .expect("a valid name");
            let wlisten = SocketAddr::new(listen.ip(), listen.port().wrapping_add(i));
            let url = format!("http://{wlisten}");
            policy.push_str(&format!("witness w{i} {} {url}\n", cosigner.verifier().vkey()));
            dev_witnesses.push(DevWitness {
                name,
                url,
                listen: wlisten,
                data_dir: wdir.join("data"),
                key_file,
                vkey: cosigner.verifier().vkey(),
            });
        }
        policy.push_str("group both all w1 w2\nquorum both\n");
        let path = dir.join("witnesses.policy");
        write(&path, policy.as_bytes())?;
        witness_policy = Some(path);
    }

    let info = DevInfo {
        origin: origin.into(),
        url: format!("http://{listen}"),
        log_vkey: log.verifier().vkey(),
        log_key_file,
        governance_key_file,
        genesis_file,
        partners,
        witnesses: dev_witnesses,
        witness_policy,
    };
    write(&info_path, &serde_json::to_vec_pretty(&info).expect("serializable"))?;
    write_examples(dir, &info)?;
    Ok(info)
}

/// The file of the example event the banner submits.
const EXAMPLE_EVENT: &str = "example-event.json";
/// The client's trust policy when the log runs without witnesses.
const LOG_POLICY: &str = "log.policy";

/// The trust policy a client verifies this log's receipts with: the
/// witnesses' policy, or without witnesses `DIR/log.policy` (the log's key
/// alone, quorum none).
pub fn client_policy(dir: &Path, info: &DevInfo) -> PathBuf {
    info.witness_policy.clone().unwrap_or_else(|| dir.join(LOG_POLICY))
}

/// Writes, where missing, what the banner's example needs: `log.policy`
/// without witnesses, and `example-event.json`, an EPCIS ObjectEvent by
/// which the first demo partner commissions one new object now.
fn write_examples(dir: &Path, info: &DevInfo) -> Result<(), DevError> {
    let policy = client_policy(dir, info);
    if !policy.exists() {
        write(&policy, format!("log {} {}\nquorum none\n", info.log_vkey, info.url).as_bytes())?;
    }
    let path = dir.join(EXAMPLE_EVENT);
    if path.exists() {
        return Ok(());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // The partner's GS1 Company Prefix, from its PGLN.
    let prefix =
        info.partners[0].id.trim_start_matches("urn:epc:id:pgln:").split('.').next().unwrap_or_default();
    let location = format!("urn:epc:id:sgln:{prefix}.00001.0");
    let serial = now.as_millis();
    let event = serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventID": format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", now.as_secs() as u32, now.subsec_nanos()),
        "eventTime": provlog_ledger::lineage::fsma::format_time(now.as_millis() as i64, 0),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [format!("urn:epc:id:sgtin:{prefix}.107346.{serial}")],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": location},
        "bizLocation": {"id": location}
    });
    write(&path, &serde_json::to_vec_pretty(&event).expect("serializable"))
}

/// What `--dev` prints once the server listens.
pub fn banner(info: &DevInfo) -> String {
    let mut s = String::new();
    s.push_str("provlog development log\n");
    s.push_str(&format!("  URL:        {}\n", info.url));
    s.push_str(&format!("  origin:     {}\n", info.origin));
    s.push_str(&format!("  log vkey:   {}\n", info.log_vkey));
    for w in &info.witnesses {
        s.push_str(&format!("  witness:    {} at {} ({})\n", w.name, w.url, w.vkey));
    }
    s.push_str("  partner keys:\n");
    for p in &info.partners {
        s.push_str(&format!("    {:<10} {}  {}\n", p.name, p.id, p.key_file.display()));
    }
    let first = &info.partners[0];
    let dir = info.genesis_file.parent().unwrap_or(Path::new("."));
    s.push_str("  try:\n");
    s.push_str(&format!(
        "    provlog submit --policy {} --log {} --key {} {}\n",
        client_policy(dir, info).display(),
        info.url,
        first.key_file.display(),
        dir.join(EXAMPLE_EVENT).display()
    ));
    s.push_str(&format!("  (all of this is in {})\n", dir.join("dev.json").display()));
    s
}

/// The local witness processes; they are stopped when this is dropped.
pub struct WitnessProcesses(Vec<std::process::Child>);

impl Drop for WitnessProcesses {
    /// SIGTERM, so that each witness shuts down cleanly; SIGKILL for one
    /// still running 10 s later.
    fn drop(&mut self) {
        for child in &self.0 {
            if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                // SAFETY: a plain system call on a child this process owns
                // and has not yet waited for.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        for child in &mut self.0 {
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// The `provlog-witness` binary: next to this executable (where cargo puts
/// both), else on `PATH`.
fn witness_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("provlog-witness")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("provlog-witness"))
}

/// Starts one `provlog-witness` process per witness of `info`, each with
/// its own key and data directory, witnessing this log, and waits until
/// each listens.
///
/// # Errors
/// [`DevError::Write`] if a process cannot be started;
/// [`DevError::Witness`] if a witness's port is taken, or a witness exits
/// or does not listen within 30 s (those already started are stopped).
pub fn spawn_witnesses(info: &DevInfo) -> Result<WitnessProcesses, DevError> {
    let bin = witness_binary();
    let mut children = WitnessProcesses(Vec::new());
    let failed = |w: &DevWitness, reason: String| DevError::Witness { name: w.name.clone(), reason };
    for w in &info.witnesses {
        if let Err(e) = std::net::TcpListener::bind(w.listen) {
            return Err(failed(w, format!("cannot listen on {}: {e}", w.listen)));
        }
    }
    for w in &info.witnesses {
        let child = std::process::Command::new(&bin)
            .arg("--listen")
            .arg(w.listen.to_string())
            .arg("--data")
            .arg(&w.data_dir)
            .arg("--key")
            .arg(&w.key_file)
            .arg("--log")
            .arg(format!("{}={}", info.origin, info.log_vkey))
            .stdin(std::process::Stdio::null())
            .spawn()
            .map_err(|source| DevError::Write { path: bin.clone(), source })?;
        children.0.push(child);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for (w, child) in info.witnesses.iter().zip(&mut children.0) {
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(failed(w, format!("exited ({status}) at start; its messages are above")));
            }
            if std::net::TcpStream::connect(w.listen).is_ok() {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(failed(w, format!("not listening on {} after 30 s", w.listen)));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    Ok(children)
}
