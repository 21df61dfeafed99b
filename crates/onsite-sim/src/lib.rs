//! A deterministic simulation of Onsite's devices and server in one process.
//!
//! Each scenario is one `u64` seed. From it come the morning (technicians, jobs, devices and
//! their wrong clocks), the day (technician verbs on the real [`onsite_client::Replica`]
//! facade, office actions through the real server [`onsite_server::store::Store`], syncs,
//! clock jumps, crashes) and every fault of the in-process network ([`net`]). The devices
//! sync with the client's own sync code ([`onsite_client::Replica::sync_over`]) and the
//! server is the engine over a SQLite file, so the simulation runs the code devices and the
//! server run. No wall clock and no thread scheduling takes part in a decision: the same
//! seed replays the same scenario.
//!
//! After the day the network delivers what it held back, every device syncs without faults,
//! and [`check::check`] verifies what must hold (exactly once, convergence, nothing lost,
//! the merge rule, time bounds).

pub mod check;
pub mod clock;
pub mod net;
pub mod server;
pub mod world;

use std::collections::BTreeMap;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use check::Checked;
pub use net::{FAULT_KINDS, FaultKind};
pub use world::{Activity, World};

/// What one scenario did.
#[derive(Clone, Debug, Default)]
pub struct ScenarioReport {
    pub activity: Activity,
    pub checked: Checked,
    pub requests: u64,
    pub faults: BTreeMap<FaultKind, u64>,
    pub server_restarts: u64,
}

/// Runs the scenario of `seed` and checks it. The error names the seed and what broke.
pub fn run_scenario(seed: u64) -> Result<ScenarioReport, String> {
    let mut shape = ChaCha8Rng::seed_from_u64(seed.rotate_left(17) ^ 0x5ce9_a210);
    let steps = shape.gen_range(20..80);
    let mut world = World::new(seed);
    let run = world.run_day(steps).and_then(|()| world.settle());
    run.map_err(|e| format!("seed {seed}: {e}"))?;
    let checked = check::check(&world)?;
    Ok(ScenarioReport {
        activity: world.activity.clone(),
        checked,
        requests: world.net.requests,
        faults: world.net.faults.clone(),
        server_restarts: world.server.restarts,
    })
}

/// The seed of scenario `index` of a run started from `base`: spread over the u64 range so
/// neighbouring runs do not share scenarios.
pub fn scenario_seed(base: u64, index: u64) -> u64 {
    // SplitMix64's finaliser: a bijection, so every index has its own seed.
    let mut z = base.wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Figures of a run of many scenarios.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub scenarios: u64,
    pub actions: u64,
    pub ops: u64,
    pub syncs: u64,
    pub failed_syncs: u64,
    pub requests: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub values_checked: u64,
    pub device_crashes: u64,
    pub write_crashes: u64,
    pub server_restarts: u64,
    pub clock_jumps: u64,
    pub office_actions: u64,
    pub refused_verbs: u64,
    pub faults: BTreeMap<FaultKind, u64>,
}

impl Totals {
    pub fn add(&mut self, r: &ScenarioReport) {
        self.scenarios += 1;
        self.actions += r.activity.actions;
        self.ops += r.checked.ops;
        self.syncs += r.activity.syncs;
        self.failed_syncs += r.activity.failed_syncs;
        self.requests += r.requests;
        self.conflicts += r.checked.conflicts;
        self.rejected += r.checked.rejected;
        self.values_checked += r.checked.values_checked;
        self.device_crashes += r.activity.device_crashes;
        self.write_crashes += r.activity.write_crashes;
        self.server_restarts += r.server_restarts;
        self.clock_jumps += r.activity.clock_jumps;
        self.office_actions += r.activity.office_actions;
        self.refused_verbs += r.activity.refused_verbs;
        for (k, n) in &r.faults {
            *self.faults.entry(*k).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &Totals) {
        self.scenarios += other.scenarios;
        self.actions += other.actions;
        self.ops += other.ops;
        self.syncs += other.syncs;
        self.failed_syncs += other.failed_syncs;
        self.requests += other.requests;
        self.conflicts += other.conflicts;
        self.rejected += other.rejected;
        self.values_checked += other.values_checked;
        self.device_crashes += other.device_crashes;
        self.write_crashes += other.write_crashes;
        self.server_restarts += other.server_restarts;
        self.clock_jumps += other.clock_jumps;
        self.office_actions += other.office_actions;
        self.refused_verbs += other.refused_verbs;
        for (k, n) in &other.faults {
            *self.faults.entry(*k).or_default() += n;
        }
    }

    /// The run's figures, several lines.
    pub fn summary(&self, started: Instant) -> String {
        let secs = started.elapsed().as_secs_f64();
        let faults: u64 = self.faults.values().sum();
        let by_kind = FAULT_KINDS
            .iter()
            .map(|k| format!("{} {}", k.name(), self.faults.get(k).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "simulation: {} scenarios in {secs:.1} s ({:.0} scenarios/s)\n\
             \x20 {} actions ({} office, {} technician verbs the domain refused), {} ops checked, {} values traced, {} conflicts, {} ops rejected\n\
             \x20 {} syncs ({} cut short), {} requests, {} faults: {by_kind}\n\
             \x20 {} device crashes mid-sync or idle, {} mid-write, {} server restarts, {} clock jumps",
            self.scenarios,
            self.scenarios as f64 / secs.max(1e-9),
            self.actions,
            self.office_actions,
            self.refused_verbs,
            self.ops,
            self.values_checked,
            self.conflicts,
            self.rejected,
            self.syncs,
            self.failed_syncs,
            self.requests,
            faults,
            self.device_crashes,
            self.write_crashes,
            self.server_restarts,
            self.clock_jumps,
        )
    }
}

/// Silences the panic message of a simulated device crash (it is caught and the device
/// restarted); every other panic is reported as usual.
pub fn quiet_device_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<net::DeviceCrash>() {
                previous(info);
            }
        }));
    });
}
