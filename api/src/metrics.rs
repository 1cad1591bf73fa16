//! Prometheus metrics, written in the text exposition format by hand: a few
//! counters and histograms do not need a metrics framework.
//!
//! Spec: `spec/http-api.md` ("Metrics").

use provlog_ledger::log::Outcome;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A monotonically increasing counter.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A histogram with fixed upper bounds.
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            if v <= *b {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros.fetch_add((v * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", c.load(Ordering::Relaxed));
        }
        let n = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {n}");
    }
}

const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
const SIZES: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0];

/// Everything the server counts.
pub struct Metrics {
    /// Submissions by outcome (`registered`, `duplicate`, `rejected`) and,
    /// for rejections, the rule check that refused them.
    outcomes: Mutex<BTreeMap<(String, String), u64>>,
    /// Requests refused before the sequencer (`malformed`, `overloaded`, …).
    pub refused: Mutex<BTreeMap<&'static str, u64>>,
    batch_size: Histogram,
    append_seconds: Histogram,
    tree_size: AtomicU64,
    pub published_size: AtomicU64,
    pub witness_failures: Counter,
    /// Set when a bucket is configured (`[publish]`): the bucket gauges
    /// below are rendered only then.
    pub bucket_enabled: std::sync::atomic::AtomicBool,
    /// Size of the checkpoint in the bucket.
    pub bucket_size: AtomicU64,
    /// Objects uploaded to the bucket.
    pub bucket_objects: Counter,
    /// Publication rounds that failed (bucket down, refused, …).
    pub bucket_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            outcomes: Mutex::new(BTreeMap::new()),
            refused: Mutex::new(BTreeMap::new()),
            batch_size: Histogram::new(SIZES),
            append_seconds: Histogram::new(SECONDS),
            tree_size: AtomicU64::new(0),
            published_size: AtomicU64::new(0),
            witness_failures: Counter::default(),
            bucket_enabled: Default::default(),
            bucket_size: AtomicU64::new(0),
            bucket_objects: Counter::default(),
            bucket_failures: Counter::default(),
        }
    }
}

impl Metrics {
    /// Sets the tree-size gauge, e.g. at start-up before any batch.
    pub fn set_tree_size(&self, tree_size: u64) {
        self.tree_size.store(tree_size, Ordering::Relaxed);
    }

    pub fn record_batch(&self, statements: usize, took: Duration, tree_size: u64) {
        self.batch_size.observe(statements as f64);
        self.append_seconds.observe(took.as_secs_f64());
        self.tree_size.store(tree_size, Ordering::Relaxed);
    }

    pub fn record_outcomes(&self, outcomes: &[Outcome]) {
        let mut m = self.outcomes.lock().expect("lock");
        for o in outcomes {
            let key = match o {
                Outcome::Registered { .. } => ("registered".to_owned(), String::new()),
                Outcome::Duplicate { .. } => ("duplicate".to_owned(), String::new()),
                Outcome::Rejected(v) => ("rejected".to_owned(), v.name()),
            };
            *m.entry(key).or_default() += 1;
        }
    }

    pub fn refuse(&self, why: &'static str) {
        *self.refused.lock().expect("lock").entry(why).or_default() += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP provlog_submissions_total Statements decided by the sequencer, by outcome and rule.\n",
        );
        out.push_str("# TYPE provlog_submissions_total counter\n");
        for ((outcome, rule), n) in self.outcomes.lock().expect("lock").iter() {
            let _ = writeln!(out, "provlog_submissions_total{{outcome=\"{outcome}\",rule=\"{rule}\"}} {n}");
        }
        out.push_str("# HELP provlog_refused_total Requests refused before the sequencer, by reason.\n");
        out.push_str("# TYPE provlog_refused_total counter\n");
        for (why, n) in self.refused.lock().expect("lock").iter() {
            let _ = writeln!(out, "provlog_refused_total{{reason=\"{why}\"}} {n}");
        }
        self.batch_size.write(&mut out, "provlog_batch_statements", "Statements per append batch.");
        self.append_seconds.write(
            &mut out,
            "provlog_append_seconds",
            "Time to decide, append, flush and sign one batch.",
        );
        let _ = writeln!(out, "# HELP provlog_tree_size Entries in the tree.\n# TYPE provlog_tree_size gauge\nprovlog_tree_size {}", self.tree_size.load(Ordering::Relaxed));
        let _ = writeln!(
            out,
            "# HELP provlog_published_size Size of the latest published checkpoint.\n# TYPE provlog_published_size gauge\nprovlog_published_size {}",
            self.published_size.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP provlog_witness_failures_total Witness requests that failed.\n# TYPE provlog_witness_failures_total counter\nprovlog_witness_failures_total {}",
            self.witness_failures.get()
        );
        if self.bucket_enabled.load(Ordering::Relaxed) {
            self.render_bucket(&mut out);
        }
        out
    }

    fn render_bucket(&self, out: &mut String) {
        let bucket = self.bucket_size.load(Ordering::Relaxed);
        let lag = self.published_size.load(Ordering::Relaxed).saturating_sub(bucket);
        let _ = writeln!(
            out,
            "# HELP provlog_bucket_size Size of the checkpoint published to the bucket.\n# TYPE provlog_bucket_size gauge\nprovlog_bucket_size {bucket}\n\
             # HELP provlog_bucket_lag_entries Entries published by the log but not yet in the bucket.\n# TYPE provlog_bucket_lag_entries gauge\nprovlog_bucket_lag_entries {lag}\n\
             # HELP provlog_bucket_objects_total Objects uploaded to the bucket.\n# TYPE provlog_bucket_objects_total counter\nprovlog_bucket_objects_total {}\n\
             # HELP provlog_bucket_failures_total Bucket publication rounds that failed.\n# TYPE provlog_bucket_failures_total counter\nprovlog_bucket_failures_total {}",
            self.bucket_objects.get(),
            self.bucket_failures.get()
        );
    }
}
