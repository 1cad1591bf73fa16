//! Malformed and hostile input over HTTP against the real server: every
//! case is a 4xx RFC 9290 problem naming the check, none grows the tree or
//! stops the server from answering `/healthz`; clients that send headers or
//! bodies too slowly are cut off. Spec: `spec/http-api.md` ("Errors",
//! "Limits"), `spec/statement.md`.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::governance::Action;
use provlog_ledger::note::generate_signing_key;
use provlog_ledger::rules::RuleSet;
use provlog_tests::chain::{hours_ago, key_spec, Party};
use provlog_tests::problem::{problem, CBOR_PROBLEM};
use provlog_tests::server::{metric, to_response, Setup, TestLog, Tuning, COSE};
use provlog_tests::{parse_http_response, HttpResponse};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The offset of the unprotected header of a COSE_Sign1 statement.
fn unprotected_offset(b: &[u8]) -> usize {
    assert_eq!(&b[..2], &[0xd2, 0x84]);
    match b[2] {
        x @ 0x40..=0x57 => 3 + (x - 0x40) as usize,
        0x58 => 4 + b[3] as usize,
        0x59 => 5 + u16::from_be_bytes([b[3], b[4]]) as usize,
        other => panic!("unexpected head {other:#x}"),
    }
}

/// `b` with `bytes[at..at + len]` replaced by `with`.
fn splice(b: &[u8], at: usize, len: usize, with: &[u8]) -> Vec<u8> {
    let mut out = b[..at].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&b[at + len..]);
    out
}

/// One request on a fresh connection, with exactly the bytes given.
fn raw(addr: std::net::SocketAddr, request: &[u8]) -> HttpResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    parse_http_response(&out).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&out)))
}

/// One malformed request: where it goes, with which content type, and the
/// problem it must get.
struct Case {
    name: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    rule: &'static str,
}

impl Case {
    /// A body sent to `POST /entries` as `application/cose`.
    fn cose(name: &'static str, body: Vec<u8>, status: u16, rule: &'static str) -> Case {
        Case { name, path: "/entries", content_type: Some(COSE), body, status, rule }
    }
}

#[test]
fn malformed_input_is_refused_with_a_problem_and_changes_nothing() {
    let tuning = Tuning {
        max_batch_statements: 8,
        max_batch_bytes: 1 << 20,
        body_read_timeout_ms: 500,
        ..Tuning::default()
    };
    let log = TestLog::start(Setup::new(RuleSet::strict("strict")).tuning(tuning));
    let farm = log.parties.farm.clone();
    let e = log.commission(&farm, &[farm.sgtin("107346", "1")], &hours_ago(1.0));
    let good = log.sign(&farm, &e);
    let g = good.as_bytes();
    // A key registered, then revoked by governance.
    let old = generate_signing_key();
    log.register(&log.govern(Action::AddKey { partner: farm.id.clone(), key: key_spec(&old) }, &[0, 1]));
    let kid = hex::encode(provlog_ledger::statement::key_thumbprint(&old.verifying_key()));
    log.register(
        &log.govern(Action::RevokeKey { partner: farm.id.clone(), kid, reason: "test".into() }, &[1, 2]),
    );
    let size = log.tree_size();

    let u = unprotected_offset(g);
    let mut sig_flipped = g.to_vec();
    *sig_flipped.last_mut().unwrap() ^= 0x80;
    let mut stranger = farm.clone();
    stranger.id = "urn:epc:id:pgln:0999999.00001".into();
    let mut deep = vec![0xd2];
    deep.extend(std::iter::repeat_n(0x81, 200));
    deep.push(0x00);
    let big_payload = vec![b' '; 60_500];
    let garbage: Vec<u8> = (0..500u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();

    let cases = vec![
        Case::cose("empty body", vec![], 400, "statement.cbor-unexpected-end"),
        Case::cose("truncated", g[..g.len() / 2].to_vec(), 400, "statement.cbor-length-beyond-input"),
        Case::cose(
            "truncated by one byte",
            g[..g.len() - 1].to_vec(),
            400,
            "statement.cbor-length-beyond-input",
        ),
        Case::cose("trailing bytes", [g, &[0x00]].concat(), 400, "statement.cbor-trailing-bytes"),
        Case::cose("non-minimal head", splice(g, u, 1, &[0xb8, 0x00]), 400, "statement.cbor-non-minimal"),
        Case::cose(
            "duplicate map key",
            splice(g, u, 1, &[0xa2, 0x18, 0x63, 0x00, 0x18, 0x63, 0x00]),
            400,
            "statement.cbor-duplicate-map-key",
        ),
        Case::cose(
            "unsorted map keys",
            splice(g, u, 1, &[0xa2, 0x18, 0x64, 0x00, 0x18, 0x63, 0x00]),
            400,
            "statement.cbor-unsorted-map-keys",
        ),
        Case::cose(
            "indefinite length",
            splice(g, 1, 1, &[0x9f]).into_iter().chain([0xff]).collect(),
            400,
            "statement.cbor-indefinite-length",
        ),
        Case::cose(
            "float",
            splice(g, u, 1, &[0xa1, 0x18, 0x63, 0xf9, 0x3c, 0x00]),
            400,
            "statement.cbor-float",
        ),
        Case::cose(
            "huge declared byte string",
            [&[0xd2, 0x84, 0x5b], &[0xff; 8][..], &[0; 16]].concat(),
            400,
            "statement.cbor-length-beyond-input",
        ),
        Case::cose(
            "huge declared array",
            [&[0xd2, 0x9b], &[0x7f; 8][..], &[0; 16]].concat(),
            400,
            "statement.cbor-length-beyond-input",
        ),
        Case::cose(
            "huge declared map",
            splice(g, u, 1, &[0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            400,
            "statement.cbor-length-beyond-input",
        ),
        Case::cose("deep nesting", deep, 400, "statement.cbor-too-deep"),
        Case::cose("untagged", g[1..].to_vec(), 400, "statement.cose-missing-tag"),
        Case::cose("wrong tag", splice(g, 0, 1, &[0xd1]), 400, "statement.cose-wrong-tag"),
        Case::cose("garbage", garbage, 400, "statement."),
        Case::cose("JSON instead of COSE", e.to_string().into_bytes(), 400, "statement."),
        Case::cose(
            "statement over 60,000 bytes",
            oversized_statement(g, &big_payload),
            400,
            "statement.statement-too-large",
        ),
        Case::cose("oversized body", vec![0u8; 70_000], 413, "request.body-too-large"),
        Case {
            content_type: Some("application/json"),
            ..Case::cose("wrong content type", g.to_vec(), 415, "request.content-type")
        },
        Case { content_type: None, ..Case::cose("no content type", g.to_vec(), 415, "request.content-type") },
        Case {
            path: "/entries/batch",
            ..Case::cose("COSE to the batch endpoint", g.to_vec(), 415, "request.content-type")
        },
        Case::cose("bad signature", sig_flipped, 422, "signature.bad-signature"),
        Case::cose(
            "unknown kid",
            log.sign_with(&farm, &generate_signing_key(), &e).as_bytes().to_vec(),
            422,
            "signature.unknown-kid",
        ),
        Case::cose(
            "revoked key",
            log.sign_with(&farm, &old, &e).as_bytes().to_vec(),
            422,
            "signature.key-revoked",
        ),
        Case::cose(
            "unregistered iss",
            log.sign(&stranger, &e).as_bytes().to_vec(),
            422,
            "signature.unknown-issuer",
        ),
        Case::cose(
            "another partner's iss",
            log.sign_with(&log.parties.processor, &farm.key, &e).as_bytes().to_vec(),
            422,
            "signature.issuer-key",
        ),
    ];
    for c in cases {
        let name = c.name;
        for accept in [None, Some(CBOR_PROBLEM)] {
            let mut req = log.client.post(log.url(c.path)).body(c.body.clone());
            if let Some(t) = c.content_type {
                req = req.header("content-type", t);
            }
            if let Some(a) = accept {
                req = req.header("accept", a);
            }
            let p = problem(&to_response(req.send().unwrap()));
            assert_eq!(p.status, c.status, "{name}: {p:?}");
            // A rule ending in "." names a family: the exact code does not matter.
            if c.rule.ends_with('.') {
                assert!(p.rule.starts_with(c.rule), "{name}: {p:?}");
            } else {
                assert_eq!(p.rule, c.rule, "{name}: {p:?}");
            }
            assert!(!p.detail.is_empty(), "{name}");
        }
        assert_eq!(log.get("/healthz").status, 200, "{name}: the server still answers");
    }

    // The batch envelope.
    let item = |b: &[u8]| Cbor::bytes(b);
    let batch = |items: Vec<Cbor>| cbor::encode(&Cbor::Array(items));
    let envelope: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty body", vec![], "batch.cbor-unexpected-end"),
        ("not an array", cbor::encode(&Cbor::Map(vec![(Cbor::int(1), item(g))])), "batch.not-an-array"),
        ("a byte string", cbor::encode(&item(g)), "batch.not-an-array"),
        ("empty array", batch(vec![]), "batch.size"),
        ("too many items", batch(vec![item(g); 9]), "batch.cbor-too-many-items"),
        ("nested arrays", batch(vec![Cbor::Array(vec![item(g)])]), "batch.cbor-too-deep"),
        ("trailing bytes", [batch(vec![item(g)]), vec![0]].concat(), "batch.cbor-trailing-bytes"),
        ("non-canonical", splice(&batch(vec![item(g)]), 0, 1, &[0x98, 0x01]), "batch.cbor-non-minimal"),
        (
            "huge declared length",
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "batch.cbor-length-beyond-input",
        ),
    ];
    for (name, body, rule) in envelope {
        let r = log.post("/entries/batch", "application/cbor", body, None);
        let p = problem(&r);
        assert_eq!((p.status, p.rule.as_str()), (400, rule), "batch {name}: {p:?}");
    }
    let p = problem(&log.post("/entries/batch", "application/cbor", vec![0; (1 << 20) + 1], None));
    assert_eq!((p.status, p.rule.as_str()), (413, "request.body-too-large"));
    // Items are decided one by one: the bad ones get their own problems.
    let mixed = batch(vec![
        Cbor::text("not bytes"),
        Cbor::int(7),
        item(&g[..10]),
        item(&[g, &[0]].concat()),
        item(&oversized_statement(g, &big_payload)),
        item(log.sign_with(&farm, &old, &e).as_bytes()),
    ]);
    let r = log.post("/entries/batch", "application/cbor", mixed, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let results: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    let got: Vec<(u64, &str)> = results
        .iter()
        .map(|r| (r["status"].as_u64().unwrap(), r["problem"]["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (400, "batch.not-bytes"),
            (400, "batch.not-bytes"),
            (400, "statement.cbor-length-beyond-input"),
            (400, "statement.cbor-trailing-bytes"),
            // The same code as alone (`Statement::parse`'s own size check).
            (400, "statement.statement-too-large"),
            (422, "signature.key-revoked"),
        ]
    );

    // Requests that are not statements at all.
    // A body shorter than its Content-Length: the rest never comes.
    let r = raw(
        log.addr(),
        b"POST /entries HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/cose\r\n\r\nab",
    );
    assert_eq!(problem(&r).rule, "request.body-timeout");
    let r = raw(log.addr(), b"GARBAGE\r\n\r\n");
    assert_eq!(r.status, 400, "not HTTP");
    let r = raw(log.addr(), b"POST /entries HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nContent-Type: application/cose\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 413, "a declared length over the limit is refused at once: {}", r.text());
    // A chunked body (no Content-Length) one byte over the batch limit, sent
    // whole before the answer is read: the server reads past the limit (a
    // bounded amount) so that its 413 is not lost to a connection reset.
    let mut req = b"POST /entries/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    let mut left = (1usize << 20) + 1;
    while left > 0 {
        let n = left.min(60_000);
        req.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        req.extend(std::iter::repeat_n(0u8, n));
        req.extend_from_slice(b"\r\n");
        left -= n;
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = raw(log.addr(), &req);
    assert_eq!(r.status, 413, "chunked body over the limit: {}", r.text());
    assert_eq!(problem(&r).rule, "request.body-too-large");

    assert_eq!(log.tree_size(), size, "nothing malformed was stored");
    assert_eq!(log.get("/healthz").status, 200);
    // The good statement still registers after all that.
    log.register(&good);
    log.verify();
}

/// A COSE_Sign1 whose payload makes it longer than 60,000 bytes, built by
/// hand (the signing API refuses to make one).
fn oversized_statement(g: &[u8], payload: &[u8]) -> Vec<u8> {
    let u = unprotected_offset(g);
    let mut out = g[..u + 1].to_vec();
    out.extend(cbor::encode(&Cbor::bytes(payload)));
    out.extend(cbor::encode(&Cbor::bytes(vec![0u8; 64])));
    out
}

#[test]
fn slow_clients_are_cut_off_and_the_server_keeps_serving() {
    let tuning = Tuning { header_read_timeout_ms: 700, body_read_timeout_ms: 700, ..Tuning::default() };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).tuning(tuning));
    let size = log.tree_size();

    // Slowloris: headers one byte at a time, for longer than the header timeout.
    let head = b"POST /entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/cose\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut s = TcpStream::connect(log.addr()).unwrap();
    // The read timeout paces the writes: one byte every 40 ms.
    s.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
    let started = Instant::now();
    let mut next = head.iter().cycle();
    let cut_off = loop {
        assert!(started.elapsed() < Duration::from_secs(10), "the server never cut off a slowloris client");
        if s.write_all(&[*next.next().unwrap()]).is_err() {
            break started.elapsed();
        }
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            // Still open, still waiting for the rest of the headers.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            // End of stream, a reset, or an error response: cut off.
            _ => break started.elapsed(),
        }
    };
    let t = cut_off;
    eprintln!("slowloris cut off after {t:?}");
    assert!(t >= Duration::from_millis(650), "cut off before the header timeout: {t:?}");
    assert_eq!(log.get("/healthz").status, 200);

    // A body sent too slowly: complete headers, then one byte every 100 ms.
    let mut s = TcpStream::connect(log.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s.write_all(b"POST /entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/cose\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    loop {
        assert!(started.elapsed() < Duration::from_secs(10), "the server waited for a slow body forever");
        if s.write_all(&[0xd2]).is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if !answer.is_empty() {
                    break;
                }
            }
            Err(_) => break,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let t = started.elapsed();
    eprintln!("slow body cut off after {t:?}");
    assert!(t >= Duration::from_millis(650) && t < Duration::from_secs(5), "slow body cut off after {t:?}");
    let r = parse_http_response(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    let p = problem(&r);
    assert_eq!((p.status, p.rule.as_str()), (408, "request.body-timeout"), "{p:?}");
    assert_eq!(log.get("/healthz").status, 200);
    assert_eq!(log.tree_size(), size);
    log.verify();
}

#[test]
fn partner_rate_limits_answer_429_and_only_verified_statements_spend_them() {
    let tuning = Tuning { per_partner_per_s: 1, per_partner_burst: 3, ..Tuning::default() };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).tuning(tuning));
    let (farm, processor) = (log.parties.farm.clone(), log.parties.processor.clone());
    let new = |p: &Party, serial: &str| {
        log.sign(p, &log.commission(p, &[p.sgtin("107346", serial)], &hours_ago(1.0)))
    };
    // Junk in the farm's name does not spend the farm's budget.
    for i in 0..5 {
        let mut forged = new(&farm, &format!("forged-{i}")).as_bytes().to_vec();
        *forged.last_mut().unwrap() ^= 1;
        assert_eq!(problem(&log.submit_bytes(&forged)).rule, "signature.bad-signature");
    }
    for i in 0..3 {
        log.register(&new(&farm, &format!("{i}")));
    }
    let size = log.tree_size();
    let r = log.submit(&new(&farm, "over"));
    let p = problem(&r);
    assert_eq!((p.status, p.rule.as_str()), (429, "request.rate-limited"), "{p:?}");
    assert!(r.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1)));
    assert_eq!(log.tree_size(), size, "a rate-limited statement is not sequenced");
    // Buckets are per partner.
    log.register(&new(&processor, "1"));
    log.verify();
}

/// Starts a 1 MiB batch upload and sends all of it but its last byte: with
/// `http.max_body_memory_bytes` at 1 MiB, it holds the whole budget until
/// its body read time runs out.
fn hold_the_body_budget(log: &TestLog) -> TcpStream {
    let mut holder = TcpStream::connect(log.addr()).unwrap();
    holder
        .write_all(
            b"POST /entries/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n\
              Content-Length: 1048576\r\n\r\n",
        )
        .unwrap();
    holder.write_all(&vec![0u8; (1 << 20) - 1]).unwrap();
    holder
}

/// The upload of [`hold_the_body_budget`] ends in 408.
fn assert_times_out(mut holder: TcpStream) {
    holder.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = holder.read_to_end(&mut out);
    assert_eq!(parse_http_response(&out).unwrap().status, 408);
}

/// Bodies in hand never hold more than `http.max_body_memory_bytes`: with
/// the whole budget taken by the bytes of one slow upload, another
/// submission waits until that upload times out, then goes through. (A
/// declared length alone takes nothing: only bytes sent count.)
#[test]
fn a_submission_waits_for_body_memory_beyond_the_budget() {
    let tuning = Tuning {
        max_batch_bytes: 1 << 20,
        max_body_memory_bytes: 1 << 20,
        body_read_timeout_ms: 1000,
        ..Tuning::default()
    };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).tuning(tuning));
    let farm = log.parties.farm.clone();
    // If the submission overtakes the upload's bytes (a loaded machine), it
    // is answered at once: try again with another statement.
    for attempt in 0.. {
        let s = log.sign(
            &farm,
            &log.commission(&farm, &[farm.sgtin("107346", &format!("b{attempt}"))], &hours_ago(1.0)),
        );
        let holder = hold_the_body_budget(&log);
        let held = Instant::now();
        std::thread::sleep(Duration::from_millis(300));
        let r = log.submit(&s);
        let waited = held.elapsed();
        assert_eq!(r.status, 201, "{}", r.text());
        assert_times_out(holder);
        if waited >= Duration::from_millis(650) {
            break;
        }
        assert!(attempt < 4, "answered after {waited:?} in every attempt, while the budget was held");
    }
}

/// The other side of the budget: a submission whose body read is still
/// waiting for memory when its own deadline passes gets 503
/// `request.overloaded` with `Retry-After: 1`, and nothing is stored. Its
/// headers go first, so its deadline is the earlier one, then a slow upload
/// takes the whole budget, then its body follows.
#[test]
fn a_submission_still_waiting_for_body_memory_at_its_deadline_is_told_the_log_is_overloaded() {
    let tuning = Tuning {
        max_batch_bytes: 1 << 20,
        max_body_memory_bytes: 1 << 20,
        body_read_timeout_ms: 4000,
        ..Tuning::default()
    };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).tuning(tuning));
    let farm = log.parties.farm.clone();
    let s = log.sign(&farm, &log.commission(&farm, &[farm.sgtin("107346", "late")], &hours_ago(1.0)));
    let size = log.tree_size();

    let mut late = TcpStream::connect(log.addr()).unwrap();
    late.write_all(
        format!(
            "POST /entries HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/cose\r\n\
             Content-Length: {}\r\n\r\n",
            s.as_bytes().len()
        )
        .as_bytes(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let holder = hold_the_body_budget(&log);
    std::thread::sleep(Duration::from_millis(300));
    late.write_all(s.as_bytes()).unwrap();
    late.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = late.read_to_end(&mut out);
    let r = parse_http_response(&out).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&out)));
    let p = problem(&r);
    assert_eq!((p.status, p.rule.as_str()), (503, "request.overloaded"), "{p:?}");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(log.tree_size(), size, "nothing was stored");
    let metrics = log.get("/metrics").text();
    assert_eq!(metric(&metrics, r#"provlog_refused_total{reason="overloaded"}"#), Some(1.0), "{metrics}");
    // The slow upload times out in its turn; the statement goes through
    // when sent again.
    assert_times_out(holder);
    log.register(&s);
}

/// Proof requests out of range, and the other refusals of the proof
/// endpoints, name the rule spec/http-api.md ("Proofs") gives them; the
/// same questions within range are answered.
#[test]
fn proof_requests_out_of_range_are_refused_with_request_range() {
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")));
    let farm = log.parties.farm.clone();
    for i in 0..3 {
        log.register(
            &log.sign(
                &farm,
                &log.commission(&farm, &[farm.sgtin("107346", &format!("r{i}"))], &hours_ago(1.0)),
            ),
        );
    }
    let size = log.tree_size();
    let unknown = "0".repeat(64);
    for (path, status, rule) in [
        (format!("/proof/inclusion?index={size}&size={size}"), 400, "request.range"),
        (format!("/proof/inclusion?index=0&size={}", size + 1), 400, "request.range"),
        ("/proof/inclusion?index=0&size=0".to_owned(), 400, "request.range"),
        (format!("/proof/consistency?old=0&new={size}"), 400, "request.range"),
        (format!("/proof/consistency?old={size}&new={}", size - 1), 400, "request.range"),
        (format!("/proof/consistency?old=1&new={}", size + 1), 400, "request.range"),
        ("/proof/inclusion?index=0&id=00&size=1".to_owned(), 400, "request.query"),
        ("/proof/inclusion?size=1".to_owned(), 400, "request.query"),
        ("/proof/inclusion?index=x".to_owned(), 400, "request.query"),
        ("/proof/consistency?new=2".to_owned(), 400, "request.query"),
        ("/proof/inclusion?id=ABC".to_owned(), 400, "request.statement-id"),
        (format!("/proof/inclusion?id={unknown}"), 404, "request.not-found"),
    ] {
        let p = problem(&log.get(&path));
        assert_eq!((p.status, p.rule.as_str()), (status, rule), "{path}: {p:?}");
    }
    for path in [
        format!("/proof/inclusion?index={}&size={size}", size - 1),
        format!("/proof/consistency?old=1&new={size}"),
        format!("/proof/consistency?old={size}&new={size}"),
    ] {
        let r = log.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
}

/// Behind a trusted proxy (`limits.trusted_proxies`), each client address
/// that `X-Forwarded-For` names has its own per-address budget, and an
/// address the client wrote itself further left is not believed.
#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let tuning = Tuning {
        per_address_per_s: 1,
        per_address_burst: 3,
        max_batch_statements: 3,
        trusted_proxies: vec!["127.0.0.1"],
        ..Tuning::default()
    };
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")).tuning(tuning));
    let farm = log.parties.farm.clone();
    let serial = AtomicU64::new(0);
    let submit = |forwarded: Option<&str>| {
        let n = serial.fetch_add(1, Ordering::Relaxed);
        let s = log
            .sign(&farm, &log.commission(&farm, &[farm.sgtin("107346", &format!("p{n}"))], &hours_ago(1.0)));
        let mut req =
            log.client.post(log.url("/entries")).header("content-type", COSE).body(s.as_bytes().to_vec());
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        to_response(req.send().unwrap())
    };
    // The budget refills at 1/s, so on a slow machine a fourth may pass:
    // submit until refused, and the refusal names the forwarded client.
    let until_refused = |forwarded: &str| {
        for accepted in 0..8 {
            let r = submit(Some(forwarded));
            if r.status != 201 {
                let p = problem(&r);
                assert_eq!((p.status, p.rule.as_str()), (429, "request.rate-limited"), "{p:?}");
                return (accepted, p.detail);
            }
        }
        panic!("{forwarded}: never refused");
    };
    let (accepted, detail) = until_refused("198.51.100.1");
    assert!(accepted >= 3, "refused after {accepted}");
    assert_eq!(detail, "too many statements from 198.51.100.1");
    // A client cannot pose as another by writing an address to the left:
    // the proxy appended the one it saw, whose budget is spent (a fresh
    // one would take three first).
    let (_, detail) = until_refused("198.51.100.9, 198.51.100.1");
    assert_eq!(detail, "too many statements from 198.51.100.1");
    // Another client behind the same proxy has its own budget.
    assert_eq!(submit(Some("198.51.100.2")).status, 201);
    // The proxy's own requests (no header) are charged to the proxy.
    let refused = (0..8).map(|_| submit(None)).find(|r| r.status != 201).expect("never refused");
    assert_eq!(problem(&refused).detail, "too many statements from 127.0.0.1");
    log.verify();
}
