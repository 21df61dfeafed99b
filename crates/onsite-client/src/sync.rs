//! Sync with the server: push unacknowledged ops in order, then pull pages of changes until
//! caught up. Safe to interrupt at any point: every step stores its result atomically, an
//! acknowledged op is never sent again as new, and the pull cursor only moves with the data.

use std::collections::HashSet;
use std::time::Instant;

use onsite_model::time::format_ts;
use onsite_model::wire::{
    LoginRequest, LoginResponse, MAX_PUSH_OPS, OpResult, PROTOCOL_VERSION, PullResponse,
    PushRequest, PushResponse, RowKind, page_checksum,
};
use rusqlite::TransactionBehavior;

use crate::error::{Error, Result};
use crate::exchange::{HttpExchange, SyncExchange};
use crate::records::{apply_op, load_top, store_row};
use crate::replica::Replica;
pub use crate::sync_state::SyncStatus;
use crate::sync_state::{
    Session, advance_pushed_seq, last_device_seq, move_cursor, note_epoch, observe_server,
    pending_ops_after, signed_in_user_id, store_op_outcome, store_sign_in,
};
use crate::transport::Http;
pub use crate::transport::{RetryPolicy, SyncError, SyncProgress, SyncReport};

/// Rows asked for per pull page.
const PULL_PAGE_ROWS: u32 = 500;

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
        self.login_over(&mut HttpExchange(&http), username, password, device_name)
    }

    /// [`Replica::login`] over any exchange with the server.
    pub fn login_over(
        &mut self,
        exchange: &mut dyn SyncExchange,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<LoginResponse, SyncError> {
        let req = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: self.device_id(),
            device_name: device_name.to_owned(),
        };
        let mut report = SyncReport::default();
        let login = exchange.login(&req, &mut report, &mut |_| {})?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(Error::from)?;
        let previous_user = signed_in_user_id(&tx)?;
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
        store_sign_in(
            &tx,
            exchange.server(),
            &login.user.username,
            &login.user.id.to_string(),
            &login.token,
        )?;
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

    /// Push then pull until caught up. Progress is reported as it goes; the outcome (or the
    /// error) is stored in the sync status.
    pub fn sync(
        &mut self,
        retry: RetryPolicy,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport, SyncError> {
        self.sync_recorded(progress, |replica, report, progress| {
            let session = replica.session()?;
            let http = Http::new(&session.url, retry)?;
            replica.sync_inner(&mut HttpExchange(&http), Some(&http), report, progress)
        })
    }

    /// [`Replica::sync`] over any exchange with the server: the same push, pull and restart
    /// after a server restore, without blob bytes (they travel over HTTP only and stay
    /// pending).
    pub fn sync_over(
        &mut self,
        exchange: &mut dyn SyncExchange,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport, SyncError> {
        self.sync_recorded(progress, |replica, report, progress| {
            replica.sync_inner(exchange, None, report, progress)
        })
    }

    /// Runs one sync and stores its attempt and outcome in the sync status.
    fn sync_recorded(
        &mut self,
        progress: &mut dyn FnMut(SyncProgress),
        run: impl FnOnce(
            &mut Self,
            &mut SyncReport,
            &mut dyn FnMut(SyncProgress),
        ) -> Result<(), SyncError>,
    ) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let now = format_ts(&self.clock.now());
        self.note_sync_attempt(&now)?;
        let mut report = SyncReport::default();
        let result = run(self, &mut report, progress);
        report.duration_ms = started.elapsed().as_millis() as u64;
        let error = result.as_ref().err().map(|e| e.to_string());
        let done_at = format_ts(&self.clock.now());
        self.note_sync_outcome(error.as_deref(), &done_at)?;
        result.map(|()| report)
    }

    /// Push, blobs (when the exchange has an HTTP side for them), pull.
    fn sync_inner(
        &mut self,
        exchange: &mut dyn SyncExchange,
        blobs: Option<&Http>,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<(), SyncError> {
        let session = self.session()?;
        self.push_pending_ops(exchange, &session, report, progress)?;
        // Bytes before pulling, so a completion's evidence reaches the server in this sync
        // and the pull already carries the job released from waiting for it.
        if let Some(http) = blobs {
            self.upload_pending_blobs(http, &session, report, progress)?;
        }
        let restarted = self.pull_until_caught_up(exchange, &session, report, progress)?;
        if restarted {
            // The server was restored from a backup: send again what it lost, then pull.
            let session = self.session()?;
            self.push_pending_ops(exchange, &session, report, progress)?;
            if let Some(http) = blobs {
                self.recheck_uploaded_blobs()?;
                self.upload_pending_blobs(http, &session, report, progress)?;
            }
            self.pull_until_caught_up(exchange, &session, report, progress)?;
        }
        Ok(())
    }

    fn push_pending_ops(
        &mut self,
        exchange: &mut dyn SyncExchange,
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
            let req = PushRequest {
                protocol: PROTOCOL_VERSION,
                device_id: self.device_id(),
                ops,
            };
            let push = match exchange.push(&session.token, &req, report, progress) {
                Ok(push) => push,
                Err(SyncError::Refused { code, .. }) if code == "seq_gap" && gap_retries < 2 => {
                    // The server holds fewer ops than we thought (restored from a backup):
                    // every op is still in the log, so start again from what it has.
                    gap_retries += 1;
                    self.rewind_push()?;
                    continue;
                }
                Err(e) => return Err(e),
            };
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
            store_op_outcome(&tx, o.device_seq, &o.result)?;
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
        let acked = push.acked_device_seq.min(last_device_seq(&tx)?);
        advance_pushed_seq(&tx, acked)?;
        observe_server(&tx, push.server_hlc, push.server_time, now_ms)?;
        tx.commit()?;
        let newly = acked.saturating_sub(from);
        report.pushed += newly;
        Ok(newly)
    }

    /// Pulls pages until the server has nothing more. Returns true when the server's epoch
    /// changed (restored from a backup) and the device started over.
    fn pull_until_caught_up(
        &mut self,
        exchange: &mut dyn SyncExchange,
        session: &Session,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<bool, SyncError> {
        loop {
            let cursor = self.pull_cursor()?;
            let page = exchange.pull(&session.token, cursor, PULL_PAGE_ROWS, report, progress)?;
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
        let pending = pending_ops_after(&tx, confirmed)?;
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
        move_cursor(&tx, page.cursor, confirmed)?;
        observe_server(&tx, page.server_hlc, page.server_time, now_ms)?;
        tx.commit()?;
        Ok(())
    }
}
