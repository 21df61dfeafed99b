//! The engine's state and its transactions: the clock, the id source, and the write context
//! each rule runs in.

use std::sync::Arc;

use onsite_model::time::Timestamp;
use onsite_model::{Clock, Hlc, HlcClock, IdSource};

use super::super::backend::{Backend, Counter, ReadTx, WriteTx};
use super::audience::Watched;
use crate::error::Result;

/// How expensive password hashes are. `Fast` is for tests only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordCost {
    #[default]
    Standard,
    Fast,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct StoreOptions {
    pub password_cost: PasswordCost,
}

/// The store: the engine's rules over one backend.
pub struct Engine<B: Backend> {
    pub(super) backend: B,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) ids: Arc<dyn IdSource>,
    options: StoreOptions,
}

/// What one write transaction can use.
pub(super) struct Ctx<'a> {
    pub(super) tx: &'a dyn WriteTx,
    pub(super) now: Timestamp,
    pub(super) ids: &'a dyn IdSource,
    pub(super) hlc: HlcClock,
}

impl Ctx<'_> {
    /// A stamp for a write made in the office.
    pub(super) fn office_hlc(&mut self) -> Hlc {
        self.hlc.tick(self.now.timestamp_millis())
    }
}

impl<B: Backend> Engine<B> {
    pub fn new(
        backend: B,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
        options: StoreOptions,
    ) -> Self {
        Self {
            backend,
            clock,
            ids,
            options,
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// One write transaction on the serialized apply path. The server's HLC is read from and
    /// written back to its counter inside the transaction, so it is shared by every process
    /// on the same database and rolls back with a failed write. The devices the write
    /// concerns are told of it when it commits (`audience`).
    pub(super) fn write<T>(&self, f: impl FnOnce(&mut Ctx<'_>) -> Result<T>) -> Result<T> {
        self.backend.write(|tx| {
            let watched = Watched::new(tx);
            let mut ctx = Ctx {
                tx: &watched,
                now: self.clock.now(),
                ids: self.ids.as_ref(),
                hlc: HlcClock::resume(Hlc::from_u64(tx.counter(Counter::ServerHlc)?)),
            };
            let out = f(&mut ctx)?;
            tx.set_counter(Counter::ServerHlc, ctx.hlc.last().as_u64())?;
            if let Some(notice) = watched.notice()? {
                tx.announce(&notice.encode())?;
            }
            Ok(out)
        })
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&dyn ReadTx) -> Result<T>) -> Result<T> {
        self.backend.read(f)
    }

    pub(super) fn fast_passwords(&self) -> bool {
        self.options.password_cost == PasswordCost::Fast
    }
}
