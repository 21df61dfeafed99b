//! Copying a whole store from one backend to another (`onsite-server migrate`), verified by
//! checksums of every table. The rows move as they are stored — field stamps, stored
//! outcomes, seqs and counters, the HLC, users' password hashes, devices' token hashes, the
//! epoch, visibility membership — so devices go on syncing with the new server as if nothing
//! happened: same tokens, same cursors, same acknowledged seqs, no new sign-in and no full
//! download.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::backend::{BulkBackend, Cell, Table, TableExport, TableImport};

/// Rows handed to the target per call.
const BATCH_ROWS: usize = 1000;

/// One table's share of a store checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSum {
    pub table: Table,
    pub rows: u64,
    pub sha256: String,
}

/// The sha256 of every table's rows in key order, and of all of them together: equal
/// checksums mean equal stores, byte for byte, whatever the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreChecksum {
    pub tables: Vec<TableSum>,
    pub total: String,
}

impl StoreChecksum {
    pub fn rows(&self, table: Table) -> u64 {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map_or(0, |t| t.rows)
    }
}

/// Feeds one row into a table's hash: every cell tagged by type and length-prefixed, so no
/// two different rows hash alike.
fn hash_row(h: &mut Sha256, row: &[Cell]) {
    for c in row {
        match c {
            Cell::Null => h.update([0u8]),
            Cell::Int(i) => {
                h.update([1u8]);
                h.update(i.to_be_bytes());
            }
            Cell::Bool(b) => h.update([2u8, u8::from(*b)]),
            Cell::Text(t) => {
                h.update([3u8]);
                h.update((t.len() as u64).to_be_bytes());
                h.update(t.as_bytes());
            }
        }
    }
    h.update([0xffu8]);
}

fn finish(sums: Vec<TableSum>) -> StoreChecksum {
    let mut total = Sha256::new();
    for s in &sums {
        total.update(s.table.name().as_bytes());
        total.update(s.rows.to_be_bytes());
        total.update(s.sha256.as_bytes());
    }
    StoreChecksum {
        tables: sums,
        total: hex::encode(total.finalize()),
    }
}

/// The checksum of the store `src` reads.
pub fn checksum(src: &dyn TableExport) -> Result<StoreChecksum> {
    let mut sums = Vec::new();
    for table in Table::ALL {
        let mut h = Sha256::new();
        let mut rows = 0u64;
        src.export_rows(table, &mut |row| {
            hash_row(&mut h, &row);
            rows += 1;
            Ok(())
        })?;
        sums.push(TableSum {
            table,
            rows,
            sha256: hex::encode(h.finalize()),
        });
    }
    Ok(finish(sums))
}

/// The checksum of a whole store, read in one transaction.
pub fn store_checksum(backend: &impl BulkBackend) -> Result<StoreChecksum> {
    backend.export(checksum)
}

/// What the copy reports as it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyProgress {
    /// `done` of `total` rows of `table` copied.
    Rows { table: Table, done: u64, total: u64 },
    /// Every table copied; comparing the target's checksum with the source's.
    Verifying,
}

/// What holds data in a store: the tables a fresh database leaves empty, and the counters.
fn data_held(t: &dyn TableExport) -> Result<Vec<String>> {
    let mut held = Vec::new();
    for table in Table::ALL {
        if matches!(table, Table::Meta | Table::Counters) {
            continue;
        }
        let n = t.row_count(table)?;
        if n > 0 {
            held.push(format!("{n} {}", table.name()));
        }
    }
    let mut counters = Vec::new();
    t.export_rows(Table::Counters, &mut |row| {
        if let [Cell::Text(name), Cell::Int(v)] = row.as_slice()
            && *v != 0
        {
            counters.push(format!("counter {name} at {v}"));
        }
        Ok(())
    })?;
    held.extend(counters);
    Ok(held)
}

/// Refuses a target that already holds anything a copy would mix with.
pub fn ensure_empty(t: &dyn TableExport, target: &str) -> Result<()> {
    let held = data_held(t)?;
    if held.is_empty() {
        return Ok(());
    }
    Err(Error::conflict(
        "target_not_empty",
        format!(
            "{target} already holds data ({}); nothing was copied. Migrate into a new, empty database (e.g. `createdb onsite_new`) or drop this one first",
            held.join(", ")
        ),
    ))
}

/// Copies every table of `from` into `to`, in one write transaction on the target that
/// commits only when the target's checksum equals the source's: a refusal or a failure
/// anywhere leaves the target as it was. `target` names the target in messages.
pub fn copy_store(
    from: &impl BulkBackend,
    to: &impl BulkBackend,
    target: &str,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<(StoreChecksum, StoreChecksum)> {
    to.import(|dst| {
        ensure_empty(dst, target)?;
        // A new database seeds its own epoch and zero counters: the source's replace them.
        dst.clear_table(Table::Meta)?;
        dst.clear_table(Table::Counters)?;
        let source = from.export(|src| copy_tables(src, dst, progress))?;
        progress(CopyProgress::Verifying);
        let copied = checksum(dst)?;
        if copied != source {
            let differ: Vec<&str> = source
                .tables
                .iter()
                .zip(&copied.tables)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.table.name())
                .collect();
            return Err(Error::Internal(format!(
                "the copy's checksum differs from the source's in {}; nothing was committed",
                differ.join(", ")
            )));
        }
        Ok((source, copied))
    })
}

/// Streams each table into the target in batches, hashing the source rows on the way.
fn copy_tables(
    src: &dyn TableExport,
    dst: &dyn TableImport,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<StoreChecksum> {
    let mut sums = Vec::new();
    for table in Table::ALL {
        let total = src.row_count(table)?;
        let mut h = Sha256::new();
        let mut done = 0u64;
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        progress(CopyProgress::Rows { table, done, total });
        src.export_rows(table, &mut |row| {
            hash_row(&mut h, &row);
            batch.push(row);
            if batch.len() == BATCH_ROWS {
                dst.import_rows(table, &batch)?;
                done += batch.len() as u64;
                batch.clear();
                progress(CopyProgress::Rows { table, done, total });
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            dst.import_rows(table, &batch)?;
            done += batch.len() as u64;
            progress(CopyProgress::Rows { table, done, total });
        }
        sums.push(TableSum {
            table,
            rows: done,
            sha256: hex::encode(h.finalize()),
        });
    }
    Ok(finish(sums))
}
