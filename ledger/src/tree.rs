//! RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256, and the compact
//! range ("frontier") that lets an append-only tree keep O(log n) state.
//!
//! Spec: `spec/tree.md`.
//!
//! ```text
//! leaf hash  = SHA-256(0x00 || entry)
//! node hash  = SHA-256(0x01 || left || right)
//! empty root = SHA-256("")
//! MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

/// Size in bytes of every hash in the tree.
pub const HASH_SIZE: usize = 32;

/// The length of a hash in standard base64 with padding.
pub const BASE64_LEN: usize = 44;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// Reads a hash from exactly 32 bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; HASH_SIZE]>::try_from(bytes).ok().map(Hash)
    }

    /// Parses standard base64 (with padding) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Hash> {
        // 32 bytes encode to exactly 44 characters; refuse anything else
        // before decoding so that hostile input costs nothing.
        if text.len() != BASE64_LEN {
            return None;
        }
        let bytes = BASE64.decode(text).ok()?;
        Hash::from_slice(&bytes)
    }

    /// Standard base64 with padding, as used by checkpoints and proofs.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// [`Hash::to_base64`] into `buf`, without allocating.
    pub fn base64_in<'a>(&self, buf: &'a mut [u8; BASE64_LEN]) -> &'a str {
        let n = BASE64.encode_slice(self.0, buf).expect("32 bytes encode to 44");
        debug_assert_eq!(n, BASE64_LEN);
        std::str::from_utf8(buf).expect("base64 is ASCII")
    }

    /// Lower-case hexadecimal.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base64_in(&mut [0; BASE64_LEN]))
    }
}

/// A hash serializes as its base64 string, as proofs carry it in JSON.
impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.base64_in(&mut [0; BASE64_LEN]))
    }
}

/// The leaf hash of an entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = 1;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The largest power of two strictly smaller than `n`. Precondition: `n >= 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of a complete (power-of-two sized) run of hashes at one height.
/// Precondition: `hashes.len()` is a power of two and at least 1.
pub fn complete_root(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two());
    if hashes.len() == 1 {
        return hashes[0];
    }
    let mut level: Vec<Hash> = hashes.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    while level.len() > 1 {
        for i in 0..level.len() / 2 {
            level[i] = node_hash(&level[2 * i], &level[2 * i + 1]);
        }
        level.truncate(level.len() / 2);
    }
    level[0]
}

/// The Merkle tree hash of any number of leaf hashes (RFC 6962 MTH),
/// computed bottom-up with unpaired right nodes promoted.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    let mut f = Frontier::default();
    for h in leaf_hashes {
        f.push(*h, |_, _, _| {});
    }
    f.root()
}

/// The compact range `[0, size)` of an append-only tree: the roots of the
/// maximal complete subtrees, largest (leftmost) first. Holds one hash per
/// set bit of `size`, so at most 64.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `nodes[i]` is the root of a complete subtree; heights strictly decrease.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// Rebuilds a frontier from its size and nodes.
    ///
    /// # Errors
    /// `None` when the number of nodes is not the number of set bits of `size`.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Frontier> {
        (nodes.len() == size.count_ones() as usize).then_some(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends one leaf hash. For every complete subtree that the append
    /// finishes, calls `completed(height, index, hash)` in increasing height,
    /// where the subtree covers leaves `[index << height, (index + 1) << height)`.
    /// Height 0 (the leaf itself) is reported too.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(u8, u64, &Hash)) {
        let index = self.size;
        completed(0, index, &leaf);
        let mut hash = leaf;
        let mut height = 0u8;
        // Each trailing one bit of the old size is a subtree of that height
        // that the new leaf completes into a larger one.
        let mut carry = index;
        while carry & 1 == 1 {
            let left = self.nodes.pop().expect("frontier holds one node per set bit");
            hash = node_hash(&left, &hash);
            height += 1;
            carry >>= 1;
            completed(height, (index + 1) / (1u64 << height) - 1, &hash);
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The tree root at the current size.
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(empty_root().to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let a = leaf_hash(b"");
        // RFC 6962 test vector: leaf hash of the empty entry.
        assert_eq!(a.to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        assert_ne!(node_hash(&a, &a), leaf_hash(&[a.0, a.0].concat()));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
        assert_eq!(split_point((1 << 40) + 1), 1 << 40);
    }

    #[test]
    fn frontier_reports_completed_subtrees() {
        let mut f = Frontier::default();
        let mut seen = Vec::new();
        for i in 0..4u8 {
            f.push(leaf_hash(&[i]), |h, idx, _| seen.push((h, idx)));
        }
        assert_eq!(seen, vec![(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0)]);
        assert_eq!(f.nodes().len(), 1);
    }

    #[test]
    fn base64_round_trip_and_length_checks() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Some(h));
        assert_eq!(Hash::from_base64("AAAA"), None);
        assert_eq!(Hash::from_slice(&[0u8; 31]), None);
    }

    /// Display, serde and the allocation-free encoder all give the
    /// standard base64 of the 32 bytes.
    #[test]
    fn hash_text_forms_agree() {
        // SHA-256("") in base64, from RFC 6962's empty-tree root.
        let empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        let h = empty_root();
        assert_eq!(h.to_base64(), empty);
        assert_eq!(h.base64_in(&mut [0; BASE64_LEN]), empty);
        assert_eq!(h.to_string(), empty);
        assert_eq!(serde_json::to_string(&[h, leaf_hash(b"x")]).unwrap(), {
            format!("[\"{empty}\",\"{}\"]", leaf_hash(b"x").to_base64())
        });
    }
}
