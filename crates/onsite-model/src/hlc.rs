//! Hybrid logical clock: 48 bits of milliseconds and a 16-bit counter in one `u64`.
//!
//! It orders a device's own ops even when the wall clock jumps backwards, and it is advanced
//! by every server time seen. It is kept for audit and ordering only: SLA and KPI times come
//! from recorded event times, never from the HLC.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const COUNTER_BITS: u32 = 16;
const COUNTER_MAX: u64 = (1 << COUNTER_BITS) - 1;
/// Largest millisecond value that fits in 48 bits (year 10889).
pub const HLC_MAX_MS: u64 = (1 << 48) - 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc(u64);

impl Hlc {
    pub const ZERO: Hlc = Hlc(0);

    pub fn new(ms: u64, counter: u16) -> Self {
        Hlc((ms.min(HLC_MAX_MS) << COUNTER_BITS) | counter as u64)
    }

    pub fn from_u64(raw: u64) -> Self {
        Hlc(raw)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn ms(self) -> u64 {
        self.0 >> COUNTER_BITS
    }

    pub fn counter(self) -> u16 {
        (self.0 & COUNTER_MAX) as u16
    }

    /// The next value after `self`: the counter moves, and when it is full the
    /// millisecond part moves instead. Saturates at the largest representable value.
    fn successor(self) -> Hlc {
        Hlc(self.0.saturating_add(1))
    }
}

impl fmt::Display for Hlc {
    /// Fixed-width hex, so that the text form sorts like the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid HLC {0:?}: expected 16 hex digits")]
pub struct HlcParseError(String);

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(HlcParseError(s.to_owned()));
        }
        u64::from_str_radix(s, 16)
            .map(Hlc)
            .map_err(|_| HlcParseError(s.to_owned()))
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The device's (or server's) HLC state. Every value it hands out is strictly greater than
/// every value it handed out or observed before, whatever the wall clock does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a local event at wall time `wall_ms`.
    pub fn tick(&mut self, wall_ms: i64) -> Hlc {
        let wall = Hlc::new(clamp_ms(wall_ms), 0);
        self.last = if wall > self.last {
            wall
        } else {
            self.last.successor()
        };
        self.last
    }

    /// Merges a time seen from elsewhere (a server response, a pulled op) and returns a
    /// timestamp greater than both it and everything before.
    pub fn observe(&mut self, remote: Hlc, wall_ms: i64) -> Hlc {
        let wall = Hlc::new(clamp_ms(wall_ms), 0);
        let max = self.last.max(remote);
        self.last = if wall > max { wall } else { max.successor() };
        self.last
    }
}

/// How far ahead of its own wall clock the server accepts a device's HLC. Devices issue
/// HLCs from their skew-corrected clock, so an honest one is within a round trip of the
/// server; more than this is a wrong clock that was never corrected (or a forged value).
pub const MAX_REMOTE_DRIFT_MS: i64 = 60_000;

/// `remote` bounded to `wall_ms` + [`MAX_REMOTE_DRIFT_MS`]: what the server orders a
/// device's op by and lets advance its own clock. One device can never move the server's
/// clock further than that, so "later wins" keeps meaning later once real time passes the
/// bound.
pub fn bound_remote(remote: Hlc, wall_ms: i64) -> Hlc {
    let bound = Hlc::new(
        clamp_ms(wall_ms.saturating_add(MAX_REMOTE_DRIFT_MS)),
        u16::MAX,
    );
    remote.min(bound)
}

fn clamp_ms(ms: i64) -> u64 {
    (ms.max(0) as u64).min(HLC_MAX_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
    const NOW: i64 = 1_795_000_000_000; // November 2026

    #[test]
    fn a_remote_clock_far_ahead_is_bounded() {
        let forged = Hlc::from_u64(u64::MAX);
        let bounded = bound_remote(forged, NOW);
        assert_eq!(bounded.ms(), (NOW + MAX_REMOTE_DRIFT_MS) as u64);
        let honest = Hlc::new(NOW as u64 + 20, 3);
        assert_eq!(bound_remote(honest, NOW), honest);
        let mut server = HlcClock::default();
        server.observe(bounded, NOW);
        assert!(server.last().ms() <= (NOW + MAX_REMOTE_DRIFT_MS) as u64 + 1);
    }

    #[test]
    fn counter_overflow_moves_the_millisecond() {
        let mut c = HlcClock::resume(Hlc::new(100, u16::MAX));
        let next = c.tick(50);
        assert_eq!(next.ms(), 101);
        assert_eq!(next.counter(), 0);
    }

    #[test]
    fn text_form_sorts_like_the_number_and_round_trips() {
        let a = Hlc::new(NOW as u64, 3);
        let b = Hlc::new(NOW as u64 + 1, 0);
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
        assert!("xyz".parse::<Hlc>().is_err());
    }

    #[derive(Debug, Clone)]
    enum Event {
        Local {
            wall_jump_ms: i64,
        },
        Remote {
            remote_offset_ms: i64,
            wall_jump_ms: i64,
        },
    }

    fn event() -> impl Strategy<Value = Event> {
        // Wall clock jumps of up to a year either way, remote clocks up to a year ahead or
        // behind: the shapes of a wrongly set tablet and of a server far from it.
        prop_oneof![
            (-YEAR_MS..YEAR_MS).prop_map(|j| Event::Local { wall_jump_ms: j }),
            (-1000i64..1000).prop_map(|j| Event::Local { wall_jump_ms: j }),
            ((-YEAR_MS..YEAR_MS), (-1000i64..1000)).prop_map(|(r, j)| Event::Remote {
                remote_offset_ms: r,
                wall_jump_ms: j
            }),
        ]
    }

    proptest! {
        #[test]
        fn strictly_monotonic_under_jumps_skew_and_remote_times(
            start_skew in -YEAR_MS..YEAR_MS,
            events in proptest::collection::vec(event(), 1..200),
        ) {
            let mut wall = NOW + start_skew;
            let mut clock = HlcClock::default();
            let mut prev = clock.last();
            let mut max_seen = Hlc::ZERO;
            for e in events {
                let next = match e {
                    Event::Local { wall_jump_ms } => {
                        wall += wall_jump_ms;
                        clock.tick(wall)
                    }
                    Event::Remote { remote_offset_ms, wall_jump_ms } => {
                        wall += wall_jump_ms;
                        let remote = Hlc::new((NOW + remote_offset_ms) as u64, 7);
                        max_seen = max_seen.max(remote);
                        clock.observe(remote, wall)
                    }
                };
                prop_assert!(next > prev, "{next:?} not after {prev:?}");
                prop_assert!(next > max_seen || max_seen == Hlc::ZERO);
                // Never behind the wall clock it was given.
                prop_assert!(next.ms() as i64 >= wall.max(0));
                prev = next;
            }
        }

        #[test]
        fn resuming_from_the_stored_value_keeps_order(last in 0u64..u64::MAX / 2, wall in -YEAR_MS..NOW) {
            let stored = Hlc::from_u64(last);
            let mut clock = HlcClock::resume(stored);
            prop_assert!(clock.tick(wall) > stored);
        }
    }
}
