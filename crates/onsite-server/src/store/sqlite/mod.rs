//! The embedded SQLite backend: `<data>/onsite.db`, WAL, foreign keys on. SQL only; the
//! rules are the engine's.
//!
//! One write connection behind a mutex is the serialized apply path: each change takes the
//! next `server_seq` from the `counters` row inside the same transaction. Reads use their
//! own pooled connections, each inside a transaction so a pull sees one consistent state.
//! The pool holds a few connections per core and reads wait for one: a thousand pulls at
//! once run a few at a time on warm connections (prepared statements kept) instead of each
//! opening and parsing afresh.

pub mod backup;
mod dump;
mod quality;
mod tx;
mod web_sessions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::backend::{Backend, ReadTx, WriteTx};
use crate::auth;
use crate::error::{Error, Result};
use crate::live::ChangeFeed;
use tx::SqliteTx;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        "0002_blobs",
        include_str!("../../../migrations/sqlite/0002_blobs.sql"),
    ),
    (
        "0003_blob_uploaders",
        include_str!("../../../migrations/sqlite/0003_blob_uploaders.sql"),
    ),
    (
        "0004_closed_loop",
        include_str!("../../../migrations/sqlite/0004_closed_loop.sql"),
    ),
    (
        "0005_quality_reviews",
        include_str!("../../../migrations/sqlite/0005_quality_reviews.sql"),
    ),
    (
        "0006_web_sessions",
        include_str!("../../../migrations/sqlite/0006_web_sessions.sql"),
    ),
];

/// Reader connections: the idle ones, and how many exist in all.
#[derive(Default)]
struct Readers {
    idle: Vec<Connection>,
    open: usize,
}

/// A reader connection on loan; handed back when dropped (also after a panic, its
/// transaction rolled back).
struct Lease<'a> {
    backend: &'a SqliteBackend,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut readers = self.backend.lock_readers();
        match self.conn.take() {
            Some(conn) => readers.idle.push(conn),
            None => readers.open -= 1,
        }
        drop(readers);
        self.backend.reader_freed.notify_one();
    }
}

pub struct SqliteBackend {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Readers>,
    /// Signalled when a reader connection is handed back.
    reader_freed: Condvar,
    max_readers: usize,
    epoch: String,
    feed: Arc<ChangeFeed>,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.pragma_update(None, "foreign_keys", true)?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    // Plans do not follow bound values: a cached statement is not parsed again for each
    // caller's ids.
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // Room for every statement of the push and pull paths, prepared once per connection.
    c.set_prepared_statement_cache_capacity(128);
    Ok(c)
}

fn migrate(c: &mut Connection) -> Result<()> {
    let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let n = i as i64 + 1;
        if n <= version {
            continue;
        }
        let tx = c.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| Error::Internal(format!("migration {name}: {e}")))?;
        tx.pragma_update(None, "user_version", n)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied migration");
    }
    let tx = c.transaction()?;
    for name in ["server_seq", "wo_number", "server_hlc"] {
        tx.execute(
            "INSERT OR IGNORE INTO counters (name, value) VALUES (?1, 0)",
            [name],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?1)",
        [auth::new_epoch()],
    )?;
    tx.commit()?;
    Ok(())
}

impl SqliteBackend {
    /// Opens (creating when needed) the database in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("onsite.db");
        let mut conn = open_conn(&path)?;
        migrate(&mut conn)?;
        let epoch: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })?;
        Ok(Self {
            path,
            writer: Mutex::new(conn),
            readers: Mutex::new(Readers::default()),
            reader_freed: Condvar::new(),
            max_readers: std::thread::available_parallelism()
                .map_or(4, |n| n.get() * 2)
                .max(4),
            epoch,
            feed: Arc::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_readers(&self) -> std::sync::MutexGuard<'_, Readers> {
        self.readers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle reader connection, a new one while there are fewer than `max_readers`, or
    /// the next one handed back.
    fn lease(&self) -> Result<Lease<'_>> {
        let mut readers = self.lock_readers();
        loop {
            if let Some(conn) = readers.idle.pop() {
                return Ok(Lease {
                    backend: self,
                    conn: Some(conn),
                });
            }
            if readers.open < self.max_readers {
                readers.open += 1;
                drop(readers);
                let mut lease = Lease {
                    backend: self,
                    conn: None,
                };
                lease.conn = Some(open_conn(&self.path)?);
                return Ok(lease);
            }
            readers = self
                .reader_freed
                .wait(readers)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Backend for SqliteBackend {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn read<T>(&self, f: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T> {
        let mut lease = self.lease()?;
        let conn = lease.conn.as_mut().expect("a leased connection");
        let tx = conn.transaction()?;
        let out = f(&SqliteTx::new(&tx));
        tx.finish()?;
        out
    }

    fn write<T>(&self, f: impl FnOnce(&dyn WriteTx) -> Result<T>) -> Result<T> {
        // A panic inside a write rolled its transaction back; the connection is still usable.
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let open = SqliteTx::new(&tx);
        let out = f(&open)?;
        let notice = open.1.take();
        drop(open);
        tx.commit()?;
        if let Some(notice) = notice {
            self.feed.publish_text(&notice);
        }
        Ok(out)
    }

    fn feed(&self) -> &Arc<ChangeFeed> {
        &self.feed
    }
}
