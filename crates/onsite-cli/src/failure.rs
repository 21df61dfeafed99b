//! How a failed command ends: its stable code (for `--json`) and its exit status.

use onsite_client::{Error, SyncError};

/// The stable code of a failure: the client's or the server's own, else `failed`.
pub fn code(e: &anyhow::Error) -> &str {
    if let Some(e) = e.downcast_ref::<Error>() {
        e.code()
    } else if let Some(e) = e.downcast_ref::<SyncError>() {
        e.code()
    } else {
        "failed"
    }
}

/// Exit codes: 0 done, 1 failure, 2 bad arguments, 3 unknown job, 4 refused by the rules,
/// 5 server unreachable, 6 not signed in / sign-in refused, 7 refused by the server.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Error>() {
        Some(Error::UnknownJob(_)) => 3,
        Some(
            Error::Transition(_)
            | Error::CompletionBlocked(_)
            | Error::JobClosed { .. }
            | Error::Invalid(_)
            | Error::PhotoRefused { .. },
        ) => 4,
        Some(Error::File { .. }) => 2,
        _ => match e.downcast_ref::<SyncError>() {
            Some(SyncError::Unreachable { .. }) => 5,
            Some(SyncError::Unauthorized { .. } | SyncError::NotSignedIn) => 6,
            Some(SyncError::Refused { .. }) => 7,
            _ => 1,
        },
    }
}

/// A local failure during a sync is reported as the local error it is; the others keep
/// their sync error, and with it their code and exit status.
pub fn from_sync(e: SyncError) -> anyhow::Error {
    match e {
        SyncError::Local(inner) => inner.into(),
        other => anyhow::Error::new(other),
    }
}
