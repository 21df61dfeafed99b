//! Whole tables in and out (`migrate`, and the checksums that verify a copy): SQL only.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, TransactionBehavior};

use super::super::backend::{BulkBackend, Cell, ColumnKind, Table, TableExport, TableImport};
use super::SqliteBackend;
use crate::error::{Error, Result};

struct SqliteDump<'a>(&'a Connection);

fn select_sql(table: Table) -> String {
    let cols: Vec<&str> = table.columns().iter().map(|(c, _)| *c).collect();
    let key = &cols[..table.key_len()];
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.join(", "),
        table.name(),
        key.join(", ")
    )
}

fn cell(kind: ColumnKind, v: ValueRef<'_>, table: Table) -> Result<Cell> {
    Ok(match (kind, v) {
        (_, ValueRef::Null) => Cell::Null,
        (ColumnKind::Int, ValueRef::Integer(i)) => Cell::Int(i),
        (ColumnKind::Bool, ValueRef::Integer(i)) => Cell::Bool(i != 0),
        (ColumnKind::Text, ValueRef::Text(t)) => Cell::Text(
            std::str::from_utf8(t)
                .map_err(|e| Error::Internal(format!("{}: stored text: {e}", table.name())))?
                .to_owned(),
        ),
        (kind, other) => {
            return Err(Error::Internal(format!(
                "{}: a {kind:?} column holds {:?}",
                table.name(),
                other.data_type()
            )));
        }
    })
}

fn sql_value(c: &Cell) -> SqlValue {
    match c {
        Cell::Null => SqlValue::Null,
        Cell::Int(i) => SqlValue::Integer(*i),
        Cell::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Cell::Text(t) => SqlValue::Text(t.clone()),
    }
}

impl TableExport for SqliteDump<'_> {
    fn row_count(&self, table: Table) -> Result<u64> {
        let n: i64 =
            self.0
                .query_row(&format!("SELECT count(*) FROM {}", table.name()), [], |r| {
                    r.get(0)
                })?;
        Ok(n as u64)
    }

    fn export_rows(
        &self,
        table: Table,
        each: &mut dyn FnMut(Vec<Cell>) -> Result<()>,
    ) -> Result<()> {
        let columns = table.columns();
        let mut stmt = self.0.prepare(&select_sql(table))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let mut out = Vec::with_capacity(columns.len());
            for (i, (_, kind)) in columns.iter().enumerate() {
                out.push(cell(*kind, r.get_ref(i)?, table)?);
            }
            each(out)?;
        }
        Ok(())
    }
}

impl TableImport for SqliteDump<'_> {
    fn import_rows(&self, table: Table, rows: &[Vec<Cell>]) -> Result<()> {
        let columns = table.columns();
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let mut stmt = self.0.prepare_cached(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name(),
            names.join(", "),
            marks.join(", ")
        ))?;
        for row in rows {
            if row.len() != columns.len() {
                return Err(Error::Internal(format!(
                    "{}: a row of {} values for {} columns",
                    table.name(),
                    row.len(),
                    columns.len()
                )));
            }
            stmt.execute(rusqlite::params_from_iter(row.iter().map(sql_value)))?;
        }
        Ok(())
    }

    fn clear_table(&self, table: Table) -> Result<()> {
        self.0
            .execute(&format!("DELETE FROM {}", table.name()), [])?;
        Ok(())
    }

    fn set_epoch(&self, epoch: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [epoch],
        )?;
        Ok(())
    }
}

impl BulkBackend for SqliteBackend {
    fn export<T>(&self, f: impl FnOnce(&dyn TableExport) -> Result<T>) -> Result<T> {
        let mut conn = super::open_conn(&self.path)?;
        let tx = conn.transaction()?;
        let out = f(&SqliteDump(&tx));
        tx.finish()?;
        out
    }

    fn import<T>(&self, f: impl FnOnce(&dyn TableImport) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&SqliteDump(&tx))?;
        tx.commit()?;
        Ok(out)
    }
}
