//! The HTTP edge on loopback (the real router served on 127.0.0.1 with connection info, a
//! real HTTP client): every refusal is `{code, message}` JSON, numbers out of range are
//! refused before they reach the store, and sign-in attempts are limited per user and per
//! address without locking anyone out for longer than the window.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::{Device, World, world};
use onsite_model::JobType;
use onsite_server::api::{AppState, BODY_LIMIT, router};
use onsite_server::limits::{Bucket, LoginLimits};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The router served on loopback, as `serve` does (with the peer address).
async fn serve(w: &World, limits: Option<LoginLimits>) -> String {
    let blobs = Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap());
    let mut state = AppState::new(w.store.clone(), blobs, w.clock.clone());
    if let Some(limits) = limits {
        state = state.with_login_limits(limits);
    }
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        headers,
        body,
    }
}

/// A refusal: this status, this code, JSON, and a message that says something.
fn refused(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    let ct = a
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "{ct}: {}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    let message = a.body["message"].as_str().unwrap_or_default();
    assert!(message.len() > 20, "a message that helps: {}", a.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn framework_refusals_are_json_that_says_what_to_do() {
    let w = world();
    let base = serve(&w, None).await;
    let http = reqwest::Client::new();
    let dana = w.device(&w.dana);
    let auth = format!("Bearer {}", dana.token);
    let send = |method: Method, path: &str| {
        http.request(method, format!("{base}{path}"))
            .header("authorization", &auth)
    };

    let a = answer(send(Method::GET, "/api/v1/nowhere").send().await.unwrap()).await;
    refused(&a, 404, "not_found");
    assert!(a.body["message"].as_str().unwrap().contains("openapi.json"));

    let a = answer(
        send(Method::DELETE, "/api/v1/work-orders")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 405, "method_not_allowed");
    assert!(a.headers.contains_key("allow"), "the Allow header stays");
    let message = a.body["message"].as_str().unwrap();
    assert!(
        message.contains("GET") && message.contains("POST"),
        "{message}"
    );

    // A path segment that percent-decodes to bytes that are not UTF-8.
    let a = answer(
        send(Method::GET, "/api/v1/work-orders/%FF%FE")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_request");

    // Raw bodies over the limit (the import and the office steps read bytes, not JSON).
    let big = vec![b'x'; BODY_LIMIT + 1];
    let a = answer(
        send(Method::POST, "/api/v1/work-orders/import")
            .header("content-type", "text/csv")
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 413, "too_large");
    let job = w.job(JobType::Repair, Some(&w.alice));
    let a = answer(
        send(
            Method::POST,
            &format!("/api/v1/work-orders/{}/cancel", job.id),
        )
        .body(big)
        .send()
        .await
        .unwrap(),
    )
    .await;
    refused(&a, 413, "too_large");

    // Extractor refusals: query, body shape, body syntax, content type, ids.
    let a = answer(
        send(Method::GET, "/api/v1/work-orders?status=sleeping")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_query");
    let a = answer(
        send(Method::POST, "/api/v1/customers")
            .json(&json!({"name": 7}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 422, "invalid_body");
    let a = answer(
        send(Method::POST, "/api/v1/customers")
            .header("content-type", "application/json")
            .body("{\"name\":")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_json");
    let a = answer(
        send(Method::POST, "/api/v1/customers")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 415, "unsupported_media_type");
    let a = answer(
        send(Method::GET, "/api/v1/work-orders/42")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_id");

    // HEAD answers keep their empty body: a blob's 404 carries Upload-Offset.
    let a = answer(
        send(Method::HEAD, &format!("/api/v1/blobs/{}", "ab".repeat(32)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.headers["upload-offset"], "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn numbers_out_of_range_are_refused_at_the_edge_and_store_nothing() {
    let w = world();
    let base = serve(&w, None).await;
    let http = reqwest::Client::new();
    let job = w.job(JobType::Repair, Some(&w.alice));
    let mut alice = w.device(&w.alice);
    let before = w.store.snapshot(&alice.principal).unwrap().checksum;
    let get = |path: &str, token: &str| {
        http.get(format!("{base}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .send()
    };

    // 2^63 used to wrap to a negative seq and replay every change.
    let a = answer(
        get("/api/v1/sync/pull?cursor=9223372036854775808", &alice.token)
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "cursor_out_of_range");
    let a = answer(
        get(
            "/api/v1/sync/pull?cursor=18446744073709551616",
            &alice.token,
        )
        .await
        .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_query");
    let a = answer(
        get("/api/v1/sync/pull?cursor=-1", &alice.token)
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_query");
    let a = answer(
        get("/api/v1/sync/pull?limit=1001", &alice.token)
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "limit_out_of_range");
    let a = answer(
        get("/api/v1/sync/pull?limit=4294967296", &alice.token)
            .await
            .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_query");
    let a = answer(
        get(
            "/api/v1/sync/pull?cursor=9223372036854775807&limit=1000",
            &alice.token,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "the largest stored seq is fine");
    assert_eq!(a.body["changes"], json!([]));

    let dana = w.device(&w.dana);
    let a = answer(
        get(
            "/api/v1/work-orders?from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z",
            &dana.token,
        )
        .await
        .unwrap(),
    )
    .await;
    refused(&a, 400, "bad_period");

    // Seqs and versions in a push body.
    let push = |dev: &mut Device, seq: Option<u64>, base: Option<u64>| {
        dev.seq = 0;
        let op = dev.set(job.id, "diagnosis", json!("x"), None);
        let mut body = serde_json::to_value(dev.request(vec![op])).unwrap();
        if let Some(seq) = seq {
            body["ops"][0]["device_seq"] = json!(seq);
        }
        if let Some(base) = base {
            body["ops"][0]["base_version"] = json!(base);
        }
        body
    };
    for (body, code) in [
        (push(&mut alice, Some(1 << 63), None), "seq_out_of_range"),
        (push(&mut alice, Some(0), None), "seq_out_of_range"),
        (
            push(&mut alice, None, Some(u64::MAX)),
            "version_out_of_range",
        ),
    ] {
        let a = answer(
            http.post(format!("{base}/api/v1/sync/push"))
                .header("authorization", format!("Bearer {}", alice.token))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        refused(&a, 400, code);
    }

    // Chunk offsets and ranges of blobs.
    let sha = "cd".repeat(32);
    for offset in ["18446744073709551616", "-1", "52428801"] {
        let a = answer(
            http.patch(format!("{base}/api/v1/blobs/{sha}"))
                .header("authorization", format!("Bearer {}", alice.token))
                .header("upload-offset", offset)
                .header("chunk-sha256", "00".repeat(32))
                .body("abc")
                .send()
                .await
                .unwrap(),
        )
        .await;
        refused(&a, 400, "bad_offset");
    }
    for range in [
        "bytes=99999999999999999999-",
        "bytes=9223372036854775808-",
        "bytes=9-3",
    ] {
        let a = answer(
            http.get(format!("{base}/api/v1/blobs/{sha}"))
                .header("authorization", format!("Bearer {}", dana.token))
                .header("range", range)
                .send()
                .await
                .unwrap(),
        )
        .await;
        refused(&a, 400, "bad_range");
    }

    assert_eq!(
        w.store.snapshot(&alice.principal).unwrap().checksum,
        before,
        "nothing stored"
    );
}

fn login_body(username: &str, password: &str) -> Value {
    json!({"username": username, "password": password, "device_id": uuid::Uuid::now_v7(), "device_name": "tablet"})
}

async fn sign_in(http: &reqwest::Client, base: &str, username: &str, password: &str) -> Answer {
    answer(
        http.post(format!("{base}/api/v1/auth/login"))
            .json(&login_body(username, password))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_attempts_are_limited_per_user_and_address_for_a_window_only() {
    let w = world();
    let limits = LoginLimits {
        user_address: Bucket::new(3, 60),
        user: Bucket::new(5, 60),
        address: Bucket::new(8, 60),
        hash_concurrency: Some(2),
    };
    let base = serve(&w, Some(limits)).await;
    let here = client_from("127.0.0.1");
    let elsewhere = client_from("127.0.0.2");
    let far = client_from("127.0.0.3");

    // Three wrong passwords from one address, then even the right one waits.
    for _ in 0..3 {
        refused(
            &sign_in(&here, &base, "alice", "wrong-password").await,
            401,
            "bad_credentials",
        );
    }
    let a = sign_in(&here, &base, "alice", common::PASSWORD).await;
    refused(&a, 429, "too_many_attempts");
    let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(a.body["message"].as_str().unwrap().contains("alice"));

    // The same user from another address is not locked out by the first one.
    let a = sign_in(&elsewhere, &base, "alice", common::PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Nor is another user at the first address.
    let a = sign_in(&here, &base, "bob", common::PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // Unknown users count like real ones: the answer does not tell them apart.
    for _ in 0..3 {
        refused(
            &sign_in(&far, &base, "mallory", "guess-guess").await,
            401,
            "bad_credentials",
        );
    }
    refused(
        &sign_in(&far, &base, "mallory", "guess-guess").await,
        429,
        "too_many_attempts",
    );

    // Alice from every address together: 5 attempts (4 used so far, from two addresses).
    refused(
        &sign_in(&far, &base, "alice", "wrong-password").await,
        401,
        "bad_credentials",
    );
    let a = sign_in(&far, &base, "alice", common::PASSWORD).await;
    refused(&a, 429, "too_many_attempts");

    // The window passes: one attempt comes back per period, and the right password works.
    w.clock.advance_ms(60_000);
    let a = sign_in(&here, &base, "alice", common::PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // One address for every username: 8 attempts, whoever they are for.
    let crowd = client_from("127.0.0.4");
    for i in 0..8 {
        refused(
            &sign_in(&crowd, &base, &format!("user{i}"), "guess-guess").await,
            401,
            "bad_credentials",
        );
    }
    let a = sign_in(&crowd, &base, "dana", common::PASSWORD).await;
    refused(&a, 429, "too_many_attempts");
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("from this address")
    );
    w.clock.advance_ms(60_000);
    let a = sign_in(&crowd, &base, "dana", common::PASSWORD).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_sign_ins_queue_for_the_hashers_and_all_finish() {
    let w = world();
    let limits = LoginLimits {
        hash_concurrency: Some(1),
        ..LoginLimits::default()
    };
    let base = serve(&w, Some(limits)).await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let base = base.clone();
            tokio::spawn(async move {
                let http = client_from(&format!("127.0.1.{}", i + 1));
                let (user, password) = if i % 2 == 0 {
                    ("alice", common::PASSWORD)
                } else {
                    ("bob", "wrong-password")
                };
                sign_in(&http, &base, user, password).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(
            tokio::time::timeout(Duration::from_secs(120), t)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        16
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        16
    );
}
