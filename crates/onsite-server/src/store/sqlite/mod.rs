//! The embedded SQLite backend: `<data>/onsite.db`, WAL, foreign keys on. SQL only; the
//! rules are the engine's.
//!
//! One write connection behind a mutex is the serialized apply path: each change takes the
//! next `server_seq` from the `counters` row inside the same transaction. Reads use their
//! own pooled connections, each inside a transaction so a pull sees one consistent state.

pub mod backup;
mod dump;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
];

pub struct SqliteBackend {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    epoch: String,
    feed: Arc<ChangeFeed>,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.pragma_update(None, "foreign_keys", true)?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
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
            readers: Mutex::new(Vec::new()),
            epoch,
            feed: Arc::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Backend for SqliteBackend {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn read<T>(&self, f: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        let out = {
            let tx = conn.transaction()?;
            let out = f(&SqliteTx::new(&tx));
            tx.finish()?;
            out
        };
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
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
