//! Serial numbers read from serial-plate photos: scanned on this device, checked against the
//! asset's recorded serial, accepted where none is recorded, or reported to the office in a
//! note where the plate differs.

use std::path::Path;

use onsite_client::report::ReportLanguage;
use onsite_client::serial_scan::scan_image_file;
use onsite_client::{Replica, SerialScan, SerialSource, SerialVerdict};
use onsite_model::ids::PhotoId;

use crate::output::Output;

/// What to do after the scan.
pub enum Then {
    Nothing,
    Accept,
    NoteMismatch(ReportLanguage),
}

pub fn scan(r: &mut Replica, out: Output, photo: &str, then: Then) -> anyhow::Result<()> {
    let photo: PhotoId = photo
        .trim()
        .parse()
        .map_err(|_| onsite_client::Error::Invalid(format!("{photo:?} is not a photo id")))?;
    match then {
        Then::Nothing => {
            let scan = r.scan_serial_plate(photo)?;
            out.print(&scan, |s| format!("{}\n", scan_text(s)))
        }
        Then::Accept => {
            let scan = r.accept_plate_serial(photo)?;
            out.print(&scan, |s| {
                format!(
                    "{}\naccepted: {} recorded on this job (synced to the office)\n",
                    scan_text(s),
                    s.serial.as_deref().unwrap_or_default()
                )
            })
        }
        Then::NoteMismatch(lang) => {
            let note = r.note_serial_mismatch(photo, lang)?;
            out.print(&note, |n| {
                format!("note added for the office: {}\n", n.body)
            })
        }
    }
}

/// Scans an image file without storing it.
pub fn scan_file(out: Output, file: &Path) -> anyhow::Result<()> {
    let found = scan_image_file(file)?;
    out.print(&serde_json::json!({ "found": found }), |_| match &found {
        Some(code) => format!("read from the plate: {} ({})\n", code.text, code.format),
        None => "no barcode or QR code found\n".into(),
    })
}

/// One line on what the plate reads and how it compares with the record.
pub fn scan_text(s: &SerialScan) -> String {
    let read = match (&s.found, &s.serial) {
        (Some(code), Some(serial)) => {
            format!("serial read from the plate: {serial} ({})", code.format)
        }
        _ => "no barcode or QR code found on the plate".into(),
    };
    let recorded = s.recorded.as_deref().unwrap_or_default();
    let source = match s.recorded_from {
        Some(SerialSource::Plate) => " (accepted from a plate photo on this job)",
        _ => "",
    };
    let verdict = match s.verdict {
        SerialVerdict::Match => format!("matches the record{source}"),
        SerialVerdict::Mismatch => format!(
            "DIFFERS from the recorded {recorded}{source}; the record is left unchanged (--note-mismatch tells the office)"
        ),
        SerialVerdict::NoRecordedSerial => {
            "no serial is recorded for this asset (--accept records this one)".into()
        }
        SerialVerdict::NoCode => match s.recorded.as_deref() {
            Some(r) => format!("the record says {r}; take a sharper, closer photo or check by eye"),
            None => "take a sharper, closer photo or type the serial into a note".into(),
        },
    };
    format!("{read} — {verdict}")
}
