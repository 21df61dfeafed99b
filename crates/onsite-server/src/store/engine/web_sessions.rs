//! The office console's sign-in sessions. A session id is 32 random bytes from the OS (the
//! same generator as device tokens), handed to the browser once in an HttpOnly cookie and
//! stored only as its sha256. Every sign-in makes a new id (a session id planted before
//! sign-in is never promoted), and ends the one the browser still held. A session ends when
//! signed out (its row deleted), after `policy.idle` without a request, or `policy.lifetime`
//! after sign-in, whichever comes first; expired rows are deleted at the next sign-in.

use chrono::Duration as Span;
use onsite_model::time::Timestamp;
use onsite_model::wire::{WebSession, WebSignInRequest};
use onsite_model::{DeviceId, User};

use super::super::backend::Backend;
use super::super::interface::{Principal, WebSessionPolicy, WebSignIn};
use super::access;
use super::context::Engine;
use super::records::from_json;
use crate::auth;
use crate::error::{Error, Refusal, Result};

/// How stale a session's `last_used_at` may get before a request writes it again: reads
/// stay reads, and the idle expiry is this much coarser at most.
const TOUCH_EVERY_SECS: i64 = 60;

/// A configured duration as a time span, at most a century (so adding it to a time never
/// overflows).
fn span(d: std::time::Duration) -> Span {
    const CENTURY_SECS: u64 = 100 * 366 * 24 * 3600;
    Span::seconds(d.as_secs().min(CENTURY_SECS) as i64)
}

fn ended(message: &str) -> Error {
    Error::refused(
        Refusal::Unauthorized,
        "session_ended",
        format!("{message}; sign in again"),
    )
}

/// What the console is told of a session created at `created`.
fn session_info(
    user: User,
    session_id: &str,
    created: Timestamp,
    policy: WebSessionPolicy,
) -> WebSession {
    WebSession {
        user,
        csrf_token: auth::csrf_token(session_id),
        expires_at: created + span(policy.lifetime),
        idle_timeout_secs: policy.idle.as_secs(),
    }
}

/// The id a session stands under where a principal names a device: the first 16 bytes of
/// its hash, so it is stable for the session and names no registered device.
fn session_device(id_hash: &str) -> DeviceId {
    let mut bytes = [0u8; 16];
    if let Ok(raw) = hex::decode(&id_hash[..32.min(id_hash.len())]) {
        bytes[..raw.len()].copy_from_slice(&raw);
    }
    DeviceId(uuid::Uuid::from_bytes(bytes))
}

impl<B: Backend> Engine<B> {
    pub(super) fn web_sign_in(
        &self,
        req: &WebSignInRequest,
        policy: WebSessionPolicy,
        replaces: Option<&str>,
    ) -> Result<WebSignIn> {
        let user = self.check_password(&req.username, &req.password)?;
        access::may_use_console(&user)?;
        let session_id = auth::new_token();
        let id_hash = auth::token_hash(&session_id);
        let created = self.write(|ctx| {
            let now = ctx.now;
            ctx.tx
                .delete_web_sessions_before(now - span(policy.lifetime), now - span(policy.idle))?;
            if let Some(old) = replaces {
                ctx.tx.delete_web_session(&auth::token_hash(old))?;
            }
            ctx.tx.insert_web_session(&id_hash, user.id, now)?;
            Ok(now)
        })?;
        tracing::info!(user = %user.username, "console signed in");
        Ok(WebSignIn {
            session: session_info(user, &session_id, created, policy),
            session_id,
        })
    }

    pub(super) fn web_session(
        &self,
        session_id: &str,
        policy: WebSessionPolicy,
    ) -> Result<(Principal, WebSession)> {
        let id_hash = auth::token_hash(session_id);
        let Some(row) = self.read(|tx| tx.web_session(&id_hash))? else {
            return Err(ended(
                "the console session has ended (signed out, replaced or expired)",
            ));
        };
        let now = self.clock.now();
        let expired = now >= row.created_at + span(policy.lifetime)
            || now >= row.last_used_at + span(policy.idle);
        if expired {
            self.write(|ctx| ctx.tx.delete_web_session(&id_hash))?;
            return Err(ended("the console session has expired"));
        }
        let user: User = from_json(&row.user_json)?;
        access::may_use_console(&user)?;
        if (now - row.last_used_at).num_seconds() >= TOUCH_EVERY_SECS {
            self.write(|ctx| ctx.tx.touch_web_session(&id_hash, now))?;
        }
        let info = session_info(user.clone(), session_id, row.created_at, policy);
        Ok((
            Principal {
                user,
                device_id: session_device(&id_hash),
            },
            info,
        ))
    }

    pub(super) fn web_sign_out(&self, session_id: &str) -> Result<bool> {
        let id_hash = auth::token_hash(session_id);
        self.write(|ctx| ctx.tx.delete_web_session(&id_hash))
    }
}
