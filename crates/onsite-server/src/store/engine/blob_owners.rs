//! Which job a blob's bytes belong to. A content address is no secret (it travels in every
//! photo row), so naming a hash must not be enough to read the bytes: the server records
//! the device whose upload stored each blob, and a blob belongs to a job when that device's
//! user was ever assigned the job. A pushed photo or signature row may name a blob the
//! server holds only if its own device uploaded the bytes or they already belong to the job;
//! a technician reads a blob only through a current job it belongs to. A blob whose bytes
//! have not arrived yet may be named (the op travels before its bytes); it belongs to the
//! job once the bytes arrive from a device of someone assigned to it.

use onsite_model::{EntityKind, UserId, WorkOrder, WorkOrderId};
use serde_json::Value;

use super::super::backend::ReadTx;
use super::super::interface::Principal;
use crate::error::{Error, Result};

/// The row fields that hold a blob's sha256: the one list both ownership and garbage
/// collection read.
pub(super) const BLOB_FIELDS: [(EntityKind, &str); 3] = [
    (EntityKind::Photo, "sha256"),
    (EntityKind::Photo, "thumb_sha256"),
    (EntityKind::Signature, "png_sha256"),
];

/// The blob addresses a photo or signature row names.
pub(super) fn row_hashes(entity: EntityKind, row: &Value) -> Vec<String> {
    BLOB_FIELDS
        .iter()
        .filter(|(kind, _)| *kind == entity)
        .filter_map(|(_, f)| row.get(*f).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Whether the held blob `sha256` belongs to job `wo`. A blob stored before uploaders were
/// recorded (or catalogued by a `HEAD` that found the bytes already there) has no known
/// uploader; it belongs to the jobs whose rows already name it.
fn belongs_to(tx: &dyn ReadTx, sha256: &str, wo: WorkOrderId) -> Result<bool> {
    match tx.blob_uploader(sha256)? {
        Some(device) => match tx.device_owner(device)? {
            Some(owner) => tx.ever_assigned(wo, owner.user_id),
            None => Ok(false),
        },
        None => {
            for kind in [EntityKind::Photo, EntityKind::Signature] {
                for row in tx.job_rows(wo, kind.as_str())? {
                    let row: Value = serde_json::from_str(&row)?;
                    if row_hashes(kind, &row).iter().any(|h| h == sha256) {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        }
    }
}

/// Refuses a pushed row naming bytes the server holds that neither this device uploaded
/// nor belong to the row's job.
pub(super) fn check_row_blobs(
    tx: &dyn ReadTx,
    who: &Principal,
    entity: EntityKind,
    row: &Value,
    wo: &WorkOrder,
) -> Result<()> {
    for sha256 in row_hashes(entity, row) {
        if !tx.blob_held(&sha256)? {
            continue;
        }
        if tx.blob_uploader(&sha256)? == Some(who.device_id) || belongs_to(tx, &sha256, wo.id)? {
            continue;
        }
        return Err(Error::forbidden(
            "foreign_blob",
            format!(
                "the {entity} names blob {sha256}, whose bytes this device did not upload and which belong to no photo or signature of {}; attach the picture on this device",
                wo.number
            ),
        ));
    }
    Ok(())
}

/// Whether technician `user` may read `sha256`: a live photo or signature on a job assigned
/// to them now names it, and the bytes belong to that job.
pub(super) fn may_read(tx: &dyn ReadTx, user: UserId, sha256: &str) -> Result<bool> {
    for wo in tx.jobs_naming_blob(user, sha256)? {
        if belongs_to(tx, sha256, wo)? {
            return Ok(true);
        }
    }
    Ok(false)
}
