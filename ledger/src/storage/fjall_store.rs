//! The fjall engine (an LSM tree): one keyspace; a batch is one atomic
//! journal write, made durable by [`Store::flush`] (`PersistMode::SyncAll`).
//!
//! Reads go through a snapshot of whole batches. fjall's plain
//! `Keyspace::get` and `range` read at the newest sequence number, which
//! includes a batch whose items are still being inserted one by one: a
//! reader could see the pending entries of a filling bundle deleted before
//! the bundle itself was written (receipts failed with "entries … are
//! missing" under load). A fjall snapshot alone is not enough either (see
//! `FjallStore::snapshot`): snapshots are opened only while none of this
//! store's commits is in flight. One consequence: when fjall slows a
//! commit down for write backpressure (four sealed memtables waiting, or a
//! level 0 of 20 runs), it does so inside the commit, and reads wait with
//! it.
//!
//! Why a second engine: a log entry writes several small index records
//! (statement ID, event ID, objects, mentions), and on this project's
//! machine sled 0.34 spends about 11 µs of CPU per small record against
//! about 1 µs for fjall 3 (BENCHMARKS.md, "Storage engines"), which decides
//! whether the sequencer keeps up with signature verification.

use super::{bounds, Batch, Records, StorageError, Store};
use fjall::config::PartitioningPolicy;
use fjall::Readable as _;
use std::path::Path;
use std::sync::{PoisonError, RwLock};

/// Configuration of the fjall store.
#[derive(Clone, Debug)]
pub struct FjallConfig {
    /// Block cache, in bytes. Default 64 MiB.
    pub cache_capacity: u64,
    /// Background threads that flush memtables and compact tables
    /// (0 is taken as 1). Default 1. fjall 3.1 defaults to one per core
    /// (up to 4), but with more than one, its first worker hands every
    /// compaction request back to the queue and takes it again while
    /// another worker compacts: a busy loop that took 13 % of the server's
    /// CPU under ingest load on two cores. One worker gave 7.4 % more
    /// statements/s and a lower p99 (BENCHMARKS.md, "Ingest").
    pub worker_threads: usize,
    /// Largest memtable before it is flushed to a table file. Default
    /// 16 MiB (fjall's is 64 MiB; a log's memory must stay flat and
    /// small). Used when the keyspace is created.
    pub max_memtable_bytes: u64,
}

impl Default for FjallConfig {
    fn default() -> Self {
        Self { cache_capacity: 64 << 20, worker_threads: 1, max_memtable_bytes: 16 << 20 }
    }
}

/// A store in one fjall keyspace.
pub struct FjallStore {
    db: fjall::Database,
    keyspace: fjall::Keyspace,
    /// Held for writing while a batch is committed and for reading while a
    /// snapshot is opened: see [`FjallStore::snapshot`].
    commits: RwLock<()>,
}

impl FjallStore {
    /// Opens (or creates) the store in directory `path`, recovering the
    /// journal to the last complete batch.
    ///
    /// # Errors
    /// [`StorageError::Backend`] if fjall cannot open it (including a
    /// journal or table it finds corrupt).
    pub fn open(path: &Path, config: &FjallConfig) -> Result<Self, StorageError> {
        let db = fjall::Database::builder(path)
            .cache_size(config.cache_capacity)
            // Batches reach the journal file at commit and become durable
            // only at flush(), which the log calls before signing.
            .manual_journal_persist(true)
            .worker_threads(config.worker_threads.max(1))
            .open()
            .map_err(|e| StorageError::backend("open", e))?;
        let keyspace = db
            .keyspace("provlog", || {
                // Filter and index blocks partitioned on every level (fjall
                // does so only from level 3 on by default). Unpartitioned, a
                // table's filter is one block of up to megabytes, pinned in
                // memory only on level 0: past a few million entries every
                // point read that missed the block cache (the rules' state
                // lookups, mostly of keys that do not exist) read and
                // checksummed whole filters from disk, and `register` fell
                // from 8,000 to under 2,500 statements/s between 1M and 3M
                // entries (BENCHMARKS.md, "Lineage"). Partitioned, a lookup
                // reads one small partition through the block cache. fjall
                // records these options when it creates the keyspace: a data
                // directory keeps the ones it was made with.
                fjall::KeyspaceCreateOptions::default()
                    .max_memtable_size(config.max_memtable_bytes)
                    .filter_block_partitioning_policy(PartitioningPolicy::all(true))
                    .index_block_partitioning_policy(PartitioningPolicy::all(true))
            })
            .map_err(|e| StorageError::backend("open", e))?;
        Ok(Self { db, keyspace, commits: RwLock::new(()) })
    }

    /// A snapshot of whole batches. fjall 3.1's snapshot alone is not
    /// always one: when a memtable flush or a compaction finishes,
    /// lsm-tree publishes a new visible sequence number drawn from the
    /// counter batches draw from, which can cover a batch still being
    /// inserted, and a snapshot opened then sees part of that batch (62
    /// of 16,260 scans in
    /// `readers_see_whole_batches_while_memtables_are_flushed`; under load,
    /// a receipt found an entry's pending record deleted and its bundle
    /// not yet written). This store is its keyspace's only writer, so a
    /// snapshot opened while none of its commits is in flight holds whole
    /// batches only: every batch below its sequence number is complete, and
    /// every later one is above it.
    fn snapshot(&self) -> fjall::Snapshot {
        let _no_commit_in_flight = self.commits.read().unwrap_or_else(PoisonError::into_inner);
        self.db.snapshot()
    }
}

fn kv(item: fjall::Guard) -> Result<(Vec<u8>, Vec<u8>), StorageError> {
    let (k, v) = item.into_inner().map_err(|e| StorageError::backend("range", e))?;
    Ok((k.to_vec(), v.to_vec()))
}

impl Store for FjallStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .snapshot()
            .get(&self.keyspace, key)
            .map_err(|e| StorageError::backend("get", e))?
            .map(|v| v.to_vec()))
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool) -> Result<Records, StorageError> {
        if !end.is_empty() && start >= end {
            return Ok(Vec::new());
        }
        let iter = self.snapshot().range::<&[u8], _>(&self.keyspace, bounds(start, end));
        if reverse {
            iter.rev().take(limit).map(kv).collect()
        } else {
            iter.take(limit).map(kv).collect()
        }
    }

    fn commit(&self, batch: &Batch) -> Result<(), StorageError> {
        let mut b = self.db.batch();
        for (k, v) in batch.ops() {
            match v {
                Some(v) => b.insert(&self.keyspace, k.as_slice(), v.as_slice()),
                None => b.remove(&self.keyspace, k.as_slice()),
            }
        }
        let _only_commit_in_flight = self.commits.write().unwrap_or_else(PoisonError::into_inner);
        b.commit().map_err(|e| StorageError::backend("commit", e))
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.db.persist(fjall::PersistMode::SyncAll).map_err(|e| StorageError::backend("flush", e))
    }

    fn size_on_disk(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;

    #[test]
    fn fjall_store_passes_conformance() {
        let dirs = std::cell::RefCell::new(Vec::new());
        conformance::run(&|| {
            let d = tempfile::tempdir().unwrap();
            let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
            dirs.borrow_mut().push(d);
            Box::new(s)
        });
    }

    #[test]
    fn fjall_store_keeps_flushed_batches_across_reopen() {
        let d = tempfile::tempdir().unwrap();
        {
            let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
            let mut b = Batch::new();
            b.put(&b"k"[..], &b"v"[..]);
            b.put(&b"big"[..], vec![9u8; 100_000]);
            s.commit(&b).unwrap();
            s.flush().unwrap();
        }
        let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
        assert_eq!(s.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(s.get(b"big").unwrap().map(|v| v.len()), Some(100_000));
    }

    /// A reader never sees part of a batch while memtables are flushed
    /// under it: a writer moves a record between two keys, the delete and
    /// the put apart by a few hundred filler records, with a memtable so
    /// small that it is flushed every batch or two; readers scan both keys.
    #[test]
    fn readers_see_whole_batches_while_memtables_are_flushed() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
        let d = tempfile::tempdir().unwrap();
        let config = FjallConfig { max_memtable_bytes: 256 << 10, ..FjallConfig::default() };
        let s = FjallStore::open(d.path(), &config).unwrap();
        let mut b = Batch::new();
        b.put(&b"move/a"[..], &b"x"[..]);
        s.commit(&b).unwrap();
        let (done, scans, partial) = (AtomicBool::new(false), AtomicU64::new(0), AtomicU64::new(0));
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    while !done.load(Relaxed) {
                        if s.range(b"move/", b"move0", 10, false).unwrap().len() != 1 {
                            partial.fetch_add(1, Relaxed);
                        }
                        scans.fetch_add(1, Relaxed);
                    }
                });
            }
            for i in 0..2000u64 {
                let (from, to): (&[u8], &[u8]) =
                    if i % 2 == 0 { (b"move/a", b"move/b") } else { (b"move/b", b"move/a") };
                let mut b = Batch::new();
                b.delete(from);
                for j in 0..200u64 {
                    b.put(format!("filler/{i}/{j}").into_bytes(), vec![7u8; 256]);
                }
                b.put(to, &b"x"[..]);
                s.commit(&b).unwrap();
            }
            done.store(true, Relaxed);
        });
        assert!(scans.load(Relaxed) > 1000, "too few scans to tell: {}", scans.load(Relaxed));
        assert_eq!(partial.load(Relaxed), 0, "scans that saw part of a batch, of {}", scans.load(Relaxed));
    }
}
