//! HTTP to the server with retries: refused or cut connections, timeouts, 5xx and 429 are
//! retried with exponential backoff; other refusals come back as [`SyncError`] with the
//! server's code and message. Every exchange counts into a [`SyncReport`] and reports
//! [`SyncProgress`].

use std::time::Duration;

use onsite_model::wire::ErrorBody;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Serialize;

use crate::error::{Error, Result};

/// How hard to try before giving up on a transient failure (connection refused or cut,
/// timeout, 5xx, 429).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum SyncProgress {
    Pushing {
        sent: u64,
        total: u64,
    },
    Pulling {
        rows: u64,
        cursor: u64,
    },
    Retrying {
        attempt: u32,
        wait_ms: u64,
        reason: String,
    },
    /// Sending photo and signature bytes: `sent` of `total` bytes of file `file_index`
    /// (1-based) of `files`.
    Uploading {
        sha256: String,
        sent: u64,
        total: u64,
        file_index: u64,
        files: u64,
    },
}

#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncReport {
    pub pushed: u64,
    pub applied: u64,
    pub merged: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub pulled_rows: u64,
    pub pull_pages: u64,
    /// Request bodies sent, blob chunks included.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Blobs the server confirmed holding during this sync.
    pub blobs_uploaded: u64,
    /// Blobs that could not be sent (local file missing or damaged), with why: kept on the
    /// device, tried again next sync.
    pub blob_problems: Vec<(String, String)>,
    pub retries: u32,
    pub duration_ms: u64,
    /// Why ops were rejected, by device_seq: shown to the technician.
    pub rejections: Vec<(u64, String)>,
}

/// Why a sync stopped. The ops stay in the log either way.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("not signed in; run `onsite login` first")]
    NotSignedIn,
    #[error(
        "cannot reach the server at {url} ({detail}); your changes are kept on this device and will sync later"
    )]
    Unreachable { url: String, detail: String },
    #[error("the server refused the sign-in or the device token ({message}); sign in again")]
    Unauthorized { message: String },
    #[error("the server refused the request: {message} ({code})")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server sent a damaged page (checksum mismatch); it will be fetched again")]
    DamagedPage,
    #[error(transparent)]
    Local(#[from] Error),
}

impl SyncError {
    pub fn code(&self) -> &str {
        match self {
            SyncError::NotSignedIn => "not_signed_in",
            SyncError::Unreachable { .. } => "server_unreachable",
            SyncError::Unauthorized { .. } => "unauthorized",
            SyncError::Refused { code, .. } => code,
            SyncError::DamagedPage => "damaged_page",
            SyncError::Local(e) => e.code(),
        }
    }
}

/// The HTTP side, shared by login, sync and blob transfer.
pub(crate) struct Http {
    pub(crate) client: Client,
    pub(crate) base: String,
    pub(crate) retry: RetryPolicy,
}

enum Attempt {
    Done(Response),
    Transient(String),
}

impl Http {
    pub(crate) fn new(base: &str, retry: RetryPolicy) -> Result<Http, SyncError> {
        let client = Client::builder()
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("onsite/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Unreachable {
                url: base.into(),
                detail: e.to_string(),
            })?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            retry,
        })
    }

    /// Sends with retries on transient failures; returns the successful response or the
    /// server's refusal.
    pub(crate) fn send(
        &self,
        build: impl Fn(&Client, &str) -> RequestBuilder,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<Response, SyncError> {
        let resp = self.send_any(build, report, progress)?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(refusal(resp))
        }
    }

    /// Sends with retries on transient failures; returns whatever else the server answered
    /// (a 404 or 409 the caller reads headers from).
    pub(crate) fn send_any(
        &self,
        build: impl Fn(&Client, &str) -> RequestBuilder,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<Response, SyncError> {
        let mut backoff = self.retry.first_backoff;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let outcome = match build(&self.client, &self.base).send() {
                Err(e) => Attempt::Transient(describe(&e)),
                Ok(resp)
                    if resp.status().is_server_error()
                        || resp.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    Attempt::Transient(format!("server answered {}", resp.status()))
                }
                Ok(resp) => Attempt::Done(resp),
            };
            match outcome {
                Attempt::Done(resp) => return Ok(resp),
                Attempt::Transient(why) => {
                    last = why;
                    if attempt == self.retry.attempts {
                        break;
                    }
                    report.retries += 1;
                    progress(SyncProgress::Retrying {
                        attempt,
                        wait_ms: backoff.as_millis() as u64,
                        reason: last.clone(),
                    });
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                }
            }
        }
        Err(SyncError::Unreachable {
            url: self.base.clone(),
            detail: last,
        })
    }
}

pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or no network".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}

pub(crate) fn refusal(resp: Response) -> SyncError {
    let status = resp.status();
    let body: Option<ErrorBody> = resp.json().ok();
    let (code, message) = match body {
        Some(b) => (b.code, b.message),
        None => (
            "http_".to_owned() + status.as_str(),
            status.canonical_reason().unwrap_or("error").to_owned(),
        ),
    };
    if status == StatusCode::UNAUTHORIZED {
        SyncError::Unauthorized { message }
    } else {
        SyncError::Refused {
            status: status.as_u16(),
            code,
            message,
        }
    }
}
