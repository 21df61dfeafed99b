//! Sign-in.

use axum::Json;
use axum::extract::State;
use onsite_model::wire::{LoginRequest, LoginResponse};

use super::{ApiJson, AppState, blocking};
use crate::error::Result;

pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let store = state.store.clone();
    Ok(Json(blocking(move || store.login(&req)).await?))
}
