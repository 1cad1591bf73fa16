//! Criterion micro-benchmarks of the ingest and read hot paths: statement
//! parsing, signature verification (and the curve arithmetic under it, with
//! and without per-key tables), EPCIS parsing, registering a batch
//! (decide + index + append) in memory and in sled, proof generation, and
//! the known-keys filter.
//!
//! cargo bench -p provlog-ledger --bench hot_paths
//!
//! Results and the machine they ran on: BENCHMARKS.md.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use provlog_ledger::epcis;
use provlog_ledger::governance::{
    Action, GovernancePayload, GovernanceSpec, KeySpec, PartnerSpec, Registry, Role, Scopes,
    GOVERNANCE_ISSUER,
};
use provlog_ledger::known_keys::KnownKeys;
use provlog_ledger::log::{Log, Outcome};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS, CONTENT_TYPE_GOVERNANCE};
use provlog_ledger::storage::{Batch, FjallConfig, FjallStore, MemoryStore, SledConfig, SledStore, Store};
use provlog_ledger::tiled_tree::TiledTree;
use std::sync::Arc;

const ORIGIN: &str = "bench.provlog.invalid/log";
const PARTNERS: usize = 16;
/// 2026-11-01T12:00:00Z.
const NOW_MS: u64 = 1_793_534_400_000;

fn partner_id(i: usize) -> String {
    format!("urn:epc:id:pgln:{:07}.00001", 1_000_000 + i)
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A realistic commissioning event of one case with a lot and a sensor reading.
fn event(partner: usize, n: u64) -> Vec<u8> {
    let prefix = 1_000_000 + partner;
    serde_json::json!({
        "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "type": "ObjectEvent",
        "eventID": format!("urn:uuid:00000000-0000-4000-8000-{:04}{:08}", partner, n),
        "eventTime": "2026-11-01T11:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": [format!("urn:epc:id:sgtin:{prefix:07}.107346.{n}")],
        "quantityList": [{"epcClass": format!("urn:epc:class:lgtin:{prefix:07}.107346.L{}", n / 100), "quantity": 12.5, "uom": "KGM"}],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": format!("urn:epc:id:sgln:{prefix:07}.00001.0")},
        "bizLocation": {"id": format!("urn:epc:id:sgln:{prefix:07}.00001.0")},
        "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL"}]}]
    })
    .to_string()
    .into_bytes()
}

fn statement(partner: usize, n: u64) -> Statement {
    let e = event(partner, n);
    let sub = format!("urn:uuid:00000000-0000-4000-8000-{:04}{:08}", partner, n);
    Statement::sign1(
        &key(100 + partner as u8),
        &partner_id(partner),
        &sub,
        NOW_MS / 1000,
        CONTENT_TYPE_EPCIS,
        &e,
    )
    .unwrap()
}

fn genesis() -> Statement {
    let partners = (0..PARTNERS)
        .map(|i| PartnerSpec {
            id: partner_id(i),
            name: String::new(),
            role: Role::Partner,
            keys: vec![KeySpec {
                public_key: BASE64.encode(key(100 + i as u8).verifying_key().as_bytes()),
                not_before_ms: None,
                not_after_ms: None,
            }],
            scopes: Scopes::any(),
        })
        .collect();
    let payload = GovernancePayload {
        origin: ORIGIN.into(),
        nonce: String::new(),
        action: Action::Genesis {
            governance: GovernanceSpec {
                keys: vec![BASE64.encode(key(1).verifying_key().as_bytes())],
                quorum: 1,
            },
            partners,
            rule_set: RuleSet::strict("bench"),
        },
    };
    Statement::sign_multi(
        &[&key(1)],
        GOVERNANCE_ISSUER,
        "genesis",
        NOW_MS / 1000,
        CONTENT_TYPE_GOVERNANCE,
        &payload.to_json(),
    )
    .unwrap()
}

fn new_log(store: Arc<dyn Store>) -> Log {
    let mut log = Log::open(store, ORIGIN).unwrap();
    assert!(matches!(log.register(&[genesis()], NOW_MS).unwrap()[0], Outcome::Registered { .. }));
    log
}

/// Statements with their signatures already verified and their events
/// parsed, as the server's handlers hand them to the sequencer.
fn preverified(registry: &Registry, from: u64, n: usize) -> Vec<Statement> {
    (0..n)
        .map(|i| {
            let mut s = statement(i % PARTNERS, from + i as u64);
            let key = *registry.public_key(&s.signers()[0].kid).unwrap();
            s.preverify(0, &key).unwrap();
            s.prepare_event().unwrap();
            s
        })
        .collect()
}

fn statements(c: &mut Criterion) {
    let s = statement(0, 1);
    let bytes = s.as_bytes().to_vec();
    let key = key(100).verifying_key();
    let mut g = c.benchmark_group("statement");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| b.iter(|| Statement::parse(&bytes).unwrap()));
    g.bench_function("verify_strict", |b| b.iter(|| s.verify_signer(0, &key).unwrap()));
    let payload = event(0, 1);
    g.bench_function("epcis_parse_event", |b| b.iter(|| epcis::parse_event(&payload).unwrap()));
    g.finish();

    // A part of a 500-statement request as one blocking task checks it,
    // per statement (one partner, as verification costs the same for any).
    let part: Vec<Statement> = (0..125).map(|i| statement(0, i + 1)).collect();
    let mut g = c.benchmark_group("statement_batch_125");
    g.throughput(Throughput::Elements(part.len() as u64));
    g.bench_function("preverify_batch", |b| {
        b.iter_batched(
            || part.clone(),
            |mut part| {
                Statement::preverify_batch(&mut part, |_| Some(key));
                assert!(part.iter().all(|s| s.is_verified(0, &key)));
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("preverify_each", |b| {
        b.iter_batched(
            || part.clone(),
            |mut part| part.iter_mut().for_each(|s| s.preverify(0, &key).unwrap()),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// `[S]B - [k]A`, the point a signature check computes, four ways: as
/// `verify_strict` does (one double-base multiplication, variable time), and
/// with tables precomputed for the key, as a log could keep one per
/// partner key (BENCHMARKS.md, "Ingest": per-key tables). The answers are
/// the same point; only the cost differs.
fn curve(c: &mut Criterion) {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, ED25519_BASEPOINT_TABLE};
    use curve25519_dalek::edwards::{
        EdwardsBasepointTable, EdwardsBasepointTableRadix32, EdwardsPoint, VartimeEdwardsPrecomputation,
    };
    use curve25519_dalek::traits::{BasepointTable as _, VartimePrecomputedMultiscalarMul as _};
    use curve25519_dalek::Scalar;
    use sha2::{Digest as _, Sha512};

    let scalar = |seed: u8| Scalar::from_bytes_mod_order_wide(&Sha512::digest([seed]).into());
    let a = -key(100).verifying_key().to_edwards();
    let (s, k) = (scalar(1), scalar(2));
    let want = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &a, &s);
    let table = EdwardsBasepointTable::create(&a);
    let (b32, a32) = (EdwardsBasepointTableRadix32::create(&B), EdwardsBasepointTableRadix32::create(&a));
    let straus = VartimeEdwardsPrecomputation::new([B, a]);
    assert_eq!((&s * ED25519_BASEPOINT_TABLE) + (&k * &table), want);
    assert_eq!((&s * &b32) + (&k * &a32), want);
    assert_eq!(straus.vartime_multiscalar_mul([s, k]), want);

    let mut g = c.benchmark_group("curve");
    g.throughput(Throughput::Elements(1));
    g.bench_function("vartime_double_base", |b| {
        b.iter(|| EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &a, &s))
    });
    g.bench_function("two_radix16_tables", |b| b.iter(|| (&s * ED25519_BASEPOINT_TABLE) + (&k * &table)));
    g.bench_function("two_radix32_tables", |b| b.iter(|| (&s * &b32) + (&k * &a32)));
    g.bench_function("precomputed_straus", |b| b.iter(|| straus.vartime_multiscalar_mul([s, k])));
    g.bench_function("radix16_table_create", |b| b.iter(|| EdwardsBasepointTable::create(&a)));
    g.finish();
}

fn register(c: &mut Criterion) {
    let mut g = c.benchmark_group("register_1000");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(10);
    let mut log = new_log(Arc::new(MemoryStore::new()));
    let registry = log.registry().clone();
    let mut next = 0u64;
    g.bench_function("memory", |b| {
        b.iter_batched(
            || {
                next += 1000;
                preverified(&registry, next, 1000)
            },
            |batch| log.register(&batch, NOW_MS).unwrap(),
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let sled: Arc<dyn Store> =
        Arc::new(SledStore::open(&dir.path().join("sled"), &SledConfig::default()).unwrap());
    let fjall: Arc<dyn Store> =
        Arc::new(FjallStore::open(&dir.path().join("fjall"), &FjallConfig::default()).unwrap());
    for (name, store) in [("sled_with_flush", sled), ("fjall_with_flush", fjall)] {
        let mut log = new_log(store);
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += 1000;
                    preverified(&registry, next, 1000)
                },
                |batch| {
                    log.register(&batch, NOW_MS).unwrap();
                    log.flush().unwrap();
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), &SledConfig::default()).unwrap());
    let mut tree = TiledTree::open(store).unwrap();
    let n = 1_000_000u64;
    for start in (0..n).step_by(10_000) {
        let entries: Vec<Vec<u8>> = (start..start + 10_000).map(|i| i.to_be_bytes().to_vec()).collect();
        tree.append(&entries, Batch::new()).unwrap();
    }
    tree.flush().unwrap();
    let r = tree.reader().clone();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut g = c.benchmark_group("proof_at_1m");
    g.throughput(Throughput::Elements(1));
    g.bench_function("inclusion", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r.prove_inclusion(x % n, n).unwrap()
        })
    });
    g.bench_function("consistency", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r.prove_consistency(1 + x % (n - 1), n).unwrap()
        })
    });
    g.finish();
}

/// The known-keys filter of a new log after 6M keys were added (about
/// what 1.8M statements add), asked about keys it does not hold (most of
/// the rules' lookups); prints its size and its rate of false "maybe"s.
fn known_keys(c: &mut Criterion) {
    const KEYS: u64 = 6_000_000;
    let known = KnownKeys::with_capacity(0);
    for i in 0..KEYS {
        let mut k = vec![b'v'];
        k.extend_from_slice(&i.to_be_bytes());
        known.insert(&k);
    }
    let mut g = c.benchmark_group("known_keys_at_6m");
    g.throughput(Throughput::Elements(1));
    let (mut n, mut maybe) = (KEYS, 0u64);
    g.bench_function("absent_key", |b| {
        b.iter(|| {
            n += 1;
            maybe += u64::from(known.may_contain(b'v', &n.to_be_bytes()));
        })
    });
    g.finish();
    let asked = n - KEYS;
    let rate = 100.0 * maybe as f64 / asked as f64;
    eprintln!(
        "known keys: {} MiB, false maybe {rate:.2} % of {asked} absent keys",
        known.memory_bytes() >> 20
    );
}

criterion_group!(benches, statements, curve, register, proofs, known_keys);
criterion_main!(benches);
