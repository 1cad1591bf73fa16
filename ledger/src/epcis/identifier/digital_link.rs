//! GS1 Digital Link URIs (`https://id.gs1.org/01/09506000134352/21/12345`)
//! read into the parts [`Identifier`](super::Identifier) canonicalizes:
//! the primary key's AI and value, and its key qualifiers in GS1's order.
//! Any host is accepted (the identity is in the path); the path must start
//! with the primary key, with no custom path before it.

use super::{
    check_length, decode_component, has_valid_check_digit, is_set82, IdentifierError, IdentifierKind, Parsed,
};

/// The AIs that may open a Digital Link path, as this module reads them.
const PRIMARY_AIS: &[&str] = &["00", "01", "253", "414", "417", "8003", "8004", "8017", "8018"];

fn dl_error(reason: &'static str) -> IdentifierError {
    IdentifierError::DigitalLink { reason }
}

/// A decoded Digital Link AI value of 1 to `max` set-82 characters.
fn dl_text(ai: &'static str, value: &str, max: usize) -> Result<String, IdentifierError> {
    let text = decode_component(value, |c| is_set82(c) && c != b'%' && c != b'/')
        .ok_or(IdentifierError::BadCharacter { scheme: ai, what: "value" })?;
    check_length(ai, "value", &text, max)?;
    Ok(text)
}

/// A Digital Link numeric key of one of `lengths` digits with a valid check
/// digit, left-padded with zeros to `pad_to`.
fn dl_key(
    ai: &'static str,
    value: &str,
    lengths: &[usize],
    pad_to: usize,
) -> Result<String, IdentifierError> {
    if !value.bytes().all(|c| c.is_ascii_digit()) {
        return Err(IdentifierError::NotDigits { scheme: ai, component: 1 });
    }
    if !lengths.contains(&value.len()) {
        return Err(IdentifierError::KeyLength { scheme: ai, want: pad_to, got: value.len() });
    }
    let key = format!("{value:0>pad_to$}");
    if !has_valid_check_digit(&key) {
        return Err(IdentifierError::CheckDigit { scheme: ai, value: value.to_owned() });
    }
    Ok(key)
}

pub(super) fn parse_digital_link(uri: &str) -> Result<Option<Parsed>, IdentifierError> {
    let lower =
        |p: &str| uri.len() >= p.len() && uri.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let after_scheme = if lower("https://") {
        &uri[8..]
    } else if lower("http://") {
        &uri[7..]
    } else {
        return Ok(None);
    };
    let Some(slash) = after_scheme.find('/') else {
        return Ok(None);
    };
    let (host, path) = after_scheme.split_at(slash);
    if host.is_empty() || host.contains(['?', '#']) {
        return Ok(None);
    }
    let mut segments = path[1..].split('/');
    let Some(&ai) = segments.next().and_then(|first| PRIMARY_AIS.iter().find(|ai| **ai == first)) else {
        return Ok(None);
    };
    if path.contains(['?', '#']) {
        return Err(dl_error("a query or fragment has no place in an identifier"));
    }
    let rest: Vec<&str> = segments.collect();
    if rest.is_empty() || rest.len() % 2 != 1 {
        return Err(dl_error("path must hold AI/value pairs"));
    }
    let value = rest[0];
    let pairs: Vec<(&str, &str)> = rest[1..].chunks(2).map(|c| (c[0], c[1])).collect();
    use IdentifierKind as K;
    let only_key = |pairs: &[(&str, &str)]| {
        if pairs.is_empty() {
            Ok(())
        } else {
            Err(dl_error("this key takes no qualifier"))
        }
    };
    let (kind, key, qualifiers) = match ai {
        "01" => {
            let gtin = dl_key("01", value, &[8, 12, 13, 14], 14)?;
            let mut qualifiers = Vec::new();
            let mut order = ["22", "10", "21"].iter();
            for (q, v) in &pairs {
                let Some(&q) = order.by_ref().find(|o| *o == q) else {
                    return Err(dl_error("GTIN qualifiers must be 22, 10, 21, each once, in that order"));
                };
                qualifiers.push((q, dl_text(q, v, 20)?));
            }
            let kind = if qualifiers.iter().any(|(q, _)| *q == "21") {
                K::Sgtin
            } else if qualifiers.iter().any(|(q, _)| *q == "10") {
                K::Lgtin
            } else {
                K::Gtin
            };
            (kind, gtin, qualifiers)
        }
        "00" => {
            only_key(&pairs)?;
            (K::Sscc, dl_key("00", value, &[18], 18)?, vec![])
        }
        "414" => {
            let gln = dl_key("414", value, &[13], 13)?;
            let qualifiers = match pairs.as_slice() {
                [] => vec![],
                [("254", ext)] => vec![("254", dl_text("254", ext, 20)?)],
                _ => return Err(dl_error("a GLN takes only the qualifier 254")),
            };
            (K::Sgln, gln, qualifiers)
        }
        "417" => {
            only_key(&pairs)?;
            (K::Pgln, dl_key("417", value, &[13], 13)?, vec![])
        }
        "8003" => {
            only_key(&pairs)?;
            let text = dl_text("8003", value, 30)?;
            let (grai, serial) = text.split_at(text.len().min(14));
            if grai.len() != 14 || !grai.starts_with('0') {
                return Err(IdentifierError::KeyLength { scheme: "8003", want: 14, got: grai.len() });
            }
            dl_key("8003", &grai[1..], &[13], 13)?;
            if serial.len() > 16 {
                return Err(IdentifierError::ValueLength {
                    scheme: "8003",
                    what: "serial",
                    len: serial.len(),
                    max: 16,
                });
            }
            (K::Grai, text, vec![])
        }
        "8004" => {
            only_key(&pairs)?;
            (K::Giai, dl_text("8004", value, 30)?, vec![])
        }
        "8017" | "8018" => {
            only_key(&pairs)?;
            let kind = if ai == "8018" { K::Gsrn } else { K::Gsrnp };
            (kind, dl_key(ai, value, &[18], 18)?, vec![])
        }
        "253" => {
            only_key(&pairs)?;
            let text = dl_text("253", value, 30)?;
            let (gdti, serial) = text.split_at(text.len().min(13));
            dl_key("253", gdti, &[13], 13)?;
            if serial.len() > 17 {
                return Err(IdentifierError::ValueLength {
                    scheme: "253",
                    what: "serial",
                    len: serial.len(),
                    max: 17,
                });
            }
            (K::Gdti, text, vec![])
        }
        _ => unreachable!("PRIMARY_AIS lists every arm"),
    };
    Ok(Some(Parsed { kind, company_prefix: None, key, qualifiers }))
}
