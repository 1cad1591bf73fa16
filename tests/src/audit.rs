//! What an auditor checks, as the last step of every end-to-end test: the
//! whole log as served over HTTP, and each receipt offline. Built only on
//! `provlog-ledger`'s sans-I/O functions, so that it trusts nothing the
//! server computed.
//!
//! [`verify_log`] checks, for the log's latest checkpoint:
//! 1. its signature by the log's key (and, with a policy, that every
//!    signature by a policy key is valid and the witness quorum is met);
//! 2. every entry bundle (content type, cache headers, uint16-length
//!    framing, as many entries as the tile's width);
//! 3. every hash tile of the tree, recomputed from the entries' leaf hashes;
//! 4. the root recomputed from the entries equals the checkpoint's root;
//! 5. every entry decodes as a canonical entry record holding a statement
//!    that parses, no statement twice, registration times never decreasing,
//!    and entry 0 is the genesis governance statement;
//! 6. the inclusion proof the server gives for every entry (for logs over
//!    300 entries, for a sample of 300);
//! 7. every checkpoint the test saw: signed by the log (every policy
//!    signature valid), its root equal to the root of its prefix of the entries, and
//!    a consistency proof from the server between it and the next larger
//!    one, and to the latest.

use anyhow::{anyhow, ensure, Context as _, Result};
use provlog_ledger::checkpoint::{self, Checkpoint};
use provlog_ledger::entry::Entry;
use provlog_ledger::note::{Ed25519Verifier, NoteVerifier};
use provlog_ledger::policy::Policy;
use provlog_ledger::proof::{check_consistency, check_inclusion};
use provlog_ledger::receipt::Receipt;
use provlog_ledger::statement::{Statement, CONTENT_TYPE_GOVERNANCE};
use provlog_ledger::tile::{
    decode_bundle, decode_hashes, hash_tiles_for_size, tile_at_size, TileKind, TILE_WIDTH,
};
use provlog_ledger::tree::{complete_root, leaf_hash, root_of};
use provlog_ledger::Hash;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The log as verified.
#[derive(Clone, Debug)]
pub struct VerifiedLog {
    pub checkpoint: Checkpoint,
    /// The signed checkpoint note, with its cosignatures.
    pub note: String,
    /// Every entry record, in index order.
    pub entries: Vec<Vec<u8>>,
    /// The policy names of the witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
}

/// Opens a signed checkpoint of `origin`: a valid log signature and, with a
/// policy, every signature by a policy key valid. Returns the checkpoint and
/// the policy names of the witnesses that cosigned it (the quorum is not
/// judged here: see [`open_witnessed_checkpoint`]).
///
/// # Errors
/// Which check failed.
pub fn open_checkpoint(
    note: &str,
    origin: &str,
    log_vkey: &str,
    policy: Option<&Policy>,
) -> Result<(Checkpoint, Vec<String>)> {
    let log = Ed25519Verifier::from_vkey(log_vkey).context("log vkey")?;
    let mut verifiers: Vec<&dyn NoteVerifier> = vec![&log];
    if let Some(p) = policy {
        verifiers.extend(p.witnesses().iter().map(|w| &w.verifier as &dyn NoteVerifier));
    }
    let signed = checkpoint::open(note, origin, &verifiers).context("checkpoint signature")?;
    ensure!(
        signed.note.verified.iter().any(|s| s.name == log.name() && s.key_id == log.key_id()),
        "the checkpoint is not signed by the log"
    );
    let cosigners = match policy {
        Some(p) => signed
            .note
            .verified
            .iter()
            .filter_map(|s| {
                p.witnesses()
                    .iter()
                    .find(|w| w.verifier.name() == s.name && w.verifier.key_id() == s.key_id)
                    .map(|w| w.name.clone())
            })
            .collect(),
        None => Vec::new(),
    };
    Ok((signed.checkpoint, cosigners))
}

/// [`open_checkpoint`], and with a policy, its quorum must be met
/// (`Policy::check`): what a published checkpoint and a receipt need.
///
/// # Errors
/// Which check failed.
pub fn open_witnessed_checkpoint(
    note: &str,
    origin: &str,
    log_vkey: &str,
    policy: Option<&Policy>,
) -> Result<(Checkpoint, Vec<String>)> {
    let opened = open_checkpoint(note, origin, log_vkey, policy)?;
    if let Some(p) = policy {
        p.check(note).context("witness policy")?;
    }
    Ok(opened)
}

/// A receipt as verified offline.
#[derive(Clone, Debug)]
pub struct VerifiedReceipt {
    pub index: u64,
    pub entry: Entry,
    pub checkpoint: Checkpoint,
    pub checkpoint_note: String,
    pub cosigners: Vec<String>,
}

/// Verifies a receipt (`spec/receipt.md`) offline for `statement`: the
/// checkpoint is signed by the log and meets the policy, the entry in
/// `extra` is included at `index`, and it holds exactly the stripped
/// statement.
///
/// # Errors
/// Which step failed.
pub fn verify_receipt(
    text: &str,
    origin: &str,
    log_vkey: &str,
    policy: Option<&Policy>,
    statement: &Statement,
) -> Result<VerifiedReceipt> {
    let receipt = Receipt::parse(text).context("receipt grammar")?;
    let log = Ed25519Verifier::from_vkey(log_vkey).context("log vkey")?;
    let mut verifiers: Vec<&dyn NoteVerifier> = vec![&log];
    if let Some(p) = policy {
        verifiers.extend(p.witnesses().iter().map(|w| &w.verifier as &dyn NoteVerifier));
    }
    receipt.verify(origin, &verifiers).context("receipt verification")?;
    let (checkpoint, cosigners) = open_witnessed_checkpoint(&receipt.checkpoint, origin, log_vkey, policy)?;
    let entry = Entry::decode(receipt.extra.as_deref().ok_or_else(|| anyhow!("no extra line"))?)
        .context("entry record in extra")?;
    ensure!(entry.statement == statement.stripped_bytes(), "the receipt's entry holds another statement");
    Ok(VerifiedReceipt {
        index: receipt.index,
        entry,
        checkpoint,
        checkpoint_note: receipt.checkpoint,
        cosigners,
    })
}

/// GETs `url`, expecting 200; returns the headers and body.
fn fetch(client: &reqwest::blocking::Client, url: &str) -> Result<(reqwest::header::HeaderMap, Vec<u8>)> {
    let r = client.get(url).send().with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().with_context(|| format!("GET {url}: body"))?.to_vec();
    ensure!(status.as_u16() == 200, "GET {url}: {status}: {}", String::from_utf8_lossy(&body));
    Ok((headers, body))
}

fn header<'h>(h: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Decodes a JSON proof (`{"proof": [base64, …]}`).
fn json_proof(body: &[u8]) -> Result<Vec<Hash>> {
    let v: serde_json::Value = serde_json::from_slice(body).context("proof JSON")?;
    v["proof"]
        .as_array()
        .ok_or_else(|| anyhow!("no proof array in {v}"))?
        .iter()
        .map(|h| h.as_str().and_then(Hash::from_base64).ok_or_else(|| anyhow!("bad proof hash {h}")))
        .collect()
}

/// Verifies the whole log at `base_url` (see the module documentation)
/// against its origin and key, an optional witness policy, and every
/// checkpoint note in `seen`.
///
/// # Errors
/// The first check that failed, with the values involved.
pub fn verify_log(
    client: &reqwest::blocking::Client,
    base_url: &str,
    origin: &str,
    log_vkey: &str,
    policy: Option<&Policy>,
    seen: &[String],
) -> Result<VerifiedLog> {
    let base = base_url.trim_end_matches('/');
    // 1. The latest checkpoint.
    let (h, body) = fetch(client, &format!("{base}/checkpoint"))?;
    ensure!(header(&h, "content-type") == "text/plain; charset=utf-8", "checkpoint content type");
    ensure!(header(&h, "cache-control") == "no-cache", "checkpoint cache-control");
    let note = String::from_utf8(body).context("checkpoint is not UTF-8")?;
    let (checkpoint, cosigners) =
        open_witnessed_checkpoint(&note, origin, log_vkey, policy).context("latest checkpoint")?;
    let size = checkpoint.size;

    // 2. Every entry bundle.
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(size as usize);
    for n in 0..size.div_ceil(TILE_WIDTH as u64) {
        let tile = tile_at_size(TileKind::Entries, n, size).expect("a tile below the size");
        let (h, data) = fetch(client, &format!("{base}/{}", tile.path()))?;
        check_tile_headers(&h, tile.is_full(), &tile.path())?;
        let bundle = decode_bundle(&data).with_context(|| tile.path())?;
        ensure!(bundle.len() == tile.width as usize, "{}: {} entries", tile.path(), bundle.len());
        entries.extend(bundle.into_iter().map(<[u8]>::to_vec));
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();

    // 3. Every hash tile, recomputed: level L + 1 holds the roots of 256
    // consecutive hashes of level L.
    let mut levels: Vec<Vec<Hash>> = vec![leaves.clone()];
    while levels.last().expect("level 0").len() >= TILE_WIDTH as usize {
        let next =
            levels.last().expect("a level").chunks_exact(TILE_WIDTH as usize).map(complete_root).collect();
        levels.push(next);
    }
    for tile in hash_tiles_for_size(size) {
        let level = tile.level().expect("a hash tile") as usize;
        let (h, data) = fetch(client, &format!("{base}/{}", tile.path()))?;
        check_tile_headers(&h, tile.is_full(), &tile.path())?;
        let got = decode_hashes(&data).with_context(|| tile.path())?;
        let start = tile.index as usize * TILE_WIDTH as usize;
        let want = levels
            .get(level)
            .and_then(|l| l.get(start..start + tile.width as usize))
            .ok_or_else(|| anyhow!("{}: beyond the recomputed tree", tile.path()))?;
        ensure!(got == want, "{}: hashes differ from the ones recomputed from the entries", tile.path());
    }

    // 4. The root.
    let root = root_of(&leaves);
    ensure!(root == checkpoint.root, "recomputed root {root} != checkpoint root {}", checkpoint.root);

    // 5. The entries.
    let mut ids = HashSet::new();
    let mut last_time = 0;
    for (i, bytes) in entries.iter().enumerate() {
        let entry = Entry::decode(bytes).with_context(|| format!("entry {i}"))?;
        let stmt = Statement::parse(&entry.statement).with_context(|| format!("statement of entry {i}"))?;
        ensure!(stmt.stripped_bytes() == entry.statement.as_slice(), "entry {i}: statement not stripped");
        ensure!(ids.insert(stmt.id()), "entry {i}: statement {} is in the log twice", stmt.id());
        ensure!(entry.registered_at_ms >= last_time, "entry {i}: registration time goes back");
        last_time = entry.registered_at_ms;
        if i == 0 {
            ensure!(stmt.content_type() == CONTENT_TYPE_GOVERNANCE, "entry 0 is not the genesis statement");
        }
    }

    // 6. Inclusion proofs as served: every entry of a small log; of a large
    // one, the first and last 100 and 100 spread between (the tiles above
    // already cover every entry).
    let sample: Vec<u64> = if size <= 300 {
        (0..size).collect()
    } else {
        let mut s: Vec<u64> =
            (0..100).chain(size - 100..size).chain((1..100).map(|k| k * size / 100)).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    for index in sample {
        let url = format!("{base}/proof/inclusion?index={index}&size={size}");
        let proof = json_proof(&fetch(client, &url)?.1)?;
        check_inclusion(&leaves[index as usize], index, size, &proof, &root)
            .with_context(|| format!("inclusion proof of entry {index}"))?;
    }

    // 7. Every checkpoint seen, by size. Seen checkpoints need the log's
    // signature and valid policy signatures, not the quorum: a witness's
    // monitoring API serves a checkpoint with only its own cosignature.
    let mut by_size: BTreeMap<u64, Hash> = BTreeMap::new();
    let distinct: BTreeSet<&String> = seen.iter().chain(std::iter::once(&note)).collect();
    for n in distinct {
        let (cp, _) =
            open_checkpoint(n, origin, log_vkey, policy).with_context(|| format!("seen checkpoint\n{n}"))?;
        ensure!(cp.size <= size, "a checkpoint of size {} was seen, but the log has {size}", cp.size);
        let prefix_root = root_of(&leaves[..cp.size as usize]);
        ensure!(
            cp.root == prefix_root,
            "seen checkpoint of size {} does not match the entries (a fork)",
            cp.size
        );
        if let Some(other) = by_size.insert(cp.size, cp.root) {
            ensure!(other == cp.root, "two roots for size {}", cp.size);
        }
    }
    let sizes: Vec<(u64, Hash)> = by_size.into_iter().collect();
    let mut pairs: Vec<((u64, Hash), (u64, Hash))> = sizes.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.extend(sizes.iter().map(|&s| (s, (size, root))));
    for ((old, old_root), (new, new_root)) in pairs {
        if old == 0 || old == new {
            continue;
        }
        let url = format!("{base}/proof/consistency?old={old}&new={new}");
        let proof = json_proof(&fetch(client, &url)?.1)?;
        check_consistency(old, new, &proof, &old_root, &new_root)
            .with_context(|| format!("consistency proof {old} -> {new}"))?;
    }
    Ok(VerifiedLog { checkpoint, note, entries, cosigners })
}

fn check_tile_headers(h: &reqwest::header::HeaderMap, full: bool, path: &str) -> Result<()> {
    ensure!(header(h, "content-type") == "application/octet-stream", "{path}: content type");
    let want = if full { "public, max-age=31536000, immutable" } else { "public, max-age=1" };
    ensure!(header(h, "cache-control") == want, "{path}: cache-control {:?}", header(h, "cache-control"));
    Ok(())
}
