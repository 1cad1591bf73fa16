//! C2SP tile paths and entry bundles (`tile::Tile::parse_path`,
//! `tile::decode_bundle`, `tile::decode_hashes`).
//!
//! Properties: a path parses only in its canonical spelling (parse → `path`
//! is the input) and parse → `path` → parse is identity; every tile's path
//! parses back to it; a bundle and tile data re-encode to exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::tile::{self, Tile, TileKind, MAX_LEVEL, TILE_WIDTH};

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok(t) = Tile::parse_path(path) {
            assert_eq!(t.path(), path, "a non-canonical path was accepted");
            assert_eq!(Tile::parse_path(&t.path()), Ok(t));
            assert!((1..=TILE_WIDTH).contains(&t.width));
            assert!(t.level().is_none_or(|l| l <= MAX_LEVEL));
        }
    }
    // Any tile, from the first 11 bytes: its path parses back to it.
    if let [kind, index @ .., w0, w1] = data.get(..11).unwrap_or_default() {
        let kind = match kind % (MAX_LEVEL + 2) {
            l if l <= MAX_LEVEL => TileKind::Hashes { level: l },
            _ => TileKind::Entries,
        };
        let index = u64::from_be_bytes(index.try_into().expect("8 bytes"));
        let width = u16::from_be_bytes([*w0, *w1]) % TILE_WIDTH + 1;
        let t = Tile { kind, index, width };
        assert_eq!(Tile::parse_path(&t.path()), Ok(t), "{}", t.path());
    }
    if let Ok(entries) = tile::decode_bundle(data) {
        assert!(entries.len() <= TILE_WIDTH as usize);
        let mut bundle = Vec::new();
        for e in &entries {
            tile::append_to_bundle(&mut bundle, e).expect("a decoded entry fits");
        }
        assert_eq!(bundle, data, "bundle re-encodes differently");
    }
    if let Ok(hashes) = tile::decode_hashes(data) {
        assert_eq!(hashes.iter().flat_map(|h| h.0).collect::<Vec<u8>>(), data);
    }
});
