//! The PostgreSQL store: one database shared by any number of scimd instances.
//!
//! Its operations are the shared ones (`crate::tx`, `crate::sql`), run by
//! [`exec::PgExec`] and spelled by [`dialect::PgDialect`]; this module holds what is
//! PostgreSQL's own: the pool, the options, the isolation levels and the store's setup.
//!
//! # Connections
//!
//! One pool ([`PgOptions::max_connections`], 10 by default) per process. Every connection
//! sets `statement_timeout` (30 s unless the URL's `options` set one),
//! `idle_in_transaction_session_timeout` (60 s) and `application_name=scimd`. TLS to the
//! database (rustls) follows the URL's `sslmode`: `prefer` (the default) encrypts when the
//! server offers TLS, `require` insists on it without checking the certificate,
//! `verify-ca` / `verify-full` check it against the system's trusted roots or the URL's
//! `sslrootcert=FILE`; `disable` never encrypts.
//!
//! # Transactions and concurrency
//!
//! - Read transactions are `REPEATABLE READ READ ONLY`: one snapshot, so a count and its
//!   page agree; they never block and are never blocked.
//! - Write transactions are `READ COMMITTED`, and lock what they read to write over it: in
//!   a write transaction `get_user`, `user_by_user_name`, `get_group` and
//!   `group_by_display_name` (and the rows bulk edits rewrite) are `SELECT ... FOR
//!   UPDATE` (`Sql::lock_rows`), so a version checked against
//!   `If-Match` in the transaction is the version written over, and concurrent changes of
//!   one group (member adds from several instances) queue on its row instead of losing
//!   each other's writes. Membership rows go in with `ON CONFLICT DO NOTHING`.
//! - Uniqueness is enforced by unique indexes (folded userName, folded displayName ...): of
//!   concurrent inserts of one userName the first commits and the others fail with
//!   [`StoreError::Conflict`] (409), never a server error.
//! - Statements that can violate a constraint run inside a savepoint (see [`exec`]): when
//!   one fails (a Conflict), only it is rolled back and the transaction goes on, as in
//!   SQLite.
//! - A serialization failure or deadlock (SQLSTATE 40001 / 40P01) is
//!   [`StoreError::Contention`]: nothing was written and the request may be retried.
//! - First-start initialisation (`list_tenants` in a write transaction) takes a
//!   transaction-scoped advisory lock, so instances started together create one default
//!   tenant.
//!
//! # Layout
//!
//! `migrations/postgres`, applied at [`PgStore::open`] (under sqlx's migration advisory
//! lock, so instances starting together migrate once): the same tables, columns, keys and
//! indexes as SQLite's (a test compares them); timestamps `timestamptz`, `doc` `json` (as
//! written), `doc_folded` `jsonb`, lists `text[]`, folded columns in the "C" collation.

pub(crate) mod dialect;
pub(crate) mod exec;

use crate::tx::StoreTx;
use async_trait::async_trait;
use exec::{db_err, PgExec};
use scimd_directory::store::{ListQuery, Store, StoreError, StoreResult, Tx};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// How a read transaction begins: one snapshot, never blocking nor blocked.
const READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// How a write transaction begins (it locks what it reads to write over it).
const WRITE: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

fn backend(msg: impl Into<String>) -> StoreError {
    StoreError::Backend(msg.into())
}

/// Settings of a [`PgStore`]'s pool.
#[derive(Debug, Clone, PartialEq)]
pub struct PgOptions {
    /// Most connections the process opens (default 10).
    pub max_connections: u32,
    /// `statement_timeout` of every connection (default 30 s), unless the URL's `options`
    /// parameter sets one.
    pub statement_timeout: Duration,
    /// How long a request waits for a free connection (default 30 s).
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 10,
            statement_timeout: crate::DEFAULT_STATEMENT_TIMEOUT,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The PostgreSQL implementation of [`Store`]. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The connections' `statement_timeout`, when the store set it (`None`: the URL's
    /// `options` set one).
    timeout: Option<Duration>,
}

/// The URL with any password replaced by `***`, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db?...`,
    /// any parameter libpq-style URLs take that sqlx knows: `sslmode`, `options`,
    /// `application_name` ...) with [`PgOptions::default`], and applies the pending
    /// migrations of `migrations/postgres`.
    ///
    /// Errors: `Backend` when the URL does not parse, the server cannot be reached, refuses
    /// the login or fails the TLS that `sslmode` asks for, or a migration fails. Messages
    /// never show the password.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        PgStore::open_with(url, &PgOptions::default()).await
    }

    /// [`PgStore::open`] with explicit pool settings.
    pub async fn open_with(url: &str, o: &PgOptions) -> StoreResult<PgStore> {
        let shown = redacted(url);
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| backend(format!("bad PostgreSQL URL {shown}: {e}")))?;
        let has_timeout = options
            .get_options()
            .is_some_and(|s| s.contains("statement_timeout"));
        let mut settings = vec![(
            "idle_in_transaction_session_timeout".to_string(),
            "60s".to_string(),
        )];
        if !has_timeout {
            settings.push((
                "statement_timeout".to_string(),
                format!("{}ms", o.statement_timeout.as_millis()),
            ));
        }
        options = options.options(settings);
        if options.get_application_name().is_none() {
            options = options.application_name("scimd");
        }
        // One direct connection first: an unreachable server, a refused login or a failed
        // TLS handshake is reported at once, with its cause, instead of after the pool's
        // acquire timeout as "pool timed out".
        use sqlx::{ConnectOptions, Connection};
        let probe = options
            .connect()
            .await
            .map_err(|e| backend(format!("cannot connect to {shown}: {e}")))?;
        probe.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(o.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(o.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_with(options)
            .await
            .map_err(|e| backend(format!("cannot connect to {shown}: {e}")))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| backend(format!("migrating {shown}: {e}")))?;
        let store = PgStore {
            pool,
            timeout: (!has_timeout).then_some(o.statement_timeout),
        };
        crate::tx::run_migration_steps(
            || store.begin_exec(READ, false),
            || store.begin_exec(WRITE, true),
        )
        .await?;
        Ok(store)
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `EXPLAIN` of the statement [`Tx::list_resources`] (of users; of groups for the Group
    /// schema) would run for the page of `q`, one plan line per row, planned with sequential
    /// scans disabled (`enable_seqscan = off`), so that a small test table still shows
    /// whether an index can answer the query: a `Seq Scan` left in the plan means none can.
    ///
    /// Errors: as `list_resources`.
    pub async fn explain_list(&self, t: &str, q: &ListQuery<'_>) -> StoreResult<Vec<String>> {
        let mut x = PgExec::new(
            self.pool.begin().await.map_err(db_err)?,
            false,
            self.timeout,
        );
        let off = sqlx::query("SET LOCAL enable_seqscan = off");
        off.execute(x.conn()).await.map_err(db_err)?;
        crate::tx::explain(x, "EXPLAIN ", "QUERY PLAN", t, q).await
    }

    /// The executor of a transaction begun with `begin` (its isolation level); `write` for
    /// a write one.
    async fn begin_exec(&self, begin: &'static str, write: bool) -> StoreResult<PgExec> {
        let tx = self.pool.begin_with(begin).await.map_err(db_err)?;
        Ok(PgExec::new(tx, write, self.timeout))
    }

    /// A transaction begun with `begin` (its isolation level); `write` for a write one.
    async fn begin(&self, begin: &'static str, write: bool) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(StoreTx::new(self.begin_exec(begin, write).await?)))
    }
}

#[async_trait]
impl Store for PgStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        self.begin(READ, false).await
    }

    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        self.begin(WRITE, true).await
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("postgres://scimd:secret@db:5432/scimd"),
            "postgres://scimd:***@db:5432/scimd"
        );
        assert_eq!(redacted("postgres://db/scimd"), "postgres://db/scimd");
    }

    /// With `sslmode=require` the connection is encrypted (needs a PostgreSQL with TLS on,
    /// as Debian's clusters are: `SCIMD_TEST_PG_URL`; without it there is nothing to connect
    /// to and the test says so).
    #[tokio::test]
    async fn sslmode_require_encrypts_the_connection() {
        let Ok(url) = std::env::var("SCIMD_TEST_PG_URL") else {
            eprintln!("SCIMD_TEST_PG_URL is not set: no PostgreSQL to check TLS against");
            return;
        };
        // A database of the test's own (the `postgres` database's schema is not ours).
        let name = format!("scimd_tls_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
        let mut own = format!("{base}/{name}?sslmode=require");
        if !query.is_empty() {
            own.push('&');
            own.push_str(query);
        }
        let store = PgStore::open(&own)
            .await
            .expect("open with sslmode=require");
        let ssl: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        store.pool.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        assert!(ssl, "the connection is encrypted");
        let e = PgStore::open("postgres://u:pw@127.0.0.1:1/db?sslmode=require")
            .await
            .err()
            .unwrap();
        assert!(!e.to_string().contains("pw@"), "{e}");
    }
}
