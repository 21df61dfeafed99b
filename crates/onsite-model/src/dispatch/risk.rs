//! SLA risk: which open jobs are about to breach (or have breached) a deadline, so the office
//! acts before the customer notices.
//!
//! A job not yet arrived at is at risk when its respond-by is less than
//! [`RiskMargins::respond`] away (default 30 minutes) or already passed; a job not completed
//! is at risk when its resolve-by is less than [`RiskMargins::resolve`] away (default 2 hours)
//! or already passed. Completed and cancelled jobs are never at risk: their clocks have
//! stopped (a late completion is a missed SLA in the KPIs, not something to dispatch). The
//! clocks are the model's ([`crate::sla::SlaState`]), read at the server's clock.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::entities::WorkOrder;
use crate::sla::{SlaClock, SlaState};
use crate::time::{Timestamp, serde_ts};

/// How close to a deadline a job is flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskMargins {
    pub respond: Duration,
    pub resolve: Duration,
}

impl Default for RiskMargins {
    /// 30 minutes before respond-by: time to call the technician or send another one;
    /// 2 hours before resolve-by: time to bring a part or a second pair of hands.
    fn default() -> Self {
        Self {
            respond: Duration::minutes(30),
            resolve: Duration::hours(2),
        }
    }
}

/// Which commitment is at stake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SlaDeadline {
    /// Arrival on site by respond-by.
    Respond,
    /// Completion by resolve-by.
    Resolve,
}

/// One deadline a job is about to miss or has missed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlaRisk {
    pub deadline: SlaDeadline,
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub due: Timestamp,
    /// Milliseconds left until `due`; negative once it has passed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub left_ms: i64,
    /// The deadline has passed without the event.
    pub breached: bool,
}

/// The deadlines `wo` is at risk of missing at `now`, the most pressing first; empty when
/// it is not at risk.
pub fn sla_risks(wo: &WorkOrder, now: Timestamp, margins: RiskMargins) -> Vec<SlaRisk> {
    if wo.status.is_closed() {
        return Vec::new();
    }
    let state = SlaState::of(wo, now);
    let mut risks: Vec<SlaRisk> = [
        (SlaDeadline::Respond, &state.respond, margins.respond),
        (SlaDeadline::Resolve, &state.resolve, margins.resolve),
    ]
    .into_iter()
    .filter_map(|(deadline, clock, margin)| match *clock {
        SlaClock::Running { due, left_ms } if left_ms <= margin.num_milliseconds() => {
            Some(SlaRisk {
                deadline,
                due,
                left_ms,
                breached: false,
            })
        }
        SlaClock::Breached { due, over_ms } => Some(SlaRisk {
            deadline,
            due,
            left_ms: -over_ms,
            breached: true,
        }),
        _ => None,
    })
    .collect();
    risks.sort_by_key(|r| r.left_ms);
    risks
}
