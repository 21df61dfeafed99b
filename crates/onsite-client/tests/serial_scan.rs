//! Serial numbers read from serial-plate photos: codes generated with rxing's own writer
//! are put on a synthetic plate, photographed at an angle (turned, blurred, with sensor
//! noise, JPEG-encoded), attached through the photo pipeline and scanned from the stored blob.

use image::{GrayImage, Luma, RgbImage};
use onsite_client::report::ReportLanguage;
use onsite_client::serial_scan::scan_image_file;
use onsite_client::{ImportFile, Replica, SerialSource, SerialVerdict};
use onsite_model::entities::{Note, PhotoKind};
use onsite_model::ids::{PhotoId, WorkOrderId};
use onsite_model::ops::Change;
use onsite_model::wire::RowKind;
use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

mod common;

struct Fixture {
    dir: tempfile::TempDir,
    replica: Replica,
    /// The first job and the serial its asset has on record (if any).
    job: WorkOrderId,
}

/// A replica with a sample day; the first job's asset gets `serial` as its recorded serial.
fn fixture(serial: Option<&str>) -> Fixture {
    let mut job = None;
    let day = common::sample_day("replica", 0x5e, |file: &mut ImportFile| {
        let asset = file.work_orders[0]
            .asset_id
            .expect("the first sample job has an asset");
        for a in file.assets.iter_mut().filter(|a| a.id == asset) {
            a.serial = serial.map(str::to_owned);
        }
        job = Some(file.work_orders[0].id);
    });
    Fixture {
        dir: day.dir,
        replica: day.replica,
        job: job.unwrap(),
    }
}

/// The code `text` in `format` as dark modules on white, `module` pixels per module.
fn code(text: &str, format: BarcodeFormat, width: i32, height: i32) -> GrayImage {
    let m = MultiFormatWriter
        .encode(text, &format, width, height)
        .unwrap_or_else(|e| panic!("rxing encodes {text:?} as {format:?}: {e}"));
    GrayImage::from_fn(m.getWidth(), m.getHeight(), |x, y| {
        Luma([if m.get(x, y) { 25 } else { 232 }])
    })
}

/// A 1600×1200 photo of a grey machine side with a light plate screwed on: printed lines of
/// "text", the code, four screw heads.
fn plate_photo(code: Option<&GrayImage>) -> GrayImage {
    let mut photo = GrayImage::from_fn(1600, 1200, |x, y| {
        Luma([110 + ((x / 7 + y / 11) % 9) as u8])
    });
    let fill = |img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32, v: u8| {
        for y in y0..y1 {
            for x in x0..x1 {
                img.put_pixel(x, y, Luma([v]));
            }
        }
    };
    fill(&mut photo, 250, 250, 1350, 950, 218);
    for (i, len) in [380u32, 520, 300, 450].iter().enumerate() {
        let y = 300 + i as u32 * 46;
        fill(&mut photo, 300, y, 300 + len, y + 16, 60);
    }
    for (x, y) in [(275, 275), (1310, 275), (275, 910), (1310, 910)] {
        fill(&mut photo, x, y, x + 18, y + 18, 80);
    }
    if let Some(code) = code {
        let x = 300 + (1000 - code.width().min(1000)) / 2;
        image::imageops::overlay(&mut photo, code, x as i64, 520);
    }
    photo
}

/// Taken by a hand: turned by `deg` degrees, out of focus by `blur`, with ±`noise` grey
/// levels of sensor noise, saved as a phone's JPEG.
fn photographed(photo: &GrayImage, deg: f32, blur: f32, noise: i32) -> Vec<u8> {
    let (w, h) = photo.dimensions();
    let (sin, cos) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let turned = GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (sx, sy) = (cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy);
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
            return Luma([95]);
        }
        let (x0, y0) = (sx as u32, sy as u32);
        let (fx, fy) = (sx.fract(), sy.fract());
        let p = |x: u32, y: u32| photo.get_pixel(x, y)[0] as f32;
        let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + p(x0 + 1, y0) * fx * (1.0 - fy)
            + p(x0, y0 + 1) * (1.0 - fx) * fy
            + p(x0 + 1, y0 + 1) * fx * fy;
        Luma([v as u8])
    });
    let mut blurred = image::imageops::blur(&turned, blur);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for p in blurred.pixels_mut() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let n = ((seed >> 33) % (2 * noise as u64 + 1)) as i32 - noise;
        p[0] = (p[0] as i32 + n).clamp(0, 255) as u8;
    }
    let rgb = RgbImage::from_fn(w, h, |x, y| {
        let v = blurred.get_pixel(x, y)[0];
        image::Rgb([v, v, v.saturating_sub(6)])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&rgb)
        .unwrap();
    jpeg
}

impl Fixture {
    fn attach_plate(&mut self, jpeg: &[u8]) -> PhotoId {
        self.replica
            .attach_photo_bytes(self.job, "plate.jpg", jpeg, PhotoKind::SerialPlate, None)
            .expect("the plate photo is attached")
            .id
    }

    fn plate_serial(&self) -> Option<String> {
        let (wo, _) =
            onsite_client::records::load_work_order(self.replica.connection(), self.job).unwrap();
        wo.plate_serial
    }

    fn ops(&self) -> i64 {
        self.replica
            .connection()
            .query_row("SELECT count(*) FROM oplog", [], |r| r.get(0))
            .unwrap()
    }
}

const SERIAL: &str = "HX3-2026-004417";

#[test]
fn a_qr_code_turned_17_degrees_with_blur_and_noise_is_read_and_matches_the_record() {
    let mut f = fixture(Some(SERIAL));
    let qr = code(SERIAL, BarcodeFormat::QR_CODE, 300, 300);
    let photo = f.attach_plate(&photographed(&plate_photo(Some(&qr)), 17.0, 1.0, 14));
    let scan = f.replica.scan_serial_plate(photo).unwrap();
    let found = scan.found.as_ref().expect("the QR code is found");
    assert_eq!(found.text, SERIAL);
    assert_eq!(found.format, "QR code");
    assert_eq!(scan.verdict, SerialVerdict::Match);
    assert_eq!(scan.recorded.as_deref(), Some(SERIAL));
    assert_eq!(scan.recorded_from, Some(SerialSource::Asset));
    assert!(!scan.may_accept && !scan.may_note_mismatch);
}

#[test]
fn code_128_turned_either_way_with_blur_and_noise_is_read() {
    for deg in [-14.0, 11.0, 19.0] {
        let mut f = fixture(Some(SERIAL));
        let bars = code(SERIAL, BarcodeFormat::CODE_128, 760, 130);
        let photo = f.attach_plate(&photographed(&plate_photo(Some(&bars)), deg, 0.9, 12));
        let scan = f.replica.scan_serial_plate(photo).unwrap();
        let found = scan
            .found
            .unwrap_or_else(|| panic!("Code 128 turned {deg}° is found"));
        assert_eq!(
            (found.text.as_str(), found.format.as_str()),
            (SERIAL, "Code 128")
        );
        assert_eq!(scan.verdict, SerialVerdict::Match, "turned {deg}°");
    }
}

#[test]
fn data_matrix_code_39_and_ean_13_are_read_too() {
    for (format, text, size, name) in [
        (
            BarcodeFormat::DATA_MATRIX,
            SERIAL,
            (260, 260),
            "Data Matrix",
        ),
        (
            BarcodeFormat::CODE_39,
            "HX3-2026-004417",
            (900, 130),
            "Code 39",
        ),
        (BarcodeFormat::EAN_13, "4006381333931", (520, 150), "EAN-13"),
    ] {
        let mut f = fixture(None);
        let c = code(text, format, size.0, size.1);
        let photo = f.attach_plate(&photographed(&plate_photo(Some(&c)), 12.0, 0.8, 10));
        let found = f.replica.scan_serial_plate(photo).unwrap().found;
        let found = found.unwrap_or_else(|| panic!("{name} is found"));
        assert_eq!((found.text.as_str(), found.format.as_str()), (text, name));
    }
}

#[test]
fn a_plate_that_differs_from_the_record_is_reported_and_never_written() {
    let mut f = fixture(Some("HX3-2026-000001"));
    let bars = code(SERIAL, BarcodeFormat::CODE_128, 760, 130);
    let photo = f.attach_plate(&photographed(&plate_photo(Some(&bars)), 15.0, 0.9, 12));
    let ops_before = f.ops();
    let scan = f.replica.scan_serial_plate(photo).unwrap();
    assert_eq!(scan.verdict, SerialVerdict::Mismatch);
    assert_eq!(scan.serial.as_deref(), Some(SERIAL));
    assert_eq!(scan.recorded.as_deref(), Some("HX3-2026-000001"));
    assert!(!scan.may_accept && scan.may_note_mismatch);

    let refused = f.replica.accept_plate_serial(photo).unwrap_err();
    assert_eq!(refused.code(), "invalid_input");
    assert!(
        refused.to_string().contains("never replaces it"),
        "{refused}"
    );
    assert_eq!(f.ops(), ops_before, "a refused accept writes nothing");
    assert_eq!(f.plate_serial(), None);

    // The office hears of it through a note; the record stays.
    let note: Note = f
        .replica
        .note_serial_mismatch(photo, ReportLanguage::English)
        .unwrap();
    assert!(note.body.contains(SERIAL) && note.body.contains("HX3-2026-000001"));
    assert!(note.body.contains("Code 128"), "{}", note.body);
    assert_eq!(f.ops(), ops_before + 1);
    let again = f.replica.scan_serial_plate(photo).unwrap();
    assert_eq!(again.recorded.as_deref(), Some("HX3-2026-000001"));
    assert_eq!(again.verdict, SerialVerdict::Mismatch);
    assert!(again.mismatch_noted && !again.may_note_mismatch);
    let twice = f
        .replica
        .note_serial_mismatch(photo, ReportLanguage::English)
        .unwrap_err();
    assert!(twice.to_string().contains("already has a note"), "{twice}");

    // In Chinese, for another photo of the same plate.
    let second = f.attach_plate(&photographed(&plate_photo(Some(&bars)), -11.0, 0.9, 12));
    let zh = f
        .replica
        .note_serial_mismatch(second, ReportLanguage::Chinese)
        .unwrap();
    assert!(
        zh.body.starts_with("铭牌序列号为“HX3-2026-004417”"),
        "{}",
        zh.body
    );
}

#[test]
fn with_no_serial_recorded_the_plate_serial_is_accepted_as_one_logged_write() {
    let mut f = fixture(None);
    let qr = code(
        &format!("MODEL: AC-9\nS/N: {SERIAL}"),
        BarcodeFormat::QR_CODE,
        300,
        300,
    );
    let photo = f.attach_plate(&photographed(&plate_photo(Some(&qr)), -12.0, 1.0, 12));
    let scan = f.replica.scan_serial_plate(photo).unwrap();
    assert_eq!(scan.verdict, SerialVerdict::NoRecordedSerial);
    assert_eq!(
        scan.serial.as_deref(),
        Some(SERIAL),
        "the label is taken off"
    );
    assert!(scan.may_accept && !scan.may_note_mismatch);
    assert!(
        f.replica
            .note_serial_mismatch(photo, ReportLanguage::English)
            .is_err()
    );

    let ops_before = f.ops();
    let accepted = f.replica.accept_plate_serial(photo).unwrap();
    assert_eq!(accepted.verdict, SerialVerdict::Match);
    assert_eq!(accepted.recorded_from, Some(SerialSource::Plate));
    assert_eq!(f.plate_serial().as_deref(), Some(SERIAL));
    assert_eq!(f.ops(), ops_before + 1);
    let logged = f.replica.oplog(1).unwrap();
    let op = &logged[0].op;
    assert_eq!(op.entity_id, f.job.to_string());
    match &op.change {
        Change::Set { field, old, new } => {
            assert_eq!(field, "plate_serial");
            assert!(old.is_null());
            assert_eq!(new, SERIAL);
        }
        other => panic!("a field set is logged, not {other:?}"),
    }
    // Once accepted it is the record: accepting again is refused.
    assert!(f.replica.accept_plate_serial(photo).is_err());
    assert_eq!(f.ops(), ops_before + 1);
    // The service report prints it, marked as read from the plate.
    let html = f.replica.service_report_html(f.job).unwrap();
    assert!(
        html.contains(&format!("{SERIAL} (read from the plate on this visit)")),
        "the report names the plate's serial"
    );
}

#[test]
fn a_photo_with_no_code_says_so_and_offers_nothing() {
    let mut f = fixture(Some(SERIAL));
    let photo = f.attach_plate(&photographed(&plate_photo(None), 9.0, 1.0, 14));
    let scan = f.replica.scan_serial_plate(photo).unwrap();
    assert_eq!(scan.verdict, SerialVerdict::NoCode);
    assert_eq!(scan.found, None);
    assert_eq!(scan.serial, None);
    assert_eq!(scan.recorded.as_deref(), Some(SERIAL));
    assert!(!scan.may_accept && !scan.may_note_mismatch);
    let refused = f.replica.accept_plate_serial(photo).unwrap_err();
    assert!(refused.to_string().contains("no code"), "{refused}");
}

#[test]
fn only_serial_plate_photos_are_scanned() {
    let mut f = fixture(Some(SERIAL));
    let qr = code(SERIAL, BarcodeFormat::QR_CODE, 300, 300);
    let jpeg = photographed(&plate_photo(Some(&qr)), 0.0, 0.5, 4);
    let before = f
        .replica
        .attach_photo_bytes(f.job, "before.jpg", &jpeg, PhotoKind::Before, None)
        .unwrap();
    let err = f.replica.scan_serial_plate(before.id).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(
        err.to_string().contains("scan a serial-plate photo"),
        "{err}"
    );
    let unknown: PhotoId = uuid::Uuid::now_v7().to_string().parse().unwrap();
    assert!(f.replica.scan_serial_plate(unknown).is_err());
    let _ = RowKind::Photo;
}

#[test]
fn an_image_file_is_scanned_without_being_stored() {
    let f = fixture(None);
    let bars = code(SERIAL, BarcodeFormat::CODE_128, 760, 130);
    let path = f.dir.path().join("plate.jpg");
    std::fs::write(
        &path,
        photographed(&plate_photo(Some(&bars)), -18.0, 0.9, 10),
    )
    .unwrap();
    let found = scan_image_file(&path).unwrap().expect("the code is found");
    assert_eq!(found.text, SERIAL);
    let garbage = f.dir.path().join("not-a-photo.jpg");
    std::fs::write(&garbage, b"this is not a photo").unwrap();
    assert!(scan_image_file(&garbage).is_err());
}
