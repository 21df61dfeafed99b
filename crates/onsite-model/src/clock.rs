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

/// Skews smaller than this are what measuring them costs (half a round trip, the server's
/// own work): a device does not correct its event times for them.
pub const SKEW_TOLERANCE_MS: i64 = 1_000;

/// A device's wall-clock reading corrected by the skew it last measured against the server
/// (`server_skew_ms`: server time minus device time). Returns the corrected time and the
/// correction applied, `None` when no skew is known or it is within [`SKEW_TOLERANCE_MS`].
pub fn corrected_time(device_now: Timestamp, skew_ms: Option<i64>) -> (Timestamp, Option<i64>) {
    match skew_ms {
        Some(skew) if skew.abs() >= SKEW_TOLERANCE_MS => (
            ts_from_ms(device_now.timestamp_millis().saturating_add(skew)),
            Some(skew),
        ),
        _ => (device_now, None),
    }
}

/// An event time as the server stores it: nothing happened after the server received it,
/// so a time later than `received_at` becomes `received_at`. `correction_ms` is what the
/// device already corrected; the result carries the whole correction (device and server),
/// `None` when the time is the device's own reading.
pub fn bounded_event_time(
    at: Timestamp,
    received_at: Timestamp,
    correction_ms: Option<i64>,
) -> (Timestamp, Option<i64>) {
    if at <= received_at {
        return (at, correction_ms);
    }
    let moved = (received_at - at).num_milliseconds();
    (received_at, Some(correction_ms.unwrap_or(0) + moved))
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
    fn a_measured_skew_corrects_the_device_clock_and_says_so() {
        let device = ts_from_ms(1_795_010_800_004);
        let (at, by) = corrected_time(device, Some(-10_800_004));
        assert_eq!(at, ts_from_ms(1_795_000_000_000));
        assert_eq!(by, Some(-10_800_004));
        assert_eq!(corrected_time(device, Some(400)), (device, None));
        assert_eq!(corrected_time(device, None), (device, None));
    }

    #[test]
    fn event_times_never_pass_the_servers_receipt() {
        let received = ts_from_ms(1_795_000_000_000);
        let early = ts_from_ms(1_794_999_000_000);
        assert_eq!(bounded_event_time(early, received, None), (early, None));
        assert_eq!(
            bounded_event_time(early, received, Some(-5_000)),
            (early, Some(-5_000))
        );
        let future = ts_from_ms(1_795_010_800_000);
        assert_eq!(
            bounded_event_time(future, received, None),
            (received, Some(-10_800_000))
        );
        assert_eq!(
            bounded_event_time(future, received, Some(-2_000)),
            (received, Some(-10_802_000))
        );
    }

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
