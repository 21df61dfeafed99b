//! The technician's own service KPIs, computed on the device by the same model functions the
//! server uses (`onsite_model::kpi`), over the jobs this replica holds.

use onsite_model::kpi::{self, Group, GroupKey, JobFacts, KpiOptions, Kpis};
use onsite_model::wire::RowKind;
use onsite_model::{ChecklistAnswer, Feedback, WorkOrder};
use serde::Serialize;

use crate::Replica;
use crate::error::Result;

/// The KPIs of the jobs on this device, overall and per ISO week (oldest first).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MyKpis {
    /// Work orders on this device the figures cover (any status).
    pub jobs: usize,
    pub all: Kpis,
    pub weeks: Vec<WeekKpis>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WeekKpis {
    pub year: i32,
    pub week: u32,
    pub kpis: Kpis,
}

impl Replica {
    /// The KPIs of every job on this device, at the replica's clock, with days and weeks in
    /// `utc_offset_minutes`. Identical to the server's figures for the same jobs.
    pub fn my_kpis(&self, utc_offset_minutes: i32) -> Result<MyKpis> {
        let facts = self.kpi_facts()?;
        let mut opts = KpiOptions::at(self.now());
        opts.utc_offset_minutes = utc_offset_minutes;
        let weeks = kpi::compute_by(&facts, &opts, Group::IsoWeek)
            .into_iter()
            .filter_map(|(key, kpis)| match key {
                GroupKey::IsoWeek { year, week } => Some(WeekKpis { year, week, kpis }),
                _ => None,
            })
            .collect();
        Ok(MyKpis {
            jobs: facts.len(),
            all: kpi::compute(&facts, &opts),
            weeks,
        })
    }

    /// Each job's facts, read from its rows (`JobFacts::of_job`).
    pub fn kpi_facts(&self) -> Result<Vec<JobFacts>> {
        let conn = self.connection();
        let jobs: Vec<WorkOrder> = all_rows(conn, "SELECT data FROM work_order ORDER BY id", [])?;
        let answers: Vec<ChecklistAnswer> = all_rows(
            conn,
            "SELECT data FROM job_record WHERE kind = ?1 ORDER BY id",
            [RowKind::ChecklistAnswer.as_str()],
        )?;
        let feedback: Vec<Feedback> = all_rows(
            conn,
            "SELECT data FROM job_record WHERE kind = ?1 ORDER BY id",
            [RowKind::Feedback.as_str()],
        )?;
        Ok(JobFacts::of_jobs(&jobs, answers, feedback))
    }
}

fn all_rows<T: serde::de::DeserializeOwned>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
    rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
}
