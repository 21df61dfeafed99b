//! The replica itself: creating it, loading work orders, its sync state, change log and
//! checklist templates.

use std::path::{Path, PathBuf};

use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{Error, Replica};
use onsite_model::checklist::template_for;
use onsite_model::clock::SystemIds;
use onsite_model::entities::JobType;

use crate::output::Output;
use crate::render;

pub fn init(r: &Replica, out: Output, dir: &Path) -> anyhow::Result<()> {
    out.print(
        &serde_json::json!({ "device_id": r.device_id(), "data": dir }),
        |_| {
            format!(
                "replica ready in {}\ndevice {}\n",
                dir.display(),
                r.device_id()
            )
        },
    )
}

/// Loads a JSON file of work orders, or, without a file, `count` sample jobs around now.
pub fn import(
    r: &mut Replica,
    out: Output,
    file: Option<PathBuf>,
    count: usize,
) -> anyhow::Result<()> {
    let text = match file {
        Some(path) => std::fs::read_to_string(&path).map_err(|e| Error::File {
            path: path.clone(),
            source: e,
        })?,
        None => {
            let ids = SystemIds;
            serde_json::to_string(&day_of_jobs(r.now(), &sample_technician(&ids), count, &ids))?
        }
    };
    let summary = r.import_json(&text)?;
    out.print(&summary, |s| {
        format!(
            "imported {} work orders, {} customers, {} assets\n",
            s.work_orders, s.customers, s.assets
        )
    })
}

pub fn status(r: &Replica, out: Output, dir: &Path) -> anyhow::Result<()> {
    let status = r.sync_status()?;
    let value = serde_json::json!({ "device_id": r.device_id(), "data": dir, "sync": status, "pending_ops": status.pending_ops });
    out.print(&value, |_| {
        format!(
            "device {}\ndata {}\nserver {}\npending changes: {}\nlast sync: {}\n{}",
            r.device_id(),
            dir.display(),
            status.server_url.as_deref().unwrap_or("not signed in"),
            status.pending_ops,
            status.last_success_at.as_deref().unwrap_or("never"),
            status
                .last_error
                .as_ref()
                .map(|e| format!("last error: {e}\n"))
                .unwrap_or_default()
        )
    })
}

pub fn log(r: &Replica, out: Output, limit: usize) -> anyhow::Result<()> {
    let log = r.oplog(limit)?;
    out.print(&log, |log| render::oplog(log))
}

pub fn templates(out: Output, job_type: Option<String>) -> anyhow::Result<()> {
    let templates = match job_type {
        Some(t) => vec![template_for(
            t.parse::<JobType>()
                .map_err(|e| Error::Invalid(e.to_string()))?,
        )],
        None => onsite_model::default_templates(),
    };
    out.print(&templates, |t| render::templates(t))
}
