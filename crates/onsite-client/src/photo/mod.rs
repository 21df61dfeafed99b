//! The photo pipeline: what happens to a picture between the camera and the replica.
//!
//! A file is checked before any pixel is decoded (size, format by magic bytes, declared
//! dimensions), so a decompression bomb or a HEIC photo is refused without allocating the
//! image. Then it is decoded (a JPEG by libjpeg-turbo straight at the DCT scale of n/8 that
//! still covers the stored size, other formats and JPEGs it will not read cleanly by the
//! `image` crate with [`image::Limits`] set), resized to a bounded long edge, turned upright
//! by its EXIF orientation, re-encoded as JPEG and given a thumbnail made from the resized
//! picture. The stored JPEG and the thumbnail are content-addressed blobs; the original file
//! is kept beside them until the server confirms the processed blob
//! ([`crate::Replica::on_blob_confirmed`]).

mod attach;
mod decode;
mod exif;
mod jpeg;
mod limits;
mod pipeline;
mod samples;
mod transform;

pub use attach::{AttachedPhoto, ORIGINALS_DIR};
pub use decode::InputFormat;
pub use jpeg::{DctScale, dct_scale_for};
pub use limits::PhotoOptions;
pub use pipeline::{ProcessedPhoto, StageTimes, process_photo};
pub use samples::{sample_noise_png, sample_photo};
pub use transform::fit_long_edge;
