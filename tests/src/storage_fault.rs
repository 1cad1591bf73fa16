//! Real storage faults for the server tests (`tests/tests/server_storage.rs`):
//! a small size-limited file system to fill, libfiu to make `fsync` or
//! `pwrite` fail inside a running server, and byte-level damage to data files.
//!
//! Mounting needs root (or `CAP_SYS_ADMIN`); libfiu needs the Debian
//! packages `fiu-utils` and `libfiu0` (`.ci/run` installs them). When either
//! is missing a test fails and says so, unless `PROVLOG_SKIP_FAULT_TESTS=1`
//! is set, in which case it prints that it skipped and why.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a fault test may skip (printing why) instead of failing when
/// its tools are unavailable.
fn may_skip() -> bool {
    std::env::var_os("PROVLOG_SKIP_FAULT_TESTS").is_some_and(|v| v == "1")
}

/// Reports a missing prerequisite: the caller skips its test if skipping
/// is allowed; otherwise a panic naming the fix.
///
/// # Panics
/// Unless `PROVLOG_SKIP_FAULT_TESTS=1`.
pub fn skip(what: &str) {
    assert!(
        may_skip(),
        "{what}; run as root with fiu-utils installed (as .ci/run does), or set PROVLOG_SKIP_FAULT_TESTS=1 to skip"
    );
    eprintln!("SKIPPED (PROVLOG_SKIP_FAULT_TESTS=1): {what}");
}

/// A tmpfs mounted for the life of the value (unmounted on drop).
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` at `path` (created if missing).
    ///
    /// # Errors
    /// Why it could not be mounted (not root, no `CAP_SYS_ADMIN`, …).
    pub fn mount(path: &Path, bytes: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("create {}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "provlog-test"])
            .arg(path)
            .output()
            .map_err(|e| format!("run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot mount a tmpfs at {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { path: path.to_owned() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fills the file system holding `dir` with the file `dir/filler` until a
/// write fails with `ENOSPC`; returns the filler's path.
///
/// # Panics
/// On any other error.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("create the filler");
    for chunk in [1 << 20, 4096, 512] {
        let buf = vec![0xa5u8; chunk];
        loop {
            match f.write_all(&buf).and_then(|()| f.flush()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    path
}

/// Whether libfiu's `fiu-run` and `fiu-ctrl` are installed.
pub fn fiu_available() -> bool {
    ["fiu-run", "fiu-ctrl"].iter().all(|p| Command::new(p).arg("-h").output().is_ok())
}

/// The wrapper that runs a program with libfiu's POSIX failure points.
pub const FIU_RUN: &[&str] = &["fiu-run", "-x"];

/// Sends a libfiu control command (`"enable name=posix/io/sync/*"`) to
/// process `pid`, which runs under [`FIU_RUN`].
///
/// # Panics
/// If `fiu-ctrl` fails.
pub fn fiu_ctrl(pid: u32, command: &str) {
    let out =
        Command::new("fiu-ctrl").args(["-c", command, &pid.to_string()]).output().expect("run fiu-ctrl");
    assert!(out.status.success(), "fiu-ctrl -c {command:?} {pid}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Every regular file under `dir`, largest first.
pub fn files_by_size(dir: &Path) -> Vec<(PathBuf, u64)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
        for entry in std::fs::read_dir(dir).expect("read a data directory").flatten() {
            let path = entry.path();
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                walk(&path, out);
            } else if meta.is_file() {
                out.push((path, meta.len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by_key(|f| std::cmp::Reverse(f.1));
    out
}

/// Inverts `len` bytes of `path` starting at `offset`.
pub fn flip_bytes(path: &Path, offset: u64, len: usize) {
    let mut bytes = std::fs::read(path).expect("read the file to damage");
    let start = offset as usize;
    let end = (start + len).min(bytes.len());
    bytes[start..end].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(path, bytes).expect("write the damaged file");
}

/// Cuts `path` to `len` bytes.
pub fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(len)).expect("truncate");
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the directory").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
