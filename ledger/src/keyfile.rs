//! Key files: one line, the signer key string
//! `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || 32-byte seed)>` of
//! `spec/checkpoint.md`, mode 0600. Log, governance, partner and witness
//! keys all use this format.
//!
//! Spec: `spec/checkpoint.md` ("Keys"). Messages never include key material.

use crate::note::{Ed25519Signer, NoteError};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroizing;

/// Key files longer than this are refused unread.
const MAX_KEY_FILE_SIZE: u64 = 4096;

/// Why a key file could not be read or written. Messages never include key
/// material.
#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write key file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// keygen never overwrites a key.
    #[error("key file {path} already exists; refusing to overwrite it")]
    Exists { path: PathBuf },
    #[error("key file {path} is not a regular file")]
    NotAFile { path: PathBuf },
    /// The file is readable or writable by group or others.
    #[error(
        "key file {path} has mode {mode:04o}, readable by others; it must be 0600 (run: chmod 600 {path})"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("key file {path} is not one signer key line")]
    Malformed {
        path: PathBuf,
        #[source]
        source: NoteError,
    },
    #[error("invalid key name {name:?}: it must be non-empty, without spaces or '+'")]
    BadName { name: String },
}

/// Reads the key in `path`, refusing a file that group or others may read
/// or write.
///
/// # Errors
/// [`KeyFileError`] naming the file and what is wrong with it.
pub fn load(path: &Path) -> Result<Ed25519Signer, KeyFileError> {
    let text = read_secret(path)?;
    let malformed = |source| KeyFileError::Malformed { path: path.to_owned(), source };
    let line = text.strip_suffix('\n').unwrap_or(&text);
    if line.contains(['\n', '\r', ' ', '\t']) {
        return Err(malformed(NoteError::BadKey("want exactly one line")));
    }
    Ed25519Signer::from_skey(line).map_err(malformed)
}

/// Reads a file holding a secret (a key file, a bucket's secret access
/// key): a regular file of at most 4 KiB that group and others may not
/// read or write. The text is wiped from memory when dropped.
///
/// # Errors
/// [`KeyFileError::Read`], [`KeyFileError::NotAFile`] or
/// [`KeyFileError::Permissions`], naming the file.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    let read_err = |source| KeyFileError::Read { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() {
        return Err(KeyFileError::NotAFile { path: path.to_owned() });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Permissions { path: path.to_owned(), mode });
        }
    }
    let mut text = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .map_err(read_err)?
        .take(MAX_KEY_FILE_SIZE)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    Ok(text)
}

/// Writes `signer` to a new file `path` with mode 0600, synced to disk.
/// Never overwrites.
///
/// # Errors
/// [`KeyFileError::Exists`] or a write failure.
pub fn write(path: &Path, signer: &Ed25519Signer) -> Result<(), KeyFileError> {
    let write_err = |source| KeyFileError::Write { path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyFileError::Exists { path: path.to_owned() },
        _ => write_err(e),
    })?;
    let mut line = signer.skey();
    line.push('\n');
    file.write_all(line.as_bytes()).and_then(|()| file.sync_all()).map_err(write_err)?;
    // The file's name, too: a key lost with its directory entry after a
    // crash would leave a log or witness without the key it published.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(write_err)
}

/// Creates a new key named `name` in a new file `path` (mode 0600).
///
/// # Errors
/// [`KeyFileError::BadName`], [`KeyFileError::Exists`] or a write failure.
pub fn generate(name: &str, path: &Path) -> Result<Ed25519Signer, KeyFileError> {
    let signer =
        Ed25519Signer::generate(name).map_err(|_| KeyFileError::BadName { name: name.to_owned() })?;
    write(path, &signer)?;
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn generated_key_loads_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.key");
        let s = generate("example.com/log", &p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(load(&p).unwrap().verifier().vkey(), s.verifier().vkey());
        assert!(matches!(generate("example.com/log", &p), Err(KeyFileError::Exists { .. })));
        assert!(matches!(generate("bad name", &d.path().join("x")), Err(KeyFileError::BadName { .. })));
    }

    #[test]
    fn readable_or_malformed_key_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.key");
        generate("w", &p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = load(&p).unwrap_err();
        assert!(matches!(e, KeyFileError::Permissions { mode: 0o640, .. }));
        assert!(e.to_string().contains("chmod 600"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{text}{text}")).unwrap();
        let e = load(&p).unwrap_err();
        assert!(matches!(e, KeyFileError::Malformed { .. }));
        assert!(!e.to_string().contains("PRIVATE"), "{e}");
        assert!(matches!(load(d.path()), Err(KeyFileError::NotAFile { .. })));
        assert!(matches!(load(&d.path().join("missing")), Err(KeyFileError::Read { .. })));
    }
}
