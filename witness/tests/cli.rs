//! The `provlog-witness` command line: help, keygen, key file permissions and
//! configuration errors, run as the real binary.
//!
//! Besides what it tests, this integration test makes `cargo test` build the
//! `provlog-witness` binary into the target directory, where the
//! process-level tests of `provlog-tests` find it.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output};

fn witness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provlog-witness")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_is_available_on_every_command() {
    for args in [&["--help"][..], &["keygen", "--help"], &["vkey", "--help"], &["help"]] {
        let o = witness(args);
        assert!(o.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("Usage"), "{args:?}");
    }
    let o = witness(&["--help"]);
    let out = String::from_utf8_lossy(&o.stdout);
    for flag in ["--listen", "--data", "--key", "--log", "--config"] {
        assert!(out.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn keygen_writes_a_private_key_file_once_and_prints_the_cosignature_vkey() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("w.key");
    let k = key.to_str().unwrap();
    let o = witness(&["keygen", "--name", "witness.example/w1", "--out", k]);
    assert!(o.status.success(), "{}", stderr(&o));
    let vkey = String::from_utf8(o.stdout.clone()).unwrap();
    let v = provlog_ledger::cosignature::CosignatureVerifier::from_vkey(vkey.trim_end()).unwrap();
    assert!(v.vkey().starts_with("witness.example/w1+"));
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("PRIVATE+KEY+witness.example/w1+") && text.ends_with('\n'));
    assert!(!stderr(&o).contains("PRIVATE"), "the secret was printed");

    let again = witness(&["keygen", "--name", "witness.example/w1", "--out", k]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("refusing to overwrite"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);

    let o = witness(&["vkey", "--key", k]);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), vkey);
}

#[test]
fn a_group_or_world_readable_key_file_is_refused_with_a_clear_message() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("w.key");
    let k = key.to_str().unwrap();
    assert!(witness(&["keygen", "--name", "w", "--out", k]).status.success());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let log = provlog_ledger::note::Ed25519Signer::generate("example.com/log").unwrap().verifier().vkey();
    let data = d.path().join("data");
    let o = witness(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().unwrap(),
        "--key",
        k,
        "--log",
        &format!("example.com/log={log}"),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("mode 0644") && err.contains("chmod 600"), "{err}");
    assert!(!err.contains("PRIVATE"), "{err}");
}

#[test]
fn invalid_configuration_stops_the_witness_before_it_listens() {
    let d = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--data".into(), "x".into(), "--key".into(), "k".into()], "no log configured"),
        (
            vec!["--data".into(), "x".into(), "--key".into(), "k".into(), "--log".into(), "origin".into()],
            "ORIGIN=VKEY",
        ),
        (
            vec![
                "--data".into(),
                "x".into(),
                "--key".into(),
                "k".into(),
                "--log".into(),
                "o=o+00000000+AAAA".into(),
            ],
            "bad vkey",
        ),
        (vec!["--key".into(), "k".into(), "--log".into(), "o=v".into()], "missing data directory"),
        (vec!["--listen".into(), "localhost".into(), "--data".into(), "x".into()], "IP:PORT"),
    ];
    for (args, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = witness(&args);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let config = d.path().join("w.toml");
    std::fs::write(&config, "data = \"d\"\nkey = \"k\"\nlisten = \"127.0.0.1:0\"\ntypo = 1\n").unwrap();
    let o = witness(&["--config", config.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is not valid"), "{}", stderr(&o));
}
