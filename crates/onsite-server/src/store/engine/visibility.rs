//! Visibility: what a user's devices see follows the job's assignee. A job entering a view
//! gives its rows fresh `server_seq`s; a job leaving it emits removals.

use onsite_model::{AssetId, CustomerId, UserId, WorkOrder, WorkOrderId};

use super::super::backend::{DocTable, JobRef, WriteTx};
use super::records::{next_seq, write_wo};
use crate::error::Result;

fn emit_removal(tx: &dyn WriteTx, user: UserId, kind: &str, id: &str) -> Result<()> {
    let seq = next_seq(tx)?;
    tx.put_removal(user, kind, id, seq)
}

/// The job (as it was) leaves `user`'s view: removals for its rows, the job, and the customer
/// and asset when no other job of theirs references them.
pub(super) fn hide_job_from(tx: &dyn WriteTx, user: UserId, wo: &WorkOrder) -> Result<()> {
    for (kind, id) in tx.job_items(wo.id)? {
        emit_removal(tx, user, &kind, &id)?;
    }
    emit_removal(tx, user, "work_order", &wo.id.to_string())?;
    hide_refs_from(tx, user, wo.id, Some(wo.customer_id), wo.asset_id)
}

pub(super) fn hide_refs_from(
    tx: &dyn WriteTx,
    user: UserId,
    except: WorkOrderId,
    customer: Option<CustomerId>,
    asset: Option<AssetId>,
) -> Result<()> {
    if let Some(cu) = customer
        && !tx.referenced_elsewhere(user, JobRef::Customer, &cu.to_string(), except)?
    {
        emit_removal(tx, user, "customer", &cu.to_string())?;
    }
    if let Some(a) = asset
        && !tx.referenced_elsewhere(user, JobRef::Asset, &a.to_string(), except)?
    {
        emit_removal(tx, user, "asset", &a.to_string())?;
    }
    Ok(())
}

pub(super) fn show_refs_to(
    tx: &dyn WriteTx,
    user: UserId,
    customer: Option<CustomerId>,
    asset: Option<AssetId>,
) -> Result<()> {
    if let Some(cu) = customer {
        tx.clear_removal(user, "customer", &cu.to_string())?;
        let seq = next_seq(tx)?;
        tx.set_doc_seq(DocTable::Customers, &cu.to_string(), seq)?;
    }
    if let Some(a) = asset {
        tx.clear_removal(user, "asset", &a.to_string())?;
        let seq = next_seq(tx)?;
        tx.set_doc_seq(DocTable::Assets, &a.to_string(), seq)?;
    }
    Ok(())
}

/// The job enters `user`'s view: its customer, asset, itself and its rows get fresh
/// `server_seq`s (in that order, so a replica sees referenced rows first). Writes `wo`.
pub(super) fn show_job_to(tx: &dyn WriteTx, user: UserId, wo: &WorkOrder) -> Result<u64> {
    show_refs_to(tx, user, Some(wo.customer_id), wo.asset_id)?;
    tx.clear_removal(user, "work_order", &wo.id.to_string())?;
    let seq = write_wo(tx, wo)?;
    for (kind, id) in tx.job_items(wo.id)? {
        tx.clear_removal(user, &kind, &id)?;
        let s = next_seq(tx)?;
        tx.set_job_row_seq(&kind, &id, s)?;
    }
    Ok(seq)
}
