//! The device side of Onsite: the local SQLite replica, its change log, and the domain
//! verbs a technician uses. The app shell and the `onsite` CLI are thin layers over
//! [`Replica`].

mod blobs;
pub mod db;
mod error;
mod exchange;
mod import;
mod kpis;
mod live;
mod local_day;
pub mod photo;
mod queries;
pub mod records;
mod replica;
pub mod report;
pub mod sample;
pub mod serial_scan;
pub mod signature;
pub mod support;
pub mod sync;
mod sync_state;
mod transfer;
mod transport;

pub use blobs::{content_address, media_type_of};
pub use error::{Error, PhotoProblem, Result};
pub use exchange::SyncExchange;
pub use import::{ImportFile, ImportSummary};
pub use kpis::{MyKpis, WeekKpis};
pub use live::{LiveChanges, LiveEvent, LiveOptions};
pub use local_day::end_of_local_day;
pub use queries::{
    ChecklistLine, ChecklistProgress, Day, JobDetail, JobScope, JobSummary, LoggedOp, SlaClockName,
    SlaTone, SlaView,
};
pub use replica::{DB_FILE, Fault, FaultPoint, Replica, ReplicaOptions};
pub use serial_scan::{PlateCode, SerialScan, SerialSource, SerialVerdict};
pub use support::{BundleEntry, BundleSource, SupportBundle};
pub use sync::{RetryPolicy, SyncError, SyncProgress, SyncReport, SyncStatus};
pub use transfer::{PendingBlob, UPLOAD_CHUNK_BYTES};
