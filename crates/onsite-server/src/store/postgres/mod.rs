//! The PostgreSQL backend, chosen by a `postgres://` URL: SQL only; the rules are the
//! engine's. Any number of server processes may run on one database.
//!
//! **Blocking bridge.** The `Backend` trait is synchronous (the engine runs on blocking
//! threads: `api::blocking` in the server, plain threads in the admin commands and tests),
//! while `tokio-postgres` is async. The backend owns a small tokio runtime whose workers
//! drive the connections' sockets; each primitive blocks its calling thread on one query
//! with `Handle::block_on`. That works from any thread that is not itself running async
//! tasks — a plain thread or tokio's blocking pool — which is where the store is called.
//!
//! **Commit-ordered `server_seq` across instances.** Every write transaction first takes the
//! row lock of the `server_seq` counter (`SELECT … FOR UPDATE`) and then runs at READ
//! COMMITTED, so each of its statements sees everything the previous writer committed. Writers
//! on every instance therefore run one after another, exactly like SQLite's single writer:
//! seqs are handed out in commit order, so a pull at `cursor` never misses a change that
//! commits later with a smaller seq; the seq-gap check, the stored outcomes and the server HLC
//! are read under the lock and cannot go stale; and no write ever fails with a serialization
//! error that the engine would have to retry. The cost is that writes do not run in
//! parallel: write throughput is that of one transaction at a time (one round trip per
//! statement), whatever the number of instances. Reads are unaffected: they run in
//! `REPEATABLE READ, READ ONLY` transactions on their own connections, see one consistent
//! state and never wait for the lock.

mod dump;
mod listen;
mod quality;
mod tx;
mod web_sessions;
mod write;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::{Handle, Runtime};
use tokio_postgres::{IsolationLevel, NoTls};

use super::backend::{Backend, ReadTx, WriteTx};
use crate::auth;
use crate::error::{Error, Result};
use crate::live::ChangeFeed;
use tx::PgTx;

/// Applied in order, each in its own transaction, recorded in `schema_migrations`; a file is
/// never edited once shipped.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        "0002_blobs",
        include_str!("../../../migrations/postgres/0002_blobs.sql"),
    ),
    (
        "0003_blob_uploaders",
        include_str!("../../../migrations/postgres/0003_blob_uploaders.sql"),
    ),
    (
        "0004_closed_loop",
        include_str!("../../../migrations/postgres/0004_closed_loop.sql"),
    ),
    (
        "0005_quality_reviews",
        include_str!("../../../migrations/postgres/0005_quality_reviews.sql"),
    ),
    (
        "0006_web_sessions",
        include_str!("../../../migrations/postgres/0006_web_sessions.sql"),
    ),
];

/// Connections per process: one writer at a time (the lock) plus concurrent readers.
const POOL_SIZE: usize = 16;

/// The advisory lock that keeps two processes starting on a fresh database from migrating it
/// at the same time.
const MIGRATION_LOCK: i64 = 0x6f6e_7369_7465;

/// The statement every write transaction starts with (see the module comment).
const WRITE_LOCK_SQL: &str = "SELECT value FROM counters WHERE name = 'server_seq' FOR UPDATE";

pub struct PostgresBackend {
    pool: Pool,
    handle: Handle,
    /// Taken on drop and shut down without waiting, so the backend may be dropped anywhere,
    /// also inside the server's async runtime.
    runtime: Option<Runtime>,
    epoch: String,
    /// Fed by this instance's `LISTEN` connection (`listen`), which runs on `runtime`.
    feed: Arc<ChangeFeed>,
}

impl PostgresBackend {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`),
    /// applies the migrations it lacks and seeds the counters and the epoch.
    pub fn connect(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("onsite-postgres")
            .enable_all()
            .build()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| Error::Internal(format!("database pool: {e}")))?;
        let handle = runtime.handle().clone();
        let epoch = handle.block_on(async {
            let mut client = pool.get().await?;
            migrate(&mut client).await
        })?;
        let feed = Arc::new(ChangeFeed::default());
        handle.spawn(listen::run(config, feed.clone()));
        Ok(Self {
            pool,
            handle,
            runtime: Some(runtime),
            epoch,
            feed,
        })
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Applies the missing migrations under the advisory lock; returns the epoch.
async fn migrate(client: &mut deadpool_postgres::Client) -> Result<String> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let out = apply_migrations(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let epoch = out?;
    unlocked?;
    Ok(epoch)
}

async fn apply_migrations(client: &mut deadpool_postgres::Client) -> Result<String> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name       TEXT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let applied: HashSet<String> = client
        .query("SELECT name FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    for (name, sql) in MIGRATIONS {
        if applied.contains(*name) {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql)
            .await
            .map_err(|e| Error::Internal(format!("migration {name}: {e}")))?;
        tx.execute("INSERT INTO schema_migrations (name) VALUES ($1)", &[name])
            .await?;
        tx.commit().await?;
        tracing::info!(migration = name, "applied migration");
    }
    let tx = client.transaction().await?;
    for name in ["server_seq", "wo_number", "server_hlc"] {
        tx.execute(
            "INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
            &[&name],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
        &[&auth::new_epoch()],
    )
    .await?;
    let epoch: String = tx
        .query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])
        .await?
        .try_get(0)?;
    tx.commit().await?;
    Ok(epoch)
}

impl PostgresBackend {
    /// Runs `f` in a read-only repeatable-read transaction: one snapshot, never a write.
    pub(super) fn in_snapshot<T>(
        &self,
        f: impl FnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.block_on(self.pool.get())?;
        let tx = self.block_on(
            client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )?;
        let out = f(&tx);
        self.block_on(tx.rollback())?;
        out
    }

    /// Runs `f` in a transaction that first takes the lock every write takes, committing
    /// if `f` succeeds and rolling back if it fails (a panic drops the transaction, which
    /// rolls it back too).
    pub(super) fn in_write<T>(
        &self,
        f: impl FnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.block_on(self.pool.get())?;
        let tx = self.block_on(
            client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start(),
        )?;
        self.block_on(tx.query_one(WRITE_LOCK_SQL, &[]))?;
        match f(&tx) {
            Ok(out) => {
                self.block_on(tx.commit())?;
                Ok(out)
            }
            Err(e) => {
                if let Err(rollback) = self.block_on(tx.rollback()) {
                    tracing::warn!(error = %rollback, "rolling back a refused write");
                }
                Err(e)
            }
        }
    }
}

impl Backend for PostgresBackend {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn read<T>(&self, f: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T> {
        self.in_snapshot(|tx| f(&PgTx::new(tx, &self.handle)))
    }

    fn write<T>(&self, f: impl FnOnce(&dyn WriteTx) -> Result<T>) -> Result<T> {
        self.in_write(|tx| {
            let pg = PgTx::new(tx, &self.handle);
            let out = f(&pg)?;
            // What the write deferred goes out before it commits.
            pg.flush()?;
            Ok(out)
        })
    }

    fn feed(&self) -> &Arc<ChangeFeed> {
        &self.feed
    }
}
