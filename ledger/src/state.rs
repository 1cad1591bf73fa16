//! The log state that rules read: per-object facts, known event IDs, known
//! statements, and the registry — kept as indexes in the same store as the
//! tree and written in the same atomic batch as the entries that change them.
//!
//! Spec: `spec/rules.md` ("Log state").
//!
//! ```text
//! "o" || identifier                       object record (canonical CBOR)
//! "v" || eventID                          event record (canonical CBOR)
//! "m" || identifier || 0x00 || index BE   mention index (empty value; lineage reads it too)
//! "s" || statement ID                     entry index (u64 BE)
//! "R"                                     registry (JSON) || BLAKE3 of it
//! "L" ...                                 lineage index (`spec/lineage.md` §2,
//!                                         `ledger/src/lineage/index.rs`)
//! ```
//!
//! Identifiers are canonical identifier strings (`spec/epcis.md`); they are
//! URIs and never contain 0x00.

use crate::cbor::{self, Limits, Value};
use crate::governance::Registry;
use crate::storage::{prefix_end, Batch, StorageError, Store};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const PREFIX_OBJECT: u8 = b'o';
pub(crate) const PREFIX_EVENT: u8 = b'v';
const PREFIX_MENTION: u8 = b'm';
pub(crate) const PREFIX_STATEMENT: u8 = b's';
const KEY_REGISTRY: &[u8] = b"R";
/// The first byte of every lineage index key (`crate::lineage`).
pub(crate) const PREFIX_LINEAGE: u8 = b'L';

/// What the log knows about one object (an EPC, a lot, a container).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRecord {
    /// The first entry that mentioned it.
    pub first_index: u64,
    /// The issuer of that entry.
    pub first_issuer: String,
    /// Earliest event time (UNIX ms) of a `shipping` event that names it.
    pub first_shipped_ms: Option<i64>,
    /// Event time of the event that destroyed or decommissioned it.
    pub destroyed_ms: Option<i64>,
}

/// What the log knows about one event ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventRecord {
    /// The entry holding the event.
    pub index: u64,
    pub issuer: String,
    /// The entry holding an error declaration for it, if any.
    pub declared_at: Option<u64>,
}

fn key(prefix: u8, id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id);
    k
}

fn opt_int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::int)
}

impl ObjectRecord {
    fn encode(&self) -> Vec<u8> {
        cbor::encode(&Value::Array(vec![
            Value::Unsigned(self.first_index),
            Value::text(self.first_issuer.clone()),
            opt_int(self.first_shipped_ms),
            opt_int(self.destroyed_ms),
        ]))
    }

    fn decode(b: &[u8]) -> Result<Self, StorageError> {
        let bad = || StorageError::corrupt("object record");
        let v = cbor::decode(b, &Limits::default()).map_err(|_| bad())?;
        match v.as_array() {
            Some([a, b, c, d]) => Ok(ObjectRecord {
                first_index: a.as_u64().ok_or_else(bad)?,
                first_issuer: b.as_text().ok_or_else(bad)?.to_owned(),
                first_shipped_ms: if c.is_null() { None } else { Some(c.as_i64().ok_or_else(bad)?) },
                destroyed_ms: if d.is_null() { None } else { Some(d.as_i64().ok_or_else(bad)?) },
            }),
            _ => Err(bad()),
        }
    }
}

impl EventRecord {
    fn encode(&self) -> Vec<u8> {
        cbor::encode(&Value::Array(vec![
            Value::Unsigned(self.index),
            Value::text(self.issuer.clone()),
            self.declared_at.map_or(Value::Null, Value::Unsigned),
        ]))
    }

    fn decode(b: &[u8]) -> Result<Self, StorageError> {
        let bad = || StorageError::corrupt("event record");
        let v = cbor::decode(b, &Limits::default()).map_err(|_| bad())?;
        match v.as_array() {
            Some([a, b, c]) => Ok(EventRecord {
                index: a.as_u64().ok_or_else(bad)?,
                issuer: b.as_text().ok_or_else(bad)?.to_owned(),
                declared_at: if c.is_null() { None } else { Some(c.as_u64().ok_or_else(bad)?) },
            }),
            _ => Err(bad()),
        }
    }
}

/// Read access to the state as of some point in the log.
pub trait StateView {
    fn object(&self, id: &str) -> Result<Option<ObjectRecord>, StorageError>;
    fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StorageError>;
    fn statement_index(&self, statement_id: &[u8; 32]) -> Result<Option<u64>, StorageError>;
}

/// The state as committed in a store.
#[derive(Clone)]
pub struct StoredState {
    store: Arc<dyn Store>,
}

impl StoredState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Loads the registry, or `None` before genesis.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] if the record fails its checksum or does
    /// not parse.
    pub fn load_registry(&self) -> Result<Option<Registry>, StorageError> {
        let Some(v) = self.store.get(KEY_REGISTRY)? else { return Ok(None) };
        if v.len() < 32 {
            return Err(StorageError::corrupt("registry record too short"));
        }
        let (json, sum) = v.split_at(v.len() - 32);
        if blake3::hash(json).as_bytes() != sum {
            return Err(StorageError::corrupt("registry record checksum mismatch"));
        }
        let mut r: Registry = serde_json::from_slice(json)
            .map_err(|e| StorageError::corrupt(format!("registry record: {e}")))?;
        r.reindex().map_err(|e| StorageError::corrupt(format!("registry record: {e}")))?;
        Ok(Some(r))
    }

    /// Entry indexes that mention `id`, from `start_index` on, at most `limit`.
    pub fn mentions(&self, id: &str, start_index: u64, limit: usize) -> Result<Vec<u64>, StorageError> {
        let mut prefix = key(PREFIX_MENTION, id.as_bytes());
        prefix.push(0);
        let mut start = prefix.clone();
        start.extend_from_slice(&start_index.to_be_bytes());
        let recs = self.store.range(&start, &prefix_end(&prefix), limit, false)?;
        recs.iter()
            .map(|(k, _)| {
                let tail = &k[prefix.len()..];
                <[u8; 8]>::try_from(tail)
                    .map(u64::from_be_bytes)
                    .map_err(|_| StorageError::corrupt("mention index key"))
            })
            .collect()
    }
}

impl StateView for StoredState {
    fn object(&self, id: &str) -> Result<Option<ObjectRecord>, StorageError> {
        self.store.get(&key(PREFIX_OBJECT, id.as_bytes()))?.map(|b| ObjectRecord::decode(&b)).transpose()
    }

    fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StorageError> {
        self.store.get(&key(PREFIX_EVENT, event_id.as_bytes()))?.map(|b| EventRecord::decode(&b)).transpose()
    }

    fn statement_index(&self, statement_id: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        match self.store.get(&key(PREFIX_STATEMENT, statement_id))? {
            None => Ok(None),
            Some(v) => <[u8; 8]>::try_from(v.as_slice())
                .map(|b| Some(u64::from_be_bytes(b)))
                .map_err(|_| StorageError::corrupt("statement index record")),
        }
    }
}

/// Changes made by entries not yet committed, layered over a [`StateView`]:
/// statements in one batch see the effects of the ones before them, exactly
/// as a replay applying entries one at a time does.
///
/// Object and event records read from the base are remembered for the
/// batch, absent ones included: the rules look an event's objects up and
/// applying the accepted event looks them up again, and a lookup of a key
/// that is not there probes the filter of every table of the LSM tree.
pub struct PendingState<'a> {
    base: &'a dyn StateView,
    objects: Memo<ObjectRecord>,
    events: Memo<EventRecord>,
    statements: HashMap<[u8; 32], u64>,
    batch: Batch,
}

/// Records by identifier: written in this batch, or read from the base
/// (`None`: not there).
type Memo<T> = RefCell<HashMap<String, Option<T>>>;

/// The record for `id`: from the memo, else from `read` (remembered).
fn memoized<T: Clone>(
    memo: &Memo<T>,
    id: &str,
    read: impl FnOnce() -> Result<Option<T>, StorageError>,
) -> Result<Option<T>, StorageError> {
    if let Some(r) = memo.borrow().get(id) {
        return Ok(r.clone());
    }
    let r = read()?;
    memo.borrow_mut().insert(id.to_owned(), r.clone());
    Ok(r)
}

impl<'a> PendingState<'a> {
    pub fn new(base: &'a dyn StateView) -> Self {
        Self {
            base,
            objects: RefCell::default(),
            events: RefCell::default(),
            statements: HashMap::new(),
            batch: Batch::new(),
        }
    }

    pub fn put_object(&mut self, id: &str, rec: ObjectRecord) {
        self.batch.put(key(PREFIX_OBJECT, id.as_bytes()), rec.encode());
        self.objects.get_mut().insert(id.to_owned(), Some(rec));
    }

    pub fn put_event(&mut self, event_id: &str, rec: EventRecord) {
        self.batch.put(key(PREFIX_EVENT, event_id.as_bytes()), rec.encode());
        self.events.get_mut().insert(event_id.to_owned(), Some(rec));
    }

    pub fn put_mention(&mut self, id: &str, index: u64) {
        let mut k = key(PREFIX_MENTION, id.as_bytes());
        k.push(0);
        k.extend_from_slice(&index.to_be_bytes());
        self.batch.put(k, Vec::new());
    }

    pub fn put_statement(&mut self, statement_id: &[u8; 32], index: u64) {
        self.batch.put(key(PREFIX_STATEMENT, statement_id), index.to_be_bytes().to_vec());
        self.statements.insert(*statement_id, index);
    }

    /// A lineage index record (`spec/lineage.md` §2). Lineage records are
    /// only written, never read back within a batch.
    pub(crate) fn put_lineage(&mut self, key: Vec<u8>, value: Vec<u8>) {
        debug_assert_eq!(key.first(), Some(&PREFIX_LINEAGE));
        self.batch.put(key, value);
    }

    pub fn put_registry(&mut self, registry: &Registry) {
        let mut v = serde_json::to_vec(registry).expect("serializable");
        let sum = *blake3::hash(&v).as_bytes();
        v.extend_from_slice(&sum);
        self.batch.put(KEY_REGISTRY, v);
    }

    /// The records to commit with the entries.
    pub fn into_batch(self) -> Batch {
        self.batch
    }
}

impl StateView for PendingState<'_> {
    fn object(&self, id: &str) -> Result<Option<ObjectRecord>, StorageError> {
        memoized(&self.objects, id, || self.base.object(id))
    }

    fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StorageError> {
        memoized(&self.events, event_id, || self.base.event(event_id))
    }

    fn statement_index(&self, statement_id: &[u8; 32]) -> Result<Option<u64>, StorageError> {
        match self.statements.get(statement_id) {
            Some(i) => Ok(Some(*i)),
            None => self.base.statement_index(statement_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    #[test]
    fn pending_changes_shadow_the_store_until_committed() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let stored = StoredState::new(store.clone());
        let mut p = PendingState::new(&stored);
        let rec = ObjectRecord {
            first_index: 3,
            first_issuer: "p".into(),
            first_shipped_ms: Some(5),
            destroyed_ms: None,
        };
        p.put_object("urn:x", rec.clone());
        p.put_mention("urn:x", 3);
        p.put_mention("urn:x", 9);
        p.put_statement(&[1; 32], 3);
        assert_eq!(p.object("urn:x").unwrap(), Some(rec.clone()));
        assert_eq!(stored.object("urn:x").unwrap(), None);
        store.commit(&p.into_batch()).unwrap();
        assert_eq!(stored.object("urn:x").unwrap(), Some(rec));
        assert_eq!(stored.mentions("urn:x", 0, 10).unwrap(), vec![3, 9]);
        assert_eq!(stored.mentions("urn:x", 4, 10).unwrap(), vec![9]);
        assert_eq!(stored.mentions("urn:", 0, 10).unwrap(), Vec::<u64>::new());
        assert_eq!(stored.statement_index(&[1; 32]).unwrap(), Some(3));
    }

    /// A base that counts the lookups that reach it.
    struct Counting<'a>(&'a StoredState, std::cell::Cell<usize>);

    impl StateView for Counting<'_> {
        fn object(&self, id: &str) -> Result<Option<ObjectRecord>, StorageError> {
            self.1.set(self.1.get() + 1);
            self.0.object(id)
        }
        fn event(&self, event_id: &str) -> Result<Option<EventRecord>, StorageError> {
            self.1.set(self.1.get() + 1);
            self.0.event(event_id)
        }
        fn statement_index(&self, statement_id: &[u8; 32]) -> Result<Option<u64>, StorageError> {
            self.0.statement_index(statement_id)
        }
    }

    #[test]
    fn a_batch_reads_each_record_from_the_base_once_and_sees_its_own_writes() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let stored = StoredState::new(store.clone());
        let old = EventRecord { index: 1, issuer: "a".into(), declared_at: None };
        let mut b = PendingState::new(&stored);
        b.put_event("e-old", old.clone());
        store.commit(&b.into_batch()).unwrap();

        let base = Counting(&stored, std::cell::Cell::new(0));
        let mut p = PendingState::new(&base);
        assert_eq!(p.event("e-old").unwrap(), Some(old.clone()));
        assert_eq!(p.event("e-old").unwrap(), Some(old));
        assert_eq!(p.object("urn:new").unwrap(), None);
        assert_eq!(p.object("urn:new").unwrap(), None);
        assert_eq!(base.1.get(), 2, "one base read per record, absent ones included");
        // A remembered absence gives way to a write in the same batch.
        let rec = ObjectRecord { first_index: 4, first_issuer: "b".into(), ..Default::default() };
        p.put_object("urn:new", rec.clone());
        assert_eq!(p.object("urn:new").unwrap(), Some(rec));
        assert_eq!(base.1.get(), 2);
    }

    /// A base whose first object lookup fails.
    struct FailsOnce(std::cell::Cell<bool>);

    impl StateView for FailsOnce {
        fn object(&self, _: &str) -> Result<Option<ObjectRecord>, StorageError> {
            if self.0.replace(false) {
                return Err(StorageError::corrupt("first read fails"));
            }
            Ok(Some(ObjectRecord { first_index: 1, first_issuer: "a".into(), ..Default::default() }))
        }
        fn event(&self, _: &str) -> Result<Option<EventRecord>, StorageError> {
            Ok(None)
        }
        fn statement_index(&self, _: &[u8; 32]) -> Result<Option<u64>, StorageError> {
            Ok(None)
        }
    }

    #[test]
    fn a_failed_base_read_is_not_remembered() {
        let base = FailsOnce(std::cell::Cell::new(true));
        let p = PendingState::new(&base);
        assert!(p.object("urn:x").is_err());
        assert_eq!(p.object("urn:x").unwrap().map(|r| r.first_index), Some(1));
    }

    #[test]
    fn event_record_round_trips() {
        let r = EventRecord { index: 7, issuer: "a".into(), declared_at: Some(9) };
        assert_eq!(EventRecord::decode(&r.encode()).unwrap(), r);
    }
}
