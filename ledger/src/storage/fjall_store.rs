//! The fjall engine (an LSM tree): the append-only records (the tree's and
//! the lineage nodes) in keyspaces of their own, the rest in one (see
//! [`FAMILIES`]); a batch is one atomic journal write, made durable by
//! [`Store::flush`] (`PersistMode::SyncAll`).
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
use crate::tiled_tree;
use fjall::config::{CompressionPolicy, FilterPolicy, PartitioningPolicy, PinningPolicy};
use fjall::CompressionType;
use fjall::Readable as _;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

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

/// A keyspace that a store gets when it is created, with the prefixes of
/// the keys it holds: see [`FAMILIES`].
struct Family {
    /// The keyspace's name in the fjall database.
    name: &'static str,
    /// The first bytes of the keys it holds.
    prefixes: &'static [&'static [u8]],
    /// The compression of the keyspace's tables on every level. fjall
    /// compresses from level 2 on by default, as a table is rewritten
    /// there; tables that are only moved down never are. Entry bundles
    /// (signed JSON) and lineage nodes (mostly identifiers as text) are
    /// compressed when flushed; tiles (hashes) and pending entries
    /// (short-lived) are not.
    compression: CompressionType,
    /// The size of the tables compaction writes, if not fjall's default
    /// (64 MiB). fjall records it when it creates the keyspace.
    table_target_bytes: Option<u64>,
    /// Whether every point read of the keyspace is of a key it holds, so
    /// that its tables need no filters and keep their whole index pinned
    /// in memory (see [`hits_only`]). fjall records it when it creates
    /// the keyspace.
    reads_hit: bool,
}

/// The keyspaces a store gets when it is created; every key outside their
/// prefixes goes to [`MAIN_KEYSPACE`]. No prefix is a prefix of another,
/// though one may be listed by two families (below).
///
/// These are the append-only records: the tree's (`TiledTree`'s entry
/// bundles, pending entries, tiles and tile chunks) and each event's
/// lineage node, keyed by its entry's index. In one LSM tree with the
/// state's records, whose keys are spread over the key space, every table
/// flushed from a memtable overlaps every table of the next level, and each
/// compaction rewrites them all again. In their own keyspaces, where new
/// keys come after the old ones, a flushed table overlaps little or nothing
/// below it and compaction mostly moves tables instead of rewriting them
/// (under batched ingest the server wrote 6.0 KB per statement instead of
/// 8.1 with the tree's records apart, BENCHMARKS.md, "Ingest"; the lineage
/// nodes, the largest of the state's records, followed later). A batch
/// over several keyspaces is still one atomic journal write, and a
/// snapshot covers all of them.
///
/// A prefix that a later family lists again moves to that family in the
/// stores created with it; a store made before it keeps the prefix where
/// the earlier family put it ([`assign`]). So this list only grows at its
/// end, and no family gives up a prefix: the tile chunks (`"K"`) are in
/// `tile-chunks` in a new store and in `tiles` in one made before. In
/// `tiles` with the tiles, every table flushed from the memtable spanned
/// the new chunks and the tiles after them, so it overlapped every table
/// below that held tiles, and compaction rewrote them all. Apart, the
/// chunks grow at their end only (each is written once), and a flush of
/// them is moved down, not rewritten; for `tiles`, see
/// [`TILES_TABLE_TARGET_BYTES`].
const FAMILIES: &[Family] = &[
    Family {
        name: "bundles",
        prefixes: &[&[tiled_tree::PREFIX_BUNDLE]],
        compression: CompressionType::Lz4,
        table_target_bytes: None,
        reads_hit: false,
    },
    Family {
        name: "pending",
        prefixes: &[&[tiled_tree::PREFIX_PENDING]],
        compression: CompressionType::None,
        table_target_bytes: None,
        reads_hit: false,
    },
    Family {
        name: "tiles",
        prefixes: &[&[tiled_tree::PREFIX_CHUNK], &[tiled_tree::PREFIX_TILE]],
        compression: CompressionType::None,
        table_target_bytes: Some(TILES_TABLE_TARGET_BYTES),
        reads_hit: false,
    },
    Family {
        name: "lineage-nodes",
        prefixes: &[&crate::lineage::index::NODE_KEY_PREFIX],
        compression: CompressionType::Lz4,
        table_target_bytes: None,
        reads_hit: false,
    },
    Family {
        name: "tile-chunks",
        prefixes: &[&[tiled_tree::PREFIX_CHUNK]],
        compression: CompressionType::None,
        table_target_bytes: None,
        reads_hit: true,
    },
];

/// The size of the tables compaction writes in the `tiles` keyspace of a
/// new store. It holds one growing key range per tree level, each upper
/// level 1/256 of the one below and just after it, and every batch
/// rewrites the partial tile at the end of each. So a flush of `tiles`
/// overlaps the tables below it that hold the last level-0 tiles and the
/// upper levels' tiles (a table or two until the log has tens of millions
/// of entries), and compaction rewrites those tables whole: smaller tables
/// rewrite less per flush (fjall's default is 64 MiB).
const TILES_TABLE_TARGET_BYTES: u64 = 8 << 20;

/// fjall's leveled compaction, writing tables of `table_target_bytes`.
fn leveled(table_target_bytes: u64) -> fjall::compaction::Leveled {
    fjall::compaction::Leveled::default().with_table_target_size(table_target_bytes)
}

/// `options` for a keyspace whose every point read finds its key: its
/// tables build no filters (each would only ever answer "maybe") and keep
/// each table's whole index pinned in memory instead of partitioned
/// through the block cache. A point read then costs one binary search in
/// memory and one data block, where a partitioned table costs a lookup of
/// the filter's partition, of the index's top level and partition, then of
/// the data block: three block cache lookups, and a read from disk for each
/// that misses. The tile chunks are such a keyspace (a proof reads the
/// chunk of a full level-0 tile, which the append that filled the tile
/// wrote); their index takes about 20 bytes per 4 KiB data block, about 4
/// MiB of memory at 10M entries.
fn hits_only(options: fjall::KeyspaceCreateOptions) -> fjall::KeyspaceCreateOptions {
    options
        .filter_policy(FilterPolicy::disabled())
        .index_block_partitioning_policy(PartitioningPolicy::all(false))
        .index_block_pinning_policy(PinningPolicy::all(true))
}

/// Routes each of `prefixes` to `keyspace` in `families`, taking it from
/// an earlier family that listed it (see [`FAMILIES`]).
fn assign(families: &mut Vec<(&'static [u8], u8)>, prefixes: &[&'static [u8]], keyspace: u8) {
    for prefix in prefixes {
        families.retain(|(p, _)| p != prefix);
        families.push((prefix, keyspace));
    }
}

/// The keyspace of every key not in [`FAMILIES`], and of every key in a
/// store created before them (which keeps its single keyspace). A store
/// created before `lineage-nodes` keeps that family's keys here as well
/// (one created before `tile-chunks` keeps the chunks in `tiles`).
const MAIN_KEYSPACE: &str = "provlog";

/// The size of the tables compaction writes in [`MAIN_KEYSPACE`] (fjall's
/// default is 64 MiB). Its keys are hashes and identifiers, spread over the
/// key space, so every table flushed from a memtable overlaps the whole of
/// level 1 and compaction rewrites what it overlaps. With tables the size
/// of a memtable (16 MiB by default) level 1 is 64 MiB instead of 256, and
/// under batched ingest the server wrote 2.64 KB to disk per statement
/// instead of 3.17, with a peak RSS of 510–516 MiB instead of 567–617 and
/// the same throughput within the noise (BENCHMARKS.md, "Ingest"). fjall
/// records it when it creates the keyspace: a store keeps the size it was
/// made with.
const MAIN_TABLE_TARGET_BYTES: u64 = 16 << 20;

/// Where each key goes: `(first key, keyspace)` in key order, each entry
/// covering the keys from its first key up to the next entry's; the first
/// entry is the empty key's. `families` are `(prefix, keyspace)`; every
/// key outside them goes to keyspace 0.
///
/// # Panics
/// If one prefix is a prefix of another, or a prefix has no end (is empty
/// or all `0xff`): [`FAMILIES`] is fixed, so that is a programming error.
fn routes(families: &[(&[u8], u8)]) -> Vec<(Vec<u8>, u8)> {
    let mut families = families.to_vec();
    families.sort_unstable();
    let mut out: Vec<(Vec<u8>, u8)> = vec![(Vec::new(), 0)];
    for (prefix, keyspace) in families {
        let last = &out.last().expect("never empty").0;
        assert!(last.as_slice() <= prefix, "family prefixes {last:?} and {prefix:?} nest");
        // The end of the family before this one, where this one begins.
        if last.as_slice() == prefix {
            out.pop();
        }
        let end = super::prefix_end(prefix);
        assert!(!end.is_empty(), "family prefix {prefix:?} has no end");
        out.push((prefix.to_vec(), keyspace));
        out.push((end, 0));
    }
    out
}

/// The index in `routes` (as [`routes`] makes them) of the entry covering
/// `key`.
fn route_in(routes: &[(Vec<u8>, u8)], key: &[u8]) -> usize {
    routes.partition_point(|(first, _)| first.as_slice() <= key) - 1
}

/// A store in fjall keyspaces: [`FAMILIES`] and [`MAIN_KEYSPACE`].
pub struct FjallStore {
    db: fjall::Database,
    /// `keyspaces[0]` is the main one, then the families that exist.
    keyspaces: Vec<fjall::Keyspace>,
    /// The keyspace (an index in `keyspaces`) of every key: [`routes`].
    routes: Vec<(Vec<u8>, u8)>,
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
            // only at flush(), which the log calls before a checkpoint
            // leaves the sequencer.
            .manual_journal_persist(true)
            .worker_threads(config.worker_threads.max(1))
            // Journals are deleted once every keyspace has flushed what
            // they hold. A keyspace whose memtable fills slowly would keep
            // journals alive up to fjall's default 512 MiB, all replayed
            // into memtables when the store opens (a 10M-entry store
            // filled by `bench_proofs` opened at 248 MiB of RSS, and at
            // 40-45 MiB with this cap); past 64 MiB (fjall's minimum) fjall
            // flushes the keyspaces that hold the oldest journal.
            .max_journaling_size(64 << 20)
            .open()
            .map_err(|e| StorageError::backend("open", e))?;
        let options = || {
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
        };
        let open = |name: &str, options: fjall::KeyspaceCreateOptions| {
            db.keyspace(name, || options).map_err(|e| StorageError::backend("open", e))
        };
        // A new store gets its families before its main keyspace, so one
        // whose creation stopped half-way is never taken for an old one.
        // An existing store keeps the families it was made with: none in
        // one made before them, the first three in one made before
        // `lineage-nodes`, the first four in one made before
        // `tile-chunks`.
        let new = !db.keyspace_exists(MAIN_KEYSPACE);
        let mut keyspaces = Vec::new();
        let mut families = Vec::new();
        for family in FAMILIES {
            if new || db.keyspace_exists(family.name) {
                let mut o =
                    options().data_block_compression_policy(CompressionPolicy::all(family.compression));
                if let Some(bytes) = family.table_target_bytes {
                    o = o.compaction_strategy(Arc::new(leveled(bytes)));
                }
                if family.reads_hit {
                    o = hits_only(o);
                }
                keyspaces.push(open(family.name, o)?);
                let index = u8::try_from(keyspaces.len()).expect("a few families");
                assign(&mut families, family.prefixes, index);
            }
        }
        // The main keyspace keeps fjall's default compression policy.
        let main = options().compaction_strategy(Arc::new(leveled(MAIN_TABLE_TARGET_BYTES)));
        keyspaces.insert(0, open(MAIN_KEYSPACE, main)?);
        Ok(Self { db, keyspaces, routes: routes(&families), commits: RwLock::new(()) })
    }

    /// The index in `routes` of the entry covering `key`.
    fn route(&self, key: &[u8]) -> usize {
        route_in(&self.routes, key)
    }

    /// The keyspace of `key`.
    fn keyspace(&self, key: &[u8]) -> &fjall::Keyspace {
        &self.keyspaces[usize::from(self.routes[self.route(key)].1)]
    }

    /// The range `[start, end)` (`end` empty: unbounded) cut where its
    /// keys change keyspace, in key order: (keyspace, start, end) each,
    /// `end` empty for unbounded.
    fn segments(&self, start: &[u8], end: &[u8]) -> Vec<(&fjall::Keyspace, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        let mut lo = start.to_vec();
        for i in self.route(start)..self.routes.len() {
            let next = self.routes.get(i + 1).map(|(first, _)| first.as_slice());
            let stop = match next {
                Some(next) if end.is_empty() || next < end => next,
                _ => end,
            };
            out.push((&self.keyspaces[usize::from(self.routes[i].1)], lo, stop.to_vec()));
            if stop == end {
                break;
            }
            lo = stop.to_vec();
        }
        out
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
            .get(self.keyspace(key), key)
            .map_err(|e| StorageError::backend("get", e))?
            .map(|v| v.to_vec()))
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool) -> Result<Records, StorageError> {
        if !end.is_empty() && start >= end {
            return Ok(Vec::new());
        }
        let snapshot = self.snapshot();
        let mut segments = self.segments(start, end);
        if reverse {
            segments.reverse();
        }
        let mut out = Vec::new();
        for (keyspace, lo, hi) in &segments {
            let left = limit - out.len();
            if left == 0 {
                break;
            }
            let iter = snapshot.range::<&[u8], _>(keyspace, bounds(lo, hi));
            let part: Result<Records, StorageError> = if reverse {
                iter.rev().take(left).map(kv).collect()
            } else {
                iter.take(left).map(kv).collect()
            };
            out.extend(part?);
        }
        Ok(out)
    }

    /// The records go into the memtables in key order. A memtable is a
    /// skiplist, and an insert searches it from the top: records in random
    /// order (the state's keys are hashes, event IDs and identifiers) each
    /// walk cold nodes, while in order each search reuses the path of the
    /// one before. Sorting costs less than it saves (`BENCHMARKS.md`,
    /// "Ingest"). The sort is stable, so of two writes of one key in a
    /// batch the later still wins.
    fn commit(&self, batch: &Batch) -> Result<(), StorageError> {
        let mut ops: Vec<&(Vec<u8>, Option<Vec<u8>>)> = batch.ops().iter().collect();
        ops.sort_by(|a, b| a.0.cmp(&b.0));
        let mut b = self.db.batch();
        for (k, v) in ops {
            match v {
                Some(v) => b.insert(self.keyspace(k), k.as_slice(), v.as_slice()),
                None => b.remove(self.keyspace(k), k.as_slice()),
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
mod tests;
