//! The PostgreSQL backend beyond the shared story (which `tests/store.rs` runs on it too): the
//! binary end to end, two server instances on one database, the server's blocking pool, and
//! the same state as SQLite after the same story. Each test needs `ONSITE_TEST_POSTGRES_URL`
//! (`scripts/with-postgres`) and says so when it is not set.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use anyhow::Context;
use common::{
    Device, PASSWORD, customer_and_asset, fresh_postgres_database, note_row, postgres_url,
};
use onsite_model::time::{Timestamp, parse_ts};
use onsite_model::wire::{OpResult, PROTOCOL_VERSION, PushRequest};
use onsite_model::{
    Change, DeviceId, EntityKind, FixedClock, Hlc, IdSource, JobType, Op, Priority, Role,
    SCHEMA_VERSION, SeqIds, StatusAction as A, StatusEventId, SystemIds, TxId, User, WorkOrderId,
    WorkOrderStatus as S,
};
use onsite_server::api::{AppState, router};
use onsite_server::store::{
    NewUser, NewWorkOrder, Password, PasswordCost, Principal, WorkOrderFilter,
};
use onsite_server::{PostgresStore, SqliteStore, Store, StoreOptions};
use serde_json::{Value, json};

const FAST: StoreOptions = StoreOptions {
    password_cost: PasswordCost::Fast,
    loop_policy: onsite_model::closed_loop::LoopPolicy::DEFAULT,
};

fn t(s: &str) -> Timestamp {
    parse_ts(s).unwrap()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(t("2026-11-22T08:00:00Z")))
}

fn add_user(store: &dyn Store, username: &str, role: Role) -> User {
    store
        .create_user(&NewUser {
            username: username.into(),
            name: username.to_uppercase(),
            role,
            password: Password(PASSWORD.into()),
            skills: vec![],
            phone: None,
        })
        .unwrap()
}

/// The signed-in device, without its token.
fn sign_in(store: &dyn Store, user: &User, device_id: DeviceId) -> Principal {
    common::sign_in(store, user, device_id).0
}

fn new_job(
    customer: &onsite_model::Customer,
    asset: &onsite_model::Asset,
    assignee: &User,
    appointment: Option<&str>,
) -> NewWorkOrder {
    NewWorkOrder {
        customer_id: customer.id,
        asset_id: Some(asset.id),
        job_type: JobType::Repair,
        priority: Priority::High,
        problem: "Blows warm air".into(),
        reported_at: None,
        respond_by: None,
        resolve_by: None,
        appointment_start: appointment.map(t),
        appointment_end: None,
        assignee_id: Some(assignee.id),
        revisit_of: None,
    }
}

#[test]
fn two_instances_on_one_database_hand_out_unique_gap_free_seqs() {
    if postgres_url("two_instances_on_one_database_hand_out_unique_gap_free_seqs").is_none() {
        return;
    }
    let url = fresh_postgres_database();
    let clock = clock();
    let open = || -> Arc<dyn Store> {
        Arc::new(PostgresStore::connect(&url, clock.clone(), Arc::new(SystemIds), FAST).unwrap())
    };
    let (first, second) = (open(), open());
    let alice = add_user(first.as_ref(), "alice", Role::Technician);
    let (customer, asset) = customer_and_asset(first.as_ref());
    let job = first
        .create_work_orders(&[new_job(&customer, &asset, &alice, None)])
        .unwrap()
        .remove(0);
    const PUSHES: usize = 30;
    let start = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [first.clone(), second.clone()]
        .into_iter()
        .map(|store| {
            let principal = sign_in(store.as_ref(), &alice, DeviceId(uuid::Uuid::now_v7()));
            let start = start.clone();
            std::thread::spawn(move || {
                let mut dev = Device {
                    principal,
                    token: String::new(),
                    seq: 0,
                    hlc_ms: 1_795_000_000_000,
                };
                start.wait();
                let mut seqs = Vec::new();
                for i in 0..PUSHES {
                    let (id, row) = note_row(job.id, &format!("note {i}"));
                    let op = dev.op(job.id, EntityKind::Note, &id, Change::Insert { row }, None);
                    let res = store
                        .apply_push(&dev.principal, &dev.request(vec![op]))
                        .unwrap();
                    match res.outcomes[0].result {
                        OpResult::Applied { server_seq } => seqs.push(server_seq),
                        ref other => panic!("{other:?}"),
                    }
                }
                seqs
            })
        })
        .collect();
    let mut pushed: Vec<u64> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    pushed.sort_unstable();
    assert_eq!(pushed.len(), 2 * PUSHES);
    assert!(
        pushed.windows(2).all(|w| w[1] == w[0] + 1),
        "the two instances' seqs are unique and leave no gap: {pushed:?}"
    );
    let page = second
        .pull(
            &sign_in(second.as_ref(), &alice, DeviceId(uuid::Uuid::now_v7())),
            0,
            1000,
        )
        .unwrap();
    let seqs: Vec<u64> = page.changes.iter().map(|c| c.server_seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let notes: Vec<u64> = page
        .changes
        .iter()
        .filter(|c| c.kind == onsite_model::wire::RowKind::Note)
        .map(|c| c.server_seq)
        .collect();
    assert_eq!(notes, pushed, "pull from 0 finds every note at its seq");
    assert_eq!(page.cursor, *pushed.last().unwrap());

    // A device retrying a push while its first attempt is still being applied by another
    // instance: each write sees what the one before it committed, so the op is applied once
    // and both attempts get its stored outcome.
    let principal = sign_in(first.as_ref(), &alice, DeviceId(uuid::Uuid::now_v7()));
    let mut dev = Device {
        principal: principal.clone(),
        token: String::new(),
        seq: 0,
        hlc_ms: 1_795_000_000_000,
    };
    for i in 0..10 {
        let (id, row) = note_row(job.id, &format!("retried {i}"));
        let op = dev.op(job.id, EntityKind::Note, &id, Change::Insert { row }, None);
        let req = Arc::new(dev.request(vec![op]));
        let start = Arc::new(Barrier::new(2));
        let attempts: Vec<_> = [first.clone(), second.clone()]
            .into_iter()
            .map(|store| {
                let (req, start, principal) = (req.clone(), start.clone(), principal.clone());
                std::thread::spawn(move || {
                    start.wait();
                    store.apply_push(&principal, &req)
                })
            })
            .collect();
        let outcomes: Vec<_> = attempts
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap()
                    .expect("both attempts are answered")
                    .outcomes
            })
            .collect();
        assert_eq!(outcomes[0], outcomes[1], "one outcome for one op");
    }
    let page = first.pull(&principal, 0, 1000).unwrap();
    let retried = page
        .changes
        .iter()
        .filter(|c| {
            c.row
                .as_ref()
                .is_some_and(|r| r["body"].as_str().is_some_and(|b| b.starts_with("retried")))
        })
        .count();
    assert_eq!(retried, 10, "each retried note is stored once");
}

#[test]
fn the_server_calls_a_postgres_store_from_its_blocking_pool() {
    if postgres_url("the_server_calls_a_postgres_store_from_its_blocking_pool").is_none() {
        return;
    }
    // Opened on a plain thread, called from the server's runtime, dropped inside it.
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(
            &fresh_postgres_database(),
            clock.clone(),
            Arc::new(SystemIds),
            FAST,
        )
        .unwrap(),
    );
    add_user(store.as_ref(), "alice", Role::Technician);
    let blobs = Arc::new(onsite_server::blobs::FsBlobStore::open(dir.path()).unwrap());
    let app = router(AppState::new(store, blobs, clock));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        use axum::body::{Body, to_bytes};
        use tower::ServiceExt;
        let login = json!({"username": "alice", "password": PASSWORD,
            "device_id": uuid::Uuid::now_v7(), "device_name": "tablet"});
        let req = axum::http::Request::post("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(login.to_string()))
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value =
            serde_json::from_slice(&to_bytes(res.into_body(), usize::MAX).await.unwrap()).unwrap();
        let token = body["token"].as_str().unwrap().to_owned();
        let pulls = (0..8).map(|_| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let req = axum::http::Request::get("/api/v1/sync/pull?cursor=0")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap();
                app.oneshot(req).await.unwrap().status()
            })
        });
        for pull in pulls.collect::<Vec<_>>() {
            assert_eq!(pull.await.unwrap(), 200);
        }
        drop(app);
    });
}

/// Ids from a counter, so two runs of the same story write the same rows.
struct Story {
    ids: SeqIds,
    hlc_ms: u64,
}

impl Story {
    fn uuid(&self) -> uuid::Uuid {
        self.ids.new_uuid()
    }

    fn op(
        &mut self,
        dev: &mut (Principal, u64),
        wo: WorkOrderId,
        entity: EntityKind,
        id: &str,
        change: Change,
    ) -> Op {
        dev.1 += 1;
        self.hlc_ms += 1000;
        Op {
            device_id: dev.0.device_id,
            device_seq: dev.1,
            tx_id: TxId(self.uuid()),
            entity,
            entity_id: id.into(),
            work_order_id: wo,
            change,
            base_version: None,
            hlc: Hlc::new(self.hlc_ms, 0),
            recorded_at: t("2026-11-22T09:00:00Z"),
            schema_version: SCHEMA_VERSION,
        }
    }

    fn step(
        &mut self,
        dev: &mut (Principal, u64),
        wo: WorkOrderId,
        action: A,
        from: S,
        to: S,
    ) -> Op {
        let event_id = StatusEventId(self.uuid());
        let change = Change::Transition {
            event_id,
            action,
            from,
            to,
            at: t("2026-11-22T09:30:00Z"),
            reason: None,
            evidence: vec![],
            clock_correction_ms: None,
        };
        self.op(dev, wo, EntityKind::WorkOrder, &wo.to_string(), change)
    }
}

fn push(store: &dyn Store, dev: &(Principal, u64), ops: Vec<Op>) {
    let res = store
        .apply_push(
            &dev.0,
            &PushRequest {
                protocol: PROTOCOL_VERSION,
                device_id: dev.0.device_id,
                ops,
            },
        )
        .unwrap();
    for o in &res.outcomes {
        assert!(
            matches!(o.result, OpResult::Applied { .. }),
            "the story's ops apply: {o:?}"
        );
    }
}

/// The same story on any store; returns what a device and the office see afterwards.
fn story_fingerprint(store: &dyn Store) -> Value {
    let mut s = Story {
        ids: SeqIds::new(0xd0),
        hlc_ms: 1_795_000_000_000,
    };
    let alice = add_user(store, "alice", Role::Technician);
    let bob = add_user(store, "bob", Role::Technician);
    add_user(store, "dana", Role::Dispatcher);
    let (customer, asset) = customer_and_asset(store);
    let jobs = store
        .create_work_orders(&[
            new_job(&customer, &asset, &alice, Some("2026-11-22T10:00:00Z")),
            new_job(&customer, &asset, &alice, None),
            new_job(&customer, &asset, &bob, Some("2026-11-22T09:00:00Z")),
        ])
        .unwrap();
    let (j1, j2, j3) = (jobs[0].id, jobs[1].id, jobs[2].id);
    let mut a = (sign_in(store, &alice, DeviceId(s.uuid())), 0);
    let mut b = (sign_in(store, &bob, DeviceId(s.uuid())), 0);

    let note = |s: &mut Story, wo: WorkOrderId, body: &str| {
        let id = s.uuid().to_string();
        let row = json!({"id": id, "work_order_id": wo, "body": body, "author_id": null,
            "created_at": "2026-11-22T09:10:00.000Z"});
        (id, row)
    };
    let (n1, row) = note(&mut s, j1, "Gate code 4411");
    let ops = vec![
        s.op(
            &mut a,
            j1,
            EntityKind::WorkOrder,
            &j1.to_string(),
            Change::Set {
                field: "diagnosis".into(),
                old: Value::Null,
                new: json!("Seized condenser fan"),
            },
        ),
        s.op(&mut a, j1, EntityKind::Note, &n1, Change::Insert { row }),
        s.step(&mut a, j1, A::StartTravel, S::Assigned, S::EnRoute),
        s.step(&mut a, j1, A::Arrive, S::EnRoute, S::OnSite),
        s.step(&mut a, j1, A::StartWork, S::OnSite, S::InProgress),
    ];
    push(store, &a, ops);
    let (n2, row) = note(&mut s, j2, "Dog in the yard");
    let op = s.op(&mut a, j2, EntityKind::Note, &n2, Change::Insert { row });
    push(store, &a, vec![op]);
    store.assign_work_order(j2, Some(bob.id)).unwrap();
    let (n3, row) = note(&mut s, j2, "Took over from Alice");
    let ops = vec![
        s.op(&mut b, j2, EntityKind::Note, &n3, Change::Insert { row }),
        s.op(
            &mut b,
            j3,
            EntityKind::WorkOrder,
            &j3.to_string(),
            Change::Set {
                field: "diagnosis".into(),
                old: Value::Null,
                new: json!("Low refrigerant"),
            },
        ),
    ];
    push(store, &b, ops);
    store
        .office_transition(j3, A::Cancel, Some("customer called".into()))
        .unwrap();

    let pull = |p: &Principal| {
        let page = store.pull(p, 0, 1000).unwrap();
        json!({"changes": page.changes, "cursor": page.cursor, "acked": page.acked_device_seq,
            "checksum": page.checksum})
    };
    let listed: Vec<Value> = store
        .list_work_orders(&WorkOrderFilter::default())
        .unwrap()
        .iter()
        .map(|w| json!([w.number, w.id]))
        .collect();
    json!({
        "alice_snapshot": store.snapshot(&a.0).unwrap().checksum,
        "bob_snapshot": store.snapshot(&b.0).unwrap().checksum,
        "alice_pull": pull(&a.0),
        "bob_pull": pull(&b.0),
        "work_orders": listed,
        "users": store.list_users().unwrap(),
        "conflicts": store.list_conflicts(false).unwrap(),
    })
}

#[test]
fn the_same_story_leaves_the_same_state_on_sqlite_and_postgres() {
    if postgres_url("the_same_story_leaves_the_same_state_on_sqlite_and_postgres").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path(), clock(), Arc::new(SeqIds::new(1)), FAST).unwrap();
    let postgres = PostgresStore::connect(
        &fresh_postgres_database(),
        clock(),
        Arc::new(SeqIds::new(1)),
        FAST,
    )
    .unwrap();
    let on_sqlite = story_fingerprint(&sqlite);
    let on_postgres = story_fingerprint(&postgres);
    assert_eq!(
        on_sqlite["alice_snapshot"], on_postgres["alice_snapshot"],
        "state checksums"
    );
    assert_eq!(on_sqlite, on_postgres);
    assert!(
        on_sqlite["bob_pull"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "note"),
        "the story reached the technicians' views"
    );
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onsite-server"));
    c.env_remove("ONSITE_DATA")
        .env_remove("ONSITE_LISTEN")
        .env_remove("ONSITE_DATABASE")
        .env("RUST_LOG", "warn");
    c
}

/// One HTTP/1.0 request with an optional JSON body; the status and the JSON answer.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let body = body
        .map(serde_json::to_vec)
        .transpose()?
        .unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: onsite\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no end of headers")?;
    let status = head.split(' ').nth(1).context("no status")?.parse()?;
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).with_context(|| format!("not JSON: {body}"))?
    };
    Ok((status, json))
}

#[test]
fn the_binary_serves_a_postgres_store_end_to_end() -> anyhow::Result<()> {
    if postgres_url("the_binary_serves_a_postgres_store_end_to_end").is_none() {
        return Ok(());
    }
    let url = fresh_postgres_database();
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().unwrap();
    let demo = bin()
        .args(["demo", "load", "--database", &url, "--data", data])
        .output()?;
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let list = bin()
        .args(["user", "list", "--json", "--database", &url])
        .output()?;
    let users: Value = serde_json::from_slice(&list.stdout)?;
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "dana"]);
    assert!(
        !dir.path().join("onsite.db").exists(),
        "the store lives in PostgreSQL, not in the data folder"
    );

    let mut server = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            data,
            "--database",
            &url,
        ])
        .stdout(Stdio::piped())
        .spawn()?;
    let result = (|| -> anyhow::Result<()> {
        let url = common::listening_url(&mut server);
        let addr = url.trim_start_matches("http://").to_owned();
        let device_id = DeviceId(uuid::Uuid::now_v7());
        let (status, login) = http(
            &addr,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(
                &json!({"username": "alice", "password": onsite_server::demo::DEMO_PASSWORD,
                "device_id": device_id, "device_name": "tablet"}),
            ),
        )?;
        assert_eq!(status, 200, "{login}");
        let token = login["token"].as_str().unwrap();
        let (status, jobs) = http(&addr, "GET", "/api/v1/work-orders", Some(token), None)?;
        assert_eq!(status, 200, "{jobs}");
        let job: WorkOrderId = serde_json::from_value(jobs[0]["id"].clone())?;
        let op = Op {
            device_id,
            device_seq: 1,
            tx_id: TxId(uuid::Uuid::now_v7()),
            entity: EntityKind::WorkOrder,
            entity_id: job.to_string(),
            work_order_id: job,
            change: Change::Set {
                field: "diagnosis".into(),
                old: Value::Null,
                new: json!("Seized condenser fan"),
            },
            base_version: None,
            hlc: Hlc::new(1_795_000_000_000, 0),
            recorded_at: t("2026-11-22T09:00:00Z"),
            schema_version: SCHEMA_VERSION,
        };
        let req = PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id,
            ops: vec![op],
        };
        let (status, pushed) = http(
            &addr,
            "POST",
            "/api/v1/sync/push",
            Some(token),
            Some(&serde_json::to_value(&req)?),
        )?;
        assert_eq!(status, 200, "{pushed}");
        assert_eq!(pushed["outcomes"][0]["result"], "applied", "{pushed}");
        let seq = pushed["outcomes"][0]["server_seq"].clone();
        let (status, page) = http(
            &addr,
            "GET",
            "/api/v1/sync/pull?cursor=0",
            Some(token),
            None,
        )?;
        assert_eq!(status, 200, "{page}");
        let change = page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "work_order" && c["id"] == job.to_string())
            .context("the job is in the pull")?;
        assert_eq!(change["row"]["diagnosis"], "Seized condenser fan");
        assert_eq!(change["server_seq"], seq);
        assert_eq!(page["acked_device_seq"], 1);
        Ok(())
    })();
    server.kill()?;
    server.wait()?;
    result
}
