//! The catalogue of granted names: written by activation, claimed near
//! other names, and filled by a zone import.

use time::macros::datetime;

use super::fixture::{Fixture, mail};
use super::{TestDb, agency, console, record, walk_chain};
use crate::model::{Actor, AgencyId, RequestKind, RequestState};
use crate::store::{JobFence, NameClaim, StoreError};

on_both_databases! {
    a_name_a_request_wrote_has_an_agency_and_its_references_hold,
    activation_writes_the_catalogue_then_the_confirmation_finishes_the_job,
    claims_near_finds_ancestors_and_descendants,
    an_import_registers_names_with_their_first_version_and_audit_in_one_go,
}

async fn activation_writes_the_catalogue_then_the_confirmation_finishes_the_job(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let job = f.to_verifying(request.id).await;

    let wrong = JobFence {
        job_id: job.id,
        lease_token: job.lease_token + 1,
    };
    assert!(matches!(
        f.store.activate(request.id, wrong).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert_eq!(
        f.store
            .subdomain("ppdb.kalbarprov.go.id")
            .await
            .expect("read"),
        None
    );
    assert!(f.store.pending_mail(10).await.expect("mail").is_empty());

    let active = f
        .store
        .activate(request.id, JobFence::from(&job))
        .await
        .expect("activate");
    assert_eq!(active.state, RequestState::Active);
    assert_eq!(active.serial_after, Some(2026030201));
    assert_eq!(
        active.verify_deadline,
        Some(datetime!(2026-03-02 10:00 UTC))
    );
    assert_eq!(active.version, 5);
    let granted = f
        .store
        .subdomain("ppdb.kalbarprov.go.id")
        .await
        .expect("read")
        .expect("granted");
    assert_eq!(
        (granted.agency_id, granted.request_id),
        (Some(f.agency), Some(request.id))
    );
    assert_eq!(granted.records, request.records);
    // Live and active, the job still held for its last step: telling the
    // PD. Nothing is mailed yet.
    assert!(f.store.pending_mail(10).await.expect("mail").is_empty());
    assert_eq!(
        f.count("SELECT COUNT(*) FROM jobs WHERE state = 'running'")
            .await,
        1
    );
    let wrong = JobFence {
        job_id: job.id,
        lease_token: job.lease_token + 1,
    };
    assert!(matches!(
        f.store
            .issue_confirmation(request.id, wrong, mail(), None)
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(f.store.pending_mail(10).await.expect("mail").is_empty());
    f.store
        .issue_confirmation(request.id, JobFence::from(&job), mail(), None)
        .await
        .expect("confirm");
    let pending = f.store.pending_mail(10).await.expect("mail");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].request_id, pending[0].subject.as_str()),
        (Some(request.id), "Subdomain aktif")
    );
    assert_eq!(
        f.count("SELECT COUNT(*) FROM jobs WHERE state = 'done' AND lease_until IS NULL")
            .await,
        1
    );
    assert_eq!(f.store.next_job_due().await.expect("due"), None);
    let last = f
        .store
        .transitions(request.id)
        .await
        .expect("history")
        .pop()
        .expect("one");
    assert_eq!(
        (last.from, last.to, last.actor),
        (
            Some(RequestState::Verifying),
            RequestState::Active,
            Actor::System
        )
    );
    assert!(last.note.is_some());
    // The name is free for a change request now.
    assert_eq!(
        f.store
            .open_request_for_name("ppdb.kalbarprov.go.id")
            .await
            .expect("open"),
        None
    );

    let mut removal = f.new_request("ppdb.kalbarprov.go.id");
    removal.kind = RequestKind::Remove;
    removal.previous_records = removal.records.clone();
    removal.records = Vec::new();
    let removal = f.store.insert_request(removal).await.expect("removal");
    let job = f.to_verifying(removal.id).await;
    f.activate(removal.id, &job, None).await;
    assert_eq!(
        f.store
            .subdomain("ppdb.kalbarprov.go.id")
            .await
            .expect("read"),
        None
    );
}

async fn claims_near_finds_ancestors_and_descendants(db: TestDb) {
    let f = Fixture::new(db).await;
    let other = agency(&*f.store, "dinkes").await;
    // Granted: sekolah (ours). Open: a.b.sekolah (theirs), x_y.sekolah
    // (ours). Closed: old.sekolah. Unrelated: notsekolah.
    let granted = f.submit("sekolah.kalbarprov.go.id").await;
    let job = f.to_verifying(granted.id).await;
    f.activate(granted.id, &job, None).await;
    let mut theirs = f.new_request("a.b.ppdb.sekolah.kalbarprov.go.id");
    theirs.agency_id = other;
    f.store.insert_request(theirs).await.expect("insert");
    f.submit("x_y.ppdb.sekolah.kalbarprov.go.id").await;
    let closed = f.submit("old.ppdb.sekolah.kalbarprov.go.id").await;
    f.force_state(closed.id, RequestState::Rejected).await;
    f.submit("notppdb.sekolah.kalbarprov.go.id").await;

    let ancestors = vec![
        "sekolah.kalbarprov.go.id".to_owned(),
        "kalbarprov.go.id".to_owned(),
    ];
    let claims = f
        .store
        .claims_near("ppdb.sekolah.kalbarprov.go.id", &ancestors)
        .await
        .expect("claims");
    let claim = |name: &str, agency_id| NameClaim {
        name: name.to_owned(),
        agency_id: Some(agency_id),
    };
    assert_eq!(
        claims,
        vec![
            claim("a.b.ppdb.sekolah.kalbarprov.go.id", other),
            claim("sekolah.kalbarprov.go.id", f.agency),
            claim("x_y.ppdb.sekolah.kalbarprov.go.id", f.agency),
        ]
    );
}

async fn an_import_registers_names_with_their_first_version_and_audit_in_one_go(db: TestDb) {
    use crate::model::VersionSource;
    use crate::store::{ImportOutcome, ImportedName, ZoneImport};

    let f = Fixture::new(db).await;
    let open = f.submit("ppdb.kalbarprov.go.id").await;
    let name = |name: &str, agency_id: Option<AgencyId>, ip: &str| ImportedName {
        name: name.to_owned(),
        agency_id,
        records: vec![record("A", ip)],
    };
    let import = ZoneImport {
        serial: Some(2026112801),
        source: "AXFR from 192.0.2.53:53".to_owned(),
        names: vec![
            name("disdik.kalbarprov.go.id", Some(f.agency), "203.0.113.13"),
            name("dinkes.kalbarprov.go.id", None, "203.0.113.14"),
            name("ppdb.kalbarprov.go.id", None, "203.0.113.80"),
        ],
    };
    let (head, _) = f.store.audit_head().await.expect("head");
    let outcomes = f
        .store
        .import_names(&import, console())
        .await
        .expect("import");
    assert_eq!(
        outcomes,
        [
            ImportOutcome::Imported,
            ImportOutcome::Imported,
            ImportOutcome::OpenRequest(open.reference.clone()),
        ]
    );

    // In the catalogue without a request; the unassigned one for staff only.
    let dinkes = f
        .store
        .subdomain("dinkes.kalbarprov.go.id")
        .await
        .expect("read")
        .expect("imported");
    assert_eq!((dinkes.agency_id, dinkes.request_id), (None, None));
    let all = f.store.list_subdomains(None, 10, 0).await.expect("list");
    assert_eq!(all.total.value(), 2);
    let ours = f
        .store
        .list_subdomains(Some(f.agency), 10, 0)
        .await
        .expect("list");
    let ours: Vec<&str> = ours.items.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(ours, ["disdik.kalbarprov.go.id"]);
    // Taken for new names: a claim of nobody.
    let claims = f
        .store
        .claims_near(
            "x.dinkes.kalbarprov.go.id",
            &["dinkes.kalbarprov.go.id".to_owned()],
        )
        .await
        .expect("claims");
    assert_eq!(
        claims,
        [NameClaim {
            name: "dinkes.kalbarprov.go.id".to_owned(),
            agency_id: None,
        }]
    );

    // The first version, and one audit entry per name, by the console.
    let history = f
        .store
        .name_history("disdik.kalbarprov.go.id")
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].source, VersionSource::Imported);
    assert_eq!(history[0].serial, Some(2026112801));
    assert_eq!(history[0].agency_id, Some(f.agency));
    assert_eq!(history[0].request_id, None);
    let entries = f.store.audit_range(head, 10).await.expect("range");
    let summary: Vec<(&str, &str, Option<&str>, Option<i64>)> = entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.name.as_deref(),
                e.agency_id,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "zone.imported",
                "console:test",
                Some("disdik.kalbarprov.go.id"),
                Some(f.agency.0)
            ),
            (
                "zone.imported",
                "console:test",
                Some("dinkes.kalbarprov.go.id"),
                None
            ),
        ]
    );
    assert_eq!(entries[0].detail["source"], "AXFR from 192.0.2.53:53");
    walk_chain(&*f.store).await;

    // Again: everything is managed already and nothing is written.
    let again = f
        .store
        .import_names(&import, console())
        .await
        .expect("import");
    assert_eq!(
        again[..2],
        [ImportOutcome::AlreadyManaged, ImportOutcome::AlreadyManaged]
    );
    assert_eq!(f.store.audit_head().await.expect("head").0, head + 2);
}

/// The catalogue's own rules, whatever the code writing to it: a name
/// with a request has an agency, and the references are real. (SQLite
/// checks them again after the rebuild of its migration 0004.)
async fn a_name_a_request_wrote_has_an_agency_and_its_references_hold(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let insert = |name: &str, agency: &str, request: &str| {
        format!(
            "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
             VALUES ('{name}', {agency}, '[]', {request}, 0)"
        )
    };
    // A name a request wrote always has an agency.
    let orphan =
        f.db.execute(&insert(
            "x.kalbarprov.go.id",
            "NULL",
            &request.id.0.to_string(),
        ))
        .await;
    assert!(orphan.is_err(), "{orphan:?}");
    // And the foreign keys hold.
    let dangling =
        f.db.execute(&insert("y.kalbarprov.go.id", "999", "NULL"))
            .await;
    assert!(dangling.is_err(), "{dangling:?}");
    let dangling =
        f.db.execute(&insert(
            "y.kalbarprov.go.id",
            &f.agency.0.to_string(),
            "999",
        ))
        .await;
    assert!(dangling.is_err(), "{dangling:?}");
    // The same statements are otherwise fine: an unassigned (imported)
    // name, and a granted one.
    f.db.execute(&insert("dinkes.kalbarprov.go.id", "NULL", "NULL"))
        .await
        .expect("unassigned");
    f.db.execute(&insert(
        "z.kalbarprov.go.id",
        &f.agency.0.to_string(),
        &request.id.0.to_string(),
    ))
    .await
    .expect("granted");
}
