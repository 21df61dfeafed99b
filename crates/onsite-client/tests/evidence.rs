//! Evidence on the device: the photo pipeline's refusals and results (signatures and the
//! service report: tests/report.rs). Every fixture is generated here; no binary is committed.

use std::time::{Duration, Instant};

use image::{ImageEncoder, Rgb, RgbImage};
use onsite_client::photo::{PhotoOptions, sample_photo};
use onsite_model::entities::PhotoKind;
use onsite_model::time::parse_ts;
use sha2::{Digest, Sha256};

mod common;

use common::fixture;

fn encode_jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn encode_png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

// ---- EXIF written by hand ------------------------------------------------------------------

enum Val {
    Short(u16),
    Long(u32),
    Ascii(&'static str),
    Rational(Vec<(u32, u32)>),
}

/// Serialises one big-endian IFD starting at `out.len()` (offsets are from the TIFF header).
fn write_ifd(out: &mut Vec<u8>, entries: &[(u16, Val)]) {
    let start = out.len();
    let mut data_off = start + 2 + 12 * entries.len() + 4;
    let mut data = Vec::new();
    out.extend((entries.len() as u16).to_be_bytes());
    for (tag, val) in entries {
        let (typ, count, bytes): (u16, u32, Vec<u8>) = match val {
            Val::Short(v) => (3, 1, v.to_be_bytes().to_vec()),
            Val::Long(v) => (4, 1, v.to_be_bytes().to_vec()),
            Val::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (2, b.len() as u32, b)
            }
            Val::Rational(r) => (
                5,
                r.len() as u32,
                r.iter()
                    .flat_map(|(n, d)| n.to_be_bytes().into_iter().chain(d.to_be_bytes()))
                    .collect(),
            ),
        };
        out.extend(tag.to_be_bytes());
        out.extend(typ.to_be_bytes());
        out.extend(count.to_be_bytes());
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            out.extend(inline);
        } else {
            out.extend((data_off as u32).to_be_bytes());
            data_off += bytes.len() + bytes.len() % 2;
            data.extend(&bytes);
            if bytes.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    out.extend(0u32.to_be_bytes());
    out.extend(data);
}

fn ifd_len(entries: &[(u16, Val)]) -> usize {
    let mut out = vec![0u8; 0];
    write_ifd(&mut out, entries);
    out.len()
}

/// An APP1 "Exif" segment with IFD0 (orientation), and optionally the Exif IFD (capture
/// time) and the GPS IFD.
fn exif_segment(orientation: u16, exif_ifd: Vec<(u16, Val)>, gps_ifd: Vec<(u16, Val)>) -> Vec<u8> {
    let mut ifd0 = vec![(0x0112, Val::Short(orientation))];
    if !exif_ifd.is_empty() {
        ifd0.push((0x8769, Val::Long(0)));
    }
    if !gps_ifd.is_empty() {
        ifd0.push((0x8825, Val::Long(0)));
    }
    let exif_off = 8 + ifd_len(&ifd0);
    let gps_off = exif_off
        + if exif_ifd.is_empty() {
            0
        } else {
            ifd_len(&exif_ifd)
        };
    for (tag, val) in &mut ifd0 {
        match tag {
            0x8769 => *val = Val::Long(exif_off as u32),
            0x8825 => *val = Val::Long(gps_off as u32),
            _ => {}
        }
    }
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    write_ifd(&mut tiff, &ifd0);
    if !exif_ifd.is_empty() {
        write_ifd(&mut tiff, &exif_ifd);
    }
    if !gps_ifd.is_empty() {
        write_ifd(&mut tiff, &gps_ifd);
    }
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut seg = vec![0xFF, 0xE1];
    seg.extend(((payload.len() + 2) as u16).to_be_bytes());
    seg.extend(payload);
    seg
}

/// Puts an APP1 segment right after the JPEG's start-of-image marker.
fn with_app1(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend(segment);
    out.extend(&jpeg[2..]);
    out
}

// ---- orientation ---------------------------------------------------------------------------

const W: u32 = 64;
const H: u32 = 48;
const RED: [u8; 3] = [220, 20, 20];
const BLUE: [u8; 3] = [20, 20, 220];

/// The scene as a person sees it: red block top-left, blue block top-right, grey elsewhere.
fn upright() -> RgbImage {
    RgbImage::from_fn(W, H, |x, y| {
        if x < 20 && y < 16 {
            Rgb(RED)
        } else if x >= W - 20 && y < 16 {
            Rgb(BLUE)
        } else {
            Rgb([128, 128, 128])
        }
    })
}

/// What a camera stores for `orientation` (EXIF's meaning of row 0 and column 0), so that a
/// viewer applying the tag shows `upright`.
fn as_stored_by_camera(u: &RgbImage, orientation: u16) -> RgbImage {
    let (w, h) = (u.width(), u.height());
    match orientation {
        1..=4 => RgbImage::from_fn(w, h, |c, r| {
            let (x, y) = match orientation {
                1 => (c, r),
                2 => (w - 1 - c, r),
                3 => (w - 1 - c, h - 1 - r),
                _ => (c, h - 1 - r),
            };
            *u.get_pixel(x, y)
        }),
        _ => RgbImage::from_fn(h, w, |c, r| {
            let (x, y) = match orientation {
                5 => (r, c),
                6 => (w - 1 - r, c),
                7 => (w - 1 - r, h - 1 - c),
                _ => (r, h - 1 - c),
            };
            *u.get_pixel(x, y)
        }),
    }
}

fn mean(image: &RgbImage, x0: u32, y0: u32, size: u32) -> [u32; 3] {
    let mut sum = [0u32; 3];
    for y in y0..y0 + size {
        for x in x0..x0 + size {
            let p = image.get_pixel(x, y);
            for c in 0..3 {
                sum[c] += u32::from(p[c]);
            }
        }
    }
    sum.map(|s| s / (size * size))
}

fn close_to(got: [u32; 3], want: [u8; 3]) -> bool {
    got.iter()
        .zip(want)
        .all(|(g, w)| (*g as i32 - i32::from(w)).abs() < 40)
}

#[test]
fn exif_orientations_1_to_8_are_stored_upright() {
    let mut f = fixture();
    let job = f.jobs[0];
    for orientation in 1..=8u16 {
        let stored = as_stored_by_camera(&upright(), orientation);
        let bytes = with_app1(
            &encode_jpeg(&stored),
            &exif_segment(orientation, vec![], vec![]),
        );
        let file = f.write(&format!("o{orientation}.jpg"), &bytes);
        let photo = f
            .replica
            .attach_photo(job, &file, PhotoKind::Before, None)
            .unwrap();
        assert_eq!(
            (photo.width, photo.height),
            (Some(W), Some(H)),
            "orientation {orientation}"
        );
        let out = image::load_from_memory(&f.replica.read_blob(&photo.sha256).unwrap())
            .unwrap()
            .into_rgb8();
        assert_eq!(out.dimensions(), (W, H));
        let top_left = mean(&out, 4, 4, 8);
        let top_right = mean(&out, W - 12, 4, 8);
        let bottom_left = mean(&out, 4, H - 12, 8);
        let bottom_right = mean(&out, W - 12, H - 12, 8);
        assert!(
            close_to(top_left, RED),
            "orientation {orientation}: top-left is {top_left:?}"
        );
        assert!(
            close_to(top_right, BLUE),
            "orientation {orientation}: top-right is {top_right:?}"
        );
        for corner in [bottom_left, bottom_right] {
            assert!(
                close_to(corner, [128, 128, 128]),
                "orientation {orientation}: {corner:?}"
            );
        }
    }
}

#[test]
fn capture_time_and_gps_come_from_exif() {
    let mut f = fixture();
    let job = f.jobs[0];
    let exif = exif_segment(
        1,
        vec![
            (0x9003, Val::Ascii("2026:11:22 09:15:30")),
            (0x9011, Val::Ascii("+08:00")),
        ],
        vec![
            (0x0001, Val::Ascii("N")),
            (0x0002, Val::Rational(vec![(31, 1), (13, 1), (3000, 100)])),
            (0x0003, Val::Ascii("W")),
            (0x0004, Val::Rational(vec![(121, 1), (28, 1), (0, 1)])),
        ],
    );
    let file = f.write("gps.jpg", &with_app1(&encode_jpeg(&upright()), &exif));
    let photo = f
        .replica
        .attach_photo(job, &file, PhotoKind::SerialPlate, Some("plate"))
        .unwrap();
    assert_eq!(
        photo.taken_at,
        Some(parse_ts("2026-11-22T01:15:30Z").unwrap())
    );
    let lat = photo.lat.unwrap();
    let lon = photo.lon.unwrap();
    assert!(
        (lat - (31.0 + 13.0 / 60.0 + 30.0 / 3600.0)).abs() < 1e-9,
        "{lat}"
    );
    assert!((lon + (121.0 + 28.0 / 60.0)).abs() < 1e-9, "{lon}");

    // Without an offset, the capture time is read in the zone the options give.
    let exif = exif_segment(1, vec![(0x9003, Val::Ascii("2026:11:22 09:15:30"))], vec![]);
    let file = f.write("naive.jpg", &with_app1(&encode_jpeg(&upright()), &exif));
    let opts = PhotoOptions {
        naive_time_offset: chrono::FixedOffset::east_opt(2 * 3600).unwrap(),
        ..PhotoOptions::default()
    };
    let a = f
        .replica
        .attach_photo_with(job, &file, PhotoKind::Other, None, &opts)
        .unwrap();
    assert_eq!(
        a.photo.taken_at,
        Some(parse_ts("2026-11-22T07:15:30Z").unwrap())
    );
    assert_eq!((a.photo.lat, a.photo.lon), (None, None));

    // No EXIF at all: nothing invented.
    let file = f.write("plain.png", &encode_png(&upright()));
    let photo = f
        .replica
        .attach_photo(job, &file, PhotoKind::Other, None)
        .unwrap();
    assert_eq!((photo.taken_at, photo.lat), (None, None));
}

#[test]
fn a_big_photo_is_resized_to_the_long_edge_with_a_thumbnail_and_blob_rows() {
    let mut f = fixture();
    let job = f.jobs[0];
    let file = f.write("big.jpg", &sample_photo(3000, 2000, 7));
    let a = f
        .replica
        .attach_photo_with(job, &file, PhotoKind::After, None, &PhotoOptions::default())
        .unwrap();
    let p = &a.photo;
    assert_eq!((p.width, p.height), (Some(2048), Some(1365)));
    assert_eq!((a.source_width, a.source_height), (3000, 2000));
    assert_eq!((a.thumb_width, a.thumb_height), (320, 213));
    let stored = std::fs::read(f.replica.blob_path(&p.sha256)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&stored)), p.sha256);
    assert_eq!(stored.len() as u64, p.size_bytes);
    let thumb_sha = p.thumb_sha256.clone().unwrap();
    let thumb_bytes = f.replica.read_blob(&thumb_sha).unwrap();
    let thumb = image::load_from_memory(&thumb_bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 213));
    let rows: Vec<(String, i64, String, Option<String>)> = f
        .replica
        .connection()
        .prepare(
            "SELECT sha256, size_bytes, media_type, uploaded_at FROM blob ORDER BY size_bytes DESC",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                p.sha256.clone(),
                p.size_bytes as i64,
                "image/jpeg".into(),
                None
            ),
            (
                thumb_sha,
                thumb_bytes.len() as i64,
                "image/jpeg".into(),
                None
            ),
        ]
    );
    // The op carries the whole row, thumbnail included, so the office sees the same.
    let log = f.replica.oplog(1).unwrap();
    let row = serde_json::to_value(&log[0].op).unwrap();
    assert_eq!(
        row["change"]["row"]["thumb_sha256"],
        p.thumb_sha256.clone().unwrap()
    );
}

#[test]
fn png_and_webp_are_accepted_and_stored_as_jpeg() {
    let mut f = fixture();
    let job = f.jobs[0];
    let png = f.write("a.png", &encode_png(&upright()));
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(upright().as_raw(), W, H, image::ExtendedColorType::Rgb8)
        .unwrap();
    let webp = f.write("a.webp", &webp);
    for file in [png, webp] {
        let a = f
            .replica
            .attach_photo_with(job, &file, PhotoKind::Part, None, &PhotoOptions::default())
            .unwrap();
        let stored = f.replica.read_blob(&a.photo.sha256).unwrap();
        assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert!(a.original_path.extension().is_some());
        assert_eq!(
            std::fs::read(&a.original_path).unwrap(),
            std::fs::read(&file).unwrap(),
            "original kept byte for byte"
        );
    }
}

// ---- refusals ------------------------------------------------------------------------------

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header declares `w`×`h` followed by a tiny (wrong) data stream.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// A real JPEG whose frame header is rewritten to declare `w`×`h`.
fn jpeg_declaring(w: u16, h: u16) -> Vec<u8> {
    let mut jpeg = sample_photo(32, 32, 1);
    let sof = jpeg
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    jpeg
}

/// Peak resident memory of this process, in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn decompression_bombs_are_refused_from_the_header_without_allocating() {
    let mut f = fixture();
    let job = f.jobs[0];
    let before = f.stored();
    let rss_before = peak_rss_kib();
    for (name, bytes) in [
        ("bomb.png", png_declaring(100_000, 100_000)),
        ("wide.png", png_declaring(20_000, 10)),
        ("70mp.png", png_declaring(10_000, 7_000)),
        ("bomb.jpg", jpeg_declaring(60_000, 60_000)),
    ] {
        let file = f.write(name, &bytes);
        let started = Instant::now();
        let err = f
            .replica
            .attach_photo(job, &file, PhotoKind::Before, None)
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{name} took {:?}",
            started.elapsed()
        );
        assert_eq!(err.code(), "photo_too_many_pixels", "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains("megapixels"), "{msg}");
    }
    if let (Some(a), Some(b)) = (rss_before, peak_rss_kib()) {
        // 100000×100000 RGB would be 30 GB; the whole test must stay far below 200 MB more.
        assert!(
            b.saturating_sub(a) < 200 * 1024,
            "peak memory grew by {} KiB",
            b - a
        );
    }
    assert_eq!(f.stored(), before, "nothing stored");
}

#[test]
fn corrupt_and_truncated_files_are_refused_and_nothing_is_stored() {
    let mut f = fixture();
    let job = f.jobs[0];
    let before = f.stored();
    let jpeg = encode_jpeg(&upright());
    let png = encode_png(&upright());
    let mut garbled_jpeg = jpeg.clone();
    for b in &mut garbled_jpeg[6..40] {
        *b = 0x5A;
    }
    let mut garbled_png = png.clone();
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
    for b in &mut garbled_png[idat + 6..idat + 30] {
        *b ^= 0xA5;
    }
    for (name, bytes) in [
        ("cut.jpg", jpeg[..jpeg.len() / 2].to_vec()),
        ("cut-end.jpg", jpeg[..jpeg.len() - 2].to_vec()),
        ("garbled.jpg", garbled_jpeg),
        ("cut.png", png[..png.len() / 2].to_vec()),
        ("garbled.png", garbled_png),
        ("header-only.jpg", vec![0xFF, 0xD8, 0xFF]),
    ] {
        let file = f.write(name, &bytes);
        let err = f
            .replica
            .attach_photo(job, &file, PhotoKind::Before, None)
            .unwrap_err();
        assert_eq!(err.code(), "photo_corrupt", "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains("again"), "{msg}");
    }
    assert_eq!(f.stored(), before, "no photo row, op, blob row or file");
}

#[test]
fn non_images_heic_and_oversized_files_are_refused_with_what_to_do() {
    let mut f = fixture();
    let job = f.jobs[0];
    let before = f.stored();
    let text = f.write("notes.txt", b"not a picture at all");
    let err = f
        .replica
        .attach_photo(job, &text, PhotoKind::Before, None)
        .unwrap_err();
    assert_eq!(err.code(), "photo_not_an_image");
    assert!(err.to_string().contains("notes.txt"), "{err}");

    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend([0u8; 64]);
    let heic = f.write("IMG_0001.HEIC", &heic);
    let err = f
        .replica
        .attach_photo(job, &heic, PhotoKind::Before, None)
        .unwrap_err();
    assert_eq!(err.code(), "photo_heic_unsupported");
    assert!(
        err.to_string().contains(
            "HEIC photos are not supported yet; set the camera to 'Most compatible' (JPEG) or export as JPEG"
        ),
        "{err}"
    );

    let gif = f.write("anim.gif", b"GIF89a\x01\0\x01\0\0\0\0;");
    let err = f
        .replica
        .attach_photo(job, &gif, PhotoKind::Before, None)
        .unwrap_err();
    assert_eq!(err.code(), "photo_format_unsupported");

    let big = f.write("big.jpg", &sample_photo(64, 64, 1));
    let small_limit = PhotoOptions {
        max_file_bytes: 100,
        ..PhotoOptions::default()
    };
    let err = f
        .replica
        .attach_photo_with(job, &big, PhotoKind::Before, None, &small_limit)
        .unwrap_err();
    assert_eq!(err.code(), "photo_file_too_large");
    assert!(err.to_string().contains("limited to"), "{err}");
    assert_eq!(f.stored(), before);
}

#[test]
fn the_original_is_kept_until_the_server_confirms_the_processed_blob() {
    let mut f = fixture();
    let job = f.jobs[0];
    let file = f.write("before.jpg", &sample_photo(300, 200, 4));
    let a = f
        .replica
        .attach_photo_with(
            job,
            &file,
            PhotoKind::Before,
            None,
            &PhotoOptions::default(),
        )
        .unwrap();
    let original = f.replica.photo_original(a.photo.id).expect("original kept");
    assert_eq!(original, a.original_path);
    assert_eq!(
        std::fs::read(&original).unwrap(),
        std::fs::read(&file).unwrap()
    );
    // The thumbnail's confirmation, or another blob's, does not release the original.
    f.replica
        .on_blob_confirmed(a.photo.thumb_sha256.as_deref().unwrap())
        .unwrap();
    f.replica.on_blob_confirmed(&"0".repeat(64)).unwrap();
    assert!(original.exists());
    f.replica.on_blob_confirmed(&a.photo.sha256).unwrap();
    assert!(!original.exists());
    assert_eq!(f.replica.photo_original(a.photo.id), None);
    // The processed blob stays: it is the photo.
    assert!(f.replica.blob_path(&a.photo.sha256).exists());
    // Confirming twice is harmless.
    f.replica.on_blob_confirmed(&a.photo.sha256).unwrap();
    let _ = &f.clock;
}
