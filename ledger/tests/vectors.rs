//! Published test vectors, read from `spec/vectors/` by one generic runner
//! per topic and passed through the real code.
//!
//! - `rfc6962/`: transparency-dev/merkle's inclusion and consistency proof
//!   vectors (happy paths and every mutation), 196 files.
//! - `note/`: the signed-note known answers of Go's `sumdb/note`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use provlog_ledger::note::{self, Ed25519Signer, Ed25519Verifier, NoteVerifier};
use provlog_ledger::proof::{check_consistency_bytes, check_inclusion_bytes, ProofError};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// A hash field as the vectors give it: base64 of any length (the length
/// checks belong to the verifiers under test).
fn bytes(v: &Value) -> Vec<u8> {
    BASE64.decode(v.as_str().unwrap()).unwrap()
}

/// A proof: a list of hashes; `null` (Go's nil slice) is the empty proof.
fn proof(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Null => Vec::new(),
        v => v.as_array().unwrap().iter().map(bytes).collect(),
    }
}

fn run_inclusion(v: &Value) -> Result<(), ProofError> {
    let index = v["leafIdx"].as_u64().unwrap();
    let size = v["treeSize"].as_u64().unwrap();
    check_inclusion_bytes(&bytes(&v["leafHash"]), index, size, &proof(&v["proof"]), &bytes(&v["root"]))
}

fn run_consistency(v: &Value) -> Result<(), ProofError> {
    let size1 = v["size1"].as_u64().unwrap();
    let size2 = v["size2"].as_u64().unwrap();
    check_consistency_bytes(size1, size2, &proof(&v["proof"]), &bytes(&v["root1"]), &bytes(&v["root2"]))
}

#[test]
fn rfc6962_proof_vectors_give_the_published_results() {
    let mut files = Vec::new();
    json_files(&vectors_dir().join("rfc6962"), &mut files);
    files.sort();
    let mut counts = [0usize; 2];
    let mut failures = Vec::new();
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let inclusion = f.components().any(|c| c.as_os_str() == "inclusion");
        let got = if inclusion { run_inclusion(&v) } else { run_consistency(&v) };
        counts[inclusion as usize] += 1;
        let want_err = v["wantErr"].as_bool().unwrap();
        if got.is_err() != want_err {
            failures.push(format!("{}: want error {want_err}, got {got:?}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(files.len(), 196, "every published vector is present");
    assert!(counts[0] > 0 && counts[1] > 0);
}

#[test]
fn signed_note_known_answers_reproduce_byte_for_byte() {
    let text = std::fs::read_to_string(vectors_dir().join("note/known-answers.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let first = &v["cases"][0];
    let second = &v["cases"][1];

    let signer = Ed25519Signer::from_skey(first["signer_key"].as_str().unwrap()).unwrap();
    let verifier = Ed25519Verifier::from_vkey(first["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(signer.name(), first["key_name"].as_str().unwrap());
    assert_eq!(format!("{:08x}", signer.key_id()), first["key_id_hex"].as_str().unwrap());
    assert_eq!(signer.verifier().vkey(), first["verifier_key"].as_str().unwrap());
    assert_eq!(&*signer.skey(), first["signer_key"].as_str().unwrap());

    // Same note from the same key, byte for byte.
    let signed = note::sign(first["text"].as_str().unwrap(), &[&signer]).unwrap();
    assert_eq!(signed, first["signed_note"].as_str().unwrap());
    let n = note::open(&signed, &[&verifier]).unwrap();
    assert_eq!(n.text, first["text"].as_str().unwrap());

    // A second verifier's signature over the same text: a note with both
    // verifies under either key, the other signature reported unverified.
    let enoch = Ed25519Verifier::from_vkey(second["verifier_key"].as_str().unwrap()).unwrap();
    assert_eq!(format!("{:08x}", enoch.key_id()), second["key_id_hex"].as_str().unwrap());
    let both = format!("{signed}{}", second["signature_line"].as_str().unwrap());
    for (known, other) in [(&verifier, &enoch), (&enoch, &verifier)] {
        let n = note::open(&both, &[known as &dyn NoteVerifier]).unwrap();
        assert_eq!(n.verified.len(), 1);
        assert_eq!(n.verified[0].name, known.name());
        assert_eq!(n.unverified.len(), 1);
        assert_eq!(n.unverified[0].name, other.name());
    }
    let n = note::open(&both, &[&verifier, &enoch]).unwrap();
    assert_eq!(n.verified.len(), 2);

    for bad in v["bad_verifier_keys"].as_array().unwrap() {
        let key = bad["key"].as_str().unwrap();
        assert!(Ed25519Verifier::from_vkey(key).is_err(), "{} accepted", bad["desc"]);
    }
}
