//! Server configuration: defaults, then a TOML file, then `ONSITE_` environment variables,
//! then command-line flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
pub const DEFAULT_DATA: &str = "./onsite-data";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub listen: String,
    pub data: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data: Option<PathBuf>,
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
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config {
            listen: DEFAULT_LISTEN.into(),
            data: DEFAULT_DATA.into(),
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
        }
        if let Some(l) = env("ONSITE_LISTEN").filter(|s| !s.is_empty()) {
            cfg.listen = l;
        }
        if let Some(d) = env("ONSITE_DATA").filter(|s| !s.is_empty()) {
            cfg.data = d.into();
        }
        if let Some(l) = listen_flag {
            cfg.listen = l;
        }
        if let Some(d) = data_flag {
            cfg.data = d;
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
            Config::load(None, none, None, None).unwrap().listen,
            DEFAULT_LISTEN
        );
        let c = Config::load(Some(&file), none, None, None).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data.as_path()),
            ("0.0.0.0:9000", Path::new("/srv/onsite"))
        );
        let env = |k: &str| (k == "ONSITE_DATA").then(|| "/env/data".to_owned());
        let c = Config::load(Some(&file), env, None, None).unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data.as_path()),
            ("0.0.0.0:9000", Path::new("/env/data"))
        );
        let c = Config::load(
            Some(&file),
            env,
            Some("127.0.0.1:0".into()),
            Some("/flag".into()),
        )
        .unwrap();
        assert_eq!(
            (c.listen.as_str(), c.data.as_path()),
            ("127.0.0.1:0", Path::new("/flag"))
        );
        std::fs::write(&file, "port = 1\n").unwrap();
        let err = Config::load(Some(&file), none, None, None).unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
    }
}
