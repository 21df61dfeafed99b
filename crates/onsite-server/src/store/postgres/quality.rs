//! Quality reviews in SQL (the `quality_reviews` table), PostgreSQL's dialect of
//! `sqlite/quality.rs`: SQL only, the rules are the engine's (`engine/quality.rs`).

use onsite_model::WorkOrderId;
use onsite_model::quality::QualityReview;
use onsite_model::time::format_ts;

use super::tx::PgTx;
use crate::error::Result;

impl PgTx<'_, '_> {
    /// The reviews (JSON) of one job or of all, by time and id.
    pub(super) fn find_quality_reviews(&self, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        let wo = wo.map(|w| w.to_string());
        self.strings(
            "SELECT data FROM quality_reviews WHERE ($1::TEXT IS NULL OR work_order_id = $1)
             ORDER BY reviewed_at COLLATE \"C\", id COLLATE \"C\"",
            &[&wo],
        )
    }

    pub(super) fn store_quality_review(&self, review: &QualityReview) -> Result<()> {
        self.exec(
            "INSERT INTO quality_reviews (id, work_order_id, reviewer_id, reviewed_at, data)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &review.id.to_string(),
                &review.work_order_id.to_string(),
                &review.reviewer_id.to_string(),
                &format_ts(&review.reviewed_at),
                &serde_json::to_string(review)?,
            ],
        )?;
        Ok(())
    }
}
