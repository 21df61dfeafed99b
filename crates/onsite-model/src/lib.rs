//! The pure domain of Onsite: no I/O, no wall clock, no randomness of its own.
//!
//! Client and server both depend on this crate so that the status machine, the completion
//! guards, field ownership and the merge rules exist exactly once.

pub mod checklist;
pub mod clock;
pub mod closed_loop;
pub mod digest;
pub mod dispatch;
pub mod entities;
pub mod hlc;
pub mod ids;
pub mod kinds;
pub mod kpi;
pub mod merge;
pub mod ops;
pub mod quality;
pub mod roles;
pub mod sign_off;
pub mod sla;
pub mod status;
mod text_enum;
pub mod time;
pub mod wire;

pub use checklist::{
    AnswerValue, ChecklistItem, ChecklistTemplate, CompletionBlocked, ConductException, ItemKind,
    Missing, Phase, SignatureRule, default_templates, template_for,
};
pub use clock::{Clock, FixedClock, IdSource, SeqIds, SystemClock, SystemIds};
pub use digest::{is_sha256_hex, sha256_hex};
pub use entities::*;
pub use hlc::{Hlc, HlcClock};
pub use ids::*;
pub use ops::{Change, EntityKind, Op, OpDraft, SCHEMA_VERSION, field_owner};
pub use roles::{FieldOwner, Role};
pub use sla::{SlaClock, SlaPolicy, SlaState};
pub use status::{StatusAction, TransitionError, WorkOrderStatus};
