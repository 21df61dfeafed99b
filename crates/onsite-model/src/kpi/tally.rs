//! One pass over the jobs: each job adds its counts to a [`Tally`], and a tally becomes
//! [`Kpis`] once, sorting only the durations whose medians it reports.

use crate::kinds::Priority;
use crate::kpi::facts::{ConductAnswer, ConductItem, JobFacts, JobResult, KpiOptions, ReviewMark};
use crate::kpi::report::*;
use crate::sla::SlaClock;
use crate::time::Timestamp;

/// Counts towards one SLA: met, and met or missed (clocks still running or not applicable
/// are left out).
#[derive(Default)]
struct SlaTally {
    met: u32,
    measured: u32,
}

impl SlaTally {
    fn add(&mut self, clock: SlaClock) {
        match clock {
            SlaClock::Met { .. } => {
                self.met += 1;
                self.measured += 1;
            }
            SlaClock::Missed { .. } | SlaClock::Breached { .. } => self.measured += 1,
            SlaClock::NotSet | SlaClock::NotApplicable | SlaClock::Running { .. } => {}
        }
    }

    fn rate(&self) -> Rate {
        Rate::of(self.met, self.measured)
    }
}

#[derive(Default)]
struct PriorityTally {
    response_ms: Vec<i64>,
    response_sla: SlaTally,
    resolution_ms: Vec<i64>,
    resolution_sla: SlaTally,
}

#[derive(Default, Clone, Copy)]
struct ConductTally {
    compliant: u32,
    answered_no: u32,
    unanswered: u32,
    yes_failed_in_review: u32,
    reviewed: u32,
    passed: u32,
}

#[derive(Default)]
pub(crate) struct Tally {
    jobs: u32,
    completed: u32,
    cancelled: u32,
    /// Indexed like `Priority::ALL`.
    priorities: [PriorityTally; 4],
    on_time: u32,
    arrivals_counted: u32,
    early: u32,
    late: u32,
    first_visits: u32,
    first_time_fixed: u32,
    repeated: u32,
    revisits: u32,
    rated: u32,
    rating_sum: u32,
    rated_4_or_5: u32,
    nps: NpsKpis,
    conduct: [ConductTally; 4],
    conduct_all_items: u32,
    callbacks_counted: u32,
    callbacks_done: u32,
    callbacks_on_time: u32,
    callbacks_pending: u32,
    jobs_with_complaint: u32,
    complaints: u32,
    complaints_open: u32,
    complaint_resolution_ms: Vec<i64>,
    complaints_by_deadline: u32,
    complaints_with_deadline: u32,
}

fn priority_index(p: Priority) -> usize {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

fn ms_between(from: Timestamp, to: Timestamp) -> i64 {
    (to - from).num_milliseconds()
}

impl Tally {
    /// Adds one job. `revisited` says whether a revisit of it was reported within the
    /// window: that is decided over all the jobs, not only those of this tally's group.
    pub(crate) fn add(&mut self, job: &JobFacts, revisited: bool, opts: &KpiOptions) {
        self.jobs += 1;
        self.cancelled += u32::from(job.cancelled);
        let completed = job.is_completed();
        let completed_at = job.completed_at.filter(|_| completed);
        let (respond_by, resolve_by) = job.deadlines();

        let p = &mut self.priorities[priority_index(job.priority)];
        if let Some(arrived) = job.arrived_at {
            p.response_ms.push(ms_between(job.reported_at, arrived));
        }
        p.response_sla.add(SlaClock::measure(
            Some(respond_by),
            job.arrived_at,
            job.cancelled,
            opts.now,
        ));
        p.resolution_sla.add(SlaClock::measure(
            Some(resolve_by),
            completed_at,
            job.cancelled,
            opts.now,
        ));
        if let Some(done) = completed_at {
            p.resolution_ms.push(ms_between(job.reported_at, done));
        }

        self.add_arrival(job, opts);
        self.add_callbacks_and_complaints(job, completed, opts);

        if !completed {
            return;
        }
        self.completed += 1;
        if job.revisit_of.is_some() {
            self.revisits += 1;
        } else {
            self.first_visits += 1;
            if revisited {
                self.repeated += 1;
            } else if job.result == Some(JobResult::Fixed) {
                self.first_time_fixed += 1;
            }
        }
        if let Some(r @ 1..=5) = job.rating {
            self.rated += 1;
            self.rating_sum += u32::from(r);
            self.rated_4_or_5 += u32::from(r >= 4);
        }
        if let Some(score @ 0..=10) = job.nps {
            self.nps.answered += 1;
            match score {
                9..=10 => self.nps.promoters += 1,
                7..=8 => self.nps.passives += 1,
                _ => self.nps.detractors += 1,
            }
        }
        self.add_conduct(job);
    }

    /// On time within `[start − grace, end + grace]`; a window without an end is the instant
    /// it starts. A job not arrived by the end of its (widened) window is late, unless it was
    /// cancelled; one whose window is still open is not counted yet.
    fn add_arrival(&mut self, job: &JobFacts, opts: &KpiOptions) {
        let Some(start) = job.appointment_start else {
            return;
        };
        let end = job.appointment_end.unwrap_or(start);
        let (earliest, latest) = (start - opts.arrival_grace(), end + opts.arrival_grace());
        match job.arrived_at {
            Some(at) if at < earliest => self.early += 1,
            Some(at) if at > latest => self.late += 1,
            Some(_) => self.on_time += 1,
            None if !job.cancelled && opts.now > latest => self.late += 1,
            None => return,
        }
        self.arrivals_counted += 1;
    }

    /// A "yes" counts for the item unless a reviewer failed it; a "no" and an unanswered
    /// item count against it whatever the review says.
    fn add_conduct(&mut self, job: &JobFacts) {
        let mut all_ok = true;
        for (tally, &item) in self.conduct.iter_mut().zip(ConductItem::ALL) {
            let c = job.conduct.get(item);
            let failed = c.review == Some(ReviewMark::Fail);
            let ok = match c.answer {
                ConductAnswer::Yes if failed => {
                    tally.yes_failed_in_review += 1;
                    false
                }
                ConductAnswer::Yes => true,
                ConductAnswer::No { .. } => {
                    tally.answered_no += 1;
                    false
                }
                ConductAnswer::Unanswered => {
                    tally.unanswered += 1;
                    false
                }
            };
            tally.compliant += u32::from(ok);
            all_ok &= ok;
            if let Some(mark) = c.review {
                tally.reviewed += 1;
                tally.passed += u32::from(mark == ReviewMark::Pass);
            }
        }
        self.conduct_all_items += u32::from(all_ok);
    }

    fn add_callbacks_and_complaints(&mut self, job: &JobFacts, completed: bool, opts: &KpiOptions) {
        for cb in &job.callbacks {
            // A callback done ahead of its due time is settled, so it counts already.
            if cb.due_at > opts.now && cb.done_at.is_none() {
                self.callbacks_pending += 1;
                continue;
            }
            self.callbacks_counted += 1;
            if let Some(done) = cb.done_at {
                self.callbacks_done += 1;
                self.callbacks_on_time += u32::from(done <= cb.due_at);
            }
        }
        self.jobs_with_complaint += u32::from(completed && !job.complaints.is_empty());
        for c in &job.complaints {
            self.complaints += 1;
            match c.resolved_at {
                Some(at) => self
                    .complaint_resolution_ms
                    .push(ms_between(c.opened_at, at)),
                None => self.complaints_open += 1,
            }
            if let Some(deadline) = c.deadline {
                match c.resolved_at {
                    Some(at) => {
                        self.complaints_with_deadline += 1;
                        self.complaints_by_deadline += u32::from(at <= deadline);
                    }
                    None if opts.now > deadline => self.complaints_with_deadline += 1,
                    None => {}
                }
            }
        }
    }

    pub(crate) fn into_kpis(self) -> Kpis {
        let mut all_response = Vec::new();
        let mut all_resolution = Vec::new();
        let (mut response_sla, mut resolution_sla) = (SlaTally::default(), SlaTally::default());
        let mut by_priority = Vec::with_capacity(4);
        for (p, &priority) in self.priorities.into_iter().zip(Priority::ALL).rev() {
            all_response.extend_from_slice(&p.response_ms);
            all_resolution.extend_from_slice(&p.resolution_ms);
            response_sla.met += p.response_sla.met;
            response_sla.measured += p.response_sla.measured;
            resolution_sla.met += p.resolution_sla.met;
            resolution_sla.measured += p.resolution_sla.measured;
            by_priority.push(PriorityKpis {
                priority,
                response_time: durations(p.response_ms),
                response_sla: p.response_sla.rate(),
                resolution_time: durations(p.resolution_ms),
                resolution_sla: p.resolution_sla.rate(),
            });
        }
        let nps = NpsKpis {
            score: (self.nps.answered > 0).then(|| {
                100.0 * (f64::from(self.nps.promoters) - f64::from(self.nps.detractors))
                    / f64::from(self.nps.answered)
            }),
            ..self.nps
        };
        let conduct = self
            .conduct
            .iter()
            .zip(ConductItem::ALL)
            .map(|(t, &item)| ConductKpis {
                item,
                compliance: Rate::of(t.compliant, self.completed),
                answered_no: t.answered_no,
                unanswered: t.unanswered,
                yes_failed_in_review: t.yes_failed_in_review,
                review_pass: Rate::of(t.passed, t.reviewed),
            })
            .collect();
        Kpis {
            jobs: self.jobs,
            completed: self.completed,
            cancelled: self.cancelled,
            response_time: durations(all_response),
            response_sla: response_sla.rate(),
            resolution_time: durations(all_resolution),
            resolution_sla: resolution_sla.rate(),
            by_priority,
            arrival: ArrivalKpis {
                on_time: Rate::of(self.on_time, self.arrivals_counted),
                early: self.early,
                late: self.late,
            },
            first_time_fix: Rate::of(self.first_time_fixed, self.first_visits),
            repeat_visit: Rate::of(self.repeated, self.first_visits),
            revisits: self.revisits,
            csat: CsatKpis {
                average_rating: (self.rated > 0)
                    .then(|| f64::from(self.rating_sum) / f64::from(self.rated)),
                satisfied: Rate::of(self.rated_4_or_5, self.rated),
                response: Rate::of(self.rated, self.completed),
            },
            nps,
            conduct,
            conduct_all_items: Rate::of(self.conduct_all_items, self.completed),
            callbacks: CallbackKpis {
                completion: Rate::of(self.callbacks_done, self.callbacks_counted),
                on_time: Rate::of(self.callbacks_on_time, self.callbacks_counted),
                pending: self.callbacks_pending,
            },
            complaints: ComplaintKpis {
                rate: Rate::of(self.jobs_with_complaint, self.completed),
                count: self.complaints,
                open: self.complaints_open,
                resolution_time: durations(self.complaint_resolution_ms),
                resolved_by_deadline: Rate::of(
                    self.complaints_by_deadline,
                    self.complaints_with_deadline,
                ),
            },
        }
    }
}

/// Median and mean of durations given in milliseconds, in minutes.
pub(crate) fn durations(mut ms: Vec<i64>) -> DurationStats {
    let count = ms.len();
    if count == 0 {
        return DurationStats::default();
    }
    ms.sort_unstable();
    let median_ms = if count % 2 == 1 {
        ms[count / 2] as f64
    } else {
        (ms[count / 2 - 1] as f64 + ms[count / 2] as f64) / 2.0
    };
    let sum: i128 = ms.iter().map(|&m| i128::from(m)).sum();
    DurationStats {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        median_minutes: Some(median_ms / 60_000.0),
        mean_minutes: Some(sum as f64 / count as f64 / 60_000.0),
    }
}
