//! Who may see and do what, decided here and nowhere else: the office sees every job and
//! every blob; a technician sees the jobs assigned to them now, writes to jobs that were ever
//! assigned to them, and reads blobs referenced on their current jobs.

use onsite_model::{FieldOwner, Role, UserId, WorkOrder, WorkOrderId};

use super::super::backend::ReadTx;
use super::super::interface::{Principal, WorkOrderFilter};
use crate::error::{Error, Result};

/// Refuses technicians: the office's endpoints.
pub fn require_office(who: &Principal) -> Result<()> {
    if who.user.role == Role::Technician {
        return Err(Error::forbidden(
            "office_only",
            "this is a dispatcher endpoint; technicians work through sync",
        ));
    }
    Ok(())
}

/// The filter narrowed to what `who` may list: technicians only their own jobs.
pub(super) fn scope_filter(
    who: &Principal,
    mut filter: WorkOrderFilter,
) -> Result<WorkOrderFilter> {
    if who.user.role == Role::Technician {
        if filter.assignee.is_some_and(|a| a != who.user.id) {
            return Err(Error::forbidden(
                "forbidden_job",
                "technicians can list only their own work orders",
            ));
        }
        filter.assignee = Some(who.user.id);
    }
    Ok(filter)
}

/// Whether `who` may read this job's record.
pub(super) fn may_see_job(who: &Principal, wo: &WorkOrder) -> Result<()> {
    if who.user.role == Role::Technician && wo.assignee_id != Some(who.user.id) {
        return Err(Error::forbidden(
            "forbidden_job",
            format!("work order {} is not assigned to you", wo.number),
        ));
    }
    Ok(())
}

/// Whose current jobs bound the blobs `who` may read: `None` for the office, which reads
/// every blob; a technician, only blobs referenced on a job assigned to them now.
pub(super) fn blob_reader(who: &Principal) -> Option<UserId> {
    (who.user.role == Role::Technician).then_some(who.user.id)
}

/// The job an op from `who` may write to: technicians only jobs that were ever assigned to
/// them (a job moved away still takes their pending work, for review).
pub(super) fn job_to_write(tx: &dyn ReadTx, who: &Principal, id: WorkOrderId) -> Result<WorkOrder> {
    let technician = who.user.role == Role::Technician;
    let wo = match tx.load_work_order(id)? {
        Some((wo, _)) => wo,
        None if technician => {
            return Err(Error::forbidden(
                "forbidden_job",
                format!("work order {id} is not assigned to you"),
            ));
        }
        None => {
            return Err(Error::not_found(
                "unknown_work_order",
                format!("no work order {id}"),
            ));
        }
    };
    if technician && !tx.ever_assigned(wo.id, who.user.id)? {
        return Err(Error::forbidden(
            "forbidden_job",
            format!("work order {} was never assigned to you", wo.number),
        ));
    }
    Ok(wo)
}

/// Whether `who`'s role writes what `owner` owns.
pub(super) fn may_write_field(who: &Principal, owner: FieldOwner, what: &str) -> Result<()> {
    let role = who.user.role;
    if role.may_write(owner) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "field_not_owned",
            format!("{what} is not written by a {role}"),
        ))
    }
}
