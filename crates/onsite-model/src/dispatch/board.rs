//! The dispatch board: each technician's jobs over a window in appointment order, their
//! open jobs with no slot in it, and the queue of jobs nobody has, most pressing first;
//! every job with its SLA-risk flags.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::risk::{RiskMargins, SlaRisk, sla_risks};
use super::window::BoardWindow;
use crate::entities::{User, WorkOrder};
use crate::ids::{UserId, WorkOrderId};
use crate::roles::Role;
use crate::status::WorkOrderStatus;
use crate::time::{Timestamp, serde_ts};

/// Unassigned jobs listed at most; `unassigned_total` counts them all.
pub const UNASSIGNED_SHOWN: usize = 200;
/// Jobs listed at most in one technician's backlog; `backlog_total` counts them all.
pub const BACKLOG_SHOWN: usize = 50;

/// A work order as the server read it, with its customer's name and address.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardRow {
    pub work_order: WorkOrder,
    pub customer_name: Option<String>,
    pub customer_address: Option<String>,
}

/// One job on the board.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BoardJob {
    pub work_order: WorkOrder,
    pub customer_name: Option<String>,
    pub customer_address: Option<String>,
    /// The deadlines it is about to miss or has missed, most pressing first; empty when it
    /// is not at risk.
    pub sla_risks: Vec<SlaRisk>,
}

/// One technician's row of the board.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TechnicianLane {
    pub technician_id: UserId,
    pub username: String,
    pub name: String,
    pub skills: Vec<String>,
    /// Their jobs (any status but cancelled) whose appointment starts in the window, in
    /// appointment order.
    pub jobs: Vec<BoardJob>,
    /// Their open jobs with no appointment, or one before the window (still not done):
    /// work to slot in, most pressing first.
    pub backlog: Vec<BoardJob>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub backlog_total: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Board {
    pub window: BoardWindow,
    /// The server's clock the SLA risks were read at.
    #[serde(with = "serde_ts")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub now: Timestamp,
    /// Every technician, by username, those with nothing booked included.
    pub technicians: Vec<TechnicianLane>,
    /// Open jobs nobody is assigned, whatever their appointment, most pressing first.
    pub unassigned: Vec<BoardJob>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub unassigned_total: usize,
    /// Jobs on the board (lanes, backlogs and the whole queue) with an SLA risk.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_risk: usize,
}

/// The earliest deadline still running: respond-by before arrival, resolve-by before
/// completion.
fn next_deadline(wo: &WorkOrder) -> Option<Timestamp> {
    let respond = wo.respond_by.filter(|_| wo.arrived_at.is_none());
    [respond, wo.resolve_by].into_iter().flatten().min()
}

/// Most pressing first: the earliest running deadline, then the higher priority, then the
/// earlier appointment, then the number.
fn by_pressure(a: &BoardJob, b: &BoardJob) -> std::cmp::Ordering {
    let key = |j: &BoardJob| {
        let wo = &j.work_order;
        (
            next_deadline(wo).is_none(),
            next_deadline(wo),
            Reverse(wo.priority),
            wo.appointment_start.is_none(),
            wo.appointment_start,
            wo.number.clone(),
        )
    };
    key(a).cmp(&key(b))
}

/// Lays out the board over `window` at `now` from `rows`: the jobs with an appointment in
/// the window and the open ones (a row given twice counts once).
pub fn build(
    window: BoardWindow,
    now: Timestamp,
    margins: RiskMargins,
    users: &[User],
    rows: Vec<BoardRow>,
) -> Board {
    let mut lanes: Vec<TechnicianLane> = users
        .iter()
        .filter(|u| u.role == Role::Technician)
        .map(|u| TechnicianLane {
            technician_id: u.id,
            username: u.username.clone(),
            name: u.name.clone(),
            skills: u.skills.clone(),
            jobs: Vec::new(),
            backlog: Vec::new(),
            backlog_total: 0,
        })
        .collect();
    lanes.sort_by(|a, b| a.username.cmp(&b.username));
    let lane_of: HashMap<UserId, usize> = lanes
        .iter()
        .enumerate()
        .map(|(i, l)| (l.technician_id, i))
        .collect();
    let mut seen: HashSet<WorkOrderId> = HashSet::new();
    let mut unassigned = Vec::new();
    let mut at_risk = 0;
    for row in rows {
        let wo = &row.work_order;
        if wo.status == WorkOrderStatus::Cancelled || !seen.insert(wo.id) {
            continue;
        }
        let in_window = wo.appointment_start.is_some_and(|t| window.contains(t));
        let before_window = wo.appointment_start.is_none_or(|t| t < window.from);
        let open = !wo.status.is_closed();
        let assignee = wo.assignee_id;
        let lane = wo.assignee_id.and_then(|u| lane_of.get(&u).copied());
        let job = BoardJob {
            sla_risks: sla_risks(wo, now, margins),
            work_order: row.work_order,
            customer_name: row.customer_name,
            customer_address: row.customer_address,
        };
        let at_risk_now = !job.sla_risks.is_empty();
        let placed = match (assignee, lane) {
            (_, Some(i)) if in_window => {
                lanes[i].jobs.push(job);
                true
            }
            (_, Some(i)) if open && before_window => {
                lanes[i].backlog.push(job);
                true
            }
            (None, _) if open => {
                unassigned.push(job);
                true
            }
            _ => false,
        };
        if placed && at_risk_now {
            at_risk += 1;
        }
    }
    for lane in &mut lanes {
        lane.jobs.sort_by(|a, b| {
            let key = |j: &BoardJob| (j.work_order.appointment_start, j.work_order.number.clone());
            key(a).cmp(&key(b))
        });
        lane.backlog.sort_by(by_pressure);
        lane.backlog_total = lane.backlog.len();
        lane.backlog.truncate(BACKLOG_SHOWN);
    }
    unassigned.sort_by(by_pressure);
    let unassigned_total = unassigned.len();
    unassigned.truncate(UNASSIGNED_SHOWN);
    Board {
        window,
        now,
        technicians: lanes,
        unassigned,
        unassigned_total,
        at_risk,
    }
}
