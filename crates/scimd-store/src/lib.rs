//! `scimd-store`: storage back ends of scimd behind `scimd_directory::store::Store`.
//!
//! - [`SqliteStore`]: the embedded default — one SQLite file in WAL mode, migrations from
//!   `migrations/sqlite`.
//! - [`PgStore`]: PostgreSQL, for several scimd instances on one database — pooled
//!   connections, migrations from `migrations/postgres`, row locks in write transactions.
//!
//! SCIM filters and sort keys are translated to SQL once (`filter`: which attribute maps to
//! which column or table, type rules, `not`/`null` semantics) and spelled by each back end's
//! dialect (`sqlite::filter`, `postgres::filter`), so both answer every filter as
//! `scim_proto::filter::matches` does. Case-insensitive matching compares columns and
//! documents folded in Rust (`scim_proto::filter::fold`), never by the database.
//!
//! [`copy_store`] copies a whole deployment between two stores of either kind
//! (`scimd copy`).
//!
//! SQL lives here and nowhere else: the directory above sees only the `Store` / `Tx` traits.

mod common;
pub mod copy;
mod filter;
pub mod postgres;
pub mod sqlite;
mod timefmt;

pub use copy::{copy_store, import_rows, CopyError, TableCount};
pub use postgres::{PgOptions, PgStore, PgTx};
pub use sqlite::{SqliteStore, SqliteTx};
