//! Talking to the server: signing this device in and syncing.

use anyhow::Context;
use onsite_client::{Replica, RetryPolicy, SyncProgress};

use crate::failure;
use crate::output::Output;

/// Signs in with the password read from stdin (one line).
pub fn login(
    r: &mut Replica,
    out: Output,
    server: &str,
    username: &str,
    device_name: &str,
) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .context("reading the password from stdin")?;
    let password = password.trim_end_matches(['\r', '\n']);
    let login = r
        .login(server, username, password, device_name)
        .map_err(failure::from_sync)?;
    let value =
        serde_json::json!({ "user": login.user, "device_id": login.device_id, "server": server });
    out.print(&value, |_| {
        format!(
            "signed in to {server} as {} ({})\n",
            login.user.name, login.user.role
        )
    })
}

/// Syncs with progress on stderr (none with `--json`) and a summary at the end.
pub fn sync(r: &mut Replica, out: Output, attempts: u32) -> anyhow::Result<()> {
    let retry = RetryPolicy {
        attempts,
        ..RetryPolicy::default()
    };
    let quiet = out.json;
    let report = r
        .sync(retry, &mut |p| {
            if !quiet {
                eprintln!("{}", progress_line(&p));
            }
        })
        .map_err(failure::from_sync)?;
    out.print(&report, |rep| {
        let mut s = format!(
            "synced: {} changes sent ({} applied, {} merged, {} conflicts, {} rejected), {} rows received, {} ms\n",
            rep.pushed,
            rep.applied,
            rep.merged,
            rep.conflicts,
            rep.rejected,
            rep.pulled_rows,
            rep.duration_ms
        );
        for (seq, why) in &rep.rejections {
            s += &format!("  change #{seq} was refused: {why}\n");
        }
        s
    })
}

fn progress_line(p: &SyncProgress) -> String {
    match p {
        SyncProgress::Pushing { sent, total } => format!("pushed {sent}/{total} changes"),
        SyncProgress::Pulling { rows, cursor } => format!("pulled {rows} rows (at {cursor})"),
        SyncProgress::Retrying {
            attempt,
            wait_ms,
            reason,
        } => format!("{reason}; retrying in {wait_ms} ms (attempt {attempt})"),
        SyncProgress::Uploading {
            sent,
            total,
            file_index,
            files,
            ..
        } => format!("sending file {file_index}/{files}: {sent}/{total} bytes"),
    }
}
