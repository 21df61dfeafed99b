//! The office console's sessions over real HTTP, on every backend: the cookie's flags, the
//! office API through the cookie, sign-out ending the session on the server, a new session
//! id at every sign-in, cross-site and CSRF refusals, expiry, technicians refused and the
//! sign-in limits shared with devices.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{PASSWORD, TestBackend, World, world_on};
use onsite_model::Clock;
use onsite_server::api::{AppState, router};
use onsite_server::config::ConsoleSettings;
use onsite_server::limits::{Bucket, LoginLimits};
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

/// The router on loopback with `console` settings and `limits`; the runtime serves it while
/// the test drives it with a blocking client from its own thread (store calls block).
struct Server {
    _rt: Runtime,
    base: String,
    host: String,
    client: Client,
}

fn serve_with(w: &World, console: ConsoleSettings, limits: LoginLimits) -> Server {
    let rt = Runtime::new().unwrap();
    let blobs = Arc::new(onsite_server::blobs::FsBlobStore::open(w._dir.path()).unwrap());
    let state = AppState::new(w.store.clone(), blobs, w.clock.clone())
        .with_login_limits(limits)
        .with_console(console);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        _rt: rt,
        base: format!("http://{addr}"),
        host: addr.to_string(),
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

fn roomy() -> LoginLimits {
    let roomy = Bucket::new(100_000, 1);
    LoginLimits {
        user_address: roomy,
        user: roomy,
        address: roomy,
        hash_concurrency: None,
    }
}

fn serve(w: &World) -> Server {
    serve_with(w, ConsoleSettings::default(), roomy())
}

/// A signed-in console: its session id (the cookie's value), the whole `Set-Cookie` and the
/// CSRF token.
struct Console {
    id: String,
    set_cookie: String,
    csrf: String,
}

fn body(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    fn sign_in_raw(&self, username: &str, password: &str, cookie: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(self.url("/api/v1/web/session"))
            .header("origin", self.origin())
            .json(&json!({"username": username, "password": password}));
        if let Some(c) = cookie {
            req = req.header("cookie", format!("onsite_session={c}"));
        }
        req.send().unwrap()
    }

    fn sign_in(&self, username: &str) -> Console {
        self.sign_in_with(username, None)
    }

    fn sign_in_with(&self, username: &str, cookie: Option<&str>) -> Console {
        let res = self.sign_in_raw(username, PASSWORD, cookie);
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let (status, b) = body(res);
        assert_eq!(status, 200, "{b}");
        let id = set_cookie
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("onsite_session="))
            .unwrap_or_else(|| panic!("no session cookie in {set_cookie:?}"))
            .to_owned();
        Console {
            id,
            set_cookie,
            csrf: b["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A GET with the console's cookie.
    fn get(&self, c: &Console, path: &str) -> (u16, Value) {
        body(
            self.client
                .get(self.url(path))
                .header("cookie", format!("onsite_session={}", c.id))
                .send()
                .unwrap(),
        )
    }

    /// A request from the console's own page: cookie, CSRF token and this origin.
    fn send(
        &self,
        c: &Console,
        method: reqwest::Method,
        path: &str,
        b: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("cookie", format!("onsite_session={}", c.id))
            .header("x-csrf-token", &c.csrf)
            .header("origin", self.origin())
            .header("sec-fetch-site", "same-origin");
        if let Some(b) = b {
            req = req.json(&b);
        }
        body(req.send().unwrap())
    }
}

fn customers(w: &World) -> usize {
    w.store.list_customers().unwrap().len()
}

fn the_cookie_is_http_only_strict_and_opens_the_office_api<B: TestBackend>() {
    let w = world_on::<B>();
    let s = serve(&w);
    let c = s.sign_in("dana");
    let flags: Vec<&str> = c.set_cookie.split(';').map(str::trim).collect();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(
            flags.contains(&flag),
            "{flag} missing in {:?}",
            c.set_cookie
        );
    }
    assert!(!flags.contains(&"Secure"), "plain HTTP: {:?}", c.set_cookie);
    assert_eq!(c.id.len(), 64, "32 random bytes, hex");
    assert_eq!(c.csrf.len(), 64);
    assert_ne!(c.csrf, c.id);

    let (status, me) = s.get(&c, "/api/v1/web/session");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["username"], "dana");
    assert_eq!(me["csrf_token"], c.csrf.as_str());
    assert_eq!(me["idle_timeout_secs"], 7200);
    assert_eq!(me["expires_at"], "2026-11-22T20:00:00.000Z");

    // The office API answers the cookie as it answers a dispatcher's token.
    let (status, users) = s.get(&c, "/api/v1/users");
    assert_eq!(status, 200, "{users}");
    assert_eq!(users.as_array().unwrap().len(), 3);
    assert_eq!(s.get(&c, "/api/v1/work-orders").0, 200);
    assert_eq!(s.get(&c, "/api/v1/me").1["username"], "dana");
    let before = customers(&w);
    let (status, made) = s.send(
        &c,
        reqwest::Method::POST,
        "/api/v1/customers",
        Some(json!({"name": "Harbour Dental"})),
    );
    assert_eq!(status, 201, "{made}");
    assert_eq!(customers(&w), before + 1);

    // The sync endpoints are a device's: a cookie does not sign one in.
    let (status, refused) = s.get(&c, "/api/v1/sync/pull");
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = s.get(&c, "/api/v1/sync/snapshot");
    assert_eq!(status, 401);
}

fn the_cookie_is_secure_behind_tls<B: TestBackend>() {
    let w = world_on::<B>();
    let console = ConsoleSettings {
        secure_cookies: true,
        ..ConsoleSettings::default()
    };
    let s = serve_with(&w, console, roomy());
    let c = s.sign_in("dana");
    assert!(
        c.set_cookie.split(';').any(|f| f.trim() == "Secure"),
        "{:?}",
        c.set_cookie
    );
}

fn sign_out_ends_the_session_on_the_server<B: TestBackend>() {
    let w = world_on::<B>();
    let s = serve(&w);
    let c = s.sign_in("dana");
    let res = s
        .client
        .delete(s.url("/api/v1/web/session"))
        .header("cookie", format!("onsite_session={}", c.id))
        .header("x-csrf-token", &c.csrf)
        .header("origin", s.origin())
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let cleared = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("onsite_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie, replayed (a copy the browser did not forget), opens nothing.
    for path in [
        "/api/v1/web/session",
        "/api/v1/users",
        "/api/v1/work-orders",
    ] {
        let (status, b) = s.get(&c, path);
        assert_eq!(
            (status, b["code"].as_str()),
            (401, Some("session_ended")),
            "{path}: {b}"
        );
    }
    let (status, _) = s.send(&c, reqwest::Method::DELETE, "/api/v1/web/session", None);
    assert_eq!(status, 401, "signing out twice");
}

fn every_sign_in_makes_a_new_session_id<B: TestBackend>() {
    let w = world_on::<B>();
    let s = serve(&w);
    let first = s.sign_in("dana");
    let second = s.sign_in_with("dana", Some(&first.id));
    assert_ne!(first.id, second.id);
    assert_ne!(first.csrf, second.csrf);
    assert_eq!(
        s.get(&first, "/api/v1/users").0,
        401,
        "the replaced session ended"
    );
    assert_eq!(s.get(&second, "/api/v1/users").0, 200);

    // An id planted in the browser before sign-in (fixation) is never promoted.
    let planted = "ab".repeat(32);
    let signed = s.sign_in_with("dana", Some(&planted));
    assert_ne!(signed.id, planted);
    let planted = Console {
        id: planted,
        set_cookie: String::new(),
        csrf: String::new(),
    };
    assert_eq!(s.get(&planted, "/api/v1/users").0, 401);
    // Two browsers of the same dispatcher hold two sessions.
    let other = s.sign_in("dana");
    assert_eq!(s.get(&signed, "/api/v1/users").0, 200);
    assert_eq!(s.get(&other, "/api/v1/users").0, 200);
}

fn cross_site_and_unprotected_writes_are_refused<B: TestBackend>() {
    let w = world_on::<B>();
    let s = serve(&w);
    let c = s.sign_in("dana");
    let before = customers(&w);
    let post = |headers: &[(&str, &str)]| {
        let mut req = s
            .client
            .post(s.url("/api/v1/customers"))
            .header("cookie", format!("onsite_session={}", c.id))
            .json(&json!({"name": "Forged Ltd"}));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        body(req.send().unwrap())
    };
    let origin = s.origin();
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[
                ("x-csrf-token", &c.csrf),
                ("origin", "https://evil.example"),
            ],
            "cross_site",
        ),
        (
            &[("x-csrf-token", &c.csrf), ("sec-fetch-site", "cross-site")],
            "cross_site",
        ),
        (
            &[("x-csrf-token", &c.csrf), ("sec-fetch-site", "same-site")],
            "cross_site",
        ),
        (&[("x-csrf-token", &c.csrf)], "cross_site"),
        (&[("origin", &origin)], "csrf_missing"),
        (
            &[("origin", &origin), ("x-csrf-token", &"0".repeat(64))],
            "csrf_invalid",
        ),
    ];
    for (headers, code) in cases {
        let (status, b) = post(headers);
        assert_eq!(
            (status, b["code"].as_str()),
            (403, Some(code)),
            "{headers:?}: {b}"
        );
        assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()), "{b}");
    }
    assert_eq!(customers(&w), before, "nothing stored by a refused request");
    // A refused sign-out leaves the session alive.
    let res = s
        .client
        .delete(s.url("/api/v1/web/session"))
        .header("cookie", format!("onsite_session={}", c.id))
        .header("origin", "https://evil.example")
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    assert_eq!(s.get(&c, "/api/v1/web/session").0, 200);
    // Another site's page cannot sign the browser in either (login CSRF).
    let (status, b) = body(
        s.client
            .post(s.url("/api/v1/web/session"))
            .header("origin", "https://evil.example")
            .json(&json!({"username": "dana", "password": PASSWORD}))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, b["code"].as_str()),
        (403, Some("cross_site")),
        "{b}"
    );
    // A device's bearer request needs neither (and a cookie beside it changes nothing).
    let dev = w.device(&w.dana);
    let (status, b) = body(
        s.client
            .post(s.url("/api/v1/customers"))
            .header("authorization", format!("Bearer {}", dev.token))
            .header("cookie", format!("onsite_session={}", c.id))
            .json(&json!({"name": "Device Ltd"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{b}");
}

fn expired_sessions_are_refused<B: TestBackend>() {
    let w = world_on::<B>();
    let s = serve(&w);
    let start = w.clock.now();
    // Idle: two hours without a request end it.
    let idle = s.sign_in("dana");
    w.clock.set(start + chrono::Duration::minutes(119));
    assert_eq!(
        s.get(&idle, "/api/v1/users").0,
        200,
        "used within the idle time"
    );
    w.clock
        .set(start + chrono::Duration::minutes(119 + 120) + chrono::Duration::seconds(1));
    let (status, b) = s.get(&idle, "/api/v1/users");
    assert_eq!(
        (status, b["code"].as_str()),
        (401, Some("session_ended")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("expired"), "{b}");

    // Absolute: in use every hour, it still ends twelve hours after sign-in.
    let start = w.clock.now();
    let busy = s.sign_in("dana");
    for hour in 1..12 {
        w.clock.set(start + chrono::Duration::hours(hour));
        assert_eq!(s.get(&busy, "/api/v1/users").0, 200, "hour {hour}");
    }
    w.clock.set(start + chrono::Duration::hours(12));
    assert_eq!(s.get(&busy, "/api/v1/web/session").0, 401);
}

fn technicians_are_refused_the_console<B: TestBackend>() {
    let w = world_on::<B>();
    let s = serve(&w);
    let res = s.sign_in_raw("alice", PASSWORD, None);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no session for a technician"
    );
    let (status, b) = body(res);
    assert_eq!(
        (status, b["code"].as_str()),
        (403, Some("office_only")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("Onsite app"), "{b}");
    let (status, b) = body(s.sign_in_raw("alice", "not-her-password", None));
    assert_eq!(
        (status, b["code"].as_str()),
        (401, Some("bad_credentials")),
        "{b}"
    );
    let (status, b) = body(s.sign_in_raw("nobody", PASSWORD, None));
    assert_eq!(
        (status, b["code"].as_str()),
        (401, Some("bad_credentials")),
        "{b}"
    );
    // A device's token does not open a console session.
    let dev = w.device(&w.dana);
    let (status, _) = body(
        s.client
            .get(s.url("/api/v1/web/session"))
            .header("authorization", format!("Bearer {}", dev.token))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 401);
}

fn console_sign_in_shares_the_sign_in_limits<B: TestBackend>() {
    let w = world_on::<B>();
    let tight = Bucket::new(3, 3600);
    let limits = LoginLimits {
        user_address: tight,
        ..roomy()
    };
    let s = serve_with(&w, ConsoleSettings::default(), limits);
    for _ in 0..3 {
        assert_eq!(
            s.sign_in_raw("dana", "wrong-password", None)
                .status()
                .as_u16(),
            401
        );
    }
    let res = s.sign_in_raw("dana", PASSWORD, None);
    assert!(res.headers().get("retry-after").is_some());
    let (status, b) = body(res);
    assert_eq!(
        (status, b["code"].as_str()),
        (429, Some("too_many_attempts")),
        "{b}"
    );
}

for_each_backend!(
    the_cookie_is_http_only_strict_and_opens_the_office_api,
    the_cookie_is_secure_behind_tls,
    sign_out_ends_the_session_on_the_server,
    every_sign_in_makes_a_new_session_id,
    cross_site_and_unprotected_writes_are_refused,
    expired_sessions_are_refused,
    technicians_are_refused_the_console,
    console_sign_in_shares_the_sign_in_limits,
);

/// Only the session id's hash is stored: the SQLite file holds the hash, never the id.
#[test]
fn the_session_id_is_stored_only_hashed() {
    let w = world_on::<common::Sqlite>();
    let s = serve(&w);
    let c = s.sign_in("dana");
    let db = rusqlite::Connection::open(w._dir.path().join("onsite.db")).unwrap();
    let stored: Vec<String> = db
        .prepare("SELECT id_hash FROM web_sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored, vec![onsite_server::auth::token_hash(&c.id)]);
    drop(db);
    std::thread::sleep(Duration::from_millis(50));
    let mut bytes = Vec::new();
    for name in ["onsite.db", "onsite.db-wal"] {
        if let Ok(b) = std::fs::read(w._dir.path().join(name)) {
            bytes.extend(b);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains(&c.id),
        "the session id itself is not in the database"
    );
}

/// `/` is the console's page, or a page saying how to build it; either way under the strict
/// policy. A missing console file is a JSON 404, not the page.
#[test]
fn the_console_page_is_served_under_a_strict_policy() {
    let w = world_on::<common::Sqlite>();
    let s = serve(&w);
    let res = s.client.get(s.url("/")).send().unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let h = res.headers().clone();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing in {csp}");
    }
    assert_eq!(h["x-content-type-options"], "nosniff");
    let page = res.text().unwrap();
    if onsite_server::api::console::is_built() {
        assert!(page.contains("/console/assets/"), "{page}");
    } else {
        assert!(page.contains("npm run build:console"), "{page}");
    }
    let (status, b) = body(
        s.client
            .get(s.url("/console/assets/missing-1234.js"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, b["code"].as_str()),
        (404, Some("not_found")),
        "{b}"
    );
    let deep = s.client.get(s.url("/console/jobs")).send().unwrap();
    assert_eq!(deep.status().as_u16(), 200);
    assert!(
        deep.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}
