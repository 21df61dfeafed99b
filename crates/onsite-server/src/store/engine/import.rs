//! The office's bulk import of work orders, shaped so that it never holds the write path
//! for long: every row is built and checked by the intake rules in a read transaction
//! first (which waits for no writer and holds none back), so a bad row refuses the whole
//! import — naming its row — before anything is stored; then the rows are stored in chunks,
//! each its own short write transaction, so a technician's push waits for one chunk at
//! most, not for the whole file.
//!
//! Each chunk checks its rows again as it writes them (the same rules). Should the store
//! change under an import so that a row checked fine is refused when its chunk is written —
//! say its assignee stopped being a technician meanwhile — the chunks before it stay
//! stored, and the refusal says which rows were stored and from which row to send again.

use std::time::Duration;

use onsite_model::WorkOrder;

use super::super::backend::Backend;
use super::super::interface::NewWorkOrder;
use super::context::Engine;
use super::office::{check_rows, create_rows};
use crate::error::{Error, Result};

/// Rows per write transaction: small enough that a push behind a chunk waits a moment,
/// large enough that the per-transaction cost is spread thin.
pub const IMPORT_CHUNK_ROWS: usize = 100;

/// The pause between chunks. The SQLite write path is a plain mutex, which is not fair: a
/// thread that unlocks and locks again at once usually wins against one already waiting.
/// The pause lets a waiting push take its turn (PostgreSQL queues lock waiters in order
/// anyway); 1,000 chunks cost two seconds of it.
const BETWEEN_CHUNKS: Duration = Duration::from_millis(2);

impl<B: Backend> Engine<B> {
    pub(super) fn import_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>> {
        let now = self.clock.now();
        self.read(|tx| check_rows(tx, new, now))?;
        let mut out = Vec::with_capacity(new.len());
        for (k, chunk) in new.chunks(IMPORT_CHUNK_ROWS).enumerate() {
            let first = k * IMPORT_CHUNK_ROWS;
            if k > 0 {
                std::thread::sleep(BETWEEN_CHUNKS);
            }
            match self.write(|ctx| create_rows(ctx, chunk, first)) {
                Ok(mut stored) => out.append(&mut stored),
                Err(e) if first > 0 => return Err(stored_before(e, first)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// A refusal of a later chunk, saying what is already stored.
fn stored_before(e: Error, stored: usize) -> Error {
    if !matches!(e, Error::Refused { .. }) {
        tracing::error!(stored, error = %e, "an import failed part-way");
    }
    e.reworded(|message| {
        format!(
            "{message}; the store changed during the import: rows 1–{stored} were stored, send the rows from {} on again",
            stored + 1
        )
    })
}
