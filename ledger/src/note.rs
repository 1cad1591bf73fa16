//! C2SP signed-note: signing and opening notes with Ed25519 keys, key IDs,
//! verifier keys (`vkey`) and signer keys. Sans-I/O.
//!
//! Spec: `spec/checkpoint.md` (which follows c2sp.org/signed-note).
//!
//! ```text
//! <text, ending in \n>
//! <blank line>
//! — <key name> <base64(4-byte key ID || signature)>
//! ...
//! vkey:   <name>+<8 hex key ID>+<base64(type || public key)>
//! signer: PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || private seed)>
//! key ID: first 4 bytes of SHA-256(name || 0x0A || type || public key)
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

/// Signature type byte of a plain Ed25519 note signature.
pub const ALG_ED25519: u8 = 0x01;
/// The em dash that starts every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Notes with more signature lines than this are refused unread; the spec
/// requires accepting at least 16.
pub const MAX_SIGNATURES: usize = 100;
/// Notes longer than this are refused before parsing.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// Why a note, key or signature was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// The note is not well formed (malformed input, not a security event).
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A verifier or signer key string is not well formed.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// A signature by a known key did not verify: the note is rejected.
    #[error("invalid signature by known key {name}+{key_id:08x}")]
    InvalidSignature { name: String, key_id: u32 },
    /// No signature on the note is by a known key: the (name, key ID)
    /// of each signature on it and of each key known, shown as
    /// `name+keyid`, so that a wrong key in a trust policy shows as such.
    #[error(
        "no signature by a known key: the note is signed by {}; the keys known are {}",
        key_list(signed),
        key_list(known)
    )]
    NoKnownSignature { signed: Vec<(String, u32)>, known: Vec<(String, u32)> },
}

/// Whether `name` may name a key: non-empty, no whitespace, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 512 && !name.contains(|c: char| c.is_whitespace() || c == '+')
}

/// The C2SP key ID: the first four bytes, big-endian, of
/// `SHA-256(name || "\n" || type || public key)`.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Parses `<name>+<hex id>+<base64 data>` and checks the ID against the data.
/// Returns (name, id, type byte, key bytes).
fn parse_key_string(s: &str) -> Result<(&str, u32, u8, Vec<u8>), NoteError> {
    if s.len() > 1024 {
        return Err(NoteError::BadKey("too long"));
    }
    let mut parts = s.splitn(3, '+');
    let (name, id_hex, data) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(i), Some(d)) => (n, i, d),
        _ => return Err(NoteError::BadKey("want name+id+key")),
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::BadKey("invalid key name"));
    }
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Err(NoteError::BadKey("key ID is not 8 lower-case hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| NoteError::BadKey("bad key ID"))?;
    let bytes = BASE64.decode(data).map_err(|_| NoteError::BadKey("key data is not base64"))?;
    let (&alg, key) = bytes.split_first().ok_or(NoteError::BadKey("empty key data"))?;
    Ok((name, id, alg, key.to_vec()))
}

/// Anything that can check one signature line of a note: a log key, a
/// witness cosigner key.
pub trait NoteVerifier: Send + Sync {
    fn name(&self) -> &str;
    fn key_id(&self) -> u32;
    /// Whether `sig` (the signature bytes after the 4-byte key ID) is valid
    /// over the note `text` (which ends in a newline).
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool;
}

/// A plain Ed25519 note verifier (type 0x01).
#[derive(Clone, Debug)]
pub struct Ed25519Verifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl Ed25519Verifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKey("invalid key name"));
        }
        check_key(&key)?;
        let id = key_id(name, ALG_ED25519, key.as_bytes());
        Ok(Self { name: name.to_owned(), id, key })
    }

    /// Parses a `vkey` string.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] for a bad name, ID, algorithm, length, a weak
    /// key, or an ID that does not match the key.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, alg, key) = parse_key_string(vkey)?;
        if alg != ALG_ED25519 {
            return Err(NoteError::BadKey("not an Ed25519 (type 0x01) key"));
        }
        let key = ed25519_public_key(&key)?;
        let v = Self::new(name, key)?;
        if v.id != id {
            return Err(NoteError::BadKey("key ID does not match the key"));
        }
        Ok(v)
    }

    /// The `vkey` string of this verifier.
    pub fn vkey(&self) -> String {
        let mut data = vec![ALG_ED25519];
        data.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(data))
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// Reads a 32-byte Ed25519 public key and refuses what statements' keys
/// refuse too ([`crate::cose::check_verifying_key`]): small-order (weak)
/// keys and non-canonical encodings, so that one signature predicate holds
/// for notes, cosignatures and statements.
pub(crate) fn ed25519_public_key(bytes: &[u8]) -> Result<VerifyingKey, NoteError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| NoteError::BadKey("Ed25519 key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&arr).map_err(|_| NoteError::BadKey("not a valid Ed25519 point"))?;
    check_key(&key)?;
    Ok(key)
}

/// The key checks of [`ed25519_public_key`], for a key already decoded.
pub(crate) fn check_key(key: &VerifyingKey) -> Result<(), NoteError> {
    match crate::cose::check_verifying_key(key) {
        Ok(()) => Ok(()),
        Err(crate::cose::CoseError::WeakKey) => Err(NoteError::BadKey("weak (small-order) Ed25519 key")),
        Err(_) => Err(NoteError::BadKey("non-canonical Ed25519 key encoding")),
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool {
        match sig.try_into() {
            Ok(sig) => crate::eddsa::verify_strict(&self.key, text, sig),
            Err(_) => false,
        }
    }
}

/// An Ed25519 note signer (type 0x01).
pub struct Ed25519Signer {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        write!(f, "Ed25519Signer({}+{:08x})", self.name, self.id)
    }
}

impl Ed25519Signer {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKey("invalid key name"));
        }
        let id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), id, key })
    }

    /// A signer with a fresh key from the operating system's RNG.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        Self::new(name, generate_signing_key())
    }

    /// Parses a `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` string.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] if it is not that shape or the ID is wrong.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .trim_end()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, id, alg, seed) = parse_key_string(rest)?;
        let seed = Zeroizing::new(seed);
        if alg != ALG_ED25519 {
            return Err(NoteError::BadKey("not an Ed25519 (type 0x01) key"));
        }
        let seed: [u8; 32] =
            seed.as_slice().try_into().map_err(|_| NoteError::BadKey("seed is not 32 bytes"))?;
        let s = Self::new(name, SigningKey::from_bytes(&seed))?;
        if s.id != id {
            return Err(NoteError::BadKey("key ID does not match the key"));
        }
        Ok(s)
    }

    /// The signer key string; treat it as a secret.
    pub fn skey(&self) -> Zeroizing<String> {
        let mut data = Zeroizing::new(vec![ALG_ED25519]);
        data.extend_from_slice(self.key.as_bytes());
        Zeroizing::new(format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, BASE64.encode(&*data)))
    }

    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier { name: self.name.clone(), id: self.id, key: self.key.verifying_key() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// One signature line over `text`, e.g. `— name base64…\n`.
    ///
    /// # Errors
    /// [`NoteError::Malformed`] if `text` is not valid note text.
    pub fn sign_line(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        Ok(signature_line(&self.name, self.id, &sig.to_bytes()))
    }
}

/// A fresh Ed25519 key from the operating system's RNG.
pub fn generate_signing_key() -> SigningKey {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(seed.as_mut()).expect("the operating system RNG is available");
    SigningKey::from_bytes(&seed)
}

/// Formats one signature line: `— <name> <base64(id || sig)>\n`.
pub fn signature_line(name: &str, key_id: u32, sig: &[u8]) -> String {
    let mut data = key_id.to_be_bytes().to_vec();
    data.extend_from_slice(sig);
    format!("{SIG_PREFIX}{name} {}\n", BASE64.encode(data))
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end with a newline"));
    }
    if text.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
        return Err(NoteError::Malformed("text holds a control character"));
    }
    Ok(())
}

/// Signs `text` with every signer: the complete note (text, blank line,
/// one signature line per signer).
///
/// # Errors
/// [`NoteError::Malformed`] if `text` is not valid note text.
pub fn sign(text: &str, signers: &[&Ed25519Signer]) -> Result<String, NoteError> {
    let mut out = String::with_capacity(text.len() + 1 + 100 * signers.len());
    out.push_str(text);
    out.push('\n');
    for s in signers {
        out.push_str(&s.sign_line(text)?);
    }
    Ok(out)
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    pub fn line(&self) -> String {
        signature_line(&self.name, self.key_id, &self.signature)
    }
}

/// A note whose signatures have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Signatures by known keys, all valid, at most one per key.
    pub verified: Vec<NoteSignature>,
    /// Signatures by keys the caller did not know, kept unverified.
    pub unverified: Vec<NoteSignature>,
}

/// Splits a signed note into its text and signature lines without checking
/// any signature.
///
/// # Errors
/// [`NoteError::Malformed`] for anything that is not a signed note.
pub fn split(msg: &str) -> Result<(&str, Vec<NoteSignature>), NoteError> {
    if msg.len() > MAX_NOTE_SIZE {
        return Err(NoteError::Malformed("note too large"));
    }
    if msg.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
        return Err(NoteError::Malformed("note holds a control character"));
    }
    let split = msg.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before signatures"))?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(NoteError::Malformed("signature block must end with a newline"));
    }
    let mut out = Vec::new();
    for line in sigs[..sigs.len() - 1].split('\n') {
        if out.len() == MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signatures"));
        }
        let line = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(NoteError::Malformed("signature line does not start with an em dash"))?;
        let (name, b64) = line.split_once(' ').ok_or(NoteError::Malformed("signature line has no space"))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed("invalid key name in signature line"));
        }
        let data = BASE64.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if data.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        out.push(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
            signature: data[4..].to_vec(),
        });
    }
    Ok((text, out))
}

/// Opens a signed note: every signature by a known (name, key ID) must verify
/// and at least one must be present; others are kept as unverified.
/// Repeated identical signature lines are dropped.
///
/// # Errors
/// [`NoteError::Malformed`], [`NoteError::InvalidSignature`] if a known key's
/// signature fails, [`NoteError::NoKnownSignature`] (naming the keys that
/// signed and the keys known) if no known key signed.
pub fn open(msg: &str, verifiers: &[&dyn NoteVerifier]) -> Result<Note, NoteError> {
    let (text, sigs) = split(msg)?;
    let mut note = Note { text: text.to_owned(), verified: Vec::new(), unverified: Vec::new() };
    for sig in sigs {
        let known = verifiers.iter().find(|v| v.name() == sig.name && v.key_id() == sig.key_id);
        match known {
            Some(v) => {
                if note.verified.iter().any(|s| s.name == sig.name && s.key_id == sig.key_id) {
                    continue;
                }
                if !v.verify(text.as_bytes(), &sig.signature) {
                    return Err(NoteError::InvalidSignature { name: sig.name, key_id: sig.key_id });
                }
                note.verified.push(sig);
            }
            None => {
                if !note.unverified.contains(&sig) {
                    note.unverified.push(sig);
                }
            }
        }
    }
    if note.verified.is_empty() {
        return Err(NoteError::NoKnownSignature {
            signed: note.unverified.iter().map(|s| (s.name.clone(), s.key_id)).collect(),
            known: verifiers.iter().map(|v| (v.name().to_owned(), v.key_id())).collect(),
        });
    }
    Ok(note)
}

/// Keys as `name+keyid` for [`NoteError::NoKnownSignature`]: at most
/// eight, names escaped (a note's names are untrusted text), "none" for
/// none.
fn key_list(keys: &[(String, u32)]) -> String {
    const SHOWN: usize = 8;
    if keys.is_empty() {
        return "none".to_owned();
    }
    let mut shown: Vec<String> =
        keys.iter().take(SHOWN).map(|(name, id)| format!("{}+{id:08x}", name.escape_debug())).collect();
    if keys.len() > SHOWN {
        shown.push(format!("and {} more", keys.len() - SHOWN));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key checks statements make: a non-canonical encoding of a
    /// large-order point (y = p + 3, the point of y = 3) is refused as a
    /// note or cosignature key, while its canonical encoding is taken.
    #[test]
    fn a_non_canonical_key_encoding_is_refused_like_a_statement_key() {
        let mut non_canonical = [0xff; 32];
        non_canonical[0] = 0xf0;
        non_canonical[31] = 0x7f;
        let mut canonical = [0u8; 32];
        canonical[0] = 3;
        let vkey = |key: &[u8; 32]| {
            let mut data = vec![ALG_ED25519];
            data.extend_from_slice(key);
            format!("k+{:08x}+{}", key_id("k", ALG_ED25519, key), BASE64.encode(data))
        };
        assert!(Ed25519Verifier::from_vkey(&vkey(&canonical)).is_ok());
        assert!(matches!(
            Ed25519Verifier::from_vkey(&vkey(&non_canonical)),
            Err(NoteError::BadKey("non-canonical Ed25519 key encoding"))
        ));
        assert!(ed25519_public_key(&non_canonical).is_err());
        let decoded = VerifyingKey::from_bytes(&non_canonical).unwrap();
        assert!(Ed25519Verifier::new("k", decoded).is_err());
    }

    #[test]
    fn generated_keys_round_trip_through_strings() {
        let s = Ed25519Signer::generate("example.com/log").unwrap();
        let s2 = Ed25519Signer::from_skey(&s.skey()).unwrap();
        assert_eq!(s2.verifier().vkey(), s.verifier().vkey());
        let v = Ed25519Verifier::from_vkey(&s.verifier().vkey()).unwrap();
        assert_eq!(v.key_id(), s.key_id());
    }

    #[test]
    fn open_rejects_a_failing_known_key_and_keeps_unknown_ones() {
        let a = Ed25519Signer::generate("a").unwrap();
        let b = Ed25519Signer::generate("b").unwrap();
        let msg = sign("hello\n", &[&a, &b]).unwrap();
        let n = open(&msg, &[&a.verifier()]).unwrap();
        assert_eq!(n.verified.len(), 1);
        assert_eq!(n.unverified.len(), 1);
        let forged = msg.replace("hello", "hellO");
        assert!(matches!(open(&forged, &[&a.verifier()]), Err(NoteError::InvalidSignature { .. })));
        let err = open(&msg, &[]).unwrap_err();
        let signed = vec![("a".to_owned(), a.key_id()), ("b".to_owned(), b.key_id())];
        assert_eq!(err, NoteError::NoKnownSignature { signed, known: Vec::new() });
        let signed = format!("a+{:08x}, b+{:08x}", a.key_id(), b.key_id());
        // A wrong key under the right name: the message names both.
        let other_a = Ed25519Signer::generate("a").unwrap();
        let err = open(&msg, &[&other_a.verifier()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no signature by a known key: the note is signed by {signed}; the keys known are a+{:08x}",
                other_a.key_id()
            )
        );
    }

    #[test]
    fn sixteen_signatures_are_accepted_and_too_many_refused() {
        let signers: Vec<_> = (0..16).map(|i| Ed25519Signer::generate(&format!("w{i}")).unwrap()).collect();
        let refs: Vec<&Ed25519Signer> = signers.iter().collect();
        let msg = sign("text\n", &refs).unwrap();
        let vs: Vec<Ed25519Verifier> = signers.iter().map(|s| s.verifier()).collect();
        let dyns: Vec<&dyn NoteVerifier> = vs.iter().map(|v| v as &dyn NoteVerifier).collect();
        assert_eq!(open(&msg, &dyns).unwrap().verified.len(), 16);
        let text = open(&msg, &[]).unwrap_err().to_string();
        assert_eq!(text.matches('+').count(), 8, "{text}");
        assert!(
            text.contains("signed by w0+") && text.contains(", and 8 more; the keys known are none"),
            "{text}"
        );
        let line = signers[0].sign_line("text\n").unwrap();
        let many = format!("text\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert_eq!(open(&many, &dyns), Err(NoteError::Malformed("too many signatures")));
    }

    #[test]
    fn malformed_notes_are_refused() {
        let a = Ed25519Signer::generate("a").unwrap();
        let good = sign("x\n", &[&a]).unwrap();
        for bad in [
            good.trim_end().to_owned(),
            good.replace("\n\n", "\n"),
            good.replace('\u{2014}', "-"),
            format!("x\r\n\n{}", &good[3..]),
        ] {
            assert!(matches!(open(&bad, &[&a.verifier()]), Err(NoteError::Malformed(_))), "{bad:?}");
        }
    }
}
