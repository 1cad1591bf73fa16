//! RFC 3986 `URI` syntax (what JSON Schema's `uri` format means): a scheme,
//! `:`, a hierarchical part, an optional query and an optional fragment,
//! ASCII only, with every `%` starting a two-hex-digit escape. Nothing is
//! resolved or normalized here.
//!
//! Spec: `spec/epcis.md`, "URIs".

use std::net::Ipv6Addr;

/// Whether `text` is an absolute URI per RFC 3986 §3 (`URI` rule; a
/// fragment is allowed).
pub fn is_uri(text: &str) -> bool {
    let b = text.as_bytes();
    let Some(scheme_len) = scheme_length(b) else {
        return false;
    };
    let mut at = scheme_len + 1;
    if b[at..].starts_with(b"//") {
        let start = at + 2;
        let end =
            b[start..].iter().position(|c| matches!(c, b'/' | b'?' | b'#')).map_or(b.len(), |p| start + p);
        if !is_authority(&b[start..end]) {
            return false;
        }
        at = end;
    }
    at = scan(b, at, |c| is_pchar(c) || c == b'/');
    if b.get(at) == Some(&b'?') {
        at = scan(b, at + 1, is_query_char);
    }
    if b.get(at) == Some(&b'#') {
        at = scan(b, at + 1, is_query_char);
    }
    at == b.len()
}

/// The length of a leading `scheme` (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`)
/// that is followed by `:`.
pub(crate) fn scheme_length(b: &[u8]) -> Option<usize> {
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let len = b.iter().position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    (b[len] == b':').then_some(len)
}

/// The end of the run from `at` of bytes accepted by `class` or well-formed
/// percent escapes.
fn scan(b: &[u8], mut at: usize, class: impl Fn(u8) -> bool) -> usize {
    while let Some(&c) = b.get(at) {
        if class(c) {
            at += 1;
        } else if c == b'%' && b.get(at + 1..at + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            at += 3;
        } else {
            break;
        }
    }
    at
}

/// `scan` over all of `b`.
fn all(b: &[u8], class: impl Fn(u8) -> bool) -> bool {
    scan(b, 0, class) == b.len()
}

// The bits of `CLASSES`, one per RFC 3986 class.
const UNRESERVED: u8 = 1;
const SUB_DELIM: u8 = 2;
const PCHAR: u8 = 4;
const QUERY: u8 = 8;

/// RFC 3986's character classes of every byte, one bit each: a table
/// lookup per byte instead of a chain of comparisons (URIs are checked for
/// most strings of an event).
static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let unreserved = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        let sub_delim =
            matches!(c, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=');
        let pchar = unreserved || sub_delim || matches!(c, b':' | b'@');
        let query = pchar || matches!(c, b'/' | b'?');
        t[i] = (unreserved as u8 * UNRESERVED)
            | (sub_delim as u8 * SUB_DELIM)
            | (pchar as u8 * PCHAR)
            | (query as u8 * QUERY);
        i += 1;
    }
    t
}

fn has(c: u8, class: u8) -> bool {
    CLASSES[c as usize] & class != 0
}

pub(crate) fn is_unreserved(c: u8) -> bool {
    has(c, UNRESERVED)
}

fn is_sub_delim(c: u8) -> bool {
    has(c, SUB_DELIM)
}

fn is_pchar(c: u8) -> bool {
    has(c, PCHAR)
}

fn is_query_char(c: u8) -> bool {
    has(c, QUERY)
}

/// `[ userinfo "@" ] host [ ":" port ]`.
fn is_authority(b: &[u8]) -> bool {
    let host_port = match b.iter().position(|&c| c == b'@') {
        Some(at) => {
            if !all(&b[..at], |c| is_unreserved(c) || is_sub_delim(c) || c == b':') {
                return false;
            }
            &b[at + 1..]
        }
        None => b,
    };
    let port = if host_port.first() == Some(&b'[') {
        let Some(close) = host_port.iter().position(|&c| c == b']') else {
            return false;
        };
        if !is_ip_literal(&host_port[1..close]) {
            return false;
        }
        &host_port[close + 1..]
    } else {
        let end = host_port.iter().position(|&c| c == b':').unwrap_or(host_port.len());
        if !all(&host_port[..end], |c| is_unreserved(c) || is_sub_delim(c)) {
            return false;
        }
        &host_port[end..]
    };
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// The inside of `[...]`: an IPv6 address or `IPvFuture`.
fn is_ip_literal(b: &[u8]) -> bool {
    if let Some((b'v' | b'V', rest)) = b.split_first() {
        let Some(dot) = rest.iter().position(|&c| c == b'.') else {
            return false;
        };
        return dot > 0
            && rest[..dot].iter().all(u8::is_ascii_hexdigit)
            && dot + 1 < rest.len()
            && rest[dot + 1..].iter().all(|&c| is_unreserved(c) || is_sub_delim(c) || c == b':');
    }
    std::str::from_utf8(b).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_table_holds_rfc_3986s_classes_for_every_byte() {
        // The classes as RFC 3986 §2.2, §2.3 and §3.3-3.4 write them.
        for c in 0..=255u8 {
            let unreserved = c.is_ascii_alphanumeric() || b"-._~".contains(&c);
            let sub_delim = b"!$&'()*+,;=".contains(&c);
            let pchar = unreserved || sub_delim || c == b':' || c == b'@';
            let query = pchar || c == b'/' || c == b'?';
            assert_eq!(is_unreserved(c), unreserved, "unreserved {c:#04x}");
            assert_eq!(is_sub_delim(c), sub_delim, "sub-delims {c:#04x}");
            assert_eq!(is_pchar(c), pchar, "pchar {c:#04x}");
            assert_eq!(is_query_char(c), query, "query {c:#04x}");
        }
    }

    #[test]
    fn uris_from_the_gs1_examples_are_uris() {
        for good in [
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:idpat:sgtin:4012345.066666.*",
            "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0",
            "https://id.gs1.org/01/70614141123451/21/2017",
            "http://transaction.acme.com/po/12345678",
            "geo:42.698334,23.319941",
            "example:myField",
            "https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N",
            "http://www.w3.org/2000/01/rdf-schema#",
            "urn:uuid:fd338495-0e6d-41dd-afee-a862ecd32518",
            "https://user:pw@[2001:db8::1]:8080/a%2Fb?q=1#frag",
            "http://[v1.fe80::a+en1]/",
            "a:",
        ] {
            assert!(is_uri(good), "{good}");
        }
    }

    #[test]
    fn non_uris_are_refused() {
        for bad in [
            "",
            "shipping",
            "eventTime",
            "@context",
            "1urn:x",
            ":x",
            "urn:epc:id:sgtin:0614141.107346.20 17",
            "http://ex.com/a%2",
            "http://ex.com/a%zz",
            "http://ex.com:8o/",
            "http://[::1/",
            "http://[zz::1]/",
            "http://a@b@c/",
            "http://ex.com/ä",
            "x:a#b#c",
            "x:{}",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }
}
