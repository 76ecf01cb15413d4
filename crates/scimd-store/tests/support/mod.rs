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
use scim_proto::filter::fold;
use scim_proto::normalize::{fold_document, normalize_resource};
use scim_proto::schema::{
    group_resource_schema, user_resource_schema, AttributeDef, ResourceSchema, Schema,
};
use scimd_directory::store::{
    EmailKey, GroupRecord, ListPage, ListQuery, Source, Store, StoreResult, TenantRow, Tx,
    UserRecord, UserState,
};
use scimd_store::{PgStore, SqliteStore};
use serde_json::Value;
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
    pub async fn explain_list(&self, t: &str, q: &ListQuery<'_>) -> StoreResult<Vec<String>> {
        match self {
            TestStore::Sqlite(s) => s.explain_list(t, q).await,
            TestStore::Pg(s) => s.explain_list(t, q).await,
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

// ---- fixtures shared by the test files

/// The instant the fixtures are created at.
pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-30 11:22:33.123456 UTC)
}

/// Creates a tenant named `name` with `settings` (in a write transaction of its own);
/// its id.
pub async fn tenant_with(s: &TestStore, name: &str, settings: Value) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let mut tx = s.write().await.unwrap();
    let t = TenantRow {
        id: id.clone(),
        name: name.into(),
        slug: name.into(),
        state: scimd_directory::store::TenantState::Active,
        last_scim_request: None,
        settings,
        created: now(),
    };
    tx.insert_tenant(&t).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// The User schema with an extension `urn` of `attributes`.
pub fn user_schema_with(urn: &str, name: &str, attributes: Vec<AttributeDef>) -> ResourceSchema {
    let ext = Schema {
        id: urn.to_string(),
        name: name.to_string(),
        description: format!("{name} extension"),
        attributes,
    };
    user_resource_schema(vec![std::sync::Arc::new(ext)])
}

/// A user record from a client body, normalised and folded as the directory does.
pub fn user_record(schema: &ResourceSchema, tenant_id: &str, input: Value) -> UserRecord {
    let doc = normalize_resource(schema, &input).expect("normalize").doc;
    let doc_folded = fold_document(&doc, schema);
    let email = |e: &Value| {
        Some(EmailKey {
            value_folded: fold(e.get("value")?.as_str()?),
            kind: e.get("type").and_then(Value::as_str).map(fold),
            primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
        })
    };
    let emails = doc.get("emails").and_then(Value::as_array);
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant_id.to_string(),
        user_name: text("userName").unwrap(),
        external_id: text("externalId"),
        display_name: text("displayName"),
        state: UserState::Active,
        source: Source::Scim,
        version: 1,
        created: now(),
        last_modified: now(),
        emails: emails.map_or(Vec::new(), |a| a.iter().filter_map(email).collect()),
        doc_folded,
        doc,
    }
}

/// `list_resources` of users of the tenant `tid`: the total matching and the page.
pub async fn list_users(
    tx: &mut Box<dyn Tx>,
    tid: &str,
    q: &ListQuery<'_>,
) -> StoreResult<(u64, Vec<UserRecord>)> {
    let mut users = Vec::new();
    let total = tx
        .list_resources(tid, q, ListPage::Users(&mut users))
        .await?;
    Ok((total, users))
}

/// A group record named `name` (the tenant's built-in group when `builtin`).
pub fn group_record(tenant_id: &str, name: &str, builtin: bool) -> GroupRecord {
    let doc = serde_json::json!({"displayName": name});
    GroupRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant_id.to_string(),
        display_name: name.to_string(),
        external_id: None,
        source: Source::Scim,
        builtin,
        version: 1,
        created: now(),
        last_modified: now(),
        doc_folded: fold_document(&doc, &group_resource_schema()),
        doc,
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
