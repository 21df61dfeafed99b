//! Quality review on every backend: the sampled queue and its reasons, reviews kept in
//! history with the latest counting, the refusals, the review marks in the conduct KPIs, and
//! the job's record showing whether its signature still matches the sign-off text.

mod common;

use std::collections::HashMap;

use common::{Device, TestBackend, Visit, World, push_applied, work_to_completion, world_on};
use onsite_model::kpi::{ConductItem, KpiOptions, Kpis, Rate, ReviewMark};
use onsite_model::quality::{
    self, MarkInput, QualityReview, QueueReason, ReviewInput, SamplingPolicy,
};
use onsite_model::sign_off::sign_off_text;
use onsite_model::time::parse_ts;
use onsite_model::{Change, EntityKind, JobType, WorkOrderId, sha256_hex};
use onsite_server::store::{QualityQueueFilter, QueueState};
use serde_json::json;

fn marks(fail: &[(&str, &str)]) -> ReviewInput {
    ReviewInput {
        marks: ConductItem::ALL
            .iter()
            .map(|i| {
                let failed = fail.iter().find(|(k, _)| *k == i.as_str());
                MarkInput {
                    item: i.as_str().into(),
                    mark: if failed.is_some() {
                        ReviewMark::Fail
                    } else {
                        ReviewMark::Pass
                    },
                    comment: failed.map(|(_, c)| (*c).to_owned()),
                }
            })
            .collect(),
        comment: Some("Looked at the photos and the checklist times".into()),
    }
}

fn queue(w: &World, state: QueueState) -> onsite_model::quality::ReviewQueue {
    let office = w.device(&w.dana);
    w.store
        .quality_queue(
            &office.principal,
            &QualityQueueFilter {
                state: Some(state),
                technician: None,
            },
        )
        .unwrap()
}

fn the_queue_gives_each_reason_and_counts_per_technician<B: TestBackend>() {
    let w = world_on::<B>();
    let mut alice = w.device(&w.alice);
    let policy = SamplingPolicy::default();
    let mut expected: HashMap<WorkOrderId, Vec<QueueReason>> = HashMap::new();
    let sampled = |id| {
        if quality::is_sampled(id, &policy) {
            vec![QueueReason::Sampled]
        } else {
            vec![]
        }
    };

    let low = w.job(JobType::Inspection, Some(&w.alice));
    work_to_completion(
        &w,
        &mut alice,
        &low,
        Visit {
            rating: Some((3, 9)),
            ..Visit::default()
        },
    );
    let mut r = sampled(low.id);
    r.push(QueueReason::LowRating);
    expected.insert(low.id, r);

    let detractor = w.job(JobType::Inspection, Some(&w.alice));
    work_to_completion(
        &w,
        &mut alice,
        &detractor,
        Visit {
            rating: Some((5, 6)),
            ..Visit::default()
        },
    );
    let mut r = sampled(detractor.id);
    r.push(QueueReason::LowRating);
    expected.insert(detractor.id, r);

    let no = w.job(JobType::Inspection, Some(&w.alice));
    work_to_completion(
        &w,
        &mut alice,
        &no,
        Visit {
            no: Some("shoe_covers"),
            rating: Some((5, 10)),
            ..Visit::default()
        },
    );
    let mut r = sampled(no.id);
    r.push(QueueReason::ConductNo);
    expected.insert(no.id, r);

    // Well-rated jobs with every standard met, until the sample has drawn one and passed
    // one over (the model's rule decides which: tested by hand in the model).
    let mut alice_completed = 3;
    let (mut drawn, mut passed) = (0, 0);
    while drawn == 0 || passed == 0 {
        assert!(alice_completed < 200, "the sample never drew a job");
        let job = w.job(JobType::Inspection, Some(&w.alice));
        work_to_completion(
            &w,
            &mut alice,
            &job,
            Visit {
                rating: Some((5, 10)),
                ..Visit::default()
            },
        );
        alice_completed += 1;
        if quality::is_sampled(job.id, &policy) {
            drawn += 1;
            expected.insert(job.id, vec![QueueReason::Sampled]);
        } else {
            passed += 1;
        }
    }
    // Not completed: never queued, whatever its id.
    let _open = w.job(JobType::Inspection, Some(&w.alice));
    // Bob's one job, rated low.
    let mut bob = w.device(&w.bob);
    let bobs = w.job(JobType::Inspection, Some(&w.bob));
    work_to_completion(
        &w,
        &mut bob,
        &bobs,
        Visit {
            rating: Some((2, 3)),
            ..Visit::default()
        },
    );
    let mut r = sampled(bobs.id);
    r.push(QueueReason::LowRating);
    expected.insert(bobs.id, r);

    let q = queue(&w, QueueState::Pending);
    let got: HashMap<WorkOrderId, Vec<QueueReason>> = q
        .jobs
        .iter()
        .map(|j| (j.work_order_id, j.reasons.clone()))
        .collect();
    assert_eq!(got, expected);
    let no_entry = q.jobs.iter().find(|j| j.work_order_id == no.id).unwrap();
    assert_eq!(no_entry.conduct_no.len(), 1);
    assert_eq!(no_entry.conduct_no[0].item, ConductItem::ShoeCovers);
    assert_eq!(no_entry.conduct_no[0].reason, "Customer asked us not to");
    assert_eq!(no_entry.number, no.number);
    let low_entry = q.jobs.iter().find(|j| j.work_order_id == low.id).unwrap();
    assert_eq!((low_entry.rating, low_entry.nps), (Some(3), Some(9)));
    assert_eq!(low_entry.technician_id, Some(w.alice.id));

    // Counts per technician.
    let alices = q
        .technicians
        .iter()
        .find(|t| t.technician_id == Some(w.alice.id))
        .unwrap();
    let queued = expected.keys().filter(|id| **id != bobs.id).count() as u32;
    let sampled_n = expected
        .iter()
        .filter(|(id, r)| **id != bobs.id && r.contains(&QueueReason::Sampled))
        .count() as u32;
    assert_eq!(alices.completed, alice_completed);
    assert_eq!(
        (
            alices.queued,
            alices.pending,
            alices.sampled,
            alices.reviewed
        ),
        (queued, queued, sampled_n, 0)
    );

    // One technician's jobs.
    let office = w.device(&w.dana);
    let only_bob = w
        .store
        .quality_queue(
            &office.principal,
            &QualityQueueFilter {
                state: None,
                technician: Some(w.bob.id),
            },
        )
        .unwrap();
    assert_eq!(
        only_bob
            .jobs
            .iter()
            .map(|j| j.work_order_id)
            .collect::<Vec<_>>(),
        vec![bobs.id]
    );
    assert_eq!(only_bob.technicians.len(), 1);

    // Reviewed, it leaves the pending list for the reviewed one.
    w.store
        .review_work_order(&office.principal, low.id, &marks(&[]))
        .unwrap();
    assert!(
        !queue(&w, QueueState::Pending)
            .jobs
            .iter()
            .any(|j| j.work_order_id == low.id)
    );
    let reviewed = queue(&w, QueueState::Reviewed);
    assert_eq!(reviewed.jobs.len(), 1);
    assert_eq!(reviewed.jobs[0].work_order_id, low.id);
    assert_eq!(queue(&w, QueueState::All).jobs.len(), expected.len());
}

fn shoe_covers(k: &Kpis) -> &onsite_model::kpi::ConductKpis {
    k.conduct
        .iter()
        .find(|c| c.item == ConductItem::ShoeCovers)
        .unwrap()
}

fn site_cleaned(k: &Kpis) -> &onsite_model::kpi::ConductKpis {
    k.conduct
        .iter()
        .find(|c| c.item == ConductItem::SiteCleaned)
        .unwrap()
}

fn reviews_are_kept_the_latest_counts_and_the_kpis_follow<B: TestBackend>() {
    let w = world_on::<B>();
    let mut alice = w.device(&w.alice);
    let job = w.job(JobType::Inspection, Some(&w.alice));
    work_to_completion(
        &w,
        &mut alice,
        &job,
        Visit {
            rating: Some((5, 10)),
            ..Visit::default()
        },
    );
    let office = w.device(&w.dana);
    let kpis = || {
        w.store
            .kpis_for(
                &office.principal,
                KpiOptions::at(parse_ts("2026-01-01T00:00:00Z").unwrap()),
                None,
            )
            .unwrap()
            .all
    };
    // Before any review: answered yes, so compliant; nothing reviewed.
    let before = kpis();
    assert_eq!(shoe_covers(&before).compliance, Rate::of(1, 1));
    assert_eq!(shoe_covers(&before).yes_failed_in_review, 0);
    assert_eq!(shoe_covers(&before).review_pass, Rate::of(0, 0));

    let first_at = parse_ts("2026-11-22T11:00:00Z").unwrap();
    w.clock.set(first_at);
    let first = w
        .store
        .review_work_order(
            &office.principal,
            job.id,
            &marks(&[("shoe_covers", "The before photo shows outdoor shoes")]),
        )
        .unwrap();
    // Who and when are the server's.
    assert_eq!(first.reviewer_id, w.dana.id);
    assert_eq!(first.reviewed_at, first_at);
    assert_eq!(first.marks.len(), 4);
    let after = kpis();
    assert_eq!(shoe_covers(&after).compliance, Rate::of(0, 1));
    assert_eq!(shoe_covers(&after).yes_failed_in_review, 1);
    assert_eq!(shoe_covers(&after).review_pass, Rate::of(0, 1));
    assert_eq!(site_cleaned(&after).review_pass, Rate::of(1, 1));
    assert_eq!(site_cleaned(&after).compliance, Rate::of(1, 1));
    assert_eq!(after.conduct_all_items, Rate::of(0, 1));

    // A second look: all pass. Both are kept; the latest counts.
    w.clock.set(first_at + chrono::Duration::minutes(10));
    let desk = w.device(&w.dana);
    let second = w
        .store
        .review_work_order(&desk.principal, job.id, &marks(&[]))
        .unwrap();
    let history: Vec<QualityReview> = w.store.quality_reviews(&office.principal, job.id).unwrap();
    assert_eq!(history, vec![first.clone(), second.clone()]);
    let again = kpis();
    assert_eq!(shoe_covers(&again).compliance, Rate::of(1, 1));
    assert_eq!(shoe_covers(&again).yes_failed_in_review, 0);
    assert_eq!(shoe_covers(&again).review_pass, Rate::of(1, 1));

    // In the queue of reviewed jobs (whatever queued it, or a reviewer's own choice).
    let reviewed = queue(&w, QueueState::Reviewed);
    let entry = reviewed
        .jobs
        .iter()
        .find(|j| j.work_order_id == job.id)
        .unwrap();
    assert_eq!(entry.review_count, 2);
    assert_eq!(entry.latest_review.as_ref(), Some(&second));

    // The job's record: the office sees the reviews; the technician's own record has none.
    let detail = w
        .store
        .work_order_detail_for(&office.principal, job.id)
        .unwrap();
    assert_eq!(detail.quality_reviews, Some(vec![first, second]));
    let own = w
        .store
        .work_order_detail_for(&alice.principal, job.id)
        .unwrap();
    assert_eq!(own.quality_reviews, None);
}

fn bad_reviews_are_refused_and_nothing_is_stored<B: TestBackend>() {
    let w = world_on::<B>();
    let mut alice = w.device(&w.alice);
    let job = w.job(JobType::Inspection, Some(&w.alice));
    work_to_completion(&w, &mut alice, &job, Visit::default());
    let open = w.job(JobType::Inspection, Some(&w.alice));
    let office = w.device(&w.dana);
    let refusal = |who: &Device, id: WorkOrderId, input: &ReviewInput| {
        let e = w
            .store
            .review_work_order(&who.principal, id, input)
            .unwrap_err();
        (e.status().as_u16(), e.code().to_owned(), e.to_string())
    };

    let (status, code, message) = refusal(&office, job.id, &marks(&[("site_cleaned", "  ")]));
    assert_eq!((status, code.as_str()), (400, "comment_required"));
    assert!(message.contains("site_cleaned is marked fail"), "{message}");

    let mut unknown = marks(&[]);
    unknown.marks[0].item = "tidy_uniform".into();
    let (status, code, message) = refusal(&office, job.id, &unknown);
    assert_eq!((status, code.as_str()), (400, "unknown_item"));
    assert!(message.contains("\"tidy_uniform\""), "{message}");

    let mut short = marks(&[]);
    short.marks.pop();
    assert_eq!(refusal(&office, job.id, &short).1, "missing_item");

    let mut long = marks(&[]);
    long.comment = Some("x".repeat(quality::REVIEW_COMMENT_MAX_CHARS + 1));
    assert_eq!(refusal(&office, job.id, &long).1, "comment_too_long");

    let (status, code, message) = refusal(&office, open.id, &marks(&[]));
    assert_eq!((status, code.as_str()), (409, "not_completed"));
    assert!(message.contains(&open.number), "{message}");

    let (status, code, _) = refusal(&alice, job.id, &marks(&[]));
    assert_eq!((status, code.as_str()), (403, "office_only"));
    assert_eq!(
        w.store
            .quality_queue(&alice.principal, &QualityQueueFilter::default())
            .unwrap_err()
            .code(),
        "office_only"
    );
    assert_eq!(
        w.store
            .quality_reviews(&alice.principal, job.id)
            .unwrap_err()
            .code(),
        "office_only"
    );

    let (status, code, _) = refusal(&office, WorkOrderId(uuid::Uuid::now_v7()), &marks(&[]));
    assert_eq!((status, code.as_str()), (404, "unknown_work_order"));

    assert!(
        w.store
            .quality_reviews(&office.principal, job.id)
            .unwrap()
            .is_empty()
    );
}

fn the_record_shows_whether_the_signature_matches_its_text<B: TestBackend>() {
    let w = world_on::<B>();
    let mut alice = w.device(&w.alice);
    let job = w.job(JobType::Inspection, Some(&w.alice));
    let part = uuid::Uuid::now_v7().to_string();
    let row = json!({"id": part, "work_order_id": job.id, "part_no": "CAP-35UF",
        "description": "Run capacitor", "quantity": 1.0, "created_at": "2026-11-22T09:20:00.000Z"});
    let ops = vec![
        alice.set(
            job.id,
            "work_done",
            json!("Replaced the run capacitor"),
            None,
        ),
        alice.op(
            job.id,
            EntityKind::PartUsed,
            &part,
            Change::Insert { row },
            None,
        ),
    ];
    push_applied(&w, &alice, ops);
    let office = w.device(&w.dana);
    let detail = w
        .store
        .work_order_detail_for(&office.principal, job.id)
        .unwrap();
    // What the device shows the signer: the model's text over the same record.
    let text = sign_off_text(
        &detail.work_order,
        Some(&w.customer),
        Some(&w.asset),
        &detail.parts,
    );
    assert!(
        text.contains("Work done: Replaced the run capacitor\n"),
        "{text}"
    );
    assert!(
        text.contains("Part: 1 x CAP-35UF Run capacitor\n"),
        "{text}"
    );
    let sig = uuid::Uuid::now_v7().to_string();
    let row = json!({"id": sig, "work_order_id": job.id, "signer_name": "Li Na",
        "signed_at": "2026-11-22T09:35:00.000Z",
        "strokes": [[{"x": 1.0, "y": 1.0, "t": 0}, {"x": 40.0, "y": 12.0, "t": 30}]],
        "png_sha256": null, "report_sha256": sha256_hex(text.as_bytes())});
    let op = alice.op(
        job.id,
        EntityKind::Signature,
        &sig,
        Change::Insert { row },
        None,
    );
    push_applied(&w, &alice, vec![op]);
    let signed = w
        .store
        .work_order_detail_for(&office.principal, job.id)
        .unwrap();
    assert_eq!(signed.sign_off.text, text);
    assert_eq!(signed.sign_off.signatures.len(), 1);
    assert!(signed.sign_off.signatures[0].matches);
    assert_eq!(signed.sign_off.signatures[0].signer_name, "Li Na");
    assert!(signed.sign_off.all_match());

    // The report edited after signing: the record says the signature no longer matches.
    let op = alice.set(job.id, "work_done", json!("Replaced the fan motor"), None);
    push_applied(&w, &alice, vec![op]);
    let edited = w
        .store
        .work_order_detail_for(&office.principal, job.id)
        .unwrap();
    assert!(!edited.sign_off.signatures[0].matches);
    assert!(!edited.sign_off.all_match());
    assert_ne!(edited.sign_off.report_sha256, sha256_hex(text.as_bytes()));
}

/// Over HTTP: the refusals are `{code, message}` JSON with their status, the stored review
/// names the caller whatever the body tries, and the queue answers the office only.
fn the_http_api_answers_as_documented<B: TestBackend>() {
    let w = world_on::<B>();
    let mut alice = w.device(&w.alice);
    let job = w.job(JobType::Inspection, Some(&w.alice));
    work_to_completion(&w, &mut alice, &job, Visit::default());
    let office = w.device(&w.dana);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = rt.block_on(async {
        let blobs =
            std::sync::Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap());
        let state = onsite_server::api::AppState::new(w.store.clone(), blobs, w.clock.clone());
        let app = onsite_server::api::router(state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });
    let client = reqwest::Client::new();
    let call =
        |method: reqwest::Method, path: &str, token: &str, body: Option<serde_json::Value>| {
            let mut req = client
                .request(method, format!("{base}{path}"))
                .bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            rt.block_on(async {
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<serde_json::Value>().await.unwrap())
            })
        };
    let path = format!("/api/v1/work-orders/{}/quality-reviews", job.id);
    let body = |fail_comment: serde_json::Value| {
        json!({"marks": [
            {"item": "appointment_confirmed", "mark": "pass"},
            {"item": "shoe_covers", "mark": "fail", "comment": fail_comment},
            {"item": "site_cleaned", "mark": "pass"},
            {"item": "fault_explained", "mark": "pass"}]})
    };

    let (status, e) = call(
        reqwest::Method::POST,
        &path,
        &office.token,
        Some(body(json!(null))),
    );
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["code"], "comment_required");
    assert!(
        e["message"].as_str().unwrap().contains("shoe_covers"),
        "{e}"
    );

    let mut unknown = body(json!("Outdoor shoes"));
    unknown["marks"][0]["item"] = json!("uniform");
    let (status, e) = call(reqwest::Method::POST, &path, &office.token, Some(unknown));
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("unknown_item")),
        "{e}"
    );

    // Who reviewed is not the body's to say.
    let mut forged = body(json!("Outdoor shoes"));
    forged["reviewer_id"] = json!(w.bob.id);
    let (status, e) = call(reqwest::Method::POST, &path, &office.token, Some(forged));
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("invalid_body")),
        "{e}"
    );

    let (status, e) = call(
        reqwest::Method::POST,
        &path,
        &alice.token,
        Some(body(json!("x"))),
    );
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("office_only")),
        "{e}"
    );

    let (status, stored) = call(
        reqwest::Method::POST,
        &path,
        &office.token,
        Some(body(json!("Outdoor shoes"))),
    );
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["reviewer_id"], json!(w.dana.id));
    assert_eq!(stored["marks"][1]["mark"], "fail");

    let (status, list) = call(reqwest::Method::GET, &path, &office.token, None);
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, q) = call(
        reqwest::Method::GET,
        "/api/v1/quality/queue?state=reviewed",
        &office.token,
        None,
    );
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["jobs"][0]["work_order_id"], json!(job.id));
    assert_eq!(q["policy"]["sample_basis_points"], 1000);
    let (status, e) = call(
        reqwest::Method::GET,
        "/api/v1/quality/queue?state=sometime",
        &office.token,
        None,
    );
    assert_eq!(status, 400, "{e}");
    let (status, e) = call(
        reqwest::Method::GET,
        "/api/v1/quality/queue",
        &alice.token,
        None,
    );
    assert_eq!((status, e["code"].as_str()), (403, Some("office_only")));
}

for_each_backend!(
    the_http_api_answers_as_documented,
    the_queue_gives_each_reason_and_counts_per_technician,
    reviews_are_kept_the_latest_counts_and_the_kpis_follow,
    bad_reviews_are_refused_and_nothing_is_stored,
    the_record_shows_whether_the_signature_matches_its_text,
);
