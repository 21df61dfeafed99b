//! What EXIF says about a photo: orientation, capture time, GPS position.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDate, TimeZone};
use onsite_model::time::Timestamp;

/// What EXIF tells about a photo.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ExifFacts {
    pub(super) orientation: u8,
    pub(super) taken_at: Option<Timestamp>,
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
}

/// EXIF is optional and often partly broken: whatever cannot be read is left out.
pub(super) fn read_exif(bytes: &[u8], naive_offset: FixedOffset) -> ExifFacts {
    let mut facts = ExifFacts {
        orientation: 1,
        ..Default::default()
    };
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return facts;
    };
    let field = |tag| exif.get_field(tag, exif::In::PRIMARY);
    if let Some(o) = field(exif::Tag::Orientation).and_then(|f| f.value.get_uint(0))
        && (1..=8).contains(&o)
    {
        facts.orientation = o as u8;
    }
    let ascii = |tag| match field(tag).map(|f| &f.value) {
        Some(exif::Value::Ascii(v)) => v.first().cloned(),
        _ => None,
    };
    if let Some(raw) = ascii(exif::Tag::DateTimeOriginal)
        && let Ok(mut dt) = exif::DateTime::from_ascii(&raw)
    {
        if let Some(off) = ascii(exif::Tag::OffsetTimeOriginal) {
            let _ = dt.parse_offset(&off);
        }
        let offset = dt
            .offset
            .and_then(|m| FixedOffset::east_opt(i32::from(m) * 60))
            .unwrap_or(naive_offset);
        facts.taken_at = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())
            .and_then(|d| d.and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into()))
            .and_then(|naive| offset.from_local_datetime(&naive).single())
            .map(|t| t.with_timezone(&chrono::Utc));
    }
    let coord = |value_tag, ref_tag, negative: &[u8], max: f64| -> Option<f64> {
        let v = match field(value_tag).map(|f| &f.value) {
            Some(exif::Value::Rational(r)) if r.len() >= 3 => r,
            _ => return None,
        };
        if v.iter().take(3).any(|r| r.denom == 0) {
            return None;
        }
        let deg = v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0;
        let sign = match ascii(ref_tag) {
            Some(r) if r.first().is_some_and(|c| negative.contains(c)) => -1.0,
            _ => 1.0,
        };
        let value = sign * deg;
        (value.is_finite() && value.abs() <= max).then_some(value)
    };
    facts.lat = coord(
        exif::Tag::GPSLatitude,
        exif::Tag::GPSLatitudeRef,
        b"Ss",
        90.0,
    );
    facts.lon = coord(
        exif::Tag::GPSLongitude,
        exif::Tag::GPSLongitudeRef,
        b"Ww",
        180.0,
    );
    if facts.lat.is_none() || facts.lon.is_none() {
        facts.lat = None;
        facts.lon = None;
    }
    facts
}
