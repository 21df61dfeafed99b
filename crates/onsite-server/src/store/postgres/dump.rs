//! Whole tables in and out (`migrate`, and the checksums that verify a copy): SQL only.
//! Rows go out through a server-side cursor, a page at a time, and in as multi-row
//! `INSERT`s, so a large table costs a few round trips per thousand rows.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::super::backend::{BulkBackend, Cell, ColumnKind, Table, TableExport, TableImport};
use super::PostgresBackend;
use crate::error::{Error, Result};

/// Rows per cursor page.
const FETCH_ROWS: usize = 1000;
/// Rows per `INSERT` (PostgreSQL takes at most 65,535 parameters in a statement).
const INSERT_ROWS: usize = 500;

struct PgDump<'t, 'c> {
    tx: &'t deadpool_postgres::Transaction<'c>,
    backend: &'t PostgresBackend,
}

fn select_sql(table: Table) -> String {
    let columns = table.columns();
    let cols: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    // Byte order for text keys, as SQLite compares.
    let key: Vec<String> = columns[..table.key_len()]
        .iter()
        .map(|(c, kind)| match kind {
            ColumnKind::Text => format!("{c} COLLATE \"C\""),
            _ => (*c).to_owned(),
        })
        .collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.join(", "),
        table.name(),
        key.join(", ")
    )
}

fn cells(row: &Row, table: Table) -> Result<Vec<Cell>> {
    let mut out = Vec::with_capacity(row.len());
    for (i, (_, kind)) in table.columns().iter().enumerate() {
        out.push(match kind {
            ColumnKind::Text => row
                .try_get::<_, Option<String>>(i)?
                .map_or(Cell::Null, Cell::Text),
            ColumnKind::Int => row
                .try_get::<_, Option<i64>>(i)?
                .map_or(Cell::Null, Cell::Int),
            ColumnKind::Bool => row
                .try_get::<_, Option<bool>>(i)?
                .map_or(Cell::Null, Cell::Bool),
        });
    }
    Ok(out)
}

fn param(kind: ColumnKind, c: &Cell, table: Table) -> Result<Box<dyn ToSql + Sync + Send>> {
    Ok(match (kind, c) {
        (ColumnKind::Text, Cell::Null) => Box::new(None::<String>),
        (ColumnKind::Int, Cell::Null) => Box::new(None::<i64>),
        (ColumnKind::Bool, Cell::Null) => Box::new(None::<bool>),
        (ColumnKind::Text, Cell::Text(t)) => Box::new(t.clone()),
        (ColumnKind::Int, Cell::Int(i)) => Box::new(*i),
        (ColumnKind::Bool, Cell::Bool(b)) => Box::new(*b),
        (ColumnKind::Bool, Cell::Int(i)) => Box::new(*i != 0),
        (kind, other) => {
            return Err(Error::Internal(format!(
                "{}: {other:?} for a {kind:?} column",
                table.name()
            )));
        }
    })
}

impl PgDump<'_, '_> {
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.backend.block_on(f)
    }
}

impl TableExport for PgDump<'_, '_> {
    fn row_count(&self, table: Table) -> Result<u64> {
        let row = self.block_on(
            self.tx
                .query_one(&format!("SELECT count(*) FROM {}", table.name()), &[]),
        )?;
        Ok(row.try_get::<_, i64>(0)? as u64)
    }

    fn export_rows(
        &self,
        table: Table,
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()> {
        let cursor = format!("onsite_export_{}", table.name());
        self.block_on(self.tx.batch_execute(&format!(
            "DECLARE {cursor} NO SCROLL CURSOR FOR {}",
            select_sql(table)
        )))?;
        let fetch = format!("FETCH {FETCH_ROWS} FROM {cursor}");
        loop {
            let rows = self.block_on(self.tx.query(&fetch, &[]))?;
            for r in &rows {
                each(cells(r, table)?)?;
            }
            if rows.len() < FETCH_ROWS {
                break;
            }
        }
        self.block_on(self.tx.batch_execute(&format!("CLOSE {cursor}")))?;
        Ok(())
    }
}

impl TableImport for PgDump<'_, '_> {
    fn import_rows(&self, table: Table, rows: &[Vec<Cell>]) -> Result<()> {
        let columns = table.columns();
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        for chunk in rows.chunks(INSERT_ROWS) {
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> =
                Vec::with_capacity(chunk.len() * columns.len());
            let mut tuples = Vec::with_capacity(chunk.len());
            for row in chunk {
                if row.len() != columns.len() {
                    return Err(Error::Internal(format!(
                        "{}: a row of {} values for {} columns",
                        table.name(),
                        row.len(),
                        columns.len()
                    )));
                }
                let first = params.len();
                for ((_, kind), c) in columns.iter().zip(row) {
                    params.push(param(*kind, c, table)?);
                }
                let marks: Vec<String> = (first + 1..=params.len())
                    .map(|i| format!("${i}"))
                    .collect();
                tuples.push(format!("({})", marks.join(", ")));
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                table.name(),
                names.join(", "),
                tuples.join(", ")
            );
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            self.block_on(async {
                let stmt = self.tx.prepare_cached(&sql).await?;
                self.tx.execute(&stmt, &refs).await
            })?;
        }
        Ok(())
    }

    fn clear_table(&self, table: Table) -> Result<()> {
        self.block_on(
            self.tx
                .execute(&format!("DELETE FROM {}", table.name()), &[]),
        )?;
        Ok(())
    }

    fn set_epoch(&self, epoch: &str) -> Result<()> {
        self.block_on(self.tx.execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&epoch],
        ))?;
        Ok(())
    }
}

impl BulkBackend for PostgresBackend {
    fn export<T>(&self, f: impl FnOnce(&dyn TableExport) -> Result<T>) -> Result<T> {
        self.in_snapshot(|tx| f(&PgDump { tx, backend: self }))
    }

    /// Under the lock every write takes: no server writes while the tables fill.
    fn import<T>(&self, f: impl FnOnce(&dyn TableImport) -> Result<T>) -> Result<T> {
        self.in_write(|tx| f(&PgDump { tx, backend: self }))
    }
}
