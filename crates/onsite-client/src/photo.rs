//! The photo pipeline: what happens to a picture between the camera and the replica.
//!
//! A file is checked before any pixel is decoded (size, format by magic bytes, declared
//! dimensions), so a decompression bomb or a HEIC photo is refused without allocating the
//! image. Then it is decoded with [`image::Limits`] set, resized to a bounded long edge,
//! turned upright by its EXIF orientation, re-encoded as JPEG and given a thumbnail. The
//! stored JPEG and the thumbnail are content-addressed blobs; the original file is kept
//! beside them until the server confirms the processed blob ([`Replica::on_blob_confirmed`]).

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate, TimeZone};
use fast_image_resize::images::Image as ResizeImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageError, Limits, RgbImage};
use onsite_model::entities::{Photo, PhotoKind};
use onsite_model::ids::{PhotoId, WorkOrderId};
use onsite_model::ops::EntityKind;
use onsite_model::time::{Timestamp, format_ts};
use onsite_model::wire::{RowKind, is_sha256_hex};
use rusqlite::{Connection, params};

use crate::blobs::content_address;
use crate::error::{Error, PhotoProblem, Result};
use crate::replica::{Replica, open_job};

pub const ORIGINALS_DIR: &str = "originals";

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

/// How long each stage of one photo took.
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTimes {
    pub decode: Duration,
    pub resize: Duration,
    pub orient: Duration,
    pub encode: Duration,
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

/// What [`Replica::attach_photo_with`] stored.
#[derive(Clone, Debug)]
pub struct AttachedPhoto {
    pub photo: Photo,
    pub bytes_in: u64,
    pub source_width: u32,
    pub source_height: u32,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub original_path: PathBuf,
    pub times: StageTimes,
}

fn refuse(problem: PhotoProblem, message: String) -> Error {
    Error::PhotoRefused { problem, message }
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
    let (image, source_width, source_height) = decode(file, bytes, format, opts)?;
    let image = to_rgb(image);
    let decode_time = started.elapsed();

    let exif = read_exif(bytes, opts.naive_time_offset);

    let started = Instant::now();
    let (w, h) = fit_long_edge(source_width, source_height, opts.long_edge);
    let image = resize(file, image, w, h)?;
    let resize_time = started.elapsed();

    let started = Instant::now();
    let image = orient(image, exif.orientation);
    let orient_time = started.elapsed();

    let started = Instant::now();
    let jpeg = encode_jpeg(file, &image, opts.jpeg_quality)?;
    let encode_time = started.elapsed();

    let started = Instant::now();
    let (tw, th) = fit_long_edge(image.width(), image.height(), opts.thumb_long_edge);
    let (width, height) = image.dimensions();
    let thumb_image = resize(file, image, tw, th)?;
    let thumb = encode_jpeg(file, &thumb_image, opts.thumb_quality)?;
    let thumb_time = started.elapsed();

    let started = Instant::now();
    let sha256 = content_address(&jpeg);
    let thumb_sha256 = content_address(&thumb);
    let hash_time = started.elapsed();

    Ok(ProcessedPhoto {
        format,
        bytes_in: bytes.len() as u64,
        source_width,
        source_height,
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

fn too_large(file: &Path, len: u64, max: u64) -> Error {
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

/// The format by magic bytes; anything but JPEG, PNG and WebP is refused with what to do.
fn sniff(file: &Path, bytes: &[u8]) -> Result<InputFormat> {
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
fn check_jpeg_structure(bytes: &[u8]) -> std::result::Result<(), &'static str> {
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

/// Reads the declared dimensions, refuses bombs, then decodes under [`Limits`].
fn decode(
    file: &Path,
    bytes: &[u8],
    format: InputFormat,
    opts: &PhotoOptions,
) -> Result<(DynamicImage, u32, u32)> {
    match format {
        InputFormat::Jpeg => {
            let d =
                JpegDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(file, e, opts))?;
            decode_with(file, d, opts)
        }
        InputFormat::Png => {
            let d = PngDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(file, e, opts))?;
            decode_with(file, d, opts)
        }
        InputFormat::WebP => {
            let d =
                WebPDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(file, e, opts))?;
            decode_with(file, d, opts)
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

fn check_dimensions(file: &Path, w: u32, h: u32, opts: &PhotoOptions) -> Result<()> {
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

/// What EXIF tells about a photo.
#[derive(Clone, Copy, Debug, Default)]
struct ExifFacts {
    orientation: u8,
    taken_at: Option<Timestamp>,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// EXIF is optional and often partly broken: whatever cannot be read is left out.
fn read_exif(bytes: &[u8], naive_offset: FixedOffset) -> ExifFacts {
    let mut facts = ExifFacts {
        orientation: 1,
        ..Default::default()
    };
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return facts;
    };
    let field = |tag| exif.get_field(tag, exif::In::PRIMARY);
    if let Some(o) = field(exif::Tag::Orientation).and_then(|f| f.value.get_uint(0))
        && (1..=8).contains(&o)
    {
        facts.orientation = o as u8;
    }
    let ascii = |tag| match field(tag).map(|f| &f.value) {
        Some(exif::Value::Ascii(v)) => v.first().cloned(),
        _ => None,
    };
    if let Some(raw) = ascii(exif::Tag::DateTimeOriginal)
        && let Ok(mut dt) = exif::DateTime::from_ascii(&raw)
    {
        if let Some(off) = ascii(exif::Tag::OffsetTimeOriginal) {
            let _ = dt.parse_offset(&off);
        }
        let offset = dt
            .offset
            .and_then(|m| FixedOffset::east_opt(i32::from(m) * 60))
            .unwrap_or(naive_offset);
        facts.taken_at = NaiveDate::from_ymd_opt(dt.year.into(), dt.month.into(), dt.day.into())
            .and_then(|d| d.and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into()))
            .and_then(|naive| offset.from_local_datetime(&naive).single())
            .map(|t| t.with_timezone(&chrono::Utc));
    }
    let coord = |value_tag, ref_tag, negative: &[u8], max: f64| -> Option<f64> {
        let v = match field(value_tag).map(|f| &f.value) {
            Some(exif::Value::Rational(r)) if r.len() >= 3 => r,
            _ => return None,
        };
        if v.iter().take(3).any(|r| r.denom == 0) {
            return None;
        }
        let deg = v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0;
        let sign = match ascii(ref_tag) {
            Some(r) if r.first().is_some_and(|c| negative.contains(c)) => -1.0,
            _ => 1.0,
        };
        let value = sign * deg;
        (value.is_finite() && value.abs() <= max).then_some(value)
    };
    facts.lat = coord(
        exif::Tag::GPSLatitude,
        exif::Tag::GPSLatitudeRef,
        b"Ss",
        90.0,
    );
    facts.lon = coord(
        exif::Tag::GPSLongitude,
        exif::Tag::GPSLongitudeRef,
        b"Ww",
        180.0,
    );
    if facts.lat.is_none() || facts.lon.is_none() {
        facts.lat = None;
        facts.lon = None;
    }
    facts
}

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
fn to_rgb(image: DynamicImage) -> RgbImage {
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

fn resize(file: &Path, rgb: RgbImage, w: u32, h: u32) -> Result<RgbImage> {
    if rgb.dimensions() == (w, h) {
        return Ok(rgb);
    }
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
    let src = ResizeImage::from_vec_u8(sw, sh, rgb.into_raw(), PixelType::U8x3)
        .map_err(|e| failed(e.to_string()))?;
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
fn orient(image: RgbImage, orientation: u8) -> RgbImage {
    match Orientation::from_exif(orientation) {
        Some(Orientation::NoTransforms) | None => image,
        Some(o) => {
            let mut d = DynamicImage::ImageRgb8(image);
            d.apply_orientation(o);
            d.into_rgb8()
        }
    }
}

fn encode_jpeg(file: &Path, image: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| {
            refuse(
                PhotoProblem::Corrupt,
                format!("{} could not be re-encoded ({e})", file.display()),
            )
        })?;
    Ok(out)
}

/// A generated photo-like JPEG (gradients and a few shapes) for demos, tests and benches.
pub fn sample_photo(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        let fx = x as f32 / width.max(1) as f32;
        let fy = y as f32 / height.max(1) as f32;
        let ripple = ((fx * 37.0 + fy * 23.0 + f32::from(seed)).sin() * 40.0) as i32;
        image::Rgb([
            (fx * 200.0) as u8 ^ seed,
            ((fy * 180.0) as i32 + ripple).clamp(0, 255) as u8,
            (((fx + fy) * 90.0) as i32 - ripple).clamp(0, 255) as u8,
        ])
    });
    let mut out = Vec::new();
    // Encoding a generated buffer to memory cannot fail.
    let _ = JpegEncoder::new_with_quality(&mut out, 90).write_image(
        image.as_raw(),
        width,
        height,
        image::ExtendedColorType::Rgb8,
    );
    out
}

/// A PNG of `width`×`height` noise pixels from a seeded xorshift sequence: photos that do
/// not compress, like the worst of real camera noise. For benches and tests of transfer.
pub fn sample_noise_png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut state = seed.max(1);
    let mut raw = Vec::with_capacity((width * height * 3) as usize);
    for _ in 0..u64::from(width) * u64::from(height) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        raw.extend_from_slice(&state.to_le_bytes()[..3]);
    }
    let mut out = Vec::new();
    // Encoding a generated buffer to memory cannot fail.
    let _ = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(&raw, width, height, image::ExtendedColorType::Rgb8);
    out
}

// ---- storage -----------------------------------------------------------------------------

/// Writes `bytes` under a temp name, syncs and renames it into place, so a blob file is
/// either whole or absent.
pub(crate) fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Invalid(format!("{} has no folder", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::File {
        path: dir.to_owned(),
        source: e,
    })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.part", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a folder.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::File {
            path: path.to_owned(),
            source: e,
        }
    })
}

impl Replica {
    /// Stores bytes as a content-addressed blob file (no database row) and returns its sha256.
    pub(crate) fn store_blob_file(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.blob_path(sha256);
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.len() == bytes.len() as u64
        {
            return Ok(());
        }
        write_file_atomically(&path, bytes)
    }

    /// Runs `file` through the pipeline with `opts` and stores the result: the processed JPEG
    /// and its thumbnail as blobs, the original under `originals/`, and the photo row with its
    /// op in one transaction. A refused file stores nothing.
    pub fn attach_photo_with(
        &mut self,
        job: WorkOrderId,
        file: &Path,
        kind: PhotoKind,
        caption: Option<&str>,
        opts: &PhotoOptions,
    ) -> Result<AttachedPhoto> {
        // Fail fast on a closed or unknown job before the expensive work.
        open_job(&self.conn, job)?;
        let meta = std::fs::metadata(file).map_err(|e| Error::File {
            path: file.to_owned(),
            source: e,
        })?;
        if !meta.is_file() {
            return Err(refuse(
                PhotoProblem::NotAnImage,
                format!("{} is not a file; choose a photo", file.display()),
            ));
        }
        if meta.len() > opts.max_file_bytes {
            return Err(too_large(file, meta.len(), opts.max_file_bytes));
        }
        let bytes = std::fs::read(file).map_err(|e| Error::File {
            path: file.to_owned(),
            source: e,
        })?;
        let processed = process_photo(file, &bytes, opts)?;
        let caption = caption
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let p = &processed;
        // The row is checked before any file is written; it is stamped in the transaction.
        let mut photo = Photo {
            id: PhotoId::new(self.ids.as_ref()),
            work_order_id: job,
            sha256: p.sha256.clone(),
            kind,
            caption,
            taken_at: p.taken_at,
            lat: p.lat,
            lon: p.lon,
            width: Some(p.width),
            height: Some(p.height),
            size_bytes: p.jpeg.len() as u64,
            created_at: self.clock.now(),
            thumb_sha256: Some(p.thumb_sha256.clone()),
        };
        photo.validate().map_err(Error::Invalid)?;

        let started = Instant::now();
        let photo_id = photo.id;
        // Files first: an orphan blob is harmless, a row without its file is not.
        self.store_blob_file(&processed.sha256, &processed.jpeg)?;
        self.store_blob_file(&processed.thumb_sha256, &processed.thumb)?;
        let original_path = self
            .dir()
            .join(ORIGINALS_DIR)
            .join(format!("{photo_id}.{}", processed.format.extension()));
        write_file_atomically(&original_path, &bytes)?;

        let stored = self.write(|w| {
            open_job(w.tx, job)?;
            let now = format_ts(&w.now);
            insert_blob_row(w.tx, &p.sha256, p.jpeg.len(), "image/jpeg", &now)?;
            insert_blob_row(w.tx, &p.thumb_sha256, p.thumb.len(), "image/jpeg", &now)?;
            photo.created_at = w.now;
            w.insert(EntityKind::Photo, photo.id.to_string(), job, &photo)?;
            Ok(photo)
        });
        let photo = match stored {
            Ok(photo) => photo,
            Err(e) => {
                // Nothing refers to the original: do not keep it.
                let _ = std::fs::remove_file(&original_path);
                return Err(e);
            }
        };
        let mut times = processed.times;
        times.store = started.elapsed();
        Ok(AttachedPhoto {
            photo,
            bytes_in: processed.bytes_in,
            source_width: processed.source_width,
            source_height: processed.source_height,
            thumb_width: processed.thumb_width,
            thumb_height: processed.thumb_height,
            original_path,
            times,
        })
    }

    /// Called once the server has confirmed it holds blob `sha256`: the originals of photos
    /// whose processed JPEG is that blob are no longer needed and are deleted.
    pub fn on_blob_confirmed(&self, sha256: &str) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM job_record WHERE kind = ?1 AND data ->> '$.sha256' = ?2",
        )?;
        let ids: Vec<String> = stmt
            .query_map(params![RowKind::Photo.as_str(), sha256], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let dir = self.dir().join(ORIGINALS_DIR);
        for id in ids {
            for ext in ["jpg", "png", "webp"] {
                let path = dir.join(format!("{id}.{ext}"));
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::File { path, source: e }),
                }
            }
        }
        Ok(())
    }

    /// Where the original file of photo `id` is kept until the upload is confirmed, if it
    /// still is.
    pub fn photo_original(&self, id: PhotoId) -> Option<PathBuf> {
        let dir = self.dir().join(ORIGINALS_DIR);
        ["jpg", "png", "webp"]
            .iter()
            .map(|ext| dir.join(format!("{id}.{ext}")))
            .find(|p| p.is_file())
    }

    /// The bytes of a stored blob.
    pub fn read_blob(&self, sha256: &str) -> Result<Vec<u8>> {
        let address = sha256.to_ascii_lowercase();
        if !is_sha256_hex(&address) {
            return Err(Error::Invalid(format!("{sha256:?} is not a sha256")));
        }
        let path = self.blob_path(&address);
        std::fs::read(&path).map_err(|e| Error::File { path, source: e })
    }
}

pub(crate) fn insert_blob_row(
    conn: &Connection,
    sha256: &str,
    size: usize,
    media_type: &str,
    created_at: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO blob (sha256, size_bytes, media_type, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (sha256) DO NOTHING",
        params![sha256, size as i64, media_type, created_at],
    )?;
    Ok(())
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

    #[test]
    fn a_sample_photo_passes_the_structure_check_and_a_cut_one_does_not() {
        let jpeg = sample_photo(64, 48, 3);
        check_jpeg_structure(&jpeg).unwrap();
        assert!(check_jpeg_structure(&jpeg[..jpeg.len() / 2]).is_err());
        assert!(check_jpeg_structure(&jpeg[..jpeg.len() - 2]).is_err());
    }
}
