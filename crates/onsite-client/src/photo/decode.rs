//! From bytes to pixels: the format by magic bytes (HEIC and others refused with advice),
//! the JPEG structure walked to its end marker, and decoding: a JPEG through libjpeg-turbo
//! at the DCT scale the stored size needs, anything else (and a JPEG libjpeg-turbo will not
//! read cleanly) through the `image` crate under [`image::Limits`].

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{DynamicImage, ImageDecoder, ImageError, Limits};

use super::jpeg::{self, DctScale, dct_scale_for};
use super::limits::{PhotoOptions, check_dimensions, refuse};
use super::transform::fit_long_edge;
use crate::error::{Error, PhotoProblem, Result};

/// The input formats the pipeline decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Jpeg,
    Png,
    WebP,
}

impl InputFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            InputFormat::Jpeg => "image/jpeg",
            InputFormat::Png => "image/png",
            InputFormat::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            InputFormat::Jpeg => "jpg",
            InputFormat::Png => "png",
            InputFormat::WebP => "webp",
        }
    }
}

/// The format by magic bytes; anything but JPEG, PNG and WebP is refused with what to do.
pub(super) fn sniff(file: &Path, bytes: &[u8]) -> Result<InputFormat> {
    let name = file.display();
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(InputFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(InputFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(InputFormat::WebP);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        const HEIF: [&[u8; 4]; 10] = [
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1",
            b"msf1",
        ];
        if HEIF.iter().any(|b| &b[..] == brand) {
            return Err(refuse(
                PhotoProblem::Heic,
                format!(
                    "{name}: HEIC photos are not supported yet; set the camera to 'Most compatible' (JPEG) or export as JPEG"
                ),
            ));
        }
        if brand == b"avif" || brand == b"avis" {
            return Err(refuse(
                PhotoProblem::UnsupportedFormat,
                format!("{name}: AVIF photos are not supported; export the photo as JPEG"),
            ));
        }
    }
    let other = if bytes.starts_with(b"GIF8") {
        Some("GIF")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("TIFF")
    } else if bytes.starts_with(b"BM") {
        Some("BMP")
    } else {
        None
    };
    Err(match other {
        Some(kind) => refuse(
            PhotoProblem::UnsupportedFormat,
            format!(
                "{name} is a {kind} image; photos must be JPEG, PNG or WebP — export it as JPEG"
            ),
        ),
        None => refuse(
            PhotoProblem::NotAnImage,
            format!("{name} is not a photo (JPEG, PNG or WebP); choose an image file"),
        ),
    })
}

/// Walks the JPEG's segments up to the end-of-image marker. Decoders fill a cut-off JPEG
/// with grey instead of failing, so a truncated upload would otherwise be stored as if whole.
pub(super) fn check_jpeg_structure(bytes: &[u8]) -> std::result::Result<(), &'static str> {
    let mut i = 2; // after SOI
    let mut seen_frame = false;
    let mut seen_scan = false;
    while i < bytes.len() {
        if bytes[i] != 0xFF {
            return Err("bytes between segments");
        }
        // Fill bytes.
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else { break };
        i += 1;
        match marker {
            0xD9 => {
                return if seen_frame && seen_scan {
                    Ok(())
                } else {
                    Err("no image data")
                };
            }
            0x01 | 0xD0..=0xD7 => continue,
            0x00 => return Err("bad marker"),
            _ => {}
        }
        let len = match bytes.get(i..i + 2) {
            Some(l) => u16::from_be_bytes([l[0], l[1]]) as usize,
            None => break,
        };
        if len < 2 {
            return Err("bad segment length");
        }
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            seen_frame = true;
        }
        i += len;
        if i > bytes.len() {
            break;
        }
        if marker == 0xDA {
            seen_scan = true;
            // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a
            // restart marker.
            loop {
                match bytes.get(i..i + 2) {
                    Some([0xFF, 0x00]) | Some([0xFF, 0xD0..=0xD7]) => i += 2,
                    Some([0xFF, 0xFF]) => i += 1,
                    Some([0xFF, _]) => break,
                    Some(_) => i += 1,
                    None => return Err("cut off in the image data"),
                }
            }
        }
    }
    Err("cut off before its end marker")
}

/// Pixels as decoded, and what the file declared.
pub(super) struct Decoded {
    /// At the file's size, or smaller by `scale` when decoded at a DCT scale.
    pub(super) image: DynamicImage,
    pub(super) source_width: u32,
    pub(super) source_height: u32,
    pub(super) scale: DctScale,
}

/// Reads the declared dimensions, refuses bombs, then decodes: a JPEG at the strongest DCT
/// reduction that still covers `opts.long_edge`, other formats whole under [`Limits`].
pub(super) fn decode(
    file: &Path,
    bytes: &[u8],
    format: InputFormat,
    opts: &PhotoOptions,
) -> Result<Decoded> {
    let whole = |(image, source_width, source_height)| Decoded {
        image,
        source_width,
        source_height,
        scale: DctScale::FULL,
    };
    match format {
        InputFormat::Jpeg => {
            if let Ok((w, h)) = jpeg::read_dimensions(bytes) {
                check_dimensions(file, w, h, opts)?;
                let scale = dct_scale_for((w, h), fit_long_edge(w, h, opts.long_edge));
                // Anything libjpeg-turbo stumbles on, even with a mere warning (damaged data
                // it papered over, CMYK, an unusual sampling), goes the pure-Rust way below,
                // which accepts and refuses exactly what it always did.
                if let Ok(image) = jpeg::decode_scaled(bytes, (w, h), scale) {
                    return Ok(Decoded {
                        image: DynamicImage::ImageRgb8(image),
                        source_width: w,
                        source_height: h,
                        scale,
                    });
                }
            }
            let d =
                JpegDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(file, e, opts))?;
            decode_with(file, d, opts).map(whole)
        }
        InputFormat::Png => {
            let d = PngDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(file, e, opts))?;
            decode_with(file, d, opts).map(whole)
        }
        InputFormat::WebP => {
            let d =
                WebPDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(file, e, opts))?;
            decode_with(file, d, opts).map(whole)
        }
    }
}

fn decode_with(
    file: &Path,
    mut decoder: impl ImageDecoder,
    opts: &PhotoOptions,
) -> Result<(DynamicImage, u32, u32)> {
    let (w, h) = decoder.dimensions();
    check_dimensions(file, w, h, opts)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(opts.max_side);
    limits.max_image_height = Some(opts.max_side);
    // Room for the decoded pixels at up to 8 bytes each plus the decoder's own buffers.
    limits.max_alloc = Some(opts.max_pixels * 8 + 64 * 1024 * 1024);
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(file, e, opts))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(file, e, opts))?;
    Ok((image, w, h))
}

fn decode_error(file: &Path, e: ImageError, opts: &PhotoOptions) -> Error {
    match e {
        ImageError::Limits(_) => refuse(
            PhotoProblem::TooManyPixels,
            format!(
                "{} is too large to open safely (limit {:.0} megapixels, {} pixels a side); export a smaller copy",
                file.display(),
                opts.max_pixels as f64 / 1e6,
                opts.max_side
            ),
        ),
        ImageError::Unsupported(u) => refuse(
            PhotoProblem::UnsupportedFormat,
            format!(
                "{} uses an image feature this device cannot read ({u}); export the photo as a plain JPEG",
                file.display()
            ),
        ),
        other => refuse(
            PhotoProblem::Corrupt,
            format!(
                "{} is damaged or incomplete ({other}); copy the photo again from the camera or take it again",
                file.display()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::sample_photo;

    #[test]
    fn a_sample_photo_passes_the_structure_check_and_a_cut_one_does_not() {
        let jpeg = sample_photo(64, 48, 3);
        check_jpeg_structure(&jpeg).unwrap();
        assert!(check_jpeg_structure(&jpeg[..jpeg.len() / 2]).is_err());
        assert!(check_jpeg_structure(&jpeg[..jpeg.len() - 2]).is_err());
    }
}
