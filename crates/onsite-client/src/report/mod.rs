//! The service report: the complete record of one visit, made offline from the replica, as a
//! printable HTML page (English and Chinese labels, images inline) or as a PDF.
//!
//! The PDF uses the standard Helvetica fonts every PDF reader has, so it needs no font file;
//! they cover Western European text only. Labels in the PDF are in English, and characters
//! those fonts cannot show (Chinese names, for instance) print as `?`. The HTML report shows
//! everything; print it to PDF from a browser when the record holds Chinese text.

mod data;
mod html;
mod pdf;

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

    /// The same record as a PDF (A4), with the photo thumbnails and signature embedded.
    pub fn service_report_pdf(&self, job: WorkOrderId) -> Result<Vec<u8>> {
        Ok(pdf::render_pdf(&self.report_data(job)?))
    }
}
