//! The store's tests, run on both databases through the [`Store`] trait:
//! every test named in [`on_both_databases!`] runs once on SQLite (a file
//! in a temporary directory) and once on PostgreSQL (a database created
//! for the test and dropped after it), with the production settings and
//! migrations of each.
//!
//! The PostgreSQL server is `DNSDESK_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`); the tests' databases,
//! `dnsdesk_unit_<pid>_<n>`, are made beside the one it names. Without a
//! reachable server the PostgreSQL runs print why and pass as skipped,
//! unless `DNSDESK_REQUIRE_POSTGRES=1`, where they fail.
//!
//! Tests that are about one database only (SQLite's pragmas and its
//! migration history) stay in `store/sqlite/tests.rs`.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use provisioner::record::RecordInput;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, ConnectOptions, Row};
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use crate::audit::{AuditActor, ChainWalker};
use crate::model::{AgencyId, Role, UserId};
use crate::store::{NewAgency, NewUser, Store};

/// Declares, for each named `async fn NAME(db: TestDb)` in the invoking
/// module, the tests `NAME::sqlite` and `NAME::postgres`, which run it on
/// each database. Arguments for `#[tokio::test]` may follow a name in
/// parentheses: `NAME(flavor = "multi_thread", worker_threads = 2)`.
macro_rules! on_both_databases {
    ($($name:ident $(($($args:tt)*))?),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test $(($($args)*))?]
                async fn sqlite() {
                    $crate::store::tests::run(
                        $crate::store::tests::Db::Sqlite,
                        module_path!(),
                        super::$name,
                    )
                    .await;
                }

                #[tokio::test $(($($args)*))?]
                async fn postgres() {
                    $crate::store::tests::run(
                        $crate::store::tests::Db::Postgres,
                        module_path!(),
                        super::$name,
                    )
                    .await;
                }
            }
        )+
    };
}

mod accounts;
mod audit;
mod catalogue;
mod complaints;
mod explain;
mod fixture;
mod jobs;
mod mail;
mod requests;
mod schema;
mod sessions;

pub(super) use fixture::Fixture;

/// Where the tests' PostgreSQL databases are made.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How long to wait for the PostgreSQL server to answer at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Db {
    Sqlite,
    Postgres,
}

/// Runs `body` on a fresh database of kind `db`; a PostgreSQL run without
/// a server is skipped (saying why) or, when required, fails.
pub(super) async fn run<F, Fut>(db: Db, test: &str, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(test_db) = TestDb::open(db, test).await else {
        return;
    };
    body(test_db).await;
}

/// A fresh, migrated database for one test: the store on it, behind the
/// trait, and the raw SQL the tests use to force a state or check a
/// schema rule.
pub(super) struct TestDb {
    /// Dropped before `raw`, whose PostgreSQL database goes with it.
    pub(super) store: Arc<dyn Store>,
    raw: Raw,
}

/// The database under the store, for raw SQL.
enum Raw {
    Sqlite {
        pool: SqlitePool,
        _dir: TempDir,
    },
    Postgres {
        pool: PgPool,
        /// Declared after `pool`: dropped last.
        _database: PgDatabase,
    },
}

impl TestDb {
    /// Opens a fresh database of kind `db`; `None` when PostgreSQL is not
    /// there and not required (after printing why `test` is skipped).
    pub(super) async fn open(db: Db, test: &str) -> Option<Self> {
        match db {
            Db::Sqlite => Some(Self::sqlite().await),
            Db::Postgres => {
                if let Err(why) = postgres_available().await {
                    assert!(
                        std::env::var("DNSDESK_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                        "DNSDESK_REQUIRE_POSTGRES=1 but PostgreSQL is not usable: {why}"
                    );
                    eprintln!(
                        "skipped {test} on PostgreSQL: {why} \
                         (set DNSDESK_REQUIRE_POSTGRES=1 to fail instead)"
                    );
                    return None;
                }
                Some(Self::postgres().await)
            }
        }
    }

    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("dnsdesk.db"))
            .await
            .expect("open SQLite");
        Self {
            raw: Raw::Sqlite {
                pool: store.pool.clone(),
                _dir: dir,
            },
            store: Arc::new(store),
        }
    }

    async fn postgres() -> Self {
        let database = PgDatabase::create().await;
        let store = PgStore::open_url(&database.url())
            .await
            .expect("open PostgreSQL");
        Self {
            raw: Raw::Postgres {
                pool: store.pool.clone(),
                _database: database,
            },
            store: Arc::new(store),
        }
    }

    /// Which database this is.
    pub(super) fn kind(&self) -> Db {
        match self.raw {
            Raw::Sqlite { .. } => Db::Sqlite,
            Raw::Postgres { .. } => Db::Postgres,
        }
    }

    /// Runs one statement (values formatted in, no parameters; SQL both
    /// databases accept), returning the rows it changed.
    pub(super) async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(match &self.raw {
            Raw::Sqlite { pool, .. } => sqlx::query(AssertSqlSafe(sql))
                .execute(pool)
                .await?
                .rows_affected(),
            Raw::Postgres { pool, .. } => sqlx::query(AssertSqlSafe(sql))
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    /// The one integer `sql` selects (a `COUNT(*)`, say).
    pub(super) async fn scalar(&self, sql: &str) -> i64 {
        match &self.raw {
            Raw::Sqlite { pool, .. } => {
                sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await
            }
            Raw::Postgres { pool, .. } => {
                sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The rows `sql` selects, every column read as text (cast in
    /// PostgreSQL where it is a name or an identifier).
    pub(super) async fn texts(&self, sql: &str) -> Vec<Vec<String>> {
        let rows: Result<Vec<Vec<String>>, sqlx::Error> = match &self.raw {
            Raw::Sqlite { pool, .. } => sqlx::query(AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .and_then(|rows| {
                    rows.iter()
                        .map(|row| (0..row.len()).map(|i| row.try_get(i)).collect())
                        .collect()
                }),
            Raw::Postgres { pool, .. } => sqlx::query(AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .and_then(|rows| {
                    rows.iter()
                        .map(|row| (0..row.len()).map(|i| row.try_get(i)).collect())
                        .collect()
                }),
        };
        rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// SQL for the text of `key` in the JSON object stored (as text) in
    /// `column`.
    pub(super) fn json_text(&self, column: &str, key: &str) -> String {
        match self.kind() {
            Db::Sqlite => format!("json_extract({column}, '$.{key}')"),
            Db::Postgres => format!("({column}::json ->> '{key}')"),
        }
    }
}

/// The server the tests' databases are made on.
fn admin_url() -> String {
    std::env::var("DNSDESK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// Whether the server answers, asked once per test process.
async fn postgres_available() -> Result<(), String> {
    static ANSWER: OnceCell<Result<(), String>> = OnceCell::const_new();
    ANSWER
        .get_or_init(|| async {
            let url = admin_url();
            let check = async {
                let mut conn = admin_connection(&url).await?;
                sqlx::query("SELECT 1")
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("{}: {e}", redacted(&url)))?;
                Ok(())
            };
            tokio::time::timeout(CONNECT_TIMEOUT, check)
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "{} did not answer in {CONNECT_TIMEOUT:?}",
                        redacted(&url)
                    ))
                })
        })
        .await
        .clone()
}

/// A connection to the server's admin database.
async fn admin_connection(url: &str) -> Result<PgConnection, String> {
    PgConnectOptions::from_str(url)
        .map_err(|e| format!("DNSDESK_TEST_POSTGRES: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", redacted(url)))
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match PgConnectOptions::from_str(url) {
        Ok(options) => format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        ),
        Err(_) => "DNSDESK_TEST_POSTGRES".to_owned(),
    }
}

/// A PostgreSQL database made for one test, dropped (with whatever
/// connections are still on it) when this is, the test passed or not.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    /// Creates `dnsdesk_unit_<pid>_<n>`.
    async fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "dnsdesk_unit_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let statement = format!("CREATE DATABASE {name}");
        let mut conn = admin_connection(&admin_url())
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        sqlx::raw_sql(AssertSqlSafe(statement.as_str()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        Self { name }
    }

    /// The database's URL: the admin URL with its database replaced.
    fn url(&self) -> String {
        let admin = admin_url();
        let (base, query) = match admin.split_once('?') {
            Some((base, query)) => (base.to_owned(), format!("?{query}")),
            None => (admin.clone(), String::new()),
        };
        let server = match base.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('/') {
                Some((authority, _)) => format!("{scheme}://{authority}"),
                None => base.clone(),
            },
            None => base.clone(),
        };
        format!("{server}/{}{query}", self.name)
    }
}

impl Drop for PgDatabase {
    /// Drops the database from a thread with a runtime of its own: `Drop`
    /// cannot await, and runs inside the test's runtime. Never panics (it
    /// may run while a failed test unwinds).
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = admin_url();
        let outcome = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = admin_connection(&url).await?;
                sqlx::raw_sql(AssertSqlSafe(statement.as_str()))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| format!("{statement}: {e}"))?;
                Ok(())
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test database {}: panicked", self.name),
        }
    }
}

// --- what most tests share ---

/// The actor of accounts made by the tests, as by the CLI.
pub(super) fn console() -> AuditActor {
    AuditActor::Console("test".to_owned())
}

pub(super) async fn agency(store: &dyn Store, code: &str) -> AgencyId {
    let new = NewAgency {
        code: code.to_owned(),
        name: format!("Dinas {code}"),
        email: format!("{code}@example.test"),
    };
    store
        .create_agency(new, console())
        .await
        .expect("agency")
        .id
}

pub(super) async fn user(
    store: &dyn Store,
    username: &str,
    role: Role,
    agency_id: Option<AgencyId>,
) -> UserId {
    let new = NewUser {
        username: username.to_owned(),
        role,
        agency_id,
        password_hash: None,
    };
    store.create_user(new, console()).await.expect("user").id
}

pub(super) fn record(rtype: &str, value: &str) -> RecordInput {
    RecordInput {
        rtype: rtype.to_owned(),
        value: value.to_owned(),
        ttl: Some(3600),
        glue: Vec::new(),
    }
}

/// A job's lease in the tests.
pub(super) const LEASE: Duration = Duration::from_secs(30);

/// The jobs' clock: enqueued jobs are due at the store's wall-clock now,
/// so claims look from a little later.
pub(super) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::from_secs(1)
}

/// Walks the whole chain as `dnsdesk audit verify` does.
pub(super) async fn walk_chain(store: &dyn Store) -> ChainWalker {
    let mut walker = ChainWalker::default();
    loop {
        let batch = store
            .audit_range(walker.last_seq, 100)
            .await
            .expect("range");
        if batch.is_empty() {
            return walker;
        }
        for entry in &batch {
            walker.step(entry).expect("chain intact");
        }
    }
}
