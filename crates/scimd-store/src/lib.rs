//! `scimd-store`: storage back ends of scimd behind `scimd_directory::store::Store`.
//!
//! - [`SqliteStore`]: the embedded default — one SQLite file in WAL mode, migrations from
//!   `migrations/sqlite`.
//! - [`PgStore`]: PostgreSQL, for several scimd instances on one database — pooled
//!   connections, migrations from `migrations/postgres`, row locks in write transactions.
//!
//! One code path serves both: every `Tx` operation is written once (`tx`), as statements of
//! one statement layer (`sql`: SQL text and binds, tenant isolation checked on every
//! statement; `schema`: the tables it knows), run by a small executor per back end
//! (`exec`: `sqlite::exec`, `postgres::exec`) and spelled by a dialect per back end
//! (`dialect`: placeholders, pages, lists, row locks, JSON and text functions). Each store
//! module keeps what is really its own: connections, transactions, locking, SQLite's
//! checkpointer and which statements leave the async worker.
//!
//! SCIM filters and sort keys are translated to SQL once (`filter`: which attribute maps to
//! which column or table, type rules, `not`/`null` semantics), so both back ends answer
//! every filter as `scim_proto::filter::matches` does. Case-insensitive matching compares
//! columns and documents folded in Rust (`scim_proto::filter::fold`), never by the database.
//!
//! [`copy_store`] copies a whole deployment between two stores of either kind
//! (`scimd copy`).
//!
//! SQL lives here and nowhere else: the directory above sees only the `Store` / `Tx` traits.

pub mod copy;
mod dialect;
mod exec;
mod filter;
mod keys;
pub mod postgres;
mod rows;
mod schema;
mod sql;
pub mod sqlite;
mod timefmt;
mod tx;

pub use copy::{copy_store, copy_tenant, import_rows, CopyError, TableCount};
pub use postgres::{PgOptions, PgStore};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// Default statement time limit of both stores (`--statement-timeout-secs`): 30 s, far
/// beyond any statement a provisioning client's request needs (milliseconds), short
/// enough that one expensive filter cannot hold a database connection for long.
pub const DEFAULT_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
