//! What is SQLite's alone: the pragmas a reopened file runs with, and
//! the migrations that rebuilt a table of an existing file. Everything
//! the two databases share is tested on both in `store/tests/`.

use provisioner::record::RecordInput;

use super::SqliteStore;
use crate::model::{AgencyId, RequestId};
use crate::store::Store;
use crate::store::codec::to_ms;
use crate::store::tests::{Db, Fixture, TestDb, agency, record};

#[tokio::test]
async fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    let store = SqliteStore::open(&path).await.expect("open");
    agency(&store, "disdik").await;
    store.pool.close().await;
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open_url(&url).await.expect("reopen");
    assert!(
        store
            .agency_by_code("disdik")
            .await
            .expect("read")
            .is_some()
    );
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(sync, 2, "FULL");
}

#[tokio::test]
async fn the_rebuilt_catalogue_keeps_its_index_and_ties_a_request_to_an_agency() {
    let f = Fixture::new(
        TestDb::open(Db::Sqlite, module_path!())
            .await
            .expect("SQLite"),
    )
    .await;
    let indexes = f
        .count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'subdomains_agency'")
        .await;
    assert_eq!(indexes, 1);
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    // A name a request wrote always has an agency.
    let orphan =
        f.db.execute(&format!(
            "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
             VALUES ('x.kalbarprov.go.id', NULL, '[]', {}, 0)",
            request.id.0
        ))
        .await;
    assert!(orphan.is_err(), "{orphan:?}");
    // And the foreign keys still hold.
    let dangling =
        f.db.execute(
            "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
             VALUES ('y.kalbarprov.go.id', 999, '[]', NULL, 0)",
        )
        .await;
    assert!(dangling.is_err(), "{dangling:?}");
}

#[tokio::test]
async fn a_catalogue_from_before_import_keeps_its_rows_through_the_rebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    // The schema as it was before 0004, with a granted name in it.
    let pool = migrated_to(&path, 3).await;
    sqlx::raw_sql(
        "INSERT INTO agencies (id, code, name, email, created_at)
             VALUES (7, 'DISDIK', 'Dinas Pendidikan', 'it@disdik.test', 0);
         INSERT INTO users (id, username, role, agency_id, created_at)
             VALUES (3, 'op', 'pd', 7, 0);
         INSERT INTO requests (id, reference, agency_id, kind, name, records, previous_records,
             purpose, letter_number, letter_date, state, submitted_by, submitted_at, due_at,
             updated_at)
             VALUES (5, 'DNS/2026/000001', 7, 'create', 'ppdb.kalbarprov.go.id', '[]', '[]',
             'PPDB', '800/1', '2026-01-05', 'active', 3, 0, 0, 0);
         INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
             VALUES ('ppdb.kalbarprov.go.id', 7,
             '[{\"type\":\"A\",\"value\":\"203.0.113.80\",\"ttl\":300}]', 5, 42);",
    )
    .execute(&pool)
    .await
    .expect("seed");
    pool.close().await;

    let store = SqliteStore::open(&path).await.expect("open and migrate");
    let granted = store
        .subdomain("ppdb.kalbarprov.go.id")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        (granted.agency_id, granted.request_id),
        (Some(AgencyId(7)), Some(RequestId(5)))
    );
    assert_eq!(granted.records, [record_ttl("A", "203.0.113.80", 300)]);
    assert_eq!(to_ms(granted.updated_at), 42);
    // And an unassigned name fits now.
    sqlx::query(
        "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at)
         VALUES ('dinkes.kalbarprov.go.id', NULL, '[]', NULL, 0)",
    )
    .execute(&store.pool)
    .await
    .expect("unassigned");
}

/// A new database file at `path` with the migrations up to `version`,
/// as a deployment of an older dnsdesk left it.
async fn migrated_to(path: &std::path::Path, version: i64) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("pool");
    sqlx::migrate!("../migrations/sqlite")
        .run_to(version, &pool)
        .await
        .unwrap_or_else(|e| panic!("migrate to {version}: {e}"));
    pool
}

fn record_ttl(rtype: &str, value: &str, ttl: u32) -> RecordInput {
    RecordInput {
        ttl: Some(ttl),
        ..record(rtype, value)
    }
}

#[tokio::test]
async fn an_audit_log_from_before_the_reversed_names_is_searched_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    // The schema as it was before 0011, with entries about names.
    let pool = migrated_to(&path, 10).await;
    sqlx::raw_sql(
        "INSERT INTO audit_log (seq, at, action, actor, name, detail, prev_hash, hash) VALUES
             (1, 0, 'auth.failed', 'anonymous', 'disdik.kalbarprov.go.id', '{}', 'g', 'h1'),
             (2, 0, 'auth.failed', 'anonymous', 'PPID.disdik.kalbarprov.go.id', '{}', 'h1', 'h2'),
             (3, 0, 'auth.failed', 'anonymous', 'xdisdik.kalbarprov.go.id', '{}', 'h2', 'h3'),
             (4, 0, 'auth.failed', 'anonymous', NULL, '{}', 'h3', 'h4');",
    )
    .execute(&pool)
    .await
    .expect("seed");
    pool.close().await;

    let store = SqliteStore::open(&path).await.expect("open and migrate");
    assert_eq!(
        entries_about(&store, "disdik.kalbarprov.go.id").await,
        [2, 1]
    );
    // The log forbids changes again once the names are filled.
    let changed = sqlx::query("UPDATE audit_log SET name_rev = NULL WHERE seq = 1")
        .execute(&store.pool)
        .await;
    assert!(changed.is_err(), "{changed:?}");
}

#[tokio::test]
async fn the_audit_log_rebuilt_without_its_hash_index_keeps_every_entry_and_its_guards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    // The schema as it was before 0012, with a chain of entries.
    let pool = migrated_to(&path, 11).await;
    sqlx::raw_sql(
        "INSERT INTO audit_log (seq, at, action, actor, name, name_rev, detail, prev_hash, hash) VALUES
             (1, 10, 'auth.failed', 'anonymous', 'disdik.kalbarprov.go.id',
              'di.og.vorprablak.kidsid', '{\"a\":1}', 'g', 'h1'),
             (2, 20, 'auth.failed', 'anonymous', NULL, NULL, '{}', 'h1', 'h2');",
    )
    .execute(&pool)
    .await
    .expect("seed");
    pool.close().await;

    let store = SqliteStore::open(&path).await.expect("open and migrate");
    // Every column as it was (at, action and detail joined in one).
    let kept: Vec<(i64, Option<String>, String, String, String)> = sqlx::query_as(
        "SELECT seq, name_rev, at || ' ' || action || ' ' || detail, prev_hash, hash
         FROM audit_log ORDER BY seq",
    )
    .fetch_all(&store.pool)
    .await
    .expect("read");
    let owned = |s: &str| s.to_owned();
    assert_eq!(
        kept,
        [
            (
                1,
                Some(owned("di.og.vorprablak.kidsid")),
                owned("10 auth.failed {\"a\":1}"),
                owned("g"),
                owned("h1")
            ),
            (
                2,
                None,
                owned("20 auth.failed {}"),
                owned("h1"),
                owned("h2")
            ),
        ]
    );
    // No unique index left on the log but its primary key's.
    let unique: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_index_list('audit_log') WHERE \"unique\" AND origin <> 'pk'",
    )
    .fetch_one(&store.pool)
    .await
    .expect("indexes");
    assert_eq!(unique, 0);
    // The next entry follows the head; the number still cannot repeat,
    // and nothing can be changed or removed.
    let next = store
        .append_audit(crate::audit::AuditEvent::new(
            crate::audit::AuditAction::AuthFailed,
            crate::audit::AuditActor::Anonymous,
        ))
        .await
        .expect("append");
    assert_eq!((next.seq, next.prev_hash.as_str()), (3, "h2"));
    for refused in [
        "INSERT INTO audit_log (seq, at, action, actor, detail, prev_hash, hash)
             VALUES (2, 0, 'x', 'system', '{}', 'h1', 'fork')",
        "UPDATE audit_log SET detail = '{}' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        let done = sqlx::query(refused).execute(&store.pool).await;
        assert!(done.is_err(), "{refused}: {done:?}");
    }
    // The name search still reads its index.
    assert_eq!(entries_about(&store, "disdik.kalbarprov.go.id").await, [1]);
}

/// The audit entries about `name` and the names below it, newest first.
async fn entries_about(store: &SqliteStore, name: &str) -> Vec<i64> {
    let page = store
        .audit_page(&crate::store::AuditFilter {
            name: Some(name.into()),
            limit: 50,
            ..crate::store::AuditFilter::default()
        })
        .await
        .expect("search");
    page.items.iter().map(|e| e.seq).collect()
}

/// Commits leave the write-ahead log to the background checkpoint: the
/// database file takes the committed pages only when `checkpoint_log`
/// runs, and nothing is left in the log after it.
#[tokio::test]
async fn the_log_is_checkpointed_by_its_owner_not_by_each_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dnsdesk.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store.checkpoint_log().await.expect("checkpoint");
    let size = || std::fs::metadata(&path).expect("db file").len();
    let before = size();
    for i in 0..300 {
        agency(&store, &format!("pd{i}")).await;
    }
    assert_eq!(size(), before, "a commit copied the log into the file");
    store.checkpoint_log().await.expect("checkpoint");
    assert!(size() > before, "the checkpoint left the file as it was");
    let (busy, log, checkpointed): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&store.pool)
            .await
            .expect("pragma");
    assert_eq!((busy, log), (0, checkpointed), "frames left in the log");
    let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(pages, i64::from(super::WAL_AUTOCHECKPOINT_PAGES));
}
