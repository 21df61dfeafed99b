//! The HTTP surface: thin handlers that take state, call the store on the blocking pool and
//! map errors to `ErrorBody` JSON.

mod blobs;
mod bounds;
mod closed_loop;
pub mod console;
mod dispatch;
mod events;
mod extract;
mod kpis;
mod login;
mod office;
pub mod openapi;
mod ops;
mod quality;
mod refusals;
pub mod routes;
mod session_cookie;
mod sync;
mod web_session;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use onsite_model::Clock;
use tower_http::trace::TraceLayer;

pub use extract::{ApiJson, ApiQuery, Auth, Device, Office};
pub use login::LoginGuard;

use crate::blobs::BlobStore;
use crate::config::ConsoleSettings;
use crate::error::{Error, Result};
use crate::limits::LoginLimits;
use crate::metrics::Metrics;
use crate::store::Store;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Sign-in attempt limits and the queue for password hashing.
    pub login: Arc<LoginGuard>,
    /// The console's cookie and session lifetimes.
    pub console: ConsoleSettings,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            blobs,
            clock: clock.clone(),
            metrics: Arc::new(Metrics::default()),
            login: Arc::new(LoginGuard::new(LoginLimits::default(), clock)),
            console: ConsoleSettings::default(),
        }
    }

    /// The same state with these console settings instead of the defaults.
    pub fn with_console(mut self, console: ConsoleSettings) -> Self {
        self.console = console;
        self
    }

    /// The same state with these sign-in limits instead of the defaults.
    pub fn with_login_limits(mut self, limits: LoginLimits) -> Self {
        self.login = Arc::new(LoginGuard::new(limits, self.clock.clone()));
        self
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

/// The HTTP surface: every endpoint of [`routes::ENDPOINTS`], one JSON refusal shape for
/// whatever goes wrong, request metrics, a body limit and tracing.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    for endpoint in routes::ENDPOINTS {
        app = app.route(endpoint.path, (endpoint.handler)());
    }
    // The office console's page and files (not API endpoints: outside the route table).
    app = app
        .route("/", axum::routing::get(console::index))
        .route("/console/{*path}", axum::routing::get(console::asset));
    app.fallback(refusals::not_found)
        .layer(middleware::from_fn(refusals::json_refusals))
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

/// `201 Created` with a JSON body.
pub(crate) fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}
