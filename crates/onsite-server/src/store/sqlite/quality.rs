//! Quality reviews in SQL (the `quality_reviews` table): SQL only, the rules are the
//! engine's (`engine/quality.rs`).

use onsite_model::WorkOrderId;
use onsite_model::quality::QualityReview;
use onsite_model::time::format_ts;
use rusqlite::{Connection, params};

use crate::error::Result;

/// The reviews (JSON) of one job or of all, by time and id.
pub(super) fn reviews(c: &Connection, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT data FROM quality_reviews WHERE (?1 IS NULL OR work_order_id = ?1)
         ORDER BY reviewed_at, id",
    )?;
    let rows = stmt.query_map([wo.map(|w| w.to_string())], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn insert(c: &Connection, review: &QualityReview) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO quality_reviews (id, work_order_id, reviewer_id, reviewed_at, data)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        review.id.to_string(),
        review.work_order_id.to_string(),
        review.reviewer_id.to_string(),
        format_ts(&review.reviewed_at),
        serde_json::to_string(review)?
    ])?;
    Ok(())
}
