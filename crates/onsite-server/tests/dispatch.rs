//! Dispatch on every backend: suggestions ranked from the stored technicians, customers and
//! calendar, the board with its lanes, queue and SLA-risk flags, and the API's refusals.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::{TestBackend, World, world_on};
use onsite_model::time::parse_ts;
use onsite_model::{AssetId, Customer, JobType, Role, StatusAction, User, WorkOrder, WorkOrderId};
use onsite_server::api::{AppState, router};
use onsite_server::store::{NewAsset, NewCustomer, NewUser, NewWorkOrder, Password};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

fn technician(w: &World, username: &str, name: &str, skills: &[&str]) -> User {
    w.store
        .create_user(&NewUser {
            username: username.into(),
            name: name.into(),
            role: Role::Technician,
            password: Password(common::PASSWORD.into()),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            phone: None,
        })
        .unwrap()
}

fn customer_at(w: &World, name: &str, lat: f64, lon: f64) -> Customer {
    w.store
        .create_customer(&NewCustomer {
            name: name.into(),
            phone: None,
            address: Some(format!("{name}, Shanghai")),
            lat: Some(lat),
            lon: Some(lon),
            notes: None,
        })
        .unwrap()
}

fn boiler_at(w: &World, customer: &Customer) -> AssetId {
    w.store
        .create_asset(&NewAsset {
            customer_id: customer.id,
            model: "Vaillant ecoTEC plus 832 boiler".into(),
            serial: None,
            installed_on: None,
            warranty_end: None,
        })
        .unwrap()
        .id
}

/// A job from the office, as JSON so every field left out takes its default.
fn order(w: &World, fields: Value) -> WorkOrder {
    let mut v = json!({"job_type": "repair", "priority": "high", "problem": "No hot water",
        "customer_id": w.customer.id});
    for (k, val) in fields.as_object().unwrap() {
        v[k] = val.clone();
    }
    let new: NewWorkOrder = serde_json::from_value(v).unwrap();
    w.store.create_work_orders(&[new]).unwrap().pop().unwrap()
}

/// A two-hour appointment starting at `start`.
fn slot(start: &str) -> Value {
    let s = parse_ts(start).unwrap();
    json!({"appointment_start": start,
        "appointment_end": onsite_model::time::format_ts(&(s + chrono::Duration::hours(2)))})
}

fn with(mut a: Value, b: Value) -> Value {
    for (k, v) in b.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn ranked(w: &World, id: WorkOrderId) -> Vec<Value> {
    let s = w.store.suggestions(id, 0).unwrap();
    serde_json::to_value(s.suggestions)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn usernames(ranked: &[Value]) -> Vec<&str> {
    ranked
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect()
}

/// The customer of the boiler job, and one 0.05° of latitude (5.56 km) north of it.
fn two_customers(w: &World) -> (Customer, Customer) {
    (
        customer_at(w, "Jing'an Apartments", 31.0, 121.0),
        customer_at(w, "Bund Offices", 31.05, 121.0),
    )
}

fn a_boiler_repair_goes_to_the_boiler_technician_first<B: TestBackend>() {
    let w = world_on::<B>();
    let carol = technician(&w, "carol", "Carol Wu", &["Repair", "boiler"]);
    technician(&w, "dave", "Dave Li", &["repair"]);
    let (home, _) = two_customers(&w);
    let boiler = boiler_at(&w, &home);
    let job = order(
        &w,
        with(
            json!({"customer_id": home.id, "asset_id": boiler}),
            slot("2026-11-22T13:00:00Z"),
        ),
    );
    let r = ranked(&w, job.id);
    // By hand: nobody has a job before 13:00, so distance is the neutral 10 km (20 points);
    // carol 30 (repair) + 40 (boiler) + 20 = 90, dave 30 + 20 = 50, alice and bob (no
    // skills) 20 each, in name order.
    assert_eq!(usernames(&r), ["carol", "dave", "alice", "bob"]);
    let scores: Vec<f64> = r.iter().map(|s| s["score"].as_f64().unwrap()).collect();
    assert_eq!(scores, [90.0, 50.0, 20.0, 20.0]);
    assert_eq!(r[0]["technician_id"], json!(carol.id));
    assert_eq!(
        r[0]["reasons"],
        json!([
            {"kind": "skill_match", "matched": ["repair", "boiler"], "job_type": true, "product": true},
            {"kind": "first_job_of_day", "assumed_km": 10.0},
            {"kind": "load", "jobs": 0, "minutes": 0}
        ])
    );
    assert_eq!(
        r[2]["reasons"][0],
        json!({"kind": "skill_match", "matched": [], "job_type": false, "product": false})
    );
    // The dispatcher is never suggested.
    assert!(!usernames(&r).contains(&"dana"));
    let s = w.store.suggestions(job.id, 0).unwrap();
    assert_eq!(
        (s.number, s.day.to_string()),
        (job.number, "2026-11-22".into())
    );
}

fn the_distance_is_measured_from_the_previous_job_that_day<B: TestBackend>() {
    let w = world_on::<B>();
    let carol = technician(&w, "carol", "Carol Wu", &["repair", "boiler"]);
    let dave = technician(&w, "dave", "Dave Li", &["repair", "boiler"]);
    let (home, north) = two_customers(&w);
    let boiler = boiler_at(&w, &home);
    // Carol's 10:00 job 5.56 km north; her 07:00 one far away; yesterday's right next door.
    let earlier = order(
        &w,
        with(
            json!({"customer_id": north.id, "assignee_id": carol.id}),
            slot("2026-11-22T10:00:00Z"),
        ),
    );
    let far = customer_at(&w, "Pudong Airport", 31.15, 121.8);
    order(
        &w,
        with(
            json!({"customer_id": far.id, "assignee_id": carol.id}),
            slot("2026-11-22T07:00:00Z"),
        ),
    );
    order(
        &w,
        with(
            json!({"customer_id": home.id, "assignee_id": carol.id}),
            slot("2026-11-21T15:00:00Z"),
        ),
    );
    // Dave's only job that day was cancelled: it is not his load.
    let gone = order(
        &w,
        with(
            json!({"customer_id": north.id, "assignee_id": dave.id}),
            slot("2026-11-22T11:00:00Z"),
        ),
    );
    w.store
        .office_transition(
            gone.id,
            StatusAction::Cancel,
            Some("Customer called off".into()),
        )
        .unwrap();
    let job = order(
        &w,
        with(
            json!({"customer_id": home.id, "asset_id": boiler}),
            slot("2026-11-22T13:00:00Z"),
        ),
    );
    let r = ranked(&w, job.id);
    let carol_s = r.iter().find(|s| s["username"] == "carol").unwrap();
    assert_eq!(
        carol_s["reasons"][1],
        json!({"kind": "distance", "km": 5.6, "from_job": earlier.number, "from_job_id": earlier.id})
    );
    assert_eq!(
        carol_s["reasons"][2],
        json!({"kind": "load", "jobs": 2, "minutes": 240})
    );
    // 70 + 30 × (1 − 5.56/30) − 2 × 8 = 70 + 24.4 − 16 = 78.4.
    assert_eq!(carol_s["score"], json!(78.4));
    let dave_s = &r[0];
    assert_eq!(dave_s["username"], "dave");
    assert_eq!(
        dave_s["reasons"][2],
        json!({"kind": "load", "jobs": 0, "minutes": 0})
    );
    assert_eq!(dave_s["score"], json!(90.0));
}

fn load_breaks_ties<B: TestBackend>() {
    let w = world_on::<B>();
    let carol = technician(&w, "carol", "Carol Wu", &["repair", "boiler"]);
    technician(&w, "zhao", "Zhao Min", &["repair", "boiler"]);
    let (home, north) = two_customers(&w);
    let boiler = boiler_at(&w, &home);
    // Carol (first by name) has a job later that day, after the one to place: no previous
    // job for either, so only the load tells them apart.
    order(
        &w,
        with(
            json!({"customer_id": north.id, "assignee_id": carol.id}),
            slot("2026-11-22T16:00:00Z"),
        ),
    );
    let mut job = order(
        &w,
        with(
            json!({"customer_id": home.id, "asset_id": boiler}),
            slot("2026-11-22T09:00:00Z"),
        ),
    );
    let r = ranked(&w, job.id);
    assert_eq!(&usernames(&r)[..2], ["zhao", "carol"]);
    assert_eq!(
        (r[0]["score"].as_f64(), r[1]["score"].as_f64()),
        (Some(90.0), Some(82.0))
    );
    // Assigned to carol, the job is marked as hers and still not counted in her load.
    job = w.store.assign_work_order(job.id, Some(carol.id)).unwrap();
    let r = ranked(&w, job.id);
    let carol_s = r.iter().find(|s| s["username"] == "carol").unwrap();
    assert_eq!(carol_s["current_assignee"], json!(true));
    assert_eq!(carol_s["reasons"][2]["jobs"], json!(1));
}

fn board_lists_each_technicians_jobs_the_queue_and_flags_risk<B: TestBackend>() {
    let w = world_on::<B>();
    let carol = technician(&w, "carol", "Carol Wu", &["repair"]);
    let dave = technician(&w, "dave", "Dave Li", &["repair"]);
    let (home, _) = two_customers(&w);
    // Reported at 08:00 (the store's clock), high priority: respond by 12:00.
    let afternoon = order(
        &w,
        with(
            json!({"assignee_id": carol.id}),
            slot("2026-11-22T14:00:00Z"),
        ),
    );
    let morning = order(
        &w,
        with(
            json!({"assignee_id": carol.id}),
            slot("2026-11-22T09:00:00Z"),
        ),
    );
    let tomorrow = order(
        &w,
        with(
            json!({"assignee_id": dave.id}),
            slot("2026-11-23T10:00:00Z"),
        ),
    );
    let next_month = order(
        &w,
        with(
            json!({"assignee_id": dave.id}),
            slot("2026-12-20T10:00:00Z"),
        ),
    );
    // Yesterday's job, still open, its response overdue since 12:00 yesterday.
    let overdue = order(
        &w,
        with(
            json!({"assignee_id": dave.id, "reported_at": "2026-11-21T08:00:00Z",
                "respond_by": "2026-11-21T12:00:00Z", "resolve_by": "2026-11-23T08:00:00Z"}),
            slot("2026-11-21T10:00:00Z"),
        ),
    );
    // Nobody's yet: urgent (respond within 2 h, by 10:00) and low.
    let urgent = order(&w, json!({"priority": "urgent", "customer_id": home.id}));
    let low = order(
        &w,
        with(json!({"priority": "low"}), slot("2026-11-24T09:00:00Z")),
    );
    let cancelled = order(&w, slot("2026-11-22T15:00:00Z"));
    w.store
        .office_transition(cancelled.id, StatusAction::Cancel, None)
        .unwrap();
    w.clock.set(parse_ts("2026-11-22T09:45:00Z").unwrap());

    let board = w.store.dispatch_board(None, None, 0).unwrap();
    let b = serde_json::to_value(&board).unwrap();
    assert_eq!(
        b["window"],
        json!({"from": "2026-11-22T00:00:00.000Z", "to": "2026-11-29T00:00:00.000Z"})
    );
    assert_eq!(b["now"], json!("2026-11-22T09:45:00.000Z"));
    let lanes: Vec<&str> = board
        .technicians
        .iter()
        .map(|l| l.username.as_str())
        .collect();
    assert_eq!(lanes, ["alice", "bob", "carol", "dave"]);
    let numbers = |jobs: &[onsite_model::dispatch::BoardJob]| {
        jobs.iter()
            .map(|j| j.work_order.number.clone())
            .collect::<Vec<_>>()
    };
    let lane = |u: &str| board.technicians.iter().find(|l| l.username == u).unwrap();
    assert_eq!(
        numbers(&lane("carol").jobs),
        [morning.number.clone(), afternoon.number.clone()]
    );
    assert_eq!(
        numbers(&lane("dave").jobs),
        std::slice::from_ref(&tomorrow.number)
    );
    assert!(!numbers(&lane("dave").jobs).contains(&next_month.number));
    assert_eq!(
        numbers(&lane("dave").backlog),
        std::slice::from_ref(&overdue.number)
    );
    assert!(lane("alice").jobs.is_empty() && lane("alice").backlog.is_empty());
    // The overdue job: its response passed 21 h 45 min ago.
    assert_eq!(
        serde_json::to_value(&lane("dave").backlog[0].sla_risks).unwrap(),
        json!([{"deadline": "respond", "due": "2026-11-21T12:00:00.000Z",
            "left_ms": -(21 * 3_600_000 + 45 * 60_000), "breached": true}])
    );
    assert!(lane("carol").jobs.iter().all(|j| j.sla_risks.is_empty()));
    // The queue: the urgent job first (15 minutes to its respond-by), then the low one; the
    // cancelled job is on no list.
    assert_eq!(numbers(&board.unassigned), [urgent.number, low.number]);
    assert_eq!(board.unassigned_total, 2);
    assert_eq!(board.unassigned[0].sla_risks[0].left_ms, 15 * 60_000);
    assert_eq!(
        board.unassigned[0].customer_name.as_deref(),
        Some("Jing'an Apartments")
    );
    assert_eq!(board.at_risk, 2);

    // A window of its own: tomorrow only, in China's day (UTC+8).
    let from = parse_ts("2026-11-23T00:00:00+08:00").unwrap();
    let to = parse_ts("2026-11-24T00:00:00+08:00").unwrap();
    let board = w.store.dispatch_board(Some(from), Some(to), 480).unwrap();
    let lane = |u: &str| board.technicians.iter().find(|l| l.username == u).unwrap();
    assert_eq!(numbers(&lane("dave").jobs), [tomorrow.number]);
    assert!(lane("carol").jobs.is_empty());
    // Carol's jobs of the 22nd lie before this window but are open: her backlog.
    assert_eq!(lane("carol").backlog_total, 2);
}

/// The router on loopback.
async fn serve(w: &World) -> String {
    let blobs = Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap());
    let state = AppState::new(w.store.clone(), blobs, w.clock.clone());
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn the_api_is_for_the_office_and_refuses_bad_windows<B: TestBackend>() {
    let w = world_on::<B>();
    let rt = Runtime::new().unwrap();
    let base = rt.block_on(serve(&w));
    let client = reqwest::Client::new();
    let get = |token: &str, path: &str| -> (u16, Value) {
        rt.block_on(async {
            let res = client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (
                status,
                serde_json::from_slice(&res.bytes().await.unwrap()).unwrap(),
            )
        })
    };
    let office = w.device(&w.dana).token;
    let tech = w.device(&w.alice).token;
    let job = w.job(JobType::Repair, Some(&w.alice));
    let suggestions = format!("/api/v1/work-orders/{}/suggestions", job.id);

    let (s, b) = get(&office, "/api/v1/dispatch/board");
    assert_eq!(s, 200, "{b}");
    // Alice's job has no appointment yet: it waits in her backlog.
    assert_eq!(
        b["technicians"][0]["backlog"][0]["work_order"]["id"],
        json!(job.id)
    );
    let (s, b) = get(&office, &suggestions);
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["suggestions"].as_array().unwrap().len(), 2);

    // Technicians get nothing of either, not even for their own job.
    for path in ["/api/v1/dispatch/board", suggestions.as_str()] {
        let (s, b) = get(&tech, path);
        assert_eq!(
            (s, b["code"].as_str()),
            (403, Some("office_only")),
            "{path}: {b}"
        );
    }

    let refused = [
        (
            "/api/v1/dispatch/board?from=tomorrow",
            "invalid_query",
            "from \"tomorrow\" is not an RFC 3339 time",
        ),
        (
            "/api/v1/dispatch/board?from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z",
            "invalid_window",
            "is not after from",
        ),
        (
            "/api/v1/dispatch/board?from=2026-11-01T00:00:00Z&to=2026-12-15T00:00:00Z",
            "invalid_window",
            "longer than 31 days",
        ),
        (
            "/api/v1/dispatch/board?utc_offset_minutes=2000",
            "invalid_query",
            "utc_offset_minutes 2000 is out of range",
        ),
        (
            "/api/v1/dispatch/board?utc_offset_minutes=east",
            "bad_query",
            "",
        ),
        ("/api/v1/dispatch/board?days=3", "bad_query", "days"),
        (
            "/api/v1/work-orders/not-an-id/suggestions",
            "bad_id",
            "not a valid work order id",
        ),
    ];
    for (path, code, says) in refused {
        let (s, b) = get(&office, path);
        assert_eq!((s, b["code"].as_str()), (400, Some(code)), "{path}: {b}");
        assert!(b["message"].as_str().unwrap().contains(says), "{path}: {b}");
    }
    let (s, b) = get(
        &office,
        &format!(
            "/api/v1/work-orders/{}/suggestions",
            WorkOrderId(uuid::Uuid::now_v7())
        ),
    );
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("unknown_work_order")),
        "{b}"
    );
    w.store
        .office_transition(job.id, StatusAction::Cancel, None)
        .unwrap();
    let (s, b) = get(&office, &suggestions);
    assert_eq!((s, b["code"].as_str()), (409, Some("job_closed")), "{b}");
}

for_each_backend!(
    a_boiler_repair_goes_to_the_boiler_technician_first,
    the_distance_is_measured_from_the_previous_job_that_day,
    load_breaks_ties,
    board_lists_each_technicians_jobs_the_queue_and_flags_risk,
    the_api_is_for_the_office_and_refuses_bad_windows,
);
