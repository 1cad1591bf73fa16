//! `provlog-server --dev`, the README's first command, as a user runs it:
//! the first start creates the directory, starts two local witnesses and
//! prints what a new user needs; a partner key from `dev.json` signs
//! statements that get witnessed receipts; a second start on the same
//! directory resumes the same log (same key, same witnesses, growing and
//! consistent). Spec: `spec/http-api.md` ("Development mode").

use provlog_ledger::epcis::split_document;
use provlog_ledger::keyfile;
use provlog_ledger::policy::Policy;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_EPCIS};
use provlog_tests::audit::{verify_log, verify_receipt};
use provlog_tests::chain::{hours_ago, now_ms, EPCIS_CONTEXT};
use provlog_tests::process::{free_port, sigterm, wait_or_kill};
use provlog_tests::server::{client, to_response};
use provlog_tests::workspace_binary;
use std::io::Read as _;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loopback port P with P + 1 and P + 2 free too: `--dev` puts its two
/// witnesses on the two ports after the log's.
fn three_free_ports() -> u16 {
    for _ in 0..100 {
        let p = free_port();
        if p > 65_000 {
            continue;
        }
        let held: Vec<_> = (p..p + 3).filter_map(|q| TcpListener::bind(("127.0.0.1", q)).ok()).collect();
        if held.len() == 3 {
            return p;
        }
    }
    panic!("no three consecutive free ports");
}

/// A `provlog-server --dev` process; stopped with SIGTERM (which stops its
/// witnesses) when dropped.
struct DevServer {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
}

impl DevServer {
    fn start(dir: &Path, addr: SocketAddr) -> DevServer {
        let mut child = Command::new(workspace_binary("provlog-server"))
            .arg("--dev")
            .arg("--data")
            .arg(dir)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn provlog-server --dev");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stdout.take().unwrap();
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut server = DevServer { child, stdout };
        let c = client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "--dev did not become healthy");
            assert!(matches!(server.child.try_wait(), Ok(None)), "--dev exited: {}", server.output());
            if c.get(format!("http://{addr}/healthz")).send().is_ok_and(|r| r.status() == 200) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// SIGTERM and a clean exit.
    fn stop(mut self) {
        sigterm(self.child.id());
        let status = wait_or_kill(&mut self.child, Duration::from_secs(15));
        assert!(status.is_some_and(|s| s.success()), "unclean --dev shutdown: {status:?}");
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            sigterm(self.child.id());
            wait_or_kill(&mut self.child, Duration::from_secs(10));
        }
    }
}

/// The first GS1 example event, signed with a partner key file as an
/// outside client would.
fn gs1_statement(key_file: &Path, iss: &str, n: u64) -> Statement {
    let signer = keyfile::load(key_file).expect("a partner key file the spec documents");
    let doc = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spec/vectors/epcis/Example_9.6.1-ObjectEvent.jsonld"
    ))
    .unwrap();
    let events = split_document(&doc).unwrap();
    let d = &events[n as usize % events.len()];
    let sub = d.event.event_id.clone().unwrap();
    // iat makes each run's statements distinct; the event itself repeats,
    // so only the first run registers it (replay.event-id after that).
    Statement::sign1(signer.signing_key(), iss, &sub, now_ms() / 1000 + n, CONTENT_TYPE_EPCIS, &d.payload)
        .unwrap()
}

/// A commissioning event of the farm's own product, signed with its key file.
fn own_statement(key_file: &Path, iss: &str, serial: &str) -> Statement {
    let signer = keyfile::load(key_file).unwrap();
    let epc = format!("urn:epc:id:sgtin:0614141.107346.{serial}");
    let event = serde_json::json!({
        "@context": EPCIS_CONTEXT,
        "type": "ObjectEvent", "eventTime": hours_ago(1.0), "eventTimeZoneOffset": "+00:00",
        "epcList": [epc], "action": "ADD", "bizStep": "commissioning", "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00001.0"}
    });
    Statement::sign1(
        signer.signing_key(),
        iss,
        &epc,
        now_ms() / 1000,
        CONTENT_TYPE_EPCIS,
        event.to_string().as_bytes(),
    )
    .unwrap()
}

#[test]
fn dev_mode_starts_a_witnessed_log_and_a_second_start_resumes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dev");
    let c = client();
    let mut seen: Vec<String> = Vec::new();
    let mut info_first: Option<serde_json::Value> = None;
    let mut size_before = 0;

    for run in 0..2 {
        let addr = SocketAddr::from(([127, 0, 0, 1], three_free_ports()));
        // A second start uses the address dev.json recorded: its witnesses'
        // ports are in the policy.
        let addr = match &info_first {
            Some(info) => info["url"].as_str().unwrap().trim_start_matches("http://").parse().unwrap(),
            None => addr,
        };
        let server = DevServer::start(&dir, addr);
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("dev.json")).unwrap()).unwrap();
        let base = info["url"].as_str().unwrap().to_owned();
        assert_eq!(base, format!("http://{addr}"));
        let origin = info["origin"].as_str().unwrap().to_owned();
        let log_vkey = info["log_vkey"].as_str().unwrap().to_owned();
        match &info_first {
            None => info_first = Some(info.clone()),
            Some(first) => assert_eq!(first, &info, "a second start reuses everything dev.json describes"),
        }
        assert_eq!(info["witnesses"].as_array().unwrap().len(), 2);
        let policy_text = std::fs::read_to_string(info["witness_policy"].as_str().unwrap()).unwrap();
        let policy = Policy::parse(&policy_text).unwrap();
        let farm = &info["partners"][0];
        let (key_file, iss) = (Path::new(farm["key_file"].as_str().unwrap()), farm["id"].as_str().unwrap());

        // Witnessed receipts for statements signed with the partner key file.
        let mut statements = vec![own_statement(key_file, iss, &format!("run{run}"))];
        if run == 0 {
            statements.push(gs1_statement(key_file, iss, 0));
            statements.push(gs1_statement(key_file, iss, 1));
        }
        for s in &statements {
            let r = to_response(
                c.post(format!("{base}/entries"))
                    .header("content-type", "application/cose")
                    .body(s.as_bytes().to_vec())
                    .send()
                    .unwrap(),
            );
            assert_eq!(r.status, 201, "{}", r.text());
            let v = verify_receipt(&r.text(), &origin, &log_vkey, Some(&policy), s).unwrap();
            assert_eq!(v.cosigners.len(), 2, "both local witnesses cosign");
            seen.push(v.checkpoint_note);
        }

        // What a new user is shown: the URL, the log vkey, the partner keys.
        let out = server.output();
        assert!(
            out.contains(&base)
                && out.contains(&log_vkey)
                && out.contains(farm["key_file"].as_str().unwrap()),
            "{out}"
        );
        // The example the banner suggests works as printed (signed anew
        // each time, so registered on every run).
        let try_line =
            out.lines().skip_while(|l| l.trim() != "try:").nth(1).unwrap_or_else(|| panic!("{out}"));
        let words: Vec<&str> = try_line.split_whitespace().collect();
        assert_eq!(words[..2], ["provlog", "submit"], "{try_line}");
        let run_it = Command::new(workspace_binary("provlog")).args(&words[1..]).output().unwrap();
        let said = String::from_utf8_lossy(&run_it.stdout);
        assert!(run_it.status.success(), "{try_line}: {said} {}", String::from_utf8_lossy(&run_it.stderr));
        assert!(said.starts_with("registered") && said.contains("0 refused"), "{try_line}: {said}");
        let index = to_response(c.get(format!("{base}/")).send().unwrap()).text();
        assert!(index.contains(&format!("vkey {log_vkey}")), "{index}");

        let v = verify_log(&c, &base, &origin, &log_vkey, Some(&policy), &seen)
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(v.checkpoint.size > size_before, "run {run}: the log grows");
        size_before = v.checkpoint.size;
        seen.push(v.note);
        server.stop();
        // The witnesses stopped with the server: their ports are free again.
        for w in info["witnesses"].as_array().unwrap() {
            let listen: SocketAddr = w["listen"].as_str().unwrap().parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpListener::bind(listen).is_err() {
                assert!(Instant::now() < deadline, "witness at {listen} outlived the server");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[test]
fn dev_mode_refuses_to_start_when_a_witness_port_is_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let port = three_free_ports();
    let _taken = TcpListener::bind(("127.0.0.1", port + 2)).unwrap();
    let mut child = Command::new(workspace_binary("provlog-server"))
        .args(["--dev", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(tmp.path().join("dev"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_or_kill(&mut child, Duration::from_secs(30));
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.is_some_and(|s| !s.success()), "{status:?}: {stderr}");
    let expected = format!("local witness witness-2.localhost: cannot listen on 127.0.0.1:{}", port + 2);
    assert!(stderr.contains(&expected), "{stderr}");
    // Nothing listens on the log's port or the other witness's.
    for p in [port, port + 1] {
        assert!(TcpListener::bind(("127.0.0.1", p)).is_ok(), "port {p} still taken");
    }
}
