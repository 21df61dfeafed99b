//! The service KPIs over the jobs a caller may see, read in one consistent snapshot. The
//! arithmetic is the model's (`onsite_model::kpi`): this file only gathers each job's rows.

use onsite_model::kpi::{self, Group, JobFacts, KpiOptions};
use onsite_model::{ChecklistAnswer, Feedback, WorkOrder};

use super::super::backend::Backend;
use super::super::interface::{KpiGroup, KpiReport, Principal, WorkOrderFilter};
use super::access;
use super::closed_loop;
use super::context::Engine;
use super::records::all_json;
use crate::error::Result;

impl<B: Backend> Engine<B> {
    /// Technicians get the KPIs of their own jobs; office roles those of every job.
    pub(super) fn kpis_for(
        &self,
        who: &Principal,
        opts: &KpiOptions,
        group: Option<Group>,
    ) -> Result<KpiReport> {
        let filter = access::scope_filter(who, WorkOrderFilter::default())?;
        let facts = self.read(|tx| {
            let jobs: Vec<WorkOrder> = all_json(tx.list_work_orders(&filter)?)?;
            let answers: Vec<ChecklistAnswer> = all_json(tx.rows_of_kind("checklist_answer")?)?;
            let feedback: Vec<Feedback> = all_json(tx.rows_of_kind("feedback")?)?;
            let mut facts = JobFacts::of_jobs(&jobs, answers, feedback.clone());
            closed_loop::add_loop_facts(tx, &mut facts, &jobs, feedback, &self.loop_policy())?;
            // The review marks: the latest quality review of each job.
            super::quality::apply_reviews(tx, &mut facts)?;
            Ok(facts)
        })?;
        Ok(KpiReport {
            jobs: facts.len(),
            all: kpi::compute(&facts, opts),
            groups: group
                .map(|g| {
                    kpi::compute_by(&facts, opts, g)
                        .into_iter()
                        .map(|(key, kpis)| KpiGroup { key, kpis })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}
