//! The sled engine: one sled `Tree`, so that every batch is atomic.
//!
//! sled's own flush is not enough for durability on Linux (sled 0.34):
//! it writes its log file with `sync_file_range`, which neither writes the
//! file's metadata nor empties the disk's write cache, and it never syncs
//! the files under `blobs/` (values and nodes over about 128 KiB, which
//! include full entry bundles and tiles' leaves) or the directory that names
//! them. Its background thread calls `fsync` only every 500 ms. So
//! [`SledStore::flush`] follows sled's flush with `syncfs` of the store's
//! file system: one call for the log file, every blob file and the
//! directories, at a cost that does not grow with the number of blobs (a
//! listing of `blobs/` to `fsync` the new ones took about 6 ms per flush at
//! 9,000 blobs, and a log has one per 256 entries). It also writes whatever
//! else is dirty on that file system: the data directory belongs on a file
//! system of its own. (`syncfs` reports write-back errors from Linux 5.8 on.)

use super::{bounds, Batch, Records, StorageError, Store};
use std::fs::File;
use std::path::Path;

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
    /// The store's directory, whose file system each flush syncs.
    dir: File,
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
        let store = Self { db, tree, dir: File::open(path).map_err(io)? };
        // What sled made when it created the store, durably.
        store.sync_files().map_err(io)?;
        Ok(store)
    }

    /// Makes everything sled wrote durable: `syncfs` of the store's file
    /// system. (Elsewhere than Linux, the directory's `fsync` only: sled's
    /// flush is then all the durability there is.)
    fn sync_files(&self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        rustix::fs::syncfs(&self.dir)?;
        #[cfg(not(target_os = "linux"))]
        self.dir.sync_all()?;
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
    /// `blobs/`, which sled does not sync itself; it reads back after the
    /// flush and a reopen.
    #[test]
    fn a_value_in_a_blob_file_survives_flush_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &SledConfig::default()).unwrap();
        let mut batch = Batch::default();
        batch.put(b"small".to_vec(), vec![1; 100]);
        batch.put(b"large".to_vec(), vec![2; 300 << 10]);
        store.commit(&batch).unwrap();
        store.flush().unwrap();
        let blobs = std::fs::read_dir(dir.path().join("blobs")).unwrap().count();
        assert!(blobs > 0, "sled wrote no blob for a 300 KiB value");
        drop(store);
        let store = SledStore::open(dir.path(), &SledConfig::default()).unwrap();
        assert_eq!(store.get(b"large").unwrap(), Some(vec![2; 300 << 10]));
        assert_eq!(store.get(b"small").unwrap(), Some(vec![1; 100]));
    }
}
