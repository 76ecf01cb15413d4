//! The SQLite store: one database file, WAL mode, writers serialised.
//!
//! # Connections and transactions
//!
//! Statements run on `rusqlite` connections in the calling thread (see [`db`] for why not
//! through sqlx's per-connection worker threads; sqlx still creates and migrates the file).
//!
//! - One **writer** connection behind an async mutex: a write transaction holds it from
//!   `BEGIN IMMEDIATE` (the write lock, taken up front) to `COMMIT` or rollback, so writes
//!   queue on the mutex instead of failing on a lock upgrade. `busy_timeout` (10 s) covers
//!   other processes (`scimd admin …`) holding the lock.
//! - A pool of **reader** connections (at most [`SqliteStore::readers_max`] open at once):
//!   read transactions are plain (deferred) `BEGIN`; in WAL mode a reader sees one
//!   consistent snapshot from its first read on and never blocks or is blocked by the writer.
//! - Statements that can run long (a `COMMIT` that syncs, list queries other than point
//!   lookups, membership reads and bulk statements) run under
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
//! See `migrations/sqlite/0001_init.sql`: `tenants`, `tokens`, `users` (+ `user_emails`),
//! `groups`, `group_members` (one row per membership), `attributes`, `provisioning_log`;
//! and `0002_directory_rules.sql` (`attributes.seq` for registration order,
//! `provisioning_log.search_folded` and the log's indexes). The product's directory rules
//! (custom attributes, lifecycle helpers, counts, provisioning log, administrator
//! listings) are in `rules`.
//! Timestamps are stored as RFC 3339 UTC text with six fractional digits
//! (`2026-11-30T11:22:33.123456Z`: text order is time order); documents as JSON text.

mod admins;
mod copy;
pub(crate) mod db;
pub(crate) mod filter;
mod rules;

use crate::common::{
    backend, clamp, kind_of, kind_str, scope_of, source_of, state_of, GROUP_COLS, MEMBER_COLS,
    USER_COLS,
};
use crate::filter::Sink;
use crate::timefmt;
use async_trait::async_trait;
pub(crate) use db::{db_err, get, q, Qb, Row};
use filter::{Kind, SqliteDialect, Translator};
use rusqlite::{Connection, OpenFlags};
use scim_proto::filter::fold;
use scimd_directory::store::{
    AdminUserFilter, AttributeRow, EmailKey, Exported, GroupRecord, ListQuery, LogEntry, LogQuery,
    MemberKind, MemberRow, Source, Store, StoreError, StoreResult, Table, TenantRow, TokenRow, Tx,
    UserRecord, UserState,
};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Most bound parameters put in one statement by batched calls (IN lists, multi-row inserts).
const MAX_BINDS: usize = 500;

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a read transaction waits for a free reader connection before failing with
/// `Contention` (503, retryable).
const READER_WAIT: Duration = Duration::from_secs(30);

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

/// WAL size, in pages, at which a committing writer checkpoints itself: the backstop for a
/// background checkpointer that cannot keep up (SQLite's default, used without one, is 1000).
const BACKSTOP_AUTOCHECKPOINT: u32 = 10_000;

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

/// Parses `sqlite://PATH[?synchronous=normal|full]` (also `sqlite:PATH` or a bare path).
/// `mode=…` (sqlx's open mode) is accepted and ignored; any other parameter is an error, so
/// that a misspelt durability setting is not silently ignored.
fn location(url_or_path: &str) -> StoreResult<Location> {
    let s = url_or_path.trim();
    let rest = s
        .strip_prefix("sqlite://")
        .or_else(|| s.strip_prefix("sqlite:"))
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

/// Opens one connection to `path` with the store's settings.
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
    /// Write transactions committed since the checkpointer last ran.
    commits: std::sync::atomic::AtomicU64,
    /// Frames in the WAL when the checkpointer last ran: near [`BACKSTOP_AUTOCHECKPOINT`] a
    /// COMMIT may checkpoint itself, so it leaves the async worker.
    wal_frames: std::sync::atomic::AtomicU64,
}

/// Starts the background checkpointer of `inner` on the current tokio runtime, if there is
/// one; returns whether it started. Every [`CHECKPOINT_EVERY`] in which something was
/// committed it runs `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own on a
/// blocking thread, so that checkpoints (copying WAL frames into the database file, and its
/// fsync) do not run inside the serialised write transactions. It stops when the store is
/// dropped.
fn spawn_checkpointer(inner: &Arc<Inner>) -> bool {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return false;
    };
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
    true
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
        let Location { path, synchronous } = location(url_or_path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("cannot create directory {}: {e}", dir.display())))?;
        }
        // sqlx creates the file, switches it to WAL and applies the migrations (its
        // `_sqlx_migrations` bookkeeping), then closes; the store's own connections follow.
        // Foreign keys are off while migrating, so that a migration may rebuild a parent
        // table (create, copy, drop, rename) without the drop cascading to its children;
        // they are checked once the migrations ran.
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
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut migrator)
            .await
            .map_err(|e| backend(format!("checking {} after migrating: {e}", path.display())))?;
        if !broken.is_empty() {
            return Err(backend(format!(
                "{} has {} rows whose foreign key points nowhere after migrating",
                path.display(),
                broken.len()
            )));
        }
        sqlx::Connection::close(migrator)
            .await
            .map_err(|e| backend(format!("closing {} after migrating: {e}", path.display())))?;
        let writer = connect(&path, synchronous, WRITER_CACHE_KIB)?;
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
            commits: std::sync::atomic::AtomicU64::new(0),
            wal_frames: std::sync::atomic::AtomicU64::new(0),
        });
        if spawn_checkpointer(&inner) {
            inner
                .writer
                .lock()
                .await
                .pragma_update(None, "wal_autocheckpoint", BACKSTOP_AUTOCHECKPOINT)
                .map_err(db_err)?;
        }
        Ok(SqliteStore { inner })
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

    /// Closes the idle reader connections and checkpoints the WAL into the database file
    /// (waits for the write transaction in progress, if any). The store stays usable: later
    /// transactions open connections again.
    pub async fn close(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.lock().unwrap_or_else(|p| p.into_inner()));
        drop(idle);
        let w = self.inner.writer.lock().await;
        let _ = blocking(|| w.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"));
    }

    /// `EXPLAIN QUERY PLAN` of the statement [`Tx::list_users`] (or `list_groups` when
    /// `groups`) would run for the page of `q`, one plan line per row (`detail` column), for
    /// diagnostics and tests that check index use.
    ///
    /// Errors: as `list_users`.
    pub async fn explain_list(
        &self,
        tenant_id: &str,
        q: &ListQuery<'_>,
        groups: bool,
    ) -> StoreResult<Vec<String>> {
        let kind = if groups { Kind::Groups } else { Kind::Users };
        let mut explain = Qb::new("EXPLAIN QUERY PLAN ");
        push_list_query(&mut explain, kind, tenant_id, q, false)?;
        let tx = self.reader().await?;
        let rows = explain.fetch_all(tx.conn())?;
        rows.iter().map(|r| r.get::<String>("detail")).collect()
    }

    /// A reader connection (a pooled one, or a new one while fewer than `readers_max` are
    /// open), in a read transaction.
    async fn reader(&self) -> StoreResult<SqliteTx> {
        let permit =
            tokio::time::timeout(READER_WAIT, self.inner.reader_slots.clone().acquire_owned())
                .await
                .map_err(|_| {
                    StoreError::Contention(format!(
                        "no database reader connection became free within {} s",
                        READER_WAIT.as_secs()
                    ))
                })?
                .map_err(|_| backend("the SQLite store is closed"))?;
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
        let tx = SqliteTx {
            conn: Conn::Reader {
                c: Some(c),
                _permit: permit,
            },
            store: self.inner.clone(),
            open: false,
        };
        let mut tx = tx;
        db::exec(tx.conn(), "BEGIN").map_err(db_err)?;
        tx.open = true;
        Ok(tx)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(self.reader().await?))
    }

    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
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
            if db::exec(&guard, "ROLLBACK").is_err() || !guard.is_autocommit() {
                *guard = connect(&self.inner.path, self.inner.synchronous, WRITER_CACHE_KIB)?;
            }
        }
        let c: &Connection = &guard;
        c.busy_timeout(Duration::ZERO).map_err(db_err)?;
        let first = db::exec(c, "BEGIN IMMEDIATE");
        // Cannot fail (sqlite3_busy_timeout only stores the value); never leave here with
        // the transaction begun and no SqliteTx to end it.
        let _ = c.busy_timeout(BUSY_TIMEOUT);
        if let Err(e) = first {
            let busy = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::DatabaseBusy);
            if !busy {
                return Err(db_err(e));
            }
            blocking(|| db::exec(c, "BEGIN IMMEDIATE")).map_err(db_err)?;
        }
        Ok(Box::new(SqliteTx {
            conn: Conn::Writer(guard),
            store: self.inner.clone(),
            open: true,
        }))
    }

    async fn ping(&self) -> StoreResult<()> {
        let tx = self.reader().await?;
        q("SELECT 1").scalar::<i64>(tx.conn())?;
        Ok(())
    }
}

/// The connection a transaction runs on.
enum Conn {
    /// A reader, returned to the pool when the transaction ends.
    Reader {
        c: Option<Connection>,
        _permit: OwnedSemaphorePermit,
    },
    /// The writer, held for the whole transaction.
    Writer(OwnedMutexGuard<Connection>),
}

/// A transaction of a [`SqliteStore`]. Dropping it without `commit` rolls back.
///
/// Write methods called on a read transaction work but take the write lock late (and can
/// fail with `SQLITE_BUSY` when another writer committed since the snapshot was taken):
/// write in transactions from [`Store::write`].
pub struct SqliteTx {
    conn: Conn,
    /// The store it belongs to.
    store: Arc<Inner>,
    /// A transaction is open (`BEGIN` ran, neither `COMMIT` nor `ROLLBACK` yet).
    open: bool,
}

impl SqliteTx {
    fn conn(&self) -> &Connection {
        match &self.conn {
            Conn::Reader { c, .. } => c.as_ref().expect("a reader transaction has a connection"),
            Conn::Writer(g) => g,
        }
    }

    fn synchronous_full(&self) -> bool {
        self.store.synchronous == Synchronous::Full
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let rolled_back = !self.open || db::exec(self.conn(), "ROLLBACK").is_ok();
        if let Conn::Writer(g) = &mut self.conn {
            if !rolled_back && !g.is_autocommit() {
                // Closing a connection rolls its transaction back and frees the file's write
                // lock; the next write transaction gets the new one.
                if let Ok(c) = connect(&self.store.path, self.store.synchronous, WRITER_CACHE_KIB) {
                    **g = c;
                }
            }
        }
        if let Conn::Reader { c, .. } = &mut self.conn {
            // A connection whose transaction could not be ended is closed, not reused.
            if let (Some(c), true) = (c.take(), rolled_back) {
                self.store
                    .idle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(c);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Row mapping
// ---------------------------------------------------------------------------------------

fn json_of(s: &str, what: &str) -> StoreResult<Value> {
    serde_json::from_str(s).map_err(|e| backend(format!("bad stored {what} JSON: {e}")))
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

fn tenant_of(row: &Row) -> StoreResult<TenantRow> {
    Ok(TenantRow {
        id: get(row, "id")?,
        name: get(row, "name")?,
        settings: json_of(&get::<String>(row, "settings")?, "settings")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
    })
}

fn token_of(row: &Row) -> StoreResult<TokenRow> {
    Ok(TokenRow {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        scope: scope_of(&get::<String>(row, "scope")?)?,
        secret_sha256: get(row, "secret_sha256")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
        last_used: timefmt::parse_opt(get(row, "last_used")?)?,
        revoked: timefmt::parse_opt(get(row, "revoked")?)?,
    })
}

/// A user row without its emails, and its `seq`.
fn user_of(row: &Row) -> StoreResult<(i64, UserRecord)> {
    Ok((
        get(row, "seq")?,
        UserRecord {
            id: get(row, "id")?,
            tenant_id: get(row, "tenant_id")?,
            user_name: get(row, "user_name")?,
            external_id: get(row, "external_id")?,
            display_name: get(row, "display_name")?,
            state: state_of(&get::<String>(row, "state")?)?,
            source: source_of(&get::<String>(row, "source")?)?,
            version: get(row, "version")?,
            created: timefmt::parse(&get::<String>(row, "created")?)?,
            last_modified: timefmt::parse(&get::<String>(row, "last_modified")?)?,
            doc: json_of(&get::<String>(row, "doc")?, "user")?,
            doc_folded: json_of(&get::<String>(row, "doc_folded")?, "user")?,
            emails: Vec::new(),
        },
    ))
}

fn group_of(row: &Row) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        display_name: get(row, "display_name")?,
        external_id: get(row, "external_id")?,
        source: source_of(&get::<String>(row, "source")?)?,
        builtin: get::<i64>(row, "builtin")? != 0,
        version: get(row, "version")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
        last_modified: timefmt::parse(&get::<String>(row, "last_modified")?)?,
        doc: json_of(&get::<String>(row, "doc")?, "group")?,
        doc_folded: json_of(&get::<String>(row, "doc_folded")?, "group")?,
    })
}

fn member_of(row: &Row) -> StoreResult<MemberRow> {
    Ok(MemberRow {
        id: get(row, "member_id")?,
        kind: kind_of(&get::<String>(row, "member_kind")?),
        display: get(row, "display")?,
        user_name: get(row, "member_user_name")?,
        state: get::<Option<String>>(row, "member_state")?.and_then(|s| UserState::parse(&s)),
    })
}

// ---------------------------------------------------------------------------------------
// List queries
// ---------------------------------------------------------------------------------------

/// `SELECT COUNT(*)` (when `count`) or the page of a list query.
fn push_list_query(
    qb: &mut Qb,
    kind: Kind,
    tenant_id: &str,
    q: &ListQuery<'_>,
    count: bool,
) -> StoreResult<()> {
    let t = Translator {
        kind,
        schema: q.schema,
        tenant_id,
        d: &SqliteDialect,
    };
    t.list(qb as &mut dyn Sink, q, count)
}

fn list_query(kind: Kind, tenant_id: &str, q: &ListQuery<'_>, count: bool) -> StoreResult<Qb> {
    let mut qb = Qb::new("");
    push_list_query(&mut qb, kind, tenant_id, q, count)?;
    Ok(qb)
}

/// Whether the list query `q` runs in microseconds whatever the size of the directory (a
/// point lookup, see [`crate::filter::is_point_lookup`], on an early page), so that it need
/// not leave the async worker.
fn is_point_lookup(kind: Kind, q: &ListQuery<'_>) -> bool {
    q.offset < 1000
        && q.filter
            .is_some_and(|f| crate::filter::is_point_lookup(kind, f))
}

impl SqliteTx {
    /// Emails of users by `seq`, in insertion order.
    fn emails_of(&self, seqs: &[i64]) -> StoreResult<HashMap<i64, Vec<EmailKey>>> {
        let mut out: HashMap<i64, Vec<EmailKey>> = HashMap::new();
        for chunk in seqs.chunks(MAX_BINDS) {
            let mut qb = Qb::new(
                "SELECT user_seq, value_folded, kind, is_primary FROM user_emails WHERE user_seq IN (",
            );
            qb.push_binds(chunk.iter().copied());
            qb.push(") ORDER BY seq");
            for row in qb.fetch_all(self.conn())? {
                out.entry(get(&row, "user_seq")?)
                    .or_default()
                    .push(EmailKey {
                        value_folded: get(&row, "value_folded")?,
                        kind: get(&row, "kind")?,
                        primary: get::<i64>(&row, "is_primary")? != 0,
                    });
            }
        }
        Ok(out)
    }

    /// Users of `rows` with their emails.
    fn users_with_emails(&self, rows: Vec<Row>) -> StoreResult<Vec<UserRecord>> {
        let users = rows.iter().map(user_of).collect::<StoreResult<Vec<_>>>()?;
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let mut emails = self.emails_of(&seqs)?;
        Ok(users
            .into_iter()
            .map(|(seq, mut u)| {
                u.emails = emails.remove(&seq).unwrap_or_default();
                u
            })
            .collect())
    }

    fn one_user(&self, row: Option<Row>) -> StoreResult<Option<UserRecord>> {
        match row {
            None => Ok(None),
            Some(row) => Ok(self.users_with_emails(vec![row])?.pop()),
        }
    }

    fn insert_emails(&self, tenant_id: &str, seq: i64, emails: &[EmailKey]) -> StoreResult<()> {
        for chunk in emails.chunks(MAX_BINDS / 5) {
            let mut qb = Qb::new(
                "INSERT INTO user_emails (tenant_id, user_seq, value_folded, kind, is_primary) VALUES ",
            );
            for (i, e) in chunk.iter().enumerate() {
                qb.push(if i == 0 { "(" } else { ", (" });
                qb.push_bind(tenant_id)
                    .push(", ")
                    .push_bind(seq)
                    .push(", ")
                    .push_bind(&e.value_folded)
                    .push(", ")
                    .push_bind(&e.kind)
                    .push(", ")
                    .push_bind(i64::from(e.primary))
                    .push(")");
            }
            qb.execute(self.conn())?;
        }
        Ok(())
    }

    /// The total and the rows of a paged listing (may scan: runs off the async worker).
    fn paged(&self, p: &crate::common::Paged<'_>) -> StoreResult<(u64, Vec<Row>)> {
        let statement = |write: &dyn Fn(&mut dyn Sink)| {
            let mut qb = Qb::new("");
            write(&mut qb);
            Ok(qb)
        };
        blocking(|| {
            self.page_and_total(
                p.offset,
                p.limit,
                || statement(&|qb| p.page(qb)),
                || statement(&|qb| p.count(qb)),
            )
        })
    }

    /// The rows of the `page` statement (not run when `limit` is 0) and the total: from the
    /// page when it tells it (`common::total_from_page`), else by running the `count`
    /// statement, in the same snapshot.
    fn page_and_total(
        &self,
        offset: u64,
        limit: u64,
        page: impl FnOnce() -> StoreResult<Qb>,
        count: impl FnOnce() -> StoreResult<Qb>,
    ) -> StoreResult<(u64, Vec<Row>)> {
        let rows = if limit == 0 {
            Vec::new()
        } else {
            page()?.fetch_all(self.conn())?
        };
        let total = match crate::common::total_from_page(offset, limit, rows.len()) {
            Some(t) => t,
            None => self.count(&count()?)?,
        };
        Ok((total, rows))
    }

    fn count(&self, qb: &Qb) -> StoreResult<u64> {
        let n: i64 = qb.scalar(self.conn())?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A list query's total and page ([`SqliteTx::page_and_total`]): inline for point
    /// lookups, off the async worker otherwise.
    fn list(&self, kind: Kind, tenant_id: &str, q: &ListQuery<'_>) -> StoreResult<(u64, Vec<Row>)> {
        let run = || {
            self.page_and_total(
                q.offset,
                q.limit,
                || list_query(kind, tenant_id, q, false),
                || list_query(kind, tenant_id, q, true),
            )
        };
        if is_point_lookup(kind, q) {
            run()
        } else {
            blocking(run)
        }
    }
}

#[async_trait]
impl Tx for SqliteTx {
    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        // With synchronous=full a writer's COMMIT waits for an fsync, and near the backstop
        // it may checkpoint: then off the async worker. Otherwise it writes the WAL frames to
        // the OS and returns (checkpoints run in the background, see `spawn_checkpointer`).
        let near_backstop = self
            .store
            .wal_frames
            .load(std::sync::atomic::Ordering::Relaxed)
            >= u64::from(BACKSTOP_AUTOCHECKPOINT) * 4 / 5;
        let done = match &self.conn {
            Conn::Writer(_) if self.synchronous_full() || near_backstop => {
                blocking(|| db::exec(self.conn(), "COMMIT"))
            }
            _ => db::exec(self.conn(), "COMMIT"),
        };
        done.map_err(db_err)?;
        self.open = false;
        if let Conn::Writer(_) = &self.conn {
            self.store
                .commits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    // ---- tenants

    async fn list_tenants(&mut self) -> StoreResult<Vec<TenantRow>> {
        let rows = q("SELECT id, name, settings, created FROM tenants ORDER BY created, seq")
            .fetch_all(self.conn())?;
        rows.iter().map(tenant_of).collect()
    }

    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        q("INSERT INTO tenants (id, name, settings, created) VALUES (?, ?, ?, ?)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(json_text(&t.settings))
            .bind(timefmt::format(t.created))
            .execute(self.conn())?;
        Ok(())
    }

    async fn get_tenant(&mut self, id: &str) -> StoreResult<Option<TenantRow>> {
        let row = q("SELECT id, name, settings, created FROM tenants WHERE id = ?")
            .bind(id)
            .fetch_optional(self.conn())?;
        row.as_ref().map(tenant_of).transpose()
    }

    async fn update_tenant_settings(&mut self, id: &str, settings: &Value) -> StoreResult<()> {
        q("UPDATE tenants SET settings = ? WHERE id = ?")
            .bind(json_text(settings))
            .bind(id)
            .execute(self.conn())?;
        Ok(())
    }

    // ---- tokens

    async fn insert_token(&mut self, t: &TokenRow) -> StoreResult<()> {
        q(
            "INSERT INTO tokens (id, tenant_id, name, scope, secret_sha256, created, last_used, revoked) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.tenant_id)
        .bind(&t.name)
        .bind(t.scope.as_str())
        .bind(&t.secret_sha256)
        .bind(timefmt::format(t.created))
        .bind(timefmt::format_opt(t.last_used))
        .bind(timefmt::format_opt(t.revoked))
        .execute(self.conn())?;
        Ok(())
    }

    async fn token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<TokenRow>> {
        let row = q(
            "SELECT id, tenant_id, name, scope, secret_sha256, created, last_used, revoked FROM tokens \
             WHERE secret_sha256 = ?",
        )
        .bind(sha256)
        .fetch_optional(self.conn())?;
        row.as_ref().map(token_of).transpose()
    }

    async fn list_tokens(&mut self, tenant_id: &str) -> StoreResult<Vec<TokenRow>> {
        let rows = q(
            "SELECT id, tenant_id, name, scope, secret_sha256, created, last_used, revoked FROM tokens \
             WHERE tenant_id = ? ORDER BY created, seq",
        )
        .bind(tenant_id)
        .fetch_all(self.conn())?;
        rows.iter().map(token_of).collect()
    }

    async fn revoke_token(
        &mut self,
        tenant_id: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let done = q(
            "UPDATE tokens SET revoked = ? WHERE tenant_id = ? AND name = ? AND revoked IS NULL",
        )
        .bind(timefmt::format(at))
        .bind(tenant_id)
        .bind(name)
        .execute(self.conn())?;
        Ok(done > 0)
    }

    async fn touch_token(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        q("UPDATE tokens SET last_used = ? WHERE id = ?")
            .bind(timefmt::format(at))
            .bind(id)
            .execute(self.conn())?;
        Ok(())
    }

    // ---- users

    async fn get_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<UserRecord>> {
        let row = q(format!(
            "SELECT {USER_COLS} FROM users r WHERE r.id = ? AND r.tenant_id = ?"
        ))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(self.conn())?;
        self.one_user(row)
    }

    async fn user_by_user_name(
        &mut self,
        tenant_id: &str,
        user_name: &str,
    ) -> StoreResult<Option<UserRecord>> {
        let row = q(format!(
            "SELECT {USER_COLS} FROM users r WHERE r.tenant_id = ? AND r.user_name_folded = ?"
        ))
        .bind(tenant_id)
        .bind(fold(user_name))
        .fetch_optional(self.conn())?;
        self.one_user(row)
    }

    async fn insert_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        let seq: i64 = q(
            "INSERT INTO users (id, tenant_id, user_name, user_name_folded, external_id, display_name, state, source, \
             version, created, last_modified, doc, doc_folded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             RETURNING seq",
        )
        .bind(&u.id)
        .bind(&u.tenant_id)
        .bind(&u.user_name)
        .bind(fold(&u.user_name))
        .bind(&u.external_id)
        .bind(&u.display_name)
        .bind(u.state.as_str())
        .bind(u.source.as_str())
        .bind(u.version)
        .bind(timefmt::format(u.created))
        .bind(timefmt::format(u.last_modified))
        .bind(json_text(&u.doc))
        .bind(json_text(&u.doc_folded))
        .scalar(self.conn())?;
        self.insert_emails(&u.tenant_id, seq, &u.emails)
    }

    async fn update_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        let seq: Option<i64> = q(
            "UPDATE users SET user_name = ?, user_name_folded = ?, external_id = ?, display_name = ?, state = ?, \
             source = ?, version = ?, created = ?, last_modified = ?, doc = ?, doc_folded = ? \
             WHERE id = ? AND tenant_id = ? RETURNING seq",
        )
        .bind(&u.user_name)
        .bind(fold(&u.user_name))
        .bind(&u.external_id)
        .bind(&u.display_name)
        .bind(u.state.as_str())
        .bind(u.source.as_str())
        .bind(u.version)
        .bind(timefmt::format(u.created))
        .bind(timefmt::format(u.last_modified))
        .bind(json_text(&u.doc))
        .bind(json_text(&u.doc_folded))
        .bind(&u.id)
        .bind(&u.tenant_id)
        .scalar_optional(self.conn())?;
        let seq = seq.ok_or_else(|| {
            backend(format!(
                "update_user: no user {} in tenant {}",
                u.id, u.tenant_id
            ))
        })?;
        q("DELETE FROM user_emails WHERE user_seq = ?")
            .bind(seq)
            .execute(self.conn())?;
        self.insert_emails(&u.tenant_id, seq, &u.emails)
    }

    async fn delete_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        blocking(|| {
            let done = q("DELETE FROM users WHERE id = ? AND tenant_id = ?")
                .bind(id)
                .bind(tenant_id)
                .execute(self.conn())?;
            if done == 0 {
                return Ok(false);
            }
            q("DELETE FROM group_members WHERE member_id = ? AND tenant_id = ?")
                .bind(id)
                .bind(tenant_id)
                .execute(self.conn())?;
            Ok(true)
        })
    }

    async fn list_users(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        let (total, rows) = self.list(Kind::Users, tenant_id, q)?;
        Ok((total, self.users_with_emails(rows)?))
    }

    async fn user_names(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_BINDS - 1) {
            let mut qb: Qb =
                Qb::new("SELECT id, display_name AS name FROM users WHERE tenant_id = ");
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND id IN (");
            qb.push_binds(chunk.iter());
            qb.push(") ORDER BY seq");
            for row in qb.fetch_all(self.conn())? {
                out.push((get(&row, "id")?, get(&row, "name")?));
            }
        }
        Ok(out)
    }

    async fn groups_of_users(
        &mut self,
        tenant_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String, String)>> {
        let mut out = Vec::new();
        for chunk in user_ids.chunks(MAX_BINDS - 1) {
            let mut qb: Qb = Qb::new(
                "SELECT gm.member_id, g.id, g.display_name FROM group_members gm JOIN groups g ON g.id = gm.group_id \
                 WHERE g.builtin = 0 AND g.tenant_id = ",
            );
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND gm.member_id IN (");
            qb.push_binds(chunk.iter());
            qb.push(") ORDER BY gm.member_id, g.display_name_folded, g.seq");
            for row in qb.fetch_all(self.conn())? {
                out.push((
                    get(&row, "member_id")?,
                    get(&row, "id")?,
                    get(&row, "display_name")?,
                ));
            }
        }
        Ok(out)
    }

    // ---- groups

    async fn get_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<GroupRecord>> {
        let row = q(format!(
            "SELECT {GROUP_COLS} FROM groups r WHERE r.id = ? AND r.tenant_id = ?"
        ))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(self.conn())?;
        row.as_ref().map(group_of).transpose()
    }

    async fn group_by_display_name(
        &mut self,
        tenant_id: &str,
        name: &str,
    ) -> StoreResult<Option<GroupRecord>> {
        let row = q(format!(
            "SELECT {GROUP_COLS} FROM groups r WHERE r.tenant_id = ? AND r.display_name_folded = ?"
        ))
        .bind(tenant_id)
        .bind(fold(name))
        .fetch_optional(self.conn())?;
        row.as_ref().map(group_of).transpose()
    }

    async fn insert_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        q(
            "INSERT INTO groups (id, tenant_id, display_name, display_name_folded, external_id, source, builtin, \
             version, created, last_modified, doc, doc_folded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.id)
        .bind(&g.tenant_id)
        .bind(&g.display_name)
        .bind(fold(&g.display_name))
        .bind(&g.external_id)
        .bind(g.source.as_str())
        .bind(i64::from(g.builtin))
        .bind(g.version)
        .bind(timefmt::format(g.created))
        .bind(timefmt::format(g.last_modified))
        .bind(json_text(&g.doc))
        .bind(json_text(&g.doc_folded))
        .execute(self.conn())?;
        Ok(())
    }

    async fn update_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        let done = q(
            "UPDATE groups SET display_name = ?, display_name_folded = ?, external_id = ?, source = ?, builtin = ?, \
             version = ?, created = ?, last_modified = ?, doc = ?, doc_folded = ? WHERE id = ? AND tenant_id = ?",
        )
        .bind(&g.display_name)
        .bind(fold(&g.display_name))
        .bind(&g.external_id)
        .bind(g.source.as_str())
        .bind(i64::from(g.builtin))
        .bind(g.version)
        .bind(timefmt::format(g.created))
        .bind(timefmt::format(g.last_modified))
        .bind(json_text(&g.doc))
        .bind(json_text(&g.doc_folded))
        .bind(&g.id)
        .bind(&g.tenant_id)
        .execute(self.conn())?;
        if done == 0 {
            return Err(backend(format!(
                "update_group: no group {} in tenant {}",
                g.id, g.tenant_id
            )));
        }
        Ok(())
    }

    async fn delete_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        blocking(|| {
            // Its own membership rows go by ON DELETE CASCADE; memberships of it in other groups here.
            let done = q("DELETE FROM groups WHERE id = ? AND tenant_id = ?")
                .bind(id)
                .bind(tenant_id)
                .execute(self.conn())?;
            if done == 0 {
                return Ok(false);
            }
            q("DELETE FROM group_members WHERE member_id = ? AND tenant_id = ?")
                .bind(id)
                .bind(tenant_id)
                .execute(self.conn())?;
            Ok(true)
        })
    }

    async fn list_groups(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        let (total, rows) = self.list(Kind::Groups, tenant_id, q)?;
        Ok((
            total,
            rows.iter().map(group_of).collect::<StoreResult<_>>()?,
        ))
    }

    async fn group_ids_existing(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_BINDS - 1) {
            let mut qb: Qb = Qb::new("SELECT id FROM groups WHERE tenant_id = ");
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND id IN (");
            qb.push_binds(chunk.iter());
            qb.push(") ORDER BY seq");
            let ids: Vec<String> = qb.scalars(self.conn())?;
            out.extend(ids);
        }
        Ok(out)
    }

    async fn group_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Vec<MemberRow>> {
        blocking(|| {
            // Page on the (group_id, seq) index first, then look up display names for that page only.
            let rows = q(format!(
                "SELECT {MEMBER_COLS} FROM (SELECT seq, group_id, member_id, member_kind FROM group_members \
                 WHERE group_id = (SELECT id FROM groups WHERE id = ? AND tenant_id = ?) \
                 ORDER BY seq LIMIT {} OFFSET {}) gm ORDER BY gm.seq",
                // Literals, not parameters: see `common::push_page`.
                limit.map_or(-1, clamp),
                clamp(offset)
            ))
            .bind(group_id)
            .bind(tenant_id)
            .fetch_all(self.conn())?;
            rows.iter().map(member_of).collect()
        })
    }

    async fn members_of_groups(
        &mut self,
        tenant_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<(String, MemberRow)>> {
        blocking(|| {
            let mut out = Vec::new();
            for chunk in group_ids.chunks(MAX_BINDS - 1) {
                let mut qb: Qb = Qb::new(format!(
                    "SELECT {MEMBER_COLS} FROM group_members gm WHERE gm.tenant_id = "
                ));
                qb.push_bind(tenant_id.to_string());
                qb.push(" AND gm.group_id IN (");
                qb.push_binds(chunk.iter());
                qb.push(") ORDER BY gm.group_id, gm.seq");
                for row in qb.fetch_all(self.conn())? {
                    out.push((get(&row, "group_id")?, member_of(&row)?));
                }
            }
            Ok(out)
        })
    }

    async fn count_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        blocking(|| {
            let n: i64 = q(
                "SELECT COUNT(*) FROM group_members WHERE group_id = (SELECT id FROM groups WHERE id = ? AND tenant_id = ?)",
            )
            .bind(group_id)
            .bind(tenant_id)
            .scalar(self.conn())?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    async fn add_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        members: &[(String, MemberKind)],
    ) -> StoreResult<u64> {
        let mut added = 0;
        // Two binds per member plus two for the statement.
        for chunk in members.chunks((MAX_BINDS - 2) / 2) {
            let mut qb: Qb = Qb::new(
                "INSERT INTO group_members (tenant_id, group_id, member_id, member_kind) SELECT ",
            );
            qb.push_bind(tenant_id.to_string());
            qb.push(", ");
            qb.push_bind(group_id.to_string());
            qb.push(", v.column1, v.column2 FROM (VALUES ");
            for (i, (id, kind)) in chunk.iter().enumerate() {
                qb.push(if i == 0 { "(" } else { ", (" });
                qb.push_bind(id)
                    .push(", ")
                    .push_bind(kind_str(*kind))
                    .push(")");
            }
            // `WHERE true` keeps the parser from reading ON CONFLICT as a join constraint.
            qb.push(") v WHERE true ON CONFLICT (group_id, member_id) DO NOTHING");
            added += qb.execute(self.conn())?;
        }
        Ok(added)
    }

    async fn remove_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        ids: &[String],
    ) -> StoreResult<u64> {
        let mut removed = 0;
        for chunk in ids.chunks(MAX_BINDS - 2) {
            let mut qb: Qb = Qb::new("DELETE FROM group_members WHERE group_id = ");
            qb.push_bind(group_id.to_string());
            qb.push(" AND tenant_id = ");
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND member_id IN (");
            qb.push_binds(chunk.iter());
            qb.push(")");
            removed += qb.execute(self.conn())?;
        }
        Ok(removed)
    }

    async fn clear_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        blocking(|| {
            let done = q("DELETE FROM group_members WHERE group_id = ? AND tenant_id = ?")
                .bind(group_id)
                .bind(tenant_id)
                .execute(self.conn())?;
            Ok(done)
        })
    }
    // ---- custom attributes (per tenant)

    async fn list_attributes(&mut self, tenant_id: &str) -> StoreResult<Vec<AttributeRow>> {
        rules::list_attributes(self, tenant_id)
    }

    async fn insert_attribute(&mut self, a: &AttributeRow) -> StoreResult<()> {
        rules::insert_attribute(self, a)
    }

    async fn delete_attribute(&mut self, tenant_id: &str, name: &str) -> StoreResult<bool> {
        rules::delete_attribute(self, tenant_id, name)
    }

    async fn count_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64> {
        blocking(|| rules::count_extension_values(self, tenant_id, ext_urn, name))
    }

    async fn strip_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64> {
        blocking(|| rules::strip_extension_values(self, tenant_id, ext_urn, name))
    }

    async fn rename_extension_key(
        &mut self,
        tenant_id: &str,
        old_urn: &str,
        new_urn: &str,
    ) -> StoreResult<u64> {
        blocking(|| rules::rename_extension_key(self, tenant_id, old_urn, new_urn))
    }

    // ---- directory rules helpers

    async fn members_in_no_other_group(
        &mut self,
        tenant_id: &str,
        group_id: &str,
    ) -> StoreResult<Vec<String>> {
        blocking(|| rules::members_in_no_other_group(self, tenant_id, group_id))
    }

    async fn set_users_state(
        &mut self,
        tenant_id: &str,
        ids: &[String],
        from: UserState,
        to: UserState,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        blocking(|| rules::set_users_state(self, tenant_id, ids, from, to, at))
    }

    async fn user_counts(&mut self, tenant_id: &str) -> StoreResult<Vec<(UserState, Source, u64)>> {
        blocking(|| rules::user_counts(self, tenant_id))
    }

    async fn group_count(&mut self, tenant_id: &str) -> StoreResult<u64> {
        blocking(|| rules::group_count(self, tenant_id))
    }

    // ---- provisioning log

    async fn insert_log(&mut self, e: &LogEntry) -> StoreResult<i64> {
        rules::insert_log(self, e)
    }

    async fn query_log(
        &mut self,
        tenant_id: &str,
        q: &LogQuery,
    ) -> StoreResult<(u64, Vec<LogEntry>)> {
        rules::query_log(self, tenant_id, q)
    }

    async fn purge_log(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        blocking(|| rules::purge_log(self, before))
    }

    // ---- administrator listings

    async fn admin_list_users(
        &mut self,
        tenant_id: &str,
        f: &AdminUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        rules::admin_list_users(self, tenant_id, f, offset, limit)
    }

    async fn admin_list_groups(
        &mut self,
        tenant_id: &str,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        rules::admin_list_groups(self, tenant_id, search, offset, limit)
    }

    // ---- portal administrators and sessions (see `admins`)

    async fn insert_admin(&mut self, a: &scimd_directory::store::AdminRow) -> StoreResult<()> {
        admins::insert_admin(self, a)
    }

    async fn admin_by_username(
        &mut self,
        tenant_id: &str,
        username: &str,
    ) -> StoreResult<Option<scimd_directory::store::AdminRow>> {
        admins::admin_by_username(self, tenant_id, username)
    }

    async fn get_admin(
        &mut self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<scimd_directory::store::AdminRow>> {
        admins::get_admin(self, tenant_id, id)
    }

    async fn set_admin_password(
        &mut self,
        tenant_id: &str,
        id: &str,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        admins::set_admin_password(self, tenant_id, id, password_hash, at)
    }

    async fn insert_session(&mut self, s: &scimd_directory::store::SessionRow) -> StoreResult<()> {
        admins::insert_session(self, s)
    }

    async fn session_by_hash(
        &mut self,
        id_sha256: &[u8],
    ) -> StoreResult<Option<scimd_directory::store::SessionRow>> {
        admins::session_by_hash(self, id_sha256)
    }

    async fn delete_session(&mut self, id_sha256: &[u8]) -> StoreResult<bool> {
        admins::delete_session(self, id_sha256)
    }

    async fn delete_admin_sessions(&mut self, tenant_id: &str, admin_id: &str) -> StoreResult<u64> {
        admins::delete_admin_sessions(self, tenant_id, admin_id)
    }

    async fn insert_signin_failure(
        &mut self,
        tenant_id: &str,
        key: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        admins::insert_signin_failure(self, tenant_id, key, at)
    }

    async fn count_signin_failures(
        &mut self,
        tenant_id: &str,
        key: &str,
        since: OffsetDateTime,
    ) -> StoreResult<u64> {
        admins::count_signin_failures(self, tenant_id, key, since)
    }

    async fn clear_signin_failures(&mut self, tenant_id: &str, key: &str) -> StoreResult<()> {
        admins::clear_signin_failures(self, tenant_id, key)
    }

    async fn purge_sessions(
        &mut self,
        now: OffsetDateTime,
        failures_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        admins::purge_sessions(self, now, failures_before)
    }

    // ---- bulk copy between stores: `copy`

    async fn export_rows(
        &mut self,
        table: Table,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Exported>> {
        blocking(|| copy::export_rows(self, table, after, limit))
    }

    async fn table_counts(&mut self) -> StoreResult<Vec<(Table, u64)>> {
        blocking(|| copy::table_counts(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_proto::filter::parse as parse_filter;
    use scim_proto::list::SortOrder;
    use scim_proto::schema::user_resource_schema;
    use scimd_directory::store::Visibility;

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

    #[test]
    fn point_lookups_are_recognised() {
        let schema = user_resource_schema(Vec::new());
        let point = |kind: Kind, f: Option<&str>, offset: u64| {
            let f = f.map(|f| parse_filter(f).unwrap());
            is_point_lookup(
                kind,
                &ListQuery {
                    filter: f.as_ref(),
                    schema: &schema,
                    sort_by: None,
                    sort_order: SortOrder::Ascending,
                    offset,
                    limit: 100,
                    visibility: Visibility::Scim,
                },
            )
        };
        for f in [
            r#"userName eq "a""#,
            r#"externalId eq "a""#,
            r#"id eq "a""#,
            r#"emails.value eq "a@x""#,
            r#"emails[type eq "work"].value eq "a@x""#,
            r#"emails[type eq "work" and value eq "a@x"]"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            r#"userName eq "a" and title co "x""#,
        ] {
            assert!(point(Kind::Users, Some(f), 0), "{f}");
        }
        for f in [
            r#"userName ne "a""#,
            r#"userName sw "a""#,
            r#"userName eq null"#,
            r#"emails.value eq null"#,
            r#"displayName eq "a""#,
            r#"userName eq "a" or title co "x""#,
            r#"title eq "a""#,
            r#"emails[type eq "work"]"#,
            r#"emails[value co "a"]"#,
            r#"emails[value eq "a" and display eq "b"]"#,
            r#"emails[value eq "a" and primary eq false]"#,
            r#"not (userName eq "a")"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        ] {
            assert!(!point(Kind::Users, Some(f), 0), "{f}");
        }
        assert!(point(Kind::Groups, Some(r#"displayName eq "a""#), 0));
        assert!(point(Kind::Groups, Some(r#"externalId eq "a""#), 0));
        assert!(!point(Kind::Groups, Some(r#"userName eq "a""#), 0));
        assert!(!point(Kind::Groups, Some(r#"members.value eq "a""#), 0));
        assert!(!point(Kind::Users, None, 0));
        assert!(!point(Kind::Users, Some(r#"userName eq "a""#), 5000));
    }
}
