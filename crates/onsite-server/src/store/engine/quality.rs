//! Quality review: the sampled queue, the reviews a reviewer stores and what the KPIs take
//! from them. The rules (sampling, what a review must hold, which review counts) are the
//! model's (`onsite_model::quality`); this file gathers rows and stores reviews.

use std::collections::HashMap;

use onsite_model::kpi::JobFacts;
use onsite_model::quality::{
    self, QualityReview, QualityReviewId, ReviewInput, ReviewQueue, SamplingPolicy,
};
use onsite_model::sign_off::{SignOffCheck, sign_off_text};
use onsite_model::{
    ChecklistAnswer, Feedback, PartUsed, Signature, WorkOrder, WorkOrderId, WorkOrderStatus,
};

use super::super::backend::{Backend, ReadTx};
use super::super::interface::{Principal, QualityQueueFilter, QueueState, WorkOrderFilter};
use super::access;
use super::context::Engine;
use super::records::{all_json, load_asset, load_customer, require_wo};
use crate::error::{Error, Result};

impl<B: Backend> Engine<B> {
    /// The completed jobs in review, per `filter`, with the counts per technician.
    pub(super) fn quality_queue(
        &self,
        who: &Principal,
        filter: &QualityQueueFilter,
    ) -> Result<ReviewQueue> {
        access::require_office(who)?;
        let completed = WorkOrderFilter {
            status: Some(WorkOrderStatus::Completed),
            assignee: filter.technician,
            ..WorkOrderFilter::default()
        };
        let mut queue = self.read(|tx| {
            let jobs: Vec<WorkOrder> = all_json(tx.list_work_orders(&completed)?)?;
            let answers: Vec<ChecklistAnswer> = all_json(tx.rows_of_kind("checklist_answer")?)?;
            let feedback: Vec<Feedback> = all_json(tx.rows_of_kind("feedback")?)?;
            let reviews: Vec<QualityReview> = all_json(tx.quality_reviews(None)?)?;
            let facts = JobFacts::of_jobs(&jobs, answers, feedback);
            Ok(quality::review_queue(&facts, &reviews, &self.sampling()))
        })?;
        let state = filter.state.unwrap_or_default();
        queue.jobs.retain(|j| match state {
            QueueState::Pending => !j.is_reviewed(),
            QueueState::Reviewed => j.is_reviewed(),
            QueueState::All => true,
        });
        Ok(queue)
    }

    /// Stores `who`'s review of a completed job: the reviewer and the time are the token's
    /// user and the server's clock, never the body's.
    pub(super) fn review_work_order(
        &self,
        who: &Principal,
        id: WorkOrderId,
        input: &ReviewInput,
    ) -> Result<QualityReview> {
        access::require_office(who)?;
        let (marks, comment) = input
            .validate()
            .map_err(|e| Error::bad_request(e.code, e.message))?;
        self.write(|ctx| {
            let wo = require_wo(ctx.tx, id)?;
            if wo.status != WorkOrderStatus::Completed {
                return Err(Error::conflict(
                    "not_completed",
                    format!(
                        "work order {} is {}: only a completed job is reviewed",
                        wo.number, wo.status
                    ),
                ));
            }
            if !wo.is_done() {
                return Err(Error::conflict(
                    "evidence_awaited",
                    format!(
                        "work order {} is completed but its photos or signature have not all arrived; review it once they have",
                        wo.number
                    ),
                ));
            }
            let review = QualityReview {
                id: QualityReviewId::new(ctx.ids),
                work_order_id: id,
                reviewer_id: who.user.id,
                reviewed_at: ctx.now,
                marks,
                comment,
            };
            ctx.tx.insert_quality_review(&review)?;
            Ok(review)
        })
    }

    /// Every review of one job, oldest first (the last one counts).
    pub(super) fn quality_reviews_of(
        &self,
        who: &Principal,
        id: WorkOrderId,
    ) -> Result<Vec<QualityReview>> {
        access::require_office(who)?;
        self.read(|tx| {
            require_wo(tx, id)?;
            reviews_of(tx, id)
        })
    }

    fn sampling(&self) -> SamplingPolicy {
        self.sampling
    }
}

/// The job's reviews, oldest first.
pub(super) fn reviews_of(tx: &dyn ReadTx, id: WorkOrderId) -> Result<Vec<QualityReview>> {
    all_json(tx.quality_reviews(Some(id))?)
}

/// Sets each job's review marks from its latest review.
pub(super) fn apply_reviews(tx: &dyn ReadTx, facts: &mut [JobFacts]) -> Result<()> {
    let reviews: Vec<QualityReview> = all_json(tx.quality_reviews(None)?)?;
    let mut by_job: HashMap<WorkOrderId, Vec<QualityReview>> = HashMap::new();
    for r in reviews {
        by_job.entry(r.work_order_id).or_default().push(r);
    }
    for f in facts {
        if let Some(latest) = by_job.get(&f.id).and_then(|r| quality::latest(r)) {
            quality::apply_marks(&mut f.conduct, latest);
        }
    }
    Ok(())
}

/// The sign-off text as the job's record reads now (the model's text, the same the device
/// showed the signer), and whether each signature still matches it.
pub(super) fn sign_off_check(
    tx: &dyn ReadTx,
    wo: &WorkOrder,
    parts: &[PartUsed],
    signatures: &[Signature],
) -> Result<SignOffCheck> {
    let customer = load_customer(tx, wo.customer_id)?;
    let asset = match wo.asset_id {
        Some(a) => load_asset(tx, a)?,
        None => None,
    };
    let text = sign_off_text(wo, customer.as_ref(), asset.as_ref(), parts);
    Ok(SignOffCheck::of(text, signatures))
}
