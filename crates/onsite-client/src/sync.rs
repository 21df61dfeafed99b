//! Sync with the server: push unacknowledged ops in order, then pull pages of changes until
//! caught up. Safe to interrupt at any point: every step stores its result atomically, an
//! acknowledged op is never sent again as new, and the pull cursor only moves with the data.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use onsite_model::hlc::{Hlc, HlcClock};
use onsite_model::ops::Op;
use onsite_model::time::{Timestamp, format_ts};
use onsite_model::wire::{
    ErrorBody, LoginRequest, LoginResponse, MAX_PUSH_OPS, OpResult, PROTOCOL_VERSION, PullResponse,
    PushRequest, PushResponse, RowKind, page_checksum,
};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::records::{apply_op, load_top, store_row};
use crate::replica::{Replica, meta, set_meta};

/// How hard to try before giving up on a transient failure (connection refused or cut,
/// timeout, 5xx, 429).
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            first_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum SyncProgress {
    Pushing {
        sent: u64,
        total: u64,
    },
    Pulling {
        rows: u64,
        cursor: u64,
    },
    Retrying {
        attempt: u32,
        wait_ms: u64,
        reason: String,
    },
    /// Sending photo and signature bytes: `sent` of `total` bytes of file `file_index`
    /// (1-based) of `files`.
    Uploading {
        sha256: String,
        sent: u64,
        total: u64,
        file_index: u64,
        files: u64,
    },
}

#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncReport {
    pub pushed: u64,
    pub applied: u64,
    pub merged: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub pulled_rows: u64,
    pub pull_pages: u64,
    /// Request bodies sent, blob chunks included.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Blobs the server confirmed holding during this sync.
    pub blobs_uploaded: u64,
    /// Blobs that could not be sent (local file missing or damaged), with why: kept on the
    /// device, tried again next sync.
    pub blob_problems: Vec<(String, String)>,
    pub retries: u32,
    pub duration_ms: u64,
    /// Why ops were rejected, by device_seq: shown to the technician.
    pub rejections: Vec<(u64, String)>,
}

#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    pub server_url: Option<String>,
    pub username: Option<String>,
    pub signed_in: bool,
    pub pending_ops: u64,
    pub pull_cursor: u64,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    /// Server time minus this device's clock, from the last exchange.
    pub server_skew_ms: Option<i64>,
}

/// Why a sync stopped. The ops stay in the log either way.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("not signed in; run `onsite login` first")]
    NotSignedIn,
    #[error(
        "cannot reach the server at {url} ({detail}); your changes are kept on this device and will sync later"
    )]
    Unreachable { url: String, detail: String },
    #[error("the server refused the sign-in or the device token ({message}); sign in again")]
    Unauthorized { message: String },
    #[error("the server refused the request: {message} ({code})")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the server sent a damaged page (checksum mismatch); it will be fetched again")]
    DamagedPage,
    #[error(transparent)]
    Local(#[from] Error),
}

impl SyncError {
    pub fn code(&self) -> &str {
        match self {
            SyncError::NotSignedIn => "not_signed_in",
            SyncError::Unreachable { .. } => "server_unreachable",
            SyncError::Unauthorized { .. } => "unauthorized",
            SyncError::Refused { code, .. } => code,
            SyncError::DamagedPage => "damaged_page",
            SyncError::Local(e) => e.code(),
        }
    }
}

/// The HTTP side, shared by login, sync and blob transfer.
pub(crate) struct Http {
    pub(crate) client: Client,
    pub(crate) base: String,
    pub(crate) retry: RetryPolicy,
}

enum Attempt {
    Done(Response),
    Transient(String),
}

impl Http {
    pub(crate) fn new(base: &str, retry: RetryPolicy) -> Result<Http, SyncError> {
        let client = Client::builder()
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("onsite/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Unreachable {
                url: base.into(),
                detail: e.to_string(),
            })?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            retry,
        })
    }

    /// Sends with retries on transient failures; returns the successful response or the
    /// server's refusal.
    pub(crate) fn send(
        &self,
        build: impl Fn(&Client, &str) -> RequestBuilder,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<Response, SyncError> {
        let resp = self.send_any(build, report, progress)?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(refusal(resp))
        }
    }

    /// Sends with retries on transient failures; returns whatever else the server answered
    /// (a 404 or 409 the caller reads headers from).
    pub(crate) fn send_any(
        &self,
        build: impl Fn(&Client, &str) -> RequestBuilder,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<Response, SyncError> {
        let mut backoff = self.retry.first_backoff;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            let outcome = match build(&self.client, &self.base).send() {
                Err(e) => Attempt::Transient(describe(&e)),
                Ok(resp)
                    if resp.status().is_server_error()
                        || resp.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    Attempt::Transient(format!("server answered {}", resp.status()))
                }
                Ok(resp) => Attempt::Done(resp),
            };
            match outcome {
                Attempt::Done(resp) => return Ok(resp),
                Attempt::Transient(why) => {
                    last = why;
                    if attempt == self.retry.attempts {
                        break;
                    }
                    report.retries += 1;
                    progress(SyncProgress::Retrying {
                        attempt,
                        wait_ms: backoff.as_millis() as u64,
                        reason: last.clone(),
                    });
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(self.retry.max_backoff);
                }
            }
        }
        Err(SyncError::Unreachable {
            url: self.base.clone(),
            detail: last,
        })
    }
}

pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or no network".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}

pub(crate) fn refusal(resp: Response) -> SyncError {
    let status = resp.status();
    let body: Option<ErrorBody> = resp.json().ok();
    let (code, message) = match body {
        Some(b) => (b.code, b.message),
        None => (
            "http_".to_owned() + status.as_str(),
            status.canonical_reason().unwrap_or("error").to_owned(),
        ),
    };
    if status == StatusCode::UNAUTHORIZED {
        SyncError::Unauthorized { message }
    } else {
        SyncError::Refused {
            status: status.as_u16(),
            code,
            message,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) url: String,
    pub(crate) token: String,
    epoch: Option<String>,
}

impl Replica {
    /// Signs this device in: the server registers it for the user and returns a device
    /// token, kept in the replica.
    pub fn login(
        &mut self,
        server_url: &str,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<LoginResponse, SyncError> {
        let http = Http::new(
            server_url,
            RetryPolicy {
                attempts: 2,
                ..RetryPolicy::default()
            },
        )?;
        let req = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: self.device_id(),
            device_name: device_name.to_owned(),
        };
        let mut report = SyncReport::default();
        let resp = http.send(
            |c, base| c.post(format!("{base}/api/v1/auth/login")).json(&req),
            &mut report,
            &mut |_| {},
        )?;
        let login: LoginResponse = resp.json().map_err(|e| SyncError::Refused {
            status: 200,
            code: "bad_response".into(),
            message: e.to_string(),
        })?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(Error::from)?;
        let previous_user: Option<String> = tx
            .query_row("SELECT user_id FROM sync_state WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(Error::from)?;
        if previous_user
            .as_deref()
            .is_some_and(|u| u != login.user.id.to_string())
        {
            return Err(SyncError::Refused {
                status: 409,
                code: "other_user".into(),
                message: format!(
                    "this replica belongs to another user; use a separate data folder to sign in as {}",
                    login.user.username
                ),
            });
        }
        tx.execute(
            "UPDATE sync_state SET server_url = ?1, username = ?2, user_id = ?3, token = ?4, last_error = NULL WHERE id = 1",
            params![http.base, login.user.username, login.user.id.to_string(), login.token],
        )
        .map_err(Error::from)?;
        store_row(
            &tx,
            RowKind::User,
            &login.user.id.to_string(),
            Some(&serde_json::to_value(&login.user).map_err(Error::from)?),
            0,
        )?;
        note_epoch(&tx, &login.epoch)?;
        tx.commit().map_err(Error::from)?;
        Ok(login)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let pending = self.pending_op_count()?;
        Ok(self.conn.query_row(
            "SELECT server_url, username, token IS NOT NULL, pull_cursor, last_attempt_at, last_success_at, last_error, server_skew_ms
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncStatus {
                    server_url: r.get(0)?,
                    username: r.get(1)?,
                    signed_in: r.get(2)?,
                    pending_ops: pending,
                    pull_cursor: r.get::<_, i64>(3)? as u64,
                    last_attempt_at: r.get(4)?,
                    last_success_at: r.get(5)?,
                    last_error: r.get(6)?,
                    server_skew_ms: r.get(7)?,
                })
            },
        )?)
    }

    /// Push then pull until caught up. Progress is reported as it goes; the outcome (or the
    /// error) is stored in the sync status.
    pub fn sync(
        &mut self,
        retry: RetryPolicy,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let now = format_ts(&self.clock.now());
        self.conn
            .execute(
                "UPDATE sync_state SET last_attempt_at = ?1 WHERE id = 1",
                [&now],
            )
            .map_err(Error::from)?;
        let mut report = SyncReport::default();
        let result = self.sync_inner(retry, &mut report, progress);
        report.duration_ms = started.elapsed().as_millis() as u64;
        let error = result.as_ref().err().map(|e| e.to_string());
        let done_at = format_ts(&self.clock.now());
        self.conn
            .execute(
                "UPDATE sync_state SET last_error = ?1, last_success_at = CASE WHEN ?1 IS NULL THEN ?2 ELSE last_success_at END WHERE id = 1",
                params![error, done_at],
            )
            .map_err(Error::from)?;
        result.map(|()| report)
    }

    pub(crate) fn session(&self) -> Result<Session, SyncError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT server_url, token, epoch FROM sync_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(Error::from)?;
        match row {
            Some((Some(url), Some(token), epoch)) => Ok(Session { url, token, epoch }),
            _ => Err(SyncError::NotSignedIn),
        }
    }

    fn sync_inner(
        &mut self,
        retry: RetryPolicy,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<(), SyncError> {
        let session = self.session()?;
        let http = Http::new(&session.url, retry)?;
        self.push_pending_ops(&http, &session, report, progress)?;
        // Bytes before pulling, so a completion's evidence reaches the server in this sync
        // and the pull already carries the job released from waiting for it.
        self.upload_pending_blobs(&http, &session, report, progress)?;
        let restarted = self.pull_until_caught_up(&http, &session, report, progress)?;
        if restarted {
            // The server was restored from a backup: send again what it lost, then pull.
            let session = self.session()?;
            self.push_pending_ops(&http, &session, report, progress)?;
            self.recheck_uploaded_blobs()?;
            self.upload_pending_blobs(&http, &session, report, progress)?;
            self.pull_until_caught_up(&http, &session, report, progress)?;
        }
        Ok(())
    }

    fn pushed_seq(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT pushed_seq FROM sync_state WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    fn ops_after(&self, seq: u64, limit: usize) -> Result<Vec<Op>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT op FROM oplog WHERE device_seq > ?1 ORDER BY device_seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![seq as i64, limit as i64], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }

    fn push_pending_ops(
        &mut self,
        http: &Http,
        session: &Session,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<(), SyncError> {
        let total = self.pending_op_count()?;
        let mut sent = 0u64;
        let mut gap_retries = 0;
        loop {
            let from = self.pushed_seq()?;
            let ops = self.ops_after(from, MAX_PUSH_OPS)?;
            if ops.is_empty() {
                return Ok(());
            }
            let body = serde_json::to_vec(&PushRequest {
                protocol: PROTOCOL_VERSION,
                device_id: self.device_id(),
                ops,
            })
            .map_err(Error::from)?;
            report.bytes_sent += body.len() as u64;
            let result = http.send(
                |c, base| {
                    c.post(format!("{base}/api/v1/sync/push"))
                        .bearer_auth(&session.token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                },
                report,
                progress,
            );
            let resp = match result {
                Ok(resp) => resp,
                Err(SyncError::Refused { code, .. }) if code == "seq_gap" && gap_retries < 2 => {
                    // The server holds fewer ops than we thought (restored from a backup):
                    // every op is still in the log, so start again from what it has.
                    gap_retries += 1;
                    self.rewind_push()?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let bytes = resp.bytes().map_err(|e| SyncError::Unreachable {
                url: http.base.clone(),
                detail: describe(&e),
            })?;
            report.bytes_received += bytes.len() as u64;
            let push: PushResponse =
                serde_json::from_slice(&bytes).map_err(|e| SyncError::Refused {
                    status: 200,
                    code: "bad_response".into(),
                    message: e.to_string(),
                })?;
            let newly = self.store_push_outcomes(&push, from, report)?;
            sent += newly;
            progress(SyncProgress::Pushing {
                sent: sent.min(total),
                total,
            });
            if newly == 0 {
                // The server acknowledged nothing new: do not loop forever.
                return Err(SyncError::Refused {
                    status: 200,
                    code: "no_progress".into(),
                    message: format!("the server did not acknowledge op {}", from + 1),
                });
            }
        }
    }

    /// Stores the server's answers and moves `pushed_seq`, in one transaction.
    fn store_push_outcomes(
        &mut self,
        push: &PushResponse,
        from: u64,
        report: &mut SyncReport,
    ) -> Result<u64> {
        let now_ms = self.clock.now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for o in &push.outcomes {
            tx.execute(
                "INSERT INTO op_outcome (device_seq, result) VALUES (?1, ?2)
                 ON CONFLICT (device_seq) DO UPDATE SET result = excluded.result",
                params![o.device_seq as i64, serde_json::to_string(&o.result)?],
            )?;
            if o.device_seq > from {
                match &o.result {
                    OpResult::Applied { .. } => report.applied += 1,
                    OpResult::Merged { .. } => report.merged += 1,
                    OpResult::Conflict { .. } => report.conflicts += 1,
                    OpResult::Rejected { reason, .. } => {
                        report.rejected += 1;
                        report.rejections.push((o.device_seq, reason.clone()));
                    }
                }
            }
        }
        let last: u64 = meta(&tx, "last_device_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let acked = push.acked_device_seq.min(last);
        tx.execute(
            "UPDATE sync_state SET pushed_seq = max(pushed_seq, ?1) WHERE id = 1",
            [acked as i64],
        )?;
        observe_server(&tx, push.server_hlc, push.server_time, now_ms)?;
        tx.commit()?;
        let newly = acked.saturating_sub(from);
        report.pushed += newly;
        Ok(newly)
    }

    fn rewind_push(&mut self) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET pushed_seq = 0 WHERE id = 1", [])?;
        Ok(())
    }

    /// Pulls pages until the server has nothing more. Returns true when the server's epoch
    /// changed (restored from a backup) and the device started over.
    fn pull_until_caught_up(
        &mut self,
        http: &Http,
        session: &Session,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<bool, SyncError> {
        loop {
            let cursor: u64 = self
                .conn
                .query_row("SELECT pull_cursor FROM sync_state WHERE id = 1", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(Error::from)? as u64;
            let resp = http.send(
                |c, base| {
                    c.get(format!("{base}/api/v1/sync/pull?cursor={cursor}&limit=500"))
                        .bearer_auth(&session.token)
                },
                report,
                progress,
            )?;
            let bytes = resp.bytes().map_err(|e| SyncError::Unreachable {
                url: http.base.clone(),
                detail: describe(&e),
            })?;
            report.bytes_received += bytes.len() as u64;
            let page: PullResponse =
                serde_json::from_slice(&bytes).map_err(|e| SyncError::Refused {
                    status: 200,
                    code: "bad_response".into(),
                    message: e.to_string(),
                })?;
            if page_checksum(&page.changes) != page.checksum {
                return Err(SyncError::DamagedPage);
            }
            if session.epoch.as_deref().is_some_and(|e| e != page.epoch) {
                self.start_over(&page.epoch)?;
                return Ok(true);
            }
            report.pull_pages += 1;
            report.pulled_rows += page.changes.len() as u64;
            self.store_page(&page)?;
            progress(SyncProgress::Pulling {
                rows: report.pulled_rows,
                cursor: page.cursor,
            });
            if !page.has_more {
                return Ok(false);
            }
        }
    }

    /// Stores one page atomically: the rows, then this device's still-pending ops re-applied
    /// on top of the rows the page replaced, then the cursor.
    fn store_page(&mut self, page: &PullResponse) -> Result<()> {
        let now_ms = self.clock.now_ms();
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut replaced: HashSet<(RowKind, String)> = HashSet::new();
        for change in &page.changes {
            store_row(
                &tx,
                change.kind,
                &change.id,
                change.row.as_ref(),
                change.server_seq,
            )?;
            replaced.insert((change.kind, change.id.clone()));
        }
        let confirmed = page.acked_device_seq;
        let mut stmt =
            tx.prepare("SELECT op FROM oplog WHERE device_seq > ?1 ORDER BY device_seq")?;
        let pending: Vec<Op> = stmt
            .query_map([confirmed as i64], |r| r.get::<_, String>(0))?
            .map(|r| Ok(serde_json::from_str(&r?)?))
            .collect::<Result<_>>()?;
        drop(stmt);
        for op in &pending {
            let target = (RowKind::of_entity(op.entity), op.entity_id.clone());
            // A job that left this device takes its records with it; nothing goes back.
            let job_here = load_top::<serde_json::Value>(
                &tx,
                RowKind::WorkOrder,
                &op.work_order_id.to_string(),
            )?
            .is_some();
            if job_here && replaced.contains(&target) {
                // The server's row replaced our view; our pending change goes back on top.
                // If the server's state no longer allows it, the server will decide when the
                // op arrives: the local view shows the server's state meanwhile.
                let sp = tx.savepoint()?;
                if apply_op(&sp, op).is_ok() {
                    sp.commit()?;
                }
            }
        }
        tx.execute(
            "UPDATE sync_state SET pull_cursor = ?1, confirmed_seq = max(confirmed_seq, ?2) WHERE id = 1",
            params![page.cursor as i64, confirmed as i64],
        )?;
        observe_server(&tx, page.server_hlc, page.server_time, now_ms)?;
        tx.commit()?;
        Ok(())
    }

    /// After a server restore: forget the server's rows' positions and push everything
    /// again (the server applies each op once; what it still has returns its stored outcome).
    fn start_over(&mut self, epoch: &str) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("UPDATE sync_state SET pull_cursor = 0, pushed_seq = 0, confirmed_seq = 0, epoch = ?1 WHERE id = 1", [epoch])?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the stored sync session (tests: a revoked or forged token).
    pub fn set_token(&mut self, token: &str) -> Result<()> {
        self.conn
            .execute("UPDATE sync_state SET token = ?1 WHERE id = 1", [token])?;
        Ok(())
    }

    /// Ops the server has answered, with their outcome.
    pub fn op_outcome(&self, device_seq: u64) -> Result<Option<OpResult>> {
        let r: Option<String> = self
            .conn
            .query_row(
                "SELECT result FROM op_outcome WHERE device_seq = ?1",
                [device_seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        Ok(r.map(|s| serde_json::from_str(&s)).transpose()?)
    }
}

fn note_epoch(conn: &rusqlite::Connection, epoch: &str) -> Result<()> {
    let current: Option<String> =
        conn.query_row("SELECT epoch FROM sync_state WHERE id = 1", [], |r| {
            r.get(0)
        })?;
    match current {
        None => {
            conn.execute("UPDATE sync_state SET epoch = ?1 WHERE id = 1", [epoch])?;
        }
        Some(e) if e != epoch => {
            conn.execute(
                "UPDATE sync_state SET epoch = ?1, pull_cursor = 0, pushed_seq = 0, confirmed_seq = 0 WHERE id = 1",
                [epoch],
            )?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Advances the HLC by the server's and records how far this device's clock is off.
fn observe_server(
    conn: &rusqlite::Connection,
    server_hlc: Hlc,
    server_time: Timestamp,
    now_ms: i64,
) -> Result<()> {
    let mut hlc = HlcClock::resume(
        meta(conn, "hlc")?
            .and_then(|s| s.parse().ok())
            .unwrap_or_default(),
    );
    hlc.observe(server_hlc, now_ms);
    set_meta(conn, "hlc", &hlc.last().to_string())?;
    conn.execute(
        "UPDATE sync_state SET server_skew_ms = ?1 WHERE id = 1",
        [server_time.timestamp_millis() - now_ms],
    )?;
    Ok(())
}
