//! Opening the replica file: refuse what is not ours, upgrade older schemas in a
//! transaction per migration, never overwrite a damaged file.

use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// Schema migrations in order; `PRAGMA user_version` counts how many are applied. Never edit
/// a shipped one: add the next file.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../migrations/0001_init.sql")),
    (
        "0002_sync_state",
        include_str!("../migrations/0002_sync_state.sql"),
    ),
];

pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Statements run through a per-connection cache: a sync stores hundreds of rows with the
/// same few statements, and parsing them again each time cost more than running them.
pub(crate) trait CachedSql {
    fn exec(&self, sql: &str, args: impl rusqlite::Params) -> rusqlite::Result<usize>;
    fn one<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl CachedSql for Connection {
    fn exec(&self, sql: &str, args: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(args)
    }
    fn one<T>(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(args, f)
    }
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Opens (creating if absent) the replica database at `path` and brings its schema up to
/// date. `upto` limits the migrations applied (tests build older replicas with it).
pub fn open(path: &Path, upto: Option<u32>) -> Result<Connection> {
    check_header(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let corrupt = |e: rusqlite::Error| classify(path, e);
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(corrupt)?;
    // Check before anything writes: switching to WAL rewrites the header, and a damaged
    // file must be left exactly as it was found.
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(corrupt)?;
    if check != "ok" {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            detail: check,
        });
    }
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(corrupt)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
        .map_err(corrupt)?;
    // FULL: a committed write survives power loss, not just a crash of the app.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(corrupt)?;
    conn.set_prepared_statement_cache_capacity(64);
    migrate(path, conn, upto)
}

/// A non-empty file that does not start with SQLite's header is someone else's file: refuse
/// before SQLite touches it.
fn check_header(path: &Path) -> Result<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::File {
                path: path.to_owned(),
                source: e,
            });
        }
    };
    if file.metadata()?.is_dir() {
        return Err(Error::NotAReplica {
            path: path.to_owned(),
            reason: "it is a folder".into(),
        });
    }
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..])? {
            0 => break,
            n => read += n,
        }
    }
    if read == 0 {
        return Ok(());
    }
    if read < head.len() || &head != SQLITE_MAGIC {
        return Err(Error::NotAReplica {
            path: path.to_owned(),
            reason: "not an SQLite database".into(),
        });
    }
    Ok(())
}

fn classify(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => Error::NotAReplica {
            path: path.to_owned(),
            reason: "not an SQLite database".into(),
        },
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => Error::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        _ => Error::Sqlite(e),
    }
}

fn migrate(path: &Path, mut conn: Connection, upto: Option<u32>) -> Result<Connection> {
    let target = upto.unwrap_or_else(schema_version).min(schema_version());
    let current: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if current > schema_version() {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found: current,
            supported: schema_version(),
        });
    }
    if current > 0 {
        // An existing file must look like a replica, not another program's SQLite database.
        let ours: bool = conn.query_row(
            "SELECT count(*) = 1 FROM sqlite_master WHERE type = 'table' AND name = 'oplog'",
            [],
            |r| r.get(0),
        )?;
        if !ours {
            return Err(Error::NotAReplica {
                path: path.to_owned(),
                reason: "an SQLite database of another program".into(),
            });
        }
    } else {
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables > 0 {
            return Err(Error::NotAReplica {
                path: path.to_owned(),
                reason: "an SQLite database of another program".into(),
            });
        }
    }
    for (i, (_name, sql)) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(current as usize)
        .take(target.saturating_sub(current) as usize)
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_applies_to_an_empty_database_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let conn = open(&path, None).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, schema_version());
        let fk: Vec<String> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(fk.is_empty());
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        // Opening again is a no-op.
        open(&path, None).unwrap();
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        drop(open(&path, Some(1)).unwrap());
        let mut conn = Connection::open(&path).unwrap();
        // Simulate a partial upgrade: the second migration fails half way.
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[1].1).unwrap();
        let err = tx.execute_batch("CREATE TABLE sync_state (x)");
        assert!(err.is_err());
        drop(tx);
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
        let exists: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sync_state'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(exists, 0, "rolled back whole");
    }
}
