//! Moving a server: the bulk copy of every table between backends (`migrate`), verified by
//! checksums; refusing a target that holds data; blobs copied through the blob trait; the
//! copy-table list kept equal to each backend's schema; backup and restore of the embedded
//! store with a new epoch.

mod common;

use std::sync::Arc;

use common::{Device, World, note_row, step, world_on};
use onsite_model::wire::OpResult;
use onsite_model::{Change, Clock, EntityKind, FixedClock, JobType, SystemIds};
use onsite_server::admin::{self, MigrateProgress, store_checksum};
use onsite_server::blobs::{BlobState, BlobStore, FsBlobStore};
use onsite_server::store::backend::Table;
use onsite_server::store::{PasswordCost, PostgresBackend, SqliteBackend};
use onsite_server::{Error, PostgresStore, SqliteStore, Store, StoreOptions};
use serde_json::json;
use sha2::{Digest, Sha256};

const FAST: StoreOptions = StoreOptions {
    password_cost: PasswordCost::Fast,
    loop_policy: onsite_model::closed_loop::LoopPolicy::DEFAULT,
};

fn code(e: Error) -> String {
    match e {
        Error::Refused { code, .. } => code.to_owned(),
        other => panic!("expected a refusal, got {other}"),
    }
}

/// A photo's bytes in the blob folder, recorded by the store.
fn put_blob(w: &World, salt: u8) -> String {
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i as u8) ^ salt).collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    let blobs = FsBlobStore::open(w._dir.path()).unwrap();
    blobs.append(&sha, 0, &bytes).unwrap();
    blobs.finish(&sha).unwrap();
    w.store.record_blob(&sha, bytes.len() as u64).unwrap();
    sha
}

/// A day's worth of state: two of Alice's devices, one of Bob's, pushes that apply, merge
/// and conflict, a reassignment (removals), office writes and a blob.
fn story(w: &World) -> (Device, Device, Device) {
    let j1 = w.job(JobType::Repair, Some(&w.alice)).id;
    let j2 = w.job(JobType::Maintenance, Some(&w.alice)).id;
    let mut a1 = w.device(&w.alice);
    let mut a2 = w.device(&w.alice);
    let mut b = w.device(&w.bob);
    let (note, row) = note_row(j1, "Gate code 4411");
    let ops = vec![
        a1.set(j1, "diagnosis", json!("Seized condenser fan"), None),
        a1.op(j1, EntityKind::Note, &note, Change::Insert { row }, None),
    ];
    w.store.apply_push(&a1.principal, &a1.request(ops)).unwrap();
    // The same field from the other tablet, on a stale base: a conflict row.
    let op = a2.set(j1, "diagnosis", json!("Fan motor burnt out"), None);
    let r = w
        .store
        .apply_push(&a2.principal, &a2.request(vec![op]))
        .unwrap();
    assert!(
        matches!(
            r.outcomes[0].result,
            OpResult::Conflict { .. } | OpResult::Merged { .. }
        ),
        "{:?}",
        r.outcomes
    );
    w.store.assign_work_order(j2, Some(w.bob.id)).unwrap();
    let (note, row) = note_row(j2, "Took over from Alice");
    let op = b.op(j2, EntityKind::Note, &note, Change::Insert { row }, None);
    w.store
        .apply_push(&b.principal, &b.request(vec![op]))
        .unwrap();
    put_blob(w, 7);
    // A completed inspection and its quality review: office rows the copy moves too.
    let j3 = w.job(JobType::Inspection, Some(&w.alice)).id;
    use onsite_model::{StatusAction as A, WorkOrderStatus as S};
    let mut ops = vec![
        step(&mut a1, j3, A::StartTravel, S::Assigned, S::EnRoute),
        step(&mut a1, j3, A::Arrive, S::EnRoute, S::OnSite),
        step(&mut a1, j3, A::StartWork, S::OnSite, S::InProgress),
    ];
    for item in &onsite_model::template_for(JobType::Inspection).items {
        let value = match &item.kind {
            onsite_model::ItemKind::Choice { options } => {
                json!({"type": "choice", "value": options[0].key})
            }
            onsite_model::ItemKind::Text => json!({"type": "text", "value": "ok"}),
            _ => json!({"type": "check", "value": true}),
        };
        let id = onsite_model::ops::checklist_answer_id(j3, &item.key);
        let change = Change::Set {
            field: "value".into(),
            old: json!(null),
            new: value,
        };
        ops.push(a1.op(j3, EntityKind::ChecklistAnswer, &id, change, None));
    }
    ops.push(step(&mut a1, j3, A::Complete, S::InProgress, S::Completed));
    w.store.apply_push(&a1.principal, &a1.request(ops)).unwrap();
    // Dana as the office, without a device of her own (the story's device count stays).
    let office = onsite_server::store::Principal {
        user: w.dana.clone(),
        device_id: onsite_model::DeviceId(uuid::Uuid::now_v7()),
    };
    let marks = onsite_model::kpi::ConductItem::ALL
        .iter()
        .map(|i| onsite_model::quality::MarkInput {
            item: i.as_str().into(),
            mark: onsite_model::kpi::ReviewMark::Pass,
            comment: None,
        })
        .collect();
    let review = onsite_model::quality::ReviewInput {
        marks,
        comment: Some("Checked".into()),
    };
    w.store.review_work_order(&office, j3, &review).unwrap();
    (a1, a2, b)
}

/// Each device's view and where its pull stands.
fn views(store: &dyn Store, devices: &[&Device]) -> Vec<(String, u64, u64)> {
    devices
        .iter()
        .map(|d| {
            let page = store.pull(&d.principal, 0, 1000).unwrap();
            assert!(!page.has_more);
            (
                store.snapshot(&d.principal).unwrap().checksum,
                page.cursor,
                page.acked_device_seq,
            )
        })
        .collect()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        onsite_model::time::parse_ts("2026-11-22T08:00:00Z").unwrap(),
    ))
}

#[test]
fn a_copy_between_sqlite_stores_is_verified_by_checksums() {
    let w = world_on::<common::Sqlite>();
    let (a1, a2, b) = story(&w);
    let source = SqliteBackend::open(w._dir.path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = SqliteBackend::open(dir.path()).unwrap();
    let mut seen = Vec::new();
    let (from, to) =
        admin::copy_store(&source, &target, "the new store", &mut |p| seen.push(p)).unwrap();
    assert_eq!(from, to);
    assert_eq!(store_checksum(&target).unwrap(), from);
    assert_eq!(from.rows(Table::Users), 3);
    assert_eq!(from.rows(Table::Devices), 3);
    assert!(from.rows(Table::OpOutcomes) >= 4);
    assert_eq!(from.rows(Table::Blobs), 1);
    assert_eq!(from.rows(Table::QualityReviews), 1);
    assert!(seen.contains(&admin::CopyProgress::Verifying));
    drop(target);
    let copied = SqliteStore::open(dir.path(), clock(), Arc::new(SystemIds), FAST).unwrap();
    assert_eq!(copied.epoch().unwrap(), w.store.epoch().unwrap());
    assert_eq!(
        views(&copied, &[&a1, &a2, &b]),
        views(w.store.as_ref(), &[&a1, &a2, &b])
    );
}

#[test]
fn the_copy_tables_are_the_sqlite_schema() {
    let w = world_on::<common::Sqlite>();
    let c = rusqlite::Connection::open(w._dir.path().join("onsite.db")).unwrap();
    let mut tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut listed: Vec<String> = Table::ALL.iter().map(|t| t.name().to_owned()).collect();
    tables.sort();
    listed.sort();
    assert_eq!(
        tables, listed,
        "a table the copy does not know (or knows no more)"
    );
    for t in Table::ALL {
        let cols: Vec<String> = c
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{}') ORDER BY cid",
                t.name()
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let listed: Vec<&str> = t.columns().iter().map(|(n, _)| *n).collect();
        assert_eq!(cols, listed, "columns of {}", t.name());
    }
}

fn pg_columns(url: &str) -> Vec<(String, String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let conn = tokio::spawn(conn);
        let rows = client
            .query(
                "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
                 ORDER BY table_name, ordinal_position",
                &[],
            )
            .await
            .unwrap();
        drop(client);
        let _ = conn.await;
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect()
    })
}

#[test]
fn the_copy_tables_are_the_postgres_schema() {
    if common::postgres_url("the_copy_tables_are_the_postgres_schema").is_none() {
        return;
    }
    let url = common::fresh_postgres_database();
    drop(PostgresBackend::connect(&url).unwrap());
    let mut listed: Vec<(String, String, String)> = Table::ALL
        .iter()
        .flat_map(|t| {
            t.columns().iter().map(move |(c, kind)| {
                let ty = match kind {
                    onsite_server::store::backend::ColumnKind::Text => "text",
                    onsite_server::store::backend::ColumnKind::Int => "bigint",
                    onsite_server::store::backend::ColumnKind::Bool => "boolean",
                };
                (t.name().to_owned(), (*c).to_owned(), ty.to_owned())
            })
        })
        .collect();
    let mut actual = pg_columns(&url);
    listed.sort();
    actual.sort();
    assert_eq!(actual, listed);
}

#[test]
fn migrate_moves_everything_onto_postgres_and_devices_go_on_syncing() {
    if common::postgres_url("migrate_moves_everything_onto_postgres_and_devices_go_on_syncing")
        .is_none()
    {
        return;
    }
    let w = world_on::<common::Sqlite>();
    let (mut a1, a2, b) = story(&w);
    let before = views(w.store.as_ref(), &[&a1, &a2, &b]);
    let source = SqliteBackend::open(w._dir.path()).unwrap();
    let url = common::fresh_postgres_database();
    let target = PostgresBackend::connect(&url).unwrap();
    let blob_dir = tempfile::tempdir().unwrap();
    let from_blobs = FsBlobStore::open(w._dir.path()).unwrap();
    let to_blobs = FsBlobStore::open(blob_dir.path()).unwrap();
    let mut blob_progress = Vec::new();
    let summary = admin::migrate(
        &source,
        &from_blobs,
        &target,
        Some(&to_blobs),
        "the new database",
        &mut |p| {
            if let MigrateProgress::Blobs { done, total } = p {
                blob_progress.push((done, total));
            }
        },
    )
    .unwrap();
    assert_eq!(summary.source, summary.target);
    assert_eq!(
        store_checksum(&target).unwrap(),
        store_checksum(&source).unwrap()
    );
    assert_eq!(blob_progress, [(1, 1)]);
    assert_eq!(summary.blobs.unwrap().copied, 1);
    let sha = &from_blobs.stored_sha256s()[0];
    assert_eq!(to_blobs.state(sha).unwrap(), from_blobs.state(sha).unwrap());
    drop(target);

    let pg = PostgresStore::connect(&url, clock(), Arc::new(SystemIds), FAST).unwrap();
    assert_eq!(
        pg.epoch().unwrap(),
        w.store.epoch().unwrap(),
        "same epoch: no start-over"
    );
    for d in [&a1, &a2, &b] {
        assert_eq!(
            pg.authenticate(&d.token).unwrap(),
            d.principal,
            "same token"
        );
    }
    assert_eq!(
        views(&pg, &[&a1, &a2, &b]),
        before,
        "same views, cursors and acked seqs"
    );
    // The next op of a device's log is simply the next one: no gap, no replay.
    let j1 = pg.list_work_orders(&Default::default()).unwrap()[0].id;
    let op = a1.set(j1, "work_done", json!("Replaced the fan motor"), None);
    let r = pg.apply_push(&a1.principal, &a1.request(vec![op])).unwrap();
    assert_eq!(r.acked_device_seq, a1.seq);
    assert!(matches!(r.outcomes[0].result, OpResult::Applied { .. }));
}

#[test]
fn migrate_refuses_a_target_that_holds_data_and_writes_nothing() {
    if common::postgres_url("migrate_refuses_a_target_that_holds_data_and_writes_nothing").is_none()
    {
        return;
    }
    let w = world_on::<common::Sqlite>();
    story(&w);
    let url = common::fresh_postgres_database();
    let occupied = PostgresStore::connect(&url, clock(), Arc::new(SystemIds), FAST).unwrap();
    let (_, _) = common::customer_and_asset(&occupied);
    drop(occupied);
    let target = PostgresBackend::connect(&url).unwrap();
    let before = store_checksum(&target).unwrap();
    let blob_dir = tempfile::tempdir().unwrap();
    let to_blobs = FsBlobStore::open(blob_dir.path()).unwrap();
    let err = admin::migrate(
        &SqliteBackend::open(w._dir.path()).unwrap(),
        &FsBlobStore::open(w._dir.path()).unwrap(),
        &target,
        Some(&to_blobs),
        "the new database",
        &mut |_| {},
    )
    .unwrap_err();
    let message = err.to_string();
    assert_eq!(code(err), "target_not_empty");
    assert!(message.contains("1 customers"), "{message}");
    assert_eq!(store_checksum(&target).unwrap(), before);
    assert!(
        to_blobs.stored_sha256s().is_empty(),
        "no blob copied either"
    );
}

/// What the blob folder holds in full.
trait Listed {
    fn stored_sha256s(&self) -> Vec<String>;
}

impl Listed for FsBlobStore {
    fn stored_sha256s(&self) -> Vec<String> {
        let mut out = Vec::new();
        for dir in std::fs::read_dir(self.root()).unwrap() {
            let dir = dir.unwrap();
            if dir.file_name() == "partial" || !dir.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(dir.path()).unwrap() {
                let sha = f.unwrap().file_name().to_string_lossy().into_owned();
                if matches!(self.state(&sha), Ok(BlobState::Complete { .. })) {
                    out.push(sha);
                }
            }
        }
        out.sort();
        out
    }
}

#[test]
fn a_backup_taken_while_pushes_go_on_restores_with_a_new_epoch() {
    let w = world_on::<common::Sqlite>();
    let (mut a1, _, _) = story(&w);
    let j1 = w.store.list_work_orders(&Default::default()).unwrap()[0].id;
    let backup_dir = tempfile::tempdir().unwrap();
    let to = backup_dir.path().join("monday");
    // A writer keeps pushing while the backup runs: the snapshot is whatever had committed.
    let store = w.store.clone();
    let principal = a1.principal.clone();
    let ops: Vec<_> = (0..200)
        .map(|i| {
            let (id, row) = note_row(j1, &format!("reading {i}"));
            a1.op(j1, EntityKind::Note, &id, Change::Insert { row }, None)
        })
        .collect();
    let requests: Vec<_> = ops.chunks(5).map(|c| a1.request(c.to_vec())).collect();
    let writer = std::thread::spawn(move || {
        for r in &requests {
            store.apply_push(&principal, r).unwrap();
        }
    });
    let manifest = admin::backup(
        w._dir.path(),
        &to,
        onsite_model::time::parse_ts("2026-11-22T18:00:00Z").unwrap(),
        &mut |_| {},
    )
    .unwrap();
    writer.join().unwrap();
    assert_eq!(manifest.blobs, 1);
    assert!(to.join(admin::BACKUP_MANIFEST).is_file());
    let err = admin::backup(w._dir.path(), &to, clock().now(), &mut |_| {}).unwrap_err();
    assert_eq!(code(err), "backup_exists");

    // Restore into a fresh folder: checked against the manifest, blobs in place, new epoch.
    let data = tempfile::tempdir().unwrap();
    let r = admin::restore(&to, data.path(), clock().now(), &mut |_| {}).unwrap();
    assert_ne!(r.new_epoch, manifest.epoch);
    assert_eq!(r.blobs.copied, 1);
    assert!(r.replaced.is_none());
    let restored = SqliteBackend::open(data.path()).unwrap();
    let sums = store_checksum(&restored).unwrap();
    for t in &sums.tables {
        if t.table != Table::Meta {
            assert_eq!(manifest.tables[t.table.name()], (t.rows, t.sha256.clone()));
        }
    }
    drop(restored);
    let store = SqliteStore::open(data.path(), clock(), Arc::new(SystemIds), FAST).unwrap();
    assert_eq!(store.epoch().unwrap(), r.new_epoch);
    assert_eq!(store.authenticate(&a1.token).unwrap(), a1.principal);
    let blob = FsBlobStore::open(data.path()).unwrap().stored_sha256s();
    assert_eq!(
        blob,
        FsBlobStore::open(w._dir.path()).unwrap().stored_sha256s()
    );

    // Restoring again over it keeps the replaced database aside.
    let again = admin::restore(&to, data.path(), clock().now(), &mut |_| {}).unwrap();
    let aside = again.replaced.expect("the replaced database is kept");
    assert!(aside.join("onsite.db").is_file());
    assert_eq!(again.blobs.already_there, 1);
}

#[test]
fn restore_refuses_a_folder_that_is_not_a_complete_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let err = admin::restore(dir.path(), data.path(), clock().now(), &mut |_| {}).unwrap_err();
    assert_eq!(code(err), "not_a_backup");
    assert!(!data.path().join("onsite.db").exists());
}

#[test]
fn a_new_epoch_keeps_every_row() {
    let w = world_on::<common::Sqlite>();
    story(&w);
    let db = SqliteBackend::open(w._dir.path()).unwrap();
    let before = store_checksum(&db).unwrap();
    let epoch = admin::renew_epoch(&db).unwrap();
    let after = store_checksum(&db).unwrap();
    assert_ne!(epoch, w.store.epoch().unwrap());
    for (a, b) in before.tables.iter().zip(&after.tables) {
        assert_eq!(a == b, a.table != Table::Meta, "{:?}", a.table);
    }
}
