//! The audit log: one hash chain however many write at once, and an entry
//! exactly for each change made.

use std::sync::Arc;

use super::fixture::Fixture;
use super::{TestDb, walk_chain};
use crate::audit::AuditActor;
use crate::model::{Actor, RequestState};
use crate::store::StateChange;

on_both_databases! {
    concurrent_appends_make_one_chain,
    a_refused_change_leaves_no_audit_entry_and_a_made_one_leaves_one,
}

async fn concurrent_appends_make_one_chain(db: TestDb) {
    let f = Fixture::new(db).await;
    let store = Arc::clone(&f.store);
    let (before, _) = store.audit_head().await.expect("head");
    let appends = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append_audit(
                    crate::audit::AuditEvent::new(
                        crate::audit::AuditAction::AuthFailed,
                        AuditActor::Anonymous,
                    )
                    .with_detail(serde_json::json!({ "n": i })),
                )
                .await
                .expect("append")
        })
    });
    for task in appends {
        task.await.expect("task");
    }
    let walker = walk_chain(&*store).await;
    assert_eq!(walker.last_seq, before + 40);
    assert_eq!(
        store.audit_head().await.expect("head"),
        (walker.last_seq, walker.head)
    );
}

async fn a_refused_change_leaves_no_audit_entry_and_a_made_one_leaves_one(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let (before, _) = f.store.audit_head().await.expect("head");
    // Not allowed from `submitted`: nothing changes, nothing is logged.
    let wrong = StateChange::new(
        request.id,
        RequestState::Submitted,
        RequestState::Active,
        Actor::System,
    );
    assert!(f.store.transition(wrong).await.is_err());
    assert_eq!(f.store.audit_head().await.expect("head").0, before);
    f.approve(request.id).await.expect("approve");
    let (after, _) = f.store.audit_head().await.expect("head");
    assert_eq!(after, before + 1);
    let entry = f
        .store
        .audit_range(before, 1)
        .await
        .expect("range")
        .remove(0);
    assert_eq!(entry.action, "request.approved");
    assert_eq!(entry.actor, "user:reviewer");
    assert_eq!(entry.name.as_deref(), Some("ppdb.kalbarprov.go.id"));
    assert_eq!(entry.request_id, Some(request.id.0));
    assert_eq!(entry.agency_id, Some(f.agency.0));
    walk_chain(&*f.store).await;
}
