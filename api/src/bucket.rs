//! An S3-compatible bucket holding a log's C2SP tlog-tiles objects: the
//! configuration shared by the publisher (`[publish]` of `provlog-server`)
//! and the mirror (`provlog-mirror`), and the object operations both use.
//!
//! Spec: `spec/mirror.md` ("Bucket layout").
//!
//! Objects are named exactly as the read API's paths (`checkpoint`,
//! `tile/0/x001/067`, `tile/entries/000.p/12`), under an optional key
//! prefix, so a bucket served over HTTP (a website endpoint, a CDN) is a
//! tlog-tiles log that any client reads without the server.
//!
//! Credentials are never part of the configuration's `Debug` output nor of
//! any log line: the secret key is read from a file or from the
//! environment when the bucket is opened.

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, PutOptions, PutPayload};
use provlog_ledger::tile::Tile;
use serde::Deserialize;
use std::path::PathBuf;
use thiserror::Error;

/// `Content-Type` of the checkpoint object.
pub const CHECKPOINT_TYPE: &str = "text/plain; charset=utf-8";
/// `Content-Type` of tiles and entry bundles.
pub const TILE_TYPE: &str = "application/octet-stream";
/// `Cache-Control` of full tiles and bundles: they never change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of partial tiles: replaced by wider ones as the log grows.
pub const SHORT: &str = "public, max-age=1";
/// `Cache-Control` of the checkpoint: always revalidated.
pub const NO_CACHE: &str = "no-cache";

/// `e` and its causes, `: `-separated, for a log line (the store's
/// errors carry the HTTP status and the service's message in their sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        // object_store repeats its causes in its messages.
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

/// Where a bucket is and how to sign requests to it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// The S3 endpoint, e.g. `http://127.0.0.1:3900`. Required. Requests use
    /// path-style URLs (`<endpoint>/<bucket>/<key>`).
    pub endpoint: String,
    /// The bucket's name. Required.
    pub bucket: String,
    /// The region the endpoint signs for. Default `us-east-1` (Garage's
    /// default region is `garage`).
    #[serde(default = "default_region")]
    pub region: String,
    /// A prefix for every object key, e.g. `logs/2026/`. Default none.
    #[serde(default)]
    pub prefix: String,
    /// The access key ID. Default: the `AWS_ACCESS_KEY_ID` environment
    /// variable.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// A file holding the secret access key (one line). Default: the
    /// `AWS_SECRET_ACCESS_KEY` environment variable.
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// Most uploads in flight at once. Default 16.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_concurrency() -> usize {
    16
}

/// Why a bucket could not be opened or an object not read or written.
#[derive(Debug, Error)]
pub enum BucketError {
    #[error("bucket configuration: {field}: {reason}")]
    Config { field: &'static str, reason: String },
    /// The secret access key file (held to the rules of key files: a
    /// regular file, mode 0600).
    #[error("secret access key: {0}")]
    SecretFile(#[source] provlog_ledger::keyfile::KeyFileError),
    /// Transport or service failure: worth retrying.
    #[error("bucket {op} {key}")]
    Store {
        op: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
    /// An object larger than anything the log writes under its name.
    #[error("bucket object {key} is over {max} bytes")]
    TooLarge { key: String, max: usize },
}

impl BucketConfig {
    /// A bucket at `endpoint` with every other field at its default.
    pub fn new(endpoint: String, bucket: String) -> BucketConfig {
        BucketConfig {
            endpoint,
            bucket,
            region: default_region(),
            prefix: String::new(),
            access_key_id: None,
            secret_access_key_file: None,
            concurrency: default_concurrency(),
        }
    }

    /// Checks the fields that can be checked without the network.
    ///
    /// # Errors
    /// [`BucketError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), BucketError> {
        let bad = |field, reason: &str| BucketError::Config { field, reason: reason.into() };
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(bad("endpoint", "want http://… or https://…"));
        }
        if self.bucket.is_empty() || self.bucket.contains('/') {
            return Err(bad("bucket", "want a bucket name"));
        }
        if !self.prefix.is_empty() && (!self.prefix.ends_with('/') || self.prefix.starts_with('/')) {
            return Err(bad("prefix", "want a relative path ending in '/'"));
        }
        if self.concurrency == 0 || self.concurrency > 1024 {
            return Err(bad("concurrency", "must be 1 to 1024"));
        }
        Ok(())
    }

    /// Opens the bucket: resolves the credentials and builds the client.
    /// Nothing is sent yet.
    ///
    /// # Errors
    /// [`BucketError::Config`] for missing credentials or a bad field,
    /// [`BucketError::SecretFile`].
    pub fn open(&self) -> Result<Bucket, BucketError> {
        self.validate()?;
        let missing = |field, reason: &str| BucketError::Config { field, reason: reason.into() };
        let key_id = match &self.access_key_id {
            Some(k) => k.clone(),
            None => std::env::var("AWS_ACCESS_KEY_ID")
                .map_err(|_| missing("access_key_id", "not configured and AWS_ACCESS_KEY_ID is not set"))?,
        };
        let secret = match &self.secret_access_key_file {
            Some(path) => {
                let text = provlog_ledger::keyfile::read_secret(path).map_err(BucketError::SecretFile)?;
                zeroize::Zeroizing::new(text.trim().to_owned())
            }
            None => zeroize::Zeroizing::new(std::env::var("AWS_SECRET_ACCESS_KEY").map_err(|_| {
                missing("secret_access_key_file", "not configured and AWS_SECRET_ACCESS_KEY is not set")
            })?),
        };
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret.as_str())
            .with_virtual_hosted_style_request(false)
            .with_allow_http(self.endpoint.starts_with("http://"))
            .build()
            .map_err(|e| BucketError::Config { field: "endpoint", reason: e.to_string() })?;
        Ok(Bucket { store, prefix: self.prefix.clone(), concurrency: self.concurrency })
    }
}

/// An opened bucket. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bucket {
    store: AmazonS3,
    prefix: String,
    pub concurrency: usize,
}

impl Bucket {
    fn key(&self, name: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{name}", self.prefix))
    }

    async fn put(
        &self,
        name: &str,
        bytes: Vec<u8>,
        content_type: &'static str,
        cache: &'static str,
    ) -> Result<(), BucketError> {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type.into());
        attributes.insert(Attribute::CacheControl, cache.into());
        let options = PutOptions { attributes, ..PutOptions::default() };
        self.store
            .put_opts(&self.key(name), PutPayload::from(bytes), options)
            .await
            .map(|_| ())
            .map_err(|source| BucketError::Store { op: "put", key: name.into(), source })
    }

    /// Uploads a tile or entry bundle under its tlog-tiles path, immutable
    /// if full.
    ///
    /// # Errors
    /// [`BucketError::Store`].
    pub async fn put_tile(&self, tile: Tile, bytes: Vec<u8>) -> Result<(), BucketError> {
        let cache = if tile.is_full() { IMMUTABLE } else { SHORT };
        self.put(&tile.path(), bytes, TILE_TYPE, cache).await
    }

    /// Uploads the signed checkpoint note as `checkpoint`.
    ///
    /// # Errors
    /// [`BucketError::Store`].
    pub async fn put_checkpoint(&self, note: &str) -> Result<(), BucketError> {
        self.put("checkpoint", note.as_bytes().to_vec(), CHECKPOINT_TYPE, NO_CACHE).await
    }

    /// Reads an object of at most `max` bytes; `None` if it does not exist.
    /// The bucket is not trusted: a larger object is refused before it is
    /// read, and a stream that runs past `max` is cut off.
    ///
    /// # Errors
    /// [`BucketError::TooLarge`], or [`BucketError::Store`] for any other
    /// failure.
    pub async fn get(&self, name: &str, max: usize) -> Result<Option<Vec<u8>>, BucketError> {
        let err = |source| BucketError::Store { op: "get", key: name.into(), source };
        let r = match self.store.get(&self.key(name)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        match crate::capped::collect(Some(r.meta.size), max, r.into_stream()).await {
            Ok(body) => Ok(Some(body)),
            Err(crate::capped::Capped::TooLarge) => Err(BucketError::TooLarge { key: name.into(), max }),
            Err(crate::capped::Capped::Failed(e)) => Err(err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BucketConfig {
        let c = BucketConfig::new("http://127.0.0.1:3900".into(), "provlog".into());
        assert_eq!(
            toml::from_str::<BucketConfig>("endpoint = \"http://127.0.0.1:3900\"\nbucket = \"provlog\"")
                .unwrap(),
            c
        );
        c
    }

    #[test]
    fn defaults_and_validation() {
        let c = config();
        assert_eq!((c.region.as_str(), c.concurrency, c.prefix.as_str()), ("us-east-1", 16, ""));
        c.validate().unwrap();
        for (field, bad) in [
            ("endpoint", BucketConfig { endpoint: "s3://x".into(), ..config() }),
            ("bucket", BucketConfig { bucket: "a/b".into(), ..config() }),
            ("prefix", BucketConfig { prefix: "logs".into(), ..config() }),
            ("concurrency", BucketConfig { concurrency: 0, ..config() }),
        ] {
            assert!(
                matches!(bad.validate(), Err(BucketError::Config { field: f, .. }) if f == field),
                "{field}"
            );
        }
        assert!(toml::from_str::<BucketConfig>("endpoint = \"x\"\nbucket = \"b\"\nsecret = \"s\"").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("s3.secret");
        std::fs::write(&path, "  s3cr3t\n").unwrap();
        let c = BucketConfig {
            access_key_id: Some("GK1".into()),
            secret_access_key_file: Some(path.clone()),
            ..config()
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let Err(e) = c.open() else { panic!("a world-readable secret was accepted") };
        assert!(e.to_string().contains("secret access key"), "{e}");
        let chain = format!("{:?}", e);
        assert!(chain.contains("Permissions") && !chain.contains("s3cr3t"), "{chain}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        c.open().expect("mode 0600");
    }

    #[test]
    fn keys_are_the_read_api_paths_under_the_prefix() {
        let b = BucketConfig {
            access_key_id: Some("GK1".into()),
            secret_access_key_file: None,
            prefix: "logs/2026/".into(),
            ..config()
        };
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "not-a-real-secret");
        let b = b.open().unwrap();
        let t = Tile::parse_path("tile/0/x001/067.p/5").unwrap();
        assert_eq!(b.key(&t.path()).as_ref(), "logs/2026/tile/0/x001/067.p/5");
        assert_eq!(b.key("checkpoint").as_ref(), "logs/2026/checkpoint");
        assert!(!format!("{b:?}").contains("not-a-real-secret"));
    }
}
