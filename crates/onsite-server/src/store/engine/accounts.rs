//! Users, sign-in and devices: argon2id passwords, tokens stored as their sha256.

use onsite_model::wire::{LoginRequest, LoginResponse};
use onsite_model::{DeviceId, User, UserId};

use super::super::backend::{Backend, DocTable};
use super::super::interface::{DeviceInfo, NewUser, Principal};
use super::context::Engine;
use super::records::{all_json, from_json, next_seq};
use crate::auth;
use crate::error::{Error, Result};

/// How often a device's `last_seen` is written when it only reads.
const LAST_SEEN_EVERY_SECS: i64 = 60;

impl<B: Backend> Engine<B> {
    pub(super) fn create_user(&self, new: &NewUser) -> Result<User> {
        let username = new.username.trim();
        if username.is_empty()
            || !username
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'))
        {
            return Err(Error::unprocessable(
                "invalid_username",
                format!("username {username:?} may use only letters, digits, '.', '_' and '-'"),
            ));
        }
        if new.name.trim().is_empty() {
            return Err(Error::unprocessable(
                "invalid_name",
                "the display name is empty",
            ));
        }
        if new.password.0.chars().count() < 8 {
            return Err(Error::unprocessable(
                "weak_password",
                "the password must have at least 8 characters",
            ));
        }
        let hash = auth::hash_password(&new.password.0, self.fast_passwords())?;
        let user = User {
            id: UserId::new(self.ids.as_ref()),
            username: username.to_owned(),
            name: new.name.trim().to_owned(),
            role: new.role,
            skills: new.skills.clone(),
            phone: new.phone.clone(),
        };
        self.write(|ctx| {
            if ctx.tx.user_by_username(username)?.is_some() {
                return Err(Error::conflict(
                    "user_exists",
                    format!("a user named {username:?} already exists"),
                ));
            }
            let seq = next_seq(ctx.tx)?;
            ctx.tx.insert_user(&user, &hash, ctx.now, seq)?;
            Ok(user.clone())
        })
    }

    pub(super) fn list_users(&self) -> Result<Vec<User>> {
        self.read(|tx| all_json(tx.list_docs(DocTable::Users)?))
    }

    /// The user whose username and password these are, or `bad_credentials`. An unknown
    /// user costs one verification too, so timing does not tell them apart. Devices and the
    /// console sign in through it.
    pub(super) fn check_password(&self, username: &str, password: &str) -> Result<User> {
        let found = self.read(|tx| tx.user_by_username(username.trim()))?;
        let Some((user, hash)) = found else {
            auth::verify_unknown_user(password, self.fast_passwords());
            return Err(Error::bad_credentials());
        };
        let user: User = from_json(&user)?;
        if !auth::verify_password(password, &hash) {
            return Err(Error::bad_credentials());
        }
        Ok(user)
    }

    pub(super) fn login(&self, req: &LoginRequest) -> Result<LoginResponse> {
        let user = self.check_password(&req.username, &req.password)?;
        let token = auth::new_token();
        let token_hash = auth::token_hash(&token);
        let device = req.device_id;
        let name = if req.device_name.trim().is_empty() {
            "device".to_owned()
        } else {
            req.device_name.trim().to_owned()
        };
        let now = self.write(|ctx| {
            match ctx.tx.device_owner(device)? {
                Some(owner) if owner.user_id != user.id => {
                    return Err(Error::conflict(
                        "device_taken",
                        format!("device {device} is registered to another user; reset the app's data before signing in as someone else"),
                    ));
                }
                Some(owner) if owner.revoked => {
                    return Err(Error::forbidden(
                        "device_revoked",
                        format!("device {device} was revoked by an administrator; reset the app's data to register it again"),
                    ));
                }
                Some(_) => ctx
                    .tx
                    .reissue_device_token(device, &name, &token_hash, ctx.now)?,
                None => ctx
                    .tx
                    .insert_device(device, user.id, &name, &token_hash, ctx.now)?,
            }
            Ok(ctx.now)
        })?;
        tracing::info!(user = %user.username, device = %req.device_id, "signed in");
        Ok(LoginResponse {
            token,
            user,
            device_id: req.device_id,
            server_time: now,
            epoch: self.backend.epoch().to_owned(),
        })
    }

    pub(super) fn authenticate(&self, token: &str) -> Result<Principal> {
        let hash = auth::token_hash(token);
        let Some(holder) = self.read(|tx| tx.device_by_token(&hash))? else {
            return Err(Error::unauthorized(
                "the sign-in token is not valid (expired, replaced or forged); sign in again",
            ));
        };
        if holder.revoked {
            return Err(Error::unauthorized(
                "this device was signed out by an administrator; sign in again",
            ));
        }
        let now = self.clock.now();
        let stale = holder
            .last_seen
            .is_none_or(|t| (now - t).num_seconds() >= LAST_SEEN_EVERY_SECS);
        if stale {
            self.note_seen(holder.device_id, now);
        }
        Ok(Principal {
            user: from_json(&holder.user_json)?,
            device_id: holder.device_id,
        })
    }

    pub(super) fn list_devices(&self) -> Result<Vec<DeviceInfo>> {
        // The office sees every contact so far, noted or written.
        self.flush_seen()?;
        self.read(|tx| tx.devices(None))
    }

    pub(super) fn revoke_device(&self, id: DeviceId) -> Result<DeviceInfo> {
        self.write(|ctx| {
            if !ctx.tx.revoke_device(id, ctx.now)? {
                return Err(Error::not_found(
                    "unknown_device",
                    format!("no device {id}"),
                ));
            }
            ctx.tx
                .devices(Some(id))?
                .pop()
                .ok_or_else(|| Error::Internal("device vanished".into()))
        })
    }
}
