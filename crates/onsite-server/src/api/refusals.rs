//! Every refusal the server sends is `ErrorBody` JSON (`{code, message}`), including the
//! ones the framework produces before a handler runs: an unknown path, a method a path does
//! not serve, a path segment that is not UTF-8, a body over the limit. Handlers and
//! extractors answer with `Error` already; this layer rewrites whatever else arrives as
//! plain text or with no body, keeping its status and headers; a 405 names the methods the
//! path answers.

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::routes::ENDPOINTS;
use crate::error::{Error, Refusal};

/// How much of a framework's plain-text refusal is kept in the message.
const DETAIL_LIMIT: usize = 240;

pub async fn not_found(method: Method, uri: axum::http::Uri) -> Error {
    Error::not_found(
        "not_found",
        format!(
            "no endpoint {method} {}; the endpoints are listed at /api/v1/openapi.json",
            uri.path()
        ),
    )
}

/// Rewrites a 4xx/5xx answer that is not JSON into `ErrorBody` JSON.
pub async fn json_refusals(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    // HEAD answers carry no body (a blob's 404 + Upload-Offset is the upload protocol).
    if !(status.is_client_error() || status.is_server_error()) || method == Method::HEAD {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let detail = match to_bytes(body, 4 * DETAIL_LIMIT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    // The router adds `Allow` outside this layer; the route table says the same.
    let allow = route.map(|route| {
        let methods: Vec<&str> = ENDPOINTS
            .iter()
            .filter(|e| e.path == route)
            .map(|e| e.method.as_str())
            .collect();
        methods.join(", ")
    });
    let err = refusal_for(status, &method, &path, allow.as_deref(), &detail);
    let mut rewritten = err.into_response();
    // The framework's status stands (e.g. 408, 431), with its headers and a JSON body.
    *rewritten.status_mut() = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let (_, body) = rewritten.into_parts();
    Response::from_parts(parts, Body::new(body))
}

fn refusal_for(
    status: StatusCode,
    method: &Method,
    path: &str,
    allow: Option<&str>,
    detail: &str,
) -> Error {
    let detail: String = detail.chars().take(DETAIL_LIMIT).collect();
    let because = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    match status {
        StatusCode::METHOD_NOT_ALLOWED => Error::refused(
            Refusal::MethodNotAllowed,
            "method_not_allowed",
            match allow {
                Some(allow) => format!("{path} does not answer {method}; use {allow}"),
                None => format!("{path} does not answer {method}; see /api/v1/openapi.json"),
            },
        ),
        StatusCode::NOT_FOUND => Error::not_found(
            "not_found",
            format!(
                "no endpoint {method} {path}; the endpoints are listed at /api/v1/openapi.json"
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => Error::too_large(
            "too_large",
            format!(
                "the request body is larger than {} bytes; send less per request (split an import into several)",
                super::BODY_LIMIT
            ),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::refused(
            Refusal::UnsupportedMediaType,
            "unsupported_media_type",
            format!("the body's Content-Type is not accepted here{because}"),
        ),
        s if s.is_server_error() => Error::Internal(format!("{method} {path}: {status}{because}")),
        StatusCode::BAD_REQUEST => Error::bad_request(
            "bad_request",
            format!("the request could not be read{because}; check the path, query and headers"),
        ),
        _ => Error::refused(
            Refusal::from_status(status),
            "refused",
            format!(
                "{method} {path} was refused: {}{because}",
                status.canonical_reason().unwrap_or("refused")
            ),
        ),
    }
}
