//! Decoding what both backends store as text (ids, times, HLCs, table names) into the
//! model's types: the same for every backend, so written once.

use onsite_model::merge::FieldStamp;
use onsite_model::time::{Timestamp, parse_ts};
use onsite_model::{DeviceId, UserId};

use super::backend::{DocTable, JobRef};
use super::interface::DeviceInfo;
use crate::error::{Error, Result};

/// The table a document kind lives in (the same names in every schema).
pub(super) fn table(t: DocTable) -> &'static str {
    match t {
        DocTable::Users => "users",
        DocTable::Customers => "customers",
        DocTable::Assets => "assets",
    }
}

/// The work-order column holding a job's reference of this kind.
pub(super) fn ref_column(what: JobRef) -> &'static str {
    match what {
        JobRef::Customer => "customer_id",
        JobRef::Asset => "asset_id",
    }
}

pub(super) fn ts(s: &str) -> Result<Timestamp> {
    parse_ts(s).map_err(|e| Error::Internal(format!("stored time {s:?}: {e}")))
}

pub(super) fn uuid(s: &str) -> Result<uuid::Uuid> {
    s.parse::<uuid::Uuid>()
        .map_err(|e| Error::Internal(format!("stored id {s:?}: {e}")))
}

/// A field stamp from its stored columns (version, HLC text, device id text).
pub(super) fn field_stamp(version: i64, hlc: &str, device: Option<&str>) -> Result<FieldStamp> {
    Ok(FieldStamp {
        version: version as u64,
        hlc: hlc
            .parse()
            .map_err(|e| Error::Internal(format!("stored hlc: {e}")))?,
        device_id: device
            .map(|d| d.parse())
            .transpose()
            .map_err(|e| Error::Internal(format!("stored device: {e}")))?,
    })
}

/// The stored columns of one device row joined with its user's name.
pub(super) struct DeviceColumns {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub registered_at: String,
    pub last_seen: Option<String>,
    pub revoked_at: Option<String>,
    pub last_acked_seq: i64,
}

impl DeviceColumns {
    pub(super) fn decode(self) -> Result<DeviceInfo> {
        Ok(DeviceInfo {
            id: DeviceId(uuid(&self.id)?),
            user_id: UserId(uuid(&self.user_id)?),
            username: self.username,
            name: self.name,
            registered_at: ts(&self.registered_at)?,
            last_seen: self.last_seen.as_deref().map(ts).transpose()?,
            revoked_at: self.revoked_at.as_deref().map(ts).transpose()?,
            last_acked_seq: self.last_acked_seq as u64,
        })
    }
}
