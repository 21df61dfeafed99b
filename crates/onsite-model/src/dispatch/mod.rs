//! Dispatch: who should take a job, and which jobs are at risk. Pure functions over rows the
//! server reads; the arithmetic is written out in docs/DISPATCH.md.
//!
//! - [`suggest`] ranks the technicians for one job by skill match, distance from their
//!   previous job that day and load, each suggestion with its reasons as data (the console
//!   words them in English and Chinese);
//! - [`risk`] flags jobs about to breach an SLA deadline;
//! - [`board`] lays out the dispatch board: each technician's jobs over a window, the
//!   unassigned queue;
//! - [`window`] the local days and the board's window; [`geo`] coordinates and great-circle
//!   distance; [`skills`] how skill tags meet a job.

pub mod board;
pub mod geo;
pub mod risk;
pub mod skills;
pub mod window;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::entities::User;
use crate::ids::{UserId, WorkOrderId};
use crate::kinds::JobType;
use crate::roles::Role;
use crate::time::Timestamp;

pub use board::{Board, BoardJob, BoardRow, TechnicianLane};
pub use geo::GeoPoint;
pub use risk::{RiskMargins, SlaDeadline, SlaRisk, sla_risks};
pub use skills::{SkillFit, skill_fit};
pub use window::{BoardWindow, local_date, local_day};

/// Points for a skill that names the product: knowing the equipment is what makes a first
/// visit fix it, so it weighs most.
pub const PRODUCT_POINTS: f64 = 40.0;
/// Points for a skill that names the job type (installing, repairing, servicing or
/// inspecting).
pub const JOB_TYPE_POINTS: f64 = 30.0;
/// Points for no travel at all from the previous job; one point less per kilometre.
pub const DISTANCE_POINTS: f64 = 30.0;
/// At or beyond this distance the distance earns nothing (one point per km below it).
pub const DISTANCE_ZERO_KM: f64 = 30.0;
/// The distance assumed where it cannot be measured (no previous job that day, or a
/// customer without coordinates): a typical hop across a city, so such a technician is
/// neither favoured nor pushed aside.
pub const NEUTRAL_KM: f64 = 10.0;
/// Points taken per job already booked that day: two extra jobs outweigh 16 km of travel.
pub const POINTS_PER_BOOKED_JOB: f64 = 8.0;
/// The minutes a booked job without an appointment end counts for.
pub const DEFAULT_JOB_MINUTES: i64 = 60;

/// The job being placed.
#[derive(Clone, Debug, PartialEq)]
pub struct JobToPlace {
    pub id: WorkOrderId,
    pub number: String,
    pub job_type: JobType,
    /// The asset's model, when the job has an asset.
    pub product: Option<String>,
    /// The customer's location, when recorded.
    pub at: Option<GeoPoint>,
    /// The appointment start, or the server's now for a job without one: the day and the
    /// "previous job" are read from it.
    pub when: Timestamp,
    pub assignee: Option<UserId>,
}

/// A job already on someone's calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct BookedJob {
    pub id: WorkOrderId,
    pub number: String,
    pub assignee: UserId,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    /// Its customer's location, when recorded.
    pub at: Option<GeoPoint>,
}

/// Why a technician ranks where they do; one of each kind per suggestion, in this order:
/// skills, then distance (or why it was not measured), then load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The skills that name the job type and the product (none may match).
    SkillMatch {
        matched: Vec<String>,
        job_type: bool,
        product: bool,
    },
    /// Great-circle distance from the customer of the technician's previous job that day.
    Distance {
        km: f64,
        from_job: String,
        from_job_id: WorkOrderId,
    },
    /// Nothing booked before this job that day: the neutral distance is used.
    FirstJobOfDay { assumed_km: f64 },
    /// The previous job or this one has no customer coordinates: the neutral distance is used.
    NoCoordinates {
        from_job: String,
        /// The numbers of the jobs whose customer has no coordinates.
        missing: Vec<String>,
        assumed_km: f64,
    },
    /// Jobs already booked that day, and the minutes their appointment windows cover.
    Load {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        jobs: u32,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        minutes: i64,
    },
}

/// The points behind a score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Points {
    pub skill: f64,
    pub distance: f64,
    pub load: f64,
}

/// One technician, ranked for one job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Suggestion {
    pub technician_id: UserId,
    pub username: String,
    pub name: String,
    /// Skill + distance − load points, to one decimal; higher ranks first.
    pub score: f64,
    pub points: Points,
    /// The job is assigned to this technician now.
    pub current_assignee: bool,
    pub reasons: Vec<Reason>,
}

/// The technicians ranked for one job: what `GET /work-orders/{id}/suggestions` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Suggestions {
    pub work_order_id: WorkOrderId,
    pub number: String,
    /// The local day the load and the previous job were read on.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub day: NaiveDate,
    /// Best first.
    pub suggestions: Vec<Suggestion>,
}

fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What a day already holds for one technician: their jobs that day, this one left out.
fn booked_that_day<'a>(
    job: &JobToPlace,
    tech: UserId,
    booked: &'a [BookedJob],
    utc_offset_minutes: i32,
) -> Vec<&'a BookedJob> {
    let (start, end) = local_day(job.when, utc_offset_minutes);
    booked
        .iter()
        .filter(|b| b.assignee == tech && b.id != job.id && start <= b.start && b.start < end)
        .collect()
}

/// The distance reason and the km scored for it.
fn distance_from_previous(job: &JobToPlace, day: &[&BookedJob]) -> (Reason, f64) {
    let previous = day
        .iter()
        .filter(|b| b.start <= job.when)
        .max_by(|a, b| a.start.cmp(&b.start).then_with(|| a.number.cmp(&b.number)));
    let Some(previous) = previous else {
        return (
            Reason::FirstJobOfDay {
                assumed_km: NEUTRAL_KM,
            },
            NEUTRAL_KM,
        );
    };
    match (previous.at, job.at) {
        (Some(a), Some(b)) => {
            let km = a.km_to(b);
            (
                Reason::Distance {
                    km: one_decimal(km),
                    from_job: previous.number.clone(),
                    from_job_id: previous.id,
                },
                km,
            )
        }
        (a, b) => {
            let mut missing = Vec::new();
            if a.is_none() {
                missing.push(previous.number.clone());
            }
            if b.is_none() {
                missing.push(job.number.clone());
            }
            (
                Reason::NoCoordinates {
                    from_job: previous.number.clone(),
                    missing,
                    assumed_km: NEUTRAL_KM,
                },
                NEUTRAL_KM,
            )
        }
    }
}

fn booked_minutes(day: &[&BookedJob]) -> i64 {
    day.iter()
        .map(|b| match b.end {
            Some(end) if end > b.start => (end - b.start).num_minutes(),
            Some(_) => 0,
            None => DEFAULT_JOB_MINUTES,
        })
        .sum()
}

/// Every technician among `users`, ranked for `job`: highest score first; equal scores go
/// to the one with fewer jobs that day, then fewer minutes booked, then the shorter hop,
/// then by name. `booked` is what the calendar holds (jobs of other days and of other
/// people are ignored; so is `job` itself).
pub fn suggest(
    job: &JobToPlace,
    users: &[User],
    booked: &[BookedJob],
    utc_offset_minutes: i32,
) -> Vec<Suggestion> {
    let mut ranked: Vec<(Suggestion, u32, i64, f64)> = users
        .iter()
        .filter(|u| u.role == Role::Technician)
        .map(|tech| {
            let fit = skill_fit(&tech.skills, job.job_type, job.product.as_deref());
            let day = booked_that_day(job, tech.id, booked, utc_offset_minutes);
            let (distance, km) = distance_from_previous(job, &day);
            let jobs = day.len() as u32;
            let minutes = booked_minutes(&day);
            let points = Points {
                skill: if fit.job_type { JOB_TYPE_POINTS } else { 0.0 }
                    + if fit.product { PRODUCT_POINTS } else { 0.0 },
                distance: one_decimal(DISTANCE_POINTS * (1.0 - km / DISTANCE_ZERO_KM).max(0.0)),
                load: -POINTS_PER_BOOKED_JOB * f64::from(jobs),
            };
            let suggestion = Suggestion {
                technician_id: tech.id,
                username: tech.username.clone(),
                name: tech.name.clone(),
                score: one_decimal(points.skill + points.distance + points.load),
                points,
                current_assignee: job.assignee == Some(tech.id),
                reasons: vec![
                    Reason::SkillMatch {
                        matched: fit.matched,
                        job_type: fit.job_type,
                        product: fit.product,
                    },
                    distance,
                    Reason::Load { jobs, minutes },
                ],
            };
            (suggestion, jobs, minutes, km)
        })
        .collect();
    ranked.sort_by(|(a, a_jobs, a_min, a_km), (b, b_jobs, b_min, b_km)| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(Ordering::Equal)
            .then(a_jobs.cmp(b_jobs))
            .then(a_min.cmp(b_min))
            .then(a_km.partial_cmp(b_km).unwrap_or(Ordering::Equal))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.technician_id.cmp(&b.technician_id))
    });
    ranked.into_iter().map(|(s, ..)| s).collect()
}
