//! Configuration of `provlog-server`: a TOML file whose every field is
//! documented here with its default, overridable by command-line flags, and
//! validated at start-up.
//!
//! Spec: `spec/http-api.md` ("Configuration").
//!
//! ```toml
//! origin = "localhost/provlog"        # the log's identity and key name
//! listen = "127.0.0.1:7350"
//! data_dir = "/var/lib/provlog"       # required; relative paths are relative to this file
//! log_key = "/var/lib/provlog/log.key"  # default: <data_dir>/log.key
//! genesis = "genesis.cose"            # only read when the log is empty
//!
//! [sequencer]
//! max_batch_size = 4096
//! max_batch_age_ms = 5
//! queue_capacity = 65536
//!
//! [http]
//! max_statement_bytes = 65536
//! max_batch_bytes = 16777216
//! max_batch_statements = 10000       # at most queue_capacity and per_address_burst
//! header_read_timeout_ms = 5000
//! body_read_timeout_ms = 10000
//! sync_wait_ms = 5000
//! max_connections = 4096            # 1 to 1000000
//! max_body_memory_bytes = 268435456   # submission bodies held at once
//! worker_nice = 15
//!
//! [limits]
//! per_partner_per_s = 50000
//! per_partner_burst = 100000
//! per_address_per_s = 100000
//! per_address_burst = 200000
//! trusted_proxies = []                # proxies whose X-Forwarded-For names the client
//!
//! [storage]
//! engine = "sled"                     # or "fjall"
//! cache_capacity_mb = 64
//!
//! [witnesses]
//! policy = "witnesses.policy"         # C2SP tlog-policy; no file: no witnesses
//! timeout_ms = 5000
//!
//! [publish]                           # optional: copy the log to an S3 bucket (spec/mirror.md)
//! endpoint = "http://127.0.0.1:3900"
//! bucket = "provlog"
//! region = "garage"                   # default "us-east-1"
//! access_key_id = "GK…"               # default: $AWS_ACCESS_KEY_ID
//! secret_access_key_file = "s3.secret"  # default: $AWS_SECRET_ACCESS_KEY
//! prefix = "logs/"                    # default none; a relative path ending in '/'
//! concurrency = 16                    # uploads in flight, 1 to 1024
//! ```
//!
//! `api/examples/server.toml` is the same with a line or two on each key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Why the configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration file {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("invalid configuration: {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { field, reason: reason.into() }
}

/// The sequencer: how statements are grouped into one atomic append.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequencerConfig {
    /// Most statements in one append batch. Default 4096.
    pub max_batch_size: usize,
    /// How long the sequencer waits for more statements once one is queued,
    /// in milliseconds. Default 5. Under load batches fill without waiting.
    pub max_batch_age_ms: u64,
    /// Most statements waiting for the sequencer; beyond it submissions get
    /// 503 with Retry-After instead of queuing without bound. Default 65536.
    pub queue_capacity: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self { max_batch_size: 4096, max_batch_age_ms: 5, queue_capacity: 65536 }
    }
}

/// Limits of the HTTP interface.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest `POST /entries` body. Default 65536 (a statement is at most
    /// 60,000 bytes, `spec/statement.md`).
    pub max_statement_bytes: usize,
    /// Largest `POST /entries/batch` body. Default 16 MiB.
    pub max_batch_bytes: usize,
    /// Most statements in one batch request. Default 10000.
    pub max_batch_statements: usize,
    /// A client must send its request headers within this. Default 5000 ms.
    pub header_read_timeout_ms: u64,
    /// A client must send its whole body within this. Default 10000 ms.
    pub body_read_timeout_ms: u64,
    /// How long `POST /entries` holds the request for a receipt before
    /// answering 303 with `Location` and `Retry-After`. Default 5000 ms.
    pub sync_wait_ms: u64,
    /// Most open connections. Default 4096.
    pub max_connections: usize,
    /// Most bytes of submission bodies held at once, over all requests: a
    /// body holds what it has sent so far, until its statements are handed
    /// to the sequencer; reading beyond it waits, up to the body timeout,
    /// then gets 503. Default 256 MiB.
    pub max_body_memory_bytes: usize,
    /// Added to the nice value of the blocking threads that check the
    /// signatures of batches (0 to 19; 0 keeps them at the process's
    /// priority), so that the sequencer, the log's one serial stage, does
    /// not wait for a core behind them. Default 15.
    pub worker_nice: i32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_statement_bytes: 65536,
            max_batch_bytes: 16 << 20,
            max_batch_statements: 10_000,
            header_read_timeout_ms: 5000,
            body_read_timeout_ms: 10_000,
            sync_wait_ms: 5000,
            max_connections: 4096,
            max_body_memory_bytes: 256 << 20,
            worker_nice: 15,
        }
    }
}

/// Token-bucket rate limits, in statements per second.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Per partner (`iss`). Default 50000/s with a burst of 100000.
    pub per_partner_per_s: u64,
    pub per_partner_burst: u64,
    /// Per client IP address. Default 100000/s with a burst of 200000.
    pub per_address_per_s: u64,
    pub per_address_burst: u64,
    /// Proxies whose `X-Forwarded-For` is believed: addresses or networks
    /// (`10.0.0.5`, `10.0.0.0/8`, `::1`). A request from one of them is
    /// charged to the nearest address in that header that is not one of
    /// them (`http::client_address`). Default none: every request is
    /// charged to its TCP peer.
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Most entries of `limits.trusted_proxies`.
pub const MAX_TRUSTED_PROXIES: usize = 1024;

/// Reads `limits.trusted_proxies`: each an IP address (one host) or a
/// network in CIDR notation.
fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    use serde::de::Error as _;
    let items = Vec::<String>::deserialize(d)?;
    if items.len() > MAX_TRUSTED_PROXIES {
        return Err(D::Error::custom(format!("more than {MAX_TRUSTED_PROXIES} trusted proxies")));
    }
    items
        .iter()
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| D::Error::custom(format!("{item:?} is neither an IP address nor a network")))
        })
        .collect()
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_partner_per_s: 50_000,
            per_partner_burst: 100_000,
            per_address_per_s: 100_000,
            per_address_burst: 200_000,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Which embedded storage engine holds the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// sled 0.34 (the default).
    #[default]
    Sled,
    /// fjall 3, an LSM tree: about ten times less CPU per index record,
    /// for high ingest rates (BENCHMARKS.md).
    Fjall,
}

impl Engine {
    /// Its name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sled => "sled",
            Engine::Fjall => "fjall",
        }
    }

    /// The other engine.
    pub fn other(self) -> Engine {
        match self {
            Engine::Sled => Engine::Fjall,
            Engine::Fjall => Engine::Sled,
        }
    }

    /// Its store's directory under the data directory (spec/http-api.md,
    /// "Configuration").
    pub fn store_dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(match self {
            Engine::Sled => "db",
            Engine::Fjall => "fjall",
        })
    }
}

/// The embedded store.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sled` (default) or `fjall`. A data directory keeps the engine it was
    /// created with (`db/` for sled, `fjall/` for fjall).
    pub engine: Engine,
    /// The engine's cache, in MiB. Default 64.
    pub cache_capacity_mb: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self { engine: Engine::Sled, cache_capacity_mb: 64 }
    }
}

/// Witnesses and the quorum the log needs before it publishes a checkpoint.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessesConfig {
    /// A C2SP tlog-policy file naming the witnesses (with their URLs) and the
    /// quorum. No file: checkpoints are published without cosignatures.
    pub policy: Option<PathBuf>,
    /// How long one witness request may take. Default 5000 ms.
    pub timeout_ms: Option<u64>,
}

/// The configuration file, as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The log's origin (checkpoint first line, key name). Default
    /// `localhost/provlog`.
    pub origin: Option<String>,
    /// Listen address. Default `127.0.0.1:7350` (loopback).
    pub listen: Option<SocketAddr>,
    /// Data directory: the store (`db/`) and, by default, the key. Required.
    pub data_dir: Option<PathBuf>,
    /// The log's signing key file (mode 0600). Default `<data_dir>/log.key`.
    pub log_key: Option<PathBuf>,
    /// A genesis statement (COSE bytes), registered as entry 0 when the log
    /// is empty. Ignored otherwise.
    pub genesis: Option<PathBuf>,
    #[serde(default)]
    pub sequencer: SequencerConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub witnesses: WitnessesConfig,
    /// An S3-compatible bucket to publish the log to. Default none.
    #[serde(default)]
    pub publish: Option<crate::bucket::BucketConfig>,
}

impl ConfigFile {
    /// Reads a TOML configuration file; unknown fields are refused.
    /// Relative paths in it are taken relative to its directory, as the
    /// witness does (paths given as flags stay relative to the working
    /// directory).
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut file: ConfigFile =
            toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let publish_secret = file.publish.as_mut().and_then(|b| b.secret_access_key_file.as_mut());
        for p in [
            file.data_dir.as_mut(),
            file.log_key.as_mut(),
            file.genesis.as_mut(),
            file.witnesses.policy.as_mut(),
            publish_secret,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(file)
    }
}

/// The validated configuration the server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub origin: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log_key: PathBuf,
    pub genesis: Option<PathBuf>,
    pub sequencer: SequencerConfig,
    pub http: HttpConfig,
    pub limits: LimitsConfig,
    pub storage: StorageConfig,
    pub witness_policy: Option<PathBuf>,
    pub witness_timeout: Duration,
    pub publish: Option<crate::bucket::BucketConfig>,
}

pub const DEFAULT_ORIGIN: &str = "localhost/provlog";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7350";

impl ConfigFile {
    /// Checks every field and fills in defaults.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the field.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let origin = self.origin.unwrap_or_else(|| DEFAULT_ORIGIN.into());
        if !provlog_ledger::note::is_valid_key_name(&origin) || origin.len() > 255 {
            return Err(invalid("origin", "must be 1 to 255 characters without whitespace or '+'"));
        }
        let data_dir = self.data_dir.ok_or_else(|| invalid("data_dir", "is required (--data DIR)"))?;
        let log_key = self.log_key.unwrap_or_else(|| data_dir.join("log.key"));
        let s = &self.sequencer;
        if s.max_batch_size == 0 || s.max_batch_size > 100_000 {
            return Err(invalid("sequencer.max_batch_size", "must be 1 to 100000"));
        }
        if s.max_batch_age_ms > 10_000 {
            return Err(invalid("sequencer.max_batch_age_ms", "must be at most 10000"));
        }
        if s.queue_capacity < s.max_batch_size {
            return Err(invalid("sequencer.queue_capacity", "must be at least max_batch_size"));
        }
        let h = &self.http;
        if !(1024..=1 << 20).contains(&h.max_statement_bytes) {
            return Err(invalid("http.max_statement_bytes", "must be 1024 to 1048576"));
        }
        if h.max_batch_bytes < h.max_statement_bytes || h.max_batch_bytes > 1 << 30 {
            return Err(invalid(
                "http.max_batch_bytes",
                "must be at least max_statement_bytes and at most 1 GiB",
            ));
        }
        if h.max_batch_statements == 0 || h.max_batch_statements > 100_000 {
            return Err(invalid("http.max_batch_statements", "must be 1 to 100000"));
        }
        for (field, v) in [
            ("http.header_read_timeout_ms", h.header_read_timeout_ms),
            ("http.body_read_timeout_ms", h.body_read_timeout_ms),
        ] {
            if v == 0 || v > 600_000 {
                return Err(invalid(field, "must be 1 to 600000"));
            }
        }
        if h.sync_wait_ms > 600_000 {
            return Err(invalid("http.sync_wait_ms", "must be at most 600000"));
        }
        if h.max_connections == 0 || h.max_connections > 1_000_000 {
            return Err(invalid("http.max_connections", "must be 1 to 1000000"));
        }
        if h.max_body_memory_bytes < h.max_batch_bytes || h.max_body_memory_bytes > 1 << 40 {
            return Err(invalid(
                "http.max_body_memory_bytes",
                "must be at least max_batch_bytes and at most 1 TiB",
            ));
        }
        if !(0..=19).contains(&h.worker_nice) {
            return Err(invalid("http.worker_nice", "must be 0 to 19"));
        }
        let l = &self.limits;
        if l.per_partner_per_s == 0
            || l.per_address_per_s == 0
            || l.per_partner_burst == 0
            || l.per_address_burst == 0
        {
            return Err(invalid("limits", "rates and bursts must be positive"));
        }
        // A batch larger than the queue or the address's burst could never
        // be taken: its client would be told to retry, forever. (The
        // partner's burst may be smaller: a batch can carry many partners.)
        for (field, v) in [
            ("sequencer.queue_capacity", s.queue_capacity as u64),
            ("limits.per_address_burst", l.per_address_burst),
        ] {
            if v < h.max_batch_statements as u64 {
                return Err(invalid(field, "must be at least http.max_batch_statements"));
            }
        }
        if self.storage.cache_capacity_mb == 0 || self.storage.cache_capacity_mb > 65536 {
            return Err(invalid("storage.cache_capacity_mb", "must be 1 to 65536"));
        }
        let witness_timeout = Duration::from_millis(self.witnesses.timeout_ms.unwrap_or(5000));
        if witness_timeout.is_zero() || witness_timeout > Duration::from_secs(600) {
            return Err(invalid("witnesses.timeout_ms", "must be 1 to 600000"));
        }
        if let Some(p) = &self.publish {
            p.validate().map_err(|e| invalid("publish", e.to_string()))?;
        }
        Ok(Config {
            origin,
            listen: self.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
            data_dir,
            log_key,
            genesis: self.genesis,
            sequencer: self.sequencer,
            http: self.http,
            limits: self.limits,
            storage: self.storage,
            witness_policy: self.witnesses.policy,
            witness_timeout,
            publish: self.publish,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provlog_witness::config::{field_names, table_keys};

    #[test]
    fn defaults_need_only_a_data_dir() {
        let c = ConfigFile { data_dir: Some("/tmp/x".into()), ..Default::default() }.validate().unwrap();
        assert_eq!(c.origin, DEFAULT_ORIGIN);
        assert_eq!(c.log_key, PathBuf::from("/tmp/x/log.key"));
        assert!(c.listen.ip().is_loopback());
        assert!(ConfigFile::default().validate().is_err());
    }

    #[test]
    fn relative_paths_in_a_file_are_relative_to_its_directory() {
        let d = tempfile::tempdir().unwrap();
        let etc = d.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        let path = etc.join("server.toml");
        std::fs::write(
            &path,
            "data_dir = \"data\"\nlog_key = \"/abs/log.key\"\ngenesis = \"g/genesis.cose\"\n\
             [witnesses]\npolicy = \"w.policy\"\n\
             [publish]\nendpoint = \"http://127.0.0.1:3900\"\nbucket = \"b\"\nsecret_access_key_file = \"s3.secret\"\n",
        )
        .unwrap();
        let f = ConfigFile::read(&path).unwrap();
        assert_eq!(f.data_dir, Some(etc.join("data")));
        assert_eq!(f.log_key, Some(PathBuf::from("/abs/log.key")));
        assert_eq!(f.genesis, Some(etc.join("g/genesis.cose")));
        assert_eq!(f.witnesses.policy, Some(etc.join("w.policy")));
        assert_eq!(f.publish.unwrap().secret_access_key_file, Some(etc.join("s3.secret")));
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        assert!(toml::from_str::<ConfigFile>("bogus = 1").is_err());
        assert!(toml::from_str::<ConfigFile>("[sequencer]\nmax_batch_sise = 1").is_err());
        let f: ConfigFile = toml::from_str("data_dir = \"/d\"\n[sequencer]\nmax_batch_size = 0").unwrap();
        assert!(matches!(f.validate(), Err(ConfigError::Invalid { field: "sequencer.max_batch_size", .. })));
        let f: ConfigFile = toml::from_str("data_dir = \"/d\"\norigin = \"has space\"").unwrap();
        assert!(f.validate().is_err());
        let f: ConfigFile =
            toml::from_str("data_dir = \"/d\"\n[limits]\ntrusted_proxies = [\"10.0.0.5\", \"fd00::/8\"]")
                .unwrap();
        let proxies = f.validate().unwrap().limits.trusted_proxies;
        assert_eq!(proxies, ["10.0.0.5/32".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        let e = toml::from_str::<ConfigFile>("[limits]\ntrusted_proxies = [\"proxy.local\"]").unwrap_err();
        assert!(e.to_string().contains("\"proxy.local\" is neither an IP address nor a network"), "{e}");
        for (connections, ok) in [(0, false), (1, true), (1_000_000, true), (1_000_001, false)] {
            let f: ConfigFile =
                toml::from_str(&format!("data_dir = \"/d\"\n[http]\nmax_connections = {connections}"))
                    .unwrap();
            let refused =
                matches!(f.validate(), Err(ConfigError::Invalid { field: "http.max_connections", .. }));
            assert_eq!(refused, !ok, "{connections}");
        }
        for (nice, ok) in [(-1, false), (0, true), (19, true), (20, false)] {
            let f: ConfigFile =
                toml::from_str(&format!("data_dir = \"/d\"\n[http]\nworker_nice = {nice}")).unwrap();
            match f.validate() {
                Ok(c) => assert!(ok && c.http.worker_nice == nice, "{nice} accepted"),
                Err(e) => assert!(
                    !ok && matches!(e, ConfigError::Invalid { field: "http.worker_nice", .. }),
                    "{nice}: {e}"
                ),
            }
        }
    }

    /// `api/examples/server.toml` is what operators copy: it must parse, set
    /// every key the parser knows (the parser refuses keys it does not
    /// know), and show the defaults its comments claim.
    #[test]
    fn the_example_server_toml_parses_and_validates() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/server.toml"));
        let dir = path.parent().unwrap();
        let c = ConfigFile::read(path).unwrap().validate().unwrap();
        assert_eq!(c.origin, "provlog.example.com/log");
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/provlog"));
        assert_eq!(c.log_key, dir.join("log.key"));
        assert_eq!(c.genesis, Some(dir.join("genesis.cose")));
        assert_eq!(c.storage.engine, Engine::Sled);
        assert_eq!(c.witness_policy, Some(dir.join("witnesses.policy")));
        assert_eq!(c.witness_timeout, Duration::from_millis(5000));
        let publish = c.publish.clone().unwrap();
        assert_eq!((publish.bucket.as_str(), publish.region.as_str()), ("provlog", "garage"));
        assert_eq!(publish.secret_access_key_file, Some(dir.join("s3.secret")));

        let defaults = ConfigFile { data_dir: Some("/d".into()), ..Default::default() }.validate().unwrap();
        for (section, example, default) in [
            ("sequencer", format!("{:?}", c.sequencer), format!("{:?}", defaults.sequencer)),
            ("http", format!("{:?}", c.http), format!("{:?}", defaults.http)),
            ("limits", format!("{:?}", c.limits), format!("{:?}", defaults.limits)),
            ("storage", format!("{:?}", c.storage), format!("{:?}", defaults.storage)),
        ] {
            assert_eq!(example, default, "[{section}] of the example is not the default");
        }
        assert_eq!(
            publish.concurrency,
            crate::bucket::BucketConfig::new(String::new(), String::new()).concurrency
        );

        let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(table_keys(&table), field_names::<ConfigFile>(), "top level");
        for (section, fields) in [
            ("sequencer", field_names::<SequencerConfig>()),
            ("http", field_names::<HttpConfig>()),
            ("limits", field_names::<LimitsConfig>()),
            ("storage", field_names::<StorageConfig>()),
            ("witnesses", field_names::<WitnessesConfig>()),
            ("publish", field_names::<crate::bucket::BucketConfig>()),
        ] {
            assert_eq!(table_keys(table[section].as_table().unwrap()), fields, "[{section}]");
        }
    }

    #[test]
    fn a_batch_limit_beyond_the_queue_or_the_address_burst_is_refused() {
        let with = |extra: &str| {
            toml::from_str::<ConfigFile>(&format!(
                "data_dir = \"/d\"\n[http]\nmax_batch_statements = 5000\n{extra}"
            ))
            .unwrap()
            .validate()
        };
        assert!(with("").is_ok());
        for (section, field) in [
            ("[sequencer]\nmax_batch_size = 100\nqueue_capacity", "sequencer.queue_capacity"),
            ("[limits]\nper_address_burst", "limits.per_address_burst"),
        ] {
            assert!(with(&format!("{section} = 5000")).is_ok(), "{field} = 5000");
            let e = with(&format!("{section} = 4999")).unwrap_err();
            assert!(matches!(e, ConfigError::Invalid { field: f, .. } if f == field), "{field}: {e}");
        }
    }
}
