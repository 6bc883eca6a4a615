//! Password sign-in for the web UI: argon2id hashes, sessions with idle
//! and absolute timeouts, the throttle on failed sign-ins, and the admin
//! actions on accounts (list, disable, enable, set a password).
//!
//! A session is a random token in a cookie; the store keeps only its
//! SHA-256, like API tokens. Pages call these functions and set or clear
//! the cookie; nothing here knows about HTTP.
//!
//! ```text
//!  login ──▶ throttled? ──yes──▶ TooManyAttempts (audited, not counted)
//!              │ no
//!              ▼
//!        password checked (a dummy hash for unknown users: same cost)
//!              │ wrong / unknown / disabled / token-only
//!              ├──────────────▶ Unauthenticated (audited, counted
//!              │                against the username and the client)
//!              ▼ right
//!        username's failures cleared, session created (audited)
//! ```

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use time::OffsetDateTime;

use crate::audit::AuditActor;
use crate::error::ServiceError;
use crate::model::{Role, User, UserId};
use crate::store::{
    FailedLogin, LoginRefusal, NewStoredSession, Store, ThrottleKey, ThrottleRule, earlier, later,
};

/// Shortest password accepted, in characters (NIST SP 800-63B asks for
/// at least 8; people here choose theirs, so a little more).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Longest password accepted, in characters: far beyond any passphrase,
/// and it bounds the work a request can ask for.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Usernames are at most this long (see `admin::add_user`); what is tried
/// is cut to it before it is counted or audited.
const MAX_USERNAME_CHARS: usize = 64;

/// Client addresses are cut to this (an IPv6 address with a zone fits).
const MAX_CLIENT_CHARS: usize = 64;

/// Session and CSRF tokens: 32 random bytes, URL-safe base64.
const TOKEN_BYTES: usize = 32;

/// How long sessions last and how failed sign-ins are throttled. The
/// defaults are what dnsdesk runs with until the configuration sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout: Duration,
    /// `last_seen_at` is written at most this often: a write per request
    /// would cost an fsync each. The idle timeout is this much coarse.
    pub touch_interval: Duration,
    pub throttle: LoginThrottle,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 60 * 60),
            touch_interval: Duration::from_secs(60),
            throttle: LoginThrottle::default(),
        }
    }
}

/// Limits on failed sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Per username tried: guessing one account's password.
    pub per_username: ThrottleRule,
    /// Per client address: trying many accounts from one place. Higher,
    /// since an office shares one address behind NAT.
    pub per_client: ThrottleRule,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let window = Duration::from_secs(15 * 60);
        Self {
            per_username: ThrottleRule {
                max_failures: 5,
                window,
                lockout: window,
            },
            per_client: ThrottleRule {
                max_failures: 20,
                window,
                lockout: window,
            },
        }
    }
}

/// A session just created. `token` goes into the cookie and is shown
/// nowhere else; `Debug` prints neither token.
#[derive(Clone)]
pub struct NewSession {
    /// The cookie's value: the only copy (the store keeps its SHA-256).
    pub token: String,
    /// To embed in forms; [`session_user`] returns it on later requests.
    pub csrf_token: String,
    /// The absolute end (the cookie's `Expires`); the session can end
    /// sooner when idle.
    pub expires_at: OffsetDateTime,
    pub user: User,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<secret>")
            .field("csrf_token", &"<secret>")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// The user behind a live session. `Debug` hides the CSRF token.
#[derive(Clone)]
pub struct SessionUser {
    pub user: User,
    /// What forms of this session must carry back.
    pub csrf_token: String,
    pub session_id: i64,
}

impl SessionUser {
    /// Whether a form's CSRF token is this session's, compared in
    /// constant time (the comparison must not tell how much was right).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        same_token(&self.csrf_token, presented)
    }
}

/// Compares two tokens in time that does not depend on where they
/// differ; an empty token matches nothing.
pub fn same_token(expected: &str, presented: &str) -> bool {
    let (expected, presented) = (expected.as_bytes(), presented.as_bytes());
    !expected.is_empty()
        && expected.len() == presented.len()
        && expected
            .iter()
            .zip(presented)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

impl fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionUser")
            .field("user", &self.user)
            .field("csrf_token", &"<secret>")
            .field("session_id", &self.session_id)
            .finish()
    }
}

/// Who manages accounts: a signed-in user, who must be an admin, or
/// someone at the server's console (the `dnsdesk` command), who already
/// holds the database.
#[derive(Debug, Clone)]
pub enum AccountAdmin<'a> {
    User(&'a User),
    /// By operating-system user name.
    Console(String),
}

impl AccountAdmin<'_> {
    /// The audit actor, once the role is checked.
    fn authorize(&self, action: &str) -> Result<AuditActor, ServiceError> {
        match self {
            Self::User(user) => {
                super::require_role(user, &[Role::Admin], action)?;
                Ok(AuditActor::User(user.id))
            }
            Self::Console(who) => Ok(AuditActor::Console(who.clone())),
        }
    }
}

/// Hashes a new password with argon2id (default parameters, random salt)
/// into a PHC string. Refuses passwords shorter than
/// [`MIN_PASSWORD_CHARS`] or longer than [`MAX_PASSWORD_CHARS`]. Costs
/// tens of milliseconds of CPU by design: call it off the async threads.
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        // Only the system's random source can fail here; ServiceError has
        // no internal-error variant, and I/O is what it is.
        .map_err(|e| ServiceError::Io(std::io::Error::other(format!("argon2: {e}"))))
}

/// Whether `password` matches a PHC string made by [`hash_password`]. A
/// hash that does not parse matches nothing (and is logged: it means a
/// corrupt row). Same cost as hashing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match Argon2::default().verify_password(password.as_bytes(), hash) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(e) => {
            tracing::warn!(error = %e, "a stored password hash cannot be used");
            false
        }
    }
}

/// Checked for unknown and token-only users, so that refusing them costs
/// what a wrong password costs and the time taken does not tell which
/// usernames exist. Made with the current defaults, like real hashes.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut password = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut password);
    hash_password(&URL_SAFE_NO_PAD.encode(password)).ok()
});

/// [`verify_password`] on a blocking thread: argon2 would stall the async
/// workers for its whole run.
async fn verify_off_thread(password: &str, hash: Option<String>) -> bool {
    let password = password.to_owned();
    let checked = tokio::task::spawn_blocking(move || {
        // Forced on every call, so that making it (once) slows the first
        // sign-in of all, not the first one for an unknown username.
        let dummy = DUMMY_HASH.as_deref();
        match (hash, dummy) {
            (Some(hash), _) => verify_password(&password, &hash),
            (None, Some(dummy)) => {
                verify_password(&password, dummy);
                false
            }
            (None, None) => false,
        }
    })
    .await;
    checked.unwrap_or_else(|e| {
        tracing::error!(error = %e, "password check did not finish");
        false
    })
}

/// [`hash_password`] on a blocking thread.
async fn hash_off_thread(password: &str) -> Result<String, ServiceError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?
}

/// Signs a user in with a password from `client` (the address the HTTP
/// layer determined) and starts a session.
///
/// Refused with [`ServiceError::TooManyAttempts`] while the username or
/// the client is locked (the password is not checked then), and with
/// [`ServiceError::Unauthenticated`] for an unknown user, a wrong
/// password, a disabled or a token-only user alike. Every refusal is
/// audited with the username tried and the client, never the password.
#[tracing::instrument(skip_all, err, fields(client = %client))]
pub async fn login(
    store: &dyn Store,
    policy: &SessionPolicy,
    username: &str,
    password: &str,
    client: &str,
    now: OffsetDateTime,
) -> Result<NewSession, ServiceError> {
    let username: String = username
        .trim()
        .to_ascii_lowercase()
        .chars()
        .take(MAX_USERNAME_CHARS)
        .collect();
    let client: String = client.trim().chars().take(MAX_CLIENT_CHARS).collect();
    let user_key = ThrottleKey::Username(username.clone());
    let client_key = ThrottleKey::Client(client.clone());
    let failure = |reason| FailedLogin {
        username: username.clone(),
        client: client.clone(),
        reason,
    };

    let mut wait: Option<Duration> = None;
    for key in [&user_key, &client_key] {
        if let Some(locked) = store
            .login_failures(key)
            .await?
            .and_then(|f| f.locked_for(now))
        {
            wait = wait.max(Some(locked));
        }
    }
    if let Some(wait) = wait {
        store
            .record_login_failure(&failure(LoginRefusal::Throttled), &[], now)
            .await?;
        return Err(ServiceError::TooManyAttempts {
            retry_after_secs: retry_after_secs(wait),
        });
    }

    let credentials = store.user_credentials(&username).await?;
    let hash = credentials.as_ref().and_then(|c| c.password_hash.clone());
    let matches = verify_off_thread(password, hash).await;
    let user = match credentials {
        None => Err(LoginRefusal::UnknownUser),
        Some(c) if c.password_hash.is_none() => Err(LoginRefusal::NoPassword),
        Some(_) if !matches => Err(LoginRefusal::WrongPassword),
        Some(c) if c.user.disabled => Err(LoginRefusal::Disabled),
        Some(c) => Ok(c.user),
    };
    let user = match user {
        Ok(user) => user,
        Err(reason) => {
            let counted = [
                (user_key, policy.throttle.per_username),
                (client_key, policy.throttle.per_client),
            ];
            store
                .record_login_failure(&failure(reason), &counted, now)
                .await?;
            return Err(ServiceError::Unauthenticated);
        }
    };

    store.clear_login_failures(&user_key).await?;
    // Housekeeping on the way: sign-ins are frequent enough to keep both
    // tables small, and rare enough for the extra write not to matter.
    let longest_window = policy
        .throttle
        .per_username
        .window
        .max(policy.throttle.per_client.window);
    store
        .purge_expired_logins(
            now,
            earlier(now, policy.idle_timeout),
            earlier(now, longest_window),
        )
        .await?;
    let token = random_token();
    let csrf_token = random_token();
    let expires_at = later(now, policy.absolute_timeout);
    store
        .create_session(NewStoredSession {
            token_hash: super::admin::token_hash(&token),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            client,
            created_at: now,
            expires_at,
        })
        .await?;
    Ok(NewSession {
        token,
        csrf_token,
        expires_at,
        user,
    })
}

/// The user behind a session cookie, if the session is live at `now`:
/// known, not idle for [`SessionPolicy::idle_timeout`], not older than
/// [`SessionPolicy::absolute_timeout`], its user enabled. Notes the use
/// at most once per [`SessionPolicy::touch_interval`].
pub async fn session_user(
    store: &dyn Store,
    policy: &SessionPolicy,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<SessionUser>, ServiceError> {
    if !plausible_token(token) {
        return Ok(None);
    }
    let Some(session) = store
        .session_by_token_hash(&super::admin::token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    // The policy applies to sessions made under an older, longer one too.
    let ends = session
        .expires_at
        .min(later(session.created_at, policy.absolute_timeout));
    let idle_ends = later(session.last_seen_at, policy.idle_timeout);
    if now >= ends || now >= idle_ends || session.user.disabled {
        return Ok(None);
    }
    if now >= later(session.last_seen_at, policy.touch_interval) {
        store.touch_session(session.id, now).await?;
    }
    Ok(Some(SessionUser {
        user: session.user,
        csrf_token: session.csrf_token,
        session_id: session.id,
    }))
}

/// Ends the session of a cookie, audited. An unknown token is not an
/// error: signing out twice, or after expiry, just does nothing.
pub async fn logout(
    store: &dyn Store,
    token: &str,
    now: OffsetDateTime,
) -> Result<(), ServiceError> {
    if !plausible_token(token) {
        return Ok(());
    }
    if let Some(session) = store
        .session_by_token_hash(&super::admin::token_hash(token))
        .await?
    {
        store.end_session(session.id, now).await?;
    }
    Ok(())
}

/// Ends every session of `user` (sign out everywhere); returns how many.
pub async fn logout_everywhere(
    store: &dyn Store,
    user: &User,
    now: OffsetDateTime,
) -> Result<u64, ServiceError> {
    Ok(store
        .end_user_sessions(user.id, AuditActor::User(user.id), now)
        .await?)
}

/// Every user, by username; admins only.
pub async fn list_users(
    store: &dyn Store,
    by: &AccountAdmin<'_>,
) -> Result<Vec<User>, ServiceError> {
    by.authorize("list users")?;
    Ok(store.list_users().await?)
}

/// Disables a user and ends their sessions; their API tokens stop working
/// too. Admins only, and not on their own account (which could leave no
/// admin able to undo it).
pub async fn disable_user(
    store: &dyn Store,
    by: &AccountAdmin<'_>,
    user_id: UserId,
) -> Result<User, ServiceError> {
    let actor = by.authorize("disable users")?;
    if let AccountAdmin::User(admin) = by
        && admin.id == user_id
    {
        return Err(ServiceError::Forbidden(
            "you cannot disable your own account".to_owned(),
        ));
    }
    Ok(store.set_user_disabled(user_id, true, actor).await?)
}

/// Enables a disabled user again; admins only.
pub async fn enable_user(
    store: &dyn Store,
    by: &AccountAdmin<'_>,
    user_id: UserId,
) -> Result<User, ServiceError> {
    let actor = by.authorize("enable users")?;
    Ok(store.set_user_disabled(user_id, false, actor).await?)
}

/// Sets a user's password (see [`hash_password`] for the rules) and ends
/// their sessions; admins only.
pub async fn set_password(
    store: &dyn Store,
    by: &AccountAdmin<'_>,
    user_id: UserId,
    password: &str,
) -> Result<(), ServiceError> {
    let actor = by.authorize("set passwords")?;
    let hash = hash_off_thread(password).await?;
    Ok(store.set_password(user_id, &hash, actor).await?)
}

/// A fresh random token: 32 bytes, URL-safe base64 without padding
/// (sessions, CSRF tokens, API tokens after their prefix).
pub fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a cookie value could be one of our tokens; anything else is
/// refused before it costs a hash and a query.
fn plausible_token(token: &str) -> bool {
    (1..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whole seconds to wait, rounded up so that retrying at once after them
/// is not refused again.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests;
