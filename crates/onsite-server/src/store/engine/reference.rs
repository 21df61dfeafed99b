//! The office's reference data: customers and the assets installed at them.

use onsite_model::{Asset, AssetId, Customer, CustomerId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::super::backend::{Backend, DocTable};
use super::super::interface::{NewAsset, NewCustomer};
use super::context::Engine;
use super::records::{all_json, load_asset, load_customer, next_seq};
use crate::error::{Error, Result};

/// `current` with the patch's fields replaced, checked by the struct's deserialisation.
pub(super) fn apply_patch<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Map<String, Value>,
    what: &str,
) -> Result<T> {
    let mut v = serde_json::to_value(current)?;
    if patch.contains_key("id") {
        return Err(Error::unprocessable(
            "invalid_value",
            format!("the id of a {what} cannot change"),
        ));
    }
    for (k, val) in patch {
        v[k] = val.clone();
    }
    serde_json::from_value(v)
        .map_err(|e| Error::unprocessable("invalid_value", format!("{what}: {e}")))
}

/// A record the model's `validate()` refused: what is wrong and what to enter instead.
fn invalid(message: String) -> Error {
    Error::unprocessable("invalid_value", message)
}

impl<B: Backend> Engine<B> {
    pub(super) fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        self.write(|ctx| {
            let customer = Customer {
                id: CustomerId::new(ctx.ids),
                name: new.name.trim().to_owned(),
                phone: new.phone.clone(),
                address: new.address.clone(),
                lat: new.lat,
                lon: new.lon,
                notes: new.notes.clone(),
            };
            customer.validate().map_err(invalid)?;
            let seq = next_seq(ctx.tx)?;
            ctx.tx.put_customer(&customer, seq)?;
            Ok(customer)
        })
    }

    pub(super) fn update_customer(
        &self,
        id: CustomerId,
        patch: &Map<String, Value>,
    ) -> Result<Customer> {
        self.write(|ctx| {
            let current = load_customer(ctx.tx, id)?
                .ok_or_else(|| Error::not_found("unknown_customer", format!("no customer {id}")))?;
            let updated: Customer = apply_patch(&current, patch, "customer")?;
            updated.validate().map_err(invalid)?;
            let seq = next_seq(ctx.tx)?;
            ctx.tx.put_customer(&updated, seq)?;
            Ok(updated)
        })
    }

    pub(super) fn list_customers(&self) -> Result<Vec<Customer>> {
        self.read(|tx| all_json(tx.list_docs(DocTable::Customers)?))
    }

    pub(super) fn create_asset(&self, new: &NewAsset) -> Result<Asset> {
        self.write(|ctx| {
            if load_customer(ctx.tx, new.customer_id)?.is_none() {
                return Err(Error::unprocessable(
                    "unknown_customer",
                    format!("no customer {}", new.customer_id),
                ));
            }
            let asset = Asset {
                id: AssetId::new(ctx.ids),
                customer_id: new.customer_id,
                model: new.model.trim().to_owned(),
                serial: new.serial.clone(),
                installed_on: new.installed_on,
                warranty_end: new.warranty_end,
            };
            asset.validate().map_err(invalid)?;
            let seq = next_seq(ctx.tx)?;
            ctx.tx.put_asset(&asset, seq)?;
            Ok(asset)
        })
    }

    pub(super) fn update_asset(&self, id: AssetId, patch: &Map<String, Value>) -> Result<Asset> {
        self.write(|ctx| {
            let current = load_asset(ctx.tx, id)?
                .ok_or_else(|| Error::not_found("unknown_asset", format!("no asset {id}")))?;
            let updated: Asset = apply_patch(&current, patch, "asset")?;
            updated.validate().map_err(invalid)?;
            if load_customer(ctx.tx, updated.customer_id)?.is_none() {
                return Err(Error::unprocessable(
                    "unknown_customer",
                    format!("no customer {}", updated.customer_id),
                ));
            }
            let seq = next_seq(ctx.tx)?;
            ctx.tx.put_asset(&updated, seq)?;
            Ok(updated)
        })
    }

    pub(super) fn list_assets(&self) -> Result<Vec<Asset>> {
        self.read(|tx| all_json(tx.list_docs(DocTable::Assets)?))
    }
}
