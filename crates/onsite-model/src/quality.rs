//! Quality review (质检): which completed jobs a reviewer is given, and the reviewer's marks
//! on the four conduct standards. Pure rules; the server stores the reviews and serves the
//! queue, and the marks feed the conduct KPIs (`kpi::ConductFacts`).
//!
//! **The queue.** A completed job enters it for any of three reasons, all reported with it:
//! it was sampled ([`is_sampled`]: by default 10 % of each technician's completed jobs), it
//! was rated low (≤ 3 stars or NPS ≤ 6), or a conduct standard was answered "no".
//!
//! **Why a hash of the job id.** Whether a job is sampled is decided by the job alone: the
//! sha256 of a fixed label, the policy's seed and the job's id, read as a number in [0, 1),
//! against the rate. So the same job is sampled or not whatever order or day its technician's
//! jobs sync in, on every server instance, with nothing stored and nothing for a reviewer or
//! a technician to choose; and since sha256 spreads the ids evenly, each technician's share
//! is the rate in expectation. A running count ("every tenth job") would hit the rate more
//! exactly but would change its mind when a job synced days late lands between two others.
//! The cost of the hash: a technician's sampled count is binomial, n·r ± √(n·r·(1−r)) —
//! for 200 completed jobs at 10 %, 20 ± 4.2.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::IdSource;
use crate::ids::{CustomerId, UserId, WorkOrderId};
use crate::kinds::JobType;
use crate::kpi::{ConductAnswer, ConductFacts, ConductItem, JobFacts, ReviewMark};
use crate::text_enum::text_enum;
use crate::time::{Timestamp, serde_ts};

/// The id of one stored review (UUIDv7, made by the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QualityReviewId(pub uuid::Uuid);

impl QualityReviewId {
    pub fn new(ids: &dyn IdSource) -> Self {
        Self(ids.new_uuid())
    }
}

impl std::fmt::Display for QualityReviewId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How many completed jobs are sampled, in basis points (1/100 of a percent), and the seed
/// the hash is salted with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplingPolicy {
    /// 0 (none) to 10,000 (every job). Default 1,000: 10 %.
    pub sample_basis_points: u32,
    /// Changes which jobs are sampled, not how many. Default 0.
    #[serde(default)]
    pub seed: u64,
}

impl SamplingPolicy {
    pub const DEFAULT_BASIS_POINTS: u32 = 1_000;
    pub const MAX_BASIS_POINTS: u32 = 10_000;

    /// `percent` of completed jobs (0 to 100, to two decimals), seed 0.
    pub fn percent(percent: f64) -> Result<Self, String> {
        if !(0.0..=100.0).contains(&percent) {
            return Err(format!(
                "the quality sample is a percentage from 0 to 100, not {percent}"
            ));
        }
        Ok(Self {
            sample_basis_points: (percent * 100.0).round() as u32,
            seed: 0,
        })
    }

    /// The rate as a percentage.
    pub fn sample_percent(&self) -> f64 {
        f64::from(self.sample_basis_points) / 100.0
    }
}

impl Default for SamplingPolicy {
    fn default() -> Self {
        Self {
            sample_basis_points: Self::DEFAULT_BASIS_POINTS,
            seed: 0,
        }
    }
}

/// Whether `job` falls in the sample: the first 8 bytes of
/// sha256("onsite-quality-sample/v1" ‖ seed as 8 big-endian bytes ‖ the id's 16 bytes), as
/// a big-endian number x, satisfy x / 2^64 < basis points / 10,000.
pub fn is_sampled(job: WorkOrderId, policy: &SamplingPolicy) -> bool {
    let mut h = Sha256::new();
    h.update(b"onsite-quality-sample/v1");
    h.update(policy.seed.to_be_bytes());
    h.update(job.0.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let x = u128::from(u64::from_be_bytes(first));
    let bp = u128::from(
        policy
            .sample_basis_points
            .min(SamplingPolicy::MAX_BASIS_POINTS),
    );
    x * u128::from(SamplingPolicy::MAX_BASIS_POINTS) < bp << 64
}

/// Highest star rating that counts as low.
pub const LOW_RATING_MAX_STARS: u8 = 3;
/// Highest recommendation score that counts as low (a detractor).
pub const LOW_NPS_MAX: u8 = 6;

/// A low rating: 1 to 3 stars, or a recommendation score of 0 to 6. Values outside 1–5 and
/// 0–10 are treated as not given, as the KPIs do.
pub fn is_low_rating(rating: Option<u8>, nps: Option<u8>) -> bool {
    rating.is_some_and(|r| (1..=LOW_RATING_MAX_STARS).contains(&r))
        || nps.is_some_and(|n| n <= LOW_NPS_MAX)
}

/// Why a job is in the review queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    /// Drawn by [`is_sampled`].
    Sampled,
    /// Rated ≤ 3 stars or NPS ≤ 6 (the latest feedback counts).
    LowRating,
    /// A conduct standard answered "no".
    ConductNo,
}
text_enum!(QueueReason {
    Sampled => "sampled",
    LowRating => "low_rating",
    ConductNo => "conduct_no",
});

/// Why `job` is in the review queue, in [`QueueReason`] order; empty when it is not (not
/// completed, or none of the reasons holds).
pub fn queue_reasons(job: &JobFacts, policy: &SamplingPolicy) -> Vec<QueueReason> {
    let mut reasons = Vec::new();
    if !job.is_completed() {
        return reasons;
    }
    if is_sampled(job.id, policy) {
        reasons.push(QueueReason::Sampled);
    }
    if is_low_rating(job.rating, job.nps) {
        reasons.push(QueueReason::LowRating);
    }
    if ConductItem::ALL
        .iter()
        .any(|i| matches!(job.conduct.get(*i).answer, ConductAnswer::No { .. }))
    {
        reasons.push(QueueReason::ConductNo);
    }
    reasons
}

/// Longest comment on one item's mark, in characters.
pub const MARK_COMMENT_MAX_CHARS: usize = 500;
/// Longest overall comment of a review, in characters.
pub const REVIEW_COMMENT_MAX_CHARS: usize = 2_000;

/// One item's mark as the reviewer sends it; the item is a key checked by
/// [`ReviewInput::validate`], so an unknown one is named in the refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkInput {
    pub item: String,
    pub mark: ReviewMark,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A review as the reviewer sends it: a mark for each of the four conduct standards and an
/// optional overall comment. Who reviewed and when are the server's to set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub marks: Vec<MarkInput>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A reviewer's mark on one conduct standard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemMark {
    pub item: ConductItem,
    pub mark: ReviewMark,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A stored review of one job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityReview {
    pub id: QualityReviewId,
    pub work_order_id: WorkOrderId,
    pub reviewer_id: UserId,
    #[serde(with = "serde_ts")]
    pub reviewed_at: Timestamp,
    /// One per conduct standard, in [`ConductItem`] order.
    pub marks: Vec<ItemMark>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Why a review was refused: a stable code and a message that says what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ReviewRefusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: String) -> ReviewRefusal {
    ReviewRefusal { code, message }
}

/// Trimmed; blank is none; refused past `max` characters.
fn bounded(text: &Option<String>, what: &str, max: usize) -> Result<Option<String>, ReviewRefusal> {
    let Some(t) = text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if t.chars().count() > max {
        return Err(refuse(
            "comment_too_long",
            format!("{what} is limited to {max} characters; shorten it"),
        ));
    }
    Ok(Some(t.to_owned()))
}

impl ReviewInput {
    /// The marks in [`ConductItem`] order and the overall comment, or why not: every one of
    /// the four standards marked exactly once, known item keys only, a comment on every
    /// "fail", comments within their bounds.
    pub fn validate(&self) -> Result<(Vec<ItemMark>, Option<String>), ReviewRefusal> {
        let known = || {
            ConductItem::ALL
                .iter()
                .map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut marks: Vec<ItemMark> = Vec::with_capacity(ConductItem::ALL.len());
        for m in &self.marks {
            let item: ConductItem = m.item.parse().map_err(|_| {
                refuse(
                    "unknown_item",
                    format!(
                        "{:?} is not a conduct standard; mark these: {}",
                        m.item,
                        known()
                    ),
                )
            })?;
            if marks.iter().any(|x| x.item == item) {
                return Err(refuse(
                    "duplicate_item",
                    format!("{item} is marked twice; mark each standard once"),
                ));
            }
            let comment = bounded(
                &m.comment,
                &format!("the comment on {item}"),
                MARK_COMMENT_MAX_CHARS,
            )?;
            if m.mark == ReviewMark::Fail && comment.is_none() {
                return Err(refuse(
                    "comment_required",
                    format!("{item} is marked fail: say what was wrong in its comment"),
                ));
            }
            marks.push(ItemMark {
                item,
                mark: m.mark,
                comment,
            });
        }
        let missing: Vec<&str> = ConductItem::ALL
            .iter()
            .filter(|i| !marks.iter().any(|m| m.item == **i))
            .map(|i| i.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(refuse(
                "missing_item",
                format!(
                    "mark every conduct standard pass or fail; not marked: {}",
                    missing.join(", ")
                ),
            ));
        }
        marks.sort_by_key(|m| m.item);
        let comment = bounded(
            &self.comment,
            "the review's comment",
            REVIEW_COMMENT_MAX_CHARS,
        )?;
        Ok((marks, comment))
    }
}

/// The review that counts: the latest (by time, then id).
pub fn latest(reviews: &[QualityReview]) -> Option<&QualityReview> {
    reviews.iter().max_by_key(|r| (r.reviewed_at, r.id))
}

/// Sets the review marks of `conduct` from `review` (the one that counts).
pub fn apply_marks(conduct: &mut ConductFacts, review: &QualityReview) {
    for m in &review.marks {
        conduct.get_mut(m.item).review = Some(m.mark);
    }
}

/// A conduct standard the technician answered "no", with their reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConductNo {
    pub item: ConductItem,
    pub reason: String,
}

/// One completed job in the review queue: why it is there, what the reviewer will look at
/// first, and its reviews so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedJob {
    pub work_order_id: WorkOrderId,
    pub number: String,
    pub technician_id: Option<UserId>,
    pub customer_id: CustomerId,
    pub job_type: JobType,
    #[serde(with = "serde_ts")]
    pub completed_at: Timestamp,
    /// Empty for a job a reviewer chose to review though no reason queued it.
    pub reasons: Vec<QueueReason>,
    pub rating: Option<u8>,
    pub nps: Option<u8>,
    pub conduct_no: Vec<ConductNo>,
    /// How many reviews the job has had; the latest counts.
    pub review_count: usize,
    pub latest_review: Option<QualityReview>,
}

impl QueuedJob {
    pub fn is_reviewed(&self) -> bool {
        self.latest_review.is_some()
    }
}

/// One technician's completed jobs as the review sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechnicianQueue {
    /// `None`: completed jobs no technician is assigned to any more.
    pub technician_id: Option<UserId>,
    pub completed: u32,
    /// Drawn by the sample (whatever else queued them).
    pub sampled: u32,
    /// In the queue for any reason.
    pub queued: u32,
    /// Reviewed at least once (queued or chosen by a reviewer).
    pub reviewed: u32,
    /// Queued and not reviewed yet.
    pub pending: u32,
}

/// The review queue over a set of jobs: every completed job that is queued or reviewed,
/// oldest completion first, and the counts per technician.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewQueue {
    pub policy: SamplingPolicy,
    pub technicians: Vec<TechnicianQueue>,
    pub jobs: Vec<QueuedJob>,
}

/// The review queue of `facts` given the stored `reviews` (of any jobs, in any order).
pub fn review_queue(
    facts: &[JobFacts],
    reviews: &[QualityReview],
    policy: &SamplingPolicy,
) -> ReviewQueue {
    let mut reviews_of: HashMap<WorkOrderId, Vec<QualityReview>> = HashMap::new();
    for r in reviews {
        reviews_of
            .entry(r.work_order_id)
            .or_default()
            .push(r.clone());
    }
    let mut technicians: BTreeMap<Option<UserId>, TechnicianQueue> = BTreeMap::new();
    let mut jobs = Vec::new();
    for job in facts {
        let Some(completed_at) = job.completed_at.filter(|_| job.is_completed()) else {
            continue;
        };
        let reasons = queue_reasons(job, policy);
        let own = reviews_of.get(&job.id).map_or(&[][..], Vec::as_slice);
        let tech = technicians
            .entry(job.assignee_id)
            .or_insert_with(|| TechnicianQueue {
                technician_id: job.assignee_id,
                ..TechnicianQueue::default()
            });
        tech.completed += 1;
        tech.sampled += u32::from(reasons.contains(&QueueReason::Sampled));
        tech.queued += u32::from(!reasons.is_empty());
        tech.reviewed += u32::from(!own.is_empty());
        tech.pending += u32::from(!reasons.is_empty() && own.is_empty());
        if reasons.is_empty() && own.is_empty() {
            continue;
        }
        let conduct_no = ConductItem::ALL
            .iter()
            .filter_map(|i| match &job.conduct.get(*i).answer {
                ConductAnswer::No { reason } => Some(ConductNo {
                    item: *i,
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect();
        jobs.push(QueuedJob {
            work_order_id: job.id,
            number: job.number.clone(),
            technician_id: job.assignee_id,
            customer_id: job.customer_id,
            job_type: job.job_type,
            completed_at,
            reasons,
            rating: job.rating,
            nps: job.nps,
            conduct_no,
            review_count: own.len(),
            latest_review: latest(own).cloned(),
        });
    }
    jobs.sort_by_key(|j| (j.completed_at, j.work_order_id));
    ReviewQueue {
        policy: *policy,
        technicians: technicians.into_values().collect(),
        jobs,
    }
}

#[cfg(test)]
mod tests;
