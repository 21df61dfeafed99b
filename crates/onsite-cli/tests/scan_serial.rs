//! `onsite photo --kind serial-plate` and `onsite scan-serial`: the plate's code read on this
//! device, checked against the asset's recorded serial, accepted or reported to the office.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{GrayImage, Luma};
use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

fn onsite(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onsite"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("ONSITE_FAULT")
        .output()
        .expect("run onsite")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = onsite(data, args);
    assert!(
        out.status.success(),
        "onsite {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(data: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(data, &all)).unwrap()
}

/// A plate photo holding a QR code of `text`, written as a JPEG.
fn plate_jpeg(dir: &Path, name: &str, text: &str) -> PathBuf {
    let m = MultiFormatWriter
        .encode(text, &BarcodeFormat::QR_CODE, 260, 260)
        .unwrap();
    let mut photo = GrayImage::from_pixel(900, 700, Luma([120]));
    for y in 120..580u32 {
        for x in 150..750u32 {
            let dark = match (x.checked_sub(320), y.checked_sub(220)) {
                (Some(qx), Some(qy)) => qx < m.getWidth() && qy < m.getHeight() && m.get(qx, qy),
                _ => false,
            };
            photo.put_pixel(x, y, Luma([if dark { 30 } else { 225 }]));
        }
    }
    let path = dir.join(name);
    image::DynamicImage::ImageLuma8(photo)
        .to_rgb8()
        .save_with_format(&path, image::ImageFormat::Jpeg)
        .unwrap();
    path
}

#[test]
fn a_serial_plate_photo_is_read_checked_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["import", "--sample", "--count", "2"]);
    let jobs = json(d, &["jobs", "--scope", "all"]);
    let job = jobs[0]["number"].as_str().unwrap().to_owned();
    let shown = json(d, &["show", &job]);
    let recorded = shown["asset"]["serial"]
        .as_str()
        .expect("a sample asset has a serial")
        .to_owned();

    // The plate matches the record.
    let same = plate_jpeg(d, "same.jpg", &recorded);
    let text = ok(
        d,
        &[
            "photo",
            &job,
            same.to_str().unwrap(),
            "--kind",
            "serial-plate",
        ],
    );
    assert!(
        text.contains(&format!(
            "serial read from the plate: {recorded} (QR code) — matches the record"
        )),
        "{text}"
    );

    // Another plate differs: shown, never written; the office can be told in a note.
    let other = plate_jpeg(d, "other.jpg", "S/N: ZZ-999");
    let attached = json(
        d,
        &[
            "photo",
            &job,
            other.to_str().unwrap(),
            "--kind",
            "serial-plate",
        ],
    );
    assert_eq!(attached["serial_scan"]["verdict"], "mismatch");
    assert_eq!(attached["serial_scan"]["serial"], "ZZ-999");
    let photo = attached["photo"]["id"].as_str().unwrap().to_owned();
    let text = ok(d, &["scan-serial", &photo]);
    assert!(
        text.contains(&format!("DIFFERS from the recorded {recorded}")),
        "{text}"
    );
    let refused = onsite(d, &["scan-serial", &photo, "--accept"]);
    assert_eq!(
        refused.status.code(),
        Some(4),
        "accepting over a record is refused"
    );
    let note = json(
        d,
        &["scan-serial", &photo, "--note-mismatch", "--lang", "zh"],
    );
    assert!(note["body"].as_str().unwrap().contains("ZZ-999"), "{note}");
    let shown = json(d, &["show", &job]);
    assert_eq!(shown["asset"]["serial"], recorded.as_str());
    assert!(shown["work_order"].get("plate_serial").is_none());

    // A file is scanned without being stored; a photo of another kind is refused.
    let found = json(d, &["scan-serial", "--file", other.to_str().unwrap()]);
    assert_eq!(found["found"]["text"], "S/N: ZZ-999");
    let before = json(
        d,
        &["photo", &job, same.to_str().unwrap(), "--kind", "before"],
    );
    assert!(before["serial_scan"].is_null());
    let refused = onsite(d, &["scan-serial", before["photo"]["id"].as_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(4));
}
