//! The server's store: the `Store` trait (one method per domain operation, `interface`) that
//! handlers call, implemented once by the engine (`engine`) over a backend's storage
//! primitives (`backend`). A backend (`sqlite`, `postgres`) holds SQL and nothing else.
//!
//! Every method is synchronous; handlers call them through `spawn_blocking`. Every write
//! goes through one serialized apply path that hands out the global `server_seq`.

pub mod backend;
mod columns;
pub mod engine;
mod interface;
pub mod postgres;
pub mod sqlite;

pub use engine::{Engine, FIELD_RULE, PasswordCost, StoreOptions};
pub use interface::*;
pub use postgres::PostgresBackend;
pub use sqlite::SqliteBackend;

use crate::error::Result;

/// The embedded default: the engine over SQLite in a data folder.
pub type SqliteStore = Engine<SqliteBackend>;

/// The engine over a PostgreSQL database shared by any number of server processes.
pub type PostgresStore = Engine<PostgresBackend>;

impl Engine<SqliteBackend> {
    /// Opens (creating when needed) the database in `data_dir`.
    pub fn open(
        data_dir: &std::path::Path,
        clock: std::sync::Arc<dyn onsite_model::Clock>,
        ids: std::sync::Arc<dyn onsite_model::IdSource>,
        options: StoreOptions,
    ) -> Result<Self> {
        Ok(Engine::new(
            SqliteBackend::open(data_dir)?,
            clock,
            ids,
            options,
        ))
    }

    pub fn path(&self) -> &std::path::Path {
        self.backend().path()
    }
}

impl Engine<PostgresBackend> {
    /// Connects to the database at `url` (`postgres://…`), migrating it when needed.
    pub fn connect(
        url: &str,
        clock: std::sync::Arc<dyn onsite_model::Clock>,
        ids: std::sync::Arc<dyn onsite_model::IdSource>,
        options: StoreOptions,
    ) -> Result<Self> {
        Ok(Engine::new(
            PostgresBackend::connect(url)?,
            clock,
            ids,
            options,
        ))
    }
}
