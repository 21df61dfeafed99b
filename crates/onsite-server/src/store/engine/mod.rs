//! The merge engine: every rule of the server's store, written once against the storage
//! primitives of `super::backend`, so each backend holds SQL and nothing else.
//!
//! - `push` — the push policy (gaps, stored outcomes, validate all first) and the apply path;
//! - `validate` — an op's shape, field ownership, rows checked by the model's `validate()`;
//! - `merge` — field writes under the documented rule, checklist answers, conflicts;
//! - `transition` — a device's status steps against the current state, the completion guard;
//! - `visibility` — removals and fresh seqs as jobs enter and leave a technician's view;
//! - `office`, `reference`, `review` — the office's writes and reads;
//! - `accounts` — users, sign-in, devices; `access` — who may see and do what;
//! - `web_sessions` — the office console's sign-in sessions and their expiry;
//! - `pull` — pages of a device's view and its whole state;
//! - `kpis` — the service KPIs over the jobs a caller may see (the model computes them);
//! - `dispatch` — assignment suggestions and the dispatch board (the model ranks and flags);
//! - `audience` — whom a committed write concerns, told through a change notice.

pub mod access;
mod accounts;
mod audience;
mod blob_owners;
mod blob_refs;
mod closed_loop;
mod context;
mod dispatch;
mod import;
mod kpis;
mod merge;
mod office;
mod pull;
mod push;
mod quality;
mod records;
mod reference;
mod review;
mod transition;
mod validate;
mod visibility;
mod web_sessions;

use std::sync::Arc;

use onsite_model::wire::{
    ConflictRecord, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse,
};
use onsite_model::{
    Asset, AssetId, ConflictId, Customer, CustomerId, DeviceId, StatusAction, User, UserId,
    WorkOrder, WorkOrderId,
};
use serde_json::{Map, Value};

pub use context::{Engine, PasswordCost, StoreOptions};
pub use onsite_model::merge::FIELD_RULE;

use super::backend::{Backend, Counter};
use super::interface::{
    BlobReferences, DeviceInfo, KpiReport, NewAsset, NewCustomer, NewUser, NewWorkOrder, Principal,
    Snapshot, Store, WorkOrderDetail, WorkOrderFilter,
};
use super::interface::{
    CallRecorded, CallbackFilter, CallbackItem, ComplaintFilter, ComplaintItem, ComplaintPatch,
    NewComplaint, RecordCall,
};
use crate::error::Result;
use crate::live::ChangeFeed;

impl<B: Backend> Store for Engine<B> {
    fn epoch(&self) -> Result<String> {
        Ok(self.backend.epoch().to_owned())
    }

    fn create_user(&self, new: &NewUser) -> Result<User> {
        Engine::create_user(self, new)
    }
    fn list_users(&self) -> Result<Vec<User>> {
        Engine::list_users(self)
    }
    fn login(&self, req: &LoginRequest) -> Result<LoginResponse> {
        Engine::login(self, req)
    }
    fn authenticate(&self, token: &str) -> Result<Principal> {
        Engine::authenticate(self, token)
    }
    fn list_devices(&self) -> Result<Vec<DeviceInfo>> {
        Engine::list_devices(self)
    }
    fn web_sign_in(
        &self,
        req: &onsite_model::wire::WebSignInRequest,
        policy: super::interface::WebSessionPolicy,
        replaces: Option<&str>,
    ) -> Result<super::interface::WebSignIn> {
        Engine::web_sign_in(self, req, policy, replaces)
    }
    fn web_session(
        &self,
        session_id: &str,
        policy: super::interface::WebSessionPolicy,
    ) -> Result<(Principal, onsite_model::wire::WebSession)> {
        Engine::web_session(self, session_id, policy)
    }
    fn web_sign_out(&self, session_id: &str) -> Result<bool> {
        Engine::web_sign_out(self, session_id)
    }
    fn revoke_device(&self, id: DeviceId) -> Result<DeviceInfo> {
        Engine::revoke_device(self, id)
    }
    fn flush_seen(&self) -> Result<()> {
        Engine::flush_seen(self)
    }

    fn apply_push(&self, who: &Principal, req: &PushRequest) -> Result<PushResponse> {
        push::check_request(who, req)?;
        self.write(|ctx| push::apply_push(ctx, who, req))
    }
    fn current_seq(&self) -> Result<u64> {
        self.read(|tx| tx.counter(Counter::ServerSeq))
    }
    fn changes(&self) -> &Arc<ChangeFeed> {
        self.backend.feed()
    }
    fn pull(&self, who: &Principal, cursor: u64, limit: u32) -> Result<PullResponse> {
        Engine::pull(self, who, cursor, limit)
    }
    fn snapshot(&self, who: &Principal) -> Result<Snapshot> {
        Engine::snapshot(self, who)
    }

    fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        Engine::create_customer(self, new)
    }
    fn update_customer(&self, id: CustomerId, patch: &Map<String, Value>) -> Result<Customer> {
        Engine::update_customer(self, id, patch)
    }
    fn list_customers(&self) -> Result<Vec<Customer>> {
        Engine::list_customers(self)
    }
    fn create_asset(&self, new: &NewAsset) -> Result<Asset> {
        Engine::create_asset(self, new)
    }
    fn update_asset(&self, id: AssetId, patch: &Map<String, Value>) -> Result<Asset> {
        Engine::update_asset(self, id, patch)
    }
    fn list_assets(&self) -> Result<Vec<Asset>> {
        Engine::list_assets(self)
    }

    fn create_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>> {
        Engine::create_work_orders(self, new)
    }
    fn import_work_orders(&self, new: &[NewWorkOrder]) -> Result<Vec<WorkOrder>> {
        Engine::import_work_orders(self, new)
    }
    fn update_work_order(&self, id: WorkOrderId, patch: &Map<String, Value>) -> Result<WorkOrder> {
        Engine::update_work_order(self, id, patch)
    }
    fn assign_work_order(&self, id: WorkOrderId, assignee: Option<UserId>) -> Result<WorkOrder> {
        Engine::assign_work_order(self, id, assignee)
    }
    fn office_transition(
        &self,
        id: WorkOrderId,
        action: StatusAction,
        reason: Option<String>,
    ) -> Result<WorkOrder> {
        Engine::office_transition(self, id, action, reason)
    }
    fn get_work_order(&self, id: WorkOrderId) -> Result<WorkOrder> {
        Engine::get_work_order(self, id)
    }
    fn list_work_orders(&self, filter: &WorkOrderFilter) -> Result<Vec<WorkOrder>> {
        Engine::list_work_orders(self, filter)
    }
    fn list_work_orders_for(
        &self,
        who: &Principal,
        filter: WorkOrderFilter,
    ) -> Result<Vec<WorkOrder>> {
        Engine::list_work_orders(self, &access::scope_filter(who, filter)?)
    }
    fn work_order_detail(&self, id: WorkOrderId) -> Result<WorkOrderDetail> {
        Engine::work_order_detail(self, id)
    }
    fn work_order_detail_for(&self, who: &Principal, id: WorkOrderId) -> Result<WorkOrderDetail> {
        let mut detail = Engine::work_order_detail(self, id)?;
        access::may_see_job(who, &detail.work_order)?;
        if access::require_office(who).is_err() {
            // The closed loop is the office's: a technician's own job comes without it.
            detail.closed_loop = None;
        }
        if access::require_office(who).is_err() {
            // So are its quality reviews.
            detail.quality_reviews = None;
        }
        Ok(detail)
    }
    fn resolve_conflict(&self, id: ConflictId, keep: Value) -> Result<ConflictRecord> {
        Engine::resolve_conflict(self, id, keep)
    }
    fn list_conflicts(&self, open_only: bool) -> Result<Vec<ConflictRecord>> {
        Engine::list_conflicts(self, open_only)
    }
    fn kpis_for(
        &self,
        who: &Principal,
        mut opts: onsite_model::kpi::KpiOptions,
        group: Option<onsite_model::kpi::Group>,
    ) -> Result<KpiReport> {
        opts.now = self.clock.now();
        Engine::kpis_for(self, who, &opts, group)
    }

    fn list_callbacks(&self, filter: &CallbackFilter) -> Result<Vec<CallbackItem>> {
        Engine::list_callbacks(self, filter)
    }
    fn record_call(
        &self,
        by: UserId,
        id: onsite_model::CallbackId,
        call: &RecordCall,
    ) -> Result<CallRecorded> {
        Engine::record_call(self, by, id, call)
    }
    fn list_complaints(&self, filter: &ComplaintFilter) -> Result<Vec<ComplaintItem>> {
        Engine::list_complaints(self, filter)
    }
    fn get_complaint(&self, id: onsite_model::ComplaintId) -> Result<ComplaintItem> {
        Engine::get_complaint(self, id)
    }
    fn open_complaint(
        &self,
        by: UserId,
        job: WorkOrderId,
        new: &NewComplaint,
    ) -> Result<ComplaintItem> {
        Engine::open_complaint(self, by, job, new)
    }
    fn update_complaint(
        &self,
        by: UserId,
        id: onsite_model::ComplaintId,
        patch: &ComplaintPatch,
    ) -> Result<ComplaintItem> {
        Engine::update_complaint(self, by, id, patch)
    }
    fn resolve_complaint(
        &self,
        by: UserId,
        id: onsite_model::ComplaintId,
        resolution: &str,
    ) -> Result<ComplaintItem> {
        Engine::resolve_complaint(self, by, id, resolution)
    }

    fn record_blob(&self, sha256: &str, size: u64) -> Result<Vec<WorkOrderId>> {
        Engine::record_blob(self, sha256, size, None)
    }
    fn record_blob_upload(
        &self,
        sha256: &str,
        size: u64,
        uploader: DeviceId,
    ) -> Result<Vec<WorkOrderId>> {
        Engine::record_blob(self, sha256, size, Some(uploader))
    }
    fn may_read_blob(&self, who: &Principal, sha256: &str) -> Result<bool> {
        match access::blob_reader(who) {
            None => Ok(true),
            Some(user) => self.read(|tx| blob_owners::may_read(tx, user, sha256)),
        }
    }
    fn blob_references(&self) -> Result<BlobReferences> {
        Engine::blob_references(self)
    }
    fn forget_blobs(&self, unreferenced: &[String], as_of: u64) -> Result<Vec<String>> {
        Engine::forget_blobs(self, unreferenced, as_of)
    }
    fn suggestions(
        &self,
        id: WorkOrderId,
        utc_offset_minutes: i32,
    ) -> Result<onsite_model::dispatch::Suggestions> {
        Engine::suggestions(self, id, utc_offset_minutes)
    }
    fn dispatch_board(
        &self,
        from: Option<onsite_model::time::Timestamp>,
        to: Option<onsite_model::time::Timestamp>,
        utc_offset_minutes: i32,
    ) -> Result<onsite_model::dispatch::Board> {
        Engine::dispatch_board(self, from, to, utc_offset_minutes)
    }
    fn quality_queue(
        &self,
        who: &Principal,
        filter: &super::interface::QualityQueueFilter,
    ) -> Result<onsite_model::quality::ReviewQueue> {
        Engine::quality_queue(self, who, filter)
    }
    fn review_work_order(
        &self,
        who: &Principal,
        id: WorkOrderId,
        input: &onsite_model::quality::ReviewInput,
    ) -> Result<onsite_model::quality::QualityReview> {
        Engine::review_work_order(self, who, id, input)
    }
    fn quality_reviews(
        &self,
        who: &Principal,
        id: WorkOrderId,
    ) -> Result<Vec<onsite_model::quality::QualityReview>> {
        Engine::quality_reviews_of(self, who, id)
    }
}
