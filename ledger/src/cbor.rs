//! Strict, bounded, canonical CBOR: the subset of RFC 8949 that provlog
//! signs, hashes and stores, written in the deterministic encoding of
//! RFC 8949 §4.2.1 and read back only in that encoding. Sans-I/O.
//!
//! Spec: `spec/statement.md` ("Canonical CBOR").
//!
//! ```text
//! Value   = uint / nint / bstr / tstr / [* Value] / {* Value => Value}
//!         / #6.<uint>(Value) / true / false / null
//! heads   shortest form: argument < 24 in the initial byte, then 1, 2, 4, 8 bytes
//! lengths definite only
//! maps    keys sorted by their encoded bytes (bytewise lexicographic), no duplicates
//! absent  floats, undefined, other simple values, break, trailing bytes
//! ```
//!
//! [`decode`] reads untrusted bytes with `cbor4ii`'s low-level decoder, checks
//! every rule above as it goes (so that the error names the problem and
//! where), then re-encodes the value with [`encode`] and refuses the input
//! unless that reproduces it byte for byte. The re-encoding check is the
//! definition of "canonical"; the checks on the way only give the refusal a
//! precise name. Every declared length is checked against the bytes that
//! remain before anything is allocated for it, so a huge declared length
//! costs nothing.

use cbor4ii::core::dec::{self, Decode as _};
use cbor4ii::core::enc::{self, Encode as _};
use cbor4ii::core::types;
use std::convert::Infallible;
use thiserror::Error;

/// Nesting depth that [`Limits::max_depth`] cannot exceed, so that the
/// recursive decoder's stack stays small whatever the caller asks for.
pub const MAX_DEPTH: usize = 128;

/// One CBOR data item of the subset provlog speaks: no floats, no simple
/// values other than `true`, `false` and `null`, no indefinite lengths.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Major type 0: an unsigned integer.
    Unsigned(u64),
    /// Major type 1: the integer `-1 - n` for the `n` held here, so
    /// `Negative(0)` is -1 and `Negative(u64::MAX)` is -2^64.
    Negative(u64),
    /// Major type 2: a byte string.
    Bytes(Vec<u8>),
    /// Major type 3: a text string (always valid UTF-8).
    Text(String),
    /// Major type 4: an array.
    Array(Vec<Value>),
    /// Major type 5: a map, as a list of (key, value) pairs. [`encode`]
    /// writes the pairs sorted by encoded key; [`decode`] returns them in
    /// that order. Keys must be distinct.
    Map(Vec<(Value, Value)>),
    /// Major type 6: a tag number and the tagged item.
    Tag(u64, Box<Value>),
    /// `true` or `false` (0xf5, 0xf4).
    Bool(bool),
    /// `null` (0xf6).
    Null,
}

impl Value {
    /// The integer `n`, as [`Value::Unsigned`] or [`Value::Negative`].
    pub fn int(n: i64) -> Value {
        match u64::try_from(n) {
            Ok(u) => Value::Unsigned(u),
            // -1 - n >= 0 for every negative n, and fits in a u64.
            Err(_) => Value::Negative((-1 - n) as u64),
        }
    }

    /// Shorthand for a text value.
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// Shorthand for a byte-string value.
    pub fn bytes(b: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(b.into())
    }

    /// The integer, if this is one that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Unsigned(u) => i64::try_from(u).ok(),
            Value::Negative(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// The unsigned integer, if this is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(u) => Some(u),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The tag number and the tagged item, if this is a tag.
    pub fn as_tag(&self) -> Option<(u64, &Value)> {
        match self {
            Value::Tag(t, v) => Some((*t, v)),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value stored under the integer key `key`, if this is a map that
    /// has one. Keys of other types are skipped.
    pub fn get(&self, key: i64) -> Option<&Value> {
        map_get(self.as_map()?, key)
    }

    /// The value stored under the text key `key`, if this is a map that
    /// has one.
    pub fn get_text(&self, key: &str) -> Option<&Value> {
        self.as_map()?.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
    }

    /// A short name of the item's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Unsigned(_) => "unsigned integer",
            Value::Negative(_) => "negative integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Tag(..) => "tag",
            Value::Bool(_) => "bool",
            Value::Null => "null",
        }
    }
}

/// The value stored under the integer key `key` among map `entries`.
pub fn map_get(entries: &[(Value, Value)], key: i64) -> Option<&Value> {
    entries.iter().find(|(k, _)| k.as_i64() == Some(key)).map(|(_, v)| v)
}

/// How much untrusted input [`decode`] is willing to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest input, in bytes. Default 65,535: the largest entry a C2SP
    /// tile bundle can hold.
    pub max_size: usize,
    /// Deepest nesting. The top-level item is at depth 0 and the items
    /// inside an array, map or tag at one more than its depth; an item
    /// deeper than this is refused. Default 16. Values above [`MAX_DEPTH`]
    /// act as [`MAX_DEPTH`].
    pub max_depth: usize,
    /// Most data items in all, counting the top-level item, every array
    /// element, every map key and value, and every tagged item. Default
    /// 4,096.
    pub max_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_size: 65_535, max_depth: 16, max_items: 4_096 }
    }
}

/// Why [`decode`] refused its input. Every variant is malformed input, never
/// a failed verification; `offset` is where in the input the refused item
/// starts.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CborError {
    /// The input is longer than [`Limits::max_size`]; nothing was read.
    #[error("input of {size} bytes exceeds the limit of {max_size}")]
    TooLarge { size: usize, max_size: usize },
    /// The input ends inside an item.
    #[error("input ends inside the item at byte {offset}")]
    UnexpectedEnd { offset: usize },
    /// A string, array or map declares more content than the input holds.
    #[error("item at byte {offset} declares more content than the {available} bytes left")]
    LengthBeyondInput { offset: usize, available: usize },
    /// Bytes follow the top-level item.
    #[error("{count} trailing bytes after the item, at byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
    /// An integer, length or tag number is not written in its shortest form.
    #[error("integer or length at byte {offset} is not in its shortest form")]
    NonMinimal { offset: usize },
    /// A string, array or map has an indefinite length.
    #[error("indefinite-length item at byte {offset}")]
    IndefiniteLength { offset: usize },
    /// A map key is smaller, in encoded bytes, than the key before it.
    #[error("map key at byte {offset} is out of canonical order")]
    UnsortedMapKeys { offset: usize },
    /// A map key equals the key before it.
    #[error("duplicate map key at byte {offset}")]
    DuplicateMapKey { offset: usize },
    /// A floating-point number (half, single or double precision).
    #[error("floating-point number at byte {offset}")]
    Float { offset: usize },
    /// `undefined` or a simple value other than `true`, `false`, `null`.
    #[error("unsupported simple value 0x{byte:02x} at byte {offset}")]
    UnsupportedSimpleValue { offset: usize, byte: u8 },
    /// A reserved initial byte, or a break code outside an indefinite item.
    #[error("invalid initial byte 0x{byte:02x} at byte {offset}")]
    InvalidInitialByte { offset: usize, byte: u8 },
    /// A text string that is not valid UTF-8.
    #[error("text string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: usize },
    /// The item is nested deeper than [`Limits::max_depth`].
    #[error("item at byte {offset} is nested deeper than {max_depth}")]
    TooDeep { offset: usize, max_depth: usize },
    /// The input holds more items than [`Limits::max_items`].
    #[error("more than {max_items} items, at byte {offset}")]
    TooManyItems { offset: usize, max_items: usize },
    /// The canonical re-encoding of what was read differs from the input.
    /// The checks above make this unreachable; it is kept because the
    /// re-encoding comparison, not those checks, defines "canonical".
    #[error("input is not canonical CBOR: re-encoding differs at byte {offset}")]
    NotCanonical { offset: usize },
    /// Anything else the underlying decoder refused.
    #[error("malformed CBOR at byte {offset}")]
    Malformed { offset: usize },
}

impl CborError {
    /// A stable name for the refusal, as used in `spec/vectors/` and in
    /// problem details.
    pub fn code(&self) -> &'static str {
        match self {
            CborError::TooLarge { .. } => "cbor-too-large",
            CborError::UnexpectedEnd { .. } => "cbor-unexpected-end",
            CborError::LengthBeyondInput { .. } => "cbor-length-beyond-input",
            CborError::TrailingBytes { .. } => "cbor-trailing-bytes",
            CborError::NonMinimal { .. } => "cbor-non-minimal",
            CborError::IndefiniteLength { .. } => "cbor-indefinite-length",
            CborError::UnsortedMapKeys { .. } => "cbor-unsorted-map-keys",
            CborError::DuplicateMapKey { .. } => "cbor-duplicate-map-key",
            CborError::Float { .. } => "cbor-float",
            CborError::UnsupportedSimpleValue { .. } => "cbor-unsupported-simple-value",
            CborError::InvalidInitialByte { .. } => "cbor-invalid-initial-byte",
            CborError::InvalidUtf8 { .. } => "cbor-invalid-utf8",
            CborError::TooDeep { .. } => "cbor-too-deep",
            CborError::TooManyItems { .. } => "cbor-too-many-items",
            CborError::NotCanonical { .. } => "cbor-not-canonical",
            CborError::Malformed { .. } => "cbor-malformed",
        }
    }
}

/// A `cbor4ii` writer into a `Vec`, which cannot fail.
struct Sink(Vec<u8>);

impl enc::Write for Sink {
    type Error = Infallible;

    fn push(&mut self, input: &[u8]) -> Result<(), Infallible> {
        self.0.extend_from_slice(input);
        Ok(())
    }
}

fn written(result: Result<(), enc::Error<Infallible>>) {
    if result.is_err() {
        unreachable!("writing into a Vec cannot fail");
    }
}

/// The canonical encoding of `value` (RFC 8949 §4.2.1): shortest heads,
/// definite lengths, map entries sorted by the bytes of their encoded keys.
///
/// Precondition: the keys of every map are distinct. A map with equal keys
/// is written as given, and [`decode`] refuses the result.
pub fn encode(value: &Value) -> Vec<u8> {
    encode_into(value, Vec::with_capacity(encoded_len(value)))
}

/// The length of [`encode`]'s output for `value`, so that it is written
/// into a vector of the right size instead of one grown step by step
/// (entries and signature inputs hold a whole statement).
fn encoded_len(value: &Value) -> usize {
    let head = minimal_head_len;
    match value {
        Value::Unsigned(n) | Value::Negative(n) => head(*n),
        Value::Bytes(b) => head(b.len() as u64) + b.len(),
        Value::Text(t) => head(t.len() as u64) + t.len(),
        Value::Array(items) => head(items.len() as u64) + items.iter().map(encoded_len).sum::<usize>(),
        Value::Map(entries) => {
            head(entries.len() as u64)
                + entries.iter().map(|(k, v)| encoded_len(k) + encoded_len(v)).sum::<usize>()
        }
        Value::Tag(tag, inner) => head(*tag) + encoded_len(inner),
        Value::Bool(_) | Value::Null => 1,
    }
}

/// [`encode`], appending to `out` (whose capacity the caller may have
/// sized).
fn encode_into(value: &Value, out: Vec<u8>) -> Vec<u8> {
    let mut sink = Sink(out);
    write_value(value, &mut sink);
    sink.0
}

fn write_value(value: &Value, w: &mut Sink) {
    match value {
        Value::Unsigned(n) => written(n.encode(w)),
        Value::Negative(n) => written(types::Negative(*n).encode(w)),
        Value::Bytes(b) => written(types::Bytes(b.as_slice()).encode(w)),
        Value::Text(t) => written(t.as_str().encode(w)),
        Value::Array(items) => {
            written(types::Array::bounded(items.len(), w));
            for item in items {
                write_value(item, w);
            }
        }
        Value::Map(entries) => {
            let start = w.0.len();
            written(types::Map::bounded(entries.len(), w));
            // Most maps arrive with their keys in canonical order (every
            // decoded one does): each entry is written in place, and only
            // if a key does not sort after the one before is the map
            // written again the slow way.
            let mut previous = None;
            for (k, v) in entries {
                let key_start = w.0.len();
                write_value(k, w);
                let key = key_start..w.0.len();
                if previous.is_some_and(|p: std::ops::Range<usize>| w.0[p] >= w.0[key.clone()]) {
                    w.0.truncate(start);
                    write_unsorted_map(entries, w);
                    return;
                }
                previous = Some(key);
                write_value(v, w);
            }
        }
        Value::Tag(tag, inner) => {
            // `Nothing` writes no bytes: this writes the tag head alone.
            written(types::Tag(*tag, types::Nothing).encode(w));
            write_value(inner, w);
        }
        Value::Bool(b) => written(b.encode(w)),
        Value::Null => written(types::Null.encode(w)),
    }
}

/// A map whose entries are not given in canonical order: the keys are
/// encoded apart, sorted by their bytes, and written with their values (two
/// equal keys stay in the order given).
fn write_unsorted_map(entries: &[(Value, Value)], w: &mut Sink) {
    let mut sorted: Vec<(Vec<u8>, &Value)> = entries.iter().map(|(k, v)| (encode(k), v)).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    written(types::Map::bounded(sorted.len(), w));
    for (key, v) in sorted {
        w.0.extend_from_slice(&key);
        write_value(v, w);
    }
}

/// Reads one canonical CBOR item that fills `bytes` exactly, within
/// `limits`.
///
/// # Errors
/// A [`CborError`] naming the first rule the input breaks: too large, too
/// deep, too many items, truncated, trailing bytes, a non-minimal head, an
/// indefinite length, unsorted or duplicate map keys, a float or other
/// unsupported simple value, invalid UTF-8; and in any case
/// [`CborError::NotCanonical`] unless [`encode`] of the result reproduces
/// `bytes`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Value, CborError> {
    if bytes.len() > limits.max_size {
        return Err(CborError::TooLarge { size: bytes.len(), max_size: limits.max_size });
    }
    let mut decoder = Decoder {
        input: Input { bytes, pos: 0 },
        max_depth: limits.max_depth.min(MAX_DEPTH),
        max_items: limits.max_items,
        items: 0,
    };
    let value = decoder.item(0)?;
    let end = decoder.input.pos;
    if end < bytes.len() {
        return Err(CborError::TrailingBytes { offset: end, count: bytes.len() - end });
    }
    let again = encode_into(&value, Vec::with_capacity(bytes.len()));
    if again != bytes {
        let offset =
            again.iter().zip(bytes).position(|(a, b)| a != b).unwrap_or(again.len().min(bytes.len()));
        return Err(CborError::NotCanonical { offset });
    }
    Ok(value)
}

/// The input as a `cbor4ii` reader that knows its position and lends
/// slices of the input itself (zero copy).
struct Input<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> dec::Read<'a> for Input<'a> {
    type Error = Infallible;

    fn fill<'short>(&'short mut self, want: usize) -> Result<dec::Reference<'a, 'short>, Infallible> {
        let end = self.pos.saturating_add(want).min(self.bytes.len());
        Ok(dec::Reference::Long(&self.bytes[self.pos..end]))
    }

    fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
    }
}

struct Decoder<'a> {
    input: Input<'a>,
    max_depth: usize,
    max_items: usize,
    items: usize,
}

/// The size of the shortest head that carries `argument`.
fn minimal_head_len(argument: u64) -> usize {
    match argument {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.input.bytes.len() - self.input.pos
    }

    /// Maps a refusal by `cbor4ii` of the item at `offset` to our error.
    /// The reader stands after the head, so what remains is the content.
    fn library_error(&self, offset: usize, e: dec::Error<Infallible>) -> CborError {
        match e {
            dec::Error::Eof { .. } => CborError::UnexpectedEnd { offset },
            dec::Error::RequireLength { .. } | dec::Error::CastOverflow { .. } => {
                CborError::LengthBeyondInput { offset, available: self.remaining() }
            }
            dec::Error::RequireUtf8 { .. } => CborError::InvalidUtf8 { offset },
            _ => CborError::Malformed { offset },
        }
    }

    /// Refuses a head that ends at the current position unless it was the
    /// shortest one for `argument`. `content` is how many bytes of content
    /// the reader has already consumed after the head.
    fn check_head(&self, offset: usize, argument: u64, content: usize) -> Result<(), CborError> {
        let head_len = self.input.pos - offset - content;
        if head_len != minimal_head_len(argument) {
            return Err(CborError::NonMinimal { offset });
        }
        Ok(())
    }

    /// Counts `n` more items, refusing to go past the limit.
    fn count(&mut self, offset: usize, n: usize) -> Result<(), CborError> {
        match self.items.checked_add(n) {
            Some(total) if total <= self.max_items => {
                self.items = total;
                Ok(())
            }
            _ => Err(CborError::TooManyItems { offset, max_items: self.max_items }),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        let offset = self.input.pos;
        if depth > self.max_depth {
            return Err(CborError::TooDeep { offset, max_depth: self.max_depth });
        }
        if depth == 0 {
            self.count(offset, 1)?;
        }
        let initial = *self.input.bytes.get(offset).ok_or(CborError::UnexpectedEnd { offset })?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        match (major, info) {
            (7, _) => return self.simple(offset, initial),
            (_, 28..=30) | (0 | 1 | 6, 31) => {
                return Err(CborError::InvalidInitialByte { offset, byte: initial });
            }
            (_, 31) => return Err(CborError::IndefiniteLength { offset }),
            _ => {}
        }
        match major {
            0 => {
                let n = u64::decode(&mut self.input).map_err(|e| self.library_error(offset, e))?;
                self.check_head(offset, n, 0)?;
                Ok(Value::Unsigned(n))
            }
            1 => {
                let types::Negative(n) = types::Negative::<u64>::decode(&mut self.input)
                    .map_err(|e| self.library_error(offset, e))?;
                self.check_head(offset, n, 0)?;
                Ok(Value::Negative(n))
            }
            2 => {
                let types::Bytes(b) = types::Bytes::<&[u8]>::decode(&mut self.input)
                    .map_err(|e| self.library_error(offset, e))?;
                self.check_head(offset, b.len() as u64, b.len())?;
                Ok(Value::Bytes(b.to_vec()))
            }
            3 => {
                let s = <&str>::decode(&mut self.input).map_err(|e| self.library_error(offset, e))?;
                self.check_head(offset, s.len() as u64, s.len())?;
                Ok(Value::Text(s.to_owned()))
            }
            4 => {
                let len = types::Array::len(&mut self.input)
                    .map_err(|e| self.library_error(offset, e))?
                    .ok_or(CborError::IndefiniteLength { offset })?;
                self.check_head(offset, len as u64, 0)?;
                // Every element takes at least one byte.
                if len > self.remaining() {
                    return Err(CborError::LengthBeyondInput { offset, available: self.remaining() });
                }
                self.count(offset, len)?;
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let len = types::Map::len(&mut self.input)
                    .map_err(|e| self.library_error(offset, e))?
                    .ok_or(CborError::IndefiniteLength { offset })?;
                self.check_head(offset, len as u64, 0)?;
                // Every entry takes at least two bytes.
                if len > self.remaining() / 2 {
                    return Err(CborError::LengthBeyondInput { offset, available: self.remaining() });
                }
                self.count(offset, 2 * len)?;
                self.map_entries(len, depth)
            }
            _ => {
                let tag = types::Tag::tag(&mut self.input).map_err(|e| self.library_error(offset, e))?;
                self.check_head(offset, tag, 0)?;
                self.count(offset, 1)?;
                let inner = self.item(depth + 1)?;
                Ok(Value::Tag(tag, Box::new(inner)))
            }
        }
    }

    /// Reads `len` map entries, each key strictly greater (in encoded
    /// bytes) than the one before. Every key was itself read canonically,
    /// so its bytes in the input are its canonical encoding.
    fn map_entries(&mut self, len: usize, depth: usize) -> Result<Value, CborError> {
        let bytes = self.input.bytes;
        let mut entries = Vec::with_capacity(len);
        let mut previous: Option<&[u8]> = None;
        for _ in 0..len {
            let start = self.input.pos;
            let key = self.item(depth + 1)?;
            let key_bytes = &bytes[start..self.input.pos];
            if let Some(prev) = previous {
                match prev.cmp(key_bytes) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => return Err(CborError::DuplicateMapKey { offset: start }),
                    std::cmp::Ordering::Greater => return Err(CborError::UnsortedMapKeys { offset: start }),
                }
            }
            previous = Some(key_bytes);
            let value = self.item(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }

    /// Major type 7: only `false`, `true` and `null` are accepted.
    fn simple(&mut self, offset: usize, initial: u8) -> Result<Value, CborError> {
        match initial {
            0xf4 | 0xf5 => {
                let b = bool::decode(&mut self.input).map_err(|e| self.library_error(offset, e))?;
                Ok(Value::Bool(b))
            }
            0xf6 => {
                self.input.pos += 1;
                Ok(Value::Null)
            }
            0xf9..=0xfb => Err(CborError::Float { offset }),
            0xfc..=0xff => Err(CborError::InvalidInitialByte { offset, byte: initial }),
            _ => Err(CborError::UnsupportedSimpleValue { offset, byte: initial }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn dec(s: &str) -> Result<Value, CborError> {
        decode(&hex(s), &Limits::default())
    }

    #[test]
    fn encode_writes_shortest_heads() {
        for (v, want) in [
            (Value::Unsigned(0), "00"),
            (Value::Unsigned(23), "17"),
            (Value::Unsigned(24), "1818"),
            (Value::Unsigned(255), "18ff"),
            (Value::Unsigned(256), "190100"),
            (Value::Unsigned(65_536), "1a00010000"),
            (Value::Unsigned(1 << 32), "1b0000000100000000"),
            (Value::int(-1), "20"),
            (Value::int(-8), "27"),
            (Value::int(-25), "3818"),
            (Value::Negative(u64::MAX), "3bffffffffffffffff"),
            (Value::bytes(vec![1, 2]), "420102"),
            (Value::text("a"), "6161"),
            (Value::Tag(18, Box::new(Value::Null)), "d2f6"),
            (Value::Tag(98, Box::new(Value::Bool(true))), "d862f5"),
        ] {
            assert_eq!(hex::encode(encode(&v)), want, "{v:?}");
            assert_eq!(dec(want), Ok(v));
        }
    }

    #[test]
    fn encode_sorts_map_keys_by_encoded_bytes() {
        // RFC 8949 §4.2.1 order: 10, 100, -1, "z", "aa", [100], [-1], false.
        let v = Value::Map(vec![
            (Value::Bool(false), Value::Null),
            (Value::text("aa"), Value::Null),
            (Value::Array(vec![Value::int(-1)]), Value::Null),
            (Value::int(-1), Value::Null),
            (Value::Array(vec![Value::Unsigned(100)]), Value::Null),
            (Value::text("z"), Value::Null),
            (Value::Unsigned(100), Value::Null),
            (Value::Unsigned(10), Value::Null),
        ]);
        let want = "a8 0af6 1864f6 20f6 617af6 626161f6 811864f6 8120f6 f4f6";
        assert_eq!(hex::encode(encode(&v)), want.replace(' ', ""));
        let back = dec(want).unwrap();
        let keys: Vec<_> = back.as_map().unwrap().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys[0], Value::Unsigned(10));
        assert_eq!(keys[7], Value::Bool(false));
    }

    #[test]
    fn map_helpers_read_entries_by_int_and_text_key() {
        let v = dec("a3 01 27 20 06 61 6b 61 76").unwrap();
        assert_eq!(v.get(1).and_then(Value::as_i64), Some(-8));
        assert_eq!(v.get(-1).and_then(Value::as_u64), Some(6));
        assert_eq!(v.get(2), None);
        assert_eq!(v.get_text("k").and_then(Value::as_text), Some("v"));
        assert_eq!(Value::Unsigned(1).get(1), None);
        assert_eq!(Value::Negative(u64::MAX).as_i64(), None);
        assert_eq!(Value::int(i64::MIN).as_i64(), Some(i64::MIN));
    }

    #[test]
    fn decode_refuses_trailing_bytes() {
        assert_eq!(dec("01 00"), Err(CborError::TrailingBytes { offset: 1, count: 1 }));
        assert_eq!(dec("80 ff"), Err(CborError::TrailingBytes { offset: 1, count: 1 }));
    }

    #[test]
    fn decode_refuses_truncated_input() {
        assert_eq!(dec(""), Err(CborError::UnexpectedEnd { offset: 0 }));
        assert_eq!(dec("19 01"), Err(CborError::UnexpectedEnd { offset: 0 }));
        assert_eq!(dec("81 18"), Err(CborError::UnexpectedEnd { offset: 1 }));
        assert_eq!(dec("82 01"), Err(CborError::LengthBeyondInput { offset: 0, available: 1 }));
    }

    #[test]
    fn decode_refuses_non_minimal_integers() {
        assert_eq!(dec("18 17"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("19 00ff"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("1a 0000ffff"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("1b 00000000ffffffff"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("38 00"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("d8 12 f6"), Err(CborError::NonMinimal { offset: 0 }));
    }

    #[test]
    fn decode_refuses_non_minimal_lengths() {
        assert_eq!(dec("58 01 ff"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("79 0001 61"), Err(CborError::NonMinimal { offset: 0 }));
        assert_eq!(dec("81 98 00"), Err(CborError::NonMinimal { offset: 1 }));
        assert_eq!(dec("b8 01 01 02"), Err(CborError::NonMinimal { offset: 0 }));
    }

    #[test]
    fn decode_refuses_indefinite_lengths() {
        assert_eq!(dec("9f 01 ff"), Err(CborError::IndefiniteLength { offset: 0 }));
        assert_eq!(dec("bf 01 02 ff"), Err(CborError::IndefiniteLength { offset: 0 }));
        assert_eq!(dec("5f 41 00 ff"), Err(CborError::IndefiniteLength { offset: 0 }));
        assert_eq!(dec("7f 61 61 ff"), Err(CborError::IndefiniteLength { offset: 0 }));
        assert_eq!(dec("81 9f ff"), Err(CborError::IndefiniteLength { offset: 1 }));
    }

    #[test]
    fn decode_refuses_unsorted_map_keys() {
        assert_eq!(dec("a2 03 00 01 27"), Err(CborError::UnsortedMapKeys { offset: 3 }));
        // Bytewise, not length-first: "aa" (626161) sorts after "z" (617a).
        assert_eq!(dec("a2 626161 00 617a 00"), Err(CborError::UnsortedMapKeys { offset: 5 }));
        assert!(dec("a2 617a 00 626161 00").is_ok());
    }

    #[test]
    fn decode_refuses_duplicate_map_keys() {
        assert_eq!(dec("a2 01 00 01 00"), Err(CborError::DuplicateMapKey { offset: 3 }));
        assert_eq!(dec("a2 6161 00 6161 01"), Err(CborError::DuplicateMapKey { offset: 4 }));
    }

    #[test]
    fn decode_refuses_floats() {
        assert_eq!(dec("f9 3c00"), Err(CborError::Float { offset: 0 }));
        assert_eq!(dec("fa 3f800000"), Err(CborError::Float { offset: 0 }));
        assert_eq!(dec("fb 3ff0000000000000"), Err(CborError::Float { offset: 0 }));
        assert_eq!(dec("a1 06 fb 41d6f68ea8000000"), Err(CborError::Float { offset: 2 }));
    }

    #[test]
    fn decode_refuses_undefined_and_other_simple_values() {
        assert_eq!(dec("f7"), Err(CborError::UnsupportedSimpleValue { offset: 0, byte: 0xf7 }));
        assert_eq!(dec("f0"), Err(CborError::UnsupportedSimpleValue { offset: 0, byte: 0xf0 }));
        assert_eq!(dec("f8 ff"), Err(CborError::UnsupportedSimpleValue { offset: 0, byte: 0xf8 }));
        assert_eq!(dec("ff"), Err(CborError::InvalidInitialByte { offset: 0, byte: 0xff }));
        assert_eq!(dec("1c"), Err(CborError::InvalidInitialByte { offset: 0, byte: 0x1c }));
        assert_eq!(dec("3f"), Err(CborError::InvalidInitialByte { offset: 0, byte: 0x3f }));
        assert_eq!(dec("f4"), Ok(Value::Bool(false)));
        assert_eq!(dec("f6"), Ok(Value::Null));
    }

    #[test]
    fn decode_refuses_nesting_deeper_than_the_limit() {
        let limits = Limits { max_depth: 2, ..Limits::default() };
        assert!(decode(&hex("81 81 01"), &limits).is_ok());
        assert_eq!(decode(&hex("81 81 81 01"), &limits), Err(CborError::TooDeep { offset: 3, max_depth: 2 }));
        assert_eq!(decode(&hex("c1 c1 c1 01"), &limits), Err(CborError::TooDeep { offset: 3, max_depth: 2 }));
        // Deep nesting under the default limit, and far past MAX_DEPTH.
        let deep = [vec![0x81; 100_000], vec![0x01]].concat();
        let huge = Limits { max_size: usize::MAX, max_depth: usize::MAX, max_items: usize::MAX };
        assert_eq!(
            decode(&deep, &huge),
            Err(CborError::TooDeep { offset: MAX_DEPTH + 1, max_depth: MAX_DEPTH })
        );
        assert!(matches!(decode(&deep, &Limits::default()), Err(CborError::TooLarge { .. })));
    }

    #[test]
    fn decode_refuses_more_items_than_the_limit() {
        let limits = Limits { max_items: 4, ..Limits::default() };
        assert!(decode(&hex("83 01 02 03"), &limits).is_ok());
        assert_eq!(
            decode(&hex("84 01 02 03 04"), &limits),
            Err(CborError::TooManyItems { offset: 0, max_items: 4 })
        );
        assert_eq!(
            decode(&hex("a2 01 02 03 04"), &limits),
            Err(CborError::TooManyItems { offset: 0, max_items: 4 })
        );
        assert_eq!(
            decode(&hex("82 81 01 81 02"), &limits),
            Err(CborError::TooManyItems { offset: 3, max_items: 4 })
        );
    }

    #[test]
    fn decode_refuses_input_longer_than_the_size_limit() {
        let limits = Limits { max_size: 3, ..Limits::default() };
        assert!(decode(&hex("42 0102"), &limits).is_ok());
        assert_eq!(decode(&hex("43 010203"), &limits), Err(CborError::TooLarge { size: 4, max_size: 3 }));
    }

    #[test]
    fn decode_refuses_invalid_utf8() {
        assert_eq!(dec("62 c328"), Err(CborError::InvalidUtf8 { offset: 0 }));
        assert_eq!(dec("61 ff"), Err(CborError::InvalidUtf8 { offset: 0 }));
        assert_eq!(dec("62 c3a9"), Ok(Value::text("é")));
    }

    #[test]
    fn decode_refuses_huge_declared_lengths_before_allocating() {
        // A byte string, text string, array and map each claiming 2^64-1
        // or 2^32 elements in a few bytes of input.
        for (input, available) in [
            ("5b ffffffffffffffff", 0),
            ("7b ffffffffffffffff 61", 1),
            ("9b 0000000100000000 01", 1),
            ("9b ffffffffffffffff", 0),
            ("bb 0000000100000000 0102", 2),
            ("9a ffffffff 01", 1),
        ] {
            assert_eq!(dec(input), Err(CborError::LengthBeyondInput { offset: 0, available }), "{input}");
        }
    }

    #[test]
    fn equal_map_keys_are_written_as_given_and_refused_on_decode() {
        for entries in [
            vec![(Value::int(1), Value::int(7)), (Value::int(1), Value::int(8))],
            vec![
                (Value::int(2), Value::Null),
                (Value::int(1), Value::int(7)),
                (Value::int(1), Value::int(8)),
            ],
        ] {
            let bytes = encode(&Value::Map(entries.clone()));
            let mut want = vec![0xa0 + entries.len() as u8];
            let mut sorted = entries.clone();
            sorted.sort_by_key(|(k, _)| encode(k));
            for (k, v) in &sorted {
                want.extend(encode(k));
                want.extend(encode(v));
            }
            assert_eq!(bytes, want, "{entries:?}");
            assert!(
                matches!(decode(&bytes, &roomy()), Err(CborError::DuplicateMapKey { .. })),
                "{entries:?}"
            );
        }
    }

    #[test]
    fn encoded_len_counts_every_head_size() {
        for len in [0, 23, 24, 255, 256, 65_535, 65_536] {
            for v in [
                Value::Bytes(vec![7; len]),
                Value::Text("x".repeat(len)),
                Value::Array(vec![Value::Null; len]),
            ] {
                assert_eq!(encoded_len(&v), encode(&v).len(), "{len}");
            }
        }
        for n in [0, 23, 24, 255, 256, 65_535, 65_536, u64::from(u32::MAX), u64::from(u32::MAX) + 1, u64::MAX]
        {
            let v = Value::Tag(n, Box::new(Value::Map(vec![(Value::Unsigned(n), Value::Negative(n))])));
            assert_eq!(encoded_len(&v), encode(&v).len(), "{n}");
        }
    }

    /// Random values with distinct map keys; depth and size kept small.
    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<u64>().prop_map(Value::Unsigned),
            any::<u64>().prop_map(Value::Negative),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,20}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((inner.clone(), inner.clone()), 0..8).prop_map(|entries| {
                    let mut seen = std::collections::HashSet::new();
                    Value::Map(entries.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect())
                }),
                (any::<u64>(), inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
    }

    /// `v` with every map's entries in canonical order, as decode returns them.
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            Value::Map(entries) => {
                let mut e: Vec<(Value, Value)> =
                    entries.iter().map(|(k, v)| (sorted(k), sorted(v))).collect();
                e.sort_by_key(|(k, _)| encode(k));
                Value::Map(e)
            }
            Value::Tag(t, inner) => Value::Tag(*t, Box::new(sorted(inner))),
            other => other.clone(),
        }
    }

    fn roomy() -> Limits {
        Limits { max_size: 1 << 20, max_depth: 16, max_items: 1 << 16 }
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(v in arb_value()) {
            let bytes = encode(&v);
            let back = decode(&bytes, &roomy()).unwrap();
            prop_assert_eq!(&back, &sorted(&v));
            prop_assert_eq!(encode(&back), bytes);
        }

        #[test]
        fn encoded_len_is_the_length_of_the_encoding(v in arb_value()) {
            prop_assert_eq!(encoded_len(&v), encode(&v).len());
        }

        #[test]
        fn decode_of_random_bytes_accepts_only_canonical_input(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = decode(&bytes, &roomy()) {
                prop_assert_eq!(encode(&v), bytes);
            }
        }

        #[test]
        fn decode_of_mutated_encodings_accepts_only_canonical_input(
            v in arb_value(),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&v);
            for (at, byte) in flips {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes.truncate(1 + cut.index(bytes.len()));
            for input in [&bytes[..], &bytes[..bytes.len() - 1]] {
                if let Ok(v) = decode(input, &roomy()) {
                    prop_assert_eq!(encode(&v), input);
                }
            }
        }
    }
}
