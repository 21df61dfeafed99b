//! The shapes the shell itself adds at the UI boundary: the session, the sync state with
//! the worker's flags, the outcome of a background sync, and the enums of command args.

use onsite_client::report::ReportLanguage;
use onsite_client::{JobDetail, SerialScan, SyncReport, SyncStatus};
use onsite_model::ops::Role;
use onsite_model::status::StatusAction;
use serde::{Deserialize, Serialize};

use crate::UiError;

/// Who this device is signed in as, and where to.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Session {
    pub device_id: String,
    pub signed_in: bool,
    pub username: Option<String>,
    /// The person's display name, as the server described them at sign-in.
    pub user_name: Option<String>,
    pub role: Option<Role>,
    pub server_url: Option<String>,
}

/// [`SyncStatus`] plus what the background sync knows right now.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppSyncStatus {
    #[serde(flatten)]
    pub status: SyncStatus,
    /// The server answered the last attempt (or probe).
    pub online: bool,
    /// A sync is running now.
    pub syncing: bool,
    /// The live channel is open: the server's changes arrive within seconds.
    pub live: bool,
}

/// The payload of `sync://done`: `{ report }` or `{ error: { code, message } }`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(untagged)]
pub enum SyncDone {
    Done { report: SyncReport },
    Failed { error: UiError },
}

/// A status step the technician takes on a job. The UI sends one of the job's
/// `allowed_actions` (a [`StatusAction`]); the office's steps are refused here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepAction {
    StartTravel,
    Arrive,
    StartWork,
    Hold,
    Resume,
    Complete,
}

impl TryFrom<StatusAction> for StepAction {
    type Error = UiError;

    fn try_from(action: StatusAction) -> Result<Self, UiError> {
        use StatusAction as A;
        Ok(match action {
            A::StartTravel => Self::StartTravel,
            A::Arrive => Self::Arrive,
            A::StartWork => Self::StartWork,
            A::Hold => Self::Hold,
            A::Resume => Self::Resume,
            A::Complete => Self::Complete,
            A::Assign | A::Unassign | A::Cancel | A::Reopen => {
                return Err(UiError::new(
                    "invalid_transition",
                    format!("cannot {action} on this device: the office takes that step"),
                ));
            }
        })
    }
}

/// The technician's free-text fields on a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    Diagnosis,
    WorkDone,
    Result,
}

/// A serial-plate scan, with the job as it stands after the technician acted on it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SerialOffer {
    pub scan: SerialScan,
    pub job: JobDetail,
}

/// The language of a note written for the office: the one the technician's UI shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoteLanguage {
    En,
    Zh,
}

impl From<NoteLanguage> for ReportLanguage {
    fn from(l: NoteLanguage) -> Self {
        match l {
            NoteLanguage::En => ReportLanguage::English,
            NoteLanguage::Zh => ReportLanguage::Chinese,
        }
    }
}

/// Names of the events the shell emits.
pub mod events {
    /// [`onsite_client::SyncProgress`] as a sync goes.
    pub const SYNC_PROGRESS: &str = "sync://progress";
    /// [`super::SyncDone`] when a sync ends.
    pub const SYNC_DONE: &str = "sync://done";
    /// [`super::AppSyncStatus`] whenever it may have changed (a write, a sync start or end).
    pub const SYNC_STATUS: &str = "sync://status";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_office_steps_are_refused_at_the_boundary() {
        for action in StatusAction::ALL {
            let step = StepAction::try_from(action);
            assert_eq!(
                step.is_ok(),
                action.actor() == Role::Technician,
                "{action}: {step:?}"
            );
        }
        let e = StepAction::try_from(StatusAction::Reopen).unwrap_err();
        assert_eq!(e.code, "invalid_transition");
    }
}
