//! The in-process network between devices and the server: every sync request is serialised
//! to its JSON wire form, carried to the real engine (token → principal, `apply_push`,
//! `pull`, the same `Store` methods the HTTP handlers call) and its answer carried back,
//! unless the scenario's dice say it is dropped, cut, repeated, held back and delivered
//! later, damaged, or one of the two ends crashes at that point.
//!
//! Like the HTTP transport, one exchange call makes a few attempts before the device's sync
//! gives up with "unreachable" (its ops stay queued for the next sync).

use std::collections::BTreeMap;

use onsite_client::{SyncError, SyncExchange, SyncProgress, SyncReport};
use onsite_model::DeviceId;
use onsite_model::wire::{LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse};
use onsite_server::error::Error as ServerError;
use onsite_server::store::Store;
use onsite_server::store::backend::Backend;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;

use crate::clock::WorldTime;
use crate::server::Server;

/// What can go wrong with one request, at the point it can go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Lost on the way: the server never sees it.
    DropRequest,
    /// The server applied it; the answer is lost (the device never hears).
    CutResponse,
    /// The network delivers it twice; the device hears one of the two answers.
    Duplicate,
    /// Held in the network past the device's timeout, delivered later, after newer
    /// requests (possibly from other devices, or after the device has retried it).
    Delay,
    /// Delivered now, and a stale copy of it again later, after newer requests.
    Reorder,
    /// A pull page arrives with a changed byte: the device must notice (checksum).
    DamagePage,
    /// The device's process dies before the request leaves.
    DeviceCrashBefore,
    /// The device's process dies after the server applied it, before the answer is stored.
    DeviceCrashAfter,
    /// The server's process dies before applying it (restarts from its database).
    ServerCrashBefore,
    /// The server's process dies after committing it, before answering.
    ServerCrashAfter,
}

pub const FAULT_KINDS: [FaultKind; 10] = [
    FaultKind::DropRequest,
    FaultKind::CutResponse,
    FaultKind::Duplicate,
    FaultKind::Delay,
    FaultKind::Reorder,
    FaultKind::DamagePage,
    FaultKind::DeviceCrashBefore,
    FaultKind::DeviceCrashAfter,
    FaultKind::ServerCrashBefore,
    FaultKind::ServerCrashAfter,
];

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::DropRequest => "drop_request",
            FaultKind::CutResponse => "cut_response",
            FaultKind::Duplicate => "duplicate",
            FaultKind::Delay => "delay",
            FaultKind::Reorder => "reorder",
            FaultKind::DamagePage => "damage_page",
            FaultKind::DeviceCrashBefore => "device_crash_before",
            FaultKind::DeviceCrashAfter => "device_crash_after",
            FaultKind::ServerCrashBefore => "server_crash_before",
            FaultKind::ServerCrashAfter => "server_crash_after",
        }
    }
}

/// The panic payload that stands for a device's process dying mid-sync: the scenario
/// catches it, drops the replica and reopens it from its file.
#[derive(Debug)]
pub struct DeviceCrash;

/// A request as it travels: a push is its JSON body.
#[derive(Clone, Debug)]
enum Request {
    Push(Vec<u8>),
    Pull { cursor: u64, limit: u32 },
}

#[derive(Clone, Debug)]
struct InFlight {
    token: String,
    request: Request,
}

/// The network's state, shared by every device of a scenario.
pub struct Net {
    pub rng: ChaCha8Rng,
    /// Chance of a fault on one attempt, in 1/1000.
    pub fault_per_mille: u32,
    in_flight: Vec<InFlight>,
    pub faults: BTreeMap<FaultKind, u64>,
    pub requests: u64,
    /// Engine failures that are not refusals (a 500 over HTTP): always a bug.
    pub server_faults: Vec<String>,
    /// When the server first applied each op (world time, ms), by device and seq.
    pub received: BTreeMap<(DeviceId, u64), i64>,
}

/// Attempts per exchange call before the sync gives up as unreachable.
const ATTEMPTS: u32 = 3;

impl Net {
    pub fn new(rng: ChaCha8Rng, fault_per_mille: u32) -> Net {
        Net {
            rng,
            fault_per_mille,
            in_flight: Vec::new(),
            faults: BTreeMap::new(),
            requests: 0,
            server_faults: Vec::new(),
            received: BTreeMap::new(),
        }
    }

    fn pick_fault(&mut self, pull: bool) -> Option<FaultKind> {
        if self.rng.gen_range(0..1000) >= self.fault_per_mille {
            return None;
        }
        let kind = FAULT_KINDS[self.rng.gen_range(0..FAULT_KINDS.len())];
        // A push page is not checksummed as a whole (a damaged push is refused as bad
        // JSON); damage is a pull's fault.
        let kind = match kind {
            FaultKind::DamagePage if !pull => FaultKind::Duplicate,
            k => k,
        };
        *self.faults.entry(kind).or_default() += 1;
        Some(kind)
    }

    /// Requests held back by the network; each arrives now with a chance of one in
    /// `one_in`, in a seeded order (their answers go nowhere).
    pub fn deliver_held(&mut self, server: &mut Server, world: &WorldTime, one_in: u32) {
        let mut i = 0;
        while i < self.in_flight.len() {
            if one_in <= 1 || self.rng.gen_range(0..one_in) == 0 {
                let late = self.in_flight.remove(i);
                // Whatever it meets (a stored outcome, a seq gap, a revoked token) is the
                // server's business; nobody waits for the answer.
                if let Err(Delivery::ServerFault(e)) =
                    deliver(server, &late, world.now_ms(), &mut self.received)
                {
                    self.server_faults.push(e);
                }
            } else {
                i += 1;
            }
        }
    }

    pub fn held(&self) -> usize {
        self.in_flight.len()
    }
}

enum Delivery {
    Refused(SyncError),
    ServerFault(String),
}

fn refused(e: ServerError) -> Delivery {
    match e {
        ServerError::Refused {
            kind,
            code,
            message,
            ..
        } => {
            let status = kind.status().as_u16();
            if status == 401 {
                Delivery::Refused(SyncError::Unauthorized { message })
            } else {
                Delivery::Refused(SyncError::Refused {
                    status,
                    code: code.to_owned(),
                    message,
                })
            }
        }
        other => Delivery::ServerFault(other.to_string()),
    }
}

/// Carries one request to the engine the way the HTTP handlers do and returns the answer's
/// JSON bytes.
fn deliver(
    server: &Server,
    req: &InFlight,
    now_ms: i64,
    received: &mut BTreeMap<(DeviceId, u64), i64>,
) -> Result<Vec<u8>, Delivery> {
    let store = server.store();
    let who = store.authenticate(&req.token).map_err(refused)?;
    let json = |v: serde_json::Result<Vec<u8>>| v.map_err(|e| Delivery::ServerFault(e.to_string()));
    match &req.request {
        Request::Push(body) => {
            let push: PushRequest = serde_json::from_slice(body).map_err(|e| {
                Delivery::Refused(SyncError::Refused {
                    status: 400,
                    code: "bad_json".into(),
                    message: e.to_string(),
                })
            })?;
            let before = store
                .backend()
                .read(|tx| tx.device_acked_seq(who.device_id))
                .map_err(refused)?;
            let answer = store.apply_push(&who, &push).map_err(refused)?;
            for op in push.ops.iter().filter(|op| op.device_seq > before) {
                received
                    .entry((op.device_id, op.device_seq))
                    .or_insert(now_ms);
            }
            json(serde_json::to_vec(&answer))
        }
        Request::Pull { cursor, limit } => {
            let page = store.pull(&who, *cursor, *limit).map_err(refused)?;
            json(serde_json::to_vec(&page))
        }
    }
}

/// Changes one value inside a page's rows, as a flipped bit on the way would.
fn damage(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut page: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let row = page
        .get_mut("changes")?
        .as_array_mut()?
        .iter_mut()
        .find_map(|c| c.get_mut("row").filter(|r| r.is_object()))?;
    row.as_object_mut()?
        .insert("damaged".into(), serde_json::Value::Bool(true));
    serde_json::to_vec(&page).ok()
}

/// One device's exchange with the server over the simulated network.
pub struct SimExchange<'a> {
    pub server: &'a mut Server,
    pub net: &'a mut Net,
    pub world: &'a WorldTime,
    /// `false` for the fault-free syncs that end a scenario.
    pub faulty: bool,
}

impl SimExchange<'_> {
    fn call<T: DeserializeOwned>(
        &mut self,
        token: &str,
        request: Request,
        report: &mut SyncReport,
    ) -> Result<T, SyncError> {
        let pull = matches!(request, Request::Pull { .. });
        let req = InFlight {
            token: token.to_owned(),
            request,
        };
        if let Request::Push(body) = &req.request {
            report.bytes_sent += body.len() as u64;
        }
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                report.retries += 1;
                // The transport's backoff, in simulated time.
                self.world.advance(200 << attempt);
            }
            self.world.advance(self.net.rng.gen_range(5..400));
            self.net.requests += 1;
            let fault = if self.faulty {
                self.net.pick_fault(pull)
            } else {
                None
            };
            match fault {
                Some(FaultKind::DropRequest) => continue,
                Some(FaultKind::Delay) => {
                    self.net.in_flight.push(req.clone());
                    continue;
                }
                Some(FaultKind::DeviceCrashBefore) => std::panic::panic_any(DeviceCrash),
                Some(FaultKind::ServerCrashBefore) => {
                    self.server.restart();
                    continue;
                }
                _ => {}
            }
            if self.faulty && self.net.held() > 0 && self.net.rng.gen_range(0..3) == 0 {
                // Something held back arrives first.
                self.net.deliver_held(self.server, self.world, 2);
            }
            let now = self.world.now_ms();
            let mut answer = deliver(self.server, &req, now, &mut self.net.received);
            match fault {
                Some(FaultKind::CutResponse) => continue,
                Some(FaultKind::DeviceCrashAfter) => std::panic::panic_any(DeviceCrash),
                Some(FaultKind::ServerCrashAfter) => {
                    self.server.restart();
                    continue;
                }
                Some(FaultKind::Duplicate) => {
                    let second = deliver(self.server, &req, now, &mut self.net.received);
                    if self.net.rng.gen_bool(0.5) {
                        answer = second;
                    }
                }
                Some(FaultKind::Reorder) => self.net.in_flight.push(req.clone()),
                Some(FaultKind::DamagePage) => {
                    if let Ok(bytes) = &answer
                        && let Some(damaged) = damage(bytes)
                    {
                        answer = Ok(damaged);
                    }
                }
                _ => {}
            }
            match answer {
                Ok(bytes) => {
                    report.bytes_received += bytes.len() as u64;
                    return serde_json::from_slice(&bytes).map_err(|e| SyncError::Refused {
                        status: 200,
                        code: "bad_response".into(),
                        message: e.to_string(),
                    });
                }
                Err(Delivery::Refused(e)) => return Err(e),
                Err(Delivery::ServerFault(e)) => {
                    self.net.server_faults.push(e);
                    continue;
                }
            }
        }
        Err(SyncError::Unreachable {
            url: self.server().to_owned(),
            detail: "no answer (simulated network)".into(),
        })
    }
}

impl SyncExchange for SimExchange<'_> {
    fn server(&self) -> &str {
        "sim://server"
    }

    fn login(
        &mut self,
        req: &LoginRequest,
        _report: &mut SyncReport,
        _progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<LoginResponse, SyncError> {
        // Sign-in happens once per device, before the day starts, over a good network.
        let body = serde_json::to_vec(req).map_err(onsite_client::Error::from)?;
        let req: LoginRequest =
            serde_json::from_slice(&body).map_err(onsite_client::Error::from)?;
        match self.server.store().login(&req) {
            Ok(login) => Ok(login),
            Err(e) => match refused(e) {
                Delivery::Refused(e) => Err(e),
                Delivery::ServerFault(e) => panic!("sign-in failed on the server: {e}"),
            },
        }
    }

    fn push(
        &mut self,
        token: &str,
        req: &PushRequest,
        report: &mut SyncReport,
        _progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<PushResponse, SyncError> {
        let body = serde_json::to_vec(req).map_err(onsite_client::Error::from)?;
        self.call(token, Request::Push(body), report)
    }

    fn pull(
        &mut self,
        token: &str,
        cursor: u64,
        limit: u32,
        report: &mut SyncReport,
        _progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<PullResponse, SyncError> {
        self.call(token, Request::Pull { cursor, limit }, report)
    }
}
