//! Generated pictures for demos, tests and benches.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, RgbImage};

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
