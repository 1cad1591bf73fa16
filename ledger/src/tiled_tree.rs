//! The append-only Merkle tree kept as C2SP tiles in a [`Store`].
//!
//! [`TiledTree`] is the single writer: it holds the frontier (O(log n)
//! hashes) and the rightmost, still-growing tile of each level, and appends
//! batches of entries. [`TreeReader`] is a cheap, shareable handle that
//! serves roots, proofs, tiles and entries at any size up to the committed
//! one, reading only stored tiles; it never rebuilds the tree in memory.
//!
//! Spec: `spec/tiles.md` ("Storage layout") and `spec/tree.md`.
//!
//! Stored records (all in one store, so one batch is atomic):
//!
//! ```text
//! "S"                          tree state: version, size, frontier, BLAKE3 checksum
//! "T" || level u8 || N u64 BE  hash tile N of level: its hashes (current width); a full
//!                              tile is followed by its 255 interior node hashes
//! "E" || N u64 BE              full entry bundle N (written once, when it fills)
//! "P" || index u64 BE          one entry of the entry bundle that is not full yet
//! "K" || N u64 BE || c u8      chunk c (0..16) of full level-0 tile N: its 16 leaf
//!                              hashes, their 15 interior nodes, and the siblings of
//!                              its root's path at heights 4 to 7
//! ```
//!
//! The chunk records repeat what the expanded tile holds, in 1 KB pieces:
//! an inclusion proof through an old level-0 tile reads the chunk of its
//! leaf instead of the 16 KB tile.
//!
//! A tile's hashes never change once written; a partial tile only grows.
//! So the tile of width W at any historical size is a prefix of the stored one.

use crate::proof::{self, SubtreeSource};
use crate::storage::{Batch, StorageError, Store};
use crate::tile::{self, Tile, TileKind, MAX_ENTRY_SIZE, TILE_HEIGHT, TILE_WIDTH};
use crate::tree::{complete_root, leaf_hash, Frontier, Hash, HASH_SIZE};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use thiserror::Error;

const KEY_STATE: &[u8] = b"S";
pub(crate) const PREFIX_TILE: u8 = b'T';
pub(crate) const PREFIX_BUNDLE: u8 = b'E';
pub(crate) const PREFIX_PENDING: u8 = b'P';
pub(crate) const PREFIX_CHUNK: u8 = b'K';
/// Leaves of a level-0 tile in one chunk record; chunks in a tile.
const CHUNK_WIDTH: usize = 16;
/// The height of a chunk's subtree.
const CHUNK_HEIGHT: u8 = 4;
/// Hashes in a chunk record: a 16-wide subtree with its interior nodes,
/// then the siblings of its root's path up to the tile's root.
const CHUNK_NODES: usize = 2 * CHUNK_WIDTH - 1 + (TILE_HEIGHT - CHUNK_HEIGHT) as usize;
const STATE_VERSION: u8 = 1;
const W: u64 = TILE_WIDTH as u64;

/// Errors of the stored tree.
#[derive(Debug, Error)]
pub enum TreeError {
    /// A leaf index at or beyond the tree size (caller's mistake).
    #[error("leaf index {index} is out of range for tree size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    /// A size beyond the tree (caller's mistake).
    #[error("size {size} is beyond the tree size {tree_size}")]
    SizeBeyondTree { size: u64, tree_size: u64 },
    /// Sizes in the wrong order or zero where that is meaningless.
    #[error("no consistency proof from size {old_size} to size {new_size}")]
    BadSizes { old_size: u64, new_size: u64 },
    /// A tile request that this tree cannot serve (too wide, not yet there).
    #[error("tile {tile} does not exist at tree size {tree_size}")]
    NoSuchTile { tile: String, tree_size: u64 },
    /// An entry above the 65,535-byte limit of entry bundles.
    #[error(transparent)]
    Tile(#[from] tile::TileError),
    /// The store failed, or its data fails a consistency check.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn tile_key(level: u8, index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.push(PREFIX_TILE);
    k.push(level);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn bundle_key(index: u64) -> Vec<u8> {
    let mut k = vec![PREFIX_BUNDLE];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn pending_key(index: u64) -> Vec<u8> {
    let mut k = vec![PREFIX_PENDING];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn chunk_key(tile: u64, chunk: u8) -> Vec<u8> {
    let mut k = vec![PREFIX_CHUNK];
    k.extend_from_slice(&tile.to_be_bytes());
    k.push(chunk);
    k
}

fn encode_state(f: &Frontier) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + 8 + HASH_SIZE * (f.nodes().len() + 1));
    v.push(STATE_VERSION);
    v.extend_from_slice(&f.size().to_be_bytes());
    for n in f.nodes() {
        v.extend_from_slice(&n.0);
    }
    let sum = blake3::hash(&v);
    v.extend_from_slice(sum.as_bytes());
    v
}

fn decode_state(v: &[u8]) -> Result<Frontier, StorageError> {
    let bad = |what: &str| StorageError::corrupt(format!("tree state record: {what}"));
    if v.len() < 1 + 8 + 32 || (v.len() - 9) % HASH_SIZE != 0 {
        return Err(bad("wrong length"));
    }
    let (body, sum) = v.split_at(v.len() - 32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(bad("checksum mismatch"));
    }
    if body[0] != STATE_VERSION {
        return Err(bad("unknown version"));
    }
    let size = u64::from_be_bytes(body[1..9].try_into().unwrap());
    let nodes = body[9..].chunks_exact(HASH_SIZE).map(|c| Hash::from_slice(c).unwrap()).collect();
    Frontier::from_parts(size, nodes).ok_or_else(|| bad("frontier does not match size"))
}

fn hashes_to_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Hashes in an expanded full tile: its 256 hashes, then the interior nodes
/// of its subtree height by height (128, 64, …, 1).
const EXPANDED: usize = 2 * TILE_WIDTH as usize - 1;

/// Where the node at `height` (0..=8) and position `j` of a tile sits in its
/// expanded form.
fn expanded_offset(height: u8, j: usize) -> usize {
    subtree_offset(TILE_WIDTH as usize, height, j)
}

/// Where the node at `height` and position `j` sits in the expanded form
/// of a subtree `width` leaves wide (its leaves, then its interior nodes
/// height by height).
fn subtree_offset(width: usize, height: u8, j: usize) -> usize {
    2 * width - ((2 * width) >> height) + j
}

/// The chunk records of full level-0 tile `tile` (see the module
/// documentation), cut from its expanded form.
fn level0_chunks(tile: u64, expanded: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    debug_assert_eq!(expanded.len(), EXPANDED * HASH_SIZE);
    // `count` nodes of `height` from position `first` of the expanded tile.
    let nodes = |height: u8, first: usize, count: usize| {
        let at = expanded_offset(height, first) * HASH_SIZE;
        &expanded[at..at + count * HASH_SIZE]
    };
    (0..CHUNK_WIDTH)
        .map(|c| {
            let mut v = Vec::with_capacity(CHUNK_NODES * HASH_SIZE);
            for h in 0..=CHUNK_HEIGHT {
                let count = CHUNK_WIDTH >> h;
                v.extend_from_slice(nodes(h, c * count, count));
            }
            for h in CHUNK_HEIGHT..TILE_HEIGHT {
                v.extend_from_slice(nodes(h, (c >> (h - CHUNK_HEIGHT)) ^ 1, 1));
            }
            (chunk_key(tile, c as u8), v)
        })
        .collect()
}

/// A full tile's hashes followed by its interior nodes, so that any subtree
/// hash inside it is read, not recomputed.
fn expand(hashes: &[Hash]) -> Vec<u8> {
    debug_assert_eq!(hashes.len(), TILE_WIDTH as usize);
    let mut all: Vec<Hash> = Vec::with_capacity(EXPANDED);
    all.extend_from_slice(hashes);
    let mut start = 0;
    let mut width = hashes.len();
    while width > 1 {
        for i in 0..width / 2 {
            let h = crate::tree::node_hash(&all[start + 2 * i], &all[start + 2 * i + 1]);
            all.push(h);
        }
        start += width;
        width /= 2;
    }
    hashes_to_bytes(&all)
}

/// The decoded entries of a full bundle.
type Bundle = Arc<Vec<Vec<u8>>>;

/// A stored tile's bytes, shared.
type TileBytes = Arc<Vec<u8>>;

/// Tile bytes by (level, index).
type TileMap = std::collections::HashMap<(u8, u64), TileBytes>;

/// Recently read tiles, entry bundles and hashes, shared by every clone of
/// a reader. Full tiles never change, so they are cached as they are; a
/// partial tile is cached with the width it had and re-read when a wider
/// one is needed.
///
/// What the committed tree holds never changes while the store stays
/// open; but a store reopened after a failure may have lost batches that
/// were committed and not yet flushed, and the writer then appends other
/// entries at their indexes. [`TiledTree::reload`] publishes the size of
/// the reopened store and then calls [`TileCache::clear`], which starts a
/// new generation. A read notes the generation before the size it checks
/// (`TileMemo::new`; `TreeReader::entries` for bundles), and keeps what it
/// fetched only while the generation is still its own, checked under the
/// lock it stores with: a read that began before a reload caches nothing
/// after it.
struct TileCache {
    generation: AtomicU64,
    tiles: std::sync::Mutex<TileMap>,
    capacity: usize,
    /// The most recently read full entry bundles, decoded, newest last.
    bundles: std::sync::Mutex<std::collections::VecDeque<(u64, Bundle)>>,
    /// Hashes of complete subtrees, `(height, index)`, computed from a
    /// partial tile (a full tile stores its interior nodes). They lie on
    /// the tree's right edge, which every proof at the current size
    /// crosses; a complete subtree's hash never changes (see above).
    subtrees: HashMemo<(u8, u64)>,
    /// Hashes of leaf ranges `[lo, hi)` that are not complete subtrees: the
    /// siblings on a tree's right edge, which every inclusion proof at a
    /// size needs one or more of (the receipts of a batch, and proofs
    /// served against the latest checkpoint, all ask at one size), and
    /// roots. A range of committed leaves never changes (see above), so
    /// neither does its hash.
    ranges: HashMemo<(u64, u64)>,
}

/// Hashes that do not change (see [`TileCache`]), by key, up to a number
/// of them; full, it forgets them all and starts over.
struct HashMemo<K> {
    hashes: std::sync::Mutex<std::collections::HashMap<K, Hash>>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq> HashMemo<K> {
    fn new(capacity: usize) -> Self {
        Self { hashes: Default::default(), capacity }
    }

    fn get(&self, key: &K) -> Option<Hash> {
        self.hashes.lock().expect("lock").get(key).copied()
    }

    /// Remembers `hash` if `current()`, asked under the lock.
    fn put(&self, key: K, hash: Hash, current: impl FnOnce() -> bool) {
        let mut hashes = self.hashes.lock().expect("lock");
        if !current() {
            return;
        }
        if hashes.len() >= self.capacity {
            hashes.clear();
        }
        hashes.insert(key, hash);
    }

    fn clear(&self) {
        self.hashes.lock().expect("lock").clear();
    }
}

/// Complete subtrees of partial tiles a reader remembers (about 40 bytes
/// each); a handful per level are in use at any one size.
const SUBTREE_CACHE_CAPACITY: usize = 4096;

/// Leaf ranges a reader remembers (48 bytes each); each tree size asked
/// about adds at most about one per bit set in the size.
const RANGE_CACHE_CAPACITY: usize = 4096;

/// Full entry bundles a reader keeps decoded.
const BUNDLE_CACHE_CAPACITY: usize = 16;

impl TileCache {
    fn get(&self, level: u8, index: u64) -> Option<Arc<Vec<u8>>> {
        self.tiles.lock().expect("lock").get(&(level, index)).cloned()
    }

    fn bundle(&self, n: u64) -> Option<Bundle> {
        self.bundles.lock().expect("lock").iter().rev().find(|(i, _)| *i == n).map(|(_, b)| b.clone())
    }

    /// The current generation (see [`TileCache`]).
    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether `generation` is still the current one.
    fn current(&self, generation: u64) -> bool {
        self.generation() == generation
    }

    fn put_bundle(&self, n: u64, entries: Bundle, generation: u64) {
        let mut b = self.bundles.lock().expect("lock");
        if !self.current(generation) {
            return;
        }
        if b.len() == BUNDLE_CACHE_CAPACITY {
            b.pop_front();
        }
        b.push_back((n, entries));
    }

    /// Forgets everything (after the store was reopened), and starts a new
    /// generation first, so that reads begun before cache nothing after.
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.tiles.lock().expect("lock").clear();
        self.bundles.lock().expect("lock").clear();
        self.subtrees.clear();
        self.ranges.clear();
    }

    fn put(&self, level: u8, index: u64, data: Arc<Vec<u8>>, generation: u64) {
        let mut tiles = self.tiles.lock().expect("lock");
        if !self.current(generation) {
            return;
        }
        if tiles.len() >= self.capacity {
            // Keep the few upper-level tiles every proof needs; drop
            // level-0 tiles, which random reads rarely revisit.
            tiles.retain(|(l, _), _| *l > 0);
            if tiles.len() >= self.capacity {
                tiles.clear();
            }
        }
        tiles.insert((level, index), data);
    }
}

/// Read access to the stored tree, at any size up to the committed one.
/// Cloning is cheap; clones share the committed size.
#[derive(Clone)]
pub struct TreeReader {
    store: Arc<dyn Store>,
    committed_size: Arc<AtomicU64>,
    cache: Arc<TileCache>,
}

/// Tiles a reader keeps in memory (each up to 16 KiB).
const TILE_CACHE_CAPACITY: usize = 1024;

/// The newest level-0 tiles the shared cache takes (see
/// `TreeReader::stored_tile_min`).
const RECENT_LEVEL0_TILES: u64 = 64;

impl TreeReader {
    /// The size of the tree as of the last committed batch.
    pub fn size(&self) -> u64 {
        self.committed_size.load(Ordering::Acquire)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        let tree_size = self.size();
        if size > tree_size {
            return Err(TreeError::SizeBeyondTree { size, tree_size });
        }
        Ok(())
    }

    /// The root of the tree of the first `size` leaves.
    ///
    /// # Errors
    /// [`TreeError::SizeBeyondTree`], or a storage failure.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        let reads = Reads::new(self);
        self.check_size(size)?;
        if size == 0 {
            return Ok(crate::tree::empty_root());
        }
        reads.range(0, size)
    }

    /// The leaf hash of the entry at `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Hash, TreeError> {
        let memo = TileMemo::new(&self.cache);
        let tree_size = self.size();
        if index >= tree_size {
            return Err(TreeError::IndexOutOfRange { index, tree_size });
        }
        self.subtree_in(0, index, &memo)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    ///
    /// # Errors
    /// [`TreeError::IndexOutOfRange`], [`TreeError::SizeBeyondTree`], or a
    /// storage failure.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        let reads = Reads::new(self);
        self.check_size(size)?;
        if index >= size {
            return Err(TreeError::IndexOutOfRange { index, tree_size: size });
        }
        // The chunk of the leaf holds every node the proof needs from its
        // level-0 tile; read it first, or the path's upper siblings would
        // be read from another chunk.
        let tile = index / W;
        if self.is_old_level0(tile) {
            self.level0_node(tile, 0, (index % W) as usize, &reads.memo)?;
        }
        proof::prove_inclusion(&reads, index, size)
    }

    /// The consistency proof from the tree of `old_size` leaves to the tree
    /// of `new_size` leaves.
    ///
    /// # Errors
    /// [`TreeError::BadSizes`] unless `0 < old_size <= new_size`,
    /// [`TreeError::SizeBeyondTree`], or a storage failure.
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, TreeError> {
        let reads = Reads::new(self);
        self.check_size(new_size)?;
        if old_size == 0 || old_size > new_size {
            return Err(TreeError::BadSizes { old_size, new_size });
        }
        proof::prove_consistency(&reads, old_size, new_size)
    }

    /// The hashes of a hash tile, as stored (its width may exceed what a
    /// given tree size has).
    /// The stored tile as it is in the store now (bypassing the cache).
    fn stored_tile(&self, level: u8, index: u64) -> Result<Arc<Vec<u8>>, TreeError> {
        let data = self.store.get(&tile_key(level, index))?.ok_or_else(|| TreeError::NoSuchTile {
            tile: Tile { kind: TileKind::Hashes { level }, index, width: TILE_WIDTH }.path(),
            tree_size: self.size(),
        })?;
        Ok(Arc::new(data))
    }

    /// The stored tile, from `memo` or the shared cache if either holds at
    /// least `min_bytes` of it (one found in the shared cache is added to
    /// `memo`). A tile read from the store goes into the
    /// shared cache if it is of level 1 or above (a few hundred at 10M
    /// entries) or among the last [`RECENT_LEVEL0_TILES`] of level 0 (the
    /// receipts of fresh entries read those); an older level-0 tile (random
    /// reads, 39,000 of them at 10M entries) goes into `memo` only, so that
    /// one proof reads it once without evicting the tiles every proof needs.
    fn stored_tile_min(
        &self,
        level: u8,
        index: u64,
        min_bytes: usize,
        memo: &TileMemo,
    ) -> Result<Arc<Vec<u8>>, TreeError> {
        if let Some(t) = memo.get(level, index) {
            if t.len() >= min_bytes {
                return Ok(t);
            }
        }
        if let Some(t) = self.cache.get(level, index) {
            if t.len() >= min_bytes {
                // A proof asks for up to eight nodes of each tile on its
                // path: the memo answers the rest without the shared
                // cache's lock.
                memo.put(level, index, t.clone());
                return Ok(t);
            }
        }
        let data = self.stored_tile(level, index)?;
        let level0_tiles = self.size().div_ceil(W);
        if level > 0 || index + RECENT_LEVEL0_TILES >= level0_tiles {
            // Refused if a reload came since the read began; the memo
            // keeps it for the rest of the read either way.
            self.cache.put(level, index, data.clone(), memo.generation);
        }
        memo.put(level, index, data.clone());
        Ok(data)
    }

    /// The bytes of `tile` as C2SP tlog-tiles serves them: concatenated
    /// hashes for a hash tile, a length-prefixed bundle for entries.
    ///
    /// # Errors
    /// [`TreeError::NoSuchTile`] if the committed tree has no such tile at
    /// that width, or a storage failure.
    pub fn tile(&self, t: Tile) -> Result<Vec<u8>, TreeError> {
        let memo = TileMemo::new(&self.cache);
        let tree_size = self.size();
        let available = tile::tile_at_size(t.kind, t.index, tree_size).map_or(0, |a| a.width);
        if t.width > available {
            return Err(TreeError::NoSuchTile { tile: t.path(), tree_size });
        }
        match t.kind {
            TileKind::Hashes { level } => {
                let want = t.width as usize * HASH_SIZE;
                let data = self.stored_tile_min(level, t.index, want, &memo)?;
                if data.len() < want || data.len() % HASH_SIZE != 0 {
                    return Err(
                        StorageError::corrupt(format!("{} has {} bytes", t.path(), data.len())).into()
                    );
                }
                Ok(data[..want].to_vec())
            }
            TileKind::Entries => {
                let entries = self.entries(t.index * W, t.index * W + t.width as u64)?;
                let mut bundle = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
                for e in &entries {
                    tile::append_to_bundle(&mut bundle, e)?;
                }
                Ok(bundle)
            }
        }
    }

    /// The entry at `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, TreeError> {
        Ok(self.entries(index, index + 1)?.pop().expect("one entry"))
    }

    /// The entries `[start, end)`.
    ///
    /// # Errors
    /// [`TreeError::IndexOutOfRange`] if `end` is beyond the tree or
    /// `start > end`, or a storage failure.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, TreeError> {
        let generation = self.cache.generation();
        let tree_size = self.size();
        if end > tree_size || start > end {
            return Err(TreeError::IndexOutOfRange { index: end.saturating_sub(1), tree_size });
        }
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut i = start;
        while i < end {
            let n = i / W;
            let bundle_end = ((n + 1) * W).min(end);
            let part = (i - n * W) as usize..(bundle_end - n * W) as usize;
            if let Some(entries) = self.full_bundle(n, generation)? {
                out.extend_from_slice(&entries[part]);
            } else {
                let recs = self.store.range(&pending_key(i), &pending_key(bundle_end), W as usize, false)?;
                if recs.len() as u64 == bundle_end - i {
                    out.extend(recs.into_iter().map(|(_, v)| v));
                } else if let Some(entries) = self.full_bundle(n, generation)? {
                    // The writer filled the bundle between the two reads:
                    // one batch wrote it and removed its pending records.
                    out.extend_from_slice(&entries[part]);
                } else {
                    return Err(
                        StorageError::corrupt(format!("entries {i}..{bundle_end} are missing")).into()
                    );
                }
            }
            i = bundle_end;
        }
        Ok(out)
    }

    /// The entries of full bundle `n`, or `None` if it is not full yet.
    /// Recently read bundles are kept decoded: receipts for a batch read the
    /// same few bundles once per statement. `generation`: the shared
    /// cache's when the read began (see [`TileCache`]).
    fn full_bundle(&self, n: u64, generation: u64) -> Result<Option<Bundle>, TreeError> {
        if let Some(b) = self.cache.bundle(n) {
            return Ok(Some(b));
        }
        let Some(data) = self.store.get(&bundle_key(n))? else { return Ok(None) };
        let entries = tile::decode_bundle(&data)
            .map_err(|e| StorageError::corrupt(format!("entry bundle {n}: {e}")))?;
        if entries.len() != TILE_WIDTH as usize {
            return Err(
                StorageError::corrupt(format!("entry bundle {n} holds {} entries", entries.len())).into()
            );
        }
        let entries = Arc::new(entries.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        self.cache.put_bundle(n, entries.clone(), generation);
        Ok(Some(entries))
    }

    /// Recomputes the whole tree from the stored entries and compares every
    /// stored tile and the root at `size`. Cost is linear in the tree size.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] naming the first mismatch.
    pub fn verify_all(&self, expected_root: &Hash) -> Result<(), TreeError> {
        let size = self.size();
        let mut frontier = Frontier::default();
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let check_tile = |level: u8, index: u64, hashes: &[Hash]| -> Result<(), TreeError> {
            let stored = self.stored_tile(level, index)?;
            let want =
                if hashes.len() == TILE_WIDTH as usize { expand(hashes) } else { hashes_to_bytes(hashes) };
            if **stored != want {
                return Err(StorageError::corrupt(format!(
                    "hash tile {level}/{index} differs from the entries"
                ))
                .into());
            }
            if level == 0 && hashes.len() == TILE_WIDTH as usize {
                // Absent in a store written before they existed.
                for (key, chunk) in level0_chunks(index, &want) {
                    if self.store.get(&key)?.is_some_and(|stored| stored != chunk) {
                        return Err(StorageError::corrupt(format!(
                            "a chunk record of hash tile 0/{index} differs from the entries"
                        ))
                        .into());
                    }
                }
            }
            Ok(())
        };
        let mut start = 0u64;
        while start < size {
            let end = (start + W).min(size);
            for e in self.entries(start, end)? {
                frontier.push(leaf_hash(&e), |height, _, h| {
                    if height % TILE_HEIGHT == 0 {
                        let level = (height / TILE_HEIGHT) as usize;
                        if levels.len() <= level {
                            levels.resize(level + 1, Vec::new());
                        }
                        levels[level].push(*h);
                    }
                });
            }
            for (level, hashes) in levels.iter_mut().enumerate() {
                if hashes.len() == TILE_WIDTH as usize {
                    let count = tile::hashes_at_level(level as u8, frontier.size());
                    check_tile(level as u8, count / W - 1, hashes)?;
                    hashes.clear();
                }
            }
            start = end;
        }
        for (level, hashes) in levels.iter().enumerate() {
            if !hashes.is_empty() {
                let count = tile::hashes_at_level(level as u8, size);
                check_tile(level as u8, count / W, hashes)?;
            }
        }
        if frontier.root() != *expected_root {
            let what =
                format!("root recomputed from entries {} differs from {expected_root}", frontier.root());
            return Err(StorageError::corrupt(what).into());
        }
        Ok(())
    }
}

impl TreeReader {
    /// The hash of complete subtree `index` of `height`, reading tiles
    /// through `memo`.
    fn subtree_in(&self, height: u8, index: u64, memo: &TileMemo) -> Result<Hash, TreeError> {
        let level = height / TILE_HEIGHT;
        let r = height % TILE_HEIGHT;
        let first = index << r;
        let count = 1usize << r;
        let tile_index = first / W;
        let offset = (first % W) as usize;
        let end = (offset + count) * HASH_SIZE;
        if level == 0 && self.is_old_level0(tile_index) {
            if let Some(h) = self.level0_node(tile_index, r, offset >> r, memo)? {
                return Ok(h);
            }
        }
        let data = self.stored_tile_min(level, tile_index, end, memo)?;
        if data.len() == EXPANDED * HASH_SIZE {
            let at = expanded_offset(r, offset >> r) * HASH_SIZE;
            return Ok(Hash::from_slice(&data[at..at + HASH_SIZE]).expect("32 bytes"));
        }
        if data.len() < end {
            return Err(TreeError::NoSuchTile {
                tile: Tile {
                    kind: TileKind::Hashes { level },
                    index: tile_index,
                    width: (offset + count) as u16,
                }
                .path(),
                tree_size: self.size(),
            });
        }
        if let Some(h) = self.cache.subtrees.get(&(height, index)) {
            return Ok(h);
        }
        let hashes = tile::decode_hashes(&data[offset * HASH_SIZE..end]).expect("whole hashes");
        let h = complete_root(&hashes);
        self.cache.subtrees.put((height, index), h, || self.cache.current(memo.generation));
        Ok(h)
    }
}

impl TreeReader {
    /// Whether level-0 tile `index` is full and older than the ones the
    /// shared cache takes (see [`TreeReader::stored_tile_min`]).
    fn is_old_level0(&self, index: u64) -> bool {
        index + RECENT_LEVEL0_TILES < self.size() / W
    }

    /// The node at `height` (0..8) and position `j` of full level-0 tile
    /// `tile`, from a chunk record that holds it, read through `memo` (a
    /// proof finds every node it needs from one tile in the chunk of its
    /// leaf); `None` if the shared cache holds the tile itself (the
    /// writer's cache, until evicted) or the store has no such record (a
    /// store written before they existed): the caller reads the tile then.
    fn level0_node(
        &self,
        tile: u64,
        height: u8,
        j: usize,
        memo: &TileMemo,
    ) -> Result<Option<Hash>, TreeError> {
        // The chunks that hold the node, and where in them.
        let (chunks, at) = if height < CHUNK_HEIGHT {
            let per_chunk = CHUNK_WIDTH >> height;
            let c = j / per_chunk;
            (c..c + 1, subtree_offset(CHUNK_WIDTH, height, j % per_chunk))
        } else {
            // A sibling on the path of every chunk under the node's sibling.
            let up = height - CHUNK_HEIGHT;
            let first = (j ^ 1) << up;
            (first..first + (1 << up), 2 * CHUNK_WIDTH - 1 + up as usize)
        };
        if memo.chunkless.borrow().contains(&tile) {
            return Ok(None);
        }
        let data = match memo.chunk(tile, chunks.clone()) {
            Some(d) => d,
            None if self.cache.get(0, tile).is_some() => {
                memo.chunkless.borrow_mut().push(tile);
                return Ok(None);
            }
            None => {
                let c = chunks.start as u8;
                match self.store.get(&chunk_key(tile, c))? {
                    Some(d) if d.len() == CHUNK_NODES * HASH_SIZE => {
                        let d = Arc::new(d);
                        memo.put_chunk(tile, c, d.clone());
                        d
                    }
                    Some(_) => {
                        return Err(StorageError::corrupt(format!(
                            "chunk record {c} of hash tile 0/{tile} has the wrong length"
                        ))
                        .into())
                    }
                    None => {
                        memo.chunkless.borrow_mut().push(tile);
                        return Ok(None);
                    }
                }
            }
        };
        Ok(Some(Hash::from_slice(&data[at * HASH_SIZE..(at + 1) * HASH_SIZE]).expect("32 bytes")))
    }
}

/// Tiles, and chunk records of level-0 tiles, that one read (a proof, a
/// root) has fetched, from the store or the shared cache; a proof needs
/// several hashes from each. Made before the read checks the size it
/// reads at: it notes the shared cache's generation (see [`TileCache`]).
struct TileMemo {
    generation: u64,
    tiles: std::cell::RefCell<Vec<(u8, u64, TileBytes)>>,
    /// (level-0 tile, chunk, record).
    chunks: std::cell::RefCell<Vec<(u64, u8, TileBytes)>>,
    /// Level-0 tiles read without chunk records (in the shared cache, or
    /// stored before chunk records existed).
    chunkless: std::cell::RefCell<Vec<u64>>,
}

impl TileMemo {
    fn new(cache: &TileCache) -> Self {
        Self {
            generation: cache.generation(),
            tiles: Default::default(),
            chunks: Default::default(),
            chunkless: Default::default(),
        }
    }

    fn get(&self, level: u8, index: u64) -> Option<Arc<Vec<u8>>> {
        self.tiles.borrow().iter().find(|(l, i, _)| (*l, *i) == (level, index)).map(|(_, _, t)| t.clone())
    }

    fn put(&self, level: u8, index: u64, data: Arc<Vec<u8>>) {
        let mut tiles = self.tiles.borrow_mut();
        tiles.retain(|(l, i, _)| (*l, *i) != (level, index));
        tiles.push((level, index, data));
    }

    /// A chunk record of `tile` with its number in `chunks`.
    fn chunk(&self, tile: u64, chunks: std::ops::Range<usize>) -> Option<TileBytes> {
        let found = self
            .chunks
            .borrow()
            .iter()
            .find(|(t, c, _)| *t == tile && chunks.contains(&(*c as usize)))
            .map(|(_, _, d)| d.clone());
        found
    }

    fn put_chunk(&self, tile: u64, chunk: u8, data: TileBytes) {
        self.chunks.borrow_mut().push((tile, chunk, data));
    }
}

/// A reader with a [`TileMemo`], for one proof or root.
struct Reads<'a> {
    reader: &'a TreeReader,
    memo: TileMemo,
}

impl<'a> Reads<'a> {
    fn new(reader: &'a TreeReader) -> Self {
        Self { memo: TileMemo::new(&reader.cache), reader }
    }
}

impl SubtreeSource for Reads<'_> {
    type Error = TreeError;

    fn subtree(&self, height: u8, index: u64) -> Result<Hash, TreeError> {
        self.reader.subtree_in(height, index, &self.memo)
    }

    /// A complete subtree as above; any other range from the reader's
    /// cache of ranges, computed and remembered on a miss. Proofs and
    /// roots ask only for ranges within the committed tree (they check the
    /// size first), whose leaves do not change unless the store is
    /// reopened, which the cache's generations cover (see [`TileCache`]).
    fn range(&self, lo: u64, hi: u64) -> Result<Hash, TreeError> {
        let n = hi - lo;
        if n.is_power_of_two() && lo % n == 0 {
            return self.subtree(n.trailing_zeros() as u8, lo / n);
        }
        if let Some(h) = self.reader.cache.ranges.get(&(lo, hi)) {
            return Ok(h);
        }
        let h = proof::range_hash(self, lo, hi)?;
        self.reader.cache.ranges.put((lo, hi), h, || self.reader.cache.current(self.memo.generation));
        Ok(h)
    }
}

/// What one append committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Index of the first entry of the batch.
    pub first_index: u64,
    /// Tree size after the batch.
    pub size: u64,
    /// Tree root after the batch.
    pub root: Hash,
}

/// The single writer of the stored tree.
pub struct TiledTree {
    reader: TreeReader,
    frontier: Frontier,
    /// `partial[level]`: the hashes of the rightmost tile of that level that
    /// is not full yet (possibly empty).
    partial: Vec<Vec<Hash>>,
}

impl TiledTree {
    /// Opens the tree in `store` (an empty store is an empty tree), and
    /// checks that the stored tiles reproduce the stored frontier's root.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] if the state record, the tiles or the
    /// pending entries disagree; other storage failures.
    pub fn open(store: Arc<dyn Store>) -> Result<Self, TreeError> {
        let frontier = match store.get(KEY_STATE)? {
            Some(v) => decode_state(&v)?,
            None => Frontier::default(),
        };
        let size = frontier.size();
        let cache = Arc::new(TileCache {
            generation: AtomicU64::new(0),
            tiles: Default::default(),
            capacity: TILE_CACHE_CAPACITY,
            bundles: Default::default(),
            subtrees: HashMemo::new(SUBTREE_CACHE_CAPACITY),
            ranges: HashMemo::new(RANGE_CACHE_CAPACITY),
        });
        let reader = TreeReader { store, committed_size: Arc::new(AtomicU64::new(size)), cache };
        let mut partial = Vec::new();
        for level in 0..=tile::MAX_LEVEL {
            let count = tile::hashes_at_level(level, size);
            if count == 0 {
                break;
            }
            let width = (count % W) as usize;
            let hashes = if width == 0 {
                Vec::new()
            } else {
                let data = reader.stored_tile(level, count / W)?;
                let hashes = tile::decode_hashes(&data).map_err(|e| StorageError::corrupt(e.to_string()))?;
                if hashes.len() != width {
                    return Err(StorageError::corrupt(format!(
                        "partial tile {level}/{} has {} hashes, want {width}",
                        count / W,
                        hashes.len()
                    ))
                    .into());
                }
                hashes
            };
            partial.push(hashes);
        }
        let pending = size % W;
        if pending > 0 {
            let start = size - pending;
            let n =
                reader.store.range(&pending_key(start), &pending_key(start + W), W as usize + 1, false)?;
            if n.len() as u64 != pending {
                return Err(
                    StorageError::corrupt(format!("{} pending entries, want {pending}", n.len())).into()
                );
            }
        }
        if size > 0 {
            let root = reader.root_at(size)?;
            if root != frontier.root() {
                return Err(StorageError::corrupt(format!(
                    "root from tiles {root} differs from the stored frontier root {}",
                    frontier.root()
                ))
                .into());
            }
        }
        Ok(Self { reader, frontier, partial })
    }

    /// Reads the tree again from the store (after the store was reopened),
    /// checked as in [`TiledTree::open`]. Clones of the reader see the
    /// reloaded size, and the tile caches are emptied: appends that did not
    /// survive the reopen must not be served from memory.
    ///
    /// # Errors
    /// As [`TiledTree::open`]; then the tree is unchanged.
    pub fn reload(&mut self) -> Result<(), TreeError> {
        let fresh = TiledTree::open(self.reader.store.clone())?;
        self.frontier = fresh.frontier;
        self.partial = fresh.partial;
        // The size first: a read that sees the new generation sees it.
        self.reader.committed_size.store(self.frontier.size(), Ordering::Release);
        self.reader.cache.clear();
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn reader(&self) -> &TreeReader {
        &self.reader
    }

    /// Appends `entries` and commits them, with every tile, entry bundle and
    /// the new tree state, plus the caller's `extra` records (indexes, …),
    /// in one atomic batch. The batch is visible at once but durable only
    /// after [`TiledTree::flush`]. On error nothing changed, in the store or
    /// in memory.
    ///
    /// # Errors
    /// [`TreeError::Tile`] for an entry over 65,535 bytes (checked before
    /// anything is written), or a storage failure.
    pub fn append<E: AsRef<[u8]>>(&mut self, entries: &[E], extra: Batch) -> Result<Appended, TreeError> {
        self.append_sealed(entries, extra, |_, _| Ok(Batch::new()))
    }

    /// As [`TiledTree::append`], and `seal(size, root)`, called with the
    /// tree's size and root after the batch before anything is written,
    /// gives more records for the same atomic batch: the log's signed
    /// checkpoint of that tree, so that it is durable exactly when the
    /// entries it covers are. If `seal` fails nothing is written.
    ///
    /// # Errors
    /// As [`TiledTree::append`], and `seal`'s error.
    pub fn append_sealed<E: AsRef<[u8]>>(
        &mut self,
        entries: &[E],
        extra: Batch,
        seal: impl FnOnce(u64, Hash) -> Result<Batch, StorageError>,
    ) -> Result<Appended, TreeError> {
        for e in entries {
            if e.as_ref().len() > MAX_ENTRY_SIZE {
                return Err(
                    tile::TileError::EntryTooLarge { len: e.as_ref().len(), max: MAX_ENTRY_SIZE }.into()
                );
            }
        }
        let first_index = self.size();
        let new_size = first_index + entries.len() as u64;
        let mut frontier = self.frontier.clone();
        let mut partial = self.partial.clone();
        let mut batch = Batch::new();
        let mut full_tiles: Vec<(u8, u64, Vec<Hash>)> = Vec::new();
        let mut dirty_levels: Vec<bool> = vec![false; partial.len()];

        for e in entries {
            frontier.push(leaf_hash(e.as_ref()), |height, index, h| {
                if height % TILE_HEIGHT != 0 {
                    return;
                }
                let level = (height / TILE_HEIGHT) as usize;
                if partial.len() <= level {
                    partial.resize(level + 1, Vec::new());
                    dirty_levels.resize(level + 1, false);
                }
                partial[level].push(*h);
                dirty_levels[level] = true;
                if partial[level].len() == TILE_WIDTH as usize {
                    full_tiles.push((level as u8, index / W, std::mem::take(&mut partial[level])));
                }
            });
        }
        // Tiles written by this batch; the reader's cache gets them once the
        // batch has committed, so it never holds a tile older than the store's.
        let mut written: Vec<(u8, u64, Arc<Vec<u8>>)> = Vec::new();
        for (level, index, hashes) in &full_tiles {
            written.push((*level, *index, Arc::new(expand(hashes))));
        }
        for (level, hashes) in partial.iter().enumerate() {
            if dirty_levels[level] && !hashes.is_empty() {
                let index = tile::hashes_at_level(level as u8, new_size) / W;
                written.push((level as u8, index, Arc::new(hashes_to_bytes(hashes))));
            }
        }
        for (level, index, data) in &written {
            batch.put(tile_key(*level, *index), data.as_slice());
            if *level == 0 && data.len() == EXPANDED * HASH_SIZE {
                for (key, chunk) in level0_chunks(*index, data) {
                    batch.put(key, chunk);
                }
            }
        }

        // Entries: a bundle that fills in this batch is written whole (with
        // the entries earlier batches left pending); the rest stay pending.
        let mut i = first_index;
        for chunk_end in bundle_boundaries(first_index, new_size) {
            let n = i / W;
            let slice = &entries[(i - first_index) as usize..(chunk_end - first_index) as usize];
            if chunk_end % W == 0 {
                let mut bundle = Vec::new();
                let start = n * W;
                if start < i {
                    let earlier =
                        self.reader.store.range(&pending_key(start), &pending_key(i), W as usize, false)?;
                    if earlier.len() as u64 != i - start {
                        return Err(StorageError::corrupt(format!(
                            "pending entries {start}..{i} are missing"
                        ))
                        .into());
                    }
                    for (k, v) in earlier {
                        tile::append_to_bundle(&mut bundle, &v)?;
                        batch.delete(k);
                    }
                }
                for e in slice {
                    tile::append_to_bundle(&mut bundle, e.as_ref())?;
                }
                batch.put(bundle_key(n), bundle);
            } else {
                for (j, e) in slice.iter().enumerate() {
                    batch.put(pending_key(i + j as u64), e.as_ref());
                }
            }
            i = chunk_end;
        }
        batch.put(KEY_STATE, encode_state(&frontier));
        batch.extend(extra);
        batch.extend(seal(new_size, frontier.root())?);
        self.reader.store.commit(&batch)?;
        // The writer is the one that reloads: its generation is current.
        let generation = self.reader.cache.generation();
        for (level, index, data) in written {
            self.reader.cache.put(level, index, data, generation);
        }

        self.frontier = frontier;
        self.partial = partial;
        self.reader.committed_size.store(new_size, Ordering::Release);
        Ok(Appended { first_index, size: new_size, root: self.frontier.root() })
    }

    /// Makes every committed append durable.
    pub fn flush(&self) -> Result<(), TreeError> {
        Ok(self.reader.store.flush()?)
    }
}

/// The ends of the runs of `[start, end)` that fall into one entry bundle.
fn bundle_boundaries(start: u64, end: u64) -> impl Iterator<Item = u64> {
    let mut i = start;
    std::iter::from_fn(move || {
        if i >= end {
            return None;
        }
        i = ((i / W + 1) * W).min(end);
        Some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::{check_consistency, check_inclusion, InMemoryLeaves};
    use crate::storage::MemoryStore;
    use crate::tree::root_of;

    fn entry(i: u64) -> Vec<u8> {
        format!("entry {i}").into_bytes()
    }

    fn build(sizes: &[u64]) -> (TiledTree, Vec<Hash>) {
        let mut t = TiledTree::open(Arc::new(MemoryStore::new())).unwrap();
        let mut leaves = Vec::new();
        let mut n = 0;
        for &s in sizes {
            let batch: Vec<Vec<u8>> = (n..n + s).map(entry).collect();
            leaves.extend(batch.iter().map(|e| leaf_hash(e)));
            t.append(&batch, Batch::new()).unwrap();
            n += s;
        }
        (t, leaves)
    }

    #[test]
    fn roots_at_every_size_match_the_reference() {
        let (t, leaves) = build(&[1, 2, 300, 5, 255, 256, 1]);
        let r = t.reader();
        for size in 0..=leaves.len() as u64 {
            assert_eq!(r.root_at(size).unwrap(), root_of(&leaves[..size as usize]), "size {size}");
        }
        assert!(matches!(r.root_at(leaves.len() as u64 + 1), Err(TreeError::SizeBeyondTree { .. })));
    }

    /// A store that records the keys read with `get`, and answers "absent"
    /// to the first read of `miss_once` (if any), as if that read had
    /// happened just before a writer's batch created it.
    struct Spy {
        inner: Arc<dyn Store>,
        reads: std::sync::Mutex<Vec<Vec<u8>>>,
        miss_once: Option<Vec<u8>>,
        missed: std::sync::atomic::AtomicBool,
    }

    impl Spy {
        fn new(inner: Arc<dyn Store>, miss_once: Option<Vec<u8>>) -> Arc<Self> {
            Arc::new(Spy { inner, reads: Default::default(), miss_once, missed: Default::default() })
        }
    }

    impl Store for Spy {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
            self.reads.lock().unwrap().push(key.to_vec());
            if self.miss_once.as_deref() == Some(key) && !self.missed.swap(true, Ordering::SeqCst) {
                return Ok(None);
            }
            self.inner.get(key)
        }
        fn range(
            &self,
            start: &[u8],
            end: &[u8],
            limit: usize,
            reverse: bool,
        ) -> Result<crate::storage::Records, StorageError> {
            self.inner.range(start, end, limit, reverse)
        }
        fn commit(&self, batch: &Batch) -> Result<(), StorageError> {
            self.inner.commit(batch)
        }
        fn flush(&self) -> Result<(), StorageError> {
            self.inner.flush()
        }
        fn size_on_disk(&self) -> u64 {
            self.inner.size_on_disk()
        }
    }

    #[test]
    fn an_entry_read_while_its_bundle_fills_is_found() {
        // The reader looks for the full bundle (not there yet), the writer
        // fills it (moving the pending records into it), and the reader
        // then finds no pending records: it must read the bundle, not
        // report the entries missing (seen as 500s on receipts under load).
        let (t, _) = build(&[W + 10]);
        let inner = t.reader().store().clone();
        let store = Spy::new(inner, Some(bundle_key(0)));
        let reader = TiledTree::open(store.clone()).unwrap().reader().clone();
        assert!(!store.missed.load(Ordering::SeqCst), "opening did not read the bundle");
        assert_eq!(reader.entry(17).unwrap(), entry(17));
        assert!(store.missed.load(Ordering::SeqCst), "the first bundle read missed");
        assert_eq!(reader.entries(250, W + 3).unwrap(), (250..W + 3).map(entry).collect::<Vec<_>>());
    }

    #[test]
    fn old_level0_tiles_are_read_per_proof_not_cached() {
        // More full level-0 tiles than the shared cache takes from the
        // right edge: proofs of old leaves read their tile through the
        // proof's memo, and the shared cache keeps only recent level-0
        // tiles and the upper levels.
        let full = RECENT_LEVEL0_TILES + 6;
        let (t, leaves) = build(&[full * W + 3]);
        let r = t.reader();
        let mem = InMemoryLeaves(&leaves);
        let size = leaves.len() as u64;
        let root = root_of(&leaves);
        r.cache.clear(); // the writer cached what it wrote; start as a reader after a restart
        for index in [0, 5 * W + 17, (full - 1) * W + 200, size - 1] {
            let p = r.prove_inclusion(index, size).unwrap();
            assert_eq!(p, proof::prove_inclusion(&mem, index, size).unwrap(), "index {index}");
            check_inclusion(&leaves[index as usize], index, size, &p, &root).unwrap();
        }
        let cached: Vec<(u8, u64)> = r.cache.tiles.lock().unwrap().keys().copied().collect();
        assert!(
            !cached.contains(&(0, 0)) && !cached.contains(&(0, 5)),
            "old level-0 tiles cached: {cached:?}"
        );
        assert!(cached.contains(&(0, full - 1)), "the newest full level-0 tile is cached: {cached:?}");
        assert!(cached.contains(&(1, 0)), "level-1 tile cached: {cached:?}");
    }

    #[test]
    fn old_level0_proofs_read_one_chunk_not_the_tile() {
        let full = RECENT_LEVEL0_TILES + 3;
        let (t, leaves) = build(&[full * W + 3]);
        let store = Spy::new(t.reader().store().clone(), None);
        let r = TiledTree::open(store.clone()).unwrap().reader().clone();
        let mem = InMemoryLeaves(&leaves);
        let size = leaves.len() as u64;
        // Every leaf of an old tile, at the full size and at a smaller one
        // at which the tile is still complete.
        for at in [size, 2 * W + 5] {
            let root = root_of(&leaves[..at as usize]);
            for index in W..2 * W {
                store.reads.lock().unwrap().clear();
                let p = r.prove_inclusion(index, at).unwrap();
                assert_eq!(p, proof::prove_inclusion(&mem, index, at).unwrap(), "index {index} at {at}");
                check_inclusion(&leaves[index as usize], index, at, &p, &root).unwrap();
                let reads = store.reads.lock().unwrap().clone();
                let chunk = chunk_key(1, ((index % W) / CHUNK_WIDTH as u64) as u8);
                // Reads of level-0 tile 1: its chunk records, or the tile.
                let tile1: Vec<&Vec<u8>> =
                    reads.iter().filter(|k| k[..9] == chunk[..9] || **k == tile_key(0, 1)).collect();
                assert_eq!(tile1, vec![&chunk], "reads of tile 0/1 for {index} at {at}");
            }
        }
        // A store written before the records existed: the tile is read.
        let mut b = Batch::new();
        for n in 0..full {
            for (key, _) in level0_chunks(n, &expand(&leaves[(n * W) as usize..((n + 1) * W) as usize])) {
                b.delete(key);
            }
        }
        store.commit(&b).unwrap();
        let r = TiledTree::open(store.clone()).unwrap().reader().clone();
        store.reads.lock().unwrap().clear();
        let p = r.prove_inclusion(W + 7, size).unwrap();
        assert_eq!(p, proof::prove_inclusion(&mem, W + 7, size).unwrap());
        let reads = store.reads.lock().unwrap().clone();
        let tile1: Vec<&Vec<u8>> =
            reads.iter().filter(|k| k[..9] == chunk_key(1, 0)[..9] || **k == tile_key(0, 1)).collect();
        assert_eq!(tile1, vec![&chunk_key(1, 0), &tile_key(0, 1)], "one chunk looked for, then the tile");
        r.verify_all(&root_of(&leaves)).unwrap();
    }

    #[test]
    fn verify_all_catches_a_changed_chunk_record() {
        let (t, leaves) = build(&[3 * W]);
        let r = t.reader();
        r.verify_all(&root_of(&leaves)).unwrap();
        let mut b = Batch::new();
        b.put(chunk_key(1, 9), vec![7u8; CHUNK_NODES * HASH_SIZE]);
        r.store().commit(&b).unwrap();
        let err = r.verify_all(&root_of(&leaves)).unwrap_err().to_string();
        assert!(err.contains("chunk record of hash tile 0/1"), "{err}");
    }

    #[test]
    fn proofs_from_tiles_equal_proofs_from_memory() {
        let (t, leaves) = build(&[700, 100, 1]);
        let r = t.reader();
        let mem = InMemoryLeaves(&leaves);
        for size in [1u64, 2, 255, 256, 257, 511, 512, 513, 801] {
            let root = root_of(&leaves[..size as usize]);
            for index in [0, size / 2, size - 1] {
                let p = r.prove_inclusion(index, size).unwrap();
                assert_eq!(p, proof::prove_inclusion(&mem, index, size).unwrap());
                check_inclusion(&leaves[index as usize], index, size, &p, &root).unwrap();
            }
            for old in [1u64, size / 3 + 1, size] {
                let p = r.prove_consistency(old, size).unwrap();
                check_consistency(old, size, &p, &root_of(&leaves[..old as usize]), &root).unwrap();
            }
        }
    }

    #[test]
    fn remembered_ranges_give_the_proofs_and_roots_of_recomputed_ones() {
        // Every size from 1 to 801 asks for its own right-edge ranges, each
        // size twice (the second time from the reader's range cache).
        let (t, leaves) = build(&[700, 100, 1]);
        let r = t.reader();
        let mem = InMemoryLeaves(&leaves);
        for _ in 0..2 {
            for size in 1..=801u64 {
                assert_eq!(r.root_at(size).unwrap(), root_of(&leaves[..size as usize]), "size {size}");
                for index in [0, size / 2, size - 1] {
                    let p = r.prove_inclusion(index, size).unwrap();
                    assert_eq!(p, proof::prove_inclusion(&mem, index, size).unwrap(), "{index} in {size}");
                }
                let old = size / 3 + 1;
                assert_eq!(
                    r.prove_consistency(old, size).unwrap(),
                    proof::prove_consistency(&mem, old, size).unwrap(),
                    "{old} to {size}"
                );
            }
        }
        // The proof of leaf 0 in 801 leaves needs the range [512, 801),
        // not a complete subtree: it is remembered, with its true hash.
        r.cache.clear();
        r.prove_inclusion(0, 801).unwrap();
        assert_eq!(r.cache.ranges.get(&(512, 801)), Some(proof::range_hash(&mem, 512, 801).unwrap()));
        assert_eq!(r.cache.ranges.hashes.lock().unwrap().len(), 1);
        // And proofs take it from there: a wrong hash planted in its place
        // shows in the proof, until the cache is cleared.
        let planted = Hash::from_slice(&[7; 32]).unwrap();
        r.cache.ranges.put((512, 801), planted, || true);
        assert_eq!(r.prove_inclusion(0, 801).unwrap().last(), Some(&planted));
        r.cache.clear();
        assert_eq!(r.prove_inclusion(0, 801).unwrap(), proof::prove_inclusion(&mem, 0, 801).unwrap());
    }

    #[test]
    fn a_read_begun_before_a_reload_caches_nothing_after_it() {
        // A reload may follow a reopened store that lost committed
        // batches; a proof that checked its size before it must not leave
        // what it read in the shared cache afterwards.
        let (mut t, leaves) = build(&[700, 100, 1]);
        let r = t.reader().clone();
        let mem = InMemoryLeaves(&leaves);
        let want = proof::range_hash(&mem, 512, 801).unwrap();
        let before = Reads::new(&r);
        t.reload().unwrap();
        assert_eq!(before.range(512, 801).unwrap(), want);
        assert_eq!(r.cache.ranges.get(&(512, 801)), None, "a range from before the reload");
        assert!(r.cache.tiles.lock().unwrap().is_empty(), "tiles from before the reload");
        assert!(r.cache.subtrees.hashes.lock().unwrap().is_empty(), "subtrees from before the reload");
        let old_generation = before.memo.generation;
        assert!(r.full_bundle(0, old_generation).unwrap().is_some());
        assert!(r.cache.bundles.lock().unwrap().is_empty(), "a bundle from before the reload");
        // Reads begun after it cache as usual.
        assert_eq!(Reads::new(&r).range(512, 801).unwrap(), want);
        assert_eq!(r.cache.ranges.get(&(512, 801)), Some(want));
        assert!(!r.cache.tiles.lock().unwrap().is_empty());
        assert!(!r.cache.subtrees.hashes.lock().unwrap().is_empty());
        assert_eq!(r.entries(0, 801).unwrap().len(), 801);
        assert!(!r.cache.bundles.lock().unwrap().is_empty());
    }

    #[test]
    fn entries_and_bundles_read_back_across_batches() {
        let (t, _) = build(&[100, 200, 300]);
        let r = t.reader();
        assert_eq!(r.entries(0, 600).unwrap(), (0..600).map(entry).collect::<Vec<_>>());
        let b = r.tile(Tile { kind: TileKind::Entries, index: 2, width: 88 }).unwrap();
        let got = tile::decode_bundle(&b).unwrap();
        assert_eq!(got.len(), 88);
        assert_eq!(got[0], entry(512).as_slice());
        assert!(r.tile(Tile { kind: TileKind::Entries, index: 2, width: 89 }).is_err());
        let full = r.tile(Tile { kind: TileKind::Entries, index: 0, width: 256 }).unwrap();
        assert_eq!(tile::decode_bundle(&full).unwrap().len(), 256);
        // No pending entries remain for full bundles.
        let pending = r.store().range(&pending_key(0), &pending_key(512), 1000, false).unwrap();
        assert!(pending.is_empty());
    }

    #[test]
    fn reopen_resumes_from_the_stored_state() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let mut t = TiledTree::open(store.clone()).unwrap();
        t.append(&(0..300).map(entry).collect::<Vec<_>>(), Batch::new()).unwrap();
        let root = t.root();
        drop(t);
        let mut t = TiledTree::open(store.clone()).unwrap();
        assert_eq!((t.size(), t.root()), (300, root));
        t.append(&(300..700).map(entry).collect::<Vec<_>>(), Batch::new()).unwrap();
        let leaves: Vec<Hash> = (0..700).map(|i| leaf_hash(&entry(i))).collect();
        assert_eq!(t.root(), root_of(&leaves));
        t.reader().verify_all(&t.root()).unwrap();
    }

    #[test]
    fn oversized_entry_leaves_the_tree_untouched() {
        let (mut t, _) = build(&[3]);
        let before = t.root();
        let err = t.append(&[vec![0u8; 10], vec![0u8; 65_536]], Batch::new()).unwrap_err();
        assert!(matches!(err, TreeError::Tile(tile::TileError::EntryTooLarge { .. })));
        assert_eq!((t.size(), t.root()), (3, before));
    }

    #[test]
    fn a_seal_sees_the_new_tree_and_commits_with_it_or_nothing_is_written() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let mut t = TiledTree::open(store.clone()).unwrap();
        t.append(&(0..5).map(entry).collect::<Vec<_>>(), Batch::new()).unwrap();
        let mut seen = None;
        let appended = t
            .append_sealed(&(5..9).map(entry).collect::<Vec<_>>(), Batch::new(), |size, root| {
                seen = Some((size, root));
                let mut b = Batch::new();
                b.put(b"sealed".to_vec(), root.0.to_vec());
                Ok(b)
            })
            .unwrap();
        let leaves: Vec<Hash> = (0..9).map(|i| leaf_hash(&entry(i))).collect();
        assert_eq!(seen, Some((9, root_of(&leaves))));
        assert_eq!((appended.size, appended.root), (9, root_of(&leaves)));
        assert_eq!(store.get(b"sealed").unwrap(), Some(root_of(&leaves).0.to_vec()));

        let before = store.range(b"", b"\xff\xff", usize::MAX, false).unwrap();
        let err = t
            .append_sealed(&[entry(9)], Batch::new(), |_, _| Err(StorageError::corrupt("refused")))
            .unwrap_err();
        assert!(matches!(err, TreeError::Storage(StorageError::Corrupt { .. })), "{err}");
        assert_eq!((t.size(), t.root()), (9, root_of(&leaves)));
        assert_eq!(store.range(b"", b"\xff\xff", usize::MAX, false).unwrap(), before, "nothing written");
        // The tree in memory is intact: it appends on as before.
        t.append(&[entry(9)], Batch::new()).unwrap();
        let leaves: Vec<Hash> = (0..10).map(|i| leaf_hash(&entry(i))).collect();
        assert_eq!(t.root(), root_of(&leaves));
        t.reader().verify_all(&t.root()).unwrap();
    }

    #[test]
    fn corrupt_tile_is_detected_on_open() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let mut t = TiledTree::open(store.clone()).unwrap();
        t.append(&(0..10).map(entry).collect::<Vec<_>>(), Batch::new()).unwrap();
        let mut b = Batch::new();
        let mut data = store.get(&tile_key(0, 0)).unwrap().unwrap();
        data[5] ^= 1;
        b.put(tile_key(0, 0), data);
        store.commit(&b).unwrap();
        assert!(matches!(TiledTree::open(store), Err(TreeError::Storage(StorageError::Corrupt { .. }))));
    }

    #[test]
    fn verify_all_catches_a_changed_entry() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let mut t = TiledTree::open(store.clone()).unwrap();
        t.append(&(0..300).map(entry).collect::<Vec<_>>(), Batch::new()).unwrap();
        t.reader().verify_all(&t.root()).expect("the untouched tree verifies");
        let mut b = Batch::new();
        b.put(pending_key(299), &b"tampered"[..]);
        store.commit(&b).unwrap();
        // Entry 299 is in the partial level-0 tile 1, the first to differ.
        match t.reader().verify_all(&t.root()) {
            Err(TreeError::Storage(StorageError::Corrupt { ref what })) => {
                assert_eq!(what, "hash tile 0/1 differs from the entries")
            }
            other => panic!("{other:?}"),
        }
    }
}
