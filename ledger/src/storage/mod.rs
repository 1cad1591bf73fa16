//! The storage trait the ledger owns, with a sled implementation and an
//! in-memory one, and the conformance suite that every implementation runs.
//!
//! A store is an ordered map of byte keys to byte values with two promises:
//! a [`Batch`] commits atomically (all of it or none of it, also across a
//! crash), and after [`Store::flush`] returns, every committed batch survives
//! a crash. Everything one append writes (entries, tiles, tree state,
//! indexes) goes in one batch, so it is all in one sled `Tree`: sled's batches
//! are atomic only within a tree. Key prefixes keep the kinds of records
//! apart; they are listed in `spec/storage.md`.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;
use thiserror::Error;

/// A storage failure: the operation could not be carried out. Never a
/// verdict about the data's validity (see [`StorageError::Corrupt`] for
/// data that fails its own checks).
#[derive(Debug, Error)]
pub enum StorageError {
    /// The engine failed (I/O error, full disk, closed database…).
    #[error("storage {op} failed")]
    Backend {
        op: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Stored data fails its own consistency checks.
    #[error("stored data is corrupt: {what}")]
    Corrupt { what: String },
}

impl StorageError {
    pub fn backend(op: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StorageError::Backend { op, source: Box::new(e) }
    }

    pub fn corrupt(what: impl Into<String>) -> Self {
        StorageError::Corrupt { what: what.into() }
    }

    /// Whether the engine reported that the disk is full, so that callers
    /// can refuse writes with a clear error and retry later.
    pub fn is_disk_full(&self) -> bool {
        let StorageError::Backend { source, .. } = self else {
            return false;
        };
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(source.as_ref());
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull;
            }
            if let Some(sled::Error::Io(io)) = e.downcast_ref::<sled::Error>() {
                return io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull;
            }
            cur = e.source();
        }
        false
    }
}

/// Key-value records as returned by [`Store::range`].
pub type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// A set of writes that commit together or not at all. Later operations on
/// the same key win.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), Some(value.into())));
    }
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }
    pub fn extend(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// The operations in order; `None` is a delete.
    pub fn ops(&self) -> &[(Vec<u8>, Option<Vec<u8>>)] {
        &self.ops
    }
    /// Total bytes of keys and values, for accounting.
    pub fn byte_size(&self) -> usize {
        self.ops.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len)).sum()
    }
}

/// An ordered key-value store with atomic batches and an explicit flush.
/// Keys are non-empty and shorter than 64 KiB.
pub trait Store: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Up to `limit` records with `start <= key < end`, in key order, or in
    /// reverse key order if `reverse`.
    fn range(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool) -> Result<Records, StorageError>;

    /// Applies `batch` atomically. It is visible to readers at once but
    /// durable only after [`Store::flush`].
    fn commit(&self, batch: &Batch) -> Result<(), StorageError>;

    /// Makes every committed batch durable.
    fn flush(&self) -> Result<(), StorageError>;

    /// Approximate bytes used on disk (0 if not applicable).
    fn size_on_disk(&self) -> u64 {
        0
    }
}

/// The smallest key greater than every key that starts with `prefix`
/// (`prefix` with its last non-0xff byte incremented); empty means "no end".
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    Vec::new()
}

/// A store in memory, for tests and for tools that verify without a disk.
#[derive(Default)]
pub struct MemoryStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

pub(crate) fn bounds<'a>(start: &'a [u8], end: &'a [u8]) -> (Bound<&'a [u8]>, Bound<&'a [u8]>) {
    let hi = if end.is_empty() { Bound::Unbounded } else { Bound::Excluded(end) };
    (Bound::Included(start), hi)
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.map.read().expect("lock").get(key).cloned())
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool) -> Result<Records, StorageError> {
        if !end.is_empty() && start >= end {
            return Ok(Vec::new());
        }
        let map = self.map.read().expect("lock");
        let iter = map.range::<[u8], _>(bounds(start, end)).map(|(k, v)| (k.clone(), v.clone()));
        Ok(if reverse { iter.rev().take(limit).collect() } else { iter.take(limit).collect() })
    }

    fn commit(&self, batch: &Batch) -> Result<(), StorageError> {
        let mut map = self.map.write().expect("lock");
        for (k, v) in &batch.ops {
            match v {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

mod fjall_store;
mod reopen;
mod sled_store;

pub use fjall_store::{FjallConfig, FjallStore};
pub use reopen::{Closed, Opener, ReopenableStore};
pub use sled_store::{SledConfig, SledStore};

/// The conformance suite: every [`Store`] implementation must pass it.
/// `fresh` returns an empty store each time it is called.
pub mod conformance {
    use super::*;

    pub fn run(fresh: &dyn Fn() -> Box<dyn Store>) {
        get_put_delete(fresh().as_ref());
        later_ops_in_a_batch_win(fresh().as_ref());
        range_is_ordered_bounded_and_limited(fresh().as_ref());
        ranges_over_every_first_byte(fresh().as_ref());
        prefix_end_bounds_a_prefix_scan(fresh().as_ref());
        empty_values_are_kept(fresh().as_ref());
        readers_see_whole_batches(fresh().as_ref());
    }

    /// [`run`] on stores on disk: `open` opens (or creates) one in the
    /// directory it is given, a new temporary one each time.
    #[cfg(test)]
    pub fn run_on_disk(open: &dyn Fn(&std::path::Path) -> Box<dyn Store>) {
        let dirs = std::cell::RefCell::new(Vec::new());
        run(&|| {
            let d = tempfile::tempdir().unwrap();
            let s = open(d.path());
            dirs.borrow_mut().push(d);
            s
        });
    }

    /// A flushed batch, a large value included, is read back after the
    /// store in a new temporary directory is opened again (`open` as in
    /// [`run_on_disk`]).
    #[cfg(test)]
    pub fn keeps_flushed_batches_across_reopen(open: &dyn Fn(&std::path::Path) -> Box<dyn Store>) {
        let d = tempfile::tempdir().unwrap();
        {
            let s = open(d.path());
            let mut b = Batch::new();
            b.put(&b"k"[..], &b"v"[..]);
            b.put(&b"big"[..], vec![9u8; 100_000]);
            s.commit(&b).unwrap();
            s.flush().unwrap();
        }
        let s = open(d.path());
        assert_eq!(s.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(s.get(b"big").unwrap().map(|v| v.len()), Some(100_000));
    }

    /// Sets its flag when dropped, so that threads polling the flag stop
    /// even when the writer that owns this guard panics (a failed commit,
    /// say on a full disk): the test then fails with the writer's panic
    /// instead of waiting for the readers forever.
    pub struct StopOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A reader never sees part of a batch: a writer moves a record between
    /// two keys (one batch deletes one and puts the other) while readers
    /// scan both; every scan must find exactly one.
    fn readers_see_whole_batches(s: &dyn Store) {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
        let mut b = Batch::new();
        b.put(&b"move/a"[..], &b"x"[..]);
        s.commit(&b).unwrap();
        let (done, scans) = (AtomicBool::new(false), AtomicU64::new(0));
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    while !done.load(Relaxed) {
                        let found = s.range(b"move/", b"move0", 10, false).unwrap();
                        assert_eq!(found.len(), 1, "a scan saw part of a batch: {found:?}");
                        scans.fetch_add(1, Relaxed);
                    }
                });
            }
            let _stop = StopOnDrop(&done);
            let mut i = 0u64;
            while i < 3000 || (scans.load(Relaxed) < 3000 && i < 200_000) {
                let (from, to): (&[u8], &[u8]) =
                    if i % 2 == 0 { (b"move/a", b"move/b") } else { (b"move/b", b"move/a") };
                let mut b = Batch::new();
                b.delete(from);
                b.put(to, &b"x"[..]);
                s.commit(&b).unwrap();
                i += 1;
            }
        });
    }

    fn get_put_delete(s: &dyn Store) {
        assert_eq!(s.get(b"a").unwrap(), None);
        let mut b = Batch::new();
        b.put(&b"a"[..], &b"1"[..]);
        b.put(&b"b"[..], &b"2"[..]);
        s.commit(&b).unwrap();
        s.flush().unwrap();
        assert_eq!(s.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        let mut b = Batch::new();
        b.delete(&b"a"[..]);
        b.put(&b"b"[..], &b"3"[..]);
        s.commit(&b).unwrap();
        assert_eq!(s.get(b"a").unwrap(), None);
        assert_eq!(s.get(b"b").unwrap().as_deref(), Some(&b"3"[..]));
    }

    fn later_ops_in_a_batch_win(s: &dyn Store) {
        let mut b = Batch::new();
        b.put(&b"k"[..], &b"1"[..]);
        b.delete(&b"k"[..]);
        b.put(&b"j"[..], &b"1"[..]);
        b.put(&b"j"[..], &b"2"[..]);
        s.commit(&b).unwrap();
        assert_eq!(s.get(b"k").unwrap(), None);
        assert_eq!(s.get(b"j").unwrap().as_deref(), Some(&b"2"[..]));

        // Many writes of few keys, interleaved, in a batch long enough that
        // an engine sorting it must sort stably: each of 16 keys gets one
        // write per round for 8 rounds (every third a delete), and its
        // write of the last round stands.
        let mut b = Batch::new();
        for round in 0u8..8 {
            for i in (0u8..16).rev() {
                let key = [b'w', i];
                if (round + i) % 3 == 0 {
                    b.delete(&key[..]);
                } else {
                    b.put(&key[..], &[round, i][..]);
                }
            }
        }
        s.commit(&b).unwrap();
        for i in 0u8..16 {
            let want = if (7 + i) % 3 == 0 { None } else { Some(vec![7, i]) };
            assert_eq!(s.get(&[b'w', i]).unwrap(), want, "key {i}");
        }
    }

    fn range_is_ordered_bounded_and_limited(s: &dyn Store) {
        let mut b = Batch::new();
        for i in [5u8, 1, 9, 3, 7] {
            b.put(vec![b'x', i], vec![i]);
        }
        b.put(&b"y"[..], &b"after"[..]);
        s.commit(&b).unwrap();
        let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| v.into_iter().map(|(k, _)| k[1]).collect::<Vec<_>>();
        assert_eq!(keys(s.range(b"x", b"y", 100, false).unwrap()), vec![1, 3, 5, 7, 9]);
        assert_eq!(keys(s.range(b"x", b"y", 2, true).unwrap()), vec![9, 7]);
        assert_eq!(keys(s.range(&[b'x', 3], &[b'x', 7], 100, false).unwrap()), vec![3, 5]);
        assert!(s.range(b"y", b"x", 100, false).unwrap().is_empty());
        assert_eq!(s.range(b"x", b"", 100, false).unwrap().len(), 6);
    }

    /// Ranges that start, end and cross anywhere among keys of every first
    /// byte, forward and backward, with and without a limit, return what a
    /// sorted map of the same keys returns (an engine may keep keys of
    /// different first bytes apart, as the fjall store does).
    fn ranges_over_every_first_byte(s: &dyn Store) {
        let mut b = Batch::new();
        let mut all = BTreeMap::new();
        for first in 0..=255u8 {
            for key in [vec![first], vec![first, 0], vec![first, 7, 7]] {
                b.put(key.clone(), vec![first]);
                all.insert(key, vec![first]);
            }
        }
        s.commit(&b).unwrap();
        let cuts: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![b'A'],
            vec![b'E', 1],
            vec![b'K'],
            vec![b'P', 7, 7],
            vec![b'T', 0],
            vec![b'U'],
            vec![255, 7],
        ];
        for start in &cuts {
            for end in &cuts {
                for limit in [1, 5, 2000] {
                    for reverse in [false, true] {
                        let mut want: Vec<_> = if end.is_empty() || start < end {
                            all.range::<[u8], _>(bounds(start, end))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        } else {
                            Vec::new()
                        };
                        if reverse {
                            want.reverse();
                        }
                        want.truncate(limit);
                        let got = s.range(start, end, limit, reverse).unwrap();
                        assert_eq!(got, want, "range {start:?}..{end:?} limit {limit} reverse {reverse}");
                    }
                }
            }
        }
    }

    fn prefix_end_bounds_a_prefix_scan(s: &dyn Store) {
        let mut b = Batch::new();
        b.put(vec![1, 0xff], &b"a"[..]);
        b.put(vec![1, 0xff, 0xff], &b"b"[..]);
        b.put(vec![2], &b"c"[..]);
        s.commit(&b).unwrap();
        let p = [1u8, 0xff];
        assert_eq!(s.range(&p, &prefix_end(&p), 10, false).unwrap().len(), 2);
        assert_eq!(prefix_end(&[0xff, 0xff]), Vec::<u8>::new());
    }

    fn empty_values_are_kept(s: &dyn Store) {
        let mut b = Batch::new();
        b.put(&b"e"[..], Vec::new());
        s.commit(&b).unwrap();
        assert_eq!(s.get(b"e").unwrap(), Some(Vec::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_passes_conformance() {
        conformance::run(&|| Box::new(MemoryStore::new()));
    }
}
