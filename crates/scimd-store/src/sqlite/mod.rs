//! The SQLite store: one database file, WAL mode, writers serialised.
//!
//! # Connections and transactions
//!
//! - One **writer** connection (a pool of size 1): write transactions start with
//!   `BEGIN IMMEDIATE`, so they take the write lock up front and queue for the connection
//!   in the pool instead of failing on a lock upgrade; `busy_timeout` (10 s) covers other
//!   processes holding the lock.
//! - A pool of **reader** connections: read transactions are plain (deferred) `BEGIN`;
//!   in WAL mode a reader sees one consistent snapshot from its first read on and never
//!   blocks or is blocked by the writer.
//!
//! # Durability
//!
//! `journal_mode=WAL` with `synchronous=FULL`: the WAL is fsynced at every commit, so a
//! commit that has returned survives a process kill and a power loss (with `NORMAL` a power
//! loss could roll back the last commits). `foreign_keys=ON`.
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
pub(crate) mod filter;
mod rules;

use crate::common::{
    backend, clamp, kind_of, kind_str, scope_of, source_of, state_of, GROUP_COLS, MEMBER_COLS,
    USER_COLS,
};
use crate::filter::Sink;
use crate::timefmt;
use async_trait::async_trait;
use filter::{Kind, Qb, SqliteDialect, Translator};
use scim_proto::filter::fold;
use scimd_directory::store::{
    AdminUserFilter, AttributeRow, EmailKey, Exported, GroupRecord, ListQuery, LogEntry, LogQuery,
    MemberKind, MemberRow, Source, Store, StoreError, StoreResult, Table, TenantRow, TokenRow, Tx,
    UserRecord, UserState,
};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;

/// Most bound parameters put in one statement by batched calls (IN lists, multi-row inserts).
const MAX_BINDS: usize = 500;

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite implementation of [`Store`].
///
/// Cheap to clone (two connection pools). Open with [`SqliteStore::open`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    path: PathBuf,
}

/// Maps a database error: a unique-constraint violation becomes `Conflict` naming what is
/// duplicated (`userName`, `displayName`, `attribute name`, `token name`, `name`, `id`),
/// anything else `Backend`.
fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.kind() == sqlx::error::ErrorKind::UniqueViolation {
            let m = d.message();
            let what = if m.contains("user_name_folded") {
                "userName"
            } else if m.contains("display_name_folded") {
                "displayName"
            } else if m.contains("attributes.name_folded") {
                "attribute name"
            } else if m.contains("tokens.tenant_id, tokens.name") || m.contains("tokens_live_name")
            {
                "token name"
            } else if m.contains("tokens.secret_sha256") {
                "token secret"
            } else if m.contains("tenants.name") {
                "name"
            } else if m.contains(".id") {
                "id"
            } else {
                m
            };
            return StoreError::Conflict(what.to_string());
        }
    }
    StoreError::Backend(e.to_string())
}

/// The file path of a `sqlite://PATH` URL (also `sqlite:PATH` or a bare path); query
/// parameters are ignored.
fn file_path(url_or_path: &str) -> StoreResult<PathBuf> {
    let s = url_or_path.trim();
    let rest = s
        .strip_prefix("sqlite://")
        .or_else(|| s.strip_prefix("sqlite:"))
        .unwrap_or(s);
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() || rest == ":memory:" || rest.starts_with(":memory:") {
        return Err(backend(format!(
            "unsupported SQLite location {url_or_path:?}: give a file, e.g. sqlite:///var/lib/scimd/scimd.db"
        )));
    }
    Ok(PathBuf::from(rest))
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if missing) the database at
    /// `url_or_path` — `sqlite://PATH` (`sqlite:///abs/path.db`, `sqlite://rel/path.db`),
    /// `sqlite:PATH` or a bare path — and applies the pending migrations of
    /// `migrations/sqlite`.
    ///
    /// Errors: `Backend` when the location is not a file (`sqlite::memory:` is refused: the
    /// store needs several connections to one database), cannot be created or opened, or a
    /// migration fails.
    pub async fn open(url_or_path: &str) -> StoreResult<SqliteStore> {
        let path = file_path(url_or_path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("cannot create directory {}: {e}", dir.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32768");
        // The writer first: it switches the file to WAL and migrates before readers connect.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .idle_timeout(None)
            .connect_with(options.clone())
            .await
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| backend(format!("migrating {}: {e}", path.display())))?;
        let readers_max = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .clamp(4, 16) as u32;
        let readers = SqlitePoolOptions::new()
            .max_connections(readers_max)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        Ok(SqliteStore {
            writer,
            readers,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes both pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
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
        let mut explain = QueryBuilder::<Sqlite>::new("EXPLAIN QUERY PLAN ");
        push_list_query(&mut explain, kind, tenant_id, q, false)?;
        let rows = explain
            .build()
            .fetch_all(&self.readers)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("detail").map_err(db_err))
            .collect()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.readers.begin().await.map_err(db_err)?;
        Ok(Box::new(SqliteTx { tx }))
    }

    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok(Box::new(SqliteTx { tx }))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.readers)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// A transaction of a [`SqliteStore`]. Dropping it without `commit` rolls back.
///
/// Write methods called on a read transaction work but take the write lock late (and can
/// fail with `SQLITE_BUSY` when another writer committed since the snapshot was taken):
/// write in transactions from [`Store::write`].
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

// ---------------------------------------------------------------------------------------
// Row mapping
// ---------------------------------------------------------------------------------------

fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(
    row: &'r SqliteRow,
    col: &str,
) -> StoreResult<T> {
    row.try_get(col).map_err(db_err)
}

fn json_of(s: &str, what: &str) -> StoreResult<Value> {
    serde_json::from_str(s).map_err(|e| backend(format!("bad stored {what} JSON: {e}")))
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

fn tenant_of(row: &SqliteRow) -> StoreResult<TenantRow> {
    Ok(TenantRow {
        id: get(row, "id")?,
        name: get(row, "name")?,
        settings: json_of(&get::<String>(row, "settings")?, "settings")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
    })
}

fn token_of(row: &SqliteRow) -> StoreResult<TokenRow> {
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
fn user_of(row: &SqliteRow) -> StoreResult<(i64, UserRecord)> {
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

fn group_of(row: &SqliteRow) -> StoreResult<GroupRecord> {
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

fn member_of(row: &SqliteRow) -> StoreResult<MemberRow> {
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
    let mut qb = QueryBuilder::new("");
    push_list_query(&mut qb, kind, tenant_id, q, count)?;
    Ok(qb)
}

impl SqliteTx {
    fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.tx
    }

    /// Emails of users by `seq`, in insertion order.
    async fn emails_of(&mut self, seqs: &[i64]) -> StoreResult<HashMap<i64, Vec<EmailKey>>> {
        let mut out: HashMap<i64, Vec<EmailKey>> = HashMap::new();
        for chunk in seqs.chunks(MAX_BINDS) {
            let mut qb: Qb =
                QueryBuilder::new("SELECT user_seq, value_folded, kind, is_primary FROM user_emails WHERE user_seq IN (");
            let mut sep = qb.separated(", ");
            for s in chunk {
                sep.push_bind(*s);
            }
            qb.push(") ORDER BY rowid");
            let rows = qb.build().fetch_all(self.conn()).await.map_err(db_err)?;
            for row in rows {
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
    async fn users_with_emails(&mut self, rows: Vec<SqliteRow>) -> StoreResult<Vec<UserRecord>> {
        let users = rows.iter().map(user_of).collect::<StoreResult<Vec<_>>>()?;
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let mut emails = self.emails_of(&seqs).await?;
        Ok(users
            .into_iter()
            .map(|(seq, mut u)| {
                u.emails = emails.remove(&seq).unwrap_or_default();
                u
            })
            .collect())
    }

    async fn one_user(&mut self, row: Option<SqliteRow>) -> StoreResult<Option<UserRecord>> {
        match row {
            None => Ok(None),
            Some(row) => Ok(self.users_with_emails(vec![row]).await?.pop()),
        }
    }

    async fn insert_emails(
        &mut self,
        tenant_id: &str,
        seq: i64,
        emails: &[EmailKey],
    ) -> StoreResult<()> {
        for chunk in emails.chunks(MAX_BINDS / 5) {
            let mut qb: Qb = QueryBuilder::new(
                "INSERT INTO user_emails (tenant_id, user_seq, value_folded, kind, is_primary) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(tenant_id.to_string())
                    .push_bind(seq)
                    .push_bind(e.value_folded.clone())
                    .push_bind(e.kind.clone())
                    .push_bind(i64::from(e.primary));
            });
            qb.build().execute(self.conn()).await.map_err(db_err)?;
        }
        Ok(())
    }

    /// The total and the rows of a paged listing.
    async fn paged(&mut self, p: &crate::common::Paged<'_>) -> StoreResult<(u64, Vec<SqliteRow>)> {
        let mut count: Qb = QueryBuilder::new("");
        p.count(&mut count);
        let total = self.count(count).await?;
        if p.empty(total) {
            return Ok((total, Vec::new()));
        }
        let mut page: Qb = QueryBuilder::new("");
        p.page(&mut page);
        let rows = page.build().fetch_all(self.conn()).await.map_err(db_err)?;
        Ok((total, rows))
    }

    async fn count(&mut self, mut qb: Qb) -> StoreResult<u64> {
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(self.conn())
            .await
            .map_err(db_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[async_trait]
impl Tx for SqliteTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }

    // ---- tenants

    async fn list_tenants(&mut self) -> StoreResult<Vec<TenantRow>> {
        let rows =
            sqlx::query("SELECT id, name, settings, created FROM tenants ORDER BY created, rowid")
                .fetch_all(self.conn())
                .await
                .map_err(db_err)?;
        rows.iter().map(tenant_of).collect()
    }

    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name, settings, created) VALUES (?, ?, ?, ?)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(json_text(&t.settings))
            .bind(timefmt::format(t.created))
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_tenant(&mut self, id: &str) -> StoreResult<Option<TenantRow>> {
        let row = sqlx::query("SELECT id, name, settings, created FROM tenants WHERE id = ?")
            .bind(id)
            .fetch_optional(self.conn())
            .await
            .map_err(db_err)?;
        row.as_ref().map(tenant_of).transpose()
    }

    async fn update_tenant_settings(&mut self, id: &str, settings: &Value) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET settings = ? WHERE id = ?")
            .bind(json_text(settings))
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- tokens

    async fn insert_token(&mut self, t: &TokenRow) -> StoreResult<()> {
        sqlx::query(
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
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<TokenRow>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, name, scope, secret_sha256, created, last_used, revoked FROM tokens \
             WHERE secret_sha256 = ?",
        )
        .bind(sha256)
        .fetch_optional(self.conn())
        .await
        .map_err(db_err)?;
        row.as_ref().map(token_of).transpose()
    }

    async fn list_tokens(&mut self, tenant_id: &str) -> StoreResult<Vec<TokenRow>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, scope, secret_sha256, created, last_used, revoked FROM tokens \
             WHERE tenant_id = ? ORDER BY created, rowid",
        )
        .bind(tenant_id)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        rows.iter().map(token_of).collect()
    }

    async fn revoke_token(
        &mut self,
        tenant_id: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked = ? WHERE tenant_id = ? AND name = ? AND revoked IS NULL",
        )
        .bind(timefmt::format(at))
        .bind(tenant_id)
        .bind(name)
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_token(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE tokens SET last_used = ? WHERE id = ?")
            .bind(timefmt::format(at))
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- users

    async fn get_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM users r WHERE r.id = ? AND r.tenant_id = ?"
        )))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(self.conn())
        .await
        .map_err(db_err)?;
        self.one_user(row).await
    }

    async fn user_by_user_name(
        &mut self,
        tenant_id: &str,
        user_name: &str,
    ) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM users r WHERE r.tenant_id = ? AND r.user_name_folded = ?"
        )))
        .bind(tenant_id)
        .bind(fold(user_name))
        .fetch_optional(self.conn())
        .await
        .map_err(db_err)?;
        self.one_user(row).await
    }

    async fn insert_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        let seq: i64 = sqlx::query_scalar(
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
        .fetch_one(self.conn())
        .await
        .map_err(db_err)?;
        self.insert_emails(&u.tenant_id, seq, &u.emails).await
    }

    async fn update_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        let seq: Option<i64> = sqlx::query_scalar(
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
        .fetch_optional(self.conn())
        .await
        .map_err(db_err)?;
        let seq = seq.ok_or_else(|| {
            backend(format!(
                "update_user: no user {} in tenant {}",
                u.id, u.tenant_id
            ))
        })?;
        sqlx::query("DELETE FROM user_emails WHERE user_seq = ?")
            .bind(seq)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        self.insert_emails(&u.tenant_id, seq, &u.emails).await
    }

    async fn delete_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM group_members WHERE member_id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(true)
    }

    async fn list_users(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        let total = self
            .count(list_query(Kind::Users, tenant_id, q, true)?)
            .await?;
        if q.limit == 0 || total <= q.offset {
            return Ok((total, Vec::new()));
        }
        let mut qb = list_query(Kind::Users, tenant_id, q, false)?;
        let rows = qb.build().fetch_all(self.conn()).await.map_err(db_err)?;
        Ok((total, self.users_with_emails(rows).await?))
    }

    async fn user_names(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_BINDS - 1) {
            let mut qb: Qb =
                QueryBuilder::new("SELECT id, display_name AS name FROM users WHERE tenant_id = ");
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            qb.push(") ORDER BY seq");
            for row in qb.build().fetch_all(self.conn()).await.map_err(db_err)? {
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
            let mut qb: Qb = QueryBuilder::new(
                "SELECT gm.member_id, g.id, g.display_name FROM group_members gm JOIN groups g ON g.id = gm.group_id \
                 WHERE g.builtin = 0 AND g.tenant_id = ",
            );
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND gm.member_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            qb.push(") ORDER BY gm.member_id, g.display_name_folded, g.seq");
            for row in qb.build().fetch_all(self.conn()).await.map_err(db_err)? {
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
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {GROUP_COLS} FROM groups r WHERE r.id = ? AND r.tenant_id = ?"
        )))
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(self.conn())
        .await
        .map_err(db_err)?;
        row.as_ref().map(group_of).transpose()
    }

    async fn group_by_display_name(
        &mut self,
        tenant_id: &str,
        name: &str,
    ) -> StoreResult<Option<GroupRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {GROUP_COLS} FROM groups r WHERE r.tenant_id = ? AND r.display_name_folded = ?"
        )))
        .bind(tenant_id)
        .bind(fold(name))
        .fetch_optional(self.conn())
        .await
        .map_err(db_err)?;
        row.as_ref().map(group_of).transpose()
    }

    async fn insert_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        sqlx::query(
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
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn update_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        let done = sqlx::query(
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
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(backend(format!(
                "update_group: no group {} in tenant {}",
                g.id, g.tenant_id
            )));
        }
        Ok(())
    }

    async fn delete_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        // Its own membership rows go by ON DELETE CASCADE; memberships of it in other groups here.
        let done = sqlx::query("DELETE FROM groups WHERE id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM group_members WHERE member_id = ? AND tenant_id = ?")
            .bind(id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(true)
    }

    async fn list_groups(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        let total = self
            .count(list_query(Kind::Groups, tenant_id, q, true)?)
            .await?;
        if q.limit == 0 || total <= q.offset {
            return Ok((total, Vec::new()));
        }
        let mut qb = list_query(Kind::Groups, tenant_id, q, false)?;
        let rows = qb.build().fetch_all(self.conn()).await.map_err(db_err)?;
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
            let mut qb: Qb = QueryBuilder::new("SELECT id FROM groups WHERE tenant_id = ");
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            qb.push(") ORDER BY seq");
            let ids: Vec<String> = qb
                .build_query_scalar()
                .fetch_all(self.conn())
                .await
                .map_err(db_err)?;
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
        // Page on the (group_id, seq) index first, then look up display names for that page only.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM (SELECT seq, group_id, member_id, member_kind FROM group_members \
             WHERE group_id = (SELECT id FROM groups WHERE id = ? AND tenant_id = ?) \
             ORDER BY seq LIMIT ? OFFSET ?) gm ORDER BY gm.seq"
        )))
        .bind(group_id)
        .bind(tenant_id)
        .bind(limit.map_or(-1, clamp))
        .bind(clamp(offset))
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        rows.iter().map(member_of).collect()
    }

    async fn members_of_groups(
        &mut self,
        tenant_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<(String, MemberRow)>> {
        let mut out = Vec::new();
        for chunk in group_ids.chunks(MAX_BINDS - 1) {
            let mut qb: Qb = QueryBuilder::new(format!(
                "SELECT {MEMBER_COLS} FROM group_members gm WHERE gm.tenant_id = "
            ));
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND gm.group_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            qb.push(") ORDER BY gm.group_id, gm.seq");
            for row in qb.build().fetch_all(self.conn()).await.map_err(db_err)? {
                out.push((get(&row, "group_id")?, member_of(&row)?));
            }
        }
        Ok(out)
    }

    async fn count_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_members WHERE group_id = (SELECT id FROM groups WHERE id = ? AND tenant_id = ?)",
        )
        .bind(group_id)
        .bind(tenant_id)
        .fetch_one(self.conn())
        .await
        .map_err(db_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
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
            let mut qb: Qb = QueryBuilder::new(
                "INSERT INTO group_members (tenant_id, group_id, member_id, member_kind) SELECT ",
            );
            qb.push_bind(tenant_id.to_string());
            qb.push(", ");
            qb.push_bind(group_id.to_string());
            qb.push(", v.column1, v.column2 FROM (VALUES ");
            let mut sep = qb.separated(", ");
            for (id, kind) in chunk {
                sep.push("(");
                sep.push_bind_unseparated(id.clone());
                sep.push_unseparated(", ");
                sep.push_bind_unseparated(kind_str(*kind));
                sep.push_unseparated(")");
            }
            // `WHERE true` keeps the parser from reading ON CONFLICT as a join constraint.
            qb.push(") v WHERE true ON CONFLICT (group_id, member_id) DO NOTHING");
            added += qb
                .build()
                .execute(self.conn())
                .await
                .map_err(db_err)?
                .rows_affected();
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
            let mut qb: Qb = QueryBuilder::new("DELETE FROM group_members WHERE group_id = ");
            qb.push_bind(group_id.to_string());
            qb.push(" AND tenant_id = ");
            qb.push_bind(tenant_id.to_string());
            qb.push(" AND member_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.clone());
            }
            qb.push(")");
            removed += qb
                .build()
                .execute(self.conn())
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        Ok(removed)
    }

    async fn clear_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND tenant_id = ?")
            .bind(group_id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
    // ---- custom attributes (per tenant)

    async fn list_attributes(&mut self, tenant_id: &str) -> StoreResult<Vec<AttributeRow>> {
        rules::list_attributes(self, tenant_id).await
    }

    async fn insert_attribute(&mut self, a: &AttributeRow) -> StoreResult<()> {
        rules::insert_attribute(self, a).await
    }

    async fn delete_attribute(&mut self, tenant_id: &str, name: &str) -> StoreResult<bool> {
        rules::delete_attribute(self, tenant_id, name).await
    }

    async fn count_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64> {
        rules::count_extension_values(self, tenant_id, ext_urn, name).await
    }

    async fn strip_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64> {
        rules::strip_extension_values(self, tenant_id, ext_urn, name).await
    }

    async fn rename_extension_key(
        &mut self,
        tenant_id: &str,
        old_urn: &str,
        new_urn: &str,
    ) -> StoreResult<u64> {
        rules::rename_extension_key(self, tenant_id, old_urn, new_urn).await
    }

    // ---- directory rules helpers

    async fn members_in_no_other_group(
        &mut self,
        tenant_id: &str,
        group_id: &str,
    ) -> StoreResult<Vec<String>> {
        rules::members_in_no_other_group(self, tenant_id, group_id).await
    }

    async fn set_users_state(
        &mut self,
        tenant_id: &str,
        ids: &[String],
        from: UserState,
        to: UserState,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        rules::set_users_state(self, tenant_id, ids, from, to, at).await
    }

    async fn user_counts(&mut self, tenant_id: &str) -> StoreResult<Vec<(UserState, Source, u64)>> {
        rules::user_counts(self, tenant_id).await
    }

    async fn group_count(&mut self, tenant_id: &str) -> StoreResult<u64> {
        rules::group_count(self, tenant_id).await
    }

    // ---- provisioning log

    async fn insert_log(&mut self, e: &LogEntry) -> StoreResult<i64> {
        rules::insert_log(self, e).await
    }

    async fn query_log(
        &mut self,
        tenant_id: &str,
        q: &LogQuery,
    ) -> StoreResult<(u64, Vec<LogEntry>)> {
        rules::query_log(self, tenant_id, q).await
    }

    async fn purge_log(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        rules::purge_log(self, before).await
    }

    // ---- administrator listings

    async fn admin_list_users(
        &mut self,
        tenant_id: &str,
        f: &AdminUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        rules::admin_list_users(self, tenant_id, f, offset, limit).await
    }

    async fn admin_list_groups(
        &mut self,
        tenant_id: &str,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        rules::admin_list_groups(self, tenant_id, search, offset, limit).await
    }

    // ---- portal administrators and sessions (see `admins`)

    async fn insert_admin(&mut self, a: &scimd_directory::store::AdminRow) -> StoreResult<()> {
        admins::insert_admin(self, a).await
    }

    async fn admin_by_username(
        &mut self,
        tenant_id: &str,
        username: &str,
    ) -> StoreResult<Option<scimd_directory::store::AdminRow>> {
        admins::admin_by_username(self, tenant_id, username).await
    }

    async fn get_admin(
        &mut self,
        tenant_id: &str,
        id: &str,
    ) -> StoreResult<Option<scimd_directory::store::AdminRow>> {
        admins::get_admin(self, tenant_id, id).await
    }

    async fn set_admin_password(
        &mut self,
        tenant_id: &str,
        id: &str,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        admins::set_admin_password(self, tenant_id, id, password_hash, at).await
    }

    async fn insert_session(&mut self, s: &scimd_directory::store::SessionRow) -> StoreResult<()> {
        admins::insert_session(self, s).await
    }

    async fn session_by_hash(
        &mut self,
        id_sha256: &[u8],
    ) -> StoreResult<Option<scimd_directory::store::SessionRow>> {
        admins::session_by_hash(self, id_sha256).await
    }

    async fn delete_session(&mut self, id_sha256: &[u8]) -> StoreResult<bool> {
        admins::delete_session(self, id_sha256).await
    }

    async fn delete_admin_sessions(&mut self, tenant_id: &str, admin_id: &str) -> StoreResult<u64> {
        admins::delete_admin_sessions(self, tenant_id, admin_id).await
    }

    async fn insert_signin_failure(
        &mut self,
        tenant_id: &str,
        key: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        admins::insert_signin_failure(self, tenant_id, key, at).await
    }

    async fn count_signin_failures(
        &mut self,
        tenant_id: &str,
        key: &str,
        since: OffsetDateTime,
    ) -> StoreResult<u64> {
        admins::count_signin_failures(self, tenant_id, key, since).await
    }

    async fn clear_signin_failures(&mut self, tenant_id: &str, key: &str) -> StoreResult<()> {
        admins::clear_signin_failures(self, tenant_id, key).await
    }

    async fn purge_sessions(
        &mut self,
        now: OffsetDateTime,
        failures_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        admins::purge_sessions(self, now, failures_before).await
    }

    // ---- bulk copy between stores: `copy`

    async fn export_rows(
        &mut self,
        table: Table,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Exported>> {
        copy::export_rows(self, table, after, limit).await
    }

    async fn table_counts(&mut self) -> StoreResult<Vec<(Table, u64)>> {
        copy::table_counts(self).await
    }
}
