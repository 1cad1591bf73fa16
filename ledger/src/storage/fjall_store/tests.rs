//! Tests of the fjall engine: conformance, durability across reopen, where
//! each key goes in stores of every layout, and whole batches under flushes.

use super::*;
use crate::storage::conformance;

/// Opens the fjall store in `dir` with the default configuration.
fn open(dir: &Path) -> Box<dyn Store> {
    Box::new(FjallStore::open(dir, &FjallConfig::default()).unwrap())
}

#[test]
fn fjall_store_passes_conformance() {
    conformance::run_on_disk(&open);
}

#[test]
fn fjall_store_keeps_flushed_batches_across_reopen() {
    conformance::keeps_flushed_batches_across_reopen(&open);
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
        s.range(start, end, limit, reverse).unwrap().iter().map(|(k, _)| k[..2].try_into().unwrap()).collect()
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

/// The tile chunks' tables have no filters and pin their whole index in
/// memory ([`hits_only`]); the tiles' tables keep their filters. fjall
/// applies the options it recorded when it created each keyspace.
#[test]
fn tile_chunk_tables_have_no_filters_and_a_pinned_index() {
    use fjall::AbstractTree as _;
    let d = tempfile::tempdir().unwrap();
    {
        let s = FjallStore::open(d.path(), &FjallConfig::default()).unwrap();
        let mut b = Batch::new();
        for i in 0..2000u64 {
            b.put([&b"K"[..], &i.to_be_bytes()].concat(), vec![1u8; 1120]);
            b.put([&b"T"[..], &i.to_be_bytes()].concat(), vec![2u8; 256]);
        }
        s.commit(&b).unwrap();
        s.flush().unwrap();
    }
    let db = fjall::Database::builder(d.path()).open().unwrap();
    let table = |name: &str| {
        let ks = db.keyspace(name, fjall::KeyspaceCreateOptions::default).unwrap();
        ks.rotate_memtable_and_wait().unwrap();
        assert_eq!(ks.table_count(), 1, "{name}");
        (ks.tree.filter_size(), ks.tree.pinned_block_index_size())
    };
    let (chunk_filter, chunk_index) = table("tile-chunks");
    assert_eq!(chunk_filter, 0);
    // A whole index holds a 9-byte key for each of the table's 4 KiB data
    // blocks (at least 500 for 2,000 records of 1,120 bytes); a
    // partitioned one pins only its top level (172 bytes here).
    assert!(chunk_index >= 500 * 9, "pinned index of {chunk_index} bytes");
    let (tile_filter, _) = table("tiles");
    assert!(tile_filter > 0);
}

/// A store made before the lineage nodes had their own keyspace keeps
/// them, old and new, in the main one, keeps its other families, and
/// keeps the tile chunks, old and new, with the tiles.
#[test]
fn a_store_made_before_a_family_keeps_each_prefix_where_it_was() {
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
    let expect: Vec<(Vec<u8>, u8)> =
        [("", 0), ("E", 1), ("F", 2), ("G", 0), ("K", 3), ("L", 0), ("Ln", 4), ("Lo", 0), ("T", 3), ("U", 0)]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), *v))
            .collect();
    assert_eq!(r, expect);
    // The families in use route as they should in each layout a store
    // can have, written out by hand (so that a reordered FAMILIES, which
    // would move an old store's keys, fails here): made before
    // `lineage-nodes` (the first three families), before `tile-chunks`
    // (four), and new (all five).
    let prefixes: [&[u8]; 5] = [b"E", b"P", b"K", b"T", b"Ln"];
    let layouts = [
        (3, ["bundles", "pending", "tiles", "tiles", MAIN_KEYSPACE]),
        (4, ["bundles", "pending", "tiles", "tiles", "lineage-nodes"]),
        (5, ["bundles", "pending", "tile-chunks", "tiles", "lineage-nodes"]),
    ];
    assert_eq!(FAMILIES.len(), 5, "a new family needs a layout here");
    for (existing, names) in layouts {
        let mut families = Vec::new();
        for (i, family) in FAMILIES[..existing].iter().enumerate() {
            assign(&mut families, family.prefixes, i as u8 + 1);
        }
        let r = routes(&families);
        for (prefix, name) in prefixes.iter().zip(names) {
            let keyspace = usize::from(r[route_in(&r, prefix)].1);
            let got = if keyspace == 0 { MAIN_KEYSPACE } else { FAMILIES[keyspace - 1].name };
            let prefix = String::from_utf8_lossy(prefix);
            assert_eq!(got, name, "{prefix} in a store made with {existing} families");
        }
    }
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
