//! `provlog-witness`: parse the command line, call the library, map errors
//! to an exit code. Spec: `spec/witness.md`.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use provlog_witness::config::{self, ConfigFile};
use provlog_witness::{keyfile, Server};
use std::path::PathBuf;
use std::process::ExitCode;

/// A C2SP tlog-witness: cosigns checkpoints of the configured logs that are
/// consistent with everything it cosigned before.
///
/// Without a subcommand it serves. Configure it with flags, or with
/// --config FILE.toml (not both); see spec/witness.md.
#[derive(Parser)]
#[command(name = "provlog-witness", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a witness key file (mode 0600, never overwritten) and prints
    /// the witness's cosignature vkey, which logs and verifiers configure.
    Keygen {
        /// The witness's name, e.g. witness.example/w1; its cosignature lines
        /// carry it.
        #[arg(long)]
        name: String,
        /// The key file to create.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Prints the cosignature vkey of an existing key file.
    Vkey {
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file (every field is documented in spec/witness.md).
    #[arg(long, value_name = "FILE.toml", conflicts_with_all = ["listen", "data", "key", "logs"])]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7380].
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<String>,
    /// sled data directory holding the witness's state (created if missing).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The witness key file, made by `provlog-witness keygen`; must be mode 0600.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// A log to witness: its checkpoint origin and Ed25519 vkey. Repeat for
    /// more logs, or for more keys of one log.
    #[arg(long = "log", value_name = "ORIGIN=VKEY")]
    logs: Vec<String>,
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = match args.config {
        Some(path) => ConfigFile::read(&path)?,
        None => ConfigFile {
            listen: args.listen,
            data: args.data,
            key: args.key,
            log: args.logs.iter().map(|l| config::parse_log_flag(l)).collect::<Result<_, _>>()?,
            ..ConfigFile::default()
        },
    };
    let config = file.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let server = Server::start(config).await?;
        let addr = server.local_addr()?;
        tracing::info!(vkey = %server.witness().vkey(), "witness key");
        // Tests and scripts read this line to learn the bound port.
        println!("provlog-witness listening on {addr}");
        server.run(shutdown_signal()).await.context("serving")?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}

fn main() -> ExitCode {
    provlog_witness::init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Keygen { name, out }) => {
            keyfile::generate(&name, &out).map(|vkey| println!("{vkey}")).map_err(Into::into)
        }
        Some(Command::Vkey { key }) => {
            keyfile::load(&key).map(|s| println!("{}", s.verifier().vkey())).map_err(Into::into)
        }
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provlog-witness: {e:#}");
            ExitCode::FAILURE
        }
    }
}
