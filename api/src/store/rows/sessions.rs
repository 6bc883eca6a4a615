//! The rows of `sessions` and `login_failures`, and the audit entries of
//! signing in and out, of the throttle and of changes to a user's access.

use serde_json::json;

use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::model::{User, UserId};
use crate::store::codec::{corrupt, from_ms, from_ms_opt, to_ms};
use crate::store::{
    FailedLogin, LoginFailures, NewStoredSession, StoreResult, StoredSession, ThrottleKey,
    ThrottleRule,
};

/// A row of `sessions`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct SessionRow {
    id: i64,
    pub(in crate::store) user_id: i64,
    csrf_token: String,
    client: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

/// The session `row` of `user`.
pub(in crate::store) fn stored_session(row: SessionRow, user: User) -> StoreResult<StoredSession> {
    Ok(StoredSession {
        id: row.id,
        user,
        csrf_token: row.csrf_token,
        client: row.client,
        created_at: from_ms("sessions.created_at", row.created_at)?,
        last_seen_at: from_ms("sessions.last_seen_at", row.last_seen_at)?,
        expires_at: from_ms("sessions.expires_at", row.expires_at)?,
    })
}

/// A row of `login_failures` as read: failures, first failure, locked
/// until.
pub(in crate::store) fn login_failures_row(
    (failures, first_at, locked_until): (i64, i64, Option<i64>),
) -> StoreResult<LoginFailures> {
    Ok(LoginFailures {
        failures: u32::try_from(failures)
            .map_err(|_| corrupt("login_failures.failures", failures))?,
        first_at: from_ms("login_failures.first_at", first_at)?,
        locked_until: from_ms_opt("login_failures.locked_until", locked_until)?,
    })
}

/// An entry about `user` by `by` that ended `ended` of the user's sessions
/// (a user disabled or enabled, a password set, every session ended).
pub(in crate::store) fn sessions_ended_event(
    action: AuditAction,
    user: &User,
    ended: u64,
    by: AuditActor,
) -> AuditEvent {
    let mut event = AuditEvent::new(action, by).with_detail(json!({
        "username": user.username,
        "sessions_ended": ended,
    }));
    event.agency_id = user.agency_id;
    event
}

/// The entry of `user` signing in, session `id`: its number and where it
/// came from; never the token, its hash or the CSRF token.
pub(in crate::store) fn login_event(user: &User, id: i64, new: &NewStoredSession) -> AuditEvent {
    let mut event =
        AuditEvent::new(AuditAction::AuthLogin, AuditActor::User(user.id)).with_detail(json!({
            "session": id,
            "client": new.client,
            "expires_at": to_ms(new.expires_at),
        }));
    event.agency_id = user.agency_id;
    event
}

/// The entry of session `id` of `user_id` (`user`, if still there) ending.
pub(in crate::store) fn logout_event(
    id: i64,
    user_id: UserId,
    user: Option<User>,
    client: String,
) -> AuditEvent {
    let mut event = AuditEvent::new(AuditAction::AuthLogout, AuditActor::User(user_id))
        .with_detail(json!({ "session": id, "client": client }));
    event.agency_id = user.and_then(|u| u.agency_id);
    event
}

/// The entry of a failed sign-in.
pub(in crate::store) fn login_failed_event(failure: &FailedLogin) -> AuditEvent {
    AuditEvent::new(AuditAction::AuthLoginFailed, AuditActor::Anonymous).with_detail(json!({
        "username": failure.username,
        "client": failure.client,
        "reason": failure.reason.as_str(),
    }))
}

/// The entry of `key` locked by `rule` after `next.failures` failures,
/// until `until`.
pub(in crate::store) fn locked_event(
    key: &ThrottleKey,
    rule: &ThrottleRule,
    next: &LoginFailures,
    until: time::OffsetDateTime,
) -> AuditEvent {
    let mut detail = json!({
        "failures": next.failures,
        "window_secs": rule.window.as_secs(),
        "locked_until": to_ms(until),
    });
    match key {
        ThrottleKey::Username(name) => detail["username"] = json!(name),
        ThrottleKey::Client(address) => detail["client"] = json!(address),
    }
    AuditEvent::new(AuditAction::AuthLocked, AuditActor::Anonymous).with_detail(detail)
}
