//! `provlog-server`: parses flags and the configuration file, then runs the
//! log until SIGINT or SIGTERM. Exit status 0 after a clean shutdown, 1 on
//! any error (the message says what is wrong), 2 for bad usage.

use anyhow::Context as _;
use clap::Parser;
use provlog_api::config::{ConfigFile, DEFAULT_LISTEN, DEFAULT_ORIGIN};
use provlog_api::{dev, Server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// provlog-server: a transparency log for supply-chain provenance.
///
/// Partners submit signed GS1 EPCIS events over HTTP; the log checks them
/// against its source-verification rules, appends the accepted ones to a
/// Merkle tree, and publishes witnessed checkpoints. Flags override the
/// configuration file (see spec/http-api.md for every field).
#[derive(Parser, Debug)]
#[command(name = "provlog-server", version)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (the store, and by default the log key).
    #[arg(long = "data", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Listen address [default: 127.0.0.1:7350].
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// The log's origin (checkpoint first line; the log key's name) [default: localhost/provlog].
    #[arg(long)]
    origin: Option<String>,
    /// The log's key file (mode 0600) [default: DIR/log.key].
    #[arg(long, value_name = "FILE")]
    log_key: Option<PathBuf>,
    /// Genesis statement (COSE) to register when the log is empty.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// C2SP tlog-policy file naming the witnesses and the quorum.
    #[arg(long, value_name = "FILE")]
    witness_policy: Option<PathBuf>,
    /// Publish the log to this S3-compatible endpoint (with --publish-bucket;
    /// credentials from the [publish] section or AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "URL", requires = "publish_bucket")]
    publish_endpoint: Option<String>,
    /// The bucket to publish to (see --publish-endpoint).
    #[arg(long, value_name = "NAME", requires = "publish_endpoint")]
    publish_bucket: Option<String>,
    /// Development mode: create DIR on first run with a log key, a governance
    /// key, three demo partner keys, a genesis entry with a permissive demo
    /// rule set and two local witnesses; resume it on later runs.
    #[arg(long)]
    dev: bool,
    /// With --dev: run without the two local witnesses.
    #[arg(long, requires = "dev")]
    no_witnesses: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    provlog_api::main_with("provlog-server", || run(cli))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut file = match &cli.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    file.data_dir = cli.data_dir.or(file.data_dir);
    file.listen = cli.listen.or(file.listen);
    file.origin = cli.origin.or(file.origin);
    file.log_key = cli.log_key.or(file.log_key);
    file.genesis = cli.genesis.or(file.genesis);
    file.witnesses.policy = cli.witness_policy.or(file.witnesses.policy);
    if let (Some(endpoint), Some(bucket)) = (cli.publish_endpoint, cli.publish_bucket) {
        let base = file.publish.take();
        file.publish = Some(match base {
            Some(b) => provlog_api::bucket::BucketConfig { endpoint, bucket, ..b },
            None => provlog_api::bucket::BucketConfig::new(endpoint, bucket),
        });
    }

    let mut witnesses = None;
    let mut banner = None;
    if cli.dev {
        let dir = file.data_dir.clone().unwrap_or_else(|| PathBuf::from("provlog-dev-data"));
        let origin = file.origin.clone().unwrap_or_else(|| DEFAULT_ORIGIN.into());
        let listen = file.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid"));
        let info = dev::prepare(&dir, &origin, listen, !cli.no_witnesses)
            .context("preparing the development log")?;
        file.data_dir = Some(dir);
        file.origin = Some(info.origin.clone());
        file.listen = Some(listen);
        file.genesis = Some(info.genesis_file.clone());
        if !cli.no_witnesses {
            file.witnesses.policy = info.witness_policy.clone();
            witnesses = Some(dev::spawn_witnesses(&info).context("starting the local witnesses")?);
        }
        banner = Some(dev::banner(&info));
    }
    let config = file.validate()?;
    let rt = provlog_api::runtime()?;
    rt.block_on(async move {
        let server = Server::start(config).await?;
        tracing::info!("listening on {}", server.local_addr()?);
        if let Some(b) = banner {
            print!("{b}");
        }
        server.run(provlog_api::shutdown_signal()).await?;
        drop(witnesses);
        Ok(())
    })
}
