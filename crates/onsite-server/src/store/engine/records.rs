//! Typed reads and writes over the storage primitives: what every part of the engine uses.

use onsite_model::{
    Asset, AssetId, Customer, CustomerId, StatusEvent, User, UserId, WorkOrder, WorkOrderId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::backend::{Counter, DocTable, ReadTx, WriteTx};
use crate::error::{Error, Result};

pub(super) fn to_json<T: Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

pub(super) fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s)?)
}

pub(super) fn all_json<T: DeserializeOwned>(rows: Vec<String>) -> Result<Vec<T>> {
    rows.iter().map(|d| from_json(d)).collect()
}

/// The next global sequence number: every row change gets its own.
pub(super) fn next_seq(tx: &dyn WriteTx) -> Result<u64> {
    tx.bump_counter(Counter::ServerSeq)
}

pub(super) fn require_wo(tx: &dyn ReadTx, id: WorkOrderId) -> Result<WorkOrder> {
    tx.load_work_order(id)?
        .map(|(wo, _)| wo)
        .ok_or_else(|| Error::not_found("unknown_work_order", format!("no work order {id}")))
}

/// Inserts or updates a work order with a fresh `server_seq`.
pub(super) fn write_wo(tx: &dyn WriteTx, wo: &WorkOrder) -> Result<u64> {
    let seq = next_seq(tx)?;
    tx.put_work_order(wo, seq)?;
    Ok(seq)
}

/// Inserts or updates a row under a job with a fresh `server_seq`.
pub(super) fn put_row(
    tx: &dyn WriteTx,
    kind: &str,
    id: &str,
    wo: WorkOrderId,
    data: &Value,
    deleted: bool,
) -> Result<u64> {
    let seq = next_seq(tx)?;
    tx.put_job_row(kind, id, wo, data, deleted, seq)?;
    Ok(seq)
}

pub(super) fn rows_of<T: DeserializeOwned>(
    tx: &dyn ReadTx,
    wo: WorkOrderId,
    kind: &str,
) -> Result<Vec<T>> {
    all_json(tx.job_rows(wo, kind)?)
}

pub(super) fn insert_status_event(tx: &dyn WriteTx, ev: &StatusEvent) -> Result<()> {
    let id = ev.id.to_string();
    if tx.load_job_row("status_event", &id)?.is_none() {
        put_row(
            tx,
            "status_event",
            &id,
            ev.work_order_id,
            &serde_json::to_value(ev)?,
            false,
        )?;
    }
    Ok(())
}

fn load_doc<T: DeserializeOwned>(
    tx: &dyn ReadTx,
    table: DocTable,
    id: impl std::fmt::Display,
) -> Result<Option<T>> {
    tx.load_doc(table, &id.to_string())?
        .map(|d| from_json(&d))
        .transpose()
}

pub(super) fn load_user(tx: &dyn ReadTx, id: UserId) -> Result<Option<User>> {
    load_doc(tx, DocTable::Users, id)
}

pub(super) fn load_customer(tx: &dyn ReadTx, id: CustomerId) -> Result<Option<Customer>> {
    load_doc(tx, DocTable::Customers, id)
}

pub(super) fn load_asset(tx: &dyn ReadTx, id: AssetId) -> Result<Option<Asset>> {
    load_doc(tx, DocTable::Assets, id)
}

/// `wo` with one field replaced, checked by the struct's own deserialisation.
pub(super) fn with_field(wo: &WorkOrder, field: &str, value: Value) -> Result<WorkOrder> {
    let mut v = serde_json::to_value(wo)?;
    v[field] = value;
    serde_json::from_value(v).map_err(|e| {
        Error::unprocessable(
            "invalid_value",
            format!("value for work order field {field} is not valid: {e}"),
        )
    })
}
