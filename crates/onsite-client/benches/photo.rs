//! The photo pipeline on generated 12-megapixel (4000×3000) JPEGs, side by side in one run:
//! ours (the whole of `attach_photo`, per stage), libvips' `vipsthumbnail -s 2048` run as a
//! subprocess on the same files (Debian `libvips-tools`; said loudly when absent), and the
//! previous pipeline (a copy kept here as the reference: the whole picture decoded by the
//! `image` crate, resized by `fast_image_resize`, encoded by the `image` crate). Medians of
//! wall time per photo; the rounds interleave the three so a busy machine slows all alike.
//!
//! `cargo bench -p onsite-client --bench photo` (ONSITE_BENCH_PHOTOS changes the count).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use onsite_client::photo::{PhotoOptions, StageTimes, sample_photo};
use onsite_client::sample::{day_of_jobs, sample_technician};
use onsite_client::{Replica, ReplicaOptions};
use onsite_model::clock::SystemIds;
use onsite_model::entities::PhotoKind;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => ms(v[n / 2]),
        n => (ms(v[n / 2 - 1]) + ms(v[n / 2])) / 2.0,
    }
}

/// The pipeline as it was before JPEGs were decoded at a DCT scale by libjpeg-turbo, kept as
/// the bench's reference: the same stages, libraries and settings as it ran then (the cheap
/// checks before decoding, the same in both, are left out).
mod previous {
    use std::io::Cursor;
    use std::time::{Duration, Instant};

    use fast_image_resize::images::Image as ResizeImage;
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
    use image::metadata::Orientation;
    use image::{DynamicImage, ImageDecoder, ImageEncoder, Limits, RgbImage};
    use onsite_client::photo::{PhotoOptions, fit_long_edge};

    #[derive(Clone, Copy, Default)]
    pub struct Times {
        pub decode: Duration,
        pub resize: Duration,
        pub orient: Duration,
        pub encode: Duration,
        pub thumbnail: Duration,
        pub hash: Duration,
    }

    pub struct Output {
        pub jpeg: Vec<u8>,
        pub times: Times,
    }

    fn decode(bytes: &[u8], opts: &PhotoOptions) -> RgbImage {
        let mut d = JpegDecoder::new(Cursor::new(bytes)).expect("jpeg header");
        let mut limits = Limits::default();
        limits.max_image_width = Some(opts.max_side);
        limits.max_image_height = Some(opts.max_side);
        limits.max_alloc = Some(opts.max_pixels * 8 + 64 * 1024 * 1024);
        d.set_limits(limits).expect("limits");
        // The photos are RGB without alpha, so the flattening step was `into_rgb8`.
        DynamicImage::from_decoder(d).expect("decode").into_rgb8()
    }

    fn resize(rgb: RgbImage, w: u32, h: u32) -> RgbImage {
        if rgb.dimensions() == (w, h) {
            return rgb;
        }
        let (sw, sh) = rgb.dimensions();
        let src = ResizeImage::from_vec_u8(sw, sh, rgb.into_raw(), PixelType::U8x3).unwrap();
        let mut dst = ResizeImage::new(w, h, PixelType::U8x3);
        Resizer::new()
            .resize(
                &src,
                &mut dst,
                &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
            )
            .unwrap();
        RgbImage::from_raw(w, h, dst.into_vec()).unwrap()
    }

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

    fn encode(image: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::with_capacity(image.as_raw().len() / 8);
        JpegEncoder::new_with_quality(&mut out, quality)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    fn orientation(bytes: &[u8]) -> u8 {
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(bytes))
            .ok()
            .and_then(|e| {
                e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                    .and_then(|f| f.value.get_uint(0))
            })
            .filter(|o| (1..=8).contains(o))
            .unwrap_or(1) as u8
    }

    pub fn process(bytes: &[u8], opts: &PhotoOptions) -> Output {
        let mut t = Times::default();
        let started = Instant::now();
        let image = decode(bytes, opts);
        t.decode = started.elapsed();
        let orientation = orientation(bytes);

        let started = Instant::now();
        let (w, h) = fit_long_edge(image.width(), image.height(), opts.long_edge);
        let image = resize(image, w, h);
        t.resize = started.elapsed();

        let started = Instant::now();
        let image = orient(image, orientation);
        t.orient = started.elapsed();

        let started = Instant::now();
        let jpeg = encode(&image, opts.jpeg_quality);
        t.encode = started.elapsed();

        let started = Instant::now();
        let (tw, th) = fit_long_edge(image.width(), image.height(), opts.thumb_long_edge);
        let thumb = encode(&resize(image, tw, th), opts.thumb_quality);
        t.thumbnail = started.elapsed();

        let started = Instant::now();
        let _ = onsite_client::content_address(&jpeg);
        let _ = onsite_client::content_address(&thumb);
        t.hash = started.elapsed();
        Output { jpeg, times: t }
    }
}

/// `vipsthumbnail -s 2048 -o OUT[Q=80]` on `file`: the wall time of the whole process.
fn vipsthumbnail(file: &Path, out: &Path, quality: u8, long_edge: u32) -> Option<Duration> {
    let started = Instant::now();
    let status = Command::new("vipsthumbnail")
        .arg(file)
        .arg("-s")
        .arg(long_edge.to_string())
        .arg("-o")
        .arg(format!("{}[Q={quality}]", out.display()))
        .status()
        .ok()?;
    let took = started.elapsed();
    status.success().then_some(took)
}

#[derive(Default)]
struct Ours {
    total: Vec<Duration>,
    stages: Vec<StageTimes>,
    bytes_out: u64,
    decoded: (u32, u32, u8),
    thumb: (u32, u32),
}

fn main() {
    let runs: usize = std::env::var("ONSITE_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut replica =
        Replica::open(&dir.path().join("replica"), ReplicaOptions::default()).expect("replica");
    let ids = SystemIds;
    let file = day_of_jobs(replica.now(), &sample_technician(&ids), 1, &ids);
    let job = file.work_orders[0].id;
    replica
        .import_json(&serde_json::to_string(&file).expect("json"))
        .expect("import");

    // One more photo than measured: the first round warms caches and is not counted.
    let photos: Vec<PathBuf> = (0..=runs)
        .map(|i| {
            let path = dir.path().join(format!("p{i}.jpg"));
            std::fs::write(&path, sample_photo(4000, 3000, i as u8)).expect("write photo");
            path
        })
        .collect();
    let bytes_in: u64 = photos[1..]
        .iter()
        .map(|p| std::fs::metadata(p).expect("photo").len())
        .sum();
    let tiny = dir.path().join("tiny.jpg");
    std::fs::write(&tiny, sample_photo(64, 48, 1)).expect("write tiny photo");

    let opts = PhotoOptions::default();
    let mut ours = Ours::default();
    let mut prev_total = Vec::new();
    let mut prev_stages = Vec::new();
    let mut prev_bytes = 0u64;
    let mut vips = Vec::new();
    let mut vips_start = Vec::new();
    let mut vips_bytes = 0u64;
    let mut vips_present = true;
    for (i, path) in photos.iter().enumerate() {
        let counted = i > 0;

        let started = Instant::now();
        let a = replica
            .attach_photo_with(job, path, PhotoKind::Before, None, &opts)
            .expect("attach");
        let took = started.elapsed();
        if counted {
            ours.total.push(took);
            ours.stages.push(a.times);
            ours.bytes_out += a.photo.size_bytes;
            ours.decoded = (a.decoded_width, a.decoded_height, a.dct_scale);
            ours.thumb = (a.thumb_width, a.thumb_height);
        }

        let started = Instant::now();
        let bytes = std::fs::read(path).expect("read photo");
        let out = previous::process(&bytes, &opts);
        let took = started.elapsed();
        if counted {
            prev_total.push(took);
            prev_stages.push(out.times);
            prev_bytes += out.jpeg.len() as u64;
        }

        if vips_present {
            let out = dir.path().join(format!("v{i}.jpg"));
            match vipsthumbnail(path, &out, opts.jpeg_quality, opts.long_edge) {
                Some(took) if counted => {
                    vips.push(took);
                    vips_bytes += std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
                    let dims = image::image_dimensions(&out).expect("vips output");
                    assert_eq!(dims, (2048, 1536), "vipsthumbnail's output size");
                    if let Some(t) = vipsthumbnail(&tiny, &dir.path().join("t.jpg"), 80, 64) {
                        vips_start.push(t);
                    }
                }
                Some(_) => {}
                None => vips_present = false,
            }
        }
    }

    let n = runs as f64;
    let med = |v: &[StageTimes], f: fn(&StageTimes) -> Duration| median(v.iter().map(f).collect());
    let pmed = |f: fn(&previous::Times) -> Duration| median(prev_stages.iter().map(f).collect());
    let ours_total = median(ours.total.clone());
    let ours_no_store = median(
        ours.total
            .iter()
            .zip(&ours.stages)
            .map(|(t, s)| *t - s.store)
            .collect(),
    );
    let prev = median(prev_total);
    println!(
        "photo pipeline, {runs} generated 4000x3000 JPEGs ({:.2} MB each) -> 2048 px JPEG q{} + {}x{} thumbnail; medians of one run",
        bytes_in as f64 / n / 1e6,
        opts.jpeg_quality,
        ours.thumb.0,
        ours.thumb.1
    );
    println!();
    println!(
        "  {:<34} {:>9} {:>9}",
        "stage (ms per photo)", "ours", "previous"
    );
    let row = |name: &str, a: f64, b: f64| println!("  {name:<34} {a:>9.1} {b:>9.1}");
    row(
        &format!(
            "decode (ours at {}/8: {}x{})",
            ours.decoded.2, ours.decoded.0, ours.decoded.1
        ),
        med(&ours.stages, |s| s.decode),
        pmed(|t| t.decode),
    );
    row(
        "resize to 2048 px",
        med(&ours.stages, |s| s.resize),
        pmed(|t| t.resize),
    );
    row(
        "orient",
        med(&ours.stages, |s| s.orient),
        pmed(|t| t.orient),
    );
    row(
        "encode",
        med(&ours.stages, |s| s.encode),
        pmed(|t| t.encode),
    );
    row(
        "thumbnail (resize + encode)",
        med(&ours.stages, |s| s.thumbnail),
        pmed(|t| t.thumbnail),
    );
    row("hash", med(&ours.stages, |s| s.hash), pmed(|t| t.hash));
    println!(
        "  {:<34} {:>9.1} {:>9}",
        "store (blobs, original, transaction)",
        med(&ours.stages, |s| s.store),
        "-"
    );
    row("total without storing", ours_no_store, prev);
    println!(
        "  {:<34} {:>9.1} {:>9}",
        "total: the whole attach_photo", ours_total, "-"
    );
    println!(
        "  {:<34} {:>9.2} {:>9.2}",
        "MB out per photo",
        ours.bytes_out as f64 / n / 1e6,
        prev_bytes as f64 / n / 1e6
    );
    println!();
    if vips.is_empty() {
        println!("  !!! vipsthumbnail NOT FOUND (or it failed): no libvips column and no ratio.");
        println!("  !!! Install Debian's libvips-tools (scripts/setup does) and run again.");
        return;
    }
    let vips_med = median(vips);
    println!(
        "  vipsthumbnail -s 2048 -o out.jpg[Q={}]: {vips_med:.1} ms per photo (whole process; about {:.1} ms of it is starting vips: a 64x48 file at its own size takes that long), {:.2} MB out",
        opts.jpeg_quality,
        median(vips_start),
        vips_bytes as f64 / n / 1e6
    );
    println!(
        "  ours / vipsthumbnail: {:.2}x (whole attach_photo), {:.2}x (without storing); previous / vipsthumbnail: {:.2}x; goal <= 0.70x",
        ours_total / vips_med,
        ours_no_store / vips_med,
        prev / vips_med
    );
}
