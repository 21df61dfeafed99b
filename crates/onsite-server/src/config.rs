//! Server configuration: defaults, then a TOML file, then `ONSITE_` environment variables,
//! then command-line flags. Keys: `listen`, `data`, `database` (`ONSITE_LISTEN`,
//! `ONSITE_DATA`, `ONSITE_DATABASE`; `--listen`, `--data`, `--database`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_DATA: &str = "./onsite-data";

#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: String,
    /// The blob folder, and the SQLite database unless `database` is set.
    pub data: PathBuf,
    /// A `postgres://` URL: the store lives in that PostgreSQL database instead of
    /// `<data>/onsite.db`.
    pub database: Option<String>,
}

/// Written by hand so a password in the database URL never reaches a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data", &self.data)
            .field("database", &self.database.as_deref().map(redact_url))
            .finish()
    }
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
        };
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
