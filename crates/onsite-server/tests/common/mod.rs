//! Shared set-up for the server's tests: a store on a backend in a temp dir, users, a job and
//! op builders. The story tests run once per backend (`TestBackend`); a new backend adds an
//! implementation here and a line to `for_each_backend!`.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use onsite_model::time::parse_ts;
use onsite_model::wire::{LoginRequest, PROTOCOL_VERSION, PushRequest};
use onsite_model::{
    Asset, Change, Customer, DeviceId, EntityKind, FixedClock, Hlc, JobType, Op, Priority, Role,
    SCHEMA_VERSION, SystemIds, TxId, User, WorkOrder, WorkOrderId,
};
use onsite_server::store::{
    NewAsset, NewCustomer, NewUser, NewWorkOrder, Password, PasswordCost, Principal,
};
use onsite_server::{PostgresStore, SqliteStore, Store, StoreOptions};
use serde_json::json;

/// A backend the story tests run on.
pub trait TestBackend {
    fn open(dir: &Path, clock: Arc<FixedClock>) -> Arc<dyn Store>;
}

/// The embedded SQLite backend in a temp folder.
pub struct Sqlite;

impl TestBackend for Sqlite {
    fn open(dir: &Path, clock: Arc<FixedClock>) -> Arc<dyn Store> {
        Arc::new(
            SqliteStore::open(
                dir,
                clock,
                Arc::new(SystemIds),
                StoreOptions {
                    password_cost: PasswordCost::Fast,
                    loop_policy: onsite_model::closed_loop::LoopPolicy::DEFAULT,
                },
            )
            .unwrap(),
        )
    }
}

/// PostgreSQL at `ONSITE_TEST_POSTGRES_URL` (set by `scripts/with-postgres`): every store
/// gets a database of its own, so tests run in parallel.
pub struct Postgres;

impl TestBackend for Postgres {
    fn open(_dir: &Path, clock: Arc<FixedClock>) -> Arc<dyn Store> {
        Arc::new(
            PostgresStore::connect(
                &fresh_postgres_database(),
                clock,
                Arc::new(SystemIds),
                StoreOptions {
                    password_cost: PasswordCost::Fast,
                    loop_policy: onsite_model::closed_loop::LoopPolicy::DEFAULT,
                },
            )
            .unwrap(),
        )
    }
}

/// The cluster's URL, or `None` after saying that `test` did not run. Panics instead when
/// `ONSITE_REQUIRE_POSTGRES=1`, so a run that must cover PostgreSQL cannot skip it.
pub fn postgres_url(test: &str) -> Option<String> {
    use std::io::Write;
    if let Some(url) = std::env::var("ONSITE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Some(url);
    }
    if std::env::var("ONSITE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!(
            "{test}: ONSITE_REQUIRE_POSTGRES=1 but ONSITE_TEST_POSTGRES_URL is not set; run the tests under scripts/with-postgres"
        );
    }
    // Straight to stderr, past the test harness's capture, so the skip is visible.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: did not run on PostgreSQL (ONSITE_TEST_POSTGRES_URL is not set; run under scripts/with-postgres)"
    );
    None
}

/// Creates an empty database `t_<uuid>` on the cluster and returns its URL.
pub fn fresh_postgres_database() -> String {
    let url = postgres_url("a PostgreSQL store").expect("ONSITE_TEST_POSTGRES_URL is not set");
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connecting to ONSITE_TEST_POSTGRES_URL: {e}"));
        let conn = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        drop(client);
        let _ = conn.await;
    });
    with_database(&url, &name)
}

/// `url` naming database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base
        .find("://")
        .map(|i| i + 3)
        .expect("ONSITE_TEST_POSTGRES_URL is a postgres:// URL");
    let path_start = base[host_start..]
        .find('/')
        .map_or(base.len(), |i| host_start + i);
    format!("{}/{name}{query}", &base[..path_start])
}

/// Runs each named generic test `fn name<B: TestBackend>()` once per backend, as
/// `<backend>::name`. The PostgreSQL ones run when `ONSITE_TEST_POSTGRES_URL` is set.
#[macro_export]
macro_rules! for_each_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                super::$test::<super::common::Sqlite>();
            })*
        }
        mod postgres {
            $(#[test]
            fn $test() {
                if super::common::postgres_url(concat!("postgres::", stringify!($test))).is_none() {
                    return;
                }
                super::$test::<super::common::Postgres>();
            })*
        }
    };
}
use serde_json::Value;
use tempfile::TempDir;

pub const PASSWORD: &str = "correct-horse";

pub struct World {
    pub _dir: TempDir,
    pub store: Arc<dyn Store>,
    pub clock: Arc<FixedClock>,
    pub alice: User,
    pub bob: User,
    pub dana: User,
    pub customer: Customer,
    pub asset: Asset,
}

/// A world on the default backend.
pub fn world() -> World {
    world_on::<Sqlite>()
}

pub fn world_on<B: TestBackend>() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(parse_ts("2026-11-22T08:00:00Z").unwrap()));
    let store = B::open(dir.path(), clock.clone());
    let user = |username: &str, name: &str, role| {
        store
            .create_user(&NewUser {
                username: username.into(),
                name: name.into(),
                role,
                password: Password(PASSWORD.into()),
                skills: vec![],
                phone: None,
            })
            .unwrap()
    };
    let alice = user("alice", "Alice Chen", Role::Technician);
    let bob = user("bob", "Bob Martin", Role::Technician);
    let dana = user("dana", "Dana Okafor", Role::Dispatcher);
    let (customer, asset) = customer_and_asset(store.as_ref());
    World {
        _dir: dir,
        store,
        clock,
        alice,
        bob,
        dana,
        customer,
        asset,
    }
}

impl World {
    pub fn job(&self, job_type: JobType, assignee: Option<&User>) -> WorkOrder {
        self.store
            .create_work_orders(&[NewWorkOrder {
                customer_id: self.customer.id,
                asset_id: Some(self.asset.id),
                job_type,
                priority: Priority::High,
                problem: "Blows warm air".into(),
                reported_at: None,
                respond_by: None,
                resolve_by: None,
                appointment_start: None,
                appointment_end: None,
                assignee_id: assignee.map(|u| u.id),
                revisit_of: None,
            }])
            .unwrap()
            .pop()
            .unwrap()
    }

    /// Signs `user` in on a new device.
    pub fn device(&self, user: &User) -> Device {
        let (principal, token) = sign_in(self.store.as_ref(), user, DeviceId(uuid::Uuid::now_v7()));
        Device {
            principal,
            token,
            seq: 0,
            hlc_ms: 1_795_000_000_000,
        }
    }
}

pub struct Device {
    pub principal: Principal,
    pub token: String,
    pub seq: u64,
    pub hlc_ms: u64,
}

impl Device {
    pub fn id(&self) -> DeviceId {
        self.principal.device_id
    }

    /// The next op of this device's log.
    pub fn op(
        &mut self,
        wo: WorkOrderId,
        entity: EntityKind,
        entity_id: &str,
        change: Change,
        base: Option<u64>,
    ) -> Op {
        self.seq += 1;
        self.hlc_ms += 1000;
        Op {
            device_id: self.id(),
            device_seq: self.seq,
            tx_id: TxId(uuid::Uuid::now_v7()),
            entity,
            entity_id: entity_id.into(),
            work_order_id: wo,
            change,
            base_version: base,
            hlc: Hlc::new(self.hlc_ms, 0),
            recorded_at: parse_ts("2026-11-22T09:00:00Z").unwrap(),
            schema_version: SCHEMA_VERSION,
        }
    }

    pub fn set(&mut self, wo: WorkOrderId, field: &str, new: Value, base: Option<u64>) -> Op {
        self.op(
            wo,
            EntityKind::WorkOrder,
            &wo.to_string(),
            Change::Set {
                field: field.into(),
                old: Value::Null,
                new,
            },
            base,
        )
    }

    pub fn request(&self, ops: Vec<Op>) -> PushRequest {
        PushRequest {
            protocol: PROTOCOL_VERSION,
            device_id: self.id(),
            ops,
        }
    }
}

/// Pushes `ops` from `dev` and asserts every one was applied.
pub fn push_applied(w: &World, dev: &Device, ops: Vec<Op>) {
    let res = w
        .store
        .apply_push(&dev.principal, &dev.request(ops))
        .unwrap();
    assert!(
        res.outcomes
            .iter()
            .all(|o| matches!(o.result, onsite_model::wire::OpResult::Applied { .. })),
        "{:?}",
        res.outcomes
    );
}

pub fn step(
    dev: &mut Device,
    wo: WorkOrderId,
    action: onsite_model::StatusAction,
    from: onsite_model::WorkOrderStatus,
    to: onsite_model::WorkOrderStatus,
) -> Op {
    dev.op(
        wo,
        EntityKind::WorkOrder,
        &wo.to_string(),
        Change::Transition {
            event_id: onsite_model::StatusEventId(uuid::Uuid::now_v7()),
            action,
            from,
            to,
            at: parse_ts("2026-11-22T09:30:00Z").unwrap(),
            reason: None,
            evidence: vec![],
            clock_correction_ms: None,
        },
        None,
    )
}

pub fn note_row(wo: WorkOrderId, body: &str) -> (String, Value) {
    let id = uuid::Uuid::now_v7().to_string();
    let row = serde_json::json!({
        "id": id, "work_order_id": wo, "body": body, "author_id": null, "created_at": "2026-11-22T09:10:00.000Z"
    });
    (id, row)
}

/// The customer and the air conditioner every story's jobs are for.
pub fn customer_and_asset(store: &dyn Store) -> (Customer, Asset) {
    let customer = store
        .create_customer(&NewCustomer {
            name: "Harbour View Dental".into(),
            phone: Some("+1 415 555 0101".into()),
            address: Some("220 Embarcadero".into()),
            lat: Some(37.79),
            lon: Some(-122.39),
            notes: None,
        })
        .unwrap();
    let asset = store
        .create_asset(&NewAsset {
            customer_id: customer.id,
            model: "Daikin FTXM35".into(),
            serial: Some("DK35-000123".into()),
            installed_on: None,
            warranty_end: None,
        })
        .unwrap();
    (customer, asset)
}

/// Signs `user` in on `device_id`: who the device is and its token.
pub fn sign_in(store: &dyn Store, user: &User, device_id: DeviceId) -> (Principal, String) {
    let res = store
        .login(&LoginRequest {
            username: user.username.clone(),
            password: PASSWORD.into(),
            device_id,
            device_name: format!("{}'s tablet", user.username),
        })
        .unwrap();
    (store.authenticate(&res.token).unwrap(), res.token)
}

/// The base URL (`http://host:port`) a just-spawned `onsite-server serve` (stdout piped)
/// listens on, read from the first line it prints.
pub fn listening_url(child: &mut std::process::Child) -> String {
    use std::io::{BufRead, BufReader};
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the server's stdout is piped"))
        .read_line(&mut line)
        .expect("the server's first line");
    line.trim()
        .strip_prefix("onsite-server listening on ")
        .unwrap_or_else(|| panic!("the server said {line:?}"))
        .to_owned()
}

/// A sha256 (of "abc") that rows may name where the bytes do not matter.
pub const HASH_A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/// The row kinds a device inserts.
pub const DEVICE_ROW_KINDS: [EntityKind; 6] = [
    EntityKind::PartUsed,
    EntityKind::TimeEntry,
    EntityKind::Note,
    EntityKind::Photo,
    EntityKind::Signature,
    EntityKind::Feedback,
];

/// A valid row of every kind a device inserts, on `job`, naming blob `sha` (a signature's
/// report names [`HASH_A`]).
pub fn device_row(kind: EntityKind, job: WorkOrderId, sha: &str) -> (String, Value) {
    let id = uuid::Uuid::now_v7().to_string();
    let at = "2026-11-22T07:30:00.000Z";
    let row = match kind {
        EntityKind::PartUsed => json!({"id": id, "work_order_id": job, "part_no": "HX-3",
            "description": "Gasket", "quantity": 1.0, "created_at": at}),
        EntityKind::TimeEntry => json!({"id": id, "work_order_id": job, "kind": "work",
            "started_at": at, "ended_at": at}),
        EntityKind::Note => json!({"id": id, "work_order_id": job, "body": "Fan replaced",
            "author_id": null, "created_at": at}),
        EntityKind::Photo => json!({"id": id, "work_order_id": job, "sha256": sha,
            "kind": "before", "size_bytes": 10, "created_at": at}),
        EntityKind::Signature => json!({"id": id, "work_order_id": job, "signer_name": "Li Na",
            "signed_at": at, "strokes": [[{"x": 0.0, "y": 0.0, "t": 0}, {"x": 5.0, "y": 5.0, "t": 9}]],
            "png_sha256": sha, "report_sha256": HASH_A}),
        EntityKind::Feedback => json!({"id": id, "work_order_id": job, "rating": 5,
            "created_at": at}),
        other => panic!("{other} rows are not inserted"),
    };
    (id, row)
}

/// What a technician's visit records, for [`work_to_completion`].
#[derive(Default)]
pub struct Visit {
    /// The conduct item answered "no" (with a reason), if any.
    pub no: Option<&'static str>,
    /// Stars and NPS, if the customer rated.
    pub rating: Option<(u8, u8)>,
    /// The customer's comment with the rating.
    pub comment: Option<&'static str>,
}

/// Works `job` from travel to completion in one push from `dev` (the steps at 09:30): every
/// checklist item answered yes, its first choice or "ok", except `visit.no` answered "no"
/// with a reason; the rating, if any, recorded at 09:40.
pub fn work_to_completion(w: &World, dev: &mut Device, job: &WorkOrder, visit: Visit) {
    let ops = visit_ops(dev, job, &visit);
    push_applied(w, dev, ops);
}

/// The ops of [`work_to_completion`], not pushed.
pub fn visit_ops(dev: &mut Device, job: &WorkOrder, visit: &Visit) -> Vec<Op> {
    use onsite_model::{StatusAction as A, WorkOrderStatus as S};
    let mut ops = vec![
        step(dev, job.id, A::StartTravel, S::Assigned, S::EnRoute),
        step(dev, job.id, A::Arrive, S::EnRoute, S::OnSite),
        step(dev, job.id, A::StartWork, S::OnSite, S::InProgress),
    ];
    for item in &onsite_model::template_for(job.job_type).items {
        let value = match &item.kind {
            _ if Some(item.key.as_str()) == visit.no => {
                json!({"type": "no", "value": "Customer asked us not to"})
            }
            onsite_model::ItemKind::Choice { options } => {
                json!({"type": "choice", "value": options[0].key})
            }
            onsite_model::ItemKind::Text => json!({"type": "text", "value": "ok"}),
            _ => json!({"type": "check", "value": true}),
        };
        let id = onsite_model::ops::checklist_answer_id(job.id, &item.key);
        let change = Change::Set {
            field: "value".into(),
            old: json!(null),
            new: value,
        };
        ops.push(dev.op(job.id, EntityKind::ChecklistAnswer, &id, change, None));
    }
    if let Some((stars, nps)) = visit.rating {
        let row = json!({"id": uuid::Uuid::now_v7(), "work_order_id": job.id, "rating": stars,
            "nps": nps, "comment": visit.comment, "created_at": "2026-11-22T09:40:00.000Z"});
        let id = row["id"].as_str().unwrap().to_owned();
        ops.push(dev.op(
            job.id,
            EntityKind::Feedback,
            &id,
            Change::Insert { row },
            None,
        ));
    }
    ops.push(step(dev, job.id, A::Complete, S::InProgress, S::Completed));
    ops
}
