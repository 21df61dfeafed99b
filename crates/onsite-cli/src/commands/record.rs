//! What the technician records on a job: checklist answers, their own fields, notes, parts,
//! photos and the customer's feedback.

use std::path::Path;

use chrono::Local;
use onsite_client::photo::PhotoOptions;
use onsite_client::{Error, Replica};
use onsite_model::checklist::{AnswerValue, ItemKind, template_for};
use onsite_model::entities::{JobType, PhotoKind};
use onsite_model::ids::{PartUsedId, WorkOrderId};

use crate::output::Output;

pub fn answer(
    r: &mut Replica,
    out: Output,
    job: &str,
    item: &str,
    value: &str,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let wo = r.job(id)?.work_order;
    let value = parse_answer(wo.job_type, item, value, reason)?;
    r.answer(id, item, value)?;
    out.done(&format!("{item} answered on {}", wo.number))
}

/// One of the technician's fields (diagnosis, work done, result, follow-up), set by `f`.
pub fn field(
    r: &mut Replica,
    out: Output,
    job: &str,
    what: &str,
    f: impl FnOnce(&mut Replica, WorkOrderId) -> onsite_client::Result<()>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    f(r, id)?;
    out.done(&format!("{what} saved"))
}

pub fn note(r: &mut Replica, out: Output, job: &str, text: &str) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let note = r.add_note(id, text)?;
    out.print(&note, |n| format!("note {} added\n", n.id))
}

pub fn add_part(
    r: &mut Replica,
    out: Output,
    job: &str,
    part_no: &str,
    description: &str,
    qty: f64,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let part = r.add_part(id, part_no, description, qty)?;
    out.print(&part, |p| {
        format!("part {} recorded ({} x {})\n", p.id, p.quantity, p.part_no)
    })
}

pub fn remove_part(r: &mut Replica, out: Output, job: &str, part_id: &str) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let part: PartUsedId = part_id.parse().map_err(|_| {
        Error::Invalid(format!(
            "{part_id:?} is not a part id; see `onsite show {job}`"
        ))
    })?;
    r.remove_part(id, part)?;
    out.done("part removed")
}

/// Attaches a photo; EXIF times without a zone are read as this computer's local time.
pub fn photo(
    r: &mut Replica,
    out: Output,
    job: &str,
    file: &Path,
    kind: PhotoKind,
    caption: Option<&str>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let opts = PhotoOptions {
        naive_time_offset: *Local::now().offset(),
        ..PhotoOptions::default()
    };
    let a = r.attach_photo_with(id, file, kind, caption, &opts)?;
    // A serial-plate photo is read for its barcode or QR code at once.
    let scan = match kind {
        PhotoKind::SerialPlate => Some(r.scan_serial_plate(a.photo.id)?),
        _ => None,
    };
    let value = serde_json::json!({
        "serial_scan": scan,
        "photo": a.photo,
        "bytes_in": a.bytes_in,
        "source_width": a.source_width,
        "source_height": a.source_height,
        "thumb_width": a.thumb_width,
        "thumb_height": a.thumb_height,
    });
    out.print(&value, |_| {
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
        ) + &scan
            .as_ref()
            .map(|s| format!("{}\n", super::serial::scan_text(s)))
            .unwrap_or_default()
    })
}

pub fn feedback(
    r: &mut Replica,
    out: Output,
    job: &str,
    rating: u8,
    nps: Option<u8>,
    comment: Option<&str>,
) -> anyhow::Result<()> {
    let id = r.resolve_job(job)?;
    let f = r.add_feedback(id, rating, nps, comment)?;
    out.print(&f, |f| format!("feedback recorded: {} stars\n", f.rating))
}

fn yes_no(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "done" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Reads a checklist answer in the form its item expects.
fn parse_answer(
    job_type: JobType,
    item: &str,
    raw: &str,
    reason: Option<&str>,
) -> onsite_client::Result<AnswerValue> {
    let template = template_for(job_type);
    let Some(it) = template.item(item) else {
        // Let the template's own validation name the valid items.
        let why = template
            .validate_answer(item, &AnswerValue::Check(true))
            .err()
            .unwrap_or_default();
        return Err(Error::Invalid(why));
    };
    if reason.is_some() && it.kind != ItemKind::Conduct {
        return Err(Error::Invalid(format!(
            "{item} is not a conduct item: --reason goes with a \"no\" to a conduct item"
        )));
    }
    Ok(match &it.kind {
        ItemKind::Conduct => match (yes_no(raw), reason) {
            (Some(true), None) => AnswerValue::Check(true),
            (Some(false), Some(reason)) => AnswerValue::No(reason.to_owned()),
            (Some(false), None) => {
                return Err(Error::Invalid(format!(
                    "a \"no\" to {item} takes a short reason: add --reason \"why it was not done\""
                )));
            }
            (Some(true), Some(_)) => {
                return Err(Error::Invalid(format!(
                    "--reason goes with a \"no\"; {item} was answered yes"
                )));
            }
            (None, _) => {
                return Err(Error::Invalid(format!(
                    "{item} is a conduct item; answer yes, or no with --reason, not {raw:?}"
                )));
            }
        },
        ItemKind::Check => match yes_no(raw) {
            Some(done) => AnswerValue::Check(done),
            None => {
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
