//! What the pipeline accepts: the size and pixel limits, checked before a pixel is decoded,
//! and how a refusal is worded.

use std::path::Path;

use chrono::FixedOffset;

use crate::error::{Error, PhotoProblem, Result};

/// Limits and sizes of the pipeline. The defaults suit phone and tablet cameras.
#[derive(Clone, Debug)]
pub struct PhotoOptions {
    /// Files larger than this are refused before they are read.
    pub max_file_bytes: u64,
    /// Images declaring more pixels than this are refused before decoding.
    pub max_pixels: u64,
    /// Images declaring a longer side than this are refused before decoding.
    pub max_side: u32,
    /// The stored JPEG's longest side; smaller pictures are not enlarged.
    pub long_edge: u32,
    pub jpeg_quality: u8,
    /// The thumbnail's longest side.
    pub thumb_long_edge: u32,
    pub thumb_quality: u8,
    /// Cameras write the capture time without a zone unless they also write
    /// `OffsetTimeOriginal`; such times are read in this offset (the device's own zone).
    pub naive_time_offset: FixedOffset,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 40 * 1024 * 1024,
            max_pixels: 60_000_000,
            max_side: 16_384,
            long_edge: 2048,
            jpeg_quality: 80,
            thumb_long_edge: 320,
            thumb_quality: 75,
            naive_time_offset: FixedOffset::east_opt(0).expect("zero offset"),
        }
    }
}

pub(super) fn refuse(problem: PhotoProblem, message: String) -> Error {
    Error::PhotoRefused { problem, message }
}

pub(super) fn too_large(file: &Path, len: u64, max: u64) -> Error {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    refuse(
        PhotoProblem::FileTooLarge,
        format!(
            "{} is {:.1} MB; photos are limited to {:.0} MB — lower the camera's resolution or export a smaller JPEG",
            file.display(),
            mib(len),
            mib(max)
        ),
    )
}

pub(super) fn check_dimensions(file: &Path, w: u32, h: u32, opts: &PhotoOptions) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(refuse(
            PhotoProblem::Corrupt,
            format!(
                "{} declares an empty image ({w}×{h}); take the photo again",
                file.display()
            ),
        ));
    }
    let pixels = u64::from(w) * u64::from(h);
    if w > opts.max_side || h > opts.max_side || pixels > opts.max_pixels {
        return Err(refuse(
            PhotoProblem::TooManyPixels,
            format!(
                "{} is {w}×{h} pixels ({:.0} megapixels); photos are limited to {:.0} megapixels and {} pixels a side — export a smaller copy",
                file.display(),
                pixels as f64 / 1e6,
                opts.max_pixels as f64 / 1e6,
                opts.max_side
            ),
        ));
    }
    Ok(())
}
