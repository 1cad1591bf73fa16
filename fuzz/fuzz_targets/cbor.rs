//! Canonical CBOR (`cbor::decode`, `cbor::encode`).
//!
//! Properties: whatever `decode` accepts, `encode` reproduces byte for byte,
//! under every limit; an accepted value respects the limits it was read
//! under; and loosening the limits never changes what an input decodes to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provlog_ledger::cbor::{self, Limits, Value, MAX_DEPTH};

/// Nesting depth as `Limits::max_depth` counts it: 0 for the top-level item.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(|i| 1 + depth(i)).max().unwrap_or(0),
        Value::Map(entries) => entries.iter().map(|(k, v)| 1 + depth(k).max(depth(v))).max().unwrap_or(0),
        Value::Tag(_, inner) => 1 + depth(inner),
        _ => 0,
    }
}

/// Data items as `Limits::max_items` counts them.
fn items(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(items).sum(),
        Value::Map(m) => m.iter().map(|(k, v)| items(k) + items(v)).sum(),
        Value::Tag(_, inner) => items(inner),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let tight = Limits { max_size: 1024, max_depth: 3, max_items: 16 };
    let roomy = Limits { max_size: usize::MAX, max_depth: usize::MAX, max_items: usize::MAX };
    let mut previous: Option<Value> = None;
    for limits in [tight, Limits::default(), roomy] {
        match cbor::decode(data, &limits) {
            Ok(v) => {
                assert_eq!(cbor::encode(&v), data, "decode accepted a non-canonical encoding");
                assert!(depth(&v) <= limits.max_depth.min(MAX_DEPTH), "depth limit not enforced");
                assert!(items(&v) <= limits.max_items, "item limit not enforced");
                assert!(data.len() <= limits.max_size, "size limit not enforced");
                if let Some(p) = &previous {
                    assert_eq!(p, &v, "looser limits changed the value");
                }
                previous = Some(v);
            }
            Err(e) => {
                let _ = e.code();
                assert!(previous.is_none(), "looser limits refused what tighter ones accepted: {e}");
            }
        }
    }
});
