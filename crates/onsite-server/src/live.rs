//! Live changes: the notice a committed write leaves for the devices it concerns, and the
//! in-process fan-out that hands it to this instance's open event streams.
//!
//! The engine decides whom a write concerns and encodes a [`ChangeNotice`]; the backend only
//! carries its text: SQLite publishes it to the [`ChangeFeed`] after the commit, PostgreSQL
//! sends it with `NOTIFY` inside the write transaction and every instance's `LISTEN`
//! connection publishes what it hears. A notice is a nudge, never data: a device that hears
//! one pulls as usual, so a lost or repeated notice costs at most one pull.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onsite_model::UserId;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::{Error, Refusal, Result};

/// The PostgreSQL channel notices travel on.
pub const CHANNEL: &str = "onsite_changes";

/// Largest notice text: PostgreSQL refuses `NOTIFY` payloads of 8000 bytes or more. A notice
/// naming more users than fit says "everyone re-check" instead.
pub const MAX_NOTICE_BYTES: usize = 7900;

/// Notices buffered per subscriber before it lags (a lagging stream is told the current seq,
/// which makes its device pull everything it missed).
const FEED_CAPACITY: usize = 256;

/// Open event streams one user may hold (a laptop and a tablet, each with a reconnect
/// overlapping a connection the server has not yet seen drop).
pub const STREAMS_PER_USER: usize = 8;

/// Open event streams one instance holds at most.
pub const STREAMS_TOTAL: usize = 10_000;

/// A committed write that moved `server_seq` to `seq`, and whose devices should pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNotice {
    pub seq: u64,
    /// Users whose view changed; empty when `everyone` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserId>,
    /// Every device should compare `seq` with its cursor.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub everyone: bool,
}

impl ChangeNotice {
    pub fn to_users(seq: u64, mut users: Vec<UserId>) -> Self {
        users.sort();
        users.dedup();
        Self {
            seq,
            users,
            everyone: false,
        }
    }

    pub fn everyone(seq: u64) -> Self {
        Self {
            seq,
            users: Vec::new(),
            everyone: true,
        }
    }

    /// Whether `user`'s devices should hear of it.
    pub fn concerns(&self, user: UserId) -> bool {
        self.everyone || self.users.binary_search(&user).is_ok()
    }

    /// The notice's text, at most [`MAX_NOTICE_BYTES`]: too many users become "everyone".
    pub fn encode(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        if text.len() <= MAX_NOTICE_BYTES && !text.is_empty() {
            text
        } else {
            serde_json::to_string(&Self::everyone(self.seq)).unwrap_or_default()
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// This instance's fan-out of notices to its open event streams, with the bounds on how many
/// may be open.
pub struct ChangeFeed {
    sender: broadcast::Sender<ChangeNotice>,
    open: Mutex<HashMap<UserId, usize>>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(FEED_CAPACITY).0,
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl ChangeFeed {
    pub fn publish(&self, notice: ChangeNotice) {
        // No receiver is not an error: nobody is listening on this instance.
        let _ = self.sender.send(notice);
    }

    /// Publishes a notice that arrived as text (from another instance, over `NOTIFY`).
    pub fn publish_text(&self, text: &str) {
        match ChangeNotice::decode(text) {
            Some(notice) => self.publish(notice),
            None => tracing::warn!(
                notice = text,
                "ignoring a change notice that does not parse"
            ),
        }
    }

    /// Opens a stream for `user`, refused when the user or the instance holds too many.
    pub fn subscribe(self: &Arc<Self>, user: UserId) -> Result<Subscription> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        if total >= STREAMS_TOTAL {
            return Err(Error::refused(
                Refusal::TooManyRequests,
                "too_many_streams",
                "this server holds as many live connections as it can; the app syncs periodically meanwhile and tries again later",
            ));
        }
        let mine = open.entry(user).or_default();
        if *mine >= STREAMS_PER_USER {
            return Err(Error::refused(
                Refusal::TooManyRequests,
                "too_many_streams",
                format!(
                    "this user already has {STREAMS_PER_USER} live connections open; close the app on another device or wait for stale ones to time out"
                ),
            ));
        }
        *mine += 1;
        Ok(Subscription {
            receiver: self.sender.subscribe(),
            feed: self.clone(),
            user,
        })
    }

    /// Event streams open on this instance.
    pub fn open_streams(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum()
    }
}

/// One open event stream's place in the feed; gives it back when dropped.
pub struct Subscription {
    pub receiver: broadcast::Receiver<ChangeNotice>,
    feed: Arc<ChangeFeed>,
    user: UserId,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut open = self.feed.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u128) -> UserId {
        UserId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_notice_concerns_the_users_it_names_or_everyone() {
        let n = ChangeNotice::to_users(7, vec![user(3), user(1), user(3)]);
        assert_eq!(n.users, vec![user(1), user(3)]);
        assert!(n.concerns(user(1)) && n.concerns(user(3)));
        assert!(!n.concerns(user(2)));
        assert!(ChangeNotice::everyone(7).concerns(user(2)));
        assert_eq!(ChangeNotice::decode(&n.encode()), Some(n));
    }

    #[test]
    fn a_notice_too_large_for_notify_becomes_everyone() {
        let many = (0..400).map(user).collect();
        let n = ChangeNotice::to_users(9, many);
        let text = n.encode();
        assert!(text.len() <= MAX_NOTICE_BYTES);
        assert_eq!(ChangeNotice::decode(&text), Some(ChangeNotice::everyone(9)));
        let few = ChangeNotice::to_users(9, (0..100).map(user).collect());
        assert_eq!(ChangeNotice::decode(&few.encode()), Some(few));
    }

    #[test]
    fn streams_are_bounded_per_user_and_given_back() {
        let feed = Arc::new(ChangeFeed::default());
        let held: Vec<_> = (0..STREAMS_PER_USER)
            .map(|_| feed.subscribe(user(1)).unwrap())
            .collect();
        let refused = feed.subscribe(user(1)).err().unwrap();
        assert!(
            matches!(
                refused,
                Error::Refused {
                    kind: Refusal::TooManyRequests,
                    code: "too_many_streams",
                    ..
                }
            ),
            "{refused:?}"
        );
        let other = feed.subscribe(user(2)).unwrap();
        assert_eq!(feed.open_streams(), STREAMS_PER_USER + 1);
        drop(held);
        drop(other);
        assert_eq!(feed.open_streams(), 0);
        feed.subscribe(user(1)).unwrap();
    }

    #[test]
    fn published_notices_reach_subscribers_and_garbage_is_ignored() {
        let feed = Arc::new(ChangeFeed::default());
        let mut sub = feed.subscribe(user(1)).unwrap();
        feed.publish_text("not json");
        feed.publish_text(&ChangeNotice::to_users(4, vec![user(1)]).encode());
        assert_eq!(
            sub.receiver.try_recv().unwrap(),
            ChangeNotice::to_users(4, vec![user(1)])
        );
        assert!(sub.receiver.try_recv().is_err());
    }
}
