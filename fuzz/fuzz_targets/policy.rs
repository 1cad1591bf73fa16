//! C2SP tlog-policy files (`policy::Policy::parse`) and quorum evaluation.
//!
//! Properties: parsing never panics; quorum evaluation is monotone (adding a
//! cosigner never turns met into unmet); every witness together meets any
//! quorum and nobody meets one other than `none`; names that are not
//! witnesses are ignored; a checkpoint passes `check` only with cosigners
//! that meet the quorum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_fuzz::{subset, SplitMix};
use provlog_ledger::policy::Policy;
use std::collections::BTreeSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(p) = Policy::parse(text) else { return };
    let names: Vec<&str> = p.witnesses().iter().map(|w| w.name.as_str()).collect();
    let n = names.len().min(64);
    let met = |s: &BTreeSet<&str>| p.quorum_met(s.iter().copied());
    assert!(p.quorum_met(names.iter().copied()), "all witnesses do not meet the quorum");
    assert_eq!(p.quorum_met(std::iter::empty()), p.quorum().is_none());

    // Subsets: all of them for few witnesses, else a sample.
    let masks: Vec<u64> = if n <= 6 {
        (0..1u64 << n).collect()
    } else {
        let mut rng = SplitMix(data.iter().fold(n as u64, |h, &b| h.rotate_left(5) ^ u64::from(b)));
        (0..32).map(|_| rng.next()).collect()
    };
    for mask in masks {
        let s = subset(&names, mask);
        let before = met(&s);
        let mut with_stranger = s.clone();
        with_stranger.insert("\u{1}not-a-witness");
        assert_eq!(met(&with_stranger), before, "an unknown name changed the outcome");
        if !before {
            continue;
        }
        for name in &names {
            let mut more = s.clone();
            more.insert(name);
            assert!(met(&more), "adding {name} to {s:?} turned a met quorum into unmet");
        }
    }

    let fx = provlog_fuzz::fixtures();
    for note in fx.notes.iter().step_by(5) {
        if let Ok(check) = p.check(note) {
            assert!(p.quorum_met(check.cosigners.iter().map(String::as_str)));
            assert!(check.cosigners.iter().all(|c| names.contains(&c.as_str())));
            assert_eq!(fx.checkpoints.get(check.checkpoint.size as usize), Some(&check.checkpoint));
        }
    }
});
