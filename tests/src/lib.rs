//! # provlog-tests
//!
//! End-to-end tests that run provlog's real binaries on loopback ports and
//! real sled files, the crash harnesses that kill them with SIGKILL, and the
//! benchmark binaries. Shared helpers for those live here.

/// The deterministic entry at `index` used by the tree crash harness and the
/// tree benchmark: its content is a pure function of the index, so a
/// survivor can be checked without any record of what was written.
pub fn synthetic_entry(index: u64) -> Vec<u8> {
    let len = 64 + (index.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 57) as usize;
    let mut e = Vec::with_capacity(len + 8);
    e.extend_from_slice(&index.to_be_bytes());
    e.resize(len + 8, (index % 251) as u8);
    e
}
