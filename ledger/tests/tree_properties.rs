//! Property tests of the tile-backed tree against two oracles: a literal,
//! recursive RFC 6962 reference written here (MTH, PATH, PROOF straight from
//! RFC 6962 §2.1), and the independent `rs_merkle` crate for roots.

use proptest::prelude::*;
use provlog_ledger::proof::{check_consistency, check_inclusion};
use provlog_ledger::storage::{Batch, MemoryStore};
use provlog_ledger::tiled_tree::TiledTree;
use provlog_ledger::tree::{leaf_hash, node_hash};
use provlog_ledger::Hash;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// RFC 6962 §2.1, written as in the RFC. `d` holds leaf hashes.
mod reference {
    use super::*;

    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    pub fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => Hash(Sha256::digest([]).into()),
            1 => d[0],
            n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
        }
    }

    pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = k(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    pub fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
        subproof(m, d, true)
    }
}

/// rs_merkle configured as RFC 6962: leaves passed pre-hashed, nodes hashed
/// as SHA-256(0x01 || left || right), an unpaired node promoted (its default).
#[derive(Clone)]
struct Rfc6962Nodes;

impl rs_merkle::Hasher for Rfc6962Nodes {
    type Hash = [u8; 32];
    fn hash(data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(data);
        h.finalize().into()
    }
}

fn entry(seed: u64, i: u64) -> Vec<u8> {
    let len = (seed.wrapping_mul(31).wrapping_add(i) % 97) as usize;
    let mut e = format!("{seed}:{i}:").into_bytes();
    e.resize(e.len() + len, (i % 251) as u8);
    e
}

/// Builds a tile-backed tree in memory from batches of the given sizes.
fn build(seed: u64, batches: &[u64]) -> (TiledTree, Vec<Hash>) {
    let mut t = TiledTree::open(Arc::new(MemoryStore::new())).unwrap();
    let mut leaves = Vec::new();
    let mut next = 0;
    for &b in batches {
        let entries: Vec<Vec<u8>> = (next..next + b).map(|i| entry(seed, i)).collect();
        leaves.extend(entries.iter().map(|e| leaf_hash(e)));
        t.append(&entries, Batch::new()).unwrap();
        next += b;
    }
    (t, leaves)
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut m = *h;
    m.0[bit / 8] ^= 1 << (bit % 8);
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn tiled_tree_matches_the_rfc_reference_and_rs_merkle(
        seed in any::<u64>(),
        batches in prop::collection::vec(1u64..700, 1..8),
        picks in prop::collection::vec(any::<u64>(), 4),
    ) {
        let (t, leaves) = build(seed, &batches);
        let n = leaves.len() as u64;
        let r = t.reader();

        prop_assert_eq!(t.root(), reference::mth(&leaves));
        let rs = rs_merkle::MerkleTree::<Rfc6962Nodes>::from_leaves(
            &leaves.iter().map(|h| h.0).collect::<Vec<_>>());
        prop_assert_eq!(rs.root(), Some(t.root().0));

        // Historical sizes, indexes and consistency pairs chosen at random.
        let size = 1 + picks[0] % n;
        let old = 1 + picks[1] % size;
        let index = picks[2] % size;
        let d = &leaves[..size as usize];
        let root = reference::mth(d);
        prop_assert_eq!(r.root_at(size).unwrap(), root);

        let incl = r.prove_inclusion(index, size).unwrap();
        prop_assert_eq!(&incl, &reference::path(index as usize, d));
        prop_assert!(check_inclusion(&leaves[index as usize], index, size, &incl, &root).is_ok());

        let old_root = reference::mth(&leaves[..old as usize]);
        let cons = r.prove_consistency(old, size).unwrap();
        prop_assert_eq!(&cons, &reference::proof(old as usize, d));
        prop_assert!(check_consistency(old, size, &cons, &old_root, &root).is_ok());

        // Every single-bit mutation of either proof fails.
        for i in 0..incl.len() {
            for bit in 0..256 {
                let mut p = incl.clone();
                p[i] = flip(&p[i], bit);
                prop_assert!(check_inclusion(&leaves[index as usize], index, size, &p, &root).is_err());
            }
        }
        for i in 0..cons.len() {
            for bit in 0..256 {
                let mut p = cons.clone();
                p[i] = flip(&p[i], bit);
                prop_assert!(check_consistency(old, size, &p, &old_root, &root).is_err());
            }
        }
        // And of the leaf, the roots and the sizes.
        let bit = (picks[3] % 256) as usize;
        prop_assert!(check_inclusion(&flip(&leaves[index as usize], bit), index, size, &incl, &root).is_err());
        prop_assert!(check_inclusion(&leaves[index as usize], index, size, &incl, &flip(&root, bit)).is_err());
        if old < size {
            prop_assert!(check_consistency(old, size, &cons, &flip(&old_root, bit), &root).is_err());
            prop_assert!(check_consistency(old, size, &cons, &old_root, &flip(&root, bit)).is_err());
        }
    }

    #[test]
    fn every_historical_root_matches_the_reference(seed in any::<u64>(), batches in prop::collection::vec(1u64..300, 1..6)) {
        let (t, leaves) = build(seed, &batches);
        let r = t.reader();
        // A running reference via the frontier-free recursive MTH would be
        // quadratic; check every size against the RFC recursion on a stride.
        for size in (1..=leaves.len()).step_by(7).chain([leaves.len()]) {
            prop_assert_eq!(r.root_at(size as u64).unwrap(), reference::mth(&leaves[..size]));
        }
    }
}
