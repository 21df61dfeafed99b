//! The HTTP surface: thin handlers that take state, call the store on the blocking pool and
//! map errors to `ErrorBody` JSON.

mod blobs;
mod extract;
mod office;
pub mod openapi;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use onsite_model::Clock;
use onsite_model::wire::{LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse};
use serde::Deserialize;
use tower_http::trace::TraceLayer;

pub use extract::{ApiJson, ApiQuery, Auth, Office};

use crate::blobs::BlobStore;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::store::{Snapshot, Store};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            blobs,
            clock,
            metrics: Arc::new(Metrics::default()),
        }
    }
}

/// Runs a store call on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task: {e}")))?
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(login))
        .route("/me", get(me))
        .route("/sync/push", post(push))
        .route("/sync/pull", get(pull))
        .route("/sync/snapshot", get(snapshot))
        .route(
            "/blobs/{sha256}",
            get(blobs::download).head(blobs::head).patch(blobs::patch),
        )
        .route("/blobs/{sha256}/finish", post(blobs::finish))
        .route("/openapi.json", get(openapi::serve))
        .route("/users", get(office::list_users))
        .route("/devices", get(office::list_devices))
        .route(
            "/customers",
            get(office::list_customers).post(office::create_customer),
        )
        .route("/customers/{id}", patch(office::update_customer))
        .route(
            "/assets",
            get(office::list_assets).post(office::create_asset),
        )
        .route("/assets/{id}", patch(office::update_asset))
        .route(
            "/work-orders",
            get(office::list_work_orders).post(office::create_work_order),
        )
        .route("/work-orders/import", post(office::import_work_orders))
        .route(
            "/work-orders/{id}",
            get(office::get_work_order).patch(office::update_work_order),
        )
        .route("/work-orders/{id}/assign", post(office::assign))
        .route("/work-orders/{id}/reschedule", post(office::reschedule))
        .route("/work-orders/{id}/cancel", post(office::cancel))
        .route("/work-orders/{id}/reopen", post(office::reopen))
        .route("/conflicts", get(office::list_conflicts))
        .route("/conflicts/{id}/resolve", post(office::resolve_conflict));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let res = next.run(req).await;
    state
        .metrics
        .record_request(&method, &route, res.status().as_u16());
    res
}

async fn not_found() -> Error {
    Error::not_found("not_found", "no such endpoint; see /api/v1/openapi.json")
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let store = state.store.clone();
    Ok(Json(blocking(move || store.login(&req)).await?))
}

async fn me(Auth(who): Auth) -> Json<onsite_model::User> {
    Json(who.user)
}

async fn push(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>> {
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
struct PullQuery {
    #[serde(default)]
    cursor: u64,
    #[serde(default)]
    limit: Option<u32>,
}

async fn pull(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullResponse>> {
    let started = Instant::now();
    let store = state.store.clone();
    let res = blocking(move || store.pull(&who, q.cursor, q.limit.unwrap_or(0))).await;
    state.metrics.pull_latency.observe(started.elapsed());
    Ok(Json(res?))
}

async fn snapshot(State(state): State<AppState>, Auth(who): Auth) -> Result<Json<Snapshot>> {
    let store = state.store.clone();
    Ok(Json(blocking(move || store.snapshot(&who)).await?))
}

/// `201 Created` with a JSON body.
pub(crate) fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}
