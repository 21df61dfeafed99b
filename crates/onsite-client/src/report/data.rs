//! What a report shows, gathered once for both renderings, and the words both use for it.

use onsite_model::checklist::{AnswerValue, ChecklistItem, ItemKind, Phase};
use onsite_model::entities::{Photo, PhotoKind};
use onsite_model::time::Timestamp;

use crate::queries::JobDetail;
use crate::signature::SignatureCheck;

/// The language of the PDF report's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportLanguage {
    #[default]
    English,
    Chinese,
}

/// Everything a report shows, gathered once for both renderings.
pub(super) struct ReportData {
    pub(super) detail: JobDetail,
    pub(super) check: SignatureCheck,
    /// Per photo: the thumbnail (or the photo itself) when its bytes are on this device.
    pub(super) photo_images: Vec<(Photo, Option<Vec<u8>>)>,
    /// Per signature: its PNG, when on this device.
    pub(super) signature_images: Vec<Option<Vec<u8>>>,
    pub(super) generated_at: Timestamp,
}

/// The serial a report prints for the product, in English and Chinese: the asset's recorded
/// serial, else the one the technician read off the plate on this visit (marked so, since
/// the office's record has none yet), else "-".
pub(super) fn serial_text(recorded: Option<&str>, from_plate: Option<&str>) -> (String, String) {
    match (recorded, from_plate) {
        (Some(s), _) => (s.to_owned(), s.to_owned()),
        (None, Some(p)) => (
            format!("{p} (read from the plate on this visit)"),
            format!("{p}（本次上门从铭牌读取）"),
        ),
        (None, None) => ("-".into(), "-".into()),
    }
}

pub(super) fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(super) fn opt_time(t: &Option<Timestamp>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "-".into())
}

pub(super) fn phase_labels(p: Phase) -> (&'static str, &'static str) {
    match p {
        Phase::Arrival => ("Arrival", "到达"),
        Phase::Work => ("Work", "作业"),
        Phase::Departure => ("Departure", "离开"),
    }
}

pub(super) fn photo_kind_labels(k: PhotoKind) -> (&'static str, &'static str) {
    match k {
        PhotoKind::Before => ("Before", "维修前"),
        PhotoKind::After => ("After", "维修后"),
        PhotoKind::SerialPlate => ("Serial plate", "铭牌"),
        PhotoKind::Part => ("Part", "配件"),
        PhotoKind::Other => ("Other", "其他"),
    }
}

/// An answer as words, in English and Chinese where the template has both.
pub(super) fn answer_text(
    item: &ChecklistItem,
    answer: Option<&AnswerValue>,
    photos: &[Photo],
) -> (String, String) {
    let Some(answer) = answer else {
        return ("-".into(), "-".into());
    };
    match answer {
        AnswerValue::Check(true) => ("Yes".into(), "是".into()),
        AnswerValue::Check(false) => ("No".into(), "否".into()),
        AnswerValue::No(reason) => (format!("No: {reason}"), format!("否：{reason}")),
        AnswerValue::Number(n) => {
            let unit = match &item.kind {
                ItemKind::Number { unit: Some(u), .. } => format!(" {u}"),
                _ => String::new(),
            };
            let t = format!("{n}{unit}");
            (t.clone(), t)
        }
        AnswerValue::Text(t) => (t.clone(), t.clone()),
        AnswerValue::Choice(key) => match &item.kind {
            ItemKind::Choice { options } => options
                .iter()
                .find(|o| &o.key == key)
                .map(|o| (o.label.en.clone(), o.label.zh.clone()))
                .unwrap_or_else(|| (key.clone(), key.clone())),
            _ => (key.clone(), key.clone()),
        },
        AnswerValue::Photo(id) => {
            let n = photos.iter().position(|p| p.id == *id).map(|i| i + 1);
            match n {
                Some(n) => (format!("Photo {n}"), format!("照片 {n}")),
                None => ("Photo".into(), "照片".into()),
            }
        }
    }
}

pub(super) fn minutes(from: &Timestamp, to: &Timestamp) -> i64 {
    (*to - *from).num_minutes()
}
