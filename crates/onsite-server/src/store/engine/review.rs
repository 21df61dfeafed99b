//! What the office reads and decides about: work orders, a job's whole record, conflicts and
//! their resolution, and the evidence that releases a completed job.

use onsite_model::wire::ConflictRecord;
use onsite_model::{ConflictId, DeviceId, SlaState, StatusEvent, WorkOrder, WorkOrderId};
use onsite_model::{PartUsed, Signature};
use serde_json::Value;

use super::super::backend::Backend;
use super::super::interface::{WorkOrderDetail, WorkOrderFilter};
use super::context::Engine;
use super::merge::resolve;
use super::records::{all_json, require_wo, rows_of, write_wo};
use crate::error::Result;

impl<B: Backend> Engine<B> {
    pub(super) fn get_work_order(&self, id: WorkOrderId) -> Result<WorkOrder> {
        self.read(|tx| require_wo(tx, id))
    }

    pub(super) fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<WorkOrder>> {
        self.read(|tx| all_json(tx.list_work_orders(filter)?))
    }

    pub(super) fn work_order_detail(&self, id: WorkOrderId) -> Result<WorkOrderDetail> {
        let now = self.clock.now();
        self.read(|tx| {
            let work_order = require_wo(tx, id)?;
            let mut history: Vec<StatusEvent> = rows_of(tx, id, "status_event")?;
            history.sort_by_key(|e| e.at);
            let parts: Vec<PartUsed> = rows_of(tx, id, "part_used")?;
            let signatures: Vec<Signature> = rows_of(tx, id, "signature")?;
            let sign_off = super::quality::sign_off_check(tx, &work_order, &parts, &signatures)?;
            Ok(WorkOrderDetail {
                quality_reviews: Some(super::quality::reviews_of(tx, id)?),
                sign_off,
                sla: SlaState::of(&work_order, now),
                history,
                checklist_answers: rows_of(tx, id, "checklist_answer")?,
                notes: rows_of(tx, id, "note")?,
                parts,
                time_entries: rows_of(tx, id, "time_entry")?,
                feedback: rows_of(tx, id, "feedback")?,
                photos: rows_of(tx, id, "photo")?,
                signatures,
                conflicts: rows_of(tx, id, "conflict")?,
                closed_loop: Some(super::closed_loop::loop_record(
                    tx,
                    &work_order,
                    &self.loop_policy(),
                    now,
                )?),
                work_order,
            })
        })
    }

    pub(super) fn resolve_conflict(&self, id: ConflictId, keep: Value) -> Result<ConflictRecord> {
        self.write(|ctx| resolve(ctx, id, keep).map(|(rec, _)| rec))
    }

    pub(super) fn list_conflicts(&self, open_only: bool) -> Result<Vec<ConflictRecord>> {
        let all: Vec<ConflictRecord> = self.read(|tx| all_json(tx.rows_of_kind("conflict")?))?;
        Ok(all
            .into_iter()
            .filter(|c| !open_only || c.resolved_at.is_none())
            .collect())
    }

    /// `uploader` is the device whose upload just stored the bytes (`None` when the
    /// catalogue learns of bytes already there): what makes them belong to its jobs.
    pub(super) fn record_blob(
        &self,
        sha256: &str,
        size: u64,
        uploader: Option<DeviceId>,
    ) -> Result<Vec<WorkOrderId>> {
        if uploader.is_none() && self.read(|tx| tx.blob_held(sha256))? {
            return Ok(Vec::new());
        }
        self.write(|ctx| {
            let held = ctx.tx.blob_held(sha256)?;
            if !held {
                ctx.tx.insert_blob(sha256, size, ctx.now)?;
            }
            if let Some(device) = uploader {
                ctx.tx.set_blob_uploader(sha256, device)?;
            }
            if held {
                return Ok(Vec::new());
            }
            let mut released = Vec::new();
            for id in ctx.tx.jobs_awaiting(sha256)? {
                let mut wo = require_wo(ctx.tx, id)?;
                wo.awaiting_evidence.retain(|h| h != sha256);
                // A fresh server_seq: the devices that see the job pull the change.
                write_wo(ctx.tx, &wo)?;
                released.push(id);
            }
            Ok(released)
        })
    }
}
