//! The server's error type: a 4xx says what was wrong, a 500 is logged and answered without
//! internals.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onsite_model::wire::ErrorBody;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal the client can act on: HTTP status, stable code, helpful message.
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: &'static str,
        message: String,
        expected_seq: Option<u64>,
    },
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn api(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Error::Api {
            status,
            code,
            message: message.into(),
            expected_seq: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(400, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::api(401, "unauthorized", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(403, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(404, code, message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(409, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::api(422, code, message)
    }
    pub fn seq_gap(expected: u64, got: u64) -> Self {
        Error::Api {
            status: 409,
            code: "seq_gap",
            message: format!(
                "op device_seq {got} leaves a gap: the server expects {expected} next; push the ops from {expected} on"
            ),
            expected_seq: Some(expected),
        }
    }

    /// The stable code, `internal` for server faults.
    pub fn code(&self) -> &str {
        match self {
            Error::Api { code, .. } => code,
            _ => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Api { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn to_body(&self) -> ErrorBody {
        match self {
            Error::Api {
                code,
                message,
                expected_seq,
                ..
            } => ErrorBody {
                code: (*code).to_owned(),
                message: message.clone(),
                expected_seq: *expected_seq,
            },
            _ => ErrorBody {
                code: "internal".into(),
                message: "internal error; see server log".into(),
                expected_seq: None,
            },
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, axum::Json(self.to_body())).into_response()
    }
}
