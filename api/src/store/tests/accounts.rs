//! Agencies, users and API tokens.

use super::fixture::Fixture;
use super::{TestDb, console};
use crate::model::Role;
use crate::store::{Constraint, NewAgency, NewUser, StoreError};

on_both_databases! {
    accounts_are_unique_and_tokens_skip_disabled_users,
}

async fn accounts_are_unique_and_tokens_skip_disabled_users(db: TestDb) {
    let f = Fixture::new(db).await;
    let found = f
        .store
        .agency_by_code("DisDik")
        .await
        .expect("by code")
        .expect("found");
    assert_eq!((found.id, found.code.as_str()), (f.agency, "DISDIK"));
    let dup = f
        .store
        .create_agency(
            NewAgency {
                code: "DISDIK".to_owned(),
                name: "again".to_owned(),
                email: "x@example.test".to_owned(),
            },
            console(),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(Constraint::AgencyCode))),
        "{dup:?}"
    );
    let dup = f
        .store
        .create_user(
            NewUser {
                username: "operator".to_owned(),
                role: Role::Admin,
                agency_id: None,
                password_hash: None,
            },
            console(),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(Constraint::Username))),
        "{dup:?}"
    );
    assert_eq!(f.store.list_agencies().await.expect("list").len(), 1);

    f.store
        .create_token(f.pd, "hash-1", console())
        .await
        .expect("token");
    let user = f
        .store
        .user_by_token("hash-1")
        .await
        .expect("lookup")
        .expect("enabled");
    assert_eq!(
        (user.id, user.role, user.agency_id),
        (f.pd, Role::Pd, Some(f.agency))
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(f.store.user_by_token("hash-2").await.expect("lookup"), None);

    f.db.execute(&format!(
        "UPDATE users SET disabled = TRUE WHERE id = {}",
        f.pd.0
    ))
    .await
    .expect("disable");
    assert_eq!(f.store.user_by_token("hash-1").await.expect("lookup"), None);
    assert!(
        f.store
            .user(f.pd)
            .await
            .expect("user")
            .is_some_and(|u| u.disabled)
    );
}
