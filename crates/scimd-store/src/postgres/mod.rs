//! The PostgreSQL store: one database shared by any number of scimd instances.
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
//!   `group_by_display_name` are `SELECT ... FOR UPDATE`, so a version checked against
//!   `If-Match` in the transaction is the version written over, and concurrent changes of
//!   one group (member adds from several instances) queue on its row instead of losing
//!   each other's writes. Membership rows go in with `ON CONFLICT DO NOTHING`.
//! - Uniqueness is enforced by unique indexes (folded userName, folded displayName ...): of
//!   concurrent inserts of one userName the first commits and the others fail with
//!   [`StoreError::Conflict`] (409), never a server error.
//! - Statements that can violate a constraint run inside a savepoint: when one fails (a
//!   Conflict), only it is rolled back and the transaction goes on, as in SQLite.
//! - A serialization failure or deadlock (SQLSTATE 40001 / 40P01) is
//!   [`StoreError::Contention`]: nothing was written and the request may be retried.
//! - First-start initialisation (`list_tenants` in a write transaction) takes a
//!   transaction-scoped advisory lock, so instances started together create one default
//!   tenant.
//!
//! # Layout
//!
//! `migrations/postgres/0001_init.sql`, applied at [`PgStore::open`] (under sqlx's migration
//! advisory lock, so instances starting together migrate once). Same tables as SQLite;
//! timestamps `timestamptz`, `doc` `json` (as written), `doc_folded` `jsonb`, folded
//! columns in the "C" collation. Filters are translated by [`crate::filter`] with
//! [`filter::PgDialect`].

mod admins;
mod copy;
pub(crate) mod filter;
mod rules;

use crate::common::{
    backend, clamp, count_of, kind_of, kind_str, scope_of, source_of, state_of, GROUP_COLS,
    MEMBER_COLS, USER_COLS,
};
use crate::filter::Sink;
use async_trait::async_trait;
use filter::{Kind, PgDialect, Qb, Translator};
use scim_proto::filter::fold;
use scimd_directory::store::{
    AdminUserFilter, AttributeRow, ConflictTarget, EmailKey, Exported, GroupRecord, ListQuery,
    LogEntry, LogQuery, MemberKind, MemberRow, Source, Store, StoreError, StoreResult, Table,
    TenantRow, TokenRow, Tx, UserRecord, UserState,
};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgPool, Postgres, QueryBuilder, Row, Transaction};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

/// Advisory-lock key that serialises first-start initialisation across instances.
const BOOTSTRAP_LOCK: i64 = 0x5c1d_b007;

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
            statement_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The PostgreSQL implementation of [`Store`]. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Maps a database error: a unique violation becomes `Conflict` naming what is duplicated
/// (`userName`, `displayName`, `attribute name`, `token name`, `token secret`, `name`,
/// `id`), a serialization failure or deadlock `Contention`, anything else `Backend`.
fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        match d.code().as_deref() {
            Some("23505") => {
                let c = d.constraint().unwrap_or_default();
                let what = match c {
                    "users_user_name_unique" => ConflictTarget::UserName,
                    "groups_display_name_unique" => ConflictTarget::DisplayName,
                    "attributes_name_unique" => ConflictTarget::AttributeName,
                    "tokens_live_name" => ConflictTarget::TokenName,
                    "tokens_secret_unique" => ConflictTarget::TokenSecret,
                    "tenants_name_unique" => ConflictTarget::TenantName,
                    "admins_username_unique" => ConflictTarget::AdminUsername,
                    "group_members_unique" => ConflictTarget::Membership,
                    c if c.ends_with("_pkey")
                        || c.ends_with("_id_unique")
                        || c.ends_with("_seq_key") =>
                    {
                        ConflictTarget::Id
                    }
                    _ => {
                        return backend(format!("unknown unique constraint {c:?}: {}", d.message()))
                    }
                };
                return StoreError::Conflict(what);
            }
            Some("40001") | Some("40P01") => {
                return StoreError::Contention(d.message().to_string());
            }
            _ => {}
        }
    }
    backend(e.to_string())
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

/// Truncates to the microsecond PostgreSQL keeps.
fn micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
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
        Ok(PgStore { pool })
    }

    /// Closes the pool (waits for connections in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `EXPLAIN` of the statement [`Tx::list_users`] (or `list_groups` when `groups`) would
    /// run for the page of `q`, one plan line per row, planned with sequential scans
    /// disabled (`enable_seqscan = off`), so that a small test table still shows whether an
    /// index can answer the query: a `Seq Scan` left in the plan means none can.
    ///
    /// Errors: as `list_users`.
    pub async fn explain_list(
        &self,
        tenant_id: &str,
        q: &ListQuery<'_>,
        groups: bool,
    ) -> StoreResult<Vec<String>> {
        let kind = if groups { Kind::Groups } else { Kind::Users };
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut explain: Qb = QueryBuilder::new("EXPLAIN ");
        list_query_into(&mut explain, kind, tenant_id, q, false)?;
        let rows = explain.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(db_err))
            .collect()
    }
}

#[async_trait]
impl Store for PgStore {
    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db_err)?;
        Ok(Box::new(PgTx { tx, write: false }))
    }

    async fn write(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(db_err)?;
        Ok(Box::new(PgTx { tx, write: true }))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

/// A transaction of a [`PgStore`]. Dropping it without `commit` rolls back.
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// A write transaction: reads of users and groups lock their rows.
    write: bool,
}

// ---------------------------------------------------------------------------------------
// Row mapping
// ---------------------------------------------------------------------------------------

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    row: &'r PgRow,
    col: &str,
) -> StoreResult<T> {
    row.try_get(col).map_err(db_err)
}

fn json_col(row: &PgRow, col: &str) -> StoreResult<Value> {
    Ok(get::<Json<Value>>(row, col)?.0)
}

fn tenant_of(row: &PgRow) -> StoreResult<TenantRow> {
    Ok(TenantRow {
        id: get(row, "id")?,
        name: get(row, "name")?,
        settings: json_col(row, "settings")?,
        created: get(row, "created")?,
    })
}

fn token_of(row: &PgRow) -> StoreResult<TokenRow> {
    Ok(TokenRow {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        scope: scope_of(get(row, "scope")?)?,
        secret_sha256: get(row, "secret_sha256")?,
        created: get(row, "created")?,
        last_used: get(row, "last_used")?,
        revoked: get(row, "revoked")?,
    })
}

/// A user row without its emails, and its `seq`.
fn user_of(row: &PgRow) -> StoreResult<(i64, UserRecord)> {
    Ok((
        get(row, "seq")?,
        UserRecord {
            id: get(row, "id")?,
            tenant_id: get(row, "tenant_id")?,
            user_name: get(row, "user_name")?,
            external_id: get(row, "external_id")?,
            display_name: get(row, "display_name")?,
            state: state_of(get(row, "state")?)?,
            source: source_of(get(row, "source")?)?,
            version: get(row, "version")?,
            created: get(row, "created")?,
            last_modified: get(row, "last_modified")?,
            doc: json_col(row, "doc")?,
            doc_folded: json_col(row, "doc_folded")?,
            emails: Vec::new(),
        },
    ))
}

fn group_of(row: &PgRow) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        display_name: get(row, "display_name")?,
        external_id: get(row, "external_id")?,
        source: source_of(get(row, "source")?)?,
        builtin: get(row, "builtin")?,
        version: get(row, "version")?,
        created: get(row, "created")?,
        last_modified: get(row, "last_modified")?,
        doc: json_col(row, "doc")?,
        doc_folded: json_col(row, "doc_folded")?,
    })
}

fn member_of(row: &PgRow) -> StoreResult<MemberRow> {
    Ok(MemberRow {
        id: get(row, "member_id")?,
        kind: kind_of(get(row, "member_kind")?),
        display: get(row, "display")?,
        user_name: get(row, "member_user_name")?,
        state: get::<Option<String>>(row, "member_state")?.and_then(|s| UserState::parse(&s)),
    })
}

/// The list statement (count or page) of `q` into `qb`.
fn list_query_into(
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
        d: &PgDialect,
    };
    t.list(qb as &mut dyn Sink, q, count)
}

impl PgTx {
    fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    /// ` FOR UPDATE` in a write transaction.
    fn lock(&self) -> &'static str {
        if self.write {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    /// Users of `rows` (with their `seq`) and their emails.
    async fn users_with_seq(&mut self, rows: Vec<PgRow>) -> StoreResult<Vec<(i64, UserRecord)>> {
        let users = rows.iter().map(user_of).collect::<StoreResult<Vec<_>>>()?;
        if users.is_empty() {
            return Ok(users);
        }
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let rows = sqlx::query(
            "SELECT user_seq, value_folded, kind, is_primary FROM user_emails \
             WHERE user_seq = ANY($1) ORDER BY seq",
        )
        .bind(&seqs)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        let mut emails: HashMap<i64, Vec<EmailKey>> = HashMap::new();
        for row in rows {
            emails
                .entry(get(&row, "user_seq")?)
                .or_default()
                .push(EmailKey {
                    value_folded: get(&row, "value_folded")?,
                    kind: get(&row, "kind")?,
                    primary: get(&row, "is_primary")?,
                });
        }
        Ok(users
            .into_iter()
            .map(|(seq, mut u)| {
                u.emails = emails.remove(&seq).unwrap_or_default();
                (seq, u)
            })
            .collect())
    }

    async fn users_with_emails(&mut self, rows: Vec<PgRow>) -> StoreResult<Vec<UserRecord>> {
        Ok(self
            .users_with_seq(rows)
            .await?
            .into_iter()
            .map(|(_, u)| u)
            .collect())
    }

    async fn one_user(&mut self, row: Option<PgRow>) -> StoreResult<Option<UserRecord>> {
        match row {
            None => Ok(None),
            Some(row) => Ok(self.users_with_emails(vec![row]).await?.pop()),
        }
    }

    /// Inserts the emails of the user `seq`, in order, in one statement.
    async fn insert_emails(
        &mut self,
        tenant_id: &str,
        seq: i64,
        emails: &[EmailKey],
    ) -> StoreResult<()> {
        if emails.is_empty() {
            return Ok(());
        }
        let values: Vec<&str> = emails.iter().map(|e| e.value_folded.as_str()).collect();
        let kinds: Vec<Option<&str>> = emails.iter().map(|e| e.kind.as_deref()).collect();
        let primary: Vec<bool> = emails.iter().map(|e| e.primary).collect();
        sqlx::query(
            "INSERT INTO user_emails (tenant_id, user_seq, value_folded, kind, is_primary) \
             SELECT $1, $2, v.value, v.kind, v.is_primary \
             FROM UNNEST($3::text[], $4::text[], $5::bool[]) WITH ORDINALITY AS v(value, kind, is_primary, ord) \
             ORDER BY v.ord",
        )
        .bind(tenant_id)
        .bind(seq)
        .bind(&values)
        .bind(&kinds)
        .bind(&primary)
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Opens a savepoint before a statement that may violate a constraint; [`Self::settle`]
    /// closes it. A failed statement is rolled back alone and the transaction stays usable
    /// (the caller sees the Conflict), as a failed statement in SQLite.
    pub(super) async fn savepoint(&mut self) -> StoreResult<()> {
        sqlx::query("SAVEPOINT scimd_statement")
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Releases the savepoint of [`Self::savepoint`] after success, rolls back to it after
    /// a failure; returns the statement's result.
    pub(super) async fn settle<T>(&mut self, r: Result<T, sqlx::Error>) -> StoreResult<T> {
        let sql = if r.is_ok() {
            "RELEASE SAVEPOINT scimd_statement"
        } else {
            "ROLLBACK TO SAVEPOINT scimd_statement"
        };
        sqlx::query(sql)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        r.map_err(db_err)
    }

    /// The total and the rows of a paged listing.
    pub(super) async fn paged(
        &mut self,
        p: &crate::common::Paged<'_>,
    ) -> StoreResult<(u64, Vec<PgRow>)> {
        let mut page: Qb = QueryBuilder::new("");
        p.page(&mut page);
        let mut count: Qb = QueryBuilder::new("");
        p.count(&mut count);
        self.page_and_total(p.offset, p.limit, page, count).await
    }

    /// The rows of `page` (not run when `limit` is 0) and the total: from the page when it
    /// tells it (`common::total_from_page`), else by running `count`, in the same snapshot.
    async fn page_and_total(
        &mut self,
        offset: u64,
        limit: u64,
        mut page: Qb,
        count: Qb,
    ) -> StoreResult<(u64, Vec<PgRow>)> {
        let rows = if limit == 0 {
            Vec::new()
        } else {
            page.build().fetch_all(self.conn()).await.map_err(db_err)?
        };
        let total = match crate::common::total_from_page(offset, limit, rows.len()) {
            Some(t) => t,
            None => self.count(count).await?,
        };
        Ok((total, rows))
    }

    async fn count(&mut self, mut qb: Qb) -> StoreResult<u64> {
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(self.conn())
            .await
            .map_err(db_err)?;
        Ok(count_of(n))
    }

    /// Total and page rows of a list query.
    async fn list(
        &mut self,
        kind: Kind,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<PgRow>)> {
        let mut page: Qb = QueryBuilder::new("");
        list_query_into(&mut page, kind, tenant_id, q, false)?;
        let mut count: Qb = QueryBuilder::new("");
        list_query_into(&mut count, kind, tenant_id, q, true)?;
        self.page_and_total(q.offset, q.limit, page, count).await
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }

    // ---- tenants

    async fn list_tenants(&mut self) -> StoreResult<Vec<TenantRow>> {
        if self.write {
            // A writer that lists tenants may be about to create the first one (first
            // start): instances doing so together take turns.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(BOOTSTRAP_LOCK)
                .execute(self.conn())
                .await
                .map_err(db_err)?;
        }
        let rows =
            sqlx::query("SELECT id, name, settings, created FROM tenants ORDER BY created, seq")
                .fetch_all(self.conn())
                .await
                .map_err(db_err)?;
        rows.iter().map(tenant_of).collect()
    }

    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        self.savepoint().await?;
        let r = sqlx::query(
            "INSERT INTO tenants (id, name, settings, created) VALUES ($1, $2, $3::json, $4)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.settings.to_string())
        .bind(micros(t.created))
        .execute(self.conn())
        .await;
        self.settle(r).await?;
        Ok(())
    }

    async fn get_tenant(&mut self, id: &str) -> StoreResult<Option<TenantRow>> {
        let row = sqlx::query("SELECT id, name, settings, created FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await
            .map_err(db_err)?;
        row.as_ref().map(tenant_of).transpose()
    }

    async fn update_tenant_settings(&mut self, id: &str, settings: &Value) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET settings = $1::json WHERE id = $2")
            .bind(settings.to_string())
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- tokens

    async fn insert_token(&mut self, t: &TokenRow) -> StoreResult<()> {
        self.savepoint().await?;
        let r = sqlx::query(
            "INSERT INTO tokens (id, tenant_id, name, scope, secret_sha256, created, last_used, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&t.id)
        .bind(&t.tenant_id)
        .bind(&t.name)
        .bind(t.scope.as_str())
        .bind(&t.secret_sha256)
        .bind(micros(t.created))
        .bind(t.last_used.map(micros))
        .bind(t.revoked.map(micros))
        .execute(self.conn())
        .await;
        self.settle(r).await?;
        Ok(())
    }

    async fn token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<TokenRow>> {
        let row = sqlx::query(
            "SELECT id, tenant_id, name, scope, secret_sha256, created, last_used, revoked FROM tokens \
             WHERE secret_sha256 = $1",
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
             WHERE tenant_id = $1 ORDER BY created, seq",
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
            "UPDATE tokens SET revoked = $1 WHERE tenant_id = $2 AND name = $3 AND revoked IS NULL",
        )
        .bind(micros(at))
        .bind(tenant_id)
        .bind(name)
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_token(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE tokens SET last_used = $1 WHERE id = $2")
            .bind(micros(at))
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // ---- users

    async fn get_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<UserRecord>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users r WHERE r.id = $1 AND r.tenant_id = $2{}",
            self.lock()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
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
        let sql = format!(
            "SELECT {USER_COLS} FROM users r WHERE r.tenant_id = $1 AND r.user_name_folded = $2{}",
            self.lock()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(fold(user_name))
            .fetch_optional(self.conn())
            .await
            .map_err(db_err)?;
        self.one_user(row).await
    }

    async fn insert_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        self.savepoint().await?;
        let r = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (id, tenant_id, user_name, user_name_folded, external_id, display_name, state, source, \
             version, created, last_modified, doc, doc_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13::jsonb) RETURNING seq",
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
        .bind(micros(u.created))
        .bind(micros(u.last_modified))
        .bind(u.doc.to_string())
        .bind(u.doc_folded.to_string())
        .fetch_one(self.conn())
        .await;
        let seq: i64 = self.settle(r).await?;
        self.insert_emails(&u.tenant_id, seq, &u.emails).await
    }

    async fn update_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        self.savepoint().await?;
        let r = sqlx::query_scalar::<_, i64>(
            "UPDATE users SET user_name = $1, user_name_folded = $2, external_id = $3, display_name = $4, \
             state = $5, source = $6, version = $7, created = $8, last_modified = $9, doc = $10::json, \
             doc_folded = $11::jsonb WHERE id = $12 AND tenant_id = $13 RETURNING seq",
        )
        .bind(&u.user_name)
        .bind(fold(&u.user_name))
        .bind(&u.external_id)
        .bind(&u.display_name)
        .bind(u.state.as_str())
        .bind(u.source.as_str())
        .bind(u.version)
        .bind(micros(u.created))
        .bind(micros(u.last_modified))
        .bind(u.doc.to_string())
        .bind(u.doc_folded.to_string())
        .bind(&u.id)
        .bind(&u.tenant_id)
        .fetch_optional(self.conn())
        .await;
        let seq = self.settle(r).await?.ok_or_else(|| {
            backend(format!(
                "update_user: no user {} in tenant {}",
                u.id, u.tenant_id
            ))
        })?;
        sqlx::query("DELETE FROM user_emails WHERE user_seq = $1")
            .bind(seq)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        self.insert_emails(&u.tenant_id, seq, &u.emails).await
    }

    async fn delete_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM group_members WHERE member_id = $1 AND tenant_id = $2")
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
        let (total, rows) = self.list(Kind::Users, tenant_id, q).await?;
        Ok((total, self.users_with_emails(rows).await?))
    }

    async fn user_names(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT id, display_name AS name FROM users \
             WHERE tenant_id = $1 AND id = ANY($2) ORDER BY seq",
        )
        .bind(tenant_id)
        .bind(ids)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| Ok((get(row, "id")?, get(row, "name")?)))
            .collect()
    }

    async fn groups_of_users(
        &mut self,
        tenant_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT gm.member_id, g.id, g.display_name FROM group_members gm JOIN groups g ON g.id = gm.group_id \
             WHERE NOT g.builtin AND g.tenant_id = $1 AND gm.member_id = ANY($2) \
             ORDER BY gm.member_id, g.display_name_folded, g.seq",
        )
        .bind(tenant_id)
        .bind(user_ids)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok((
                    get(row, "member_id")?,
                    get(row, "id")?,
                    get(row, "display_name")?,
                ))
            })
            .collect()
    }

    // ---- groups

    async fn get_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<GroupRecord>> {
        let sql = format!(
            "SELECT {GROUP_COLS} FROM groups r WHERE r.id = $1 AND r.tenant_id = $2{}",
            self.lock()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
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
        let sql = format!(
            "SELECT {GROUP_COLS} FROM groups r WHERE r.tenant_id = $1 AND r.display_name_folded = $2{}",
            self.lock()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(fold(name))
            .fetch_optional(self.conn())
            .await
            .map_err(db_err)?;
        row.as_ref().map(group_of).transpose()
    }

    async fn insert_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        self.savepoint().await?;
        let r = sqlx::query(
            "INSERT INTO groups (id, tenant_id, display_name, display_name_folded, external_id, source, builtin, \
             version, created, last_modified, doc, doc_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::json, $12::jsonb)",
        )
        .bind(&g.id)
        .bind(&g.tenant_id)
        .bind(&g.display_name)
        .bind(fold(&g.display_name))
        .bind(&g.external_id)
        .bind(g.source.as_str())
        .bind(g.builtin)
        .bind(g.version)
        .bind(micros(g.created))
        .bind(micros(g.last_modified))
        .bind(g.doc.to_string())
        .bind(g.doc_folded.to_string())
        .execute(self.conn())
        .await;
        self.settle(r).await?;
        Ok(())
    }

    async fn update_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        self.savepoint().await?;
        let r = sqlx::query(
            "UPDATE groups SET display_name = $1, display_name_folded = $2, external_id = $3, source = $4, \
             builtin = $5, version = $6, created = $7, last_modified = $8, doc = $9::json, doc_folded = $10::jsonb \
             WHERE id = $11 AND tenant_id = $12",
        )
        .bind(&g.display_name)
        .bind(fold(&g.display_name))
        .bind(&g.external_id)
        .bind(g.source.as_str())
        .bind(g.builtin)
        .bind(g.version)
        .bind(micros(g.created))
        .bind(micros(g.last_modified))
        .bind(g.doc.to_string())
        .bind(g.doc_folded.to_string())
        .bind(&g.id)
        .bind(&g.tenant_id)
        .execute(self.conn())
        .await;
        let done = self.settle(r).await?;
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
        let done = sqlx::query("DELETE FROM groups WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM group_members WHERE member_id = $1 AND tenant_id = $2")
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
        let (total, rows) = self.list(Kind::Groups, tenant_id, q).await?;
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
        sqlx::query_scalar(
            "SELECT id FROM groups WHERE tenant_id = $1 AND id = ANY($2) ORDER BY seq",
        )
        .bind(tenant_id)
        .bind(ids)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)
    }

    async fn group_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Vec<MemberRow>> {
        // Page on the (group_id, seq) index first, then look up display names for that page
        // only. LIMIT NULL is no limit.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM (SELECT seq, group_id, member_id, member_kind FROM group_members \
             WHERE group_id = (SELECT id FROM groups WHERE id = $1 AND tenant_id = $2) \
             ORDER BY seq LIMIT $3 OFFSET $4) gm ORDER BY gm.seq"
        )))
        .bind(group_id)
        .bind(tenant_id)
        .bind(limit.map(clamp))
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
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLS} FROM group_members gm WHERE gm.tenant_id = $1 AND gm.group_id = ANY($2) \
             ORDER BY gm.group_id, gm.seq"
        )))
        .bind(tenant_id)
        .bind(group_ids)
        .fetch_all(self.conn())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| Ok((get(row, "group_id")?, member_of(row)?)))
            .collect()
    }

    async fn count_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM group_members WHERE group_id = (SELECT id FROM groups WHERE id = $1 AND tenant_id = $2)",
        )
        .bind(group_id)
        .bind(tenant_id)
        .fetch_one(self.conn())
        .await
        .map_err(db_err)?;
        Ok(count_of(n))
    }

    async fn add_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        members: &[(String, MemberKind)],
    ) -> StoreResult<u64> {
        if members.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = members.iter().map(|(id, _)| id.as_str()).collect();
        let kinds: Vec<&str> = members.iter().map(|(_, k)| kind_str(*k)).collect();
        // Rows another transaction inserted concurrently are skipped, not errors.
        let done = sqlx::query(
            "INSERT INTO group_members (tenant_id, group_id, member_id, member_kind) \
             SELECT $1, $2, m.id, m.kind FROM UNNEST($3::text[], $4::text[]) WITH ORDINALITY AS m(id, kind, ord) \
             ORDER BY m.ord ON CONFLICT (group_id, member_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(group_id)
        .bind(&ids)
        .bind(&kinds)
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn remove_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        ids: &[String],
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM group_members WHERE group_id = $1 AND tenant_id = $2 AND member_id = ANY($3)",
        )
        .bind(group_id)
        .bind(tenant_id)
        .bind(ids)
        .execute(self.conn())
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn clear_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND tenant_id = $2")
            .bind(group_id)
            .bind(tenant_id)
            .execute(self.conn())
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    // ---- custom attributes, rules helpers, log, administrator listings: `rules`

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

    // ---- bulk copy: `copy`

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
