//! C2SP tlog-cosignature `cosignature/v1`: a witness's timestamped Ed25519
//! signature on a checkpoint, carried as one more signed-note line.
//!
//! Spec: `spec/checkpoint.md` ("Cosignatures").
//!
//! ```text
//! key ID    = SHA-256(name || "\n" || 0x04 || public key)[:4]
//! signature = 8-byte big-endian UNIX time || Ed25519 signature over
//!             "cosignature/v1\ntime <time>\n" || checkpoint text
//! ```

use crate::note::{
    self, ed25519_public_key, is_valid_key_name, key_id, NoteError, NoteSignature, NoteVerifier,
};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

/// Signature type byte of a `cosignature/v1` key.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Length of the signature bytes after the key ID: timestamp and Ed25519.
pub const COSIGNATURE_SIZE: usize = 8 + 64;

/// The message a `cosignature/v1` signature covers.
pub fn signed_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// The timestamp of a cosignature line, if it has the cosignature shape.
pub fn timestamp(sig: &NoteSignature) -> Option<u64> {
    (sig.signature.len() == COSIGNATURE_SIZE)
        .then(|| u64::from_be_bytes(sig.signature[..8].try_into().unwrap()))
}

/// Verifies `cosignature/v1` lines for one witness key.
#[derive(Clone, Debug)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKey("invalid key name"));
        }
        crate::note::check_key(&key)?;
        Ok(Self { name: name.to_owned(), id: key_id(name, ALG_COSIGNATURE_V1, key.as_bytes()), key })
    }

    /// Parses a witness `vkey` (`name+id+base64(0x04 || key)`).
    ///
    /// # Errors
    /// [`NoteError::BadKey`] if the string, type, key or ID is wrong.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (name, id, data) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(d)) => (n, i, d),
            _ => return Err(NoteError::BadKey("want name+id+key")),
        };
        let bytes = BASE64.decode(data).map_err(|_| NoteError::BadKey("key data is not base64"))?;
        match bytes.split_first() {
            Some((&ALG_COSIGNATURE_V1, key)) => {
                let v = Self::new(name, ed25519_public_key(key)?)?;
                if format!("{:08x}", v.id) != id {
                    return Err(NoteError::BadKey("key ID does not match the key"));
                }
                Ok(v)
            }
            _ => Err(NoteError::BadKey("not a cosignature/v1 (type 0x04) key")),
        }
    }

    pub fn vkey(&self) -> String {
        let mut data = vec![ALG_COSIGNATURE_V1];
        data.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(data))
    }
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool {
        if sig.len() != COSIGNATURE_SIZE {
            return false;
        }
        let ts = u64::from_be_bytes(sig[..8].try_into().unwrap());
        if ts > i64::MAX as u64 {
            return false;
        }
        let Ok(text) = std::str::from_utf8(text) else {
            return false;
        };
        let Ok(signature) = sig[8..].try_into() else {
            return false;
        };
        crate::eddsa::verify_strict(&self.key, &signed_message(ts, text), signature)
    }
}

/// Makes `cosignature/v1` lines with one witness key.
pub struct CosignatureSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CosignatureSigner({}+{:08x})", self.name, self.id)
    }
}

impl CosignatureSigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::BadKey("invalid key name"));
        }
        let id = key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), id, key })
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier { name: self.name.clone(), id: self.id, key: self.key.verifying_key() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// One cosignature line over `checkpoint_text` at `timestamp` (UNIX seconds).
    pub fn sign_line(&self, checkpoint_text: &str, timestamp: u64) -> String {
        let sig = self.key.sign(&signed_message(timestamp, checkpoint_text));
        let mut data = timestamp.to_be_bytes().to_vec();
        data.extend_from_slice(&sig.to_bytes());
        note::signature_line(&self.name, self.id, &data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::{generate_signing_key, Ed25519Signer};
    use crate::tree::empty_root;

    #[test]
    fn cosigned_checkpoint_verifies_under_log_and_witness_keys() {
        let log = Ed25519Signer::generate("example.com/log").unwrap();
        let w = CosignatureSigner::new("witness.example", generate_signing_key()).unwrap();
        let cp = Checkpoint::new("example.com/log", 5, empty_root());
        let mut msg = cp.sign(&[&log]).unwrap();
        msg.push_str(&w.sign_line(&cp.to_text(), 1_700_000_000));
        let wv = CosignatureVerifier::from_vkey(&w.verifier().vkey()).unwrap();
        let n = note::open(&msg, &[&log.verifier(), &wv]).unwrap();
        assert_eq!(n.verified.len(), 2);
        assert_eq!(timestamp(&n.verified[1]), Some(1_700_000_000));
        // The same key as a plain note key has a different ID and shape.
        assert_ne!(w.verifier().key_id(), key_id("witness.example", 0x01, w.key.verifying_key().as_bytes()));
    }

    #[test]
    fn cosignature_over_another_checkpoint_fails() {
        let w = CosignatureSigner::new("w", generate_signing_key()).unwrap();
        let a = Checkpoint::new("o", 1, empty_root()).to_text();
        let b = Checkpoint::new("o", 2, empty_root()).to_text();
        let line = w.sign_line(&a, 7);
        let msg = format!("{b}\n{line}");
        assert!(matches!(note::open(&msg, &[&w.verifier()]), Err(NoteError::InvalidSignature { .. })));
    }
}
