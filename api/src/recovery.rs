//! Recovery from a failed write: how the sequencer finds out that storage
//! works again, and how it brings the store back.
//!
//! After a failed write or flush (a full disk, a failed fsync) the engines
//! refuse every later write until reopened, and a retried fsync may report
//! success for pages the kernel already dropped. So the sequencer does not
//! retry the same handle: it refuses writes (503 `log.storage-unavailable`,
//! `/healthz` says why) while reads go on, and once a second it
//! 1. writes and fsyncs a probe file next to the store ([`probe`]), which
//!    fails while the disk is full or fsync fails;
//! 2. reopens the store, so the engine recovers from what is on disk, as
//!    after a crash (the store's pages are first dropped from the page
//!    cache, [`evict_page_cache`], since those the kernel failed to write
//!    back may be kept there, marked clean), and reloads the log from it
//!    (re-verifying the tree);
//! 3. checks that the reloaded tree still holds the checkpoints it stored
//!    or let out (if not, signed data was lost: the log stops for good);
//! 4. writes and flushes a record in the store, and only then resumes
//!    appending and signing.
//!
//! Nobody was told their statement was registered for entries that were not
//! flushed, so whether such entries survive the reopen does not matter: a
//! retried submission finds its entry or is registered again.
//!
//! The latest checkpoint to leave the process is also kept outside the
//! store, in the file `checkpoint` of the data directory ([`write_anchor`],
//! called by the publisher before it sends a checkpoint on). An engine that
//! recovers from a truncated or damaged file by dropping its tail (sled
//! does) leaves a store that is consistent with itself, checkpoints
//! included, but behind that file: the server then refuses to start.

use provlog_ledger::storage::{Batch, ReopenableStore, StorageError};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often a failed store is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Bytes the probe file must take before the store is reopened: enough for
/// the engine to open (sled writes a new segment) and append a batch.
const PROBE_BYTES: usize = 1 << 20;

/// The store record written and flushed as the last step of a recovery.
const KEY_STORAGE_PROBE: &[u8] = b"H";

/// What the sequencer needs to recover its store.
pub struct Recovery {
    /// The log's store; every holder shares it, so a reopen reaches them all.
    pub store: Arc<ReopenableStore>,
    /// The data directory: the probe file and the checkpoint anchor go here,
    /// on the store's file system.
    pub data_dir: PathBuf,
}

impl Recovery {
    /// Writes and fsyncs a probe file of [`PROBE_BYTES`] in `data_dir`,
    /// then removes it.
    ///
    /// # Errors
    /// The I/O error, for example `ENOSPC` or a failed fsync.
    pub fn probe(&self) -> std::io::Result<()> {
        probe(&self.data_dir)
    }

    /// Writes and flushes one small record through the (reopened) store.
    ///
    /// # Errors
    /// The storage error.
    pub fn probe_store(&self) -> Result<(), StorageError> {
        use provlog_ledger::storage::Store as _;
        let mut b = Batch::new();
        b.put(KEY_STORAGE_PROBE, crate::now_ms().to_be_bytes().to_vec());
        self.store.commit(&b)?;
        self.store.flush()
    }
}

/// See [`Recovery::probe`].
pub fn probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(".storage-probe");
    let result = (|| {
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&vec![0u8; PROBE_BYTES])?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// Drops from the page cache the cached pages of every file under `dir`
/// (`posix_fadvise(POSIX_FADV_DONTNEED)`), so that the store opened next
/// reads what the disk holds. Called before every open of the store: at
/// start (a previous process may have died between a failed write-back
/// and its reopen) and between closing a failed store and opening it
/// again. After a failed write-back the kernel may keep the pages it could
/// not write, marked clean, and an engine opened on them would find
/// entries that are not on disk, sign them, and lose them on eviction or
/// power loss. Dirty pages are not dropped (only written), so this never
/// loses data the disk was to receive. Returns the number of files
/// advised.
///
/// # Errors
/// The I/O error of listing a directory or opening a file (a file removed
/// meanwhile is skipped).
pub fn evict_page_cache(dir: &Path) -> std::io::Result<usize> {
    let mut files = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let kind = e.file_type()?;
        if kind.is_dir() {
            files += evict_page_cache(&e.path())?;
        } else if kind.is_file() {
            let f = match std::fs::File::open(e.path()) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            #[cfg(target_os = "linux")]
            {
                use std::os::unix::io::AsRawFd as _;
                // SAFETY: a plain call on a file descriptor this function
                // owns; offset 0 and length 0 mean the whole file.
                let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
                if r != 0 {
                    return Err(std::io::Error::from_raw_os_error(r));
                }
            }
            drop(f);
            files += 1;
        }
    }
    Ok(files)
}

/// The file, in the data directory, holding the latest checkpoint to leave
/// the process.
const ANCHOR_FILE: &str = "checkpoint";

/// Replaces the anchor file with `note` (written, fsynced, renamed, the
/// directory fsynced so that the rename is durable too): a checkpoint that
/// is stored and flushed, before it leaves the process.
///
/// # Errors
/// The I/O error.
pub fn write_anchor(data_dir: &Path, note: &str) -> std::io::Result<()> {
    let tmp = data_dir.join(format!("{ANCHOR_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(note.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, data_dir.join(ANCHOR_FILE))?;
    std::fs::File::open(data_dir)?.sync_all()
}

/// The anchor file's checkpoint note, if there is one.
///
/// # Errors
/// The I/O error, other than a missing file.
pub fn read_anchor(data_dir: &Path) -> std::io::Result<Option<(PathBuf, Vec<u8>)>> {
    let path = data_dir.join(ANCHOR_FILE);
    match std::fs::read(&path) {
        Ok(note) => Ok(Some((path, note))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// An error and its causes, one after the other (`"storage flush failed: No
/// space left on device (os error 28)"`), for logs and problem details.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_leaves_nothing_behind() {
        let d = tempfile::tempdir().unwrap();
        probe(d.path()).unwrap();
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
        assert!(probe(&d.path().join("missing")).is_err());
    }

    /// Pages resident in the page cache for `path`, by util-linux's
    /// `fincore` (an essential package on Debian).
    fn resident_pages(path: &Path) -> u64 {
        let out = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--raw", "--output", "PAGES"])
            .arg(path)
            .output()
            .expect("fincore (util-linux)");
        String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn evicting_drops_a_stores_cached_pages_and_keeps_its_data() {
        // Next to the test binary, on the build's disk: tmpfs pages are the
        // data itself and cannot be dropped.
        let exe = std::env::current_exe().unwrap();
        let d = tempfile::tempdir_in(exe.parent().unwrap()).unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let files = [d.path().join("a"), d.path().join("sub").join("b")];
        for (i, f) in files.iter().enumerate() {
            let mut w = std::fs::File::create(f).unwrap();
            w.write_all(&vec![i as u8 + 1; 256 << 10]).unwrap();
            w.sync_all().unwrap();
            assert!(resident_pages(f) > 0, "just written, {f:?} is cached");
        }
        assert_eq!(evict_page_cache(d.path()).unwrap(), 2);
        for (i, f) in files.iter().enumerate() {
            assert_eq!(resident_pages(f), 0, "{f:?} still cached");
            assert_eq!(std::fs::read(f).unwrap(), vec![i as u8 + 1; 256 << 10]);
        }
        assert!(evict_page_cache(&d.path().join("missing")).is_err());
    }

    /// The first open at start drops the store's cached pages too, not only
    /// a reopen after a failure: a file in the store's directory, cached
    /// when the server starts, is not cached once the store is open.
    #[cfg(target_os = "linux")]
    #[test]
    fn opening_the_store_at_start_drops_its_cached_pages() {
        let exe = std::env::current_exe().unwrap();
        let d = tempfile::tempdir_in(exe.parent().unwrap()).unwrap();
        for engine in [crate::config::Engine::Sled, crate::config::Engine::Fjall] {
            let data = d.path().join(engine.name());
            let mut file = crate::config::ConfigFile { data_dir: Some(data.clone()), ..Default::default() };
            file.storage.engine = engine;
            let config = file.validate().unwrap();
            // A store made and closed, then a file beside its own, cached.
            drop(crate::open_store(&config).unwrap());
            let cached = engine.store_dir(&data).join("cached");
            let mut w = std::fs::File::create(&cached).unwrap();
            w.write_all(&vec![7; 256 << 10]).unwrap();
            w.sync_all().unwrap();
            assert!(resident_pages(&cached) > 0, "just written, {cached:?} is cached");
            let store = crate::open_store(&config).unwrap();
            assert_eq!(resident_pages(&cached), 0, "{engine:?}: still cached after the store opened");
            drop(store);
        }
    }

    #[test]
    fn describe_names_every_cause() {
        let io = std::io::Error::from_raw_os_error(28);
        let e = StorageError::backend("flush", io);
        let text = describe(&e);
        assert!(text.starts_with("storage flush failed: "), "{text}");
        assert!(text.contains("No space left on device"), "{text}");
    }
}
