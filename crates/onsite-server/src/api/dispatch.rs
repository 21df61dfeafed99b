//! The dispatch API: assignment suggestions for one job and the dispatch board. Office roles
//! only; the store reads at the server's clock, never the request's.

use axum::Json;
use axum::extract::{Path, State};
use onsite_model::WorkOrderId;
use onsite_model::dispatch::{Board, Suggestions};
use onsite_model::time::{Timestamp, parse_ts};
use serde::Deserialize;

use super::{ApiQuery, AppState, Office, blocking};
use crate::error::{Error, Result};

/// `?utc_offset_minutes=` of the suggestions: the offset whose calendar day counts as "that
/// day" (default 0, UTC).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsQuery {
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

/// `?from=&to=&utc_offset_minutes=` of the board; every part optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    /// RFC 3339; default the start of today at the offset.
    #[serde(default)]
    pub from: Option<String>,
    /// RFC 3339; default seven days after `from`.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
}

/// An instant in a query, refused with a sentence naming the parameter.
fn instant(name: &str, value: Option<&str>) -> Result<Option<Timestamp>> {
    value
        .map(|v| {
            parse_ts(v).map_err(|_| {
                Error::bad_request(
                    "invalid_query",
                    format!(
                        "{name} {v:?} is not an RFC 3339 time; send e.g. 2026-11-22T00:00:00Z or 2026-11-22T08:00:00+08:00"
                    ),
                )
            })
        })
        .transpose()
}

pub async fn suggestions(
    State(s): State<AppState>,
    Office(_): Office,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SuggestionsQuery>,
) -> Result<Json<Suggestions>> {
    let id: WorkOrderId = id.parse().map_err(|_| {
        Error::bad_request("bad_id", format!("{id:?} is not a valid work order id"))
    })?;
    let offset = q.utc_offset_minutes.unwrap_or(0);
    let store = s.store.clone();
    Ok(Json(blocking(move || store.suggestions(id, offset)).await?))
}

pub async fn board(
    State(s): State<AppState>,
    Office(_): Office,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> Result<Json<Board>> {
    let from = instant("from", q.from.as_deref())?;
    let to = instant("to", q.to.as_deref())?;
    let offset = q.utc_offset_minutes.unwrap_or(0);
    let store = s.store.clone();
    Ok(Json(
        blocking(move || store.dispatch_board(from, to, offset)).await?,
    ))
}
