//! Errors as the UI receives them: `{ code, message }`, a stable code the UI can branch on
//! (and translate) and a message that says what was wrong and what to do.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl UiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        UiError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<onsite_client::SyncError> for UiError {
    fn from(e: onsite_client::SyncError) -> Self {
        UiError {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<onsite_client::Error> for UiError {
    fn from(e: onsite_client::Error) -> Self {
        UiError {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_become_code_and_message() {
        let e: UiError = onsite_client::Error::UnknownJob("WO-1".into()).into();
        assert_eq!(e.code, "unknown_job");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json["message"],
            "no job \"WO-1\" on this device; check the number, or sync to fetch newly assigned jobs"
        );
    }
}
