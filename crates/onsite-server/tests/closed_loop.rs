//! The closed loop on every backend: the callback a completion opens, the calls the office
//! records and what they lead to (a retry, a complaint, a linked revisit), complaints with
//! an owner, a deadline, escalation and a resolution, the history on the job, the KPIs read
//! from it, and the refusals (technicians, bad input).

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::Request;
use common::{Device, TestBackend, Visit, World, work_to_completion, world_on};
use onsite_model::kpi::{KpiOptions, Rate};
use onsite_model::time::{format_ts, parse_ts};
use onsite_model::{JobType, WorkOrder, WorkOrderStatus as S};
use onsite_server::api::{AppState, router};
use onsite_server::error::Error;
use onsite_server::store::{
    CallbackFilter, ComplaintFilter, ComplaintPatch, NewComplaint, NewWorkOrder, RecordCall,
};
use serde_json::{Value, json};
use tower::ServiceExt;

fn t(s: &str) -> onsite_model::time::Timestamp {
    parse_ts(s).unwrap()
}

/// Works an inspection to completion (every check yes; the steps are at 09:30) and records
/// the customer's rating at 09:40.
fn work_and_rate(w: &World, dev: &mut Device, job: &WorkOrder, rating: u8, nps: u8) {
    let rating = Some((rating, nps));
    work_to_completion(
        w,
        dev,
        job,
        Visit {
            rating,
            ..Default::default()
        },
    );
}

fn refused(e: Error) -> (u16, String, String) {
    let status = e.status().as_u16();
    let code = e.code().to_owned();
    (status, code, e.to_string())
}

fn reached(outcome: &str) -> RecordCall {
    serde_json::from_value(json!({"reached": true, "outcome": outcome})).unwrap()
}

fn kpis(w: &World) -> onsite_model::kpi::Kpis {
    let office = w.device(&w.dana);
    w.store
        .kpis_for(
            &office.principal,
            KpiOptions::at(t("2026-01-01T00:00:00Z")),
            None,
        )
        .unwrap()
        .all
}

fn app(w: &World) -> Router {
    router(AppState::new(
        w.store.clone(),
        Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap()),
        w.clock.clone(),
    ))
}

fn call(app: &Router, method: &str, uri: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

fn completion_opens_a_callback_and_a_low_rating_puts_it_on_top<B: TestBackend>() {
    let w = world_on::<B>();
    let happy = w.job(JobType::Inspection, Some(&w.alice));
    let unhappy = w.job(JobType::Inspection, Some(&w.alice));
    w.clock.set(t("2026-11-22T10:00:00Z"));
    let mut dev = w.device(&w.alice);
    work_and_rate(&w, &mut dev, &happy, 5, 9);
    work_and_rate(&w, &mut dev, &unhappy, 2, 5);

    let queue = w.store.list_callbacks(&CallbackFilter::default()).unwrap();
    let numbers: Vec<&str> = queue.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, [unhappy.number.as_str(), happy.number.as_str()]);
    // By hand: rated 2 stars at 09:40, after the 09:30 completion: due 4 h after the
    // rating. The happy one: 48 h after its completion.
    assert!(queue[0].urgent);
    assert_eq!(format_ts(&queue[0].due_at), "2026-11-22T13:40:00.000Z");
    assert_eq!(json!(queue[0].urgent_reasons), json!(["low_rating"]));
    assert!(!queue[1].urgent);
    assert_eq!(format_ts(&queue[1].due_at), "2026-11-24T09:30:00.000Z");
    let urgent_only = w
        .store
        .list_callbacks(&CallbackFilter {
            urgent: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(urgent_only.len(), 1);

    // The job's record shows the loop to the office, and not to its technician.
    let app = app(&w);
    let office = w.device(&w.dana);
    let uri = format!("/api/v1/work-orders/{}", unhappy.id);
    let (status, detail) = call(&app, "GET", &uri, &office.token, None);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["closed_loop"]["callbacks"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        detail["closed_loop"]["events"][0]["kind"],
        "callback_opened"
    );
    let (status, detail) = call(&app, "GET", &uri, &dev.token, None);
    assert_eq!(status, 200, "{detail}");
    assert!(detail.get("closed_loop").is_none(), "{detail}");

    // Callback KPIs: neither is due yet nor done, so none counts.
    let k = kpis(&w);
    assert_eq!(k.callbacks.completion, Rate::of(0, 0));
    assert_eq!(k.callbacks.pending, 2);
}

fn a_call_that_reaches_nobody_is_tried_again<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Inspection, Some(&w.alice));
    w.clock.set(t("2026-11-22T10:00:00Z"));
    let mut dev = w.device(&w.alice);
    work_and_rate(&w, &mut dev, &job, 3, 8);
    let cb = w.store.list_callbacks(&CallbackFilter::default()).unwrap()[0]
        .callback
        .clone();

    w.clock.set(t("2026-11-22T11:00:00Z"));
    let nobody: RecordCall =
        serde_json::from_value(json!({"reached": false, "note": "Voicemail"})).unwrap();
    let rec = w.store.record_call(w.dana.id, cb.id, &nobody).unwrap();
    // Urgent (3 stars): tried again 4 h after the call; still open.
    assert!(rec.callback.callback.is_open());
    assert_eq!(format_ts(&rec.callback.due_at), "2026-11-22T15:00:00.000Z");
    let attempt = &rec.callback.callback.attempts[0];
    assert_eq!(
        (attempt.by, attempt.at),
        (w.dana.id, t("2026-11-22T11:00:00Z"))
    );

    // Bad calls are refused with a clear 400 and change nothing.
    let past: RecordCall = serde_json::from_value(
        json!({"reached": false, "next_attempt_at": "2026-11-22T10:59:00.000Z"}),
    )
    .unwrap();
    let (status, code, message) =
        refused(w.store.record_call(w.dana.id, cb.id, &past).unwrap_err());
    assert_eq!((status, code.as_str()), (400, "invalid_value"));
    assert!(message.contains("is not after now"), "{message}");
    let no_outcome: RecordCall = serde_json::from_value(json!({"reached": true})).unwrap();
    let (status, _, _) = refused(
        w.store
            .record_call(w.dana.id, cb.id, &no_outcome)
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    let app = app(&w);
    let office = w.device(&w.dana);
    let uri = format!("/api/v1/callbacks/{}/calls", cb.id);
    let (status, body) = call(
        &app,
        "POST",
        &uri,
        &office.token,
        Some(json!({"reached": true, "outcome": "maybe"})),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_body")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("maybe"),
        "{body}"
    );
    let after = w.store.list_callbacks(&CallbackFilter::default()).unwrap();
    assert_eq!(after[0].callback.attempts.len(), 1, "nothing half-stored");

    // The office's own retry time; then the customer is reached and satisfied.
    let (status, body) = call(
        &app,
        "POST",
        &uri,
        &office.token,
        Some(json!({"reached": false, "next_attempt_at": "2026-11-23T09:00:00.000Z"})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["callback"]["due_at"], "2026-11-23T09:00:00.000Z");
    w.clock.set(t("2026-11-23T08:30:00Z"));
    let rec = w
        .store
        .record_call(w.dana.id, cb.id, &reached("satisfied"))
        .unwrap();
    assert_eq!(
        rec.callback.callback.done_at,
        Some(t("2026-11-23T08:30:00Z"))
    );
    assert!(!rec.callback.urgent, "a done callback is no longer urgent");
    // By hand: one callback, done at 08:30 before its due 09:00: completion 1/1, on time.
    let k = kpis(&w);
    assert_eq!(k.callbacks.completion, Rate::of(1, 1));
    assert_eq!(k.callbacks.on_time, Rate::of(1, 1));
    let (status, code, _) = refused(
        w.store
            .record_call(w.dana.id, cb.id, &reached("satisfied"))
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str()),
        (400, "invalid_value"),
        "a done callback takes no call"
    );
}

fn a_complaint_has_an_owner_a_deadline_escalation_and_a_resolution<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Inspection, Some(&w.alice));
    let other = w.job(JobType::Inspection, Some(&w.alice));
    w.clock.set(t("2026-11-22T10:00:00Z"));
    let mut dev = w.device(&w.alice);
    work_and_rate(&w, &mut dev, &job, 1, 0);
    work_and_rate(&w, &mut dev, &other, 5, 10);
    let cb = w
        .store
        .list_callbacks(&CallbackFilter {
            work_order: Some(job.id),
            ..Default::default()
        })
        .unwrap()[0]
        .callback
        .clone();

    // A technician cannot own a complaint: refused, and nothing is stored.
    w.clock.set(t("2026-11-22T12:00:00Z"));
    let mut complaint = reached("complaint");
    complaint.complaint = Some(NewComplaint {
        summary: "Water on the kitchen floor after the visit".into(),
        owner_id: Some(w.alice.id),
        deadline: None,
    });
    let (status, code, _) = refused(
        w.store
            .record_call(w.dana.id, cb.id, &complaint)
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (400, "owner_not_office"));
    assert!(
        w.store
            .list_complaints(&ComplaintFilter::default())
            .unwrap()
            .is_empty()
    );
    assert!(
        w.store.list_callbacks(&CallbackFilter::default()).unwrap()[0]
            .callback
            .is_open()
    );

    // Owned by the dispatcher who called: due 72 h after it opened.
    complaint.complaint.as_mut().unwrap().owner_id = None;
    let rec = w.store.record_call(w.dana.id, cb.id, &complaint).unwrap();
    let opened = rec.complaint.unwrap();
    assert_eq!(opened.complaint.owner_id, w.dana.id);
    assert_eq!(opened.complaint.callback_id, Some(cb.id));
    assert_eq!(
        format_ts(&opened.complaint.deadline),
        "2026-11-25T12:00:00.000Z"
    );
    assert!(!opened.escalated);
    assert_eq!(
        rec.callback.callback.complaint_id,
        Some(opened.complaint.id)
    );

    // One opened on the other job directly, due later.
    let direct = w
        .store
        .open_complaint(
            w.dana.id,
            other.id,
            &NewComplaint {
                summary: "Invoice does not match the parts used".into(),
                owner_id: None,
                deadline: Some(t("2026-11-28T12:00:00Z")),
            },
        )
        .unwrap();
    let (status, code, _) = refused(
        w.store
            .update_complaint(
                w.dana.id,
                direct.complaint.id,
                &ComplaintPatch {
                    owner_id: None,
                    deadline: Some(t("2026-11-22T11:00:00Z")),
                },
            )
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str()),
        (400, "invalid_value"),
        "a deadline before now"
    );

    // Past its deadline the first one is escalated and listed first.
    w.clock.set(t("2026-11-25T13:00:00Z"));
    let list = w
        .store
        .list_complaints(&ComplaintFilter::default())
        .unwrap();
    assert_eq!(list[0].complaint.id, opened.complaint.id);
    assert!(list[0].escalated && !list[1].escalated);
    let escalated = w
        .store
        .list_complaints(&ComplaintFilter {
            escalated: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(escalated.len(), 1);

    // Resolved 3 days and 2 h after it opened: 4,440 minutes.
    w.clock.set(t("2026-11-25T14:00:00Z"));
    let done = w
        .store
        .resolve_complaint(
            w.dana.id,
            opened.complaint.id,
            "Replaced the drain hose; floor dried",
        )
        .unwrap();
    assert_eq!(done.complaint.resolved_at, Some(t("2026-11-25T14:00:00Z")));
    assert_eq!(done.complaint.resolution_minutes(), Some(4_440));
    assert!(!done.escalated);
    let k = kpis(&w);
    // By hand: both completed jobs have a complaint; one resolved in 4,440 min, after its
    // deadline; the other is open with its deadline ahead.
    assert_eq!(k.complaints.rate, Rate::of(2, 2));
    assert_eq!(k.complaints.resolution_time.median_minutes, Some(4_440.0));
    assert_eq!(k.complaints.resolved_by_deadline, Rate::of(0, 1));

    // Every step is in the job's history, with who and when.
    let detail = w.store.work_order_detail(job.id).unwrap();
    let kinds: Vec<Value> = detail
        .closed_loop
        .unwrap()
        .events
        .iter()
        .map(|e| json!([e.kind, e.by]))
        .collect();
    assert_eq!(
        json!(kinds),
        json!([
            ["callback_opened", null],
            ["complaint_opened", w.dana.id],
            ["call_recorded", w.dana.id],
            ["complaint_resolved", w.dana.id]
        ])
    );
}

fn a_revisit_is_a_linked_assignable_work_order_and_costs_the_first_time_fix<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Inspection, Some(&w.alice));
    let late = w.job(JobType::Inspection, Some(&w.alice));
    w.clock.set(t("2026-11-22T10:00:00Z"));
    let mut dev = w.device(&w.alice);
    work_and_rate(&w, &mut dev, &job, 2, 4);
    work_and_rate(&w, &mut dev, &late, 5, 10);
    let k = kpis(&w);
    assert_eq!(
        (k.first_time_fix, k.repeat_visit),
        (Rate::of(2, 2), Rate::of(0, 2))
    );

    // The call finds the problem back: a revisit, linked, unassigned, in one transaction.
    w.clock.set(t("2026-11-23T09:00:00Z"));
    let cb = w
        .store
        .list_callbacks(&CallbackFilter {
            work_order: Some(job.id),
            ..Default::default()
        })
        .unwrap()[0]
        .callback
        .clone();
    let rec = w
        .store
        .record_call(w.dana.id, cb.id, &reached("revisit_needed"))
        .unwrap();
    let revisit = rec.revisit.unwrap();
    assert_eq!(revisit.revisit_of, Some(job.id));
    assert_eq!((revisit.assignee_id, revisit.status), (None, S::New));
    assert_eq!(revisit.customer_id, job.customer_id);
    assert_eq!(rec.callback.callback.revisit_id, Some(revisit.id));
    let assigned = w
        .store
        .assign_work_order(revisit.id, Some(w.bob.id))
        .unwrap();
    assert_eq!(assigned.revisit_of, Some(job.id));
    // By hand: reported a day after the completion, inside 30 days.
    let k = kpis(&w);
    assert_eq!(
        (k.first_time_fix, k.repeat_visit),
        (Rate::of(1, 2), Rate::of(1, 2))
    );

    // The other job, revisited 31 days after its completion: outside the window.
    w.clock.set(t("2026-12-24T00:00:00Z"));
    let far = NewWorkOrder {
        revisit_of: Some(late.id),
        reported_at: Some(t("2026-12-23T09:31:00Z")),
        ..new_order(&w)
    };
    w.store.create_work_orders(&[far]).unwrap();
    // By hand: first visits `job` (revisited in time) and `late` (revisited too late):
    // unchanged.
    let k = kpis(&w);
    assert_eq!(
        (k.first_time_fix, k.repeat_visit),
        (Rate::of(1, 2), Rate::of(1, 2))
    );

    // The link must name an existing job of the same customer, reported before.
    let (customer, _) = common::customer_and_asset(w.store.as_ref());
    for (order, code) in [
        (
            NewWorkOrder {
                revisit_of: Some(onsite_model::WorkOrderId(uuid::Uuid::now_v7())),
                ..new_order(&w)
            },
            "unknown_work_order",
        ),
        (
            NewWorkOrder {
                customer_id: customer.id,
                asset_id: None,
                revisit_of: Some(job.id),
                ..new_order(&w)
            },
            "invalid_value",
        ),
        (
            NewWorkOrder {
                revisit_of: Some(job.id),
                reported_at: Some(t("2026-11-01T00:00:00Z")),
                ..new_order(&w)
            },
            "invalid_value",
        ),
    ] {
        let (status, got, message) = refused(w.store.create_work_orders(&[order]).unwrap_err());
        assert_eq!((status, got.as_str()), (422, code), "{message}");
    }
    let patch = serde_json::from_value(json!({"revisit_of": job.id})).unwrap();
    let (_, code, _) = refused(w.store.update_work_order(job.id, &patch).unwrap_err());
    assert_eq!(code, "invalid_value", "a job is not its own revisit");
}

fn new_order(w: &World) -> NewWorkOrder {
    NewWorkOrder {
        customer_id: w.customer.id,
        asset_id: Some(w.asset.id),
        job_type: JobType::Repair,
        priority: onsite_model::Priority::Normal,
        problem: "Leaks again".into(),
        reported_at: None,
        respond_by: None,
        resolve_by: None,
        appointment_start: None,
        appointment_end: None,
        assignee_id: None,
        revisit_of: None,
    }
}

fn technicians_get_nothing_of_the_loop<B: TestBackend>() {
    let w = world_on::<B>();
    let job = w.job(JobType::Inspection, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    work_and_rate(&w, &mut dev, &job, 2, 2);
    let cb = w.store.list_callbacks(&CallbackFilter::default()).unwrap()[0]
        .callback
        .id;
    let c = w
        .store
        .open_complaint(
            w.dana.id,
            job.id,
            &NewComplaint {
                summary: "Late".into(),
                owner_id: None,
                deadline: None,
            },
        )
        .unwrap()
        .complaint
        .id;
    let app = app(&w);
    for (method, uri, body) in [
        ("GET", "/api/v1/callbacks".to_owned(), None),
        (
            "POST",
            format!("/api/v1/callbacks/{cb}/calls"),
            Some(json!({"reached": true, "outcome": "satisfied"})),
        ),
        ("GET", "/api/v1/complaints".to_owned(), None),
        ("GET", format!("/api/v1/complaints/{c}"), None),
        (
            "PATCH",
            format!("/api/v1/complaints/{c}"),
            Some(json!({"owner_id": w.alice.id})),
        ),
        (
            "POST",
            format!("/api/v1/complaints/{c}/resolve"),
            Some(json!({"resolution": "Sorted"})),
        ),
        (
            "POST",
            format!("/api/v1/work-orders/{}/complaints", job.id),
            Some(json!({"summary": "Mine"})),
        ),
    ] {
        let (status, body) = call(&app, method, &uri, &dev.token, body);
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("office_only")),
            "{method} {uri}"
        );
    }
    assert!(
        w.store.list_callbacks(&CallbackFilter::default()).unwrap()[0]
            .callback
            .is_open()
    );
    assert_eq!(
        w.store
            .list_complaints(&ComplaintFilter::default())
            .unwrap()
            .len(),
        1
    );
}

for_each_backend!(
    completion_opens_a_callback_and_a_low_rating_puts_it_on_top,
    a_call_that_reaches_nobody_is_tried_again,
    a_complaint_has_an_owner_a_deadline_escalation_and_a_resolution,
    a_revisit_is_a_linked_assignable_work_order_and_costs_the_first_time_fix,
    technicians_get_nothing_of_the_loop,
);
