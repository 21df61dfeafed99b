//! The whole pipeline over the bytes of one photo, timed stage by stage.

use std::path::Path;
use std::time::{Duration, Instant};

use onsite_model::time::Timestamp;

use super::decode::{InputFormat, check_jpeg_structure, decode, sniff};
use super::exif::read_exif;
use super::limits::{PhotoOptions, refuse, too_large};
use super::transform::{encode_jpeg, fit_long_edge, orient, resize, resized_copy, to_rgb};
use crate::blobs::content_address;
use crate::error::{PhotoProblem, Result};

/// How long each stage of one photo took.
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTimes {
    pub decode: Duration,
    pub resize: Duration,
    pub orient: Duration,
    pub encode: Duration,
    /// Made beside the encode, on a second thread: this overlaps `encode`.
    pub thumbnail: Duration,
    pub hash: Duration,
    /// Writing blobs and the original, and the database transaction.
    pub store: Duration,
}

/// A photo after the pipeline, before it is stored.
#[derive(Clone, Debug)]
pub struct ProcessedPhoto {
    pub format: InputFormat,
    pub bytes_in: u64,
    /// Dimensions the file declared (before orientation).
    pub source_width: u32,
    pub source_height: u32,
    /// What the decoder produced: smaller than the source when a JPEG was decoded at a DCT
    /// scale of `dct_scale`/8 (8 when decoded whole).
    pub decoded_width: u32,
    pub decoded_height: u32,
    pub dct_scale: u8,
    /// EXIF orientation found (1 when absent).
    pub orientation: u8,
    pub jpeg: Vec<u8>,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub thumb: Vec<u8>,
    pub thumb_sha256: String,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub taken_at: Option<Timestamp>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub times: StageTimes,
}

/// Runs the whole pipeline on the bytes of `file` (named in messages only).
pub fn process_photo(file: &Path, bytes: &[u8], opts: &PhotoOptions) -> Result<ProcessedPhoto> {
    let name = file.display();
    if bytes.len() as u64 > opts.max_file_bytes {
        return Err(too_large(file, bytes.len() as u64, opts.max_file_bytes));
    }
    let format = sniff(file, bytes)?;
    if format == InputFormat::Jpeg {
        check_jpeg_structure(bytes).map_err(|why| {
            refuse(
                PhotoProblem::Corrupt,
                format!("{name} is a damaged JPEG ({why}); copy the photo again from the camera or take it again"),
            )
        })?;
    }

    let started = Instant::now();
    let decoded = decode(file, bytes, format, opts)?;
    let (source_width, source_height) = (decoded.source_width, decoded.source_height);
    let dct_scale = decoded.scale.eighths();
    let image = to_rgb(decoded.image);
    let (decoded_width, decoded_height) = image.dimensions();
    let decode_time = started.elapsed();

    let exif = read_exif(bytes, opts.naive_time_offset);

    let started = Instant::now();
    let (w, h) = fit_long_edge(source_width, source_height, opts.long_edge);
    let image = resize(file, image, w, h)?;
    let resize_time = started.elapsed();

    let started = Instant::now();
    let image = orient(image, exif.orientation);
    let orient_time = started.elapsed();

    // The thumbnail is made from the upright, resized picture on a second thread while that
    // picture is encoded: its stage time overlaps the encode's.
    let (tw, th) = fit_long_edge(image.width(), image.height(), opts.thumb_long_edge);
    let (width, height) = image.dimensions();
    let ((jpeg, encode_time), (thumb, thumb_time)) = std::thread::scope(|s| {
        let thumbnail = s.spawn(|| {
            let started = Instant::now();
            let thumb = resized_copy(file, &image, tw, th)
                .and_then(|t| encode_jpeg(file, &t, opts.thumb_quality));
            (thumb, started.elapsed())
        });
        let started = Instant::now();
        let jpeg = encode_jpeg(file, &image, opts.jpeg_quality);
        let encoded = (jpeg, started.elapsed());
        let thumb = thumbnail.join().unwrap_or_else(|_| {
            (
                Err(refuse(
                    PhotoProblem::Corrupt,
                    format!("{name}: the thumbnail could not be made"),
                )),
                Duration::ZERO,
            )
        });
        (encoded, thumb)
    });
    let (jpeg, thumb) = (jpeg?, thumb?);

    let started = Instant::now();
    let sha256 = content_address(&jpeg);
    let thumb_sha256 = content_address(&thumb);
    let hash_time = started.elapsed();

    Ok(ProcessedPhoto {
        format,
        bytes_in: bytes.len() as u64,
        source_width,
        source_height,
        decoded_width,
        decoded_height,
        dct_scale,
        orientation: exif.orientation,
        jpeg,
        sha256,
        width,
        height,
        thumb,
        thumb_sha256,
        thumb_width: tw,
        thumb_height: th,
        taken_at: exif.taken_at,
        lat: exif.lat,
        lon: exif.lon,
        times: StageTimes {
            decode: decode_time,
            resize: resize_time,
            orient: orient_time,
            encode: encode_time,
            thumbnail: thumb_time,
            hash: hash_time,
            store: Duration::ZERO,
        },
    })
}
