//! Serial numbers read from a serial-plate photo, on the device and offline.
//!
//! The stored photo (the upright JPEG the photo pipeline kept) is searched for a barcode or
//! QR code ([`read`]); the serial it gives is compared with the one on record for the job's
//! asset. What the technician may then do is decided here:
//! - the plate matches the record: nothing to do;
//! - no serial is recorded: accept the plate's serial ([`Replica::accept_plate_serial`]), a
//!   change-logged write of the job's `plate_serial` field that syncs like any other
//!   technician field. The office's asset record is never written by a device;
//! - the plate differs from the record: the record is left as it is, and the technician may
//!   leave a note for the office saying what the plate reads
//!   ([`Replica::note_serial_mismatch`]);
//! - no code found: type the serial into a note, or take a sharper photo.

mod read;

use std::path::Path;

use image::GrayImage;
use onsite_model::entities::{Asset, Note, Photo, PhotoKind, SHORT_TEXT_MAX_CHARS, WorkOrder};
use onsite_model::ids::{PhotoId, WorkOrderId};
use onsite_model::wire::RowKind;
use serde::Serialize;
use serde_json::Value;

pub use read::PlateCode;

use crate::error::{Error, PhotoProblem, Result};
use crate::records::{job_records, load_record, load_top, load_work_order};
use crate::replica::Replica;
use crate::report::ReportLanguage;

/// Longest side a photo file is read at (the pipeline's stored size): more pixels only make
/// the search slower.
const READ_LONG_EDGE: u32 = 2048;
/// Largest image file decoded for a search (the photo pipeline's own pixel bound).
const MAX_PIXELS: u64 = 60_000_000;

/// What the plate says against what the record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SerialVerdict {
    /// The plate's serial is the recorded one.
    Match,
    /// The plate's serial differs from the recorded one; the record is left as it is.
    Mismatch,
    /// A serial was read and none is recorded: the technician may accept it.
    NoRecordedSerial,
    /// No barcode or QR code could be read in the photo.
    NoCode,
}

/// Where the recorded serial comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SerialSource {
    /// The office's asset record.
    Asset,
    /// Accepted from a plate photo on this job (the job's `plate_serial`).
    Plate,
}

/// A serial-plate photo, scanned.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SerialScan {
    pub photo_id: PhotoId,
    pub work_order_id: WorkOrderId,
    /// The code found, as decoded.
    pub found: Option<PlateCode>,
    /// The serial the code gives: its text, without a label such as `S/N:`, trimmed.
    pub serial: Option<String>,
    /// The serial on record, if any.
    pub recorded: Option<String>,
    pub recorded_from: Option<SerialSource>,
    pub verdict: SerialVerdict,
    /// Whether the technician may accept `serial` as the asset's serial now.
    pub may_accept: bool,
    /// Whether the technician may leave the office a note about the difference now (once
    /// per photo: not when the job's notes already name it).
    pub may_note_mismatch: bool,
    /// A note about this photo's difference is on the job already.
    pub mismatch_noted: bool,
}

impl Replica {
    /// Searches a stored serial-plate photo for a barcode or QR code and checks what it
    /// reads against the serial on record. Writes nothing.
    pub fn scan_serial_plate(&self, photo: PhotoId) -> Result<SerialScan> {
        let row = self.plate_photo(photo)?;
        let bytes = self.read_blob(&row.sha256).map_err(|e| match e {
            Error::File { .. } => Error::Invalid(format!(
                "photo {photo} is not on this device yet; sync to fetch it, then scan it"
            )),
            other => other,
        })?;
        let image = image::load_from_memory(&bytes)
            .map_err(|e| Error::PhotoRefused {
                problem: PhotoProblem::Corrupt,
                message: format!("the stored photo {photo} cannot be decoded ({e})"),
            })?
            .to_luma8();
        let found = read::find_code(&image);
        self.judge(&row, found)
    }

    /// Accepts the serial read from `photo` as the serial of the job's asset, where none is
    /// recorded: the job's `plate_serial` is set (one op, synced like any technician field).
    /// The plate is read again here, so what is stored is what the photo holds.
    pub fn accept_plate_serial(&mut self, photo: PhotoId) -> Result<SerialScan> {
        let scan = self.scan_serial_plate(photo)?;
        if !scan.may_accept {
            return Err(Error::Invalid(match scan.verdict {
                SerialVerdict::NoCode => {
                    "no code was found on this plate photo; nothing to accept".into()
                }
                SerialVerdict::Match => "the plate already matches the recorded serial".into(),
                SerialVerdict::Mismatch => format!(
                    "a serial is already recorded ({}); a plate that differs never replaces it: leave the office a note instead",
                    scan.recorded.as_deref().unwrap_or_default()
                ),
                SerialVerdict::NoRecordedSerial => format!(
                    "the plate's serial cannot be recorded as it is (at most {SHORT_TEXT_MAX_CHARS} characters)"
                ),
            }));
        }
        let serial = scan.serial.clone().unwrap_or_default();
        self.set_field(scan.work_order_id, "plate_serial", Value::String(serial))?;
        self.scan_serial_plate(photo)
    }

    /// Adds a note to the job saying what the plate reads and what the record says, for the
    /// office to settle; the record itself is left as it is.
    pub fn note_serial_mismatch(&mut self, photo: PhotoId, lang: ReportLanguage) -> Result<Note> {
        let scan = self.scan_serial_plate(photo)?;
        if scan.mismatch_noted {
            return Err(Error::Invalid(
                "the office already has a note about this plate photo".into(),
            ));
        }
        if !scan.may_note_mismatch {
            return Err(Error::Invalid(
                "the plate does not differ from a recorded serial; there is nothing to report"
                    .into(),
            ));
        }
        let plate = scan.serial.unwrap_or_default();
        let recorded = scan.recorded.unwrap_or_default();
        let format = scan.found.map(|c| c.format).unwrap_or_default();
        let body = match lang {
            ReportLanguage::English => format!(
                "Serial plate reads \"{plate}\" ({format}, photo {photo}); the record says \"{recorded}\". The record was left unchanged: please check it."
            ),
            ReportLanguage::Chinese => format!(
                "铭牌序列号为“{plate}”（{format}，照片 {photo}），记录为“{recorded}”。记录未改动，请核对。"
            ),
        };
        self.add_note(scan.work_order_id, &body)
    }

    fn plate_photo(&self, photo: PhotoId) -> Result<Photo> {
        let (row, _) = load_record::<Photo>(&self.conn, RowKind::Photo, &photo.to_string())?
            .ok_or_else(|| Error::Invalid(format!("no photo {photo} on this device")))?;
        if row.kind != PhotoKind::SerialPlate {
            return Err(Error::Invalid(format!(
                "photo {photo} is a {} photo; scan a serial-plate photo",
                row.kind
            )));
        }
        Ok(row)
    }

    fn judge(&self, photo: &Photo, found: Option<PlateCode>) -> Result<SerialScan> {
        let (wo, _) = load_work_order(&self.conn, photo.work_order_id)?;
        let asset_serial = match wo.asset_id {
            Some(id) => load_top::<Asset>(&self.conn, RowKind::Asset, &id.to_string())?
                .and_then(|(a, _)| a.serial),
            None => None,
        };
        let notes: Vec<Note> = job_records(&self.conn, wo.id, RowKind::Note)?;
        let photo_id = photo.id.to_string();
        let noted = notes.iter().any(|n| n.body.contains(&photo_id));
        Ok(judge(photo, &wo, asset_serial, found, noted))
    }
}

/// The verdict, and what the technician may do about it.
fn judge(
    photo: &Photo,
    wo: &WorkOrder,
    asset_serial: Option<String>,
    found: Option<PlateCode>,
    noted: bool,
) -> SerialScan {
    let present = |s: &Option<String>| s.as_ref().filter(|s| !s.trim().is_empty()).cloned();
    let (recorded, recorded_from) = match (present(&asset_serial), present(&wo.plate_serial)) {
        (Some(s), _) => (Some(s), Some(SerialSource::Asset)),
        (None, Some(s)) => (Some(s), Some(SerialSource::Plate)),
        (None, None) => (None, None),
    };
    let serial = found.as_ref().map(|c| serial_in(&c.text));
    let verdict = match (&found, &recorded) {
        (None, _) => SerialVerdict::NoCode,
        (Some(_), None) => SerialVerdict::NoRecordedSerial,
        (Some(code), Some(rec)) if same_serial(code, rec) => SerialVerdict::Match,
        (Some(_), Some(_)) => SerialVerdict::Mismatch,
    };
    let open = !wo.status.is_closed();
    let may_accept = open
        && verdict == SerialVerdict::NoRecordedSerial
        && serial
            .as_ref()
            .is_some_and(|s| !s.is_empty() && s.chars().count() <= SHORT_TEXT_MAX_CHARS);
    SerialScan {
        photo_id: photo.id,
        work_order_id: wo.id,
        found,
        serial,
        recorded,
        recorded_from,
        verdict,
        may_accept,
        // Notes may be added to a closed job too.
        may_note_mismatch: verdict == SerialVerdict::Mismatch && !noted,
        mismatch_noted: verdict == SerialVerdict::Mismatch && noted,
    }
}

/// Searches an image file (JPEG, PNG, WebP) for a barcode or QR code, without storing
/// anything. Files larger than the photo pipeline accepts are refused.
pub fn scan_image_file(path: &Path) -> Result<Option<PlateCode>> {
    let file = |e: std::io::Error| Error::File {
        path: path.to_owned(),
        source: e,
    };
    let refused = |problem, e: image::ImageError| Error::PhotoRefused {
        problem,
        message: format!("{} cannot be read as a photo ({e})", path.display()),
    };
    let reader = image::ImageReader::open(path)
        .map_err(file)?
        .with_guessed_format()
        .map_err(file)?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| refused(PhotoProblem::NotAnImage, e))?;
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::PhotoRefused {
            problem: PhotoProblem::TooManyPixels,
            message: format!(
                "{} is {w}×{h} pixels, more than the {} megapixels a photo may have",
                path.display(),
                MAX_PIXELS / 1_000_000
            ),
        });
    }
    let image = image::ImageReader::open(path)
        .map_err(file)?
        .with_guessed_format()
        .map_err(file)?
        .decode()
        .map_err(|e| refused(PhotoProblem::Corrupt, e))?;
    Ok(read::find_code(&bounded(image.to_luma8())))
}

fn bounded(image: GrayImage) -> GrayImage {
    let (w, h) = image.dimensions();
    let long = w.max(h);
    if long <= READ_LONG_EDGE {
        return image;
    }
    let scale = READ_LONG_EDGE as f64 / long as f64;
    let (nw, nh) = (
        ((w as f64 * scale).round() as u32).max(1),
        ((h as f64 * scale).round() as u32).max(1),
    );
    image::imageops::resize(&image, nw, nh, image::imageops::FilterType::Triangle)
}

/// Labels a plate's code may put before the serial itself (`S/N: 123`, `Serial No. 123`).
const SERIAL_LABELS: &[&str] = &[
    "SERIAL NUMBER",
    "SERIAL NO",
    "SERIAL",
    "S/N",
    "SN",
    "序列号",
];

/// The serial a code's text gives: a labelled line (`SN: …`) of a several-line text, else the
/// whole text; its label taken off, trimmed.
pub fn serial_in(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let labelled = lines.iter().find_map(|l| strip_label(l));
    labelled
        .or_else(|| (lines.len() == 1).then(|| lines[0].to_owned()))
        .unwrap_or_else(|| text.trim().to_owned())
}

/// `line` without a serial label, if it starts with one followed by `:`, `#`, `.` or a space
/// (so `SN-2041` stays whole: there the letters are the serial's own).
fn strip_label(line: &str) -> Option<String> {
    SERIAL_LABELS.iter().find_map(|label| {
        let head = line.get(..label.len())?;
        if !head.eq_ignore_ascii_case(label) {
            return None;
        }
        let rest = &line[label.len()..];
        if !rest.starts_with([':', '#', '.', ' ', '：']) {
            return None;
        }
        let serial = rest.trim_start_matches([':', '#', '.', ' ', '：']).trim();
        (!serial.is_empty()).then(|| serial.to_owned())
    })
}

/// Serials compare without regard to letter case or spaces.
fn normalised(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

fn same_serial(code: &PlateCode, recorded: &str) -> bool {
    let recorded = normalised(recorded);
    normalised(&code.text) == recorded || normalised(&serial_in(&code.text)) == recorded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> PlateCode {
        PlateCode {
            text: text.into(),
            format: "QR code".into(),
        }
    }

    #[test]
    fn a_label_is_taken_off_only_where_it_is_one() {
        assert_eq!(serial_in("S/N: HX3-2041"), "HX3-2041");
        assert_eq!(serial_in("Serial No. 88-1"), "88-1");
        assert_eq!(serial_in("sn#A77"), "A77");
        assert_eq!(serial_in("SN-2041"), "SN-2041");
        assert_eq!(serial_in("SNOWBLOWER 9"), "SNOWBLOWER 9");
        assert_eq!(serial_in("  4006381333931 "), "4006381333931");
        assert_eq!(serial_in("MODEL: AC-9\nSN: Q12345\nMFG 2024"), "Q12345");
        assert_eq!(serial_in("序列号：XK-1"), "XK-1");
    }

    #[test]
    fn serials_compare_without_case_or_spaces() {
        assert!(same_serial(&code("hx3 2041"), "HX32041"));
        assert!(same_serial(&code("S/N: HX3-2041"), "hx3-2041"));
        assert!(same_serial(&code("SN-2041"), "SN-2041"));
        assert!(!same_serial(&code("HX3-2041"), "HX3-2042"));
    }
}
