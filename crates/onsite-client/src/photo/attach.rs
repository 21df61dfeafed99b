//! Storing a processed photo on a job: the blobs and the original first, then the photo row
//! with its op in one transaction; and letting go of the original once the server has the
//! photo.

use std::path::{Path, PathBuf};
use std::time::Instant;

use onsite_model::entities::{Photo, PhotoKind};
use onsite_model::ids::{PhotoId, WorkOrderId};
use onsite_model::ops::EntityKind;
use onsite_model::time::format_ts;
use onsite_model::wire::RowKind;
use rusqlite::params;

use super::limits::{PhotoOptions, refuse, too_large};
use super::pipeline::{StageTimes, process_photo};
use crate::blobs::{insert_blob_row, write_file_atomically};
use crate::error::{Error, PhotoProblem, Result};
use crate::replica::{Replica, open_job};

pub const ORIGINALS_DIR: &str = "originals";

/// What [`Replica::attach_photo_with`] stored.
#[derive(Clone, Debug)]
pub struct AttachedPhoto {
    pub photo: Photo,
    pub bytes_in: u64,
    pub source_width: u32,
    pub source_height: u32,
    /// The size the decoder produced (see [`super::ProcessedPhoto::dct_scale`]).
    pub decoded_width: u32,
    pub decoded_height: u32,
    pub dct_scale: u8,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub original_path: PathBuf,
    pub times: StageTimes,
}

impl Replica {
    /// Attaches a photo file to the job through the photo pipeline with the default
    /// options (see [`crate::photo`]): the upright, resized JPEG and its thumbnail are stored
    /// content-addressed under the replica's blob folder, the original is kept until the
    /// server confirms the upload.
    pub fn attach_photo(
        &mut self,
        job: WorkOrderId,
        file: &Path,
        kind: PhotoKind,
        caption: Option<&str>,
    ) -> Result<Photo> {
        self.attach_photo_with(job, file, kind, caption, &PhotoOptions::default())
            .map(|a| a.photo)
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
        self.store_photo(job, file, &bytes, kind, caption, opts)
    }

    /// Attaches a photo the shell already holds in memory (a file picker's or a drop's
    /// bytes) with the default options; `name` is the technician's name for it, used in
    /// messages only.
    pub fn attach_photo_bytes(
        &mut self,
        job: WorkOrderId,
        name: &str,
        bytes: &[u8],
        kind: PhotoKind,
        caption: Option<&str>,
    ) -> Result<Photo> {
        open_job(&self.conn, job)?;
        self.store_photo(
            job,
            Path::new(name),
            bytes,
            kind,
            caption,
            &PhotoOptions::default(),
        )
        .map(|a| a.photo)
    }

    /// The pipeline and the storage over the bytes of `file` (named in messages only).
    fn store_photo(
        &mut self,
        job: WorkOrderId,
        file: &Path,
        bytes: &[u8],
        kind: PhotoKind,
        caption: Option<&str>,
        opts: &PhotoOptions,
    ) -> Result<AttachedPhoto> {
        let processed = process_photo(file, bytes, opts)?;
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
            created_at: self.now(),
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
        write_file_atomically(&original_path, bytes)?;

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
            decoded_width: processed.decoded_width,
            decoded_height: processed.decoded_height,
            dct_scale: processed.dct_scale,
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
}
