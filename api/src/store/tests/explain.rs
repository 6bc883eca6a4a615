//! The query plans of the lists people page through on a large database
//! (issue 8): the requests list filtered by state (also the reviewer
//! queue's query) or agency, and the audit search by each of its
//! indexed filters, page and count alike, read no table whole.
//!
//! The statements are the store's own (`request_list_statements`,
//! `audit_list_statements`: what `list_requests` and `audit_page` run).
//! SQLite plans a statement the same whatever is bound, so its plan is
//! asked with NULLs; a `SCAN` of `requests` or `audit_log`, with an index
//! or without, fails, and so does a page that sorts what it selects (it
//! reads every match to find the first 50). PostgreSQL's plan depends on the table's
//! statistics: the tables get tens of thousands of rows in a realistic
//! mix and are analysed, and the plan asked is the one for the test's
//! values (a page of 50, a rare state and a common one) and run
//! (`EXPLAIN ANALYZE`); a `Seq Scan` of either table fails, and so does a
//! page whose scans read more than a tenth of a table (an index walked
//! end to end, filtering each row).
//!
//! The audit search by name ("this name and every name below it") reads
//! a range of reversed names; its matches are a name's history, so
//! sorting them for the page is allowed. Not covered, because no index can
//! serve it: a substring of a request's name.

use serde_json::Value;
use sqlx::AssertSqlSafe;

use super::{Db, Raw, TestDb, agency, user};
use crate::model::{AgencyId, RequestState, Role};
use crate::store::rows::audit::audit_columns;
use crate::store::rows::listing::{self, Dialect, ListStatements, Value as Bound};
use crate::store::rows::requests::request_columns;
use crate::store::{AuditFilter, RequestFilter, RequestOrder};

on_both_databases! {
    the_lists_read_no_table_whole,
}

/// Requests and audit entries the tables get before planning.
const REQUESTS: i64 = 30_000;
const AUDIT: i64 = 60_000;
/// Agencies, as many as a province's units that file requests.
const AGENCIES: i64 = 40;

/// `FROM` a series `c(i)` of 1..=n, in each database's SQL, with the
/// clause SQLite needs before the statement.
fn series(db: &TestDb, n: i64) -> (String, String) {
    match db.kind() {
        Db::Sqlite => (
            format!(
                "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) "
            ),
            "c".to_owned(),
        ),
        Db::Postgres => (String::new(), format!("generate_series(1, {n}) AS c(i)")),
    }
}

/// Fills the tables as years of use would, in proportion: most requests
/// active, some rejected, a few waiting; each agency's share; the log
/// mostly about requests.
async fn fill(db: &TestDb) -> AgencyId {
    let store = &*db.store;
    let mut agencies = Vec::new();
    for n in 0..AGENCIES {
        agencies.push(agency(store, &format!("opd{n:02}")).await);
    }
    let pd = user(store, "operator", Role::Pd, Some(agencies[0])).await;
    user(store, "reviewer", Role::Reviewer, None).await;
    let first = agencies[0].0;
    let (with, from) = series(db, REQUESTS);
    db.execute(&format!(
        "{with}INSERT INTO requests (reference, agency_id, kind, name, records, previous_records,
             purpose, letter_number, letter_date, state, submitted_by, submitted_at, due_at,
             updated_at)
         SELECT 'DNS/2026/' || i, {first} + i % {AGENCIES}, 'create', 'app' || i || '.kalbarprov.go.id',
             '[]', '[]', 'Portal', '800/1', '2026-01-05',
             CASE WHEN i % 100 < 80 THEN 'active' WHEN i % 100 < 92 THEN 'rejected'
                  WHEN i % 100 < 95 THEN 'failed' WHEN i % 100 < 96 THEN 'conflict'
                  WHEN i % 100 < 99 THEN 'submitted' ELSE 'revision_requested' END,
             {pd}, 1700000000000 + i * 60000, 1700259200000 + i * 60000, 1700000000000 + i * 60000
         FROM {from}",
        pd = pd.0,
    ))
    .await
    .expect("requests");
    // Not a chain: plans do not read hashes.
    let (with, from) = series(db, AUDIT);
    db.execute(&format!(
        "{with}INSERT INTO audit_log (seq, at, action, actor, agency_id, name, request_id, detail,
             prev_hash, hash)
         SELECT 1000 + i, 1700000000000 + i * 10000,
             CASE i % 10 WHEN 0 THEN 'request.submitted' WHEN 1 THEN 'request.letter_uploaded'
                  WHEN 2 THEN 'request.approved' WHEN 3 THEN 'request.provisioning'
                  WHEN 4 THEN 'dns.update_sent' WHEN 5 THEN 'dns.update_answered'
                  WHEN 6 THEN 'request.verifying' WHEN 7 THEN 'dns.verification'
                  WHEN 8 THEN 'request.active' ELSE 'auth.login' END,
             CASE i % 10 WHEN 0 THEN 'user:op' || (i / 10 % {AGENCIES})
                  WHEN 1 THEN 'user:op' || (i / 10 % {AGENCIES})
                  WHEN 2 THEN 'user:reviewer' || (i / 10 % 5)
                  WHEN 9 THEN 'user:reviewer' || (i / 10 % 5) ELSE 'system' END,
             CASE WHEN i % 10 = 9 THEN NULL ELSE {first} + i / 10 % {AGENCIES} END,
             CASE WHEN i % 10 = 9 THEN NULL ELSE 'app' || (i / 10) || '.kalbarprov.go.id' END,
             NULL, '{{}}', 'prev' || i, 'hash' || i
         FROM {from}"
    ))
    .await
    .expect("audit entries");
    // The reversed names the store writes with each entry (the search by
    // name reads them), filled as the migrations do for older entries.
    let reverse = match db.kind() {
        Db::Sqlite => [
            "DROP TRIGGER audit_log_no_update",
            "UPDATE audit_log SET name_rev = (
                 WITH RECURSIVE r(i, reversed) AS (
                     SELECT length(audit_log.name), ''
                     UNION ALL
                     SELECT i - 1, reversed || substr(audit_log.name, i, 1) FROM r WHERE i > 0
                 )
                 SELECT reversed FROM r WHERE i = 0
             ) WHERE name IS NOT NULL",
        ],
        Db::Postgres => [
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
            "UPDATE audit_log SET name_rev = reverse(name) WHERE name IS NOT NULL",
        ],
    };
    for sql in reverse {
        db.execute(sql).await.expect("reversed names");
    }
    if db.kind() == Db::Postgres {
        db.execute("VACUUM ANALYZE requests").await.expect("vacuum");
        db.execute("VACUUM ANALYZE audit_log")
            .await
            .expect("vacuum");
    }
    agencies[1]
}

/// The highest `?N` / `$N` in `sql`: how many values it takes.
fn parameters(sql: &str, mark: char) -> usize {
    sql.split(mark)
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0)
}

/// What in `sql`'s plan reads `requests` or `audit_log` whole, or sorts
/// what it selects (a page that must read every match to find its first
/// 50); empty when nothing does.
async fn whole_table_reads(
    db: &TestDb,
    sql: &str,
    values: &[String],
    may_sort: bool,
) -> Vec<String> {
    const BIG: [&str; 2] = ["requests", "audit_log"];
    match &db.raw {
        Raw::Sqlite { pool, .. } => {
            let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(AssertSqlSafe(format!(
                "EXPLAIN QUERY PLAN {sql}"
            )));
            for _ in 0..parameters(sql, '?') {
                query = query.bind(None::<i64>);
            }
            // EXPLAIN reads no table, so a connection would plan with the
            // schema it last read: read it first.
            let mut conn = pool.acquire().await.expect("connection");
            sqlx::query("SELECT COUNT(*) FROM sqlite_master")
                .execute(&mut *conn)
                .await
                .expect("schema");
            let plan = query
                .fetch_all(&mut *conn)
                .await
                .expect("EXPLAIN QUERY PLAN");
            plan.into_iter()
                .map(|(_, _, _, detail)| detail)
                .filter(|detail| {
                    BIG.iter().any(|t| detail.starts_with(&format!("SCAN {t}")))
                        || (!may_sort && detail.starts_with("USE TEMP B-TREE FOR ORDER BY"))
                })
                .collect()
        }
        Raw::Postgres { pool, .. } => {
            let mut conn = pool.acquire().await.expect("connection");
            assert_eq!(values.len(), parameters(sql, '$'), "{sql}");
            let execute = if values.is_empty() {
                "EXECUTE plan_probe".to_owned()
            } else {
                format!("EXECUTE plan_probe({})", values.join(", "))
            };
            sqlx::raw_sql(AssertSqlSafe(format!(
                "SET plan_cache_mode = force_custom_plan; PREPARE plan_probe AS {sql}"
            )))
            .execute(&mut *conn)
            .await
            .expect("PREPARE");
            let plan: Value =
                sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN (FORMAT JSON) {execute}")))
                    .fetch_one(&mut *conn)
                    .await
                    .expect("EXPLAIN");
            sqlx::raw_sql("DEALLOCATE plan_probe; RESET plan_cache_mode")
                .execute(&mut *conn)
                .await
                .expect("DEALLOCATE");
            let mut found = Vec::new();
            if sql.contains("COUNT(*)") {
                // A count reads every match: of the largest state, most of
                // an index; what must not happen is reading the table.
                seq_scans(
                    &plan,
                    &[("requests", i64::MAX), ("audit_log", i64::MAX)],
                    &mut found,
                );
            } else {
                seq_scans(
                    &plan,
                    &[("requests", REQUESTS), ("audit_log", AUDIT)],
                    &mut found,
                );
            }
            found
        }
    }
}

/// Every `Seq Scan` of one of `tables` in an executed JSON plan, and
/// every scan of one that read more than a tenth of it (rows returned and
/// rows filtered out): an index walked end to end, filtering each row, is
/// a whole read too. A walk in index order that stops at the page's 50th
/// match reads far less, and passes.
fn seq_scans(node: &Value, tables: &[(&str, i64)], found: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            let relation = map.get("Relation Name").and_then(Value::as_str);
            let kind = map.get("Node Type").and_then(Value::as_str).unwrap_or("");
            let number = |key: &str| map.get(key).and_then(Value::as_f64).unwrap_or(0.0);
            let read = number("Actual Rows") * number("Actual Loops").max(1.0)
                + number("Rows Removed by Filter");
            if let Some((table, rows)) = tables.iter().find(|(t, _)| Some(*t) == relation) {
                if kind == "Seq Scan" {
                    found.push(format!("Seq Scan on {table}"));
                } else if read > *rows as f64 / 10.0 {
                    found.push(format!("{kind} on {table} read {read} of {rows} rows"));
                }
            }
            for child in map.values() {
                seq_scans(child, tables, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| seq_scans(i, tables, found)),
        _ => {}
    }
}

fn requests(agency: Option<AgencyId>, state: Option<RequestState>) -> RequestFilter {
    RequestFilter {
        agency_id: agency,
        state,
        name: None,
        order: RequestOrder::Newest,
        limit: 50,
        offset: 0,
    }
}

fn audit() -> AuditFilter {
    AuditFilter {
        from: None,
        to: None,
        agency_id: None,
        name: None,
        actor: None,
        action: None,
        limit: 50,
        offset: 0,
    }
}

async fn the_lists_read_no_table_whole(db: TestDb) {
    let agency = fill(&db).await;
    let request_lists = [
        ("state", requests(None, Some(RequestState::Active))),
        (
            "state, due first (the queue)",
            RequestFilter {
                order: RequestOrder::DueFirst,
                ..requests(None, Some(RequestState::Submitted))
            },
        ),
        (
            "agency and state",
            requests(Some(agency), Some(RequestState::Submitted)),
        ),
        ("agency", requests(Some(agency), None)),
    ];
    let audit_searches = [
        (
            "agency",
            AuditFilter {
                agency_id: Some(agency.0),
                ..audit()
            },
        ),
        (
            "actor",
            AuditFilter {
                actor: Some("user:reviewer1".into()),
                ..audit()
            },
        ),
        (
            "action",
            AuditFilter {
                action: Some("request.approved".into()),
                ..audit()
            },
        ),
        (
            "agency and action",
            AuditFilter {
                agency_id: Some(agency.0),
                action: Some("dns.update_sent".into()),
                ..audit()
            },
        ),
    ];
    let by_name = AuditFilter {
        name: Some("app123.kalbarprov.go.id".into()),
        ..audit()
    };
    let dialect = match db.kind() {
        Db::Sqlite => Dialect::Sqlite,
        Db::Postgres => Dialect::Postgres,
    };
    let mut statements = Vec::new();
    let mut push = |what: String, list: ListStatements, may_sort: bool| {
        let values: Vec<String> = list.values.iter().map(literal).collect();
        statements.push((format!("{what}, page"), list.page, values.clone(), may_sort));
        statements.push((format!("{what}, count"), list.count, values, may_sort));
    };
    for (what, filter) in &request_lists {
        let list = listing::requests(dialect, request_columns!(), filter);
        push(format!("requests by {what}"), list, false);
    }
    for (what, filter) in &audit_searches {
        let list = listing::audit(dialect, audit_columns!(), filter);
        push(format!("audit by {what}"), list, false);
    }
    let list = listing::audit(dialect, audit_columns!(), &by_name);
    push("audit by name".to_owned(), list, true);
    let mut failures = Vec::new();
    for (what, sql, values, may_sort) in &statements {
        let reads = whole_table_reads(&db, sql, values, *may_sort).await;
        if !reads.is_empty() {
            failures.push(format!("{what}: {} in\n    {sql}", reads.join(", ")));
        }
    }
    assert!(
        failures.is_empty(),
        "plans that read a whole table:\n{}",
        failures.join("\n")
    );
}

/// `value` as an SQL literal.
fn literal(value: &Bound) -> String {
    match value {
        Bound::Int(n) => n.to_string(),
        Bound::Text(t) => format!("'{}'", t.replace('\'', "''")),
    }
}
