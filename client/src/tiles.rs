//! Verifying a log's tiles against its entries: every hash tile the client
//! reads must equal the hashes it recomputes from the entry bundles, and the
//! root recomputed from the entries must equal the checkpoint's.
//!
//! Spec: `spec/client.md` ("Tiles"), `spec/tiles.md`.
//!
//! [`VerifiedTree`] is the client's own copy of a tree it has verified up
//! to some size: the frontier (one hash per set bit of the size) and, for
//! each tile level, the hashes of the rightmost tile that is not full yet
//! (at most 255 per level). That is enough to extend the verification to a
//! larger size while reading only the new entry bundles and the tiles they
//! change, so an auditor that follows a log reads each entry once; it also
//! catches a log that changes an entry or a hash it served before in a
//! partial tile.

use crate::error::ClientError;
use crate::fetch::LogClient;
use crate::trust::{TrustPolicy, VerifiedCheckpoint};
use crate::{EntryVisitor, Progress};
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::tile::{self, Tile, TileError, TileKind, TILE_HEIGHT, TILE_WIDTH};
use provlog_ledger::tiled_tree::TreeReader;
use provlog_ledger::tree::{leaf_hash, Frontier};
use provlog_ledger::Hash;
use serde::{Deserialize, Serialize};

const W: u64 = TILE_WIDTH as u64;

/// Where tiles come from: a log's HTTP read path, or a local store.
pub trait TileSource {
    /// The bytes of `tile` at exactly its width.
    ///
    /// # Errors
    /// Transport or storage failures; a hash tile of the wrong length is
    /// [`ClientError::BadResponse`].
    fn tile(&self, tile: Tile) -> Result<Vec<u8>, ClientError>;
}

impl TileSource for LogClient {
    fn tile(&self, tile: Tile) -> Result<Vec<u8>, ClientError> {
        LogClient::tile(self, tile)
    }
}

/// Tiles read from a local copy of a log's store (for example a mirror's,
/// or a data directory an auditor was handed).
impl TileSource for TreeReader {
    fn tile(&self, t: Tile) -> Result<Vec<u8>, ClientError> {
        TreeReader::tile(self, t).map_err(|e| ClientError::Io {
            op: "read tile",
            path: t.path().into(),
            source: std::io::Error::other(e),
        })
    }
}

/// What one [`VerifiedTree::advance`] read and checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TreeAdvance {
    /// New entries read, hashed and handed to the visitor.
    pub entries: u64,
    /// Entry bundles read.
    pub bundles: u64,
    /// Hash tiles read and compared with the recomputed hashes.
    pub hash_tiles: u64,
}

/// A tree the client has verified up to [`VerifiedTree::size`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifiedTree {
    frontier: Frontier,
    /// `partial[level]`: hashes of the rightmost tile of that level that is
    /// not full yet (possibly empty).
    partial: Vec<Vec<Hash>>,
}

/// The state file form of a [`VerifiedTree`]: hashes in base64.
#[derive(Serialize, Deserialize)]
struct TreeRecord {
    size: u64,
    frontier: Vec<String>,
    partial: Vec<Vec<String>>,
}

impl Serialize for VerifiedTree {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b64 = |hs: &[Hash]| hs.iter().map(Hash::to_base64).collect::<Vec<_>>();
        TreeRecord {
            size: self.frontier.size(),
            frontier: b64(self.frontier.nodes()),
            partial: self.partial.iter().map(|p| b64(p)).collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for VerifiedTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let r = TreeRecord::deserialize(d)?;
        let hashes = |v: &[String]| -> Result<Vec<Hash>, D::Error> {
            v.iter()
                .map(|h| Hash::from_base64(h).ok_or_else(|| D::Error::custom("not a base64 hash")))
                .collect()
        };
        let frontier = Frontier::from_parts(r.size, hashes(&r.frontier)?)
            .ok_or_else(|| D::Error::custom("frontier does not match the size"))?;
        let partial = r.partial.iter().map(|p| hashes(p)).collect::<Result<Vec<_>, _>>()?;
        for level in 0..=tile::MAX_LEVEL as usize {
            let have = partial.get(level).map_or(0, Vec::len) as u64;
            if have != tile::hashes_at_level(level as u8, r.size) % W {
                return Err(D::Error::custom("partial tiles do not match the size"));
            }
        }
        if partial.len() > tile::MAX_LEVEL as usize + 1 {
            return Err(D::Error::custom("too many tile levels"));
        }
        Ok(VerifiedTree { frontier, partial })
    }
}

impl VerifiedTree {
    /// The size the tree is verified up to.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the verified tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    fn push(&mut self, leaf: Hash) {
        let partial = &mut self.partial;
        self.frontier.push(leaf, |height, _, h| {
            if height % TILE_HEIGHT == 0 {
                let level = (height / TILE_HEIGHT) as usize;
                if partial.len() <= level {
                    partial.resize(level + 1, Vec::new());
                }
                partial[level].push(*h);
            }
        });
    }

    /// Compares the hashes of one level's rightmost tile with the log's tile
    /// of that width.
    fn compare_tile(&self, source: &dyn TileSource, level: usize) -> Result<(), ClientError> {
        let hashes = &self.partial[level];
        let count = tile::hashes_at_level(level as u8, self.size());
        let t = Tile {
            kind: TileKind::Hashes { level: level as u8 },
            index: (count - 1) / W,
            width: hashes.len() as u16,
        };
        let data = source.tile(t)?;
        let served = tile::decode_hashes(&data)
            .map_err(|e| ClientError::BadResponse { url: t.path(), reason: e.to_string() })?;
        if served != *hashes {
            return Err(ClientError::TileMismatch { tile: t.path() });
        }
        Ok(())
    }

    /// Extends the verification to the tree `to` commits to: reads every
    /// entry bundle from the verified size to `to.size`, recomputes every
    /// hash tile they change and compares it with the log's, checks that
    /// the entries already verified in a partial bundle did not change, and
    /// that the root recomputed from the entries is `to.root`. Each new
    /// entry is handed to `visitor` with its index, in order, before the
    /// root is checked; on any error the tree is left as it was.
    ///
    /// `to` must already be verified (signatures and quorum) and consistent
    /// with the verified tree ([`crate::consistency`]).
    ///
    /// # Errors
    /// Transport failures; [`ClientError::Rollback`] if `to` is smaller;
    /// [`ClientError::Bundle`], [`ClientError::EntryChanged`],
    /// [`ClientError::TileMismatch`] or [`ClientError::RootMismatch`] for
    /// content that does not match; whatever the visitor returns.
    pub fn advance(
        &mut self,
        source: &dyn TileSource,
        to: &Checkpoint,
        visitor: &mut dyn EntryVisitor,
        progress: &dyn Progress,
    ) -> Result<TreeAdvance, ClientError> {
        let (old, new) = (self.size(), to.size);
        if new < old {
            return Err(ClientError::Rollback { verified_size: old, served_size: new });
        }
        if new == old {
            if self.root() != to.root {
                return Err(ClientError::Fork {
                    size: old,
                    verified_root: self.root(),
                    served_root: to.root,
                });
            }
            return Ok(TreeAdvance::default());
        }
        let mut next = self.clone();
        let mut stats = TreeAdvance::default();
        progress.begin("verifying tiles", new - old);
        let mut n = old / W;
        while n * W < new {
            let t = tile::tile_at_size(TileKind::Entries, n, new).expect("a bundle below the size");
            let data = source.tile(t)?;
            stats.bundles += 1;
            let entries = tile::decode_bundle(&data)
                .map_err(|source| ClientError::Bundle { tile: t.path(), source })?;
            if entries.len() != t.width as usize {
                let source = TileError::BundleCount { got: entries.len(), want: t.width as usize };
                return Err(ClientError::Bundle { tile: t.path(), source });
            }
            for (j, e) in entries.iter().enumerate() {
                let index = n * W + j as u64;
                if index < old {
                    if next.partial[0][j] != leaf_hash(e) {
                        return Err(ClientError::EntryChanged { index });
                    }
                    continue;
                }
                next.push(leaf_hash(e));
                visitor.entry(index, e)?;
                stats.entries += 1;
            }
            for level in 0..next.partial.len() {
                if next.partial[level].len() == TILE_WIDTH as usize {
                    next.compare_tile(source, level)?;
                    stats.hash_tiles += 1;
                    next.partial[level].clear();
                }
            }
            progress.advance(n * W + t.width as u64 - old.max(n * W));
            n += 1;
        }
        for level in 0..next.partial.len() {
            if !next.partial[level].is_empty() {
                next.compare_tile(source, level)?;
                stats.hash_tiles += 1;
            }
        }
        if next.root() != to.root {
            return Err(ClientError::RootMismatch { size: new, computed: next.root(), signed: to.root });
        }
        progress.finish();
        *self = next;
        Ok(stats)
    }
}

/// Reads entries `[from, to)` from the entry bundles of a tree of
/// `tree_size` entries and hands each to `visitor`, in order. This re-reads
/// entries verified before (to resume a replay, say): the bytes are
/// authenticated only by what the caller does with them, e.g. a replay
/// that compares the root it rebuilds with a verified checkpoint.
///
/// # Errors
/// Transport failures; [`ClientError::Bundle`] for a bundle of the wrong
/// shape; whatever the visitor returns.
pub fn read_entries(
    source: &dyn TileSource,
    from: u64,
    to: u64,
    tree_size: u64,
    visitor: &mut dyn EntryVisitor,
    progress: &dyn Progress,
) -> Result<(), ClientError> {
    if from >= to {
        return Ok(());
    }
    progress.begin("re-reading entries", to - from);
    let mut n = from / W;
    while n * W < to {
        let t = tile::tile_at_size(TileKind::Entries, n, tree_size)
            .ok_or(ClientError::Rollback { verified_size: to, served_size: tree_size })?;
        let data = source.tile(t)?;
        let entries =
            tile::decode_bundle(&data).map_err(|source| ClientError::Bundle { tile: t.path(), source })?;
        if entries.len() != t.width as usize {
            let source = TileError::BundleCount { got: entries.len(), want: t.width as usize };
            return Err(ClientError::Bundle { tile: t.path(), source });
        }
        for (j, e) in entries.iter().enumerate() {
            let index = n * W + j as u64;
            if (from..to).contains(&index) {
                visitor.entry(index, e)?;
            }
        }
        progress.advance((n * W + W).min(to) - (n * W).max(from));
        n += 1;
    }
    progress.finish();
    Ok(())
}

/// What [`verify_log`] checked.
#[derive(Clone, Debug, Serialize)]
pub struct LogReport {
    pub origin: String,
    pub size: u64,
    /// The root, base64.
    pub root: String,
    #[serde(flatten)]
    pub checkpoint: VerifiedCheckpoint,
    #[serde(flatten)]
    pub read: TreeAdvance,
}

impl std::fmt::Display for LogReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "verified {} entries of {} ({} bundles, {} hash tiles) against checkpoint root {} cosigned by [{}]",
            self.size,
            self.origin,
            self.read.bundles,
            self.read.hash_tiles,
            self.root,
            self.checkpoint.cosigners.join(", ")
        )
    }
}

/// Verifies a whole log from its tiles against its latest checkpoint:
/// fetches `/checkpoint` and checks it against `policy` (the log's
/// signature and the witness quorum), then reads every entry bundle and
/// hash tile, recomputes every hash from the entries, compares it with
/// the tile the log serves, and checks that the recomputed root is the
/// checkpoint's. Each entry must also be an entry record holding a
/// statement. Nothing the server says about itself is trusted.
///
/// This is the check the end-to-end tests end with. Its cost is linear in
/// the size of the log; [`crate::audit`] does the same incrementally.
///
/// # Errors
/// Transport failures as [`crate::ErrorKind::Transport`]; a checkpoint
/// that does not satisfy the policy, tiles or entries that do not match,
/// as [`crate::ErrorKind::Verification`].
pub fn verify_log(url: &str, policy: &TrustPolicy) -> Result<LogReport, ClientError> {
    let client = LogClient::new(url, crate::fetch::FetchOptions::default())?;
    let note = client.checkpoint()?;
    let checkpoint = policy.verify_checkpoint(&note, &format!("{url}/checkpoint"))?;
    verify_tree(&client, checkpoint, &crate::Silent)
}

/// [`verify_log`] over any tile source, given a checkpoint already verified
/// against the policy.
///
/// # Errors
/// As [`verify_log`].
pub fn verify_tree(
    source: &dyn TileSource,
    checkpoint: VerifiedCheckpoint,
    progress: &dyn Progress,
) -> Result<LogReport, ClientError> {
    let mut tree = VerifiedTree::default();
    let mut check_entry = |index: u64, bytes: &[u8]| crate::decode_entry(index, bytes).map(|_| ());
    let read = tree.advance(source, &checkpoint.checkpoint, &mut check_entry, progress)?;
    Ok(LogReport {
        origin: checkpoint.checkpoint.origin.clone(),
        size: checkpoint.checkpoint.size,
        root: checkpoint.checkpoint.root.to_base64(),
        checkpoint,
        read,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use provlog_ledger::storage::Batch;
    use provlog_ledger::storage::{MemoryStore, Store};
    use provlog_ledger::tiled_tree::TiledTree;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// A tree of `n` entries in memory, its checkpoint, and a source that
    /// can be made to lie about one tile.
    pub struct Fake {
        pub reader: TreeReader,
        pub tree: TiledTree,
        pub lies: RefCell<HashMap<String, Vec<u8>>>,
    }

    impl TileSource for Fake {
        fn tile(&self, t: Tile) -> Result<Vec<u8>, ClientError> {
            if let Some(b) = self.lies.borrow().get(&t.path()) {
                return Ok(b.clone());
            }
            TileSource::tile(&self.reader, t)
        }
    }

    pub fn fake(n: u64) -> Fake {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let mut tree = TiledTree::open(store).unwrap();
        let entries: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        if n > 0 {
            tree.append(&entries, Batch::new()).unwrap();
        }
        Fake { reader: tree.reader().clone(), tree, lies: RefCell::new(HashMap::new()) }
    }

    impl Fake {
        pub fn checkpoint(&self) -> Checkpoint {
            Checkpoint::new("example.com/log", self.tree.size(), self.tree.root())
        }

        pub fn grow(&mut self, to: u64) {
            let entries: Vec<Vec<u8>> = (self.tree.size()..to).map(|i| i.to_be_bytes().to_vec()).collect();
            self.tree.append(&entries, Batch::new()).unwrap();
        }
    }

    fn none(_: u64, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
    }

    #[test]
    fn a_tree_verified_in_steps_equals_one_verified_at_once() {
        let mut f = fake(300);
        let mut stepwise = VerifiedTree::default();
        let mut seen = Vec::new();
        let mut record = |i: u64, _: &[u8]| {
            seen.push(i);
            Ok(())
        };
        stepwise.advance(&f, &f.checkpoint(), &mut record, &crate::Silent).unwrap();
        for size in [301, 511, 512, 513, 66_000] {
            f.grow(size);
            stepwise.advance(&f, &f.checkpoint(), &mut record, &crate::Silent).unwrap();
            assert_eq!(stepwise.root(), f.checkpoint().root);
        }
        assert_eq!(seen, (0..66_000).collect::<Vec<u64>>());
        let mut at_once = VerifiedTree::default();
        let stats = at_once.advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap();
        assert_eq!(at_once, stepwise);
        // 258 entry bundles; 258 level-0 tiles (257 full), 2 level-1 tiles
        // (257 hashes) and 1 level-2 tile (1 hash).
        assert_eq!(stats, TreeAdvance { entries: 66_000, bundles: 258, hash_tiles: 261 });
        let json = serde_json::to_string(&stepwise).unwrap();
        assert_eq!(serde_json::from_str::<VerifiedTree>(&json).unwrap(), stepwise);
    }

    #[test]
    fn a_stored_tree_whose_partial_tiles_do_not_match_its_size_is_refused() {
        let f = fake(300);
        let mut t = VerifiedTree::default();
        t.advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap();
        let mut json: serde_json::Value = serde_json::to_value(&t).unwrap();
        assert_eq!(json["partial"].as_array().unwrap().len(), 2, "{json}");
        json["partial"].as_array_mut().unwrap().pop();
        assert!(serde_json::from_value::<VerifiedTree>(json).is_err());
    }

    #[test]
    fn a_tile_that_differs_from_the_entries_is_caught() {
        let f = fake(600);
        let mut lie =
            f.reader.tile(Tile { kind: TileKind::Hashes { level: 0 }, index: 1, width: 256 }).unwrap();
        lie[5] ^= 1;
        f.lies.borrow_mut().insert("tile/0/001".into(), lie);
        let mut t = VerifiedTree::default();
        let e = t.advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap_err();
        assert!(matches!(&e, ClientError::TileMismatch { tile } if tile == "tile/0/001"), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Verification);
        assert_eq!(t, VerifiedTree::default(), "a failed advance changes nothing");
    }

    #[test]
    fn an_entry_changed_after_it_was_verified_is_caught() {
        let mut f = fake(10);
        let mut t = VerifiedTree::default();
        t.advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap();
        f.grow(20);
        let mut bundle =
            TileSource::tile(&f.reader, Tile { kind: TileKind::Entries, index: 0, width: 20 }).unwrap();
        bundle[3] ^= 0xff; // entry 0's bytes
        f.lies.borrow_mut().insert("tile/entries/000.p/20".into(), bundle);
        let e = t.advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap_err();
        assert!(matches!(e, ClientError::EntryChanged { index: 0 }), "{e:?}");
    }

    #[test]
    fn a_root_that_the_entries_do_not_give_is_caught() {
        let f = fake(10);
        let mut cp = f.checkpoint();
        cp.root = leaf_hash(b"something else");
        let e = VerifiedTree::default().advance(&f, &cp, &mut none, &crate::Silent).unwrap_err();
        assert!(matches!(e, ClientError::RootMismatch { size: 10, .. }));
    }

    #[test]
    fn a_bundle_with_too_few_entries_is_caught() {
        let f = fake(10);
        let mut bundle = Vec::new();
        tile::append_to_bundle(&mut bundle, b"x").unwrap();
        f.lies.borrow_mut().insert("tile/entries/000.p/10".into(), bundle);
        let e = VerifiedTree::default().advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap_err();
        assert!(matches!(e, ClientError::Bundle { .. }));
        assert_eq!(e.kind(), ErrorKind::Verification);
    }

    #[test]
    fn a_smaller_checkpoint_is_a_rollback() {
        let mut f = fake(10);
        let mut t = VerifiedTree::default();
        let small = f.checkpoint();
        f.grow(20);
        t.advance(&f, &f.checkpoint(), &mut none, &crate::Silent).unwrap();
        assert!(t.advance(&f, &small, &mut none, &crate::Silent).unwrap_err().is_fork());
    }

    #[test]
    fn a_missing_tile_is_a_transport_failure() {
        let f = fake(10);
        let mut cp = f.checkpoint();
        cp.size = 11;
        let e = VerifiedTree::default().advance(&f, &cp, &mut none, &crate::Silent).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport, "{e:?}");
    }
}
