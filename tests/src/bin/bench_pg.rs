//! `bench_pg`: the simpler alternative to provlog, measured on the same
//! workload as `provlog-load` (BENCHMARKS.md, "PostgreSQL hash chain vs
//! provlog"): a PostgreSQL table holding the statements in a hash chain that
//! the application computes, each statement's signature checked by the
//! application before it is inserted.
//!
//! The application, as a competent engineer would build it:
//! - partners' keys live in a `partners` table, loaded once into memory;
//! - C workers (one connection each) take K statements at a time from the
//!   same pre-signed statements as `provlog-load`; each parses the
//!   `COSE_Sign1`, looks the issuer's key up and checks the signature with
//!   the same `verify_strict` as provlog, outside any lock, so verification
//!   runs on every core at once;
//! - then, in one transaction, it locks the single-row `chain_head`
//!   (`SELECT … FOR UPDATE`), chains the batch,
//!   `h_i = SHA-256(h_{i-1} || statement_i)` from `h_0` = 32 zero bytes,
//!   writes it with `COPY … FROM STDIN BINARY`, moves the head and commits:
//!   durable, with the server's defaults `fsync = on` and
//!   `synchronous_commit = on`. The head row is what keeps concurrent
//!   writers from forking the chain (locking the table's last row would
//!   not: two writers would both extend it), so commits are serialized.
//!
//! After the run it reads the whole table back and recomputes the chain,
//! which is the only check an outsider could make of it.
//!
//! The last line is machine-readable:
//!
//! ```text
//! pg_statements_per_s=… pg_p50_ms=… pg_p99_ms=… verify_ratio=… verify_2core_fraction=… …
//! ```

use clap::Parser;
use ed25519_dalek::VerifyingKey;
use postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutIter};
use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::Type;
use postgres::{Client, NoTls};
use provlog_ledger::statement::Statement;
use provlog_tests::chain::{now_ms, rfc3339};
use provlog_tests::workload::{self, cpu_seconds, percentile_ms};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs the PostgreSQL hash-chain alternative on provlog-load's workload.
#[derive(Parser)]
struct Args {
    /// libpq-style connection string of an empty database the benchmark may
    /// drop and create its tables in.
    #[arg(long, default_value = "host=127.0.0.1 port=54329 user=postgres dbname=postgres")]
    pg: String,
    /// Statements to pre-sign and insert.
    #[arg(long, default_value_t = 200_000)]
    statements: usize,
    /// Stop submitting after this many seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Partners (keys) the statements are spread over.
    #[arg(long, default_value_t = 100)]
    partners: usize,
    /// Concurrent workers, one connection each.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Statements per transaction.
    #[arg(long, default_value_t = 500)]
    per_request: usize,
}

const SCHEMA: &str = "
DROP TABLE IF EXISTS statements, chain_head, partners;
CREATE TABLE partners (id text PRIMARY KEY, public_key bytea NOT NULL);
CREATE TABLE statements (
    seq bigint PRIMARY KEY,
    statement bytea NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    issuer text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
-- The end of the chain; its row lock serializes the writers.
CREATE TABLE chain_head (one boolean PRIMARY KEY CHECK (one), seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO chain_head VALUES (true, 0, '\\x0000000000000000000000000000000000000000000000000000000000000000');
";

/// The counters and latencies the workers share.
#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    /// Per transaction: from taking the batch to the commit's return (µs).
    batch_micros: Mutex<Vec<u64>>,
    /// Per transaction: how long it held the chain head (µs).
    locked_micros: Mutex<Vec<u64>>,
}

/// What the workers share: the statements, the partners' keys, the next
/// statement to take, and the tally.
struct Load {
    statements: Vec<Vec<u8>>,
    keys: HashMap<String, VerifyingKey>,
    next: AtomicUsize,
    per_request: usize,
    tally: Tally,
}

impl Load {
    /// One worker: takes `per_request` statements at a time until none are
    /// left or `deadline` passes, verifies them and appends the valid ones
    /// with `writer`. Returns the writer, whose connection stays open until
    /// the server's CPU time has been read.
    fn work(&self, mut writer: Writer, deadline: Instant) -> Writer {
        let (mut batch_micros, mut locked_micros) = (Vec::new(), Vec::new());
        while Instant::now() < deadline {
            let i = self.next.fetch_add(self.per_request, Ordering::Relaxed);
            if i >= self.statements.len() {
                break;
            }
            let t = Instant::now();
            let chunk = &self.statements[i..(i + self.per_request).min(self.statements.len())];
            let verified: Vec<Statement> = chunk
                .iter()
                .filter_map(|bytes| {
                    let s = Statement::parse(bytes).ok()?;
                    s.verify_signer(0, self.keys.get(s.iss())?).ok()?;
                    Some(s)
                })
                .collect();
            self.tally.rejected.fetch_add((chunk.len() - verified.len()) as u64, Ordering::Relaxed);
            if verified.is_empty() {
                continue;
            }
            let batch: Vec<(&[u8], &str)> = verified.iter().map(|s| (s.as_bytes(), s.iss())).collect();
            match writer.append(&batch) {
                Ok(locked) => {
                    batch_micros.push(t.elapsed().as_micros() as u64);
                    locked_micros.push(locked.as_micros() as u64);
                    self.tally.accepted.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    eprintln!("transaction failed: {e}");
                    self.tally.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
            }
        }
        self.tally.batch_micros.lock().unwrap().extend(batch_micros);
        self.tally.locked_micros.lock().unwrap().extend(locked_micros);
        writer
    }
}

/// One worker's connection with its statements prepared.
struct Writer {
    client: Client,
    lock_head: postgres::Statement,
    copy: postgres::Statement,
    move_head: postgres::Statement,
}

impl Writer {
    fn connect(pg: &str) -> Result<Writer, postgres::Error> {
        let mut client = Client::connect(pg, NoTls)?;
        let lock_head = client.prepare("SELECT seq, hash FROM chain_head FOR UPDATE")?;
        let copy =
            client.prepare("COPY statements (seq, statement, prev_hash, hash, issuer) FROM STDIN BINARY")?;
        let move_head = client.prepare("UPDATE chain_head SET seq = $1, hash = $2")?;
        Ok(Writer { client, lock_head, copy, move_head })
    }

    /// Appends `batch` (verified statements and their issuers) to the chain
    /// in one transaction; returns how long the head was locked.
    fn append(&mut self, batch: &[(&[u8], &str)]) -> Result<Duration, postgres::Error> {
        let mut tx = self.client.transaction()?;
        let head = tx.query_one(&self.lock_head, &[])?;
        let locked = Instant::now();
        let (mut seq, mut hash): (i64, Vec<u8>) = (head.get(0), head.get(1));
        let sink = tx.copy_in(&self.copy)?;
        let mut writer =
            BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA, Type::BYTEA, Type::BYTEA, Type::TEXT]);
        for &(statement, issuer) in batch {
            let next = chain_hash(&hash, statement);
            seq += 1;
            writer.write(&[&seq, &statement, &hash, &next.as_slice(), &issuer])?;
            hash = next.to_vec();
        }
        writer.finish()?;
        tx.execute(&self.move_head, &[&seq, &hash])?;
        tx.commit()?;
        Ok(locked.elapsed())
    }
}

/// `SHA-256(prev || statement)`, the link of the chain.
fn chain_hash(prev: &[u8], statement: &[u8]) -> [u8; 32] {
    Sha256::new().chain_update(prev).chain_update(statement).finalize().into()
}

/// The process IDs of the server's processes that exist now: every
/// backend and auxiliary process `pg_stat_activity` lists.
fn server_pids(client: &mut Client) -> Result<Vec<u32>, postgres::Error> {
    let rows = client.query("SELECT pid FROM pg_stat_activity", &[])?;
    Ok(rows.iter().map(|r| r.get::<_, i32>(0) as u32).collect())
}

/// Reads the whole table in `seq` order and recomputes every link.
/// Returns the number of rows.
///
/// # Errors
/// A gap in `seq` or a link that does not recompute, or the database's error.
fn verify_chain(client: &mut Client) -> anyhow::Result<u64> {
    let reader = client.copy_out(
        "COPY (SELECT seq, statement, prev_hash, hash FROM statements ORDER BY seq) TO STDOUT BINARY",
    )?;
    let mut rows = BinaryCopyOutIter::new(reader, &[Type::INT8, Type::BYTEA, Type::BYTEA, Type::BYTEA]);
    let (mut seq, mut hash) = (0i64, [0u8; 32]);
    while let Some(row) = rows.next()? {
        let (s, statement, prev, stored): (i64, &[u8], &[u8], &[u8]) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        anyhow::ensure!(s == seq + 1, "row {s} follows row {seq}");
        anyhow::ensure!(prev == hash, "row {s}: prev_hash is not the hash of row {seq}");
        hash = chain_hash(&hash, statement);
        anyhow::ensure!(stored == hash, "row {s}: hash does not recompute");
        seq = s;
    }
    Ok(seq as u64)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    eprintln!(
        "bench_pg: {} statements, {} partners, concurrency {}, {} per transaction",
        args.statements, args.partners, args.concurrency, args.per_request
    );
    let mut admin = Client::connect(&args.pg, NoTls)?;
    let settings: Vec<String> = ["server_version", "fsync", "synchronous_commit", "shared_buffers"]
        .iter()
        .map(|s| Ok(format!("{s}={}", admin.query_one(&format!("SHOW {s}"), &[])?.get::<_, String>(0))))
        .collect::<Result<_, postgres::Error>>()?;
    eprintln!("postgresql: {}", settings.join(" "));
    admin.batch_execute(SCHEMA)?;

    // The same partners and statements as provlog-load; keys registered in the table.
    let partners = workload::partners(args.partners);
    let mut tx = admin.transaction()?;
    for p in &partners {
        let key = p.key.verifying_key().to_bytes();
        tx.execute("INSERT INTO partners VALUES ($1, $2)", &[&p.id, &key.as_slice()])?;
    }
    tx.commit()?;
    let t = Instant::now();
    let (event_time, iat) = (rfc3339(now_ms() - 60_000), now_ms() / 1000);
    let partners = Arc::new(partners);
    let statements = workload::presign(&partners, args.statements, &event_time, iat);
    let mean_bytes = statements.iter().map(Vec::len).sum::<usize>() / statements.len().max(1);
    eprintln!(
        "pre-signed {} statements ({mean_bytes} bytes on average) in {:.1}s",
        statements.len(),
        t.elapsed().as_secs_f64()
    );
    let single = workload::single_core_verify_rate(&statements, &partners);
    eprintln!("single-core verify_strict: {single:.0} signatures/s");

    // The application's registry, as it would load it at startup.
    let keys: HashMap<String, VerifyingKey> = admin
        .query("SELECT id, public_key FROM partners", &[])?
        .iter()
        .map(|r| {
            let key: &[u8] = r.get(1);
            Ok((r.get(0), VerifyingKey::try_from(key)?))
        })
        .collect::<anyhow::Result<_>>()?;
    let writers = (0..args.concurrency).map(|_| Writer::connect(&args.pg)).collect::<Result<Vec<_>, _>>()?;
    let pg_pids = server_pids(&mut admin)?;

    // The load.
    let load = Arc::new(Load {
        statements,
        keys,
        next: AtomicUsize::new(0),
        per_request: args.per_request,
        tally: Tally::default(),
    });
    let (pg_cpu0, app_cpu0) =
        (pg_pids.iter().map(|&p| cpu_seconds(p)).sum::<f64>(), cpu_seconds(std::process::id()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.duration);
    let workers: Vec<_> = writers
        .into_iter()
        .map(|writer| {
            let load = load.clone();
            std::thread::spawn(move || load.work(writer, deadline))
        })
        .collect();
    let writers: Vec<Writer> = workers.into_iter().map(|w| w.join().expect("worker")).collect();
    let wall = start.elapsed().as_secs_f64();
    let pg_cpu = pg_pids.iter().map(|&p| cpu_seconds(p)).sum::<f64>() - pg_cpu0;
    let app_cpu = cpu_seconds(std::process::id()) - app_cpu0;
    drop(writers);

    let accepted = load.tally.accepted.load(Ordering::Relaxed);
    let (rejected, failed) =
        (load.tally.rejected.load(Ordering::Relaxed), load.tally.failed.load(Ordering::Relaxed));
    let rate = accepted as f64 / wall;
    let mut lat = std::mem::take(&mut *load.tally.batch_micros.lock().unwrap());
    lat.sort_unstable();
    let (p50, p99, max) =
        (percentile_ms(&lat, 0.5), percentile_ms(&lat, 0.99), lat.last().map_or(0.0, |m| *m as f64 / 1000.0));
    let mut locked = std::mem::take(&mut *load.tally.locked_micros.lock().unwrap());
    locked.sort_unstable();

    let t = Instant::now();
    let rows = verify_chain(&mut admin)?;
    let verify_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(rows == accepted, "the table holds {rows} rows, {accepted} were committed");
    let table_bytes: i64 = admin.query_one("SELECT pg_total_relation_size('statements')", &[])?.get(0);

    println!("committed {accepted} statements in {wall:.1}s: {rate:.0} statements/s (durable, fsync and synchronous_commit on)");
    println!(
        "latency batch->commit ({} transactions): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        lat.len()
    );
    println!(
        "chain head held per transaction: p50 {:.1} ms, p99 {:.1} ms",
        percentile_ms(&locked, 0.5),
        percentile_ms(&locked, 0.99)
    );
    println!("rejected {rejected}, failed {failed}");
    println!(
        "CPU: postgres {pg_cpu:.1}s = {:.2} cores, application (verify, hash, client) {app_cpu:.1}s = {:.2} cores",
        pg_cpu / wall,
        app_cpu / wall
    );
    println!(
        "verify_strict single core {single:.0}/s: ingest = {:.2}x one core = {:.2} of two cores",
        rate / single,
        rate / (2.0 * single)
    );
    println!(
        "chain re-verified from the table: {rows} rows in {verify_secs:.1}s; table with index {:.0} bytes/row",
        table_bytes as f64 / rows.max(1) as f64
    );
    println!(
        "pg_statements_per_s={rate:.0} pg_p50_ms={p50:.1} pg_p99_ms={p99:.1} pg_max_ms={max:.1} verify_ratio={:.3} verify_2core_fraction={:.3} rejected={rejected} failed={failed} pg_cpu_cores={:.2} app_cpu_cores={:.2}",
        rate / single,
        rate / (2.0 * single),
        pg_cpu / wall,
        app_cpu / wall
    );
    Ok(())
}
