//! The witness's durable state, kept in a [`Store`]: per log, the latest
//! checkpoint it cosigned and every checkpoint it ever cosigned; and the
//! evidence of misbehavior it was shown.
//!
//! Spec: `spec/witness.md` ("State and storage").
//!
//! ```text
//! "L" || SHA-256(origin)                    latest cosigned checkpoint of the log
//! "H" || SHA-256(origin) || size u64 BE     first cosigned checkpoint of each size
//! "X" || evidence ID (32 bytes)             one evidence record (JSON)
//! value = 0x01 || BLAKE3(key || payload) || payload
//! ```
//!
//! A cosigned checkpoint is stored as a signed note: the checkpoint text,
//! the log signatures the witness verified, and the witness's cosignature.
//! One cosignature writes its "L" and "H" records in one batch, and the
//! batch is flushed before the cosignature is returned.

use provlog_ledger::checkpoint::Checkpoint;
use provlog_ledger::note;
use provlog_ledger::storage::{prefix_end, Batch, StorageError, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const PREFIX_LATEST: u8 = b'L';
const PREFIX_HISTORY: u8 = b'H';
const PREFIX_EVIDENCE: u8 = b'X';
const RECORD_VERSION: u8 = 1;
/// `GET /evidence` lists at most this many records.
pub const MAX_EVIDENCE_LISTED: usize = 10_000;

/// SHA-256 of a log origin: how the state and the monitoring API name a log.
pub fn origin_hash(origin: &str) -> [u8; 32] {
    Sha256::digest(origin.as_bytes()).into()
}

/// A checkpoint the witness cosigned, as the signed note it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Checkpoint text, blank line, verified log signatures, cosignature.
    pub note: String,
}

impl CosignedCheckpoint {
    fn decode(note: String) -> Result<Self, StorageError> {
        let (text, _) =
            note::split(&note).map_err(|e| StorageError::corrupt(format!("cosigned note: {e}")))?;
        let checkpoint = Checkpoint::parse(text)
            .map_err(|e| StorageError::corrupt(format!("cosigned checkpoint: {e}")))?;
        Ok(Self { checkpoint, note })
    }
}

/// A refused submission kept as evidence of log misbehavior
/// (`spec/witness.md`, "Evidence").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Lower-case hex BLAKE3 of the kind, the cosigned checkpoint text and
    /// the submitted checkpoint text: one record per such triple.
    pub id: String,
    /// `fork`, `inconsistent-proof` or `bad-empty-root`.
    pub kind: String,
    pub origin: String,
    /// When the witness received it, UNIX seconds.
    pub received: u64,
    /// Why it was refused, as in the 422 response.
    pub reason: String,
    /// The latest checkpoint the witness had cosigned for the log at the
    /// time (a signed note with the log's signatures and the witness's
    /// cosignature), or `null` if none.
    pub cosigned: Option<String>,
    /// The `add-checkpoint` request body exactly as received.
    pub request: String,
}

/// One line of the evidence listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceSummary {
    pub id: String,
    pub kind: String,
    pub origin: String,
    pub received: u64,
}

impl Evidence {
    /// The ID of evidence of `kind` about `submitted_text` refused against
    /// `cosigned_text` (checkpoint texts, without signatures, so that the
    /// same pair shown again is one record).
    pub fn id_for(kind: &str, cosigned_text: Option<&str>, submitted_text: &str) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"provlog-witness evidence v1\n");
        for part in [kind, cosigned_text.unwrap_or(""), submitted_text] {
            h.update(&(part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().to_hex().to_string()
    }
}

fn encode(key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = blake3::Hasher::new();
    h.update(key);
    h.update(payload);
    let mut v = Vec::with_capacity(33 + payload.len());
    v.push(RECORD_VERSION);
    v.extend_from_slice(h.finalize().as_bytes());
    v.extend_from_slice(payload);
    v
}

fn decode<'a>(key: &[u8], value: &'a [u8]) -> Result<&'a [u8], StorageError> {
    if value.len() < 33 || value[0] != RECORD_VERSION {
        return Err(StorageError::corrupt(format!("record {} has a bad header", hex::encode(key))));
    }
    let payload = &value[33..];
    let mut h = blake3::Hasher::new();
    h.update(key);
    h.update(payload);
    if h.finalize().as_bytes() != &value[1..33] {
        return Err(StorageError::corrupt(format!("record {} fails its checksum", hex::encode(key))));
    }
    Ok(payload)
}

fn decode_string(key: &[u8], value: &[u8]) -> Result<String, StorageError> {
    String::from_utf8(decode(key, value)?.to_vec())
        .map_err(|_| StorageError::corrupt(format!("record {} is not UTF-8", hex::encode(key))))
}

fn latest_key(origin_hash: &[u8; 32]) -> Vec<u8> {
    let mut k = vec![PREFIX_LATEST];
    k.extend_from_slice(origin_hash);
    k
}

fn history_key(origin_hash: &[u8; 32], size: u64) -> Vec<u8> {
    let mut k = vec![PREFIX_HISTORY];
    k.extend_from_slice(origin_hash);
    k.extend_from_slice(&size.to_be_bytes());
    k
}

fn evidence_key(id: &str) -> Option<Vec<u8>> {
    let bytes =
        hex::decode(id).ok().filter(|b| b.len() == 32 && id.bytes().all(|c| !c.is_ascii_uppercase()))?;
    let mut k = vec![PREFIX_EVIDENCE];
    k.extend_from_slice(&bytes);
    Some(k)
}

/// The witness's records in a store. Callers serialize the read-check-write
/// of one log (the [`crate::Witness`] holds a lock per log around it).
#[derive(Clone)]
pub struct WitnessState {
    store: Arc<dyn Store>,
}

impl WitnessState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The latest checkpoint cosigned for the log whose origin hashes to
    /// `origin_hash`.
    ///
    /// # Errors
    /// [`StorageError`] if the store fails or the record is corrupt.
    pub fn latest(&self, origin_hash: &[u8; 32]) -> Result<Option<CosignedCheckpoint>, StorageError> {
        let key = latest_key(origin_hash);
        match self.store.get(&key)? {
            None => Ok(None),
            Some(v) => CosignedCheckpoint::decode(decode_string(&key, &v)?).map(Some),
        }
    }

    /// Every checkpoint cosigned for the log, smallest first (the first
    /// cosignature of each size).
    ///
    /// # Errors
    /// [`StorageError`] if the store fails or a record is corrupt.
    pub fn history(&self, origin_hash: &[u8; 32]) -> Result<Vec<CosignedCheckpoint>, StorageError> {
        let start = history_key(origin_hash, 0);
        let end = prefix_end(&start[..33]);
        let mut out = Vec::new();
        for (k, v) in self.store.range(&start, &end, usize::MAX, false)? {
            out.push(CosignedCheckpoint::decode(decode_string(&k, &v)?)?);
        }
        Ok(out)
    }

    /// Records `cosigned` as the log's latest checkpoint (and in its history
    /// if no checkpoint of that size was cosigned before), in one batch, and
    /// flushes it to disk.
    ///
    /// # Errors
    /// [`StorageError`] from the commit (nothing changed) or the flush (the
    /// batch is visible but may not be durable).
    pub fn record_cosigned(&self, cosigned: &CosignedCheckpoint) -> Result<(), StorageError> {
        let oh = origin_hash(&cosigned.checkpoint.origin);
        let mut batch = Batch::new();
        let latest = latest_key(&oh);
        batch.put(latest.clone(), encode(&latest, cosigned.note.as_bytes()));
        let hist = history_key(&oh, cosigned.checkpoint.size);
        if self.store.get(&hist)?.is_none() {
            batch.put(hist.clone(), encode(&hist, cosigned.note.as_bytes()));
        }
        self.store.commit(&batch)?;
        self.store.flush()
    }

    /// Stores `evidence` unless a record with its ID exists, and flushes.
    /// Returns whether it was new.
    ///
    /// # Errors
    /// [`StorageError`] if the store fails.
    pub fn record_evidence(&self, evidence: &Evidence) -> Result<bool, StorageError> {
        let key = evidence_key(&evidence.id).expect("evidence IDs are 64 hex digits");
        if self.store.get(&key)?.is_some() {
            return Ok(false);
        }
        let json = serde_json::to_vec(evidence).expect("evidence serializes");
        let mut batch = Batch::new();
        batch.put(key.clone(), encode(&key, &json));
        self.store.commit(&batch)?;
        self.store.flush()?;
        Ok(true)
    }

    /// The evidence record `id` (64 lower-case hex digits), if any.
    ///
    /// # Errors
    /// [`StorageError`] if the store fails or the record is corrupt.
    pub fn evidence(&self, id: &str) -> Result<Option<Evidence>, StorageError> {
        let Some(key) = evidence_key(id) else { return Ok(None) };
        match self.store.get(&key)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(decode(&key, &v)?)
                .map(Some)
                .map_err(|e| StorageError::corrupt(format!("evidence {id}: {e}"))),
        }
    }

    /// Up to [`MAX_EVIDENCE_LISTED`] evidence records, newest first.
    ///
    /// # Errors
    /// [`StorageError`] if the store fails or a record is corrupt.
    pub fn evidence_list(&self) -> Result<Vec<EvidenceSummary>, StorageError> {
        let start = [PREFIX_EVIDENCE];
        let mut out = Vec::new();
        for (k, v) in self.store.range(&start, &prefix_end(&start), MAX_EVIDENCE_LISTED, false)? {
            let e: Evidence = serde_json::from_slice(decode(&k, &v)?)
                .map_err(|e| StorageError::corrupt(format!("evidence {}: {e}", hex::encode(&k[1..]))))?;
            out.push(EvidenceSummary { id: e.id, kind: e.kind, origin: e.origin, received: e.received });
        }
        out.sort_by(|a, b| b.received.cmp(&a.received).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provlog_ledger::storage::MemoryStore;
    use provlog_ledger::tree::empty_root;

    fn cosigned(size: u64, tag: &str) -> CosignedCheckpoint {
        let checkpoint = Checkpoint::new("example.com/log", size, empty_root());
        let note = format!("{}\n\u{2014} {tag} AAAAAAA=\n", checkpoint.to_text());
        CosignedCheckpoint { checkpoint, note }
    }

    #[test]
    fn latest_moves_and_history_keeps_the_first_of_each_size() {
        let s = WitnessState::new(Arc::new(MemoryStore::new()));
        let oh = origin_hash("example.com/log");
        assert_eq!(s.latest(&oh).unwrap(), None);
        for (size, tag) in [(3, "a"), (5, "b"), (5, "c")] {
            s.record_cosigned(&cosigned(size, tag)).unwrap();
        }
        assert_eq!(s.latest(&oh).unwrap(), Some(cosigned(5, "c")));
        assert_eq!(s.history(&oh).unwrap(), vec![cosigned(3, "a"), cosigned(5, "b")]);
        assert!(s.history(&origin_hash("other")).unwrap().is_empty());
    }

    #[test]
    fn corrupt_records_are_reported_not_trusted() {
        let store = Arc::new(MemoryStore::new());
        let s = WitnessState::new(store.clone());
        s.record_cosigned(&cosigned(3, "a")).unwrap();
        let key = latest_key(&origin_hash("example.com/log"));
        let mut v = store.get(&key).unwrap().unwrap();
        let last = v.len() - 2;
        v[last] ^= 1;
        let mut b = Batch::new();
        b.put(key, v);
        store.commit(&b).unwrap();
        assert!(matches!(s.latest(&origin_hash("example.com/log")), Err(StorageError::Corrupt { .. })));
    }

    #[test]
    fn evidence_is_stored_once_per_id_and_listed_newest_first() {
        let s = WitnessState::new(Arc::new(MemoryStore::new()));
        let mk = |received, sub: &str| {
            let id = Evidence::id_for("fork", Some("a\n"), sub);
            Evidence {
                id,
                kind: "fork".into(),
                origin: "o".into(),
                received,
                reason: "r".into(),
                cosigned: None,
                request: sub.into(),
            }
        };
        assert!(s.record_evidence(&mk(1, "x\n")).unwrap());
        assert!(!s.record_evidence(&mk(2, "x\n")).unwrap());
        assert!(s.record_evidence(&mk(3, "y\n")).unwrap());
        let list = s.evidence_list().unwrap();
        assert_eq!(list.iter().map(|e| e.received).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(s.evidence(&list[1].id).unwrap(), Some(mk(1, "x\n")));
        assert_eq!(s.evidence(&"0".repeat(64)).unwrap(), None);
        assert_eq!(s.evidence("not hex").unwrap(), None);
        assert_eq!(s.evidence(&list[1].id.to_uppercase()).unwrap(), None);
    }
}
