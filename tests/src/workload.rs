//! The ingest workload of the load benchmarks, shared by `provlog-load` and
//! `bench_pg` so that both sides of a comparison get the same statements:
//! N partners, each with its own Ed25519 key, company prefix and location,
//! and pre-signed `COSE_Sign1` statements of one EPCIS commissioning event
//! each, spread over the partners in turn. Also the measurements both
//! binaries report the same way: this machine's single-core
//! `verify_strict` rate, latency percentiles, and a process's CPU time.

use crate::chain::{key_spec, EPCIS_CONTEXT};
use ed25519_dalek::SigningKey;
use provlog_ledger::governance::{PartnerSpec, Role, Scopes};
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A partner of the workload, with a fresh key.
pub struct Partner {
    /// The partner's GLN URN, the `iss` of its statements.
    pub id: String,
    /// Its seven-digit GS1 company prefix.
    pub prefix: String,
    pub key: SigningKey,
}

impl Partner {
    /// The `index`-th partner: company prefix `2000000 + index`, a new key.
    pub fn new(index: usize) -> Partner {
        let prefix = format!("{:07}", 2_000_000 + index);
        Partner { id: format!("urn:epc:id:pgln:{prefix}.00001"), prefix, key: generate_signing_key() }
    }

    /// The partner as governance registers it: its key, and scopes that
    /// allow commissioning under its own prefix and location only.
    pub fn spec(&self) -> PartnerSpec {
        PartnerSpec {
            id: self.id.clone(),
            name: format!("load partner {}", self.prefix),
            role: Role::Partner,
            keys: vec![key_spec(&self.key)],
            scopes: Scopes {
                biz_steps: vec!["commissioning".into()],
                locations: vec![format!("urn:epc:id:sgln:{}.", self.prefix)],
                company_prefixes: vec![self.prefix.clone()],
            },
        }
    }

    /// One commissioning event by this partner, the `n`-th it submits,
    /// signed as a `COSE_Sign1` statement.
    pub fn statement(&self, n: usize, event_time: &str, iat: u64) -> Vec<u8> {
        let event_id =
            format!("urn:uuid:{:08x}-0000-4000-8000-{:012x}", self.prefix.parse::<u32>().unwrap(), n);
        let loc = format!("urn:epc:id:sgln:{}.00001.0", self.prefix);
        let event = serde_json::json!({
            "@context": EPCIS_CONTEXT,
            "type": "ObjectEvent",
            "eventID": event_id,
            "eventTime": event_time,
            "eventTimeZoneOffset": "+00:00",
            "epcList": [format!("urn:epc:id:sgtin:{}.107346.{n}", self.prefix)],
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "readPoint": {"id": loc},
            "bizLocation": {"id": loc},
            "ilmd": {"example:lot": format!("L{}", n / 1000)}
        });
        Statement::sign1(
            &self.key,
            &self.id,
            &event_id,
            iat,
            CONTENT_TYPE_EPCIS,
            event.to_string().as_bytes(),
        )
        .expect("sign")
        .as_bytes()
        .to_vec()
    }
}

/// `count` partners, `Partner::new(0..count)`.
pub fn partners(count: usize) -> Vec<Partner> {
    (0..count).map(Partner::new).collect()
}

/// `count` statements, statement `i` by partner `i % partners.len()` (its
/// `i / partners.len()`-th), signed on every core.
pub fn presign(partners: &Arc<Vec<Partner>>, count: usize, event_time: &str, iat: u64) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_thread = count.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|th| {
            let (partners, event_time) = (partners.clone(), event_time.to_owned());
            std::thread::spawn(move || {
                (th * per_thread..((th + 1) * per_thread).min(count))
                    .map(|i| partners[i % partners.len()].statement(i / partners.len(), &event_time, iat))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles.into_iter().flat_map(|h| h.join().expect("signer thread")).collect()
}

/// This machine's single-core `verify_strict` rate, signatures per second:
/// the first statement (by the first partner) checked over and over for
/// three seconds on this thread.
pub fn single_core_verify_rate(statements: &[Vec<u8>], partners: &[Partner]) -> f64 {
    let sample = Statement::parse(&statements[0]).expect("a statement of the workload");
    let key = partners[0].key.verifying_key();
    let t = Instant::now();
    let mut n = 0usize;
    while t.elapsed() < Duration::from_secs(3) {
        sample.verify_signer(0, &key).expect("valid");
        n += 1;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// The `p`-quantile (0..=1) of `sorted` microseconds, in milliseconds.
pub fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// The CPU time (user + system) process `pid` has used, in seconds, from
/// `/proc/<pid>/stat`; 0 if it cannot be read.
pub fn cpu_seconds(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}
