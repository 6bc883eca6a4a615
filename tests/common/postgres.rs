//! The integration suite on PostgreSQL: every test that runs the service
//! runs once on SQLite and once on PostgreSQL ([`on_both_databases!`]),
//! the PostgreSQL run in a database of its own, created for the test and
//! dropped after it, so tests run in parallel as on SQLite.
//!
//! The server is `DNSDESK_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`, trust auth, as on the
//! development and CI machines); the tests' databases are made beside the
//! one it names. Without a reachable server the PostgreSQL runs print why
//! and pass as skipped, unless `DNSDESK_REQUIRE_POSTGRES=1` (CI), where
//! they fail.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// Where the tests' databases are made.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The database a test's service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    /// The database of the test running in this task: read by
    /// `Site::new`, so test bodies need not pass it along.
    static CURRENT: Db;
}

/// The database the current test runs on (SQLite outside
/// [`on_both_databases!`]).
pub fn current() -> Db {
    CURRENT.try_with(|db| *db).unwrap_or(Db::Sqlite)
}

/// Runs `test` with `db` as its database; a PostgreSQL run without a
/// server is skipped (with the reason printed) or, when required, fails.
pub async fn run_on(db: Db, test_name: &str, test: impl Future<Output = ()>) {
    if db == Db::Postgres && !usable_or_skip(test_name) {
        return;
    }
    CURRENT.scope(db, test).await;
}

/// A fresh database for a test that needs one beside its site's (a copy
/// target, say); `None` after printing why when PostgreSQL is not there
/// (a failure instead under `DNSDESK_REQUIRE_POSTGRES=1`).
pub fn fresh_database(test_name: &str) -> Option<TestDatabase> {
    usable_or_skip(test_name).then(TestDatabase::create)
}

/// Whether PostgreSQL can be used; if not, says why and whether the test
/// is skipped, or panics when it is required.
fn usable_or_skip(test_name: &str) -> bool {
    let Err(why) = available() else {
        return true;
    };
    assert!(
        std::env::var("DNSDESK_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "DNSDESK_REQUIRE_POSTGRES=1 but PostgreSQL is not usable: {why}"
    );
    eprintln!(
        "skipped {test_name} on PostgreSQL: {why} (set DNSDESK_REQUIRE_POSTGRES=1 to fail instead)"
    );
    false
}

/// Declares, for each named `async fn NAME()` test body, the tests
/// `NAME::sqlite` and `NAME::postgres`, which run it on each database.
#[allow(unused_macros)] // not every test binary runs the service
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    $crate::common::postgres::run_on(
                        $crate::common::postgres::Db::Sqlite,
                        concat!(module_path!()),
                        super::$name(),
                    )
                    .await;
                }

                #[tokio::test]
                async fn postgres() {
                    $crate::common::postgres::run_on(
                        $crate::common::postgres::Db::Postgres,
                        concat!(module_path!()),
                        super::$name(),
                    )
                    .await;
                }
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_databases;

fn admin_url() -> String {
    std::env::var("DNSDESK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Whether the server answers, asked once per test process.
fn available() -> Result<(), String> {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    ANSWER
        .get_or_init(|| {
            let url = admin_url();
            block_on(async move {
                let mut conn = PgConnection::connect(&url)
                    .await
                    .map_err(|e| format!("cannot connect to {url}: {e}"))?;
                sqlx::query("SELECT 1")
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("{url}: {e}"))?;
                Ok(())
            })
        })
        .clone()
}

/// A fresh database for one test, dropped (with any connections the
/// killed service left) when the test ends.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// Creates `dnsdesk_test_<pid>_<n>`.
    pub fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "dnsdesk_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let statement = format!("CREATE DATABASE {name}");
        admin(&statement).unwrap_or_else(|e| panic!("{statement}: {e}"));
        Self { name }
    }

    /// The service's `database_url`.
    pub fn url(&self) -> String {
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }

    /// A database outage as the service sees one: new connections are
    /// refused and the open ones are ended.
    pub fn cut_off(&self) {
        admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            self.name
        ))
        .unwrap();
        admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ))
        .unwrap();
    }

    /// Ends [`cut_off`](Self::cut_off).
    pub fn restore(&self) {
        admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ))
        .unwrap();
    }

    /// Runs `sql` (one or more statements) in this database.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        let url = self.url();
        let sql = sql.to_owned();
        block_on(async move {
            let mut conn = PgConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    }

    /// The first column of `sql`'s rows, as text (NULL as "").
    pub fn column(&self, sql: &str) -> Vec<String> {
        use sqlx::Row;
        let url = self.url();
        let sql = sql.to_owned();
        block_on(async move {
            let mut conn = PgConnection::connect(&url).await.unwrap();
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            rows.iter()
                .map(|row| {
                    if let Ok(v) = row.try_get::<Option<String>, _>(0) {
                        v.unwrap_or_default()
                    } else if let Ok(v) = row.try_get::<Option<i64>, _>(0) {
                        v.map(|v| v.to_string()).unwrap_or_default()
                    } else {
                        let v: Option<bool> = row.try_get(0).unwrap();
                        v.map(|v| v.to_string()).unwrap_or_default()
                    }
                })
                .collect()
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin(&statement) {
            eprintln!("{statement}: {e}");
        }
    }
}

/// Runs one statement on the admin database.
fn admin(statement: &str) -> Result<(), String> {
    let url = admin_url();
    let statement = statement.to_owned();
    block_on(async move {
        let mut conn = PgConnection::connect(&url)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Runs `future` to completion on a runtime of its own, on a thread of
/// its own: callable from sync code inside a test's runtime.
fn block_on<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    })
    .join()
    .unwrap()
}
