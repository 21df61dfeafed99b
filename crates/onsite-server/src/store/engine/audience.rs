//! Whom a write concerns: every write transaction runs over [`Watched`], which passes each
//! primitive through and notes what the write makes visible to whom, by the same membership
//! a pull uses (a user sees their own row, the jobs assigned to them now with their rows,
//! customers and assets, and the removals addressed to them). When the write commits, the
//! users it concerns hear of it through a [`ChangeNotice`]; a write that hands out no
//! `server_seq` changes nothing a device pulls and sends none.
//!
//! It also keeps what one write would otherwise ask its database again and again: the
//! `server_seq` counter (read once, counted here, written back once before commit; the
//! backend holds the counter's lock for the whole transaction) and the work orders it loaded
//! or wrote, who was ever assigned each job it checked, and the job rows (a push of 500 ops on one job parses that job once, and the
//! row an op names is read once for its check and its apply).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};

use onsite_model::merge::FieldStamp;
use onsite_model::quality::QualityReview;
use onsite_model::time::Timestamp;
use onsite_model::wire::RowChange;
use onsite_model::{Asset, Customer, DeviceId, User, UserId, WorkOrder, WorkOrderId};
use serde_json::Value;

use super::super::backend::{
    Counter, DeviceOwner, DocTable, JobRef, ReadTx, StoredOutcome, StoredRow, TokenHolder,
    WebSessionRow, WriteTx,
};
use super::super::interface::{DeviceInfo, WorkOrderFilter};
use crate::error::Result;
use crate::live::ChangeNotice;

/// Jobs whose assignee is looked up at the end of a write; a write touching more (a large
/// import, say) tells everyone instead.
const MAX_JOBS_RESOLVED: usize = 256;

#[derive(Default)]
struct Seen {
    last_seq: Option<u64>,
    users: BTreeSet<UserId>,
    /// Jobs whose rows changed, resolved to their assignee at the end of the write.
    jobs: BTreeSet<WorkOrderId>,
    everyone: bool,
}

/// The `server_seq` counter as this write has it: its value, and whether the database's
/// copy is behind.
#[derive(Clone, Copy)]
struct Seq {
    value: u64,
    unwritten: bool,
}

/// A write transaction that notes whom its changes concern.
pub(super) struct Watched<'a> {
    inner: &'a dyn WriteTx,
    seen: RefCell<Seen>,
    seq: Cell<Option<Seq>>,
    work_orders: RefCell<HashMap<WorkOrderId, Option<(WorkOrder, u64)>>>,
    job_rows: RefCell<HashMap<(String, String), Option<StoredRow>>>,
    assigned: RefCell<HashMap<(WorkOrderId, UserId), bool>>,
}

impl<'a> Watched<'a> {
    pub(super) fn new(inner: &'a dyn WriteTx) -> Self {
        Self {
            inner,
            seen: RefCell::new(Seen::default()),
            seq: Cell::new(None),
            work_orders: RefCell::new(HashMap::new()),
            job_rows: RefCell::new(HashMap::new()),
            assigned: RefCell::new(HashMap::new()),
        }
    }

    /// Reads the job rows of `keys` in one go, so the ops of a push that name them find them
    /// here (a key with no row is remembered as absent).
    pub(super) fn prime_job_rows(&self, keys: Vec<(String, String)>) -> Result<()> {
        let unknown: Vec<(String, String)> = {
            let known = self.job_rows.borrow();
            keys.into_iter()
                .filter(|k| !known.contains_key(k))
                .collect()
        };
        if unknown.is_empty() {
            return Ok(());
        }
        let found = self.inner.load_job_rows(&unknown)?;
        let mut known = self.job_rows.borrow_mut();
        for key in unknown {
            known.insert(key, None);
        }
        for (kind, id, row) in found {
            known.insert((kind, id), Some(row));
        }
        Ok(())
    }

    /// Writes the counted `server_seq` back; runs once, before the transaction commits.
    pub(super) fn flush(&self) -> Result<()> {
        if let Some(seq) = self.seq.get().filter(|s| s.unwritten) {
            self.inner.set_counter(Counter::ServerSeq, seq.value)?;
            self.seq.set(Some(Seq {
                unwritten: false,
                ..seq
            }));
        }
        Ok(())
    }

    /// The notice for what this write changed, `None` when it changed nothing a device pulls.
    /// Runs inside the transaction, so a job's assignee is the one it commits with.
    pub(super) fn notice(&self) -> Result<Option<ChangeNotice>> {
        let seen = self.seen.borrow();
        let Some(seq) = seen.last_seq else {
            return Ok(None);
        };
        if seen.everyone || seen.jobs.len() > MAX_JOBS_RESOLVED {
            return Ok(Some(ChangeNotice::everyone(seq)));
        }
        let mut users = seen.users.clone();
        for &job in &seen.jobs {
            if let Some(assignee) = self
                .load_work_order(job)?
                .and_then(|(wo, _)| wo.assignee_id)
            {
                users.insert(assignee);
            }
        }
        Ok(Some(ChangeNotice::to_users(
            seq,
            users.into_iter().collect(),
        )))
    }

    fn user(&self, user: UserId) {
        self.seen.borrow_mut().users.insert(user);
    }
}

impl ReadTx for Watched<'_> {
    fn counter(&self, name: Counter) -> Result<u64> {
        match self.seq.get() {
            Some(seq) if name == Counter::ServerSeq => Ok(seq.value),
            _ => self.inner.counter(name),
        }
    }
    fn load_work_order(&self, id: WorkOrderId) -> Result<Option<(WorkOrder, u64)>> {
        if let Some(known) = self.work_orders.borrow().get(&id) {
            return Ok(known.clone());
        }
        let loaded = self.inner.load_work_order(id)?;
        self.work_orders.borrow_mut().insert(id, loaded.clone());
        Ok(loaded)
    }
    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<String>> {
        self.inner.list_work_orders(filter)
    }
    fn load_job_row(&self, kind: &str, id: &str) -> Result<Option<StoredRow>> {
        let key = (kind.to_owned(), id.to_owned());
        if let Some(known) = self.job_rows.borrow().get(&key) {
            return Ok(known.clone());
        }
        let loaded = self.inner.load_job_row(kind, id)?;
        self.job_rows.borrow_mut().insert(key, loaded.clone());
        Ok(loaded)
    }
    fn load_job_rows(&self, keys: &[(String, String)]) -> Result<Vec<(String, String, StoredRow)>> {
        self.inner.load_job_rows(keys)
    }
    fn job_rows(&self, wo: WorkOrderId, kind: &str) -> Result<Vec<String>> {
        self.inner.job_rows(wo, kind)
    }
    fn rows_of_kind(&self, kind: &str) -> Result<Vec<String>> {
        self.inner.rows_of_kind(kind)
    }
    fn job_items(&self, wo: WorkOrderId) -> Result<Vec<(String, String)>> {
        self.inner.job_items(wo)
    }
    fn field_stamp(&self, entity: &str, id: &str, field: &str) -> Result<Option<FieldStamp>> {
        self.inner.field_stamp(entity, id, field)
    }
    fn load_doc(&self, table: DocTable, id: &str) -> Result<Option<String>> {
        self.inner.load_doc(table, id)
    }
    fn loop_rows(&self, kind: &str, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        self.inner.loop_rows(kind, wo)
    }
    fn load_loop_row(&self, kind: &str, id: &str) -> Result<Option<String>> {
        self.inner.load_loop_row(kind, id)
    }
    fn list_docs(&self, table: DocTable) -> Result<Vec<String>> {
        self.inner.list_docs(table)
    }
    fn user_by_username(&self, username: &str) -> Result<Option<(String, String)>> {
        self.inner.user_by_username(username)
    }
    fn ever_assigned(&self, wo: WorkOrderId, user: UserId) -> Result<bool> {
        if let Some(&known) = self.assigned.borrow().get(&(wo, user)) {
            return Ok(known);
        }
        let answer = self.inner.ever_assigned(wo, user)?;
        self.assigned.borrow_mut().insert((wo, user), answer);
        Ok(answer)
    }
    fn referenced_elsewhere(
        &self,
        user: UserId,
        what: JobRef,
        id: &str,
        except: WorkOrderId,
    ) -> Result<bool> {
        self.inner.referenced_elsewhere(user, what, id, except)
    }
    fn visible_rows(
        &self,
        user: UserId,
        cursor: u64,
        limit: u64,
        with_removals: bool,
    ) -> Result<Vec<RowChange>> {
        self.inner.visible_rows(user, cursor, limit, with_removals)
    }
    fn device_owner(&self, device: DeviceId) -> Result<Option<DeviceOwner>> {
        self.inner.device_owner(device)
    }
    fn device_by_token(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.inner.device_by_token(token_hash)
    }
    fn devices(&self, only: Option<DeviceId>) -> Result<Vec<DeviceInfo>> {
        self.inner.devices(only)
    }
    fn device_acked_seq(&self, device: DeviceId) -> Result<u64> {
        self.inner.device_acked_seq(device)
    }
    fn web_session(&self, id_hash: &str) -> Result<Option<WebSessionRow>> {
        self.inner.web_session(id_hash)
    }
    fn stored_outcome(&self, device: DeviceId, seq: u64) -> Result<Option<String>> {
        self.inner.stored_outcome(device, seq)
    }
    fn acked_through(&self, device: DeviceId, high_water: u64) -> Result<Option<u64>> {
        self.inner.acked_through(device, high_water)
    }
    fn blob_held(&self, sha256: &str) -> Result<bool> {
        self.inner.blob_held(sha256)
    }
    fn jobs_awaiting(&self, sha256: &str) -> Result<Vec<WorkOrderId>> {
        self.inner.jobs_awaiting(sha256)
    }
    fn blob_uploader(&self, sha256: &str) -> Result<Option<DeviceId>> {
        self.inner.blob_uploader(sha256)
    }
    fn jobs_naming_blob(&self, user: UserId, sha256: &str) -> Result<Vec<WorkOrderId>> {
        self.inner.jobs_naming_blob(user, sha256)
    }
    fn quality_reviews(&self, wo: Option<WorkOrderId>) -> Result<Vec<String>> {
        self.inner.quality_reviews(wo)
    }
    fn job_row_field_values(&self, kind: &str, field: &str, since_seq: u64) -> Result<Vec<String>> {
        self.inner.job_row_field_values(kind, field, since_seq)
    }
}

impl WriteTx for Watched<'_> {
    fn bump_counter(&self, name: Counter) -> Result<u64> {
        if name != Counter::ServerSeq {
            return self.inner.bump_counter(name);
        }
        let next = match self.seq.get() {
            Some(seq) => Seq {
                value: seq.value + 1,
                unwritten: true,
            },
            None => Seq {
                value: self.inner.bump_counter(name)?,
                unwritten: false,
            },
        };
        self.seq.set(Some(next));
        self.seen.borrow_mut().last_seq = Some(next.value);
        Ok(next.value)
    }
    fn set_counter(&self, name: Counter, value: u64) -> Result<()> {
        if name == Counter::ServerSeq {
            self.seen.borrow_mut().last_seq = Some(value);
            self.seq.set(Some(Seq {
                value,
                unwritten: false,
            }));
        }
        self.inner.set_counter(name, value)
    }

    fn put_work_order(&self, wo: &WorkOrder, seq: u64) -> Result<()> {
        if let Some(assignee) = wo.assignee_id {
            self.user(assignee);
        }
        self.inner.put_work_order(wo, seq)?;
        self.work_orders
            .borrow_mut()
            .insert(wo.id, Some((wo.clone(), seq)));
        Ok(())
    }
    fn put_job_row(
        &self,
        kind: &str,
        id: &str,
        wo: WorkOrderId,
        data: &Value,
        deleted: bool,
        seq: u64,
    ) -> Result<()> {
        self.seen.borrow_mut().jobs.insert(wo);
        self.inner.put_job_row(kind, id, wo, data, deleted, seq)?;
        let row = StoredRow {
            data: data.clone(),
            deleted,
            seq,
        };
        self.job_rows
            .borrow_mut()
            .insert((kind.to_owned(), id.to_owned()), Some(row));
        Ok(())
    }
    /// Only used as a job enters a view, whose work order is written in the same write.
    fn set_job_row_seq(&self, kind: &str, id: &str, seq: u64) -> Result<()> {
        self.inner.set_job_row_seq(kind, id, seq)?;
        if let Some(Some(row)) = self
            .job_rows
            .borrow_mut()
            .get_mut(&(kind.to_owned(), id.to_owned()))
        {
            row.seq = seq;
        }
        Ok(())
    }
    fn put_field_stamp(&self, entity: &str, id: &str, field: &str, s: &FieldStamp) -> Result<()> {
        self.inner.put_field_stamp(entity, id, field, s)
    }
    fn record_assignment(&self, wo: WorkOrderId, user: UserId, at: Timestamp) -> Result<()> {
        self.inner.record_assignment(wo, user, at)?;
        self.assigned.borrow_mut().insert((wo, user), true);
        Ok(())
    }
    fn put_removal(&self, user: UserId, kind: &str, id: &str, seq: u64) -> Result<()> {
        self.user(user);
        self.inner.put_removal(user, kind, id, seq)
    }
    fn clear_removal(&self, user: UserId, kind: &str, id: &str) -> Result<()> {
        self.inner.clear_removal(user, kind, id)
    }

    fn insert_user(&self, user: &User, password_hash: &str, at: Timestamp, seq: u64) -> Result<()> {
        self.user(user.id);
        self.inner.insert_user(user, password_hash, at, seq)
    }
    /// A new customer is on nobody's job yet; an edited one may be on anyone's: everyone
    /// re-checks (office edits of customers are rare; a pull that finds nothing is cheap).
    // Office records that no device pulls: nobody to tell.
    fn put_loop_row(&self, kind: &str, id: &str, wo: WorkOrderId, data: &str) -> Result<()> {
        self.inner.put_loop_row(kind, id, wo, data)
    }
    /// Office data no device pulls: it concerns nobody's feed.
    fn insert_quality_review(&self, review: &QualityReview) -> Result<()> {
        self.inner.insert_quality_review(review)
    }
    fn put_customer(&self, customer: &Customer, seq: u64) -> Result<()> {
        self.reference_written(DocTable::Customers, &customer.id.to_string())?;
        self.inner.put_customer(customer, seq)
    }
    fn put_asset(&self, asset: &Asset, seq: u64) -> Result<()> {
        self.reference_written(DocTable::Assets, &asset.id.to_string())?;
        self.inner.put_asset(asset, seq)
    }
    /// Only used as a job enters a view, whose work order is written in the same write.
    fn set_doc_seq(&self, table: DocTable, id: &str, seq: u64) -> Result<()> {
        self.inner.set_doc_seq(table, id, seq)
    }

    fn insert_device(
        &self,
        device: DeviceId,
        user: UserId,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.inner.insert_device(device, user, name, token_hash, at)
    }
    fn reissue_device_token(
        &self,
        device: DeviceId,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.inner
            .reissue_device_token(device, name, token_hash, at)
    }
    fn touch_device(&self, device: DeviceId, at: Timestamp) -> Result<()> {
        self.inner.touch_device(device, at)
    }
    fn revoke_device(&self, device: DeviceId, at: Timestamp) -> Result<bool> {
        self.inner.revoke_device(device, at)
    }
    fn set_device_acked(&self, device: DeviceId, acked: u64, at: Timestamp) -> Result<()> {
        self.inner.set_device_acked(device, acked, at)
    }
    // Console sessions concern no device: nothing to note.
    fn insert_web_session(&self, id_hash: &str, user: UserId, at: Timestamp) -> Result<()> {
        self.inner.insert_web_session(id_hash, user, at)
    }
    fn touch_web_session(&self, id_hash: &str, at: Timestamp) -> Result<()> {
        self.inner.touch_web_session(id_hash, at)
    }
    fn delete_web_session(&self, id_hash: &str) -> Result<bool> {
        self.inner.delete_web_session(id_hash)
    }
    fn delete_web_sessions_before(
        &self,
        created_before: Timestamp,
        used_before: Timestamp,
    ) -> Result<u64> {
        self.inner
            .delete_web_sessions_before(created_before, used_before)
    }
    fn store_outcomes(
        &self,
        device: DeviceId,
        at: Timestamp,
        outcomes: &[StoredOutcome],
    ) -> Result<()> {
        self.inner.store_outcomes(device, at, outcomes)
    }

    fn insert_blob(&self, sha256: &str, size: u64, at: Timestamp) -> Result<()> {
        self.inner.insert_blob(sha256, size, at)
    }

    fn set_blob_uploader(&self, sha256: &str, device: DeviceId) -> Result<()> {
        self.inner.set_blob_uploader(sha256, device)
    }

    fn delete_blob(&self, sha256: &str) -> Result<()> {
        self.inner.delete_blob(sha256)
    }

    fn announce(&self, notice: &str) -> Result<()> {
        self.inner.announce(notice)
    }
}

impl Watched<'_> {
    fn reference_written(&self, table: DocTable, id: &str) -> Result<()> {
        if self.inner.load_doc(table, id)?.is_some() {
            self.seen.borrow_mut().everyone = true;
        }
        Ok(())
    }
}
