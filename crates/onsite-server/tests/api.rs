//! The HTTP surface through `Router::oneshot`: refusals are helpful `ErrorBody` JSON, store
//! nothing, and the server keeps serving.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use common::{Device, World, step, world};
use onsite_model::{Change, EntityKind, JobType, StatusAction as A, WorkOrderStatus as S};
use onsite_server::api::{AppState, router};
use serde_json::{Value, json};
use tower::ServiceExt;

fn app(w: &World) -> Router {
    router(AppState::new(
        w.store.clone(),
        Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap()),
        w.clock.clone(),
    ))
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        None => Body::empty(),
    };
    raw(app, req.body(body).unwrap()).await
}

async fn raw(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}

fn assert_error(res: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(res.0.as_u16(), status, "{}", res.1);
    assert_eq!(res.1["code"], code, "{}", res.1);
    let msg = res.1["message"].as_str().unwrap_or_default();
    assert!(
        msg.len() > 10,
        "the message should say what was wrong: {}",
        res.1
    );
}

#[tokio::test]
async fn login_refuses_wrong_passwords_and_unknown_users_alike() {
    let w = world();
    let app = app(&w);
    let login = |user: &str, pw: &str| json!({"username": user, "password": pw, "device_id": uuid::Uuid::now_v7(), "device_name": "tablet"});
    let wrong = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(login("alice", "nope-nope")),
    )
    .await;
    assert_error(&wrong, 401, "bad_credentials");
    let unknown = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(login("mallory", "nope-nope")),
    )
    .await;
    assert_eq!(unknown.1, wrong.1, "the same answer for an unknown user");
    let ok = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(login("alice", common::PASSWORD)),
    )
    .await;
    assert_eq!(ok.0, StatusCode::OK, "{}", ok.1);
    assert_eq!(ok.1["token"].as_str().unwrap().len(), 64);
    // The same device id cannot be taken over by another user.
    let mut taken = login("bob", common::PASSWORD);
    taken["device_id"] = ok.1["device_id"].clone();
    assert_error(
        &call(&app, "POST", "/api/v1/auth/login", None, Some(taken)).await,
        409,
        "device_taken",
    );
}

#[tokio::test]
async fn bad_pushes_are_refused_whole_and_store_nothing() {
    let w = world();
    let app = app(&w);
    let job = w.job(JobType::Maintenance, Some(&w.alice));
    let bobs = w.job(JobType::Repair, Some(&w.bob));
    let mut dev = w.device(&w.alice);
    let token = dev.token.clone();
    let before = w.store.snapshot(&dev.principal).unwrap().checksum;

    // Each case: a push whose first op is valid and whose second is not.
    let push = |dev: &mut Device, bad: onsite_model::Op| {
        dev.seq = 0;
        let good = dev.set(job.id, "diagnosis", json!("ok"), None);
        let mut bad = bad;
        bad.device_seq = good.device_seq + 1;
        serde_json::to_value(dev.request(vec![good, bad])).unwrap()
    };
    let mut cases: Vec<(Value, u16, &str)> = Vec::new();
    let op = dev.set(bobs.id, "diagnosis", json!("x"), None);
    cases.push((push(&mut dev, op), 403, "forbidden_job"));
    let op = dev.set(job.id, "assignee_id", json!(w.bob.id), None);
    cases.push((push(&mut dev, op), 403, "field_not_owned"));
    let op = dev.set(job.id, "colour", json!("red"), None);
    cases.push((push(&mut dev, op), 422, "unknown_field"));
    let op = dev.set(job.id, "follow_up_needed", json!("maybe"), None);
    cases.push((push(&mut dev, op), 422, "invalid_value"));
    let op = step(&mut dev, job.id, A::Complete, S::Assigned, S::Completed);
    cases.push((push(&mut dev, op), 422, "invalid_transition"));
    let op = step(&mut dev, job.id, A::Cancel, S::Assigned, S::Cancelled);
    cases.push((push(&mut dev, op), 422, "invalid_transition"));
    let row = json!({"id": uuid::Uuid::now_v7(), "work_order_id": job.id, "body": "hi", "created_at": "2026-11-22T09:00:00.000Z", "mood": "happy"});
    let id = row["id"].as_str().unwrap().to_owned();
    let op = dev.op(job.id, EntityKind::Note, &id, Change::Insert { row }, None);
    cases.push((push(&mut dev, op), 422, "invalid_row"));
    let row = json!({"id": uuid::Uuid::now_v7(), "work_order_id": job.id, "rating": 9, "created_at": "2026-11-22T09:00:00.000Z"});
    let id = row["id"].as_str().unwrap().to_owned();
    let op = dev.op(
        job.id,
        EntityKind::Feedback,
        &id,
        Change::Insert { row },
        None,
    );
    cases.push((push(&mut dev, op), 422, "invalid_row"));
    let answer = onsite_model::ops::checklist_answer_id(job.id, "pressure_reading");
    let op = dev.op(
        job.id,
        EntityKind::ChecklistAnswer,
        &answer,
        Change::Set {
            field: "value".into(),
            old: json!(null),
            new: json!({"type": "number", "value": 80.0}),
        },
        None,
    );
    cases.push((push(&mut dev, op), 422, "invalid_answer"));
    let mut op = dev.set(job.id, "diagnosis", json!("x"), None);
    op.schema_version = 99;
    cases.push((push(&mut dev, op), 400, "schema_version"));
    let op = dev_set(&mut dev, job.id);
    let mut proto = push(&mut dev, op);
    proto["protocol"] = json!(7);
    cases.push((proto, 400, "protocol_version"));
    let op = dev_set(&mut dev, job.id);
    let mut gap = push(&mut dev, op);
    gap["ops"][0]["device_seq"] = json!(5);
    gap["ops"].as_array_mut().unwrap().truncate(1);
    cases.push((gap.clone(), 409, "seq_gap"));
    let op = dev_set(&mut dev, job.id);
    let mut wrong_type = push(&mut dev, op);
    wrong_type["ops"][0]["device_seq"] = json!("one");
    cases.push((wrong_type, 422, "invalid_body"));
    let op = dev_set(&mut dev, job.id);
    let mut unknown = push(&mut dev, op);
    unknown["ops"][0]["colour"] = json!("red");
    cases.push((unknown, 422, "invalid_body"));
    let op = dev_set(&mut dev, job.id);
    let mut other_device = push(&mut dev, op);
    other_device["device_id"] = json!(uuid::Uuid::now_v7());
    cases.push((other_device, 403, "wrong_device"));

    for (body, status, code) in cases {
        let res = call(&app, "POST", "/api/v1/sync/push", Some(&token), Some(body)).await;
        assert_error(&res, status, code);
        assert_eq!(
            w.store.snapshot(&dev.principal).unwrap().checksum,
            before,
            "{code}: nothing stored"
        );
    }
    let res = call(&app, "POST", "/api/v1/sync/push", Some(&token), Some(gap)).await;
    assert_eq!(res.1["expected_seq"], 1);

    // Malformed JSON, no content type, oversized body: still ErrorBody JSON.
    let req = |body: Body, ct: Option<&str>| {
        let mut r = Request::builder()
            .method("POST")
            .uri("/api/v1/sync/push")
            .header("authorization", format!("Bearer {token}"));
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.body(body).unwrap()
    };
    assert_error(
        &raw(
            &app,
            req(Body::from("{\"protocol\": 1,"), Some("application/json")),
        )
        .await,
        400,
        "bad_json",
    );
    assert_error(
        &raw(&app, req(Body::from("{}"), None)).await,
        415,
        "unsupported_media_type",
    );
    let big = vec![b' '; onsite_server::api::BODY_LIMIT + 10];
    assert_error(
        &raw(&app, req(Body::from(big), Some("application/json"))).await,
        413,
        "too_large",
    );

    // The server keeps serving: a good push goes through.
    dev.seq = 0;
    let good = dev.set(job.id, "diagnosis", json!("Clogged filter"), None);
    let res = call(
        &app,
        "POST",
        "/api/v1/sync/push",
        Some(&token),
        Some(serde_json::to_value(dev.request(vec![good])).unwrap()),
    )
    .await;
    assert_eq!(res.0, StatusCode::OK, "{}", res.1);
    assert_eq!(res.1["outcomes"][0]["result"], "applied");
    let pulled = call(
        &app,
        "GET",
        "/api/v1/sync/pull?cursor=0&limit=2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(pulled.0, StatusCode::OK, "{}", pulled.1);
    assert_eq!(pulled.1["has_more"], true);
    let bad_query = call(
        &app,
        "GET",
        "/api/v1/sync/pull?cursor=minus",
        Some(&token),
        None,
    )
    .await;
    assert_error(&bad_query, 400, "bad_query");
}

fn dev_set(dev: &mut Device, wo: onsite_model::WorkOrderId) -> onsite_model::Op {
    dev.set(wo, "diagnosis", json!("y"), None)
}

#[tokio::test]
async fn technicians_see_only_their_jobs_and_no_office_endpoints() {
    let w = world();
    let app = app(&w);
    let mine = w.job(JobType::Repair, Some(&w.alice));
    let bobs = w.job(JobType::Repair, Some(&w.bob));
    let alice = w.device(&w.alice);
    let t = Some(alice.token.as_str());
    let own = call(
        &app,
        "GET",
        &format!("/api/v1/work-orders/{}", mine.id),
        t,
        None,
    )
    .await;
    assert_eq!(own.0, StatusCode::OK, "{}", own.1);
    assert_eq!(own.1["work_order"]["number"], mine.number);
    assert_error(
        &call(
            &app,
            "GET",
            &format!("/api/v1/work-orders/{}", bobs.id),
            t,
            None,
        )
        .await,
        403,
        "forbidden_job",
    );
    let list = call(&app, "GET", "/api/v1/work-orders", t, None).await;
    assert_eq!(list.1.as_array().unwrap().len(), 1);
    let create = json!({"customer_id": w.customer.id, "job_type": "repair", "problem": "x"});
    assert_error(
        &call(&app, "POST", "/api/v1/work-orders", t, Some(create)).await,
        403,
        "office_only",
    );
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/api/v1/work-orders/{}/cancel", mine.id),
            t,
            None,
        )
        .await,
        403,
        "office_only",
    );
    assert_error(
        &call(&app, "GET", "/api/v1/conflicts", t, None).await,
        403,
        "office_only",
    );
    // Pull shows nothing of Bob's job.
    let pulled = call(&app, "GET", "/api/v1/sync/pull", t, None).await;
    assert!(!pulled.1.to_string().contains(&bobs.id.to_string()));
}

#[tokio::test]
async fn missing_forged_and_revoked_tokens_are_told_to_sign_in_again() {
    let w = world();
    let app = app(&w);
    let dev = w.device(&w.alice);
    assert_error(
        &call(&app, "GET", "/api/v1/sync/pull", None, None).await,
        401,
        "unauthorized",
    );
    let forged = call(
        &app,
        "GET",
        "/api/v1/sync/pull",
        Some(&"ab".repeat(32)),
        None,
    )
    .await;
    assert_error(&forged, 401, "unauthorized");
    assert!(
        forged.1["message"]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/sync/pull", Some(&dev.token), None)
            .await
            .0,
        StatusCode::OK
    );
    w.store.revoke_device(dev.id()).unwrap();
    let revoked = call(&app, "GET", "/api/v1/sync/pull", Some(&dev.token), None).await;
    assert_error(&revoked, 401, "unauthorized");
    assert!(
        revoked.1["message"]
            .as_str()
            .unwrap()
            .contains("sign in again")
    );
}

#[tokio::test]
async fn the_office_creates_assigns_and_steps_jobs_through_rest() {
    let w = world();
    let app = app(&w);
    let dana = w.device(&w.dana);
    let t = Some(dana.token.as_str());
    let create = json!({"customer_id": w.customer.id, "asset_id": w.asset.id, "job_type": "repair", "priority": "urgent",
        "problem": "No heat", "appointment_start": "2026-11-22T10:00:00Z", "appointment_end": "2026-11-22T12:00:00Z"});
    let made = call(&app, "POST", "/api/v1/work-orders", t, Some(create)).await;
    assert_eq!(made.0, StatusCode::CREATED, "{}", made.1);
    assert!(made.1["number"].as_str().unwrap().starts_with("WO-2026-"));
    assert_eq!(
        made.1["respond_by"], "2026-11-22T10:00:00.000Z",
        "urgent: respond within 2 h"
    );
    let id = made.1["id"].as_str().unwrap().to_owned();
    let tech_field = call(
        &app,
        "PATCH",
        &format!("/api/v1/work-orders/{id}"),
        t,
        Some(json!({"diagnosis": "x"})),
    )
    .await;
    assert_error(&tech_field, 403, "field_not_owned");
    let patched = call(
        &app,
        "PATCH",
        &format!("/api/v1/work-orders/{id}"),
        t,
        Some(json!({"priority": "low"})),
    )
    .await;
    assert_eq!(patched.1["priority"], "low", "{}", patched.1);
    let assigned = call(
        &app,
        "POST",
        &format!("/api/v1/work-orders/{id}/assign"),
        t,
        Some(json!({"username": "alice"})),
    )
    .await;
    assert_eq!(assigned.1["status"], "assigned", "{}", assigned.1);
    let alice = w.device(&w.alice);
    let seen = call(&app, "GET", "/api/v1/sync/pull", Some(&alice.token), None).await;
    assert!(seen.1.to_string().contains(&id));
    let reopen = call(
        &app,
        "POST",
        &format!("/api/v1/work-orders/{id}/reopen"),
        t,
        None,
    )
    .await;
    assert_error(&reopen, 409, "invalid_transition");
    assert!(
        reopen.1["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot reopen")
    );
    let cancel = call(
        &app,
        "POST",
        &format!("/api/v1/work-orders/{id}/cancel"),
        t,
        Some(json!({"reason": "duplicate"})),
    )
    .await;
    assert_eq!(cancel.1["status"], "cancelled");
    let listed = call(&app, "GET", "/api/v1/work-orders?status=cancelled", t, None).await;
    assert_eq!(listed.1.as_array().unwrap().len(), 1);
    let detail = call(&app, "GET", &format!("/api/v1/work-orders/{id}"), t, None).await;
    assert_eq!(detail.1["history"].as_array().unwrap().len(), 2);

    // Import is all or nothing, with the failing row named.
    let csv = format!(
        "customer_id,job_type,priority,problem,assignee\n{c},repair,high,Leak,bob\n{c},fix,high,Bad type,bob\n",
        c = w.customer.id
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/work-orders/import")
        .header("authorization", format!("Bearer {}", dana.token))
        .header("content-type", "text/csv")
        .body(Body::from(csv.clone()))
        .unwrap();
    let refused = raw(&app, req).await;
    assert_error(&refused, 422, "invalid_row");
    assert!(
        refused.1["message"].as_str().unwrap().starts_with("row 2:"),
        "{}",
        refused.1
    );
    assert_eq!(
        w.store.list_work_orders(&Default::default()).unwrap().len(),
        1,
        "nothing imported"
    );
    let good = csv.replace("fix", "maintenance");
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/work-orders/import")
        .header("authorization", format!("Bearer {}", dana.token))
        .header("content-type", "text/csv")
        .body(Body::from(good))
        .unwrap();
    let imported = raw(&app, req).await;
    assert_eq!(imported.0, StatusCode::CREATED, "{}", imported.1);
    assert_eq!(
        imported.1.as_array().unwrap()[0]["assignee_id"],
        json!(w.bob.id)
    );
}

#[tokio::test]
async fn openapi_health_and_metrics_are_served() {
    let w = world();
    let app = app(&w);
    let (status, doc) = call(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/sync/push",
        "/api/v1/sync/pull",
        "/api/v1/work-orders",
        "/api/v1/conflicts/{id}/resolve",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(
        doc["paths"]["/api/v1/work-orders"].get("get").is_some()
            && doc["paths"]["/api/v1/work-orders"].get("post").is_some()
    );
    assert_eq!(
        call(&app, "GET", "/healthz", None, None).await.1,
        json!({"status": "ok"})
    );
    assert_error(
        &call(&app, "GET", "/api/v1/nope", None, None).await,
        404,
        "not_found",
    );
    let (_, metrics) = call(&app, "GET", "/metrics", None, None).await;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains(
            "onsite_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("onsite_sync_push_seconds_count"));
    let _ = Arc::clone(&w.store);
}

#[tokio::test]
async fn a_serial_read_from_the_plate_syncs_as_a_technician_field_the_office_cannot_set() {
    let w = world();
    let app = app(&w);
    let job = w.job(JobType::Install, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let token = dev.token.clone();
    let push = |dev: &mut Device, value: Value| {
        let op = dev.set(job.id, "plate_serial", value, None);
        serde_json::to_value(dev.request(vec![op])).unwrap()
    };
    // The model's rule, run by the server on the pushed op: present, at most 100 characters.
    for bad in [json!("  "), json!("X".repeat(101))] {
        dev.seq = 0;
        let body = push(&mut dev, bad);
        let res = call(&app, "POST", "/api/v1/sync/push", Some(&token), Some(body)).await;
        assert_error(&res, 422, "invalid_value");
    }
    dev.seq = 0;
    let body = push(&mut dev, json!("HX3-2026-004417"));
    let res = call(&app, "POST", "/api/v1/sync/push", Some(&token), Some(body)).await;
    assert_eq!(res.0, StatusCode::OK, "{}", res.1);
    assert_eq!(res.1["outcomes"][0]["result"], "applied", "{}", res.1);
    let stored = w.store.get_work_order(job.id).unwrap();
    assert_eq!(stored.plate_serial.as_deref(), Some("HX3-2026-004417"));

    // The office sees it on the job and cannot write it.
    let dana = w.device(&w.dana);
    let t = Some(dana.token.as_str());
    let uri = format!("/api/v1/work-orders/{}", job.id);
    let seen = call(&app, "GET", &uri, t, None).await;
    assert_eq!(
        seen.1["work_order"]["plate_serial"], "HX3-2026-004417",
        "{}",
        seen.1
    );
    let patched = call(
        &app,
        "PATCH",
        &uri,
        t,
        Some(json!({"plate_serial": "other"})),
    )
    .await;
    assert_error(&patched, 403, "field_not_owned");
}
