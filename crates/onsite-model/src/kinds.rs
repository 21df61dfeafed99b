//! The vocabulary of a job: its type and priority, the kinds of photo and of time
//! recorded on it. Checklists, SLA and the records all speak it.

use serde::{Deserialize, Serialize};

use crate::text_enum::text_enum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    Install,
    Repair,
    Maintenance,
    Inspection,
}
text_enum!(JobType { Install => "install", Repair => "repair", Maintenance => "maintenance", Inspection => "inspection" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}
text_enum!(Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    Before,
    After,
    SerialPlate,
    Part,
    Other,
}
text_enum!(PhotoKind { Before => "before", After => "after", SerialPlate => "serial_plate", Part => "part", Other => "other" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TimeKind {
    Travel,
    Work,
}
text_enum!(TimeKind { Travel => "travel", Work => "work" });
