//! The lineage index records: their keys, the writer the log calls for each
//! accepted event, and the readers queries use.
//!
//! Spec: `spec/lineage.md` §2.
//!
//! ```text
//! "L" "n" || index (u64 BE)                        event node (EventSummary::encode)
//! "L" "i" || party || 0x00 || index (u64 BE)       party mention: roles u16 || time i64 || type u8 || action u8 || flags u8
//! "L" "t" || transformationID || 0x00 || index     transformation part: time i64
//! "L" "d" || declared index (u64 BE)               first declaration's index (u64 BE)
//! "m" || object || 0x00 || index (u64 BE)          object mention: the state's mention index (`crate::state`)
//! ```
//!
//! Object mentions are not written twice: the state's mention index, which
//! the same apply writes, lists the entries that name an object, and the
//! node says in which roles, when, and in what kind of event.

use super::summary::{Action, EventSummary, EventType, Role, RoleSet};
use crate::epcis::{Event, EventKind};
use crate::state::{PendingState, PREFIX_LINEAGE};
use crate::statement::StatementId;
use crate::storage::{StorageError, Store};
use std::collections::BTreeMap;

const NODE: u8 = b'n';
const MENTION: u8 = b'i';
const TRANSFORMATION: u8 = b't';
const DECLARATION: u8 = b'd';

/// Mention flag: an Aggregation or Association DELETE with no children,
/// which ends every containment of its parent.
pub const FLAG_EMPTY_DELETE: u8 = 0x01;

const MENTION_VALUE_LEN: usize = 2 + 8 + 3;

/// The first bytes of every event's node record (`node_key`): the fjall
/// engine keeps these append-only records in a keyspace of their own.
pub(crate) const NODE_KEY_PREFIX: [u8; 2] = [PREFIX_LINEAGE, NODE];

fn node_key(index: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.extend_from_slice(&NODE_KEY_PREFIX);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// `"L" kind || name || 0x00`, the prefix of a mention or transformation key.
fn named_prefix(kind: u8, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 11);
    k.extend_from_slice(&[PREFIX_LINEAGE, kind]);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

fn named_key(kind: u8, name: &str, index: u64) -> Vec<u8> {
    let mut k = named_prefix(kind, name);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn declaration_key(declared: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.extend_from_slice(&[PREFIX_LINEAGE, DECLARATION]);
    k.extend_from_slice(&declared.to_be_bytes());
    k
}

/// Writes the lineage records of the accepted EPCIS event at entry `index`
/// into `pending` (`spec/lineage.md` §2). `declares` is the index of the
/// event this one is the first declaration of, if it is one (the log knows
/// it from its event records). Reads nothing: the records are a function of
/// the arguments alone, so replay rebuilds them identically.
pub fn index_event(
    pending: &mut PendingState,
    statement_id: &StatementId,
    issuer: &str,
    index: u64,
    event: &Event,
    declares: Option<u64>,
) {
    let summary = EventSummary::new(statement_id, issuer, event);
    pending.put_lineage(node_key(index), summary.encode());
    if event.error_declaration.is_some() {
        // A declaration restates the declared event: it is no lineage fact.
        if let Some(declared) = declares {
            pending.put_lineage(declaration_key(declared), index.to_be_bytes().to_vec());
        }
        return;
    }
    // Objects are in the state's mention index already; parties are not.
    let mut roles: BTreeMap<&str, RoleSet> = BTreeMap::new();
    for (list, role) in [(&event.sources, Role::Source), (&event.destinations, Role::Destination)] {
        for s in list {
            let e = roles.entry(s.id.canonical.as_str()).or_default();
            *e = e.with(role);
        }
    }
    let mut value = [0u8; MENTION_VALUE_LEN];
    value[2..10].copy_from_slice(&event.event_time_ms.to_be_bytes());
    value[10] = EventType::from(event.kind).code();
    value[11] = Action::code(event.action.map(Action::from));
    value[12] = if summary.is_empty_delete() { FLAG_EMPTY_DELETE } else { 0 };
    for (id, set) in roles {
        value[..2].copy_from_slice(&set.0.to_be_bytes());
        pending.put_lineage(named_key(MENTION, id, index), value.to_vec());
    }
    if let (EventKind::Transformation, Some(tx)) = (event.kind, &event.transformation_id) {
        pending.put_lineage(named_key(TRANSFORMATION, tx, index), event.event_time_ms.to_be_bytes().to_vec());
    }
}

/// An event that names an identifier, with the identifier's roles there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mention {
    /// The entry index of the event.
    pub index: u64,
    /// The roles the identifier plays in it.
    pub roles: RoleSet,
    pub event_time_ms: i64,
    pub event_type: EventType,
    pub action: Option<Action>,
    /// [`FLAG_EMPTY_DELETE`] or 0.
    pub flags: u8,
}

impl Mention {
    /// Whether this is a DELETE with no children (of a containment event).
    pub fn is_empty_delete(&self) -> bool {
        self.flags & FLAG_EMPTY_DELETE != 0
    }

    /// The mention of the object `id` by the event `node` at `index`;
    /// `None` for a declaration (no lineage fact) or if `node` does not
    /// name `id` as an object.
    pub fn of_object(index: u64, node: &EventSummary, id: &str) -> Option<Mention> {
        let roles = node.roles_of(id);
        if node.declaration.is_some() || roles.is_empty() {
            return None;
        }
        Some(Mention {
            index,
            roles,
            event_time_ms: node.event_time_ms,
            event_type: node.event_type,
            action: node.action,
            flags: if node.is_empty_delete() { FLAG_EMPTY_DELETE } else { 0 },
        })
    }
}

fn corrupt(what: &str) -> StorageError {
    StorageError::corrupt(format!("lineage {what} record"))
}

/// The mentions of the party or location `id` (in source and destination
/// lists) by entries `start_index..tree_size`, at most `limit`, in entry
/// order.
///
/// # Errors
/// Storage failures, or [`StorageError::Corrupt`] for a malformed record.
pub fn read_party_mentions(
    store: &dyn Store,
    id: &str,
    start_index: u64,
    tree_size: u64,
    limit: usize,
) -> Result<Vec<Mention>, StorageError> {
    if start_index >= tree_size {
        return Ok(Vec::new());
    }
    let prefix = named_prefix(MENTION, id);
    let mut start = prefix.clone();
    start.extend_from_slice(&start_index.to_be_bytes());
    let mut end = prefix.clone();
    end.extend_from_slice(&tree_size.to_be_bytes());
    let records = store.range(&start, &end, limit, false)?;
    records
        .iter()
        .map(|(k, v)| {
            let index =
                k[prefix.len()..].try_into().map(u64::from_be_bytes).map_err(|_| corrupt("mention"))?;
            let v: &[u8; MENTION_VALUE_LEN] = v.as_slice().try_into().map_err(|_| corrupt("mention"))?;
            Ok(Mention {
                index,
                roles: RoleSet(u16::from_be_bytes([v[0], v[1]])),
                event_time_ms: i64::from_be_bytes(v[2..10].try_into().expect("8 bytes")),
                event_type: EventType::from_code(v[10]).ok_or_else(|| corrupt("mention"))?,
                action: Action::from_code(v[11]).ok_or_else(|| corrupt("mention"))?,
                flags: v[12],
            })
        })
        .collect()
}

/// The summary of the event at `index`, if the index has a node for it.
///
/// # Errors
/// Storage failures, or [`StorageError::Corrupt`] for a malformed node.
pub fn read_node(store: &dyn Store, index: u64) -> Result<Option<EventSummary>, StorageError> {
    match store.get(&node_key(index))? {
        None => Ok(None),
        Some(b) => EventSummary::decode(&b).map(Some).map_err(|_| corrupt("node")),
    }
}

/// The index of the first declaration of the event at `declared`, if any.
///
/// # Errors
/// Storage failures, or [`StorageError::Corrupt`] for a malformed record.
pub fn read_declaration(store: &dyn Store, declared: u64) -> Result<Option<u64>, StorageError> {
    match store.get(&declaration_key(declared))? {
        None => Ok(None),
        Some(v) => {
            v.as_slice().try_into().map(|b| Some(u64::from_be_bytes(b))).map_err(|_| corrupt("declaration"))
        }
    }
}

/// The parts (entry index, event time) of the transformation `id` among
/// entries `0..tree_size`, at most `limit`, in entry order.
///
/// # Errors
/// Storage failures, or [`StorageError::Corrupt`] for a malformed record.
pub fn read_transformation(
    store: &dyn Store,
    id: &str,
    tree_size: u64,
    limit: usize,
) -> Result<Vec<(u64, i64)>, StorageError> {
    let prefix = named_prefix(TRANSFORMATION, id);
    let mut end = prefix.clone();
    end.extend_from_slice(&tree_size.to_be_bytes());
    store
        .range(&prefix, &end, limit, false)?
        .iter()
        .map(|(k, v)| {
            let index = k[prefix.len()..].try_into().map(u64::from_be_bytes);
            let time = v.as_slice().try_into().map(i64::from_be_bytes);
            match (index, time) {
                (Ok(i), Ok(t)) => Ok((i, t)),
                _ => Err(corrupt("transformation")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StoredState;
    use crate::storage::MemoryStore;
    use std::sync::Arc;

    const SHIP: &str = r#"{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "type":"ObjectEvent","eventID":"urn:uuid:00000000-0000-4000-8000-000000000001",
        "eventTime":"2026-11-01T07:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"shipping",
        "epcList":["urn:epc:id:sscc:0614141.0000000001"],
        "sourceList":[{"type":"owning_party","source":"urn:epc:id:pgln:0614141.00001"}],
        "destinationList":[{"type":"owning_party","destination":"urn:epc:id:pgln:0614142.00001"},
                           {"type":"location","destination":"urn:epc:id:sgln:0614142.00001.0"}]}"#;

    fn keys_of(event: &str, declares: Option<u64>) -> (Arc<dyn Store>, Vec<Vec<u8>>) {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let state = StoredState::new(store.clone());
        let mut pending = PendingState::new(&state);
        let event = crate::epcis::parse_event(event.as_bytes()).unwrap();
        index_event(
            &mut pending,
            &StatementId([9; 32]),
            "urn:epc:id:pgln:0614141.00001",
            5,
            &event,
            declares,
        );
        let batch = pending.into_batch();
        store.commit(&batch).unwrap();
        (store, batch.ops().iter().map(|(k, _)| k.clone()).collect())
    }

    #[test]
    fn an_event_writes_its_node_and_one_mention_per_party() {
        let (store, keys) = keys_of(SHIP, None);
        let mut node = b"Ln".to_vec();
        node.extend_from_slice(&5u64.to_be_bytes());
        assert_eq!(keys[0], node);
        assert_eq!(keys.len(), 1 + 3, "node, then source, destination party and location");
        let mut party = b"Lihttps://id.gs1.org/417/0614142000011\0".to_vec();
        party.extend_from_slice(&5u64.to_be_bytes());
        assert!(
            keys.contains(&party),
            "{:?}",
            keys.iter().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>()
        );
        let m =
            read_party_mentions(store.as_ref(), "https://id.gs1.org/417/0614142000011", 0, 6, 10).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].index, m[0].roles.roles()), (5, vec![Role::Destination]));
        assert_eq!(m[0].event_type, EventType::ObjectEvent);
        assert!(read_party_mentions(store.as_ref(), "https://id.gs1.org/417/0614142000011", 0, 5, 10)
            .unwrap()
            .is_empty());
        let summary = read_node(store.as_ref(), 5).unwrap().unwrap();
        let sscc = "https://id.gs1.org/00/006141410000000012";
        let om = Mention::of_object(5, &summary, sscc).unwrap();
        assert_eq!(om.roles.roles(), vec![Role::Epc]);
        assert!(Mention::of_object(5, &summary, "urn:x").is_none());
    }

    #[test]
    fn a_first_declaration_writes_its_node_and_the_declaration_only() {
        let declaration = SHIP.replace(
            r#""bizStep":"shipping","#,
            r#""bizStep":"shipping","errorDeclaration":{"declarationTime":"2026-11-01T08:00:00Z","reason":"did_not_occur"},"#,
        );
        let (store, keys) = keys_of(&declaration, Some(2));
        assert_eq!(keys.len(), 2);
        assert_eq!(read_declaration(store.as_ref(), 2).unwrap(), Some(5));
        let node = read_node(store.as_ref(), 5).unwrap().unwrap();
        assert!(Mention::of_object(5, &node, "https://id.gs1.org/00/006141410000000012").is_none());
        let (_, keys) = keys_of(&declaration, None);
        assert_eq!(keys.len(), 1, "a later declaration of the same event: its node only");
    }
}
