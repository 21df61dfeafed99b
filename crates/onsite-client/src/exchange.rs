//! The sync's exchange with the server, behind one small trait: sign-in, push and pull, each a
//! request and its answer. [`HttpExchange`] is the one devices use (the server's HTTP API,
//! with the transport's retries); anything else that carries the same requests to the same
//! server rules — an in-process simulation of a network that drops, repeats and cuts them —
//! can implement [`SyncExchange`] and run the device's real sync code over it
//! ([`crate::Replica::sync_over`]).
//!
//! Blob bytes are not part of the exchange: they travel over HTTP only (`transfer`).

use onsite_model::wire::{LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::transport::{Http, SyncError, SyncProgress, SyncReport, describe};

/// One request of the sync protocol and its answer. A transient failure (nothing heard,
/// a cut answer) is [`SyncError::Unreachable`]; a refusal is the server's code and message.
pub trait SyncExchange {
    /// The server this exchange reaches, as stored with the sign-in and named in errors.
    fn server(&self) -> &str;

    fn login(
        &mut self,
        req: &LoginRequest,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<LoginResponse, SyncError>;

    /// Sends ops (in `device_seq` order) for the device the token belongs to.
    fn push(
        &mut self,
        token: &str,
        req: &PushRequest,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<PushResponse, SyncError>;

    /// One page of the changes after `cursor` that the token's device may see.
    fn pull(
        &mut self,
        token: &str,
        cursor: u64,
        limit: u32,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<PullResponse, SyncError>;
}

/// The server's HTTP API.
pub(crate) struct HttpExchange<'a>(pub(crate) &'a Http);

fn bad_response(e: impl std::fmt::Display) -> SyncError {
    SyncError::Refused {
        status: 200,
        code: "bad_response".into(),
        message: e.to_string(),
    }
}

impl HttpExchange<'_> {
    fn read_json<T: DeserializeOwned>(
        &self,
        resp: reqwest::blocking::Response,
        report: &mut SyncReport,
    ) -> Result<T, SyncError> {
        let bytes = resp.bytes().map_err(|e| SyncError::Unreachable {
            url: self.0.base.clone(),
            detail: describe(&e),
        })?;
        report.bytes_received += bytes.len() as u64;
        serde_json::from_slice(&bytes).map_err(bad_response)
    }
}

impl SyncExchange for HttpExchange<'_> {
    fn server(&self) -> &str {
        &self.0.base
    }

    fn login(
        &mut self,
        req: &LoginRequest,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<LoginResponse, SyncError> {
        let resp = self.0.send(
            |c, base| c.post(format!("{base}/api/v1/auth/login")).json(req),
            report,
            progress,
        )?;
        resp.json().map_err(bad_response)
    }

    fn push(
        &mut self,
        token: &str,
        req: &PushRequest,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<PushResponse, SyncError> {
        let body = serde_json::to_vec(req).map_err(Error::from)?;
        report.bytes_sent += body.len() as u64;
        let resp = self.0.send(
            |c, base| {
                c.post(format!("{base}/api/v1/sync/push"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body.clone())
            },
            report,
            progress,
        )?;
        self.read_json(resp, report)
    }

    fn pull(
        &mut self,
        token: &str,
        cursor: u64,
        limit: u32,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<PullResponse, SyncError> {
        let resp = self.0.send(
            |c, base| {
                c.get(format!(
                    "{base}/api/v1/sync/pull?cursor={cursor}&limit={limit}"
                ))
                .bearer_auth(token)
            },
            report,
            progress,
        )?;
        self.read_json(resp, report)
    }
}
