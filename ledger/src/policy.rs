//! C2SP tlog-policy: the logs and witnesses a verifier trusts, and the quorum
//! of witness cosignatures a checkpoint needs. Sans-I/O.
//!
//! Spec: `spec/witness.md` ("Quorum policy"), which follows
//! c2sp.org/tlog-policy and states the choices made where it is open.
//!
//! ```text
//! # comment                                   (whole lines only)
//! log <vkey> [<url>]                          Ed25519 (type 0x01) log key
//! witness <name> <vkey> [<url>]               cosignature/v1 (type 0x04) key
//! group <name> all|any|<k> <member>...        1 <= k <= number of members
//! quorum <name>|none                          exactly once
//! ```
//!
//! Items are separated by ASCII spaces and tabs. A group or quorum line may
//! only name witnesses and groups defined on earlier lines, so definitions
//! cannot be circular; each name is a group member at most once in the
//! whole file, so every witness counts towards the quorum in one way only.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::cosignature::CosignatureVerifier;
use crate::note::{self, Ed25519Verifier, NoteError, NoteVerifier};
use crate::tile::parse_decimal;
use std::collections::{BTreeSet, HashMap};
use thiserror::Error;

/// Policies longer than this are refused unread.
pub const MAX_POLICY_SIZE: usize = 1 << 20;
/// At most this many logs, witnesses and groups together (the spec asks for
/// at least 32 of each).
pub const MAX_POLICY_ITEMS: usize = 4096;
/// The predefined name of the empty quorum.
pub const NONE: &str = "none";

/// Why a policy file was refused. Lines are numbered from 1.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The file is over [`MAX_POLICY_SIZE`].
    #[error("policy of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// More than [`MAX_POLICY_ITEMS`] logs, witnesses and groups.
    #[error("line {line}: more than {max} logs, witnesses and groups")]
    TooManyItems { line: usize, max: usize },
    /// A control character other than tab and newline (this refuses CR too).
    #[error("line {line}: control character {byte:#04x}")]
    ControlCharacter { line: usize, byte: u32 },
    /// The first item of a line is not `log`, `witness`, `group` or `quorum`.
    #[error("line {line}: unknown keyword {keyword:?}")]
    UnknownKeyword { line: usize, keyword: String },
    /// A line with too few or too many items for its keyword.
    #[error("line {line}: wrong number of items for a {keyword} line")]
    WrongItemCount { line: usize, keyword: &'static str },
    /// A `log` key that is not an Ed25519 (type 0x01) vkey, or a `witness`
    /// key that is not a cosignature/v1 (type 0x04) vkey.
    #[error("line {line}: bad {keyword} key")]
    BadKey {
        line: usize,
        keyword: &'static str,
        #[source]
        source: NoteError,
    },
    /// Two logs, or two witnesses, with the same public key (whatever their
    /// key names and IDs).
    #[error("line {line}: duplicate {keyword} key")]
    DuplicateKey { line: usize, keyword: &'static str },
    /// A witness or group name defined twice (they share one namespace).
    #[error("line {line}: name {name:?} is already defined")]
    DuplicateName { line: usize, name: String },
    /// An attempt to define the predefined name `none`.
    #[error("line {line}: the name \"none\" is predefined")]
    ReservedName { line: usize },
    /// A reference to a name not defined on an earlier line.
    #[error("line {line}: {name:?} is not defined on an earlier line")]
    UndefinedName { line: usize, name: String },
    /// `none` listed as a group member.
    #[error("line {line}: \"none\" cannot be a group member")]
    NoneAsMember { line: usize },
    /// A name listed as a group member a second time in the file.
    #[error("line {line}: {name:?} is already a group member")]
    MemberRepeated { line: usize, name: String },
    /// A threshold that is not `all`, `any` or a canonical decimal from 1 to
    /// the number of members.
    #[error("line {line}: threshold {threshold:?} is not all, any or 1 to {members}")]
    BadThreshold { line: usize, threshold: String, members: usize },
    /// A second `quorum` line.
    #[error("line {line}: a second quorum line")]
    DuplicateQuorum { line: usize },
    /// No `quorum` line.
    #[error("the policy has no quorum line")]
    MissingQuorum,
}

/// Why a checkpoint does not satisfy a policy. Apart from `Malformed`, each
/// variant is a failed verification.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PolicyCheckError {
    /// The note is malformed, a known key's signature fails, or no known
    /// key signed it.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note's text is not a checkpoint.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// No policy log whose key name is the checkpoint's origin signed it.
    #[error("no signature by a policy log for origin {origin:?}")]
    NoLogSignature { origin: String },
    /// The valid cosignatures do not meet the quorum.
    #[error("quorum not met; cosigned by {cosigners:?}")]
    QuorumNotMet { cosigners: Vec<String> },
}

/// A log of the policy.
#[derive(Clone, Debug)]
pub struct PolicyLog {
    /// The key; its name is the log's origin.
    pub verifier: Ed25519Verifier,
    pub url: Option<String>,
}

/// A witness of the policy.
#[derive(Clone, Debug)]
pub struct PolicyWitness {
    /// The name the policy gives it (local to the policy file).
    pub name: String,
    pub verifier: CosignatureVerifier,
    /// Conventionally the witness's submission prefix.
    pub url: Option<String>,
}

/// A member of a group, or the quorum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// Index into [`Policy::witnesses`].
    Witness(usize),
    /// Index into [`Policy::groups`].
    Group(usize),
}

/// A group: met when at least `threshold` of its members are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyGroup {
    pub name: String,
    pub threshold: usize,
    /// Each refers to a witness or an earlier group.
    pub members: Vec<Node>,
}

/// A parsed, validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    /// `None` for `quorum none`.
    quorum: Option<Node>,
}

/// A checkpoint that satisfies a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyCheck {
    pub checkpoint: Checkpoint,
    /// Policy names of the witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
}

fn items(line: &str) -> Vec<&str> {
    line.split([' ', '\t']).filter(|s| !s.is_empty()).collect()
}

impl Policy {
    /// Parses a policy file. A final line without its newline is accepted.
    ///
    /// # Errors
    /// The first [`PolicyError`] found, with its line number.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::TooLarge { len: text.len(), max: MAX_POLICY_SIZE });
        }
        let mut p = Policy { logs: Vec::new(), witnesses: Vec::new(), groups: Vec::new(), quorum: None };
        let mut names: HashMap<String, Node> = HashMap::new();
        let mut members_used: BTreeSet<String> = BTreeSet::new();
        let mut quorum_seen = false;
        for (i, raw) in text.split('\n').enumerate() {
            let line = i + 1;
            if let Some(c) = raw.chars().find(|&c| c != '\t' && ((c as u32) < 0x20 || c as u32 == 0x7f)) {
                return Err(PolicyError::ControlCharacter { line, byte: c as u32 });
            }
            let it = items(raw);
            let Some(&keyword) = it.first() else { continue };
            if keyword.starts_with('#') {
                continue;
            }
            if p.logs.len() + p.witnesses.len() + p.groups.len() >= MAX_POLICY_ITEMS && keyword != "quorum" {
                return Err(PolicyError::TooManyItems { line, max: MAX_POLICY_ITEMS });
            }
            match keyword {
                "log" => {
                    let (vkey, url) = match it[1..] {
                        [vkey] => (vkey, None),
                        [vkey, url] => (vkey, Some(url.to_owned())),
                        _ => return Err(PolicyError::WrongItemCount { line, keyword: "log" }),
                    };
                    let verifier = Ed25519Verifier::from_vkey(vkey)
                        .map_err(|source| PolicyError::BadKey { line, keyword: "log", source })?;
                    if p.logs.iter().any(|l| l.verifier.public_key() == verifier.public_key()) {
                        return Err(PolicyError::DuplicateKey { line, keyword: "log" });
                    }
                    p.logs.push(PolicyLog { verifier, url });
                }
                "witness" => {
                    let (name, vkey, url) = match it[1..] {
                        [name, vkey] => (name, vkey, None),
                        [name, vkey, url] => (name, vkey, Some(url.to_owned())),
                        _ => return Err(PolicyError::WrongItemCount { line, keyword: "witness" }),
                    };
                    define(&names, name, line)?;
                    let verifier = CosignatureVerifier::from_vkey(vkey)
                        .map_err(|source| PolicyError::BadKey { line, keyword: "witness", source })?;
                    let key = key_data(&verifier.vkey());
                    if p.witnesses.iter().any(|w| key_data(&w.verifier.vkey()) == key) {
                        return Err(PolicyError::DuplicateKey { line, keyword: "witness" });
                    }
                    names.insert(name.to_owned(), Node::Witness(p.witnesses.len()));
                    p.witnesses.push(PolicyWitness { name: name.to_owned(), verifier, url });
                }
                "group" => {
                    let [_, name, threshold, ref listed @ ..] = it[..] else {
                        return Err(PolicyError::WrongItemCount { line, keyword: "group" });
                    };
                    if listed.is_empty() {
                        return Err(PolicyError::WrongItemCount { line, keyword: "group" });
                    }
                    define(&names, name, line)?;
                    let n = listed.len();
                    let threshold = match threshold {
                        "all" => n,
                        "any" => 1,
                        k => {
                            parse_decimal(k).map(|k| k as usize).filter(|k| (1..=n).contains(k)).ok_or_else(
                                || PolicyError::BadThreshold { line, threshold: k.to_owned(), members: n },
                            )?
                        }
                    };
                    let mut members = Vec::with_capacity(n);
                    for &m in listed {
                        if m == NONE {
                            return Err(PolicyError::NoneAsMember { line });
                        }
                        let node = *names
                            .get(m)
                            .ok_or_else(|| PolicyError::UndefinedName { line, name: m.to_owned() })?;
                        if !members_used.insert(m.to_owned()) {
                            return Err(PolicyError::MemberRepeated { line, name: m.to_owned() });
                        }
                        members.push(node);
                    }
                    names.insert(name.to_owned(), Node::Group(p.groups.len()));
                    p.groups.push(PolicyGroup { name: name.to_owned(), threshold, members });
                }
                "quorum" => {
                    let [_, name] = it[..] else {
                        return Err(PolicyError::WrongItemCount { line, keyword: "quorum" });
                    };
                    if quorum_seen {
                        return Err(PolicyError::DuplicateQuorum { line });
                    }
                    quorum_seen = true;
                    p.quorum = if name == NONE {
                        None
                    } else {
                        Some(
                            *names
                                .get(name)
                                .ok_or_else(|| PolicyError::UndefinedName { line, name: name.to_owned() })?,
                        )
                    };
                }
                other => return Err(PolicyError::UnknownKeyword { line, keyword: other.to_owned() }),
            }
        }
        if !quorum_seen {
            return Err(PolicyError::MissingQuorum);
        }
        Ok(p)
    }

    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    pub fn groups(&self) -> &[PolicyGroup] {
        &self.groups
    }

    /// The quorum; `None` for `quorum none`.
    pub fn quorum(&self) -> Option<Node> {
        self.quorum
    }

    /// Whether the witnesses named `cosigners` (policy names; unknown names
    /// are ignored) meet the quorum.
    pub fn quorum_met<'a>(&self, cosigners: impl IntoIterator<Item = &'a str>) -> bool {
        let set: BTreeSet<&str> = cosigners.into_iter().collect();
        let signed: Vec<bool> = self.witnesses.iter().map(|w| set.contains(w.name.as_str())).collect();
        match self.quorum {
            None => true,
            Some(node) => self.node_met(node, &signed),
        }
    }

    fn node_met(&self, node: Node, signed: &[bool]) -> bool {
        match node {
            Node::Witness(i) => signed[i],
            // Groups only refer to earlier definitions, so this terminates.
            Node::Group(g) => {
                let group = &self.groups[g];
                group.members.iter().filter(|&&m| self.node_met(m, signed)).count() >= group.threshold
            }
        }
    }

    /// Checks a cosigned checkpoint against the policy: a valid signature by
    /// a policy log whose key name is the checkpoint's origin, every
    /// signature by a policy key valid, and valid cosignatures that meet the
    /// quorum. Cosignature timestamps are not judged.
    ///
    /// # Errors
    /// [`PolicyCheckError`] naming the first check that failed.
    pub fn check(&self, signed_checkpoint: &str) -> Result<PolicyCheck, PolicyCheckError> {
        let verifiers: Vec<&dyn NoteVerifier> = self
            .logs
            .iter()
            .map(|l| &l.verifier as &dyn NoteVerifier)
            .chain(self.witnesses.iter().map(|w| &w.verifier as &dyn NoteVerifier))
            .collect();
        let note = note::open(signed_checkpoint, &verifiers)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        let log_signed = note.verified.iter().any(|s| {
            s.name == checkpoint.origin
                && self.logs.iter().any(|l| l.verifier.name() == s.name && l.verifier.key_id() == s.key_id)
        });
        if !log_signed {
            return Err(PolicyCheckError::NoLogSignature { origin: checkpoint.origin });
        }
        let cosigners: Vec<String> = note
            .verified
            .iter()
            .filter_map(|s| {
                self.witnesses
                    .iter()
                    .find(|w| w.verifier.name() == s.name && w.verifier.key_id() == s.key_id)
                    .map(|w| w.name.clone())
            })
            .collect();
        if !self.quorum_met(cosigners.iter().map(String::as_str)) {
            return Err(PolicyCheckError::QuorumNotMet { cosigners });
        }
        Ok(PolicyCheck { checkpoint, cosigners })
    }
}

/// The `base64(type || public key)` part of a vkey: equal for two vkeys that
/// wrap the same key, whatever their names and IDs.
fn key_data(vkey: &str) -> String {
    vkey.splitn(3, '+').nth(2).unwrap_or_default().to_owned()
}

/// Checks that `name` may be defined on `line`.
fn define(names: &HashMap<String, Node>, name: &str, line: usize) -> Result<(), PolicyError> {
    if name == NONE {
        return Err(PolicyError::ReservedName { line });
    }
    if names.contains_key(name) {
        return Err(PolicyError::DuplicateName { line, name: name.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::CosignatureSigner;
    use crate::note::Ed25519Signer;
    use crate::tree::empty_root;
    use ed25519_dalek::SigningKey;

    fn log() -> Ed25519Signer {
        Ed25519Signer::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap()
    }

    fn witness(i: u8) -> CosignatureSigner {
        CosignatureSigner::new(&format!("w{i}.example"), SigningKey::from_bytes(&[10 + i; 32])).unwrap()
    }

    fn wkey(i: u8) -> String {
        witness(i).verifier().vkey()
    }

    fn two_level() -> String {
        format!(
            "# two organizations\nlog {} https://log.example\n\n\
             witness X1 {}\nwitness X2 {}\n  witness X3\t{} https://x3.example\n\
             group X-witnesses 2 X1 X2 X3\n\
             witness Y1 {}\nwitness Y2 {}\n\
             group Y-witnesses any Y1 Y2\n\
             \t# nested\n\
             group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n",
            log().verifier().vkey(),
            wkey(1),
            wkey(2),
            wkey(3),
            wkey(4),
            wkey(5)
        )
    }

    #[test]
    fn parses_the_spec_example_shape_with_nested_groups() {
        let p = Policy::parse(&two_level()).unwrap();
        assert_eq!((p.logs().len(), p.witnesses().len(), p.groups().len()), (1, 5, 3));
        assert_eq!(p.logs()[0].url.as_deref(), Some("https://log.example"));
        assert_eq!(p.witnesses()[2].url.as_deref(), Some("https://x3.example"));
        assert_eq!(p.groups()[0].threshold, 2);
        assert_eq!(p.groups()[1].threshold, 1);
        assert_eq!(p.groups()[2].threshold, 2);
        assert_eq!(p.groups()[2].members, vec![Node::Group(0), Node::Group(1)]);
        assert_eq!(p.quorum(), Some(Node::Group(2)));
    }

    #[test]
    fn quorum_evaluation_follows_thresholds_through_nested_groups() {
        let p = Policy::parse(&two_level()).unwrap();
        assert!(p.quorum_met(["X1", "X3", "Y2"]));
        assert!(p.quorum_met(["X1", "X2", "X3", "Y1", "Y2"]));
        assert!(!p.quorum_met(["X1", "Y1", "Y2"]));
        assert!(!p.quorum_met(["X1", "X2", "X3"]));
        assert!(!p.quorum_met([]));
        assert!(!p.quorum_met(["X1", "X2", "X-witnesses", "Y-witnesses", "nobody"]));
    }

    #[test]
    fn quorum_none_and_single_witness_quorums() {
        let none = Policy::parse("quorum none\n").unwrap();
        assert!(none.quorum_met([]));
        assert_eq!(none.quorum(), None);
        let single = Policy::parse(&format!("witness W {}\nquorum W", wkey(1))).unwrap();
        assert!(single.quorum_met(["W"]));
        assert!(!single.quorum_met(["V"]));
    }

    #[test]
    fn every_grammar_error_is_refused_with_its_line() {
        let (l, w1, w2) = (log().verifier().vkey(), wkey(1), wkey(2));
        let e = |s: &str| Policy::parse(s).unwrap_err();
        use PolicyError::*;
        assert_eq!(e(""), MissingQuorum);
        assert_eq!(e("# only a comment\n"), MissingQuorum);
        assert_eq!(e("quorum none\r\n"), ControlCharacter { line: 1, byte: 0x0d });
        assert_eq!(e("quorum none\n\u{7f}\n"), ControlCharacter { line: 2, byte: 0x7f });
        assert_eq!(
            e("quorum none\nwitnesses A B\n"),
            UnknownKeyword { line: 2, keyword: "witnesses".into() }
        );
        assert_eq!(e("Quorum none\n"), UnknownKeyword { line: 1, keyword: "Quorum".into() });
        assert_eq!(e("quorum none # trailing comment\n"), WrongItemCount { line: 1, keyword: "quorum" });
        assert_eq!(e("quorum\n"), WrongItemCount { line: 1, keyword: "quorum" });
        assert_eq!(e("log\nquorum none\n"), WrongItemCount { line: 1, keyword: "log" });
        assert_eq!(e(&format!("log {l} u extra\n")), WrongItemCount { line: 1, keyword: "log" });
        assert_eq!(e("witness A\n"), WrongItemCount { line: 1, keyword: "witness" });
        assert_eq!(e(&format!("witness A {w1} u x\n")), WrongItemCount { line: 1, keyword: "witness" });
        assert_eq!(
            e(&format!("witness A {w1}\ngroup G any\n")),
            WrongItemCount { line: 2, keyword: "group" }
        );
        assert_eq!(e("group G\n"), WrongItemCount { line: 1, keyword: "group" });
        assert!(matches!(e("log AAAA\n"), BadKey { line: 1, keyword: "log", .. }));
        // A cosignature key where a log key belongs, and the reverse.
        assert!(matches!(e(&format!("log {w1}\n")), BadKey { line: 1, keyword: "log", .. }));
        assert!(matches!(e(&format!("witness A {l}\n")), BadKey { line: 1, keyword: "witness", .. }));
        assert_eq!(e(&format!("log {l}\nlog {l} url\n")), DuplicateKey { line: 2, keyword: "log" });
        // The same public key under another name is a duplicate too.
        let renamed = CosignatureSigner::new("other", SigningKey::from_bytes(&[11; 32])).unwrap();
        assert_eq!(
            e(&format!("witness A {w1}\nwitness B {}\n", renamed.verifier().vkey())),
            DuplicateKey { line: 2, keyword: "witness" }
        );
        assert_eq!(
            e(&format!("witness A {w1}\nwitness A {w2}\n")),
            DuplicateName { line: 2, name: "A".into() }
        );
        assert_eq!(
            e(&format!("witness A {w1}\ngroup A any A\n")),
            DuplicateName { line: 2, name: "A".into() }
        );
        assert_eq!(e(&format!("witness none {w1}\n")), ReservedName { line: 1 });
        assert_eq!(e(&format!("witness A {w1}\ngroup none any A\n")), ReservedName { line: 2 });
        assert_eq!(
            e(&format!("witness A {w1}\ngroup G any A B\n")),
            UndefinedName { line: 2, name: "B".into() }
        );
        assert_eq!(e("quorum W\n"), UndefinedName { line: 1, name: "W".into() });
        // Defined later is not defined: this also rules out cycles.
        assert_eq!(
            e(&format!("witness A {w1}\ngroup G any A H\ngroup H any G\n")),
            UndefinedName { line: 2, name: "H".into() }
        );
        assert_eq!(e(&format!("quorum A\nwitness A {w1}\n")), UndefinedName { line: 1, name: "A".into() });
        assert_eq!(e(&format!("witness A {w1}\ngroup G any A none\n")), NoneAsMember { line: 2 });
        assert_eq!(
            e(&format!("witness A {w1}\ngroup G any A A\n")),
            MemberRepeated { line: 2, name: "A".into() }
        );
        assert_eq!(
            e(&format!("witness A {w1}\nwitness B {w2}\ngroup G any A\ngroup H all A B\n")),
            MemberRepeated { line: 4, name: "A".into() }
        );
        for k in ["0", "3", "01", "-1", "+1", "some", "ALL"] {
            assert_eq!(
                e(&format!("witness A {w1}\nwitness B {w2}\ngroup G {k} A B\n")),
                BadThreshold { line: 3, threshold: k.into(), members: 2 },
                "{k}"
            );
        }
        assert_eq!(e(&format!("witness A {w1}\nquorum A\nquorum none\n")), DuplicateQuorum { line: 3 });
        let big = "#".repeat(MAX_POLICY_SIZE + 1);
        assert_eq!(e(&big), TooLarge { len: MAX_POLICY_SIZE + 1, max: MAX_POLICY_SIZE });
    }

    #[test]
    fn whitespace_comments_and_order_follow_the_spec() {
        let p = Policy::parse(&format!(
            "  # indented comment\n\t\nquorum G\n \tlog\t{}  \nwitness A {}\n",
            log().verifier().vkey(),
            wkey(1)
        ));
        // The quorum must name something defined earlier.
        assert!(matches!(p, Err(PolicyError::UndefinedName { line: 3, .. })));
        let p = Policy::parse(&format!(
            "witness A {}\ngroup G 1 A\nquorum G\n \tlog\t{}  \n",
            wkey(1),
            log().verifier().vkey()
        ))
        .unwrap();
        assert_eq!(p.logs().len(), 1);
        assert!(p.quorum_met(["A"]));
    }

    #[test]
    fn too_many_items_are_refused() {
        let mut s = String::new();
        for i in 0..=MAX_POLICY_ITEMS {
            s.push_str(&format!("group g{i} any g{}\n", i.saturating_sub(1)));
        }
        // The first group refers to itself before it exists.
        assert!(matches!(Policy::parse(&s), Err(PolicyError::UndefinedName { line: 1, .. })));
        let mut s = format!("witness w {}\ngroup g0 any w\n", wkey(1));
        for i in 1..MAX_POLICY_ITEMS {
            s.push_str(&format!("group g{i} any g{}\n", i - 1));
        }
        assert_eq!(
            Policy::parse(&s).unwrap_err(),
            PolicyError::TooManyItems { line: MAX_POLICY_ITEMS + 1, max: MAX_POLICY_ITEMS }
        );
    }

    fn cosigned(witnesses: &[u8]) -> String {
        let cp = Checkpoint::new("example.com/log", 3, empty_root());
        let mut msg = cp.sign(&[&log()]).unwrap();
        for &i in witnesses {
            msg.push_str(&witness(i).sign_line(&cp.to_text(), 1_700_000_000));
        }
        msg
    }

    #[test]
    fn check_accepts_a_checkpoint_cosigned_by_a_quorum() {
        let p = Policy::parse(&two_level()).unwrap();
        let ok = p.check(&cosigned(&[1, 2, 5])).unwrap();
        assert_eq!(ok.cosigners, vec!["X1", "X2", "Y2"]);
        assert_eq!(ok.checkpoint.size, 3);
    }

    #[test]
    fn check_refuses_missing_quorum_missing_log_and_bad_cosignatures() {
        let p = Policy::parse(&two_level()).unwrap();
        assert_eq!(
            p.check(&cosigned(&[1, 2])).unwrap_err(),
            PolicyCheckError::QuorumNotMet { cosigners: vec!["X1".into(), "X2".into()] }
        );
        // Cosignatures without a log signature.
        let cp = Checkpoint::new("example.com/log", 3, empty_root());
        let mut only_witnesses = format!("{}\n", cp.to_text());
        for i in [1, 2, 4] {
            only_witnesses.push_str(&witness(i).sign_line(&cp.to_text(), 1));
        }
        assert!(matches!(p.check(&only_witnesses), Err(PolicyCheckError::NoLogSignature { .. })));
        // A log key whose name is not the origin does not count.
        let other = Checkpoint::new("example.com/other", 3, empty_root());
        let msg = format!(
            "{}{}",
            other.sign(&[&log()]).unwrap(),
            [1, 2, 4].iter().map(|&i| witness(i).sign_line(&other.to_text(), 1)).collect::<String>()
        );
        assert!(matches!(p.check(&msg), Err(PolicyCheckError::NoLogSignature { .. })));
        // A cosignature over another checkpoint fails the whole note.
        let mut bad = cosigned(&[1, 2]);
        bad.push_str(
            &witness(4).sign_line(&Checkpoint::new("example.com/log", 4, empty_root()).to_text(), 1),
        );
        assert!(matches!(p.check(&bad), Err(PolicyCheckError::Note(NoteError::InvalidSignature { .. }))));
    }
}
