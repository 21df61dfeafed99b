//! JPEG through the system's libjpeg-turbo: decoded straight at a DCT scale of 1/2, 1/4 or
//! 1/8 when the stored size allows, so the coarse part of the downscale costs almost nothing
//! (the inverse DCT makes fewer pixels instead of making all of them and throwing most
//! away), and encoded with its SIMD encoder.

use image::RgbImage;
use turbojpeg::{Compressor, Decompressor, Image, PixelFormat, Subsamp};

/// A decode scale of `eighths`/8, one of the reductions libjpeg-turbo's scaled inverse DCT
/// offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DctScale {
    eighths: u8,
}

impl DctScale {
    pub const FULL: DctScale = DctScale { eighths: 8 };

    pub fn eighths(self) -> u8 {
        self.eighths
    }

    /// The length a side of `v` pixels decodes to, rounded up as libjpeg-turbo does.
    pub fn of(self, v: u32) -> u32 {
        ((u64::from(v) * u64::from(self.eighths)).div_ceil(8)) as u32
    }
}

/// The strongest of the reductions 1/8, 1/4 and 1/2 whose output still covers `want` on both
/// sides, so that what the resizer does after it is always a shrink (never an enlargement)
/// and keeps its quality; whole (8/8) when none does. 4000×3000 for 2048×1536 decodes whole:
/// 1/2 would give 2000 px, too few. The other eighths (3/8, 5/8, 3/4, 7/8) are left out on
/// purpose: libjpeg-turbo runs their inverse DCT and upsampling in plain C, and a 12 MP JPEG
/// decoded at 5/8 took longer (101 ms) than decoded whole (95 ms), against 45 ms at 1/2.
pub fn dct_scale_for(source: (u32, u32), want: (u32, u32)) -> DctScale {
    [1u8, 2, 4]
        .into_iter()
        .map(|eighths| DctScale { eighths })
        .find(|s| s.of(source.0) >= want.0 && s.of(source.1) >= want.1)
        .unwrap_or(DctScale::FULL)
}

/// Why libjpeg-turbo did not give an image: a real error, or a warning about damaged data
/// (TurboJPEG 2.x reports both the same way). The caller falls back to the pure-Rust decoder,
/// which decides as it always did.
#[derive(Debug)]
pub(super) struct TurboFailed(pub(super) String);

impl From<turbojpeg::Error> for TurboFailed {
    fn from(e: turbojpeg::Error) -> Self {
        TurboFailed(e.to_string())
    }
}

/// The dimensions the JPEG's frame header declares.
pub(super) fn read_dimensions(bytes: &[u8]) -> Result<(u32, u32), TurboFailed> {
    let header = Decompressor::new()?.read_header(bytes)?;
    let side = |v: usize| u32::try_from(v).map_err(|_| TurboFailed(format!("side of {v} px")));
    Ok((side(header.width)?, side(header.height)?))
}

/// Decodes to RGB at `scale`; the caller has checked the declared dimensions against the
/// limits, so the one buffer allocated here is bounded.
pub(super) fn decode_scaled(
    bytes: &[u8],
    source: (u32, u32),
    scale: DctScale,
) -> Result<RgbImage, TurboFailed> {
    let (w, h) = (scale.of(source.0), scale.of(source.1));
    let (wu, hu) = (w as usize, h as usize);
    let mut pixels = vec![0u8; wu * hu * 3];
    // Asked for exactly the scaled size, TurboJPEG picks exactly that scaling factor.
    Decompressor::new()?.decompress(
        bytes,
        Image {
            pixels: pixels.as_mut_slice(),
            width: wu,
            pitch: wu * 3,
            height: hu,
            format: PixelFormat::RGB,
        },
    )?;
    RgbImage::from_raw(w, h, pixels).ok_or_else(|| TurboFailed("buffer size".into()))
}

/// Encodes at `quality` with 4:2:0 chroma, as cameras and libvips do below quality 90.
pub(super) fn encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>, TurboFailed> {
    let mut compressor = Compressor::new()?;
    compressor.set_quality(i32::from(quality.clamp(1, 100)));
    compressor.set_subsamp(Subsamp::Sub2x2);
    let width = image.width() as usize;
    Ok(compressor.compress_to_vec(Image {
        pixels: image.as_raw().as_slice(),
        width,
        pitch: width * 3,
        height: image.height() as usize,
        format: PixelFormat::RGB,
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::{fit_long_edge, sample_photo};

    fn scale_for(w: u32, h: u32, long_edge: u32) -> u8 {
        dct_scale_for((w, h), fit_long_edge(w, h, long_edge)).eighths()
    }

    #[test]
    fn the_strongest_reduction_that_still_covers_the_long_edge_is_chosen() {
        // 12 MP: 1/2 would be 2000 px, short of 2048, so it is decoded whole.
        assert_eq!(scale_for(4000, 3000, 2048), 8);
        assert_eq!(scale_for(3000, 4000, 2048), 8);
        // Exactly twice the edge: 1/2 covers it to the pixel.
        assert_eq!(scale_for(4096, 3072, 2048), 4);
        // A 48 MP phone (8000×6000) and a 50 MP one (8160×6120): 1/2, as 1/4 gives < 2048.
        assert_eq!(scale_for(8000, 6000, 2048), 4);
        assert_eq!(scale_for(8160, 6120, 2048), 4);
        assert_eq!(scale_for(6120, 8160, 2048), 4);
        // A 16384 px panorama, the longest side accepted: 1/8 gives 2048.
        assert_eq!(scale_for(16_384, 2_000, 2048), 1);
        assert_eq!(scale_for(16_376, 2_000, 2048), 2);
        // 10000 px: 1/4 gives 2500.
        assert_eq!(scale_for(10_000, 7_500, 2048), 2);
        // Already small enough, or barely larger: decoded whole.
        assert_eq!(scale_for(2048, 1536, 2048), 8);
        assert_eq!(scale_for(800, 600, 2048), 8);
        // The thumbnail's edge from 2048: 1/4 gives 512, 1/8 would give 256.
        assert_eq!(scale_for(2048, 1536, 320), 2);
    }

    #[test]
    fn the_short_side_is_covered_too_after_rounding() {
        for (w, h) in [
            (8000, 6000),
            (8001, 5999),
            (8191, 17),
            (5, 8000),
            (9999, 7183),
        ] {
            let want = fit_long_edge(w, h, 2048);
            let s = dct_scale_for((w, h), want);
            assert!(
                s.of(w) >= want.0 && s.of(h) >= want.1,
                "{w}×{h} at {}/8",
                s.eighths()
            );
        }
    }

    #[test]
    fn scaled_decode_gives_the_scaled_size_and_encode_round_trips() {
        let jpeg = sample_photo(400, 300, 5);
        assert_eq!(read_dimensions(&jpeg).unwrap(), (400, 300));
        let scale = dct_scale_for((400, 300), (200, 150));
        assert_eq!(scale.eighths(), 4);
        let half = decode_scaled(&jpeg, (400, 300), scale).unwrap();
        assert_eq!(half.dimensions(), (200, 150));
        let eighth = decode_scaled(&jpeg, (400, 300), DctScale { eighths: 1 }).unwrap();
        assert_eq!(eighth.dimensions(), (50, 38));
        let out = encode(&half, 80).unwrap();
        assert!(out.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert_eq!(read_dimensions(&out).unwrap(), (200, 150));
        // The same picture, not noise: the mean colour survives decode, scale and encode.
        let back = image::load_from_memory(&out).unwrap().into_rgb8();
        let mean = |i: &RgbImage| {
            let n = (i.width() * i.height()) as u64;
            let s = i.pixels().fold([0u64; 3], |mut s, p| {
                (0..3).for_each(|c| s[c] += u64::from(p[c]));
                s
            });
            s.map(|v| v / n)
        };
        let full = image::load_from_memory(&jpeg).unwrap().into_rgb8();
        for (a, b) in mean(&full).iter().zip(mean(&back)) {
            assert!(a.abs_diff(b) <= 3, "{:?} vs {:?}", mean(&full), mean(&back));
        }
    }

    #[test]
    fn damaged_data_is_reported_not_hidden() {
        let jpeg = sample_photo(64, 48, 2);
        assert!(read_dimensions(b"not a jpeg").is_err());
        // Cut in the entropy-coded data: TurboJPEG warns, and a warning is a failure here.
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        assert!(decode_scaled(cut, (64, 48), DctScale::FULL).is_err());
    }
}
