//! A store that can be closed and opened again in place, for recovery from
//! a failed write.
//!
//! Why: after an I/O error (a full disk, a failed fsync) both engines refuse
//! every later write until they are reopened — sled keeps the first error as
//! a "global error", fjall marks the database poisoned — while reads keep
//! working. Every holder of the log's store (tree reader, state, publisher)
//! holds this wrapper, so reopening the engine inside it reaches all of them.
//! Reopening makes the engine recover from what is on disk, exactly as after
//! a crash; the caller then reloads its in-memory state
//! ([`crate::log::Log::reload`]).

use super::{Records, StorageError, Store};
use std::sync::RwLock;

/// Opens the engine; called once at creation and again by each reopen.
pub type Opener = Box<dyn Fn() -> Result<Box<dyn Store>, StorageError> + Send + Sync>;

/// A [`Store`] whose engine can be reopened in place.
pub struct ReopenableStore {
    /// `None` only while a reopen failed: then every operation fails until
    /// the next reopen succeeds.
    engine: RwLock<Option<Box<dyn Store>>>,
    open: Opener,
}

impl ReopenableStore {
    /// Opens the engine with `open`.
    ///
    /// # Errors
    /// Whatever `open` returns.
    pub fn open(open: Opener) -> Result<Self, StorageError> {
        let engine = open()?;
        Ok(Self { engine: RwLock::new(Some(engine)), open })
    }

    /// Closes the engine (waiting for operations in flight) and opens it
    /// again. Writes that were committed but not flushed may be gone
    /// afterwards, as after a crash.
    ///
    /// # Errors
    /// Whatever the opener returns; the store is then closed (every
    /// operation fails) until a later reopen succeeds.
    pub fn reopen(&self) -> Result<(), StorageError> {
        let mut engine = self.engine.write().expect("lock");
        // The old engine must be gone before the new one opens: sled holds
        // a file lock on its directory.
        *engine = None;
        *engine = Some((self.open)()?);
        Ok(())
    }

    fn with<T>(&self, f: impl FnOnce(&dyn Store) -> Result<T, StorageError>) -> Result<T, StorageError> {
        match self.engine.read().expect("lock").as_deref() {
            Some(engine) => f(engine),
            None => Err(StorageError::backend("access", Closed)),
        }
    }
}

/// The error of an operation on a store whose last reopen failed.
#[derive(Debug, thiserror::Error)]
#[error("the store is closed after a failed reopen")]
pub struct Closed;

impl Store for ReopenableStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.with(|s| s.get(key))
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool) -> Result<Records, StorageError> {
        self.with(|s| s.range(start, end, limit, reverse))
    }

    fn commit(&self, batch: &super::Batch) -> Result<(), StorageError> {
        self.with(|s| s.commit(batch))
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.with(|s| s.flush())
    }

    fn size_on_disk(&self) -> u64 {
        self.with(|s| Ok(s.size_on_disk())).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{conformance, Batch, SledConfig, SledStore};

    #[test]
    fn reopenable_store_passes_conformance() {
        conformance::run(&|| {
            Box::new(
                ReopenableStore::open(Box::new(|| Ok(Box::new(crate::storage::MemoryStore::new())))).unwrap(),
            )
        });
    }

    #[test]
    fn reopen_keeps_flushed_data_and_releases_the_sled_lock() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().to_owned();
        let s = ReopenableStore::open(Box::new(move || {
            Ok(Box::new(SledStore::open(&path, &SledConfig::default())?) as Box<dyn Store>)
        }))
        .unwrap();
        let mut b = Batch::new();
        b.put(&b"k"[..], &b"v"[..]);
        s.commit(&b).unwrap();
        s.flush().unwrap();
        s.reopen().unwrap();
        assert_eq!(s.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        s.commit(&b).unwrap();
        s.flush().unwrap();
    }
}
