//! Dispatch: assignment suggestions for one job and the dispatch board, read in one
//! consistent snapshot at the server's clock. The ranking, the SLA-risk rule and the board's
//! layout are the model's (`onsite_model::dispatch`): this file gathers the rows.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use onsite_model::dispatch::board::{self, BoardRow};
use onsite_model::dispatch::{
    self, Board, BoardWindow, BookedJob, GeoPoint, JobToPlace, RiskMargins, Suggestions,
};
use onsite_model::time::Timestamp;
use onsite_model::{Customer, CustomerId, User, WorkOrder, WorkOrderId, WorkOrderStatus};

use super::super::backend::{Backend, DocTable, ReadTx};
use super::super::interface::WorkOrderFilter;
use super::context::Engine;
use super::records::{all_json, load_asset, load_customer, require_wo};
use crate::error::{Error, Result};

/// The open statuses: a job in one of them is still to be worked.
const OPEN: [WorkOrderStatus; 6] = [
    WorkOrderStatus::New,
    WorkOrderStatus::Assigned,
    WorkOrderStatus::EnRoute,
    WorkOrderStatus::OnSite,
    WorkOrderStatus::InProgress,
    WorkOrderStatus::OnHold,
];

fn bad_window(message: String) -> Error {
    Error::bad_request("invalid_window", message)
}

/// Customers looked up once each within one read.
struct Customers<'a> {
    tx: &'a dyn ReadTx,
    seen: HashMap<CustomerId, Option<Customer>>,
}

impl<'a> Customers<'a> {
    fn new(tx: &'a dyn ReadTx) -> Self {
        Self {
            tx,
            seen: HashMap::new(),
        }
    }

    fn get(&mut self, id: CustomerId) -> Result<Option<&Customer>> {
        if let Entry::Vacant(slot) = self.seen.entry(id) {
            slot.insert(load_customer(self.tx, id)?);
        }
        Ok(self.seen[&id].as_ref())
    }

    fn place(&mut self, id: CustomerId) -> Result<Option<GeoPoint>> {
        Ok(self.get(id)?.and_then(GeoPoint::of))
    }
}

/// Every user; the model keeps the technicians.
fn users(tx: &dyn ReadTx) -> Result<Vec<User>> {
    all_json(tx.list_docs(DocTable::Users)?)
}

impl<B: Backend> Engine<B> {
    /// Every technician ranked for job `id` on its appointment's local day (today, for a job
    /// without one). Closed jobs are refused: they are not assigned.
    pub(super) fn suggestions(
        &self,
        id: WorkOrderId,
        utc_offset_minutes: i32,
    ) -> Result<Suggestions> {
        dispatch::window::check_offset(utc_offset_minutes)
            .map_err(|m| Error::bad_request("invalid_query", m))?;
        let now = self.clock.now();
        self.read(|tx| {
            let wo = require_wo(tx, id)?;
            if wo.status.is_closed() {
                return Err(Error::conflict(
                    "job_closed",
                    format!(
                        "{} is {}; reopen it before choosing who takes it",
                        wo.number, wo.status
                    ),
                ));
            }
            let when = wo.appointment_start.unwrap_or(now);
            let (day_start, day_end) = dispatch::local_day(when, utc_offset_minutes);
            let day: Vec<WorkOrder> = all_json(tx.list_work_orders(&WorkOrderFilter {
                from: Some(day_start),
                to: Some(day_end),
                ..Default::default()
            })?)?;
            let mut customers = Customers::new(tx);
            let mut booked = Vec::new();
            for j in &day {
                let (Some(assignee), Some(start)) = (j.assignee_id, j.appointment_start) else {
                    continue;
                };
                if j.status == WorkOrderStatus::Cancelled {
                    continue;
                }
                booked.push(BookedJob {
                    id: j.id,
                    number: j.number.clone(),
                    assignee,
                    start,
                    end: j.appointment_end,
                    at: customers.place(j.customer_id)?,
                });
            }
            let product = match wo.asset_id {
                Some(a) => load_asset(tx, a)?.map(|a| a.model),
                None => None,
            };
            let job = JobToPlace {
                id: wo.id,
                number: wo.number.clone(),
                job_type: wo.job_type,
                product,
                at: customers.place(wo.customer_id)?,
                when,
                assignee: wo.assignee_id,
            };
            let users = users(tx)?;
            Ok(Suggestions {
                work_order_id: wo.id,
                number: wo.number,
                day: dispatch::local_date(when, utc_offset_minutes),
                suggestions: dispatch::suggest(&job, &users, &booked, utc_offset_minutes),
            })
        })
    }

    /// The board over the window asked for (default: today and the next six days at the
    /// offset), at the server's clock.
    pub(super) fn dispatch_board(
        &self,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        utc_offset_minutes: i32,
    ) -> Result<Board> {
        dispatch::window::check_offset(utc_offset_minutes)
            .map_err(|m| Error::bad_request("invalid_query", m))?;
        let now = self.clock.now();
        let window = BoardWindow::resolve(now, from, to, utc_offset_minutes).map_err(bad_window)?;
        let (users, rows) = self.read(|tx| {
            let mut jobs: Vec<WorkOrder> = all_json(tx.list_work_orders(&WorkOrderFilter {
                from: Some(window.from),
                to: Some(window.to),
                ..Default::default()
            })?)?;
            for status in OPEN {
                jobs.extend(all_json::<WorkOrder>(tx.list_work_orders(
                    &WorkOrderFilter {
                        status: Some(status),
                        ..Default::default()
                    },
                )?)?);
            }
            let mut customers = Customers::new(tx);
            let mut rows = Vec::with_capacity(jobs.len());
            for wo in jobs {
                let c = customers.get(wo.customer_id)?;
                rows.push(BoardRow {
                    customer_name: c.map(|c| c.name.clone()),
                    customer_address: c.and_then(|c| c.address.clone()),
                    work_order: wo,
                });
            }
            Ok((users(tx)?, rows))
        })?;
        Ok(board::build(
            window,
            now,
            RiskMargins::default(),
            &users,
            rows,
        ))
    }
}
