//! Consistency between two checkpoints of one log: that the newer tree
//! extends the older one. The proof is fetched from the log
//! (`GET /proof/consistency`) and checked here, with `provlog-ledger`'s
//! RFC 9162 verifier, against the two roots the client already verified;
//! the server's opinion of its own proof is never asked. A log served as
//! static files (a bucket, `spec/mirror.md`) has no proof endpoint: there
//! the proof is assembled from its hash tiles, and checked the same way.
//!
//! Spec: `spec/client.md` ("Consistency"), `spec/tree.md`.

use crate::error::ClientError;
use crate::fetch::LogClient;
use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::proof::{self, SubtreeSource};
use provlog_ledger::tile::{self, TileKind, TILE_HEIGHT, TILE_WIDTH};
use provlog_ledger::tree::root_of;
use provlog_ledger::Hash;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// How two checkpoints were found consistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// The older tree is empty: every tree extends it.
    FromEmpty,
    /// Same size, same root.
    Same,
    /// A consistency proof from the older size to the newer one checked.
    Proved { proof_hashes: usize },
}

/// Checks `proof` (hashes as served) against two checkpoints of one log,
/// with nothing but hashes. A newer checkpoint smaller than the older one
/// is a rollback; equal sizes need equal roots.
///
/// # Errors
/// [`ClientError::Rollback`], [`ClientError::Fork`] or
/// [`ClientError::Inconsistent`], all failed verifications that
/// [`ClientError::is_fork`] recognizes.
pub fn check(old: &Checkpoint, new: &Checkpoint, proof: &[Hash]) -> Result<Consistency, ClientError> {
    if new.size < old.size {
        return Err(ClientError::Rollback { verified_size: old.size, served_size: new.size });
    }
    if old.size == new.size {
        if old.root != new.root {
            return Err(ClientError::Fork { size: old.size, verified_root: old.root, served_root: new.root });
        }
        return Ok(Consistency::Same);
    }
    if old.size == 0 {
        return Ok(Consistency::FromEmpty);
    }
    proof::check_consistency(old.size, new.size, proof, &old.root, &new.root)
        .map_err(|source| ClientError::Inconsistent { old_size: old.size, new_size: new.size, source })?;
    Ok(Consistency::Proved { proof_hashes: proof.len() })
}

/// Fetches the consistency proof between two checkpoints of the log (when
/// one is needed) and checks it with [`check`]. Both checkpoints must
/// already be verified against the trust policy.
///
/// # Errors
/// Transport failures of the fetch; otherwise as [`check`].
pub fn prove(client: &LogClient, old: &Checkpoint, new: &Checkpoint) -> Result<Consistency, ClientError> {
    if new.size <= old.size || old.size == 0 {
        return check(old, new, &[]);
    }
    let hashes = match client.consistency_proof(old.size, new.size) {
        Err(ClientError::HttpStatus { status: 404, .. }) => {
            proof::prove_consistency(&TileSubtrees::new(client, new.size), old.size, new.size)?
        }
        other => other?,
    };
    check(old, new, &hashes)
}

/// Subtree hashes read from a log's hash tiles as they stand at one tree
/// size (`spec/tiles.md`, "Computing proofs from tiles"). Unverified: what
/// it yields is only ever checked against verified roots.
pub struct TileSubtrees<'a> {
    client: &'a LogClient,
    size: u64,
    tiles: RefCell<HashMap<(u8, u64), Vec<Hash>>>,
}

impl<'a> TileSubtrees<'a> {
    pub fn new(client: &'a LogClient, size: u64) -> TileSubtrees<'a> {
        TileSubtrees { client, size, tiles: RefCell::default() }
    }
}

impl SubtreeSource for TileSubtrees<'_> {
    type Error = ClientError;

    fn subtree(&self, height: u8, index: u64) -> Result<Hash, ClientError> {
        let level = height / TILE_HEIGHT;
        let count = 1usize << (height % TILE_HEIGHT);
        let first = index << (height % TILE_HEIGHT);
        let (n, offset) = (first / TILE_WIDTH as u64, (first % TILE_WIDTH as u64) as usize);
        let mut tiles = self.tiles.borrow_mut();
        let hashes = match tiles.entry((level, n)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let t = tile::tile_at_size(TileKind::Hashes { level }, n, self.size).ok_or_else(|| {
                    ClientError::invalid(
                        "consistency proof",
                        format!("no tile {level}/{n} at size {}", self.size),
                    )
                })?;
                let bytes = self.client.tile(t)?;
                let url = format!("{}/{}", self.client.url(), t.path());
                let hashes = tile::decode_hashes(&bytes)
                    .map_err(|e| ClientError::BadResponse { url, reason: e.to_string() })?;
                e.insert(hashes)
            }
        };
        let range = hashes.get(offset..offset + count).ok_or_else(|| {
            ClientError::invalid(
                "consistency proof",
                format!("tile {level}/{n} has no hash {}", offset + count - 1),
            )
        })?;
        Ok(root_of(range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use provlog_ledger::proof::{prove_consistency, InMemoryLeaves};
    use provlog_ledger::tree::{empty_root, leaf_hash, root_of};

    fn leaves(n: u8, salt: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i, salt])).collect()
    }

    fn cp(leaves: &[Hash]) -> Checkpoint {
        Checkpoint::new("example.com/log", leaves.len() as u64, root_of(leaves))
    }

    #[test]
    fn a_proof_from_an_older_prefix_checks() {
        let all = leaves(11, 0);
        let proof = prove_consistency(&InMemoryLeaves(&all), 4, 11).unwrap();
        let got = check(&cp(&all[..4]), &cp(&all), &proof).unwrap();
        assert_eq!(got, Consistency::Proved { proof_hashes: proof.len() });
        assert_eq!(check(&cp(&all), &cp(&all), &[]).unwrap(), Consistency::Same);
        let empty = Checkpoint::new("example.com/log", 0, empty_root());
        assert_eq!(check(&empty, &cp(&all), &[]).unwrap(), Consistency::FromEmpty);
    }

    #[test]
    fn a_forked_history_is_refused_as_a_fork() {
        let honest = leaves(11, 0);
        let mut forked = honest.clone();
        forked[2] = leaf_hash(b"rewritten");
        // The forked log's own proof, honest about its own tree.
        let proof = prove_consistency(&InMemoryLeaves(&forked), 4, 11).unwrap();
        let e = check(&cp(&honest[..4]), &cp(&forked), &proof).unwrap_err();
        assert!(e.is_fork(), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Verification);
    }

    #[test]
    fn same_size_different_root_is_a_fork() {
        let e = check(&cp(&leaves(5, 0)), &cp(&leaves(5, 1)), &[]).unwrap_err();
        assert!(matches!(e, ClientError::Fork { size: 5, .. }));
    }

    #[test]
    fn a_smaller_tree_is_a_rollback() {
        let all = leaves(9, 0);
        let e = check(&cp(&all), &cp(&all[..3]), &[]).unwrap_err();
        assert!(matches!(e, ClientError::Rollback { verified_size: 9, served_size: 3 }));
        assert!(e.is_fork());
    }

    #[test]
    fn a_truncated_proof_is_inconsistent() {
        let all = leaves(11, 0);
        let proof = prove_consistency(&InMemoryLeaves(&all), 4, 11).unwrap();
        let e = check(&cp(&all[..4]), &cp(&all), &proof[1..]).unwrap_err();
        assert!(matches!(e, ClientError::Inconsistent { old_size: 4, new_size: 11, .. }));
    }
}
