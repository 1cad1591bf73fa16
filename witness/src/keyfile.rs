//! The witness's key file: the ledger's key file format (one signer key
//! line, mode 0600, `provlog_ledger::keyfile`). The witness cosigns with the
//! same seed as a `cosignature/v1` (type 0x04) key under the same name.
//!
//! Spec: `spec/witness.md` ("Keys").

use provlog_ledger::cosignature::CosignatureSigner;
pub use provlog_ledger::keyfile::KeyFileError;
use provlog_ledger::keyfile::{self, KeyFileError as E};
use std::path::Path;

/// Reads the witness's key from `path`, refusing a file that group or others
/// may read or write.
///
/// # Errors
/// [`KeyFileError`] naming the file and what is wrong with it.
pub fn load(path: &Path) -> Result<CosignatureSigner, KeyFileError> {
    let signer = keyfile::load(path)?;
    CosignatureSigner::new(signer.name(), signer.signing_key().clone())
        .map_err(|source| E::Malformed { path: path.to_owned(), source })
}

/// Creates a new key named `name` in a new file `path` (mode 0600) and
/// returns the witness's cosignature vkey. Never overwrites.
///
/// # Errors
/// [`KeyFileError::BadName`], [`KeyFileError::Exists`] or a write failure.
pub fn generate(name: &str, path: &Path) -> Result<String, KeyFileError> {
    let signer = keyfile::generate(name, path)?;
    let cosigner = CosignatureSigner::new(signer.name(), signer.signing_key().clone())
        .map_err(|_| E::BadName { name: name.to_owned() })?;
    Ok(cosigner.verifier().vkey())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_loads_with_the_printed_vkey() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("w.key");
        let vkey = generate("witness.example/w1", &p).unwrap();
        assert_eq!(load(&p).unwrap().verifier().vkey(), vkey);
        assert!(vkey.starts_with("witness.example/w1+"));
    }
}
