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
use onsite_server::blobs::FsBlobStore;
use onsite_server::config::{Config, redact_url};
use onsite_server::store::{NewUser, Password, PostgresStore, SqliteStore, Store, StoreOptions};

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
    let options = StoreOptions::default();
    match cfg.database.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PostgresStore::connect(url, clock, ids, options)
                .with_context(|| format!("connecting to the database {}", redact_url(url)))?;
            Ok(Arc::new(store))
        }
        Some(url) => bail!(
            "--database {}: not a PostgreSQL URL; use postgres://user:password@host:port/dbname, or leave it out for SQLite in --data",
            redact_url(url)
        ),
        None => {
            let store = SqliteStore::open(&cfg.data, clock, ids, options)
                .with_context(|| format!("opening the data directory {}", cfg.data.display()))?;
            Ok(Arc::new(store))
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
        Command::Serve { listen, loc } => {
            let cfg = config(&loc, listen)?;
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

async fn serve(cfg: Config, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let blobs = FsBlobStore::open(&cfg.data)
        .with_context(|| format!("opening the blob folder in {}", cfg.data.display()))?;
    let app = router(AppState::new(store, Arc::new(blobs), clock));
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "onsite-server listening on http://{addr}")?;
        out.flush()?;
    }
    let database = match cfg.database.as_deref() {
        Some(url) => redact_url(url),
        None => cfg.data.join("onsite.db").display().to_string(),
    };
    tracing::info!(%addr, data = %cfg.data.display(), %database, "serving");
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
