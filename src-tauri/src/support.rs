//! The app's log file and the support bundle.
//!
//! The log goes to `<data folder>/logs/onsite-app.YYYY-MM-DD.log`, a new file each day (UTC),
//! the oldest deleted so that at most [`LOG_FILES_KEPT`] remain; and to stderr as before.
//! Nothing secret is logged: sign-in records the server and the username, never the
//! password or the token, and the support bundle takes the token out of the log files
//! should it ever appear there.

use std::path::Path;

use onsite_client::support::log_dir;
use onsite_client::{BundleSource, SupportBundle};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::app::AppState;
use crate::error::UiError;

/// Days of log files kept in the data folder (and taken into a support bundle).
pub const LOG_FILES_KEPT: usize = onsite_client::support::BUNDLE_LOG_FILES;
/// What the log files are called: `onsite-app.2026-12-01.log`.
pub const LOG_FILE_PREFIX: &str = "onsite-app";

/// The daily log file writer over `<data_dir>/logs`, pruned to [`LOG_FILES_KEPT`] files.
pub fn log_file(data_dir: &Path) -> Result<RollingFileAppender, UiError> {
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(LOG_FILES_KEPT)
        .build(log_dir(data_dir))
        .map_err(|e| UiError::new("io", format!("cannot write the app's log file: {e}")))
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("ONSITE_LOG").unwrap_or_else(|_| "warn,onsite_app=info".into())
}

/// Logs to stderr and to the data folder's log file (`ONSITE_LOG` sets the levels). Where
/// the file cannot be opened the app still starts, logging to stderr and saying why.
pub fn init_logging(data_dir: &Path) {
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    match log_file(data_dir) {
        Ok(file) => {
            let file = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(file)
                .with_filter(filter());
            let _ = tracing_subscriber::registry()
                .with(stderr)
                .with(file)
                .try_init();
        }
        Err(e) => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            tracing::warn!("{}", e.message);
        }
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "Onsite started; log files in {}",
        log_dir(data_dir).display()
    );
}

impl AppState {
    /// Writes a support bundle into the data folder's `support/` folder and says where.
    pub fn export_support_bundle(&self) -> Result<SupportBundle, UiError> {
        let source = BundleSource {
            program: "onsite-app".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        };
        let bundle = self
            .replica()
            .write_support_bundle_in_data_folder(&source)?;
        tracing::info!(
            "support bundle written: {} ({} bytes)",
            bundle.path,
            bundle.bytes
        );
        Ok(bundle)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::app::tests::device;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn the_log_keeps_a_week_of_daily_files_and_writes_today() {
        let dir = tempfile::tempdir().unwrap();
        let logs = log_dir(dir.path());
        std::fs::create_dir_all(&logs).unwrap();
        // Ten older days, oldest first, and a file that is not ours.
        let days: Vec<String> = (1..=10).map(|d| format!("2026-11-{d:02}")).collect();
        for day in &days {
            std::fs::write(logs.join(format!("{LOG_FILE_PREFIX}.{day}.log")), day).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(15));
        }
        std::fs::write(logs.join("notes.txt"), "kept").unwrap();

        let mut file = log_file(dir.path()).unwrap();
        writeln!(file, "a line for today").unwrap();
        file.flush().unwrap();

        let today = format!(
            "{LOG_FILE_PREFIX}.{}.log",
            chrono::Utc::now().format("%Y-%m-%d")
        );
        let mut expected: Vec<String> = days[10 - (LOG_FILES_KEPT - 1)..]
            .iter()
            .map(|d| format!("{LOG_FILE_PREFIX}.{d}.log"))
            .collect();
        expected.push(today.clone());
        expected.push("notes.txt".into());
        expected.sort();
        assert_eq!(
            names(&logs),
            expected,
            "the newest six days, today and the other file"
        );
        let written = std::fs::read_to_string(logs.join(&today)).unwrap();
        assert!(written.contains("a line for today"), "{written}");
    }

    #[test]
    fn the_app_exports_a_bundle_into_its_data_folder() {
        let (dir, app, _host) = device(2);
        std::fs::create_dir_all(log_dir(dir.path())).unwrap();
        std::fs::write(
            log_dir(dir.path()).join("onsite-app.2026-12-01.log"),
            "INFO x\n",
        )
        .unwrap();
        let bundle = app.export_support_bundle().unwrap();
        let path = Path::new(&bundle.path);
        assert!(
            path.starts_with(dir.path().join("support")),
            "{}",
            bundle.path
        );
        assert_eq!(std::fs::metadata(path).unwrap().len(), bundle.bytes);
        let names: Vec<&str> = bundle.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "about.json",
                "sync-status.json",
                "change-log.json",
                "logs/onsite-app.2026-12-01.log"
            ]
        );
        app.stop();
    }
}
