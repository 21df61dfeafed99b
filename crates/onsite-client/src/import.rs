//! Loading work orders from a JSON file into the replica, for local use and tests. The file
//! is all-or-nothing: one bad record refuses the whole file and names it.

use onsite_model::entities::{Asset, Customer, User, WorkOrder};
use onsite_model::wire::RowKind;
use rusqlite::TransactionBehavior;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::records::store_row;
use crate::replica::Replica;

/// The import file: `{ "customers": [...], "assets": [...], "work_orders": [...] }`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub customers: Vec<Customer>,
    #[serde(default)]
    pub assets: Vec<Asset>,
    #[serde(default)]
    pub work_orders: Vec<WorkOrder>,
}

#[derive(Debug, Serialize)]
pub struct ImportSummary {
    pub users: usize,
    pub customers: usize,
    pub assets: usize,
    pub work_orders: usize,
}

impl Replica {
    pub fn import_json(&mut self, text: &str) -> Result<ImportSummary> {
        let file: ImportFile = serde_json::from_str(text).map_err(|e| {
            Error::Invalid(format!(
                "the import file is not valid: {e} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let customer_ids: std::collections::HashSet<_> =
            file.customers.iter().map(|c| c.id).collect();
        for (i, wo) in file.work_orders.iter().enumerate() {
            let known = customer_ids.contains(&wo.customer_id)
                || crate::records::load_top::<Customer>(
                    &self.conn,
                    RowKind::Customer,
                    &wo.customer_id.to_string(),
                )?
                .is_some();
            if !known {
                return Err(Error::Invalid(format!(
                    "work_orders[{i}] ({}) refers to customer {} which is neither in the file nor on this device",
                    wo.number, wo.customer_id
                )));
            }
            if wo.number.trim().is_empty() || wo.problem.trim().is_empty() {
                return Err(Error::Invalid(format!(
                    "work_orders[{i}] needs a number and a problem description"
                )));
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for u in &file.users {
            store_row(
                &tx,
                RowKind::User,
                &u.id.to_string(),
                Some(&serde_json::to_value(u)?),
                0,
            )?;
        }
        for c in &file.customers {
            store_row(
                &tx,
                RowKind::Customer,
                &c.id.to_string(),
                Some(&serde_json::to_value(c)?),
                0,
            )?;
        }
        for a in &file.assets {
            store_row(
                &tx,
                RowKind::Asset,
                &a.id.to_string(),
                Some(&serde_json::to_value(a)?),
                0,
            )?;
        }
        for w in &file.work_orders {
            store_row(
                &tx,
                RowKind::WorkOrder,
                &w.id.to_string(),
                Some(&serde_json::to_value(w)?),
                0,
            )?;
        }
        tx.commit()?;
        Ok(ImportSummary {
            users: file.users.len(),
            customers: file.customers.len(),
            assets: file.assets.len(),
            work_orders: file.work_orders.len(),
        })
    }
}
