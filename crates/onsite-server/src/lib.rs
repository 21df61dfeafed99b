//! The Onsite server: the sync protocol for devices and the back-office API, over a
//! storage trait with an embedded SQLite backend and a PostgreSQL one.

pub mod admin;
pub mod auth;
pub mod blobs;
pub mod error;
pub mod live;
pub mod store;

pub use error::{Error, Result};
pub use store::{PostgresStore, SqliteStore, Store, StoreOptions};
pub mod api;
pub mod config;
pub mod demo;
pub mod limits;
pub mod metrics;
