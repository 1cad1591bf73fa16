//! C2SP tlog-tiles addressing: tile coordinates, their URL paths, and entry
//! bundles. Sans-I/O: parse and format only.
//!
//! Spec: `spec/tiles.md`.
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]        256 hashes of level L (W of them if partial)
//! tile/entries/<N>[.p/<W>]    entry bundle: W entries, each uint16 BE length || bytes
//! N = 1234067  ->  x001/x234/067
//! ```

use crate::tree::{Hash, HASH_SIZE};
use std::fmt;
use thiserror::Error;

/// Hashes (or entries) per full tile.
pub const TILE_WIDTH: u16 = 256;
/// log2 of [`TILE_WIDTH`]: each tile level spans this many tree heights.
pub const TILE_HEIGHT: u8 = 8;
/// The largest hash-tile level a path may name.
pub const MAX_LEVEL: u8 = 63;
/// The largest entry an entry bundle can carry.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;
/// The largest entry bundle: [`TILE_WIDTH`] entries of [`MAX_ENTRY_SIZE`],
/// each after its two-byte length.
pub const MAX_BUNDLE_SIZE: usize = TILE_WIDTH as usize * (2 + MAX_ENTRY_SIZE);

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Hashes of complete subtrees of height `8 * level`.
    Hashes { level: u8 },
    /// Entries (leaves' data), as a bundle.
    Entries,
}

/// One tile: its kind, its index within its level, and how many hashes or
/// entries it holds (1..=256; 256 means full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

/// Why a tile path or an entry bundle could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TileError {
    #[error("malformed tile path {path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("malformed entry bundle: {reason} at byte {offset}")]
    BadBundle { reason: &'static str, offset: usize },
    #[error("entry bundle holds {got} entries, want {want}")]
    BundleCount { got: usize, want: usize },
    #[error("entry of {len} bytes exceeds the {max}-byte limit")]
    EntryTooLarge { len: usize, max: usize },
    #[error("tile data has {len} bytes, want a multiple of 32 up to {max}")]
    BadTileData { len: usize, max: usize },
}

impl Tile {
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The level of a hash tile; `None` for entry bundles.
    pub fn level(&self) -> Option<u8> {
        match self.kind {
            TileKind::Hashes { level } => Some(level),
            TileKind::Entries => None,
        }
    }

    /// The C2SP path of this tile, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// Parses a C2SP tile path (without any URL prefix). Only the canonical
    /// spelling is accepted, so that each tile has exactly one path.
    ///
    /// # Errors
    /// [`TileError::BadPath`] saying what is wrong.
    pub fn parse_path(path: &str) -> Result<Tile, TileError> {
        let bad = |reason| TileError::BadPath { path: path.chars().take(200).collect(), reason };
        if path.len() > 128 {
            return Err(bad("too long"));
        }
        let rest = path.strip_prefix("tile/").ok_or_else(|| bad("does not start with tile/"))?;
        let (kind, rest) = rest.split_once('/').ok_or_else(|| bad("missing index"))?;
        let kind = if kind == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(kind).ok_or_else(|| bad("level is not a canonical decimal"))?;
            if level > MAX_LEVEL as u64 {
                return Err(bad("level above 63"));
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((idx, w)) => {
                let w = parse_decimal(w).ok_or_else(|| bad("width is not a canonical decimal"))?;
                if w == 0 || w >= TILE_WIDTH as u64 {
                    return Err(bad("partial width outside 1..=255"));
                }
                (idx, w as u16)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index_part).ok_or_else(|| bad("index is not in x001/x234/067 form"))?;
        Ok(Tile { kind, index, width })
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes { level } => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        f.write_str(&format_index(self.index))?;
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// Formats a tile index as 3-digit groups, all but the last prefixed by `x`.
pub fn format_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn parse_index(s: &str) -> Option<u64> {
    let mut n: u64 = 0;
    let parts: Vec<&str> = s.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let digits = if last { *part } else { part.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A leading group of zeroes would give a second spelling.
        if i == 0 && !last && digits == "000" {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

/// Parses ASCII decimal without sign or leading zeroes.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// How many hashes exist at tile `level` in a tree of `tree_size` leaves.
pub fn hashes_at_level(level: u8, tree_size: u64) -> u64 {
    let shift = TILE_HEIGHT as u32 * level as u32;
    if shift >= 64 {
        0
    } else {
        tree_size >> shift
    }
}

/// The tile of `kind` and `index` as it stands in a tree of `tree_size`
/// leaves, or `None` if that tree has no hash (or entry) in it yet.
pub fn tile_at_size(kind: TileKind, index: u64, tree_size: u64) -> Option<Tile> {
    let count = match kind {
        TileKind::Hashes { level } => hashes_at_level(level, tree_size),
        TileKind::Entries => tree_size,
    };
    let start = index.checked_mul(TILE_WIDTH as u64)?;
    if count <= start {
        return None;
    }
    let width = (count - start).min(TILE_WIDTH as u64) as u16;
    Some(Tile { kind, index, width })
}

/// Every tile of a tree of `tree_size` leaves: for each level with hashes,
/// the full tiles and the partial one. Entry bundles are not included.
pub fn hash_tiles_for_size(tree_size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    for level in 0..=MAX_LEVEL {
        let count = hashes_at_level(level, tree_size);
        if count == 0 {
            break;
        }
        for index in 0..count.div_ceil(TILE_WIDTH as u64) {
            out.extend(tile_at_size(TileKind::Hashes { level }, index, tree_size));
        }
    }
    out
}

/// The tiles a reader of a tree of `new_size` leaves needs that it did not
/// need at `old_size` (or that changed width since): for every hash level
/// and for the entry bundles, the tiles that filled between the two sizes
/// and the partial tile at `new_size`, if any. Publishing these (and the
/// tiles of `old_size` before them) makes every tile of `new_size` exist.
/// Spec: `spec/mirror.md` ("Publication order").
pub fn tiles_between(old_size: u64, new_size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    if new_size <= old_size {
        return out;
    }
    let kinds =
        std::iter::once(TileKind::Entries).chain((0..=MAX_LEVEL).map(|level| TileKind::Hashes { level }));
    for kind in kinds {
        let count = |size| match kind {
            TileKind::Hashes { level } => hashes_at_level(level, size),
            TileKind::Entries => size,
        };
        let (old, new) = (count(old_size), count(new_size));
        if new == 0 {
            break;
        }
        if new == old {
            continue;
        }
        // The first tile whose width changed: the one that held hash `old`.
        for index in old / TILE_WIDTH as u64..new.div_ceil(TILE_WIDTH as u64) {
            out.extend(tile_at_size(kind, index, new_size));
        }
    }
    out
}

/// Splits tile data (concatenated 32-byte hashes) into hashes.
///
/// # Errors
/// [`TileError::BadTileData`] if the length is not a multiple of 32 or above
/// a full tile.
pub fn decode_hashes(data: &[u8]) -> Result<Vec<Hash>, TileError> {
    let max = TILE_WIDTH as usize * HASH_SIZE;
    if data.len() % HASH_SIZE != 0 || data.len() > max {
        return Err(TileError::BadTileData { len: data.len(), max });
    }
    Ok(data.chunks_exact(HASH_SIZE).map(|c| Hash::from_slice(c).expect("32-byte chunk")).collect())
}

/// Appends one entry to an entry bundle: big-endian uint16 length, then bytes.
///
/// # Errors
/// [`TileError::EntryTooLarge`] above 65,535 bytes.
pub fn append_to_bundle(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), TileError> {
    let len = u16::try_from(entry.len())
        .map_err(|_| TileError::EntryTooLarge { len: entry.len(), max: MAX_ENTRY_SIZE })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries, borrowing from `data`.
///
/// # Errors
/// [`TileError::BadBundle`] on a truncated length or entry.
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        if data.len() - pos < 2 {
            return Err(TileError::BadBundle { reason: "truncated length prefix", offset: pos });
        }
        let len = u16::from_be_bytes([data[pos], data[pos + 1]]) as usize;
        pos += 2;
        if data.len() - pos < len {
            return Err(TileError::BadBundle { reason: "truncated entry", offset: pos });
        }
        out.push(&data[pos..pos + len]);
        pos += len;
        if out.len() > TILE_WIDTH as usize {
            return Err(TileError::BundleCount { got: out.len(), want: TILE_WIDTH as usize });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_between_sizes_cover_every_tile_of_the_new_size() {
        // 70,000 from scratch: the spec's example, plus 274 entry bundles.
        let all = tiles_between(0, 70_000);
        let mut hashes: Vec<Tile> = all.iter().copied().filter(|t| t.level().is_some()).collect();
        hashes.sort();
        let mut want = hash_tiles_for_size(70_000);
        want.sort();
        assert_eq!(hashes, want);
        assert_eq!(all.iter().filter(|t| t.kind == TileKind::Entries).count(), 274);
        // Growing 300 -> 600: bundle 1 fills, bundle 2 is partial; the level-0
        // tiles likewise; level 1 gains its first hash (width 2 at 600).
        let got: Vec<String> = tiles_between(300, 600).iter().map(Tile::path).collect();
        assert_eq!(
            got,
            ["tile/entries/001", "tile/entries/002.p/88", "tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2"]
        );
        // Nothing new within one size, and a level that did not change is skipped.
        assert!(tiles_between(600, 600).is_empty());
        let got: Vec<String> = tiles_between(600, 601).iter().map(Tile::path).collect();
        assert_eq!(got, ["tile/entries/002.p/89", "tile/0/002.p/89"]);
    }

    #[test]
    fn index_encoding_matches_the_spec_example() {
        assert_eq!(format_index(1234067), "x001/x234/067");
        assert_eq!(format_index(0), "000");
        assert_eq!(format_index(1000), "x001/000");
        assert_eq!(parse_index("x001/x234/067"), Some(1234067));
    }

    #[test]
    fn paths_round_trip() {
        for t in [
            Tile { kind: TileKind::Hashes { level: 0 }, index: 1234067, width: 256 },
            Tile { kind: TileKind::Hashes { level: 2 }, index: 0, width: 1 },
            Tile { kind: TileKind::Entries, index: 999, width: 255 },
        ] {
            assert_eq!(Tile::parse_path(&t.path()), Ok(t));
        }
        assert_eq!(Tile::parse_path("tile/0/x001/x234/067.p/8").unwrap().path(), "tile/0/x001/x234/067.p/8");
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for p in [
            "tile/0/x000/067",
            "tile/0/67",
            "tile/0/0067",
            "tile/00/067",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/08",
            "tile/0/x001/x234",
            "tile/0/001/x234",
            "tile/entries/",
            "tile/-1/000",
            "tiles/0/000",
        ] {
            assert!(Tile::parse_path(p).is_err(), "{p} accepted");
        }
    }

    #[test]
    fn spec_example_size_70000() {
        let tiles = hash_tiles_for_size(70_000);
        let l0: Vec<_> = tiles.iter().filter(|t| t.level() == Some(0)).collect();
        assert_eq!(l0.iter().filter(|t| t.is_full()).count(), 273);
        assert_eq!(l0.last().unwrap().width, 112);
        let l1: Vec<_> = tiles.iter().filter(|t| t.level() == Some(1)).collect();
        assert_eq!(l1.len(), 2);
        assert!(l1[0].is_full());
        assert_eq!(l1[1].width, 17);
        let l2: Vec<_> = tiles.iter().filter(|t| t.level() == Some(2)).collect();
        assert_eq!(l2.len(), 1);
        assert_eq!(l2[0].width, 1);
    }

    #[test]
    fn bundles_round_trip_and_refuse_truncation() {
        let mut b = Vec::new();
        append_to_bundle(&mut b, b"abc").unwrap();
        append_to_bundle(&mut b, b"").unwrap();
        assert_eq!(decode_bundle(&b).unwrap(), vec![&b"abc"[..], &b""[..]]);
        assert!(decode_bundle(&b[..4]).is_err());
        assert!(decode_bundle(&b[..1]).is_err());
        assert!(append_to_bundle(&mut b, &vec![0u8; 65536]).is_err());
    }
}
