//! `onsite`: the technician's replica from a terminal — for scripting, support and tests.
//! It drives the same facade as the app.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{Duration, Local, TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use onsite_client::photo::PhotoOptions;
use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{
    Day, Error, Fault, JobDetail, JobScope, JobSummary, Replica, ReplicaOptions, RetryPolicy,
    SyncError, SyncProgress,
};
use onsite_model::checklist::{AnswerValue, ItemKind, template_for};
use onsite_model::clock::SystemIds;
use onsite_model::entities::{JobType, PhotoKind, StrokePoint};
use onsite_model::ids::PartUsedId;
use onsite_model::sla::SlaClock;
use serde::Serialize;

mod render;

#[derive(Parser)]
#[command(
    name = "onsite",
    version,
    about = "Onsite field-service replica on this device"
)]
struct Cli {
    /// Folder holding this device's replica [env: ONSITE_DATA; default: ~/.local/share/onsite]
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Machine-readable JSON output (errors as {"code", "message"} on stderr).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the replica (if needed) and print this device's id.
    Init,
    /// Load work orders from a JSON file ({customers, assets, work_orders}), or a sample day.
    Import {
        #[arg(required_unless_present = "sample")]
        file: Option<PathBuf>,
        /// Generate a realistic day of jobs around now instead of reading a file.
        #[arg(long, conflicts_with = "file")]
        sample: bool,
        /// How many sample jobs.
        #[arg(long, default_value_t = 8, requires = "sample")]
        count: usize,
    },
    /// The day's jobs in appointment order with SLA state.
    Jobs {
        #[arg(long, value_enum, default_value_t = Scope::Today)]
        scope: Scope,
    },
    /// One job in full: customer, asset, checklist, evidence, history, what is missing.
    Show { job: String },
    /// Record leaving for the job.
    Travel { job: String },
    /// Record arrival on site (the response time is measured here).
    Arrive { job: String },
    /// Record the start of work.
    Start { job: String },
    /// Put the job on hold, with the reason.
    Hold {
        job: String,
        #[arg(long)]
        reason: String,
    },
    /// Resume work on a job on hold.
    Resume { job: String },
    /// Complete the job; refused with the list of what is missing.
    Complete { job: String },
    /// Answer a checklist item: yes/no for checks, a number, a choice key or text.
    Answer {
        job: String,
        item: String,
        value: String,
    },
    /// Set the diagnosis.
    Diagnosis { job: String, text: String },
    /// Set the work done.
    WorkDone { job: String, text: String },
    /// Set the result of the visit.
    Result { job: String, text: String },
    /// Mark whether a follow-up visit is needed.
    FollowUp { job: String, needed: YesNo },
    /// Add a note to the job's timeline.
    Note { job: String, text: String },
    /// Record a part used, or remove one recorded by mistake.
    Part {
        #[command(subcommand)]
        action: PartAction,
    },
    /// Attach a photo (JPEG, PNG or WebP): turned upright, resized to 2048 px, re-encoded as
    /// JPEG with a thumbnail; the original is kept until the server confirms the upload.
    Photo {
        job: String,
        file: PathBuf,
        #[arg(long, value_enum)]
        kind: PhotoKindArg,
        #[arg(long)]
        caption: Option<String>,
    },
    /// Record the customer's signature over the sign-off text (strokes from a JSON file:
    /// [[{"x":..,"y":..,"t":..}, ...], ...]).
    Sign {
        job: String,
        #[arg(long)]
        signer: String,
        #[arg(long, value_name = "FILE")]
        strokes: PathBuf,
    },
    /// Print the text the customer reads before signing.
    SignOffText { job: String },
    /// Tell whether the report changed after each signature (exit 4 when it did).
    VerifySignature { job: String },
    /// Write the service report as printable HTML and/or PDF (HTML to stdout without flags).
    Report {
        job: String,
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
    },
    /// Record the customer's rating (1-5), recommendation score (0-10) and comment.
    Feedback {
        job: String,
        #[arg(long)]
        rating: u8,
        #[arg(long)]
        nps: Option<u8>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Sign this device in to the server (the password is read from stdin).
    Login {
        /// e.g. http://127.0.0.1:8787
        #[arg(long)]
        server: String,
        #[arg(long)]
        username: String,
        /// The name the office sees for this device.
        #[arg(long, default_value = "onsite-cli")]
        device_name: String,
    },
    /// Push pending changes, then pull until caught up (progress on stderr).
    Sync {
        /// Attempts per request before giving up on an unreachable server.
        #[arg(long, default_value_t = 6)]
        attempts: u32,
    },
    /// Sync state: pending changes, last success, last error, this device's identity.
    Status,
    /// The change log, newest first.
    Log {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// The checklist templates (or one job type's).
    Templates { job_type: Option<String> },
}

#[derive(Subcommand)]
enum PartAction {
    Add {
        job: String,
        #[arg(long)]
        part_no: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value_t = 1.0)]
        qty: f64,
    },
    Remove {
        job: String,
        part_id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Scope {
    Today,
    Upcoming,
    Done,
    All,
}

#[derive(Clone, Copy, ValueEnum)]
enum YesNo {
    Yes,
    No,
}

#[derive(Clone, Copy, ValueEnum)]
enum PhotoKindArg {
    Before,
    After,
    SerialPlate,
    Part,
    Other,
}

impl From<PhotoKindArg> for PhotoKind {
    fn from(k: PhotoKindArg) -> Self {
        match k {
            PhotoKindArg::Before => PhotoKind::Before,
            PhotoKindArg::After => PhotoKind::After,
            PhotoKindArg::SerialPlate => PhotoKind::SerialPlate,
            PhotoKindArg::Part => PhotoKind::Part,
            PhotoKindArg::Other => PhotoKind::Other,
        }
    }
}

/// Exit codes: 0 done, 1 failure, 2 bad arguments, 3 unknown job, 4 refused by the rules,
/// 5 server unreachable, 6 not signed in / sign-in refused, 7 refused by the server.
fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Error>() {
        Some(Error::UnknownJob(_)) => 3,
        Some(
            Error::Transition(_)
            | Error::CompletionBlocked(_)
            | Error::JobClosed { .. }
            | Error::Invalid(_)
            | Error::PhotoRefused { .. },
        ) => 4,
        Some(Error::File { .. }) => 2,
        _ => match e.downcast_ref::<SyncError>() {
            Some(SyncError::Unreachable { .. }) => 5,
            Some(SyncError::Unauthorized { .. } | SyncError::NotSignedIn) => 6,
            Some(SyncError::Refused { .. }) => 7,
            _ => 1,
        },
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = e
                .downcast_ref::<Error>()
                .map(Error::code)
                .unwrap_or("failed");
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({ "code": code, "message": format!("{e:#}") })
                );
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("ONSITE_DATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("onsite")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/onsite")))
        .unwrap_or_else(|| PathBuf::from("onsite-data"))
}

fn end_of_local_day() -> chrono::DateTime<Utc> {
    let today = Local::now().date_naive() + Duration::days(1);
    let midnight = today.and_hms_opt(0, 0, 0).expect("midnight");
    Local
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc::now() + Duration::hours(24))
}

fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", human(value));
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = data_dir(cli.data);
    let mut r = Replica::open(&dir, ReplicaOptions::default())?;
    r.inject_fault(Fault::from_env());
    let json = cli.json;
    match cli.command {
        Command::Init => print(
            json,
            &serde_json::json!({ "device_id": r.device_id(), "data": dir }),
            |_| {
                format!(
                    "replica ready in {}\ndevice {}\n",
                    dir.display(),
                    r.device_id()
                )
            },
        ),
        Command::Import {
            file,
            sample,
            count,
        } => {
            let text = if sample {
                let ids = SystemIds;
                serde_json::to_string(&day_of_jobs(r.now(), &sample_technician(&ids), count, &ids))?
            } else {
                let path = file.expect("clap requires a file");
                std::fs::read_to_string(&path).map_err(|e| Error::File {
                    path: path.clone(),
                    source: e,
                })?
            };
            let summary = r.import_json(&text)?;
            print(json, &summary, |s| {
                format!(
                    "imported {} work orders, {} customers, {} assets\n",
                    s.work_orders, s.customers, s.assets
                )
            })
        }
        Command::Jobs { scope } => {
            let scope = match scope {
                Scope::Today => JobScope::Today,
                Scope::Upcoming => JobScope::Upcoming,
                Scope::Done => JobScope::Done,
                Scope::All => JobScope::All,
            };
            let jobs = r.jobs(
                scope,
                Day {
                    end: end_of_local_day(),
                },
            )?;
            print(json, &jobs, |jobs: &Vec<JobSummary>| render::job_list(jobs))
        }
        Command::Show { job } => {
            let id = r.resolve_job(&job)?;
            let detail = r.job(id)?;
            print(json, &detail, |d: &JobDetail| render::job_detail(d))
        }
        Command::Travel { job } => step(&mut r, json, &job, |r, id| r.start_travel(id)),
        Command::Arrive { job } => step(&mut r, json, &job, |r, id| r.arrive(id)),
        Command::Start { job } => step(&mut r, json, &job, |r, id| r.start_work(id)),
        Command::Hold { job, reason } => step(&mut r, json, &job, |r, id| r.hold(id, &reason)),
        Command::Resume { job } => step(&mut r, json, &job, |r, id| r.resume(id)),
        Command::Complete { job } => step(&mut r, json, &job, |r, id| r.complete(id)),
        Command::Answer { job, item, value } => {
            let id = r.resolve_job(&job)?;
            let wo = r.job(id)?.work_order;
            let value = parse_answer(wo.job_type, &item, &value)?;
            r.answer(id, &item, value)?;
            done(json, &format!("{item} answered on {}", wo.number))
        }
        Command::Diagnosis { job, text } => field(&mut r, json, &job, "diagnosis", |r, id| {
            r.set_diagnosis(id, &text)
        }),
        Command::WorkDone { job, text } => field(&mut r, json, &job, "work done", |r, id| {
            r.set_work_done(id, &text)
        }),
        Command::Result { job, text } => field(&mut r, json, &job, "result", |r, id| {
            r.set_result(id, &text)
        }),
        Command::FollowUp { job, needed } => field(&mut r, json, &job, "follow-up", |r, id| {
            r.set_follow_up_needed(id, matches!(needed, YesNo::Yes))
        }),
        Command::Note { job, text } => {
            let id = r.resolve_job(&job)?;
            let note = r.add_note(id, &text)?;
            print(json, &note, |n| format!("note {} added\n", n.id))
        }
        Command::Part {
            action:
                PartAction::Add {
                    job,
                    part_no,
                    description,
                    qty,
                },
        } => {
            let id = r.resolve_job(&job)?;
            let part = r.add_part(id, &part_no, &description, qty)?;
            print(json, &part, |p| {
                format!("part {} recorded ({} x {})\n", p.id, p.quantity, p.part_no)
            })
        }
        Command::Part {
            action: PartAction::Remove { job, part_id },
        } => {
            let id = r.resolve_job(&job)?;
            let part: PartUsedId = part_id.parse().map_err(|_| {
                Error::Invalid(format!(
                    "{part_id:?} is not a part id; see `onsite show {job}`"
                ))
            })?;
            r.remove_part(id, part)?;
            done(json, "part removed")
        }
        Command::Photo {
            job,
            file,
            kind,
            caption,
        } => {
            let id = r.resolve_job(&job)?;
            let opts = PhotoOptions {
                naive_time_offset: *Local::now().offset(),
                ..PhotoOptions::default()
            };
            let a = r.attach_photo_with(id, &file, kind.into(), caption.as_deref(), &opts)?;
            let out = serde_json::json!({
                "photo": a.photo,
                "bytes_in": a.bytes_in,
                "source_width": a.source_width,
                "source_height": a.source_height,
                "thumb_width": a.thumb_width,
                "thumb_height": a.thumb_height,
            });
            print(json, &out, |_| {
                format!(
                    "photo {} stored: {} bytes {}×{} in → {} bytes {}×{} JPEG (thumbnail {}×{}), sha256 {}\n",
                    a.photo.id,
                    a.bytes_in,
                    a.source_width,
                    a.source_height,
                    a.photo.size_bytes,
                    a.photo.width.unwrap_or(0),
                    a.photo.height.unwrap_or(0),
                    a.thumb_width,
                    a.thumb_height,
                    a.photo.sha256
                )
            })
        }
        Command::Sign {
            job,
            signer,
            strokes,
        } => {
            let id = r.resolve_job(&job)?;
            let text = std::fs::read_to_string(&strokes).map_err(|e| Error::File {
                path: strokes.clone(),
                source: e,
            })?;
            let strokes: Vec<Vec<StrokePoint>> =
                serde_json::from_str(&text).with_context(|| {
                    format!(
                        "{} is not a list of strokes of {{x, y, t}} points",
                        strokes.display()
                    )
                })?;
            let report = r.sign_off_text(id)?;
            let sig = r.add_signature(id, &signer, strokes, &report)?;
            print(json, &sig, |s| {
                format!(
                    "signed by {} at {}\n",
                    s.signer_name,
                    s.signed_at.with_timezone(&Local).format("%H:%M")
                )
            })
        }
        Command::SignOffText { job } => {
            let id = r.resolve_job(&job)?;
            let text = r.sign_off_text(id)?;
            print(json, &text, |t| t.clone())
        }
        Command::VerifySignature { job } => {
            let id = r.resolve_job(&job)?;
            let check = r.verify_signature(id)?;
            print(json, &check, |c| {
                if c.signatures.is_empty() {
                    return "not signed\n".into();
                }
                c.signatures
                    .iter()
                    .map(|s| {
                        format!(
                            "signed by {} at {}: {}\n",
                            s.signer_name,
                            s.signed_at.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
                            if s.matches {
                                "report unchanged since signing"
                            } else {
                                "REPORT CHANGED AFTER SIGNING"
                            }
                        )
                    })
                    .collect()
            })?;
            if check.signatures.iter().any(|s| !s.matches) {
                return Err(Error::Invalid(
                    "the report changed after it was signed; show the customer the new text and sign again"
                        .into(),
                )
                .into());
            }
            Ok(())
        }
        Command::Report { job, html, pdf } => {
            let id = r.resolve_job(&job)?;
            let write = |path: &PathBuf, bytes: &[u8]| {
                std::fs::write(path, bytes).map_err(|e| Error::File {
                    path: path.clone(),
                    source: e,
                })
            };
            let mut written = Vec::new();
            if let Some(path) = &html {
                write(path, r.service_report_html(id)?.as_bytes())?;
                written.push(path.clone());
            }
            if let Some(path) = &pdf {
                write(path, &r.service_report_pdf(id)?)?;
                written.push(path.clone());
            }
            if written.is_empty() {
                print!("{}", r.service_report_html(id)?);
                return Ok(());
            }
            print(json, &serde_json::json!({ "written": written }), |_| {
                written
                    .iter()
                    .map(|p| format!("report written to {}\n", p.display()))
                    .collect()
            })
        }
        Command::Feedback {
            job,
            rating,
            nps,
            comment,
        } => {
            let id = r.resolve_job(&job)?;
            let f = r.add_feedback(id, rating, nps, comment.as_deref())?;
            print(json, &f, |f| {
                format!("feedback recorded: {} stars\n", f.rating)
            })
        }
        Command::Login {
            server,
            username,
            device_name,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let login = r
                .login(&server, &username, password, &device_name)
                .map_err(sync_error)?;
            let out = serde_json::json!({ "user": login.user, "device_id": login.device_id, "server": server });
            print(json, &out, |_| {
                format!(
                    "signed in to {server} as {} ({})\n",
                    login.user.name, login.user.role
                )
            })
        }
        Command::Sync { attempts } => {
            let retry = RetryPolicy {
                attempts,
                ..RetryPolicy::default()
            };
            let quiet = json;
            let report = r
                .sync(retry, &mut |p| {
                    if !quiet {
                        match p {
                            SyncProgress::Pushing { sent, total } => {
                                eprintln!("pushed {sent}/{total} changes")
                            }
                            SyncProgress::Pulling { rows, cursor } => {
                                eprintln!("pulled {rows} rows (at {cursor})")
                            }
                            SyncProgress::Retrying {
                                attempt,
                                wait_ms,
                                reason,
                            } => {
                                eprintln!("{reason}; retrying in {wait_ms} ms (attempt {attempt})")
                            }
                            SyncProgress::Uploading {
                                sent,
                                total,
                                file_index,
                                files,
                                ..
                            } => {
                                eprintln!("sending file {file_index}/{files}: {sent}/{total} bytes")
                            }
                        }
                    }
                })
                .map_err(sync_error)?;
            print(json, &report, |rep| {
                let mut s = format!(
                    "synced: {} changes sent ({} applied, {} merged, {} conflicts, {} rejected), {} rows received, {} ms\n",
                    rep.pushed,
                    rep.applied,
                    rep.merged,
                    rep.conflicts,
                    rep.rejected,
                    rep.pulled_rows,
                    rep.duration_ms
                );
                for (seq, why) in &rep.rejections {
                    s += &format!("  change #{seq} was refused: {why}\n");
                }
                s
            })
        }
        Command::Status => {
            let status = r.sync_status()?;
            let out = serde_json::json!({ "device_id": r.device_id(), "data": dir, "sync": status, "pending_ops": status.pending_ops });
            print(json, &out, |_| {
                format!(
                    "device {}\ndata {}\nserver {}\npending changes: {}\nlast sync: {}\n{}",
                    r.device_id(),
                    dir.display(),
                    status.server_url.as_deref().unwrap_or("not signed in"),
                    status.pending_ops,
                    status.last_success_at.as_deref().unwrap_or("never"),
                    status
                        .last_error
                        .as_ref()
                        .map(|e| format!("last error: {e}\n"))
                        .unwrap_or_default()
                )
            })
        }
        Command::Log { limit } => {
            let log = r.oplog(limit)?;
            print(json, &log, |log| render::oplog(log))
        }
        Command::Templates { job_type } => {
            let templates = match job_type {
                Some(t) => vec![template_for(
                    t.parse::<JobType>()
                        .map_err(|e| Error::Invalid(e.to_string()))?,
                )],
                None => onsite_model::default_templates(),
            };
            print(json, &templates, |t| render::templates(t))
        }
    }
}

/// Sync failures carry their own code; keep it for --json and the exit status.
fn sync_error(e: SyncError) -> anyhow::Error {
    match e {
        SyncError::Local(inner) => inner.into(),
        other => anyhow::Error::new(other),
    }
}

fn step(
    r: &mut Replica,
    json: bool,
    job: &str,
    f: impl FnOnce(
        &mut Replica,
        onsite_model::ids::WorkOrderId,
    ) -> onsite_client::Result<onsite_model::entities::StatusEvent>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let event = f(r, id)?;
    print(json, &event, |e| {
        format!(
            "{}: {} → {} at {}\n",
            e.action,
            e.from,
            e.to,
            e.at.with_timezone(&Local).format("%H:%M")
        )
    })
}

fn field(
    r: &mut Replica,
    json: bool,
    job: &str,
    what: &str,
    f: impl FnOnce(&mut Replica, onsite_model::ids::WorkOrderId) -> onsite_client::Result<()>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    f(r, id)?;
    done(json, &format!("{what} saved"))
}

fn done(json: bool, msg: &str) -> anyhow::Result<()> {
    print(
        json,
        &serde_json::json!({ "ok": true, "message": msg }),
        |_| format!("{msg}\n"),
    )
}

/// Reads a checklist answer in the form its item expects.
fn parse_answer(job_type: JobType, item: &str, raw: &str) -> onsite_client::Result<AnswerValue> {
    let template = template_for(job_type);
    let Some(it) = template.item(item) else {
        // Let the template's own validation name the valid items.
        let why = template
            .validate_answer(item, &AnswerValue::Check(true))
            .err()
            .unwrap_or_default();
        return Err(Error::Invalid(why));
    };
    Ok(match &it.kind {
        ItemKind::Check => match raw.to_ascii_lowercase().as_str() {
            "yes" | "y" | "true" | "done" | "1" => AnswerValue::Check(true),
            "no" | "n" | "false" | "0" => AnswerValue::Check(false),
            _ => {
                return Err(Error::Invalid(format!(
                    "{item} is a yes/no item; answer yes or no, not {raw:?}"
                )));
            }
        },
        ItemKind::Number { .. } => AnswerValue::Number(
            raw.parse()
                .map_err(|_| Error::Invalid(format!("{item} needs a number, not {raw:?}")))?,
        ),
        ItemKind::Choice { .. } => AnswerValue::Choice(raw.to_owned()),
        ItemKind::Text => AnswerValue::Text(raw.to_owned()),
        ItemKind::Photo { .. } => AnswerValue::Photo(raw.parse().map_err(|_| {
            Error::Invalid(format!("{item} is answered with a photo id of this job"))
        })?),
    })
}

pub(crate) fn sla_text(c: &SlaClock) -> String {
    let fmt = |ms: i64| {
        let m = ms / 60_000;
        if m >= 60 {
            format!("{}h{:02}m", m / 60, m % 60)
        } else {
            format!("{m}m")
        }
    };
    match c {
        SlaClock::NotSet => "-".into(),
        SlaClock::NotApplicable => "n/a".into(),
        SlaClock::Running { left_ms, .. } => format!("{} left", fmt(*left_ms)),
        SlaClock::Breached { over_ms, .. } => format!("BREACHED {} ago", fmt(*over_ms)),
        SlaClock::Met { .. } => "met".into(),
        SlaClock::Missed { late_ms, .. } => format!("missed by {}", fmt(*late_ms)),
    }
}
