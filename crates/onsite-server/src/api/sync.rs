//! The device's sync endpoints: who am I, push, pull and the whole visible state.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use onsite_model::wire::{PullResponse, PushRequest, PushResponse};
use serde::Deserialize;

use super::{ApiJson, ApiQuery, AppState, Auth, Device, blocking, bounds};
use crate::error::Result;
use crate::store::Snapshot;

pub async fn me(Auth(who): Auth) -> Json<onsite_model::User> {
    Json(who.user)
}

pub async fn push(
    State(state): State<AppState>,
    Device(who): Device,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>> {
    bounds::push_numbers(&req)?;
    let started = Instant::now();
    let store = state.store.clone();
    let res = blocking(move || store.apply_push(&who, &req)).await;
    state.metrics.push_latency.observe(started.elapsed());
    let res = res?;
    state.metrics.record_outcomes(&res.outcomes);
    Ok(Json(res))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    #[serde(default)]
    cursor: u64,
    #[serde(default)]
    limit: Option<u32>,
}

pub async fn pull(
    State(state): State<AppState>,
    Device(who): Device,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>> {
    let cursor = bounds::cursor(q.cursor)?;
    let limit = bounds::pull_limit(q.limit)?;
    let started = Instant::now();
    let store = state.store.clone();
    let res = blocking(move || store.pull(&who, cursor, limit)).await;
    state.metrics.pull_latency.observe(started.elapsed());
    Ok(Json(res?))
}

pub async fn snapshot(
    State(state): State<AppState>,
    Device(who): Device,
) -> Result<Json<Snapshot>> {
    let store = state.store.clone();
    Ok(Json(blocking(move || store.snapshot(&who)).await?))
}
