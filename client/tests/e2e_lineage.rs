//! Lineage over the real `provlog-server --dev` (two witness processes,
//! quorum both): the three demo partners submit a small supply chain with
//! `provlog submit` — harvests, a shipment and receipt of two lots, a
//! transformation mixing them into a lot and cases, an aggregation of the
//! cases on a pallet, its shipment, a wrong receipt declared erroneous and
//! its corrective receipt, plus an unrelated lot — and `GET /lineage` and
//! `provlog trace --verify` answer back, forward and recall queries whose
//! event sets the test derives from what it submitted. A tampered answer
//! (an entry byte, a summary, a missing proof) or a checkpoint under
//! another key is refused as "not verified" (exit 1).

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::{provlog, DevLog, Run};

const FARM: &str = "urn:epc:id:pgln:0614141.00001";
const PROCESSOR: &str = "urn:epc:id:pgln:0614142.00001";
const RETAILER: &str = "urn:epc:id:pgln:0614144.00001";
const LOT_A: &str = "urn:epc:class:lgtin:0614141.107346.LA";
const LOT_B: &str = "urn:epc:class:lgtin:0614141.107346.LB";
const LOT_U: &str = "urn:epc:class:lgtin:0614141.107346.LU";
const LOT_J: &str = "urn:epc:class:lgtin:0614142.200001.J1";
const CASE_1: &str = "urn:epc:id:sgtin:0614142.200001.1";
const CASE_2: &str = "urn:epc:id:sgtin:0614142.200001.2";
const PALLET: &str = "urn:epc:id:sscc:0614142.0000000001";

fn event_id(name: &str) -> String {
    let n: u64 =
        name.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)) % 1_000_000_000_000;
    format!("urn:uuid:7a1e0000-0000-4000-8000-{n:012}")
}

/// An event at `hour` on 2026-10-01 (UTC), named `name` (its eventID).
fn event(name: &str, kind: &str, hour: u32, body: Value) -> Value {
    let mut e = json!({
        "type": kind, "eventID": event_id(name),
        "eventTime": format!("2026-10-01T{hour:02}:00:00.000Z"), "eventTimeZoneOffset": "+00:00",
    });
    e.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
    e
}

fn quantity(lot: &str, kg: f64) -> Value {
    json!({"epcClass": lot, "quantity": kg, "uom": "KGM"})
}

fn commission(name: &str, lot: &str, hour: u32) -> Value {
    event(
        name,
        "ObjectEvent",
        hour,
        json!({"action": "ADD", "bizStep": "commissioning", "disposition": "active",
               "quantityList": [quantity(lot, 500.0)]}),
    )
}

fn moved(name: &str, step: &str, hour: u32, objects: Value, from: &str, to: &str) -> Value {
    let mut body = json!({"action": "OBSERVE", "bizStep": step,
        "sourceList": [{"type": "owning_party", "source": from}],
        "destinationList": [{"type": "owning_party", "destination": to}]});
    body.as_object_mut().unwrap().extend(objects.as_object().unwrap().clone());
    event(name, "ObjectEvent", hour, body)
}

/// The chain, by partner, in submission order: (partner, [(name, event)]).
fn chain() -> Vec<(&'static str, Vec<(&'static str, Value)>)> {
    let lots = json!({"quantityList": [quantity(LOT_A, 500.0), quantity(LOT_B, 500.0)]});
    let pallet = json!({"epcList": [PALLET]});
    let receive_wrong = moved("receive-wrong", "receiving", 9, pallet.clone(), PROCESSOR, RETAILER);
    let mut declaration = receive_wrong.clone();
    declaration["errorDeclaration"] = json!({"declarationTime": "2026-10-01T10:00:00.000Z",
        "reason": "incorrect_data", "correctiveEventIDs": [event_id("receive-right")]});
    vec![
        (
            "farm",
            vec![
                ("commission-a", commission("commission-a", LOT_A, 1)),
                ("commission-b", commission("commission-b", LOT_B, 1)),
                ("commission-u", commission("commission-u", LOT_U, 1)),
                ("ship-lots", moved("ship-lots", "shipping", 2, lots.clone(), FARM, PROCESSOR)),
            ],
        ),
        (
            "processor",
            vec![
                ("receive-lots", moved("receive-lots", "receiving", 3, lots, FARM, PROCESSOR)),
                (
                    "transform",
                    event(
                        "transform",
                        "TransformationEvent",
                        4,
                        json!({"bizStep": "commissioning", "disposition": "active",
                           "inputQuantityList": [quantity(LOT_A, 300.0), quantity(LOT_B, 200.0)],
                           "outputQuantityList": [quantity(LOT_J, 450.0)],
                           "outputEPCList": [CASE_1, CASE_2]}),
                    ),
                ),
                (
                    "pack",
                    event(
                        "pack",
                        "AggregationEvent",
                        5,
                        json!({"action": "ADD", "bizStep": "packing",
                               "parentID": PALLET, "childEPCs": [CASE_1, CASE_2]}),
                    ),
                ),
                ("ship-pallet", moved("ship-pallet", "shipping", 6, pallet.clone(), PROCESSOR, RETAILER)),
            ],
        ),
        (
            "retailer",
            vec![
                ("receive-wrong", receive_wrong),
                ("declaration", declaration),
                ("receive-right", moved("receive-right", "receiving", 9, pallet, PROCESSOR, RETAILER)),
            ],
        ),
    ]
}

/// Submits the chain; returns the entry index of each event by name.
fn submit(log: &DevLog, dir: &Path) -> BTreeMap<&'static str, u64> {
    let mut index = BTreeMap::new();
    for (partner, events) in chain() {
        let doc = json!({"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-10-01T12:00:00.000Z",
            "epcisBody": {"eventList": events.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>()}});
        let file = dir.join(format!("{partner}.json"));
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let run = provlog(&[
            "--json".as_ref(),
            "submit".as_ref(),
            "--policy".as_ref(),
            log.policy().as_os_str(),
            "--key".as_ref(),
            log.partner_key(partner).as_os_str(),
            file.as_os_str(),
        ]);
        run.expect(0);
        let lines = run.json_lines();
        assert_eq!(lines.len(), events.len(), "{run:?}");
        for ((name, _), line) in events.iter().zip(&lines) {
            assert_eq!(line["status"], "registered", "{line}");
            index.insert(*name, line["index"].as_u64().unwrap());
        }
    }
    log.wait_published(1 + index.len() as u64);
    index
}

fn trace(args: &[&str], policy: &Path, url: &str) -> Run {
    let mut all: Vec<&std::ffi::OsStr> = vec!["trace".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.extend([
        "--verify".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--log".as_ref(),
        url.as_ref(),
    ]);
    provlog(&all)
}

fn events_of(answer: &Value) -> BTreeSet<u64> {
    answer["events"].as_array().unwrap().iter().map(|e| e["index"].as_u64().unwrap()).collect()
}

fn indexes(at: &BTreeMap<&str, u64>, names: &[&str]) -> BTreeSet<u64> {
    names.iter().map(|n| at[n]).collect()
}

#[test]
fn lineage_answers_are_the_submitted_chain_and_verify_with_the_real_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let log = DevLog::start(&tmp.path().join("dev"));
    let policy = log.policy();
    let url = log.url();
    let at = submit(&log, tmp.path());

    // GET /lineage: the answer, its checkpoint, and one proof per entry.
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| http.get(format!("{url}{path}")).send().unwrap();
    let r = get(&format!("/lineage/{CASE_1}?direction=back"));
    assert_eq!(r.status(), 200);
    let body: Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
    let answer = &body["answer"];
    let size = 1 + at.len() as u64;
    assert_eq!(answer["tree_size"], size);
    assert!(body["checkpoint"].as_str().unwrap().lines().nth(1) == Some(&size.to_string()));
    let back = indexes(
        &at,
        &[
            "commission-a",
            "commission-b",
            "ship-lots",
            "receive-lots",
            "transform",
            "pack",
            "ship-pallet",
            "receive-right",
        ],
    );
    assert_eq!(events_of(answer), back, "{answer:#}");
    let proven: Vec<u64> =
        body["entries"].as_array().unwrap().iter().map(|e| e["index"].as_u64().unwrap()).collect();
    let mut referred: Vec<u64> =
        back.iter().copied().chain([at["receive-wrong"], at["declaration"]]).collect();
    referred.sort();
    assert_eq!(proven, referred, "events, the declared event and its declaration are proven");
    let origins: Vec<&str> =
        answer["origins"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    let canonical = |id: &str| provlog_ledger::lineage::canonical(id).unwrap();
    assert_eq!(origins, [canonical(LOT_A), canonical(LOT_B)]);
    let c = &answer["corrections"][0];
    assert_eq!(
        (c["declared"].as_u64(), c["declaration"].as_u64()),
        (Some(at["receive-wrong"]), Some(at["declaration"]))
    );
    assert_eq!(c["correctives"], json!([at["receive-right"]]));

    // Bad parameters are RFC 9290 problems.
    for (path, rule) in [
        (format!("/lineage/{CASE_1}?direction=sideways"), "request.direction"),
        (format!("/lineage/{CASE_1}"), "request.direction"),
        (format!("/lineage/{CASE_1}?direction=back&at=noon"), "request.at"),
        (format!("/lineage/{CASE_1}?direction=back&max_events=100000"), "request.max-events"),
        (format!("/lineage/{CASE_1}?direction=back&max_depth=x"), "request.query"),
        ("/lineage/urn:epc:id:sgtin:12?direction=back".to_owned(), "request.identifier"),
        (format!("/lineage/urn:x:{}?direction=back", "y".repeat(2000)), "request.identifier"),
    ] {
        let r = get(&path);
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
        assert_eq!(p["rule"], rule, "{path}: {p}");
    }

    // provlog trace --verify, the real binary, in each direction.
    let json_of = |run: &Run| -> Value { serde_json::from_str(&run.stdout).unwrap() };
    let run = trace(&[CASE_1, "--direction", "back", "--format", "json"], &policy, &url);
    run.expect(0);
    assert_eq!(events_of(&json_of(&run)["answer"]), back);
    assert!(run.stderr.contains("verified"), "{}", run.stderr);

    // Forward from lot A: not lot B's harvest, nor the unrelated lot.
    let forward = indexes(
        &at,
        &["commission-a", "ship-lots", "receive-lots", "transform", "pack", "ship-pallet", "receive-right"],
    );
    let run = trace(&[LOT_A, "--direction", "forward", "--format", "json"], &policy, &url);
    assert_eq!(events_of(&json_of(run.expect(0))["answer"]), forward);
    // A Digital Link spelling of the same lot is the same question.
    let dl = "https://id.gs1.org/01/10614141073464/10/LA";
    let run = trace(&[dl, "--direction", "forward", "--format", "json"], &policy, &url);
    assert_eq!(events_of(&json_of(run.expect(0))["answer"]), forward);

    // Recall from a case: back to both lots, forward from each.
    let run = trace(&[CASE_1, "--direction", "recall", "--format", "json"], &policy, &url);
    assert_eq!(events_of(&json_of(run.expect(0))["answer"]), back);
    // Lot A is its own origin: its recall scope is its forward trace, and
    // lot B's harvest is not in it.
    let run = trace(&[LOT_A, "--direction", "recall", "--format", "json"], &policy, &url);
    assert_eq!(events_of(&json_of(run.expect(0))["answer"]), forward);

    // As recorded: the wrong receipt is there, marked, next to the right one.
    let run =
        trace(&[CASE_2, "--direction", "back", "--view", "as-recorded", "--format", "json"], &policy, &url);
    let answer = json_of(run.expect(0))["answer"].clone();
    let mut recorded = back.clone();
    recorded.insert(at["receive-wrong"]);
    assert_eq!(events_of(&answer), recorded);
    let wrong =
        answer["events"].as_array().unwrap().iter().find(|e| e["index"] == at["receive-wrong"]).unwrap();
    assert_eq!(wrong["declared_by"], at["declaration"]);

    // CSV: one row per event per lot; the transformation has one row per
    // input lot and one for its output lot.
    let run = trace(&[LOT_A, "--direction", "forward", "--format", "csv"], &policy, &url);
    let csv = run.expect(0).stdout.clone();
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col =
        |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let of = |entry: u64| -> Vec<(&str, &str)> {
        rows.iter()
            .filter(|r| r[col("entry_index")] == entry.to_string())
            .map(|r| (r[col("traceability_lot_code")], r[col("tlc_role")]))
            .collect()
    };
    assert_eq!(
        of(at["transform"]),
        [
            ("(01)10614141073464(10)LA", "input"),
            ("(01)10614141073464(10)LB", "input"),
            ("(01)20614142000015(10)J1", "output")
        ]
    );
    assert_eq!(of(at["commission-a"]), [("(01)10614141073464(10)LA", "object")]);
    let cte =
        rows.iter().find(|r| r[col("entry_index")] == at["commission-a"].to_string()).unwrap()[col("cte")];
    assert_eq!(cte, "initial_packing");
    let shipped: Vec<(&str, &str)> = of(at["ship-lots"]);
    assert_eq!(shipped, [("(01)10614141073464(10)LA", "object"), ("(01)10614141073464(10)LB", "object")]);
    for e in &forward {
        assert!(!of(*e).is_empty(), "no CSV row for event {e}");
    }

    // DOT: every event a node, every answer edge an arrow, the
    // transformation linked to the aggregation of its cases.
    let run = trace(&[LOT_A, "--direction", "forward", "--format", "dot"], &policy, &url);
    let dot = run.expect(0).stdout.clone();
    assert!(dot.starts_with("digraph lineage {"), "{dot}");
    for e in &forward {
        assert!(dot.contains(&format!("  e{e} [label=")), "node {e}: {dot}");
    }
    let run = trace(&[LOT_A, "--direction", "forward", "--format", "json"], &policy, &url);
    let edges = json_of(&run)["answer"]["edges"].clone();
    assert!(!edges.as_array().unwrap().is_empty());
    for edge in edges.as_array().unwrap() {
        assert!(dot.contains(&format!("  e{} -> e{} [", edge["from"], edge["to"])), "{edge}: {dot}");
    }
    assert!(dot.contains(&format!("  e{} -> e{} [", at["transform"], at["pack"])), "{dot}");

    // The table names every event.
    let run = trace(&[CASE_1, "--direction", "back"], &policy, &url);
    let table = run.expect(0).stdout.clone();
    for e in &back {
        assert!(table.lines().any(|l| l.trim_start().starts_with(&format!("{e} "))), "event {e}: {table}");
    }

    tampering_is_not_verified(tmp.path(), &policy, &url, &back);
}

/// A saved answer verifies offline; each tampering fails with exit 1.
fn tampering_is_not_verified(dir: &Path, policy: &Path, url: &str, back: &BTreeSet<u64>) {
    let run = trace(&[CASE_1, "--direction", "back", "--format", "json"], policy, url);
    let saved: Value = serde_json::from_str(&run.expect(0).stdout).unwrap();
    let offline = |answer: &Value, policy: &Path, name: &str| -> Run {
        let file: PathBuf = dir.join(name);
        std::fs::write(&file, serde_json::to_vec(answer).unwrap()).unwrap();
        provlog(&[
            "trace".as_ref(),
            "--from".as_ref(),
            file.as_os_str(),
            "--direction".as_ref(),
            "back".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            "--verify".as_ref(),
            "--policy".as_ref(),
            policy.as_os_str(),
        ])
    };
    let run = offline(&saved, policy, "good.json");
    assert_eq!(events_of(&json_of_stdout(run.expect(0))["answer"]), *back);

    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    // One byte of one entry changed.
    let mut t = saved.clone();
    let mut bytes = BASE64.decode(t["entries"][2]["entry"].as_str().unwrap()).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    t["entries"][2]["entry"] = json!(BASE64.encode(&bytes));
    let run = offline(&t, policy, "entry-byte.json");
    run.expect(1);
    assert!(run.stderr.contains("NOT VERIFIED") && run.stderr.contains("not proven"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing is printed from an answer that does not verify");

    // A summary changed (the entries untouched).
    let mut t = saved.clone();
    t["answer"]["events"][0]["summary"]["biz_step"] = json!("destroying");
    let run = offline(&t, policy, "summary.json");
    run.expect(1);
    assert!(run.stderr.contains("summary of event"), "{}", run.stderr);

    // An event left without its proof.
    let mut t = saved.clone();
    t["entries"].as_array_mut().unwrap().remove(0);
    offline(&t, policy, "missing-proof.json").expect(1);

    // A policy naming another key for the log's origin.
    let text = std::fs::read_to_string(policy).unwrap();
    let origin = text.lines().find(|l| l.starts_with("log ")).unwrap().split(' ').nth(1).unwrap();
    let origin_name = origin.split('+').next().unwrap();
    let key = dir.join("other.key");
    let other = provlog(&["--json", "keygen", "--name", origin_name, "--out", key.to_str().unwrap()]);
    let other_vkey = other.expect(0).json_lines()[0]["vkey"].as_str().unwrap().to_owned();
    let other_policy = dir.join("other.policy");
    std::fs::write(&other_policy, text.replace(origin, &other_vkey)).unwrap();
    let run = offline(&saved, &other_policy, "other-key.json");
    run.expect(1);
    assert!(run.stderr.contains("does not satisfy the policy"), "{}", run.stderr);

    // Not an answer at all: malformed input; no log there: transport.
    std::fs::write(dir.join("garbage.json"), b"{\"answer\": 1}").unwrap();
    provlog(&[
        "trace".as_ref(),
        "--from".as_ref(),
        dir.join("garbage.json").as_os_str(),
        "--direction".as_ref(),
        "back".as_ref(),
    ])
    .expect(2);
    provlog(&["trace", "not a uri", "--direction", "back", "--log", url]).expect(2);
    provlog(&["--retries", "0", "trace", CASE_1, "--direction", "back", "--log", "http://127.0.0.1:9"])
        .expect(3);
}

fn json_of_stdout(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap()
}
