//! Sessions, credentials and the sign-in throttle; every time is the
//! `now` the test passes, nothing sleeps.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::{TestDb, console};
use crate::audit::{AuditActor, AuditEntry};
use crate::model::{Role, UserId};
use crate::store::{
    FailedLogin, LoginFailures, LoginRefusal, NewStoredSession, NewUser, Store, StoreError,
    ThrottleKey, ThrottleRule,
};

on_both_databases! {
    a_session_reads_back_is_touched_forward_and_ends_once,
    purging_removes_idle_and_expired_sessions_and_stale_failures,
    disabling_a_user_ends_their_sessions_in_the_same_transaction,
    a_new_password_replaces_the_hash_and_ends_sessions_unaudited_hash,
    ending_all_sessions_of_a_user_is_one_audit_entry,
    failures_lock_at_the_limit_and_count_afresh_after_the_window,
}

const T0: OffsetDateTime = datetime!(2026-03-02 08:00:00 UTC);

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

struct Fixture {
    store: Arc<dyn Store>,
    db: TestDb,
}

impl Fixture {
    fn new(db: TestDb) -> Self {
        Self {
            store: Arc::clone(&db.store),
            db,
        }
    }

    async fn user(&self, username: &str, hash: Option<&str>) -> UserId {
        let new = NewUser {
            username: username.to_owned(),
            role: Role::Reviewer,
            agency_id: None,
            password_hash: hash.map(str::to_owned),
        };
        self.store
            .create_user(new, console())
            .await
            .expect("user")
            .id
    }

    async fn session(&self, user_id: UserId, token_hash: &str, at: OffsetDateTime) -> i64 {
        self.store
            .create_session(NewStoredSession {
                token_hash: token_hash.to_owned(),
                user_id,
                csrf_token: format!("csrf-of-{token_hash}"),
                client: "203.0.113.7".to_owned(),
                created_at: at,
                expires_at: at + Duration::from_secs(12 * 3600),
            })
            .await
            .expect("session")
    }

    async fn audit(&self) -> Vec<AuditEntry> {
        self.store.audit_range(0, 1000).await.expect("audit")
    }

    async fn sessions_left(&self) -> i64 {
        self.db.scalar("SELECT COUNT(*) FROM sessions").await
    }
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

async fn a_session_reads_back_is_touched_forward_and_ends_once(db: TestDb) {
    let f = Fixture::new(db);
    let user = f.user("reviewer", None).await;
    let id = f.session(user, "hash-of-token-1", T0).await;

    let session = f
        .store
        .session_by_token_hash("hash-of-token-1")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(session.id, id);
    assert_eq!(session.user.id, user);
    assert_eq!(session.csrf_token, "csrf-of-hash-of-token-1");
    assert_eq!(session.client, "203.0.113.7");
    assert_eq!((session.created_at, session.last_seen_at), (T0, T0));
    assert_eq!(session.expires_at, T0 + Duration::from_secs(12 * 3600));
    assert!(!format!("{session:?}").contains("csrf-of"));
    assert!(
        f.store
            .session_by_token_hash("hash-of-token-2")
            .await
            .expect("lookup")
            .is_none()
    );

    f.store
        .touch_session(id, T0 + minutes(5))
        .await
        .expect("touch");
    // A late request carrying an older time never moves it back.
    f.store
        .touch_session(id, T0 + minutes(1))
        .await
        .expect("touch");
    let session = f
        .store
        .session_by_token_hash("hash-of-token-1")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(session.last_seen_at, T0 + minutes(5));

    assert!(f.store.end_session(id, T0 + minutes(6)).await.expect("end"));
    assert!(!f.store.end_session(id, T0 + minutes(7)).await.expect("end"));
    assert!(
        f.store
            .session_by_token_hash("hash-of-token-1")
            .await
            .expect("lookup")
            .is_none()
    );

    let audit = f.audit().await;
    assert_eq!(
        actions(&audit),
        ["admin.user_created", "auth.login", "auth.logout"]
    );
    assert_eq!(audit[1].actor, "user:reviewer");
    assert_eq!(audit[1].detail["client"], "203.0.113.7");
    assert_eq!(audit[2].at, T0 + minutes(6));
    for entry in &audit {
        let stored = entry.detail.to_string();
        assert!(!stored.contains("hash-of-token"), "{stored}");
        assert!(!stored.contains("csrf-of"), "{stored}");
    }
}

async fn purging_removes_idle_and_expired_sessions_and_stale_failures(db: TestDb) {
    let f = Fixture::new(db);
    let user = f.user("reviewer", None).await;
    let now = T0 + Duration::from_secs(13 * 3600);
    // Past its absolute end, though used a minute ago.
    let old = f.session(user, "old", T0).await;
    f.store
        .touch_session(old, now - minutes(1))
        .await
        .expect("touch");
    // Idle for 31 minutes.
    f.session(user, "idle", now - minutes(31)).await;
    // Fresh.
    f.session(user, "fresh", now - minutes(29)).await;

    let rule = ThrottleRule {
        max_failures: 2,
        window: minutes(15),
        lockout: minutes(60),
    };
    let failure = FailedLogin {
        username: "x".to_owned(),
        client: "198.51.100.1".to_owned(),
        reason: LoginRefusal::WrongPassword,
    };
    let stale = ThrottleKey::Username("stale".to_owned());
    let locked = ThrottleKey::Username("locked".to_owned());
    let recent = ThrottleKey::Username("recent".to_owned());
    let count = |key: &ThrottleKey, at| {
        let counted = [(key.clone(), rule)];
        let store = &f.store;
        let failure = &failure;
        async move {
            store
                .record_login_failure(failure, &counted, at)
                .await
                .expect("failure");
        }
    };
    count(&stale, now - minutes(20)).await;
    count(&locked, now - minutes(20)).await;
    count(&locked, now - minutes(20)).await;
    count(&recent, now - minutes(5)).await;

    f.store
        .purge_expired_logins(now, now - minutes(30), now - minutes(15))
        .await
        .expect("purge");

    assert_eq!(f.sessions_left().await, 1);
    assert!(
        f.store
            .session_by_token_hash("fresh")
            .await
            .expect("lookup")
            .is_some()
    );
    assert_eq!(f.store.login_failures(&stale).await.expect("read"), None);
    assert!(
        f.store
            .login_failures(&locked)
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        f.store
            .login_failures(&recent)
            .await
            .expect("read")
            .is_some()
    );
}

async fn disabling_a_user_ends_their_sessions_in_the_same_transaction(db: TestDb) {
    let f = Fixture::new(db);
    let alice = f.user("alice", None).await;
    let bob = f.user("bob", None).await;
    f.session(alice, "a1", T0).await;
    f.session(alice, "a2", T0).await;
    f.session(bob, "b1", T0).await;

    let user = f
        .store
        .set_user_disabled(alice, true, console())
        .await
        .expect("disable");
    assert!(user.disabled);
    assert_eq!(f.sessions_left().await, 1);
    assert!(
        f.store
            .session_by_token_hash("a1")
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        f.store
            .session_by_token_hash("b1")
            .await
            .expect("lookup")
            .is_some()
    );
    // A session that somehow exists for a disabled user is not handed out.
    f.db.execute(&format!(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at,
             expires_at, client) VALUES ('stray', {}, 'c', 1, 1, 2, 'x')",
        alice.0
    ))
    .await
    .expect("insert");
    assert!(
        f.store
            .session_by_token_hash("stray")
            .await
            .expect("lookup")
            .is_none()
    );

    // Disabling again changes nothing and is not audited again, but the
    // stray session goes.
    f.store
        .set_user_disabled(alice, true, console())
        .await
        .expect("disable");
    assert_eq!(f.sessions_left().await, 1);
    let enabled = f
        .store
        .set_user_disabled(alice, false, console())
        .await
        .expect("enable");
    assert!(!enabled.disabled);

    let audit = f.audit().await;
    let tail: Vec<&str> = actions(&audit).into_iter().skip(2).collect();
    assert_eq!(
        tail,
        [
            "auth.login",
            "auth.login",
            "auth.login",
            "user.disabled",
            "user.enabled"
        ]
    );
    let disabled = &audit[5];
    assert_eq!(disabled.actor, "console:test");
    assert_eq!(disabled.detail["username"], "alice");
    assert_eq!(disabled.detail["sessions_ended"], 2);

    let missing = f
        .store
        .set_user_disabled(UserId(999), true, console())
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound("user"))),
        "{missing:?}"
    );
}

async fn a_new_password_replaces_the_hash_and_ends_sessions_unaudited_hash(db: TestDb) {
    let f = Fixture::new(db);
    let user = f.user("reviewer", Some("$argon2id$old")).await;
    f.user("admin", None).await;
    f.session(user, "s1", T0).await;

    let before = f
        .store
        .user_credentials("reviewer")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(before.password_hash.as_deref(), Some("$argon2id$old"));
    assert!(!format!("{before:?}").contains("argon2id"));

    f.store
        .set_password(user, "$argon2id$new-hash", console())
        .await
        .expect("set");
    let after = f
        .store
        .user_credentials("reviewer")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$new-hash"));
    assert_eq!(f.sessions_left().await, 0);
    assert!(
        f.store
            .user_credentials("nobody")
            .await
            .expect("read")
            .is_none()
    );
    assert!(matches!(
        f.store.set_password(UserId(999), "x", console()).await,
        Err(StoreError::NotFound("user"))
    ));

    let audit = f.audit().await;
    let last = audit.last().expect("entries");
    assert_eq!(last.action, "user.password_set");
    assert_eq!(last.detail["sessions_ended"], 1);
    assert!(!last.detail.to_string().contains("argon2"));

    let names: Vec<String> = f
        .store
        .list_users()
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["admin", "reviewer"]);
}

async fn ending_all_sessions_of_a_user_is_one_audit_entry(db: TestDb) {
    let f = Fixture::new(db);
    let user = f.user("reviewer", None).await;
    f.session(user, "s1", T0).await;
    f.session(user, "s2", T0).await;
    let ended = f
        .store
        .end_user_sessions(user, AuditActor::User(user), T0 + minutes(1))
        .await
        .expect("end");
    assert_eq!(ended, 2);
    let again = f
        .store
        .end_user_sessions(user, AuditActor::User(user), T0 + minutes(2))
        .await
        .expect("end");
    assert_eq!(again, 0);
    let audit = f.audit().await;
    assert_eq!(
        actions(&audit).last().copied(),
        Some("auth.logout"),
        "{audit:?}"
    );
    assert_eq!(
        audit.iter().filter(|e| e.action == "auth.logout").count(),
        1
    );
}

async fn failures_lock_at_the_limit_and_count_afresh_after_the_window(db: TestDb) {
    let f = Fixture::new(db);
    let rule = ThrottleRule {
        max_failures: 5,
        window: minutes(15),
        lockout: minutes(15),
    };
    let key = ThrottleKey::Username("boss".to_owned());
    let client = ThrottleKey::Client("198.51.100.1".to_owned());
    let failure = FailedLogin {
        username: "boss".to_owned(),
        client: "198.51.100.1".to_owned(),
        reason: LoginRefusal::WrongPassword,
    };
    let counted = [(key.clone(), rule), (client.clone(), rule)];
    for i in 0..4 {
        f.store
            .record_login_failure(&failure, &counted, T0 + minutes(i))
            .await
            .expect("failure");
    }
    let four = f
        .store
        .login_failures(&key)
        .await
        .expect("read")
        .expect("counted");
    assert_eq!(
        (four.failures, four.first_at, four.locked_until),
        (4, T0, None)
    );

    let fifth = T0 + minutes(4);
    f.store
        .record_login_failure(&failure, &counted, fifth)
        .await
        .expect("failure");
    let locked = f
        .store
        .login_failures(&key)
        .await
        .expect("read")
        .expect("counted");
    assert_eq!(locked.failures, 5);
    assert_eq!(locked.locked_until, Some(fifth + minutes(15)));
    assert_eq!(locked.locked_for(fifth + minutes(14)), Some(minutes(1)));
    assert_eq!(locked.locked_for(fifth + minutes(15)), None);

    // A refusal while locked is on record but not counted.
    let throttled = FailedLogin {
        reason: LoginRefusal::Throttled,
        ..failure.clone()
    };
    f.store
        .record_login_failure(&throttled, &[], fifth + minutes(1))
        .await
        .expect("refusal");
    assert_eq!(
        f.store.login_failures(&key).await.expect("read"),
        Some(locked)
    );

    // After the window and the lock, the count starts again.
    let later = fifth + minutes(15);
    f.store
        .record_login_failure(&failure, &counted, later)
        .await
        .expect("failure");
    let fresh = f
        .store
        .login_failures(&key)
        .await
        .expect("read")
        .expect("counted");
    assert_eq!((fresh.failures, fresh.first_at), (1, later));
    assert_eq!(fresh.locked_for(later), None);

    f.store.clear_login_failures(&key).await.expect("clear");
    assert_eq!(f.store.login_failures(&key).await.expect("read"), None);
    assert!(
        f.store
            .login_failures(&client)
            .await
            .expect("read")
            .is_some()
    );

    let audit = f.audit().await;
    let kinds = actions(&audit);
    // Both keys locked at the fifth failure, each audited once.
    assert_eq!(kinds.iter().filter(|a| **a == "auth.locked").count(), 2);
    assert_eq!(
        kinds.iter().filter(|a| **a == "auth.login_failed").count(),
        7
    );
    let lock = audit
        .iter()
        .find(|e| e.action == "auth.locked")
        .expect("locked");
    assert_eq!(lock.detail["username"], "boss");
    assert_eq!(lock.detail["failures"], 5);
    let refused = audit
        .iter()
        .find(|e| e.detail["reason"] == "throttled")
        .expect("throttled");
    assert_eq!(refused.actor, "anonymous");
    assert_eq!(refused.detail["client"], "198.51.100.1");
}

#[test]
fn the_throttle_counts_in_windows_and_keeps_a_running_lock() {
    let rule = ThrottleRule {
        max_failures: 3,
        window: minutes(10),
        lockout: minutes(30),
    };
    let first = LoginFailures::after_failure(None, T0, &rule);
    assert_eq!(
        (first.failures, first.first_at, first.locked_until),
        (1, T0, None)
    );
    let second = LoginFailures::after_failure(Some(&first), T0 + minutes(9), &rule);
    assert_eq!((second.failures, second.first_at), (2, T0));
    // The window is over at T0 + 10 min: the count restarts.
    let restarted = LoginFailures::after_failure(Some(&second), T0 + minutes(10), &rule);
    assert_eq!(
        (restarted.failures, restarted.first_at),
        (1, T0 + minutes(10))
    );
    let third = LoginFailures::after_failure(Some(&second), T0 + minutes(9), &rule);
    assert_eq!(third.locked_until, Some(T0 + minutes(39)));
    // A lock outlasting its window survives a failure that restarts the
    // count (one not refused because it raced the lock).
    let raced = LoginFailures::after_failure(Some(&third), T0 + minutes(20), &rule);
    assert_eq!(
        (raced.failures, raced.locked_until),
        (1, Some(T0 + minutes(39)))
    );
    assert_eq!(raced.locked_for(T0 + minutes(38)), Some(minutes(1)));
    assert_eq!(raced.locked_for(T0 + minutes(39)), None);
}
