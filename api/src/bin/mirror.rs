//! `provlog-mirror`: serves a log's read API from its S3-compatible bucket,
//! verifying everything against the log's key and witness policy first
//! (`spec/mirror.md`). Exit status 0 after a clean shutdown, 1 on any
//! error, 2 for bad usage.

use anyhow::Context as _;
use clap::Parser;
use provlog_api::bucket::BucketConfig;
use provlog_api::mirror::{Mirror, MirrorConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// provlog-mirror: a read-only, verifying server of a log published to a bucket.
///
/// Credentials: --access-key-id or AWS_ACCESS_KEY_ID; --secret-access-key-file
/// or AWS_SECRET_ACCESS_KEY.
#[derive(Parser, Debug)]
#[command(name = "provlog-mirror", version)]
struct Cli {
    /// The S3 endpoint, e.g. http://127.0.0.1:3900 (path-style requests).
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// The bucket the log publishes to.
    #[arg(long, value_name = "NAME")]
    bucket: String,
    /// The region the endpoint signs for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// A key prefix the log publishes under (ending in '/').
    #[arg(long, default_value = "")]
    prefix: String,
    /// The S3 access key ID (default: $AWS_ACCESS_KEY_ID).
    #[arg(long, value_name = "ID")]
    access_key_id: Option<String>,
    /// A file holding the S3 secret access key, mode 0600 (default:
    /// $AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "FILE")]
    secret_access_key_file: Option<PathBuf>,
    /// C2SP tlog-policy file: the log's vkey, the witnesses and the quorum
    /// every served checkpoint must meet.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The local store, rebuilt from the bucket (kept across restarts).
    #[arg(long = "data", value_name = "DIR")]
    data_dir: PathBuf,
    /// The address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:7360", value_name = "IP:PORT")]
    listen: SocketAddr,
    /// How often the bucket's checkpoint is read, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    poll_ms: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    provlog_api::main_with("provlog-mirror", || run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let policy = std::fs::read_to_string(&cli.policy)
        .with_context(|| format!("reading the policy {}", cli.policy.display()))?;
    let bucket = BucketConfig {
        region: cli.region,
        prefix: cli.prefix,
        access_key_id: cli.access_key_id,
        secret_access_key_file: cli.secret_access_key_file,
        ..BucketConfig::new(cli.endpoint, cli.bucket)
    };
    if cli.poll_ms == 0 {
        anyhow::bail!("--poll-ms must be positive");
    }
    let config = MirrorConfig {
        bucket,
        policy,
        data_dir: cli.data_dir,
        poll_interval: Duration::from_millis(cli.poll_ms),
    };
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let rt = provlog_api::runtime()?;
    rt.block_on(async move {
        let mirror = Mirror::start(config)?;
        let listener = provlog_witness::http::listen(cli.listen)
            .with_context(|| format!("cannot listen on {}", cli.listen))?;
        tracing::info!("mirror listening on {}", listener.local_addr()?);
        let http = provlog_witness::http::HttpConfig {
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_concurrent_requests: 4096,
        };
        provlog_witness::http::serve(listener, mirror.router(), http, provlog_api::shutdown_signal()).await?;
        Ok(())
    })
}
