//! Quality review (质检) for the office: the sampled queue, a reviewer's marks on a completed
//! job, and a job's reviews. Thin: the rules are the model's and the engine's.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use onsite_model::WorkOrderId;
use onsite_model::quality::{QualityReview, ReviewInput, ReviewQueue};

use super::{ApiJson, ApiQuery, AppState, Office, blocking, created};
use crate::error::{Error, Result};
use crate::store::QualityQueueFilter;

fn job_id(s: &str) -> Result<WorkOrderId> {
    s.parse()
        .map_err(|_| Error::bad_request("bad_id", format!("{s:?} is not a valid work order id")))
}

/// `GET /api/v1/quality/queue?state=pending|reviewed|all&technician=<user id>`.
pub async fn queue(
    State(s): State<AppState>,
    Office(who): Office,
    ApiQuery(filter): ApiQuery<QualityQueueFilter>,
) -> Result<Json<ReviewQueue>> {
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.quality_queue(&who, &filter)).await?,
    ))
}

/// `POST /api/v1/work-orders/{id}/quality-reviews`: 201 with the stored review.
pub async fn review(
    State(s): State<AppState>,
    Office(who): Office,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<Response> {
    let id = job_id(&id)?;
    let store = s.store.clone();
    let stored = blocking(move || store.review_work_order(&who, id, &input)).await?;
    Ok(created(stored))
}

/// `GET /api/v1/work-orders/{id}/quality-reviews`: oldest first; the last one counts.
pub async fn reviews(
    State(s): State<AppState>,
    Office(who): Office,
    Path(id): Path<String>,
) -> Result<Json<Vec<QualityReview>>> {
    let id = job_id(&id)?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.quality_reviews(&who, id)).await?,
    ))
}
