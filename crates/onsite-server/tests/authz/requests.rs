//! The request each caller makes to each endpoint of the matrix, and the HTTP client that
//! sends it to the router on loopback.

use super::*;

pub(super) struct Http {
    pub(super) base: String,
    pub(super) client: reqwest::Client,
}

pub(super) struct Call {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) token: Option<String>,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Option<Vec<u8>>,
}

impl Http {
    pub(super) async fn send(&self, call: Call) -> (u16, Value) {
        let mut req = self
            .client
            .request(call.method.clone(), format!("{}{}", self.base, call.path));
        if let Some(t) = &call.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in &call.headers {
            req = req.header(*k, v);
        }
        if let Some(b) = call.body {
            req = req.body(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        if call.path.ends_with("/sync/events") && status == 200 {
            // A live stream: the status is the answer; the body never ends.
            return (status, Value::Null);
        }
        let bytes = res.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, body)
    }

    /// Uploads `bytes` whole as `token`'s device and finishes the blob.
    pub(super) async fn upload(&self, token: &str, bytes: &[u8]) -> String {
        let sha = sha256_hex(bytes);
        let (s, b) = self.send(patch_chunk(&sha, token, bytes)).await;
        assert!(s == 204 || s == 200, "{s} {b}");
        let (s, b) = self
            .send(Call {
                method: Method::POST,
                path: format!("/api/v1/blobs/{sha}/finish"),
                token: Some(token.to_owned()),
                headers: vec![],
                body: None,
            })
            .await;
        assert_eq!(s, 200, "{b}");
        sha
    }
}

pub(super) fn patch_chunk(sha: &str, token: &str, bytes: &[u8]) -> Call {
    Call {
        method: Method::PATCH,
        path: format!("/api/v1/blobs/{sha}"),
        token: Some(token.to_owned()),
        headers: vec![
            ("upload-offset", "0".into()),
            ("chunk-sha256", sha256_hex(bytes)),
        ],
        body: Some(bytes.to_vec()),
    }
}

pub(super) fn json_body(v: Value) -> (Vec<(&'static str, String)>, Option<Vec<u8>>) {
    (
        vec![("content-type", "application/json".into())],
        Some(serde_json::to_vec(&v).unwrap()),
    )
}

/// What the world holds for the read-only cells: a job moved from Erin to Alice with a
/// photo whose bytes are on the server.
pub(super) struct Shared {
    pub(super) job: WorkOrder,
    pub(super) photo_sha: String,
}

pub(super) fn shared(rt: &Runtime, w: &World, http: &Http, cast: &Cast) -> Shared {
    let job = moved_job(w, cast);
    let mut alice = w.device(&cast.alice);
    let bytes = format!("photo of {}", job.id).into_bytes();
    let sha = rt.block_on(http.upload(&alice.token, &bytes));
    let id = uuid::Uuid::now_v7().to_string();
    let row = json!({"id": id, "work_order_id": job.id, "sha256": sha, "kind": "before",
        "size_bytes": bytes.len(), "created_at": "2026-11-22T07:30:00.000Z"});
    let op = alice.op(job.id, EntityKind::Photo, &id, Change::Insert { row }, None);
    w.store
        .apply_push(&alice.principal, &alice.request(vec![op]))
        .unwrap();
    Shared {
        job,
        photo_sha: sha,
    }
}

/// A conflict on `job`: two of Alice's devices wrote its diagnosis from the same base.
pub(super) fn conflict_on(w: &World, cast: &Cast, job: WorkOrderId) -> String {
    let mut tablet = w.device(&cast.alice);
    let mut laptop = w.device(&cast.alice);
    let base = w.store.pull(&tablet.principal, 0, 0).unwrap().cursor;
    let a = tablet.set(job, "diagnosis", json!("Fan motor seized"), Some(base));
    laptop.hlc_ms = tablet.hlc_ms + 5_000;
    let b = laptop.set(job, "diagnosis", json!("Capacitor failed"), Some(base));
    w.store
        .apply_push(&tablet.principal, &tablet.request(vec![a]))
        .unwrap();
    let res = w
        .store
        .apply_push(&laptop.principal, &laptop.request(vec![b]))
        .unwrap();
    match &res.outcomes[0].result {
        OpResult::Conflict { conflict_id, .. } => conflict_id.to_string(),
        other => panic!("expected a conflict: {other:?}"),
    }
}

/// The request `caller` makes to one endpoint, on fresh objects where the call changes
/// something, so every cell starts from the same state.
#[allow(clippy::too_many_arguments)]
pub(super) fn request_for(
    rt: &Runtime,
    w: &World,
    http: &Http,
    cast: &Cast,
    shared: &Shared,
    method: &str,
    route: &str,
    caller: Caller,
) -> Call {
    let mut dev = device_of(w, cast, caller);
    let token = (caller != Caller::Anonymous).then(|| dev.token.clone());
    let job = match route {
        r if r.contains("{id}") && r.starts_with("/api/v1/work-orders") => {
            let job = moved_job(w, cast);
            if r.ends_with("/reopen") {
                w.store
                    .office_transition(job.id, StatusAction::Cancel, None)
                    .unwrap();
            }
            Some(job)
        }
        _ => None,
    };
    let mut path = route.to_owned();
    let (mut headers, mut body) = (vec![], None);
    match (method, route) {
        ("POST", "/api/v1/auth/login") => {
            let password = if caller == Caller::Anonymous {
                "wrong-password"
            } else {
                common::PASSWORD
            };
            let device_id = if caller == Caller::Revoked {
                dev.id().to_string()
            } else {
                uuid::Uuid::now_v7().to_string()
            };
            (headers, body) = json_body(json!({"username": cast.user(caller).username,
                "password": password, "device_id": device_id, "device_name": "tablet"}));
        }
        ("POST", "/api/v1/web/session") => {
            let password = if caller == Caller::Anonymous {
                "wrong-password"
            } else {
                common::PASSWORD
            };
            (headers, body) =
                json_body(json!({"username": cast.user(caller).username, "password": password}));
        }
        ("POST", "/api/v1/sync/push") => {
            let job = moved_job(w, cast);
            let op = dev.set(job.id, "diagnosis", json!("Fan motor seized"), None);
            (headers, body) = json_body(serde_json::to_value(dev.request(vec![op])).unwrap());
        }
        (_, "/api/v1/blobs/{sha256}") => {
            let sha = if method == "PATCH" {
                let bytes = format!("chunk {}", uuid::Uuid::now_v7()).into_bytes();
                let call = patch_chunk(&sha256_hex(&bytes), "", &bytes);
                (headers, body) = (call.headers, call.body);
                sha256_hex(&bytes)
            } else {
                shared.photo_sha.clone()
            };
            path = path.replace("{sha256}", &sha);
        }
        ("POST", "/api/v1/blobs/{sha256}/finish") => {
            let bytes = format!("blob {}", uuid::Uuid::now_v7()).into_bytes();
            let uploader = match caller {
                Caller::Revoked | Caller::Anonymous => w.device(&cast.alice).token,
                _ => dev.token.clone(),
            };
            let sha = sha256_hex(&bytes);
            let (s, b) = rt.block_on(http.send(patch_chunk(&sha, &uploader, &bytes)));
            assert_eq!(s, 204, "{b}");
            path = path.replace("{sha256}", &sha);
        }
        ("POST", "/api/v1/users") => {
            (headers, body) =
                json_body(json!({"username": format!("tech-{}", uuid::Uuid::now_v7()),
                "name": "Wei Zhang", "role": "technician", "password": common::PASSWORD}));
        }
        ("POST", "/api/v1/customers") => {
            (headers, body) = json_body(json!({"name": "Quay Street Bakery"}));
        }
        ("PATCH", "/api/v1/customers/{id}") => {
            path = path.replace("{id}", &w.customer.id.to_string());
            (headers, body) = json_body(json!({"notes": "Side door"}));
        }
        ("POST", "/api/v1/assets") => {
            (headers, body) =
                json_body(json!({"customer_id": w.customer.id, "model": "Daikin FTXM25"}));
        }
        ("PATCH", "/api/v1/assets/{id}") => {
            path = path.replace("{id}", &w.asset.id.to_string());
            (headers, body) = json_body(json!({"serial": "DK25-1"}));
        }
        ("POST", "/api/v1/work-orders") => {
            (headers, body) = json_body(
                json!({"customer_id": w.customer.id, "job_type": "repair", "problem": "Noisy"}),
            );
        }
        ("POST", "/api/v1/work-orders/import") => {
            (headers, body) = json_body(
                json!([{"customer_id": w.customer.id, "job_type": "repair", "problem": "Leak"}]),
            );
        }
        ("GET", "/api/v1/work-orders/{id}") => {
            // Reading the shared job (its record holds the photo).
            path = path.replace("{id}", &shared.job.id.to_string());
        }
        (_, r) if r.starts_with("/api/v1/work-orders/{id}") => {
            let job = job.as_ref().unwrap();
            path = path.replace("{id}", &job.id.to_string());
            let payload = match r.rsplit('/').next().unwrap() {
                "assign" => Some(json!({"username": "bob"})),
                "reschedule" => Some(json!({"appointment_start": "2026-11-23T09:00:00Z",
                    "appointment_end": "2026-11-23T11:00:00Z"})),
                "{id}" => Some(json!({"priority": "urgent"})),
                "complaints" => Some(json!({"summary": "Left packaging behind"})),
                "quality-reviews" if method == "POST" => Some(json!({"marks": [
                    {"item": "appointment_confirmed", "mark": "pass"},
                    {"item": "shoe_covers", "mark": "pass"},
                    {"item": "site_cleaned", "mark": "pass"},
                    {"item": "fault_explained", "mark": "fail", "comment": "Not explained"}]})),
                _ => None,
            };
            if let Some(p) = payload {
                (headers, body) = json_body(p);
            }
        }
        ("POST", "/api/v1/callbacks/{id}/calls") => {
            path = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
            (headers, body) = json_body(json!({"reached": true, "outcome": "satisfied"}));
        }
        (_, r) if r.starts_with("/api/v1/complaints/{id}") => {
            let job = moved_job(w, cast);
            let new = NewComplaint {
                summary: "Arrived two hours late".into(),
                owner_id: None,
                deadline: None,
            };
            let c = w.store.open_complaint(cast.dana.id, job.id, &new).unwrap();
            path = path.replace("{id}", &c.complaint.id.to_string());
            if method == "PATCH" {
                (headers, body) = json_body(json!({"owner_id": cast.ada.id}));
            } else if r.ends_with("/resolve") {
                (headers, body) = json_body(json!({"resolution": "Apologised; visit fee waived"}));
            }
        }
        ("POST", "/api/v1/conflicts/{id}/resolve") => {
            let job = moved_job(w, cast);
            let conflict = conflict_on(w, cast, job.id);
            path = path.replace("{id}", &conflict);
            (headers, body) = json_body(json!({"keep": "Capacitor failed"}));
        }
        _ => {}
    }
    Call {
        method: method.parse().unwrap(),
        path,
        token,
        headers,
        body,
    }
}
