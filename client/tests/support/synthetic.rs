//! Synthetic logs for the large replay test and the audit benchmark: a log
//! built in-process with `provlog-ledger`'s `Log` (the same code the server
//! registers with), in a sled store laid out as `provlog-server --data DIR`
//! keeps it (`DIR/db`), with its log key in `DIR/log.key`.
//!
//! Entry 0 is a genesis with one governance key, one partner (scopes `*`)
//! and the permissive demo rule set; every later entry is an EPCIS
//! ObjectEvent with its own eventID, signed by the partner. Optionally one
//! entry is *tampered*: a statement in the partner's name signed with a key
//! the registry does not know, appended to the tree without the rules —
//! what a log operator rewriting its own history would produce. A replay
//! reports exactly that entry.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use provlog_ledger::entry::Entry;
use provlog_ledger::governance::{
    Action, GovernancePayload, GovernanceSpec, KeySpec, PartnerSpec, Role, Scopes,
};
use provlog_ledger::keyfile;
use provlog_ledger::log::{Log, Outcome};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use provlog_ledger::storage::{Batch, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const ORIGIN: &str = "synthetic.example/log";
pub const PARTNER: &str = "urn:epc:id:pgln:0614141.00001";
/// Registration time of entry 0 (2026-11-01T00:00:00Z); entry `i` is
/// registered at this plus `i` ms.
pub const T0_MS: u64 = 1_793_491_200_000;

/// A synthetic log's keys and where it is.
pub struct Synthetic {
    pub dir: PathBuf,
    pub log_key_file: PathBuf,
    pub partner: SigningKey,
    pub governance: SigningKey,
}

/// The EPCIS event of entry `i`.
pub fn event(i: u64) -> Vec<u8> {
    format!(
        concat!(
            r#"{{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"ObjectEvent","#,
            r#""eventTime":"2026-10-01T08:00:00.000Z","eventTimeZoneOffset":"+00:00","#,
            r#""eventID":"urn:uuid:00000000-0000-4000-8000-{:012}","#,
            r#""epcList":["urn:epc:id:sgtin:0614141.107346.{}"],"action":"OBSERVE","bizStep":"inspecting","#,
            r#""readPoint":{{"id":"urn:epc:id:sgln:0614141.07346.1234"}}}}"#
        ),
        i, i
    )
    .into_bytes()
}

/// The partner's statement for entry `i`, signed with `key`.
pub fn statement(key: &SigningKey, i: u64) -> Statement {
    let sub = format!("urn:uuid:00000000-0000-4000-8000-{i:012}");
    Statement::sign1(key, PARTNER, &sub, (T0_MS / 1000) + i / 1000, CONTENT_TYPE_EPCIS, &event(i))
        .expect("a statement")
}

fn open_store(dir: &Path) -> Arc<dyn Store> {
    Arc::new(SledStore::open(&dir.join("db"), &SledConfig::default()).expect("open the store"))
}

/// Creates the log in `dir` (which must not hold one) and registers genesis.
pub fn create(dir: &Path) -> Synthetic {
    std::fs::create_dir_all(dir).unwrap();
    let log_key_file = dir.join("log.key");
    keyfile::generate(ORIGIN, &log_key_file).expect("a new log key");
    let partner = SigningKey::from_bytes(&[0x5a; 32]);
    let governance = SigningKey::from_bytes(&[0x6b; 32]);
    let everything = Scopes::any();
    let payload = GovernancePayload {
        origin: ORIGIN.into(),
        nonce: String::new(),
        action: Action::Genesis {
            governance: GovernanceSpec {
                keys: vec![BASE64.encode(governance.verifying_key().as_bytes())],
                quorum: 1,
            },
            partners: vec![PartnerSpec {
                id: PARTNER.into(),
                name: "Synthetic Farm".into(),
                role: Role::Partner,
                keys: vec![KeySpec {
                    public_key: BASE64.encode(partner.verifying_key().as_bytes()),
                    not_before_ms: None,
                    not_after_ms: None,
                }],
                scopes: everything,
            }],
            rule_set: RuleSet::permissive("synthetic-permissive"),
        },
    };
    let genesis = Statement::sign_multi(
        &[&governance],
        provlog_ledger::governance::GOVERNANCE_ISSUER,
        "genesis",
        T0_MS / 1000,
        CONTENT_TYPE_GOVERNANCE,
        &payload.to_json(),
    )
    .unwrap();
    let mut log = Log::open(open_store(dir), ORIGIN).unwrap();
    let out = log.register(&[genesis], T0_MS).unwrap();
    assert!(matches!(out[0], Outcome::Registered { index: 0, .. }), "{out:?}");
    log.flush().unwrap();
    Synthetic { dir: dir.to_owned(), log_key_file, partner, governance }
}

/// Opens an existing synthetic log's keys (the partner and governance keys
/// are fixed).
pub fn open(dir: &Path) -> Synthetic {
    Synthetic {
        dir: dir.to_owned(),
        log_key_file: dir.join("log.key"),
        partner: SigningKey::from_bytes(&[0x5a; 32]),
        governance: SigningKey::from_bytes(&[0x6b; 32]),
    }
}

impl Synthetic {
    /// Registers entries until the log has `size` entries, `batch` per
    /// atomic append, flushed after each, calling `progress` with the size.
    /// With `tamper_at`, that entry is a forged statement appended past the
    /// rules.
    pub fn grow(&self, size: u64, batch: usize, tamper_at: Option<u64>, mut progress: impl FnMut(u64)) {
        let store = open_store(&self.dir);
        let mut log = Log::open(store.clone(), ORIGIN).unwrap();
        while log.size() < size {
            let start = log.size();
            if tamper_at == Some(start) {
                drop(log);
                forge(store.clone(), start);
                log = Log::open(store.clone(), ORIGIN).unwrap();
                continue;
            }
            let mut end = (start + batch as u64).min(size);
            if let Some(t) = tamper_at.filter(|&t| t > start && t < end) {
                end = t;
            }
            let statements: Vec<Statement> = (start..end).map(|i| statement(&self.partner, i)).collect();
            for o in log.register(&statements, T0_MS + end).unwrap() {
                assert!(matches!(o, Outcome::Registered { .. }), "{o:?}");
            }
            log.flush().unwrap();
            progress(log.size());
        }
    }
}

/// Appends, as entry `index`, the partner's event signed with a key the
/// registry does not know, straight into the tree.
fn forge(store: Arc<dyn Store>, index: u64) {
    let mallory = SigningKey::from_bytes(&[0x66; 32]);
    let reader = TiledTree::open(store.clone()).unwrap();
    let previous = Entry::decode(&reader.reader().entry(index - 1).unwrap()).unwrap();
    let entry = Entry {
        statement: statement(&mallory, index).stripped_bytes().to_vec(),
        registered_at_ms: previous.registered_at_ms,
        rule_set_id: previous.rule_set_id,
        flags: previous.flags,
    };
    let mut tree = reader;
    tree.append(&[entry.encode().unwrap()], Batch::new()).unwrap();
    tree.flush().unwrap();
}
