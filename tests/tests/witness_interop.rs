//! Interoperability of `provlog-witness` with an independent C2SP
//! implementation: cloudflare/azul's `tlog_tiles` (RFC 6962 tree, proofs and
//! tlog-checkpoint) and `signed_note` (signed-note, Ed25519) crates.
//!
//! The log here is built, proved, formatted and signed by those crates
//! only; our witness must cosign it. Our cosignature must then verify under
//! `signed_note`'s note verification. `signed_note` 0.2 has no
//! `cosignature/v1` verifier, so the test plugs one into its `Verifier`
//! trait: the key ID is computed with `signed_note::key_id` over
//! `0x04 || public key`, and the signature is checked by `signed_note`'s own
//! Ed25519 `StandardVerifier` over the `cosignature/v1` message
//! (`cosignature/v1\ntime <t>\n` || checkpoint text).

mod witness_support;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use signed_note::{Note, StandardSigner, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::{prove_tree, stored_hashes, tree_hash, Checkpoint, Hash, HashReader};
use witness_support::{keygen, serve_args, WitnessProcess};

const ORIGIN: &str = "azul.example/log";

/// An azul log: stored hashes in the order `tlog_tiles` lays them out.
struct AzulLog {
    hashes: Vec<Hash>,
    size: u64,
    signer: StandardSigner,
}

impl HashReader for AzulLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.hashes[i as usize]).collect())
    }
}

impl AzulLog {
    fn append(&mut self, record: &[u8]) {
        let new = stored_hashes(self.size, record, self).unwrap();
        self.hashes.extend(new);
        self.size += 1;
    }

    /// The signed checkpoint note of the first `size` records.
    fn signed(&self, size: u64) -> String {
        let hash = tree_hash(size, self).unwrap();
        let text = Checkpoint::new(ORIGIN, size, hash, "").unwrap().to_bytes();
        let mut note = Note::new(&text, &[]).unwrap();
        note.add_sigs(&[&self.signer]).unwrap();
        String::from_utf8(note.to_bytes()).unwrap()
    }

    /// An add-checkpoint body, formatted here from the C2SP text.
    fn body(&self, old: u64, size: u64) -> Vec<u8> {
        let mut s = format!("old {old}\n");
        if old > 0 && old < size {
            for h in prove_tree(size, old, self).unwrap() {
                s.push_str(&format!("{h}\n"));
            }
        }
        s.push('\n');
        s.push_str(&self.signed(size));
        s.into_bytes()
    }
}

/// The log key, made only with `signed_note` and the ed25519-dalek it uses.
fn azul_log_key(seed: [u8; 32]) -> (StandardSigner, String) {
    let sk = ed25519_dalek_2::SigningKey::from_bytes(&seed);
    let mut public = vec![0x01];
    public.extend_from_slice(sk.verifying_key().as_bytes());
    let mut private = vec![0x01];
    private.extend_from_slice(&seed);
    let skey = format!(
        "PRIVATE+KEY+{ORIGIN}+{:08x}+{}",
        signed_note::key_id(ORIGIN, &public),
        BASE64.encode(private)
    );
    (StandardSigner::new(&skey).unwrap(), signed_note::new_ed25519_verifier_key(ORIGIN, &sk.verifying_key()))
}

/// A `cosignature/v1` verifier for `signed_note`, from a witness vkey.
struct CosignatureV1 {
    name: String,
    id: u32,
    ed25519: StandardVerifier,
}

impl CosignatureV1 {
    fn from_vkey(vkey: &str) -> CosignatureV1 {
        let mut parts = vkey.splitn(3, '+');
        let (name, id, key) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let key = BASE64.decode(key).unwrap();
        assert_eq!(key[0], 0x04, "a cosignature/v1 key");
        let id = u32::from_str_radix(id, 16).unwrap();
        assert_eq!(id, signed_note::key_id(name, &key), "key ID = SHA-256(name || 0x0A || 0x04 || key)[:4]");
        let pk = ed25519_dalek_2::VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();
        let ed25519 = StandardVerifier::new(&signed_note::new_ed25519_verifier_key(name, &pk)).unwrap();
        CosignatureV1 { name: name.to_owned(), id, ed25519 }
    }
}

impl Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let time = u64::from_be_bytes(sig[..8].try_into().unwrap());
        let mut signed = format!("cosignature/v1\ntime {time}\n").into_bytes();
        signed.extend_from_slice(msg);
        time > 0 && self.ed25519.verify(&signed, &sig[8..])
    }
}

fn azul_verifiers(log_vkey: &str, witness_vkey: &str) -> VerifierList {
    VerifierList::new(vec![
        Box::new(StandardVerifier::new(log_vkey).unwrap()),
        Box::new(CosignatureV1::from_vkey(witness_vkey)),
    ])
}

#[test]
fn our_witness_cosigns_an_azul_log_and_azul_verifies_the_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    let (signer, log_vkey) = azul_log_key([42; 32]);
    let mut log = AzulLog { hashes: Vec::new(), size: 0, signer };
    for i in 0..300u32 {
        log.append(format!("azul record {i}").as_bytes());
    }
    let (key, wvkey) = keygen(dir.path(), "witness.example/w1");
    let w = WitnessProcess::start(&serve_args(&dir.path().join("data"), &key, &[(ORIGIN, log_vkey.clone())]));

    let mut cosigned = Vec::new();
    for (old, size) in [(0, 7), (7, 256), (256, 300)] {
        let r = w.post(&log.body(old, size));
        assert_eq!(r.status, 200, "{old} -> {size}: {}", r.text());
        // The client side of the spec: append the lines, open the note.
        let note = Note::from_bytes(format!("{}{}", log.signed(size), r.text()).as_bytes()).unwrap();
        let (verified, unverified) = note.verify(&azul_verifiers(&log_vkey, &wvkey)).unwrap();
        assert_eq!((verified.len(), unverified.len()), (2, 0), "{old} -> {size}");
        assert_eq!(verified[1].name(), "witness.example/w1");
        cosigned.push(r.text());
    }

    // The monitoring API's note parses and verifies under azul too.
    let latest = w.latest(ORIGIN);
    assert_eq!(latest.status, 200);
    let note = Note::from_bytes(&latest.body).unwrap();
    assert_eq!(note.verify(&azul_verifiers(&log_vkey, &wvkey)).unwrap().0.len(), 2);
    let cp = Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!((cp.origin(), cp.size(), *cp.hash()), (ORIGIN, 300, tree_hash(300, &log).unwrap()));

    // A corrupted cosignature fails azul's verification.
    let line = cosigned.last().unwrap();
    let (prefix, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let mut sig = BASE64.decode(b64).unwrap();
    *sig.last_mut().unwrap() ^= 1;
    let bad = format!("{}{prefix} {}\n", log.signed(300), BASE64.encode(sig));
    let err =
        Note::from_bytes(bad.as_bytes()).unwrap().verify(&azul_verifiers(&log_vkey, &wvkey)).unwrap_err();
    assert!(matches!(err, signed_note::NoteError::InvalidSignature { .. }), "{err}");

    // A fork made with azul at the witness's size is refused.
    let (signer, _) = azul_log_key([42; 32]);
    let mut fork = AzulLog { hashes: Vec::new(), size: 0, signer };
    for i in 0..300u32 {
        fork.append(format!("rewritten record {i}").as_bytes());
    }
    assert_eq!(w.post(&fork.body(300, 300)).status, 422);
}
