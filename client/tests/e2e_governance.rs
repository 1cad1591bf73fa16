//! Governance through `provlog governance` against the real
//! `provlog-server --dev`: a new partner is proposed, signed and
//! registered, then submits; governance moves to two keys with quorum 2,
//! whose holders sign a change separately and a coordinator combines their
//! signatures; one signature alone is refused; a revoked key is refused.

mod support;

use std::ffi::OsString;
use std::path::Path;
use support::{provlog, DevLog, Run};

fn os(s: impl AsRef<std::ffi::OsStr>) -> OsString {
    s.as_ref().to_owned()
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    provlog(&args.iter().map(os).collect::<Vec<_>>())
}

fn keygen(dir: &Path, name: &str, file: &str) -> serde_json::Value {
    let r = run(&[&"--json", &"keygen", &"--name", &name, &"--out", &dir.join(file)]);
    r.expect(0);
    r.json_lines().remove(0)
}

fn submit_governance(log: &DevLog, statement: &Path) -> Run {
    run(&[&"--json", &"governance", &"submit", &"--policy", &log.policy(), &statement])
}

#[test]
fn governance_changes_are_proposed_signed_separately_combined_and_registered() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let log = DevLog::start(&d.join("dev"));
    let origin = log.info()["origin"].as_str().unwrap().to_owned();
    let gov1 = log.dir.join("governance.key");

    // A new partner: key, proposal, the one governance signature, submit.
    let partner = keygen(d, "urn:epc:id:pgln:0614141.00077", "new.key");
    let pk = partner["public_key"].as_str().unwrap();
    run(&[
        &"governance",
        &"propose",
        &"--origin",
        &origin,
        &"--out",
        &d.join("p1.json"),
        &"add-partner",
        &"--id",
        &"urn:epc:id:pgln:0614141.00077",
        &"--name",
        &"New Farm",
        &"--key",
        &pk,
        &"--biz-step",
        &"*",
        &"--location",
        &"*",
        &"--company-prefix",
        &"*",
    ])
    .expect(0);
    run(&[&"governance", &"sign", &"--key", &gov1, &"--statement", &d.join("p1.cose"), &d.join("p1.json")])
        .expect(0);
    let r = submit_governance(&log, &d.join("p1.cose"));
    r.expect(0);
    assert_eq!(r.json_lines()[0]["status"], "registered");
    // The new partner can now submit.
    let event = d.join("event.json");
    std::fs::write(&event, support::event_json(77)).unwrap();
    run(&[
        &"submit",
        &"--policy",
        &log.policy(),
        &"--key",
        &d.join("new.key"),
        &"--receipts",
        &d.join("r"),
        &event,
    ])
    .expect(0);

    // Governance moves to two keys, quorum 2 (signed by the current key).
    let g2 = keygen(d, "governance-2", "gov2.key");
    let g3 = keygen(d, "governance-3", "gov3.key");
    run(&[
        &"governance",
        &"propose",
        &"--origin",
        &origin,
        &"--out",
        &d.join("p2.json"),
        &"set-governance",
        &"--governance-key",
        &g2["public_key"].as_str().unwrap(),
        &"--governance-key",
        &g3["public_key"].as_str().unwrap(),
        &"--quorum",
        &"2",
    ])
    .expect(0);
    run(&[&"governance", &"sign", &"--key", &gov1, &"--statement", &d.join("p2.cose"), &d.join("p2.json")])
        .expect(0);
    submit_governance(&log, &d.join("p2.cose")).expect(0);

    // Revoking the new partner's key now needs both holders. Each signs a
    // copy on its own; one copy alone is refused by the quorum rule.
    run(&[
        &"governance",
        &"propose",
        &"--origin",
        &origin,
        &"--out",
        &d.join("p3.json"),
        &"revoke-key",
        &"--partner",
        &"urn:epc:id:pgln:0614141.00077",
        &"--kid",
        &partner["kid"].as_str().unwrap(),
        &"--reason",
        &"lost",
    ])
    .expect(0);
    run(&[
        &"governance",
        &"sign",
        &"--key",
        &d.join("gov2.key"),
        &"--statement",
        &d.join("p3-a.cose"),
        &d.join("p3.json"),
    ])
    .expect(0);
    run(&[
        &"governance",
        &"sign",
        &"--key",
        &d.join("gov3.key"),
        &"--statement",
        &d.join("p3-b.cose"),
        &d.join("p3.json"),
    ])
    .expect(0);
    let r = submit_governance(&log, &d.join("p3-a.cose"));
    r.expect(5);
    assert_eq!(r.json_lines()[0]["rule"], "governance.quorum", "{}", r.stdout);
    run(&[
        &"governance",
        &"combine",
        &"--out",
        &d.join("p3.cose"),
        &d.join("p3-a.cose"),
        &d.join("p3-b.cose"),
    ])
    .expect(0);
    let shown = run(&[&"--json", &"governance", &"show", &d.join("p3.cose")]);
    assert_eq!(shown.json_lines()[0]["signers"].as_array().unwrap().len(), 2);
    let r = submit_governance(&log, &d.join("p3.cose"));
    r.expect(0);
    assert_eq!(r.json_lines()[0]["status"], "registered");

    // The revoked key is refused from the next entry on.
    std::fs::write(&event, support::event_json(78)).unwrap();
    let r = run(&[&"--json", &"submit", &"--policy", &log.policy(), &"--key", &d.join("new.key"), &event]);
    r.expect(5);
    assert_eq!(r.json_lines()[0]["rule"], "signature.key-revoked");

    // A statement for another proposal cannot be signed into this one.
    run(&[
        &"governance",
        &"propose",
        &"--origin",
        &origin,
        &"--out",
        &d.join("p4.json"),
        &"set-role",
        &"--partner",
        &"urn:epc:id:pgln:0614141.00077",
        &"--role",
        &"auditor",
    ])
    .expect(0);
    run(&[
        &"governance",
        &"sign",
        &"--key",
        &d.join("gov2.key"),
        &"--statement",
        &d.join("p3.cose"),
        &d.join("p4.json"),
    ])
    .expect(2);

    // The auditor replays every governance decision.
    let state = d.join("audit.json");
    let r =
        run(&[&"--json", &"audit", &"--replay", &"--once", &"--policy", &log.policy(), &"--state", &state]);
    r.expect(0);
    assert_eq!(r.json_lines()[0]["replay"]["governance"], 4);
}
