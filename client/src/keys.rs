//! Key generation: one key file (`spec/checkpoint.md`, "Keys": one signer
//! key line, mode 0600) serves a partner, a governance key holder or a
//! witness. What each needs to publish is derived from it here.

use crate::error::ClientError;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use provlog_ledger::cosignature::CosignatureSigner;
use provlog_ledger::keyfile;
use provlog_ledger::note::Ed25519Signer;
use provlog_ledger::statement::key_thumbprint;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The public facts of a key file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key name (for a partner: its partner ID, the `iss` of its
    /// statements; for a log: its origin; for a witness: its name).
    pub name: String,
    /// The file it is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// The C2SP note verifier key (type 0x01): a log's `log` policy line.
    pub vkey: String,
    /// The RFC 9679 thumbprint, hex: the `kid` of the key's statements.
    pub kid: String,
    /// Standard base64 of the 32-byte Ed25519 public key: what governance
    /// registers (`public_key` of a partner key, a governance key).
    pub public_key: String,
    /// The `cosignature/v1` verifier key (type 0x04): a witness's
    /// `witness` policy line.
    pub witness_vkey: String,
}

impl KeyInfo {
    /// The public facts of `signer`.
    pub fn of(signer: &Ed25519Signer, file: Option<&Path>) -> KeyInfo {
        let public = signer.signing_key().verifying_key();
        let cosigner =
            CosignatureSigner::new(signer.name(), signer.signing_key().clone()).expect("a valid key name");
        KeyInfo {
            name: signer.name().to_owned(),
            file: file.map(Path::to_owned),
            vkey: signer.verifier().vkey(),
            kid: hex::encode(key_thumbprint(&public)),
            public_key: BASE64.encode(public.as_bytes()),
            witness_vkey: cosigner.verifier().vkey(),
        }
    }
}

impl std::fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            writeln!(f, "key file      {} (mode 0600)", file.display())?;
        }
        writeln!(f, "name          {}", self.name)?;
        writeln!(f, "vkey          {}", self.vkey)?;
        writeln!(f, "kid           {}", self.kid)?;
        writeln!(f, "public key    {}", self.public_key)?;
        write!(f, "witness vkey  {}", self.witness_vkey)
    }
}

/// Creates a new key named `name` in the new file `out` (mode 0600; never
/// overwrites).
///
/// # Errors
/// [`ClientError::KeyFile`]: a bad name, an existing file, a failed write.
pub fn generate(name: &str, out: &Path) -> Result<KeyInfo, ClientError> {
    let signer = keyfile::generate(name, out)?;
    Ok(KeyInfo::of(&signer, Some(out)))
}

/// Loads a key file, refusing one that others may read.
///
/// # Errors
/// [`ClientError::KeyFile`].
pub fn load(path: &Path) -> Result<Ed25519Signer, ClientError> {
    Ok(keyfile::load(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_generated_key_is_private_and_its_facts_agree() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("farm.key");
        let info = generate("urn:epc:id:pgln:0614141.00001", &p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let again = KeyInfo::of(&load(&p).unwrap(), Some(&p));
        assert_eq!(again, info);
        assert!(info.vkey.starts_with("urn:epc:id:pgln:0614141.00001+"));
        assert_eq!(info.kid.len(), 64);
        let e = generate("x", &p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed, "refuses to overwrite: {e}");
        assert_eq!(generate("bad name", &d.path().join("b")).unwrap_err().kind(), ErrorKind::Malformed);
    }
}
