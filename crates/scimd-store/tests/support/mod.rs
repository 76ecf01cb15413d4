//! Test support: the same test bodies run against SQLite (always) and PostgreSQL (when
//! `SCIMD_TEST_PG_URL` names a server, e.g.
//! `postgres://scimd:scimd@127.0.0.1:5432/postgres`; its role needs CREATEDB).
//!
//! Each test gets a fresh database: a new SQLite file in a temporary directory, or a new
//! PostgreSQL database `scimd_t_<random>` created through that URL and dropped (`WITH
//! (FORCE)`) when the test's [`Db`] is dropped.
//!
//! `both!(name)` turns `async fn name(b: Backend)` into two tests, `name::sqlite` and
//! `name::postgres` (the latter prints a note and passes when no server is configured).

#![allow(dead_code)]

use async_trait::async_trait;
use scimd_directory::store::{ListQuery, Store, StoreResult, Tx};
use scimd_store::{PgStore, SqliteStore};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use time::OffsetDateTime;

/// The environment variable naming the PostgreSQL server tests may use.
pub const PG_URL_VAR: &str = "SCIMD_TEST_PG_URL";

/// Which back end a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// `SCIMD_TEST_PG_URL`, when set and non-empty.
pub fn pg_url() -> Option<String> {
    std::env::var(PG_URL_VAR)
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Runs `async fn $name(b: Backend)` on both back ends, as `$name::sqlite` and `$name::postgres`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                if $crate::support::pg_url().is_none() {
                    eprintln!("{} is not set: PostgreSQL variant skipped", $crate::support::PG_URL_VAR);
                    return;
                }
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    )*};
}

/// A store of either back end.
#[derive(Debug, Clone)]
pub enum TestStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Pg(PgStore),
}

#[async_trait]
impl Store for TestStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        match self {
            TestStore::Sqlite(s) => s.read().await,
            TestStore::Pg(s) => s.read().await,
        }
    }
    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        match self {
            TestStore::Sqlite(s) => s.write().await,
            TestStore::Pg(s) => s.write().await,
        }
    }
    async fn ping(&self) -> StoreResult<()> {
        match self {
            TestStore::Sqlite(s) => s.ping().await,
            TestStore::Pg(s) => s.ping().await,
        }
    }
}

impl TestStore {
    /// The back end.
    pub fn backend(&self) -> Backend {
        match self {
            TestStore::Sqlite(_) => Backend::Sqlite,
            TestStore::Pg(_) => Backend::Postgres,
        }
    }

    /// The back end's query plan of a list query (see `explain_list` of each store).
    pub async fn explain_list(
        &self,
        tenant_id: &str,
        q: &ListQuery<'_>,
        groups: bool,
    ) -> StoreResult<Vec<String>> {
        match self {
            TestStore::Sqlite(s) => s.explain_list(tenant_id, q, groups).await,
            TestStore::Pg(s) => s.explain_list(tenant_id, q, groups).await,
        }
    }

    /// Closes the pools.
    pub async fn close(&self) {
        match self {
            TestStore::Sqlite(s) => s.close().await,
            TestStore::Pg(s) => s.close().await,
        }
    }
}

/// What to remove when a test's database goes.
#[derive(Debug)]
enum Cleanup {
    Dir(PathBuf),
    Database { admin_url: String, name: String },
}

/// A fresh store for one test, removed (directory or database) when dropped.
#[derive(Debug)]
pub struct Db {
    store: TestStore,
    scratch: Scratch,
}

/// A new, empty database (no table, no migration applied), removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    url: String,
    cleanup: Cleanup,
}

impl Scratch {
    /// Its URL (`sqlite://…` or `postgres://…`).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl std::ops::Deref for Db {
    type Target = TestStore;
    fn deref(&self) -> &TestStore {
        &self.store
    }
}

impl Db {
    /// The database URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.scratch.url
    }

    /// Opens the same database again (a second store: another pool, migrations re-checked).
    pub async fn reopen(&self) -> TestStore {
        open(self.store.backend(), self.url()).await
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: drop the database from another thread.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            )))
                            .execute(&mut c)
                            .await;
                            let _ = c.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A unique suffix: process id, time, counter.
fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database (the path after the host) replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Opens (and migrates) the store of back end `b` at `url`.
pub async fn open(b: Backend, url: &str) -> TestStore {
    match b {
        Backend::Sqlite => TestStore::Sqlite(SqliteStore::open(url).await.expect("open SQLite")),
        Backend::Postgres => {
            let o = scimd_store::PgOptions {
                max_connections: 8,
                ..Default::default()
            };
            TestStore::Pg(PgStore::open_with(url, &o).await.expect("open PostgreSQL"))
        }
    }
}

/// A fresh, empty, migrated store of back end `b`; `name` tells tests apart in paths and
/// database names.
pub async fn store(b: Backend, name: &str) -> Db {
    let scratch = scratch(b, name).await;
    Db {
        store: open(b, &scratch.url).await,
        scratch,
    }
}

/// A new database of back end `b` with nothing in it (a SQLite file not created yet).
pub async fn scratch(b: Backend, name: &str) -> Scratch {
    match b {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("scimd-store-{name}-{}", unique()));
            let url = format!("sqlite://{}/nested/scimd.db", dir.display());
            Scratch {
                url,
                cleanup: Cleanup::Dir(dir),
            }
        }
        Backend::Postgres => {
            let admin_url = pg_url().expect("SCIMD_TEST_PG_URL");
            let db = format!("scimd_t_{}", unique());
            let mut c = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("connect to {PG_URL_VAR}: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\"")))
                .execute(&mut c)
                .await
                .expect("CREATE DATABASE");
            let _ = c.close().await;
            Scratch {
                url: with_database(&admin_url, &db),
                cleanup: Cleanup::Database {
                    admin_url,
                    name: db,
                },
            }
        }
    }
}

#[test]
fn database_urls() {
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/postgres?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
