//! Who is looking at a page: the session cookie turned into its user, the
//! chosen language, the client's address, and the CSRF tokens that every
//! form carries.
//!
//! The session cookie holds a random token whose SHA-256 alone is stored
//! (see `service::accounts`). It is `HttpOnly` and `SameSite=Lax`; when
//! dnsdesk is reached over HTTPS (`http.public_url` starts with
//! `https://`) it is also `Secure` and named with the `__Host-` prefix, so
//! no subdomain of the zone (the very thing dnsdesk hands out) can set or
//! shadow it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use super::error::WebError;
use super::i18n::Lang;
use crate::app::App;
use crate::model::{Role, User};
use crate::service::accounts::{self, SessionUser};
pub use crate::service::accounts::{random_token, same_token};

/// The language cookie.
pub const LANG_COOKIE: &str = "dnsdesk_lang";
/// The pre-login CSRF cookie (double submit: the login form echoes it).
pub const LOGIN_CSRF_COOKIE: &str = "dnsdesk_login_csrf";
/// The name of every form's CSRF field.
pub const CSRF_FIELD: &str = "csrf";

/// The session cookie's name: `__Host-` prefixed over HTTPS.
pub fn session_cookie_name(app: &App) -> &'static str {
    if app.web.https() {
        "__Host-dnsdesk_session"
    } else {
        "dnsdesk_session"
    }
}

/// A `Set-Cookie` value; `max_age` None makes a session cookie, `Some(0)`
/// deletes it.
pub fn set_cookie(app: &App, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if app.web.https() {
        cookie.push_str("; Secure");
    }
    // Names and values are ours: base64url tokens, fixed names, `id`/`en`.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Refuses a form of a visitor not signed in (sign-in, the public
/// complaint form) unless it echoes the pre-session token of
/// `cookie_name`: a page of another site cannot read the cookie to echo
/// it (double submit).
pub fn check_pre_session_csrf(
    headers: &HeaderMap,
    cookie_name: &str,
    presented: &str,
    lang: Lang,
) -> Result<(), WebError> {
    if same_token(cookie(headers, cookie_name).unwrap_or(""), presented) {
        Ok(())
    } else {
        Err(WebError::csrf(lang))
    }
}

/// The context of every page: language, signed-in user (if any), where
/// the request came from.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub session: Option<SessionUser>,
    /// The request carried a session cookie that no longer names a
    /// session: it expired, or the user was disabled or signed out.
    pub stale_session: bool,
    /// The session token, to end the session at logout.
    pub token: Option<String>,
    pub client: IpAddr,
    /// Path and query of this request, to come back after signing in.
    pub path: String,
}

impl Ctx {
    /// The signed-in user, or a redirect to the login page.
    pub fn user(&self) -> Result<&User, WebError> {
        self.session
            .as_ref()
            .map(|s| &s.user)
            .ok_or_else(|| WebError::login(&self.path, self.stale_session))
    }

    /// The signed-in user if it has one of `roles`.
    pub fn user_with(&self, roles: &[Role]) -> Result<&User, WebError> {
        let user = self.user()?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            Err(WebError::forbidden(self.lang))
        }
    }

    /// The CSRF token forms of this session carry.
    pub fn csrf(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.csrf_token.as_str())
            .unwrap_or("")
    }

    /// Refuses a form whose CSRF field is not this session's token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), WebError> {
        match &self.session {
            Some(s) if s.csrf_matches(presented) => Ok(()),
            Some(_) => Err(WebError::csrf(self.lang)),
            None => Err(WebError::login(&self.path, self.stale_session)),
        }
    }

    /// Whether the user holds one of `roles`.
    pub fn is(&self, roles: &[Role]) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| roles.contains(&s.user.role))
    }
}

impl FromRequestParts<Arc<App>> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, WebError> {
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .map(Lang::parse)
            .unwrap_or_default();
        let client = client_addr(parts, &app.web.trusted_proxies);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let token = cookie(&parts.headers, session_cookie_name(app)).map(str::to_owned);
        let session = match &token {
            Some(token) => {
                accounts::session_user(app.store.as_ref(), &app.web.sessions, token, app.now())
                    .await
                    .map_err(|e| WebError::service(e, lang))?
            }
            None => None,
        };
        Ok(Ctx {
            lang,
            stale_session: token.is_some() && session.is_none(),
            session,
            token,
            client,
            path,
        })
    }
}

/// The client: the peer address, or behind a trusted proxy the address
/// it forwarded for ([`crate::proxy`]).
pub(crate) fn client_addr(parts: &Parts, trusted: &[crate::proxy::ProxyNet]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    crate::proxy::client_ip(peer, &parts.headers, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; dnsdesk_lang=en; xdnsdesk_lang=id"),
        );
        assert_eq!(cookie(&h, LANG_COOKIE), Some("en"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn tokens_compare_whole() {
        let t = random_token();
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &random_token()));
        assert!(!same_token(&t, &t[1..]));
        assert!(!same_token("", "x"));
        assert!(!same_token("", ""));
    }
}
