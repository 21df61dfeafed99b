//! The JPEG path that decodes at a DCT scale: the factor it picks, the exact stored size and
//! orientation on that path, and the fall-back to the pure-Rust decoder for a JPEG that
//! libjpeg-turbo only reads with a warning.

use std::path::Path;

use image::{ImageEncoder, Rgb, RgbImage};
use onsite_client::photo::{PhotoOptions, process_photo};

const W: u32 = 512;
const H: u32 = 384;
const RED: [u8; 3] = [220, 20, 20];
const BLUE: [u8; 3] = [20, 20, 220];
const GREY: [u8; 3] = [128, 128, 128];

/// The scene as a person sees it: red block top-left, blue block top-right, grey elsewhere.
fn upright() -> RgbImage {
    RgbImage::from_fn(W, H, |x, y| {
        if x < 128 && y < 96 {
            Rgb(RED)
        } else if x >= W - 128 && y < 96 {
            Rgb(BLUE)
        } else {
            Rgb(GREY)
        }
    })
}

/// What a camera stores for `orientation`, so that a viewer applying the tag shows `u`.
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

/// The JPEG with an APP1 EXIF segment holding only the orientation tag, after its SOI.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend(1u16.to_be_bytes()); // one entry
    tiff.extend(0x0112u16.to_be_bytes()); // Orientation
    tiff.extend(3u16.to_be_bytes()); // SHORT
    tiff.extend(1u32.to_be_bytes());
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0]);
    tiff.extend(0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

fn mean(image: &RgbImage, x0: u32, y0: u32, size: u32) -> [u32; 3] {
    let mut sum = [0u32; 3];
    for y in y0..y0 + size {
        for x in x0..x0 + size {
            let p = image.get_pixel(x, y);
            (0..3).for_each(|c| sum[c] += u32::from(p[c]));
        }
    }
    sum.map(|s| s / (size * size))
}

fn close_to(got: [u32; 3], want: [u8; 3]) -> bool {
    got.iter()
        .zip(want)
        .all(|(g, w)| (*g as i32 - i32::from(w)).abs() < 40)
}

fn small_edges(long_edge: u32) -> PhotoOptions {
    PhotoOptions {
        long_edge,
        thumb_long_edge: 64,
        ..PhotoOptions::default()
    }
}

#[test]
fn every_orientation_decoded_at_half_scale_is_stored_upright_at_the_exact_size() {
    // 512×384 for a 256 px edge: 1/2 covers it exactly; for 200 px, 1/2 and then a resize.
    for (long_edge, scale, out) in [(256, 4, (256, 192)), (200, 4, (200, 150))] {
        let opts = small_edges(long_edge);
        for orientation in 1..=8u16 {
            let stored = as_stored_by_camera(&upright(), orientation);
            let bytes = with_orientation(&encode_jpeg(&stored), orientation);
            let p = process_photo(Path::new("o.jpg"), &bytes, &opts).unwrap();
            let case = format!("edge {long_edge}, orientation {orientation}");
            assert_eq!(p.orientation, orientation as u8, "{case}");
            assert_eq!(
                (p.source_width, p.source_height),
                stored.dimensions(),
                "{case}"
            );
            assert_eq!(p.dct_scale, scale, "{case}");
            assert_eq!(
                (p.decoded_width, p.decoded_height),
                (stored.width() / 2, stored.height() / 2),
                "{case}"
            );
            assert_eq!((p.width, p.height), out, "{case}");
            assert_eq!((p.thumb_width, p.thumb_height), (64, 48), "{case}");
            let image = image::load_from_memory(&p.jpeg).unwrap().into_rgb8();
            assert_eq!(image.dimensions(), out, "{case}");
            let thumb = image::load_from_memory(&p.thumb).unwrap().into_rgb8();
            assert_eq!(thumb.dimensions(), (64, 48), "{case}");
            let (w, h) = out;
            let at = |img: &RgbImage, fx: u32, fy: u32| {
                let s = img.width() / 16;
                mean(
                    img,
                    fx * (img.width() - s) / 8,
                    fy * (img.height() - s) / 8,
                    s,
                )
            };
            for img in [&image, &thumb] {
                let (tl, tr, bl, br) = (at(img, 0, 0), at(img, 8, 0), at(img, 0, 8), at(img, 8, 8));
                assert!(close_to(tl, RED), "{case} ({w}×{h}): top-left {tl:?}");
                assert!(close_to(tr, BLUE), "{case}: top-right {tr:?}");
                assert!(
                    close_to(bl, GREY) && close_to(br, GREY),
                    "{case}: {bl:?} {br:?}"
                );
            }
        }
    }
}

#[test]
fn a_photo_at_or_below_twice_the_edge_is_decoded_whole_then_resized() {
    let bytes = encode_jpeg(&upright());
    // 512 px for a 257 px edge: 1/2 would give 256, one short.
    let p = process_photo(Path::new("a.jpg"), &bytes, &small_edges(257)).unwrap();
    assert_eq!(p.dct_scale, 8);
    assert_eq!((p.decoded_width, p.decoded_height), (W, H));
    assert_eq!((p.width, p.height), (257, 193));
    // Small enough already: decoded whole, stored at its own size.
    let p = process_photo(Path::new("b.jpg"), &bytes, &small_edges(2048)).unwrap();
    assert_eq!((p.dct_scale, p.width, p.height), (8, W, H));
    // 1/8 for an edge of an eighth.
    let p = process_photo(Path::new("c.jpg"), &bytes, &small_edges(64)).unwrap();
    assert_eq!(
        (p.dct_scale, p.decoded_width, p.width, p.height),
        (1, 64, 64, 48)
    );
}

#[test]
fn a_jpeg_libjpeg_turbo_only_reads_with_a_warning_goes_the_pure_rust_way_as_before() {
    // 64 stray bytes after the image data, before the end marker: libjpeg-turbo warns
    // ("extraneous bytes"), the `image` crate's decoder reads it, as it always has.
    let clean = encode_jpeg(&upright());
    let mut stray = clean[..clean.len() - 2].to_vec();
    stray.extend([0x5A; 64]);
    stray.extend([0xFF, 0xD9]);
    let opts = small_edges(256);
    let p = process_photo(Path::new("stray.jpg"), &stray, &opts).unwrap();
    assert_eq!(p.dct_scale, 8, "decoded whole by the fall-back");
    assert_eq!((p.decoded_width, p.decoded_height), (W, H));
    assert_eq!((p.width, p.height), (256, 192));
    let clean = process_photo(Path::new("clean.jpg"), &clean, &opts).unwrap();
    assert_eq!(
        clean.dct_scale, 4,
        "the same picture without stray bytes takes the fast way"
    );
    // Both paths store the same picture.
    let a = image::load_from_memory(&p.jpeg).unwrap().into_rgb8();
    let b = image::load_from_memory(&clean.jpeg).unwrap().into_rgb8();
    for (x, y) in [(8, 8), (200, 8), (8, 150), (128, 100)] {
        let (ma, mb) = (mean(&a, x, y, 16), mean(&b, x, y, 16));
        assert!(
            ma.iter().zip(mb).all(|(p, q)| p.abs_diff(q) < 12),
            "at ({x}, {y}): {ma:?} vs {mb:?}"
        );
    }
}
