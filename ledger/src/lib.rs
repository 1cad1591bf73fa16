//! # provlog-ledger
//!
//! The core of provlog, a transparency log for supply-chain provenance. This
//! crate holds everything that must be computed the same way by the log, its
//! witnesses, its clients and its auditors:
//!
//! - [`tree`]: RFC 6962 hashing with SHA-256 and the O(log n) frontier;
//! - [`proof`]: inclusion and consistency proofs, built and checked;
//! - [`tile`]: C2SP tlog-tiles coordinates, paths and entry bundles;
//! - [`tiled_tree`]: the append-only tree stored as tiles, with proofs at any
//!   historical size read from stored tiles;
//! - [`note`], [`checkpoint`], [`cosignature`]: C2SP signed notes,
//!   checkpoints and witness cosignatures;
//! - [`storage`]: the small storage trait, its sled and in-memory
//!   implementations, and their conformance suite.
//!
//! Out of scope: networking, async runtimes, reading the environment. The
//! servers (`provlog-api`, `provlog-witness`) and the client wrap this crate.
//! The formats are specified in the repository's `spec/` directory.

pub mod checkpoint;
pub mod cosignature;
pub mod note;
pub mod proof;
pub mod storage;
pub mod tile;
pub mod tiled_tree;
pub mod tree;

pub use tree::Hash;
