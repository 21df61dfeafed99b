//! Simulated time: one world clock that only the scenario moves, the server reading it as
//! is, and each device reading it through its own offset (wrong by up to a year, and
//! jumping when the scenario says so).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use onsite_model::clock::Clock;
use onsite_model::time::{Timestamp, ts_from_ms};

/// The true time of the simulated world, in Unix milliseconds.
#[derive(Debug)]
pub struct WorldTime {
    ms: AtomicI64,
}

impl WorldTime {
    pub fn new(start_ms: i64) -> Arc<Self> {
        Arc::new(Self {
            ms: AtomicI64::new(start_ms),
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }

    /// Time only moves forward in the world; device clocks may still jump back.
    pub fn advance(&self, ms: i64) {
        self.ms.fetch_add(ms.max(0), Ordering::SeqCst);
    }
}

/// The server's clock: the world's time.
#[derive(Debug)]
pub struct ServerClock(pub Arc<WorldTime>);

impl Clock for ServerClock {
    fn now(&self) -> Timestamp {
        ts_from_ms(self.0.now_ms())
    }
}

/// A device's wall clock: the world's time plus an offset the scenario sets and changes.
#[derive(Debug)]
pub struct DeviceClock {
    world: Arc<WorldTime>,
    offset_ms: AtomicI64,
}

impl DeviceClock {
    pub fn new(world: Arc<WorldTime>, offset_ms: i64) -> Arc<Self> {
        Arc::new(Self {
            world,
            offset_ms: AtomicI64::new(offset_ms),
        })
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// The tablet's clock is set to something else (by hand, by a dead battery, by a
    /// network time fix): forwards or backwards.
    pub fn jump_to_offset(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::SeqCst);
    }
}

impl Clock for DeviceClock {
    fn now(&self) -> Timestamp {
        ts_from_ms(self.world.now_ms() + self.offset_ms())
    }
}
