//! Which store the servers of the whole-system tests run on. By default the embedded one
//! (SQLite and blob files in the server's data folder). With `ONSITE_SYSTEM_STORE=postgres-s3`
//! (the second pass of `scripts/test`, under `scripts/with-postgres` and
//! `scripts/with-seaweedfs`) every server gets a PostgreSQL database and a bucket prefix of
//! its own, both named after its data folder, so a restart finds them again.

use std::path::Path;
use std::process::Command;

/// The store a test server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SQLite and blob files in the server's data folder.
    Embedded,
    /// A PostgreSQL database and an S3 bucket prefix of its own.
    PostgresS3,
}

impl Kind {
    /// The store this run's servers use, from `ONSITE_SYSTEM_STORE`.
    pub fn of_run() -> Kind {
        match std::env::var("ONSITE_SYSTEM_STORE").as_deref() {
            Ok("postgres-s3") => Kind::PostgresS3,
            Ok("") | Ok("embedded") | Err(_) => Kind::Embedded,
            Ok(other) => panic!("ONSITE_SYSTEM_STORE={other:?}: use postgres-s3 or embedded"),
        }
    }

    /// Whether a PostgreSQL server and an S3 server were started for this run
    /// (`scripts/with-postgres scripts/with-seaweedfs`).
    pub fn postgres_s3_available() -> bool {
        ["ONSITE_TEST_POSTGRES_URL", "ONSITE_TEST_S3_BUCKET"]
            .iter()
            .all(|v| std::env::var(v).is_ok_and(|v| !v.is_empty()))
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Embedded => "SQLite + files",
            Kind::PostgresS3 => "PostgreSQL + S3",
        }
    }
}

/// Whether this run puts the servers on PostgreSQL and S3.
pub fn on_postgres_and_s3() -> bool {
    Kind::of_run() == Kind::PostgresS3
}

fn required(var: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
        panic!(
            "ONSITE_SYSTEM_STORE=postgres-s3 needs {var}: run under scripts/with-postgres scripts/with-seaweedfs"
        )
    })
}

/// A name for the server of `data`, valid as a database name and a key prefix.
fn name_of(data: &Path) -> String {
    let leaf = data.file_name().unwrap_or_default().to_string_lossy();
    let safe: String = leaf
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("sys_{safe}")
}

fn database_url(data: &Path) -> String {
    let url = required("ONSITE_TEST_POSTGRES_URL");
    let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let host_start = base.find("://").map(|i| i + 3).expect("a postgres:// URL");
    let path_start = base[host_start..]
        .find('/')
        .map_or(base.len(), |i| host_start + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{}{query}", &base[..path_start], name_of(data))
}

/// Creates the database of the server of `data` (with `psql`, which comes with PostgreSQL).
pub fn create(data: &Path, kind: Kind) {
    if kind == Kind::Embedded {
        return;
    }
    let url = required("ONSITE_TEST_POSTGRES_URL");
    let psql = ["/usr/lib/postgresql/15/bin/psql", "psql"]
        .into_iter()
        .find(|p| !p.starts_with('/') || Path::new(p).exists())
        .unwrap();
    let out = Command::new(psql)
        .args([url.as_str(), "-q", "-c"])
        .arg(format!("CREATE DATABASE {}", name_of(data)))
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "creating the test database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The environment that points an `onsite-server` command at the store of `data`.
pub fn env(data: &Path, kind: Kind) -> Vec<(String, String)> {
    if kind == Kind::Embedded {
        return Vec::new();
    }
    let bucket = required("ONSITE_TEST_S3_BUCKET");
    vec![
        ("ONSITE_DATABASE".into(), database_url(data)),
        (
            "ONSITE_BLOBS".into(),
            format!("s3://{bucket}/{}", name_of(data)),
        ),
        (
            "ONSITE_S3_ENDPOINT".into(),
            required("ONSITE_TEST_S3_ENDPOINT"),
        ),
        (
            "ONSITE_S3_REGION".into(),
            std::env::var("ONSITE_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
        ),
        (
            "ONSITE_S3_ACCESS_KEY_ID".into(),
            required("ONSITE_TEST_S3_ACCESS_KEY_ID"),
        ),
        (
            "ONSITE_S3_SECRET_ACCESS_KEY".into(),
            required("ONSITE_TEST_S3_SECRET_ACCESS_KEY"),
        ),
    ]
}
