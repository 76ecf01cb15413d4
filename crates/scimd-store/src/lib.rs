//! `scimd-store`: storage back ends of scimd behind `scimd_directory::store::Store`.
//!
//! - [`SqliteStore`]: the embedded default — one SQLite file in WAL mode, migrations from
//!   `migrations/sqlite`, SCIM filters translated to SQL (`sqlite::filter`).
//!
//! SQL lives here and nowhere else: the directory above sees only the `Store` / `Tx` traits.

pub mod sqlite;
mod timefmt;

pub use sqlite::{SqliteStore, SqliteTx};
