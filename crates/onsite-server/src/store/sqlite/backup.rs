//! The embedded database's online backup: SQLite's backup API copies every page of the
//! database as of one read transaction, while the server goes on writing (WAL readers never
//! block the writer, nor it them).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::{SqliteBackend, open_conn};
use crate::error::{Error, Result};

/// Copies the database at `src` into a new file `dest`, all pages in one step: one
/// consistent snapshot, whatever commits meanwhile.
pub fn copy_database(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(Error::conflict(
            "backup_exists",
            format!(
                "{} already exists; back up into a new folder",
                dest.display()
            ),
        ));
    }
    let from = open_conn(src)?;
    let mut to = Connection::open(dest)?;
    {
        let backup = Backup::new(&from, &mut to)?;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                // Another connection holds a lock that blocks the snapshot: wait and retry.
                StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {}
            }
        }
    }
    let ok: String = to.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(Error::Internal(format!(
            "the copy at {} fails its integrity check: {ok}",
            dest.display()
        )));
    }
    Ok(())
}

impl SqliteBackend {
    /// Copies this database into a new file `dest` (see `copy_database`).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        copy_database(&self.path, dest)
    }
}
