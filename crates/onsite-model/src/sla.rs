//! SLA clocks: respond-by and resolve-by, measured from recorded event times.
//!
//! The response is the technician's first arrival on site; the resolution is completion.
//! Both read the times the device recorded when the event happened, never the time a change
//! was synced. Those times are corrected upstream: the device records them from its clock
//! corrected by the skew it measured against the server (`clock::corrected_time`), and the
//! server bounds them by its receipt time (`clock::bounded_event_time`); a status event
//! says by how much its time was moved (`StatusEvent::clock_correction_ms`).

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::entities::WorkOrder;
use crate::kinds::Priority;
use crate::status::WorkOrderStatus;
use crate::time::{Timestamp, serde_ts};

/// Default commitments per priority, used when a dispatcher gives no explicit deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaPolicy {
    pub respond_within: Duration,
    pub resolve_within: Duration,
}

impl SlaPolicy {
    pub fn for_priority(p: Priority) -> Self {
        let (respond_h, resolve_h) = match p {
            Priority::Urgent => (2, 8),
            Priority::High => (4, 24),
            Priority::Normal => (24, 72),
            Priority::Low => (48, 120),
        };
        Self {
            respond_within: Duration::hours(respond_h),
            resolve_within: Duration::hours(resolve_h),
        }
    }

    /// `(respond_by, resolve_by)` for a job reported at `reported_at`.
    pub fn deadlines(&self, reported_at: Timestamp) -> (Timestamp, Timestamp) {
        (
            reported_at + self.respond_within,
            reported_at + self.resolve_within,
        )
    }
}

/// One SLA clock as a technician or dispatcher sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SlaClock {
    /// No deadline was agreed.
    NotSet,
    /// The job was cancelled before the event: nothing to measure.
    NotApplicable,
    Running {
        #[serde(with = "serde_ts")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        due: Timestamp,
        left_ms: i64,
    },
    Breached {
        #[serde(with = "serde_ts")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        due: Timestamp,
        over_ms: i64,
    },
    Met {
        #[serde(with = "serde_ts")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        due: Timestamp,
        #[serde(with = "serde_ts")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        at: Timestamp,
        margin_ms: i64,
    },
    Missed {
        #[serde(with = "serde_ts")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        due: Timestamp,
        #[serde(with = "serde_ts")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        at: Timestamp,
        late_ms: i64,
    },
}

impl SlaClock {
    pub fn measure(
        due: Option<Timestamp>,
        done_at: Option<Timestamp>,
        cancelled: bool,
        now: Timestamp,
    ) -> Self {
        let Some(due) = due else {
            return SlaClock::NotSet;
        };
        match done_at {
            Some(at) if at <= due => SlaClock::Met {
                due,
                at,
                margin_ms: (due - at).num_milliseconds(),
            },
            Some(at) => SlaClock::Missed {
                due,
                at,
                late_ms: (at - due).num_milliseconds(),
            },
            None if cancelled => SlaClock::NotApplicable,
            None if now <= due => SlaClock::Running {
                due,
                left_ms: (due - now).num_milliseconds(),
            },
            None => SlaClock::Breached {
                due,
                over_ms: (now - due).num_milliseconds(),
            },
        }
    }

    /// Missed, or running late right now.
    pub fn is_breached(&self) -> bool {
        matches!(self, SlaClock::Breached { .. } | SlaClock::Missed { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlaState {
    pub respond: SlaClock,
    pub resolve: SlaClock,
}

impl SlaState {
    pub fn of(wo: &WorkOrder, now: Timestamp) -> Self {
        let cancelled = wo.status == WorkOrderStatus::Cancelled;
        // Resolved at the completion's event time, but only once its evidence has arrived.
        let resolved_at = if wo.is_done() { wo.completed_at } else { None };
        Self {
            respond: SlaClock::measure(wo.respond_by, wo.arrived_at, cancelled, now),
            resolve: SlaClock::measure(wo.resolve_by, resolved_at, cancelled, now),
        }
    }

    pub fn is_breached(&self) -> bool {
        self.respond.is_breached() || self.resolve.is_breached()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::tests::sample_work_order;
    use crate::status::StatusAction;
    use crate::time::parse_ts;

    fn t(s: &str) -> Timestamp {
        parse_ts(s).unwrap()
    }

    #[test]
    fn clocks_run_then_are_met_or_missed_by_event_time() {
        let mut wo = sample_work_order();
        let (respond_by, resolve_by) =
            SlaPolicy::for_priority(Priority::High).deadlines(wo.reported_at);
        assert_eq!(respond_by, t("2026-11-22T12:00:00Z"));
        wo.respond_by = Some(respond_by);
        wo.resolve_by = Some(resolve_by);

        let s = SlaState::of(&wo, t("2026-11-22T11:00:00Z"));
        assert_eq!(
            s.respond,
            SlaClock::Running {
                due: respond_by,
                left_ms: 3_600_000
            }
        );
        let s = SlaState::of(&wo, t("2026-11-22T12:30:00Z"));
        assert_eq!(
            s.respond,
            SlaClock::Breached {
                due: respond_by,
                over_ms: 1_800_000
            }
        );
        assert!(s.is_breached());

        // Arrival recorded at 11:50 but synced much later: the SLA reads the event time.
        wo.apply_transition(StatusAction::Arrive, t("2026-11-22T11:50:00Z"))
            .unwrap();
        let s = SlaState::of(&wo, t("2026-11-23T09:00:00Z"));
        assert_eq!(
            s.respond,
            SlaClock::Met {
                due: respond_by,
                at: t("2026-11-22T11:50:00Z"),
                margin_ms: 600_000
            }
        );
        assert!(matches!(s.resolve, SlaClock::Breached { .. }));
    }

    #[test]
    fn cancelled_and_unset_clocks() {
        let mut wo = sample_work_order();
        assert_eq!(SlaState::of(&wo, wo.reported_at).respond, SlaClock::NotSet);
        wo.respond_by = Some(t("2026-11-22T09:00:00Z"));
        wo.apply_transition(StatusAction::Cancel, t("2026-11-22T08:30:00Z"))
            .unwrap();
        assert_eq!(
            SlaState::of(&wo, t("2026-11-23T00:00:00Z")).respond,
            SlaClock::NotApplicable
        );
    }
}
