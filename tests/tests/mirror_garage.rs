//! Publication to a real S3-compatible object store and a mirror serving
//! from it (issue 10, `spec/mirror.md`): a single-node Garage on loopback;
//! `provlog-server` with `[publish]` copies every witnessed checkpoint and
//! its tiles to the bucket; the bucket, read anonymously over HTTP, is a
//! tlog-tiles log the real `provlog` client verifies; a restarted server
//! resumes publication without a gap; ingest goes on while Garage is down
//! and the bucket catches up when it is back; `provlog-mirror` serves
//! checkpoint, tiles and proofs from the bucket alone, and the test ends
//! by verifying the whole log through the mirror.
//!
//! Needs the `garage` binary (`.ci/run` installs it). Without it the test
//! fails, unless `PROVLOG_SKIP_GARAGE=1` says to skip it.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::rules::RuleSet;
use provlog_ledger::statement::Statement;
use provlog_tests::chain::hours_ago;
use provlog_tests::garage::{garage_binary, Garage, BUCKET, REGION};
use provlog_tests::process::{free_port, ServerProcess};
use provlog_tests::server::{metric, to_response, Setup, TestLog};
use provlog_tests::workspace_binary;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn garage_or_skip() -> Option<PathBuf> {
    match garage_binary() {
        Some(b) => Some(b),
        None if std::env::var_os("PROVLOG_SKIP_GARAGE").is_some() => {
            eprintln!("PROVLOG_SKIP_GARAGE is set and garage is not installed: skipping");
            None
        }
        None => panic!(
            "the `garage` binary was not found (GARAGE_BIN, PATH, ~/.cargo/bin): install it with \
             `cargo install garage --locked`, or set PROVLOG_SKIP_GARAGE=1 to skip this test"
        ),
    }
}

/// Registers `n` new statements by the farm through `POST /entries/batch`.
fn register_batch(log: &TestLog, tag: &str, n: usize) {
    let farm = &log.parties.farm;
    let batch: Vec<Statement> = (0..n)
        .map(|i| {
            let e = log.commission(farm, &[farm.sgtin("107346", &format!("{tag}-{i}"))], &hours_ago(1.0));
            log.sign(farm, &e)
        })
        .collect();
    let body = cbor::encode(&Cbor::Array(batch.iter().map(|s| Cbor::bytes(s.as_bytes())).collect()));
    let r = log.client.post(log.url("/entries/batch")).header("content-type", "application/cbor").body(body);
    let r = to_response(r.send().expect("POST /entries/batch"));
    assert_eq!(r.status, 200, "{}", r.text());
    let results: Vec<serde_json::Value> = serde_json::from_slice(&r.body).expect("JSON results");
    assert!(results.iter().all(|r| r["status"] == 201), "{results:?}");
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The server's bucket gauges: (bucket size, lag, failures).
fn bucket_metrics(log: &TestLog) -> (u64, u64, u64) {
    let text = log.get("/metrics").text();
    let m = |name| metric(&text, name).unwrap_or_else(|| panic!("{name} in /metrics")) as u64;
    (m("provlog_bucket_size"), m("provlog_bucket_lag_entries"), m("provlog_bucket_failures_total"))
}

/// Waits until the bucket holds the log's published checkpoint.
fn wait_caught_up(log: &TestLog) -> u64 {
    let size = log.published_size();
    wait_for("the bucket to catch up", Duration::from_secs(60), || bucket_metrics(log).0 == size);
    assert_eq!(bucket_metrics(log).1, 0);
    size
}

/// The real `provlog` command; returns its stdout, asserting exit 0.
fn provlog(args: &[&str]) -> String {
    let out = Command::new(workspace_binary("provlog")).args(args).output().expect("run provlog");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "provlog {args:?}: {}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn start_mirror(garage: &Garage, policy: &Path, data: &Path) -> ServerProcess {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let args: Vec<std::ffi::OsString> = vec![
        "--endpoint".into(),
        garage.nodes[0].endpoint().into(),
        "--bucket".into(),
        BUCKET.into(),
        "--region".into(),
        REGION.into(),
        "--access-key-id".into(),
        garage.key_id.clone().into(),
        "--secret-access-key-file".into(),
        garage.secret_file.clone().into(),
        "--policy".into(),
        policy.into(),
        "--data".into(),
        data.into(),
        "--listen".into(),
        addr.to_string().into(),
        "--poll-ms".into(),
        "100".into(),
    ];
    let client = provlog_tests::server::client();
    std::fs::create_dir_all(data).unwrap();
    ServerProcess::start_binary("provlog-mirror", &args, addr, &data.join("mirror.log"), &client)
        .unwrap_or_else(|e| panic!("provlog-mirror did not start: {e}"))
}

#[test]
fn a_log_published_to_garage_is_verified_from_the_bucket_and_served_by_a_mirror() {
    let Some(bin) = garage_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut garage = Garage::start(bin, dir.path(), 1).unwrap_or_else(|e| panic!("garage: {e}"));
    let mut log = TestLog::create(Setup::new(RuleSet::permissive("p")).witnesses(1, 1));
    log.append_config(&garage.publish_config(0));
    log.start_witnesses();
    log.start_server();
    let web = garage.nodes[0].web_url();
    let http = provlog_tests::server::client();

    // 300 entries: one full tile and bundle, and partial ones.
    register_batch(&log, "a", 299);
    let size = wait_caught_up(&log);
    assert_eq!(size, 300);
    let bucket_cp = to_response(http.get(format!("{web}/checkpoint")).send().unwrap());
    assert_eq!(bucket_cp.status, 200);
    assert_eq!(bucket_cp.text(), log.get("/checkpoint").text(), "the bucket holds the witnessed checkpoint");
    assert_eq!(bucket_cp.header("cache-control"), Some("no-cache"));
    for (path, cache) in [
        ("tile/0/000", "public, max-age=31536000, immutable"),
        ("tile/entries/000", "public, max-age=31536000, immutable"),
        ("tile/0/001.p/44", "public, max-age=1"),
        ("tile/entries/001.p/44", "public, max-age=1"),
        ("tile/1/000.p/1", "public, max-age=1"),
    ] {
        let r = to_response(http.get(format!("{web}/{path}")).send().unwrap());
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
        assert_eq!(r.header("content-type"), Some("application/octet-stream"), "{path}");
        assert_eq!(r.body, log.get(&format!("/{path}")).body, "{path} differs from the primary's");
    }

    // The real client reads the bucket as a log: the trust policy names the
    // log and its witness; every tile is checked against the entries.
    let policy = dir.path().join("trust.policy");
    let mut text = format!("log {}\n", log.log_vkey);
    let w = &log.witnesses[0];
    text.push_str(&format!("witness w1 {} http://{}\ngroup q 1 w1\nquorum q\n", w.vkey, w.addr));
    std::fs::write(&policy, text).unwrap();
    let p = policy.to_str().unwrap();
    provlog(&["verify-log", "--policy", p, "--log", &web]);
    let state = dir.path().join("audit.json");
    let s = state.to_str().unwrap();
    provlog(&["audit", "--policy", p, "--log", &web, "--state", s]);

    // A restarted server resumes from the bucket's checkpoint: no gap.
    log.stop_server();
    log.start_server();
    register_batch(&log, "b", 100);
    let size = wait_caught_up(&log);
    assert_eq!(size, 400);
    // The audit proves 300 -> 400 consistent from the bucket's tiles alone.
    provlog(&["audit", "--policy", p, "--log", &web, "--state", s]);

    // Garage down: ingest goes on, the lag shows, the bucket catches up.
    garage.nodes[0].stop();
    register_batch(&log, "c", 50);
    let published = log.published_size();
    wait_for("a failed publication round", Duration::from_secs(30), || bucket_metrics(&log).2 > 0);
    let (in_bucket, lag, _) = bucket_metrics(&log);
    assert_eq!((in_bucket, lag), (400, published - 400));
    garage.nodes[0].start(&garage.bin);
    let size = wait_caught_up(&log);
    assert_eq!(size, 450);
    provlog(&["audit", "--policy", p, "--log", &web, "--state", s]);

    // The mirror: serves only what verified, from the bucket alone.
    let mirror_dir = dir.path().join("mirror");
    let mirror = start_mirror(&garage, &policy, &mirror_dir);
    let murl = format!("http://{}", mirror.addr);
    wait_for("the mirror to verify size 450", Duration::from_secs(60), || {
        http.get(format!("{murl}/checkpoint")).send().ok().and_then(|r| r.text().ok())
            == Some(log.get("/checkpoint").text())
    });
    for path in
        ["/tile/0/000", "/tile/0/001.p/194", "/tile/entries/001.p/194", "/proof/inclusion?index=299&size=450"]
    {
        let r = to_response(http.get(format!("{murl}{path}")).send().unwrap());
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, log.get(path).body, "{path}: the mirror and the primary disagree");
    }
    // Lineage from the mirror's own index, rebuilt by replaying the bucket:
    // the same answer, checkpoint and proofs as the primary's.
    let epc = log.parties.farm.sgtin("107346", "a-0");
    let path = format!("/lineage/{epc}?direction=forward");
    let from_mirror = to_response(http.get(format!("{murl}{path}")).send().unwrap());
    assert_eq!(from_mirror.status, 200, "{}", from_mirror.text());
    let answer: serde_json::Value = serde_json::from_slice(&from_mirror.body).expect("a lineage answer");
    assert_eq!(answer["answer"]["events"].as_array().map(Vec::len), Some(1), "{answer}");
    assert_eq!(from_mirror.body, log.get(&path).body, "lineage: the mirror and the primary disagree");
    let beyond = to_response(http.get(format!("{murl}/tile/entries/001.p/195")).send().unwrap());
    assert_eq!(beyond.status, 404, "a width beyond the verified size");
    provlog(&["verify-log", "--policy", p, "--log", &murl]);

    // The log grows; the mirror follows. End: the whole log verifies through
    // the mirror (tiles, entries, every inclusion proof, consistency of every
    // checkpoint seen), and through the primary.
    register_batch(&log, "d", 10);
    let size = wait_caught_up(&log);
    wait_for("the mirror to follow", Duration::from_secs(60), || {
        http.get(format!("{murl}/checkpoint")).send().ok().and_then(|r| r.text().ok())
            == Some(log.get("/checkpoint").text())
    });
    let via_mirror = provlog_tests::audit::verify_log(
        &http,
        &murl,
        &log.origin,
        &log.log_vkey,
        log.policy.as_ref(),
        &log.seen(),
    )
    .unwrap_or_else(|e| panic!("the log does not verify through the mirror: {e:#}\n{}", mirror.log()));
    assert_eq!(via_mirror.checkpoint.size, size);
    assert_eq!(log.verify().checkpoint.size, size);
    drop(mirror);
}
