//! `provlog-witness` as a real process on loopback: every status code and
//! body of C2SP tlog-witness, rollback refused after a restart, forks refused
//! with evidence kept, racing requests, and SIGKILL at random moments.
//! Spec: `spec/witness.md`.

mod witness_support;

use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::cosignature::CosignatureVerifier;
use provlog_ledger::note::{self, NoteVerifier};
use provlog_ledger::witness_protocol::parse_witness_size;
use provlog_tests::parse_http_response;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use witness_support::{discover_size, keygen, serve_args, verify_cosignature, TestLog, WitnessProcess};

/// Checks that a 409 response has exactly the spec's shape and returns the size.
fn conflict_size(r: &provlog_tests::HttpResponse) -> u64 {
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/x.tlog.size"));
    parse_witness_size(&r.body).unwrap()
}

/// Opens a note under the log key and the witness key; both must verify.
fn assert_cosigned(note_text: &str, log: &TestLog, witness_vkey: &str) -> Checkpoint {
    let w = CosignatureVerifier::from_vkey(witness_vkey).unwrap();
    let lv = log.signer.verifier();
    let n = note::open(note_text, &[&lv as &dyn NoteVerifier, &w]).unwrap();
    assert_eq!(n.verified.len(), 2, "{note_text}");
    Checkpoint::parse(&n.text).unwrap()
}

#[test]
fn every_status_code_and_body_format_of_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let (key, wvkey) = keygen(dir.path(), "witness.example/w1");
    let log = TestLog::new("example.com/log").extended(9);
    let empty_log = TestLog::new("example.com/empty");
    let config = dir.path().join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata = \"data\"\nkey = \"{}\"\n\
             header_read_timeout_ms = 1000\nbody_read_timeout_ms = 3000\nmax_concurrent_requests = 1\n\
             [[log]]\norigin = \"example.com/log\"\nvkeys = [\"{}\"]\n\
             [[log]]\norigin = \"example.com/empty\"\nvkeys = [\"{}\"]\n",
            key.display(),
            log.vkey(),
            empty_log.vkey()
        ),
    )
    .unwrap();
    let w = WitnessProcess::spawn(&["--config".into(), config.to_str().unwrap().into()]);

    // 404 from the monitoring API before anything is cosigned.
    assert_eq!(w.latest("example.com/log").status, 404);

    // 200: one cosignature line, timestamped now, verifying with the log.
    let r = w.post(&log.body(0, 5));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let body = r.text();
    assert!(
        body.starts_with("\u{2014} witness.example/w1 ") && body.ends_with('\n') && body.lines().count() == 1
    );
    let ts = verify_cosignature(&log.signed(5), &body, &log.signer, &wvkey);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(ts.abs_diff(now) < 60, "timestamp {ts} vs now {now}");

    // Monitoring API: the checkpoint, the log's signature and the cosignature.
    let m = w.latest("example.com/log");
    assert_eq!(m.status, 200);
    assert_eq!(assert_cosigned(&m.text(), &log, &wvkey), log.checkpoint(5));
    assert!(m.text().ends_with(&body));

    // 409 with text/x.tlog.size and the witness's size: stale and zero old sizes.
    assert_eq!(conflict_size(&w.post(&log.body(3, 9))), 5);
    assert_eq!(conflict_size(&w.post(&log.body(0, 9))), 5);

    // 400: old size above the checkpoint size, and malformed bodies.
    assert_eq!(w.post(&log.body(5, 9).replace_old(10)).status, 400);
    let good = String::from_utf8(log.body(5, 9)).unwrap();
    let first_proof_line = good.lines().nth(1).unwrap().to_owned();
    for bad in [
        good.replacen("old 5", "old 05", 1),
        good.replacen("old 5\n", "old 5", 1),
        good.replacen("\n\n", "\n", 1),
        good.replacen(&first_proof_line, &first_proof_line[1..], 1),
        good.replace('\n', "\r\n"),
        format!("old 5\n{}\n{}", format!("{first_proof_line}\n").repeat(64), log.signed(9)),
        "garbage".to_owned(),
        String::new(),
    ] {
        let r = w.post(bad.as_bytes());
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
    }

    // 403: no trusted signature, and a trusted key's signature that fails.
    let stranger = TestLog::new("example.com/log").extended(9);
    assert_eq!(w.post(&stranger.body(0, 9).replace_old(5)).status, 403);
    let forged = good.replace(&log.root(9).to_base64(), &log.root(8).to_base64());
    assert_eq!(w.post(forged.as_bytes()).status, 403);

    // 404: an origin the witness does not witness.
    let other = TestLog::new("example.com/other").extended(2);
    assert_eq!(w.post(&other.body(0, 2)).status, 404);

    // 409 with size 0 from a witness that never cosigned the log.
    let empty_log = empty_log.extended(4);
    assert_eq!(conflict_size(&w.post(&empty_log.body(2, 4))), 0);

    // 422: a size-0 checkpoint with another root; a proof from size 0.
    let bad_empty = Checkpoint::new("example.com/empty", 0, log.root(1)).sign(&[&empty_log.signer]).unwrap();
    assert_eq!(w.post(format!("old 0\n\n{bad_empty}").as_bytes()).status, 422);
    let with_proof = format!("old 0\n{}\n\n{}", empty_log.proof(2, 4)[0], empty_log.signed(4));
    assert_eq!(w.post(with_proof.as_bytes()).status, 422);
    // 422: a fork at the witness's size, and a proof that does not verify.
    let fork = log.fork(3, 1).extended(6);
    assert_eq!(w.post(&fork.body(5, 5)).status, 422);
    assert_eq!(w.post(&fork.body(5, 9)).status, 422);
    assert_eq!(w.get("/evidence").status, 200);

    // 200 again for a consistent extension, and for the same checkpoint.
    let r = w.post(&log.body(5, 9));
    assert_eq!(r.status, 200, "{}", r.text());
    verify_cosignature(&log.signed(9), &r.text(), &log.signer, &wvkey);
    assert_eq!(w.post(&log.body(9, 9)).status, 200);

    // 413: a body over 64 KiB.
    assert_eq!(w.post(&vec![b'a'; (64 << 10) + 1]).status, 413);
    // 405: add-checkpoint is POST only. 404: unknown paths and records.
    assert_eq!(w.get("/add-checkpoint").status, 405);
    assert_eq!(w.get("/nothing/here").status, 404);
    assert_eq!(w.get(&format!("/evidence/{}", "0".repeat(64))).status, 404);
    assert_eq!(w.get(&format!("/{}/checkpoint", "A".repeat(64))).status, 404);
    assert_eq!(w.get("/healthz").text(), "ok\n");
    assert!(w.get("/").text().contains(&wvkey));

    // A slow body does not take the only request slot (slots are for the
    // decision, not the upload): the log's request is cosigned meanwhile,
    // and the slow one gets 408 when its body timeout ends.
    let mut slow = TcpStream::connect(w.addr).unwrap();
    slow.write_all(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 100\r\n\r\nold 9\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let meanwhile = w.post(&log.body(9, 9));
    assert_eq!(meanwhile.status, 200, "{}", meanwhile.text());
    // The slow upload was still in progress all that time (not yet timed
    // out, which would also have freed the slot): nothing to read yet.
    slow.set_nonblocking(true).unwrap();
    let pending = slow.read(&mut [0u8; 1]);
    assert!(
        matches!(&pending, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the slow upload ended before the log's request was answered: {pending:?}"
    );
    slow.set_nonblocking(false).unwrap();
    let mut raw = Vec::new();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = slow.read_to_end(&mut raw);
    assert_eq!(parse_http_response(&raw).unwrap().status, 408);

    // A client that never finishes its headers is disconnected.
    let started = Instant::now();
    let mut idle = TcpStream::connect(w.addr).unwrap();
    idle.write_all(b"POST /add-checkpoint HTTP/1.1\r\nHost:").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(5), "idle connection kept {:?}", started.elapsed());
}

/// Test helpers on request bodies.
trait BodyExt {
    fn replace_old(&self, old: u64) -> Vec<u8>;
}

impl BodyExt for Vec<u8> {
    /// The same body with another `old` line.
    fn replace_old(&self, old: u64) -> Vec<u8> {
        let s = std::str::from_utf8(self).unwrap();
        let (_, rest) = s.split_once('\n').unwrap();
        format!("old {old}\n{rest}").into_bytes()
    }
}

#[test]
fn restarted_witness_refuses_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let (key, wvkey) = keygen(dir.path(), "witness.example/w1");
    let log = TestLog::new("example.com/log").extended(12);
    let args = serve_args(&dir.path().join("data"), &key, &[("example.com/log", log.vkey())]);
    let w = WitnessProcess::start(&args);
    assert_eq!(w.post(&log.body(0, 5)).status, 200);
    assert_eq!(w.post(&log.body(5, 10)).status, 200);
    w.kill();

    let w = WitnessProcess::start(&args);
    assert_eq!(assert_cosigned(&w.latest("example.com/log").text(), &log, &wvkey), log.checkpoint(10));
    // The log rolled back to 7 and presents it from its old view: 409.
    assert_eq!(conflict_size(&w.post(&log.body(5, 7))), 10);
    assert_eq!(conflict_size(&w.post(&log.body(0, 7))), 10);
    // From the witness's own size: 400 (old size above the checkpoint's).
    assert_eq!(w.post(&log.body(10, 7).replace_old(10)).status, 400);
    // Rewritten history at size 10: 422.
    let rewritten = log.fork(8, 1).extended(2);
    assert_eq!(w.post(&rewritten.body(10, 10)).status, 422);
    // The honest log carries on.
    let r = w.post(&log.body(10, 12));
    assert_eq!(r.status, 200);
    verify_cosignature(&log.signed(12), &r.text(), &log.signer, &wvkey);
}

#[test]
fn forked_log_gets_422_from_every_witness_and_the_evidence_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let a = TestLog::new("example.com/log").extended(12);
    // Same key, same size 8, different entries after 4.
    let b = a.fork(4, 1).extended(8);
    assert_ne!(a.root(8), b.root(8));
    let mut witnesses = Vec::new();
    for i in 0..3 {
        let (key, wvkey) = keygen(dir.path(), &format!("witness.example/w{i}"));
        let args = serve_args(&dir.path().join(format!("data{i}")), &key, &[("example.com/log", a.vkey())]);
        let w = WitnessProcess::start(&args);
        assert_eq!(w.post(&a.body(0, 8)).status, 200);
        witnesses.push((w, wvkey, args));
    }
    for (w, wvkey, args) in witnesses {
        let r = w.post(&b.body(8, 8));
        assert_eq!(r.status, 422, "{}", r.text());
        let r = w.post(&b.body(8, 12));
        assert_eq!(r.status, 422, "{}", r.text());
        // Evidence survives a restart.
        w.kill();
        let w = WitnessProcess::start(&args);
        let list: serde_json::Value = serde_json::from_slice(&w.get("/evidence").body).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2, "{list:?}");
        let fork = list.iter().find(|e| e["kind"] == "fork").expect("fork evidence");
        let r = w.get(&format!("/evidence/{}", fork["id"].as_str().unwrap()));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let ev: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(ev["origin"], "example.com/log");
        // Both checkpoints are signed by the log: size 8, two roots.
        let cosigned = assert_cosigned(ev["cosigned"].as_str().unwrap(), &a, &wvkey);
        let request = ev["request"].as_str().unwrap();
        assert_eq!(request.as_bytes(), b.body(8, 8));
        let (_, submitted) = request.split_once("\n\n").unwrap();
        let lv = a.signer.verifier();
        let submitted = note::open(submitted, &[&lv as &dyn NoteVerifier]).unwrap();
        let submitted = Checkpoint::parse(&submitted.text).unwrap();
        assert_eq!((cosigned.size, submitted.size), (8, 8));
        assert_ne!(cosigned.root, submitted.root);
        let proof = list.iter().find(|e| e["kind"] == "inconsistent-proof").expect("proof evidence");
        let ev: serde_json::Value =
            serde_json::from_slice(&w.get(&format!("/evidence/{}", proof["id"].as_str().unwrap())).body)
                .unwrap();
        assert_eq!(ev["request"].as_str().unwrap().as_bytes(), b.body(8, 12));
        // The witness still holds the first branch.
        assert_eq!(assert_cosigned(&w.latest("example.com/log").text(), &a, &wvkey), a.checkpoint(8));
    }
}

#[test]
fn racing_checkpoints_of_one_old_size_never_both_get_cosigned() {
    const ROUNDS: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let (key, wvkey) = keygen(dir.path(), "witness.example/w1");
    let mut base = TestLog::new("example.com/log");
    let w = WitnessProcess::start(&serve_args(
        &dir.path().join("data"),
        &key,
        &[("example.com/log", base.vkey())],
    ));
    for round in 0..ROUNDS {
        let n = base.size();
        // Two branches from size n, of equal or different sizes.
        let a = base.fork(n, 2 * round + 1).extended(1 + round % 2);
        let b = base.fork(n, 2 * round + 2).extended(1);
        let bodies = [a.body(n, a.size()), b.body(n, b.size())];
        let barrier = Arc::new(Barrier::new(2));
        let addr = w.addr;
        let results: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    provlog_tests::http_request(addr, "POST", "/add-checkpoint", &body).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let ok: Vec<usize> = (0..2).filter(|&i| results[i].status == 200).collect();
        assert_eq!(ok.len(), 1, "round {round}: statuses {} and {}", results[0].status, results[1].status);
        let (winner, loser) = if ok[0] == 0 { (a, 1) } else { (b, 0) };
        assert_eq!(conflict_size(&results[loser]), winner.size(), "round {round}");
        verify_cosignature(&winner.signed(winner.size()), &results[ok[0]].text(), &winner.signer, &wvkey);
        base = winner;
    }
    assert_eq!(
        assert_cosigned(&w.latest("example.com/log").text(), &base, &wvkey),
        base.checkpoint(base.size())
    );
}

#[test]
fn killed_witness_keeps_every_cosignature_it_returned() {
    const KILLS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let (key, wvkey) = keygen(dir.path(), "witness.example/w1");
    let log = Arc::new(TestLog::new("example.com/log").extended(5000));
    let args = serve_args(&dir.path().join("data"), &key, &[("example.com/log", log.vkey())]);
    let mut acked = 0u64;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..KILLS {
        let w = WitnessProcess::start(&args);
        // The witness's size after the restart: at least every size it
        // answered 200 for before it was killed.
        let size = discover_size(&w, &log);
        assert!(size >= acked, "round {round}: witness size {size} lost acknowledged size {acked}");
        if size > 0 {
            assert_eq!(
                assert_cosigned(&w.latest("example.com/log").text(), &log, &wvkey),
                log.checkpoint(size)
            );
        }
        let last = Arc::new(Mutex::new(size));
        let (addr, log2, last2) = (w.addr, log.clone(), last.clone());
        let client = std::thread::spawn(move || {
            let mut size = *last2.lock().unwrap();
            while size < log2.size() {
                let next = size + 1 + size % 3;
                let next = next.min(log2.size());
                match provlog_tests::http_request(addr, "POST", "/add-checkpoint", &log2.body(size, next)) {
                    Ok(r) if r.status == 200 => {
                        size = next;
                        *last2.lock().unwrap() = size;
                    }
                    Ok(r) => panic!("status {}: {}", r.status, r.text()),
                    Err(_) => break, // killed
                }
            }
        });
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(100 + rng % 300));
        w.kill();
        client.join().unwrap();
        acked = *last.lock().unwrap();
        eprintln!("round {round}: witness size {size} after restart, {acked} acknowledged before the kill");
    }
    assert!(acked > 0);
}
