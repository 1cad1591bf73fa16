//! The witness's configuration: from command-line flags or a TOML file,
//! validated completely before anything starts.
//!
//! Spec: `spec/witness.md` ("Configuration"). A file looks like:
//!
//! ```toml
//! listen = "127.0.0.1:7380"        # optional; this is the default
//! data = "/var/lib/provlog-witness" # required; relative paths are relative to this file
//! key = "witness.key"               # required; mode 0600
//! header_read_timeout_ms = 10000    # optional
//! body_read_timeout_ms = 10000      # optional
//! max_connections = 1024            # optional
//! max_concurrent_requests = 64      # optional
//! sled_cache_bytes = 16777216       # optional
//!
//! [[log]]
//! origin = "provlog.example/log"
//! vkeys = ["provlog.example/log+1a2b3c4d+AR..."]
//! ```

use crate::http::HttpConfig;
use provlog_ledger::note::{Ed25519Verifier, NoteError};
use provlog_ledger::witness_protocol::{TrustedLogs, TrustedLogsError};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The default listening address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7380";
/// Default time a client has to send a request's headers.
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default time a client has to send a request's body.
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 10_000;
/// Default cap on open connections; further clients wait to be accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default cap on `add-checkpoint` requests being decided at once; beyond
/// it the witness answers 503 with `Retry-After`.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;
/// Default sled page cache. The state is small: one record per log and
/// cosignature.
pub const DEFAULT_SLED_CACHE_BYTES: u64 = 16 << 20;

/// A configuration the witness cannot start with.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration file {path} is not valid")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("listen address {value:?} is not IP:PORT")]
    BadListen { value: String },
    #[error("missing {what}")]
    Missing { what: &'static str },
    #[error("no log configured: give --log ORIGIN=VKEY or [[log]] entries")]
    NoLogs,
    #[error("--log {value:?} is not ORIGIN=VKEY")]
    BadLogFlag { value: String },
    #[error("log {origin:?} has no vkeys")]
    NoKeys { origin: String },
    #[error("bad vkey {vkey:?} for log {origin:?}: it must be an Ed25519 (type 0x01) note key")]
    BadVkey {
        origin: String,
        vkey: String,
        #[source]
        source: NoteError,
    },
    #[error(transparent)]
    Log(#[from] TrustedLogsError),
    #[error("{field} must be 1 to {max}")]
    Range { field: &'static str, max: u64 },
}

/// The configuration file, as written (see the module documentation).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Address to listen on, `IP:PORT`. Default [`DEFAULT_LISTEN`].
    pub listen: Option<String>,
    /// sled data directory, created if missing. Required.
    pub data: Option<PathBuf>,
    /// Key file (see [`crate::keyfile`]). Required.
    pub key: Option<PathBuf>,
    /// Default [`DEFAULT_HEADER_READ_TIMEOUT_MS`].
    pub header_read_timeout_ms: Option<u64>,
    /// Default [`DEFAULT_BODY_READ_TIMEOUT_MS`].
    pub body_read_timeout_ms: Option<u64>,
    /// Default [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: Option<usize>,
    /// Default [`DEFAULT_MAX_CONCURRENT_REQUESTS`].
    pub max_concurrent_requests: Option<usize>,
    /// Default [`DEFAULT_SLED_CACHE_BYTES`].
    pub sled_cache_bytes: Option<u64>,
    /// The logs witnessed. At least one.
    #[serde(default)]
    pub log: Vec<LogConfig>,
}

/// One witnessed log.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The checkpoint origin line.
    pub origin: String,
    /// Its Ed25519 note vkeys; a checkpoint needs a valid signature by one.
    pub vkeys: Vec<String>,
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    pub logs: TrustedLogs,
    pub http: HttpConfig,
    pub sled_cache_bytes: u64,
}

/// Splits a `--log ORIGIN=VKEY` flag at its first `=` (origins hold no `=`;
/// base64 vkeys may end in `=`).
///
/// # Errors
/// [`ConfigError::BadLogFlag`] without a `=` or with an empty side.
pub fn parse_log_flag(value: &str) -> Result<LogConfig, ConfigError> {
    match value.split_once('=') {
        Some((origin, vkey)) if !origin.is_empty() && !vkey.is_empty() => {
            Ok(LogConfig { origin: origin.to_owned(), vkeys: vec![vkey.to_owned()] })
        }
        _ => Err(ConfigError::BadLogFlag { value: value.to_owned() }),
    }
}

impl ConfigFile {
    /// Reads a TOML configuration file; relative paths in it are taken
    /// relative to its directory.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Toml`].
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut file: ConfigFile =
            toml::from_str(&text).map_err(|source| ConfigError::Toml { path: path.to_owned(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [&mut file.data, &mut file.key].into_iter().flatten() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(file)
    }

    /// Checks every field and applies defaults. Does not touch the disk: the
    /// key file and data directory are checked when the witness opens them.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let listen_s = self.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_s.parse().map_err(|_| ConfigError::BadListen { value: listen_s.clone() })?;
        let data_dir = self.data.ok_or(ConfigError::Missing { what: "data directory (--data DIR)" })?;
        let key_file = self.key.ok_or(ConfigError::Missing { what: "key file (--key FILE)" })?;
        if self.log.is_empty() {
            return Err(ConfigError::NoLogs);
        }
        let mut logs = TrustedLogs::new();
        for l in self.log {
            if l.vkeys.is_empty() {
                return Err(ConfigError::NoKeys { origin: l.origin });
            }
            for vkey in l.vkeys {
                let v = Ed25519Verifier::from_vkey(&vkey).map_err(|source| ConfigError::BadVkey {
                    origin: l.origin.clone(),
                    vkey: vkey.clone(),
                    source,
                })?;
                logs.add(&l.origin, v)?;
            }
        }
        // The bounds are the log server's: a timeout of days would be no
        // protection from slow clients at all.
        let within = |v: Option<u64>, default: u64, field, max| match v.unwrap_or(default) {
            v if v == 0 || v > max => Err(ConfigError::Range { field, max }),
            v => Ok(v),
        };
        let http = HttpConfig {
            header_read_timeout: Duration::from_millis(within(
                self.header_read_timeout_ms,
                DEFAULT_HEADER_READ_TIMEOUT_MS,
                "header_read_timeout_ms",
                600_000,
            )?),
            body_read_timeout: Duration::from_millis(within(
                self.body_read_timeout_ms,
                DEFAULT_BODY_READ_TIMEOUT_MS,
                "body_read_timeout_ms",
                600_000,
            )?),
            max_connections: within(
                self.max_connections.map(|v| v as u64),
                DEFAULT_MAX_CONNECTIONS as u64,
                "max_connections",
                1_000_000,
            )? as usize,
            max_concurrent_requests: within(
                self.max_concurrent_requests.map(|v| v as u64),
                DEFAULT_MAX_CONCURRENT_REQUESTS as u64,
                "max_concurrent_requests",
                100_000,
            )? as usize,
        };
        let sled_cache_bytes =
            within(self.sled_cache_bytes, DEFAULT_SLED_CACHE_BYTES, "sled_cache_bytes", 1 << 40)?;
        Ok(Config { listen, data_dir, key_file, logs, http, sled_cache_bytes })
    }
}

/// The fields a derived `Deserialize` of `T` asks for, sorted: the keys
/// its TOML table may hold, since every config struct here and in
/// `provlog-server` refuses unknown ones. The tests of the example
/// configs (`examples/*.toml` of both packages) compare them with the
/// keys the examples set.
/// The keys a TOML table sets, sorted, to compare with [`field_names`].
#[doc(hidden)]
pub fn table_keys(table: &toml::Table) -> Vec<&str> {
    let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[doc(hidden)]
pub fn field_names<T: serde::de::DeserializeOwned>() -> Vec<&'static str> {
    use serde::de::{value::Error, Error as _, Visitor};
    struct Fields(std::cell::Cell<&'static [&'static str]>);
    impl<'de> serde::Deserializer<'de> for &Fields {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            self.0.set(fields);
            Err(Error::custom("fields recorded"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let fields = Fields(std::cell::Cell::new(&[]));
    let _ = T::deserialize(&fields);
    let mut names = fields.0.get().to_vec();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use provlog_ledger::note::Ed25519Signer;

    fn vkey() -> String {
        Ed25519Signer::generate("example.com/log").unwrap().verifier().vkey()
    }

    #[test]
    fn a_documented_file_validates_with_defaults() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("w.toml");
        let text = format!(
            "data = \"data\"\nkey = \"/k/w.key\"\n[[log]]\norigin = \"example.com/log\"\nvkeys = [\"{}\"]\n",
            vkey()
        );
        std::fs::write(&p, text).unwrap();
        let c = ConfigFile::read(&p).unwrap().validate().unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, d.path().join("data"));
        assert_eq!(c.key_file, PathBuf::from("/k/w.key"));
        assert_eq!(c.logs.origins().collect::<Vec<_>>(), vec!["example.com/log"]);
        assert_eq!(c.http.max_concurrent_requests, DEFAULT_MAX_CONCURRENT_REQUESTS);
    }

    #[test]
    fn invalid_configurations_are_refused_at_start() {
        let base = || ConfigFile {
            data: Some("d".into()),
            key: Some("k".into()),
            log: vec![LogConfig { origin: "o".into(), vkeys: vec![vkey()] }],
            ..ConfigFile::default()
        };
        assert!(base().validate().is_ok());
        let e = |f: ConfigFile| f.validate().unwrap_err();
        assert!(matches!(
            e(ConfigFile { listen: Some("localhost".into()), ..base() }),
            ConfigError::BadListen { .. }
        ));
        assert!(matches!(e(ConfigFile { data: None, ..base() }), ConfigError::Missing { .. }));
        assert!(matches!(e(ConfigFile { key: None, ..base() }), ConfigError::Missing { .. }));
        assert!(matches!(e(ConfigFile { log: vec![], ..base() }), ConfigError::NoLogs));
        let log = |origin: &str, vkeys: Vec<String>| vec![LogConfig { origin: origin.into(), vkeys }];
        assert!(matches!(e(ConfigFile { log: log("o", vec![]), ..base() }), ConfigError::NoKeys { .. }));
        assert!(matches!(
            e(ConfigFile { log: log("o", vec!["x+1+AA".into()]), ..base() }),
            ConfigError::BadVkey { .. }
        ));
        let k = vkey();
        assert!(matches!(e(ConfigFile { log: log("o", vec![k.clone(), k]), ..base() }), ConfigError::Log(_)));
        assert!(matches!(e(ConfigFile { log: log("", vec![vkey()]), ..base() }), ConfigError::Log(_)));
        for bad in [
            ConfigFile { body_read_timeout_ms: Some(0), ..base() },
            ConfigFile { header_read_timeout_ms: Some(600_001), ..base() },
            ConfigFile { max_connections: Some(0), ..base() },
            ConfigFile { max_concurrent_requests: Some(100_001), ..base() },
        ] {
            assert!(matches!(e(bad), ConfigError::Range { .. }));
        }
        assert!(e(ConfigFile { header_read_timeout_ms: Some(99_999_999_999), ..base() })
            .to_string()
            .contains("header_read_timeout_ms must be 1 to 600000"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("w.toml");
        std::fs::write(&p, "data = \"d\"\nunknown_field = 1\n").unwrap();
        assert!(matches!(ConfigFile::read(&p), Err(ConfigError::Toml { .. })));
    }

    /// `witness/examples/witness.toml` is what operators copy: it must
    /// parse, set every key the parser knows (the parser refuses keys it
    /// does not know), and show the defaults its comments claim.
    #[test]
    fn the_example_witness_toml_parses_and_validates() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/witness.toml"));
        let c = ConfigFile::read(path).unwrap().validate().unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/provlog-witness"));
        assert_eq!(c.key_file, path.parent().unwrap().join("witness.key"));
        assert_eq!(c.logs.origins().collect::<Vec<_>>(), vec!["provlog.example.com/log"]);
        assert_eq!(c.logs.verifiers("provlog.example.com/log").unwrap().len(), 1);
        assert_eq!(c.http.header_read_timeout, Duration::from_millis(DEFAULT_HEADER_READ_TIMEOUT_MS));
        assert_eq!(c.http.body_read_timeout, Duration::from_millis(DEFAULT_BODY_READ_TIMEOUT_MS));
        assert_eq!(c.http.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(c.http.max_concurrent_requests, DEFAULT_MAX_CONCURRENT_REQUESTS);
        assert_eq!(c.sled_cache_bytes, DEFAULT_SLED_CACHE_BYTES);

        let table: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(table_keys(&table), field_names::<ConfigFile>(), "top level");
        let log = table["log"].as_array().unwrap()[0].as_table().unwrap();
        assert_eq!(table_keys(log), field_names::<LogConfig>(), "[[log]]");
    }

    #[test]
    fn log_flags_split_at_the_first_equals_sign() {
        let k = vkey();
        let l = parse_log_flag(&format!("example.com/log={k}")).unwrap();
        assert_eq!((l.origin.as_str(), l.vkeys[0].as_str()), ("example.com/log", k.as_str()));
        for bad in ["noequals", "=k", "o="] {
            assert!(parse_log_flag(bad).is_err(), "{bad}");
        }
    }
}
