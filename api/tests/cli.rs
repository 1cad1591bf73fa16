//! The `provlog-server` command line, run as a real process. (This file also
//! makes `cargo test --workspace` build the binary the end-to-end tests of
//! `provlog-tests` start.)

use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provlog-server"))
}

#[test]
fn help_describes_every_flag() {
    let out = server().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in
        ["--config", "--data", "--listen", "--origin", "--log-key", "--genesis", "--witness-policy", "--dev"]
    {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn missing_data_dir_is_a_clear_error() {
    let out = server().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("data_dir"), "{err}");
}

#[test]
fn an_empty_log_without_genesis_is_refused_and_key_permissions_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("log.key");
    provlog_ledger::keyfile::generate("localhost/provlog", &key).unwrap();
    let out = server().arg("--data").arg(d.path()).arg("--listen").arg("127.0.0.1:0").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("genesis"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Refused before a store was created: the engine is still open to choose.
    for engine in ["db", "fjall"] {
        assert!(!d.path().join(engine).exists(), "a refused start created {engine}/");
    }
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = server().arg("--data").arg(d.path()).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chmod 600"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_witness_policy_naming_another_log_key_is_refused_before_anything_is_stored() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("log.key");
    provlog_ledger::keyfile::generate("localhost/provlog", &key).unwrap();
    let other = provlog_ledger::keyfile::generate("localhost/provlog", &d.path().join("other.key")).unwrap();
    let policy = d.path().join("witnesses.policy");
    std::fs::write(&policy, format!("log {}\nquorum none\n", other.verifier().vkey())).unwrap();
    let data = d.path().join("data");
    let start = || {
        let out = server()
            .arg("--data")
            .arg(&data)
            .arg("--log-key")
            .arg(&key)
            .arg("--witness-policy")
            .arg(&policy)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = start();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("names no log with this log's key"), "{err}");
    assert!(!data.exists(), "a refused start created {}", data.display());
    // The policy of this log is accepted (and the start goes on to ask for
    // a genesis statement).
    let mine = provlog_ledger::keyfile::load(&key).unwrap().verifier().vkey();
    std::fs::write(&policy, format!("log {mine}\nquorum none\n")).unwrap();
    let (_, err) = start();
    assert!(err.contains("genesis") && !err.contains("names no log"), "{err}");
}

/// A genesis statement the rules refuse (signed by one governance key of a
/// quorum of two) stops the start with the rule that refused it, in words.
#[test]
fn a_refused_genesis_statement_names_the_rule() {
    use base64::Engine as _;
    use provlog_ledger::governance::{Action, GovernancePayload, GovernanceSpec, GOVERNANCE_ISSUER};
    use provlog_ledger::note::generate_signing_key;
    use provlog_ledger::rules::RuleSet;
    use provlog_ledger::statement::{Statement, CONTENT_TYPE_GOVERNANCE};

    let d = tempfile::tempdir().unwrap();
    provlog_ledger::keyfile::generate("localhost/provlog", &d.path().join("log.key")).unwrap();
    let keys = [generate_signing_key(), generate_signing_key()];
    let payload = GovernancePayload {
        origin: "localhost/provlog".into(),
        nonce: String::new(),
        action: Action::Genesis {
            governance: GovernanceSpec {
                keys: keys
                    .iter()
                    .map(|k| base64::engine::general_purpose::STANDARD.encode(k.verifying_key().as_bytes()))
                    .collect(),
                quorum: 2,
            },
            partners: Vec::new(),
            rule_set: RuleSet::permissive("p"),
        },
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let genesis = Statement::sign_multi(
        &[&keys[0]],
        GOVERNANCE_ISSUER,
        "genesis",
        now,
        CONTENT_TYPE_GOVERNANCE,
        &payload.to_json(),
    )
    .unwrap();
    let file = d.path().join("genesis.cose");
    std::fs::write(&file, genesis.as_bytes()).unwrap();
    let out = server().arg("--data").arg(d.path()).arg("--genesis").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("the genesis statement {} was refused: governance.", file.display())),
        "{err}"
    );
    assert!(!err.contains("Violation {") && !err.contains("Some("), "debug text: {err}");
    // Checked before the store was created: nothing is left behind.
    for engine in ["db", "fjall"] {
        assert!(!d.path().join(engine).exists(), "a refused genesis left {engine}/");
    }
}
