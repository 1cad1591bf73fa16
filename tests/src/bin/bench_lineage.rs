//! Benchmark of the lineage index (`spec/lineage.md`): builds a log of a
//! generated produce supply chain, then measures trace-back, trace-forward
//! and recall-scope latency (p50, p99) on it. See BENCHMARKS.md, "Lineage".
//!
//! The chain: 200 growers harvest lots; 40 packers each keep 6 lots in
//! stock and mix 3 of them at random per packing run (every lot goes into
//! 3 runs, in changing combinations) into a packed lot and 24 cases
//! (a TransformationEvent), palletize them on 2 pallets (one run in ten
//! takes a case off again), ship the pallets to one of 10 distributors, who
//! break them and ship the cases in fours to 300 retailers (each receipt
//! followed by a sale); one run in five sends four cases to one of 10
//! processors, who turn 8 cases from 2 runs into a kit lot and 8 kit cases
//! and ship them on. About 28 events per packing run.
//!
//! Two ways to build the log:
//!
//! - direct (default): each event goes through the log's apply path without
//!   its signature, rules and COSE: the state records `log::apply_event`
//!   writes (statement, event and object records, mentions) plus
//!   `lineage::index_event`, committed with an entry of `--entry-bytes`
//!   filler bytes by `TiledTree::append` in batches of `--batch`, each
//!   flushed to disk. Events are built as the normalized `Event` directly
//!   (the first 2,000 are checked equal to what `epcis::parse_event` makes
//!   of their JSON). `--no-lineage` skips `index_event`, to measure its
//!   cost on this path.
//! - `--signed`: the real `Log::register` on sled: events as EPCIS JSON,
//!   signed (COSE_Sign1, 8 partner keys, on 2 threads) and registered in
//!   batches of `--batch` under the permissive rule set (every rule runs;
//!   scope checks only flag, since partners' scopes are not modelled),
//!   flushed after each batch. Reports statements/s of `register` alone.
//!
//! Then the store is closed and reopened (cold cache), and `--queries`
//! random targets are traced each way with default limits, one thread.
//!
//! usage: bench_lineage [--events N] [--queries Q] [--batch B] [--entry-bytes E]
//!                      [--cache-mb M] [--dir DIR] [--engine sled|fjall] [--no-lineage]
//!                      [--signed] [--keep] [--reuse] (query a log kept from an earlier run)
//!
//! `--engine` picks the storage engine behind the log (default sled, the
//! server's default); the same engine is used to reopen it for the queries.

use provlog_ledger::epcis::{
    self, Action, BizTransaction, Event, EventKind, Identifier, Quantity, SourceDestination, TimeZoneOffset,
};
use provlog_ledger::governance::{
    Action as Gov, GovernancePayload, GovernanceSpec, KeySpec, PartnerSpec, Role, Scopes, GOVERNANCE_ISSUER,
};
use provlog_ledger::known_keys::KnownKeys;
use provlog_ledger::lineage::{self, Direction, Lineage, Query};
use provlog_ledger::log::{Log, Outcome};
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::state::{EventRecord, ObjectRecord, PendingState, StateView, StoredState};
use provlog_ledger::statement::{Statement, StatementId, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use provlog_ledger::storage::{FjallConfig, FjallStore, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORIGIN: &str = "bench.provlog.invalid/lineage";
const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const GROWERS: u64 = 200;
const PACKERS: u64 = 40;
const DISTRIBUTORS: u64 = 10;
const RETAILERS: u64 = 300;
const PROCESSORS: u64 = 10;
const CASES_PER_RUN: usize = 24;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect(name))
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// xorshift64: deterministic and fast.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn party(base: u64, i: u64) -> String {
    format!("{:07}", base + i)
}
fn pgln(prefix: &str) -> String {
    format!("urn:epc:id:pgln:{prefix}.00001")
}
fn sgln(prefix: &str) -> String {
    format!("urn:epc:id:sgln:{prefix}.00001.0")
}

/// One generated event, before it becomes JSON or an `Event`.
#[derive(Clone, Default)]
struct Ev {
    kind: u8, // 0 object, 1 aggregation, 3 transformation
    action: Option<&'static str>,
    time_ms: i64,
    biz_step: &'static str,
    location: String,
    epcs: Vec<String>,
    quantities: Vec<(String, f64)>,
    parent: Option<String>,
    children: Vec<String>,
    inputs: Vec<String>,
    input_q: Vec<(String, f64)>,
    outputs: Vec<String>,
    output_q: Vec<(String, f64)>,
    from_to: Option<(String, String)>,
    document: Option<String>,
}

fn time_text(ms: i64) -> String {
    lineage::fsma::format_time(ms, 0)
}

fn json_str(s: &str) -> String {
    format!("\"{s}\"")
}

fn json_list(l: &[String]) -> String {
    format!("[{}]", l.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(","))
}

fn json_q(l: &[(String, f64)]) -> String {
    let items: Vec<String> =
        l.iter().map(|(c, q)| format!("{{\"epcClass\":\"{c}\",\"quantity\":{q},\"uom\":\"KGM\"}}")).collect();
    format!("[{}]", items.join(","))
}

impl Ev {
    fn to_json(&self, event_id: &str) -> String {
        let ty = ["ObjectEvent", "AggregationEvent", "", "TransformationEvent"][self.kind as usize];
        let mut j = format!(
            "{{\"@context\":\"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\",\"type\":\"{ty}\",\
             \"eventID\":\"{event_id}\",\"eventTime\":\"{}\",\"eventTimeZoneOffset\":\"+00:00\",\"bizStep\":\"{}\",\
             \"readPoint\":{{\"id\":\"{}\"}},\"bizLocation\":{{\"id\":\"{}\"}}",
            time_text(self.time_ms),
            self.biz_step,
            self.location,
            self.location
        );
        if let Some(a) = self.action {
            let _ = write!(j, ",\"action\":\"{a}\"");
        }
        match self.kind {
            0 => {
                let _ = write!(j, ",\"epcList\":{}", json_list(&self.epcs));
                if !self.quantities.is_empty() {
                    let _ = write!(j, ",\"quantityList\":{}", json_q(&self.quantities));
                }
            }
            1 => {
                let _ = write!(
                    j,
                    ",\"parentID\":\"{}\",\"childEPCs\":{}",
                    self.parent.as_ref().unwrap(),
                    json_list(&self.children)
                );
            }
            _ => {
                for (k, l) in [("inputEPCList", &self.inputs), ("outputEPCList", &self.outputs)] {
                    if !l.is_empty() {
                        let _ = write!(j, ",\"{k}\":{}", json_list(l));
                    }
                }
                for (k, l) in [("inputQuantityList", &self.input_q), ("outputQuantityList", &self.output_q)] {
                    if !l.is_empty() {
                        let _ = write!(j, ",\"{k}\":{}", json_q(l));
                    }
                }
            }
        }
        if let Some((from, to)) = &self.from_to {
            let _ = write!(
                j,
                ",\"sourceList\":[{{\"type\":\"owning_party\",\"source\":\"{from}\"}}],\
                 \"destinationList\":[{{\"type\":\"owning_party\",\"destination\":\"{to}\"}}]"
            );
        }
        if let Some(d) = &self.document {
            let _ = write!(j, ",\"bizTransactionList\":[{{\"type\":\"desadv\",\"bizTransaction\":\"{d}\"}}]");
        }
        j.push('}');
        j
    }

    fn to_event(&self, event_id: &str, ids: &mut IdCache) -> Event {
        let q = |l: &[(String, f64)], ids: &mut IdCache| -> Vec<Quantity> {
            l.iter()
                .map(|(c, n)| Quantity { epc_class: ids.get(c), quantity: Some(*n), uom: Some("KGM".into()) })
                .collect()
        };
        let list =
            |l: &[String], ids: &mut IdCache| -> Vec<Identifier> { l.iter().map(|s| ids.get(s)).collect() };
        let party = |kind: &str, id: &str, ids: &mut IdCache| SourceDestination {
            kind: kind.into(),
            id: ids.get(id),
        };
        let location = ids.get(&self.location);
        Event {
            kind: [
                EventKind::Object,
                EventKind::Aggregation,
                EventKind::Transaction,
                EventKind::Transformation,
            ][self.kind as usize],
            event_time_ms: self.time_ms,
            record_time_ms: None,
            time_zone_offset: TimeZoneOffset { minutes: 0 },
            event_id: Some(event_id.to_owned()),
            action: self.action.map(|a| Action::from_name(a).unwrap()),
            biz_step: Some(self.biz_step.to_owned()),
            disposition: None,
            persistent_disposition: None,
            read_point: Some(location.clone()),
            biz_location: Some(location),
            epcs: list(&self.epcs, ids),
            quantities: q(&self.quantities, ids),
            parent_id: self.parent.as_ref().map(|p| ids.get(p)),
            child_epcs: list(&self.children, ids),
            child_quantities: Vec::new(),
            input_epcs: list(&self.inputs, ids),
            input_quantities: q(&self.input_q, ids),
            output_epcs: list(&self.outputs, ids),
            output_quantities: q(&self.output_q, ids),
            transformation_id: None,
            sources: self.from_to.iter().map(|(f, _)| party("owning_party", f, ids)).collect(),
            destinations: self.from_to.iter().map(|(_, t)| party("owning_party", t, ids)).collect(),
            biz_transactions: self
                .document
                .iter()
                .map(|d| BizTransaction { transaction_type: Some("desadv".into()), transaction: d.clone() })
                .collect(),
            sensor_elements: Vec::new(),
            error_declaration: None,
            certification_info: Vec::new(),
            ilmd: None,
            extensions: Default::default(),
        }
    }
}

/// Parsed identifiers, kept while they are likely to be named again.
#[derive(Default)]
struct IdCache(HashMap<String, Identifier>);
impl IdCache {
    fn get(&mut self, s: &str) -> Identifier {
        if self.0.len() > 200_000 {
            self.0.clear();
        }
        self.0
            .entry(s.to_owned())
            .or_insert_with(|| Identifier::parse(s).expect("generated identifier"))
            .clone()
    }
}

/// Targets for the queries, sampled uniformly over the whole log.
#[derive(Default)]
struct Samples {
    cases: Vec<String>,
    lots: Vec<String>,
    kits: Vec<String>,
    seen: [u64; 3],
}

impl Samples {
    fn offer(&mut self, which: usize, id: &str, keep: usize, rng: &mut Rng) {
        self.seen[which] += 1;
        let list = match which {
            0 => &mut self.cases,
            1 => &mut self.lots,
            _ => &mut self.kits,
        };
        if list.len() < keep {
            list.push(id.to_owned());
        } else {
            let j = rng.below(self.seen[which]) as usize;
            if j < keep {
                list[j] = id.to_owned();
            }
        }
    }
}

struct Gen {
    rng: Rng,
    time_ms: i64,
    run: u64,
    lot_seq: u64,
    kit_seq: u64,
    /// Per packer: received lots and how many runs may still use them.
    lots: Vec<Vec<(String, u32)>>,
    /// Per processor: received cases.
    processor_cases: Vec<Vec<String>>,
    samples: Samples,
    keep: usize,
}

impl Gen {
    fn new(keep: usize) -> Gen {
        Gen {
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            time_ms: T0_MS,
            run: 0,
            lot_seq: 0,
            kit_seq: 0,
            lots: vec![Vec::new(); PACKERS as usize],
            processor_cases: vec![Vec::new(); PROCESSORS as usize],
            samples: Samples::default(),
            keep,
        }
    }

    fn tick(&mut self, minutes: i64) -> i64 {
        self.time_ms += minutes * 60_000;
        self.time_ms
    }

    fn ship(&mut self, out: &mut Vec<Ev>, from: &str, to: &str, epcs: Vec<String>, q: Vec<(String, f64)>) {
        let t = self.tick(1);
        let doc = format!("urn:epcglobal:cbv:bt:{from}0000:{}", self.run);
        out.push(Ev {
            kind: 0,
            action: Some("OBSERVE"),
            time_ms: t,
            biz_step: "shipping",
            location: sgln(from),
            epcs: epcs.clone(),
            quantities: q.clone(),
            from_to: Some((pgln(from), pgln(to))),
            document: Some(doc),
            ..Ev::default()
        });
        let t = self.tick(30);
        out.push(Ev {
            kind: 0,
            action: Some("OBSERVE"),
            time_ms: t,
            biz_step: "receiving",
            location: sgln(to),
            epcs,
            quantities: q,
            from_to: Some((pgln(from), pgln(to))),
            ..Ev::default()
        });
    }

    /// The events of one packing run (and the harvests and kits it needs).
    fn run(&mut self, out: &mut Vec<Ev>) {
        self.run += 1;
        let run = self.run;
        let k = (run % PACKERS) as usize;
        let kp = party(810_000, k as u64);
        // Keep six lots in stock and mix three of them at random, so that
        // runs share lots in changing combinations.
        while self.lots[k].len() < 6 {
            self.lot_seq += 1;
            let gp = party(800_000, self.rng.below(GROWERS));
            let lot = format!("urn:epc:class:lgtin:{gp}.100001.L{}", self.lot_seq);
            let t = self.tick(1);
            out.push(Ev {
                kind: 0,
                action: Some("ADD"),
                time_ms: t,
                biz_step: "commissioning",
                location: sgln(&gp),
                quantities: vec![(lot.clone(), 900.0)],
                ..Ev::default()
            });
            self.ship(out, &gp, &kp, vec![], vec![(lot.clone(), 900.0)]);
            let keep = self.keep;
            self.samples.offer(1, &lot, keep, &mut self.rng);
            self.lots[k].push((lot, 3));
        }
        let mut inputs: Vec<(String, f64)> = Vec::new();
        while inputs.len() < 3 {
            let i = self.rng.below(self.lots[k].len() as u64) as usize;
            let (lot, uses) = &mut self.lots[k][i];
            if inputs.iter().any(|(l, _)| l == lot) {
                continue;
            }
            *uses -= 1;
            inputs.push((lot.clone(), 300.0));
        }
        self.lots[k].retain(|(_, u)| *u > 0);
        let packed = format!("urn:epc:class:lgtin:{kp}.200001.K{run}");
        let cases: Vec<String> =
            (0..CASES_PER_RUN).map(|i| format!("urn:epc:id:sgtin:{kp}.200001.{run}-{i}")).collect();
        let t = self.tick(5);
        out.push(Ev {
            kind: 3,
            time_ms: t,
            biz_step: "commissioning",
            location: sgln(&kp),
            input_q: inputs,
            output_q: vec![(packed, 850.0)],
            outputs: cases.clone(),
            ..Ev::default()
        });
        let pallets = [
            format!("urn:epc:id:sscc:{kp}.{:010}", run * 2),
            format!("urn:epc:id:sscc:{kp}.{:010}", run * 2 + 1),
        ];
        for (j, p) in pallets.iter().enumerate() {
            let t = self.tick(2);
            out.push(Ev {
                kind: 1,
                action: Some("ADD"),
                time_ms: t,
                biz_step: "packing",
                location: sgln(&kp),
                parent: Some(p.clone()),
                children: cases[j * 12..(j + 1) * 12].to_vec(),
                ..Ev::default()
            });
        }
        let mut on_pallets = cases.clone();
        if run % 10 == 0 {
            // One case taken off before shipping; it stays at the packer.
            let t = self.tick(1);
            out.push(Ev {
                kind: 1,
                action: Some("DELETE"),
                time_ms: t,
                biz_step: "unpacking",
                location: sgln(&kp),
                parent: Some(pallets[0].clone()),
                children: vec![cases[0].clone()],
                ..Ev::default()
            });
            on_pallets.remove(0);
        }
        let dp = party(820_000, self.rng.below(DISTRIBUTORS));
        self.ship(out, &kp, &dp, pallets.to_vec(), vec![]);
        for p in &pallets {
            let t = self.tick(1);
            out.push(Ev {
                kind: 1,
                action: Some("DELETE"),
                time_ms: t,
                biz_step: "unpacking",
                location: sgln(&dp),
                parent: Some(p.clone()),
                ..Ev::default()
            });
        }
        for (g, group) in on_pallets.chunks(4).enumerate() {
            if run % 5 == 0 && g == 0 {
                let pr = (self.rng.below(PROCESSORS)) as usize;
                let pp = party(840_000, pr as u64);
                self.ship(out, &dp, &pp, group.to_vec(), vec![]);
                self.processor_cases[pr].extend(group.iter().cloned());
                if self.processor_cases[pr].len() >= 8 {
                    self.kits(out, pr);
                }
                continue;
            }
            let rp = party(830_000, self.rng.below(RETAILERS));
            self.ship(out, &dp, &rp, group.to_vec(), vec![]);
            let t = self.tick(60);
            out.push(Ev {
                kind: 0,
                action: Some("OBSERVE"),
                time_ms: t,
                biz_step: "retail_selling",
                location: sgln(&rp),
                epcs: vec![group[0].clone()],
                ..Ev::default()
            });
            let keep = self.keep;
            self.samples.offer(0, &group[0], keep, &mut self.rng);
        }
    }

    fn kits(&mut self, out: &mut Vec<Ev>, pr: usize) {
        self.kit_seq += 1;
        let pp = party(840_000, pr as u64);
        let inputs: Vec<String> = self.processor_cases[pr].drain(..8).collect();
        let kit_lot = format!("urn:epc:class:lgtin:{pp}.300001.P{}", self.kit_seq);
        let kits: Vec<String> =
            (0..8).map(|i| format!("urn:epc:id:sgtin:{pp}.300001.{}-{i}", self.kit_seq)).collect();
        let t = self.tick(10);
        out.push(Ev {
            kind: 3,
            time_ms: t,
            biz_step: "commissioning",
            location: sgln(&pp),
            inputs,
            outputs: kits.clone(),
            output_q: vec![(kit_lot, 8.0)],
            ..Ev::default()
        });
        let rp = party(830_000, self.rng.below(RETAILERS));
        self.ship(out, &pp, &rp, kits.clone(), vec![]);
        let keep = self.keep;
        self.samples.offer(2, &kits[0], keep, &mut self.rng);
    }
}

fn event_id(index: u64) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{index:012}")
}

/// A statement ID for the direct build: any 32 bytes unique per entry.
fn fake_statement_id(index: u64) -> StatementId {
    let mut id = [0u8; 32];
    let mut x = index.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for chunk in id.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    id[..8].copy_from_slice(&index.to_be_bytes());
    StatementId(id)
}

/// What `log::apply_event` writes for an accepted event (statement, event,
/// object and mention records), then the lineage records.
fn apply_like_the_log(
    pending: &mut PendingState,
    index: u64,
    issuer: &str,
    event: &Event,
    lineage_on: bool,
) -> Duration {
    let sid = fake_statement_id(index);
    pending.put_statement(&sid.0, index);
    if let Some(id) = &event.event_id {
        pending.put_event(id, EventRecord { index, issuer: issuer.to_owned(), declared_at: None });
    }
    let t = Instant::now();
    if lineage_on {
        lineage::index_event(pending, &sid, issuer, index, event, None);
    }
    let spent = t.elapsed();
    let shipping = event.biz_step.as_deref() == Some("shipping");
    for id in event.canonical_identifiers() {
        let mut rec = match pending.object(id) {
            Ok(Some(r)) => r,
            _ => ObjectRecord { first_index: index, first_issuer: issuer.to_owned(), ..Default::default() },
        };
        if shipping {
            rec.first_shipped_ms =
                Some(rec.first_shipped_ms.map_or(event.event_time_ms, |s| s.min(event.event_time_ms)));
        }
        pending.put_object(id, rec);
        pending.put_mention(id, index);
    }
    spent
}

fn build_direct(
    store: Arc<dyn Store>,
    events: u64,
    batch: u64,
    entry_bytes: usize,
    lineage_on: bool,
    g: &mut Gen,
) -> anyhow::Result<u64> {
    let mut tree = TiledTree::open(store.clone())?;
    let state = StoredState::new(store.clone());
    let mut ids = IdCache::default();
    let mut queue: Vec<Ev> = Vec::new();
    let t0 = Instant::now();
    let mut index = tree.size();
    let mut in_lineage = Duration::ZERO;
    let (mut lineage_records, mut lineage_bytes) = (0u64, 0u64);
    let report_every = (events / 10).max(batch);
    let mut next_report = report_every;
    let mut checked = 0;
    while index < events {
        let n = batch.min(events - index);
        let mut pending = PendingState::new(&state);
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            if queue.is_empty() {
                g.run(&mut queue);
                queue.reverse();
            }
            let ev = queue.pop().unwrap();
            let id = event_id(index);
            let event = ev.to_event(&id, &mut ids);
            if checked < 2000 {
                let parsed = epcis::parse_event(ev.to_json(&id).as_bytes())?;
                assert_eq!(parsed, event, "the direct Event equals the parsed JSON");
                checked += 1;
            }
            in_lineage +=
                apply_like_the_log(&mut pending, index, "urn:epc:id:pgln:0800000.00001", &event, lineage_on);
            let mut e = vec![(index % 251) as u8; entry_bytes];
            e[..8].copy_from_slice(&index.to_be_bytes());
            entries.push(e);
            index += 1;
        }
        let b = pending.into_batch();
        for (k, v) in b.ops() {
            if k.first() == Some(&b'L') {
                lineage_records += 1;
                lineage_bytes += (k.len() + v.as_ref().map_or(0, Vec::len)) as u64;
            }
        }
        tree.append(&entries, b)?;
        tree.flush()?;
        if index >= next_report {
            println!(
                "  size={index} elapsed={:.1}s rate={:.0} events/s rss={} MiB",
                t0.elapsed().as_secs_f64(),
                index as f64 / t0.elapsed().as_secs_f64(),
                status_kib("VmRSS:") / 1024
            );
            next_report += report_every;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "build (direct apply path, lineage {}): {events} events in {secs:.1}s = {:.0} events/s; index_event {:.2} us/event; \
         lineage records {:.2}/event, {:.0} bytes/event",
        if lineage_on { "on" } else { "off" },
        events as f64 / secs,
        in_lineage.as_secs_f64() * 1e6 / events as f64,
        lineage_records as f64 / events as f64,
        lineage_bytes as f64 / events as f64
    );
    Ok(index)
}

/// The CPU cost of `lineage::index_event` alone: events indexed into a
/// pending state over an empty in-memory store, batches dropped.
fn micro(g: &mut Gen, events: u64) {
    let store: Arc<dyn Store> = Arc::new(provlog_ledger::storage::MemoryStore::new());
    let state = StoredState::new(store);
    let mut ids = IdCache::default();
    let mut queue = Vec::new();
    let mut evs = Vec::new();
    for i in 0..events.min(200_000) {
        if queue.is_empty() {
            g.run(&mut queue);
            queue.reverse();
        }
        let ev: Ev = queue.pop().unwrap();
        evs.push(ev.to_event(&event_id(i), &mut ids));
    }
    let sid = fake_statement_id(1);
    let t = Instant::now();
    let mut records = 0;
    for chunk in evs.chunks(1000) {
        let mut pending = PendingState::new(&state);
        for (i, e) in chunk.iter().enumerate() {
            lineage::index_event(&mut pending, &sid, "urn:epc:id:pgln:0800000.00001", i as u64, e, None);
        }
        records += pending.into_batch().len();
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / evs.len() as f64;
    println!(
        "index_event alone: {us:.2} us/event over {} events, {:.2} records/event",
        evs.len(),
        records as f64 / evs.len() as f64
    );
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn build_signed(store: Arc<dyn Store>, events: u64, batch: u64, g: &mut Gen) -> anyhow::Result<Log> {
    let mut log = Log::open(store, ORIGIN)?;
    let gov = generate_signing_key();
    let keys: Vec<_> = (0..8).map(|_| generate_signing_key()).collect();
    let partner = |i: usize| pgln(&party(850_000, i as u64));
    let partners = (0..keys.len())
        .map(|i| PartnerSpec {
            id: partner(i),
            name: format!("bench partner {i}"),
            role: Role::Partner,
            keys: vec![KeySpec {
                public_key: base64(keys[i].verifying_key().as_bytes()),
                not_before_ms: None,
                not_after_ms: None,
            }],
            scopes: Scopes::any(),
        })
        .collect();
    let genesis = GovernancePayload {
        origin: ORIGIN.into(),
        nonce: String::new(),
        action: Gov::Genesis {
            governance: GovernanceSpec { keys: vec![base64(gov.verifying_key().as_bytes())], quorum: 1 },
            partners,
            rule_set: RuleSet::permissive("bench"),
        },
    };
    let now_ms = (T0_MS + 400 * 86_400_000 * 10) as u64;
    let stmt = Statement::sign_multi(
        &[&gov],
        GOVERNANCE_ISSUER,
        "governance",
        now_ms / 1000,
        CONTENT_TYPE_GOVERNANCE,
        &genesis.to_json(),
    )?;
    let out = log.register(&[stmt], now_ms)?;
    assert!(matches!(out[0], Outcome::Registered { .. }), "{out:?}");
    let mut queue: Vec<Ev> = Vec::new();
    let (mut registering, mut signing) = (Duration::ZERO, Duration::ZERO);
    let mut flagged = 0u64;
    let chunk = 10_000u64;
    let mut done = 0u64;
    while done < events {
        let n = chunk.min(events - done);
        let mut items = Vec::with_capacity(n as usize);
        for i in 0..n {
            if queue.is_empty() {
                g.run(&mut queue);
                queue.reverse();
            }
            let index = log.size() + i;
            items.push((index, queue.pop().unwrap().to_json(&event_id(index))));
        }
        let t = Instant::now();
        let half = items.len() / 2;
        let sign = |part: &[(u64, String)]| -> Vec<Statement> {
            part.iter()
                .map(|(index, json)| {
                    let k = (*index % keys.len() as u64) as usize;
                    Statement::sign1(
                        &keys[k],
                        &partner(k),
                        &event_id(*index),
                        now_ms / 1000,
                        CONTENT_TYPE_EPCIS,
                        json.as_bytes(),
                    )
                    .expect("sign")
                })
                .collect()
        };
        let (a, b) = std::thread::scope(|s| {
            let h = s.spawn(|| sign(&items[..half]));
            let b = sign(&items[half..]);
            (h.join().expect("signer"), b)
        });
        signing += t.elapsed();
        let stmts: Vec<Statement> = a.into_iter().chain(b).collect();
        let t = Instant::now();
        for part in stmts.chunks(batch as usize) {
            for o in log.register(part, now_ms)? {
                match o {
                    Outcome::Registered { flags, .. } => flagged += u64::from(!flags.is_empty()),
                    other => anyhow::bail!("not registered: {other:?}"),
                }
            }
            log.flush()?;
        }
        registering += t.elapsed();
        done += n;
        if done % (events / 10).max(chunk) == 0 {
            println!(
                "  size={} register {:.0} statements/s rss={} MiB",
                log.size(),
                done as f64 / registering.as_secs_f64(),
                status_kib("VmRSS:") / 1024
            );
        }
    }
    println!(
        "build (signed, Log::register, batches of {batch}, flushed): {events} statements; register {:.1}s = {:.0} statements/s; \
         signing (2 threads, not counted) {:.1}s; {flagged} entries flagged",
        registering.as_secs_f64(),
        events as f64 / registering.as_secs_f64(),
        signing.as_secs_f64()
    );
    Ok(log)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn measure(
    lineage: &Lineage,
    tree_size: u64,
    name: &str,
    direction: Direction,
    targets: &[String],
) -> anyhow::Result<String> {
    let mut ms = Vec::with_capacity(targets.len());
    let (mut events, mut max_events, mut truncated) = (0usize, 0usize, 0usize);
    for t in targets {
        let q = Query::new(t, direction, None, tree_size);
        let start = Instant::now();
        let a = lineage.query(&q)?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        events += a.events.len();
        max_events = max_events.max(a.events.len());
        truncated += usize::from(a.truncated);
    }
    ms.sort_by(f64::total_cmp);
    let line = format!(
        "{name:<22} n={:<4} p50={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms  events/answer mean={:.0} max={max_events}  truncated={truncated}",
        targets.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN),
        events as f64 / targets.len().max(1) as f64
    );
    println!("{line}");
    Ok(line)
}

fn main() -> anyhow::Result<()> {
    let events = arg("--events", 1_000_000);
    let queries = arg("--queries", 200) as usize;
    let batch = arg("--batch", 1000);
    let entry_bytes = arg("--entry-bytes", 800) as usize;
    let cache_bytes = arg("--cache-mb", 64) << 20;
    let args: Vec<String> = std::env::args().collect();
    let engine = match args.iter().position(|a| a == "--engine").and_then(|i| args.get(i + 1)) {
        None => "sled",
        Some(e) if e == "sled" || e == "fjall" => e.as_str(),
        Some(e) => anyhow::bail!("--engine: expected sled or fjall, got {e:?}"),
    };
    // One way to open the store, for the build and for the cold reopen.
    let open = |dir: &std::path::Path| -> anyhow::Result<Arc<dyn Store>> {
        Ok(if engine == "fjall" {
            Arc::new(FjallStore::open(
                dir,
                &FjallConfig { cache_capacity: cache_bytes, ..FjallConfig::default() },
            )?)
        } else {
            Arc::new(SledStore::open(dir, &SledConfig { cache_capacity: cache_bytes })?)
        })
    };
    let dir = match args.iter().position(|a| a == "--dir").and_then(|i| args.get(i + 1)) {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("provlog-bench-lineage-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let signed = flag("--signed");
    println!(
        "bench_lineage: dir={} engine={engine} events={events} batch={batch} mode={} entry_bytes={entry_bytes} cache={} MiB",
        dir.display(),
        if signed { "signed" } else { "direct" },
        cache_bytes >> 20
    );
    let mut g = Gen::new(queries);
    if flag("--micro") {
        micro(&mut g, events);
        return Ok(());
    }
    let tree_size = if flag("--reuse") {
        // A log this benchmark built before (same --events, kept with
        // --keep): regenerate the chain to draw the same targets, without
        // writing, and query at the size the log has.
        let mut queue = Vec::new();
        for _ in 0..events {
            if queue.is_empty() {
                g.run(&mut queue);
            }
            queue.pop();
        }
        TiledTree::open(open(&dir)?)?.size()
    } else {
        let store = open(&dir)?;
        if signed {
            build_signed(store, events, batch, &mut g)?.size()
        } else {
            build_direct(store, events, batch, entry_bytes, !flag("--no-lineage"), &mut g)?
        }
    };
    println!(
        "packing runs {}, lots {}, kit runs {}; peak RSS {} MiB",
        g.run,
        g.lot_seq,
        g.kit_seq,
        status_kib("VmHWM:") / 1024
    );
    if flag("--no-lineage") {
        return Ok(());
    }
    // Reopen: queries start from a cold cache, as after a restart.
    let t = Instant::now();
    let store = open(&dir)?;
    println!("reopened in {:.1}s; disk {} MiB", t.elapsed().as_secs_f64(), store.size_on_disk() >> 20);
    // What `Log::open` adds: the scan that fills the rules' known-keys filter.
    let t = Instant::now();
    let known = KnownKeys::load(store.as_ref(), 4 * tree_size)?;
    println!("known keys loaded in {:.2}s, {} MiB", t.elapsed().as_secs_f64(), known.memory_bytes() >> 20);
    drop(known);
    let lineage = Lineage::new(store);
    let s = &g.samples;
    measure(&lineage, tree_size, "back(retail case)", Direction::Back, &s.cases)?;
    measure(&lineage, tree_size, "forward(grower lot)", Direction::Forward, &s.lots)?;
    measure(&lineage, tree_size, "recall(retail case)", Direction::Recall, &s.cases)?;
    measure(&lineage, tree_size, "recall(kit case)", Direction::Recall, &s.kits)?;
    println!("peak RSS: {} MiB", status_kib("VmHWM:") / 1024);
    if !flag("--keep") && !flag("--reuse") {
        drop(lineage);
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
