//! Password sign-in against a real SQLite store: hashing, the throttle,
//! session timeouts driven by the `now` passed in, admin actions, and the
//! audit log free of secrets.

use std::time::Duration;

use tempfile::TempDir;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::service::admin;
use crate::store::sqlite::SqliteStore;

const T0: OffsetDateTime = datetime!(2026-03-02 08:00:00 UTC);
const PASSWORD: &str = "kapuas-river-2026";
const CLIENT: &str = "203.0.113.7";

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn console() -> AccountAdmin<'static> {
    AccountAdmin::Console("test".to_owned())
}

struct Fixture {
    store: SqliteStore,
    policy: SessionPolicy,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("dnsdesk.db"))
        .await
        .expect("open");
    Fixture {
        store,
        policy: SessionPolicy::default(),
        _dir: dir,
    }
}

impl Fixture {
    async fn user(&self, username: &str, role: &str, password: Option<&str>) -> User {
        let hash = password.map(|p| hash_password(p).expect("hash"));
        admin::add_user(
            &self.store,
            username,
            role,
            None,
            hash,
            AuditActor::Console("test".to_owned()),
        )
        .await
        .expect("user")
    }

    async fn login(
        &self,
        username: &str,
        password: &str,
        at: OffsetDateTime,
    ) -> Result<NewSession, ServiceError> {
        login(&self.store, &self.policy, username, password, CLIENT, at).await
    }

    async fn session_user(&self, token: &str, at: OffsetDateTime) -> Option<SessionUser> {
        session_user(&self.store, &self.policy, token, at)
            .await
            .expect("lookup")
    }

    async fn last_seen(&self, token: &str) -> Option<OffsetDateTime> {
        self.store
            .session_by_token_hash(&crate::service::admin::token_hash(token))
            .await
            .expect("lookup")
            .map(|s| s.last_seen_at)
    }

    /// Every audit entry as stored, detail included, as one text.
    async fn audit_text(&self) -> String {
        let entries = self.store.audit_range(0, 10_000).await.expect("audit");
        serde_json::to_string(&entries).expect("json")
    }

    async fn reasons(&self) -> Vec<String> {
        self.store
            .audit_range(0, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == "auth.login_failed")
            .map(|e| e.detail["reason"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

#[test]
fn passwords_hash_to_salted_argon2id_and_verify() {
    let hash = hash_password(PASSWORD).expect("hash");
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(verify_password(PASSWORD, &hash));
    assert!(!verify_password("kapuas-river-2025", &hash));
    assert_ne!(hash_password(PASSWORD).expect("hash"), hash, "salted");
    assert!(!verify_password(PASSWORD, "not a phc string"));

    for short in ["", "123456789", "sembilan9"] {
        match hash_password(short) {
            Err(ServiceError::Invalid { field, .. }) => assert_eq!(field, "password"),
            other => panic!("{short:?}: {other:?}"),
        }
    }
    // Characters, not bytes: ten non-ASCII letters are enough.
    assert!(hash_password("ééééééééééé").is_ok());
    assert!(hash_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    assert_eq!(retry_after_secs(Duration::from_secs(900)), 900);
    assert_eq!(retry_after_secs(Duration::from_millis(899_001)), 900);
    assert_eq!(retry_after_secs(Duration::ZERO), 1);
}

#[test]
fn tokens_are_long_random_and_url_safe() {
    let a = random_token();
    assert_eq!(a.len(), 43);
    assert!(plausible_token(&a));
    assert_ne!(a, random_token());
    assert!(!plausible_token(""));
    assert!(!plausible_token("a b"));
    assert!(!plausible_token(&"a".repeat(129)));
    assert_eq!(crate::service::admin::token_hash(&a).len(), 64);
}

#[tokio::test]
async fn a_login_makes_a_session_that_logout_ends() {
    let f = fixture().await;
    let boss = f.user("boss", "admin", Some(PASSWORD)).await;

    let session = f.login(" Boss ", PASSWORD, T0).await.expect("login");
    assert_eq!(session.user.id, boss.id);
    assert_eq!(session.expires_at, T0 + Duration::from_secs(12 * 3600));
    let debug = format!("{session:?}");
    assert!(!debug.contains(&session.token) && !debug.contains(&session.csrf_token));
    assert!(debug.contains("<secret>"));

    let current = f
        .session_user(&session.token, T0 + minutes(1))
        .await
        .expect("live");
    assert_eq!(current.user.id, boss.id);
    assert_eq!(current.csrf_token, session.csrf_token);
    assert!(!format!("{current:?}").contains(&session.csrf_token));
    assert!(current.csrf_matches(&session.csrf_token));
    assert!(!current.csrf_matches(&session.token));
    assert!(!current.csrf_matches(""));
    assert!(f.session_user("no-such-token", T0).await.is_none());

    logout(&f.store, &session.token, T0 + minutes(2))
        .await
        .expect("logout");
    assert!(
        f.session_user(&session.token, T0 + minutes(3))
            .await
            .is_none()
    );
    // Again, or with garbage: nothing to do, no error.
    logout(&f.store, &session.token, T0 + minutes(3))
        .await
        .expect("logout");
    logout(&f.store, "%%%", T0).await.expect("logout");

    let audit = f.audit_text().await;
    assert!(audit.contains("auth.login") && audit.contains("auth.logout"));
    assert!(!audit.contains(PASSWORD));
    assert!(!audit.contains(&session.token));
    assert!(!audit.contains(&crate::service::admin::token_hash(&session.token)));
    assert!(!audit.contains(&session.csrf_token));
}

#[tokio::test]
async fn wrong_unknown_disabled_and_token_only_are_all_unauthenticated() {
    let f = fixture().await;
    f.user("boss", "admin", Some(PASSWORD)).await;
    f.user("robot", "netadmin", None).await;
    let off = f.user("off", "reviewer", Some(PASSWORD)).await;
    enable_or_disable(&f, off.id, true).await;

    for (username, password) in [
        ("boss", "wrong-password-1"),
        ("nobody", PASSWORD),
        ("off", PASSWORD),
        ("robot", PASSWORD),
    ] {
        let refused = f.login(username, password, T0).await;
        assert!(
            matches!(refused, Err(ServiceError::Unauthenticated)),
            "{username}: {refused:?}"
        );
    }
    assert_eq!(
        f.reasons().await,
        ["wrong_password", "unknown_user", "disabled", "no_password"]
    );
    let audit = f.audit_text().await;
    assert!(!audit.contains(PASSWORD) && !audit.contains("wrong-password-1"));
    assert!(audit.contains("\"username\":\"nobody\""));
    assert!(audit.contains(CLIENT));
}

async fn enable_or_disable(f: &Fixture, user_id: UserId, disabled: bool) {
    if disabled {
        disable_user(&f.store, &console(), user_id)
            .await
            .expect("disable");
    } else {
        enable_user(&f.store, &console(), user_id)
            .await
            .expect("enable");
    }
}

#[tokio::test]
async fn five_failures_lock_the_username_until_the_window_passes() {
    let f = fixture().await;
    f.user("boss", "admin", Some(PASSWORD)).await;
    for i in 0..5 {
        let refused = f.login("boss", "wrong-password-x", T0 + minutes(i)).await;
        assert!(matches!(refused, Err(ServiceError::Unauthenticated)));
    }
    // Locked at T0+4 min for 15 min: even the right password is refused,
    // without being checked.
    let refused = f.login("boss", PASSWORD, T0 + minutes(5)).await;
    match refused {
        Err(ServiceError::TooManyAttempts { retry_after_secs }) => {
            assert_eq!(retry_after_secs, 14 * 60);
        }
        other => panic!("{other:?}"),
    }
    // Another username from the same client is not locked (5 < 20).
    f.user("clerk", "reviewer", Some(PASSWORD)).await;
    f.login("clerk", PASSWORD, T0 + minutes(5))
        .await
        .expect("other user");

    let session = f
        .login("boss", PASSWORD, T0 + minutes(19))
        .await
        .expect("after the lock");
    assert!(
        f.session_user(&session.token, T0 + minutes(20))
            .await
            .is_some()
    );
    // Success cleared the username's count: one more failure locks nothing.
    f.login("boss", "wrong-password-x", T0 + minutes(21))
        .await
        .expect_err("wrong");
    f.login("boss", PASSWORD, T0 + minutes(22))
        .await
        .expect("not locked");

    let reasons = f.reasons().await;
    assert_eq!(reasons.iter().filter(|r| *r == "throttled").count(), 1);
    let audit = f.audit_text().await;
    assert!(audit.contains("auth.locked"));
    assert!(!audit.contains(PASSWORD) && !audit.contains("wrong-password-x"));
}

#[tokio::test]
async fn a_client_with_many_failures_is_locked_whatever_the_username() {
    let mut f = fixture().await;
    f.policy.throttle.per_client.max_failures = 3;
    f.user("boss", "admin", Some(PASSWORD)).await;
    for name in ["a1", "a2", "a3"] {
        f.login(name, "guess-guess-guess", T0)
            .await
            .expect_err("unknown");
    }
    let refused = f.login("boss", PASSWORD, T0 + minutes(1)).await;
    assert!(
        matches!(
            refused,
            Err(ServiceError::TooManyAttempts {
                retry_after_secs: 840
            })
        ),
        "{refused:?}"
    );
    // From elsewhere, boss signs in.
    login(
        &f.store,
        &f.policy,
        "boss",
        PASSWORD,
        "198.51.100.9",
        T0 + minutes(1),
    )
    .await
    .expect("other client");
}

#[tokio::test]
async fn sessions_end_when_idle_or_old_and_are_touched_once_a_minute() {
    let f = fixture().await;
    f.user("boss", "admin", Some(PASSWORD)).await;
    let session = f.login("boss", PASSWORD, T0).await.expect("login");

    // Within the touch interval: no write.
    assert!(
        f.session_user(&session.token, T0 + Duration::from_secs(59))
            .await
            .is_some()
    );
    assert_eq!(f.last_seen(&session.token).await, Some(T0));
    // Past it: last_seen moves.
    assert!(
        f.session_user(&session.token, T0 + minutes(29))
            .await
            .is_some()
    );
    assert_eq!(f.last_seen(&session.token).await, Some(T0 + minutes(29)));
    // 30 minutes after the last use: idle, gone.
    assert!(
        f.session_user(&session.token, T0 + minutes(59))
            .await
            .is_none()
    );

    // Busy all day: ends 12 hours after sign-in anyway.
    let busy = f.login("boss", PASSWORD, T0).await.expect("login");
    let mut at = T0;
    while at < T0 + minutes(12 * 60 - 20) {
        at += minutes(20);
        assert!(f.session_user(&busy.token, at).await.is_some(), "{at}");
    }
    assert!(
        f.session_user(&busy.token, T0 + minutes(12 * 60))
            .await
            .is_none()
    );

    // A policy shortened later applies to sessions made before it.
    let fresh = f.login("boss", PASSWORD, T0).await.expect("login");
    let strict = SessionPolicy {
        absolute_timeout: minutes(10),
        ..f.policy
    };
    let live = session_user(&f.store, &strict, &fresh.token, T0 + minutes(10))
        .await
        .expect("lookup");
    assert!(live.is_none());
}

#[tokio::test]
async fn only_admins_manage_accounts_and_disabling_ends_sessions() {
    let f = fixture().await;
    let boss = f.user("boss", "admin", Some(PASSWORD)).await;
    let clerk = f.user("clerk", "reviewer", Some(PASSWORD)).await;
    let session = f.login("clerk", PASSWORD, T0).await.expect("login");

    let refused = disable_user(&f.store, &AccountAdmin::User(&clerk), boss.id).await;
    assert!(
        matches!(refused, Err(ServiceError::Forbidden(_))),
        "{refused:?}"
    );
    let refused = list_users(&f.store, &AccountAdmin::User(&clerk)).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
    let refused = set_password(&f.store, &AccountAdmin::User(&clerk), clerk.id, PASSWORD).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
    let own = disable_user(&f.store, &AccountAdmin::User(&boss), boss.id).await;
    assert!(matches!(own, Err(ServiceError::Forbidden(_))), "{own:?}");

    let off = disable_user(&f.store, &AccountAdmin::User(&boss), clerk.id)
        .await
        .expect("disable");
    assert!(off.disabled);
    assert!(
        f.session_user(&session.token, T0 + minutes(1))
            .await
            .is_none()
    );
    assert!(matches!(
        f.login("clerk", PASSWORD, T0 + minutes(2)).await,
        Err(ServiceError::Unauthenticated)
    ));
    enable_user(&f.store, &AccountAdmin::User(&boss), clerk.id)
        .await
        .expect("enable");

    let users = list_users(&f.store, &AccountAdmin::User(&boss))
        .await
        .expect("list");
    assert_eq!(users.len(), 2);
    assert!(matches!(
        disable_user(&f.store, &console(), UserId(999)).await,
        Err(ServiceError::NotFound("user"))
    ));
}

#[tokio::test]
async fn a_new_password_works_ends_old_sessions_and_stays_out_of_the_log() {
    let f = fixture().await;
    let clerk = f.user("clerk", "reviewer", None).await;
    let new_password = "sungai-landak-99";
    let short = set_password(&f.store, &console(), clerk.id, "short").await;
    assert!(
        matches!(&short, Err(ServiceError::Invalid { field, .. }) if field == "password"),
        "{short:?}"
    );
    set_password(&f.store, &console(), clerk.id, PASSWORD)
        .await
        .expect("set");
    let session = f.login("clerk", PASSWORD, T0).await.expect("login");
    set_password(&f.store, &console(), clerk.id, new_password)
        .await
        .expect("set");
    assert!(
        f.session_user(&session.token, T0 + minutes(1))
            .await
            .is_none()
    );
    f.login("clerk", PASSWORD, T0 + minutes(2))
        .await
        .expect_err("old password");
    f.login("clerk", new_password, T0 + minutes(3))
        .await
        .expect("new password");

    let audit = f.audit_text().await;
    assert!(audit.contains("user.password_set"));
    assert!(!audit.contains(PASSWORD) && !audit.contains(new_password));
    assert!(!audit.contains("$argon2"));
}
