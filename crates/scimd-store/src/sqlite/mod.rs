//! The SQLite store: one database file, WAL mode, writers serialised.
//!
//! # Connections and transactions
//!
//! Statements run on `rusqlite` connections in the calling thread (see [`exec`] for why not
//! through sqlx's per-connection worker threads; sqlx still creates and migrates the file).
//! They are written once for both stores (`crate::tx`, `crate::sql`); this module holds
//! what is SQLite's own: connections, transactions, the checkpointer, and which statements
//! leave the async worker.
//!
//! - One **writer** connection behind an async mutex: a write transaction holds it from
//!   `BEGIN IMMEDIATE` (the write lock, taken up front) to `COMMIT` or rollback, so writes
//!   queue on the mutex instead of failing on a lock upgrade. `busy_timeout` (10 s) covers
//!   other processes (`scimd admin …`) holding the lock.
//! - A pool of **reader** connections (at most [`SqliteStore::readers_max`] open at once):
//!   read transactions are plain (deferred) `BEGIN`; in WAL mode a reader sees one
//!   consistent snapshot from its first read on and never blocks or is blocked by the writer.
//! - Statements that can run long (a `COMMIT` that syncs, list queries other than point
//!   lookups, membership reads and bulk statements: `Stmt::long`, set where the shared
//!   code builds them) run under
//!   [`tokio::task::block_in_place`] on a multi-threaded runtime, so the runtime moves its
//!   other tasks to another thread meanwhile; point lookups and single-row statements run
//!   inline.
//!
//! # Durability
//!
//! `journal_mode=WAL`. `synchronous` is chosen in the URL (`?synchronous=normal|full`, see
//! [`Synchronous`]); the default, `normal`, writes every commit to the WAL before the
//! request is acknowledged, so an acknowledged write survives the process being killed; it
//! does not fsync at each commit, so an operating-system crash or power loss can roll back
//! the last commits. `full` fsyncs the WAL at every commit and survives those too, at the
//! cost measured in docs/performance.md. `foreign_keys=ON`.
//!
//! Checkpoints (copying committed WAL frames into the database file) run in the background
//! (`spawn_checkpointer`), not inside write transactions; the writer's own auto-checkpoint
//! is only a backstop at [`BACKSTOP_AUTOCHECKPOINT`] pages (a checkpointer that cannot
//! keep up, or readers holding old snapshots), and then runs inside that `COMMIT`; when the
//! checkpointer last saw the WAL near that size, write `COMMIT`s run under `block_in_place`.
//!
//! # Layout
//!
//! `migrations/sqlite` (the same schema as `migrations/postgres`, which a test checks):
//! `tenants`, `tokens`, `attributes`, `users` (+ `user_emails`), `groups`, `group_members`
//! (one row per membership), `provisioning_log`, `admins`, `sessions`, `signin_failures`;
//! every table but `sessions` keyed by its insertion sequence `seq`. Timestamps are stored
//! as RFC 3339 UTC text with six fractional digits (`2026-11-30T11:22:33.123456Z`: text
//! order is time order); documents as JSON text.

pub(crate) mod dialect;
pub(crate) mod exec;

use crate::filter::Kind;
use crate::tx::runs_inline;
use crate::tx::StoreTx;
use async_trait::async_trait;
use exec::{db_err, Conn, SqliteExec};
use rusqlite::{Connection, OpenFlags};
use scim_proto::filter::Filter;
use scimd_directory::store::{ListQuery, Listing, Store, StoreError, StoreResult, Tx};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many lists that may scan run at once over `readers` reader connections: half, at
/// least one.
fn scans_max(readers: usize) -> usize {
    (readers / 2).max(1)
}

fn backend(msg: impl Into<String>) -> StoreError {
    StoreError::Backend(msg.into())
}

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a read transaction waits for a free reader connection (and a list that may
/// scan for its turn) before failing with `Contention` (503, retryable).
const READER_WAIT: Duration = Duration::from_secs(30);

/// A permit of `slots`, waiting at most [`READER_WAIT`].
///
/// Errors: [`StoreError::Contention`] with `busy(seconds waited)` as its message when none
/// became free in time (retryable: 503); a backend error once the store is closed.
async fn wait_for(
    slots: &Arc<Semaphore>,
    busy: impl FnOnce(u64) -> String,
) -> StoreResult<OwnedSemaphorePermit> {
    tokio::time::timeout(READER_WAIT, slots.clone().acquire_owned())
        .await
        .map_err(|_| StoreError::Contention(busy(READER_WAIT.as_secs())))?
        .map_err(|_| backend("the SQLite store is closed"))
}

/// Virtual-machine instructions between two calls of a connection's progress handler,
/// which stops a statement past the statement time limit (`exec::past_deadline`): some
/// tens of microseconds of work, so the limit is kept to well under a millisecond and the
/// check (a clock read) costs nothing measurable.
const PROGRESS_OPS: std::ffi::c_int = 10_000;

/// How long a write transaction waits for the writer connection (the writes queued before
/// it) before failing with `Contention` (503, retryable).
const WRITER_WAIT: Duration = Duration::from_secs(60);

/// SQLite page cache of the writer connection, KiB.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// SQLite page cache of each reader connection, KiB.
const READER_CACHE_KIB: i64 = 16 * 1024;

/// SQLite page cache of the background checkpointer's connection, KiB (a checkpoint copies
/// WAL frames to the database file without going through it).
const CHECKPOINTER_CACHE_KIB: i64 = 2 * 1024;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// How often the background checkpointer copies committed WAL frames into the database file
/// (when something was committed since its last run).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL size, in pages, at which a committing writer checkpoints itself (SQLite's default,
/// used without a background checkpointer, is 1000).
///
/// The background checkpointer copies frames into the database file but cannot let the WAL
/// start over while writes keep coming (SQLite restarts it only when a writer finds every
/// frame copied), so under a steady stream of writes the WAL grows to this size, and the
/// writer then checkpoints inside its `COMMIT`, holding every other write for the copy of
/// the last frames and two fsyncs: 20–40 ms on the disk of docs/performance.md. At 10,000
/// pages that came every 1–3 s while one tenant ran an initial cycle, and other tenants'
/// writes waited behind it (their p99 3×); at 100,000 (about 400 MiB of WAL) it comes every
/// half minute or so ("Fairness over a whole initial cycle" there). The WAL file is cut back
/// to [`WAL_SIZE_LIMIT`] when it starts over.
const BACKSTOP_AUTOCHECKPOINT: u32 = 100_000;

/// `journal_size_limit` of the writer, bytes: what a WAL file is truncated to when it
/// starts over, so that a burst of writes does not leave a WAL of
/// [`BACKSTOP_AUTOCHECKPOINT`] pages on disk.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Runs `f` where it may block for a while: under `block_in_place` on a multi-threaded tokio
/// runtime (the runtime hands this thread's other tasks to another thread meanwhile),
/// directly anywhere else (a current-thread runtime, no runtime).
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// The `synchronous` setting of the connections (SQLite's `PRAGMA synchronous`), chosen with
/// `?synchronous=` in the database URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `NORMAL` (the default): in WAL mode a commit is written to the WAL file before it
    /// returns, and the WAL is fsynced at checkpoints. Survives the process being killed; an
    /// operating-system crash or power loss can roll back the last commits (never corrupt).
    #[default]
    Normal,
    /// `FULL`: the WAL is fsynced at every commit. Survives power loss too; each write waits
    /// for the disk.
    Full,
}

impl Synchronous {
    /// `normal` / `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
        }
    }
}

/// What a `sqlite://` URL says: the file and the settings of its query string.
#[derive(Debug, Clone, PartialEq)]
struct Location {
    path: PathBuf,
    synchronous: Synchronous,
}

/// `s` without its URL scheme `scheme` (`sqlite://`, `sqlite:`), which is read in any case
/// (RFC 3986 §3.1: `SQLITE://x.db` is `sqlite://x.db`, not a file named `SQLITE:`).
pub fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    s.get(..scheme.len())
        .filter(|p| p.eq_ignore_ascii_case(scheme))
        .map(|_| &s[scheme.len()..])
}

/// Parses `sqlite://PATH[?synchronous=normal|full]` (also `sqlite:PATH` or a bare path; the
/// scheme in any case).
/// `mode=…` (sqlx's open mode) is accepted and ignored; any other parameter is an error, so
/// that a misspelt durability setting is not silently ignored.
fn location(url_or_path: &str) -> StoreResult<Location> {
    let s = url_or_path.trim();
    let rest = strip_scheme(s, "sqlite://")
        .or_else(|| strip_scheme(s, "sqlite:"))
        .unwrap_or(s);
    let (file, query) = match rest.split_once('?') {
        Some((f, q)) => (f, q),
        None => (rest, ""),
    };
    if file.is_empty() || file == ":memory:" || file.starts_with(":memory:") {
        return Err(backend(format!(
            "unsupported SQLite location {url_or_path:?}: give a file, e.g. sqlite:///var/lib/scimd/scimd.db"
        )));
    }
    let mut synchronous = Synchronous::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (k.to_ascii_lowercase().as_str(), v.to_ascii_lowercase().as_str()) {
            ("synchronous", "normal") => synchronous = Synchronous::Normal,
            ("synchronous", "full") => synchronous = Synchronous::Full,
            ("synchronous", _) => {
                return Err(backend(format!(
                    "unsupported synchronous={v:?} in the SQLite URL: use synchronous=normal or synchronous=full"
                )))
            }
            ("mode", _) => {}
            _ => {
                return Err(backend(format!(
                    "unknown parameter {k:?} in the SQLite URL {url_or_path:?}: the one supported is synchronous=normal|full"
                )))
            }
        }
    }
    Ok(Location {
        path: PathBuf::from(file),
        synchronous,
    })
}

/// Settings of a [`SqliteStore`] beyond its URL.
#[derive(Debug, Clone, PartialEq)]
pub struct SqliteOptions {
    /// How long one statement may run before it is stopped (`StoreError::Timeout`):
    /// SQLite has no such limit of its own (default [`crate::DEFAULT_STATEMENT_TIMEOUT`]).
    pub statement_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            statement_timeout: crate::DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// Opens one connection to `path` with the store's settings, its progress handler
/// enforcing the statement time limit (see `exec::past_deadline`).
fn connect(path: &Path, sync: Synchronous, cache_kib: i64) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags)
        .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
    c.busy_timeout(BUSY_TIMEOUT).map_err(db_err)?;
    c.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{cache_kib};",
        sync.as_str().to_ascii_uppercase()
    ))
    .map_err(|e| backend(format!("cannot configure {}: {e}", path.display())))?;
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    c.progress_handler(PROGRESS_OPS, Some(exec::past_deadline))
        .map_err(db_err)?;
    Ok(c)
}

/// The SQLite implementation of [`Store`].
///
/// Cheap to clone (an `Arc` inside). Open with [`SqliteStore::open`].
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    synchronous: Synchronous,
    writer: Arc<tokio::sync::Mutex<Connection>>,
    /// Idle reader connections.
    idle: Mutex<Vec<Connection>>,
    /// One permit per reader connection that may be open.
    reader_slots: Arc<Semaphore>,
    readers_max: usize,
    /// Turns of lists that may scan: half the readers, at least one (see
    /// [`SqliteStore::read_list`]).
    scan_slots: Arc<Semaphore>,
    /// How long one statement may run.
    pub(crate) statement_timeout: Duration,
    /// Write transactions committed since the checkpointer last ran.
    commits: std::sync::atomic::AtomicU64,
    /// Whether the background checkpointer runs (see [`connect_writer`]).
    pub(crate) checkpointer: bool,
    /// Frames in the WAL when the checkpointer last ran: near [`BACKSTOP_AUTOCHECKPOINT`] a
    /// COMMIT may checkpoint itself, so it leaves the async worker.
    wal_frames: std::sync::atomic::AtomicU64,
}

/// Starts the background checkpointer of `inner` on the tokio runtime `rt`. Every
/// [`CHECKPOINT_EVERY`] in which something was committed it runs
/// `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own on a blocking thread, so that
/// checkpoints (copying WAL frames into the database file, and its fsync) do not run inside
/// the serialised write transactions. It stops when the store is dropped.
fn spawn_checkpointer(inner: &Arc<Inner>, rt: &tokio::runtime::Handle) {
    let weak = Arc::downgrade(inner);
    rt.spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut conn: Option<Connection> = None;
        loop {
            tick.tick().await;
            let (path, sync, pending) = match weak.upgrade() {
                None => return,
                Some(inner) => {
                    let pending = inner.commits.swap(0, std::sync::atomic::Ordering::Relaxed);
                    if pending == 0 {
                        continue;
                    }
                    (inner.path.clone(), inner.synchronous, pending)
                }
            };
            let c = conn.take();
            let done = tokio::task::spawn_blocking(move || {
                let c = match c {
                    Some(c) => c,
                    None => connect(&path, sync, CHECKPOINTER_CACHE_KIB)?,
                };
                // (busy, frames in the WAL, frames checkpointed)
                let frames: i64 = c
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                    .map_err(db_err)?;
                Ok::<_, StoreError>((c, frames))
            })
            .await;
            let ok = match done {
                Ok(Ok((c, frames))) => {
                    conn = Some(c);
                    if let Some(inner) = weak.upgrade() {
                        inner.wal_frames.store(
                            u64::try_from(frames).unwrap_or(0),
                            std::sync::atomic::Ordering::Relaxed,
                        );
                    }
                    true
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpoint task failed; retrying");
                    false
                }
            };
            if !ok {
                // Try again at the next tick even if nothing more is committed.
                if let Some(inner) = weak.upgrade() {
                    inner
                        .commits
                        .fetch_add(pending, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    });
}

/// A writer connection ([`connect`]): with a background checkpointer (`checkpointer`), its
/// own auto-checkpoint is the backstop [`BACKSTOP_AUTOCHECKPOINT`]; without one, SQLite's
/// default (1000 pages) checkpoints inside its `COMMIT`s. Either way a WAL that starts over
/// is cut back to [`WAL_SIZE_LIMIT`]. Every writer connection is made here, the one that
/// replaces a writer whose transaction could not be ended too.
pub(crate) fn connect_writer(
    path: &Path,
    sync: Synchronous,
    checkpointer: bool,
) -> StoreResult<Connection> {
    let c = connect(path, sync, WRITER_CACHE_KIB)?;
    if checkpointer {
        c.pragma_update(None, "wal_autocheckpoint", BACKSTOP_AUTOCHECKPOINT)
            .map_err(db_err)?;
    }
    c.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(db_err)?;
    Ok(c)
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("synchronous", &self.inner.synchronous)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if missing) the database at
    /// `url_or_path` — `sqlite://PATH` (`sqlite:///abs/path.db`, `sqlite://rel/path.db`),
    /// `sqlite:PATH` or a bare path, optionally with `?synchronous=normal|full` (see
    /// [`Synchronous`]) — and applies the pending migrations of `migrations/sqlite`.
    ///
    /// Errors: `Backend` when the location is not a file (`sqlite::memory:` is refused: the
    /// store needs several connections to one database), has an unknown URL parameter,
    /// cannot be created or opened, or a migration fails.
    pub async fn open(url_or_path: &str) -> StoreResult<SqliteStore> {
        SqliteStore::open_with(url_or_path, &SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with explicit settings.
    pub async fn open_with(url_or_path: &str, o: &SqliteOptions) -> StoreResult<SqliteStore> {
        let Location { path, synchronous } = location(url_or_path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("cannot create directory {}: {e}", dir.display())))?;
        }
        // sqlx creates the file, switches it to WAL and applies the migrations (its
        // `_sqlx_migrations` bookkeeping), then closes; the store's own connections follow.
        // Foreign keys are off while migrating, so that a migration may rebuild a parent
        // table (create, copy, drop, rename) without the drop cascading to its children;
        // they are checked once the migrations ran. The check reads every row of every child
        // table (seconds on a file of gigabytes), so it runs only when the migrations applied
        // differ from those last checked: their count is kept in the file's `user_version`
        // once a check passed (a check that fails leaves it, and the next start checks again).
        let mut migrator = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(false)
            .busy_timeout(BUSY_TIMEOUT)
            .connect()
            .await
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut migrator)
            .await
            .map_err(|e| backend(format!("migrating {}: {e}", path.display())))?;
        let checking =
            |e: sqlx::Error| backend(format!("checking {} after migrating: {e}", path.display()));
        let applied: i64 =
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut migrator)
                .await
                .map_err(checking)?;
        let checked: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut migrator)
            .await
            .map_err(checking)?;
        if applied != checked {
            let broken = sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&mut migrator)
                .await
                .map_err(checking)?;
            if !broken.is_empty() {
                return Err(backend(format!(
                    "{} has {} rows whose foreign key points nowhere after migrating",
                    path.display(),
                    broken.len()
                )));
            }
            // A PRAGMA takes no bound parameter; `applied` is a count read above.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA user_version = {applied}"
            )))
            .execute(&mut migrator)
            .await
            .map_err(checking)?;
        }
        sqlx::Connection::close(migrator)
            .await
            .map_err(|e| backend(format!("closing {} after migrating: {e}", path.display())))?;
        let runtime = tokio::runtime::Handle::try_current().ok();
        let checkpointer = runtime.is_some();
        let writer = connect_writer(&path, synchronous, checkpointer)?;
        let readers_max = std::thread::available_parallelism()
            .map_or(4, |n| n.get() * 2)
            .clamp(4, 16);
        let inner = Arc::new(Inner {
            path,
            synchronous,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            idle: Mutex::new(Vec::new()),
            reader_slots: Arc::new(Semaphore::new(readers_max)),
            readers_max,
            scan_slots: Arc::new(Semaphore::new(scans_max(readers_max))),
            statement_timeout: o.statement_timeout,
            checkpointer,
            commits: std::sync::atomic::AtomicU64::new(0),
            wal_frames: std::sync::atomic::AtomicU64::new(0),
        });
        if let Some(rt) = &runtime {
            spawn_checkpointer(&inner, rt);
        }
        let store = SqliteStore { inner };
        crate::tx::run_migration_steps(|| store.reader(None), || store.writer()).await?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The `synchronous` setting in force.
    pub fn synchronous(&self) -> Synchronous {
        self.inner.synchronous
    }

    /// How many reader connections may be open at once (twice the CPUs, 4 to 16).
    pub fn readers_max(&self) -> usize {
        self.inner.readers_max
    }

    /// How many lists that may scan run at once (half the readers).
    pub fn scans_max(&self) -> usize {
        scans_max(self.inner.readers_max)
    }

    /// How long one statement may run.
    pub fn statement_timeout(&self) -> Duration {
        self.inner.statement_timeout
    }

    /// Closes the idle reader connections and checkpoints the WAL into the database file
    /// (waits for the write transaction in progress, if any). The store stays usable: later
    /// transactions open connections again.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.lock().unwrap_or_else(|p| p.into_inner()));
        drop(idle);
        let w = self.inner.writer.lock().await;
        let _ = blocking(|| w.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"));
    }

    /// `EXPLAIN QUERY PLAN` of the statement [`Tx::list_resources`] (of users; of groups
    /// for the Group schema) would run for the page of `q`, one plan line per row (`detail`
    /// column), for diagnostics and tests that check index use.
    ///
    /// Errors: as `list_resources`.
    pub async fn explain_list(&self, t: &str, q: &ListQuery<'_>) -> StoreResult<Vec<String>> {
        let x = self.reader(None).await?;
        crate::tx::explain(x, "EXPLAIN QUERY PLAN ", "detail", t, q).await
    }

    /// A reader connection (a pooled one, or a new one while fewer than `readers_max` are
    /// open), in a read transaction; `scan`: the turn of a list that may scan, which the
    /// transaction holds to its end.
    async fn reader(&self, scan: Option<OwnedSemaphorePermit>) -> StoreResult<SqliteExec> {
        let permit = wait_for(&self.inner.reader_slots, |secs| {
            format!("no database reader connection became free within {secs} s")
        })
        .await?;
        let pooled = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let c = match pooled {
            Some(c) => c,
            None => connect(&self.inner.path, self.inner.synchronous, READER_CACHE_KIB)?,
        };
        let mut x = SqliteExec::new(
            Conn::Reader {
                c: Some(Box::new(c)),
                _permit: permit,
                _scan: scan,
            },
            self.inner.clone(),
            false,
        );
        x.begin_read()?;
        Ok(x)
    }

    /// The writer connection, in a write transaction (`BEGIN IMMEDIATE`), once the writes
    /// queued before have finished.
    async fn writer(&self) -> StoreResult<SqliteExec> {
        let guard = tokio::time::timeout(WRITER_WAIT, self.inner.writer.clone().lock_owned())
            .await
            .map_err(|_| {
                StoreError::Contention(format!(
                    "the writes queued before this one did not finish within {} s",
                    WRITER_WAIT.as_secs()
                ))
            })?;
        // Without contention from another process the lock is free: take it without waiting;
        // otherwise wait (up to the busy timeout) off the async worker.
        let mut guard = guard;
        if !guard.is_autocommit() {
            // A transaction a failed ROLLBACK left open: end it, or start over on a new
            // connection.
            if exec::exec(&guard, "ROLLBACK").is_err() || !guard.is_autocommit() {
                *guard = connect_writer(
                    &self.inner.path,
                    self.inner.synchronous,
                    self.inner.checkpointer,
                )?;
            }
        }
        let c: &Connection = &guard;
        c.busy_timeout(Duration::ZERO).map_err(db_err)?;
        let first = exec::exec(c, "BEGIN IMMEDIATE");
        // Cannot fail (sqlite3_busy_timeout only stores the value); never leave here with
        // the transaction begun and no executor to end it.
        let _ = c.busy_timeout(BUSY_TIMEOUT);
        if let Err(e) = first {
            let busy = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DatabaseBusy);
            if !busy {
                return Err(db_err(e));
            }
            blocking(|| exec::exec(c, "BEGIN IMMEDIATE")).map_err(db_err)?;
        }
        Ok(SqliteExec::new(
            Conn::Writer(guard),
            self.inner.clone(),
            true,
        ))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(StoreTx::new(self.reader(None).await?)))
    }

    /// Point lookups on an early page read at once; other lists first wait for one of
    /// [`SqliteStore::scans_max`] turns (up to 30 s, then `Contention`), and only then take a
    /// reader: however many expensive filters arrive, they hold at most half the readers,
    /// and `userName eq ...` always finds one.
    async fn read_list(
        &self,
        listing: Listing,
        filter: Option<&Filter>,
        offset: u64,
    ) -> StoreResult<Box<dyn Tx>> {
        let kind = match listing {
            Listing::Users => Kind::Users,
            Listing::Groups => Kind::Groups,
        };
        if runs_inline(kind, filter, offset) {
            return self.read().await;
        }
        let turn = wait_for(&self.inner.scan_slots, |secs| {
            format!(
                "other searches that scan the directory kept every turn for them busy for {secs} s"
            )
        })
        .await?;
        Ok(Box::new(StoreTx::new(self.reader(Some(turn)).await?)))
    }

    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(StoreTx::new(self.writer().await?)))
    }

    async fn ping(&self) -> StoreResult<()> {
        let x = self.reader(None).await?;
        x.conn()
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map_err(db_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_the_synchronous_setting() {
        let l = location("sqlite:///var/lib/scimd/scimd.db").unwrap();
        assert_eq!(l.path, PathBuf::from("/var/lib/scimd/scimd.db"));
        assert_eq!(l.synchronous, Synchronous::Normal);
        let l = location("sqlite://./d/x.db?synchronous=FULL").unwrap();
        assert_eq!(l.path, PathBuf::from("./d/x.db"));
        assert_eq!(l.synchronous, Synchronous::Full);
        assert_eq!(
            location("sqlite:x.db?mode=rwc&synchronous=normal")
                .unwrap()
                .synchronous,
            Synchronous::Normal
        );
        assert_eq!(location("x.db").unwrap().path, PathBuf::from("x.db"));
        // The scheme is read in any case, never taken for part of a file name.
        let l = location("SQLite:///var/lib/scimd/scimd.db").unwrap();
        assert_eq!(l.path, PathBuf::from("/var/lib/scimd/scimd.db"));
        assert!(location("SQLITE::memory:").is_err() && location("SQLITE://").is_err());
        assert_eq!(
            location("x.db?Synchronous=Full").unwrap().synchronous,
            Synchronous::Full
        );
        for bad in [
            "sqlite::memory:",
            "sqlite://",
            "sqlite:///x.db?synchronous=off",
            "sqlite:///x.db?synchronus=full",
        ] {
            let e = location(bad).unwrap_err().to_string();
            assert!(
                e.contains("synchronous") || e.contains("give a file"),
                "{bad}: {e}"
            );
        }
    }

    fn pragma(c: &Connection, name: &str) -> i64 {
        c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    }

    /// A store opened on a tokio runtime has a background checkpointer, and its writer the
    /// backstop; every writer connection is made by `connect_writer` (the replacement of a
    /// broken writer too), which without a checkpointer leaves SQLite's own 1000 pages.
    #[tokio::test(flavor = "multi_thread")]
    async fn writer_connections_carry_the_checkpoint_backstop() {
        let dir = std::env::temp_dir().join(format!(
            "scimd-backstop-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let path = dir.join("w.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        assert!(store.inner.checkpointer);
        let backstop = i64::from(BACKSTOP_AUTOCHECKPOINT);
        {
            let w = store.inner.writer.lock().await;
            assert_eq!(pragma(&w, "wal_autocheckpoint"), backstop);
            assert_eq!(pragma(&w, "journal_size_limit"), WAL_SIZE_LIMIT);
        }
        let replacement = connect_writer(&path, Synchronous::Normal, true).unwrap();
        assert_eq!(pragma(&replacement, "wal_autocheckpoint"), backstop);
        let alone = connect_writer(&path, Synchronous::Normal, false).unwrap();
        assert_eq!(pragma(&alone, "wal_autocheckpoint"), 1000);
        assert_eq!(pragma(&alone, "journal_size_limit"), WAL_SIZE_LIMIT);
        drop((store, replacement, alone));
        std::fs::remove_dir_all(&dir).ok();
    }
}
