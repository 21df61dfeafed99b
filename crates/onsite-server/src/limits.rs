//! Limits on sign-in, as the operator sets them: token buckets for attempts and the number
//! of password hashes computed at once. Parsed here once for the TOML file and the
//! environment; enforced by `api::login`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// A token bucket: up to `burst` attempts at once, then one more every `every`. Written
/// `BURST/PERIOD`, e.g. `10/30s` (10 at once, one more each 30 seconds), `5/2m`, `100/1h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub burst: u32,
    pub every: Duration,
}

impl Bucket {
    pub const fn new(burst: u32, every_secs: u64) -> Self {
        Bucket {
            burst,
            every: Duration::from_secs(every_secs),
        }
    }

    /// How long an emptied bucket takes to fill up again.
    pub fn refill(&self) -> Duration {
        self.every * self.burst
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.burst, self.every.as_secs())
    }
}

impl FromStr for Bucket {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = || format!("{s:?} is not BURST/PERIOD such as 10/30s, 5/2m or 100/1h");
        let (burst, period) = s.trim().split_once('/').ok_or_else(usage)?;
        let burst: u32 = burst.trim().parse().map_err(|_| usage())?;
        let period = period.trim();
        let (digits, unit) = period.split_at(period.len().saturating_sub(1));
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(usage()),
        };
        let n: u64 = digits.parse().map_err(|_| usage())?;
        if burst == 0 || n == 0 {
            return Err(format!(
                "{s:?}: the burst and the period must be at least 1"
            ));
        }
        let secs = n
            .checked_mul(scale)
            .filter(|s| *s <= 24 * 3600)
            .ok_or_else(|| format!("{s:?}: the period may be at most 24h"))?;
        Ok(Bucket::new(burst, secs))
    }
}

/// Sign-in limits, per server instance (each instance counts on its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts for one username from one client address: what a technician mistyping her
    /// password meets, and all a single attacker gets at one account.
    pub user_address: Bucket,
    /// Attempts for one username from every address together: bounds guessing spread over
    /// many addresses.
    pub user: Bucket,
    /// Attempts from one client address for every username together (IPv6: per /64).
    pub address: Bucket,
    /// Password hashes computed at once (argon2id takes 19 MiB each); more sign-ins wait
    /// their turn. `None`: the number of CPU cores.
    pub hash_concurrency: Option<usize>,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            user_address: Bucket::new(10, 30),
            user: Bucket::new(100, 6),
            address: Bucket::new(60, 1),
            hash_concurrency: None,
        }
    }
}

impl LoginLimits {
    /// The hashes allowed at once.
    pub fn hashes_at_once(&self) -> usize {
        self.hash_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }
}

/// The `[login]` table of the config file; each key is overridden by its `ONSITE_LOGIN_*`
/// variable.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFile {
    pub per_user_address: Option<String>,
    pub per_user: Option<String>,
    pub per_address: Option<String>,
    pub hash_concurrency: Option<usize>,
}

impl LoginLimits {
    /// The defaults, then the file's `[login]` table, then `ONSITE_LOGIN_PER_USER_ADDRESS`,
    /// `ONSITE_LOGIN_PER_USER`, `ONSITE_LOGIN_PER_ADDRESS`, `ONSITE_LOGIN_HASH_CONCURRENCY`.
    pub fn layered(
        file: Option<LoginFile>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<LoginLimits, String> {
        let file = file.unwrap_or_default();
        let mut limits = LoginLimits::default();
        let bucket =
            |key: &str, var: &str, from_file: Option<String>, default: Bucket| match env(var)
                .filter(|v| !v.is_empty())
                .or(from_file)
            {
                None => Ok(default),
                Some(v) => v.parse().map_err(|e| format!("login.{key} ({var}): {e}")),
            };
        limits.user_address = bucket(
            "per_user_address",
            "ONSITE_LOGIN_PER_USER_ADDRESS",
            file.per_user_address,
            limits.user_address,
        )?;
        limits.user = bucket(
            "per_user",
            "ONSITE_LOGIN_PER_USER",
            file.per_user,
            limits.user,
        )?;
        limits.address = bucket(
            "per_address",
            "ONSITE_LOGIN_PER_ADDRESS",
            file.per_address,
            limits.address,
        )?;
        limits.hash_concurrency = match env("ONSITE_LOGIN_HASH_CONCURRENCY").filter(|v| !v.is_empty()) {
            Some(v) => Some(v.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("login.hash_concurrency (ONSITE_LOGIN_HASH_CONCURRENCY): {v:?} is not a whole number of at least 1")
            })?),
            None => file.hash_concurrency,
        };
        if limits.hash_concurrency == Some(0) {
            return Err("login.hash_concurrency must be at least 1".into());
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_parse_and_print() {
        assert_eq!("10/30s".parse(), Ok(Bucket::new(10, 30)));
        assert_eq!(" 5 / 2m ".parse(), Ok(Bucket::new(5, 120)));
        assert_eq!("100/1h".parse(), Ok(Bucket::new(100, 3600)));
        assert_eq!(Bucket::new(10, 30).to_string(), "10/30s");
        assert_eq!(Bucket::new(10, 30).refill(), Duration::from_secs(300));
        for bad in [
            "10", "10/30", "0/30s", "10/0s", "x/30s", "10/30d", "10/25h", "-1/3s",
        ] {
            assert!(bad.parse::<Bucket>().is_err(), "{bad}");
        }
        assert!(LoginLimits::default().hashes_at_once() >= 1);
    }

    #[test]
    fn limits_come_from_the_file_then_the_environment() {
        let none = |_: &str| None;
        assert_eq!(
            LoginLimits::layered(None, none).unwrap(),
            LoginLimits::default()
        );
        let file: LoginFile =
            toml::from_str("per_user = \"20/1m\"\nhash_concurrency = 3\n").unwrap();
        let env = |k: &str| (k == "ONSITE_LOGIN_PER_ADDRESS").then(|| "500/1s".to_owned());
        let l = LoginLimits::layered(Some(file), env).unwrap();
        assert_eq!(l.user, Bucket::new(20, 60));
        assert_eq!(l.address, Bucket::new(500, 1));
        assert_eq!(l.user_address, LoginLimits::default().user_address);
        assert_eq!(l.hashes_at_once(), 3);
        let bad = |k: &str| (k == "ONSITE_LOGIN_PER_USER").then(|| "lots".to_owned());
        let err = LoginLimits::layered(None, bad).unwrap_err();
        assert!(err.contains("ONSITE_LOGIN_PER_USER"), "{err}");
        let zero = |k: &str| (k == "ONSITE_LOGIN_HASH_CONCURRENCY").then(|| "0".to_owned());
        assert!(LoginLimits::layered(None, zero).is_err());
        assert!(toml::from_str::<LoginFile>("per_usr = \"1/1s\"").is_err());
    }
}
