//! The office console's session cookie on a request: finding it, and the checks a request
//! signed in by it passes before the store is asked (`session_principal`): a POST, PATCH,
//! PUT or DELETE must carry `X-CSRF-Token` (the token sign-in returned, bound to the
//! session) and come from this origin, `Sec-Fetch-Site: same-origin` or an `Origin` naming
//! this server's host, at least one of them. The endpoints that open and close a session are
//! `web_session`; docs/CONSOLE.md has the decisions.

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use onsite_model::wire::WebSession;

use super::{AppState, blocking};
use crate::auth;
use crate::error::{Error, Result};
use crate::store::Principal;

/// The session cookie's name.
pub const COOKIE: &str = "onsite_session";
/// The header a cookie-authenticated unsafe request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session id the request's cookie holds, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn cross_site(message: &str) -> Error {
    Error::forbidden(
        "cross_site",
        format!("{message}: the console's requests are accepted from its own pages only"),
    )
}

/// Refuses a request another site's page made: `Sec-Fetch-Site` other than `same-origin`
/// (or `none`, the user's own navigation), or an `Origin` naming another host than the one
/// the request was sent to. With `required`, a request carrying neither is refused too.
pub(super) fn same_origin(headers: &HeaderMap, required: bool) -> Result<()> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = text("sec-fetch-site");
    if let Some(site) = fetch_site
        && site != "same-origin"
        && site != "none"
    {
        return Err(cross_site(&format!("Sec-Fetch-Site is {site:?}")));
    }
    let origin = text("origin");
    if let Some(origin) = origin {
        let host = text("host").unwrap_or_default();
        let authority = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'));
        if authority.is_none_or(|a| !a.eq_ignore_ascii_case(host)) {
            return Err(cross_site(&format!(
                "the request comes from {origin:?}, not from this server"
            )));
        }
    }
    if required && fetch_site.is_none() && origin.is_none() {
        return Err(cross_site(
            "the request names no origin (neither Origin nor Sec-Fetch-Site)",
        ));
    }
    Ok(())
}

fn unsafe_method(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The principal of the request's session cookie, after the CSRF checks an unsafe method
/// needs; `None` when the request carries no session cookie.
pub(super) async fn session_principal(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(Principal, WebSession)>> {
    let Some(session_id) = session_cookie(&parts.headers) else {
        return Ok(None);
    };
    if unsafe_method(&parts.method) {
        same_origin(&parts.headers, true)?;
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::forbidden(
                    "csrf_missing",
                    "a console request that changes something needs the X-CSRF-Token header sign-in returned",
                )
            })?;
        if !auth::same_secret(sent, &auth::csrf_token(&session_id)) {
            return Err(Error::forbidden(
                "csrf_invalid",
                "the X-CSRF-Token header does not belong to this session; reload the console",
            ));
        }
    }
    let store = state.store.clone();
    let policy = state.console.sessions;
    let found = blocking(move || store.web_session(&session_id, policy)).await?;
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; onsite_session=abc ; b=2")]);
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        assert_eq!(
            session_cookie(&headers(&[("cookie", "onsite_session=")])),
            None
        );
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }

    #[test]
    fn only_this_origin_passes() {
        let own = [
            ("host", "127.0.0.1:8787"),
            ("origin", "http://127.0.0.1:8787"),
        ];
        assert!(same_origin(&headers(&own), true).is_ok());
        let other = [
            ("host", "127.0.0.1:8787"),
            ("origin", "https://evil.example"),
        ];
        assert!(same_origin(&headers(&other), false).is_err());
        let site = [("host", "h"), ("sec-fetch-site", "cross-site")];
        assert!(same_origin(&headers(&site), false).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")]), true).is_ok());
        assert!(same_origin(&HeaderMap::new(), true).is_err());
        assert!(same_origin(&HeaderMap::new(), false).is_ok());
        let null = [("host", "h"), ("origin", "null")];
        assert!(same_origin(&headers(&null), false).is_err());
    }
}
