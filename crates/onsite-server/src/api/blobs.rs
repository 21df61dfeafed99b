//! Blob endpoints: resumable, content-addressed uploads and ranged downloads. Thin: parse
//! the headers, call the blob store and the catalogue on the blocking pool, map errors.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onsite_model::wire::{BlobInfo, CHUNK_SHA256, MAX_CHUNK_BYTES, UPLOAD_OFFSET};

use super::{AppState, Auth, Device, blocking, bounds};
use crate::blobs::{BlobError, BlobState, Finished, check_address, parse_range, put_chunk};
use crate::error::{Error, Refusal, Result};

/// The refusal as `ErrorBody` JSON, with the header a client needs to carry on.
fn refusal(e: BlobError) -> Response {
    let mut extra = HeaderMap::new();
    let err = match &e {
        BlobError::BadAddress(_) => Error::bad_request("bad_address", e.to_string()),
        BlobError::OffsetMismatch { current } => {
            extra.insert(UPLOAD_OFFSET, HeaderValue::from(*current));
            Error::conflict("offset_mismatch", e.to_string())
        }
        BlobError::ChunkMismatch { .. } => {
            Error::unprocessable("chunk_hash_mismatch", e.to_string())
        }
        BlobError::HashMismatch { .. } => Error::unprocessable("hash_mismatch", e.to_string()),
        BlobError::TooLarge { .. } => Error::too_large("blob_too_large", e.to_string()),
        BlobError::ChunkTooLarge { .. } => Error::too_large("chunk_too_large", e.to_string()),
        BlobError::NotFound(_) => Error::not_found("unknown_blob", e.to_string()),
        BlobError::RangeNotSatisfiable { size, .. } => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                extra.insert(header::CONTENT_RANGE, v);
            }
            Error::refused(
                Refusal::RangeNotSatisfiable,
                "range_not_satisfiable",
                e.to_string(),
            )
        }
        BlobError::Io(_) => Error::Internal(e.to_string()),
    };
    (extra, err).into_response()
}

async fn run<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, BlobError> + Send + 'static,
) -> std::result::Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(refusal(e)),
        Err(e) => Err(Error::Internal(format!("blocking task: {e}")).into_response()),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// 200 + `Content-Length` when stored; 404 + `Upload-Offset` (bytes held) otherwise.
pub async fn head(
    State(s): State<AppState>,
    Device(_): Device,
    Path(sha): Path<String>,
) -> Response {
    let blobs = s.blobs.clone();
    let id = sha.clone();
    let state = match run(move || blobs.state(&id)).await {
        Ok(state) => state,
        Err(resp) => return resp,
    };
    match state {
        BlobState::Complete { size } => {
            // Also heals a catalogue that missed a blob (stopped between store and record).
            let store = s.store.clone();
            if let Err(e) = blocking(move || store.record_blob(&sha, size)).await {
                return e.into_response();
            }
            (
                StatusCode::OK,
                [
                    (header::CONTENT_LENGTH, HeaderValue::from(size)),
                    (
                        UPLOAD_OFFSET.parse().expect("header name"),
                        HeaderValue::from(size),
                    ),
                ],
            )
                .into_response()
        }
        BlobState::Partial { offset } => (
            StatusCode::NOT_FOUND,
            [(UPLOAD_OFFSET, HeaderValue::from(offset))],
        )
            .into_response(),
    }
}

/// Appends one chunk at `Upload-Offset`, verified against `Chunk-Sha256`: 204 with the new
/// `Upload-Offset`, or 200 + [`BlobInfo`] when the server already holds the whole blob.
pub async fn patch(
    State(s): State<AppState>,
    Device(_): Device,
    Path(sha): Path<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Error::too_large(
                "chunk_too_large",
                format!("send chunks of at most {MAX_CHUNK_BYTES} bytes"),
            )
            .into_response();
        }
        Err(r) => return Error::bad_request("bad_body", r.body_text()).into_response(),
    };
    let offset = match bounds::upload_offset(header_str(&headers, UPLOAD_OFFSET)) {
        Ok(offset) => offset,
        Err(e) => return e.into_response(),
    };
    let Some(chunk_sha) = header_str(&headers, CHUNK_SHA256).map(str::to_owned) else {
        return Error::bad_request(
            "missing_chunk_hash",
            "send the chunk's sha256 (hex) as a Chunk-Sha256 header",
        )
        .into_response();
    };
    let blobs = s.blobs.clone();
    let id = sha.clone();
    let len = body.len() as u64;
    let outcome = run(move || {
        let next = put_chunk(blobs.as_ref(), &id, offset, &chunk_sha, &body)?;
        Ok((next, blobs.state(&id)?))
    })
    .await;
    match outcome {
        Ok((next, BlobState::Complete { size })) => (
            StatusCode::OK,
            [(UPLOAD_OFFSET, HeaderValue::from(next))],
            Json(BlobInfo {
                sha256: sha,
                size,
                newly_stored: false,
            }),
        )
            .into_response(),
        Ok((next, BlobState::Partial { .. })) => {
            s.metrics.record_upload(len);
            (
                StatusCode::NO_CONTENT,
                [(UPLOAD_OFFSET, HeaderValue::from(next))],
            )
                .into_response()
        }
        Err(resp) => resp,
    }
}

/// Verifies the whole upload and stores it; releases the jobs that were waiting for it.
pub async fn finish(
    State(s): State<AppState>,
    Device(who): Device,
    Path(sha): Path<String>,
) -> Response {
    let blobs = s.blobs.clone();
    let id = sha.clone();
    let finished = match run(move || blobs.finish(&id)).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    if let Finished::Stored { size } = finished {
        s.metrics.record_blob_stored(size);
    }
    let store = s.store.clone();
    let id = sha.clone();
    let size = finished.size();
    // Only the upload that stored the bytes makes them this device's: finishing a blob
    // someone else stored proves nothing about holding it.
    let stored_now = matches!(finished, Finished::Stored { .. });
    let device = who.device_id;
    let released = match blocking(move || {
        if stored_now {
            store.record_blob_upload(&id, size, device)
        } else {
            store.record_blob(&id, size)
        }
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if !released.is_empty() {
        tracing::info!(blob = %sha, jobs = released.len(), "evidence arrived");
    }
    Json(BlobInfo {
        sha256: sha,
        size,
        newly_stored: matches!(finished, Finished::Stored { .. }),
    })
    .into_response()
}

/// The blob, or the one `Range` asked for (206). Technicians only read blobs of their jobs.
pub async fn download(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    if let Err(e) = check_address(&sha) {
        return Ok(refusal(e));
    }
    let store = s.store.clone();
    let id = sha.clone();
    if !blocking(move || store.may_read_blob(&who, &id)).await? {
        return Err(Error::forbidden(
            "forbidden_blob",
            "this blob belongs to no photo or signature on your jobs",
        ));
    }
    let blobs = s.blobs.clone();
    let range = header_str(&headers, header::RANGE.as_str()).map(str::to_owned);
    bounds::range(range.as_deref())?;
    let id = sha.clone();
    let read = run(move || {
        let size = match blobs.state(&id)? {
            BlobState::Complete { size } => size,
            BlobState::Partial { .. } => return Err(BlobError::NotFound(id)),
        };
        let range = parse_range(range.as_deref(), size)?;
        let (start, len) = range.unwrap_or((0, size));
        let bytes = blobs.read_range(&id, start, len)?;
        Ok((size, range.map(|_| start), bytes))
    })
    .await;
    let (size, partial_from, bytes) = match read {
        Ok(v) => v,
        Err(resp) => return Ok(resp),
    };
    let n = bytes.len() as u64;
    s.metrics.record_download(n);
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Some(start) = partial_from {
        let end = (start + n).saturating_sub(1);
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(resp)
}
