//! The FDA FSMA 204 electronic sortable spreadsheet of a lineage answer:
//! CSV, one row per event per traceability lot code, key data elements as
//! columns.
//!
//! Spec: `spec/lineage.md` §7 (columns, CTE mapping).

use super::answer::{Answer, AnswerEvent};
use super::summary::{EventType, Role};
use std::fmt::Write as _;

/// The header row's columns, in order.
pub const COLUMNS: [&str; 20] = [
    "traceability_lot_code",
    "product_gtin",
    "object",
    "tlc_role",
    "quantity",
    "unit_of_measure",
    "cte",
    "event_time",
    "location_gln",
    "source",
    "destination",
    "reference_document",
    "biz_step",
    "disposition",
    "event_id",
    "issuer",
    "entry_index",
    "statement_id",
    "status",
    "event_type",
];

/// The spreadsheet of `answer` (RFC 4180 CSV, CRLF line ends).
pub fn to_csv(answer: &Answer) -> String {
    let mut out = String::new();
    write_row(&mut out, COLUMNS.iter().map(|c| c.to_string()));
    for e in &answer.events {
        for row in rows(e) {
            write_row(&mut out, row.into_iter());
        }
    }
    out
}

/// The rows of one event.
fn rows(e: &AnswerEvent) -> Vec<Vec<String>> {
    let s = &e.summary;
    // (object, role, quantity, uom), lots first in object order.
    let mut lots: Vec<(String, &'static str, Option<f64>, Option<String>)> = Vec::new();
    for o in &s.objects {
        if lot_of(&o.id).is_some() {
            let role = role_name(o.role);
            if !lots.iter().any(|(id, r, ..)| *id == o.id && *r == role) {
                lots.push((o.id.clone(), role, o.quantity, o.uom.clone()));
            }
        }
    }
    for r in &e.reached_by {
        if r.container.is_some()
            && lot_of(&r.identifier).is_some()
            && !lots.iter().any(|l| l.0 == r.identifier)
        {
            lots.push((r.identifier.clone(), "contained", None, None));
        }
    }
    if lots.is_empty() {
        let mut traced: Vec<&str> = Vec::new();
        for r in e.reached_by.iter().filter(|r| !r.roles.is_empty()) {
            if !traced.contains(&r.identifier.as_str()) {
                traced.push(&r.identifier);
            }
        }
        if traced.is_empty() {
            traced.push("");
        }
        return traced.into_iter().map(|id| row(e, "", id, "", None, None)).collect();
    }
    lots.iter().map(|(id, role, q, u)| row(e, &tlc(id), id, role, *q, u.as_deref())).collect()
}

fn row(
    e: &AnswerEvent,
    tlc: &str,
    object: &str,
    role: &str,
    quantity: Option<f64>,
    uom: Option<&str>,
) -> Vec<String> {
    let s = &e.summary;
    let location = s.biz_location.as_deref().or(s.read_point.as_deref()).map(short_gln).unwrap_or_default();
    let parties = |list: &[super::PartyMention]| {
        list.iter().map(|p| format!("{}={}", p.kind, short_gln(&p.id))).collect::<Vec<_>>().join("; ")
    };
    let documents = s
        .biz_transactions
        .iter()
        .map(|b| match &b.kind {
            Some(k) => format!("{k}={}", b.id),
            None => b.id.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        tlc.to_owned(),
        gtin_of(object).unwrap_or_default(),
        object.to_owned(),
        role.to_owned(),
        quantity.map(|q| q.to_string()).unwrap_or_default(),
        uom.unwrap_or_default().to_owned(),
        cte(e).unwrap_or_default().to_owned(),
        format_time(s.event_time_ms, s.time_zone_offset_minutes),
        location,
        parties(&s.sources),
        parties(&s.destinations),
        documents,
        s.biz_step.clone().unwrap_or_default(),
        s.disposition.clone().unwrap_or_default(),
        s.event_id.clone().unwrap_or_default(),
        s.issuer.clone(),
        e.index.to_string(),
        s.statement_id.clone(),
        if e.declared_by.is_some() { "declared" } else { "effective" }.to_owned(),
        s.event_type.as_str().to_owned(),
    ]
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Input | Role::InputQuantity => "input",
        Role::Output | Role::OutputQuantity => "output",
        Role::Epc | Role::Quantity => "object",
        Role::Child | Role::ChildQuantity => "child",
        Role::Parent => "parent",
        Role::Source => "source",
        Role::Destination => "destination",
    }
}

/// The critical tracking event of an event (`spec/lineage.md` §7).
pub fn cte(e: &AnswerEvent) -> Option<&'static str> {
    let s = &e.summary;
    if s.event_type == EventType::TransformationEvent {
        return Some("transformation");
    }
    let step = s.biz_step.as_deref()?;
    match step {
        "shipping" => return Some("shipping"),
        "receiving" => return Some("receiving"),
        _ => {}
    }
    if step.contains(':') {
        let last = step.rsplit(['/', ':', '#']).next().unwrap_or_default();
        for term in ["harvesting", "cooling", "initial_packing", "first_land_based_receiving"] {
            if last == term {
                return Some(term);
            }
        }
    }
    (s.event_type == EventType::ObjectEvent
        && s.action == Some(super::Action::Add)
        && step == "commissioning")
        .then_some("initial_packing")
}

/// The (AI, value) pairs of a canonical GS1 Digital Link URI, values
/// percent-decoded; `None` for any other identifier.
fn gs1_pairs(canonical: &str) -> Option<Vec<(&str, String)>> {
    let path = canonical.strip_prefix("https://id.gs1.org/")?;
    let segs: Vec<&str> = path.split('/').collect();
    if segs.len() % 2 != 0 {
        return None;
    }
    segs.chunks(2).map(|c| Some((c[0], percent_decode(c[1])?))).collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// (GTIN-14, lot) of a canonical LGTIN.
fn lot_of(canonical: &str) -> Option<(String, String)> {
    let pairs = gs1_pairs(canonical)?;
    let gtin = pairs.iter().find(|(ai, _)| *ai == "01")?.1.clone();
    if pairs.iter().any(|(ai, _)| *ai == "21") {
        return None;
    }
    let lot = pairs.iter().find(|(ai, _)| *ai == "10")?.1.clone();
    Some((gtin, lot))
}

fn gtin_of(canonical: &str) -> Option<String> {
    gs1_pairs(canonical)?.into_iter().find(|(ai, _)| *ai == "01").map(|(_, v)| v)
}

/// The lot as the GS1 element string `(01)<GTIN>(10)<lot>`.
fn tlc(canonical: &str) -> String {
    lot_of(canonical).map(|(g, l)| format!("(01){g}(10){l}")).unwrap_or_default()
}

/// A GLN or PGLN as 13 digits (without a GLN extension); any other
/// identifier as it is.
fn short_gln(canonical: &str) -> String {
    match gs1_pairs(canonical).as_deref() {
        Some([(ai, gln)]) if *ai == "414" || *ai == "417" => gln.clone(),
        _ => canonical.to_owned(),
    }
}

/// `ms` (UTC) as RFC 3339 in the offset `offset_minutes`, with milliseconds
/// only when not zero: `2026-11-01T06:00:00+00:00`.
pub fn format_time(ms: i64, offset_minutes: i16) -> String {
    let local = ms + i64::from(offset_minutes) * 60_000;
    let (days, ms_of_day) = (local.div_euclid(86_400_000), local.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    let mut s = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if ms_of_day % 1000 != 0 {
        let _ = write!(s, ".{:03}", ms_of_day % 1000);
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    let _ = write!(s, "{sign}{:02}:{:02}", off / 60, off % 60);
    s
}

/// (year, month, day) of a day count from 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn write_row(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis::time::parse_date_time;

    #[test]
    fn times_format_as_rfc3339_in_the_event_offset() {
        for (t, off) in [
            ("2026-11-01T06:00:00+00:00", 0),
            ("2024-02-29T23:59:59.123-05:00", -300),
            ("1969-12-31T23:00:00+14:00", 840),
            ("2000-03-01T00:00:00+05:30", 330),
        ] {
            let ms = parse_date_time(t).unwrap();
            assert_eq!(format_time(ms, off), t);
        }
    }

    #[test]
    fn lots_are_read_from_canonical_digital_links() {
        assert_eq!(
            lot_of("https://id.gs1.org/01/10614141073464/10/A%2F1"),
            Some(("10614141073464".into(), "A/1".into()))
        );
        assert_eq!(lot_of("https://id.gs1.org/01/10614141073464/21/7"), None);
        assert_eq!(tlc("https://id.gs1.org/01/10614141073464/10/A1"), "(01)10614141073464(10)A1");
        assert_eq!(short_gln("https://id.gs1.org/414/0614141000012"), "0614141000012");
        assert_eq!(
            short_gln("https://id.gs1.org/414/0614141000012/254/7"),
            "https://id.gs1.org/414/0614141000012/254/7"
        );
        assert_eq!(short_gln("urn:example:x"), "urn:example:x");
    }

    #[test]
    fn fields_with_separators_are_quoted() {
        let mut s = String::new();
        write_row(&mut s, ["a".to_string(), "b,c".into(), "d\"e".into()].into_iter());
        assert_eq!(s, "a,\"b,c\",\"d\"\"e\"\r\n");
    }
}
