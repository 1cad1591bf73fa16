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
use fjall::config::{CompressionPolicy, PartitioningPolicy};
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
/// the earlier family put it ([`assign`]). So the tile chunks (`"K"`) are
/// in `tile-chunks` in a new store and in `tiles` in one made before.
/// Together, every table flushed from the memtable spanned the chunks
/// written since the last flush and the tiles after them, so its key range
/// covered every table of the level below that held tiles, and each
/// flush's compaction rewrote them all. Apart, each grows at its end only:
/// a chunk is written once, and a tile is rewritten only while it is the
/// partial one at the end, so a flush of tiles overlaps only the last
/// table below it, which the small tables of `tiles` keep cheap to
/// rewrite. In a 60 s batched run the two wrote 384 MiB of tables for
/// 1.77M statements, where `tiles` alone had written 714 MiB for 1.52M
/// (BENCHMARKS.md, "Ingest").
const FAMILIES: &[Family] = &[
    Family {
        name: "bundles",
        prefixes: &[&[tiled_tree::PREFIX_BUNDLE]],
        compression: CompressionType::Lz4,
        table_target_bytes: None,
    },
    Family {
        name: "pending",
        prefixes: &[&[tiled_tree::PREFIX_PENDING]],
        compression: CompressionType::None,
        table_target_bytes: None,
    },
    Family {
        name: "tiles",
        prefixes: &[&[tiled_tree::PREFIX_CHUNK], &[tiled_tree::PREFIX_TILE]],
        compression: CompressionType::None,
        table_target_bytes: Some(TILES_TABLE_TARGET_BYTES),
    },
    Family {
        name: "lineage-nodes",
        prefixes: &[&crate::lineage::index::NODE_KEY_PREFIX],
        compression: CompressionType::Lz4,
        table_target_bytes: None,
    },
    Family {
        name: "tile-chunks",
        prefixes: &[&[tiled_tree::PREFIX_CHUNK]],
        compression: CompressionType::None,
        table_target_bytes: None,
    },
];

/// The size of the tables compaction writes in the `tiles` keyspace of a
/// new store. Each flush of it overlaps the last table below (the partial
/// tiles at the end) and compaction rewrites that table: half a table on
/// average, so 32 MiB per flush at fjall's default size.
const TILES_TABLE_TARGET_BYTES: u64 = 8 << 20;

/// fjall's leveled compaction, writing tables of `table_target_bytes`.
fn leveled(table_target_bytes: u64) -> fjall::compaction::Leveled {
    fjall::compaction::Leveled::default().with_table_target_size(table_target_bytes)
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

    /// The first two bytes of the keys each named keyspace of the database
    /// in `dir` holds, in key order, read with fjall directly.
    fn keyspace_contents(dir: &Path) -> Vec<(String, Vec<[u8; 2]>)> {
        let db = fjall::Database::builder(dir).open().unwrap();
        let mut names: Vec<String> = db.list_keyspace_names().iter().map(|n| n.to_string()).collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let ks = db.keyspace(&name, fjall::KeyspaceCreateOptions::default).unwrap();
                let records = ks.iter().map(|g| g.into_inner().unwrap().0[..2].try_into().unwrap()).collect();
                (name, records)
            })
            .collect()
    }

    /// Two-byte keys, from each string's first two bytes.
    fn keys(of: &[&str]) -> Vec<[u8; 2]> {
        of.iter().map(|k| k.as_bytes()[..2].try_into().unwrap()).collect()
    }

    /// A new store keeps the tree's append-only records and the lineage
    /// nodes in their own keyspaces and everything else in the main one;
    /// one batch over several keyspaces commits whole and reads back
    /// through `get` and `range`, forward and in reverse, after a reopen.
    #[test]
    fn a_new_store_keeps_the_append_only_records_in_their_own_keyspaces() {
        let d = tempfile::tempdir().unwrap();
        let all = ["E1", "K1", "Li", "Lm", "Ln", "Lo", "P1", "S1", "T1", "o1", "s1"];
        {
            let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
            let mut b = Batch::new();
            for k in all {
                b.put(k.as_bytes().to_vec(), k.as_bytes().to_vec());
            }
            s.commit(&b).unwrap();
            s.flush().unwrap();
        }
        let by_keyspace = keyspace_contents(d.path());
        let held = |name: &str| by_keyspace.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(held("bundles"), keys(&["E1"]));
        assert_eq!(held("pending"), keys(&["P1"]));
        assert_eq!(held("tiles"), keys(&["T1"]));
        assert_eq!(held("tile-chunks"), keys(&["K1"]));
        assert_eq!(held("lineage-nodes"), keys(&["Ln"]));
        assert_eq!(held(MAIN_KEYSPACE), keys(&["Li", "Lm", "Lo", "S1", "o1", "s1"]));
        let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
        assert_eq!(s.get(b"T1").unwrap(), Some(b"T1".to_vec()));
        assert_eq!(s.get(b"K1").unwrap(), Some(b"K1".to_vec()));
        assert_eq!(s.get(b"Ln").unwrap(), Some(b"Ln".to_vec()));
        let range = |start: &[u8], end: &[u8], limit, reverse| -> Vec<[u8; 2]> {
            s.range(start, end, limit, reverse)
                .unwrap()
                .iter()
                .map(|(k, _)| k[..2].try_into().unwrap())
                .collect()
        };
        assert_eq!(range(b"", b"", 100, false), keys(&all));
        let mut reversed = all.to_vec();
        reversed.reverse();
        assert_eq!(range(b"", b"", 100, true), keys(&reversed));
        // Ranges that begin, end or turn inside the lineage nodes' prefix.
        assert_eq!(range(b"Lm", b"Lo", 100, false), keys(&["Lm", "Ln"]));
        assert_eq!(range(b"Ln", b"Lo\0", 100, false), keys(&["Ln", "Lo"]));
        assert_eq!(range(b"L", b"M", 2, true), keys(&["Lo", "Ln"]));
        assert_eq!(range(b"Ln\0", b"P", 100, false), keys(&["Lo"]));
    }

    /// A store made before the lineage nodes had their own keyspace keeps
    /// them, old and new, in the main one, keeps its other families, and
    /// keeps the tile chunks, old and new, with the tiles.
    #[test]
    fn a_store_made_before_a_family_keeps_its_keys_in_the_main_keyspace() {
        let d = tempfile::tempdir().unwrap();
        {
            let db = fjall::Database::builder(d.path()).open().unwrap();
            for name in ["bundles", "pending", "tiles", MAIN_KEYSPACE] {
                db.keyspace(name, fjall::KeyspaceCreateOptions::default).unwrap();
            }
            let main = db.keyspace(MAIN_KEYSPACE, fjall::KeyspaceCreateOptions::default).unwrap();
            main.insert(b"Ln0", b"old node").unwrap();
            let tiles = db.keyspace("tiles", fjall::KeyspaceCreateOptions::default).unwrap();
            tiles.insert(b"K0", b"old chunk").unwrap();
            db.persist(fjall::PersistMode::SyncAll).unwrap();
        }
        {
            let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
            assert_eq!(s.get(b"Ln0").unwrap().as_deref(), Some(&b"old node"[..]));
            let mut b = Batch::new();
            b.put(&b"Ln1"[..], &b"new node"[..]);
            b.put(&b"E1"[..], &b"new bundle"[..]);
            b.put(&b"K1"[..], &b"new chunk"[..]);
            s.commit(&b).unwrap();
            s.flush().unwrap();
            assert_eq!(s.range(b"Ln", b"Lo", 10, false).unwrap().len(), 2);
            assert_eq!(s.get(b"K0").unwrap().as_deref(), Some(&b"old chunk"[..]));
        }
        let by_keyspace = keyspace_contents(d.path());
        let names: Vec<&str> = by_keyspace.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bundles", "pending", MAIN_KEYSPACE, "tiles"]);
        assert_eq!(by_keyspace[0].1, keys(&["E1"]));
        assert_eq!(by_keyspace[2].1, keys(&["Ln", "Ln"]));
        assert_eq!(by_keyspace[3].1, keys(&["K0", "K1"]));
    }

    #[test]
    fn routes_cover_the_key_space_in_order() {
        let r = routes(&[(b"T", 3), (b"E", 1), (b"K", 3), (b"Ln", 4), (b"F", 2)]);
        let expect: Vec<(Vec<u8>, u8)> = [
            ("", 0),
            ("E", 1),
            ("F", 2),
            ("G", 0),
            ("K", 3),
            ("L", 0),
            ("Ln", 4),
            ("Lo", 0),
            ("T", 3),
            ("U", 0),
        ]
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), *v))
        .collect();
        assert_eq!(r, expect);
        // The families in use route as they should, in a new store and in
        // one made before each of them: their routes are built without
        // panicking, each prefix reaches the last family that lists it,
        // and one the store does not have leaves it where it was.
        for existing in 1..=FAMILIES.len() {
            let mut families = Vec::new();
            for (i, family) in FAMILIES[..existing].iter().enumerate() {
                assign(&mut families, family.prefixes, i as u8 + 1);
            }
            let r = routes(&families);
            for (i, family) in FAMILIES.iter().enumerate() {
                for prefix in family.prefixes {
                    let last = FAMILIES[..existing].iter().rposition(|f| f.prefixes.contains(prefix));
                    let expect = last.map_or(0, |j| j as u8 + 1);
                    assert_eq!(r[route_in(&r, prefix)].1, expect, "{prefix:?} of family {i}");
                }
            }
        }
        assert_eq!(FAMILIES[4].name, "tile-chunks");
    }

    #[test]
    #[should_panic(expected = "nest")]
    fn nested_family_prefixes_are_refused() {
        routes(&[(b"L", 1), (b"Ln", 2)]);
    }

    /// A store made before the keyspaces were split has one keyspace: it
    /// is read and written there as before, and never split.
    #[test]
    fn a_store_with_one_keyspace_keeps_it() {
        let d = tempfile::tempdir().unwrap();
        {
            let db = fjall::Database::builder(d.path()).open().unwrap();
            let ks = db.keyspace(MAIN_KEYSPACE, fjall::KeyspaceCreateOptions::default).unwrap();
            ks.insert([b'E', 0], b"old bundle").unwrap();
            ks.insert([b'o', 0], b"old object").unwrap();
            db.persist(fjall::PersistMode::SyncAll).unwrap();
        }
        {
            let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
            assert_eq!(s.get(&[b'E', 0]).unwrap().as_deref(), Some(&b"old bundle"[..]));
            let mut b = Batch::new();
            b.put(vec![b'E', 1], &b"new bundle"[..]);
            b.put(vec![b'T', 1], &b"new tile"[..]);
            b.put(vec![b'L', b'n', 1], &b"new node"[..]);
            s.commit(&b).unwrap();
            s.flush().unwrap();
            assert_eq!(s.range(b"E", b"F", 10, false).unwrap().len(), 2);
        }
        let by_keyspace = keyspace_contents(d.path());
        assert_eq!(by_keyspace.len(), 1, "{by_keyspace:?}");
        assert_eq!(by_keyspace[0].0, MAIN_KEYSPACE);
        assert_eq!(by_keyspace[0].1.len(), 5);
        let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
        assert_eq!(s.get(&[b'T', 1]).unwrap().as_deref(), Some(&b"new tile"[..]));
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
            let _stop = conformance::StopOnDrop(&done);
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
        });
        assert!(scans.load(Relaxed) > 1000, "too few scans to tell: {}", scans.load(Relaxed));
        assert_eq!(partial.load(Relaxed), 0, "scans that saw part of a batch, of {}", scans.load(Relaxed));
    }
}
