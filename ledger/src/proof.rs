//! Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4): building
//! them from stored subtree hashes, and checking them with nothing but hashes.
//!
//! The checks are pure functions over their arguments: a client holding a
//! checkpoint and a proof needs nothing else. They follow
//! transparency-dev/merkle's semantics exactly (spec: `spec/tree.md`):
//! a consistency proof from size 0 is refused, equal sizes need an empty
//! proof and equal roots, and a proof of the wrong length is refused before
//! any hashing. Hash lengths are enforced by the [`Hash`] type itself.

use crate::tree::{node_hash, split_point, Hash};
use thiserror::Error;

/// Why a proof did not verify. Every variant is a failed verification, never
/// a transport or storage problem.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for tree size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    /// The older tree is larger than the newer one.
    #[error("old size {old_size} is larger than new size {new_size}")]
    SizeOrder { old_size: u64, new_size: u64 },
    /// A consistency proof from the empty tree proves nothing.
    #[error("a consistency proof from size 0 is meaningless")]
    FromEmptyTree,
    /// The proof has the wrong number of hashes for the sizes involved.
    #[error("proof has {got} hashes, want {want}")]
    WrongLength { got: usize, want: usize },
    /// The recomputed root differs from the expected root.
    #[error("computed root {computed} does not match expected root {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    /// A hash given as bytes is not 32 bytes long.
    #[error("hash of {len} bytes, want 32")]
    BadHashLength { len: usize },
    /// Equal sizes but different roots (given as bytes).
    #[error("roots of equal-size trees differ")]
    RootsDiffer,
}

fn to_hash(bytes: &[u8]) -> Result<Hash, ProofError> {
    Hash::from_slice(bytes).ok_or(ProofError::BadHashLength { len: bytes.len() })
}

fn to_hashes<B: AsRef<[u8]>>(proof: &[B]) -> Result<Vec<Hash>, ProofError> {
    proof.iter().map(|b| to_hash(b.as_ref())).collect()
}

/// [`check_inclusion`] over hashes given as byte strings, with
/// transparency-dev/merkle's semantics: every hash must be 32 bytes.
///
/// # Errors
/// [`ProofError::BadHashLength`] or any error of [`check_inclusion`].
pub fn check_inclusion_bytes<B: AsRef<[u8]>>(
    leaf: &[u8],
    index: u64,
    tree_size: u64,
    proof: &[B],
    root: &[u8],
) -> Result<(), ProofError> {
    let (leaf, root) = (to_hash(leaf)?, to_hash(root)?);
    check_inclusion(&leaf, index, tree_size, &to_hashes(proof)?, &root)
}

/// [`check_consistency`] over hashes given as byte strings, with
/// transparency-dev/merkle's semantics: for equal sizes the proof must be
/// empty and the roots are compared as byte strings; otherwise every hash
/// must be 32 bytes.
///
/// # Errors
/// [`ProofError::BadHashLength`], [`ProofError::RootsDiffer`] or any error of
/// [`check_consistency`].
pub fn check_consistency_bytes<B: AsRef<[u8]>>(
    old_size: u64,
    new_size: u64,
    proof: &[B],
    old_root: &[u8],
    new_root: &[u8],
) -> Result<(), ProofError> {
    check_sizes(old_size, new_size)?;
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len(), want: 0 });
        }
        return if old_root == new_root { Ok(()) } else { Err(ProofError::RootsDiffer) };
    }
    let (old_root, new_root) = (to_hash(old_root)?, to_hash(new_root)?);
    check_consistency(old_size, new_size, &to_hashes(proof)?, &old_root, &new_root)
}

/// Checks that `leaf` is at `index` in the tree of `tree_size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
/// A [`ProofError`] naming the check that failed.
pub fn check_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion(leaf, index, tree_size, proof)?;
    matches(computed, root)
}

/// Recomputes the root of the tree of `tree_size` leaves from a leaf at
/// `index` and its inclusion proof.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`] or [`ProofError::WrongLength`].
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let (inner, border) = decompose_inclusion(index, tree_size);
    let want = inner + border;
    if proof.len() != want {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    let hash = chain_inner(*leaf, &proof[..inner], index);
    Ok(chain_border_right(hash, &proof[inner..]))
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the
/// tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
/// Sizes are checked first: `new_size < old_size` and `old_size == 0` (even
/// to size 0) are refused; equal sizes need an empty proof and equal roots.
///
/// # Errors
/// A [`ProofError`] naming the check that failed.
pub fn check_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    check_sizes(old_size, new_size)?;
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len(), want: 0 });
        }
        return matches(*old_root, new_root);
    }
    // The proof is a suffix of the inclusion proof of leaf old_size-1 in the
    // new tree, starting at the level of the largest complete subtree that
    // ends at old_size; that subtree's hash comes first unless it is the
    // whole old tree.
    let (inner, border) = decompose_inclusion(old_size - 1, new_size);
    let shift = old_size.trailing_zeros() as usize;
    let inner = inner - shift;
    let (seed, rest) = if old_size == 1u64 << shift {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(ProofError::WrongLength { got: 0, want: 1 + inner + border }),
        }
    };
    let start = proof.len() - rest.len();
    if rest.len() != inner + border {
        return Err(ProofError::WrongLength { got: proof.len(), want: start + inner + border });
    }
    let mask = (old_size - 1) >> shift;
    let old = chain_border_right(chain_inner_right(seed, &rest[..inner], mask), &rest[inner..]);
    matches(old, old_root)?;
    let new = chain_border_right(chain_inner(seed, &rest[..inner], mask), &rest[inner..]);
    matches(new, new_root)
}

/// The size checks that come before anything else: the new tree may not be
/// smaller, and nothing is proved from the empty tree (not even to itself).
fn check_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
    if new_size < old_size {
        return Err(ProofError::SizeOrder { old_size, new_size });
    }
    if old_size == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    Ok(())
}

fn matches(computed: Hash, expected: &Hash) -> Result<(), ProofError> {
    if computed == *expected {
        Ok(())
    } else {
        Err(ProofError::RootMismatch { computed, expected: *expected })
    }
}

/// Splits the inclusion proof of `index` in a tree of `size` leaves into the
/// number of "inner" hashes (below the point where the paths to `index` and
/// to the last leaf diverge) and "border" hashes (above it).
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    (inner, border)
}

fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| {
        if (index >> i) & 1 == 0 {
            node_hash(&acc, h)
        } else {
            node_hash(h, &acc)
        }
    })
}

fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(
        seed,
        |acc, (i, h)| {
            if (index >> i) & 1 == 1 {
                node_hash(h, &acc)
            } else {
                acc
            }
        },
    )
}

fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}

/// Where proof generation reads hashes from: the hash of the complete,
/// aligned subtree covering leaves `[index << height, (index + 1) << height)`.
pub trait SubtreeSource {
    type Error;
    fn subtree(&self, height: u8, index: u64) -> Result<Hash, Self::Error>;

    /// The Merkle tree hash of leaves `[lo, hi)`, which the proofs below
    /// ask for once per sibling. The default assembles it from complete
    /// subtrees ([`range_hash`]); a source over an append-only tree may
    /// remember the ranges it has computed instead. Precondition:
    /// `lo < hi`.
    fn range(&self, lo: u64, hi: u64) -> Result<Hash, Self::Error> {
        range_hash(self, lo, hi)
    }
}

/// The Merkle tree hash of leaves `[lo, hi)` (RFC 6962 MTH over that range),
/// assembled from complete subtrees. Precondition: `lo < hi`.
pub fn range_hash<S: SubtreeSource + ?Sized>(src: &S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    debug_assert!(lo < hi);
    let n = hi - lo;
    if n.is_power_of_two() && lo % n == 0 {
        return src.subtree(n.trailing_zeros() as u8, lo / n);
    }
    let k = split_point(n);
    let left = range_hash(src, lo, lo + k)?;
    let right = range_hash(src, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// The inclusion proof for leaf `index` in the tree of `tree_size` leaves
/// (RFC 6962 PATH), leaf sibling first. Precondition: `index < tree_size`,
/// and `src` holds every complete subtree of that tree.
pub fn prove_inclusion<S: SubtreeSource + ?Sized>(
    src: &S,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, S::Error> {
    debug_assert!(index < tree_size);
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, tree_size);
    // Walk from the root down, collecting siblings; reverse at the end so
    // that the deepest sibling comes first.
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            path.push(src.range(lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(src.range(lo, lo + k)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between trees of `old_size` and `new_size` leaves
/// (RFC 6962 PROOF). Precondition: `0 < old_size <= new_size`; equal sizes
/// give the empty proof.
pub fn prove_consistency<S: SubtreeSource + ?Sized>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, S::Error> {
    debug_assert!(0 < old_size && old_size <= new_size);
    let mut proof = Vec::with_capacity(64);
    let (mut m, mut lo, mut hi) = (old_size, 0u64, new_size);
    // SUBPROOF(m, D[lo:hi], b), unrolled; `whole` is b.
    let mut whole = true;
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            proof.push(src.range(lo + k, hi)?);
            hi = lo + k;
        } else {
            proof.push(src.range(lo, lo + k)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        proof.push(src.range(lo, hi)?);
    }
    proof.reverse();
    Ok(proof)
}

/// A [`SubtreeSource`] over leaf hashes held in memory; for tests and for
/// proving over a small set of entries without storage.
pub struct InMemoryLeaves<'a>(pub &'a [Hash]);

impl SubtreeSource for InMemoryLeaves<'_> {
    type Error = std::convert::Infallible;
    fn subtree(&self, height: u8, index: u64) -> Result<Hash, Self::Error> {
        let lo = (index << height) as usize;
        Ok(crate::tree::complete_root(&self.0[lo..lo + (1usize << height)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{leaf_hash, root_of};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn every_inclusion_proof_in_small_trees_verifies() {
        for n in 1..=40u64 {
            let l = leaves(n);
            let root = root_of(&l);
            for i in 0..n {
                let p = prove_inclusion(&InMemoryLeaves(&l), i, n).unwrap();
                check_inclusion(&l[i as usize], i, n, &p, &root).unwrap();
                if n > 1 {
                    let other = (i + 1) % n;
                    assert!(check_inclusion(&l[i as usize], other, n, &p, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_in_small_trees_verifies() {
        for n in 1..=40u64 {
            let l = leaves(n);
            let new_root = root_of(&l);
            for m in 1..=n {
                let old_root = root_of(&l[..m as usize]);
                let p = prove_consistency(&InMemoryLeaves(&l), m, n).unwrap();
                check_consistency(m, n, &p, &old_root, &new_root).unwrap();
                if m < n {
                    assert!(check_consistency(m, n, &p, &new_root, &old_root).is_err());
                }
            }
        }
    }

    #[test]
    fn consistency_proof_rejects_swapped_roots() {
        let l = leaves(7);
        let (a, b) = (root_of(&l[..3]), root_of(&l));
        let p = prove_consistency(&InMemoryLeaves(&l), 3, 7).unwrap();
        assert!(matches!(check_consistency(3, 7, &p, &b, &a), Err(ProofError::RootMismatch { .. })));
    }

    #[test]
    fn consistency_from_size_zero_is_refused() {
        let r = crate::tree::empty_root();
        assert_eq!(check_consistency(0, 1, &[], &r, &r), Err(ProofError::FromEmptyTree));
        assert_eq!(check_consistency(0, 0, &[], &r, &r), Err(ProofError::FromEmptyTree));
    }
}
