//! Blob transfer through `Router::oneshot`, on the filesystem store and on S3: resumable
//! chunks, verification, dedupe, ranged downloads, who may read what, the evidence gate on
//! completion, and garbage collection.

mod blob_support;
mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use blob_support::TestBlobs;
use common::{Device, World, push_applied, step, world};
use onsite_model::wire::RowKind;
use onsite_model::{Change, EntityKind, JobType, StatusAction as A, WorkOrderStatus as S};
use onsite_server::api::{AppState, router};
use onsite_server::blobs::BlobStore;
use onsite_server::blobs::gc::{GcReport, collect_garbage};
use onsite_server::config::{DAY, GcSettings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

fn app<B: TestBlobs>(w: &World) -> Router {
    app_and_blobs::<B>(w).0
}

fn app_and_blobs<B: TestBlobs>(w: &World) -> (Router, Arc<dyn BlobStore>) {
    let blobs = B::open(w._dir.path());
    let app = router(AppState::new(
        w.store.clone(),
        blobs.clone(),
        w.clock.clone(),
    ));
    (app, blobs)
}

for_each_blob_store!(
    a_chunk_at_the_wrong_offset_is_refused_with_the_offset_held,
    a_damaged_chunk_is_refused_and_nothing_is_appended,
    a_wrong_total_hash_is_refused_and_the_partial_upload_discarded,
    the_same_bytes_are_stored_once,
    limits_are_refused_before_anything_is_written,
    technicians_read_only_the_blobs_of_their_jobs_and_ranges_work,
    a_completion_waits_for_its_evidence_and_converges_when_it_arrives,
    garbage_collection_keeps_what_rows_name_and_what_is_recent,
);

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn bytes_of(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ salt)
        .collect()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    fn offset(&self) -> u64 {
        self.header("upload-offset").unwrap().parse().unwrap()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn head(app: &Router, token: &str, id: &str) -> Answer {
    let req = Request::head(format!("/api/v1/blobs/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

async fn patch(
    app: &Router,
    token: &str,
    id: &str,
    offset: u64,
    claimed: &str,
    chunk: &[u8],
) -> Answer {
    let req = Request::patch(format!("/api/v1/blobs/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .header("upload-offset", offset.to_string())
        .header("chunk-sha256", claimed)
        .header("content-type", "application/octet-stream")
        .body(Body::from(chunk.to_vec()))
        .unwrap();
    send(app, req).await
}

async fn finish(app: &Router, token: &str, id: &str) -> Answer {
    let req = Request::post(format!("/api/v1/blobs/{id}/finish"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

async fn get(app: &Router, token: &str, id: &str, range: Option<&str>) -> Answer {
    let mut req = Request::get(format!("/api/v1/blobs/{id}"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(r) = range {
        req = req.header("range", r);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

/// Uploads `data` in `chunk`-sized pieces and finishes.
async fn upload(app: &Router, token: &str, data: &[u8], chunk: usize) -> Answer {
    let id = sha(data);
    let mut offset = 0usize;
    for piece in data.chunks(chunk) {
        let a = patch(app, token, &id, offset as u64, &sha(piece), piece).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.json());
        offset += piece.len();
        assert_eq!(a.offset(), offset as u64);
    }
    finish(app, token, &id).await
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.json());
    assert_eq!(a.json()["code"], code, "{}", a.json());
    assert!(a.json()["message"].as_str().unwrap_or_default().len() > 10);
}

async fn a_chunk_at_the_wrong_offset_is_refused_with_the_offset_held<B: TestBlobs>() {
    let w = world();
    let (app, blobs) = app_and_blobs::<B>(&w);
    let dev = w.device(&w.alice);
    let data = bytes_of(3000, 1);
    let id = sha(&data);
    let missing = head(&app, &dev.token, &id).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.offset(), 0);
    // A first chunk from the wrong place is refused and starts no upload.
    let early = patch(
        &app,
        &dev.token,
        &id,
        1000,
        &sha(&data[1000..2000]),
        &data[1000..2000],
    )
    .await;
    assert_error(&early, 409, "offset_mismatch");
    assert_eq!(early.offset(), 0);
    assert_eq!(
        blobs.partial_uploads().unwrap(),
        vec![],
        "nothing left behind"
    );
    let a = patch(&app, &dev.token, &id, 0, &sha(&data[..1000]), &data[..1000]).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    // A retry of the same chunk (its answer was lost) and a chunk from too far ahead.
    for offset in [0, 2000] {
        let from = offset as usize;
        let piece = &data[from..from + 1000];
        let refused = patch(&app, &dev.token, &id, offset, &sha(piece), piece).await;
        assert_error(&refused, 409, "offset_mismatch");
        assert_eq!(refused.offset(), 1000);
    }
    assert_eq!(head(&app, &dev.token, &id).await.offset(), 1000);
    let held = blobs.partial_uploads().unwrap();
    assert_eq!(
        held.iter()
            .map(|u| (u.sha256.as_str(), u.bytes))
            .collect::<Vec<_>>(),
        [(id.as_str(), 1000)],
        "the refused chunks added nothing"
    );
}

async fn a_damaged_chunk_is_refused_and_nothing_is_appended<B: TestBlobs>() {
    let w = world();
    let (app, blobs) = app_and_blobs::<B>(&w);
    let dev = w.device(&w.alice);
    let data = bytes_of(2000, 2);
    let id = sha(&data);
    let mut first = data[..1000].to_vec();
    first[3] ^= 0x01;
    let refused = patch(&app, &dev.token, &id, 0, &sha(&data[..1000]), &first).await;
    assert_error(&refused, 422, "chunk_hash_mismatch");
    assert_eq!(
        blobs.partial_uploads().unwrap(),
        vec![],
        "nothing left behind"
    );
    patch(&app, &dev.token, &id, 0, &sha(&data[..1000]), &data[..1000]).await;
    let mut damaged = data[1000..].to_vec();
    damaged[17] ^= 0x40;
    let refused = patch(&app, &dev.token, &id, 1000, &sha(&data[1000..]), &damaged).await;
    assert_error(&refused, 422, "chunk_hash_mismatch");
    assert_eq!(head(&app, &dev.token, &id).await.offset(), 1000);
    // Headers are required, with helpful refusals.
    let req = Request::patch(format!("/api/v1/blobs/{id}"))
        .header("authorization", format!("Bearer {}", dev.token))
        .body(Body::from(data[1000..].to_vec()))
        .unwrap();
    assert_error(&send(&app, req).await, 400, "missing_offset");
    assert_error(
        &patch(&app, &dev.token, "not-a-hash", 0, &sha(b"x"), b"x").await,
        400,
        "bad_address",
    );
    // The good chunk then completes it.
    let ok = patch(
        &app,
        &dev.token,
        &id,
        1000,
        &sha(&data[1000..]),
        &data[1000..],
    )
    .await;
    assert_eq!(ok.offset(), 2000);
    let done = finish(&app, &dev.token, &id).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.json());
    assert_eq!(done.json()["newly_stored"], true);
}

async fn a_wrong_total_hash_is_refused_and_the_partial_upload_discarded<B: TestBlobs>() {
    let w = world();
    let (app, blobs) = app_and_blobs::<B>(&w);
    let dev = w.device(&w.alice);
    let meant = bytes_of(5000, 3);
    let id = sha(&meant);
    let mut sent = meant.clone();
    sent[4000] ^= 1;
    for (i, piece) in sent.chunks(2500).enumerate() {
        let a = patch(&app, &dev.token, &id, (i * 2500) as u64, &sha(piece), piece).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT);
    }
    assert_error(&finish(&app, &dev.token, &id).await, 422, "hash_mismatch");
    let after = head(&app, &dev.token, &id).await;
    assert_eq!((after.status, after.offset()), (StatusCode::NOT_FOUND, 0));
    assert_error(&finish(&app, &dev.token, &id).await, 404, "unknown_blob");
    assert_eq!(blobs.partial_uploads().unwrap(), vec![]);
    assert_eq!(blobs.stored_blobs().unwrap(), vec![]);
}

async fn the_same_bytes_are_stored_once<B: TestBlobs>() {
    let w = world();
    let (app, blobs) = app_and_blobs::<B>(&w);
    let a = w.device(&w.alice);
    let b = w.device(&w.bob);
    let data = bytes_of(4096, 4);
    let id = sha(&data);
    let first = upload(&app, &a.token, &data, 1500).await;
    assert_eq!(first.json()["newly_stored"], true, "{}", first.json());
    // Another device learns it is there and sends nothing.
    let h = head(&app, &b.token, &id).await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.header("content-length"), Some("4096"));
    // A chunk sent anyway is answered "complete", and finish says it was already stored.
    let extra = patch(&app, &b.token, &id, 0, &sha(&data), &data).await;
    assert_eq!(extra.status, StatusCode::OK);
    assert_eq!(extra.json()["size"], 4096);
    let again = finish(&app, &b.token, &id).await;
    assert_eq!(again.json()["newly_stored"], false);
    let stored = blobs.stored_blobs().unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|b| (b.sha256.as_str(), b.size))
            .collect::<Vec<_>>(),
        [(id.as_str(), 4096)],
        "stored once"
    );
    assert_eq!(blobs.partial_uploads().unwrap(), vec![], "no partials");
    let metrics = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(text.contains("onsite_blobs_stored_total 1"), "{text}");
    assert!(
        text.contains("onsite_blob_upload_bytes_total 4096"),
        "{text}"
    );
}

async fn limits_are_refused_before_anything_is_written<B: TestBlobs>() {
    let w = world();
    let (app, blobs) = app_and_blobs::<B>(&w);
    let dev = w.device(&w.alice);
    let id = sha(b"big");
    let chunk = vec![7u8; 1024];
    let at = onsite_model::wire::MAX_BLOB_BYTES - 10;
    assert_error(
        &patch(&app, &dev.token, &id, at, &sha(&chunk), &chunk).await,
        413,
        "blob_too_large",
    );
    let big = vec![0u8; onsite_model::wire::MAX_CHUNK_BYTES as usize + 1];
    assert_error(
        &patch(&app, &dev.token, &id, 0, &sha(&big), &big).await,
        413,
        "chunk_too_large",
    );
    assert_eq!(head(&app, &dev.token, &id).await.offset(), 0);
    assert_eq!(
        blobs.partial_uploads().unwrap(),
        vec![],
        "nothing left behind"
    );
}

/// A photo row for `job` referencing `sha256`, pushed by `dev`.
fn photo_op(
    dev: &mut Device,
    job: onsite_model::WorkOrderId,
    kind: &str,
    sha256: &str,
) -> onsite_model::Op {
    let id = uuid::Uuid::now_v7().to_string();
    dev.op(
        job,
        EntityKind::Photo,
        &id,
        Change::Insert {
            row: json!({"id": id, "work_order_id": job, "sha256": sha256, "kind": kind,
                        "size_bytes": 10, "created_at": "2026-11-22T09:20:00.000Z"}),
        },
        None,
    )
}

async fn technicians_read_only_the_blobs_of_their_jobs_and_ranges_work<B: TestBlobs>() {
    let w = world();
    let app = app::<B>(&w);
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut alice = w.device(&w.alice);
    let bob = w.device(&w.bob);
    let dana = w.device(&w.dana);
    let data = bytes_of(10_000, 5);
    let id = sha(&data);
    upload(&app, &alice.token, &data, 4096).await;
    // Stored but not yet referenced: not even the uploader's technician may read it.
    assert_error(
        &get(&app, &alice.token, &id, None).await,
        403,
        "forbidden_blob",
    );
    let op = photo_op(&mut alice, job.id, "before", &id);
    w.store
        .apply_push(&alice.principal, &alice.request(vec![op]))
        .unwrap();
    let full = get(&app, &alice.token, &id, None).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body, data);
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    let part = get(&app, &alice.token, &id, Some("bytes=9000-")).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.header("content-range"), Some("bytes 9000-9999/10000"));
    assert_eq!(part.body, &data[9000..]);
    let mid = get(&app, &dana.token, &id, Some("bytes=10-19")).await;
    assert_eq!(
        (mid.status, &mid.body[..]),
        (StatusCode::PARTIAL_CONTENT, &data[10..20])
    );
    assert_error(
        &get(&app, &alice.token, &id, Some("bytes=10000-")).await,
        416,
        "range_not_satisfiable",
    );
    // Bob cannot see the job, so he cannot read its photo.
    assert_error(
        &get(&app, &bob.token, &id, None).await,
        403,
        "forbidden_blob",
    );
    let anonymous = send(
        &app,
        Request::get(format!("/api/v1/blobs/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&anonymous, 401, "unauthorized");
    // After reassignment to bob, it is bob's to read and no longer alice's.
    w.store.assign_work_order(job.id, Some(w.bob.id)).unwrap();
    assert_eq!(
        get(&app, &bob.token, &id, None).await.status,
        StatusCode::OK
    );
    assert_error(
        &get(&app, &alice.token, &id, None).await,
        403,
        "forbidden_blob",
    );
}

fn answer_ops(dev: &mut Device, job: &onsite_model::WorkOrder) -> Vec<onsite_model::Op> {
    onsite_model::template_for(job.job_type)
        .items
        .iter()
        .map(|item| {
            let value = match &item.kind {
                onsite_model::ItemKind::Choice { options } => {
                    json!({"type": "choice", "value": options[0].key})
                }
                onsite_model::ItemKind::Text => json!({"type": "text", "value": "ok"}),
                onsite_model::ItemKind::Number { .. } => json!({"type": "number", "value": 2.0}),
                _ => json!({"type": "check", "value": true}),
            };
            let id = onsite_model::ops::checklist_answer_id(job.id, &item.key);
            dev.op(
                job.id,
                EntityKind::ChecklistAnswer,
                &id,
                Change::Set {
                    field: "value".into(),
                    old: json!(null),
                    new: value,
                },
                None,
            )
        })
        .collect()
}

async fn a_completion_waits_for_its_evidence_and_converges_when_it_arrives<B: TestBlobs>() {
    let w = world();
    let app = app::<B>(&w);
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let before = bytes_of(3000, 6);
    let after = bytes_of(3000, 7);
    let (sb, sa) = (sha(&before), sha(&after));
    // The "before" photo arrived earlier; the "after" one has not.
    upload(&app, &dev.token, &before, 3000).await;
    let mut ops = vec![
        step(&mut dev, job.id, A::StartTravel, S::Assigned, S::EnRoute),
        step(&mut dev, job.id, A::Arrive, S::EnRoute, S::OnSite),
        step(&mut dev, job.id, A::StartWork, S::OnSite, S::InProgress),
    ];
    ops.extend(answer_ops(&mut dev, &job));
    ops.push(photo_op(&mut dev, job.id, "before", &sb));
    ops.push(photo_op(&mut dev, job.id, "after", &sa));
    let sig = uuid::Uuid::now_v7().to_string();
    ops.push(dev.op(
        job.id,
        EntityKind::Signature,
        &sig,
        Change::Insert {
            row: json!({"id": sig, "work_order_id": job.id, "signer_name": "Customer",
                        "signed_at": "2026-11-22T09:40:00.000Z", "strokes": [[{"x": 10.0, "y": 20.0, "t": 0}, {"x": 60.0, "y": 25.0, "t": 40}]], "report_sha256": sha(b"report")}),
        },
        None,
    ));
    let mut complete = step(&mut dev, job.id, A::Complete, S::InProgress, S::Completed);
    if let Change::Transition { evidence, .. } = &mut complete.change {
        *evidence = vec![sa.clone(), sb.clone()];
    }
    ops.push(complete);
    push_applied(&w, &dev, ops);
    let wo = w.store.get_work_order(job.id).unwrap();
    assert_eq!(wo.status, S::Completed);
    assert_eq!(
        wo.awaiting_evidence,
        vec![sa.clone()],
        "only the missing one"
    );
    assert!(!wo.is_done());
    let office = w.device(&w.dana);
    let waiting = send(
        &app,
        Request::get("/api/v1/work-orders?awaiting_evidence=true")
            .header("authorization", format!("Bearer {}", office.token))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        waiting.json().as_array().unwrap().len(),
        1,
        "{}",
        waiting.json()
    );
    let cursor = w.store.pull(&dev.principal, 0, 1000).unwrap().cursor;

    // The bytes arrive: the job is done, and the device's next pull carries the change.
    let done = upload(&app, &dev.token, &after, 1024).await;
    assert_eq!(done.status, StatusCode::OK);
    let wo = w.store.get_work_order(job.id).unwrap();
    assert!(wo.awaiting_evidence.is_empty() && wo.is_done());
    let page = w.store.pull(&dev.principal, cursor, 1000).unwrap();
    let row = page
        .changes
        .iter()
        .find(|c| c.kind == RowKind::WorkOrder && c.id == job.id.to_string())
        .expect("the released job is pulled again");
    assert!(row.row.as_ref().unwrap().get("awaiting_evidence").is_none());
    let waiting = w
        .store
        .list_work_orders(&onsite_server::store::WorkOrderFilter {
            awaiting_evidence: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert!(waiting.is_empty());
}

#[tokio::test]
async fn evidence_that_is_not_a_hash_is_refused() {
    let w = world();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let mut op = step(&mut dev, job.id, A::StartTravel, S::Assigned, S::EnRoute);
    if let Change::Transition { evidence, .. } = &mut op.change {
        *evidence = vec!["../../etc/passwd".into()];
    }
    let err = w
        .store
        .apply_push(&dev.principal, &dev.request(vec![op]))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_op");
}

async fn garbage_collection_keeps_what_rows_name_and_what_is_recent<B: TestBlobs>() {
    let w = world();
    let (app, blobs) = app_and_blobs::<B>(&w);
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let named = bytes_of(3000, 11);
    let loose = bytes_of(2000, 12);
    let torn = bytes_of(5000, 13);
    upload(&app, &dev.token, &named, 1024).await;
    upload(&app, &dev.token, &loose, 1024).await;
    let started = patch(
        &app,
        &dev.token,
        &sha(&torn),
        0,
        &sha(&torn[..1500]),
        &torn[..1500],
    )
    .await;
    assert_eq!(started.status, StatusCode::NO_CONTENT);
    let op = photo_op(&mut dev, job.id, "before", &sha(&named));
    w.store
        .apply_push(&dev.principal, &dev.request(vec![op]))
        .unwrap();

    // Object times are the storage's own, so the runs are placed relative to the real clock.
    let settings = GcSettings::default();
    assert_eq!(
        (settings.abandoned_uploads, settings.unreferenced_grace),
        (7 * DAY, 30 * DAY)
    );
    let now = chrono::Utc::now();
    let gc = |days: i64| {
        collect_garbage(
            blobs.as_ref(),
            w.store.as_ref(),
            now + chrono::Duration::days(days),
            &settings,
        )
        .unwrap()
    };
    // Today: everything is young; the loose blob may still get its row.
    assert_eq!(
        gc(0),
        GcReport {
            kept_referenced: 1,
            kept_in_grace: 1,
            ..GcReport::default()
        }
    );
    assert_eq!(head(&app, &dev.token, &sha(&torn)).await.offset(), 1500);
    // A week and a day later the abandoned upload goes; the loose blob is still in grace.
    assert_eq!(
        gc(8),
        GcReport {
            abandoned_uploads: 1,
            abandoned_bytes: 1500,
            kept_referenced: 1,
            kept_in_grace: 1,
            ..GcReport::default()
        }
    );
    assert_eq!(head(&app, &dev.token, &sha(&torn)).await.offset(), 0);
    assert_eq!(blobs.partial_uploads().unwrap(), vec![]);
    // Past the grace period the blob no row names goes; the photo's stays, and reads.
    assert_eq!(
        gc(31),
        GcReport {
            unreferenced_blobs: 1,
            unreferenced_bytes: 2000,
            kept_referenced: 1,
            ..GcReport::default()
        }
    );
    let gone = head(&app, &dev.token, &sha(&loose)).await;
    assert_eq!((gone.status, gone.offset()), (StatusCode::NOT_FOUND, 0));
    let kept = get(&app, &dev.token, &sha(&named), None).await;
    assert_eq!((kept.status, kept.body), (StatusCode::OK, named.clone()));
    assert_eq!(
        gc(31),
        GcReport {
            kept_referenced: 1,
            ..GcReport::default()
        },
        "a second run finds nothing more"
    );
}

for_each_backend!(rows_pushed_while_collecting_keep_their_blobs);

/// The references are read off the apply path; a row pushed between that read and the
/// catalogue's delete still saves its blob, and tombstones and signatures count.
fn rows_pushed_while_collecting_keep_their_blobs<Db: common::TestBackend>() {
    let w = common::world_on::<Db>();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut dev = w.device(&w.alice);
    let [early, late, loose, png, deleted] =
        [b"early" as &[u8], b"late", b"loose", b"png", b"deleted"].map(sha);
    let photo = photo_op(&mut dev, job.id, "before", &early);
    let doomed = photo_op(&mut dev, job.id, "other", &deleted);
    let doomed_id = doomed.entity_id.clone();
    let sig = uuid::Uuid::now_v7().to_string();
    let signature = dev.op(
        job.id,
        EntityKind::Signature,
        &sig,
        Change::Insert {
            row: json!({"id": sig, "work_order_id": job.id, "signer_name": "Customer",
                        "signed_at": "2026-11-22T09:40:00.000Z", "png_sha256": png,
                        "strokes": [[{"x": 1.0, "y": 2.0, "t": 0}, {"x": 6.0, "y": 2.5, "t": 40}]],
                        "report_sha256": sha(b"report")}),
        },
        None,
    );
    let old = match &doomed.change {
        Change::Insert { row } => row.clone(),
        _ => unreachable!(),
    };
    let tombstone = dev.op(
        job.id,
        EntityKind::Photo,
        &doomed_id,
        Change::Delete { old },
        Some(u64::MAX),
    );
    push_applied(&w, &dev, vec![photo, doomed, signature, tombstone]);
    // The bytes arrive after their rows (the op may travel first); `late` never does.
    for h in [&early, &loose, &png, &deleted] {
        w.store.record_blob(h, 5).unwrap();
    }
    let refs = w.store.blob_references().unwrap();
    let mut named: Vec<_> = refs.hashes.iter().cloned().collect();
    named.sort();
    let mut expected = vec![early.clone(), png.clone(), deleted.clone()];
    expected.sort();
    assert_eq!(named, expected);
    let late_photo = photo_op(&mut dev, job.id, "after", &late);
    w.store
        .apply_push(&dev.principal, &dev.request(vec![late_photo]))
        .unwrap();
    let forgotten = w
        .store
        .forget_blobs(&[late.clone(), loose.clone()], refs.as_of)
        .unwrap();
    assert_eq!(forgotten, vec![loose.clone()]);
    // Forgotten from the catalogue: a completion listing it now waits for its bytes.
    assert_eq!(w.store.record_blob(&loose, 5).unwrap(), vec![]);
    assert!(w.store.blob_references().unwrap().hashes.contains(&late));
}
