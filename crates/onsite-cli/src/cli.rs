//! The command line as clap reads it: one list of commands, in the order `--help` shows.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use onsite_client::JobScope;
use onsite_model::entities::PhotoKind;

#[derive(Parser)]
#[command(
    name = "onsite",
    version,
    about = "Onsite field-service replica on this device"
)]
pub struct Cli {
    /// Folder holding this device's replica [env: ONSITE_DATA; default: ~/.local/share/onsite]
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Machine-readable JSON output (errors as {"code", "message"} on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create the replica (if needed) and print this device's id.
    Init,
    /// Load work orders from a JSON file ({users, customers, assets, work_orders}, all or nothing), or a sample day.
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
    /// Answer a checklist item: yes/no for checks, a number, a choice key or text. A conduct
    /// item is answered yes, or no with `--reason` (recorded truthfully; it does not block
    /// completion and sends the job to quality review).
    Answer {
        job: String,
        item: String,
        value: String,
        /// Why a conduct item was not met (required with "no" on a conduct item).
        #[arg(long)]
        reason: Option<String>,
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
    /// Read the serial off a serial-plate photo (a barcode or QR code, on this device) and
    /// check it against the asset's recorded serial; or scan an image file with --file.
    ScanSerial {
        /// The photo's id (as `photo` printed it).
        #[arg(required_unless_present = "file")]
        photo: Option<String>,
        /// Scan this image file instead, without storing it.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["photo", "accept", "note_mismatch"])]
        file: Option<PathBuf>,
        /// Record the plate's serial on the job, where the asset has none recorded.
        #[arg(long, conflicts_with = "note_mismatch")]
        accept: bool,
        /// Where the plate differs from the record, leave the office a note saying so.
        #[arg(long)]
        note_mismatch: bool,
        /// The language of that note.
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
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
        /// The language of the PDF's labels.
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
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
    /// Write a support bundle (a .zip: log files, sync status, change-log summary; no
    /// photos, no token) to OUT, or into OUT when it is a folder.
    SupportBundle { out: PathBuf },
}

#[derive(Subcommand)]
pub enum PartAction {
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
pub enum Scope {
    Today,
    Upcoming,
    Done,
    All,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LangArg {
    En,
    Zh,
}

impl From<LangArg> for onsite_client::report::ReportLanguage {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::En => Self::English,
            LangArg::Zh => Self::Chinese,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum YesNo {
    Yes,
    No,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PhotoKindArg {
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

impl From<Scope> for JobScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Today => JobScope::Today,
            Scope::Upcoming => JobScope::Upcoming,
            Scope::Done => JobScope::Done,
            Scope::All => JobScope::All,
        }
    }
}
