//! The per-back-end executor: what a transaction needs from a database connection. The one
//! implementation of `Tx` (`crate::tx::StoreTx`) is written against this trait;
//! `sqlite::exec::SqliteExec` runs statements on a `rusqlite` connection in the calling
//! thread, `postgres::exec::PgExec` on a pooled sqlx connection.
//!
//! Only what really differs lives behind it: running a prepared statement with its binds
//! and copying rows out, error codes, transaction end, the work SQLite moves off the async
//! worker ([`Stmt::long`]) and the savepoints PostgreSQL needs around statements that may
//! conflict ([`Stmt::conflicts`]).

use crate::dialect::Dialect;
use crate::sql::{Row, Stmt};
use scimd_directory::store::StoreResult;
use std::future::Future;

/// A transaction's connection, as the shared statement code uses it.
pub(crate) trait Exec: Send + 'static {
    /// How this back end spells SQL.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Whether this is a write transaction (reads that will be written over lock their rows
    /// where the back end needs it: `Sql::lock_rows`).
    fn writes(&self) -> bool;

    /// Runs a statement; every row it returns, in order.
    ///
    /// Errors: `Conflict` for a unique-constraint violation (the transaction stays usable),
    /// `Contention` when concurrent transactions or another process prevented it (nothing
    /// written, retryable), `Backend` otherwise.
    fn fetch(&mut self, s: &Stmt) -> impl Future<Output = StoreResult<Vec<Row>>> + Send;

    /// Runs a statement, reading its rows only until they hold `max_bytes` bytes of values
    /// (text, JSON and bytes as the database sends them; the row that reaches the budget is
    /// kept, so a non-empty result has at least one row): the rows, and whether rows were
    /// left unread. The page of a list under a byte budget (issue 14): what a page holds in
    /// memory is bounded whatever `count` asks for. Errors: as [`Exec::fetch`].
    fn fetch_within(
        &mut self,
        s: &Stmt,
        max_bytes: usize,
    ) -> impl Future<Output = StoreResult<(Vec<Row>, bool)>> + Send;

    /// Runs a statement that returns no rows; how many rows it inserted, changed or
    /// deleted. Errors: as [`Exec::fetch`].
    fn execute(&mut self, s: &Stmt) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Commits; durable when it returns (see each store for what durable means).
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Makes the write transactions that do `what` take turns until they end, across
    /// instances on one database (PostgreSQL: a transaction-scoped advisory lock per kind;
    /// SQLite's write lock already serialises every writer).
    fn serialise(&mut self, what: Turns) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What write transactions take turns for ([`Exec::serialise`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turns {
    /// Listing the tenants to create the first one (instances starting together).
    Bootstrap,
    /// Deciding which coalesced change record (failed sign-ins) a record joins: the count
    /// of distinct keys a minute must not be exceeded by writers deciding at once.
    Coalescing,
}
