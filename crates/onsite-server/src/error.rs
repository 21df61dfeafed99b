//! The server's error type. The engine and the backends say *what kind* of refusal an error
//! is; the HTTP status is chosen here, once, at the edge (`Refusal::status`). A refusal says
//! what was wrong; a fault is logged and answered without internals.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onsite_model::wire::ErrorBody;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kinds of refusal a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request itself is malformed or speaks another protocol version.
    BadRequest,
    /// No valid sign-in.
    Unauthorized,
    /// Signed in, but this caller may not do or see this.
    Forbidden,
    NotFound,
    /// The current state does not allow it (already exists, already resolved, a seq gap…).
    Conflict,
    /// Well-formed but breaks a rule of the domain.
    Unprocessable,
    /// The path exists but does not answer this method.
    MethodNotAllowed,
    TooLarge,
    UnsupportedMediaType,
    RangeNotSatisfiable,
    /// Too many attempts in a short time: try again after the `Retry-After` it names.
    TooManyRequests,
}

impl Refusal {
    /// The one mapping from refusal to HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::BadRequest => StatusCode::BAD_REQUEST,
            Refusal::Unauthorized => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden => StatusCode::FORBIDDEN,
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::Conflict => StatusCode::CONFLICT,
            Refusal::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Refusal::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The refusal an HTTP status of a framework rejection stands for.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Refusal::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Refusal::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => Refusal::Unprocessable,
            StatusCode::NOT_FOUND => Refusal::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Refusal::MethodNotAllowed,
            StatusCode::TOO_MANY_REQUESTS => Refusal::TooManyRequests,
            StatusCode::UNAUTHORIZED => Refusal::Unauthorized,
            StatusCode::FORBIDDEN => Refusal::Forbidden,
            StatusCode::CONFLICT => Refusal::Conflict,
            StatusCode::RANGE_NOT_SATISFIABLE => Refusal::RangeNotSatisfiable,
            _ => Refusal::BadRequest,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal the client can act on: its kind, a stable code and a helpful message.
    #[error("{code}: {message}")]
    Refused {
        kind: Refusal,
        code: &'static str,
        message: String,
        expected_seq: Option<u64>,
    },
    /// The database failed (not the caller's fault).
    #[error("database: {0}")]
    Storage(Box<dyn std::error::Error + Send + Sync>),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(Box::new(e))
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Storage(Box::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Error::Storage(Box::new(e))
    }
}

impl Error {
    pub fn refused(kind: Refusal, code: &'static str, message: impl Into<String>) -> Self {
        Error::Refused {
            kind,
            code,
            message: message.into(),
            expected_seq: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(Refusal::BadRequest, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::refused(Refusal::Unauthorized, "unauthorized", message)
    }
    pub fn bad_credentials() -> Self {
        Self::refused(
            Refusal::Unauthorized,
            "bad_credentials",
            "wrong username or password",
        )
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(Refusal::Forbidden, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(Refusal::NotFound, code, message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(Refusal::Conflict, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(Refusal::Unprocessable, code, message)
    }
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::refused(Refusal::TooLarge, code, message)
    }
    pub fn seq_gap(expected: u64, got: u64) -> Self {
        Error::Refused {
            kind: Refusal::Conflict,
            code: "seq_gap",
            message: format!(
                "op device_seq {got} leaves a gap: the server expects {expected} next; push the ops from {expected} on"
            ),
            expected_seq: Some(expected),
        }
    }

    /// The same refusal with `at` (which op, which row) in front of its message.
    pub fn at(self, at: &str) -> Self {
        self.reworded(|message| format!("{at}: {message}"))
    }

    /// The same refusal with its message rewritten by `f`; a server fault unchanged.
    pub fn reworded(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Error::Refused {
                kind,
                code,
                message,
                expected_seq,
            } => Error::Refused {
                kind,
                code,
                message: f(message),
                expected_seq,
            },
            other => other,
        }
    }

    /// The stable code, `internal` for server faults.
    pub fn code(&self) -> &str {
        match self {
            Error::Refused { code, .. } => code,
            _ => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Refused { kind, .. } => kind.status(),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn to_body(&self) -> ErrorBody {
        match self {
            Error::Refused {
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
