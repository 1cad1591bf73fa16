//! Bounded JSON reading for EPCIS payloads, and the JSON paths that errors
//! name.
//!
//! `serde_json` alone would let a hostile payload cost what it likes (deep
//! nesting, huge arrays) and silently keep the last of two equal keys. This
//! reader turns bytes into a [`serde_json::Value`] while refusing, before the
//! value is built any further:
//!
//! - arrays or objects nested deeper than [`ReadLimits::max_depth`] (the
//!   outermost container is at depth 1);
//! - arrays or objects with more than [`ReadLimits::max_items`] members;
//! - an object with two equal keys, unless the caller asked for the last one
//!   to win (only the client-side document splitter does).
//!
//! Spec: `spec/epcis.md`, "Bytes and JSON".

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use super::EpcisError;

/// What [`read`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadLimits {
    /// Inputs longer than this many bytes are refused unread.
    pub max_bytes: usize,
    /// Containers nested deeper than this are refused.
    pub max_depth: usize,
    /// Arrays and objects with more members than this are refused.
    pub max_items: usize,
    /// Whether a repeated key replaces the earlier one (as `JSON.parse`
    /// does) instead of being refused.
    pub last_duplicate_wins: bool,
}

/// Reads `bytes` as one JSON value within `limits`.
///
/// # Errors
/// [`EpcisError::TooLarge`], [`EpcisError::Syntax`] (not UTF-8, not JSON,
/// trailing bytes, a number outside binary64, an unpaired surrogate escape),
/// [`EpcisError::TooDeep`], [`EpcisError::TooManyItems`],
/// [`EpcisError::DuplicateKey`].
pub(crate) fn read(bytes: &[u8], limits: &ReadLimits) -> Result<Value, EpcisError> {
    if bytes.len() > limits.max_bytes {
        return Err(EpcisError::TooLarge { len: bytes.len(), max: limits.max_bytes });
    }
    let state = ReadState { limits, failure: RefCell::new(None) };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = ValueSeed { state: &state, depth: 0 }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (value, state.failure.into_inner()) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(failure)) => Err(failure.into_error()),
        (Err(source), None) => Err(EpcisError::Syntax { source }),
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A limit broken while reading, with the path to where, innermost first.
#[derive(Debug)]
struct Failure {
    kind: FailureKind,
    reversed_path: Vec<Segment>,
}

#[derive(Debug)]
enum FailureKind {
    TooDeep { max: usize },
    TooManyItems { max: usize },
    DuplicateKey { key: String },
}

impl Failure {
    fn into_error(self) -> EpcisError {
        let mut field = String::new();
        for segment in self.reversed_path.iter().rev() {
            match segment {
                Segment::Key(k) => push_key(&mut field, k),
                Segment::Index(i) => {
                    let _ = write!(field, "[{i}]");
                }
            }
        }
        if field.is_empty() {
            field.push_str(ROOT);
        }
        match self.kind {
            FailureKind::TooDeep { max } => EpcisError::TooDeep { field, max },
            FailureKind::TooManyItems { max } => EpcisError::TooManyItems { field, max },
            FailureKind::DuplicateKey { key } => EpcisError::DuplicateKey { field, key },
        }
    }
}

struct ReadState<'a> {
    limits: &'a ReadLimits,
    /// Set by the visitor that detects a broken limit; the serde error that
    /// carries the unwinding is only a signal.
    failure: RefCell<Option<Failure>>,
}

impl ReadState<'_> {
    fn fail<E: de::Error>(&self, kind: FailureKind, at: Option<Segment>) -> E {
        let reversed_path = at.into_iter().collect();
        *self.failure.borrow_mut() = Some(Failure { kind, reversed_path });
        E::custom("limit exceeded")
    }

    /// Records that the failure being unwound happened under `segment`.
    fn unwind(&self, segment: Segment) {
        if let Some(f) = self.failure.borrow_mut().as_mut() {
            f.reversed_path.push(segment);
        }
    }
}

#[derive(Clone, Copy)]
struct ValueSeed<'s, 'l> {
    state: &'s ReadState<'l>,
    /// Containers around the value about to be read.
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json refuses numbers outside binary64, so `v` is finite.
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let limits = self.state.limits;
        if self.depth + 1 > limits.max_depth {
            return Err(self.state.fail(FailureKind::TooDeep { max: limits.max_depth }, None));
        }
        let inner = ValueSeed { state: self.state, depth: self.depth + 1 };
        let mut items = Vec::new();
        loop {
            let index = items.len();
            match seq.next_element_seed(inner) {
                Ok(Some(v)) if index == limits.max_items => {
                    drop(v);
                    return Err(self.state.fail(FailureKind::TooManyItems { max: limits.max_items }, None));
                }
                Ok(Some(v)) => items.push(v),
                Ok(None) => return Ok(Value::Array(items)),
                Err(e) => {
                    self.state.unwind(Segment::Index(index));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let limits = self.state.limits;
        if self.depth + 1 > limits.max_depth {
            return Err(self.state.fail(FailureKind::TooDeep { max: limits.max_depth }, None));
        }
        let inner = ValueSeed { state: self.state, depth: self.depth + 1 };
        let mut members = Map::new();
        let mut count = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            if count == limits.max_items {
                return Err(self.state.fail(FailureKind::TooManyItems { max: limits.max_items }, None));
            }
            count += 1;
            // One search of `members` per key: the entry is where the value
            // goes once read.
            let slot = match members.entry(key) {
                Entry::Occupied(o) if !limits.last_duplicate_wins => {
                    let key = o.key().clone();
                    let at = Segment::Key(key.clone());
                    return Err(self.state.fail(FailureKind::DuplicateKey { key }, Some(at)));
                }
                slot => slot,
            };
            match map.next_value_seed(inner) {
                Ok(v) => *slot.or_insert(Value::Null) = v,
                Err(e) => {
                    self.state.unwind(Segment::Key(slot.key().clone()));
                    return Err(e);
                }
            }
        }
        Ok(Value::Object(members))
    }
}

/// How the empty path (the payload itself) is written in errors.
pub(crate) const ROOT: &str = "(root)";

/// Appends `key` to a rendered path: `a.b` for plain keys, `a["x.y"]` for
/// keys holding `.`, `[`, `]` or `"` (or empty), so every path reads back
/// unambiguously.
fn push_key(out: &mut String, key: &str) {
    let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"']);
    if plain {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        out.push('[');
        out.push_str(&Value::String(key.to_owned()).to_string());
        out.push(']');
    }
}

/// The path of a value inside the payload, built on the stack while the
/// typed model is read and rendered only when an error names it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// The path as errors write it, e.g. `sensorElementList[0].sensorReport[2].value`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        if out.is_empty() {
            out.push_str(ROOT);
        }
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(out);
                push_key(out, key);
            }
            Path::Index(parent, index) => {
                parent.render_into(out);
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

/// A string that two JSON values share exactly when JSON Schema's
/// `uniqueItems` calls them equal: numbers by mathematical value (`1` and
/// `1.0` alike), object members regardless of order. Used to check
/// uniqueness by sorting instead of comparing every pair.
pub(crate) fn equality_key(v: &Value) -> String {
    let mut out = String::new();
    write_equality_key(v, &mut out);
    out
}

fn write_equality_key(v: &Value, out: &mut String) {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.abs() < 1e38 {
                    let _ = write!(out, "{}", f as i128);
                } else {
                    let _ = write!(out, "{f:?}");
                }
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_equality_key(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_equality_key(&members[key], out);
            }
            out.push('}');
        }
        _ => out.push_str(&v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReadLimits =
        ReadLimits { max_bytes: 1000, max_depth: 4, max_items: 3, last_duplicate_wins: false };

    #[test]
    fn read_refuses_nesting_beyond_the_limit_and_names_where() {
        assert!(read(br#"{"a":[{"b":[]}]}"#, &LIMITS).is_ok());
        let err = read(br#"{"a":[{"b":[[]]}]}"#, &LIMITS).unwrap_err();
        assert!(matches!(err, EpcisError::TooDeep { ref field, max: 4 } if field == "a[0].b[0]"), "{err:?}");
    }

    #[test]
    fn read_refuses_too_many_members() {
        assert!(read(b"[1,2,3]", &LIMITS).is_ok());
        let err = read(br#"{"x":[1,2,3,4]}"#, &LIMITS).unwrap_err();
        assert!(matches!(err, EpcisError::TooManyItems { ref field, max: 3 } if field == "x"), "{err:?}");
        let err = read(br#"{"a":1,"b":2,"c":3,"d":4}"#, &LIMITS).unwrap_err();
        assert!(matches!(err, EpcisError::TooManyItems { ref field, .. } if field == ROOT), "{err:?}");
    }

    #[test]
    fn read_refuses_duplicate_keys_unless_last_wins() {
        let text = br#"{"a":{"k.1":1,"k.1":2}}"#;
        let err = read(text, &LIMITS).unwrap_err();
        assert!(
            matches!(err, EpcisError::DuplicateKey { ref field, ref key } if field == r#"a["k.1"]"# && key == "k.1"),
            "{err:?}"
        );
        let lenient = ReadLimits { last_duplicate_wins: true, ..LIMITS };
        assert_eq!(read(text, &lenient).unwrap()["a"]["k.1"], 2);
    }

    #[test]
    fn read_refuses_oversized_input_and_trailing_bytes() {
        assert!(matches!(read(&[b' '; 1001], &LIMITS), Err(EpcisError::TooLarge { len: 1001, max: 1000 })));
        assert!(matches!(read(b"{} {}", &LIMITS), Err(EpcisError::Syntax { .. })));
        assert!(matches!(read(b"[1e400]", &LIMITS), Err(EpcisError::Syntax { .. })));
        assert!(matches!(read(br#"["\ud800"]"#, &LIMITS), Err(EpcisError::Syntax { .. })));
        assert!(matches!(read(b"\xef\xbb\xbf{}", &LIMITS), Err(EpcisError::Syntax { .. })));
    }

    #[test]
    fn equality_key_compares_numbers_by_value_and_ignores_member_order() {
        let key = |text: &str| equality_key(&serde_json::from_str(text).unwrap());
        assert_eq!(key(r#"{"x":[1,{"y":2.0}],"z":"a"}"#), key(r#"{"z":"a","x":[1.0,{"y":2}]}"#));
        assert_ne!(key(r#"{"x":[1,{"y":2}]}"#), key(r#"{"x":[1,{"y":3}]}"#));
        assert_ne!(key(r#"["1"]"#), key("[1]"));
        assert_ne!(key("0.1"), key("0.10000000000000002"));
    }
}
