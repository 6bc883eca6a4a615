//! The PostgreSQL implementation of [`Store`], for deployments that run
//! several dnsdesk instances on one database.
//!
//! The submodules hold the SQL, one per group of tables, mirroring
//! `store/sqlite/`; the use-case shaped methods of the trait are composed
//! from them by the same code as SQLite's (`store/compose.rs`), so both
//! databases take the same steps in the same transactions.
//!
//! Concurrency. SQLite runs one write transaction at a time; here every
//! write transaction starts by taking one transaction-scoped advisory lock
//! ([`WRITE_LOCK`]), so writes keep exactly SQLite's semantics across any
//! number of processes: a transaction's reads see every write committed
//! before it, and the audit hash chain (appended to by almost every write)
//! never forks. What that costs is little: the chain alone would already
//! serialise every audited write. Two paths stay outside the lock because
//! they must not wait behind it: claiming a job (`FOR UPDATE SKIP LOCKED`
//! on `jobs` alone, so instances never queue on each other's claims) and
//! single-statement bookkeeping (session activity, mail delivery marks).
//! Reads that must agree with each other (a page and its total) run in one
//! `REPEATABLE READ` snapshot.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::store::{PeriodicLease, StoreResult};

mod accounts;
mod audit;
mod calendar;
mod catalogue;
mod complaints;
mod jobs;
mod outbox;
mod reports;
mod requests;
mod sessions;
mod zone;

/// Connections per instance. Writes queue on [`WRITE_LOCK`] whatever the
/// pool size; the others serve readers.
const MAX_CONNECTIONS: u32 = 16;

/// How long a call waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock key every write transaction holds (ASCII "dnsdesk"
/// plus 1). Advisory locks are per database, so instances on other
/// databases of the same server do not contend.
pub(crate) const WRITE_LOCK: i64 = 0x646e_7364_6573_6b01;

/// The advisory lock key of periodic work (drift checks, reminders,
/// audit checkpoints): held for a session by whichever instance runs it.
pub(crate) const PERIODIC_LOCK: i64 = 0x646e_7364_6573_6b02;

/// dnsdesk's data in a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
    /// `host:port/database`, for `Debug` and logs (never the password).
    location: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database given as a `postgres://` URL and brings
    /// its schema up to date. Migrations take their own advisory lock, so
    /// instances starting together apply them once.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?
            .application_name(&format!("dnsdesk {}", crate::instance::id()));
        let location = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self { pool, location })
    }

    /// Starts a write transaction holding [`WRITE_LOCK`] from its first
    /// statement, so that everything it reads afterwards is what every
    /// earlier write left (READ COMMITTED reads the latest commits per
    /// statement) and no other write runs until it ends.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Starts a read-only transaction on one snapshot.
    async fn begin_read(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    /// PostgreSQL's own checkpointer does this.
    async fn checkpoint_wal(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Takes [`PERIODIC_LOCK`] on a connection of its own (taken out of
    /// the pool: the lock lives as long as the connection), if no other
    /// session holds it.
    async fn take_periodic_lease(&self) -> StoreResult<Option<PeriodicLease>> {
        let mut connection = self.pool.acquire().await?.detach();
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(PERIODIC_LOCK)
            .fetch_one(&mut connection)
            .await?;
        // Without the lock the connection is simply closed (dropped).
        Ok(taken.then(|| PeriodicLease::on_connection(connection)))
    }

    /// Starts the transaction a job claim runs in: no write lock, since
    /// the claim locks only the job row it takes (`SKIP LOCKED`).
    async fn begin_claim(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

super::compose::compose_store!(PgStore);
