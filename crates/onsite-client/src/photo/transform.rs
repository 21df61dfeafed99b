//! From decoded pixels to the stored JPEG: flattened to RGB, resized to a bounded long edge,
//! turned upright, re-encoded.

use std::path::Path;

use fast_image_resize::images::{Image as ResizeImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use super::jpeg;
use super::limits::refuse;
use crate::error::{PhotoProblem, Result};

/// The size that fits `long_edge`, keeping the aspect ratio; never enlarges.
pub fn fit_long_edge(w: u32, h: u32, long_edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= long_edge || long == 0 {
        return (w, h);
    }
    let scale = f64::from(long_edge) / f64::from(long);
    let fit = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    if w >= h {
        (long_edge, fit(h))
    } else {
        (fit(w), long_edge)
    }
}

/// Flattens to RGB (transparent areas become white, as on paper).
pub(super) fn to_rgb(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            dst[c] = ((u16::from(src[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    out
}

pub(super) fn resize(file: &Path, rgb: RgbImage, w: u32, h: u32) -> Result<RgbImage> {
    if rgb.dimensions() == (w, h) {
        return Ok(rgb);
    }
    resized_copy(file, &rgb, w, h)
}

/// A resized copy, the source left as it is (the thumbnail is made from the stored picture
/// while that is being encoded).
pub(super) fn resized_copy(file: &Path, rgb: &RgbImage, w: u32, h: u32) -> Result<RgbImage> {
    let (sw, sh) = rgb.dimensions();
    let failed = |e: String| {
        refuse(
            PhotoProblem::Corrupt,
            format!(
                "{} could not be resized ({e}); take the photo again",
                file.display()
            ),
        )
    };
    let src =
        ImageRef::new(sw, sh, rgb.as_raw(), PixelType::U8x3).map_err(|e| failed(e.to_string()))?;
    let mut dst = ResizeImage::new(w, h, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
        )
        .map_err(|e| failed(e.to_string()))?;
    RgbImage::from_raw(w, h, dst.into_vec()).ok_or_else(|| failed("buffer size".into()))
}

/// Applies EXIF orientation 1–8 so the stored pixels are upright.
pub(super) fn orient(image: RgbImage, orientation: u8) -> RgbImage {
    match Orientation::from_exif(orientation) {
        Some(Orientation::NoTransforms) | None => image,
        Some(o) => {
            let mut d = DynamicImage::ImageRgb8(image);
            d.apply_orientation(o);
            d.into_rgb8()
        }
    }
}

/// Encodes with libjpeg-turbo (4:2:0 chroma, see [`jpeg::encode`]).
pub(super) fn encode_jpeg(file: &Path, image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    jpeg::encode(image, quality).map_err(|e| {
        refuse(
            PhotoProblem::Corrupt,
            format!("{} could not be re-encoded ({})", file.display(), e.0),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_edge_fits_both_ways_and_never_enlarges() {
        assert_eq!(fit_long_edge(3000, 2000, 2048), (2048, 1365));
        assert_eq!(fit_long_edge(2000, 3000, 2048), (1365, 2048));
        assert_eq!(fit_long_edge(800, 600, 2048), (800, 600));
        assert_eq!(fit_long_edge(100_000, 1, 2048), (2048, 1));
    }
}
