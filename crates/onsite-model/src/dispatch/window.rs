//! Calendar days at the office's UTC offset, and the dispatch board's window.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::time::{Timestamp, serde_ts};

/// The board shows today and the next six days unless asked otherwise.
pub const DEFAULT_BOARD_DAYS: i64 = 7;
/// The longest window one board answer covers: a month of lanes is as far as anyone plans
/// job by job, and it bounds the work of one request.
pub const MAX_BOARD_DAYS: i64 = 31;
/// UTC offsets run from -14:00 to +14:00.
pub const MAX_UTC_OFFSET_MINUTES: i32 = 14 * 60;

/// The calendar date of `t` at `utc_offset_minutes` east of UTC.
pub fn local_date(t: Timestamp, utc_offset_minutes: i32) -> NaiveDate {
    (t + Duration::minutes(i64::from(utc_offset_minutes))).date_naive()
}

/// The instants `[start, end)` of the local day that holds `t`.
pub fn local_day(t: Timestamp, utc_offset_minutes: i32) -> (Timestamp, Timestamp) {
    let offset = Duration::minutes(i64::from(utc_offset_minutes));
    let midnight = local_date(t, utc_offset_minutes).and_time(chrono::NaiveTime::MIN);
    let start = midnight.and_utc() - offset;
    (start, start + Duration::days(1))
}

/// The period a board covers: appointments starting at or after `from` and before `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BoardWindow {
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub from: Timestamp,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub to: Timestamp,
}

impl BoardWindow {
    /// The window asked for, or its defaults at `now`: `from` the start of today at the
    /// offset, `to` [`DEFAULT_BOARD_DAYS`] days after `from`. Refused with a sentence saying
    /// what to send: an offset beyond ±14 h, `to` not after `from`, or more than
    /// [`MAX_BOARD_DAYS`] days.
    pub fn resolve(
        now: Timestamp,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        utc_offset_minutes: i32,
    ) -> Result<BoardWindow, String> {
        check_offset(utc_offset_minutes)?;
        let from = from.unwrap_or_else(|| local_day(now, utc_offset_minutes).0);
        let to = to.unwrap_or(from + Duration::days(DEFAULT_BOARD_DAYS));
        if to <= from {
            return Err(format!(
                "to ({}) is not after from ({}); give a window that ends after it starts",
                crate::time::format_ts(&to),
                crate::time::format_ts(&from)
            ));
        }
        if to - from > Duration::days(MAX_BOARD_DAYS) {
            return Err(format!(
                "the window from {} to {} is longer than {MAX_BOARD_DAYS} days; ask for {MAX_BOARD_DAYS} days or fewer at a time",
                crate::time::format_ts(&from),
                crate::time::format_ts(&to)
            ));
        }
        Ok(BoardWindow { from, to })
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }
}

/// Refuses a UTC offset beyond ±14 hours.
pub fn check_offset(utc_offset_minutes: i32) -> Result<(), String> {
    if utc_offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
        return Err(format!(
            "utc_offset_minutes {utc_offset_minutes} is out of range; use -{MAX_UTC_OFFSET_MINUTES}..={MAX_UTC_OFFSET_MINUTES} (e.g. 480 for China Standard Time)"
        ));
    }
    Ok(())
}
