//! Writes the seed corpus of every fuzz target into `<out>/<target>/`:
//! inputs derived from `spec/vectors/` and the signed fixtures of
//! `provlog_fuzz`. Existing files are kept (the corpus grows as the fuzzer
//! runs); a seed is named after its SHA-256, so rerunning adds nothing twice.
//! When the fixtures change (their digest is kept in `<out>/FIXTURES`), the
//! corpora are started afresh.
//!
//! Usage: `cargo run --example seed_corpora -- [<out>]` (default `corpus`),
//! from `fuzz/`; `scripts/fuzz.sh` runs it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use provlog_fuzz::{fixtures, governance_payloads, policies, ORIGIN};
use provlog_ledger::cbor::{self, Limits, Value};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::cose::CoseMessage;
use provlog_ledger::epcis::split_document;
use provlog_ledger::note;
use provlog_ledger::receipt::Receipt;
use provlog_ledger::statement::STATEMENT_LIMITS;
use provlog_ledger::tile::{self, hash_tiles_for_size, Tile, TileKind};
use provlog_ledger::tree::Hash;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

type Seeds = BTreeMap<&'static str, Vec<Vec<u8>>>;

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    let mut seeds = Seeds::new();
    let mut add = |target: &'static str, bytes: Vec<u8>| seeds.entry(target).or_default().push(bytes);

    cose_and_statements(&vectors, &mut add);
    epcis(&vectors.join("epcis"), &mut add);
    notes_and_witness(&vectors, &mut add);
    receipts(&vectors.join("rfc6962/inclusion"), &mut add);
    tiles(&mut add);
    for p in governance_payloads() {
        add("governance", p.to_json());
        add("governance", serde_json::to_vec(&p).expect("serializes"));
    }
    for e in &fixtures().entries {
        add("entry", e.clone());
        add("cbor", e.clone());
    }
    for p in policies() {
        add("policy", p.into_bytes());
    }
    eddsa(&mut add);

    // Inputs grown from another fixture world hold signatures the targets
    // do not know of, which they would report as forgeries.
    let stamp = out.join("FIXTURES");
    let digest = provlog_fuzz::fixture_digest();
    if fs::read_to_string(&stamp).ok().as_deref() != Some(digest.as_str()) {
        for target in seeds.keys() {
            let dir = out.join(target);
            if dir.exists() {
                println!("fixtures changed: starting {} afresh", dir.display());
                fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("remove {}: {e}", dir.display()));
            }
        }
        fs::create_dir_all(&out).unwrap_or_else(|e| panic!("create {}: {e}", out.display()));
        fs::write(&stamp, &digest).unwrap_or_else(|e| panic!("write {}: {e}", stamp.display()));
    }

    for (target, inputs) in &seeds {
        let dir = out.join(target);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let mut written = 0;
        for input in inputs {
            let name = format!("seed-{}", &hex::encode(Sha256::digest(input))[..16]);
            let path = dir.join(name);
            if !path.exists() {
                fs::write(&path, input).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
                written += 1;
            }
        }
        println!("{target}: {} seeds ({written} new)", inputs.len());
    }
}

fn read_json(path: &Path) -> Json {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn json_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Statements and COSE messages: the vectors, the fixtures, and the CBOR
/// items inside them (protected headers, `Sig_structure`s).
fn cose_and_statements(vectors: &Path, add: &mut impl FnMut(&'static str, Vec<u8>)) {
    let mut messages = Vec::new();
    for path in json_files(&vectors.join("statement"), "json") {
        let v = read_json(&path);
        messages.push(hex::decode(v["statement"].as_str().expect("statement hex")).expect("hex"));
    }
    for name in ["eddsa-sig-01.json", "eddsa-01.json"] {
        let v = read_json(&vectors.join("cose").join(name));
        messages.push(hex::decode(v["output"]["cbor"].as_str().expect("cbor hex")).expect("hex"));
    }
    messages.extend(fixtures().statements.iter().cloned());
    let roomy = Limits { max_size: usize::MAX, ..Limits::default() };
    for m in messages {
        if let Ok(msg) = CoseMessage::parse(&m, &STATEMENT_LIMITS) {
            add("cbor", msg.protected().as_bytes().to_vec());
            if let CoseMessage::Sign(s) = &msg {
                for sig in &s.signatures {
                    add("cbor", sig.protected.as_bytes().to_vec());
                }
            }
            add("cbor", provlog_fuzz::to_be_signed(&msg, 0));
            add("cose", msg.stripped().to_bytes());
            if let Ok(Value::Tag(_, inner)) = cbor::decode(&m, &roomy) {
                add("cbor", cbor::encode(&inner));
            }
            if msg.protected().header().content_type.is_some() {
                add("epcis_event", msg.payload().to_vec());
                add("governance", msg.payload().to_vec());
            }
        }
        add("cbor", m.clone());
        add("cose", m.clone());
        add("statement", m);
    }
}

/// Events, documents and identifiers from the GS1 examples.
fn epcis(dir: &Path, add: &mut impl FnMut(&'static str, Vec<u8>)) {
    for i in [0, 42, 2018] {
        add("epcis_event", provlog_fuzz::epcis_event(i).into_bytes());
    }
    for path in json_files(dir, "jsonld") {
        let bytes = fs::read(&path).expect("read example");
        if let Ok(events) = split_document(&bytes) {
            for e in events {
                add("epcis_event", e.payload);
            }
        }
        let mut strings = Vec::new();
        collect_strings(&serde_json::from_slice(&bytes).expect("example is JSON"), &mut strings);
        for s in strings {
            if s.starts_with("urn:epc:") || s.starts_with("http") {
                add("epcis_identifier", s.into_bytes());
            }
        }
        add("epcis_document", bytes);
    }
}

fn collect_strings(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::String(s) => out.push(s.clone()),
        Json::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        Json::Object(m) => m.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Signed notes, checkpoints and witness bodies: the vectors and fixtures.
fn notes_and_witness(vectors: &Path, add: &mut impl FnMut(&'static str, Vec<u8>)) {
    let fx = fixtures();
    let known = read_json(&vectors.join("note/known-answers.json"));
    let signed = known["cases"][0]["signed_note"].as_str().expect("signed note");
    let second = known["cases"][1]["signature_line"].as_str().expect("signature line");
    add("note", signed.as_bytes().to_vec());
    add("note", format!("{signed}{second}").into_bytes());
    for n in &fx.notes {
        add("note", n.clone().into_bytes());
    }
    for body in &fx.cosignature_bodies {
        add("witness", body.clone().into_bytes());
    }
    for r in &fx.requests {
        add("witness", r.clone().into_bytes());
    }
    add("witness", b"11\n".to_vec());
    for path in json_files(&vectors.join("witness"), "json") {
        let v = read_json(&path);
        for field in ["request", "body"] {
            if let Some(s) = v[field].as_str() {
                add("witness", s.as_bytes().to_vec());
            }
        }
        if let Some(cosigned) = v["cosigned"].as_str() {
            add("note", cosigned.as_bytes().to_vec());
            if let Ok((_, sigs)) = note::split(cosigned) {
                let lines: String = sigs.iter().map(|s| s.line()).collect();
                add("witness", lines.into_bytes());
            }
        }
        if let Some(request) = v["request"].as_str() {
            if let Some((_, signed)) = request.split_once("\n\n") {
                add("note", signed.as_bytes().to_vec());
            }
        }
    }
}

/// Receipts: the fixtures, and one per RFC 6962 inclusion vector (these
/// parse but do not verify: the vectors give leaf hashes, not entries).
fn receipts(dir: &Path, add: &mut impl FnMut(&'static str, Vec<u8>)) {
    let fx = fixtures();
    for r in &fx.receipts {
        add("receipt", r.clone().into_bytes());
    }
    let log = provlog_fuzz::log_signer();
    for path in json_files(dir, "json") {
        let v = read_json(&path);
        if v["wantErr"].as_bool() != Some(false) {
            continue;
        }
        let b64 = |j: &Json| j.as_str().and_then(Hash::from_base64);
        let (Some(root), Some(leaf)) = (b64(&v["root"]), b64(&v["leafHash"])) else { continue };
        let (Some(index), Some(size)) = (v["leafIdx"].as_u64(), v["treeSize"].as_u64()) else { continue };
        let proof: Vec<Hash> = v["proof"].as_array().map_or(Vec::new(), |a| a.iter().filter_map(b64).collect());
        let checkpoint = Checkpoint::new(ORIGIN, size, root).sign(&[&log]).expect("signs");
        let r = Receipt { extra: Some(leaf.0.to_vec()), index, proof, checkpoint };
        add("receipt", r.to_text().into_bytes());
        let no_extra = Receipt { extra: None, ..r };
        add("receipt", no_extra.to_text().into_bytes());
    }
}

/// Tile paths of a few tree sizes, and entry bundles and tile data.
fn tiles(add: &mut impl FnMut(&'static str, Vec<u8>)) {
    let mut paths: Vec<Tile> = hash_tiles_for_size(70_000);
    for level in [0, 1, 7, 8, 63] {
        paths.extend(tile::tile_at_size(TileKind::Hashes { level }, 0, u64::MAX));
        let last = tile::hashes_at_level(level, u64::MAX) / 256;
        paths.extend(tile::tile_at_size(TileKind::Hashes { level }, last, u64::MAX));
    }
    for (index, width) in [(0, 1), (273, 112), (1_234_067, 256), (u64::MAX / 256, 255)] {
        paths.push(Tile { kind: TileKind::Entries, index, width });
    }
    for t in paths {
        add("tile", t.path().into_bytes());
    }
    let fx = fixtures();
    let mut bundle = Vec::new();
    for e in &fx.entries {
        tile::append_to_bundle(&mut bundle, e).expect("fits");
    }
    add("tile", bundle);
    let hashes: Vec<u8> = fx.checkpoints.iter().flat_map(|c| c.root.0).collect();
    add("tile", hashes);
}

/// Ed25519 predicate inputs (seed, mask, mode, message): genuine
/// signatures, one flipped bit in R and in S, and a raw key with a raw
/// signature.
fn eddsa(add: &mut impl FnMut(&'static str, Vec<u8>)) {
    for (mode, flip) in [(0u8, None), (0, Some(0)), (0, Some(32)), (0, Some(63)), (1, None)] {
        let mut input = vec![7u8; 32];
        let mut mask = [0u8; 64];
        if let Some(at) = flip {
            mask[at] = 1;
        }
        input.extend_from_slice(&mask);
        input.push(mode);
        input.extend_from_slice(b"a signed statement");
        add("eddsa", input);
    }
}
