//! The service report: the complete record of one visit, made offline from the replica, as a
//! printable HTML page (English and Chinese labels, images inline) or as a PDF.
//!
//! The PDF's labels are in the technician's language (English or Chinese). Latin text is set
//! in the standard Helvetica fonts every PDF reader has; a line they cannot show (Chinese
//! labels, a customer's Chinese name) is set in a CJK face found on the device (Noto Sans CJK
//! SC or WenQuanYi), embedded as a subset of the glyphs used. Without such a face those
//! characters print as `?`; the HTML report shows everything in any case.

mod cjk_font;
mod data;
mod html;
mod pdf;

pub use data::ReportLanguage;

use onsite_model::ids::WorkOrderId;

use crate::error::Result;
use crate::replica::Replica;
use data::ReportData;

impl Replica {
    fn report_data(&self, job: WorkOrderId) -> Result<ReportData> {
        let detail = self.job(job)?;
        let check = self.verify_signature(job)?;
        let photo_images = detail
            .photos
            .iter()
            .map(|p| {
                let sha = p.thumb_sha256.as_deref().unwrap_or(&p.sha256);
                (p.clone(), self.read_blob(sha).ok())
            })
            .collect();
        let signature_images = detail
            .signatures
            .iter()
            .map(|s| {
                s.png_sha256
                    .as_deref()
                    .and_then(|sha| self.read_blob(sha).ok())
            })
            .collect();
        Ok(ReportData {
            detail,
            check,
            photo_images,
            signature_images,
            generated_at: self.now(),
        })
    }

    /// A self-contained printable HTML page (A4, inline CSS and images) of the job's record.
    pub fn service_report_html(&self, job: WorkOrderId) -> Result<String> {
        Ok(html::render_html(&self.report_data(job)?))
    }

    /// The same record as a PDF (A4), labelled in `lang`, with the photo thumbnails and
    /// signature embedded, and a subset of the device's CJK font when the text needs one.
    pub fn service_report_pdf(&self, job: WorkOrderId, lang: ReportLanguage) -> Result<Vec<u8>> {
        let data = self.report_data(job)?;
        Ok(pdf::render_pdf(&data, lang, cjk_font::CjkFont::find()))
    }
}
