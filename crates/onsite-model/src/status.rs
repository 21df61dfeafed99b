//! The work-order status machine.
//!
//! ```text
//! new → assigned → en_route → on_site → in_progress ⇄ on_hold → completed
//! ```
//! `cancelled` from any state before `completed`; the back office may `reopen` a completed
//! or cancelled job. Who may take each step is part of the machine: technicians move their
//! jobs through the visit, dispatchers assign, cancel and reopen.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::roles::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    New,
    Assigned,
    EnRoute,
    OnSite,
    InProgress,
    OnHold,
    Completed,
    Cancelled,
}

impl WorkOrderStatus {
    pub const ALL: [WorkOrderStatus; 8] = [
        Self::New,
        Self::Assigned,
        Self::EnRoute,
        Self::OnSite,
        Self::InProgress,
        Self::OnHold,
        Self::Completed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Assigned => "assigned",
            Self::EnRoute => "en_route",
            Self::OnSite => "on_site",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Completed and cancelled jobs leave only through `reopen`.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }

    /// The technician has started the visit (travelling, on site or working).
    pub fn is_active_visit(self) -> bool {
        matches!(
            self,
            Self::EnRoute | Self::OnSite | Self::InProgress | Self::OnHold
        )
    }
}

impl fmt::Display for WorkOrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for WorkOrderStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StatusAction {
    Assign,
    Unassign,
    StartTravel,
    Arrive,
    StartWork,
    Hold,
    Resume,
    Complete,
    Cancel,
    Reopen,
}

impl StatusAction {
    pub const ALL: [StatusAction; 10] = [
        Self::Assign,
        Self::Unassign,
        Self::StartTravel,
        Self::Arrive,
        Self::StartWork,
        Self::Hold,
        Self::Resume,
        Self::Complete,
        Self::Cancel,
        Self::Reopen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Unassign => "unassign",
            Self::StartTravel => "start_travel",
            Self::Arrive => "arrive",
            Self::StartWork => "start_work",
            Self::Hold => "hold",
            Self::Resume => "resume",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
            Self::Reopen => "reopen",
        }
    }

    /// Whether a user of `role` may take this step: technicians the steps of the visit,
    /// dispatchers (and admins, who act as dispatchers) the office's.
    pub fn may_be_taken_by(self, role: Role) -> bool {
        match self.actor() {
            Role::Technician => role == Role::Technician,
            _ => matches!(role, Role::Dispatcher | Role::Admin),
        }
    }

    /// The role that takes this step. Admins may act as dispatchers.
    pub fn actor(self) -> Role {
        match self {
            Self::Assign | Self::Unassign | Self::Cancel | Self::Reopen => Role::Dispatcher,
            Self::StartTravel
            | Self::Arrive
            | Self::StartWork
            | Self::Hold
            | Self::Resume
            | Self::Complete => Role::Technician,
        }
    }
}

impl fmt::Display for StatusAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StatusAction {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} a job that is {from}: {hint}")]
    NotAllowed {
        from: WorkOrderStatus,
        action: StatusAction,
        hint: &'static str,
    },
    #[error("cannot {action}: the job has no assigned technician; assign it first")]
    NotAssigned { action: StatusAction },
}

/// The status after taking `action` from `from`, or why that step is refused.
/// `assigned` tells whether the job has a technician (reopen and travel need one).
pub fn next_status(
    from: WorkOrderStatus,
    action: StatusAction,
    assigned: bool,
) -> Result<WorkOrderStatus, TransitionError> {
    use StatusAction as A;
    use WorkOrderStatus as S;
    let refuse = |hint| Err(TransitionError::NotAllowed { from, action, hint });
    match action {
        A::Assign => match from {
            S::Completed | S::Cancelled => refuse("reopen it first"),
            _ => Ok(S::Assigned),
        },
        A::Unassign => match from {
            S::Assigned => Ok(S::New),
            _ => refuse("only an assigned job that has not started can be unassigned"),
        },
        A::StartTravel | A::Arrive | A::StartWork | A::Hold | A::Resume | A::Complete
            if !assigned =>
        {
            Err(TransitionError::NotAssigned { action })
        }
        A::StartTravel => match from {
            S::Assigned | S::OnHold => Ok(S::EnRoute),
            _ => refuse("travel starts from an assigned job or one on hold"),
        },
        A::Arrive => match from {
            S::Assigned | S::EnRoute | S::OnHold => Ok(S::OnSite),
            _ => refuse("arrival is recorded once per visit, before work starts"),
        },
        A::StartWork => match from {
            S::OnSite => Ok(S::InProgress),
            _ => refuse("record arrival on site before starting work"),
        },
        A::Hold => match from {
            S::OnSite | S::InProgress => Ok(S::OnHold),
            _ => refuse("only a job on site or in progress can be put on hold"),
        },
        A::Resume => match from {
            S::OnHold => Ok(S::InProgress),
            _ => refuse("only a job on hold can be resumed"),
        },
        A::Complete => match from {
            S::InProgress => Ok(S::Completed),
            S::Completed => refuse("it is already completed"),
            _ => refuse("start work on site before completing"),
        },
        A::Cancel => match from {
            S::Completed => refuse("a completed job can only be reopened"),
            S::Cancelled => refuse("it is already cancelled"),
            _ => Ok(S::Cancelled),
        },
        A::Reopen => match from {
            S::Completed | S::Cancelled if assigned => Ok(S::Assigned),
            S::Completed | S::Cancelled => Ok(S::New),
            _ => refuse("only completed or cancelled jobs can be reopened"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusAction as A;
    use WorkOrderStatus as S;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_of_a_visit() {
        let mut s = S::Assigned;
        for a in [
            A::StartTravel,
            A::Arrive,
            A::StartWork,
            A::Hold,
            A::Resume,
            A::Complete,
        ] {
            s = next_status(s, a, true).unwrap();
        }
        assert_eq!(s, S::Completed);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let err = next_status(S::Assigned, A::Complete, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot complete a job that is assigned: start work on site before completing"
        );
        let err = next_status(S::New, A::StartTravel, false).unwrap_err();
        assert!(err.to_string().contains("assign it first"), "{err}");
    }

    #[test]
    fn each_step_has_its_role() {
        assert!(A::Arrive.may_be_taken_by(Role::Technician));
        assert!(!A::Arrive.may_be_taken_by(Role::Dispatcher));
        assert!(!A::StartTravel.may_be_taken_by(Role::Admin));
        assert!(A::Cancel.may_be_taken_by(Role::Admin));
        assert!(!A::Reopen.may_be_taken_by(Role::Technician));
    }

    #[test]
    fn names_round_trip() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for a in A::ALL {
            assert_eq!(a.as_str().parse::<A>().unwrap(), a);
        }
    }

    fn action() -> impl Strategy<Value = A> {
        proptest::sample::select(A::ALL.to_vec())
    }

    proptest! {
        /// Random sequences of steps: refused steps change nothing, closed jobs leave only
        /// through reopen, completion only follows work in progress, and a job being worked
        /// always has a technician.
        #[test]
        fn invariants_hold_over_random_sequences(actions in proptest::collection::vec(action(), 0..100)) {
            let mut status = S::New;
            let mut assigned = false;
            let mut worked_since_open = false;
            for a in actions {
                match next_status(status, a, assigned) {
                    Ok(next) => {
                        if status.is_closed() {
                            prop_assert_eq!(a, A::Reopen);
                        }
                        if next == S::Completed {
                            prop_assert_eq!(status, S::InProgress);
                            prop_assert!(worked_since_open);
                        }
                        if next.is_active_visit() || next == S::Completed {
                            prop_assert!(assigned, "{:?} without a technician", next);
                        }
                        match a {
                            A::Assign => assigned = true,
                            A::Unassign => assigned = false,
                            _ => {}
                        }
                        if next == S::InProgress { worked_since_open = true; }
                        if a == A::Reopen { worked_since_open = false; }
                        if next == S::New {
                            prop_assert!(matches!(a, A::Unassign | A::Reopen));
                        }
                        status = next;
                    }
                    Err(_) => {
                        // Nothing to roll back: the caller keeps `status` as it was.
                    }
                }
            }
        }

        #[test]
        fn every_refusal_explains_itself(from in proptest::sample::select(S::ALL.to_vec()), a in action(), assigned: bool) {
            if let Err(e) = next_status(from, a, assigned) {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("cannot "));
                prop_assert!(msg.contains(a.as_str()));
            }
        }
    }
}
