//! `provlog-server` as a real process over HTTP/2 (cleartext, prior
//! knowledge, on the port that also speaks HTTP/1.1): statements submitted
//! over HTTP/2 are registered and their receipts verify offline; the same
//! statement over HTTP/1.1 is the same entry; proofs and checkpoints read
//! over HTTP/2 agree with those read over HTTP/1.1. Spec:
//! `spec/http-api.md` (first section).

use provlog_ledger::rules::RuleSet;
use provlog_tests::audit::verify_receipt;
use provlog_tests::chain::hours_ago;
use provlog_tests::server::{Setup, TestLog};

const COSE: &str = "application/cose";

fn http2_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP/2 client")
}

#[test]
fn statements_proofs_and_checkpoints_over_http2_match_http1() {
    let log = TestLog::start(Setup::new(RuleSet::permissive("permissive")));
    let farm = log.parties.farm.clone();
    let h2 = http2_client();

    // Several statements at once on the one HTTP/2 connection.
    let statements: Vec<_> = (0..8)
        .map(|n| {
            log.sign(
                &farm,
                &log.commission(&farm, &[farm.sgtin("107346", &format!("h2-{n}"))], &hours_ago(1.0)),
            )
        })
        .collect();
    let indexes: Vec<u64> = std::thread::scope(|scope| {
        let answers: Vec<_> = statements
            .iter()
            .map(|s| {
                let h2 = &h2;
                let url = log.url("/entries");
                scope.spawn(move || {
                    let r =
                        h2.post(url).header("content-type", COSE).body(s.as_bytes().to_vec()).send().unwrap();
                    (r.version(), r.status().as_u16(), r.text().unwrap())
                })
            })
            .collect();
        answers
            .into_iter()
            .zip(&statements)
            .map(|(answer, s)| {
                let (version, status, text) = answer.join().unwrap();
                assert_eq!(version, reqwest::Version::HTTP_2);
                assert_eq!(status, 201, "{text}");
                let v = verify_receipt(&text, &log.origin, &log.log_vkey, None, s)
                    .unwrap_or_else(|e| panic!("receipt does not verify: {e:#}\n{text}"));
                log.saw(&v.checkpoint_note);
                v.index
            })
            .collect()
    });
    let mut sorted = indexes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), statements.len(), "each statement its own entry: {indexes:?}");

    // The first statement again, over HTTP/1.1: the same entry (200).
    let again = log.submit(&statements[0]);
    assert_eq!(again.status, 200, "{}", again.text());
    let v = verify_receipt(&again.text(), &log.origin, &log.log_vkey, None, &statements[0]).unwrap();
    assert_eq!(v.index, indexes[0]);

    // Reads: the same bytes over both protocols.
    let size = log.published_size();
    for path in [
        "/checkpoint".to_owned(),
        format!("/proof/inclusion?index={}&size={size}", indexes[3]),
        format!("/proof/consistency?old=1&new={size}"),
        format!("/entries/{}", statements[5].id()),
    ] {
        let r = h2.get(log.url(&path)).send().unwrap();
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let over_h2 = r.bytes().unwrap();
        let over_h1 = log.get(&path);
        assert_eq!(over_h1.status, 200, "{path}");
        assert_eq!(over_h2.as_ref(), over_h1.body.as_slice(), "{path}");
    }
    // A refusal is the same problem document too.
    let bad = h2.post(log.url("/entries")).header("content-type", COSE).body(vec![0xff; 10]).send().unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let bad_h1 = log.submit_bytes(&[0xff; 10]);
    assert_eq!(bad.text().unwrap().as_bytes(), bad_h1.body.as_slice());
}
