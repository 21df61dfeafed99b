//! `GET /api/v1/sync/events`: a device's live channel (server-sent events). The first event
//! says the current `server_seq`, so a device that missed nudges pulls at once; after that,
//! one `change` event per committed write that concerns the caller (bursts coalesced to the
//! latest seq), and keep-alive comments in between. An event carries no data: the device
//! compares the seq with its cursor and runs its normal pull.
//!
//! The stream's token is checked again every [`RECHECK`]; a revoked device's stream ends,
//! and reconnecting gets the usual JSON 401.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream;
use onsite_model::UserId;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{Instant, Interval, interval_at};

use super::{AppState, Device, blocking};
use crate::error::{Error, Result};
use crate::live::Subscription;
use crate::metrics::OpenStream;
use crate::store::Store;

/// Between keep-alive comments: below the idle timeouts of common proxies and load balancers.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Between checks that the stream's device token is still valid.
pub const RECHECK: Duration = Duration::from_secs(60);

/// The event name devices listen for.
pub const CHANGE_EVENT: &str = "change";

pub async fn events(
    State(state): State<AppState>,
    Device(who): Device,
    headers: HeaderMap,
) -> Result<Response> {
    let subscription = state.store.changes().subscribe(who.user.id)?;
    let store = state.store.clone();
    let seq = blocking(move || store.current_seq()).await?;
    let live = Live {
        subscription,
        user: who.user.id,
        token: bearer(&headers).unwrap_or_default(),
        store: state.store.clone(),
        first: Some(seq),
        recheck: interval_at(Instant::now() + RECHECK, RECHECK),
        _open: state.metrics.open_event_stream(),
    };
    let events = stream::unfold(live, |mut live| async move {
        let seq = live.next_seq().await?;
        Some((Ok::<_, Infallible>(change_event(seq)), live))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

fn change_event(seq: u64) -> Event {
    Event::default()
        .event(CHANGE_EVENT)
        .id(seq.to_string())
        .data(serde_json::json!({ "seq": seq }).to_string())
}

/// The token `Device` accepted (already checked to be there and well-formed).
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

/// One open stream.
struct Live {
    subscription: Subscription,
    user: UserId,
    token: String,
    store: Arc<dyn Store>,
    first: Option<u64>,
    recheck: Interval,
    _open: OpenStream,
}

impl Live {
    /// The seq of the next event to send, `None` when the stream ends (token no longer valid,
    /// server shutting down).
    async fn next_seq(&mut self) -> Option<u64> {
        if let Some(seq) = self.first.take() {
            return Some(seq);
        }
        loop {
            tokio::select! {
                got = self.subscription.receiver.recv() => match got {
                    Ok(notice) if notice.concerns(self.user) => {
                        return Some(self.coalesce(notice.seq));
                    }
                    Ok(_) => {}
                    // Notices were dropped for this slow stream: the current seq covers them.
                    Err(RecvError::Lagged(_)) => return self.current_seq().await,
                    Err(RecvError::Closed) => return None,
                },
                _ = self.recheck.tick() => {
                    if !self.still_signed_in().await {
                        return None;
                    }
                }
            }
        }
    }

    /// `seq`, or the latest seq among the notices for this user already waiting.
    fn coalesce(&mut self, mut seq: u64) -> u64 {
        loop {
            match self.subscription.receiver.try_recv() {
                Ok(notice) if notice.concerns(self.user) => seq = seq.max(notice.seq),
                Ok(_) => {}
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return seq,
            }
        }
    }

    async fn current_seq(&self) -> Option<u64> {
        let store = self.store.clone();
        blocking(move || store.current_seq()).await.ok()
    }

    async fn still_signed_in(&self) -> bool {
        let store = self.store.clone();
        let token = self.token.clone();
        match blocking(move || store.authenticate(&token)).await {
            Ok(who) => who.user.id == self.user,
            Err(e @ Error::Refused { .. }) => {
                tracing::info!(error = %e, "closing an event stream whose token is no longer valid");
                false
            }
            // The database is briefly out of reach: keep the stream, check again later.
            Err(e) => {
                tracing::warn!(error = %e, "could not recheck an event stream's token");
                true
            }
        }
    }
}
