//! The service KPIs over the jobs a caller may see, read in one consistent snapshot. The
//! arithmetic is the model's (`onsite_model::kpi`): this file only gathers each job's rows.

use std::collections::HashMap;

use onsite_model::kpi::{self, Group, JobFacts, KpiOptions};
use onsite_model::{ChecklistAnswer, Feedback, WorkOrder, WorkOrderId};

use super::super::backend::Backend;
use super::super::interface::{KpiGroup, KpiReport, Principal, WorkOrderFilter};
use super::access;
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
            let mut answers: HashMap<WorkOrderId, Vec<ChecklistAnswer>> = HashMap::new();
            for a in all_json::<ChecklistAnswer>(tx.rows_of_kind("checklist_answer")?)? {
                answers.entry(a.work_order_id).or_default().push(a);
            }
            let mut feedback: HashMap<WorkOrderId, Vec<Feedback>> = HashMap::new();
            for f in all_json::<Feedback>(tx.rows_of_kind("feedback")?)? {
                feedback.entry(f.work_order_id).or_default().push(f);
            }
            Ok(jobs
                .iter()
                .map(|wo| {
                    JobFacts::of_job(
                        wo,
                        answers.get(&wo.id).into_iter().flatten(),
                        feedback.get(&wo.id).map_or(&[][..], Vec::as_slice),
                    )
                })
                .collect::<Vec<_>>())
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
