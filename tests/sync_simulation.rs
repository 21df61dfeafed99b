//! A property-based simulation of a working day: random devices with clocks up to a year
//! wrong, random offline edits, random office changes, random sync interleavings through a
//! proxy that injects random faults, every kind of fault in every scenario. Afterwards every
//! replica equals the server's view of it and nothing any device wrote is missing.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use onsite_model::checklist::AnswerValue;
use onsite_model::status::StatusAction;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use support::proxy::{Fault, Proxy};
use support::{Device, Office, Server};

const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;

/// The kinds of fault the proxy injects, each at least once in every scenario.
const FAULT_KINDS: [&str; 6] = [
    "drop_request",
    "drop_response",
    "duplicate",
    "delay",
    "replay_after_next",
    "cut_body",
];
/// A fault comes on about one request in this many.
const ONE_IN: usize = 4;
/// More requests than any scenario makes; a request beyond the plan passes untouched.
const PLAN_LEN: usize = 4096;

fn below(n: usize, rng: &mut TestRng) -> usize {
    (rng.next_u64() % n as u64) as usize
}

fn fault_of_kind(kind: usize, rng: &mut TestRng) -> Fault {
    match kind {
        0 => Fault::DropRequest,
        1 => Fault::DropResponse,
        2 => Fault::Duplicate,
        3 => Fault::Delay(Duration::from_millis(30 + rng.next_u64() % 100)),
        4 => Fault::ReplayAfterNext,
        _ => Fault::CutBody,
    }
}

fn kind_name(fault: &Fault) -> &'static str {
    FAULT_KINDS[match fault {
        Fault::DropRequest => 0,
        Fault::DropResponse => 1,
        Fault::Duplicate => 2,
        Fault::Delay(_) => 3,
        Fault::ReplayAfterNext => 4,
        Fault::CutBody => 5,
    }]
}

/// The fault (or none) for each request of a scenario's day, in order: each kind once in
/// the first `FAULT_KINDS.len() * ONE_IN` requests (one per `ONE_IN`, in a seeded order),
/// then a seeded fault on about one request in `ONE_IN`.
fn fault_plan(seed: u64) -> Vec<Option<Fault>> {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut kinds: Vec<usize> = (0..FAULT_KINDS.len()).collect();
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, below(i + 1, &mut rng));
    }
    let mut plan = Vec::with_capacity(PLAN_LEN);
    for kind in kinds {
        let at = below(ONE_IN, &mut rng);
        for i in 0..ONE_IN {
            plan.push((i == at).then(|| fault_of_kind(kind, &mut rng)));
        }
    }
    while plan.len() < PLAN_LEN {
        let faulty = below(ONE_IN, &mut rng) == 0;
        let kind = below(FAULT_KINDS.len(), &mut rng);
        plan.push(faulty.then(|| fault_of_kind(kind, &mut rng)));
    }
    plan
}

#[derive(Clone, Debug)]
enum Action {
    Note {
        device: usize,
        job: usize,
    },
    Diagnosis {
        device: usize,
        job: usize,
        text: u8,
    },
    Answer {
        device: usize,
        job: usize,
        done: bool,
    },
    Part {
        device: usize,
        job: usize,
    },
    Step {
        device: usize,
        job: usize,
        step: StatusAction,
    },
    Sync {
        device: usize,
    },
    Reschedule {
        job: usize,
        hour: u8,
    },
    Reassign {
        job: usize,
        to_bob: bool,
    },
    Cancel {
        job: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let device = 0usize..3;
    let job = 0usize..8;
    prop_oneof![
        3 => (device.clone(), job.clone()).prop_map(|(device, job)| Action::Note { device, job }),
        2 => (device.clone(), job.clone(), 0u8..4).prop_map(|(device, job, text)| Action::Diagnosis { device, job, text }),
        2 => (device.clone(), job.clone(), any::<bool>()).prop_map(|(device, job, done)| Action::Answer { device, job, done }),
        1 => (device.clone(), job.clone()).prop_map(|(device, job)| Action::Part { device, job }),
        2 => (device.clone(), job.clone(), proptest::sample::select(vec![
                StatusAction::StartTravel, StatusAction::Arrive, StatusAction::StartWork,
                StatusAction::Hold, StatusAction::Resume,
            ])).prop_map(|(device, job, step)| Action::Step { device, job, step }),
        3 => device.prop_map(|device| Action::Sync { device }),
        1 => (job.clone(), 8u8..18).prop_map(|(job, hour)| Action::Reschedule { job, hour }),
        1 => (job.clone(), any::<bool>()).prop_map(|(job, to_bob)| Action::Reassign { job, to_bob }),
        1 => job.prop_map(|job| Action::Cancel { job }),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    skews_ms: Vec<i64>,
    fault_seed: u64,
    actions: Vec<Action>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(
            prop_oneof![Just(0i64), -YEAR_MS..YEAR_MS, -3_600_000i64..3_600_000],
            3,
        ),
        1u64..u64::MAX,
        proptest::collection::vec(action(), 10..60),
    )
        .prop_map(|(skews_ms, fault_seed, actions)| Scenario {
            skews_ms,
            fault_seed,
            actions,
        })
}

#[derive(Default)]
struct Totals {
    scenarios: u64,
    ops: u64,
    faults: u64,
    faults_by_kind: BTreeMap<&'static str, u64>,
    requests: u64,
    syncs: u64,
}

fn run(s: &Scenario, totals: &mut Totals) -> Result<(), TestCaseError> {
    let server = Server::start_with_demo();
    let proxy = Proxy::start(&server.url);
    let office = Office::login(&server.url);
    let owners = ["alice", "alice", "bob"];
    let mut devices: Vec<Device> = (0..3)
        .map(|i| {
            Device::new(
                &format!("{}-{i}", owners[i]),
                &proxy.url,
                owners[i],
                s.skews_ms[i],
            )
        })
        .collect();
    for d in &mut devices {
        d.sync_ok();
    }
    let plan = fault_plan(s.fault_seed);
    let requests_before = proxy.requests.load(Ordering::SeqCst);
    let injected_before = proxy.faults_injected.load(Ordering::SeqCst);
    proxy.script(plan.iter().copied());
    let all_jobs: Vec<_> = office
        .ok(reqwest::Method::GET, "/work-orders", None)
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut notes = BTreeSet::new();
    for a in &s.actions {
        match a {
            Action::Note { device, job }
            | Action::Part { device, job }
            | Action::Diagnosis { device, job, .. }
            | Action::Answer { device, job, .. }
            | Action::Step { device, job, .. } => {
                let d = &mut devices[*device];
                let jobs = d.jobs();
                if jobs.is_empty() {
                    continue;
                }
                let j = jobs[job % jobs.len()];
                let r = &mut d.replica;
                // Refusals (a closed job, a step the machine refuses) store nothing: fine.
                match a {
                    Action::Note { .. } => {
                        if let Ok(n) = r.add_note(j, &format!("note by {}", d.name)) {
                            notes.insert(n.id);
                        }
                    }
                    Action::Part { .. } => drop(r.add_part(j, "P-1", "Fuse", 1.0)),
                    Action::Diagnosis { text, .. } => {
                        drop(r.set_diagnosis(j, &format!("diagnosis {text} from {}", d.name)))
                    }
                    Action::Answer { done, .. } => {
                        // A conduct item: yes, or no with the device's own reason.
                        let value = if *done {
                            AnswerValue::Check(true)
                        } else {
                            AnswerValue::No(format!("not worn, says {}", d.name))
                        };
                        drop(r.answer(j, "shoe_covers", value))
                    }
                    Action::Step { step, .. } => drop(match step {
                        StatusAction::StartTravel => r.start_travel(j),
                        StatusAction::Arrive => r.arrive(j),
                        StatusAction::StartWork => r.start_work(j),
                        StatusAction::Hold => r.hold(j, "waiting for a part"),
                        _ => r.resume(j),
                    }),
                    _ => unreachable!(),
                }
            }
            Action::Sync { device } => {
                totals.syncs += 1;
                // A sync may give up under heavy faults: its ops stay queued for later.
                let _ = devices[*device].sync();
            }
            Action::Reschedule { job, hour } => {
                let j = all_jobs[job % all_jobs.len()];
                let start = format!("2030-05-06T{hour:02}:00:00Z");
                let end = format!("2030-05-06T{:02}:00:00Z", hour + 2);
                let _ = office.call(
                    reqwest::Method::POST,
                    &format!("/work-orders/{j}/reschedule"),
                    Some(serde_json::json!({"appointment_start": start, "appointment_end": end})),
                );
            }
            Action::Reassign { job, to_bob } => {
                let j = all_jobs[job % all_jobs.len()];
                let who = if *to_bob { "bob" } else { "alice" };
                let _ = office.call(
                    reqwest::Method::POST,
                    &format!("/work-orders/{j}/assign"),
                    Some(serde_json::json!({"username": who})),
                );
            }
            Action::Cancel { job } => {
                let j = all_jobs[job % all_jobs.len()];
                let _ = office.call(
                    reqwest::Method::POST,
                    &format!("/work-orders/{j}/cancel"),
                    Some(serde_json::json!({"reason": "customer called"})),
                );
            }
        }
    }
    // The day ends with syncs under faults until the plan has had each kind of fault its
    // turn, however few syncs the scenario made.
    let requests_made = || proxy.requests.load(Ordering::SeqCst) - requests_before;
    let mut extra_syncs = 0;
    while requests_made() < (FAULT_KINDS.len() * ONE_IN) as u64 {
        prop_assert!(
            extra_syncs < 100,
            "{} syncs made only {} requests",
            extra_syncs,
            requests_made()
        );
        let device = extra_syncs % devices.len();
        let _ = devices[device].sync();
        extra_syncs += 1;
        totals.syncs += 1;
    }
    let planned = &plan[..(requests_made() as usize).min(plan.len())];
    let mut by_kind = BTreeMap::new();
    for fault in planned.iter().flatten() {
        *by_kind.entry(kind_name(fault)).or_insert(0u64) += 1;
    }
    prop_assert_eq!(
        by_kind.values().sum::<u64>(),
        proxy.faults_injected.load(Ordering::SeqCst) - injected_before,
        "the proxy injected the planned faults"
    );
    for kind in FAULT_KINDS {
        prop_assert!(
            by_kind.get(kind).is_some_and(|n| *n > 0),
            "no {} fault was injected: {:?}",
            kind,
            by_kind
        );
        *totals.faults_by_kind.entry(kind).or_default() += by_kind[kind];
    }
    totals.faults += proxy.faults_injected.load(Ordering::SeqCst);
    totals.requests += proxy.requests.load(Ordering::SeqCst);
    proxy.clear();
    for _ in 0..2 {
        for d in &mut devices {
            d.sync_ok();
        }
    }
    for d in &devices {
        prop_assert_eq!(
            d.replica.pending_op_count().unwrap(),
            0,
            "{} still has pending ops",
            d.name
        );
        d.assert_converged();
        totals.ops += d.replica.oplog(100_000).unwrap().len() as u64;
    }
    prop_assert_eq!(
        devices[0].local_checksum(),
        devices[1].local_checksum(),
        "alice's devices agree"
    );
    // No loss: every note any device wrote is on the server, wherever its job went.
    let mut on_server = BTreeSet::new();
    for j in &all_jobs {
        for n in office.job(*j)["notes"].as_array().unwrap() {
            on_server.insert(
                n["id"]
                    .as_str()
                    .unwrap()
                    .parse::<onsite_model::ids::NoteId>()
                    .unwrap(),
            );
        }
    }
    for n in &notes {
        prop_assert!(on_server.contains(n), "note {} was lost", n);
    }
    totals.scenarios += 1;
    Ok(())
}

#[test]
fn random_days_with_faults_and_wrong_clocks_converge_without_loss() {
    let cases = std::env::var("ONSITE_SIM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 20,
        ..Config::default()
    });
    let totals = std::cell::RefCell::new(Totals::default());
    let result = runner.run(&scenario(), |s| run(&s, &mut totals.borrow_mut()));
    let totals = totals.into_inner();
    println!(
        "simulation: {} scenarios, {} ops, {} syncs, {} requests through the proxy, {} faults injected ({:?})",
        totals.scenarios,
        totals.ops,
        totals.syncs,
        totals.requests,
        totals.faults,
        totals.faults_by_kind
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    for kind in FAULT_KINDS {
        assert!(
            totals.faults_by_kind.get(kind).is_some_and(|n| *n > 0),
            "no {kind} fault in the whole run"
        );
    }
}
