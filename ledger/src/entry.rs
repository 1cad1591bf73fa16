//! The entry record: what each leaf of the tree hashes. Written by the log,
//! canonical CBOR, at most 65,535 bytes. Sans-I/O.
//!
//! Spec: `spec/statement.md` ("Entries").
//!
//! ```text
//! entry = {
//!   1: bstr,      ; the statement, every unprotected header emptied
//!   2: uint,      ; registration time, UNIX milliseconds, the log's clock
//!   3: bstr .size 32, ; ID of the rule set that admitted the statement
//!   4: [* tstr],  ; flags raised by flagging rules, sorted, distinct
//! }
//! ```

use crate::cbor::{self, CborError, Limits, Value};
use crate::tile::MAX_ENTRY_SIZE;
use thiserror::Error;

/// The identifier of a rule set: the statement ID of the governance
/// statement that adopted it (`spec/governance.md`).
pub type RuleSetId = [u8; 32];

/// Most flags one entry may carry.
pub const MAX_FLAGS: usize = 64;

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The statement bytes with every unprotected header emptied.
    pub statement: Vec<u8>,
    /// When the log registered the statement, UNIX milliseconds.
    pub registered_at_ms: u64,
    /// The rule set in force when the statement was registered.
    pub rule_set_id: RuleSetId,
    /// Names of the flagging rules that fired (`rule.check`), sorted, distinct.
    pub flags: Vec<String>,
}

/// Why an entry record was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EntryError {
    #[error("entry is not canonical CBOR: {0}")]
    Cbor(#[from] CborError),
    #[error("entry record field {field}: {reason}")]
    Field { field: &'static str, reason: &'static str },
    #[error("entry of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
}

impl Entry {
    /// The canonical CBOR bytes of this entry.
    ///
    /// # Errors
    /// [`EntryError::TooLarge`] above 65,535 bytes, [`EntryError::Field`] for
    /// unsorted, repeated or too many flags.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        check_flags(&self.flags)?;
        let value = Value::Map(vec![
            (Value::Unsigned(1), Value::Bytes(self.statement.clone())),
            (Value::Unsigned(2), Value::Unsigned(self.registered_at_ms)),
            (Value::Unsigned(3), Value::Bytes(self.rule_set_id.to_vec())),
            (Value::Unsigned(4), Value::Array(self.flags.iter().map(|f| Value::Text(f.clone())).collect())),
        ]);
        let bytes = cbor::encode(&value);
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_ENTRY_SIZE });
        }
        Ok(bytes)
    }

    /// Reads an entry record, refusing anything but its canonical encoding.
    ///
    /// # Errors
    /// [`EntryError`] naming the problem.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let limits = Limits { max_size: MAX_ENTRY_SIZE, max_depth: 4, max_items: 16 + 2 * MAX_FLAGS };
        let value = cbor::decode(bytes, &limits)?;
        let map = value.as_map().ok_or(EntryError::Field { field: "entry", reason: "not a map" })?;
        if map.len() != 4 {
            return Err(EntryError::Field { field: "entry", reason: "want exactly keys 1, 2, 3, 4" });
        }
        let get = |key: i64, field: &'static str| {
            cbor::map_get(map, key).ok_or(EntryError::Field { field, reason: "missing" })
        };
        let statement = get(1, "statement")?
            .as_bytes()
            .ok_or(EntryError::Field { field: "statement", reason: "not a byte string" })?
            .to_vec();
        let registered_at_ms = get(2, "registered_at")?
            .as_u64()
            .ok_or(EntryError::Field { field: "registered_at", reason: "not an unsigned integer" })?;
        let rule_set_id = get(3, "rule_set_id")?
            .as_bytes()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(EntryError::Field { field: "rule_set_id", reason: "not a 32-byte string" })?;
        let flags = get(4, "flags")?
            .as_array()
            .ok_or(EntryError::Field { field: "flags", reason: "not an array" })?
            .iter()
            .map(|f| f.as_text().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or(EntryError::Field { field: "flags", reason: "not all text" })?;
        check_flags(&flags)?;
        Ok(Entry { statement, registered_at_ms, rule_set_id, flags })
    }
}

fn check_flags(flags: &[String]) -> Result<(), EntryError> {
    if flags.len() > MAX_FLAGS {
        return Err(EntryError::Field { field: "flags", reason: "too many" });
    }
    if flags.windows(2).any(|w| w[0] >= w[1]) {
        return Err(EntryError::Field { field: "flags", reason: "not sorted and distinct" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry {
            statement: vec![0xd2, 0x84],
            registered_at_ms: 1_763_800_000_000,
            rule_set_id: [7; 32],
            flags: vec!["quantity.yield".into(), "sensor.range".into()],
        }
    }

    /// The annotated example of `spec/statement.md` §9: the statement of
    /// the vector `sign1-epcis` with the sample's other fields.
    #[test]
    fn the_spec_example_encodes_as_annotated() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/statement/sign1-epcis.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let statement = hex::decode(v["statement"].as_str().unwrap()).unwrap();
        assert_eq!(statement.len(), 550);
        let bytes = Entry { statement: statement.clone(), ..sample() }.encode().unwrap();
        assert_eq!(bytes.len(), 630);
        let head = hex::decode("a401590226").unwrap();
        let tail = hex::decode(
            "021b0000019aaaac2600035820\
             0707070707070707070707070707070707070707070707070707070707070707\
             04826e7175616e746974792e7969656c646c73656e736f722e72616e6765",
        )
        .unwrap();
        assert_eq!(bytes[..5], head[..]);
        assert_eq!(bytes[5..555], statement[..]);
        assert_eq!(bytes[555..], tail[..]);
    }

    #[test]
    fn entry_round_trips_canonically() {
        let e = sample();
        let bytes = e.encode().unwrap();
        assert_eq!(Entry::decode(&bytes).unwrap(), e);
        assert_eq!(bytes[0], 0xa4, "a map of four");
    }

    #[test]
    fn unsorted_flags_and_extra_keys_are_refused() {
        let mut e = sample();
        e.flags.reverse();
        assert!(e.encode().is_err());
        let mut v = cbor::decode(&sample().encode().unwrap(), &Limits::default()).unwrap();
        if let Value::Map(m) = &mut v {
            m.push((Value::Unsigned(5), Value::Null));
        }
        assert!(matches!(Entry::decode(&cbor::encode(&v)), Err(EntryError::Field { .. })));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = sample().encode().unwrap();
        bytes.push(0);
        assert!(matches!(Entry::decode(&bytes), Err(EntryError::Cbor(_))));
    }

    #[test]
    fn oversized_entry_is_refused() {
        let mut e = sample();
        e.statement = vec![0; MAX_ENTRY_SIZE];
        assert!(matches!(e.encode(), Err(EntryError::TooLarge { .. })));
    }
}
