//! The OpenAPI description of the HTTP surface, served at `/api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Info, OpenApi, Paths};

/// (method, path, tag, summary)
const ENDPOINTS: &[(HttpMethod, &str, &str, &str)] = &[
    (
        HttpMethod::Get,
        "/healthz",
        "ops",
        "Liveness: {\"status\":\"ok\"}",
    ),
    (HttpMethod::Get, "/metrics", "ops", "Prometheus metrics"),
    (
        HttpMethod::Post,
        "/api/v1/auth/login",
        "auth",
        "Sign in a device: LoginRequest -> LoginResponse with a bearer token",
    ),
    (HttpMethod::Get, "/api/v1/me", "auth", "The signed-in user"),
    (
        HttpMethod::Post,
        "/api/v1/sync/push",
        "sync",
        "Push ops: PushRequest -> PushResponse; 409 seq_gap with expected_seq",
    ),
    (
        HttpMethod::Get,
        "/api/v1/sync/pull",
        "sync",
        "Pull changes after ?cursor=N (&limit=M): PullResponse",
    ),
    (
        HttpMethod::Get,
        "/api/v1/sync/snapshot",
        "sync",
        "Every row the device may see, with a state checksum",
    ),
    (HttpMethod::Get, "/api/v1/users", "office", "List users"),
    (HttpMethod::Get, "/api/v1/devices", "office", "List devices"),
    (
        HttpMethod::Get,
        "/api/v1/customers",
        "office",
        "List customers",
    ),
    (
        HttpMethod::Post,
        "/api/v1/customers",
        "office",
        "Create a customer",
    ),
    (
        HttpMethod::Patch,
        "/api/v1/customers/{id}",
        "office",
        "Update a customer",
    ),
    (HttpMethod::Get, "/api/v1/assets", "office", "List assets"),
    (
        HttpMethod::Post,
        "/api/v1/assets",
        "office",
        "Create an asset",
    ),
    (
        HttpMethod::Patch,
        "/api/v1/assets/{id}",
        "office",
        "Update an asset",
    ),
    (
        HttpMethod::Get,
        "/api/v1/work-orders",
        "office",
        "List work orders (?status, assignee, from, to, needs_review)",
    ),
    (
        HttpMethod::Post,
        "/api/v1/work-orders",
        "office",
        "Create a work order",
    ),
    (
        HttpMethod::Post,
        "/api/v1/work-orders/import",
        "office",
        "Import work orders (JSON array or text/csv), all or nothing",
    ),
    (
        HttpMethod::Get,
        "/api/v1/work-orders/{id}",
        "office",
        "A work order with its history, records and conflicts",
    ),
    (
        HttpMethod::Patch,
        "/api/v1/work-orders/{id}",
        "office",
        "Update dispatcher-owned fields",
    ),
    (
        HttpMethod::Post,
        "/api/v1/work-orders/{id}/assign",
        "office",
        "Assign, reassign or unassign",
    ),
    (
        HttpMethod::Post,
        "/api/v1/work-orders/{id}/reschedule",
        "office",
        "Set the appointment window",
    ),
    (
        HttpMethod::Post,
        "/api/v1/work-orders/{id}/cancel",
        "office",
        "Cancel",
    ),
    (
        HttpMethod::Post,
        "/api/v1/work-orders/{id}/reopen",
        "office",
        "Reopen a completed or cancelled job",
    ),
    (
        HttpMethod::Get,
        "/api/v1/conflicts",
        "office",
        "List conflicts (?open=true)",
    ),
    (
        HttpMethod::Post,
        "/api/v1/conflicts/{id}/resolve",
        "office",
        "Resolve a conflict with the value to keep",
    ),
    (
        HttpMethod::Get,
        "/api/v1/openapi.json",
        "ops",
        "This document",
    ),
];

pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for (method, path, tag, summary) in ENDPOINTS {
        let op = OperationBuilder::new()
            .tag(*tag)
            .summary(Some(*summary))
            .response("200", ResponseBuilder::new().description("success").build())
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description("ErrorBody {code, message, expected_seq?}")
                    .build(),
            )
            .build();
        paths.add_path_operation(*path, vec![method.clone()], op);
    }
    let mut info = Info::new("Onsite server", env!("CARGO_PKG_VERSION"));
    info.description = Some(
        "Sync protocol for devices and the back-office API. Bearer tokens from /api/v1/auth/login."
            .into(),
    );
    OpenApi::new(info, paths)
}

pub async fn serve() -> Json<OpenApi> {
    Json(document())
}
