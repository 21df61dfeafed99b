//! The server side of a scenario: the real store engine on a SQLite file, which the
//! scenario may crash and reopen at any point between two requests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onsite_model::clock::{Clock, IdSource};
use onsite_server::store::{PasswordCost, SqliteStore, StoreOptions};

pub struct Server {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    store: Option<SqliteStore>,
    pub restarts: u64,
}

fn open(dir: &Path, clock: &Arc<dyn Clock>, ids: &Arc<dyn IdSource>) -> SqliteStore {
    SqliteStore::open(
        dir,
        clock.clone(),
        ids.clone(),
        StoreOptions {
            password_cost: PasswordCost::Fast,
            loop_policy: onsite_model::closed_loop::LoopPolicy::DEFAULT,
        },
    )
    .unwrap_or_else(|e| panic!("the server's database in {} opens: {e}", dir.display()))
}

impl Server {
    pub fn open(dir: &Path, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>) -> Server {
        Server {
            dir: dir.to_owned(),
            store: Some(open(dir, &clock, &ids)),
            clock,
            ids,
            restarts: 0,
        }
    }

    pub fn store(&self) -> &SqliteStore {
        self.store.as_ref().expect("the server is running")
    }

    /// The server process dies between two requests and starts again from its database:
    /// whatever it committed is there, nothing else (the engine keeps no state in memory).
    pub fn restart(&mut self) {
        drop(self.store.take());
        self.store = Some(open(&self.dir, &self.clock, &self.ids));
        self.restarts += 1;
    }
}
