//! The statement layer: every statement of both stores is built here, as SQL text in the
//! back end's spelling ([`Dialect`]) plus the values bound to it, and checked for tenant
//! isolation before it can run.
//!
//! # Tenant isolation by construction
//!
//! A statement is built with a [`Scope`]: the tenant it works for, or an [`Across`] reason
//! for the few statements that legitimately span tenants, or [`Scope::Tenants`] for the
//! `tenants` table itself, or [`Scope::Global`] for the tables no tenant owns. Tables are
//! named only through [`Sql::table`] (or [`Sql::insert_into`]), which records each
//! reference, and a reference to a tenant table (every table with a `tenant_id`, see
//! [`Tbl::is_tenant_table`]) must be bound by a predicate the layer writes:
//!
//! - [`Sql::tenant`]: `alias.tenant_id = ?`, bound to the scope's tenant;
//! - [`Sql::tenant_value`]: the inserted row's `tenant_id` is the scope's tenant;
//! - [`Sql::same_tenant`]: `alias.tenant_id = other.tenant_id`, `other` bound;
//! - [`Sql::owned_by`] / [`Sql::owned_by_key`]: the row's owner (its group, user,
//!   administrator: [`Tbl::owner`]) is a bound row;
//! - [`Sql::rows_of`]: a derived table of a bound reference's rows.
//!
//! [`Sql::finish`] refuses (a `Backend` error, never a panic) a statement with an unbound
//! reference to a tenant table outside an [`Across`] scope, and one whose text names a table
//! after `FROM`, `JOIN`, `INTO` or `UPDATE` that was not referenced through the layer (see
//! `check`). New tables get the rule by being listed in [`crate::schema`].

mod check;
pub(crate) mod row;
mod shapes;

pub(crate) use crate::dialect::Dialect;
pub(crate) use crate::schema::Tbl;
pub(crate) use row::{Column, Row};
use scimd_directory::store::{StoreError, StoreResult};
pub(crate) use shapes::{Col, Stmts};
use time::OffsetDateTime;

/// Most values bound by one statement of a batched call (IN lists, multi-row inserts) on a
/// back end that binds list items one by one.
pub(crate) const MAX_BINDS: usize = 500;

/// The type of a bound NULL (PostgreSQL types every parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// Text.
    Text,
    /// A 64-bit integer.
    Int,
    /// An instant.
    Time,
    /// A JSON document kept as written (PostgreSQL `json`).
    Json,
}

/// A value bound to a placeholder of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    /// Text.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean (SQLite: 0 / 1).
    Bool(bool),
    /// An instant, microsecond precision (SQLite: its `timefmt` text; PostgreSQL
    /// `timestamptz`).
    Time(OffsetDateTime),
    /// Bytes.
    Blob(Vec<u8>),
    /// The text of a JSON document kept as written (PostgreSQL `json`).
    Json(String),
    /// The text of a JSON document that filters read (PostgreSQL `jsonb`).
    Jsonb(String),
    /// A list of strings: a column holding one (SQLite: JSON text; PostgreSQL `text[]`), or
    /// the items of an `= ANY(?)` list.
    Texts(Vec<String>),
    /// The items of an `= ANY(?)` list of integers (PostgreSQL `bigint[]`).
    Ints(Vec<i64>),
    /// NULL of a type.
    Null(Ty),
}

impl Bind {
    /// Text.
    pub(crate) fn text(s: impl Into<String>) -> Bind {
        Bind::Text(s.into())
    }
    /// Text or a NULL text.
    pub(crate) fn opt_text(s: Option<&str>) -> Bind {
        s.map_or(Bind::Null(Ty::Text), Bind::text)
    }
    /// An instant or a NULL one.
    pub(crate) fn opt_time(t: Option<OffsetDateTime>) -> Bind {
        t.map_or(Bind::Null(Ty::Time), Bind::Time)
    }
    /// A count or page size as SQL wants it (clamped to `i64`).
    pub(crate) fn count(n: u64) -> Bind {
        Bind::Int(clamp(n))
    }
}

/// A row count or page size as SQL wants it.
pub(crate) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count read from SQL.
pub(crate) fn count_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Statements that span tenants, each for a reason of its own. The escape hatch of tenant
/// isolation: adding one is a decision a test (`the_escape_hatches`) lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Across {
    /// A bearer token is found by the hash of its secret; its row tells the tenant.
    TokenBySecret,
    /// An OAuth access token is found by the hash of its secret; its row tells the tenant.
    AccessTokenBySecret,
    /// A portal session is found (and signed out) by the hash of its id; its row tells the
    /// tenant.
    SessionBySecret,
    /// Retention: change records (provisioning log, histories, audit record), expired
    /// sessions and old failed sign-ins of every tenant are purged together.
    RetentionPurge,
    /// `scimd copy` exports every row of every tenant.
    Export,
    /// `scimd copy` counts the rows of every table.
    TableCounts,
    /// A migration step recomputes the identifier keys of every tenant's users and groups
    /// (`tx::steps`).
    Rekey,
}

impl Across {
    /// Every reason.
    #[cfg(test)]
    pub(crate) const ALL: [Across; 7] = [
        Across::TokenBySecret,
        Across::AccessTokenBySecret,
        Across::SessionBySecret,
        Across::RetentionPurge,
        Across::Export,
        Across::TableCounts,
        Across::Rekey,
    ];
}

impl From<Across> for Scope<'_> {
    fn from(why: Across) -> Self {
        Scope::Across(why)
    }
}

/// Whose rows a statement works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope<'t> {
    /// One tenant's (its id).
    Tenant(&'t str),
    /// Every tenant's, for a reason.
    Across(Across),
    /// Only tables that are no tenant's (`tenants`, `migration_steps`): a statement that
    /// references no tenant table.
    Tenants,
    /// Only tables no tenant owns (`heartbeat`, `signin_addresses`: see
    /// [`Tbl::is_tenant_table`]): a statement that references no tenant table.
    Global,
}

/// How a table reference is bound to the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Not bound (yet).
    Unbound,
    /// `alias.tenant_id` is the scope's tenant (a predicate or an inserted value).
    Tenant,
    /// `alias.tenant_id = other.tenant_id`.
    Same(&'static str),
    /// The row's owner is the row `other` (`alias.column = other.key`, [`Tbl::owner`]).
    Owner(&'static str),
    /// A derived table of `other`'s rows.
    Rows(&'static str),
}

/// One table named in a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ref {
    /// The table.
    pub(crate) table: Tbl,
    /// Its alias in the statement (`""`: unqualified).
    pub(crate) alias: &'static str,
    /// How it is bound to the tenant.
    pub(crate) via: Via,
}

/// A statement ready to run: what the back-end executors take.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stmt {
    /// SQL text in the back end's spelling.
    pub(crate) sql: String,
    /// Values of the placeholders, in order.
    pub(crate) binds: Vec<Bind>,
    /// May scan or change many rows: SQLite runs it off the async worker
    /// (`block_in_place`); PostgreSQL ignores it.
    pub(crate) long: bool,
    /// May violate a unique constraint: PostgreSQL runs it in a savepoint, so that the
    /// transaction survives the `Conflict`; SQLite ignores it.
    pub(crate) conflicts: bool,
}

/// A statement being built: SQL text, binds, table references, for one [`Scope`].
pub(crate) struct Sql<'t> {
    d: &'static dyn Dialect,
    scope: Scope<'t>,
    /// A write transaction: [`Sql::lock_rows`] locks (PostgreSQL).
    writes: bool,
    text: String,
    binds: Vec<Bind>,
    refs: Vec<Ref>,
    long: bool,
    conflicts: bool,
    /// The first misuse of the builder, reported by [`Sql::finish`].
    error: Option<String>,
}

impl<'t> Sql<'t> {
    /// An empty statement of `scope`, spelled by `d`; `writes` when it runs in a write
    /// transaction.
    pub(crate) fn new(d: &'static dyn Dialect, scope: Scope<'t>, writes: bool) -> Sql<'t> {
        Sql {
            d,
            scope,
            writes,
            text: String::with_capacity(256),
            binds: Vec::new(),
            refs: Vec::new(),
            long: false,
            conflicts: false,
            error: None,
        }
    }

    /// The back end's spelling.
    pub(crate) fn dialect(&self) -> &'static dyn Dialect {
        self.d
    }

    /// Appends SQL text (never a table name: see [`Sql::table`]).
    pub(crate) fn sql(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub(crate) fn bind(&mut self, v: Bind) -> &mut Self {
        self.d.placeholder(&mut self.text, self.binds.len() + 1, &v);
        self.binds.push(v);
        self
    }

    /// Appends placeholders bound to `vs`, separated by `, `.
    pub(crate) fn binds(&mut self, vs: impl IntoIterator<Item = Bind>) -> &mut Self {
        for (i, v) in vs.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v);
        }
        self
    }

    /// Appends `table alias` (or `table` when `alias` is empty) and records the reference.
    pub(crate) fn table(&mut self, table: Tbl, alias: &'static str) -> &mut Self {
        self.text.push_str(table.name());
        if !alias.is_empty() {
            self.text.push(' ');
            self.text.push_str(alias);
        }
        self.refs.push(Ref {
            table,
            alias,
            via: Via::Unbound,
        });
        self
    }

    /// Appends `INSERT INTO table (columns) ` and records the reference; the row's
    /// `tenant_id` is bound with [`Sql::tenant_value`].
    pub(crate) fn insert_into(&mut self, table: Tbl, columns: &str) -> &mut Self {
        self.text.push_str("INSERT INTO ");
        self.table(table, "");
        self.text.push_str(" (");
        self.text.push_str(columns);
        self.text.push_str(") ");
        self
    }

    fn tenant_id(&mut self, what: &str) -> Option<&'t str> {
        match self.scope {
            Scope::Tenant(t) => Some(t),
            other => {
                self.misuse(format!("{what} in a statement of scope {other:?}"));
                None
            }
        }
    }

    fn misuse(&mut self, e: String) {
        self.error.get_or_insert(e);
    }

    /// Marks the latest reference aliased `alias` as bound `via`.
    fn mark(&mut self, alias: &'static str, via: Via) {
        match self.refs.iter_mut().rev().find(|r| r.alias == alias) {
            Some(r) => r.via = via,
            None => self.misuse(format!("no table aliased {alias:?} to bind")),
        }
    }

    /// Appends `alias.tenant_id = ?` (`tenant_id = ?` for the unqualified reference)
    /// bound to the scope's tenant.
    pub(crate) fn tenant(&mut self, alias: &'static str) -> &mut Self {
        let Some(t) = self.tenant_id("a tenant predicate") else {
            return self;
        };
        if !alias.is_empty() {
            self.text.push_str(alias);
            self.text.push('.');
        }
        self.text.push_str("tenant_id = ");
        self.bind(Bind::text(t));
        self.mark(alias, Via::Tenant);
        self
    }

    /// Appends a placeholder bound to the scope's tenant, as the `tenant_id` of the rows the
    /// statement inserts (into its [`Sql::insert_into`] table).
    pub(crate) fn tenant_value(&mut self) -> &mut Self {
        let Some(t) = self.tenant_id("an inserted tenant_id") else {
            return self;
        };
        self.bind(Bind::text(t));
        self.mark("", Via::Tenant);
        self
    }

    /// Appends `alias.tenant_id = other.tenant_id`.
    pub(crate) fn same_tenant(&mut self, alias: &'static str, other: &'static str) -> &mut Self {
        self.text.push_str(alias);
        self.text.push_str(".tenant_id = ");
        self.text.push_str(other);
        self.text.push_str(".tenant_id");
        self.mark(alias, Via::Same(other));
        self
    }

    /// The owner link of the latest reference aliased `alias`: `(column, owner table, key)`.
    fn owner_of(&mut self, alias: &'static str) -> Option<(&'static str, Tbl, &'static str)> {
        let table = self.refs.iter().rev().find(|r| r.alias == alias)?.table;
        let o = table.owner();
        if o.is_none() {
            self.misuse(format!("{} rows have no owner row", table.name()));
        }
        o
    }

    /// Appends `alias.column = owner.key`: the rows of `alias` belong to the row `owner`
    /// (its group, user or administrator, [`Tbl::owner`]).
    pub(crate) fn owned_by(&mut self, alias: &'static str, owner: &'static str) -> &mut Self {
        let Some((column, _, key)) = self.owner_of(alias) else {
            return self;
        };
        self.text
            .push_str(&format!("{alias}.{column} = {owner}.{key}"));
        self.mark(alias, Via::Owner(owner));
        self
    }

    /// Appends `alias.column = (SELECT own.key FROM owner own WHERE own.key = ? AND
    /// own.tenant_id = ?)`: the rows of `alias` belong to the scope tenant's owner row whose
    /// key is `key`. Keeps the statement on the index of `alias.column` (a scalar
    /// sub-query, not a join).
    pub(crate) fn owned_by_key(&mut self, alias: &'static str, key: Bind) -> &mut Self {
        let Some((column, owner, k)) = self.owner_of(alias) else {
            return self;
        };
        self.text
            .push_str(&format!("{alias}.{column} = (SELECT own.{k} FROM "));
        self.table(owner, "own");
        self.text.push_str(&format!(" WHERE own.{k} = "));
        self.bind(key);
        self.text.push_str(" AND ");
        self.tenant("own");
        self.text.push(')');
        self.mark(alias, Via::Owner("own"));
        self
    }

    /// Records `alias` as a derived table (`(SELECT … FROM table inner …) alias`) of the
    /// rows of the reference `inner`, of table `table`; writes nothing.
    pub(crate) fn rows_of(
        &mut self,
        table: Tbl,
        alias: &'static str,
        inner: &'static str,
    ) -> &mut Self {
        self.refs.push(Ref {
            table,
            alias,
            via: Via::Rows(inner),
        });
        self
    }

    /// Adopts references that a sub-expression built apart ([`Sql::fragment`]) names; its
    /// text is written by the caller, as many times as it appears.
    pub(crate) fn adopt(&mut self, refs: &[Ref]) -> &mut Self {
        for r in refs {
            if !self.refs.contains(r) {
                self.refs.push(*r);
            }
        }
        self
    }

    /// A builder for a sub-expression of this statement that is assembled as text before
    /// it is written (a value a filter compares, for one): same dialect and scope, no
    /// binds. [`Sql::into_fragment`] gives its text and references.
    pub(crate) fn fragment(&self) -> Sql<'t> {
        Sql::new(self.d, self.scope, self.writes)
    }

    /// The text and table references of a fragment. Errors: `Backend` when it binds a
    /// value (placeholders are numbered by position in the whole statement) or misused the
    /// builder.
    pub(crate) fn into_fragment(self) -> StoreResult<(String, Vec<Ref>)> {
        if let Some(e) = self.error {
            return Err(refused(&self.text, &e));
        }
        if !self.binds.is_empty() {
            return Err(refused(&self.text, "a fragment binds no value"));
        }
        Ok((self.text, self.refs))
    }

    /// Appends ` FOR UPDATE` in a write transaction of a back end that locks rows read to
    /// write over them (PostgreSQL); nothing otherwise.
    pub(crate) fn lock_rows(&mut self) -> &mut Self {
        if self.writes {
            self.text.push_str(self.d.words().lock_rows);
        }
        self
    }

    /// Appends ` FOR SHARE` in a write transaction of a back end with row locks (see
    /// [`crate::dialect::Words::share_rows`]).
    pub(crate) fn share_rows(&mut self) -> &mut Self {
        if self.writes {
            self.text.push_str(self.d.words().share_rows);
        }
        self
    }

    /// The tenant whose rows the statement works on, when it works on one tenant's.
    pub(crate) fn tenant_scope(&self) -> Option<&'t str> {
        match self.scope {
            Scope::Tenant(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the statement changes rows: it begins `INSERT`, `UPDATE` or `DELETE`.
    pub(crate) fn changes_rows(&self) -> bool {
        let head = self.text.trim_start();
        ["INSERT", "UPDATE", "DELETE"].iter().any(|k| {
            head.get(..k.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(k))
        })
    }

    /// Appends ` LIMIT … OFFSET …` (`limit` None: all rows): literals or binds as the back
    /// end prepares best ([`crate::dialect::Words::literal_pages`]).
    pub(crate) fn page(&mut self, limit: Option<u64>, offset: u64) -> &mut Self {
        if self.d.words().literal_pages {
            let limit = limit.map_or(-1, clamp);
            self.text
                .push_str(&format!(" LIMIT {limit} OFFSET {}", clamp(offset)));
        } else {
            self.text.push_str(" LIMIT ");
            self.bind(limit.map_or(Bind::Null(Ty::Int), Bind::count));
            self.text.push_str(" OFFSET ");
            self.bind(Bind::count(offset));
        }
        self
    }

    /// Appends `x IN (?, …)` (one placeholder per item) or `x = ANY(?)` (one array), as the
    /// back end binds lists ([`crate::dialect::Words::binds_arrays`]). Callers pass at most
    /// [`Sql::list_room`] items.
    pub(crate) fn in_texts(&mut self, x: &str, items: &[String]) -> &mut Self {
        let each = || items.iter().map(|s| Bind::text(s.as_str()));
        self.in_list(x, each, || Bind::Texts(items.to_vec()))
    }

    /// [`Sql::in_texts`] for integers.
    pub(crate) fn in_ints(&mut self, x: &str, items: &[i64]) -> &mut Self {
        self.in_list(
            x,
            || items.iter().copied().map(Bind::Int),
            || Bind::Ints(items.to_vec()),
        )
    }

    fn in_list<I: IntoIterator<Item = Bind>>(
        &mut self,
        x: &str,
        each: impl FnOnce() -> I,
        array: impl FnOnce() -> Bind,
    ) -> &mut Self {
        self.text.push_str(x);
        if self.d.words().binds_arrays {
            self.text.push_str(" = ANY(");
            self.bind(array());
        } else {
            self.text.push_str(" IN (");
            self.binds(each());
        }
        self.text.push(')');
        self
    }

    /// How many list items one statement of `d` takes when `reserved` other values are
    /// bound: every item in one statement with arrays, else what [`MAX_BINDS`] leaves.
    pub(crate) fn list_room(d: &dyn Dialect, reserved: usize) -> usize {
        if d.words().binds_arrays {
            usize::MAX
        } else {
            MAX_BINDS.saturating_sub(reserved).max(1)
        }
    }

    /// Marks the statement as one that may scan or change many rows (see [`Stmt::long`]).
    pub(crate) fn long(&mut self) -> &mut Self {
        self.long = true;
        self
    }

    /// Marks the statement as one that may violate a unique constraint (see
    /// [`Stmt::conflicts`]).
    pub(crate) fn may_conflict(&mut self) -> &mut Self {
        self.conflicts = true;
        self
    }

    /// The statement, once the tenant rule holds (see the module documentation); the
    /// builder is left empty.
    ///
    /// Errors: `Backend` naming the statement when a tenant table is named outside the
    /// layer, a tenant table's reference is not bound to the tenant (outside an
    /// [`Across`] scope), or the builder was misused.
    pub(crate) fn finish(&mut self) -> StoreResult<Stmt> {
        if let Some(e) = &self.error {
            return Err(refused(&self.text, e));
        }
        check::verify(&self.text, &self.refs, self.scope).map_err(|e| refused(&self.text, &e))?;
        Ok(Stmt {
            sql: std::mem::take(&mut self.text),
            binds: std::mem::take(&mut self.binds),
            long: self.long,
            conflicts: self.conflicts,
        })
    }
}

impl<'t> AsMut<Sql<'t>> for Sql<'t> {
    fn as_mut(&mut self) -> &mut Sql<'t> {
        self
    }
}

fn refused(sql: &str, why: &str) -> StoreError {
    StoreError::Backend(format!("statement refused: {why}: {sql}"))
}

#[cfg(test)]
mod tests;
