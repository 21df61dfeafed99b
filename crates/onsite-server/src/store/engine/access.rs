//! Who may see and do what, decided here and nowhere else: the office sees every job and
//! every blob; a technician sees the jobs assigned to them now, writes to jobs that were ever
//! assigned to them, and reads blobs referenced on their current jobs.

use onsite_model::{FieldOwner, Role, StatusAction, UserId, WorkOrder, WorkOrderId};

use super::super::backend::{ReadTx, StoredRow};
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

/// The office console is the office's: technicians are refused at sign-in (after their
/// password is checked, so the answer tells a stranger nothing) and on every request.
pub fn may_use_console(user: &onsite_model::User) -> Result<()> {
    if user.role == Role::Technician {
        return Err(Error::forbidden(
            "office_only",
            "the office console is for dispatchers and administrators; technicians sign in on the Onsite app",
        ));
    }
    Ok(())
}

/// Office staff add technicians and dispatchers; only an administrator adds an administrator.
pub fn may_add_user(who: &Principal, role: Role) -> Result<()> {
    require_office(who)?;
    if role == Role::Admin && who.user.role != Role::Admin {
        return Err(Error::forbidden(
            "admin_only",
            "only an administrator may add an administrator; ask one to add this user",
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

/// Refuses an op on a stored row that lives under another job than the op names: an op is
/// authorised against the job its row really belongs to, never the one it claims.
pub(super) fn row_on_job(kind: &str, id: &str, stored: &StoredRow, job: &WorkOrder) -> Result<()> {
    let owner = stored
        .data
        .get("work_order_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<WorkOrderId>().ok());
    if owner == Some(job.id) {
        return Ok(());
    }
    Err(Error::forbidden(
        "wrong_job",
        format!(
            "{kind} {id} belongs to another work order, not {}; an op may change only rows of the job it names",
            job.number
        ),
    ))
}

/// Whether `who`'s role takes this status step on a device (the model's rule: technicians
/// the steps of the visit; office steps are taken through the office API).
pub(super) fn may_take_step(who: &Principal, action: StatusAction) -> Result<()> {
    let role = who.user.role;
    if action.actor() != Role::Technician {
        return Err(Error::unprocessable(
            "invalid_transition",
            format!("{action} is done in the office, not on a device"),
        ));
    }
    if !action.may_be_taken_by(role) {
        return Err(Error::forbidden(
            "step_not_allowed",
            format!(
                "{action} is recorded by the technician doing the visit; a {role}'s device cannot record it"
            ),
        ));
    }
    Ok(())
}
