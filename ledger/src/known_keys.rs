//! An in-memory filter over the keys of the state records that the rules
//! look up (objects, events, statement IDs), so that the lookup of a key the
//! log does not hold — most of them: a new statement, a new event ID, a
//! newly commissioned object — is answered without reading the store.
//!
//! It may answer "maybe" for a key that is absent (then the store answers,
//! as it did without the filter), never "no" for a key that is present: it
//! holds every such key in the store when the log opens, and the log adds
//! each batch's keys before it commits the batch (a batch that then fails
//! leaves extra keys, which only cost a store lookup). Nothing of it is
//! stored; it is rebuilt from the store at every open, either before the
//! log is used ([`KnownKeys::load`]) or in the background
//! ([`KnownKeys::loading`], [`KnownKeys::scan`],
//! [`KnownKeys::finish_loading`]): until the scan is in place every key is
//! a "maybe", and the keys added meanwhile are kept for it.
//!
//! It is a scalable Bloom filter: a list of blocked Bloom filters (each key's
//! bits in one 512-bit block), the first sized when the log opens (for at
//! least [`MIN_CAPACITY`] keys), each next one twice the capacity of the one
//! before, about 10 bits per key. Each full part answers a false "maybe"
//! for 1–2 % of absent keys, and the rates of the parts add up, so the rate
//! grows slowly (with the logarithm of how far the log has outgrown the
//! first part) until the next open. The hash is keyed at random per
//! filter: nobody can choose IDs that crowd one block.

use crate::state::{PREFIX_EVENT, PREFIX_OBJECT, PREFIX_STATEMENT};
use crate::storage::{prefix_end, Batch, StorageError, Store};
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

const BITS_PER_KEY: u64 = 10;
const PROBES: u64 = 7;
/// The smallest first part: 8,388,608 keys (those of about two million
/// statements), 10 MiB. A log keeps growing after it opens, and every part
/// added costs each lookup of an absent key (most of the rules' lookups)
/// one more memory access and adds its false "maybe"s, each a store read:
/// with 6M keys, a filter begun at 262,144 keys had five parts, took
/// 191 ns per absent key and answered "maybe" for 4.6 % of them, against
/// 143 ns and 0.31 % for one part of this size (`cargo bench -p
/// provlog-ledger --bench hot_paths -- known_keys`, BENCHMARKS.md).
const MIN_CAPACITY: u64 = 1 << 23;
/// Records read per range call while loading.
const SCAN_CHUNK: usize = 65_536;

/// Whether `key` is one the filter covers.
fn tracked(key: &[u8]) -> bool {
    matches!(key.first(), Some(&(PREFIX_OBJECT | PREFIX_EVENT | PREFIX_STATEMENT)))
}

/// One blocked Bloom filter.
struct Part {
    blocks: Vec<[u64; 8]>,
    capacity: u64,
    count: u64,
}

impl Part {
    fn new(capacity: u64) -> Self {
        let blocks = (capacity * BITS_PER_KEY).div_ceil(512).max(1);
        Self { blocks: vec![[0; 8]; blocks as usize], capacity, count: 0 }
    }

    /// The block of `h` and its bit positions in it.
    fn bits(&self, h: u64) -> (usize, impl Iterator<Item = usize>) {
        let block = (((h >> 32) * self.blocks.len() as u64) >> 32) as usize;
        let mixed = h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (a, b) = (mixed >> 40, (mixed >> 17) | 1);
        (block, (0..PROBES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) & 511) as usize))
    }

    fn insert(&mut self, h: u64) {
        let (block, bits) = self.bits(h);
        let words = &mut self.blocks[block];
        for bit in bits {
            words[bit >> 6] |= 1 << (bit & 63);
        }
        self.count += 1;
    }

    fn contains(&self, h: u64) -> bool {
        let (block, mut bits) = self.bits(h);
        let words = &self.blocks[block];
        bits.all(|bit| words[bit >> 6] & (1 << (bit & 63)) != 0)
    }
}

/// The parts and their hash key, behind [`KnownKeys`]'s lock.
struct Filter {
    parts: Vec<Part>,
    keys: RandomState,
    /// While the store's keys are being loaded in the background: the
    /// hashes of the keys added meanwhile, for the loaded filter to take
    /// on. Until then every key is a "maybe".
    loading: Option<Vec<u64>>,
}

impl Filter {
    fn with_capacity(capacity: u64) -> Self {
        Self::keyed(capacity, RandomState::new())
    }

    fn keyed(capacity: u64, keys: RandomState) -> Self {
        Self::first_part(capacity.max(MIN_CAPACITY), keys)
    }

    /// A filter whose first part holds exactly `capacity` keys.
    fn first_part(capacity: u64, keys: RandomState) -> Self {
        Self { parts: vec![Part::new(capacity)], keys, loading: None }
    }

    /// Adds every object, event and statement key in `store`.
    fn scan(&mut self, store: &dyn Store) -> Result<(), StorageError> {
        for prefix in [PREFIX_OBJECT, PREFIX_EVENT, PREFIX_STATEMENT] {
            let end = prefix_end(&[prefix]);
            let mut start = vec![prefix];
            loop {
                let records = store.range(&start, &end, SCAN_CHUNK, false)?;
                for (k, _) in &records {
                    self.insert(k);
                }
                match records.last() {
                    Some((last, _)) if records.len() == SCAN_CHUNK => {
                        start = last.clone();
                        start.push(0);
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// The hash of the key `prefix || id`.
    fn hash(&self, prefix: u8, id: &[u8]) -> u64 {
        let mut h = self.keys.build_hasher();
        h.write_u8(prefix);
        h.write(id);
        h.finish()
    }

    fn insert(&mut self, key: &[u8]) {
        if !tracked(key) {
            return;
        }
        let h = self.hash(key[0], &key[1..]);
        if let Some(added) = &mut self.loading {
            added.push(h);
            return;
        }
        self.insert_hash(h);
    }

    fn insert_hash(&mut self, h: u64) {
        if self.parts.iter().any(|p| p.contains(h)) {
            return;
        }
        let last = self.parts.last().expect("a part");
        if last.count >= last.capacity {
            let next = Part::new(last.capacity * 2);
            self.parts.push(next);
        }
        self.parts.last_mut().expect("a part").insert(h);
    }

    fn may_contain(&self, prefix: u8, id: &[u8]) -> bool {
        if self.loading.is_some() {
            return true;
        }
        let h = self.hash(prefix, id);
        self.parts.iter().any(|p| p.contains(h))
    }
}

/// The store's keys scanned by [`KnownKeys::scan`], to be put in place by
/// [`KnownKeys::finish_loading`].
pub struct LoadedKeys(Filter);

/// The filter. See the module documentation. It is shared: the log's one
/// writer adds keys, and any thread may ask (the HTTP handlers ask before
/// verifying a submission whether its statement is already logged).
pub struct KnownKeys {
    filter: RwLock<Filter>,
}

impl KnownKeys {
    /// An empty filter whose first part holds `capacity` keys.
    pub fn with_capacity(capacity: u64) -> Self {
        Self { filter: RwLock::new(Filter::with_capacity(capacity)) }
    }

    /// The filter for reading. A panic of another holder cannot leave it
    /// without a key it was given (keys are only added), so a poisoned
    /// lock is used as it is.
    fn read(&self) -> RwLockReadGuard<'_, Filter> {
        self.filter.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Filter> {
        self.filter.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A filter of every object, event and statement key in `store`, its
    /// first part sized for `expected` keys (more only add parts).
    ///
    /// # Errors
    /// The store's, if a range read fails.
    pub fn load(store: &dyn Store, expected: u64) -> Result<Self, StorageError> {
        let mut filter = Filter::with_capacity(expected);
        filter.scan(store)?;
        Ok(Self { filter: RwLock::new(filter) })
    }

    /// A filter that answers "maybe" for every key until
    /// [`KnownKeys::finish_loading`] gives it the store's keys; the keys
    /// added meanwhile are kept for then. With [`KnownKeys::scan`] on
    /// another thread, a log starts without waiting for the scan.
    pub fn loading() -> Self {
        // Its part is never asked or filled: the loaded filter replaces it.
        let mut filter = Filter::first_part(0, RandomState::new());
        filter.loading = Some(Vec::new());
        Self { filter: RwLock::new(filter) }
    }

    /// The keys of `store`, read without holding the lock, for
    /// [`KnownKeys::finish_loading`].
    ///
    /// # Errors
    /// The store's, if a range read fails.
    pub fn scan(&self, store: &dyn Store, expected: u64) -> Result<LoadedKeys, StorageError> {
        let mut filter = Filter::keyed(expected, self.read().keys.clone());
        filter.scan(store)?;
        Ok(LoadedKeys(filter))
    }

    /// Puts `loaded` in place, with the keys added since
    /// [`KnownKeys::loading`]. Returns false, and changes nothing, if the
    /// filter is not loading any more ([`KnownKeys::replace`] gave it the
    /// keys of a store reopened meanwhile: the scan may predate keys added
    /// since).
    pub fn finish_loading(&self, loaded: LoadedKeys) -> bool {
        let mut filter = self.write();
        // Same hash key: the loaded filter was scanned for this loading.
        if filter.keys.hash_one(0u8) != loaded.0.keys.hash_one(0u8) {
            return false;
        }
        let Some(added) = filter.loading.take() else { return false };
        let mut loaded = loaded.0;
        for h in added {
            loaded.insert_hash(h);
        }
        *filter = loaded;
        true
    }

    /// Replaces the whole filter with `other`'s (the log's reload).
    pub fn replace(&self, other: KnownKeys) {
        *self.write() = other.filter.into_inner().unwrap_or_else(PoisonError::into_inner);
    }

    /// Adds `key` if it is an object, event or statement key. A key the
    /// filter already answers "maybe" for is not added again (records are
    /// rewritten often; only new keys should fill the parts).
    pub fn insert(&self, key: &[u8]) {
        self.write().insert(key);
    }

    /// Adds the keys that `batch` writes, under one hold of the lock.
    pub fn note(&self, batch: &Batch) {
        let mut filter = self.write();
        for (k, v) in batch.ops() {
            if v.is_some() {
                filter.insert(k);
            }
        }
    }

    /// False only if no key `prefix || id` was ever added.
    pub fn may_contain(&self, prefix: u8, id: &[u8]) -> bool {
        self.read().may_contain(prefix, id)
    }

    /// Bytes of memory the filter holds.
    pub fn memory_bytes(&self) -> usize {
        self.read().parts.iter().map(|p| p.blocks.len() * 64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    fn object_key(i: u64) -> Vec<u8> {
        let mut k = vec![PREFIX_OBJECT];
        k.extend_from_slice(format!("urn:epc:id:sgtin:0614141.107346.{i}").as_bytes());
        k
    }

    #[test]
    fn every_added_key_is_found_across_parts_and_few_absent_ones_are() {
        // A first part smaller than a log's, to reach three parts quickly.
        let first = 1 << 18;
        let f = KnownKeys { filter: RwLock::new(Filter::first_part(first, RandomState::new())) };
        // 2^18 and 2^19 keys fill two parts; the rest start a third (keys
        // the filter already answers "maybe" for, 1-2 %, are not counted).
        let n = 3 * first + 50_000;
        for i in 0..n {
            f.insert(&object_key(i));
        }
        assert_eq!(f.read().parts.len(), 3);
        for i in 0..n {
            let k = object_key(i);
            assert!(f.may_contain(k[0], &k[1..]), "key {i} lost");
        }
        let absent = 100_000;
        let maybe = (n..n + absent).filter(|i| f.may_contain(PREFIX_OBJECT, &object_key(*i)[1..])).count();
        // Three parts of about 1-2 % each.
        assert!(maybe < absent as usize * 6 / 100, "{maybe} false positives in {absent}");
    }

    #[test]
    fn only_object_event_and_statement_keys_are_added() {
        let f = KnownKeys::with_capacity(0);
        f.insert(b"Lsome-lineage-key");
        f.insert(b"Tsome-tile");
        assert_eq!(f.read().parts[0].count, 0);
        f.insert(b"vevent-1");
        f.insert(b"vevent-1");
        assert_eq!(f.read().parts[0].count, 1, "a key added twice counts once");
        assert!(f.may_contain(PREFIX_EVENT, b"event-1"));
    }

    #[test]
    fn load_reads_every_tracked_key_of_the_store_past_one_scan_chunk() {
        let store = MemoryStore::new();
        let mut b = Batch::new();
        let n = SCAN_CHUNK as u64 + 10;
        for i in 0..n {
            b.put(object_key(i), vec![1]);
        }
        b.put(b"s0123".to_vec(), vec![0; 8]);
        b.put(b"Lnot-tracked".to_vec(), vec![]);
        store.commit(&b).unwrap();
        let f = KnownKeys::load(&store, 0).unwrap();
        let counted = f.read().parts.iter().map(|p| p.count).sum::<u64>();
        assert!(counted <= n + 1 && counted > (n + 1) * 97 / 100, "{counted} of {} keys counted", n + 1);
        for i in 0..n {
            assert!(f.may_contain(PREFIX_OBJECT, &object_key(i)[1..]), "key {i} not loaded");
        }
        assert!(f.may_contain(PREFIX_STATEMENT, b"0123"));
    }

    fn store_with(keys: &[Vec<u8>]) -> MemoryStore {
        let store = MemoryStore::new();
        let mut b = Batch::new();
        for k in keys {
            b.put(k.clone(), vec![1]);
        }
        store.commit(&b).unwrap();
        store
    }

    #[test]
    fn a_loading_filter_says_maybe_until_loaded_and_keeps_the_keys_added_meanwhile() {
        let store = store_with(&[object_key(1)]);
        let f = KnownKeys::loading();
        assert!(f.read().loading.is_some());
        assert_eq!(f.memory_bytes(), 64, "a loading filter holds one block until it is loaded");
        assert!(f.may_contain(PREFIX_OBJECT, b"never added"), "loading: everything is a maybe");
        f.insert(&object_key(2)); // added while loading, before the scan
        let loaded = f.scan(&store, 0).unwrap();
        f.insert(&object_key(3)); // added after the scan, before it is put in place
        assert!(f.finish_loading(loaded));
        assert!(f.read().loading.is_none());
        assert_eq!(f.memory_bytes() as u64, MIN_CAPACITY * BITS_PER_KEY / 8, "a log's first part");
        for i in 1..=3 {
            assert!(f.may_contain(PREFIX_OBJECT, &object_key(i)[1..]), "key {i} lost");
        }
        let false_maybes = (100..1100).filter(|&i| f.may_contain(PREFIX_OBJECT, &object_key(i)[1..])).count();
        assert!(false_maybes < 50, "{false_maybes} of 1000 absent keys answered maybe");
    }

    #[test]
    fn a_load_that_finishes_after_a_replace_changes_nothing() {
        let f = KnownKeys::loading();
        let stale = f.scan(&MemoryStore::new(), 0).unwrap();
        f.replace(KnownKeys::load(&store_with(&[object_key(7)]), 0).unwrap());
        f.insert(&object_key(8));
        assert!(!f.finish_loading(stale), "a scan from before the replace must not be put in place");
        assert!(f.may_contain(PREFIX_OBJECT, &object_key(7)[1..]));
        assert!(f.may_contain(PREFIX_OBJECT, &object_key(8)[1..]));
    }
}
