//! The engine's state and its transactions: the clock, the id source, and the write context
//! each rule runs in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onsite_model::quality::SamplingPolicy;
use onsite_model::time::Timestamp;
use onsite_model::{Clock, DeviceId, Hlc, HlcClock, IdSource};

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
    /// The closed loop's timings (callback due, urgent, retry, complaint deadline).
    pub loop_policy: onsite_model::closed_loop::LoopPolicy,
}

/// The store: the engine's rules over one backend.
pub struct Engine<B: Backend> {
    pub(super) backend: B,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) ids: Arc<dyn IdSource>,
    options: StoreOptions,
    /// Which completed jobs the quality review samples (`onsite_model::quality`).
    pub(super) sampling: SamplingPolicy,
    /// Devices heard from whose `last_seen` is not written yet: a read (a pull, an office
    /// list) never waits for a write of its own; the next write, or the periodic flush,
    /// records them.
    seen: Mutex<HashMap<DeviceId, Timestamp>>,
}

/// What one write transaction can use.
pub(super) struct Ctx<'a> {
    pub(super) tx: &'a dyn WriteTx,
    /// The same transaction, as the engine's view with its per-write caches.
    pub(super) view: &'a Watched<'a>,
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
            sampling: SamplingPolicy::default(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The same store sampling `policy` of completed jobs for quality review (default 10 %).
    pub fn with_sampling(mut self, policy: SamplingPolicy) -> Self {
        self.sampling = policy;
        self
    }

    /// Notes that a device was heard from now; written with the next write.
    pub(super) fn note_seen(&self, device: DeviceId, at: Timestamp) {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device, at);
    }

    /// Writes every noted `last_seen` (the periodic flush; writes do it on their own).
    pub(super) fn flush_seen(&self) -> Result<()> {
        let idle = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if idle {
            return Ok(());
        }
        self.write(|_| Ok(()))
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
            // Taken out of the queue inside the transaction: lost only with a write that
            // rolls back, and then the device's next request notes it again.
            let seen = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()));
            for (device, at) in seen {
                tx.touch_device(device, at)?;
            }
            let watched = Watched::new(tx);
            let mut ctx = Ctx {
                tx: &watched,
                view: &watched,
                now: self.clock.now(),
                ids: self.ids.as_ref(),
                hlc: HlcClock::resume(Hlc::from_u64(tx.counter(Counter::ServerHlc)?)),
            };
            let out = f(&mut ctx)?;
            watched.flush()?;
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

    pub(super) fn loop_policy(&self) -> onsite_model::closed_loop::LoopPolicy {
        self.options.loop_policy
    }

    pub(super) fn fast_passwords(&self) -> bool {
        self.options.password_cost == PasswordCost::Fast
    }
}
