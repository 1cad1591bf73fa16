//! `provlog-server` as a real process: every GS1 example event signed by a
//! partner is registered under a permissive rule set, each receipt verifies
//! offline, resubmissions (one by one, with other unprotected headers, and
//! as a batch) return the same entries, and the per-statement reads agree
//! with the receipts. Spec: `spec/http-api.md`, `spec/receipt.md`.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::entry::Entry;
use provlog_ledger::epcis::split_document;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS};
use provlog_tests::audit::verify_receipt;
use provlog_tests::chain::{hours_ago, now_ms};
use provlog_tests::problem::problem;
use provlog_tests::server::{Registered, Setup, TestLog};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/epcis");

/// Every `.jsonld` file under `spec/vectors/epcis/`, by relative path.
fn example_files() -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "jsonld") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(Path::new(VECTORS), &mut paths);
    paths
        .into_iter()
        .map(|p| {
            (p.strip_prefix(VECTORS).unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

/// What the log must answer for one example event, given what came before.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Created,
    /// The same statement (same bytes) is already entry `index`.
    Same(u64),
}

/// The statement with its unprotected header replaced by `{99: 0}`: the
/// same statement ID (`spec/statement.md` §5), other bytes.
fn with_unprotected_header(s: &Statement) -> Vec<u8> {
    let b = s.as_bytes();
    assert_eq!(&b[..2], &[0xd2, 0x84], "a COSE_Sign1");
    let (head, len) = match b[2] {
        x @ 0x40..=0x57 => (1, (x - 0x40) as usize),
        0x58 => (2, b[3] as usize),
        0x59 => (3, u16::from_be_bytes([b[3], b[4]]) as usize),
        other => panic!("unexpected protected header head {other:#x}"),
    };
    let at = 2 + head + len;
    assert_eq!(b[at], 0xa0, "an empty unprotected header");
    let mut out = b[..at].to_vec();
    out.extend_from_slice(&[0xa1, 0x18, 0x63, 0x00]);
    out.extend_from_slice(&b[at + 1..]);
    out
}

#[test]
fn every_gs1_example_event_is_registered_and_its_receipt_verifies_offline() {
    let log = TestLog::start(Setup::new(RuleSet::permissive("permissive")));
    let farm = log.parties.farm.clone();
    // One iat for all, so that an event GS1 repeats byte for byte in two
    // files is the same statement.
    let iat = now_ms() / 1000;

    let mut by_id: HashMap<String, Registered> = HashMap::new();
    let mut event_ids: HashSet<String> = HashSet::new();
    let mut all_event_ids: HashSet<String> = HashSet::new();
    let mut statements: Vec<(String, Statement, Expect)> = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, bytes) in example_files() {
        let events = split_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, d) in events.into_iter().enumerate() {
            let label = format!("{name}[{i}]");
            let e = &d.event;
            let sub = e.event_id.clone().unwrap_or_else(|| e.identifiers()[0].id.raw.clone());
            let s = Statement::sign1(&farm.key, &farm.id, &sub, iat, CONTENT_TYPE_EPCIS, &d.payload).unwrap();
            let id = s.id().to_string();
            // The permissive rule set flags an error declaration without
            // an eventID and a reused eventID (spec/rules.md); only an
            // identical statement is answered with its existing entry.
            let expect =
                if by_id.contains_key(&id) { Expect::Same(by_id[&id].index) } else { Expect::Created };

            let r = log.submit(&s);
            match &expect {
                Expect::Created => {
                    assert_eq!(r.status, 201, "{label}: {}", r.text());
                    let v = verify_receipt(&r.text(), &log.origin, &log.log_vkey, None, &s)
                        .unwrap_or_else(|err| panic!("{label}: {err:#}"));
                    log.saw(&v.checkpoint_note);
                    by_id.insert(
                        id.clone(),
                        Registered { id: id.clone(), index: v.index, receipt: r.text(), cosigners: vec![] },
                    );
                    if let Some(eid) = &e.event_id {
                        event_ids.insert(eid.clone());
                    }
                    counts.entry("201").and_modify(|n| *n += 1).or_insert(1);
                }
                Expect::Same(index) => {
                    assert_eq!(r.status, 200, "{label}: {}", r.text());
                    let v = verify_receipt(&r.text(), &log.origin, &log.log_vkey, None, &s).unwrap();
                    assert_eq!(v.index, *index, "{label}");
                    counts.entry("200").and_modify(|n| *n += 1).or_insert(1);
                }
            }
            if let Some(eid) = &e.event_id {
                all_event_ids.insert(eid.clone());
            }
            statements.push((label, s, expect));
        }
    }
    eprintln!("GS1 examples: {} events, outcomes {counts:?}", statements.len());
    assert_eq!(statements.len(), 56, "GS1's examples hold 56 events");
    // The receipts alone gave every distinct event ID (checked against
    // what the log stores below).
    assert_eq!(event_ids, all_event_ids);
    let mut stored_event_ids = HashSet::new();

    // Per-statement reads agree with the receipts: the receipt again, the
    // stored (stripped) statement, and the status with the entry's flags.
    for r in by_id.values() {
        let got = log.get(&format!("/entries/{}", r.id));
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-type"), Some("text/x.tlog-proof; charset=utf-8"));
        let (label, s, _) = statements.iter().find(|(_, s, _)| s.id().to_string() == r.id).unwrap();
        let v = verify_receipt(&got.text(), &log.origin, &log.log_vkey, None, s).unwrap();
        assert_eq!(v.index, r.index, "{label}");
        log.saw(&v.checkpoint_note);
        let stored = log.get(&format!("/entries/{}/statement", r.id));
        assert_eq!((stored.status, stored.header("content-type")), (200, Some("application/cose")));
        assert_eq!(stored.body, s.stripped_bytes());
        let payload = Statement::parse(&stored.body).unwrap().payload().to_vec();
        if let Some(eid) = provlog_ledger::epcis::parse_event(&payload).unwrap().event_id {
            stored_event_ids.insert(eid);
        }
        let status = log.get(&format!("/entries/{}/status", r.id));
        let j: serde_json::Value = serde_json::from_slice(&status.body).unwrap();
        assert_eq!(j["index"], r.index);
        assert_eq!(j["published"], true);
        assert_eq!(j["id"], r.id.as_str());
        assert_eq!(j["registered_at_ms"], v.entry.registered_at_ms);
        assert_eq!(j["rule_set_id"], hex::encode(v.entry.rule_set_id));
        assert_eq!(j["flags"], serde_json::json!(v.entry.flags));
    }
    // Every distinct event ID of GS1's examples is in what the log serves.
    assert_eq!(stored_event_ids, all_event_ids);
    // The permissive rule set flags what a strict one would refuse: the
    // farm speaks for GS1's example locations, which are not its own.
    let flagged = by_id.values().filter(|r| !entry_of(&r.receipt).flags.is_empty()).count();
    assert!(flagged > 0, "no flags at all under the permissive rule set");

    // A resubmitted statement, also with other unprotected headers, is the
    // same entry: 200, same index, nothing appended.
    let size = log.tree_size();
    let (label, first, _) = statements.iter().find(|(_, _, e)| *e == Expect::Created).unwrap();
    let index = by_id[&first.id().to_string()].index;
    assert_eq!(log.register_expecting(first, 200).index, index, "{label}");
    let r = log.submit_bytes(&with_unprotected_header(first));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = verify_receipt(&r.text(), &log.origin, &log.log_vkey, None, first).unwrap();
    assert_eq!(v.index, index);
    assert_eq!(log.tree_size(), size);

    // The whole set again as one batch: each item answered on its own, in
    // order, the registered ones with their first index.
    let items: Vec<Cbor> = statements.iter().map(|(_, s, _)| Cbor::bytes(s.as_bytes())).collect();
    let r = log.post("/entries/batch", "application/cbor", cbor::encode(&Cbor::Array(items)), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let results: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(results.len(), statements.len());
    for ((label, s, expect), res) in statements.iter().zip(&results) {
        match expect {
            Expect::Created | Expect::Same(_) => {
                let want = by_id[&s.id().to_string()].index;
                assert_eq!(
                    (res["status"].as_u64(), res["index"].as_u64()),
                    (Some(200), Some(want)),
                    "{label}"
                );
                assert_eq!(res["id"], s.id().to_string());
                let v = verify_receipt(res["receipt"].as_str().unwrap(), &log.origin, &log.log_vkey, None, s)
                    .unwrap_or_else(|e| panic!("{label}: {e:#}"));
                assert_eq!(v.index, want);
            }
        }
    }
    assert_eq!(log.tree_size(), size, "a batch of known statements appends nothing");

    // New statements in a batch are registered (201 each) in array order.
    let fresh: Vec<Statement> = (0..5)
        .map(|i| {
            let e = log.commission(&farm, &[farm.sgtin("107346", &format!("b{i}"))], &hours_ago(24.0));
            log.sign(&farm, &e)
        })
        .collect();
    let items: Vec<Cbor> = fresh.iter().map(|s| Cbor::bytes(s.as_bytes())).collect();
    let r = log.post("/entries/batch", "application/cbor", cbor::encode(&Cbor::Array(items)), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let results: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    let mut last = None;
    for (s, res) in fresh.iter().zip(&results) {
        assert_eq!(res["status"], 201, "{res}");
        let v =
            verify_receipt(res["receipt"].as_str().unwrap(), &log.origin, &log.log_vkey, None, s).unwrap();
        assert!(last.is_none_or(|l| v.index == l + 1), "array order is log order");
        last = Some(v.index);
        log.saw(&v.checkpoint_note);
    }
    assert_eq!(log.tree_size(), size + 5);

    // Unknown and malformed statement IDs.
    let unknown = "0".repeat(64);
    for path in [format!("/entries/{unknown}"), format!("/entries/{unknown}/statement")] {
        assert_eq!(problem(&log.get(&path)).rule, "request.not-found");
    }
    let p = problem(&log.get("/entries/ABC"));
    assert_eq!((p.status, p.rule.as_str()), (400, "request.statement-id"));
    // A path segment that is not UTF-8 once decoded: a problem too, not
    // the framework's plain text.
    for path in ["/entries/%FF", "/entries/%FF/status", "/lineage/%FF", "/registry/partners/%C3"] {
        let p = problem(&log.get(path));
        assert_eq!((p.status, p.rule.as_str()), (400, "request.path"), "{path}");
    }

    let v = log.verify();
    assert_eq!(v.checkpoint.size, size + 5);
}

fn entry_of(receipt: &str) -> Entry {
    let r = provlog_ledger::receipt::Receipt::parse(receipt).unwrap();
    Entry::decode(r.extra.as_deref().unwrap()).unwrap()
}
