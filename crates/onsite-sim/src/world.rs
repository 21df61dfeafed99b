//! One scenario's world: the server, the office, the devices and their technicians, and the
//! seeded day they live through. Every choice comes from the scenario's seed; the only
//! clock is the world's.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::PathBuf;
use std::sync::Arc;

use onsite_client::{Day, Fault, FaultPoint, JobScope, Replica, ReplicaOptions, SyncError};
use onsite_model::checklist::{AnswerValue, ItemKind, template_for};
use onsite_model::clock::SeqIds;
use onsite_model::time::{format_ts, ts_from_ms};
use onsite_model::{
    CustomerId, JobType, PartUsedId, Priority, Role, StatusAction, UserId, WorkOrderId,
    WorkOrderStatus,
};
use onsite_server::store::{NewCustomer, NewUser, NewWorkOrder, Password, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use crate::clock::{DeviceClock, ServerClock, WorldTime};
use crate::net::{DeviceCrash, Net, SimExchange};
use crate::server::Server;

const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;
/// 2030-05-06T07:00:00Z: the morning the simulated day starts.
const DAY_START_MS: i64 = 1_904_281_200_000;
const PASSWORD: &str = "simulated-password";
const TECHNICIANS: [&str; 3] = ["alice", "bob", "carol"];

pub struct Device {
    pub name: String,
    pub user: &'static str,
    dir: PathBuf,
    pub clock: Arc<DeviceClock>,
    /// Kept across restarts, as a device's randomness would be: ids stay unique.
    ids: Arc<SeqIds>,
    replica: Option<Replica>,
    pub token: String,
}

impl Device {
    pub fn replica(&self) -> &Replica {
        self.replica.as_ref().expect("the device is running")
    }

    pub fn replica_mut(&mut self) -> &mut Replica {
        self.replica.as_mut().expect("the device is running")
    }
}

/// What one scenario did, for the run's figures.
#[derive(Clone, Debug, Default)]
pub struct Activity {
    pub actions: u64,
    pub refused_verbs: u64,
    pub syncs: u64,
    pub failed_syncs: u64,
    pub device_crashes: u64,
    pub write_crashes: u64,
    pub clock_jumps: u64,
    pub office_actions: u64,
}

pub struct World {
    pub seed: u64,
    _dir: tempfile::TempDir,
    pub time: Arc<WorldTime>,
    pub server: Server,
    pub net: Net,
    rng: ChaCha8Rng,
    pub devices: Vec<Device>,
    pub users: Vec<(&'static str, UserId)>,
    pub jobs: Vec<WorkOrderId>,
    next_value: u64,
    pub activity: Activity,
}

/// A scratch folder on tmpfs when there is one: scenarios write many small transactions.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix("onsite-sim-");
        b
    };
    if shm.is_dir()
        && let Ok(dir) = builder().tempdir_in(shm)
    {
        return dir;
    }
    builder().tempdir().expect("a temporary folder")
}

fn open_replica(dir: &std::path::Path, clock: &Arc<DeviceClock>, ids: &Arc<SeqIds>) -> Replica {
    Replica::open(
        dir,
        ReplicaOptions {
            clock: clock.clone(),
            ids: ids.clone(),
            schema_upto: None,
        },
    )
    .unwrap_or_else(|e| panic!("replica in {} opens: {e}", dir.display()))
}

impl World {
    /// Builds the morning: users, a customer, jobs, devices signed in and synced once.
    pub fn new(seed: u64) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let net = Net::new(
            ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_7477_6f72_6b21),
            rng.gen_range(60..250),
        );
        let dir = scratch_dir();
        let time = WorldTime::new(DAY_START_MS);
        let server = Server::open(
            &dir.path().join("server"),
            Arc::new(ServerClock(time.clone())),
            Arc::new(SeqIds::new(0xee)),
        );
        let store = server.store();
        let user = |username: &str, role: Role| {
            store
                .create_user(&NewUser {
                    username: username.into(),
                    name: username.into(),
                    role,
                    password: Password(PASSWORD.into()),
                    skills: vec![],
                    phone: None,
                })
                .expect("user created")
                .id
        };
        user("dana", Role::Dispatcher);
        let users: Vec<(&'static str, UserId)> = TECHNICIANS
            .iter()
            .map(|name| (*name, user(name, Role::Technician)))
            .collect();
        let customer = store
            .create_customer(&NewCustomer {
                name: "Harbour Bakery".into(),
                phone: Some("+44 20 7946 0000".into()),
                address: Some("1 Quay Street".into()),
                lat: None,
                lon: None,
                notes: None,
            })
            .expect("customer created")
            .id;
        let jobs = (0..rng.gen_range(3..=6))
            .map(|i| new_job(&mut rng, customer, i, &users))
            .collect::<Vec<_>>();
        let jobs = store
            .create_work_orders(&jobs)
            .expect("work orders created")
            .into_iter()
            .map(|w| w.id)
            .collect();
        // Two devices of alice, one of bob, sometimes one of carol.
        let mut owners = vec!["alice", "alice", "bob"];
        if rng.gen_bool(0.5) {
            owners.push("carol");
        }
        let mut world = World {
            seed,
            time,
            server,
            net,
            devices: Vec::new(),
            users,
            jobs,
            next_value: 0,
            activity: Activity::default(),
            rng,
            _dir: dir,
        };
        for (i, owner) in owners.into_iter().enumerate() {
            let offset = world.clock_offset();
            let device = world.sign_in(i, owner, offset);
            world.devices.push(device);
        }
        for d in 0..world.devices.len() {
            world
                .sync(d, false)
                .unwrap_or_else(|e| panic!("first sync of device {d}: {e}"));
        }
        world
    }

    fn sign_in(&mut self, i: usize, owner: &'static str, offset_ms: i64) -> Device {
        let name = format!("{owner}-{i}");
        let dir = self._dir.path().join(&name);
        let clock = DeviceClock::new(self.time.clone(), offset_ms);
        let ids = Arc::new(SeqIds::new(i as u8 + 1));
        let mut replica = open_replica(&dir, &clock, &ids);
        let mut exchange = SimExchange {
            server: &mut self.server,
            net: &mut self.net,
            world: &self.time,
            faulty: false,
        };
        let login = replica
            .login_over(&mut exchange, owner, PASSWORD, &name)
            .unwrap_or_else(|e| panic!("{name} signs in: {e}"));
        Device {
            name,
            user: owner,
            dir,
            clock,
            ids,
            replica: Some(replica),
            token: login.token,
        }
    }

    /// A tablet's clock: right, off by up to an hour, or off by up to a year.
    fn clock_offset(&mut self) -> i64 {
        match self.rng.gen_range(0..3) {
            0 => 0,
            1 => self.rng.gen_range(-HOUR_MS..HOUR_MS),
            _ => self.rng.gen_range(-YEAR_MS..YEAR_MS),
        }
    }

    fn unique(&mut self, what: &str, device: usize) -> String {
        self.next_value += 1;
        format!(
            "{what} from {} [{}]",
            self.devices[device].name, self.next_value
        )
    }

    /// The device's process dies and starts again from its file.
    pub fn restart_device(&mut self, d: usize) {
        let dev = &mut self.devices[d];
        // The old connection closes first, as the dead process's would.
        drop(dev.replica.take());
        dev.replica = Some(open_replica(&dev.dir, &dev.clock, &dev.ids));
        self.activity.device_crashes += 1;
    }

    /// One sync of device `d`, through the faulty network unless `faulty` is false. A device
    /// that crashes mid-sync is restarted and the sync counts as failed.
    pub fn sync(&mut self, d: usize, faulty: bool) -> Result<(), String> {
        self.activity.syncs += 1;
        let dev = &mut self.devices[d];
        let mut exchange = SimExchange {
            server: &mut self.server,
            net: &mut self.net,
            world: &self.time,
            faulty,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            dev.replica_mut().sync_over(&mut exchange, &mut |_| {})
        }));
        match outcome {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                self.activity.failed_syncs += 1;
                match e {
                    // Faults of the network: the ops stay queued for the next sync.
                    SyncError::Unreachable { .. } | SyncError::DamagedPage if faulty => Ok(()),
                    e => Err(format!("{} sync: {e} ({})", dev.name, e.code())),
                }
            }
            Err(payload) if payload.is::<DeviceCrash>() => {
                self.activity.failed_syncs += 1;
                self.restart_device(d);
                Ok(())
            }
            Err(payload) => resume_unwind(payload),
        }
    }

    /// The jobs device `d` holds, in the app's order.
    fn visible_jobs(&self, d: usize) -> Vec<WorkOrderId> {
        let end = ts_from_ms(DAY_START_MS + 10 * YEAR_MS);
        self.devices[d]
            .replica()
            .jobs(JobScope::All, Day { end })
            .expect("job list")
            .into_iter()
            .map(|j| j.id)
            .collect()
    }

    /// Runs the day: `steps` seeded actions.
    pub fn run_day(&mut self, steps: usize) -> Result<(), String> {
        for _ in 0..steps {
            self.activity.actions += 1;
            let d = self.rng.gen_range(0..self.devices.len());
            match self.rng.gen_range(0..100) {
                0..=44 => self.technician_acts(d)?,
                45..=69 => self.sync(d, true)?,
                70..=86 => self.office_acts(),
                87..=89 => {
                    let offset = self.clock_offset();
                    self.devices[d].clock.jump_to_offset(offset);
                    self.activity.clock_jumps += 1;
                }
                90..=94 => self.time.advance(self.rng.gen_range(60_000..3 * HOUR_MS)),
                95..=96 => self.restart_device(d),
                _ => self.net.deliver_held(&mut self.server, &self.time, 2),
            }
        }
        Ok(())
    }

    /// Everything held in the network arrives, then every device syncs without faults
    /// until each has pushed everything and pulled what the others did.
    pub fn settle(&mut self) -> Result<(), String> {
        self.net.deliver_held(&mut self.server, &self.time, 1);
        for _ in 0..3 {
            for d in 0..self.devices.len() {
                self.time.advance(1_000);
                self.sync(d, false)?;
            }
        }
        Ok(())
    }

    fn technician_acts(&mut self, d: usize) -> Result<(), String> {
        let jobs = self.visible_jobs(d);
        if jobs.is_empty() {
            return Ok(());
        }
        let job = jobs[self.rng.gen_range(0..jobs.len())];
        self.time.advance(self.rng.gen_range(1_000..600_000));
        // Now and then the app dies in the middle of this write.
        let crash = (self.rng.gen_range(0..20) == 0).then(|| {
            if self.rng.gen_bool(0.5) {
                FaultPoint::AfterData
            } else {
                FaultPoint::BeforeCommit
            }
        });
        let pending_before = self.devices[d]
            .replica_mut()
            .pending_op_count()
            .expect("pending");
        if let Some(point) = crash {
            self.devices[d]
                .replica_mut()
                .inject_fault(Some(Fault::Fail(point)));
        }
        let verb = self.rng.gen_range(0..16);
        let ok = self.technician_verb(d, job, verb);
        if crash.is_some() {
            self.devices[d].replica_mut().inject_fault(None);
            self.restart_device(d);
            self.activity.device_crashes -= 1;
            self.activity.write_crashes += 1;
            let after = self.devices[d]
                .replica_mut()
                .pending_op_count()
                .expect("pending");
            if after != pending_before {
                return Err(format!(
                    "{}: a write that died mid-transaction left {} ops in the log (had {pending_before})",
                    self.devices[d].name, after
                ));
            }
        } else if !ok {
            self.activity.refused_verbs += 1;
        }
        Ok(())
    }

    /// One of the technician's verbs on the app's facade; `false` when the domain refused
    /// it (a closed job, a step the machine does not allow, a missing item): nothing stored.
    fn technician_verb(&mut self, d: usize, job: WorkOrderId, verb: u32) -> bool {
        let value_of = |w: &mut World, what: &str| w.unique(what, d);
        match verb {
            0..=5 => self.step(d, job),
            6..=8 => self.answer_item(d, job),
            9 => {
                let v = value_of(self, "diagnosis");
                self.devices[d].replica_mut().set_diagnosis(job, &v).is_ok()
            }
            10 => {
                let v = value_of(self, "work done");
                self.devices[d].replica_mut().set_work_done(job, &v).is_ok()
            }
            11 => {
                let v = value_of(self, "result");
                self.devices[d].replica_mut().set_result(job, &v).is_ok()
            }
            12 => {
                let needed = self.rng.gen_bool(0.5);
                self.devices[d]
                    .replica_mut()
                    .set_follow_up_needed(job, needed)
                    .is_ok()
            }
            13 => {
                let v = value_of(self, "note");
                self.devices[d].replica_mut().add_note(job, &v).is_ok()
            }
            14 => {
                if self.rng.gen_bool(0.3)
                    && let Some(part) = self.some_part(d, job)
                {
                    return self.devices[d].replica_mut().remove_part(job, part).is_ok();
                }
                let v = value_of(self, "part");
                let qty = f64::from(self.rng.gen_range(1..4u8));
                self.devices[d]
                    .replica_mut()
                    .add_part(job, "F-10A", &v, qty)
                    .is_ok()
            }
            _ => {
                let rating = self.rng.gen_range(1..=5);
                let nps = self.rng.gen_range(0..=10);
                let v = value_of(self, "comment");
                self.devices[d]
                    .replica_mut()
                    .add_feedback(job, rating, Some(nps), Some(&v))
                    .is_ok()
            }
        }
    }

    /// A status step: mostly one the app offers now (`allowed_actions`), sometimes any.
    fn step(&mut self, d: usize, job: WorkOrderId) -> bool {
        const STEPS: [StatusAction; 6] = [
            StatusAction::StartTravel,
            StatusAction::Arrive,
            StatusAction::StartWork,
            StatusAction::Hold,
            StatusAction::Resume,
            StatusAction::Complete,
        ];
        let offered = self.devices[d]
            .replica()
            .job(job)
            .map(|j| j.allowed_actions)
            .unwrap_or_default();
        let action = if !offered.is_empty() && self.rng.gen_range(0..5) > 0 {
            offered[self.rng.gen_range(0..offered.len())]
        } else {
            STEPS[self.rng.gen_range(0..STEPS.len())]
        };
        let r = self.devices[d].replica_mut();
        match action {
            StatusAction::StartTravel => r.start_travel(job).is_ok(),
            StatusAction::Arrive => r.arrive(job).is_ok(),
            StatusAction::StartWork => r.start_work(job).is_ok(),
            StatusAction::Hold => r.hold(job, "waiting for a part").is_ok(),
            StatusAction::Resume => r.resume(job).is_ok(),
            StatusAction::Complete => r.complete(job).is_ok(),
            // Office steps are not the technician's.
            _ => false,
        }
    }

    fn some_part(&mut self, d: usize, job: WorkOrderId) -> Option<PartUsedId> {
        let detail = self.devices[d].replica_mut().job(job).ok()?;
        let parts = detail.parts;
        if parts.is_empty() {
            return None;
        }
        Some(parts[self.rng.gen_range(0..parts.len())].id)
    }

    fn answer_item(&mut self, d: usize, job: WorkOrderId) -> bool {
        let Ok(detail) = self.devices[d].replica_mut().job(job) else {
            return false;
        };
        let template = template_for(detail.work_order.job_type);
        let items: Vec<_> = template
            .items
            .iter()
            .filter(|i| !matches!(i.kind, ItemKind::Photo { .. }))
            .collect();
        let item = items[self.rng.gen_range(0..items.len())];
        let value = match &item.kind {
            // Mostly ticked, so jobs can be completed.
            ItemKind::Check => AnswerValue::Check(self.rng.gen_range(0..5) > 0),
            // Mostly met; a "no" carries a reason unique in the scenario.
            ItemKind::Conduct if self.rng.gen_range(0..5) > 0 => AnswerValue::Check(true),
            ItemKind::Conduct => AnswerValue::No(self.unique("reason", d)),
            ItemKind::Text => AnswerValue::Text(self.unique("answer", d)),
            ItemKind::Number { min, max, .. } => {
                self.next_value += 1;
                let lo = min.unwrap_or(0.0);
                let hi = max.unwrap_or(lo + 1000.0);
                // Unique in the scenario, inside the item's range.
                AnswerValue::Number(lo + (hi - lo) * (self.next_value % 997) as f64 / 997.0)
            }
            ItemKind::Choice { options } => {
                AnswerValue::Choice(options[self.rng.gen_range(0..options.len())].key.clone())
            }
            ItemKind::Photo { .. } => unreachable!("photo items are filtered out"),
        };
        let key = item.key.clone();
        self.devices[d]
            .replica_mut()
            .answer(job, &key, value)
            .is_ok()
    }

    /// The office, through the store's office methods: refusals (a closed job, a step the
    /// machine does not allow) change nothing.
    fn office_acts(&mut self) {
        self.activity.office_actions += 1;
        let job = self.jobs[self.rng.gen_range(0..self.jobs.len())];
        self.time.advance(self.rng.gen_range(1_000..300_000));
        let store = self.server.store();
        let _ = match self.rng.gen_range(0..10) {
            0..=2 => {
                let who = match self.rng.gen_range(0..4) {
                    0 => None,
                    i => Some(self.users[i - 1].1),
                };
                store.assign_work_order(job, who).map(drop)
            }
            3..=4 => {
                let start = DAY_START_MS + self.rng.gen_range(0..10) * HOUR_MS;
                let mut patch = Map::new();
                patch.insert(
                    "appointment_start".into(),
                    json!(format_ts(&ts_from_ms(start))),
                );
                patch.insert(
                    "appointment_end".into(),
                    json!(format_ts(&ts_from_ms(start + 2 * HOUR_MS))),
                );
                store.update_work_order(job, &patch).map(drop)
            }
            5 => {
                let mut patch = Map::new();
                let priority =
                    [Priority::Low, Priority::Normal, Priority::High][self.rng.gen_range(0..3)];
                patch.insert("priority".into(), json!(priority));
                store.update_work_order(job, &patch).map(drop)
            }
            6 => {
                let mut patch = Map::new();
                self.next_value += 1;
                patch.insert(
                    "problem".into(),
                    Value::String(format!("customer called again #{}", self.next_value)),
                );
                store.update_work_order(job, &patch).map(drop)
            }
            7 => store
                .office_transition(
                    job,
                    StatusAction::Cancel,
                    Some("the customer cancelled".into()),
                )
                .map(drop),
            _ => store
                .office_transition(job, StatusAction::Reopen, Some("callback".into()))
                .map(drop),
        };
    }

    /// Jobs the office sees that are closed; for the figures.
    pub fn closed_jobs(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| {
                self.server.store().get_work_order(**j).is_ok_and(|w| {
                    matches!(
                        w.status,
                        WorkOrderStatus::Completed | WorkOrderStatus::Cancelled
                    )
                })
            })
            .count()
    }
}

fn new_job(
    rng: &mut ChaCha8Rng,
    customer: CustomerId,
    i: usize,
    users: &[(&'static str, UserId)],
) -> NewWorkOrder {
    // Inspections can be completed without photos or a signature (blobs are not simulated).
    let job_type = [
        JobType::Inspection,
        JobType::Inspection,
        JobType::Maintenance,
        JobType::Repair,
    ][rng.gen_range(0..4)];
    let start = DAY_START_MS + rng.gen_range(1..10) * HOUR_MS;
    NewWorkOrder {
        customer_id: customer,
        asset_id: None,
        job_type,
        priority: [Priority::Normal, Priority::High, Priority::Urgent][rng.gen_range(0..3)],
        problem: format!("problem {i}"),
        reported_at: Some(ts_from_ms(DAY_START_MS - rng.gen_range(0..48) * HOUR_MS)),
        respond_by: None,
        resolve_by: None,
        appointment_start: Some(ts_from_ms(start)),
        appointment_end: Some(ts_from_ms(start + 2 * HOUR_MS)),
        assignee_id: match rng.gen_range(0..5) {
            0 => None,
            1 | 2 => Some(users[0].1),
            3 => Some(users[1].1),
            _ => Some(users[2].1),
        },
        revisit_of: None,
    }
}
