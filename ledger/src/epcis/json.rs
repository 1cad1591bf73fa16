//! Bounded JSON reading for EPCIS payloads, and the JSON paths that errors
//! name.
//!
//! `serde_json` alone would let a hostile payload cost what it likes (deep
//! nesting, huge arrays) and silently keep the last of two equal keys. This
//! reader turns bytes into a [`Json`] tree while refusing, before the tree
//! is built any further:
//!
//! - arrays or objects nested deeper than [`ReadLimits::max_depth`] (the
//!   outermost container is at depth 1);
//! - arrays or objects with more than [`ReadLimits::max_items`] members;
//! - an object with two equal keys, unless the caller asked for the last one
//!   to win (only the client-side document splitter does).
//!
//! The tree borrows every key and string without escapes from the input,
//! and keeps an object's members in a vector sorted by key. It replaced a
//! [`serde_json::Value`] (an owned string per key and string, a B-tree per
//! object, each string copied again into the typed model): reading the
//! JSON of a typical event went from 3.2–3.7 µs to 2.0–2.3 µs, and the
//! whole of `EpcisEvent::parse` from 11.4–12.6 µs to 6.2–8.6 µs
//! (`BENCHMARKS.md`, "Ingest" and "Micro-benchmarks"). What the model
//! keeps as JSON (`@context`, extensions, `ilmd`) is turned into a
//! [`Value`] with [`Json::to_value`].
//!
//! Spec: `spec/epcis.md`, "Bytes and JSON".

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

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

/// A JSON value read by [`read`], borrowing from the input bytes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// An integer, or a finite binary64 (serde_json refuses the rest).
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// An object's members, sorted by key in byte order (the order of
/// `serde_json`'s map), no two keys equal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Object<'a> {
    members: Vec<(Cow<'a, str>, Json<'a>)>,
}

impl<'a> Object<'a> {
    /// The value of `key`, if the object has it. Most objects have a few
    /// members, and most keys asked for are absent: comparing lengths
    /// first rules out nearly every member without reading its bytes,
    /// which a binary search's ordering comparisons cannot.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        if self.members.len() <= LINEAR_KEYS {
            return self.members.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v);
        }
        self.members.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok().map(|i| &self.members[i].1)
    }

    /// The members in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.members.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The object as a `serde_json` map.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        self.iter().map(|(k, v)| (k.to_owned(), v.to_value())).collect()
    }
}

impl<'a> Json<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&Vec<Json<'a>>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as an owned `serde_json` value.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.as_ref().to_owned()),
            Json::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            Json::Object(members) => Value::Object(members.to_map()),
        }
    }
}

/// Reads `bytes` as one JSON value within `limits`.
///
/// # Errors
/// [`EpcisError::TooLarge`], [`EpcisError::Syntax`] (not UTF-8, not JSON,
/// trailing bytes, a number outside binary64, an unpaired surrogate escape),
/// [`EpcisError::TooDeep`], [`EpcisError::TooManyItems`],
/// [`EpcisError::DuplicateKey`].
pub(crate) fn read<'a>(bytes: &'a [u8], limits: &ReadLimits) -> Result<Json<'a>, EpcisError> {
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
    type Value = Json<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Members an object holds before [`ValueSeed`] finds repeated keys with a
/// hash map instead of comparing each new key with every earlier one, and
/// [`Object::get`] searches by halves instead of member by member.
const LINEAR_KEYS: usize = 16;

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json<'de>, E> {
        // serde_json refuses numbers outside binary64, so `v` is finite.
        Number::from_f64(v).map(Json::Number).ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
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
                Ok(None) => return Ok(Json::Array(items)),
                Err(e) => {
                    self.state.unwind(Segment::Index(index));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let limits = self.state.limits;
        if self.depth + 1 > limits.max_depth {
            return Err(self.state.fail(FailureKind::TooDeep { max: limits.max_depth }, None));
        }
        let inner = ValueSeed { state: self.state, depth: self.depth + 1 };
        // Members in document order; past `LINEAR_KEYS` of them, each key's
        // position in `positions` as well.
        let mut members: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        let mut positions: HashMap<Cow<'de, str>, usize> = HashMap::new();
        let mut count = 0usize;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if count == limits.max_items {
                return Err(self.state.fail(FailureKind::TooManyItems { max: limits.max_items }, None));
            }
            count += 1;
            let earlier = if members.len() < LINEAR_KEYS {
                members.iter().position(|(k, _)| *k == key)
            } else {
                if positions.is_empty() {
                    positions.extend(members.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)));
                }
                positions.get(&key).copied()
            };
            if earlier.is_some() && !limits.last_duplicate_wins {
                let key = key.into_owned();
                let at = Segment::Key(key.clone());
                return Err(self.state.fail(FailureKind::DuplicateKey { key }, Some(at)));
            }
            let value = match map.next_value_seed(inner) {
                Ok(v) => v,
                Err(e) => {
                    self.state.unwind(Segment::Key(key.into_owned()));
                    return Err(e);
                }
            };
            match earlier {
                Some(i) => members[i].1 = value,
                None => {
                    if !positions.is_empty() {
                        positions.insert(key.clone(), members.len());
                    }
                    members.push((key, value));
                }
            }
        }
        members.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        Ok(Json::Object(Object { members }))
    }
}

/// An object key, borrowed from the input unless it holds escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
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
        push_json_string(out, key);
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
pub(crate) fn equality_key(v: &Json<'_>) -> String {
    let mut out = String::new();
    write_equality_key(v, &mut out);
    out
}

fn write_equality_key(v: &Json<'_>, out: &mut String) {
    match v {
        Json::Number(n) => {
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
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_equality_key(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            // Members are in key order already.
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, key);
                out.push(':');
                write_equality_key(value, out);
            }
            out.push('}');
        }
        Json::String(s) => push_json_string(out, s),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Null => out.push_str("null"),
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("a string always serializes"));
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
        let value = read(text, &lenient).unwrap().to_value();
        assert_eq!(value["a"]["k.1"], 2);
    }

    /// An object of `n` members `"k0"`… in reverse order, then `extra`.
    fn wide_object(n: usize, extra: &str) -> String {
        let members: Vec<String> = (0..n).rev().map(|i| format!(r#""k{i}":{i}"#)).collect();
        format!("{{{}{extra}}}", members.join(","))
    }

    #[test]
    fn repeated_keys_are_found_in_small_and_wide_objects() {
        let wide = ReadLimits { max_items: 100, ..LIMITS };
        for n in [2, LINEAR_KEYS - 1, LINEAR_KEYS, LINEAR_KEYS + 1, 60] {
            let text = wide_object(n, r#","k1":"again""#);
            let err = read(text.as_bytes(), &wide).unwrap_err();
            assert!(
                matches!(err, EpcisError::DuplicateKey { ref field, ref key } if field == "k1" && key == "k1"),
                "{n} members: {err:?}"
            );
            // An escape makes an owned key; it is still the same key.
            let text = wide_object(n, r#","\u006b1":"again""#);
            assert!(matches!(read(text.as_bytes(), &wide), Err(EpcisError::DuplicateKey { .. })), "{n}");
            // The first spelling escaped, the repeat plain.
            let first_escaped = format!(r#"{{"\u006b1":"first",{}"#, &wide_object(n, "")[1..]);
            assert!(
                matches!(read(first_escaped.as_bytes(), &wide), Err(EpcisError::DuplicateKey { .. })),
                "{n}"
            );
            let lenient = ReadLimits { last_duplicate_wins: true, ..wide };
            let value = read(text.as_bytes(), &lenient).unwrap();
            let object = value.as_object().unwrap();
            assert_eq!(object.iter().count(), n, "{n} members");
            assert_eq!(object.get("k1").and_then(Json::as_str), Some("again"), "{n} members");
        }
    }

    #[test]
    fn a_repeated_key_is_refused_before_its_value_is_read() {
        // The repeat's value breaks the depth limit: the repeat is named.
        let err = read(br#"{"a":1,"a":[[[[[]]]]]}"#, &LIMITS).unwrap_err();
        assert!(matches!(err, EpcisError::DuplicateKey { ref key, .. } if key == "a"), "{err:?}");
    }

    #[test]
    fn members_are_kept_in_key_order_and_found_by_key() {
        let wide = ReadLimits { max_items: 100, ..LIMITS };
        for n in [3, LINEAR_KEYS, LINEAR_KEYS + 1, 60] {
            let text = wide_object(n, "");
            let value = read(text.as_bytes(), &wide).unwrap();
            let object = value.as_object().unwrap();
            let keys: Vec<&str> = object.iter().map(|(k, _)| k).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(keys, sorted, "{n} members");
            for i in 0..n {
                assert_eq!(
                    object.get(&format!("k{i}")).and_then(Json::as_f64),
                    Some(i as f64),
                    "{n} members"
                );
            }
            assert!(object.get("k").is_none() && object.get(&format!("k{n}")).is_none(), "{n} members");
            // The same value serde_json reads.
            assert_eq!(value.to_value(), serde_json::from_str::<Value>(&text).unwrap(), "{n} members");
        }
    }

    #[test]
    fn strings_with_and_without_escapes_read_alike() {
        let wide = ReadLimits { max_items: 100, ..LIMITS };
        let value = read(br#"{"a\u0062":["x\"y","plain",1.5,-2,true,null]}"#, &wide).unwrap();
        let object = value.as_object().unwrap();
        let items = object.get("ab").and_then(Json::as_array).unwrap();
        assert_eq!(items[0].as_str(), Some("x\"y"));
        assert!(matches!(&items[1], Json::String(std::borrow::Cow::Borrowed("plain"))));
        assert_eq!(value.to_value(), serde_json::json!({"ab": ["x\"y", "plain", 1.5, -2, true, null]}));
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
        let key = |text: &str| equality_key(&read(text.as_bytes(), &LIMITS).unwrap());
        assert_eq!(key(r#"{"x":[1,{"y":2.0}],"z":"a"}"#), key(r#"{"z":"a","x":[1.0,{"y":2}]}"#));
        assert_ne!(key(r#"{"x":[1,{"y":2}]}"#), key(r#"{"x":[1,{"y":3}]}"#));
        assert_ne!(key(r#"["1"]"#), key("[1]"));
        assert_ne!(key("0.1"), key("0.10000000000000002"));
    }
}
