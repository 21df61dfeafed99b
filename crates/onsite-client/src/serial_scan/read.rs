//! Finding a barcode or QR code in a photo: the grey pixels go to rxing (a port of ZXing),
//! upright first, then turned a few steps either way for the one-dimensional codes.
//!
//! Two-dimensional codes (QR, Data Matrix) are found at any angle by their own finder
//! patterns. A one-dimensional code is read along rows of pixels, so a plate shot at an angle
//! of more than about `atan(height / width)` of its bars (some 15° for a typical Code 128
//! label) leaves no row that crosses every bar; the photo is then turned back by 12° and 24°
//! each way and read again, which covers tilts up to about 30°.

use std::collections::HashSet;

use image::{GrayImage, Luma};
use rxing::{BarcodeFormat, DecodeHints, RXingResult};
use serde::Serialize;

/// The turns tried, in degrees, when nothing is found upright.
const TURNS: [f32; 4] = [12.0, -12.0, 24.0, -24.0];

/// A code found on a plate: its text and what kind of code carried it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlateCode {
    /// The text the code holds, as decoded.
    pub text: String,
    /// The code's symbology, by its usual name: "QR code", "Data Matrix", "Code 128",
    /// "Code 39", "Code 93", "EAN-13", "EAN-8", "UPC-A", "UPC-E".
    pub format: String,
}

/// The symbologies serial plates carry.
fn plate_formats() -> HashSet<BarcodeFormat> {
    HashSet::from([
        BarcodeFormat::QR_CODE,
        BarcodeFormat::DATA_MATRIX,
        BarcodeFormat::CODE_128,
        BarcodeFormat::CODE_39,
        BarcodeFormat::CODE_93,
        BarcodeFormat::EAN_13,
        BarcodeFormat::EAN_8,
        BarcodeFormat::UPC_A,
        BarcodeFormat::UPC_E,
    ])
}

fn linear_formats() -> HashSet<BarcodeFormat> {
    plate_formats()
        .into_iter()
        .filter(|f| !matches!(f, BarcodeFormat::QR_CODE | BarcodeFormat::DATA_MATRIX))
        .collect()
}

fn format_name(f: BarcodeFormat) -> &'static str {
    match f {
        BarcodeFormat::QR_CODE => "QR code",
        BarcodeFormat::DATA_MATRIX => "Data Matrix",
        BarcodeFormat::CODE_128 => "Code 128",
        BarcodeFormat::CODE_39 => "Code 39",
        BarcodeFormat::CODE_93 => "Code 93",
        BarcodeFormat::EAN_13 => "EAN-13",
        BarcodeFormat::EAN_8 => "EAN-8",
        BarcodeFormat::UPC_A => "UPC-A",
        BarcodeFormat::UPC_E => "UPC-E",
        _ => "barcode",
    }
}

/// The first code found in `image`, or `None` when the photo holds none that can be read.
pub fn find_code(image: &GrayImage) -> Option<PlateCode> {
    if image.width() == 0 || image.height() == 0 {
        return None;
    }
    let upright = decode(image, plate_formats(), true);
    upright
        .or_else(|| {
            let linear = linear_formats();
            TURNS
                .iter()
                .find_map(|&deg| decode(&turned(image, deg), linear.clone(), false))
        })
        .map(|r| PlateCode {
            text: r.getText().to_owned(),
            format: format_name(*r.getBarcodeFormat()).to_owned(),
        })
}

fn decode(
    image: &GrayImage,
    formats: HashSet<BarcodeFormat>,
    also_inverted: bool,
) -> Option<RXingResult> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let mut hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some(formats),
        // Laser-etched metal plates are often light marks on a dark ground.
        AlsoInverted: Some(also_inverted),
        ..Default::default()
    };
    rxing::helpers::detect_in_luma_slice_with_hints(image.as_raw(), w, h, None, &mut hints)
        .ok()
        .filter(|r| !r.getText().trim().is_empty())
}

/// `image` turned by `deg` degrees about its centre onto a canvas that holds all of it
/// (bilinear; the corners filled with the photo's mean grey, so no hard edge is made).
pub(super) fn turned(image: &GrayImage, deg: f32) -> GrayImage {
    let (w, h) = image.dimensions();
    let (sin, cos) = deg.to_radians().sin_cos();
    // Less a hair, so a quarter turn's float error does not add a column.
    let out_w = (w as f32 * cos.abs() + h as f32 * sin.abs() - 0.01)
        .ceil()
        .max(1.0) as u32;
    let out_h = (w as f32 * sin.abs() + h as f32 * cos.abs() - 0.01)
        .ceil()
        .max(1.0) as u32;
    let mean = {
        let sum: u64 = image.as_raw().iter().map(|&v| v as u64).sum();
        (sum / (w as u64 * h as u64).max(1)) as u8
    };
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (ox, oy) = (out_w as f32 / 2.0, out_h as f32 / 2.0);
    let src = image.as_raw();
    let at = |x: u32, y: u32| src[(y * w + x) as usize] as f32;
    GrayImage::from_fn(out_w, out_h, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - ox, y as f32 + 0.5 - oy);
        // The source point that lands here: the inverse turn.
        let sx = cos * dx + sin * dy + cx - 0.5;
        let sy = -sin * dx + cos * dy + cy - 0.5;
        if sx < -0.5 || sy < -0.5 || sx > w as f32 - 0.5 || sy > h as f32 - 0.5 {
            return Luma([mean]);
        }
        let (sx, sy) = (sx.clamp(0.0, (w - 1) as f32), sy.clamp(0.0, (h - 1) as f32));
        let (x0, y0) = (sx as u32, sy as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        Luma([(top * (1.0 - fy) + bottom * fy).round() as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_turn_moves_a_corner_where_it_should() {
        let mut img = GrayImage::from_pixel(40, 20, Luma([200]));
        img.put_pixel(0, 0, Luma([0]));
        let t = turned(&img, 90.0);
        assert_eq!(t.dimensions(), (20, 40));
        // Turned clockwise on screen (y grows downwards), the top-left corner goes top-right.
        let dark: Vec<(u32, u32)> = t
            .enumerate_pixels()
            .filter(|(_, _, p)| p[0] < 100)
            .map(|(x, y, _)| (x, y))
            .collect();
        assert_eq!(dark, vec![(19, 0)]);
    }

    #[test]
    fn an_empty_image_holds_no_code() {
        assert_eq!(find_code(&GrayImage::new(0, 0)), None);
        assert_eq!(find_code(&GrayImage::from_pixel(64, 64, Luma([128]))), None);
    }
}
