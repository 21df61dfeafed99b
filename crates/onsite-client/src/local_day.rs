//! The technician's day in the device's own time zone: "today's jobs" end at local
//! midnight, whatever the UTC date is.

use chrono::{Duration, Local, TimeZone, Utc};
use onsite_model::time::Timestamp;

/// The end of the local day that contains `now` (the next local midnight), in UTC. Where
/// that midnight does not exist (a zone that skips it), 24 hours after `now`.
pub fn end_of_local_day(now: Timestamp) -> Timestamp {
    end_of_day_in(&Local, now)
}

fn end_of_day_in<Tz: TimeZone>(zone: &Tz, now: Timestamp) -> Timestamp {
    let tomorrow = now.with_timezone(zone).date_naive() + Duration::days(1);
    let midnight = tomorrow.and_hms_opt(0, 0, 0).expect("midnight");
    zone.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| now + Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use chrono::FixedOffset;
    use onsite_model::time::parse_ts;

    use super::*;

    #[test]
    fn the_day_ends_at_the_next_local_midnight() {
        let shanghai = FixedOffset::east_opt(8 * 3600).unwrap();
        // 23:30 UTC is 07:30 the next morning in Shanghai: that day ends at 16:00 UTC.
        let now = parse_ts("2026-11-22T23:30:00Z").unwrap();
        assert_eq!(
            end_of_day_in(&shanghai, now),
            parse_ts("2026-11-23T16:00:00Z").unwrap()
        );
        let just_before = parse_ts("2026-11-23T15:59:59Z").unwrap();
        assert_eq!(
            end_of_day_in(&shanghai, just_before),
            parse_ts("2026-11-23T16:00:00Z").unwrap()
        );
        assert_eq!(
            end_of_day_in(&Utc, now),
            parse_ts("2026-11-23T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn the_local_day_ends_within_a_day_and_at_midnight() {
        let now = parse_ts("2026-11-22T10:15:00Z").unwrap();
        let end = end_of_local_day(now);
        assert!(end > now && end - now <= Duration::hours(25), "{end}");
        assert_eq!(
            end.with_timezone(&Local).format("%H:%M").to_string(),
            "00:00"
        );
    }
}
