//! Thousands of seeded scenarios of devices and the server in one process; see the crate's
//! documentation and ARCHITECTURE.md ("Deterministic simulation").
//!
//! - `ONSITE_SIM_SCENARIOS` — how many (default 10,000 in an optimised build, 200 in a
//!   debug one);
//! - `ONSITE_SIM_BASE` — the run's base seed (default fixed, so CI is reproducible;
//!   `random` explores new scenarios and prints the base);
//! - `ONSITE_SIM_SEED` — the one scenario `replay` runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use onsite_sim::{FAULT_KINDS, Totals, quiet_device_crashes, run_scenario, scenario_seed};

const DEFAULT_BASE: u64 = 0x0a51_7e00_2026_1201;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    v.strip_prefix("0x")
        .map(|hex| u64::from_str_radix(hex, 16))
        .unwrap_or_else(|| v.parse())
        .ok()
}

/// Runs one seed, turning a panic anywhere in it into a failure that names the seed.
fn run_one(seed: u64) -> Result<onsite_sim::ScenarioReport, String> {
    match catch_unwind(AssertUnwindSafe(|| run_scenario(seed))) {
        Ok(r) => r,
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into());
            Err(format!("seed {seed}: panicked: {why}"))
        }
    }
}

fn replay_line(seed: u64) -> String {
    format!("replay: ONSITE_SIM_SEED={seed} cargo test -p onsite-sim --release -- replay")
}

#[test]
fn seeded_scenarios_keep_every_invariant() {
    quiet_device_crashes();
    let scenarios = env_u64("ONSITE_SIM_SCENARIOS").unwrap_or(if cfg!(debug_assertions) {
        200
    } else {
        10_000
    });
    let base = match std::env::var("ONSITE_SIM_BASE").as_deref() {
        Ok("random") => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            scenario_seed(nanos, 0)
        }
        _ => env_u64("ONSITE_SIM_BASE").unwrap_or(DEFAULT_BASE),
    };
    println!("simulation: {scenarios} scenarios from base seed {base:#x}");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let started = Instant::now();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let first_failure: Mutex<Option<(u64, u64, String)>> = Mutex::new(None);
    let totals = Mutex::new(Totals::default());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Totals::default();
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= scenarios {
                        break;
                    }
                    let seed = scenario_seed(base, i);
                    match run_one(seed) {
                        Ok(report) => mine.add(&report),
                        Err(e) => {
                            stop.store(true, Ordering::SeqCst);
                            let mut f = first_failure.lock().unwrap();
                            if f.as_ref().is_none_or(|(at, _, _)| i < *at) {
                                *f = Some((i, seed, e));
                            }
                        }
                    }
                }
                totals.lock().unwrap().merge(&mine);
            });
        }
    });
    let totals = totals.into_inner().unwrap();
    println!("{}", totals.summary(started));
    if let Some((i, seed, e)) = first_failure.into_inner().unwrap() {
        panic!(
            "scenario {i} failed after {} passed ({:.1} s): {e}\n{}",
            totals.scenarios,
            started.elapsed().as_secs_f64(),
            replay_line(seed)
        );
    }
    assert_eq!(totals.scenarios, scenarios);
    for kind in FAULT_KINDS {
        assert!(
            totals.faults.get(&kind).is_some_and(|n| *n > 0),
            "no {} fault in the whole run",
            kind.name()
        );
    }
    assert!(totals.conflicts > 0, "no scenario made a conflict");
}

/// One scenario, by its seed (`ONSITE_SIM_SEED`; the first scenario of the default run
/// otherwise): the line a failure prints.
#[test]
fn replay() {
    quiet_device_crashes();
    let seed = env_u64("ONSITE_SIM_SEED").unwrap_or(scenario_seed(DEFAULT_BASE, 0));
    let started = Instant::now();
    let report = run_one(seed).unwrap_or_else(|e| panic!("{e}\n{}", replay_line(seed)));
    let mut totals = Totals::default();
    totals.add(&report);
    println!("seed {seed}:\n{}", totals.summary(started));
    // The same seed is the same scenario.
    let again = run_one(seed).unwrap_or_else(|e| panic!("{e}\n{}", replay_line(seed)));
    assert_eq!(
        format!("{:?}", (&report.activity, report.requests, &report.faults)),
        format!("{:?}", (&again.activity, again.requests, &again.faults)),
        "seed {seed} did not replay the same scenario"
    );
}
