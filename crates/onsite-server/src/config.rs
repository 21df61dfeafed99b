//! Server configuration: defaults, then a TOML file, then `ONSITE_` environment variables,
//! then command-line flags. Keys: `listen`, `data`, `database` (`ONSITE_LISTEN`,
//! `ONSITE_DATA`, `ONSITE_DATABASE`; `--listen`, `--data`, `--database`), `blobs`
//! (`ONSITE_BLOBS`, `--blobs`), the `[s3]` table (`ONSITE_S3_ENDPOINT`, `ONSITE_S3_REGION`,
//! `ONSITE_S3_ACCESS_KEY_ID`, `ONSITE_S3_SECRET_ACCESS_KEY`, falling back to the usual
//! `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) and the
//! `[gc]` table (`ONSITE_GC_INTERVAL`, `ONSITE_GC_ABANDONED_UPLOADS`,
//! `ONSITE_GC_UNREFERENCED_GRACE`) and the `[login]` table of sign-in limits
//! (`crate::limits`: `ONSITE_LOGIN_PER_USER_ADDRESS`, `ONSITE_LOGIN_PER_USER`,
//! `ONSITE_LOGIN_PER_ADDRESS`, `ONSITE_LOGIN_HASH_CONCURRENCY`), the `[closed_loop]` table of
//! whole hours (`callback_due_hours`, `urgent_due_hours`, `retry_hours`,
//! `complaint_deadline_hours`; `ONSITE_CALLBACK_DUE_HOURS`, `ONSITE_CALLBACK_URGENT_HOURS`,
//! `ONSITE_CALLBACK_RETRY_HOURS`, `ONSITE_COMPLAINT_DEADLINE_HOURS`), the `[quality]` table of
//! the review sample (`sample_percent`, 0 to 100, default 10, and `sample_seed`;
//! `ONSITE_QUALITY_SAMPLE_PERCENT`, `ONSITE_QUALITY_SAMPLE_SEED`), and the `[console]` table
//! of the office console's sessions (`secure_cookies`, `session_idle`, `session_lifetime`;
//! `ONSITE_CONSOLE_SECURE_COOKIES`, `ONSITE_CONSOLE_SESSION_IDLE`,
//! `ONSITE_CONSOLE_SESSION_LIFETIME`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use onsite_model::closed_loop::LoopPolicy;
use onsite_model::quality::SamplingPolicy;
use serde::Deserialize;

use crate::limits::{LoginFile, LoginLimits};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_DATA: &str = "./onsite-data";
/// S3's own default; most S3-compatible servers accept any region.
pub const DEFAULT_S3_REGION: &str = "us-east-1";

#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: String,
    /// The blob folder (unless `blobs` names a bucket), and the SQLite database unless
    /// `database` is set.
    pub data: PathBuf,
    /// A `postgres://` URL: the store lives in that PostgreSQL database instead of
    /// `<data>/onsite.db`.
    pub database: Option<String>,
    /// Where photo and signature bytes live.
    pub blobs: BlobLocation,
    pub s3: S3Settings,
    pub gc: GcSettings,
    /// Sign-in attempt limits and how many password hashes run at once.
    pub login: LoginLimits,
    /// The closed loop's timings (`[closed_loop]`; docs/CLOSED_LOOP.md).
    pub closed_loop: LoopPolicy,
    /// Which completed jobs the quality review samples (`[quality]`; docs/QUALITY_REVIEW.md).
    pub quality: SamplingPolicy,
    pub console: ConsoleSettings,
}

/// The office console's session cookie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Mark the cookie `Secure` (sent over HTTPS only): set it when the server is reached
    /// through TLS (a reverse proxy in front of it); off by default, since the server itself
    /// speaks plain HTTP on loopback.
    pub secure_cookies: bool,
    pub sessions: crate::store::WebSessionPolicy,
}

/// Written by hand so a password in the database URL or an S3 secret never reaches a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data", &self.data)
            .field("database", &self.database.as_deref().map(redact_url))
            .field("blobs", &self.blobs)
            .field("s3", &self.s3)
            .field("gc", &self.gc)
            .field("login", &self.login)
            .field("closed_loop", &self.closed_loop)
            .field("quality", &self.quality)
            .field("console", &self.console)
            .finish()
    }
}

/// `blobs`: `files` (the default: `<data>/blobs`) or `s3://bucket[/prefix]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BlobLocation {
    #[default]
    Files,
    S3 {
        bucket: String,
        /// Key prefix without leading or trailing `/`; empty for the bucket's root.
        prefix: String,
    },
}

impl FromStr for BlobLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s == "files" {
            return Ok(BlobLocation::Files);
        }
        let Some(rest) = s.strip_prefix("s3://") else {
            return Err(format!(
                "blobs = {s:?}: use \"files\" (the data directory) or s3://bucket[/prefix]"
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!(
                "blobs = {s:?} names no bucket: use s3://bucket[/prefix]"
            ));
        }
        Ok(BlobLocation::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

impl std::fmt::Display for BlobLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobLocation::Files => f.write_str("files"),
            BlobLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            BlobLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// How to reach the S3-compatible server. Without keys, the S3 client's own chain is used
/// (instance metadata, web identity).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:8333`; AWS's own
    /// endpoint for the region when unset. `http://` is allowed (a server on the same host).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Written by hand so the secret key never reaches a log.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint.as_deref().map(redact_url))
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// When blob garbage collection runs in `serve` and what it removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcSettings {
    /// Between two runs in `serve` (the first a minute after start); zero turns it off.
    pub interval: Duration,
    /// An upload with no chunk written for this long is abandoned.
    pub abandoned_uploads: Duration,
    /// A blob no row names is kept this long after it was stored, so bytes uploaded before
    /// their row is pushed (a device that went offline in between) are never collected.
    pub unreferenced_grace: Duration,
}

pub const DAY: Duration = Duration::from_secs(24 * 3600);

impl Default for GcSettings {
    fn default() -> Self {
        GcSettings {
            interval: DAY,
            abandoned_uploads: 7 * DAY,
            unreferenced_grace: 30 * DAY,
        }
    }
}

/// `90s`, `15m`, `24h`, `7d` (or plain seconds); `0` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: use e.g. 90s, 15m, 24h or 7d"))?;
    let seconds = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => {
            return Err(format!(
                "{s:?} is not a duration: use e.g. 90s, 15m, 24h or 7d"
            ));
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
}

/// The URL with the password of its user info (`user:password@`) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data: Option<PathBuf>,
    database: Option<String>,
    blobs: Option<String>,
    s3: Option<S3Settings>,
    gc: Option<FileGc>,
    login: Option<LoginFile>,
    closed_loop: Option<FileLoop>,
    quality: Option<FileQuality>,
    console: Option<FileConsole>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConsole {
    secure_cookies: Option<bool>,
    session_idle: Option<String>,
    session_lifetime: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGc {
    interval: Option<String>,
    abandoned_uploads: Option<String>,
    unreferenced_grace: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Layers the sources; `env` is a lookup so tests need not touch the process environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        listen_flag: Option<String>,
        data_flag: Option<PathBuf>,
        database_flag: Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            listen: DEFAULT_LISTEN.into(),
            data: DEFAULT_DATA.into(),
            database: None,
            blobs: BlobLocation::Files,
            s3: S3Settings::default(),
            gc: GcSettings::default(),
            login: LoginLimits::default(),
            closed_loop: LoopPolicy::DEFAULT,
            quality: SamplingPolicy::default(),
            console: ConsoleSettings::default(),
        };
        let mut quality = FileQuality::default();
        let mut console = FileConsole::default();
        let mut login = None;
        let mut closed_loop = FileLoop::default();
        let mut blobs = None;
        let mut gc = FileGc::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.into(),
                source,
            })?;
            let f: FileConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.into(),
                source,
            })?;
            if let Some(l) = f.listen {
                cfg.listen = l;
            }
            if let Some(d) = f.data {
                cfg.data = d;
            }
            if let Some(d) = f.database {
                cfg.database = Some(d);
            }
            blobs = f.blobs;
            cfg.s3 = f.s3.unwrap_or_default();
            gc = f.gc.unwrap_or_default();
            login = f.login;
            closed_loop = f.closed_loop.unwrap_or_default();
            quality = f.quality.unwrap_or_default();
            console = f.console.unwrap_or_default();
        }
        let var = |names: &[&str]| names.iter().find_map(|n| env(n).filter(|s| !s.is_empty()));
        blobs = var(&["ONSITE_BLOBS"]).or(blobs);
        let s3 = &mut cfg.s3;
        s3.endpoint = var(&["ONSITE_S3_ENDPOINT"]).or(s3.endpoint.take());
        s3.region = var(&["ONSITE_S3_REGION"]).or(s3.region.take());
        s3.access_key_id = var(&["ONSITE_S3_ACCESS_KEY_ID"]).or(s3.access_key_id.take());
        s3.secret_access_key =
            var(&["ONSITE_S3_SECRET_ACCESS_KEY"]).or(s3.secret_access_key.take());
        // The names every S3 tool reads, when the project's own are not given.
        s3.endpoint = s3.endpoint.take().or_else(|| var(&["AWS_ENDPOINT_URL"]));
        s3.region = s3
            .region
            .take()
            .or_else(|| var(&["AWS_REGION", "AWS_DEFAULT_REGION"]));
        if s3.access_key_id.is_none() && s3.secret_access_key.is_none() {
            s3.access_key_id = var(&["AWS_ACCESS_KEY_ID"]);
            s3.secret_access_key = var(&["AWS_SECRET_ACCESS_KEY"]);
        }
        gc.interval = var(&["ONSITE_GC_INTERVAL"]).or(gc.interval);
        gc.abandoned_uploads = var(&["ONSITE_GC_ABANDONED_UPLOADS"]).or(gc.abandoned_uploads);
        gc.unreferenced_grace = var(&["ONSITE_GC_UNREFERENCED_GRACE"]).or(gc.unreferenced_grace);
        let duration = |key: &str, v: Option<String>, default: Duration| match v {
            None => Ok(default),
            Some(v) => {
                parse_duration(&v).map_err(|e| ConfigError::Invalid(format!("gc.{key}: {e}")))
            }
        };
        let defaults = GcSettings::default();
        cfg.gc = GcSettings {
            interval: duration("interval", gc.interval, defaults.interval)?,
            abandoned_uploads: duration(
                "abandoned_uploads",
                gc.abandoned_uploads,
                defaults.abandoned_uploads,
            )?,
            unreferenced_grace: duration(
                "unreferenced_grace",
                gc.unreferenced_grace,
                defaults.unreferenced_grace,
            )?,
        };
        cfg.login = LoginLimits::layered(login, |n| var(&[n])).map_err(ConfigError::Invalid)?;
        cfg.closed_loop = loop_policy(closed_loop, |n| var(&[n]))?;
        cfg.quality = sampling_policy(quality, |n| var(&[n]))?;
        cfg.console = console_settings(console, |n| var(&[n]))?;
        if let Some(b) = blobs {
            cfg.blobs = b.parse().map_err(ConfigError::Invalid)?;
        }
        if let Some(l) = env("ONSITE_LISTEN").filter(|s| !s.is_empty()) {
            cfg.listen = l;
        }
        if let Some(d) = env("ONSITE_DATA").filter(|s| !s.is_empty()) {
            cfg.data = d.into();
        }
        if let Some(d) = env("ONSITE_DATABASE").filter(|s| !s.is_empty()) {
            cfg.database = Some(d);
        }
        if let Some(l) = listen_flag {
            cfg.listen = l;
        }
        if let Some(d) = data_flag {
            cfg.data = d;
        }
        if let Some(d) = database_flag {
            cfg.database = Some(d);
        }
        Ok(cfg)
    }
}

/// The `[console]` table under its environment variables.
fn console_settings(
    file: FileConsole,
    var: impl Fn(&str) -> Option<String>,
) -> Result<ConsoleSettings, ConfigError> {
    let defaults = ConsoleSettings::default();
    let secure_cookies = match var("ONSITE_CONSOLE_SECURE_COOKIES") {
        Some(v) => match v.trim() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "ONSITE_CONSOLE_SECURE_COOKIES = {other:?}: use true or false"
                )));
            }
        },
        None => file.secure_cookies.unwrap_or(defaults.secure_cookies),
    };
    let duration = |key: &str, env: &str, v: Option<String>, default: Duration| match var(env).or(v)
    {
        None => Ok(default),
        Some(v) => match parse_duration(&v) {
            Ok(d) if d.as_secs() >= 60 => Ok(d),
            Ok(_) => Err(ConfigError::Invalid(format!(
                "console.{key} = {v:?}: a session lasts at least a minute"
            ))),
            Err(e) => Err(ConfigError::Invalid(format!("console.{key}: {e}"))),
        },
    };
    let sessions = crate::store::WebSessionPolicy {
        idle: duration(
            "session_idle",
            "ONSITE_CONSOLE_SESSION_IDLE",
            file.session_idle,
            defaults.sessions.idle,
        )?,
        lifetime: duration(
            "session_lifetime",
            "ONSITE_CONSOLE_SESSION_LIFETIME",
            file.session_lifetime,
            defaults.sessions.lifetime,
        )?,
    };
    Ok(ConsoleSettings {
        secure_cookies,
        sessions,
    })
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLoop {
    callback_due_hours: Option<u32>,
    urgent_due_hours: Option<u32>,
    retry_hours: Option<u32>,
    complaint_deadline_hours: Option<u32>,
}

/// The `[closed_loop]` table under its environment variables: whole hours, 1 to 8760.
fn loop_policy(
    file: FileLoop,
    var: impl Fn(&str) -> Option<String>,
) -> Result<LoopPolicy, ConfigError> {
    let d = LoopPolicy::DEFAULT;
    let hours = |key: &str, env: &str, file: Option<u32>, default: u32| {
        let v = match var(env) {
            Some(s) => s.trim().parse::<u32>().map_err(|_| {
                ConfigError::Invalid(format!("{env} = {s:?}: use a whole number of hours"))
            })?,
            None => file.unwrap_or(default),
        };
        if !(1..=8760).contains(&v) {
            return Err(ConfigError::Invalid(format!(
                "closed_loop.{key} = {v}: use 1 to 8760 hours"
            )));
        }
        Ok(v)
    };
    Ok(LoopPolicy {
        callback_due_hours: hours(
            "callback_due_hours",
            "ONSITE_CALLBACK_DUE_HOURS",
            file.callback_due_hours,
            d.callback_due_hours,
        )?,
        urgent_due_hours: hours(
            "urgent_due_hours",
            "ONSITE_CALLBACK_URGENT_HOURS",
            file.urgent_due_hours,
            d.urgent_due_hours,
        )?,
        retry_hours: hours(
            "retry_hours",
            "ONSITE_CALLBACK_RETRY_HOURS",
            file.retry_hours,
            d.retry_hours,
        )?,
        complaint_deadline_hours: hours(
            "complaint_deadline_hours",
            "ONSITE_COMPLAINT_DEADLINE_HOURS",
            file.complaint_deadline_hours,
            d.complaint_deadline_hours,
        )?,
    })
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuality {
    sample_percent: Option<f64>,
    sample_seed: Option<u64>,
}

/// The `[quality]` table under its environment variables.
fn sampling_policy(
    file: FileQuality,
    var: impl Fn(&str) -> Option<String>,
) -> Result<SamplingPolicy, ConfigError> {
    let percent = match var("ONSITE_QUALITY_SAMPLE_PERCENT") {
        Some(s) => s.trim().parse::<f64>().map_err(|_| {
            ConfigError::Invalid(format!(
                "ONSITE_QUALITY_SAMPLE_PERCENT = {s:?}: use a percentage from 0 to 100"
            ))
        })?,
        None => file
            .sample_percent
            .unwrap_or(SamplingPolicy::default().sample_percent()),
    };
    let mut policy = SamplingPolicy::percent(percent)
        .map_err(|e| ConfigError::Invalid(format!("quality.sample_percent: {e}")))?;
    policy.seed = match var("ONSITE_QUALITY_SAMPLE_SEED") {
        Some(s) => s.trim().parse::<u64>().map_err(|_| {
            ConfigError::Invalid(format!(
                "ONSITE_QUALITY_SAMPLE_SEED = {s:?}: use a whole number"
            ))
        })?,
        None => file.sample_seed.unwrap_or(0),
    };
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quality_sample_comes_from_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(&file, "[quality]\nsample_percent = 12.5\nsample_seed = 7\n").unwrap();
        let none = |_: &str| None;
        let c = Config::load(None, none, None, None, None).unwrap();
        assert_eq!(c.quality, SamplingPolicy::default());
        let c = Config::load(Some(&file), none, None, None, None).unwrap();
        assert_eq!((c.quality.sample_basis_points, c.quality.seed), (1_250, 7));
        let env = |k: &str| (k == "ONSITE_QUALITY_SAMPLE_PERCENT").then(|| "25".to_owned());
        let c = Config::load(Some(&file), env, None, None, None).unwrap();
        assert_eq!((c.quality.sample_basis_points, c.quality.seed), (2_500, 7));
        let env = |k: &str| (k == "ONSITE_QUALITY_SAMPLE_PERCENT").then(|| "150".to_owned());
        let err = Config::load(None, env, None, None, None).unwrap_err();
        assert!(err.to_string().contains("from 0 to 100"), "{err}");
        let env = |k: &str| (k == "ONSITE_QUALITY_SAMPLE_SEED").then(|| "-1".to_owned());
        assert!(Config::load(None, env, None, None, None).is_err());
    }

    #[test]
    fn console_sessions_are_configured() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            "[console]\nsecure_cookies = true\nsession_idle = \"30m\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), |_| None, None, None, None).unwrap();
        assert!(c.console.secure_cookies);
        assert_eq!(c.console.sessions.idle, Duration::from_secs(1800));
        assert_eq!(c.console.sessions.lifetime, Duration::from_secs(12 * 3600));
        let env = |k: &str| (k == "ONSITE_CONSOLE_SECURE_COOKIES").then(|| "false".to_owned());
        let c = Config::load(Some(&file), env, None, None, None).unwrap();
        assert!(!c.console.secure_cookies);
        let env = |k: &str| (k == "ONSITE_CONSOLE_SESSION_LIFETIME").then(|| "5s".to_owned());
        assert!(Config::load(None, env, None, None, None).is_err());
    }

    #[test]
    fn later_sources_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\ndata = \"/srv/onsite\"\n").unwrap();
        let none = |_: &str| None;
        assert_eq!(
            Config::load(None, none, None, None, None).unwrap().listen,
            DEFAULT_LISTEN
        );
        let c = Config::load(Some(&file), none, None, None, None).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data.as_path()),
            ("0.0.0.0:9000", Path::new("/srv/onsite"))
        );
        let env = |k: &str| (k == "ONSITE_DATA").then(|| "/env/data".to_owned());
        let c = Config::load(Some(&file), env, None, None, None).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data.as_path()),
            ("0.0.0.0:9000", Path::new("/env/data"))
        );
        let c = Config::load(
            Some(&file),
            env,
            Some("127.0.0.1:0".into()),
            Some("/flag".into()),
            None,
        )
        .unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data.as_path()),
            ("127.0.0.1:0", Path::new("/flag"))
        );
        std::fs::write(&file, "port = 1\n").unwrap();
        let err = Config::load(Some(&file), none, None, None, None).unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
    }

    #[test]
    fn the_closed_loop_hours_come_from_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            "[closed_loop]\ncallback_due_hours = 24\ncomplaint_deadline_hours = 48\n",
        )
        .unwrap();
        let none = |_: &str| None;
        let c = Config::load(None, none, None, None, None).unwrap();
        assert_eq!(c.closed_loop, LoopPolicy::DEFAULT);
        let c = Config::load(Some(&file), none, None, None, None).unwrap();
        assert_eq!(
            c.closed_loop,
            LoopPolicy {
                callback_due_hours: 24,
                complaint_deadline_hours: 48,
                ..LoopPolicy::DEFAULT
            }
        );
        let env = |k: &str| (k == "ONSITE_CALLBACK_URGENT_HOURS").then(|| "2".to_owned());
        let c = Config::load(Some(&file), env, None, None, None).unwrap();
        let p = c.closed_loop;
        assert_eq!((p.urgent_due_hours, p.callback_due_hours), (2, 24));
        let env = |k: &str| (k == "ONSITE_CALLBACK_RETRY_HOURS").then(|| "0".to_owned());
        let err = Config::load(None, env, None, None, None).unwrap_err();
        assert!(err.to_string().contains("1 to 8760"), "{err}");
    }

    #[test]
    fn the_database_url_comes_from_file_env_or_flag_and_hides_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(&file, "database = \"postgres://onsite:s3cret@db/onsite\"\n").unwrap();
        let none = |_: &str| None;
        assert_eq!(
            Config::load(None, none, None, None, None).unwrap().database,
            None
        );
        let c = Config::load(Some(&file), none, None, None, None).unwrap();
        assert_eq!(
            c.database.as_deref(),
            Some("postgres://onsite:s3cret@db/onsite")
        );
        assert!(!format!("{c:?}").contains("s3cret"), "{c:?}");
        let env = |k: &str| (k == "ONSITE_DATABASE").then(|| "postgres://env@db/x".to_owned());
        let c = Config::load(Some(&file), env, None, None, None).unwrap();
        assert_eq!(c.database.as_deref(), Some("postgres://env@db/x"));
        let c = Config::load(
            Some(&file),
            env,
            None,
            None,
            Some("postgres://flag@db/y".into()),
        )
        .unwrap();
        assert_eq!(c.database.as_deref(), Some("postgres://flag@db/y"));
        assert_eq!(
            redact_url("postgres://u:p@h:5/d?sslmode=disable"),
            "postgres://u:***@h:5/d?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
    }

    #[test]
    fn blobs_s3_and_gc_come_from_file_env_or_flag_and_hide_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            "blobs = \"s3://evidence/prod/eu/\"\n[s3]\nendpoint = \"http://127.0.0.1:8333\"\naccess_key_id = \"AKFILE\"\nsecret_access_key = \"file-secret\"\n[gc]\nabandoned_uploads = \"3d\"\n",
        )
        .unwrap();
        let none = |_: &str| None;
        let c = Config::load(None, none, None, None, None).unwrap();
        assert_eq!(c.blobs, BlobLocation::Files);
        assert_eq!(c.gc, GcSettings::default());
        let c = Config::load(Some(&file), none, None, None, None).unwrap();
        assert_eq!(
            c.blobs,
            BlobLocation::S3 {
                bucket: "evidence".into(),
                prefix: "prod/eu".into()
            }
        );
        assert_eq!(c.blobs.to_string(), "s3://evidence/prod/eu");
        assert_eq!(c.s3.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert_eq!(c.gc.abandoned_uploads, 3 * DAY);
        assert_eq!(c.gc.unreferenced_grace, 30 * DAY);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("file-secret") && shown.contains("AKFILE"),
            "{shown}"
        );
        // ONSITE_ names win over the file, the file over the generic AWS_ names.
        let env = |k: &str| match k {
            "ONSITE_S3_SECRET_ACCESS_KEY" => Some("env-secret".to_owned()),
            "AWS_REGION" => Some("eu-central-1".to_owned()),
            "AWS_ACCESS_KEY_ID" => Some("AKAWS".to_owned()),
            "ONSITE_GC_INTERVAL" => Some("0".to_owned()),
            "ONSITE_BLOBS" => Some("files".to_owned()),
            _ => None,
        };
        let c = Config::load(Some(&file), env, None, None, None).unwrap();
        assert_eq!(c.blobs, BlobLocation::Files);
        assert_eq!(c.s3.secret_access_key.as_deref(), Some("env-secret"));
        assert_eq!(c.s3.access_key_id.as_deref(), Some("AKFILE"));
        assert_eq!(c.s3.region.as_deref(), Some("eu-central-1"));
        assert!(c.gc.interval.is_zero());
        assert!(!format!("{c:?}").contains("env-secret"));
        // The AWS_ keys travel as a pair, only when neither is given otherwise.
        let aws = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKAWS".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("aws-secret".to_owned()),
            _ => None,
        };
        let c = Config::load(None, aws, None, None, None).unwrap();
        assert_eq!(
            (
                c.s3.access_key_id.as_deref(),
                c.s3.secret_access_key.as_deref()
            ),
            (Some("AKAWS"), Some("aws-secret"))
        );
        assert!(
            Config::load(
                None,
                |k| (k == "ONSITE_BLOBS").then(|| "ftp://x".into()),
                None,
                None,
                None
            )
            .unwrap_err()
            .to_string()
            .contains("s3://bucket")
        );
        assert!(
            Config::load(
                None,
                |k| (k == "ONSITE_GC_INTERVAL").then(|| "soon".into()),
                None,
                None,
                None
            )
            .unwrap_err()
            .to_string()
            .contains("gc.interval")
        );
        assert_eq!(
            "s3://b".parse(),
            Ok(BlobLocation::S3 {
                bucket: "b".into(),
                prefix: String::new()
            })
        );
        assert!("s3:///x".parse::<BlobLocation>().is_err());
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("24h"), Ok(DAY));
        assert_eq!(parse_duration("7d"), Ok(7 * DAY));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("7 weeks").is_err());
    }
}
