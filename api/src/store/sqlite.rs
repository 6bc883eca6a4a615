//! The SQLite implementation of [`Store`]: one database file in WAL mode,
//! every multi-step write one `BEGIN IMMEDIATE` transaction.
//!
//! The SQL lives in the submodules, one per group of tables, as functions
//! taking an executor or a connection so that they run alone or inside a
//! caller's transaction; this file opens the database and composes them
//! into the use-case shaped methods of the trait (`store/compose.rs`,
//! shared with PostgreSQL).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::store::StoreResult;

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
#[cfg(test)]
mod tests;
mod zone;

/// Connections in the pool. SQLite runs one writer at a time whatever
/// the pool size; the others serve concurrent readers (WAL lets readers
/// run beside the writer).
const MAX_CONNECTIONS: u32 = 8;

/// How long a writer waits for the write lock before failing with
/// SQLITE_BUSY. Write transactions are short, so waiting this long means
/// something is wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The size of the write-ahead log, in pages, at which a committing
/// writer checkpoints it itself. SQLite's default (1,000 pages, 4 MiB) has
/// a bulk write (a batch of a thousand requests writes several MiB) pay
/// for copying the log into the database and syncing it, inside its
/// commit, nearly every time. The store's owner checkpoints in the
/// background instead ([`SqliteStore::checkpoint_wal`], about once a
/// second), so a writer meets this only when that falls behind.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// Once the log has been checkpointed whole, its file is cut back to this
/// size rather than left at its largest.
const WAL_SIZE_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// dnsdesk's data in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pub(super) pool: SqlitePool,
    /// Where the file is, for `Debug` and logs.
    location: PathBuf,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and brings
    /// its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::connect(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a database given as a `sqlite://path` URL (query parameters
    /// such as `mode=ro` apply; the durability settings of [`open`] are
    /// always imposed). `sqlite::memory:` is not useful here: each pooled
    /// connection would get its own empty database.
    ///
    /// [`open`]: Self::open
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        Self::connect(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // We promise that an acknowledged submission, approval or
            // write-ahead attempt survives kill -9 and power loss. In WAL
            // mode NORMAL only syncs at checkpoints: a process crash loses
            // nothing, but a power cut can drop the last commits. FULL
            // syncs the WAL on every commit, which is what the promise
            // needs (our write rate is people clicking, not bulk loads).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
        let location = options.get_filename().to_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool, location })
    }

    /// Starts a write transaction holding the write lock from its first
    /// statement. A deferred `BEGIN` that reads and then writes would have
    /// to upgrade its lock, and two such transactions deadlock: SQLite
    /// fails one with SQLITE_BUSY at once instead of waiting. With
    /// `IMMEDIATE`, concurrent writers queue on the busy timeout instead.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Starts a read transaction: its statements see one snapshot (WAL).
    async fn begin_read(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin().await?)
    }

    /// Copies the write-ahead log into the database file as far as no
    /// reader still needs it (`PASSIVE`: it waits for nobody, and writers
    /// go on appending meanwhile), then syncs the file. Committed data is
    /// durable before this either way (synchronous=FULL syncs the log at
    /// every commit); this keeps the log short without a writer paying.
    async fn checkpoint_wal(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The right to run periodic work: one process owns the file, so it
    /// is always this one's.
    async fn take_periodic_lease(&self) -> StoreResult<Option<crate::store::PeriodicLease>> {
        Ok(Some(crate::store::PeriodicLease::sole()))
    }

    /// Starts the transaction a job claim runs in: a write transaction,
    /// as every write in SQLite.
    async fn begin_claim(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }
}

super::compose::compose_store!(SqliteStore);
