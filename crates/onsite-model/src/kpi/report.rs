//! The figures the KPIs come out as: serialisable, and exported to TypeScript with the
//! `ts` feature so the office console can show them as they are.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, UserId};
use crate::kinds::{JobType, Priority};
use crate::kpi::facts::ConductItem;

/// A share: how many of how many, and the ratio (0 to 1), `None` when nothing was counted
/// (never a made-up 100 %).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rate {
    pub numerator: u32,
    pub denominator: u32,
    pub ratio: Option<f64>,
}

impl Rate {
    pub fn of(numerator: u32, denominator: u32) -> Self {
        Self {
            numerator,
            denominator,
            ratio: (denominator > 0).then(|| f64::from(numerator) / f64::from(denominator)),
        }
    }
}

/// A set of durations in minutes: how many, the median (the mean of the two middle ones
/// when the count is even) and the mean; both `None` when there are none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DurationStats {
    pub count: u32,
    pub median_minutes: Option<f64>,
    pub mean_minutes: Option<f64>,
}

/// Response and resolution of the jobs of one priority.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PriorityKpis {
    pub priority: Priority,
    /// Reported → first arrival.
    pub response_time: DurationStats,
    /// Arrived by respond-by.
    pub response_sla: Rate,
    /// Reported → completion.
    pub resolution_time: DurationStats,
    /// Completed by resolve-by.
    pub resolution_sla: Rate,
}

/// Arrival against the appointment window (widened by the grace on both sides).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ArrivalKpis {
    pub on_time: Rate,
    /// Arrived before the window opened.
    pub early: u32,
    /// Arrived after it closed, or not arrived by the time it closed.
    pub late: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CsatKpis {
    /// Mean stars over the rated completed jobs.
    pub average_rating: Option<f64>,
    /// Rated 4 or 5 stars, of the rated.
    pub satisfied: Rate,
    /// Rated, of the completed.
    pub response: Rate,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NpsKpis {
    /// Scores 9–10.
    pub promoters: u32,
    /// Scores 7–8.
    pub passives: u32,
    /// Scores 0–6.
    pub detractors: u32,
    pub answered: u32,
    /// % promoters − % detractors among the answered, from −100 to 100.
    pub score: Option<f64>,
}

/// One conduct standard over the completed jobs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConductKpis {
    pub item: ConductItem,
    /// Answered "yes" and not failed in review, of the completed jobs.
    pub compliance: Rate,
    pub answered_no: u32,
    pub unanswered: u32,
    /// Answered "yes" but failed by the quality reviewer.
    pub yes_failed_in_review: u32,
    /// Passed, of the reviewed.
    pub review_pass: Rate,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallbackKpis {
    /// Done, of the callbacks due by now.
    pub completion: Rate,
    /// Done by their due time, of the callbacks due by now.
    pub on_time: Rate,
    /// Not yet due.
    pub pending: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ComplaintKpis {
    /// Completed jobs with at least one complaint, of the completed jobs.
    pub rate: Rate,
    /// Every complaint on the jobs counted, completed or not.
    pub count: u32,
    pub open: u32,
    /// Opened → resolved, over the resolved ones.
    pub resolution_time: DurationStats,
    /// Resolved by their deadline, of those with a deadline that was met or has passed.
    pub resolved_by_deadline: Rate,
}

/// The service KPIs of a set of jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Kpis {
    pub jobs: u32,
    pub completed: u32,
    pub cancelled: u32,
    pub response_time: DurationStats,
    pub response_sla: Rate,
    pub resolution_time: DurationStats,
    pub resolution_sla: Rate,
    /// Every priority, most urgent first, present even when it has no jobs.
    pub by_priority: Vec<PriorityKpis>,
    pub arrival: ArrivalKpis,
    /// Fixed at the first visit and not revisited within the window, of the completed
    /// first visits (completed jobs that are not themselves revisits).
    pub first_time_fix: Rate,
    /// Revisited within the window, of the completed first visits.
    pub repeat_visit: Rate,
    /// Completed jobs that are revisits of an earlier one.
    pub revisits: u32,
    pub csat: CsatKpis,
    pub nps: NpsKpis,
    /// Every conduct item, in checklist order.
    pub conduct: Vec<ConductKpis>,
    /// Compliant on all four items, of the completed jobs.
    pub conduct_all_items: Rate,
    pub callbacks: CallbackKpis,
    pub complaints: ComplaintKpis,
}

/// What [`crate::kpi::compute_by`] splits the jobs by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Calendar day of the job's period time, in [`crate::kpi::KpiOptions::utc_offset_minutes`].
    Day,
    /// ISO 8601 week of the job's period time, in the same offset.
    IsoWeek,
    Technician,
    JobType,
    Priority,
    Customer,
}

/// The value a group of [`crate::kpi::compute_by`] shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "group", rename_all = "snake_case")]
pub enum GroupKey {
    Day {
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        date: NaiveDate,
    },
    IsoWeek {
        year: i32,
        week: u32,
    },
    /// `None` for jobs nobody is assigned to.
    Technician {
        id: Option<UserId>,
    },
    JobType {
        job_type: JobType,
    },
    Priority {
        priority: Priority,
    },
    Customer {
        id: CustomerId,
    },
}
