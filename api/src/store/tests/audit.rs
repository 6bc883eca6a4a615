//! The audit log: one hash chain however many write at once, and an entry
//! exactly for each change made.

use std::sync::Arc;

use super::fixture::Fixture;
use super::{TestDb, walk_chain};
use crate::audit::AuditActor;
use crate::model::{Actor, RequestState};
use crate::store::{AuditFilter, COUNT_CAP, StateChange, Total};

on_both_databases! {
    concurrent_appends_make_one_chain,
    a_refused_change_leaves_no_audit_entry_and_a_made_one_leaves_one,
    the_search_by_name_finds_the_name_and_the_names_below_it,
    a_total_past_a_thousand_entries_is_a_lower_bound,
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

/// Appends an anonymous failed sign-in about `name`.
async fn append_about(store: &dyn crate::store::Store, name: Option<&str>) {
    let mut event =
        crate::audit::AuditEvent::new(crate::audit::AuditAction::AuthFailed, AuditActor::Anonymous);
    event.name = name.map(str::to_owned);
    store.append_audit(event).await.expect("append");
}

async fn the_search_by_name_finds_the_name_and_the_names_below_it(db: TestDb) {
    let f = Fixture::new(db).await;
    let names = [
        "disdik.kalbarprov.go.id",
        "ppid.disdik.kalbarprov.go.id",
        "a.b.disdik.kalbarprov.go.id",
        "xdisdik.kalbarprov.go.id",
        "x-disdik.kalbarprov.go.id",
        "kalbarprov.go.id",
    ];
    for name in names {
        append_about(&*f.store, Some(name)).await;
    }
    append_about(&*f.store, None).await;
    let search = |name: &str| AuditFilter {
        name: Some(name.to_owned()),
        limit: 50,
        ..AuditFilter::default()
    };
    let found = |page: crate::store::Page<crate::audit::AuditEntry>| {
        let mut names: Vec<String> = page.items.into_iter().filter_map(|e| e.name).collect();
        names.sort();
        (page.total, names)
    };
    // Case does not matter; a name that merely ends in the same letters
    // is not below it.
    let page = f
        .store
        .audit_page(&search("Disdik.Kalbarprov.go.id"))
        .await
        .expect("page");
    assert_eq!(
        found(page),
        (
            Total::Exact(3),
            vec![
                "a.b.disdik.kalbarprov.go.id".to_owned(),
                "disdik.kalbarprov.go.id".to_owned(),
                "ppid.disdik.kalbarprov.go.id".to_owned(),
            ]
        )
    );
    let page = f
        .store
        .audit_page(&search("kalbarprov.go.id"))
        .await
        .expect("page");
    assert_eq!(found(page).0, Total::Exact(6));
    let page = f
        .store
        .audit_page(&search("go.id.kalbarprov"))
        .await
        .expect("page");
    assert_eq!(found(page), (Total::Exact(0), vec![]));
}

async fn a_total_past_a_thousand_entries_is_a_lower_bound(db: TestDb) {
    let f = Fixture::new(db).await;
    let all = AuditFilter {
        limit: 10,
        ..AuditFilter::default()
    };
    let (before, _) = f.store.audit_head().await.expect("head");
    for _ in before..COUNT_CAP {
        append_about(&*f.store, Some("ppdb.kalbarprov.go.id")).await;
    }
    let page = f.store.audit_page(&all).await.expect("page");
    assert_eq!(
        (page.total, page.items.len()),
        (Total::Exact(COUNT_CAP), 10)
    );
    append_about(&*f.store, Some("ppdb.kalbarprov.go.id")).await;
    let page = f.store.audit_page(&all).await.expect("page");
    assert_eq!(
        (page.total, page.items.len()),
        (Total::AtLeast(COUNT_CAP), 10)
    );
    // The newest first, past the count as well.
    let last = AuditFilter {
        offset: COUNT_CAP,
        ..all
    };
    let page = f.store.audit_page(&last).await.expect("page");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].seq, 1);
}
