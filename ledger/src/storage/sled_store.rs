//! The sled engine: one sled `Tree`, so that every batch is atomic.
//!
//! sled's own flush is not enough for durability on Linux (sled 0.34):
//! it writes its log file with `sync_file_range`, which neither writes the
//! file's metadata nor empties the disk's write cache, and it never syncs
//! the files under `blobs/` (values and nodes over about 128 KiB, which
//! include full entry bundles and tiles' leaves) or the directory that names
//! them. Its background thread calls `fsync` only every 500 ms. So
//! [`SledStore::flush`] follows sled's flush with `fsync` of the log file,
//! of every blob file not synced before, and of the `blobs` directory.

use super::{bounds, Batch, Records, StorageError, Store};
use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Configuration of the sled store.
#[derive(Clone, Debug)]
pub struct SledConfig {
    /// sled's page cache, in bytes. sled's own default is 1 GB, far more than
    /// a log needs: tiles are read once and cached above the store.
    pub cache_capacity: u64,
}

impl Default for SledConfig {
    fn default() -> Self {
        Self { cache_capacity: 64 << 20 }
    }
}

/// A store in one sled `Tree`, so that every batch is atomic.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// sled's log file (`db`), synced after each flush.
    log: File,
    /// sled's `blobs` directory.
    blobs: PathBuf,
    /// The blob files (named by sequence number) synced so far; a blob is
    /// written once and later removed, never changed.
    synced_blobs: Mutex<BTreeSet<u64>>,
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    ///
    /// # Errors
    /// [`StorageError::Backend`] if sled cannot open it; sled reports
    /// corruption it detects here.
    pub fn open(path: &Path, config: &SledConfig) -> Result<Self, StorageError> {
        // sled releases its file lock from a background thread after the
        // last handle is dropped, so a reopen right after a close (a restart
        // in the same process, a test) may briefly find it held.
        let mut attempts = 0;
        let db = loop {
            match sled::Config::new().path(path).cache_capacity(config.cache_capacity).open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock") && attempts < 40 =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(StorageError::backend("open", e)),
            }
        };
        let tree = db.open_tree("provlog").map_err(|e| StorageError::backend("open", e))?;
        let io = |e| StorageError::backend("open", e);
        let log = File::open(path.join("db")).map_err(io)?;
        let blobs = path.join("blobs");
        // The files sled made when it created the store, named durably.
        File::open(path).and_then(|d| d.sync_all()).map_err(io)?;
        let store = Self { db, tree, log, blobs, synced_blobs: Mutex::new(BTreeSet::new()) };
        store.sync_files().map_err(io)?;
        Ok(store)
    }

    /// `fsync` of the log file, of the blob files not synced before, and
    /// (if there were any) of the `blobs` directory, so that their names are
    /// durable too.
    fn sync_files(&self) -> std::io::Result<()> {
        self.log.sync_all()?;
        let mut synced = self.synced_blobs.lock().expect("lock");
        let mut present = BTreeSet::new();
        let mut new = false;
        match std::fs::read_dir(&self.blobs) {
            Ok(entries) => {
                for e in entries {
                    let e = e?;
                    // sled names blobs by number; anything else is not its.
                    let Some(n) = e.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else {
                        continue;
                    };
                    if !synced.contains(&n) {
                        match File::open(e.path()) {
                            Ok(f) => f.sync_all()?,
                            // Removed by sled's collection meanwhile.
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                            Err(e) => return Err(e),
                        }
                        new = true;
                    }
                    present.insert(n);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if new {
            File::open(&self.blobs)?.sync_all()?;
        }
        // Forget the removed ones, so that the set stays the directory's size.
        *synced = present;
        Ok(())
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.tree.get(key).map_err(|e| StorageError::backend("get", e))?.map(|v| v.to_vec()))
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool) -> Result<Records, StorageError> {
        if !end.is_empty() && start >= end {
            return Ok(Vec::new());
        }
        let iter = self.tree.range::<&[u8], _>(bounds(start, end));
        let conv = |r: sled::Result<(sled::IVec, sled::IVec)>| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(|e| StorageError::backend("range", e))
        };
        if reverse {
            iter.rev().take(limit).map(conv).collect()
        } else {
            iter.take(limit).map(conv).collect()
        }
    }

    fn commit(&self, batch: &Batch) -> Result<(), StorageError> {
        let mut b = sled::Batch::default();
        for (k, v) in &batch.ops {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        self.tree.apply_batch(b).map_err(|e| StorageError::backend("commit", e))
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.db.flush().map_err(|e| StorageError::backend("flush", e))?;
        self.sync_files().map_err(|e| StorageError::backend("flush", e))
    }

    fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;

    /// Opens the sled store in `dir` with the default configuration.
    fn open(dir: &std::path::Path) -> Box<dyn Store> {
        Box::new(SledStore::open(dir, &SledConfig::default()).unwrap())
    }

    #[test]
    fn sled_store_passes_conformance() {
        conformance::run_on_disk(&open);
    }

    #[test]
    fn sled_store_keeps_flushed_batches_across_reopen() {
        conformance::keeps_flushed_batches_across_reopen(&open);
    }

    /// A value over sled's blob threshold goes to a file of its own under
    /// `blobs/`, which sled does not sync: the flush finds it and syncs it.
    #[test]
    fn flush_syncs_the_blob_files_sled_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &SledConfig::default()).unwrap();
        assert!(store.synced_blobs.lock().unwrap().is_empty());
        let mut batch = Batch::default();
        batch.put(b"small".to_vec(), vec![1; 100]);
        batch.put(b"large".to_vec(), vec![2; 300 << 10]);
        store.commit(&batch).unwrap();
        store.flush().unwrap();
        let on_disk: BTreeSet<u64> = std::fs::read_dir(dir.path().join("blobs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .collect();
        assert!(!on_disk.is_empty(), "sled wrote no blob for a 300 KiB value");
        assert_eq!(*store.synced_blobs.lock().unwrap(), on_disk);
        drop(store);
        let store = SledStore::open(dir.path(), &SledConfig::default()).unwrap();
        assert_eq!(store.get(b"large").unwrap(), Some(vec![2; 300 << 10]));
        assert!(!store.synced_blobs.lock().unwrap().is_empty(), "blobs found again at open");
    }
}
