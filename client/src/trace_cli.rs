//! `provlog trace`: the command line of lineage queries (part of the
//! `provlog` binary; the library side is `provlog_client::lineage`).

use crate::{read, Out, Status};
use clap::{Args, ValueEnum};
use provlog_client::lineage::{self, ProvenAnswer, TraceRequest};
use provlog_client::{ClientError, FetchOptions, LogClient, TrustPolicy, EXIT_OK};
use provlog_ledger::lineage::{dot, fsma, Direction, View};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// One line per event, for people.
    Table,
    /// The answer as the log served it: events, edges, checkpoint, entries
    /// and proofs (save it to verify again later with --from).
    Json,
    /// The FDA FSMA 204 sortable spreadsheet: one row per event per
    /// traceability lot code (spec/lineage.md §7).
    Csv,
    /// A Graphviz digraph of the events and edges (spec/lineage.md §8).
    Dot,
}

#[derive(Args)]
pub(crate) struct TraceArgs {
    /// The identifier: an EPC URI (urn:epc:id:sgtin:…), a lot
    /// (urn:epc:class:lgtin:…), a GS1 Digital Link URI or any other URI.
    #[arg(value_name = "IDENTIFIER", required_unless_present = "from")]
    identifier: Option<String>,
    /// back: what contributed to it; forward: everything it reached;
    /// recall: back to the origins, then forward from each.
    #[arg(long, value_parser = ["back", "forward", "recall"])]
    direction: String,
    /// The time to trace from (RFC 3339) [default: the end of time for back
    /// and recall, the beginning for forward].
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// effective: events declared erroneous left out; as-recorded: every
    /// event, declared ones marked.
    #[arg(long, default_value = "effective", value_parser = ["effective", "as-recorded"])]
    view: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Most events in the answer [server default: 1000; at most 10000].
    #[arg(long, value_name = "N")]
    max_events: Option<usize>,
    /// Deepest step through transformations and containers [server
    /// default: 32; at most 64].
    #[arg(long, value_name = "N")]
    max_depth: Option<u32>,
    /// Verify the answer against --policy before printing it: the
    /// checkpoint's signature and witness quorum, every entry's inclusion
    /// proof, every event's summary against its entry, every correction.
    #[arg(long, requires = "policy")]
    verify: bool,
    /// C2SP tlog-policy file: the log's vkey (and URL), witnesses, quorum.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The log's URL [default: the URL of the policy's log line].
    #[arg(long, value_name = "URL", conflicts_with = "from")]
    log: Option<String>,
    /// Read a saved answer (--format json output) instead of asking a log.
    #[arg(long, value_name = "FILE.json")]
    from: Option<PathBuf>,
}

impl TraceArgs {
    fn request(&self, identifier: &str) -> Result<TraceRequest, ClientError> {
        let parse_error =
            |e: provlog_ledger::lineage::ParamError| ClientError::invalid("trace", e.to_string());
        let direction: Direction = self.direction.parse().map_err(parse_error)?;
        let view: View = self.view.parse().map_err(parse_error)?;
        // Refused here as malformed input, before the log answers 400.
        provlog_ledger::lineage::canonical(identifier)
            .map_err(|e| ClientError::invalid(format!("identifier {identifier:?}"), e.to_string()))?;
        let request = TraceRequest {
            identifier: identifier.to_owned(),
            direction,
            at: self.at.clone(),
            view,
            max_events: self.max_events,
            max_depth: self.max_depth,
        };
        request.at_ms()?;
        Ok(request)
    }
}

pub(crate) fn run(args: TraceArgs, out: &Out, options: FetchOptions) -> Status {
    let trust = args.policy.as_deref().map(TrustPolicy::load).transpose()?;
    let (raw, proven, what) = match (&args.from, &args.identifier) {
        (Some(path), _) => {
            let raw = read(path)?;
            let what = path.display().to_string();
            let proven = ProvenAnswer::parse(&raw, &what)?;
            (raw, proven, what)
        }
        (None, Some(identifier)) => {
            let url = match (&trust, args.log.as_deref()) {
                (Some(t), explicit) => t.url_or(explicit)?.to_owned(),
                (None, Some(url)) => url.to_owned(),
                (None, None) => return Err(ClientError::invalid("trace", "give the log's URL with --log")),
            };
            let client = LogClient::new(&url, options)?;
            let (raw, proven) = lineage::fetch(&client, &args.request(identifier)?)?;
            (raw, proven, format!("{url}/lineage"))
        }
        (None, None) => unreachable!("clap requires IDENTIFIER unless --from"),
    };
    // With --from, the question is the one the file answers, unless given.
    if let Some(identifier) = &args.identifier {
        lineage::check_question(&proven.answer, &args.request(identifier)?)?;
    }
    if args.verify {
        let trust = trust.as_ref().expect("clap requires --policy with --verify");
        let verified = lineage::verify_answer(trust, &proven, &what)?;
        if !out.json {
            eprintln!(
                "verified: {} entries in the tree of {} entries (cosigned by [{}])",
                verified.entries,
                verified.tree_size,
                verified.checkpoint.cosigners.join(", ")
            );
        }
    }
    let answer = &proven.answer;
    match args.format {
        Format::Json => println!("{}", String::from_utf8_lossy(&raw).trim_end()),
        Format::Table if out.json => println!("{}", serde_json::to_string(answer).expect("serializable")),
        Format::Table => println!("{}", lineage::to_table(answer)),
        Format::Csv => print!("{}", fsma::to_csv(answer)),
        Format::Dot => print!("{}", dot::to_dot(answer)),
    }
    Ok(EXIT_OK)
}
