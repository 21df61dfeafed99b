//! `GET /api/v1/kpis`: the service KPIs, computed by the model over the jobs the caller may
//! see (a technician their own), at the server's clock.

use axum::Json;
use axum::extract::State;
use onsite_model::kpi::{Group, KpiOptions};
use onsite_model::time::Timestamp;
use serde::Deserialize;

use super::{ApiQuery, AppState, Auth, blocking};
use crate::error::{Error, Result};
use crate::store::KpiReport;

/// The query of `GET /api/v1/kpis`; every part optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// `day`, `iso_week`, `technician`, `job_type`, `priority` or `customer`.
    #[serde(default)]
    pub group: Option<Group>,
    /// The UTC offset whose days and weeks the period groups use (-840..=840).
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
    /// A revisit within this many days takes the first-time fix away (1..=365, default 30).
    #[serde(default)]
    pub revisit_window_days: Option<u32>,
    /// Minutes either side of the appointment window still on time (0..=240, default 0).
    #[serde(default)]
    pub arrival_grace_minutes: Option<u32>,
}

impl KpiQuery {
    /// The options, each number checked against its range.
    pub fn options(&self) -> Result<KpiOptions> {
        fn within<T: PartialOrd + std::fmt::Display + Copy>(
            name: &str,
            v: Option<T>,
            lo: T,
            hi: T,
            default: T,
        ) -> Result<T> {
            match v {
                Some(n) if n < lo || n > hi => Err(Error::bad_request(
                    "invalid_query",
                    format!("{name} {n} is out of range; use {lo}..={hi}"),
                )),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        }
        let mut opts = KpiOptions::at(Timestamp::UNIX_EPOCH);
        opts.utc_offset_minutes =
            within("utc_offset_minutes", self.utc_offset_minutes, -840, 840, 0)?;
        opts.revisit_window_days = within(
            "revisit_window_days",
            self.revisit_window_days,
            1,
            365,
            KpiOptions::DEFAULT_REVISIT_WINDOW_DAYS,
        )?;
        opts.arrival_grace_minutes = within(
            "arrival_grace_minutes",
            self.arrival_grace_minutes,
            0,
            240,
            0,
        )?;
        Ok(opts)
    }
}

pub async fn kpis(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> Result<Json<KpiReport>> {
    let opts = q.options()?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.kpis_for(&who, opts, q.group)).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_refuse_numbers_out_of_range() {
        let opts = KpiQuery::default().options().unwrap();
        assert_eq!(opts.revisit_window_days, 30);
        assert_eq!(
            (opts.utc_offset_minutes, opts.arrival_grace_minutes),
            (0, 0)
        );
        let china = KpiQuery {
            utc_offset_minutes: Some(480),
            ..Default::default()
        };
        assert_eq!(china.options().unwrap().utc_offset_minutes, 480);
        let bad = KpiQuery {
            revisit_window_days: Some(0),
            ..Default::default()
        };
        let e = bad.options().unwrap_err().to_string();
        assert!(
            e.contains("revisit_window_days 0 is out of range; use 1..=365"),
            "{e}"
        );
        let bad = KpiQuery {
            utc_offset_minutes: Some(-900),
            ..Default::default()
        };
        assert!(bad.options().is_err());
    }
}
