//! Blob transfer: photo and signature bytes travel apart from the op log, content-addressed
//! by sha256.
//!
//! Upload is resumable: `HEAD` tells how much of a blob the server holds (or that it has it
//! all, so nothing is sent), chunks go up from there with their own sha256, and `finish`
//! makes the server hash the whole file. A cut connection is retried with the sync's
//! backoff and resumes from the server's offset, never from zero. Bytes are never removed
//! from the device here: a blob is only marked confirmed ([`Replica::blob_confirmed`]) once
//! the server says it holds it in full.
//!
//! Download is lazy: [`Replica::fetch_blob`] brings a blob another device took when it is
//! first needed, resuming a `.part` file with `Range` and verifying the hash before the file
//! is moved into place.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use onsite_model::time::format_ts;
use onsite_model::wire::{CHUNK_SHA256, UPLOAD_OFFSET, is_sha256_hex};
use reqwest::StatusCode;
use reqwest::blocking::Response;
use rusqlite::params;

use crate::blobs::{content_address, hash_file, media_type_of_file};
use crate::db::CachedSql;
use crate::error::{Error, Result};
use crate::replica::Replica;
use crate::sync_state::Session;
use crate::transport::{Http, RetryPolicy, SyncError, SyncProgress, SyncReport, describe, refusal};

/// Bytes per upload request: small enough that a cut costs little on a weak mobile link.
pub const UPLOAD_CHUNK_BYTES: usize = 256 * 1024;
/// Offset corrections tolerated for one blob before giving up (each is one round trip).
const MAX_OFFSET_CORRECTIONS: u32 = 32;

/// A blob this device still has to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingBlob {
    pub sha256: String,
    pub size_bytes: u64,
}

/// How one upload ended.
enum Sent {
    Confirmed,
    /// Could not be sent from here; kept and tried again next sync.
    Problem(String),
}

fn bad_response(message: impl Into<String>) -> SyncError {
    SyncError::Refused {
        status: 200,
        code: "bad_response".into(),
        message: message.into(),
    }
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::File {
        path: path.to_owned(),
        source,
    }
}

impl Replica {
    /// Blobs referenced by a photo or signature on this device that the server has not
    /// confirmed yet, oldest first.
    pub fn pending_blobs(&self) -> Result<Vec<PendingBlob>> {
        let mut stmt = self.conn.prepare(
            "SELECT b.sha256, b.size_bytes FROM blob b
              WHERE b.uploaded_at IS NULL
                AND EXISTS (SELECT 1 FROM job_record r
                             WHERE (r.kind = 'photo' AND (r.data ->> '$.sha256' = b.sha256
                                                          OR r.data ->> '$.thumb_sha256' = b.sha256))
                                OR (r.kind = 'signature' AND r.data ->> '$.png_sha256' = b.sha256))
              ORDER BY b.created_at, b.sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingBlob {
                sha256: r.get(0)?,
                size_bytes: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the server confirmed holding the blob, if it has.
    pub fn blob_uploaded_at(&self, sha256: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .one(
                "SELECT uploaded_at FROM blob WHERE sha256 = ?1",
                [sha256],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }

    /// The server holds `sha256` in full: from now on the device may let go of what it kept
    /// only until then (the photo pipeline's originals). This is the one place a
    /// confirmation lands.
    pub fn blob_confirmed(&self, sha256: &str) -> Result<()> {
        self.conn.exec(
            "UPDATE blob SET uploaded_at = ?2 WHERE sha256 = ?1 AND uploaded_at IS NULL",
            params![sha256, format_ts(&self.clock.now())],
        )?;
        self.on_blob_confirmed(sha256)
    }

    /// After a server restore: confirmations may refer to bytes the server lost, so every
    /// blob still on the device is checked again (the server answers `HEAD` for the ones it
    /// has; only the missing ones are sent).
    pub(crate) fn recheck_uploaded_blobs(&self) -> Result<()> {
        let shas: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT sha256 FROM blob WHERE uploaded_at IS NOT NULL")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for sha in shas {
            if self.blob_path(&sha).exists() {
                self.conn.exec(
                    "UPDATE blob SET uploaded_at = NULL WHERE sha256 = ?1",
                    [&sha],
                )?;
            }
        }
        Ok(())
    }

    /// Sends every pending blob. A blob that cannot be read here is reported and skipped;
    /// a server that cannot be reached stops the sync (everything stays queued).
    pub(crate) fn upload_pending_blobs(
        &mut self,
        http: &Http,
        session: &Session,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<(), SyncError> {
        let pending = self.pending_blobs()?;
        let files = pending.len() as u64;
        for (i, blob) in pending.iter().enumerate() {
            match self.upload_blob(http, session, blob, i as u64 + 1, files, report, progress)? {
                Sent::Confirmed => {
                    self.blob_confirmed(&blob.sha256)?;
                    report.blobs_uploaded += 1;
                }
                Sent::Problem(why) => report.blob_problems.push((blob.sha256.clone(), why)),
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn upload_blob(
        &self,
        http: &Http,
        session: &Session,
        blob: &PendingBlob,
        file_index: u64,
        files: u64,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<Sent, SyncError> {
        let sha = &blob.sha256;
        let path = self.blob_path(sha);
        let url = |base: &str| format!("{base}/api/v1/blobs/{sha}");
        let (actual, size) = match hash_file(&path) {
            Ok(v) => v,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(Sent::Problem(format!(
                    "the file {} is missing on this device",
                    path.display()
                )));
            }
            Err(e) => return Err(file_error(&path)(e).into()),
        };
        if actual != *sha {
            // Never sent and never deleted: a person has to look at it.
            return Ok(Sent::Problem(format!(
                "the file {} is damaged (its bytes hash to {actual})",
                path.display()
            )));
        }
        let mut file = File::open(&path).map_err(file_error(&path))?;
        let mut restarts = 0;
        'upload: loop {
            let head = http.send_any(
                |c, base| c.head(url(base)).bearer_auth(&session.token),
                report,
                progress,
            )?;
            let mut offset = match head.status() {
                StatusCode::OK => return Ok(Sent::Confirmed),
                StatusCode::NOT_FOUND => header_u64(&head, UPLOAD_OFFSET).unwrap_or(0),
                _ => return Err(refusal(head)),
            };
            let mut corrections = 0;
            let mut chunk = vec![0u8; UPLOAD_CHUNK_BYTES];
            while offset < size {
                progress(SyncProgress::Uploading {
                    sha256: sha.clone(),
                    sent: offset,
                    total: size,
                    file_index,
                    files,
                });
                let n = (size - offset).min(UPLOAD_CHUNK_BYTES as u64) as usize;
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_exact(&mut chunk[..n]))
                    .map_err(file_error(&path))?;
                let body = &chunk[..n];
                let chunk_sha = content_address(body);
                report.bytes_sent += n as u64;
                let resp = http.send_any(
                    |c, base| {
                        c.patch(url(base))
                            .bearer_auth(&session.token)
                            .header(UPLOAD_OFFSET, offset)
                            .header(CHUNK_SHA256, &chunk_sha)
                            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                            .body(body.to_vec())
                    },
                    report,
                    progress,
                )?;
                match resp.status() {
                    StatusCode::NO_CONTENT => {
                        offset = header_u64(&resp, UPLOAD_OFFSET)
                            .ok_or_else(|| bad_response("a chunk answer without Upload-Offset"))?;
                    }
                    // Someone (or an earlier attempt) completed it meanwhile.
                    StatusCode::OK => return Ok(Sent::Confirmed),
                    // A retried chunk the server had already taken, or a stale offset: carry
                    // on from where the server stands.
                    StatusCode::CONFLICT if corrections < MAX_OFFSET_CORRECTIONS => {
                        corrections += 1;
                        offset = header_u64(&resp, UPLOAD_OFFSET)
                            .ok_or_else(|| bad_response("a 409 without Upload-Offset"))?;
                    }
                    _ => return Err(refusal(resp)),
                }
            }
            progress(SyncProgress::Uploading {
                sha256: sha.clone(),
                sent: size,
                total: size,
                file_index,
                files,
            });
            let done = http.send_any(
                |c, base| {
                    c.post(format!("{}/finish", url(base)))
                        .bearer_auth(&session.token)
                },
                report,
                progress,
            )?;
            match done.status() {
                StatusCode::OK => return Ok(Sent::Confirmed),
                // The server's copy did not verify and was discarded (e.g. bytes damaged on
                // the way): once more from the start.
                StatusCode::UNPROCESSABLE_ENTITY | StatusCode::NOT_FOUND if restarts < 1 => {
                    restarts += 1;
                    continue 'upload;
                }
                _ => return Err(refusal(done)),
            }
        }
    }

    /// The local path of a blob, downloading it first when this device does not have it
    /// (a photo taken on another device). A cut download resumes from its `.part` file;
    /// the bytes are verified against the address before they are moved into place.
    pub fn fetch_blob(&self, sha256: &str) -> Result<PathBuf, SyncError> {
        self.fetch_blob_with(sha256, RetryPolicy::default())
    }

    pub fn fetch_blob_with(&self, sha256: &str, retry: RetryPolicy) -> Result<PathBuf, SyncError> {
        if !is_sha256_hex(sha256) {
            return Err(Error::Invalid(format!(
                "{sha256:?} is not a blob address (64 lower-case hex digits)"
            ))
            .into());
        }
        let dest = self.blob_path(sha256);
        if dest.exists() {
            return Ok(dest);
        }
        let session = self.session()?;
        let http = Http::new(&session.url, retry.clone())?;
        let dir = dest.parent().expect("blob dir");
        fs::create_dir_all(dir).map_err(file_error(dir))?;
        let part = dest.with_extension("part");
        let mut report = SyncReport::default();
        let mut last = String::new();
        for _ in 0..retry.attempts.max(1) {
            let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            let mut resp = http.send_any(
                |c, base| {
                    let req = c
                        .get(format!("{base}/api/v1/blobs/{sha256}"))
                        .bearer_auth(&session.token);
                    if have > 0 {
                        req.header(reqwest::header::RANGE, format!("bytes={have}-"))
                    } else {
                        req
                    }
                },
                &mut report,
                &mut |_| {},
            )?;
            let append = match resp.status() {
                StatusCode::PARTIAL_CONTENT => {
                    let starts_at_have = resp
                        .headers()
                        .get(reqwest::header::CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with(&format!("bytes {have}-")));
                    if !starts_at_have {
                        let _ = fs::remove_file(&part);
                        last = "the server answered another range than asked".into();
                        continue;
                    }
                    true
                }
                StatusCode::OK => false,
                // The part file already holds everything (or more): verify it below.
                StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => {
                    if let Some(path) = self.verify_download(sha256, &part, &dest)? {
                        return Ok(path);
                    }
                    continue;
                }
                _ => return Err(refusal(resp)),
            };
            let mut out = OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(&part)
                .map_err(file_error(&part))?;
            match resp.copy_to(&mut out) {
                Ok(_) => {
                    out.sync_all().map_err(file_error(&part))?;
                    drop(out);
                    if let Some(path) = self.verify_download(sha256, &part, &dest)? {
                        return Ok(path);
                    }
                    last = "the downloaded bytes did not match their address".into();
                }
                // Cut mid-body: what arrived stays in the part file; resume from there.
                Err(e) => {
                    let _ = out.flush();
                    last = describe(&e);
                }
            }
        }
        Err(SyncError::Unreachable {
            url: session.url,
            detail: format!("downloading blob {sha256}: {last}"),
        })
    }

    /// Moves a verified part file into place and records the blob as held by the server;
    /// a part file that does not verify is removed. `None` when it did not verify.
    fn verify_download(&self, sha256: &str, part: &Path, dest: &Path) -> Result<Option<PathBuf>> {
        let (actual, size) = hash_file(part).map_err(file_error(part))?;
        if actual != sha256 {
            fs::remove_file(part).map_err(file_error(part))?;
            return Ok(None);
        }
        fs::rename(part, dest).map_err(file_error(dest))?;
        let now = format_ts(&self.clock.now());
        self.conn.exec(
            "INSERT INTO blob (sha256, size_bytes, media_type, created_at, uploaded_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (sha256) DO UPDATE SET uploaded_at = COALESCE(uploaded_at, excluded.uploaded_at)",
            params![sha256, size as i64, media_type_of_file(dest), now],
        )?;
        Ok(Some(dest.to_owned()))
    }
}
