//! The route table: every endpoint the server answers, declared once. The router
//! (`api::router`) and the OpenAPI document (`api::openapi`) are both built from it, and the
//! authorisation matrix test walks it, so a new endpoint is one row here and a decision in
//! that test about who may call it.

use axum::Json;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, head, patch, post};
use utoipa::openapi::OpenApi;

use super::{AppState, blobs, office, ops, sync};

/// One method on one path.
pub struct Endpoint {
    pub method: Method,
    /// The full path, with `{name}` captures.
    pub path: &'static str,
    /// The OpenAPI tag: `ops`, `auth`, `sync`, `blobs` or `office`.
    pub tag: &'static str,
    pub summary: &'static str,
    /// The handler for this method (endpoints on one path are merged by the router).
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! endpoint {
    ($method:ident $path:literal, $tag:literal, $summary:literal, $handler:expr) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            tag: $tag,
            summary: $summary,
            handler: || $handler,
        }
    };
}

pub const ENDPOINTS: &[Endpoint] = &[
    endpoint!(GET "/healthz", "ops", "Liveness: {\"status\":\"ok\"}", get(ops::healthz)),
    endpoint!(GET "/metrics", "ops", "Prometheus metrics", get(ops::metrics)),
    endpoint!(GET "/api/v1/openapi.json", "ops", "This document", get(openapi_json)),
    endpoint!(
        POST "/api/v1/auth/login",
        "auth",
        "Sign in a device: LoginRequest -> LoginResponse with a bearer token; 429 with Retry-After when attempts for the user or from the address exceed the limit",
        post(super::login::login)
    ),
    endpoint!(GET "/api/v1/me", "auth", "The signed-in user", get(sync::me)),
    endpoint!(
        POST "/api/v1/web/session",
        "auth",
        "Sign in to the office console: WebSignInRequest -> WebSession, and an HttpOnly SameSite=Strict session cookie; technicians are refused 403 office_only; 429 with Retry-After as for devices",
        post(super::web_session::sign_in)
    ),
    endpoint!(
        GET "/api/v1/web/session",
        "auth",
        "The console session of the cookie: WebSession (user, CSRF token, expiry)",
        get(super::web_session::current)
    ),
    endpoint!(
        DELETE "/api/v1/web/session",
        "auth",
        "Sign out of the console: the session ends on the server (needs X-CSRF-Token and this origin)",
        delete(super::web_session::sign_out)
    ),
    endpoint!(
        POST "/api/v1/sync/push",
        "sync",
        "Push ops: PushRequest -> PushResponse; 409 seq_gap with expected_seq",
        post(sync::push)
    ),
    endpoint!(
        GET "/api/v1/sync/pull",
        "sync",
        "Pull changes after ?cursor=N (&limit=M): PullResponse",
        get(sync::pull)
    ),
    endpoint!(
        GET "/api/v1/sync/events",
        "sync",
        "Live changes (text/event-stream): a `change` event {\"seq\":N} on connecting and whenever a change for the caller commits; pull when N is beyond the cursor. 429 too_many_streams past the bounds per user and per instance",
        get(super::events::events)
    ),
    endpoint!(
        GET "/api/v1/sync/snapshot",
        "sync",
        "Every row the device may see, with a state checksum",
        get(sync::snapshot)
    ),
    endpoint!(
        GET "/api/v1/blobs/{sha256}",
        "blobs",
        "Download a blob (one Range allowed: 206); technicians only blobs on their jobs",
        get(blobs::download)
    ),
    endpoint!(
        HEAD "/api/v1/blobs/{sha256}",
        "blobs",
        "200 + Content-Length when stored, 404 + Upload-Offset (bytes held) otherwise",
        head(blobs::head)
    ),
    endpoint!(
        PATCH "/api/v1/blobs/{sha256}",
        "blobs",
        "Append one chunk at Upload-Offset, checked against Chunk-Sha256",
        patch(blobs::patch)
    ),
    endpoint!(
        POST "/api/v1/blobs/{sha256}/finish",
        "blobs",
        "Verify the whole upload by its sha256 and store it",
        post(blobs::finish)
    ),
    endpoint!(
        GET "/api/v1/kpis",
        "office",
        "Service KPIs over the jobs the caller may see (technicians their own), at the server's clock: ?group=day|iso_week|technician|job_type|priority|customer, utc_offset_minutes, revisit_window_days, arrival_grace_minutes -> KpiReport",
        get(super::kpis::kpis)
    ),
    endpoint!(GET "/api/v1/users", "office", "List users", get(office::list_users)),
    endpoint!(POST "/api/v1/users", "office", "Add a user", post(office::create_user)),
    endpoint!(GET "/api/v1/devices", "office", "List devices", get(office::list_devices)),
    endpoint!(GET "/api/v1/customers", "office", "List customers", get(office::list_customers)),
    endpoint!(POST "/api/v1/customers", "office", "Create a customer", post(office::create_customer)),
    endpoint!(
        PATCH "/api/v1/customers/{id}",
        "office",
        "Update a customer",
        patch(office::update_customer)
    ),
    endpoint!(GET "/api/v1/assets", "office", "List assets", get(office::list_assets)),
    endpoint!(POST "/api/v1/assets", "office", "Create an asset", post(office::create_asset)),
    endpoint!(PATCH "/api/v1/assets/{id}", "office", "Update an asset", patch(office::update_asset)),
    endpoint!(
        GET "/api/v1/work-orders",
        "office",
        "List work orders (?status, assignee, from, to, needs_review); technicians see their own",
        get(office::list_work_orders)
    ),
    endpoint!(
        POST "/api/v1/work-orders",
        "office",
        "Create a work order",
        post(office::create_work_order)
    ),
    endpoint!(
        POST "/api/v1/work-orders/import",
        "office",
        "Import work orders (JSON array or text/csv), all or nothing",
        post(office::import_work_orders)
    ),
    endpoint!(
        GET "/api/v1/work-orders/{id}",
        "office",
        "A work order with its history, records and conflicts",
        get(office::get_work_order)
    ),
    endpoint!(
        PATCH "/api/v1/work-orders/{id}",
        "office",
        "Update dispatcher-owned fields",
        patch(office::update_work_order)
    ),
    endpoint!(
        POST "/api/v1/work-orders/{id}/assign",
        "office",
        "Assign, reassign or unassign",
        post(office::assign)
    ),
    endpoint!(
        POST "/api/v1/work-orders/{id}/reschedule",
        "office",
        "Set the appointment window",
        post(office::reschedule)
    ),
    endpoint!(POST "/api/v1/work-orders/{id}/cancel", "office", "Cancel", post(office::cancel)),
    endpoint!(
        POST "/api/v1/work-orders/{id}/reopen",
        "office",
        "Reopen a completed or cancelled job",
        post(office::reopen)
    ),
    endpoint!(
        GET "/api/v1/work-orders/{id}/suggestions",
        "office",
        "Technicians ranked for an open job by skill match, distance from their previous job that day and load, each with its reasons (?utc_offset_minutes: whose day) -> Suggestions; 409 job_closed",
        get(super::dispatch::suggestions)
    ),
    endpoint!(
        GET "/api/v1/dispatch/board",
        "office",
        "The dispatch board: each technician's jobs with an appointment in [from, to) (RFC 3339; default today and the next 6 days at ?utc_offset_minutes, at most 31 days), their backlog, the unassigned queue, SLA-risk flags at the server's clock -> Board",
        get(super::dispatch::board)
    ),
    endpoint!(
        GET "/api/v1/callbacks",
        "office",
        "The callback queue, open first, urgent on top, then by due time (?open, urgent, overdue, assignee, work_order) -> [CallbackItem]",
        get(super::closed_loop::list_callbacks)
    ),
    endpoint!(
        POST "/api/v1/callbacks/{id}/calls",
        "office",
        "Record a call: {reached, outcome: satisfied|complaint|revisit_needed, next_attempt_at, note, complaint, revisit_problem} -> CallRecorded; a complaint or a linked revisit in the same transaction; 400 invalid_value or invalid_body",
        post(super::closed_loop::record_call)
    ),
    endpoint!(
        GET "/api/v1/complaints",
        "office",
        "Complaints, escalated (open past the deadline) first, then open by deadline, then resolved (?open, escalated, owner, work_order) -> [ComplaintItem]",
        get(super::closed_loop::list_complaints)
    ),
    endpoint!(
        POST "/api/v1/work-orders/{id}/complaints",
        "office",
        "Open a complaint on a job: {summary, owner_id, deadline} -> 201 ComplaintItem; 400 owner_not_office, invalid_value",
        post(super::closed_loop::open_complaint)
    ),
    endpoint!(
        GET "/api/v1/complaints/{id}",
        "office",
        "One complaint -> ComplaintItem",
        get(super::closed_loop::get_complaint)
    ),
    endpoint!(
        PATCH "/api/v1/complaints/{id}",
        "office",
        "Change an open complaint's owner or deadline: {owner_id, deadline} -> ComplaintItem",
        patch(super::closed_loop::update_complaint)
    ),
    endpoint!(
        POST "/api/v1/complaints/{id}/resolve",
        "office",
        "Resolve a complaint: {resolution} -> ComplaintItem with its resolution time",
        post(super::closed_loop::resolve_complaint)
    ),
    endpoint!(
        GET "/api/v1/conflicts",
        "office",
        "List conflicts (?open=true)",
        get(office::list_conflicts)
    ),
    endpoint!(
        POST "/api/v1/conflicts/{id}/resolve",
        "office",
        "Resolve a conflict with the value to keep",
        post(office::resolve_conflict)
    ),
    endpoint!(
        GET "/api/v1/quality/queue",
        "office",
        "The quality-review queue: completed jobs sampled (default 10 % per technician), rated low (<= 3 stars or NPS <= 6) or with a conduct item answered no, each with its reasons; ?state=pending|reviewed|all (default pending), technician=<user id> -> ReviewQueue with counts per technician",
        get(super::quality::queue)
    ),
    endpoint!(
        POST "/api/v1/work-orders/{id}/quality-reviews",
        "office",
        "Review a completed job: ReviewInput (pass or fail on each of the four conduct standards, a comment on every fail, an overall comment) -> 201 QualityReview; reviewer and time from the caller and the server's clock; 409 not_completed",
        post(super::quality::review)
    ),
    endpoint!(
        GET "/api/v1/work-orders/{id}/quality-reviews",
        "office",
        "A job's quality reviews, oldest first (the latest counts)",
        get(super::quality::reviews)
    ),
];

/// The OpenAPI document of every endpoint in the table.
pub fn openapi_document() -> OpenApi {
    super::openapi::document(
        ENDPOINTS
            .iter()
            .map(|e| (&e.method, e.path, e.tag, e.summary)),
    )
}

async fn openapi_json() -> Json<OpenApi> {
    Json(openapi_document())
}
