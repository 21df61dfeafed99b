//! Backup and restore of the embedded default (SQLite database + blob folder).
//!
//! **Backup** (while serving): the database first, as one consistent snapshot (SQLite's
//! online backup API), then every blob that snapshot lists. Blobs are content-addressed and
//! never change, so the ones copied afterwards are exactly the ones the snapshot refers to;
//! blobs uploaded meanwhile are simply not in the backup, like the rows that name them. The
//! manifest, written last, marks the backup complete and holds its checksums.
//!
//! **Restore** (server stopped): the backup's database is copied into a staging folder,
//! checked against the manifest, its blobs copied into the blob folder, and it gets a **new
//! epoch** before it replaces the database (the replaced one is kept aside, never deleted).
//! Devices seeing the new epoch push their whole log again — the server answers what it holds
//! with the stored outcomes and applies what the restore lost — and pull their view afresh.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use onsite_model::time::{Timestamp, format_ts};
use serde::{Deserialize, Serialize};

use super::blobs::{BlobCopySummary, check_held, copy_blobs, held_blobs};
use super::copy::{StoreChecksum, TableSum, checksum};
use crate::auth;
use crate::blobs::FsBlobStore;
use crate::error::{Error, Result};
use crate::store::SqliteBackend;
use crate::store::backend::{BulkBackend, Table};
use crate::store::sqlite::backup::copy_database;

/// The file that marks a folder as a complete backup.
pub const BACKUP_MANIFEST: &str = "onsite-backup.json";
const DATABASE: &str = "onsite.db";
const FORMAT: u32 = 1;

/// What a backup holds, written last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: u32,
    pub created_at: String,
    /// The epoch of the database backed up (a restore gives it a new one).
    pub epoch: String,
    /// The store checksum of the backed-up database (`admin::store_checksum`).
    pub checksum: String,
    /// Rows and sha256 per table.
    pub tables: BTreeMap<String, (u64, String)>,
    pub blobs: u64,
    pub blob_bytes: u64,
}

impl BackupManifest {
    fn table_sums(&self) -> BTreeMap<String, (u64, String)> {
        self.tables.clone()
    }
}

fn sums_by_name(c: &StoreChecksum) -> BTreeMap<String, (u64, String)> {
    c.tables
        .iter()
        .map(
            |TableSum {
                 table,
                 rows,
                 sha256,
             }| (table.name().to_owned(), (*rows, sha256.clone())),
        )
        .collect()
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Internal(format!("{}: {e}", path.display()))
}

/// Backs up the data folder `data` into the new folder `to`. Safe while the server runs.
pub fn backup(
    data: &Path,
    to: &Path,
    now: Timestamp,
    progress: &mut dyn FnMut(&str),
) -> Result<BackupManifest> {
    let source_db = data.join(DATABASE);
    if !source_db.is_file() {
        return Err(Error::not_found(
            "no_database",
            format!(
                "{} holds no {DATABASE}; name the server's data folder with --data",
                data.display()
            ),
        ));
    }
    if to.exists() && fs::read_dir(to).map_err(io_at(to))?.next().is_some() {
        return Err(Error::conflict(
            "backup_exists",
            format!(
                "{} is not empty; back up into a new folder (e.g. one named after the date)",
                to.display()
            ),
        ));
    }
    fs::create_dir_all(to).map_err(io_at(to))?;
    progress("copying the database (one consistent snapshot)");
    copy_database(&source_db, &to.join(DATABASE))?;
    let snapshot = SqliteBackend::open(to)?;
    let (sum, held, epoch) = snapshot.export(|t| {
        let epoch = epoch_of(t)?;
        Ok((checksum(t)?, held_blobs(t)?, epoch))
    })?;
    drop(snapshot);
    let source = FsBlobStore::open(data).map_err(io_at(data))?;
    check_held(&source, &held)?;
    let target = FsBlobStore::open(to).map_err(io_at(to))?;
    copy_blobs(&source, &target, &held, &mut |done, total| {
        if done == total || done % 100 == 0 {
            progress(&format!("blobs: {done} of {total}"));
        }
    })?;
    let manifest = BackupManifest {
        format: FORMAT,
        created_at: format_ts(&now),
        epoch,
        checksum: sum.total.clone(),
        tables: sums_by_name(&sum),
        blobs: held.len() as u64,
        blob_bytes: held.iter().map(|b| b.size).sum(),
    };
    write_manifest(to, &manifest)?;
    progress("backup complete");
    Ok(manifest)
}

fn epoch_of(t: &dyn crate::store::backend::TableExport) -> Result<String> {
    let mut epoch = None;
    t.export_rows(Table::Meta, &mut |row| {
        if let [
            crate::store::backend::Cell::Text(k),
            crate::store::backend::Cell::Text(v),
        ] = row.as_slice()
            && k == "epoch"
        {
            epoch = Some(v.clone());
        }
        Ok(())
    })?;
    epoch.ok_or_else(|| Error::Internal("the database has no epoch".into()))
}

fn write_manifest(to: &Path, m: &BackupManifest) -> Result<()> {
    let path = to.join(BACKUP_MANIFEST);
    let tmp = to.join(format!("{BACKUP_MANIFEST}.tmp"));
    fs::write(&tmp, serde_json::to_vec_pretty(m)?).map_err(io_at(&tmp))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_at(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_at(&path))?;
    Ok(())
}

/// Reads and checks a backup folder's manifest.
pub fn read_manifest(from: &Path) -> Result<BackupManifest> {
    let path = from.join(BACKUP_MANIFEST);
    let text = fs::read(&path).map_err(|e| {
        Error::not_found(
            "not_a_backup",
            format!(
                "{} is not a complete backup ({}: {e}); name a folder written by `onsite-server backup --to`",
                from.display(),
                path.display()
            ),
        )
    })?;
    let m: BackupManifest = serde_json::from_slice(&text).map_err(|e| {
        Error::unprocessable(
            "not_a_backup",
            format!("{} is damaged: {e}", path.display()),
        )
    })?;
    if m.format != FORMAT {
        return Err(Error::unprocessable(
            "backup_format",
            format!(
                "{} is backup format {}; this server reads format {FORMAT}",
                from.display(),
                m.format
            ),
        ));
    }
    Ok(m)
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct RestoreSummary {
    pub manifest: BackupManifest,
    pub new_epoch: String,
    pub blobs: BlobCopySummary,
    /// Where the database that was replaced now lies (none when there was none).
    pub replaced: Option<PathBuf>,
}

/// Restores the backup in `from` into the data folder `data`, with a new epoch. Run it with
/// the server stopped.
pub fn restore(
    from: &Path,
    data: &Path,
    now: Timestamp,
    progress: &mut dyn FnMut(&str),
) -> Result<RestoreSummary> {
    let manifest = read_manifest(from)?;
    fs::create_dir_all(data).map_err(io_at(data))?;
    let staging = data.join("restoring");
    if staging.exists() {
        // Left by an interrupted restore: nothing in it is in use.
        fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
    }
    fs::create_dir_all(&staging).map_err(io_at(&staging))?;
    progress("copying the backup's database");
    copy_database(&from.join(DATABASE), &staging.join(DATABASE))?;
    let restored = SqliteBackend::open(&staging)?;
    let (sum, held) = restored.export(|t| Ok((checksum(t)?, held_blobs(t)?)))?;
    if sums_by_name(&sum) != manifest.table_sums() || sum.total != manifest.checksum {
        return Err(Error::unprocessable(
            "backup_damaged",
            format!(
                "the database in {} does not match its manifest's checksums; nothing was restored",
                from.display()
            ),
        ));
    }
    let source = FsBlobStore::open(from).map_err(io_at(from))?;
    check_held(&source, &held)?;
    let target = FsBlobStore::open(data).map_err(io_at(data))?;
    let blobs = copy_blobs(&source, &target, &held, &mut |done, total| {
        if done == total || done % 100 == 0 {
            progress(&format!("blobs: {done} of {total}"));
        }
    })?;
    let new_epoch = auth::new_epoch();
    restored.import(|t| t.set_epoch(&new_epoch))?;
    drop(restored);
    // The staged database is closed (its WAL checkpointed); swap it in, keeping the old one.
    let replaced = set_aside(data, now)?;
    for s in ["", "-wal", "-shm"] {
        let name = format!("{DATABASE}{s}");
        let staged = staging.join(&name);
        if staged.exists() {
            fs::rename(&staged, data.join(&name)).map_err(io_at(&staged))?;
        }
    }
    fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
    progress("restore complete");
    Ok(RestoreSummary {
        manifest,
        new_epoch,
        blobs,
        replaced,
    })
}

/// Moves the data folder's database (with its WAL files, which must not meet the restored
/// database) into `replaced-<time>/`.
fn set_aside(data: &Path, now: Timestamp) -> Result<Option<PathBuf>> {
    let files: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|s| data.join(format!("{DATABASE}{s}")))
        .filter(|p| p.exists())
        .collect();
    if files.is_empty() {
        return Ok(None);
    }
    let aside = data.join(format!("replaced-{}", now.format("%Y%m%dT%H%M%S%.3fZ")));
    fs::create_dir_all(&aside).map_err(io_at(&aside))?;
    for f in files {
        let name = f.file_name().expect("a file name").to_owned();
        fs::rename(&f, aside.join(name)).map_err(io_at(&f))?;
    }
    Ok(Some(aside))
}
