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
//! - [`witness_protocol`], [`policy`]: the C2SP tlog-witness request,
//!   responses and decision, and C2SP tlog-policy quorums;
//! - [`eddsa`]: the Ed25519 predicate (exactly `verify_strict`'s set);
//! - [`cbor`], [`cose`], [`statement`]: strict canonical CBOR, COSE_Sign1
//!   and COSE_Sign with Ed25519, and the signed-statement profile with its
//!   statement ID;
//! - [`epcis`]: GS1 EPCIS 2.0 event payloads in JSON, checked against the
//!   schema and CBV, normalized for rules and lineage;
//! - [`entry`]: the entry record each leaf hashes;
//! - [`governance`]: genesis, governance actions and the registry of
//!   partners, keys and rule sets they build;
//! - [`rules`]: the source-verification rules and the deterministic decision;
//! - [`state`]: the indexes the rules read, updated with each append;
//! - [`lineage`]: the lineage index written with each accepted event, and
//!   trace back, trace forward and recall-scope queries with their exports;
//! - [`log`]: registration (decide, append, index in one atomic batch) and
//!   replay from entry 0;
//! - [`receipt`]: C2SP tlog-proof receipts;
//! - [`keyfile`]: key files (one signer key line, mode 0600);
//! - [`storage`]: the small storage trait, its sled and in-memory
//!   implementations, and their conformance suite.
//!
//! Out of scope: networking, async runtimes, reading the environment. The
//! servers (`provlog-api`, `provlog-witness`) and the client wrap this crate.
//! The formats are specified in the repository's `spec/` directory.

pub mod cbor;
pub mod checkpoint;
pub mod cose;
pub mod cosignature;
pub mod eddsa;
pub mod entry;
pub mod epcis;
pub mod governance;
pub mod keyfile;
pub mod known_keys;
pub mod lineage;
pub mod log;
pub mod note;
pub mod policy;
pub mod proof;
pub mod receipt;
pub mod rules;
pub mod state;
pub mod statement;
pub mod storage;
pub mod tile;
pub mod tiled_tree;
pub mod tree;
pub mod witness_protocol;

pub use tree::Hash;
