//! The office console's session at the edge: sign-in (`POST /api/v1/web/session`), who am I
//! (`GET`), sign-out (`DELETE`), and the cookie that carries it: `onsite_session`, HttpOnly
//! (no script reads it), SameSite=Strict (no other site's page sends it), Path=/, Secure when
//! the server is configured behind TLS (`[console] secure_cookies`), Max-Age the session's
//! lifetime. The checks every request signed in by the cookie passes are `session_cookie`'s.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{FromRequest as _, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onsite_model::wire::{WebSession, WebSignInRequest};

use super::session_cookie::{COOKIE, same_origin, session_cookie, session_principal};
use super::{ApiJson, AppState, blocking, login};
use crate::error::{Error, Result};

fn set_cookie(state: &AppState, value: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if state.console.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `POST /api/v1/web/session`: signs an office user in, under the same attempt limits and
/// hashing threads as a device's sign-in.
pub async fn sign_in(State(state): State<AppState>, req: Request) -> Response {
    let address: IpAddr = login::client_address(&req);
    if let Err(e) = same_origin(req.headers(), false) {
        return e.into_response();
    }
    let replaces = session_cookie(req.headers());
    let ApiJson(body) = match ApiJson::<WebSignInRequest>::from_request(req, &state).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let store = state.store.clone();
    let policy = state.console.sessions;
    let username = body.username.clone();
    let signed = login::guarded(&state, &username, address, move || {
        store.web_sign_in(&body, policy, replaces.as_deref())
    })
    .await;
    match signed {
        Ok(signed) => {
            let cookie = set_cookie(&state, &signed.session_id, policy.lifetime.as_secs());
            ([(header::SET_COOKIE, cookie)], Json(signed.session)).into_response()
        }
        Err(res) => res,
    }
}

/// `GET /api/v1/web/session`: the signed-in console user, with the session's CSRF token (so
/// a reloaded console carries on).
pub async fn current(State(state): State<AppState>, req: Request) -> Result<Json<WebSession>> {
    let (parts, _) = req.into_parts();
    match session_principal(&parts, &state).await? {
        Some((_, session)) => Ok(Json(session)),
        None => Err(Error::unauthorized(
            "no console session: sign in with your username and password",
        )),
    }
}

/// `DELETE /api/v1/web/session`: ends the session on the server and clears the cookie.
pub async fn sign_out(State(state): State<AppState>, req: Request) -> Result<Response> {
    let (parts, _) = req.into_parts();
    if session_principal(&parts, &state).await?.is_none() {
        return Err(Error::unauthorized("no console session to sign out of"));
    }
    let session_id = session_cookie(&parts.headers).unwrap_or_default();
    let store = state.store.clone();
    blocking(move || store.web_sign_out(&session_id)).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie(&state, "", 0))],
    )
        .into_response())
}
