use std::path::PathBuf;

use onsite_model::checklist::CompletionBlocked;
use onsite_model::status::TransitionError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{path} is not an Onsite replica ({reason}); it was left untouched — choose another data folder or move the file away"
    )]
    NotAReplica { path: PathBuf, reason: String },
    #[error(
        "the replica at {path} is damaged ({detail}); it was left untouched — restore it from a backup or contact support before deleting anything"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "the replica at {path} was written by a newer version of Onsite (schema {found}, this version knows up to {supported}); update the app"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("no job {0:?} on this device; check the number, or sync to fetch newly assigned jobs")]
    UnknownJob(String),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    CompletionBlocked(#[from] CompletionBlocked),
    #[error("job {number} is {status}; ask the office to reopen it before changing it")]
    JobClosed { number: String, status: String },
    #[error("{0}")]
    Invalid(String),
    /// A photo the pipeline will not store; `problem` says which kind of refusal.
    #[error("{message}")]
    PhotoRefused {
        problem: PhotoProblem,
        message: String,
    },
    #[error("could not read {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("injected fault at {0}")]
    InjectedFault(&'static str),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored record is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// A stable code for scripts and the UI (`{ code, message }`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAReplica { .. } => "not_a_replica",
            Error::Corrupt { .. } => "replica_corrupt",
            Error::NewerSchema { .. } => "replica_too_new",
            Error::UnknownJob(_) => "unknown_job",
            Error::Transition(_) => "invalid_transition",
            Error::CompletionBlocked(_) => "completion_blocked",
            Error::JobClosed { .. } => "job_closed",
            Error::Invalid(_) => "invalid_input",
            Error::PhotoRefused { problem, .. } => problem.code(),
            Error::File { .. } => "file_unreadable",
            Error::InjectedFault(_) => "injected_fault",
            Error::Sqlite(_) => "storage",
            Error::Json(_) => "storage",
            Error::Io(_) => "io",
        }
    }
}

/// Why a photo was refused; each has its own stable code so the UI can offer the right help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoProblem {
    /// The file is larger than the size limit.
    FileTooLarge,
    /// The image declares more pixels (or a longer side) than may be decoded safely.
    TooManyPixels,
    /// HEIC/HEIF (iPhone default): no decoder on the device yet.
    Heic,
    /// Another image format (GIF, TIFF, BMP, AVIF...).
    UnsupportedFormat,
    /// Not an image at all.
    NotAnImage,
    /// Damaged or cut short.
    Corrupt,
}

impl PhotoProblem {
    pub fn code(self) -> &'static str {
        match self {
            PhotoProblem::FileTooLarge => "photo_file_too_large",
            PhotoProblem::TooManyPixels => "photo_too_many_pixels",
            PhotoProblem::Heic => "photo_heic_unsupported",
            PhotoProblem::UnsupportedFormat => "photo_format_unsupported",
            PhotoProblem::NotAnImage => "photo_not_an_image",
            PhotoProblem::Corrupt => "photo_corrupt",
        }
    }
}
