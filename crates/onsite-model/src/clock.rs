//! Time and identity are passed in, never taken from the system inside domain logic, so
//! tests can freeze, skew and jump time and replay id sequences.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use uuid::Uuid;

use crate::time::{Timestamp, ts_from_ms};

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The real wall clock of the machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// A clock that only moves when told to: for tests and simulations.
#[derive(Debug)]
pub struct FixedClock {
    ms: AtomicI64,
}

impl FixedClock {
    pub fn new(t: Timestamp) -> Self {
        Self {
            ms: AtomicI64::new(t.timestamp_millis()),
        }
    }

    pub fn set(&self, t: Timestamp) {
        self.ms.store(t.timestamp_millis(), Ordering::SeqCst);
    }

    pub fn advance_ms(&self, delta: i64) {
        self.ms.fetch_add(delta, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        ts_from_ms(self.ms.load(Ordering::SeqCst))
    }
}

/// A wall clock that runs `offset_ms` away from the real one, like a tablet set wrong.
#[derive(Debug)]
pub struct SkewedClock {
    pub offset_ms: i64,
}

impl Clock for SkewedClock {
    fn now(&self) -> Timestamp {
        ts_from_ms(chrono::Utc::now().timestamp_millis() + self.offset_ms)
    }
}

pub trait IdSource: Send + Sync {
    fn new_uuid(&self) -> Uuid;
}

/// UUIDv7 from the system's clock and randomness: ids sort by creation time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemIds;

impl IdSource for SystemIds {
    fn new_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Deterministic ids for tests: a prefix byte and a counter, shaped as UUIDv7 values.
#[derive(Debug)]
pub struct SeqIds {
    prefix: u8,
    next: AtomicU64,
}

impl SeqIds {
    pub fn new(prefix: u8) -> Self {
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }
}

impl IdSource for SeqIds {
    fn new_uuid(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let mut bytes = [0u8; 16];
        bytes[0] = self.prefix;
        bytes[8..16].copy_from_slice(&n.to_be_bytes());
        let mut b = uuid::Builder::from_bytes(bytes);
        b.set_version(uuid::Version::SortRand);
        b.set_variant(uuid::Variant::RFC4122);
        b.into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_ids_are_distinct_and_ordered() {
        let ids = SeqIds::new(7);
        let a = ids.new_uuid();
        let b = ids.new_uuid();
        assert_ne!(a, b);
        assert!(a < b);
        assert_eq!(a.get_version_num(), 7);
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(ts_from_ms(1_000));
        assert_eq!(c.now_ms(), 1_000);
        c.advance_ms(-500);
        assert_eq!(c.now_ms(), 500);
    }
}
