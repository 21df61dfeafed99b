//! The back-office REST API: dispatcher and admin tokens (technicians may read their own
//! jobs).

use std::str::FromStr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use onsite_model::time::{Timestamp, serde_ts};
use onsite_model::wire::ConflictRecord;
use onsite_model::{
    Asset, AssetId, ConflictId, Customer, CustomerId, Role, StatusAction, User, UserId, WorkOrder,
    WorkOrderId,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ApiJson, ApiQuery, AppState, Auth, Office, blocking, created};
use crate::error::{Error, Result};
use crate::store::engine::access;
use crate::store::{
    DeviceInfo, NewAsset, NewCustomer, NewUser, NewWorkOrder, Password, WorkOrderDetail,
    WorkOrderFilter,
};

fn parse_id<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::bad_request("bad_id", format!("{s:?} is not a valid {what} id")))
}

fn optional_json<T: DeserializeOwned>(body: &Bytes) -> Result<Option<T>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| Error::unprocessable("invalid_body", e.to_string()))
}

pub async fn list_users(State(s): State<AppState>, Office(_): Office) -> Result<Json<Vec<User>>> {
    let store = s.store.clone();
    Ok(Json(blocking(move || store.list_users()).await?))
}

/// A user the office adds: the password is hashed before it is stored and never echoed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddUser {
    username: String,
    name: String,
    role: Role,
    password: String,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    phone: Option<String>,
}

pub async fn create_user(
    State(s): State<AppState>,
    Office(who): Office,
    ApiJson(new): ApiJson<AddUser>,
) -> Result<Response> {
    access::may_add_user(&who, new.role)?;
    let new = NewUser {
        username: new.username,
        name: new.name,
        role: new.role,
        password: Password(new.password),
        skills: new.skills,
        phone: new.phone,
    };
    let store = s.store.clone();
    Ok(created(blocking(move || store.create_user(&new)).await?))
}

pub async fn list_devices(
    State(s): State<AppState>,
    Office(_): Office,
) -> Result<Json<Vec<DeviceInfo>>> {
    let store = s.store.clone();
    Ok(Json(blocking(move || store.list_devices()).await?))
}

pub async fn list_customers(
    State(s): State<AppState>,
    Office(_): Office,
) -> Result<Json<Vec<Customer>>> {
    let store = s.store.clone();
    Ok(Json(blocking(move || store.list_customers()).await?))
}

pub async fn create_customer(
    State(s): State<AppState>,
    Office(_): Office,
    ApiJson(new): ApiJson<NewCustomer>,
) -> Result<Response> {
    let store = s.store.clone();
    Ok(created(
        blocking(move || store.create_customer(&new)).await?,
    ))
}

pub async fn update_customer(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> Result<Json<Customer>> {
    let id: CustomerId = parse_id(&id, "customer")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.update_customer(id, &patch)).await?,
    ))
}

pub async fn list_assets(State(s): State<AppState>, Office(_): Office) -> Result<Json<Vec<Asset>>> {
    let store = s.store.clone();
    Ok(Json(blocking(move || store.list_assets()).await?))
}

pub async fn create_asset(
    State(s): State<AppState>,
    Office(_): Office,
    ApiJson(new): ApiJson<NewAsset>,
) -> Result<Response> {
    let store = s.store.clone();
    Ok(created(blocking(move || store.create_asset(&new)).await?))
}

pub async fn update_asset(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> Result<Json<Asset>> {
    let id: AssetId = parse_id(&id, "asset")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.update_asset(id, &patch)).await?,
    ))
}

/// Technicians see only their own jobs; the office sees all.
pub async fn list_work_orders(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiQuery(filter): ApiQuery<WorkOrderFilter>,
) -> Result<Json<Vec<WorkOrder>>> {
    super::bounds::period(&filter)?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.list_work_orders_for(&who, filter)).await?,
    ))
}

pub async fn get_work_order(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> Result<Json<WorkOrderDetail>> {
    let id: WorkOrderId = parse_id(&id, "work order")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.work_order_detail_for(&who, id)).await?,
    ))
}

pub async fn create_work_order(
    State(s): State<AppState>,
    Office(_): Office,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response> {
    let store = s.store.clone();
    let mut created_orders = blocking(move || {
        let users = store.list_users()?;
        let new =
            to_new_work_order(body, &users).map_err(|m| Error::unprocessable("invalid_body", m))?;
        store.create_work_orders(&[new])
    })
    .await?;
    Ok(created(created_orders.pop()))
}

/// Resolves an `assignee` username to `assignee_id` and parses the rest.
fn to_new_work_order(
    mut row: Map<String, Value>,
    users: &[User],
) -> std::result::Result<NewWorkOrder, String> {
    if let Some(value) = row.remove("assignee")
        && let Some(name) = value.as_str().filter(|n| !n.is_empty())
    {
        let user = users
            .iter()
            .find(|u| u.username == name)
            .ok_or_else(|| format!("no user named {name:?}"))?;
        row.insert("assignee_id".into(), Value::String(user.id.to_string()));
    }
    serde_json::from_value(Value::Object(row)).map_err(|e| e.to_string())
}

/// `text/csv` with a header row, or a JSON array. All rows or none.
pub async fn import_work_orders(
    State(s): State<AppState>,
    Office(_): Office,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/csv"));
    let rows: Vec<Map<String, Value>> = if is_csv {
        csv_rows(&body)?
    } else {
        json_rows(&body)?
    };
    if rows.is_empty() {
        return Err(Error::unprocessable(
            "empty_import",
            "the import has no rows",
        ));
    }
    let store = s.store.clone();
    let orders = blocking(move || {
        let users = store.list_users()?;
        let new = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                to_new_work_order(row, &users)
                    .map_err(|m| Error::unprocessable("invalid_row", format!("row {}: {m}", i + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        store.import_work_orders(&new)
    })
    .await?;
    Ok(created(orders))
}

fn json_rows(body: &Bytes) -> Result<Vec<Map<String, Value>>> {
    let values: Vec<Value> = serde_json::from_slice(body).map_err(|e| {
        Error::bad_request(
            "bad_json",
            format!("expected a JSON array of work orders: {e}"),
        )
    })?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok(m),
            _ => Err(Error::unprocessable(
                "invalid_row",
                format!("row {}: expected an object", i + 1),
            )),
        })
        .collect()
}

fn csv_rows(body: &Bytes) -> Result<Vec<Map<String, Value>>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body.as_ref());
    let headers = reader
        .headers()
        .map_err(|e| Error::bad_request("bad_csv", format!("header row: {e}")))?
        .clone();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| Error::bad_request("bad_csv", format!("row {}: {e}", i + 1)))?;
        let mut row = Map::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            if !v.is_empty() {
                row.insert(h.to_owned(), Value::String(v.to_owned()));
            }
        }
        out.push(row);
    }
    Ok(out)
}

pub async fn update_work_order(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> Result<Json<WorkOrder>> {
    let id: WorkOrderId = parse_id(&id, "work order")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.update_work_order(id, &patch)).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The technician's id; with neither this nor `username` the job is unassigned.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    #[serde(default)]
    pub username: Option<String>,
}

pub async fn assign(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Json<WorkOrder>> {
    let id: WorkOrderId = parse_id(&id, "work order")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || {
            let assignee = match (body.assignee_id, body.username) {
                (Some(id), _) => Some(id),
                (None, Some(name)) => Some(
                    store
                        .list_users()?
                        .into_iter()
                        .find(|u| u.username == name)
                        .ok_or_else(|| {
                            Error::unprocessable("unknown_user", format!("no user named {name:?}"))
                        })?
                        .id,
                ),
                (None, None) => None,
            };
            store.assign_work_order(id, assignee)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    #[serde(with = "serde_ts::option")]
    pub appointment_start: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    pub appointment_end: Option<Timestamp>,
}

pub async fn reschedule(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> Result<Json<WorkOrder>> {
    let id: WorkOrderId = parse_id(&id, "work order")?;
    let ts = |t: Option<Timestamp>| {
        t.map_or(Value::Null, |t| {
            Value::String(onsite_model::time::format_ts(&t))
        })
    };
    let mut patch = Map::new();
    patch.insert("appointment_start".into(), ts(body.appointment_start));
    patch.insert("appointment_end".into(), ts(body.appointment_end));
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.update_work_order(id, &patch)).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

async fn office_step(
    s: AppState,
    id: String,
    action: StatusAction,
    body: Bytes,
) -> Result<Json<WorkOrder>> {
    let id: WorkOrderId = parse_id(&id, "work order")?;
    let reason = optional_json::<ReasonBody>(&body)?
        .unwrap_or_default()
        .reason;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.office_transition(id, action, reason)).await?,
    ))
}

pub async fn cancel(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<WorkOrder>> {
    office_step(s, id, StatusAction::Cancel, body).await
}

pub async fn reopen(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<WorkOrder>> {
    office_step(s, id, StatusAction::Reopen, body).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictQuery {
    #[serde(default)]
    pub open: bool,
}

pub async fn list_conflicts(
    State(s): State<AppState>,
    Office(_): Office,
    ApiQuery(q): ApiQuery<ConflictQuery>,
) -> Result<Json<Vec<ConflictRecord>>> {
    let store = s.store.clone();
    Ok(Json(blocking(move || store.list_conflicts(q.open)).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// The value to keep.
    pub keep: Value,
}

pub async fn resolve_conflict(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Json<ConflictRecord>> {
    let id: ConflictId = parse_id(&id, "conflict")?;
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.resolve_conflict(id, body.keep)).await?,
    ))
}
