//! The sled engine: one sled `Tree`, so that every batch is atomic.

use super::{bounds, Batch, Records, StorageError, Store};
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
        Ok(Self { db, tree })
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
        self.db.flush().map(|_| ()).map_err(|e| StorageError::backend("flush", e))
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
}
