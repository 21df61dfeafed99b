//! Who may call what, cell by cell, on the router served on loopback, on every backend.
//!
//! The first matrix has one row per endpoint of the route table (`api::routes::ENDPOINTS`,
//! from which the router and the OpenAPI document are built) and one column per caller. A
//! route without a row fails the test, so a new endpoint waits for someone to decide who may
//! call it; a row whose route is gone fails too. The second matrix is every op kind × entity
//! in a push, for the technician who owns the job, one who does not and a dispatcher.

mod common;
#[path = "authz/requests.rs"]
mod requests;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use common::{Device, TestBackend, World, world_on};
use onsite_model::wire::OpResult;
use onsite_model::{
    Change, EntityKind, JobType, Op, Role, StatusAction, User, WorkOrder, WorkOrderId,
    WorkOrderStatus, sha256_hex,
};
use onsite_server::api::routes::ENDPOINTS;
use onsite_server::api::{AppState, router};
use onsite_server::limits::{Bucket, LoginLimits};
use onsite_server::store::{NewComplaint, NewUser, Password};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use requests::{Call, Http, conflict_on, request_for, shared};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// Alice: the job is assigned to her.
    Owner,
    /// Bob: the job was never his.
    Other,
    /// Erin: the job was hers, then moved to Alice.
    Former,
    Dispatcher,
    Admin,
    /// One of Alice's devices, revoked by an administrator.
    Revoked,
    /// No Authorization header.
    Anonymous,
}

const CALLERS: [Caller; 7] = [
    Caller::Owner,
    Caller::Other,
    Caller::Former,
    Caller::Dispatcher,
    Caller::Admin,
    Caller::Revoked,
    Caller::Anonymous,
];

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Served, with this status.
    Ok(u16),
    /// Refused with this status and code.
    No(u16, &'static str),
}
use Expect::{No, Ok};

const SIGN_IN: Expect = No(401, "unauthorized");
const OFFICE_ONLY: Expect = No(403, "office_only");
const PUBLIC: [Expect; 7] = [Ok(200); 7];
const fn device(s: u16) -> [Expect; 7] {
    [Ok(s), Ok(s), Ok(s), Ok(s), Ok(s), SIGN_IN, SIGN_IN]
}
const fn office(s: u16) -> [Expect; 7] {
    [
        OFFICE_ONLY,
        OFFICE_ONLY,
        OFFICE_ONLY,
        Ok(s),
        Ok(s),
        SIGN_IN,
        SIGN_IN,
    ]
}
/// The job's record: its current assignee and the office.
const JOB_READERS: [Expect; 7] = [
    Ok(200),
    No(403, "forbidden_job"),
    No(403, "forbidden_job"),
    Ok(200),
    Ok(200),
    SIGN_IN,
    SIGN_IN,
];

/// (method, path, one cell per caller in `CALLERS` order).
const MATRIX: &[(&str, &str, [Expect; 7])] = &[
    ("GET", "/healthz", PUBLIC),
    ("GET", "/metrics", PUBLIC),
    ("GET", "/api/v1/openapi.json", PUBLIC),
    // Everyone signs in with their own password; a revoked device id stays refused; a
    // wrong password is refused.
    (
        "POST",
        "/api/v1/auth/login",
        [
            Ok(200),
            Ok(200),
            Ok(200),
            Ok(200),
            Ok(200),
            No(403, "device_revoked"),
            No(401, "bad_credentials"),
        ],
    ),
    ("GET", "/api/v1/me", device(200)),
    // The office console's sign-in: office users with their password; technicians (the
    // revoked device is Alice's) are refused after their password is checked.
    (
        "POST",
        "/api/v1/web/session",
        [
            OFFICE_ONLY,
            OFFICE_ONLY,
            OFFICE_ONLY,
            Ok(200),
            Ok(200),
            OFFICE_ONLY,
            No(401, "bad_credentials"),
        ],
    ),
    // A device's token is no console session (tests/web_session.rs drives the cookie).
    ("GET", "/api/v1/web/session", [SIGN_IN; 7]),
    ("DELETE", "/api/v1/web/session", [SIGN_IN; 7]),
    // A push that records the diagnosis (a technician's field) on the job: its technician;
    // the former assignee's pending work is still taken (for review when needed).
    (
        "POST",
        "/api/v1/sync/push",
        [
            Ok(200),
            No(403, "forbidden_job"),
            Ok(200),
            No(403, "field_not_owned"),
            No(403, "field_not_owned"),
            SIGN_IN,
            SIGN_IN,
        ],
    ),
    ("GET", "/api/v1/sync/pull", device(200)),
    ("GET", "/api/v1/sync/events", device(200)),
    ("GET", "/api/v1/sync/snapshot", device(200)),
    // A photo's bytes on the job: readers of its current jobs and the office.
    (
        "GET",
        "/api/v1/blobs/{sha256}",
        [
            Ok(200),
            No(403, "forbidden_blob"),
            No(403, "forbidden_blob"),
            Ok(200),
            Ok(200),
            SIGN_IN,
            SIGN_IN,
        ],
    ),
    // Content-addressed bytes, checked by hash: any signed-in device may send them.
    ("HEAD", "/api/v1/blobs/{sha256}", device(200)),
    ("PATCH", "/api/v1/blobs/{sha256}", device(204)),
    ("POST", "/api/v1/blobs/{sha256}/finish", device(200)),
    // Technicians read the KPIs of their own jobs; the office those of every job.
    ("GET", "/api/v1/kpis", device(200)),
    ("GET", "/api/v1/users", office(200)),
    ("POST", "/api/v1/users", office(201)),
    ("GET", "/api/v1/devices", office(200)),
    ("GET", "/api/v1/customers", office(200)),
    ("POST", "/api/v1/customers", office(201)),
    ("PATCH", "/api/v1/customers/{id}", office(200)),
    ("GET", "/api/v1/assets", office(200)),
    ("POST", "/api/v1/assets", office(201)),
    ("PATCH", "/api/v1/assets/{id}", office(200)),
    // Technicians list their own jobs.
    ("GET", "/api/v1/work-orders", device(200)),
    ("POST", "/api/v1/work-orders", office(201)),
    ("POST", "/api/v1/work-orders/import", office(201)),
    ("GET", "/api/v1/work-orders/{id}", JOB_READERS),
    ("PATCH", "/api/v1/work-orders/{id}", office(200)),
    ("POST", "/api/v1/work-orders/{id}/assign", office(200)),
    ("POST", "/api/v1/work-orders/{id}/reschedule", office(200)),
    ("POST", "/api/v1/work-orders/{id}/cancel", office(200)),
    ("POST", "/api/v1/work-orders/{id}/reopen", office(200)),
    ("GET", "/api/v1/work-orders/{id}/suggestions", office(200)),
    ("GET", "/api/v1/dispatch/board", office(200)),
    // The closed loop is the office's. A call on a callback that does not exist passes the
    // door and meets the rule (tests/closed_loop.rs records real ones).
    ("GET", "/api/v1/callbacks", office(200)),
    (
        "POST",
        "/api/v1/callbacks/{id}/calls",
        [
            OFFICE_ONLY,
            OFFICE_ONLY,
            OFFICE_ONLY,
            No(404, "unknown_callback"),
            No(404, "unknown_callback"),
            SIGN_IN,
            SIGN_IN,
        ],
    ),
    ("GET", "/api/v1/complaints", office(200)),
    ("POST", "/api/v1/work-orders/{id}/complaints", office(201)),
    ("GET", "/api/v1/complaints/{id}", office(200)),
    ("PATCH", "/api/v1/complaints/{id}", office(200)),
    ("POST", "/api/v1/complaints/{id}/resolve", office(200)),
    ("GET", "/api/v1/conflicts", office(200)),
    ("POST", "/api/v1/conflicts/{id}/resolve", office(200)),
    // Quality review is the office's. The job here is not completed: the office's review
    // passes the door and meets the rule (tests/quality.rs stores real ones).
    ("GET", "/api/v1/quality/queue", office(200)),
    (
        "GET",
        "/api/v1/work-orders/{id}/quality-reviews",
        office(200),
    ),
    (
        "POST",
        "/api/v1/work-orders/{id}/quality-reviews",
        [
            OFFICE_ONLY,
            OFFICE_ONLY,
            OFFICE_ONLY,
            No(409, "not_completed"),
            No(409, "not_completed"),
            SIGN_IN,
            SIGN_IN,
        ],
    ),
];

/// Cells of the push matrix that wait for the engine's push authorisation to be hardened:
/// (op, caller). Each is asserted to the intended rule once it is removed from here.
const PENDING_ENGINE_FIX: &[(&str, Caller)] = &[];

struct Cast {
    alice: User,
    bob: User,
    erin: User,
    dana: User,
    ada: User,
}

fn cast(w: &World) -> Cast {
    let add = |username: &str, role| {
        w.store
            .create_user(&NewUser {
                username: username.into(),
                name: username.into(),
                role,
                password: Password(common::PASSWORD.into()),
                skills: vec![],
                phone: None,
            })
            .unwrap()
    };
    Cast {
        alice: w.alice.clone(),
        bob: w.bob.clone(),
        erin: add("erin", Role::Technician),
        dana: w.dana.clone(),
        ada: add("ada", Role::Admin),
    }
}

impl Cast {
    fn user(&self, caller: Caller) -> &User {
        match caller {
            Caller::Owner | Caller::Revoked | Caller::Anonymous => &self.alice,
            Caller::Other => &self.bob,
            Caller::Former => &self.erin,
            Caller::Dispatcher => &self.dana,
            Caller::Admin => &self.ada,
        }
    }
}

/// A device of `caller` (a revoked one for `Revoked`), signed in afresh.
fn device_of(w: &World, cast: &Cast, caller: Caller) -> Device {
    let dev = w.device(cast.user(caller));
    if caller == Caller::Revoked {
        w.store.revoke_device(dev.id()).unwrap();
    }
    dev
}

/// A job assigned to Erin, then moved to Alice.
fn moved_job(w: &World, cast: &Cast) -> WorkOrder {
    let job = w.job(JobType::Repair, Some(&cast.erin));
    w.store
        .assign_work_order(job.id, Some(cast.alice.id))
        .unwrap()
}

/// The router on loopback, with the peer address, and limits no test run reaches.
async fn serve(w: &World) -> String {
    let blobs = Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap());
    let roomy = Bucket::new(100_000, 1);
    let state =
        AppState::new(w.store.clone(), blobs, w.clock.clone()).with_login_limits(LoginLimits {
            user_address: roomy,
            user: roomy,
            address: roomy,
            hash_concurrency: None,
        });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn every_endpoint_answers_each_caller_as_decided<B: TestBackend>() {
    let w = world_on::<B>();
    let cast = cast(&w);
    // Store calls block (PostgreSQL's backend drives its own runtime), so the test runs
    // outside the server's runtime and enters it for each request.
    let rt = Runtime::new().unwrap();
    let http = Http {
        base: rt.block_on(serve(&w)),
        client: reqwest::Client::new(),
    };
    {
        // The matrix covers the route table exactly, and the served document is that table.
        let served: BTreeSet<(String, String)> = ENDPOINTS
            .iter()
            .map(|e| (e.method.to_string(), e.path.to_owned()))
            .collect();
        let decided: BTreeSet<(String, String)> = MATRIX
            .iter()
            .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        let undecided: Vec<_> = served.difference(&decided).collect();
        assert!(
            undecided.is_empty(),
            "routes with no row in the authorisation matrix (decide who may call them): {undecided:?}"
        );
        let gone: Vec<_> = decided.difference(&served).collect();
        assert!(
            gone.is_empty(),
            "matrix rows for routes the router no longer serves: {gone:?}"
        );
        let (_, doc) = rt.block_on(http.send(Call {
            method: Method::GET,
            path: "/api/v1/openapi.json".into(),
            token: None,
            headers: vec![],
            body: None,
        }));
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(|m| (m.to_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            documented, served,
            "the OpenAPI document lists what the router serves"
        );

        let shared = shared(&rt, &w, &http, &cast);
        let mut wrong = Vec::new();
        for (method, route, cells) in MATRIX {
            for (caller, expect) in CALLERS.iter().zip(cells) {
                let call = request_for(&rt, &w, &http, &cast, &shared, method, route, *caller);
                let (status, body) = rt.block_on(http.send(call));
                let fine = match expect {
                    Ok(s) => status == *s,
                    // HEAD answers have no body to carry a code.
                    No(s, _) if *method == "HEAD" => status == *s,
                    No(s, code) => {
                        status == *s
                            && body["code"] == *code
                            && body["message"].as_str().is_some_and(|m| m.len() > 10)
                    }
                };
                if !fine {
                    wrong.push(format!(
                        "{method} {route} as {caller:?}: expected {expect:?}, got {status} {body}"
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "cells that disagree:\n{}",
            wrong.join("\n")
        );
    }
}

/// Makes a case's op as `device` on `job`.
type BuildOp = Box<dyn Fn(&mut Device, WorkOrderId, &PushFixture) -> Op>;

/// Every op kind on every entity, as a push over HTTP.
struct OpCase {
    name: String,
    build: BuildOp,
    /// Owner, other technician, dispatcher.
    expect: [Expect; 3],
}

/// What an op may refer to on its job, made afresh for every cell.
struct PushFixture {
    part_row: Value,
    part_id: String,
    conflict_id: String,
}

/// A device row of `kind` on `job` naming a blob of its own (nobody holds its bytes); for
/// a kind devices do not insert, a bare row naming the job.
fn row_of(kind: EntityKind, job: WorkOrderId) -> (String, Value) {
    if !common::DEVICE_ROW_KINDS.contains(&kind) {
        let id = uuid::Uuid::now_v7().to_string();
        let row = json!({"id": id, "work_order_id": job});
        return (id, row);
    }
    common::device_row(kind, job, &sha256_hex(uuid::Uuid::now_v7().as_bytes()))
}

const ENTITIES: [EntityKind; 9] = [
    EntityKind::WorkOrder,
    EntityKind::ChecklistAnswer,
    EntityKind::PartUsed,
    EntityKind::TimeEntry,
    EntityKind::Note,
    EntityKind::Photo,
    EntityKind::Signature,
    EntityKind::Feedback,
    EntityKind::Conflict,
];

fn op_cases() -> Vec<OpCase> {
    const TECH: [Expect; 3] = [
        Ok(200),
        No(403, "forbidden_job"),
        No(403, "field_not_owned"),
    ];
    let mut cases = vec![
        OpCase {
            name: "set work_order.diagnosis".into(),
            build: Box::new(|d, job, _| d.set(job, "diagnosis", json!("Seized fan"), None)),
            expect: TECH,
        },
        OpCase {
            name: "set work_order.priority".into(),
            build: Box::new(|d, job, _| d.set(job, "priority", json!("urgent"), None)),
            expect: [
                No(403, "field_not_owned"),
                No(403, "forbidden_job"),
                Ok(200),
            ],
        },
        OpCase {
            name: "transition work_order start_travel".into(),
            build: Box::new(|d, job, _| {
                common::step(
                    d,
                    job,
                    StatusAction::StartTravel,
                    WorkOrderStatus::Assigned,
                    WorkOrderStatus::EnRoute,
                )
            }),
            expect: [
                Ok(200),
                No(403, "forbidden_job"),
                No(403, "step_not_allowed"),
            ],
        },
        OpCase {
            name: "set checklist_answer.value".into(),
            build: Box::new(|d, job, _| {
                let template = onsite_model::checklist::template_for(JobType::Repair);
                let item = template
                    .items
                    .iter()
                    .find(|i| matches!(i.kind, onsite_model::ItemKind::Check))
                    .expect("a check item");
                let id = onsite_model::ops::checklist_answer_id(job, &item.key);
                d.op(
                    job,
                    EntityKind::ChecklistAnswer,
                    &id,
                    Change::Set {
                        field: "value".into(),
                        old: json!(null),
                        new: json!({"type": "check", "value": true}),
                    },
                    None,
                )
            }),
            expect: TECH,
        },
        OpCase {
            name: "delete part_used".into(),
            build: Box::new(|d, job, fx| {
                d.op(
                    job,
                    EntityKind::PartUsed,
                    &fx.part_id,
                    Change::Delete {
                        old: fx.part_row.clone(),
                    },
                    None,
                )
            }),
            expect: TECH,
        },
        OpCase {
            name: "resolve_conflict conflict".into(),
            build: Box::new(|d, job, fx| {
                d.op(
                    job,
                    EntityKind::Conflict,
                    &fx.conflict_id,
                    Change::ResolveConflict {
                        conflict_id: fx.conflict_id.parse().unwrap(),
                        keep: json!("Capacitor failed"),
                    },
                    None,
                )
            }),
            expect: [
                No(403, "field_not_owned"),
                No(403, "forbidden_job"),
                Ok(200),
            ],
        },
    ];
    for kind in common::DEVICE_ROW_KINDS {
        cases.push(OpCase {
            name: format!("insert {kind}"),
            build: Box::new(move |d, job, _| {
                let (id, row) = row_of(kind, job);
                d.op(job, kind, &id, Change::Insert { row }, None)
            }),
            // Notes are anyone's: the office adds them to the timeline too.
            expect: if kind == EntityKind::Note {
                [Ok(200), No(403, "forbidden_job"), Ok(200)]
            } else {
                TECH
            },
        });
    }
    // The shapes no device sends: refused for what they are (422), to anyone who may write
    // to the job; a stranger learns only that the job is not theirs.
    const SHAPE: [Expect; 3] = [
        No(422, "unsupported_op"),
        No(403, "forbidden_job"),
        No(422, "unsupported_op"),
    ];
    for kind in ENTITIES {
        if kind != EntityKind::WorkOrder && kind != EntityKind::ChecklistAnswer {
            let field = if kind == EntityKind::Conflict {
                "resolution"
            } else {
                "body"
            };
            cases.push(OpCase {
                name: format!("set {kind}.{field}"),
                build: Box::new(move |d, job, _| {
                    let id = uuid::Uuid::now_v7().to_string();
                    d.op(
                        job,
                        kind,
                        &id,
                        Change::Set {
                            field: field.into(),
                            old: json!(null),
                            new: json!("x"),
                        },
                        None,
                    )
                }),
                expect: SHAPE,
            });
        }
        if !common::DEVICE_ROW_KINDS.contains(&kind) {
            for insert in [true, false] {
                cases.push(OpCase {
                    name: format!("{} {kind}", if insert { "insert" } else { "delete" }),
                    build: Box::new(move |d, job, _| {
                        let (id, row) = row_of(kind, job);
                        let id = if kind == EntityKind::WorkOrder {
                            job.to_string()
                        } else {
                            id
                        };
                        let change = if insert {
                            Change::Insert { row }
                        } else {
                            Change::Delete { old: row }
                        };
                        d.op(job, kind, &id, change, None)
                    }),
                    expect: SHAPE,
                });
            }
        }
        if kind != EntityKind::WorkOrder {
            cases.push(OpCase {
                name: format!("transition {kind}"),
                build: Box::new(move |d, job, _| {
                    let mut op = common::step(
                        d,
                        job,
                        StatusAction::StartTravel,
                        WorkOrderStatus::Assigned,
                        WorkOrderStatus::EnRoute,
                    );
                    op.entity = kind;
                    op.entity_id = uuid::Uuid::now_v7().to_string();
                    op
                }),
                expect: [
                    No(422, "invalid_op"),
                    No(403, "forbidden_job"),
                    No(422, "invalid_op"),
                ],
            });
        }
    }
    cases
}

fn every_op_kind_on_every_entity_is_authorised_by_job_and_role<B: TestBackend>() {
    let w = world_on::<B>();
    let cast = cast(&w);
    let rt = Runtime::new().unwrap();
    let http = Http {
        base: rt.block_on(serve(&w)),
        client: reqwest::Client::new(),
    };
    {
        let mut wrong = Vec::new();
        let mut pending_seen = Vec::new();
        for case in op_cases() {
            for (i, caller) in [Caller::Owner, Caller::Other, Caller::Dispatcher]
                .into_iter()
                .enumerate()
            {
                let job = w.job(JobType::Repair, Some(&cast.alice));
                let mut owner = w.device(&cast.alice);
                let (part_id, part_row) = row_of(EntityKind::PartUsed, job.id);
                let op = owner.op(
                    job.id,
                    EntityKind::PartUsed,
                    &part_id,
                    Change::Insert {
                        row: part_row.clone(),
                    },
                    None,
                );
                w.store
                    .apply_push(&owner.principal, &owner.request(vec![op]))
                    .unwrap();
                let fx = PushFixture {
                    part_row,
                    part_id,
                    conflict_id: conflict_on(&w, &cast, job.id),
                };
                let mut dev = w.device(cast.user(caller));
                let op = (case.build)(&mut dev, job.id, &fx);
                let body = serde_json::to_vec(&dev.request(vec![op])).unwrap();
                let (status, answer) = rt.block_on(http.send(Call {
                    method: Method::POST,
                    path: "/api/v1/sync/push".into(),
                    token: Some(dev.token.clone()),
                    headers: vec![("content-type", "application/json".into())],
                    body: Some(body),
                }));
                let expect = case.expect[i];
                let fine = match expect {
                    Ok(s) => {
                        status == s
                            && !matches!(
                                answer["outcomes"][0]["result"].as_str(),
                                Some("rejected") | None
                            )
                    }
                    No(s, code) => status == s && answer["code"] == code,
                };
                let pending = PENDING_ENGINE_FIX.contains(&(case.name.as_str(), caller));
                match (fine, pending) {
                    (true, true) => pending_seen.push(format!("{} as {caller:?}", case.name)),
                    (false, false) => wrong.push(format!(
                        "{} as {caller:?}: expected {expect:?}, got {status} {answer}",
                        case.name
                    )),
                    _ => {}
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "cells that disagree:\n{}",
            wrong.join("\n")
        );
        assert!(
            pending_seen.is_empty(),
            "these cells now follow the rule; take them out of PENDING_ENGINE_FIX:\n{}",
            pending_seen.join("\n")
        );
    }
}

for_each_backend!(
    every_endpoint_answers_each_caller_as_decided,
    every_op_kind_on_every_entity_is_authorised_by_job_and_role,
);
