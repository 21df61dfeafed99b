//! Prometheus text exposition, hand-written over atomics.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onsite_model::wire::{OpOutcome, OpResult};

const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 11],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub push_latency: Histogram,
    pub pull_latency: Histogram,
    ops_applied: AtomicU64,
    ops_merged: AtomicU64,
    ops_conflict: AtomicU64,
    ops_rejected: AtomicU64,
    conflicts: AtomicU64,
    blob_bytes_uploaded: AtomicU64,
    blob_bytes_downloaded: AtomicU64,
    blobs_stored: AtomicU64,
    blob_bytes_stored: AtomicU64,
    /// Shared with each stream's [`OpenStream`], which gives its count back when dropped.
    event_streams: Arc<AtomicI64>,
}

/// An open event stream, counted in `onsite_event_streams_open` while it lives.
#[derive(Debug)]
pub struct OpenStream(Arc<AtomicI64>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }

    pub fn record_outcomes(&self, outcomes: &[OpOutcome]) {
        for o in outcomes {
            let counter = match o.result {
                OpResult::Applied { .. } => &self.ops_applied,
                OpResult::Merged { .. } => &self.ops_merged,
                OpResult::Conflict { .. } => {
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    &self.ops_conflict
                }
                OpResult::Rejected { .. } => &self.ops_rejected,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A chunk of a blob upload was accepted.
    pub fn record_upload(&self, bytes: u64) {
        self.blob_bytes_uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn record_download(&self, bytes: u64) {
        self.blob_bytes_downloaded
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// A verified blob was stored for the first time.
    pub fn record_blob_stored(&self, size: u64) {
        self.blobs_stored.fetch_add(1, Ordering::Relaxed);
        self.blob_bytes_stored.fetch_add(size, Ordering::Relaxed);
    }

    /// Counts an event stream as open until the returned guard is dropped.
    pub fn open_event_stream(&self) -> OpenStream {
        self.event_streams.fetch_add(1, Ordering::Relaxed);
        OpenStream(self.event_streams.clone())
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP onsite_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE onsite_http_requests_total counter\n");
        for ((method, route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "onsite_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                route.replace('"', "'")
            );
        }
        self.push_latency.render(
            &mut out,
            "onsite_sync_push_seconds",
            "Time to apply a push.",
        );
        self.pull_latency.render(
            &mut out,
            "onsite_sync_pull_seconds",
            "Time to read a pull page.",
        );
        out.push_str(
            "# HELP onsite_ops_total Pushed ops by outcome.\n# TYPE onsite_ops_total counter\n",
        );
        for (name, c) in [
            ("applied", &self.ops_applied),
            ("merged", &self.ops_merged),
            ("conflict", &self.ops_conflict),
            ("rejected", &self.ops_rejected),
        ] {
            let _ = writeln!(
                out,
                "onsite_ops_total{{outcome=\"{name}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP onsite_conflicts_total Conflicts recorded from pushed ops.\n");
        out.push_str("# TYPE onsite_conflicts_total counter\n");
        let _ = writeln!(
            out,
            "onsite_conflicts_total {}",
            self.conflicts.load(Ordering::Relaxed)
        );
        for (name, help, c) in [
            (
                "onsite_blob_upload_bytes_total",
                "Blob bytes accepted in upload chunks.",
                &self.blob_bytes_uploaded,
            ),
            (
                "onsite_blob_download_bytes_total",
                "Blob bytes served to downloads.",
                &self.blob_bytes_downloaded,
            ),
            (
                "onsite_blobs_stored_total",
                "Blobs verified and stored (each content address once).",
                &self.blobs_stored,
            ),
            (
                "onsite_blob_stored_bytes_total",
                "Bytes of the blobs stored.",
                &self.blob_bytes_stored,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP onsite_event_streams_open Live change streams (/sync/events) open on this instance.\n# TYPE onsite_event_streams_open gauge\nonsite_event_streams_open {}",
            self.event_streams.load(Ordering::Relaxed)
        );
        out
    }
}
