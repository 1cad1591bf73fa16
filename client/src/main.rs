//! `provlog`: the command line of `provlog-client`. Parses arguments,
//! calls the library, prints what it found (for people, or `--json` for
//! scripts) and maps the outcome to an exit status. Spec: `spec/client.md`.

mod governance_cli;
mod trace_cli;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use provlog_client::audit::Auditor;
use provlog_client::consistency::{self, Consistency};
use provlog_client::follow::Follower;
use provlog_client::monitor::{self, Watch};
use provlog_client::receipt::{verify_receipt, verify_receipt_for, VerifiedReceipt};
use provlog_client::submit::{self, SubmitOptions, Submitted};
use provlog_client::{error, keys, ClientError, ErrorKind, FetchOptions, LogClient, Progress, TrustPolicy};
use provlog_client::{EXIT_ATTENTION, EXIT_OK};
use serde::Serialize;
use std::cell::RefCell;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit status:
  0  success: everything verified
  1  not verified: a signature, quorum, proof, tile or replayed decision failed (a security event)
  2  malformed input or bad usage
  3  transport or storage failure (network, HTTP status, disk); try again
  4  fork or rollback: the log signed checkpoints no append-only log could (a security event)
  5  attention: submit — the log refused a statement; monitor — statements the owner did not submit";

/// provlog: submit to, verify, audit and monitor a provlog transparency log,
/// trusting only the keys you hold (a C2SP tlog-policy file naming the log
/// and its witnesses).
#[derive(Parser)]
#[command(name = "provlog", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds a request may take, body included.
    #[arg(long, global = true, default_value_t = 60, value_name = "S")]
    timeout: u64,
    /// Further attempts after a network failure or a 429/502/503/504.
    #[arg(long, global = true, default_value_t = 3, value_name = "N")]
    retries: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Create a key file (mode 0600, never overwritten) for a partner, a
    /// governance key holder or a witness, and print its public forms: the
    /// note vkey, the RFC 9679 thumbprint (kid), the base64 public key that
    /// governance registers, and the witness cosignature vkey.
    #[command(after_help = EXIT_CODES)]
    Keygen {
        /// The key's name: a partner's ID (e.g. urn:epc:id:pgln:0614141.00001),
        /// which becomes the iss of its statements; a log's origin; a witness's name.
        #[arg(long)]
        name: String,
        /// The key file to create (refused if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the public forms of an existing key file (as keygen does).
    #[command(after_help = EXIT_CODES)]
    Keyinfo {
        /// The key file (mode 0600, as keygen writes it).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Sign each event of an EPCIS 2.0 JSON document (or a single event) as a
    /// statement, submit it, verify each receipt against the policy and store
    /// it as DIR/ID.tlog-proof (ID: the statement ID). Re-running it with the same DIR
    /// resubmits the same statements (recorded in DIR/submitted.json).
    #[command(after_help = EXIT_CODES)]
    Submit {
        #[command(flatten)]
        log: LogArgs,
        /// The partner's key file; its name is the partner ID (iss).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Directory for receipts and submitted.json.
        #[arg(long, value_name = "DIR")]
        receipts: Option<PathBuf>,
        /// Statements per POST /entries/batch (1: one POST /entries each).
        #[arg(long, default_value_t = 1, value_name = "N")]
        batch: usize,
        /// Seconds to wait for a pending statement's receipt.
        #[arg(long, default_value_t = 60, value_name = "S")]
        wait: u64,
        /// EPCIS 2.0 JSON: an EPCISDocument, an EPCISQueryDocument or one event.
        #[arg(value_name = "FILE.json")]
        input: PathBuf,
    },
    /// Verify receipts (C2SP tlog-proof files) offline against the policy:
    /// the log's signature, the witness quorum, the inclusion proof, and
    /// optionally that they hold a given statement. With --fresh, also prove
    /// each receipt's checkpoint consistent with the log's current one
    /// (online).
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// C2SP tlog-policy file: the log's vkey (and URL), witnesses, quorum.
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// The statement the receipts must hold.
        #[arg(long, value_name = "FILE.cose")]
        statement: Option<PathBuf>,
        /// Also check that the log has not forked since each receipt.
        #[arg(long)]
        fresh: bool,
        /// The log's URL for --fresh [default: the policy's].
        #[arg(long, value_name = "URL")]
        log: Option<String>,
        /// The receipts to verify, one or more.
        #[arg(value_name = "RECEIPT.tlog-proof", required = true)]
        receipts: Vec<PathBuf>,
    },
    /// Follow a log: verify each new checkpoint against the policy, prove it
    /// consistent with the last one verified (kept in the state file), verify
    /// every new tile against its entries, and with --replay re-derive every
    /// acceptance decision from entry 0, reporting the first divergence.
    #[command(after_help = EXIT_CODES)]
    Audit {
        #[command(flatten)]
        follow: FollowArgs,
        /// Replay every decision (scratch store in STATE.replay/, kept so a
        /// replay resumes).
        #[arg(long)]
        replay: bool,
    },
    /// Watch a log for statements signed with given keys or naming given
    /// identifiers, and report those whose statement ID is not in the owner's
    /// known set (the receipts and submitted.json of `provlog submit`).
    #[command(after_help = EXIT_CODES)]
    Monitor {
        #[command(flatten)]
        follow: FollowArgs,
        /// A watched key: standard base64 of the Ed25519 public key.
        #[arg(long = "watch-key", value_name = "BASE64")]
        watch_keys: Vec<String>,
        /// A watched EPCIS identifier, in any GS1 form (compared canonically).
        #[arg(long = "watch-id", value_name = "IDENTIFIER")]
        watch_ids: Vec<String>,
        /// The owner's receipts directory (`provlog submit --receipts DIR`).
        #[arg(long, value_name = "DIR")]
        known: PathBuf,
    },
    /// Verify a whole log against its latest checkpoint: every tile against
    /// the entries, and the root.
    #[command(name = "verify-log", after_help = EXIT_CODES)]
    VerifyLog {
        #[command(flatten)]
        log: LogArgs,
    },
    /// Build and co-sign governance statements (spec/governance.md).
    #[command(subcommand)]
    Governance(governance_cli::GovernanceCommand),
    /// Trace an identifier through the log (spec/lineage.md): back to what
    /// contributed to it, forward to everything it reached, or the recall
    /// scope (back to the origins, then forward from each). With --verify,
    /// every event's entry is proven against the witnessed checkpoint the
    /// answer carries before anything is printed.
    #[command(after_help = EXIT_CODES)]
    Trace(trace_cli::TraceArgs),
}

#[derive(Args)]
struct LogArgs {
    /// C2SP tlog-policy file: the log's vkey (and URL), witnesses, quorum.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The log's URL [default: the URL of the policy's log line].
    #[arg(long, value_name = "URL")]
    log: Option<String>,
}

#[derive(Args)]
struct FollowArgs {
    #[command(flatten)]
    log: LogArgs,
    /// The state file (created on first use, rewritten atomically).
    #[arg(long, value_name = "STATE.json")]
    state: PathBuf,
    /// One round, then exit (the default).
    #[arg(long, conflicts_with = "follow")]
    once: bool,
    /// Keep following, a round every --interval seconds.
    #[arg(long)]
    follow: bool,
    /// Seconds between rounds with --follow.
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    interval: f64,
    /// With --follow, stop after this many rounds.
    #[arg(long, value_name = "N")]
    rounds: Option<u64>,
}

/// What a command ended with: its exit status, or an error.
type Status = Result<u8, ClientError>;

struct Out {
    json: bool,
}

impl Out {
    fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.json {
            println!("{}", serde_json::to_string(value).expect("serializable"));
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }

    fn error(&self, e: &ClientError) {
        if self.json {
            let v = serde_json::json!({
                "error": error::chain(e), "kind": e.kind(), "fork": e.is_fork(), "exit": e.exit_code()
            });
            println!("{v}");
        } else {
            let kind = match e.kind() {
                _ if e.is_fork() => "FORK (security event)",
                ErrorKind::Verification => "NOT VERIFIED (security event)",
                ErrorKind::Malformed => "malformed input",
                ErrorKind::Transport => "transport or storage failure",
            };
            eprintln!("provlog: {kind}: {}", error::chain(e));
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
struct Bar(RefCell<Option<ProgressBar>>, bool);

impl Bar {
    fn new(json: bool) -> Bar {
        Bar(RefCell::new(None), !json && std::io::stderr().is_terminal())
    }
}

impl Progress for Bar {
    fn begin(&self, what: &'static str, total: u64) {
        if self.1 && total >= 4096 {
            let bar = ProgressBar::new(total).with_message(what);
            bar.set_style(
                ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} entries, {per_sec}, eta {eta}")
                    .expect("a valid template"),
            );
            *self.0.borrow_mut() = Some(bar);
        }
    }

    fn advance(&self, steps: u64) {
        if let Some(b) = self.0.borrow().as_ref() {
            b.inc(steps);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.0.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out { json: cli.json };
    let options = FetchOptions {
        timeout: Duration::from_secs(cli.timeout.max(1)),
        retries: cli.retries,
        ..FetchOptions::default()
    };
    match run(cli.command, &out, options) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(command: Command, out: &Out, options: FetchOptions) -> Status {
    match command {
        Command::Keygen { name, out: file } => {
            let info = keys::generate(&name, &file)?;
            print_key(out, &info);
            Ok(EXIT_OK)
        }
        Command::Keyinfo { key } => {
            let info = keys::KeyInfo::of(&keys::load(&key)?, Some(&key));
            print_key(out, &info);
            Ok(EXIT_OK)
        }
        Command::Submit { log, key, receipts, batch, wait, input } => {
            let (trust, client) = connect(&log, options)?;
            let signer = keys::load(&key)?;
            let bytes = read(&input)?;
            let opts = SubmitOptions { batch, receipts, wait: Duration::from_secs(wait) };
            let done =
                submit::submit_events(&client, &trust, &signer, &bytes, &input.display().to_string(), &opts)?;
            report_submitted(out, &done);
            Ok(if done.iter().any(Submitted::is_refused) { EXIT_ATTENTION } else { EXIT_OK })
        }
        Command::Verify { policy, statement, fresh, log, receipts } => {
            verify(out, options, &policy, statement.as_deref(), fresh, log.as_deref(), &receipts)
        }
        Command::Audit { follow, replay } => {
            let (trust, client) = connect(&follow.log, options)?;
            let mut auditor = Auditor::open(client, trust, &follow.state, replay)?;
            let bar = Bar::new(out.json);
            follow_loop(&follow, out, || auditor.round(&bar).map(|r| (r.to_string(), r, false)))
        }
        Command::Monitor { follow, watch_keys, watch_ids, known } => {
            let (trust, client) = connect(&follow.log, options)?;
            let watch = Watch::new(&watch_keys, &watch_ids)?;
            let mut follower = Follower::open(client, trust, &follow.state)?;
            let bar = Bar::new(out.json);
            follow_loop(&follow, out, || {
                monitor::round(&mut follower, &watch, &known, &bar)
                    .map(|r| (r.to_string(), r.clone(), r.unknown > 0))
            })
        }
        Command::VerifyLog { log } => {
            let (trust, client) = connect(&log, options)?;
            let report = provlog_client::verify_log(client.url(), &trust)?;
            out.emit(&report, || report.to_string());
            Ok(EXIT_OK)
        }
        Command::Governance(g) => governance_cli::run(g, out, options),
        Command::Trace(t) => trace_cli::run(t, out, options),
    }
}

fn print_key(out: &Out, info: &keys::KeyInfo) {
    out.emit(info, || info.to_string());
}

fn read(path: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Input { op: "read", path: path.to_owned(), source })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, ClientError> {
    serde_json::from_slice(&read(path)?).map_err(|source| ClientError::Json {
        path: path.to_owned(),
        what,
        source,
    })
}

fn connect(log: &LogArgs, options: FetchOptions) -> Result<(TrustPolicy, LogClient), ClientError> {
    let trust = TrustPolicy::load(&log.policy)?;
    let client = LogClient::new(trust.url_or(log.log.as_deref())?, options)?;
    Ok((trust, client))
}

/// Runs rounds: once, or every `interval` with --follow. Transport failures
/// in --follow mode are reported and the next round tries again; anything
/// else stops. Returns EXIT_ATTENTION if any round asked for it.
fn follow_loop<T: Serialize>(
    args: &FollowArgs,
    out: &Out,
    mut round: impl FnMut() -> Result<(String, T, bool), ClientError>,
) -> Status {
    let mut attention = false;
    let mut rounds = 0u64;
    loop {
        match round() {
            Ok((text, value, alert)) => {
                attention |= alert;
                out.emit(&value, || text);
            }
            Err(e) if args.follow && e.kind() == ErrorKind::Transport => out.error(&e),
            Err(e) => return Err(e),
        }
        rounds += 1;
        if !args.follow || args.rounds.is_some_and(|n| rounds >= n) {
            return Ok(if attention { EXIT_ATTENTION } else { EXIT_OK });
        }
        std::thread::sleep(Duration::from_secs_f64(args.interval.max(0.0)));
    }
}

fn report_submitted(out: &Out, done: &[Submitted]) {
    for s in done {
        out.emit(s, || s.to_string());
    }
    if !out.json {
        let refused = done.iter().filter(|s| s.is_refused()).count();
        println!(
            "{} statements: {} registered or present, {refused} refused",
            done.len(),
            done.len() - refused
        );
    }
}

#[derive(Serialize)]
struct VerifyResult {
    receipt: PathBuf,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    proves: Option<VerifiedReceipt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fresh: Option<Consistency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<VerifyError>,
}

#[derive(Serialize)]
struct VerifyError {
    message: String,
    kind: ErrorKind,
    fork: bool,
}

/// The most serious of two exit statuses: fork (4), then failed
/// verification (1), then malformed input (2), then attention (5), then
/// transport (3); success (0) last.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| [0, 4, 3, 1, 5, 2][c.min(5) as usize];
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn verify(
    out: &Out,
    options: FetchOptions,
    policy: &Path,
    statement: Option<&Path>,
    fresh: bool,
    log: Option<&str>,
    receipts: &[PathBuf],
) -> Status {
    let trust = TrustPolicy::load(policy)?;
    let statement = statement.map(read).transpose()?;
    // The log's current checkpoint, verified against the policy, for --fresh.
    let current = match fresh {
        false => None,
        true => {
            let client = LogClient::new(trust.url_or(log)?, options)?;
            let note = client.checkpoint()?;
            let now = trust.verify_checkpoint(&note, &format!("{}/checkpoint", client.url()))?;
            Some((client, now))
        }
    };
    let mut code = EXIT_OK;
    for path in receipts {
        let what = path.display().to_string();
        let result = (|| {
            let text =
                String::from_utf8(read(path)?).map_err(|_| ClientError::invalid(&what, "not UTF-8"))?;
            let v = match &statement {
                Some(s) => verify_receipt_for(&trust, &text, &what, s)?,
                None => verify_receipt(&trust, &text, &what)?,
            };
            let freshness = match &current {
                Some((client, now)) => {
                    Some(consistency::prove(client, &v.checkpoint.checkpoint, &now.checkpoint)?)
                }
                None => None,
            };
            Ok::<_, ClientError>((v, freshness))
        })();
        let r = match result {
            Ok((v, fresh)) => {
                VerifyResult { receipt: path.clone(), verified: true, proves: Some(v), fresh, error: None }
            }
            Err(e) => {
                code = worse(code, e.exit_code());
                let error = VerifyError { message: error::chain(&e), kind: e.kind(), fork: e.is_fork() };
                VerifyResult {
                    receipt: path.clone(),
                    verified: false,
                    proves: None,
                    fresh: None,
                    error: Some(error),
                }
            }
        };
        out.emit(&r, || match (&r.proves, &r.error) {
            (Some(v), _) => {
                let fresh = match r.fresh {
                    None => String::new(),
                    Some(Consistency::Proved { .. }) => {
                        "; the log's current checkpoint is consistent with it".into()
                    }
                    Some(_) => "; it is the log's current checkpoint".into(),
                };
                format!("verified  {}: {v}{fresh}", path.display())
            }
            (None, Some(e)) => {
                format!("{}  {}: {}", if e.fork { "FORK" } else { "NOT VERIFIED" }, path.display(), e.message)
            }
            (None, None) => String::new(),
        });
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::worse;

    #[test]
    fn the_worst_status_wins_whatever_the_order() {
        let order = [4, 1, 2, 5, 3, 0];
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i..] {
                assert_eq!((worse(a, b), worse(b, a)), (a, a), "{a} against {b}");
            }
        }
    }
}
