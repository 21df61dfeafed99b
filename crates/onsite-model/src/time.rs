//! One textual form for instants, so that stored times sort as text and compare as equal
//! across SQLite, JSON and the wire.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Timestamp = DateTime<Utc>;

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-22T09:30:00.000Z`.
pub fn format_ts(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 instant and normalises it to UTC.
pub fn parse_ts(s: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

/// Milliseconds since the Unix epoch to an instant (saturating at the representable range).
pub fn ts_from_ms(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Serde helpers that keep instants in the canonical millisecond form on the wire.
pub mod serde_ts {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ts(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        parse_ts(&s).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&format_ts(t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            let s = Option::<String>::deserialize(d)?;
            s.map(|s| parse_ts(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_round_trips_and_sorts_as_text() {
        let a = parse_ts("2026-11-22T10:30:00+08:00").unwrap();
        assert_eq!(format_ts(&a), "2026-11-22T02:30:00.000Z");
        let b = ts_from_ms(a.timestamp_millis() + 1);
        assert!(format_ts(&a) < format_ts(&b));
        assert_eq!(parse_ts(&format_ts(&b)).unwrap(), b);
    }
}
