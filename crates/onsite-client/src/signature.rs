//! The customer's signature: strokes checked, rendered to a PNG blob, and bound to the
//! sha256 of the report text the signer saw, so a later edit of the report shows.

use onsite_model::entities::{Signature, StrokePoint};
use onsite_model::ids::{SignatureId, WorkOrderId};
use onsite_model::ops::EntityKind;
use onsite_model::time::{Timestamp, format_ts, serde_ts};
use onsite_model::wire::RowKind;
use serde::Serialize;
use tiny_skia::{Color, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::blobs::{content_address, insert_blob_row};
use crate::error::{Error, Result};

use crate::records::job_records;
use crate::replica::{Replica, open_job};

/// Size of the rendered image; the strokes are fitted into it whatever the pad's size was.
pub const SIGNATURE_WIDTH: u32 = 600;
pub const SIGNATURE_HEIGHT: u32 = 200;
const PADDING: f32 = 12.0;
const PEN_WIDTH: f32 = 3.0;
/// Refuses strokes a pad cannot produce (the model's [`onsite_model::entities::validate_strokes`]).
pub fn validate_strokes(strokes: &[Vec<StrokePoint>]) -> Result<()> {
    onsite_model::entities::validate_strokes(strokes).map_err(Error::Invalid)
}

/// Renders strokes to a PNG: dark anti-aliased ink on white, fitted and centred.
pub fn render_signature_png(strokes: &[Vec<StrokePoint>]) -> Result<Vec<u8>> {
    validate_strokes(strokes)?;
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in strokes.iter().flatten() {
        min_x = min_x.min(p.x);
        min_y = min_y.min(p.y);
        max_x = max_x.max(p.x);
        max_y = max_y.max(p.y);
    }
    let (w, h) = (SIGNATURE_WIDTH as f32, SIGNATURE_HEIGHT as f32);
    let span_x = (max_x - min_x).max(1.0);
    let span_y = (max_y - min_y).max(1.0);
    // Never magnify a tiny scribble more than 8 times: it would look like a thick blob.
    let scale = ((w - 2.0 * PADDING) / span_x)
        .min((h - 2.0 * PADDING) / span_y)
        .min(8.0);
    let off_x = (w - span_x * scale) / 2.0 - min_x * scale;
    let off_y = (h - span_y * scale) / 2.0 - min_y * scale;
    let at = |p: &StrokePoint| (p.x * scale + off_x, p.y * scale + off_y);

    let failed = || Error::Invalid("the signature could not be drawn; sign again".into());
    let mut pixmap = Pixmap::new(SIGNATURE_WIDTH, SIGNATURE_HEIGHT).ok_or_else(failed)?;
    pixmap.fill(Color::WHITE);
    let mut paint = Paint::default();
    paint.set_color_rgba8(16, 24, 72, 255);
    paint.anti_alias = true;
    let pen = Stroke {
        width: PEN_WIDTH,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    };
    for stroke in strokes {
        match stroke.as_slice() {
            [] => {}
            [dot] => {
                let (x, y) = at(dot);
                if let Some(circle) = PathBuilder::from_circle(x, y, PEN_WIDTH / 2.0) {
                    pixmap.fill_path(
                        &circle,
                        &paint,
                        tiny_skia::FillRule::Winding,
                        Transform::identity(),
                        None,
                    );
                }
            }
            [first, rest @ ..] => {
                let mut pb = PathBuilder::new();
                let (x, y) = at(first);
                pb.move_to(x, y);
                for p in rest {
                    let (x, y) = at(p);
                    pb.line_to(x, y);
                }
                if let Some(path) = pb.finish() {
                    pixmap.stroke_path(&path, &paint, &pen, Transform::identity(), None);
                }
            }
        }
    }
    pixmap.encode_png().map_err(|_| failed())
}

/// Whether each signature on a job still matches the report as it reads now.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureCheck {
    pub work_order_id: WorkOrderId,
    /// sha256 of the current sign-off text.
    pub report_sha256: String,
    pub signatures: Vec<SignatureStatus>,
}

impl SignatureCheck {
    /// Signed at least once, and nothing changed since any signature.
    pub fn all_match(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(|s| s.matches)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SignatureStatus {
    pub id: SignatureId,
    pub signer_name: String,
    #[serde(with = "serde_ts")]
    pub signed_at: Timestamp,
    pub png_sha256: Option<String>,
    /// The report text the signer saw is the report text now.
    pub matches: bool,
}

impl Replica {
    /// Records the signature over the job's sign-off text as it reads now: what the signer
    /// is shown on the pad.
    pub fn sign_current(
        &mut self,
        job: WorkOrderId,
        signer_name: &str,
        strokes: Vec<Vec<StrokePoint>>,
    ) -> Result<Signature> {
        let text = self.sign_off_text(job)?;
        self.add_signature(job, signer_name, strokes, &text)
    }

    /// Records the customer's signature over the report text they were shown: the strokes
    /// are checked and rendered to a PNG blob, and the signature binds the sha256 of
    /// `report_text` so [`Replica::verify_signature`] shows a later edit.
    pub fn add_signature(
        &mut self,
        job: WorkOrderId,
        signer_name: &str,
        strokes: Vec<Vec<StrokePoint>>,
        report_text: &str,
    ) -> Result<Signature> {
        let signer_name = signer_name.trim();
        Signature::validate_signer_name(signer_name).map_err(Error::Invalid)?;
        open_job(&self.conn, job)?;
        let png = render_signature_png(&strokes)?;
        let png_sha = content_address(&png);
        // The file first: a row must never point at a missing file.
        self.store_blob_file(&png_sha, &png)?;
        self.write(|w| {
            open_job(w.tx, job)?;
            insert_blob_row(w.tx, &png_sha, png.len(), "image/png", &format_ts(&w.now))?;
            let sig = Signature {
                id: SignatureId::new(w.ids),
                work_order_id: job,
                signer_name: signer_name.to_owned(),
                signed_at: w.now,
                strokes,
                png_sha256: Some(png_sha.clone()),
                report_sha256: content_address(report_text.as_bytes()),
            };
            sig.validate().map_err(Error::Invalid)?;
            w.insert(EntityKind::Signature, sig.id.to_string(), job, &sig)?;
            Ok(sig)
        })
    }

    /// Recomputes the sha256 of the job's current sign-off text and compares it with what
    /// each signer saw: `matches == false` means the report changed after signing.
    pub fn verify_signature(&self, job: WorkOrderId) -> Result<SignatureCheck> {
        let text = self.sign_off_text(job)?;
        let report_sha256 = content_address(text.as_bytes());
        let signatures: Vec<Signature> = job_records(&self.conn, job, RowKind::Signature)?;
        Ok(SignatureCheck {
            work_order_id: job,
            signatures: signatures
                .into_iter()
                .map(|s| SignatureStatus {
                    matches: s.report_sha256 == report_sha256,
                    id: s.id,
                    signer_name: s.signer_name,
                    signed_at: s.signed_at,
                    png_sha256: s.png_sha256,
                })
                .collect(),
            report_sha256,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(x: f32, y: f32) -> StrokePoint {
        StrokePoint { x, y, t: 0 }
    }

    #[test]
    fn strokes_off_any_pad_are_refused() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e9] {
            let err = validate_strokes(&[vec![pt(0.0, 0.0), pt(bad, 3.0)]]).unwrap_err();
            assert!(
                err.to_string().contains("outside any signature pad"),
                "{err}"
            );
        }
        assert!(
            validate_strokes(&[vec![pt(1.0, 1.0)]]).is_err(),
            "one point is no signature"
        );
        validate_strokes(&[vec![pt(0.0, 0.0)], vec![pt(5.0, 5.0)]]).unwrap();
    }

    #[test]
    fn a_signature_renders_to_a_png_with_ink_on_white() {
        let strokes = vec![
            (0..50)
                .map(|i| pt(i as f32 * 4.0, (i as f32 / 5.0).sin() * 30.0))
                .collect(),
            vec![pt(20.0, -40.0)],
        ];
        let png = render_signature_png(&strokes).unwrap();
        let image = image::load_from_memory(&png).unwrap().into_rgba8();
        assert_eq!(image.dimensions(), (SIGNATURE_WIDTH, SIGNATURE_HEIGHT));
        let ink = image.pixels().filter(|p| p[0] < 100 && p[2] < 140).count();
        let white = image
            .pixels()
            .filter(|p| p[0] == 255 && p[1] == 255)
            .count();
        assert!(ink > 500, "ink pixels: {ink}");
        assert!(white > ink * 5, "mostly white: {white}");
        // Anti-aliased: some pixels are between ink and paper.
        assert!(image.pixels().any(|p| p[0] > 100 && p[0] < 230));
    }
}
