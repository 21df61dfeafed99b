//! The office's closed loop: the callback queue, the calls recorded on it, and complaints.
//! Office roles only; who recorded a step is the token's user, never the body's.

use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use onsite_model::{CallbackId, ComplaintId, WorkOrderId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ApiJson, ApiQuery, AppState, Office, blocking, created};
use crate::error::{Error, Result};
use crate::store::{
    CallRecorded, CallbackFilter, CallbackItem, ComplaintFilter, ComplaintItem, ComplaintPatch,
    NewComplaint, RecordCall,
};

fn parse_id<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::bad_request("bad_id", format!("{s:?} is not a valid {what} id")))
}

/// The body read as `T`; a value it cannot take (an unknown outcome, a malformed time) is a
/// 400 that says what was wrong.
fn body<T: DeserializeOwned>(v: Value, what: &str) -> Result<T> {
    serde_json::from_value(v)
        .map_err(|e| Error::bad_request("invalid_body", format!("{what}: {e}")))
}

pub async fn list_callbacks(
    State(s): State<AppState>,
    Office(_): Office,
    ApiQuery(filter): ApiQuery<CallbackFilter>,
) -> Result<Json<Vec<CallbackItem>>> {
    let store = s.store.clone();
    Ok(Json(blocking(move || store.list_callbacks(&filter)).await?))
}

pub async fn record_call(
    State(s): State<AppState>,
    Office(who): Office,
    Path(id): Path<String>,
    ApiJson(call): ApiJson<Value>,
) -> Result<Json<CallRecorded>> {
    let id: CallbackId = parse_id(&id, "callback")?;
    let call: RecordCall = body(call, "the call")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.record_call(who.user.id, id, &call)).await?,
    ))
}

pub async fn list_complaints(
    State(s): State<AppState>,
    Office(_): Office,
    ApiQuery(filter): ApiQuery<ComplaintFilter>,
) -> Result<Json<Vec<ComplaintItem>>> {
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.list_complaints(&filter)).await?,
    ))
}

pub async fn get_complaint(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
) -> Result<Json<ComplaintItem>> {
    let id: ComplaintId = parse_id(&id, "complaint")?;
    let store = s.store.clone();
    Ok(Json(blocking(move || store.get_complaint(id)).await?))
}

pub async fn open_complaint(
    State(s): State<AppState>,
    Office(who): Office,
    Path(id): Path<String>,
    ApiJson(new): ApiJson<Value>,
) -> Result<Response> {
    let job: WorkOrderId = parse_id(&id, "work order")?;
    let new: NewComplaint = body(new, "the complaint")?;
    let store = s.store.clone();
    Ok(created(
        blocking(move || store.open_complaint(who.user.id, job, &new)).await?,
    ))
}

pub async fn update_complaint(
    State(s): State<AppState>,
    Office(who): Office,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<ComplaintItem>> {
    let id: ComplaintId = parse_id(&id, "complaint")?;
    let patch: ComplaintPatch = body(patch, "the change")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.update_complaint(who.user.id, id, &patch)).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolution {
    resolution: String,
}

pub async fn resolve_complaint(
    State(s): State<AppState>,
    Office(who): Office,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<Value>,
) -> Result<Json<ComplaintItem>> {
    let id: ComplaintId = parse_id(&id, "complaint")?;
    let r: Resolution = body(r, "the resolution")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.resolve_complaint(who.user.id, id, &r.resolution)).await?,
    ))
}
