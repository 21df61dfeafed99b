//! Sync on its own thread with its own [`Replica`] on the same folder (SQLite WAL and the
//! busy timeout let it write beside the UI's connection): on demand, every few minutes while
//! the server answers, as soon as it answers again after being unreachable, and whenever the
//! live channel says the server has changes beyond the replica's cursor. The live channel is
//! held from the first successful sync on; while it is down the periodic sync carries on.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use onsite_client::{
    LiveChanges, LiveEvent, LiveOptions, Replica, ReplicaOptions, RetryPolicy, SyncError,
    SyncReport,
};

use crate::error::UiError;
use crate::host::Host;
use crate::wire::{AppSyncStatus, SyncDone, events};

/// How often to sync and to look for the server.
#[derive(Clone, Debug)]
pub struct SyncSchedule {
    /// Between syncs while the server answers.
    pub interval: Duration,
    /// Between reachability probes while it does not.
    pub probe_interval: Duration,
    pub retry: RetryPolicy,
    /// Hold the server's live channel while signed in (`None`: periodic sync only).
    pub live: Option<LiveOptions>,
}

impl Default for SyncSchedule {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5 * 60),
            probe_interval: Duration::from_secs(30),
            retry: RetryPolicy {
                attempts: 3,
                first_backoff: Duration::from_millis(300),
                max_backoff: Duration::from_secs(2),
                request_timeout: Duration::from_secs(30),
            },
            live: Some(LiveOptions::default()),
        }
    }
}

impl SyncSchedule {
    /// The default, with `ONSITE_SYNC_INTERVAL_SECS` applied when set.
    pub fn from_env() -> Self {
        let mut s = Self::default();
        if let Some(secs) = std::env::var("ONSITE_SYNC_INTERVAL_SECS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
        {
            s.interval = Duration::from_secs(secs);
            s.probe_interval = s.probe_interval.min(s.interval);
        }
        s
    }
}

type Reply = mpsc::Sender<Result<SyncReport, UiError>>;

enum Request {
    Sync(Option<Reply>),
    Live(LiveEvent),
    Stop,
}

#[derive(Default)]
pub struct SyncFlags {
    pub online: AtomicBool,
    pub syncing: AtomicBool,
    /// The live channel is open: changes arrive without waiting for the next periodic sync.
    pub live: AtomicBool,
}

pub struct BackgroundSync {
    requests: mpsc::Sender<Request>,
    flags: Arc<SyncFlags>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl BackgroundSync {
    /// Starts the sync thread on the replica in `dir` (already created by the caller).
    pub fn start(
        dir: PathBuf,
        schedule: SyncSchedule,
        host: Arc<dyn Host>,
    ) -> Result<BackgroundSync, UiError> {
        let replica = Replica::open(&dir, ReplicaOptions::default())?;
        let flags = Arc::new(SyncFlags::default());
        let (tx, rx) = mpsc::channel();
        let worker = Worker {
            replica,
            schedule,
            host,
            flags: flags.clone(),
            requests: tx.clone(),
            live: None,
        };
        let thread = std::thread::Builder::new()
            .name("onsite-sync".into())
            .spawn(move || worker.run(rx))
            .map_err(|e| UiError::new("io", format!("could not start the sync thread: {e}")))?;
        Ok(BackgroundSync {
            requests: tx,
            flags,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn flags(&self) -> &SyncFlags {
        &self.flags
    }

    /// Asks for a sync soon, without waiting for it.
    pub fn kick(&self) {
        let _ = self.requests.send(Request::Sync(None));
    }

    /// Runs a sync (after any in progress) and waits for its outcome.
    pub fn sync_now(&self) -> Result<SyncReport, UiError> {
        let (tx, rx) = mpsc::channel();
        self.requests
            .send(Request::Sync(Some(tx)))
            .map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?
    }

    /// Stops the thread after the sync in progress, if any.
    pub fn stop(&self) {
        let _ = self.requests.send(Request::Stop);
        if let Some(t) = self.thread.lock().expect("sync thread handle").take() {
            let _ = t.join();
        }
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stopped() -> UiError {
    UiError::new(
        "sync_stopped",
        "sync has stopped because the app is closing",
    )
}

struct Worker {
    replica: Replica,
    schedule: SyncSchedule,
    host: Arc<dyn Host>,
    flags: Arc<SyncFlags>,
    /// For the live channel's thread, which hands its reports to this worker.
    requests: mpsc::Sender<Request>,
    live: Option<LiveChanges>,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Request>) {
        loop {
            let online = self.flags.online.load(Ordering::SeqCst);
            let wait = if online {
                self.schedule.interval
            } else {
                self.schedule.probe_interval
            };
            match rx.recv_timeout(wait) {
                Ok(Request::Sync(reply)) => {
                    let outcome = self.sync();
                    if let Some(reply) = reply {
                        let _ = reply.send(outcome);
                    }
                }
                Ok(Request::Live(event)) => self.on_live(event),
                Ok(Request::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    let Ok(status) = self.replica.sync_status() else {
                        continue;
                    };
                    let Some(url) = status.server_url.filter(|_| status.signed_in) else {
                        continue;
                    };
                    if online || reachable(&url) {
                        let _ = self.sync();
                    }
                }
            }
        }
    }

    fn sync(&mut self) -> Result<SyncReport, UiError> {
        self.flags.syncing.store(true, Ordering::SeqCst);
        self.emit_status();
        let host = self.host.clone();
        let result = self.replica.sync(self.schedule.retry.clone(), &mut |p| {
            host.emit(events::SYNC_PROGRESS, json(&p));
        });
        let online = !matches!(
            result,
            Err(SyncError::Unreachable { .. }) | Err(SyncError::NotSignedIn)
        );
        self.flags.online.store(online, Ordering::SeqCst);
        self.flags.syncing.store(false, Ordering::SeqCst);
        match &result {
            Ok(_) => self.hold_live(),
            Err(SyncError::NotSignedIn | SyncError::Unauthorized { .. }) => self.drop_live(),
            Err(_) => {}
        }
        let result = result.map_err(UiError::from);
        // The log support reads: counts and codes only, never a token or a field's value.
        match &result {
            Ok(r) => tracing::info!(
                pushed = r.pushed,
                applied = r.applied,
                merged = r.merged,
                conflicts = r.conflicts,
                rejected = r.rejected,
                pulled_rows = r.pulled_rows,
                blobs_uploaded = r.blobs_uploaded,
                "sync done"
            ),
            Err(e) => tracing::warn!(code = %e.code, "sync failed: {}", e.message),
        }
        let done = match &result {
            Ok(report) => SyncDone::Done {
                report: report.clone(),
            },
            Err(error) => SyncDone::Failed {
                error: error.clone(),
            },
        };
        self.host.emit(events::SYNC_DONE, json(&done));
        self.emit_status();
        result
    }

    /// Opens the live channel unless it is open (or turned off).
    fn hold_live(&mut self) {
        let Some(options) = self.schedule.live.clone() else {
            return;
        };
        if self.live.is_some() {
            return;
        }
        let requests = self.requests.clone();
        let opened = self.replica.live_changes_with(options, move |event| {
            requests.send(Request::Live(event)).is_ok()
        });
        // Could not start: the periodic sync carries on, the next success tries again.
        self.live = opened.ok();
    }

    fn drop_live(&mut self) {
        self.live = None;
        self.set_live(false);
    }

    fn set_live(&self, live: bool) {
        if self.flags.live.swap(live, Ordering::SeqCst) != live {
            self.emit_status();
        }
    }

    /// A nudge syncs when the server is beyond this replica's cursor; the sync's done event
    /// makes the UI reload what it shows.
    fn on_live(&mut self, event: LiveEvent) {
        match event {
            LiveEvent::Change { seq, .. } => {
                self.flags.online.store(true, Ordering::SeqCst);
                self.set_live(true);
                if self.replica.is_behind(seq).unwrap_or(true) {
                    let _ = self.sync();
                }
            }
            LiveEvent::Down { .. } => self.set_live(false),
            LiveEvent::Ended(_) => self.drop_live(),
        }
    }

    fn emit_status(&self) {
        if let Ok(status) = self.replica.sync_status() {
            let s = AppSyncStatus {
                status,
                online: self.flags.online.load(Ordering::SeqCst),
                syncing: self.flags.syncing.load(Ordering::SeqCst),
                live: self.flags.live.load(Ordering::SeqCst),
            };
            self.host.emit(events::SYNC_STATUS, json(&s));
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Whether something accepts connections at the server's address: a cheap check before a
/// real sync while offline.
fn reachable(url: &str) -> bool {
    let (default_port, rest) = match url.split_once("://") {
        Some(("https", rest)) => (443, rest),
        Some((_, rest)) => (80, rest),
        None => (80, url),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let target = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    };
    let Ok(addrs) = target.to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachability_is_checked_at_the_server_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(reachable(&format!("http://127.0.0.1:{port}")));
        assert!(reachable(&format!("http://127.0.0.1:{port}/api")));
        drop(listener);
        assert!(!reachable(&format!("http://127.0.0.1:{port}")));
    }
}
