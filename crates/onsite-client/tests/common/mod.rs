//! Shared set-up for the device's tests: a replica in a temp folder holding a sample day of
//! three jobs for one technician, at a fixed clock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{ImportFile, Replica, ReplicaOptions};
use onsite_model::clock::{FixedClock, SeqIds};
use onsite_model::ids::WorkOrderId;
use onsite_model::time::parse_ts;

/// A replica with the sample day imported.
pub struct SampleDay {
    pub dir: tempfile::TempDir,
    pub clock: Arc<FixedClock>,
    pub replica: Replica,
    /// The day as imported (after `edit`).
    pub file: ImportFile,
    /// Its work orders, in the file's order.
    pub jobs: Vec<WorkOrderId>,
}

/// A replica in `folder` of a new temp dir, its clock at 2026-11-22 07:30 UTC and its ids
/// prefixed `id_prefix`, holding the sample day edited by `edit` before the import.
pub fn sample_day(folder: &str, id_prefix: u8, edit: impl FnOnce(&mut ImportFile)) -> SampleDay {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(parse_ts("2026-11-22T07:30:00Z").unwrap()));
    let mut replica = Replica::open(
        &dir.path().join(folder),
        ReplicaOptions {
            clock: clock.clone(),
            ids: Arc::new(SeqIds::new(id_prefix)),
            schema_upto: None,
        },
    )
    .unwrap();
    let ids = SeqIds::new(0x77);
    let now = onsite_model::clock::Clock::now(clock.as_ref());
    let mut file = day_of_jobs(now, &sample_technician(&ids), 3, &ids);
    edit(&mut file);
    let jobs = file.work_orders.iter().map(|w| w.id).collect();
    replica
        .import_json(&serde_json::to_string(&file).unwrap())
        .unwrap();
    SampleDay {
        dir,
        clock,
        replica,
        file,
        jobs,
    }
}

/// The evidence tests' day: ids prefixed 0x51, the replica in `replica/`.
pub fn fixture() -> SampleDay {
    fixture_with(|_| {})
}

/// [`fixture`] with its day of jobs edited before the import.
pub fn fixture_with(edit: impl FnOnce(&mut ImportFile)) -> SampleDay {
    sample_day("replica", 0x51, edit)
}

impl SampleDay {
    /// Writes `bytes` to `name` in the temp dir (beside the replica) and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Photo rows, ops, blob rows, blob files and kept originals: all must stay at zero
    /// after a refusal.
    pub fn stored(&self) -> (i64, i64, i64, usize, usize) {
        let c = self.replica.connection();
        let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        let files = |sub: &str| count_files(&self.replica.dir().join(sub));
        (
            count("SELECT count(*) FROM job_record WHERE kind = 'photo'"),
            count("SELECT count(*) FROM oplog"),
            count("SELECT count(*) FROM blob"),
            files("blobs"),
            files("originals"),
        )
    }
}

/// Files under `dir`, in every subfolder; 0 when it does not exist.
pub fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            if e.path().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}
