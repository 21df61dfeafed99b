//! The office console, served by the server itself: `/` is its page, `/console/...` its
//! assets, and any other `/console/...` path without a file extension is the page again (the
//! console routes in the browser). The files are `ui/dist-console/site`, embedded in a
//! release binary by `rust-embed` (a debug build reads the folder at run time, so a console
//! rebuilt during development is served without compiling the server). `rust-embed` rather
//! than `include_dir`: it tolerates a missing folder (`allow_missing`), so the server compiles
//! and its tests run before the console is built, and `/` then says how to build it.
//!
//! Every answer carries a strict Content-Security-Policy (scripts, styles, fonts and
//! connections from this origin only; images also as `data:`/`blob:`; no frames, no plugins,
//! no `<base>`), `nosniff`, and no referrer beyond this origin. Hashed assets
//! (`/console/assets/…`) are cached for a year as immutable; the page is revalidated each time.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::error::Error;

#[derive(Embed)]
#[folder = "../../ui/dist-console/site/"]
#[allow_missing = true]
struct Site;

/// The console's page in the build.
const PAGE: &str = "console.html";

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// What a server built without the console shows at `/`.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Onsite console not built</title></head>
<body><h1>The office console is not built into this server</h1>
<p>The API is running (see <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>).
To serve the console, build it and then the server:</p>
<pre>cd ui &amp;&amp; npm run build:console
cargo build --release -p onsite-server</pre>
<p>(<code>scripts/demo</code> and <code>scripts/package</code> do both.)</p>
<h1 lang="zh-CN">此服务器未包含办公室控制台</h1>
<p lang="zh-CN">请先在 ui 目录运行 <code>npm run build:console</code>，再编译服务器。</p>
</body></html>
"#;

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn with_security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

fn file(path: &str) -> Option<Response> {
    let found = Site::get(path)?;
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let res = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, cache),
        ],
        found.data.into_owned(),
    )
        .into_response();
    Some(with_security_headers(res))
}

fn page() -> Response {
    file(PAGE).unwrap_or_else(|| {
        let res = (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            NOT_BUILT,
        )
            .into_response();
        with_security_headers(res)
    })
}

/// Whether this server holds a console build.
pub fn is_built() -> bool {
    Site::get(PAGE).is_some()
}

/// `GET /`.
pub async fn index() -> Response {
    page()
}

/// `GET /console/{*path}`: an asset, or the page for a path the console routes itself.
pub async fn asset(Path(path): Path<String>) -> Response {
    if let Some(res) = file(&path) {
        return res;
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return Error::not_found(
            "not_found",
            format!("the console has no file {path:?}; reload the page"),
        )
        .into_response();
    }
    page()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(
            content_type("assets/console-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("console.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("assets/x.woff2"), "font/woff2");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
