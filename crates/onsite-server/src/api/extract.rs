//! Extractors whose refusals are `ErrorBody` JSON, never plain text.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{AppState, blocking};
use crate::error::{Error, Refusal};
use crate::store::Principal;
use crate::store::engine::access;

/// JSON body; malformed JSON → 400 `bad_json`, wrong shape → 422 `invalid_body`, too large →
/// 413 `too_large`, missing content type → 415.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub(crate) fn json_rejection(rejection: JsonRejection) -> Error {
    let status = rejection.status();
    let code = match &rejection {
        JsonRejection::JsonDataError(_) => "invalid_body",
        JsonRejection::JsonSyntaxError(_) => "bad_json",
        JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
        _ if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        _ => "bad_body",
    };
    let message = match code {
        "too_large" => format!(
            "the request body is larger than {} bytes",
            super::BODY_LIMIT
        ),
        "unsupported_media_type" => {
            "send the body as JSON with Content-Type: application/json".to_owned()
        }
        _ => rejection.body_text(),
    };
    Error::refused(Refusal::from_status(status), code, message)
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(r @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(Error::bad_request("bad_query", r.body_text()))
            }
            Err(r) => Err(Error::bad_request("bad_query", r.body_text())),
        }
    }
}

/// Any signed-in caller: a device's bearer token or, without one, the office console's
/// session cookie (with its CSRF checks on unsafe methods: `session_cookie`). The same
/// authorisation follows either way.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(header::AUTHORIZATION)
            && let Some((who, _)) = super::session_cookie::session_principal(parts, state).await?
        {
            return Ok(Auth(who));
        }
        let Device(who) = Device::from_request_parts(parts, state).await?;
        Ok(Auth(who))
    }
}

/// A signed-in device, by its bearer token only: the sync and upload endpoints, which a
/// console session never calls.
pub struct Device(pub Principal);

impl FromRequestParts<AppState> for Device {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            Error::unauthorized("this request needs an Authorization: Bearer token; sign in first")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::unauthorized(
                    "the Authorization header must be \"Bearer <token>\"; sign in again",
                )
            })?
            .to_owned();
        let store = state.store.clone();
        let who = blocking(move || store.authenticate(&token)).await?;
        Ok(Device(who))
    }
}

/// A dispatcher or admin; technicians are refused with 403.
pub struct Office(pub Principal);

impl FromRequestParts<AppState> for Office {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(who) = Auth::from_request_parts(parts, state).await?;
        access::require_office(&who)?;
        Ok(Office(who))
    }
}
