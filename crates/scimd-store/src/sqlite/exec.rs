//! The SQLite executor: statements run on a `rusqlite` connection **in the calling
//! thread**, results copied into owned [`Row`]s.
//!
//! Why not sqlx here (it still migrates the file and serves PostgreSQL): sqlx's SQLite driver
//! runs each connection on a thread of its own and sends it every statement over a channel,
//! so each statement costs two thread wake-ups. A SCIM request runs several statements; on
//! a 2-core machine the profile of a filter GET was 65% kernel time in context switches
//! (docs/performance.md). Called directly, an indexed lookup costs microseconds.
//!
//! Statements are prepared through the connection's statement cache (the SQL text is the
//! key: each statement of the store has one text), so they are parsed once per
//! connection. A [`Stmt::long`] statement (a scan, a bulk change) runs under
//! `block_in_place` ([`super::blocking`]); point lookups and single-row writes run inline.

use super::{blocking, connect_writer, Inner, Synchronous, BACKSTOP_AUTOCHECKPOINT};
use crate::dialect::Dialect;
use crate::exec::Exec;
use crate::schema::conflict_by_columns;
use crate::sql::row::Val;
use crate::sql::{Bind, Row, Stmt};
use crate::timefmt;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use scimd_directory::store::{StoreError, StoreResult, Unwritable};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit};

/// Maps a database error: a unique-constraint violation becomes `Conflict` with the target
/// of the violated key (`crate::schema`), `SQLITE_BUSY` / `SQLITE_LOCKED` (a lock held by
/// another process past the busy timeout) `Contention`, `SQLITE_READONLY` (a read-only file
/// or file system) and `SQLITE_FULL` (a full disk) `Unwritable`, anything else `Backend`.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let unique = f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY;
        if unique {
            // `UNIQUE constraint failed: users.tenant_id, users.user_name_folded`
            let m = msg.as_deref().unwrap_or("");
            return match conflict_by_columns(m.rsplit(": ").next().unwrap_or(m)) {
                Some(what) => StoreError::Conflict(what),
                None => StoreError::Backend(format!("unknown unique constraint: {m}")),
            };
        }
        if f.code == rusqlite::ErrorCode::OperationInterrupted {
            // The progress handler stopped it at the statement time limit (see `Deadline`).
            return StoreError::Timeout(None);
        }
        if matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            // Another process (e.g. `scimd admin …`) held the lock past the busy timeout:
            // nothing was written and the request may be retried (503).
            return StoreError::Contention(e.to_string());
        }
        match f.code {
            rusqlite::ErrorCode::ReadOnly => {
                return StoreError::Unwritable(Unwritable::ReadOnly, e.to_string())
            }
            rusqlite::ErrorCode::DiskFull => {
                return StoreError::Unwritable(Unwritable::Full, e.to_string())
            }
            _ => {}
        }
    }
    StoreError::Backend(e.to_string())
}

thread_local! {
    /// When the statement running on this thread must stop (see [`Deadline`]).
    static DEADLINE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// SQLite has no statement time limit of its own: every connection's progress handler
/// (installed by `super::connect`, called every few thousand virtual-machine instructions
/// on the thread running the statement) asks [`past_deadline`], and a `Deadline` set
/// around each statement of a transaction makes it true once the statement has run for
/// the store's statement time limit. SQLite then stops the statement with
/// `SQLITE_INTERRUPT` ([`StoreError::Timeout`]). Statements run in the calling thread
/// (inline or under `block_in_place`, which keeps the thread), so a thread-local deadline
/// is the statement's own; `BEGIN`, `COMMIT` and `ROLLBACK` run without one.
struct Deadline;

impl Deadline {
    fn set(limit: Duration) -> Deadline {
        DEADLINE.with(|d| d.set(Instant::now().checked_add(limit)));
        Deadline
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(None));
    }
}

/// Whether the statement running on this thread is past its deadline (the progress
/// handler's answer: `true` interrupts it).
pub(super) fn past_deadline() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() >= t))
}

/// Runs a statement without parameters or result rows (`BEGIN`, `COMMIT`, `ROLLBACK`)
/// through the statement cache, so it is parsed once per connection.
pub(crate) fn exec(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// A bound value as SQLite takes it: text, integers and blobs borrowed from the statement;
/// instants as their stored text, lists as JSON text.
struct Param<'a>(&'a Bind);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Bind::Text(s) | Bind::Json(s) | Bind::Jsonb(s) => {
                ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            }
            Bind::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Bind::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Bind::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Bind::Time(t) => ToSqlOutput::from(timefmt::format(*t)),
            Bind::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Bind::Texts(v) => ToSqlOutput::from(serde_json::Value::from(v.clone()).to_string()),
            Bind::Ints(v) => ToSqlOutput::from(serde_json::Value::from(v.clone()).to_string()),
            Bind::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn params(s: &Stmt) -> impl Iterator<Item = Param<'_>> {
    s.binds.iter().map(Param)
}

/// Runs `s` on `c`; its rows, copied out, until they hold `max_bytes` bytes of text and
/// blobs (the row reaching it kept; `usize::MAX`: every row), and whether rows were left.
fn fetch(c: &Connection, s: &Stmt, max_bytes: usize) -> StoreResult<(Vec<Row>, bool)> {
    let mut stmt = c.prepare_cached(&s.sql).map_err(db_err)?;
    let names: Arc<[Box<str>]> = stmt.column_names().into_iter().map(Box::from).collect();
    let n = names.len();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params(s)))
        .map_err(db_err)?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(r) = rows.next().map_err(db_err)? {
        if bytes >= max_bytes {
            return Ok((out, true));
        }
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(match r.get_ref(i).map_err(db_err)? {
                ValueRef::Null => Val::Null,
                ValueRef::Integer(i) => Val::Int(i),
                ValueRef::Real(f) => Val::Real(f),
                ValueRef::Text(t) => {
                    bytes = bytes.saturating_add(t.len());
                    Val::Text(
                        String::from_utf8(t.to_vec())
                            .map_err(|e| StoreError::Backend(format!("column {i}: {e}")))?,
                    )
                }
                ValueRef::Blob(b) => {
                    bytes = bytes.saturating_add(b.len());
                    Val::Blob(b.to_vec())
                }
            });
        }
        out.push(Row::new(names.clone(), vals));
    }
    Ok((out, false))
}

/// Runs `s` on `c`; how many rows it changed.
fn execute(c: &Connection, s: &Stmt) -> StoreResult<u64> {
    let mut stmt = c.prepare_cached(&s.sql).map_err(db_err)?;
    let n = stmt
        .execute(rusqlite::params_from_iter(params(s)))
        .map_err(db_err)?;
    Ok(n as u64)
}

/// The connection a transaction runs on.
pub(super) enum Conn {
    /// A reader, returned to the pool when the transaction ends.
    Reader {
        /// The connection (taken back by `Drop`; boxed, as a `Connection` with its hooks
        /// is some 200 bytes and the writer's variant a pointer).
        c: Option<Box<Connection>>,
        /// The pool slot it holds.
        _permit: OwnedSemaphorePermit,
        /// The turn of a list that may scan, if it is one (see `SqliteStore::read_list`).
        _scan: Option<OwnedSemaphorePermit>,
    },
    /// The writer, held for the whole transaction.
    Writer(OwnedMutexGuard<Connection>),
}

/// The executor of a SQLite transaction. Dropping it without `commit` rolls back; a
/// reader connection goes back to the pool, a writer whose rollback failed is replaced.
///
/// Write statements on a read transaction work but take the write lock late (and can fail
/// with `SQLITE_BUSY` when another writer committed since the snapshot was taken): write
/// in transactions from `Store::write`.
pub(crate) struct SqliteExec {
    conn: Conn,
    /// The store it belongs to.
    store: Arc<Inner>,
    /// A transaction is open (`BEGIN` ran, neither `COMMIT` nor `ROLLBACK` yet).
    open: bool,
}

impl SqliteExec {
    /// An executor on `conn`, whose transaction `BEGIN` opened (`open`).
    pub(super) fn new(conn: Conn, store: Arc<Inner>, open: bool) -> SqliteExec {
        SqliteExec { conn, store, open }
    }

    /// The connection.
    pub(super) fn conn(&self) -> &Connection {
        match &self.conn {
            Conn::Reader { c, .. } => c.as_ref().expect("a reader transaction has a connection"),
            Conn::Writer(g) => g,
        }
    }

    /// Begins the transaction (`BEGIN`, a deferred read snapshot).
    pub(super) fn begin_read(&mut self) -> StoreResult<()> {
        exec(self.conn(), "BEGIN").map_err(db_err)?;
        self.open = true;
        Ok(())
    }

    /// Runs `f` on the connection, off the async worker when `long`.
    fn run<R>(&self, long: bool, f: impl FnOnce(&Connection) -> R) -> R {
        if long {
            blocking(|| f(self.conn()))
        } else {
            f(self.conn())
        }
    }

    /// Runs statement `f` under the store's statement time limit (see [`Deadline`]); a
    /// statement stopped at it is `Timeout` with the limit.
    fn timed<R>(
        &self,
        long: bool,
        f: impl FnOnce(&Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let limit = self.store.statement_timeout;
        let _deadline = Deadline::set(limit);
        self.run(long, f).map_err(|e| match e {
            StoreError::Timeout(None) => StoreError::Timeout(Some(limit)),
            e => e,
        })
    }
}

impl Exec for SqliteExec {
    fn dialect(&self) -> &'static dyn Dialect {
        &super::dialect::SqliteDialect
    }

    fn writes(&self) -> bool {
        matches!(self.conn, Conn::Writer(_))
    }

    async fn fetch(&mut self, s: &Stmt) -> StoreResult<Vec<Row>> {
        Ok(self.timed(s.long, |c| fetch(c, s, usize::MAX))?.0)
    }

    async fn fetch_within(&mut self, s: &Stmt, max_bytes: usize) -> StoreResult<(Vec<Row>, bool)> {
        self.timed(s.long, |c| fetch(c, s, max_bytes))
    }

    async fn execute(&mut self, s: &Stmt) -> StoreResult<u64> {
        self.timed(s.long, |c| execute(c, s))
    }

    async fn commit(mut self) -> StoreResult<()> {
        // With synchronous=full a writer's COMMIT waits for an fsync, and near the backstop
        // it may checkpoint: then off the async worker. Otherwise it writes the WAL frames to
        // the OS and returns (checkpoints run in the background, see `spawn_checkpointer`).
        let near_backstop = self.store.wal_frames.load(Ordering::Relaxed)
            >= u64::from(BACKSTOP_AUTOCHECKPOINT) * 4 / 5;
        let writer = self.writes();
        let long = writer && (self.store.synchronous == Synchronous::Full || near_backstop);
        self.run(long, |c| exec(c, "COMMIT")).map_err(db_err)?;
        self.open = false;
        if writer {
            self.store.commits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn serialise(&mut self, _what: crate::exec::Turns) -> StoreResult<()> {
        // `BEGIN IMMEDIATE` took the database's write lock already.
        Ok(())
    }
}

impl Drop for SqliteExec {
    fn drop(&mut self) {
        let rolled_back = !self.open || exec(self.conn(), "ROLLBACK").is_ok();
        match &mut self.conn {
            Conn::Writer(g) => {
                if !rolled_back && !g.is_autocommit() {
                    // Closing a connection rolls its transaction back and frees the file's
                    // write lock; the next write transaction gets the new one.
                    let store = &self.store;
                    if let Ok(c) =
                        connect_writer(&store.path, store.synchronous, store.checkpointer)
                    {
                        **g = c;
                    }
                }
            }
            Conn::Reader { c, .. } => {
                // A connection whose transaction could not be ended is closed, not reused.
                if let (Some(c), true) = (c.take(), rolled_back) {
                    self.store
                        .idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(*c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimd_directory::store::ConflictTarget;

    fn failure(code: std::ffi::c_int, msg: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(msg.to_string()))
    }

    #[test]
    fn errors_map_to_store_errors() {
        let e = db_err(failure(
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
            "UNIQUE constraint failed: users.tenant_id, users.user_name_folded",
        ));
        assert!(matches!(e, StoreError::Conflict(ConflictTarget::UserName)));
        let e = db_err(failure(
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
            "UNIQUE constraint failed: users.nickname",
        ));
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
        let e = db_err(failure(rusqlite::ffi::SQLITE_BUSY, "database is locked"));
        assert!(matches!(e, StoreError::Contention(_)), "{e:?}");
        let e = db_err(failure(rusqlite::ffi::SQLITE_IOERR, "disk I/O error"));
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
    }
}
