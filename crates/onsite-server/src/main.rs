//! `onsite-server`: serve the API, or administer its store directly (the SQLite database in
//! the data directory, or the PostgreSQL database named by `--database`).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use onsite_model::{Clock, DeviceId, Role, SystemClock, SystemIds};
use onsite_server::api::{AppState, router};
use onsite_server::blobs::{BlobStore, FsBlobStore};
use onsite_server::config::{Config, redact_url};
use onsite_server::store::{
    NewUser, Password, PostgresBackend, PostgresStore, SqliteBackend, SqliteStore, Store,
    StoreOptions,
};

#[derive(Parser)]
#[command(
    name = "onsite-server",
    version,
    about = "Onsite sync and back-office server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Location {
    /// Data directory (holds onsite.db and the blobs). Default ./onsite-data, or ONSITE_DATA.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user:password@host:port/dbname) holding the store instead
    /// of onsite.db in the data directory; or ONSITE_DATABASE. Blobs stay in the data directory.
    #[arg(long, global = true)]
    database: Option<String>,
    /// TOML config file with `listen`, `data` and `database`.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8787 (port 0 picks a free port).
        #[arg(long)]
        listen: Option<String>,
        /// Where blobs live: `files` (the data directory, the default) or
        /// s3://bucket[/prefix] with the [s3] settings; or ONSITE_BLOBS.
        #[arg(long)]
        blobs: Option<String>,
        #[command(flatten)]
        loc: Location,
    },
    /// Remove blob uploads abandoned for longer than [gc] abandoned_uploads (default 7d) and
    /// blobs no row names once stored longer than [gc] unreferenced_grace (default 30d), and
    /// report what went. `serve` runs the same every [gc] interval (default 24h).
    Gc {
        /// The blob store, as for `serve --blobs`.
        #[arg(long)]
        blobs: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        loc: Location,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        loc: Location,
    },
    /// Manage devices.
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
        #[command(flatten)]
        loc: Location,
    },
    /// Copy this server's store (the SQLite database and the blobs in --data) into an empty
    /// PostgreSQL database, and its blobs into another blob store when --blobs names one.
    /// Devices go on syncing with the new server: same tokens, cursors and seqs.
    Migrate {
        /// The empty PostgreSQL database: postgres://user:password@host:port/dbname.
        #[arg(long)]
        to: String,
        /// Where the blobs go: s3://bucket[/prefix] (with the [s3] settings or ONSITE_S3_*)
        /// or a folder (it gets a `blobs/` inside). Leave it out to keep them in --data,
        /// where the server on PostgreSQL then reads them.
        #[arg(long)]
        blobs: Option<String>,
        #[command(flatten)]
        loc: Location,
    },
    /// Back up the embedded store (database snapshot, then the blobs it names) into a new
    /// folder. Safe while the server is serving.
    Backup {
        /// A new or empty folder.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        loc: Location,
    },
    /// Restore a backup into --data with a new epoch, so devices push again what the restore
    /// lost. Stop the server first; the replaced database is kept in --data/replaced-<time>.
    Restore {
        /// A folder written by `backup --to`.
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        loc: Location,
    },
    /// Give the database a new epoch (after restoring a PostgreSQL dump): devices push their
    /// whole log again and pull their view afresh. Stop every server on it first.
    NewEpoch {
        #[command(flatten)]
        loc: Location,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
        #[command(flatten)]
        loc: Location,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from stdin (one line).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// technician | dispatcher | admin
        #[arg(long)]
        role: String,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// List devices.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its token stops working at once.
    Revoke { device_id: String },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Load a realistic day of customers, assets and work orders relative to now.
    Load,
}

fn config(loc: &Location, listen: Option<String>) -> anyhow::Result<Config> {
    Ok(Config::load(
        loc.config.as_deref(),
        |k| std::env::var(k).ok(),
        listen,
        loc.data.clone(),
        loc.database.clone(),
    )?)
}

/// The store the configuration names: PostgreSQL for a `postgres://` URL, else SQLite in the
/// data directory.
fn open_store(cfg: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Store>> {
    let ids = Arc::new(SystemIds);
    let options = StoreOptions {
        loop_policy: cfg.closed_loop,
        ..StoreOptions::default()
    };
    match cfg.database.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PostgresStore::connect(url, clock, ids, options)
                .with_context(|| format!("connecting to the database {}", redact_url(url)))?;
            Ok(Arc::new(store.with_sampling(cfg.quality)))
        }
        Some(url) => bail!(
            "--database {}: not a PostgreSQL URL; use postgres://user:password@host:port/dbname, or leave it out for SQLite in --data",
            redact_url(url)
        ),
        None => {
            let store = SqliteStore::open(&cfg.data, clock, ids, options)
                .with_context(|| format!("opening the data directory {}", cfg.data.display()))?;
            Ok(Arc::new(store.with_sampling(cfg.quality)))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve { listen, blobs, loc } => {
            let cfg = with_blobs(config(&loc, listen)?, blobs)?;
            let store = open_store(&cfg, clock.clone())?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(cfg, store, clock))
        }
        Command::User { command, loc } => {
            let store = open_store(&config(&loc, None)?, clock)?;
            match command {
                UserCommand::Add {
                    username,
                    name,
                    role,
                } => {
                    let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
                    let mut password = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut password)
                        .context("reading the password from stdin")?;
                    let password = password.trim_end_matches(['\r', '\n']).to_owned();
                    if password.is_empty() {
                        bail!(
                            "no password on stdin; pipe one line, e.g. `echo secret123 | onsite-server user add …`"
                        );
                    }
                    let user = store.create_user(&NewUser {
                        username,
                        name,
                        role,
                        password: Password(password),
                        skills: vec![],
                        phone: None,
                    })?;
                    println!(
                        "added {} ({}, {}) id {}",
                        user.username, user.name, user.role, user.id
                    );
                }
                UserCommand::List { json } => {
                    let users = store.list_users()?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&users)?);
                    } else {
                        for u in users {
                            println!("{:<16} {:<11} {:<24} {}", u.username, u.role, u.name, u.id);
                        }
                    }
                }
            }
            Ok(())
        }
        Command::Device { command, loc } => {
            let store = open_store(&config(&loc, None)?, clock)?;
            match command {
                DeviceCommand::List { json } => {
                    let devices = store.list_devices()?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&devices)?);
                    } else {
                        for d in devices {
                            let state = if d.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "active"
                            };
                            println!(
                                "{} {:<16} {:<8} acked={:<6} {}",
                                d.id, d.username, state, d.last_acked_seq, d.name
                            );
                        }
                    }
                }
                DeviceCommand::Revoke { device_id } => {
                    let id: DeviceId = device_id
                        .parse()
                        .with_context(|| format!("{device_id:?} is not a device id"))?;
                    let d = store.revoke_device(id)?;
                    println!("revoked device {} ({}) of {}", d.id, d.name, d.username);
                }
            }
            Ok(())
        }
        Command::Migrate { to, blobs, loc } => run_migrate(&config(&loc, None)?, &to, blobs),
        Command::Backup { to, loc } => {
            let cfg = config(&loc, None)?;
            embedded_only(&cfg, "backup")?;
            let m = onsite_server::admin::backup(&cfg.data, &to, clock.now(), &mut |step| {
                eprintln!("backup: {step}")
            })?;
            println!(
                "backed up {} into {}: {} work orders, {} blobs ({} bytes), checksum {}",
                cfg.data.display(),
                to.display(),
                m.tables.get("work_orders").map_or(0, |t| t.0),
                m.blobs,
                m.blob_bytes,
                m.checksum
            );
            Ok(())
        }
        Command::Restore { from, loc } => {
            let cfg = config(&loc, None)?;
            embedded_only(&cfg, "restore")?;
            let r = onsite_server::admin::restore(&from, &cfg.data, clock.now(), &mut |step| {
                eprintln!("restore: {step}")
            })?;
            if let Some(aside) = &r.replaced {
                println!("the replaced database is kept in {}", aside.display());
            }
            println!(
                "restored the backup of {} into {}: checksum {} verified, {} blobs copied ({} already there), new epoch {}",
                r.manifest.created_at,
                cfg.data.display(),
                r.manifest.checksum,
                r.blobs.copied,
                r.blobs.already_there,
                r.new_epoch
            );
            Ok(())
        }
        Command::NewEpoch { loc } => {
            let cfg = config(&loc, None)?;
            let epoch = match cfg.database.as_deref() {
                Some(url) => {
                    let db = PostgresBackend::connect(postgres_url(url)?).with_context(|| {
                        format!("connecting to the database {}", redact_url(url))
                    })?;
                    onsite_server::admin::renew_epoch(&db)?
                }
                None => onsite_server::admin::renew_epoch(&open_sqlite(&cfg)?)?,
            };
            println!("new epoch {epoch}: devices will push their changes again and pull afresh");
            Ok(())
        }
        Command::Gc { blobs, json, loc } => {
            let cfg = with_blobs(config(&loc, None)?, blobs)?;
            let store = open_store(&cfg, clock.clone())?;
            let blobs = onsite_server::blobs::open(&cfg)
                .with_context(|| format!("opening the blob store {}", cfg.blobs))?;
            let report = onsite_server::blobs::gc::collect_garbage(
                blobs.as_ref(),
                store.as_ref(),
                clock.now(),
                &cfg.gc,
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{}: {report}", blobs.location());
            }
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Load,
            loc,
        } => {
            let store = open_store(&config(&loc, None)?, clock.clone())?;
            let s = onsite_server::demo::load(store.as_ref(), clock.now())?;
            println!(
                "demo loaded: {} users created, {} customers, {} assets, {} work orders (password for new users: {})",
                s.users_created,
                s.customers,
                s.assets,
                s.work_orders,
                onsite_server::demo::DEMO_PASSWORD
            );
            Ok(())
        }
    }
}

/// `url` when it names PostgreSQL.
fn postgres_url(url: &str) -> anyhow::Result<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(url)
    } else {
        bail!(
            "{}: not a PostgreSQL URL; use postgres://user:password@host:port/dbname",
            redact_url(url)
        )
    }
}

/// Refuses a configuration that names PostgreSQL for a command of the embedded store.
fn embedded_only(cfg: &Config, what: &str) -> anyhow::Result<()> {
    if let Some(url) = cfg.database.as_deref() {
        bail!(
            "{what} works on the embedded store in --data, but the configuration names the database {}; for PostgreSQL use pg_dump / pg_restore and `onsite-server new-epoch` (README: Backups)",
            redact_url(url)
        );
    }
    Ok(())
}

/// The embedded database in the data folder, which must exist already.
fn open_sqlite(cfg: &Config) -> anyhow::Result<SqliteBackend> {
    let db = cfg.data.join("onsite.db");
    if !db.is_file() {
        bail!(
            "{} holds no onsite.db; name the server's data folder with --data",
            cfg.data.display()
        );
    }
    SqliteBackend::open(&cfg.data)
        .with_context(|| format!("opening the data directory {}", cfg.data.display()))
}

fn run_migrate(cfg: &Config, to: &str, blobs: Option<String>) -> anyhow::Result<()> {
    use onsite_server::admin::{CopyProgress, MigrateProgress};
    if cfg.database.is_some() {
        bail!(
            "migrate copies the embedded store in --data; leave out --database (and ONSITE_DATABASE), and name the target with --to"
        );
    }
    let source = open_sqlite(cfg)?;
    let target_name = redact_url(to);
    let target = PostgresBackend::connect(postgres_url(to)?)
        .with_context(|| format!("connecting to the database {target_name}"))?;
    let from_blobs = onsite_server::blobs::open(cfg)
        .with_context(|| format!("opening the blob store {}", cfg.blobs))?;
    let to_blobs: Option<Arc<dyn BlobStore>> = match blobs.as_deref() {
        None => None,
        Some(spec) if spec.starts_with("s3://") => {
            let target = Config {
                blobs: spec.parse().map_err(|e| anyhow::anyhow!("--blobs: {e}"))?,
                ..cfg.clone()
            };
            Some(
                onsite_server::blobs::open(&target)
                    .with_context(|| format!("opening the blob store {spec}"))?,
            )
        }
        Some(dir) => Some(Arc::new(
            FsBlobStore::open(std::path::Path::new(dir))
                .with_context(|| format!("opening the blob folder in {dir}"))?,
        )),
    };
    let mut last_table = None;
    let summary = onsite_server::admin::migrate(
        &source,
        from_blobs.as_ref(),
        &target,
        to_blobs.as_deref(),
        &target_name,
        &mut |p| match p {
            MigrateProgress::Blobs { done, total } if done == total || done % 100 == 0 => {
                eprintln!("blobs: {done} of {total}")
            }
            MigrateProgress::Copy(CopyProgress::Rows { table, done, total })
                if done == total || done % 10_000 == 0 =>
            {
                if last_table != Some(table) || done == total {
                    eprintln!("{}: {done} of {total} rows", table.name());
                }
                last_table = Some(table);
            }
            MigrateProgress::Copy(CopyProgress::Verifying) => {
                eprintln!("verifying: the target's checksum against the source's")
            }
            _ => {}
        },
    )?;
    for t in &summary.source.tables {
        println!("{:<20} {:>9} rows  {}", t.table.name(), t.rows, t.sha256);
    }
    println!("source checksum {}", summary.source.total);
    println!("target checksum {}", summary.target.total);
    if let Some(b) = summary.blobs {
        println!(
            "blobs: {} copied ({} bytes), {} already there",
            b.copied, b.bytes_copied, b.already_there
        );
    } else {
        println!("blobs: left in {}", from_blobs.location());
    }
    let serve_blobs = match blobs.as_deref() {
        Some(b) if b.starts_with("s3://") => format!("--blobs {b}"),
        Some(dir) => format!("--data {dir}"),
        None => format!("--data {}", cfg.data.display()),
    };
    println!("migrated into {target_name}; serve with --database {target_name} {serve_blobs}");
    Ok(())
}

/// `cfg` with the blob store a `--blobs` flag names, which wins over file and environment.
fn with_blobs(mut cfg: Config, flag: Option<String>) -> anyhow::Result<Config> {
    if let Some(b) = flag {
        cfg.blobs = b
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--blobs: {e}"))?;
    }
    Ok(cfg)
}

/// Devices' `last_seen` is noted by requests and written by the next write; when nothing
/// writes, this writes it every half minute.
fn flush_seen_periodically(store: Arc<dyn Store>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            let store = store.clone();
            match tokio::task::spawn_blocking(move || store.flush_seen()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "recording devices' last contact failed"),
                Err(e) => tracing::warn!(error = %e, "recording devices' last contact stopped"),
            }
        }
    });
}

async fn serve(cfg: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let blobs = onsite_server::blobs::open(&cfg)
        .with_context(|| format!("opening the blob store {}", cfg.blobs))?;
    onsite_server::blobs::gc::run_periodically(blobs.clone(), store.clone(), clock.clone(), cfg.gc);
    flush_seen_periodically(store.clone());
    let blob_location = blobs.location();
    let app = router(
        AppState::new(store, blobs, clock)
            .with_login_limits(cfg.login.clone())
            .with_console(cfg.console),
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "onsite-server listening on http://{addr}")?;
        out.flush()?;
    }
    let database = match cfg.database.as_deref() {
        Some(url) => redact_url(url),
        None => cfg.data.join("onsite.db").display().to_string(),
    };
    tracing::info!(%addr, data = %cfg.data.display(), %database, blobs = %blob_location, "serving");
    // The peer address reaches handlers: sign-in attempts are counted per client address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
