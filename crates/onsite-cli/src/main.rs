//! `onsite`: the technician's replica from a terminal — for scripting, support and tests.
//! It drives the same facade as the app.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use onsite_client::{Fault, Replica, ReplicaOptions};

use cli::{Cli, Command, PartAction, YesNo};
use commands::{jobs, record, replica, serial, sign, sync};
use output::Output;

mod cli;
mod commands;
mod failure;
mod output;
mod render;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({ "code": failure::code(&e), "message": format!("{e:#}") })
                );
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(failure::exit_code(&e))
        }
    }
}

fn data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("ONSITE_DATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("onsite")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/onsite")))
        .unwrap_or_else(|| PathBuf::from("onsite-data"))
}

/// Opens the replica and hands it to the command.
fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = data_dir(cli.data);
    let mut r = Replica::open(&dir, ReplicaOptions::default())?;
    r.inject_fault(Fault::from_env());
    let r = &mut r;
    let out = Output { json: cli.json };
    match cli.command {
        Command::Init => replica::init(r, out, &dir),
        Command::Import { file, count, .. } => replica::import(r, out, file, count),
        Command::Status => replica::status(r, out, &dir),
        Command::Log { limit } => replica::log(r, out, limit),
        Command::Templates { job_type } => replica::templates(out, job_type),
        Command::SupportBundle { out: path } => commands::support::bundle(r, out, &path),

        Command::Jobs { scope } => jobs::list(r, out, scope),
        Command::Show { job } => jobs::show(r, out, &job),
        Command::Travel { job } => jobs::step(r, out, &job, |r, id| r.start_travel(id)),
        Command::Arrive { job } => jobs::step(r, out, &job, |r, id| r.arrive(id)),
        Command::Start { job } => jobs::step(r, out, &job, |r, id| r.start_work(id)),
        Command::Hold { job, reason } => jobs::step(r, out, &job, |r, id| r.hold(id, &reason)),
        Command::Resume { job } => jobs::step(r, out, &job, |r, id| r.resume(id)),
        Command::Complete { job } => jobs::step(r, out, &job, |r, id| r.complete(id)),

        Command::Answer {
            job,
            item,
            value,
            reason,
        } => record::answer(r, out, &job, &item, &value, reason.as_deref()),
        Command::Diagnosis { job, text } => record::field(r, out, &job, "diagnosis", |r, id| {
            r.set_diagnosis(id, &text)
        }),
        Command::WorkDone { job, text } => record::field(r, out, &job, "work done", |r, id| {
            r.set_work_done(id, &text)
        }),
        Command::Result { job, text } => {
            record::field(r, out, &job, "result", |r, id| r.set_result(id, &text))
        }
        Command::FollowUp { job, needed } => record::field(r, out, &job, "follow-up", |r, id| {
            r.set_follow_up_needed(id, matches!(needed, YesNo::Yes))
        }),
        Command::Note { job, text } => record::note(r, out, &job, &text),
        Command::Part { action } => match action {
            PartAction::Add {
                job,
                part_no,
                description,
                qty,
            } => record::add_part(r, out, &job, &part_no, &description, qty),
            PartAction::Remove { job, part_id } => record::remove_part(r, out, &job, &part_id),
        },
        Command::Photo {
            job,
            file,
            kind,
            caption,
        } => record::photo(r, out, &job, &file, kind.into(), caption.as_deref()),
        Command::Feedback {
            job,
            rating,
            nps,
            comment,
        } => record::feedback(r, out, &job, rating, nps, comment.as_deref()),

        Command::ScanSerial {
            file: Some(file), ..
        } => serial::scan_file(out, &file),
        Command::ScanSerial {
            photo,
            accept,
            note_mismatch,
            lang,
            ..
        } => {
            let then = match (accept, note_mismatch) {
                (true, _) => serial::Then::Accept,
                (_, true) => serial::Then::NoteMismatch(lang.into()),
                _ => serial::Then::Nothing,
            };
            serial::scan(r, out, photo.as_deref().unwrap_or_default(), then)
        }
        Command::SignOffText { job } => sign::sign_off_text(r, out, &job),
        Command::Sign {
            job,
            signer,
            strokes,
        } => sign::sign(r, out, &job, &signer, &strokes),
        Command::VerifySignature { job } => sign::verify_signature(r, out, &job),
        Command::Report {
            job,
            html,
            pdf,
            lang,
        } => sign::report(r, out, &job, html, pdf, lang.into()),

        Command::Login {
            server,
            username,
            device_name,
        } => sync::login(r, out, &server, &username, &device_name),
        Command::Sync { attempts } => sync::sync(r, out, attempts),
    }
}
