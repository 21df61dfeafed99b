//! Sign-in at the edge: attempts are counted per username at one address, per username and
//! per client address before any password is hashed (429 `too_many_attempts` with
//! `Retry-After`), and the hashes run on a few dedicated threads, one per core, so a burst
//! of sign-ins queues instead of taking 19 MiB of argon2 memory each at once. Dedicated
//! threads, not a semaphore over the blocking pool: the allocator keeps each thread's
//! freed 19 MiB for that thread, so hashes spread over the pool's many threads would still
//! grow the server by 19 MiB per thread they ever ran on.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest as _, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use onsite_model::Clock;
use onsite_model::wire::LoginRequest;
use std::sync::Mutex;
use std::sync::mpsc;

use super::{ApiJson, AppState};
use crate::error::{Error, Refusal};
use crate::limits::{Bucket, LoginLimits};

/// Keys kept before idle ones are dropped (a key is idle once its bucket is full again).
const KEYS_BEFORE_SWEEP: usize = 10_000;
/// Usernames are short; a longer one is counted by its first characters.
const KEY_CHARS: usize = 64;

/// The server's wall clock as the rate limiter's, so tests can move time instead of waiting.
#[derive(Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl governor::clock::Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let ms = u64::try_from(self.0.now_ms()).unwrap_or(0);
        Nanos::from(ms.saturating_mul(1_000_000))
    }
}

type Limiter<K> = RateLimiter<K, DashMapStateStore<K>, LimiterClock, NoOpMiddleware<Nanos>>;

/// The sign-in limits of one server instance.
pub struct LoginGuard {
    limits: LoginLimits,
    clock: LimiterClock,
    user_address: Limiter<(String, IpAddr)>,
    user: Limiter<String>,
    address: Limiter<IpAddr>,
    hashers: mpsc::Sender<Job>,
}

/// A sign-in to run on one of the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// `n` threads taking sign-ins from one queue; they end when the guard is dropped.
fn hashing_threads(n: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("sign-in-{i}"))
            .spawn(move || {
                loop {
                    let next = match rx.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a sign-in thread");
        }
    }
    tx
}

fn quota(bucket: Bucket) -> Quota {
    let burst = NonZeroU32::new(bucket.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(bucket.every.max(Duration::from_millis(1)))
        .expect("a period of at least 1 ms")
        .allow_burst(burst)
}

impl LoginGuard {
    pub fn new(limits: LoginLimits, clock: Arc<dyn Clock>) -> Self {
        let clock = LimiterClock(clock);
        LoginGuard {
            user_address: RateLimiter::dashmap_with_clock(
                quota(limits.user_address),
                clock.clone(),
            ),
            user: RateLimiter::dashmap_with_clock(quota(limits.user), clock.clone()),
            address: RateLimiter::dashmap_with_clock(quota(limits.address), clock.clone()),
            hashers: hashing_threads(limits.hashes_at_once()),
            clock,
            limits,
        }
    }

    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    /// Counts one attempt for `username` from `address`; refused with how long to wait.
    fn admit(&self, username: &str, address: IpAddr) -> Result<(), (Duration, String)> {
        let address = address_key(address);
        let user = user_key(username);
        let now = self.clock.now();
        let wait = |not_until: governor::NotUntil<Nanos>| not_until.wait_time_from(now);
        self.address.check_key(&address).map_err(|n| {
            (
                wait(n),
                "too many sign-in attempts from this address".to_owned(),
            )
        })?;
        self.user_address
            .check_key(&(user.clone(), address))
            .map_err(|n| {
                (
                    wait(n),
                    format!("too many sign-in attempts for {username:?} from this address"),
                )
            })?;
        self.user.check_key(&user).map_err(|n| {
            (
                wait(n),
                format!("too many sign-in attempts for {username:?}"),
            )
        })?;
        self.sweep();
        Ok(())
    }

    /// Forgets keys whose buckets are full again, so made-up usernames cannot grow memory.
    fn sweep(&self) {
        if self.user_address.len() + self.user.len() + self.address.len() > KEYS_BEFORE_SWEEP {
            self.user_address.retain_recent();
            self.user.retain_recent();
            self.address.retain_recent();
        }
    }
}

fn user_key(username: &str) -> String {
    username
        .trim()
        .chars()
        .take(KEY_CHARS)
        .flat_map(char::to_lowercase)
        .collect()
}

/// IPv4 addresses as they are; IPv6 by their /64, which one site usually holds whole.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The peer's address (the server is started with connection info); unknown in tests that
/// call the router directly, which then share one address.
pub(super) fn client_address(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.ip())
}

fn too_many(wait: Duration, what: String) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let err = Error::refused(
        Refusal::TooManyRequests,
        "too_many_attempts",
        format!(
            "{what}; try again in {secs} s (check the username and password first: attempts come back one at a time)"
        ),
    );
    ([(header::RETRY_AFTER, HeaderValue::from(secs))], err).into_response()
}

pub async fn login(State(state): State<AppState>, req: Request) -> Response {
    let address = client_address(&req);
    let ApiJson(body) = match ApiJson::<LoginRequest>::from_request(req, &state).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let store = state.store.clone();
    let username = body.username.clone();
    match guarded(&state, &username, address, move || store.login(&body)).await {
        Ok(res) => Json(res).into_response(),
        Err(res) => res,
    }
}

/// Runs one sign-in (`check`, which hashes the password) for `username` from `address`
/// under the attempt limits, on a hashing thread: a device's and the console's alike. The
/// refusal is the whole response (a 429 carries `Retry-After`).
pub(super) async fn guarded<T: Send + 'static>(
    state: &AppState,
    username: &str,
    address: IpAddr,
    check: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let guard = state.login.clone();
    if let Err((wait, what)) = guard.admit(username, address) {
        tracing::warn!(username = %user_key(username), %address, "sign-in throttled");
        return Err(too_many(wait, what));
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(check());
    });
    if guard.hashers.send(job).is_err() {
        return Err(Error::Internal("the sign-in threads have stopped".into()).into_response());
    }
    match answer.await {
        Ok(Ok(res)) => Ok(res),
        Ok(Err(e)) => Err(e.into_response()),
        Err(_) => {
            Err(Error::Internal("a sign-in thread stopped mid-request".into()).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_per_host_and_per_ipv6_64() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(address_key(v4), v4);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), v4);
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(user_key("  Alice "), "alice");
        assert_eq!(user_key(&"x".repeat(500)).len(), KEY_CHARS);
    }
}
