//! `provlog governance`: the command line of building, signing,
//! combining and submitting governance statements (part of the `provlog`
//! binary; the library side is `provlog_client::governance`).

use crate::{connect, read, read_json, report_submitted, LogArgs, Out, Status, EXIT_CODES};
use clap::{Args, Subcommand};
use provlog_client::governance::{self, Proposal};
use provlog_client::submit::{self, Outcome, SubmitOptions, Submitted};
use provlog_client::{keys, ClientError, FetchOptions, EXIT_ATTENTION, EXIT_OK};
use provlog_ledger::governance::{Action, GovernanceSpec, KeySpec, PartnerSpec, Role, Scopes};
use provlog_ledger::rules::RuleSet;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum GovernanceCommand {
    /// Write an unsigned proposal (the payload with the origin and a random
    /// nonce, and the statement's sub and iat) for key holders to sign.
    #[command(after_help = EXIT_CODES)]
    Propose {
        #[command(flatten)]
        proposal: ProposalArgs,
        #[command(subcommand)]
        action: ActionArgs,
    },
    /// Write a genesis proposal: governance keys and quorum, first partners
    /// and rule set.
    #[command(after_help = EXIT_CODES)]
    Genesis {
        #[command(flatten)]
        proposal: ProposalArgs,
        /// A governance key (base64 public key); repeat for each.
        #[arg(long = "governance-key", value_name = "BASE64", required = true)]
        governance_keys: Vec<String>,
        /// How many governance keys must sign a governance statement.
        #[arg(long)]
        quorum: u32,
        /// JSON array of partners (spec/governance.md).
        #[arg(long, value_name = "FILE.json")]
        partners: Option<PathBuf>,
        /// The first rule set (JSON, spec/rules.md).
        #[arg(long = "rule-set", value_name = "FILE.json", conflicts_with = "permissive")]
        rule_set: Option<PathBuf>,
        /// Use the permissive demo rule set with this name instead.
        #[arg(long, value_name = "NAME")]
        permissive: Option<String>,
    },
    /// Add one governance key holder's signature to the statement file of a
    /// proposal (created with the first signature).
    #[command(after_help = EXIT_CODES)]
    Sign {
        /// The governance key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The statement file to create or add to.
        #[arg(long, value_name = "FILE.cose")]
        statement: PathBuf,
        /// The proposal to sign (from propose or genesis).
        #[arg(value_name = "PROPOSAL.json")]
        proposal: PathBuf,
    },
    /// Merge copies of one governance statement signed by different key
    /// holders.
    #[command(after_help = EXIT_CODES)]
    Combine {
        /// The merged statement to write (never overwritten).
        #[arg(long, value_name = "FILE.cose")]
        out: PathBuf,
        /// The signed copies, two or more, of one proposal.
        #[arg(value_name = "STATEMENT.cose", required = true)]
        statements: Vec<PathBuf>,
    },
    /// Show what a governance statement (or proposal) says and who signed it.
    #[command(after_help = EXIT_CODES)]
    Show {
        /// A statement (.cose) or a proposal (.json).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Submit a signed governance statement and verify its receipt.
    #[command(after_help = EXIT_CODES)]
    Submit {
        #[command(flatten)]
        log: LogArgs,
        /// Where to store the receipt.
        #[arg(long, value_name = "FILE.tlog-proof")]
        receipt: Option<PathBuf>,
        /// The governance statement, signed by a quorum.
        #[arg(value_name = "STATEMENT.cose")]
        statement: PathBuf,
    },
}

#[derive(Args)]
pub(crate) struct ProposalArgs {
    /// The log's origin.
    #[arg(long)]
    origin: String,
    /// The nonce [default: 16 random bytes, hex].
    #[arg(long)]
    nonce: Option<String>,
    /// The proposal file to write (never overwritten).
    #[arg(long, value_name = "FILE.json")]
    out: PathBuf,
}

#[derive(Subcommand)]
pub(crate) enum ActionArgs {
    /// Register a partner, from flags or --partner-file.
    AddPartner {
        /// The partner as JSON (spec/governance.md) instead of the flags.
        #[arg(long = "partner-file", value_name = "FILE.json", conflicts_with_all = ["id", "name", "keys"])]
        partner_file: Option<PathBuf>,
        /// The partner's ID, the iss of its statements (e.g. a GS1 PGLN URI).
        #[arg(long, required_unless_present = "partner_file")]
        id: Option<String>,
        /// A name for people.
        #[arg(long, default_value = "")]
        name: String,
        /// What the partner may state (spec/rules.md).
        #[arg(long, default_value = "partner", value_parser = ["partner", "certifier", "auditor", "regulator"])]
        role: String,
        /// A key (base64 public key); repeat for each.
        #[arg(long = "key", value_name = "BASE64", required_unless_present = "partner_file")]
        keys: Vec<String>,
        #[command(flatten)]
        scopes: ScopeArgs,
    },
    /// Add a key to a partner (a rotation is add-key, then revoke-key).
    AddKey {
        /// The partner's ID.
        #[arg(long)]
        partner: String,
        /// The new key (base64 public key).
        #[arg(long = "key", value_name = "BASE64")]
        key: String,
        /// The key is valid for registrations at or after this time, Unix
        /// milliseconds [default: no lower bound].
        #[arg(long, value_name = "UNIX_MS")]
        not_before_ms: Option<u64>,
        /// The key is valid for registrations before this time, Unix
        /// milliseconds [default: until revoked].
        #[arg(long, value_name = "UNIX_MS")]
        not_after_ms: Option<u64>,
    },
    /// Revoke a partner's key for every later registration.
    RevokeKey {
        /// The partner's ID.
        #[arg(long)]
        partner: String,
        /// The key's thumbprint, hex.
        #[arg(long)]
        kid: String,
        /// Why, for the record (e.g. "key compromised").
        #[arg(long)]
        reason: String,
    },
    /// Replace a partner's scopes.
    SetScopes {
        /// The partner's ID.
        #[arg(long)]
        partner: String,
        #[command(flatten)]
        scopes: ScopeArgs,
    },
    /// Replace a partner's role.
    SetRole {
        /// The partner's ID.
        #[arg(long)]
        partner: String,
        /// The new role (spec/rules.md).
        #[arg(long, value_parser = ["partner", "certifier", "auditor", "regulator"])]
        role: String,
    },
    /// Adopt a new rule set (JSON, spec/rules.md).
    AdoptRuleSet {
        /// The rule set's JSON file.
        #[arg(long = "rule-set", value_name = "FILE.json")]
        rule_set: PathBuf,
    },
    /// Replace the governance keys and quorum.
    SetGovernance {
        #[arg(long = "governance-key", value_name = "BASE64", required = true)]
        keys: Vec<String>,
        /// How many of them must sign a governance statement.
        #[arg(long)]
        quorum: u32,
    },
}

#[derive(Args)]
pub(crate) struct ScopeArgs {
    /// A business step the partner may use ("*" for any); repeat.
    #[arg(long = "biz-step")]
    biz_steps: Vec<String>,
    /// A location or location prefix ending in "." or "*"; repeat.
    #[arg(long = "location")]
    locations: Vec<String>,
    /// A GS1 Company Prefix ("*" for any); repeat.
    #[arg(long = "company-prefix")]
    company_prefixes: Vec<String>,
    /// The scopes as JSON instead.
    #[arg(long = "scopes-file", value_name = "FILE.json", conflicts_with_all = ["biz_steps", "locations", "company_prefixes"])]
    scopes_file: Option<PathBuf>,
}

fn role(name: &str) -> Role {
    match name {
        "certifier" => Role::Certifier,
        "auditor" => Role::Auditor,
        "regulator" => Role::Regulator,
        _ => Role::Partner,
    }
}

fn key_spec(
    b64: &str,
    not_before_ms: Option<u64>,
    not_after_ms: Option<u64>,
) -> Result<KeySpec, ClientError> {
    provlog_client::statement::parse_public_key(b64)?;
    Ok(KeySpec { public_key: b64.trim().to_owned(), not_before_ms, not_after_ms })
}

fn scopes(args: ScopeArgs) -> Result<Scopes, ClientError> {
    match args.scopes_file {
        Some(path) => read_json(&path, "scopes"),
        None => Ok(Scopes {
            biz_steps: args.biz_steps,
            locations: args.locations,
            company_prefixes: args.company_prefixes,
        }),
    }
}

fn action(args: ActionArgs) -> Result<Action, ClientError> {
    Ok(match args {
        ActionArgs::AddPartner { partner_file: Some(path), .. } => {
            Action::AddPartner { partner: read_json(&path, "partner")? }
        }
        ActionArgs::AddPartner { partner_file: None, id, name, role: r, keys, scopes: s } => {
            Action::AddPartner {
                partner: PartnerSpec {
                    id: id.unwrap_or_default(),
                    name,
                    role: role(&r),
                    keys: keys.iter().map(|k| key_spec(k, None, None)).collect::<Result<_, _>>()?,
                    scopes: scopes(s)?,
                },
            }
        }
        ActionArgs::AddKey { partner, key, not_before_ms, not_after_ms } => {
            Action::AddKey { partner, key: key_spec(&key, not_before_ms, not_after_ms)? }
        }
        ActionArgs::RevokeKey { partner, kid, reason } => Action::RevokeKey { partner, kid, reason },
        ActionArgs::SetScopes { partner, scopes: s } => Action::SetScopes { partner, scopes: scopes(s)? },
        ActionArgs::SetRole { partner, role: r } => Action::SetRole { partner, role: role(&r) },
        ActionArgs::AdoptRuleSet { rule_set } => {
            Action::AdoptRuleSet { rule_set: read_json(&rule_set, "rule set")? }
        }
        ActionArgs::SetGovernance { keys, quorum } => {
            for k in &keys {
                provlog_client::statement::parse_public_key(k)?;
            }
            Action::SetGovernance { governance: GovernanceSpec { keys, quorum } }
        }
    })
}

fn save_proposal(out: &Out, proposal: &Proposal, path: &Path) -> Status {
    proposal.save(path)?;
    out.emit(proposal, || {
        format!(
            "wrote proposal {} ({}); each governance key holder signs it with `provlog governance sign`",
            path.display(),
            proposal.sub
        )
    });
    Ok(EXIT_OK)
}

pub(crate) fn run(command: GovernanceCommand, out: &Out, options: FetchOptions) -> Status {
    match command {
        GovernanceCommand::Propose { proposal, action: a } => {
            let p = Proposal::new(&proposal.origin, action(a)?, proposal.nonce, provlog_client::now_s());
            save_proposal(out, &p, &proposal.out)
        }
        GovernanceCommand::Genesis { proposal, governance_keys, quorum, partners, rule_set, permissive } => {
            for k in &governance_keys {
                provlog_client::statement::parse_public_key(k)?;
            }
            let partners: Vec<PartnerSpec> = match partners {
                Some(p) => read_json(&p, "partner list")?,
                None => Vec::new(),
            };
            let rule_set = match (rule_set, permissive) {
                (Some(path), _) => read_json(&path, "rule set")?,
                (None, Some(name)) => RuleSet::permissive(&name),
                (None, None) => {
                    return Err(ClientError::invalid("genesis", "give --rule-set FILE or --permissive NAME"))
                }
            };
            let a = Action::Genesis {
                governance: GovernanceSpec { keys: governance_keys, quorum },
                partners,
                rule_set,
            };
            let p = Proposal::new(&proposal.origin, a, proposal.nonce, provlog_client::now_s());
            save_proposal(out, &p, &proposal.out)
        }
        GovernanceCommand::Sign { key, statement, proposal } => {
            let p = Proposal::load(&proposal)?;
            let signer = keys::load(&key)?;
            let existing = match std::fs::read(&statement) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => return Err(ClientError::Input { op: "read", path: statement, source }),
            };
            let signed = governance::add_signature(&p, signer.signing_key(), existing.as_deref())?;
            provlog_client::write_atomic(&statement, signed.as_bytes())?;
            let summary = governance::summarize(signed.as_bytes(), &statement.display().to_string())?;
            out.emit(&summary, || {
                format!(
                    "{}: statement {} now has {} signature(s)",
                    statement.display(),
                    summary.id,
                    summary.signers.len()
                )
            });
            Ok(EXIT_OK)
        }
        GovernanceCommand::Combine { out: path, statements } => {
            let copies = statements.iter().map(|p| read(p)).collect::<Result<Vec<_>, _>>()?;
            let combined = governance::combine(&copies)?;
            governance::write_new(&path, combined.as_bytes())?;
            let summary = governance::summarize(combined.as_bytes(), &path.display().to_string())?;
            out.emit(&summary, || {
                format!(
                    "{}: statement {} with {} signature(s)",
                    path.display(),
                    summary.id,
                    summary.signers.len()
                )
            });
            Ok(EXIT_OK)
        }
        GovernanceCommand::Show { file } => {
            let bytes = read(&file)?;
            let what = file.display().to_string();
            if let Ok(p) = serde_json::from_slice::<Proposal>(&bytes) {
                out.emit(&p, || serde_json::to_string_pretty(&p).expect("serializable"));
                return Ok(EXIT_OK);
            }
            let summary = governance::summarize(&bytes, &what)?;
            out.emit(&summary, || summary.to_string());
            Ok(EXIT_OK)
        }
        GovernanceCommand::Submit { log, receipt, statement } => {
            let bytes = read(&statement)?;
            let what = statement.display().to_string();
            let parsed = provlog_ledger::statement::Statement::parse(&bytes)
                .map_err(|source| ClientError::MalformedStatement { what, source })?;
            let (trust, client) = connect(&log, options)?;
            let done = submit::submit_statements(&client, &trust, &[parsed], &SubmitOptions::default())?;
            if let (Some(path), Some(Outcome::Registered { text, .. })) =
                (&receipt, done.first().map(|d| &d.outcome))
            {
                provlog_client::write_atomic(path, text.as_bytes())?;
            }
            report_submitted(out, &done);
            Ok(if done.iter().any(Submitted::is_refused) { EXIT_ATTENTION } else { EXIT_OK })
        }
    }
}
