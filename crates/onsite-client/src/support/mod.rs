//! The support bundle: one `.zip` a technician sends to support when something is wrong.
//!
//! It holds the app's log files (`logs/` in the data folder), the sync status, a summary of
//! the change log, facts about the app, the system and the replica, and a manifest listing
//! every entry with its size and sha256. It holds no photo or signature bytes, no sign-in
//! token (removed from the log files too, should it ever appear there), no password (the
//! device never stores one) and no customer's data beyond ids, job numbers and statuses:
//! the change log is summarised as counts, kinds and times, never its values.

mod summary;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use onsite_model::time::format_ts;
use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

pub use summary::{
    ChangeLogSummary, JobOps, OldestPending, OpKindCount, OutcomeCounts, RejectedOp,
    SupportSyncStatus,
};

use crate::db::CachedSql;
use crate::error::{Error, Result};
use crate::replica::Replica;

/// The folder of the data folder the app writes its log files to.
pub const LOG_DIR: &str = "logs";
/// What the manifest calls this layout; bumped when an entry changes meaning.
pub const BUNDLE_FORMAT: &str = "onsite-support-bundle/1";
/// The newest log files a bundle takes (the app keeps as many).
pub const BUNDLE_LOG_FILES: usize = 7;
/// Of a longer log file, a bundle takes the last this many bytes.
pub const BUNDLE_LOG_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// What stands in the bundle where the token appeared.
pub const TOKEN_REDACTED: &str = "[token removed]";

/// Where the log files of the data folder `data_dir` are.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR)
}

/// Who is making the bundle: the program and its version, written into `about.json`.
#[derive(Clone, Debug)]
pub struct BundleSource {
    pub program: String,
    pub version: String,
}

/// One entry of the bundle, as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BundleEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A written bundle: where it is, how large, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SupportBundle {
    pub path: String,
    pub bytes: u64,
    /// Every entry but the manifest itself.
    pub entries: Vec<BundleEntry>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    created_at: String,
    device_id: String,
    program: &'a str,
    version: &'a str,
    entries: &'a [BundleEntry],
    /// Log files cut to their last [`BUNDLE_LOG_FILE_BYTES`] bytes, or left out as older
    /// than the newest [`BUNDLE_LOG_FILES`].
    logs_cut: Vec<String>,
    logs_left_out: Vec<String>,
    not_included: &'static [&'static str],
}

const NOT_INCLUDED: &[&str] = &[
    "photo and signature files",
    "the sign-in token (removed from the log files too)",
    "passwords (never stored on the device)",
    "customer names, addresses, phone numbers, notes and every other field value: the change log is summarised as counts, kinds and times",
];

/// The zip being written, and the manifest's list of what went in.
struct BundleWriter {
    zip: zip::ZipWriter<File>,
    entries: Vec<BundleEntry>,
}

impl BundleWriter {
    fn add(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(0o644);
        self.zip.start_file(name, options).map_err(zip_error)?;
        self.zip.write_all(bytes)?;
        self.entries.push(BundleEntry {
            name: name.to_owned(),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        });
        Ok(())
    }

    fn add_json(&mut self, name: &str, value: &impl Serialize) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(value)?;
        text.push(b'\n');
        self.add(name, &text)
    }
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::Io(io),
        other => Error::Invalid(format!("could not write the support bundle: {other}")),
    }
}

impl Replica {
    /// Writes the support bundle to `out`: a new file (an existing one is refused, never
    /// overwritten), written beside it first and moved into place when complete.
    pub fn write_support_bundle(&self, out: &Path, source: &BundleSource) -> Result<SupportBundle> {
        if out.exists() {
            return Err(Error::Invalid(format!(
                "{} already exists; choose a new file name for the support bundle",
                out.display()
            )));
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(Error::Invalid(format!(
                "{} is not a folder; the support bundle needs an existing folder to go in",
                parent.display()
            )));
        }
        let name = out
            .file_name()
            .ok_or_else(|| Error::Invalid(format!("{} is not a file name", out.display())))?;
        let part = parent.join(format!(".{}.part", name.to_string_lossy()));
        let written = self.write_bundle_to(&part, source);
        let entries = match written {
            Ok(entries) => entries,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        };
        std::fs::rename(&part, out).map_err(|e| Error::File {
            path: out.to_owned(),
            source: e,
        })?;
        let bytes = std::fs::metadata(out)?.len();
        Ok(SupportBundle {
            path: out.display().to_string(),
            bytes,
            entries,
        })
    }

    /// Writes the bundle into the `support` folder of the data folder, under a name with
    /// the device and the time, and returns where.
    pub fn write_support_bundle_in_data_folder(
        &self,
        source: &BundleSource,
    ) -> Result<SupportBundle> {
        let folder = self.dir().join("support");
        std::fs::create_dir_all(&folder).map_err(|e| Error::File {
            path: folder.clone(),
            source: e,
        })?;
        let stamp = self.now().format("%Y%m%d-%H%M%S");
        let device = self.device_id().to_string();
        let short = &device[device.len().saturating_sub(8)..];
        let mut out = folder.join(format!("onsite-support-{short}-{stamp}.zip"));
        let mut n = 2;
        while out.exists() {
            out = folder.join(format!("onsite-support-{short}-{stamp}-{n}.zip"));
            n += 1;
        }
        self.write_support_bundle(&out, source)
    }

    fn write_bundle_to(&self, path: &Path, source: &BundleSource) -> Result<Vec<BundleEntry>> {
        let file = File::create(path).map_err(|e| Error::File {
            path: path.to_owned(),
            source: e,
        })?;
        let mut w = BundleWriter {
            zip: zip::ZipWriter::new(file),
            entries: Vec::new(),
        };
        let token = self.stored_token()?;
        let redact = |bytes: Vec<u8>| match &token {
            Some(t) => replace_all(&bytes, t.as_bytes(), TOKEN_REDACTED.as_bytes()),
            None => bytes,
        };

        w.add_json("about.json", &self.about(source)?)?;
        let mut status = self.support_sync_status()?;
        status.last_error = status
            .last_error
            .map(|e| String::from_utf8_lossy(&redact(e.into_bytes())).into_owned());
        w.add_json("sync-status.json", &status)?;
        w.add_json("change-log.json", &self.change_log_summary()?)?;

        let logs = LogFiles::find(&log_dir(self.dir()))?;
        let mut logs_cut = Vec::new();
        for log in &logs.taken {
            let (bytes, cut) = read_tail(log, BUNDLE_LOG_FILE_BYTES)?;
            let name = log.file_name().unwrap_or_default().to_string_lossy();
            if cut {
                logs_cut.push(name.to_string());
            }
            w.add(&format!("{LOG_DIR}/{name}"), &redact(bytes))?;
        }

        let entries = w.entries.clone();
        let manifest = Manifest {
            format: BUNDLE_FORMAT,
            created_at: format_ts(&self.now()),
            device_id: self.device_id().to_string(),
            program: &source.program,
            version: &source.version,
            entries: &entries,
            logs_cut,
            logs_left_out: logs.left_out,
            not_included: NOT_INCLUDED,
        };
        w.add_json("manifest.json", &manifest)?;
        let file = w.zip.finish().map_err(zip_error)?;
        file.sync_all()?;
        Ok(entries)
    }

    fn stored_token(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .one("SELECT token FROM sync_state WHERE id = 1", [], |r| {
                r.get(0)
            })?)
    }

    fn about(&self, source: &BundleSource) -> Result<serde_json::Value> {
        Ok(serde_json::json!({
            "program": source.program,
            "version": source.version,
            "device_id": self.device_id().to_string(),
            "bundle_created_at": format_ts(&self.now()),
            "system": {
                "os": std::env::consts::OS,
                "arch": std::env::consts::ARCH,
                "os_release": os_release(),
                "kernel": read_trimmed("/proc/sys/kernel/osrelease"),
                "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
            },
            "replica": self.replica_facts()?,
        }))
    }
}

/// The log files a bundle takes (the newest few) and the names of those it leaves out.
struct LogFiles {
    taken: Vec<PathBuf>,
    left_out: Vec<String>,
}

impl LogFiles {
    fn find(dir: &Path) -> Result<LogFiles> {
        let listing = match std::fs::read_dir(dir) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LogFiles {
                    taken: Vec::new(),
                    left_out: Vec::new(),
                });
            }
            Err(e) => {
                return Err(Error::File {
                    path: dir.to_owned(),
                    source: e,
                });
            }
        };
        let mut files = Vec::new();
        for entry in listing {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.is_file() {
                files.push((meta.modified().ok(), entry.path()));
            }
        }
        // Newest first: by modification time, then by name (dated names sort by day).
        files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        let left_out = files
            .iter()
            .skip(BUNDLE_LOG_FILES)
            .map(|(_, p)| p.file_name().unwrap_or_default().to_string_lossy().into())
            .collect();
        let mut taken: Vec<PathBuf> = files
            .into_iter()
            .take(BUNDLE_LOG_FILES)
            .map(|(_, p)| p)
            .collect();
        taken.sort();
        Ok(LogFiles { taken, left_out })
    }
}

/// The last `limit` bytes of a file, and whether it was cut.
fn read_tail(path: &Path, limit: u64) -> Result<(Vec<u8>, bool)> {
    let io = |e| Error::File {
        path: path.to_owned(),
        source: e,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let cut = len > limit;
    if cut {
        file.seek(SeekFrom::Start(len - limit)).map_err(io)?;
    }
    let mut bytes = Vec::with_capacity(len.min(limit) as usize);
    file.take(limit).read_to_end(&mut bytes).map_err(io)?;
    Ok((bytes, cut))
}

/// `haystack` with every occurrence of `needle` replaced.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The system's name from `/etc/os-release` (`PRETTY_NAME`), where there is one.
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_replaced() {
        assert_eq!(
            replace_all(b"a tok b tok tok", b"tok", b"[x]"),
            b"a [x] b [x] [x]"
        );
        assert_eq!(replace_all(b"to", b"tok", b"[x]"), b"to");
        assert_eq!(replace_all(b"abc", b"", b"[x]"), b"abc");
    }

    #[test]
    fn a_long_file_is_cut_to_its_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_tail(&path, 4).unwrap(), (b"6789".to_vec(), true));
        assert_eq!(
            read_tail(&path, 10).unwrap(),
            (b"0123456789".to_vec(), false)
        );
    }
}
