//! The live channel: while online, a background thread holds the server's event stream
//! (`GET /api/v1/sync/events`, server-sent events) and hands each nudge to whoever drives
//! sync. A nudge is only a seq; the driver compares it with the replica's pull cursor
//! ([`Replica::is_behind`]) and runs the normal sync, so nothing is applied twice or skipped,
//! whatever the stream does. The thread reconnects with backoff after a cut connection or
//! a silence longer than the server's keep-alives, and stops for good when the server
//! refuses the token (sign in again).

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde::Deserialize;

use crate::error::Result;
use crate::replica::Replica;
use crate::transport::{SyncError, describe, refusal};

/// How the live channel waits and retries.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// A connection silent this long (the server sends a keep-alive every 15 s) is taken as
    /// lost and opened again.
    pub silence: Duration,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            silence: Duration::from_secs(40),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the live channel reports.
#[derive(Debug)]
pub enum LiveEvent {
    /// The server's `server_seq` is `seq`; `connected` marks the first event of a (re)opened
    /// stream, the one that catches up on nudges missed while it was down.
    Change { seq: u64, connected: bool },
    /// The stream is down; the thread tries again in `retry_in`.
    Down { detail: String, retry_in: Duration },
    /// The server refused the token or the request: the thread has stopped.
    Ended(SyncError),
}

/// The live channel's background thread; dropping this stops it (the thread notices within
/// one keep-alive and is not waited for).
pub struct LiveChanges {
    events: Option<Receiver<LiveEvent>>,
    stop: Arc<AtomicBool>,
}

impl LiveChanges {
    /// Opens the stream on `server_url` with the device `token` on a background thread; read
    /// what it reports with [`LiveChanges::recv_timeout`].
    pub fn open(
        server_url: &str,
        token: &str,
        options: LiveOptions,
    ) -> Result<LiveChanges, SyncError> {
        let (tx, rx) = mpsc::channel();
        let mut live = Self::open_with(server_url, token, options, move |e| tx.send(e).is_ok())?;
        live.events = Some(rx);
        Ok(live)
    }

    /// Opens the stream and hands each report to `deliver` on the background thread; the
    /// thread stops when `deliver` returns false.
    pub fn open_with(
        server_url: &str,
        token: &str,
        options: LiveOptions,
        deliver: impl FnMut(LiveEvent) -> bool + Send + 'static,
    ) -> Result<LiveChanges, SyncError> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut channel = Channel {
            url: format!("{}/api/v1/sync/events", server_url.trim_end_matches('/')),
            token: token.to_owned(),
            options,
            deliver: Box::new(deliver),
            stop: stop.clone(),
        };
        std::thread::Builder::new()
            .name("onsite-live".into())
            .spawn(move || channel.run())
            .map_err(|e| SyncError::Local(crate::Error::Io(e)))?;
        Ok(LiveChanges { events: None, stop })
    }

    /// The next report, waiting at most `timeout`; `Err(Disconnected)` once the thread ended
    /// (or when reports go to a handler).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<LiveEvent, RecvTimeoutError> {
        match &self.events {
            Some(rx) => rx.recv_timeout(timeout),
            None => Err(RecvTimeoutError::Disconnected),
        }
    }

    pub fn try_recv(&self) -> Option<LiveEvent> {
        self.events.as_ref()?.try_recv().ok()
    }
}

impl Drop for LiveChanges {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Replica {
    /// Opens the live channel for this replica's session (server and device token).
    pub fn live_changes(&self, options: LiveOptions) -> Result<LiveChanges, SyncError> {
        let session = self.session()?;
        LiveChanges::open(&session.url, &session.token, options)
    }

    /// [`Replica::live_changes`] handing each report to `deliver` on the channel's thread.
    pub fn live_changes_with(
        &self,
        options: LiveOptions,
        deliver: impl FnMut(LiveEvent) -> bool + Send + 'static,
    ) -> Result<LiveChanges, SyncError> {
        let session = self.session()?;
        LiveChanges::open_with(&session.url, &session.token, options, deliver)
    }

    /// Whether the server's `seq` is beyond what this replica has pulled: a nudge worth a
    /// sync.
    pub fn is_behind(&self, seq: u64) -> Result<bool> {
        Ok(self.sync_status()?.pull_cursor < seq)
    }
}

struct Channel {
    url: String,
    token: String,
    options: LiveOptions,
    deliver: Box<dyn FnMut(LiveEvent) -> bool + Send>,
    stop: Arc<AtomicBool>,
}

/// Why one connection ended.
enum Closed {
    /// The receiver was dropped or asked to stop.
    Stopped,
    /// Worth another try after a pause.
    Transient(String),
    /// Not worth trying again.
    Refused(SyncError),
}

impl Channel {
    fn run(&mut self) {
        let client = match Client::builder()
            .timeout(self.options.silence)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("onsite/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                let url = self.url.clone();
                self.send(LiveEvent::Ended(SyncError::Unreachable {
                    url,
                    detail: e.to_string(),
                }));
                return;
            }
        };
        let mut backoff = self.options.first_backoff;
        loop {
            let mut heard = false;
            match self.connect(&client, &mut heard) {
                Closed::Stopped => return,
                Closed::Refused(e) => {
                    self.send(LiveEvent::Ended(e));
                    return;
                }
                Closed::Transient(detail) => {
                    if heard {
                        backoff = self.options.first_backoff;
                    }
                    if !self.send(LiveEvent::Down {
                        detail,
                        retry_in: backoff,
                    }) || !self.pause(backoff)
                    {
                        return;
                    }
                    backoff = (backoff * 2).min(self.options.max_backoff);
                }
            }
        }
    }

    /// False when the receiver is gone or asked to stop.
    fn send(&mut self, event: LiveEvent) -> bool {
        !self.stop.load(Ordering::SeqCst) && (self.deliver)(event)
    }

    /// Sleeps in short steps so a stop is noticed; false when asked to stop.
    fn pause(&self, total: Duration) -> bool {
        let step = Duration::from_millis(100);
        let mut waited = Duration::ZERO;
        while waited < total {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(step.min(total - waited));
            waited += step;
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn connect(&mut self, client: &Client, heard: &mut bool) -> Closed {
        let resp = match client
            .get(&self.url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(ACCEPT, "text/event-stream")
            .send()
        {
            Ok(r) => r,
            Err(e) => return Closed::Transient(describe(&e)),
        };
        let status = resp.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Closed::Transient(format!("server answered {status}"));
        }
        if !status.is_success() {
            return Closed::Refused(refusal(resp));
        }
        let mut first = true;
        let outcome = read_events(resp, |event| {
            if event.name != "change" {
                return true;
            }
            let Ok(Nudge { seq }) = serde_json::from_str::<Nudge>(&event.data) else {
                return true;
            };
            *heard = true;
            let connected = std::mem::take(&mut first);
            self.send(LiveEvent::Change { seq, connected })
        });
        match outcome {
            _ if self.stop.load(Ordering::SeqCst) => Closed::Stopped,
            Ok(true) => Closed::Transient("the server closed the stream".into()),
            Ok(false) => Closed::Stopped,
            Err(e) => Closed::Transient(format!("the stream broke: {e}")),
        }
    }
}

#[derive(Deserialize)]
struct Nudge {
    seq: u64,
}

/// One dispatched server-sent event.
#[derive(Debug, Default, PartialEq)]
struct SseEvent {
    name: String,
    data: String,
}

/// Reads server-sent events from `body` until it ends (`Ok(true)`), `each` returns false
/// (`Ok(false)`) or a read fails. Comments (keep-alives) and unknown fields are skipped;
/// `data` lines of one event are joined with newlines, as the format says.
fn read_events(body: impl Read, mut each: impl FnMut(SseEvent) -> bool) -> std::io::Result<bool> {
    let mut reader = BufReader::new(body);
    let mut line = String::new();
    let mut event = SseEvent::default();
    let mut has_data = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(true);
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            if has_data {
                if event.name.is_empty() {
                    event.name = "message".into();
                }
                if !each(std::mem::take(&mut event)) {
                    return Ok(false);
                }
            }
            event = SseEvent::default();
            has_data = false;
            continue;
        }
        if text.starts_with(':') {
            continue;
        }
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text, ""),
        };
        match field {
            "event" => event.name = value.to_owned(),
            "data" => {
                if has_data {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_of(text: &str) -> (Vec<SseEvent>, bool) {
        let mut seen = Vec::new();
        let ended = read_events(text.as_bytes(), |e| {
            seen.push(e);
            true
        })
        .unwrap();
        (seen, ended)
    }

    #[test]
    fn events_are_read_with_comments_and_unknown_fields_skipped() {
        let (seen, ended) = events_of(
            ": keep-alive\n\nevent: change\nid: 7\ndata: {\"seq\":7}\n\n:\n\nevent: change\r\ndata:{\"seq\":9}\r\n\r\nretry: 10\n\n",
        );
        assert!(ended);
        assert_eq!(
            seen,
            vec![
                SseEvent {
                    name: "change".into(),
                    data: "{\"seq\":7}".into()
                },
                SseEvent {
                    name: "change".into(),
                    data: "{\"seq\":9}".into()
                },
            ]
        );
    }

    #[test]
    fn data_lines_join_and_an_unfinished_event_is_not_dispatched() {
        let (seen, _) = events_of("data: a\ndata: b\n\nevent: change\ndata: {\"seq\":1}");
        assert_eq!(
            seen,
            vec![SseEvent {
                name: "message".into(),
                data: "a\nb".into()
            }]
        );
    }

    #[test]
    fn reading_stops_when_asked() {
        let mut n = 0;
        let ended = read_events("data: 1\n\ndata: 2\n\n".as_bytes(), |_| {
            n += 1;
            false
        })
        .unwrap();
        assert!(!ended);
        assert_eq!(n, 1);
    }
}
