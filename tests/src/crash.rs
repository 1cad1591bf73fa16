//! The crash harness: a log with three witnesses (2-of-3) under continuous
//! load, whose server and witnesses are killed with SIGKILL at random
//! moments and restarted, many times. Afterwards it checks that
//!
//! - every statement that received a receipt is in the log at its receipt's
//!   index (and every receipt verifies offline);
//! - every checkpoint ever published is consistent with the final one;
//! - no witness ever cosigned two different roots for one size — judged
//!   from the cosignatures themselves, as seen on every published
//!   checkpoint and every witness's monitoring endpoint, and against the
//!   final log's root at each size;
//! - the whole log verifies (`audit::verify_log`).
//!
//! `provlog-crash` (tests/src/bin) runs it at full length; the test
//! `tests/tests/crash_harness.rs` runs a short version in CI.

use crate::audit::{open_checkpoint, verify_log, verify_receipt};
use crate::chain::{hours_ago, Party};
use crate::server::{Setup, TestLog, Tuning};
use anyhow::{anyhow, ensure, Context as _, Result};
use provlog_ledger::cosignature::CosignatureVerifier;
use provlog_ledger::note::{self, NoteVerifier};
use provlog_ledger::proof::check_consistency;
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::Statement;
use provlog_ledger::Hash;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How hard to shake.
#[derive(Clone, Debug)]
pub struct CrashConfig {
    /// SIGKILLs of the server.
    pub server_kills: usize,
    /// SIGKILLs of witnesses (spread over the three).
    pub witness_kills: usize,
    /// Submitting threads.
    pub submitters: usize,
    /// Milliseconds between kills: uniformly random in this range.
    pub kill_interval_ms: (u64, u64),
    /// Seed of the kill schedule.
    pub seed: u64,
}

impl Default for CrashConfig {
    fn default() -> Self {
        CrashConfig {
            server_kills: 50,
            witness_kills: 50,
            submitters: 3,
            kill_interval_ms: (150, 600),
            seed: 7,
        }
    }
}

/// What a run saw and proved.
#[derive(Clone, Debug, Default)]
pub struct CrashReport {
    pub server_kills: usize,
    pub witness_kills: usize,
    /// Statements that received a receipt.
    pub receipts: usize,
    /// Receipted statements missing or moved after the run (must be 0).
    pub lost: usize,
    pub final_size: u64,
    /// Distinct published checkpoints checked against the final one.
    pub checkpoints: usize,
    /// (witness, size) pairs whose cosigned root was checked.
    pub cosigned_sizes: usize,
    pub seconds: f64,
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn between(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A statement and, once it has one, its receipt.
struct Tracked {
    statement: Statement,
    receipt: Option<String>,
}

/// Runs the harness.
///
/// # Errors
/// The first violated property, with the values involved.
pub fn run(config: &CrashConfig) -> Result<CrashReport> {
    let started = Instant::now();
    let tuning =
        Tuning { sync_wait_ms: 2000, witness_timeout_ms: 500, max_batch_age_ms: 2, ..Tuning::default() };
    let mut log = TestLog::create(Setup::new(RuleSet::permissive("crash")).witnesses(3, 2).tuning(tuning));
    log.start_witnesses();
    log.start_server();
    let log = Arc::new(Mutex::new(log));
    let (origin, log_vkey, policy, farm, client) = {
        let l = log.lock().unwrap();
        (l.origin.clone(), l.log_vkey.clone(), l.policy.clone(), l.parties.farm.clone(), l.client.clone())
    };
    let base = log.lock().unwrap().url("");
    let base = Arc::new(Mutex::new(base));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let tracked: Arc<Mutex<Vec<Tracked>>> = Arc::new(Mutex::new(Vec::new()));
    let notes: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));

    // Submitters: each keeps submitting new statements, and resubmits any
    // that has no receipt yet, until stopped.
    let mut threads = Vec::new();
    for t in 0..config.submitters {
        let (log, base, stop, counter, tracked, notes, farm, client) = (
            log.clone(),
            base.clone(),
            stop.clone(),
            counter.clone(),
            tracked.clone(),
            notes.clone(),
            farm.clone(),
            client.clone(),
        );
        let (origin, log_vkey, policy) = (origin.clone(), log_vkey.clone(), policy.clone());
        threads.push(std::thread::spawn(move || {
            let mut pending: Vec<usize> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let statement = new_statement(&log, &farm, t, n);
                let i = {
                    let mut tr = tracked.lock().unwrap();
                    tr.push(Tracked { statement, receipt: None });
                    tr.len() - 1
                };
                pending.push(i);
                let url = base.lock().unwrap().clone();
                pending.retain(|&i| {
                    let s = tracked.lock().unwrap()[i].statement.clone();
                    match submit(&client, &url, &s) {
                        Some(text) => {
                            if let Ok(v) = verify_receipt(&text, &origin, &log_vkey, policy.as_ref(), &s) {
                                notes.lock().unwrap().push(v.checkpoint_note);
                                tracked.lock().unwrap()[i].receipt = Some(text);
                                return false;
                            }
                            true
                        }
                        None => true,
                    }
                });
                if pending.len() > 50 {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            pending
        }));
    }

    // The killer.
    let mut rng = Xorshift(config.seed.max(1));
    let (mut server_kills, mut witness_kills) = (0, 0);
    while server_kills < config.server_kills || witness_kills < config.witness_kills {
        std::thread::sleep(Duration::from_millis(rng.between(config.kill_interval_ms)));
        let kill_server = witness_kills >= config.witness_kills
            || (server_kills < config.server_kills && rng.next() % 2 == 0);
        let mut l = log.lock().unwrap();
        if kill_server {
            l.kill_server();
            l.start_server();
            *base.lock().unwrap() = l.url("");
            server_kills += 1;
        } else {
            let w = (rng.next() % 3) as usize;
            // Keep the other witnesses' cosignatures before this one goes.
            for (i, other) in l.witnesses.iter().enumerate() {
                if i != w {
                    if let Some(n) = other.latest_checkpoint(&client, &origin) {
                        notes.lock().unwrap().push(n);
                    }
                }
            }
            l.witnesses[w].kill();
            l.start_witnesses();
            witness_kills += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut pending: Vec<usize> = Vec::new();
    for t in threads {
        pending.extend(t.join().map_err(|_| anyhow!("a submitter panicked"))?);
    }
    // Every statement still without a receipt gets one now (or is found).
    let url = base.lock().unwrap().clone();
    for i in pending {
        let s = tracked.lock().unwrap()[i].statement.clone();
        let mut tries = 0;
        loop {
            if let Some(text) = submit(&client, &url, &s) {
                let v = verify_receipt(&text, &origin, &log_vkey, policy.as_ref(), &s)?;
                notes.lock().unwrap().push(v.checkpoint_note);
                tracked.lock().unwrap()[i].receipt = Some(text);
                break;
            }
            tries += 1;
            ensure!(tries < 100, "statement {i} got no receipt after the run");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Final state.
    let l = log.lock().unwrap();
    for w in &l.witnesses {
        if let Some(n) = w.latest_checkpoint(&client, &origin) {
            notes.lock().unwrap().push(n);
        }
    }
    let notes = notes.lock().unwrap().clone();
    let verified = verify_log(&client, &url, &origin, &log_vkey, policy.as_ref(), &[])?;
    let final_size = verified.checkpoint.size;

    // 1. Every receipted statement is at its receipt's index.
    let tracked = tracked.lock().unwrap();
    let mut lost = 0;
    let mut receipts = 0;
    for t in tracked.iter() {
        let Some(text) = &t.receipt else { continue };
        receipts += 1;
        let v = verify_receipt(text, &origin, &log_vkey, policy.as_ref(), &t.statement)?;
        let r = client
            .get(format!("{url}/proof/inclusion?id={}&size={final_size}", t.statement.id()))
            .send()
            .context("inclusion proof")?;
        let j: serde_json::Value = serde_json::from_slice(&r.bytes()?).context("inclusion JSON")?;
        if j["index"].as_u64() != Some(v.index) {
            lost += 1;
        }
    }
    ensure!(lost == 0, "{lost} receipted statements are not at their receipt's index");

    // 2. Every published checkpoint is consistent with the final one.
    let final_root = verified.checkpoint.root;
    let mut by_size: BTreeMap<u64, Hash> = BTreeMap::new();
    for n in &notes {
        let (cp, _) =
            open_checkpoint(n, &origin, &log_vkey, policy.as_ref()).context("a published checkpoint")?;
        if let Some(prev) = by_size.insert(cp.size, cp.root) {
            ensure!(prev == cp.root, "two roots were published for size {}", cp.size);
        }
    }
    for (&size, root) in &by_size {
        if size == 0 || size == final_size {
            ensure!(
                size == 0 || *root == final_root,
                "size {size}: root differs from the final checkpoint's"
            );
            continue;
        }
        let r = client.get(format!("{url}/proof/consistency?old={size}&new={final_size}")).send()?;
        let j: serde_json::Value = serde_json::from_slice(&r.bytes()?).context("consistency JSON")?;
        let proof: Vec<Hash> = j["proof"]
            .as_array()
            .ok_or_else(|| anyhow!("no proof"))?
            .iter()
            .map(|h| h.as_str().and_then(Hash::from_base64).ok_or_else(|| anyhow!("bad hash")))
            .collect::<Result<_>>()?;
        check_consistency(size, final_size, &proof, root, &final_root)
            .with_context(|| format!("checkpoint {size} is not consistent with {final_size}"))?;
    }

    // 3. No witness cosigned two roots for one size: from the cosignature
    //    lines themselves, verified under each witness's key.
    let verifiers: Vec<CosignatureVerifier> =
        l.witnesses.iter().map(|w| CosignatureVerifier::from_vkey(&w.vkey)).collect::<Result<_, _>>()?;
    let mut cosigned: BTreeMap<(String, u64), Hash> = BTreeMap::new();
    for n in &notes {
        let (text, sigs) = note::split(n).map_err(|e| anyhow!("{e}"))?;
        let cp = provlog_ledger::checkpoint::Checkpoint::parse(text)?;
        for s in sigs {
            let Some(v) = verifiers.iter().find(|v| v.name() == s.name && v.key_id() == s.key_id) else {
                continue;
            };
            ensure!(v.verify(text.as_bytes(), &s.signature), "an invalid cosignature by {}", s.name);
            if let Some(prev) = cosigned.insert((s.name.clone(), cp.size), cp.root) {
                ensure!(prev == cp.root, "witness {} cosigned two roots for size {}", s.name, cp.size);
            }
            ensure!(
                by_size.get(&cp.size).is_none_or(|r| *r == cp.root),
                "witness {} cosigned a root the log never published for size {}",
                s.name,
                cp.size
            );
        }
    }
    Ok(CrashReport {
        server_kills,
        witness_kills,
        receipts,
        lost,
        final_size,
        checkpoints: by_size.len(),
        cosigned_sizes: cosigned.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn new_statement(log: &Arc<Mutex<TestLog>>, farm: &Party, thread: usize, n: u64) -> Statement {
    let l = log.lock().unwrap();
    let epc = farm.sgtin("107346", &format!("{thread}{n:08}"));
    let e = l.commission(farm, &[epc], &hours_ago(0.1));
    l.sign(farm, &e)
}

/// Submits `s`; the receipt text on 200/201, `None` on anything else
/// (connection refused while the server restarts, 303 pending, 503).
fn submit(client: &reqwest::blocking::Client, base: &str, s: &Statement) -> Option<String> {
    let r = client
        .post(format!("{base}/entries"))
        .header("content-type", "application/cose")
        .timeout(Duration::from_secs(5))
        .body(s.as_bytes().to_vec())
        .send()
        .ok()?;
    matches!(r.status().as_u16(), 200 | 201).then(|| r.text().ok()).flatten()
}
