//! EPCIS time values: RFC 3339 date-times read to UTC milliseconds, and the
//! `eventTimeZoneOffset` form `±HH:MM`. Pure functions of the text: no clock,
//! no locale, no time-zone database.
//!
//! Spec: `spec/epcis.md`, "Times".

use std::fmt;

use serde::Serialize;

/// Reads an RFC 3339 `date-time` (what JSON Schema's `date-time` format
/// means) and returns the instant as milliseconds since 1970-01-01T00:00:00Z.
///
/// Accepted: `YYYY-MM-DD` `T`|`t` `hh:mm:ss` [`.` one or more digits]
/// (`Z`|`z`|`+hh:mm`|`-hh:mm`), with a real calendar date (years 0000–9999,
/// leap years Gregorian), hours 00–23, minutes 00–59, seconds 00–59 and
/// offset hours 00–23. Digits after the third fractional digit are dropped
/// (the instant is truncated to the millisecond, towards the past).
/// A leap second (`:60`) is refused: the log's clock has no place for it.
pub fn parse_date_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// An `eventTimeZoneOffset`: the local offset from UTC where the event
/// happened, between −14:00 and +14:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TimeZoneOffset {
    /// Signed minutes east of UTC. `-00:00` reads as 0.
    pub minutes: i16,
}

impl TimeZoneOffset {
    /// Reads the schema's pattern `^([+]|[-])((0[0-9]|1[0-3]):([0-5][0-9])|14:00)$`.
    pub fn parse(text: &str) -> Option<TimeZoneOffset> {
        let [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] = *text.as_bytes() else {
            return None;
        };
        let h = digits(&[h1, h2])?;
        let m = digits(&[m1, m2])?;
        if m > 59 || h > 14 || (h == 14 && m != 0) {
            return None;
        }
        let minutes = (h * 60 + m) as i16;
        Some(TimeZoneOffset { minutes: if sign == b'-' { -minutes } else { minutes } })
    }
}

impl fmt::Display for TimeZoneOffset {
    /// Writes `+HH:MM` or `-HH:MM` (zero is `+00:00`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// The value of a run of ASCII digits (at most 4 here).
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_reads_to_utc_milliseconds() {
        assert_eq!(parse_date_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date_time("2005-04-03T20:33:31.116-06:00"), Some(1_112_582_011_116));
        assert_eq!(parse_date_time("2005-04-04T02:33:31.116Z"), Some(1_112_582_011_116));
        // Extra fractional digits are truncated, never rounded.
        assert_eq!(parse_date_time("2005-04-03T20:33:31.116999-06:00"), Some(1_112_582_011_116));
        assert_eq!(parse_date_time("2005-07-11T11:30:47.0Z"), Some(1_121_081_447_000));
        assert_eq!(parse_date_time("1969-12-31T23:59:59.5z"), Some(-500));
        assert_eq!(parse_date_time("2020-01-14t00:00:00+01:00"), Some(1_578_956_400_000));
        assert_eq!(parse_date_time("2000-02-29T00:00:00Z"), Some(951_782_400_000));
    }

    #[test]
    fn date_time_refuses_what_rfc_3339_refuses() {
        for bad in [
            "2005-04-03 20:33:31Z",
            "2005-04-03T20:33:31",
            "2005-04-03T20:33Z",
            "2005-4-03T20:33:31Z",
            "2005-04-03T20:33:31.Z",
            "2005-04-03T24:00:00Z",
            "2005-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2005-13-01T00:00:00Z",
            "2005-04-31T00:00:00Z",
            "2005-04-03T20:33:31+0600",
            "2005-04-03T20:33:31+24:00",
            "2005-04-03T20:33:31-06:60",
            "2016-12-31T23:59:60Z",
            "+2005-04-03T20:33:31Z",
            "２００５-04-03T20:33:31Z",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_zone_offset_accepts_only_the_schema_range() {
        assert_eq!(TimeZoneOffset::parse("+14:00"), Some(TimeZoneOffset { minutes: 840 }));
        assert_eq!(TimeZoneOffset::parse("-13:59"), Some(TimeZoneOffset { minutes: -839 }));
        assert_eq!(TimeZoneOffset::parse("-00:00"), Some(TimeZoneOffset { minutes: 0 }));
        // The schema's pattern lets -14:00 through as well.
        assert_eq!(TimeZoneOffset::parse("-14:00"), Some(TimeZoneOffset { minutes: -840 }));
        for bad in ["+14:01", "-14:01", "+15:00", "01:00", "+1:00", "+01:60", "+01:00 ", "Z"] {
            assert_eq!(TimeZoneOffset::parse(bad), None, "{bad}");
        }
        assert_eq!(TimeZoneOffset { minutes: -360 }.to_string(), "-06:00");
    }
}
