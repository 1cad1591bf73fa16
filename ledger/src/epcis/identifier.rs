//! GS1 identifiers in the two URI forms EPCIS 2.0 allows, EPC pure-identity
//! URIs (`urn:epc:id:sgtin:0614141.107346.2017`) and GS1 Digital Link URIs
//! (`https://id.gs1.org/01/10614141073464/21/2017`), read into one
//! canonical form so that the two spellings of one object compare equal.
//!
//! The canonical form is the canonical GS1 Digital Link URI: host
//! `id.gs1.org`, scheme `https`, the primary key's application identifier
//! (AI) and value, then its key qualifiers in GS1's order, GTINs padded to
//! 14 digits, and each AI value percent-encoded so that exactly the RFC 3986
//! unreserved characters (`A–Z a–z 0–9 - . _ ~`) stand for themselves (hex
//! in upper case). A URI that is neither form, or an EPC scheme this module
//! does not read, is its own canonical form (`kind` [`IdentifierKind::Other`]).
//!
//! The GS1 Company Prefix is only known where the URI encodes its length:
//! in EPC URIs (`urn:epc:id:sgtin:0614141.…` → `0614141`), never in
//! Digital Link URIs.
//!
//! Spec: `spec/epcis.md`, "Identifiers".

use std::fmt::Write as _;

use serde::Serialize;
use thiserror::Error;

use super::uri::{is_unreserved, is_uri};

mod digital_link;
use digital_link::parse_digital_link;

/// What kind of object an identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum IdentifierKind {
    /// A serialized trade item: GTIN + serial (`sgtin`, AI 01 + 21).
    Sgtin,
    /// A trade item lot: GTIN + batch/lot (`lgtin` class, AI 01 + 10).
    Lgtin,
    /// All instances of a GTIN (`idpat:sgtin:CP.IR.*`, AI 01 alone).
    Gtin,
    /// A logistic unit (`sscc`, AI 00).
    Sscc,
    /// A physical location, with an optional extension (`sgln`, AI 414 [+ 254]).
    Sgln,
    /// A party (`pgln`, AI 417).
    Pgln,
    /// A returnable asset, serialized or not (`grai`, AI 8003).
    Grai,
    /// An individual asset (`giai`, AI 8004).
    Giai,
    /// A service relation, recipient (`gsrn`, AI 8018).
    Gsrn,
    /// A service relation, provider (`gsrnp`, AI 8017).
    Gsrnp,
    /// A document, serialized or not (`gdti`, AI 253).
    Gdti,
    /// Any other URI: kept verbatim.
    Other,
}

/// Which URI form an identifier was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum IdentifierSyntax {
    /// `urn:epc:id:…`, `urn:epc:class:…` or `urn:epc:idpat:…`.
    EpcUri,
    /// An `http`/`https` URI whose path starts with a GS1 primary-key AI.
    DigitalLink,
    /// Anything else.
    Other,
}

/// One identifier as written, with its canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Identifier {
    /// The URI exactly as the event wrote it.
    pub raw: String,
    /// The canonical GS1 Digital Link URI, or `raw` for [`IdentifierKind::Other`].
    pub canonical: String,
    pub kind: IdentifierKind,
    pub syntax: IdentifierSyntax,
    /// The GS1 Company Prefix, when the URI form encodes it (EPC URIs).
    pub company_prefix: Option<String>,
    /// The value of the primary key's AI (GTIN-14, SSCC-18, GLN-13, the
    /// whole GRAI/GIAI/GSRN/GDTI), for every kind but `Other`.
    pub gs1_key: Option<String>,
}

/// Why a URI in a GS1 identifier form was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentifierError {
    #[error("not an absolute URI")]
    NotUri,
    #[error("{scheme}: want {want} dot-separated components")]
    ComponentCount { scheme: &'static str, want: usize },
    #[error("{scheme}: component {component} is not all digits")]
    NotDigits { scheme: &'static str, component: usize },
    #[error("{scheme}: company prefix has {len} digits, want 6 to 12")]
    CompanyPrefixLength { scheme: &'static str, len: usize },
    #[error("{scheme}: numeric components have {got} digits together, want {want}")]
    KeyLength { scheme: &'static str, want: usize, got: usize },
    #[error("{scheme}: {what} holds a character outside GS1's AI character set 82 or a bad escape")]
    BadCharacter { scheme: &'static str, what: &'static str },
    #[error("{scheme}: {what} has {len} characters, want 1 to {max}")]
    ValueLength { scheme: &'static str, what: &'static str, len: usize, max: usize },
    #[error("{scheme}: check digit of {value} is wrong")]
    CheckDigit { scheme: &'static str, value: String },
    #[error("sgtin pattern must be CompanyPrefix.IndicatorItemRef.*")]
    UnsupportedPattern,
    #[error("Digital Link: {reason}")]
    DigitalLink { reason: &'static str },
}

impl Identifier {
    /// Reads `uri`, recognizing the EPC URI schemes `sgtin`, `sscc`, `sgln`,
    /// `pgln`, `grai`, `giai`, `gsrn`, `gsrnp`, `gdti` (`urn:epc:id:`),
    /// `lgtin` (`urn:epc:class:`) and `sgtin` patterns `CP.IR.*`
    /// (`urn:epc:idpat:`), their prefixes matched without regard to ASCII
    /// case, and Digital Link URIs (`http`/`https`, any host) whose first
    /// path segment is one of the AIs 00, 01, 253, 414, 417, 8003, 8004,
    /// 8017, 8018. Any other URI is accepted as [`IdentifierKind::Other`].
    ///
    /// # Errors
    /// [`IdentifierError::NotUri`] when `uri` is not an RFC 3986 URI; any
    /// other variant when it is in a recognized form but malformed there
    /// (component count, digits, lengths, characters, check digits; a
    /// Digital Link with a query, fragment, unexpected or out-of-order
    /// qualifier).
    pub fn parse(uri: &str) -> Result<Identifier, IdentifierError> {
        if !is_uri(uri) {
            return Err(IdentifierError::NotUri);
        }
        if let Some(parsed) = parse_epc_uri(uri)? {
            return Ok(parsed.finish(uri, IdentifierSyntax::EpcUri));
        }
        if let Some(parsed) = parse_digital_link(uri)? {
            return Ok(parsed.finish(uri, IdentifierSyntax::DigitalLink));
        }
        Ok(Identifier {
            raw: uri.to_owned(),
            canonical: uri.to_owned(),
            kind: IdentifierKind::Other,
            syntax: IdentifierSyntax::Other,
            company_prefix: None,
            gs1_key: None,
        })
    }

    /// Whether this names a class of objects rather than one object: a lot
    /// (`lgtin`), all of a GTIN, or a GRAI or GDTI without serial.
    pub fn is_class(&self) -> bool {
        match self.kind {
            IdentifierKind::Lgtin | IdentifierKind::Gtin => true,
            IdentifierKind::Grai => self.gs1_key.as_ref().is_some_and(|k| k.len() == 14),
            IdentifierKind::Gdti => self.gs1_key.as_ref().is_some_and(|k| k.len() == 13),
            _ => false,
        }
    }

    /// Whether this names one object or place (see [`Identifier::is_class`]);
    /// `Other` is neither.
    pub fn is_instance(&self) -> bool {
        self.kind != IdentifierKind::Other && !self.is_class()
    }

    /// The GTIN-14 of an `Sgtin`, `Lgtin` or `Gtin`.
    pub fn gtin(&self) -> Option<&str> {
        matches!(self.kind, IdentifierKind::Sgtin | IdentifierKind::Lgtin | IdentifierKind::Gtin)
            .then_some(self.gs1_key.as_deref())
            .flatten()
    }

    /// The GLN-13 of an `Sgln` (a location) or `Pgln` (a party).
    pub fn gln(&self) -> Option<&str> {
        matches!(self.kind, IdentifierKind::Sgln | IdentifierKind::Pgln)
            .then_some(self.gs1_key.as_deref())
            .flatten()
    }
}

/// A recognized identifier before its raw text is attached.
struct Parsed {
    kind: IdentifierKind,
    company_prefix: Option<String>,
    key: String,
    /// (AI, raw value) pairs after the primary key, in canonical order.
    qualifiers: Vec<(&'static str, String)>,
}

impl Parsed {
    fn finish(self, raw: &str, syntax: IdentifierSyntax) -> Identifier {
        const BASE: &str = "https://id.gs1.org/";
        let ai = primary_ai(self.kind);
        let qualifiers: usize = self.qualifiers.iter().map(|(q_ai, v)| q_ai.len() + v.len() + 2).sum();
        let mut canonical = String::with_capacity(BASE.len() + ai.len() + 1 + self.key.len() + qualifiers);
        canonical.push_str(BASE);
        canonical.push_str(ai);
        canonical.push('/');
        percent_encode_into(&mut canonical, &self.key);
        for (q_ai, value) in &self.qualifiers {
            canonical.push('/');
            canonical.push_str(q_ai);
            canonical.push('/');
            percent_encode_into(&mut canonical, value);
        }
        Identifier {
            raw: raw.to_owned(),
            canonical,
            kind: self.kind,
            syntax,
            company_prefix: self.company_prefix,
            gs1_key: Some(self.key),
        }
    }
}

fn primary_ai(kind: IdentifierKind) -> &'static str {
    match kind {
        IdentifierKind::Sgtin | IdentifierKind::Lgtin | IdentifierKind::Gtin => "01",
        IdentifierKind::Sscc => "00",
        IdentifierKind::Sgln => "414",
        IdentifierKind::Pgln => "417",
        IdentifierKind::Grai => "8003",
        IdentifierKind::Giai => "8004",
        IdentifierKind::Gsrn => "8018",
        IdentifierKind::Gsrnp => "8017",
        IdentifierKind::Gdti => "253",
        IdentifierKind::Other => unreachable!("Other has no GS1 key"),
    }
}

/// Writes `value` with every byte outside RFC 3986's unreserved set as `%HH`.
fn percent_encode_into(out: &mut String, value: &str) {
    if value.bytes().all(is_unreserved) {
        out.push_str(value);
        return;
    }
    for &b in value.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Whether `c` is in GS1's AI encodable character set 82.
fn is_set82(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'"'
                | b'%'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'-'
                | b'.'
                | b'/'
                | b':'
                | b';'
                | b'<'
                | b'='
                | b'>'
                | b'?'
                | b'_'
        )
}

/// Characters an EPC URI writes unescaped in an alphanumeric component
/// (TDS `GS3A3Char` without escapes).
fn is_epc_plain(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b':' | b';' | b'=' | b'_'
        )
}

/// Decodes `%HH` escapes of `text`; every plain byte must satisfy `plain`
/// and every decoded byte must be in set 82. Returns `None` otherwise.
fn decode_component(text: &str, plain: impl Fn(u8) -> bool) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            i += 3;
            u8::from_str_radix(hex, 16).ok()?
        } else if plain(b[i]) {
            i += 1;
            b[i - 1]
        } else {
            return None;
        };
        if !is_set82(c) {
            return None;
        }
        out.push(c as char);
    }
    Some(out)
}

/// An alphanumeric AI value from an EPC URI component, 1 to `max` characters.
fn epc_text(
    scheme: &'static str,
    what: &'static str,
    text: &str,
    max: usize,
) -> Result<String, IdentifierError> {
    let value = decode_component(text, is_epc_plain).ok_or(IdentifierError::BadCharacter { scheme, what })?;
    check_length(scheme, what, &value, max)?;
    Ok(value)
}

fn check_length(
    scheme: &'static str,
    what: &'static str,
    value: &str,
    max: usize,
) -> Result<(), IdentifierError> {
    if value.is_empty() || value.len() > max {
        return Err(IdentifierError::ValueLength { scheme, what, len: value.len(), max });
    }
    Ok(())
}

/// The GS1 mod-10 check digit of `digits` (weights 3, 1, 3, … from the right).
pub fn check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Whether the last digit of `key` is the check digit of the others.
fn has_valid_check_digit(key: &str) -> bool {
    let (body, check) = key.split_at(key.len() - 1);
    check.starts_with(check_digit(body))
}

/// Splits an EPC URI body into `n` components (the last may hold dots),
/// checks the leading numeric ones: all digits, the first a 6–12 digit
/// company prefix, together `total` digits when given.
fn epc_components<'a>(
    scheme: &'static str,
    body: &'a str,
    n: usize,
    numeric: usize,
    total: Option<usize>,
) -> Result<Vec<&'a str>, IdentifierError> {
    let parts: Vec<&str> = body.splitn(n, '.').collect();
    if parts.len() != n {
        return Err(IdentifierError::ComponentCount { scheme, want: n });
    }
    for (i, p) in parts.iter().take(numeric).enumerate() {
        if !p.bytes().all(|c| c.is_ascii_digit()) || (i == 0 && p.is_empty()) {
            return Err(IdentifierError::NotDigits { scheme, component: i + 1 });
        }
    }
    if !(6..=12).contains(&parts[0].len()) {
        return Err(IdentifierError::CompanyPrefixLength { scheme, len: parts[0].len() });
    }
    let got: usize = parts.iter().take(numeric).map(|p| p.len()).sum();
    match total {
        Some(want) if got != want => Err(IdentifierError::KeyLength { scheme, want, got }),
        _ => Ok(parts),
    }
}

/// Moves the first digit of `reference` (an indicator or extension digit)
/// in front of the company prefix and appends the check digit.
fn key_with_leading_digit(company_prefix: &str, reference: &str) -> String {
    let mut key = String::with_capacity(company_prefix.len() + reference.len() + 1);
    key.push_str(&reference[..1]);
    key.push_str(company_prefix);
    key.push_str(&reference[1..]);
    key.push(check_digit(&key));
    key
}

fn key_with_check_digit(parts: &[&str]) -> String {
    let mut key: String = parts.concat();
    key.push(check_digit(&key));
    key
}

fn parse_epc_uri(uri: &str) -> Result<Option<Parsed>, IdentifierError> {
    let lower_prefix =
        |p: &str| uri.len() >= p.len() && uri.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let (namespace, rest) = if lower_prefix("urn:epc:id:") {
        ("id", &uri[11..])
    } else if lower_prefix("urn:epc:class:") {
        ("class", &uri[14..])
    } else if lower_prefix("urn:epc:idpat:") {
        ("idpat", &uri[14..])
    } else {
        return Ok(None);
    };
    let Some((scheme, body)) = rest.split_once(':') else {
        return Ok(None);
    };
    // The scheme in lower case, on the stack: every scheme matched below
    // fits in 8 bytes, so a longer one is none of them.
    let mut buf = [0u8; 8];
    let Some(lower) = buf.get_mut(..scheme.len()) else {
        return Ok(None);
    };
    lower.copy_from_slice(scheme.as_bytes());
    lower.make_ascii_lowercase();
    let scheme = std::str::from_utf8(lower).expect("ASCII lower-casing keeps UTF-8");
    use IdentifierKind as K;
    let (kind, cp, key, qualifiers) = match (namespace, scheme) {
        ("id", "sgtin") => {
            let p = epc_components("sgtin", body, 3, 2, Some(13))?;
            let serial = epc_text("sgtin", "serial", p[2], 20)?;
            (K::Sgtin, p[0], key_with_leading_digit(p[0], p[1]), vec![("21", serial)])
        }
        ("class", "lgtin") => {
            let p = epc_components("lgtin", body, 3, 2, Some(13))?;
            let lot = epc_text("lgtin", "lot", p[2], 20)?;
            (K::Lgtin, p[0], key_with_leading_digit(p[0], p[1]), vec![("10", lot)])
        }
        ("idpat", "sgtin") => {
            let p = epc_components("sgtin", body, 3, 2, Some(13))
                .map_err(|_| IdentifierError::UnsupportedPattern)?;
            if p[2] != "*" {
                return Err(IdentifierError::UnsupportedPattern);
            }
            (K::Gtin, p[0], key_with_leading_digit(p[0], p[1]), vec![])
        }
        ("id", "sscc") => {
            let p = epc_components("sscc", body, 2, 2, Some(17))?;
            (K::Sscc, p[0], key_with_leading_digit(p[0], p[1]), vec![])
        }
        ("id", "sgln") => {
            let p = epc_components("sgln", body, 3, 2, Some(12))?;
            let extension = epc_text("sgln", "extension", p[2], 20)?;
            let qualifiers = if extension == "0" { vec![] } else { vec![("254", extension)] };
            (K::Sgln, p[0], key_with_check_digit(&p[..2]), qualifiers)
        }
        ("id", "pgln") => {
            let p = epc_components("pgln", body, 2, 2, Some(12))?;
            (K::Pgln, p[0], key_with_check_digit(&p), vec![])
        }
        ("id", "grai") => {
            let p = epc_components("grai", body, 3, 2, Some(12))?;
            let serial = epc_text("grai", "serial", p[2], 16)?;
            let mut key = String::from("0");
            key.push_str(&key_with_check_digit(&p[..2]));
            key.push_str(&serial);
            (K::Grai, p[0], key, vec![])
        }
        ("id", "giai") => {
            let p = epc_components("giai", body, 2, 1, None)?;
            let reference = epc_text("giai", "asset reference", p[1], 30)?;
            let key = format!("{}{reference}", p[0]);
            check_length("giai", "GIAI", &key, 30)?;
            (K::Giai, p[0], key, vec![])
        }
        ("id", scheme @ ("gsrn" | "gsrnp")) => {
            let (kind, name) = if scheme == "gsrn" { (K::Gsrn, "gsrn") } else { (K::Gsrnp, "gsrnp") };
            let p = epc_components(name, body, 2, 2, Some(17))?;
            (kind, p[0], key_with_check_digit(&p), vec![])
        }
        ("id", "gdti") => {
            let p = epc_components("gdti", body, 3, 2, Some(12))?;
            let serial = epc_text("gdti", "serial", p[2], 17)?;
            let mut key = key_with_check_digit(&p[..2]);
            key.push_str(&serial);
            (K::Gdti, p[0], key, vec![])
        }
        _ => return Ok(None),
    };
    Ok(Some(Parsed { kind, company_prefix: Some(cp.to_owned()), key, qualifiers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(uri: &str) -> String {
        Identifier::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}")).canonical
    }

    #[test]
    fn sgtin_reads_with_company_prefix_and_matches_its_digital_link() {
        let id = Identifier::parse("urn:epc:id:sgtin:0614141.107346.2017").unwrap();
        assert_eq!(id.kind, IdentifierKind::Sgtin);
        assert_eq!(id.company_prefix.as_deref(), Some("0614141"));
        assert_eq!(id.gtin(), Some("10614141073464"));
        assert_eq!(id.canonical, "https://id.gs1.org/01/10614141073464/21/2017");
        let dl = Identifier::parse("HTTPS://example.com/01/10614141073464/21/2017").unwrap();
        assert_eq!((dl.canonical.as_str(), dl.company_prefix), (id.canonical.as_str(), None));
        assert!(id.is_instance() && !id.is_class());
    }

    #[test]
    fn class_identifiers_match_across_forms() {
        // Pairs from GS1's transformation example in both forms.
        assert_eq!(
            canonical("urn:epc:class:lgtin:0614141.077777.987"),
            canonical("https://id.gs1.org/01/00614141777778/10/987")
        );
        assert_eq!(
            canonical("urn:epc:idpat:sgtin:4012345.066666.*"),
            canonical("https://id.gs1.org/01/04012345666663")
        );
        assert_eq!(canonical("https://id.gs1.org/01/4012345666663"), "https://id.gs1.org/01/04012345666663");
        assert!(Identifier::parse("urn:epc:class:lgtin:4012345.012345.998877").unwrap().is_class());
    }

    #[test]
    fn escapes_and_special_characters_canonicalize_one_way() {
        let urn = canonical("urn:epc:id:sgtin:0614141.107346.a%2Fb.c*d");
        assert_eq!(urn, "https://id.gs1.org/01/10614141073464/21/a%2Fb.c%2Ad");
        assert_eq!(canonical("https://id.gs1.org/01/10614141073464/21/a%2fb.c*d"), urn);
    }

    #[test]
    fn other_gs1_keys_canonicalize() {
        let cases = [
            ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"),
            ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
            ("urn:epc:id:sgln:4012345.00001.0", "https://id.gs1.org/414/4012345000016"),
            ("urn:epc:id:pgln:4000001.00012", "https://id.gs1.org/417/4000001000128"),
            ("urn:epc:id:grai:4012345.55555.987", "https://id.gs1.org/8003/04012345555554987"),
            ("urn:epc:id:giai:952005385.w2", "https://id.gs1.org/8004/952005385w2"),
            ("urn:epc:id:gsrn:95252084.000000001", "https://id.gs1.org/8018/952520840000000010"),
            ("urn:epc:id:gdti:0614141.00001.1618034", "https://id.gs1.org/253/06141410000121618034"),
            ("https://id.gs1.org/414/9506000134307", "https://id.gs1.org/414/9506000134307"),
        ];
        for (uri, want) in cases {
            assert_eq!(canonical(uri), want, "{uri}");
        }
        let sgln = Identifier::parse("urn:epc:id:sgln:0614141.07346.1234").unwrap();
        assert_eq!((sgln.gln(), sgln.company_prefix.as_deref()), (Some("0614141073467"), Some("0614141")));
    }

    #[test]
    fn other_uris_are_their_own_canonical_form() {
        for uri in ["urn:epc:id:gid:95100000.12345.400", "geo:42.698334,23.319941", "http://example.com/po/1"]
        {
            let id = Identifier::parse(uri).unwrap();
            assert_eq!((id.kind, id.canonical.as_str()), (IdentifierKind::Other, uri));
        }
    }

    #[test]
    fn malformed_gs1_identifiers_are_refused() {
        for bad in [
            "urn:epc:id:sgtin:0614141.107346",
            "urn:epc:id:sgtin:0614141.10734.2017",
            "urn:epc:id:sgtin:06141.4107346.2017",
            "urn:epc:id:sgtin:0614141.10734x.2017",
            "urn:epc:id:sgtin:0614141.107346.",
            "urn:epc:id:sgtin:0614141.107346.123456789012345678901",
            "urn:epc:id:sgtin:0614141.107346.a%7Eb",
            "urn:epc:id:sgtin:0614141.107346.a/b",
            "urn:epc:idpat:sgtin:0614141.*.*",
            "urn:epc:id:sscc:0614141.123456789",
            "https://id.gs1.org/01/10614141073468/21/2017",
            "https://id.gs1.org/01/10614141073464/21/2017?linkType=all",
            "https://id.gs1.org/01/10614141073464/21",
            "https://id.gs1.org/01/10614141073464/21/2017/10/LOT",
            "https://id.gs1.org/00/106141412345678909",
            "https://id.gs1.org/8003/14012345555554987",
            "not a uri",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_digit_follows_gs1_mod_10() {
        assert_eq!(check_digit("0061414177777"), '8');
        assert_eq!(check_digit("401234566666"), '3');
        assert_eq!(check_digit("10614141234567890"), '8');
    }
}
