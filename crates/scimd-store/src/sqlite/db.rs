//! The SQLite store's query layer: statements built as SQL text plus bound values, run on a
//! `rusqlite` connection **in the calling thread**, results copied into owned [`Row`]s.
//!
//! Why not sqlx here (it still migrates the file and serves PostgreSQL): sqlx's SQLite driver
//! runs each connection on a thread of its own and sends it every statement over a channel,
//! so each statement costs two thread wake-ups. A SCIM request runs several statements; on
//! a 2-core machine the profile of a filter GET was 65% kernel time in context switches
//! (docs/performance.md). Called directly, an indexed lookup costs microseconds.
//!
//! Statements are prepared through the connection's statement cache (the SQL text is the
//! key), so the fixed statements of the store are parsed once per connection.

use crate::common::backend;
use crate::filter::{Bind, Sink};
use crate::timefmt;
use rusqlite::types::{FromSql, Value, ValueRef};
use rusqlite::Connection;
use scimd_directory::store::{ConflictTarget, StoreError, StoreResult};
use std::sync::Arc;

/// Maps a database error: a unique-constraint violation becomes `Conflict` naming what is
/// duplicated (`userName`, `displayName`, `attribute name`, `token name`, `name`, `id`),
/// `SQLITE_BUSY` / `SQLITE_LOCKED` (a lock held by another process past the busy timeout)
/// `Contention`, anything else `Backend`.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let unique = f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY;
        if unique {
            let m = msg.as_deref().unwrap_or("");
            return match conflict_target(m) {
                Some(what) => StoreError::Conflict(what),
                None => StoreError::Backend(format!("unknown unique constraint: {m}")),
            };
        }
    }
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            // Another process (e.g. `scimd admin …`) held the lock past the busy timeout:
            // nothing was written and the request may be retried (503).
            return StoreError::Contention(e.to_string());
        }
    }
    StoreError::Backend(e.to_string())
}

/// What the unique constraint named in SQLite's message (`UNIQUE constraint failed:
/// users.tenant_id, users.user_name_folded`) protects; `None` for one the store does not know.
fn conflict_target(m: &str) -> Option<ConflictTarget> {
    let cols = m.rsplit(": ").next().unwrap_or(m);
    Some(match cols {
        "users.tenant_id, users.user_name_folded" => ConflictTarget::UserName,
        "groups.tenant_id, groups.display_name_folded" => ConflictTarget::DisplayName,
        "attributes.tenant_id, attributes.name_folded" => ConflictTarget::AttributeName,
        "tokens.tenant_id, tokens.name" => ConflictTarget::TokenName,
        "tokens.secret_sha256" => ConflictTarget::TokenSecret,
        "tenants.name" => ConflictTarget::TenantName,
        "admins.tenant_id, admins.username_folded" => ConflictTarget::AdminUsername,
        "group_members.group_id, group_members.member_id" => ConflictTarget::Membership,
        "tenants.id" | "tokens.id" | "users.id" | "groups.id" | "admins.id"
        | "sessions.id_sha256" => ConflictTarget::Id,
        _ => return None,
    })
}

/// Runs a statement without parameters or result rows (`BEGIN`, `COMMIT`, `ROLLBACK`)
/// through the statement cache, so it is parsed once per connection.
pub(crate) fn exec(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// A value that can be bound to a placeholder.
pub(crate) trait IntoValue {
    /// The owned SQLite value.
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}
impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Text(self.to_string())
    }
}
impl IntoValue for String {
    fn into_value(self) -> Value {
        Value::Text(self)
    }
}
impl IntoValue for &String {
    fn into_value(self) -> Value {
        Value::Text(self.clone())
    }
}
impl IntoValue for i64 {
    fn into_value(self) -> Value {
        Value::Integer(self)
    }
}
impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Real(self)
    }
}
impl IntoValue for &[u8] {
    fn into_value(self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl IntoValue for &Vec<u8> {
    fn into_value(self) -> Value {
        Value::Blob(self.clone())
    }
}
impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        self.map_or(Value::Null, IntoValue::into_value)
    }
}
impl IntoValue for &Option<String> {
    fn into_value(self) -> Value {
        self.as_ref()
            .map_or(Value::Null, |s| Value::Text(s.clone()))
    }
}

/// A statement: SQL text with `?` (or `?N`) placeholders and the values bound to them, in
/// order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Qb {
    sql: String,
    binds: Vec<Value>,
}

/// A statement with the SQL `sql` and nothing bound yet.
pub(crate) fn q(sql: impl Into<String>) -> Qb {
    Qb::new(sql)
}

impl Qb {
    /// A statement starting with `sql`.
    pub(crate) fn new(sql: impl Into<String>) -> Qb {
        Qb {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }

    /// Binds the next placeholder already written in the SQL.
    pub(crate) fn bind(mut self, v: impl IntoValue) -> Qb {
        self.binds.push(v.into_value());
        self
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, s: impl AsRef<str>) -> &mut Qb {
        self.sql.push_str(s.as_ref());
        self
    }

    /// Appends a `?` bound to `v`.
    pub(crate) fn push_bind(&mut self, v: impl IntoValue) -> &mut Qb {
        self.sql.push('?');
        self.binds.push(v.into_value());
        self
    }

    /// Appends `?, ?, …`, one placeholder per item, bound to the items.
    pub(crate) fn push_binds<T: IntoValue>(
        &mut self,
        items: impl IntoIterator<Item = T>,
    ) -> &mut Qb {
        for (i, v) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(v);
        }
        self
    }

    /// Runs the statement; returns every row.
    pub(crate) fn fetch_all(&self, c: &Connection) -> StoreResult<Vec<Row>> {
        let mut stmt = c.prepare_cached(&self.sql).map_err(db_err)?;
        let names: Arc<[Box<str>]> = stmt.column_names().into_iter().map(Box::from).collect();
        let n = names.len();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(self.binds.iter()))
            .map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db_err)? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(r.get::<_, Value>(i).map_err(db_err)?);
            }
            out.push(Row {
                names: names.clone(),
                vals,
            });
        }
        Ok(out)
    }

    /// Runs the statement; the first row, if any.
    pub(crate) fn fetch_optional(&self, c: &Connection) -> StoreResult<Option<Row>> {
        Ok(self.fetch_all(c)?.into_iter().next())
    }

    /// Runs the statement; the first column of every row.
    pub(crate) fn scalars<T: FromSql>(&self, c: &Connection) -> StoreResult<Vec<T>> {
        let mut stmt = c.prepare_cached(&self.sql).map_err(db_err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(self.binds.iter()), |r| r.get(0))
            .map_err(db_err)?;
        rows.collect::<Result<Vec<T>, _>>().map_err(db_err)
    }

    /// Runs the statement; the first column of the first row. Errors: `Backend` when there is
    /// no row.
    pub(crate) fn scalar<T: FromSql>(&self, c: &Connection) -> StoreResult<T> {
        self.scalars(c)?
            .into_iter()
            .next()
            .ok_or_else(|| backend(format!("no row returned by: {}", self.sql)))
    }

    /// Runs the statement; the first column of the first row, if any.
    pub(crate) fn scalar_optional<T: FromSql>(&self, c: &Connection) -> StoreResult<Option<T>> {
        Ok(self.scalars(c)?.into_iter().next())
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) fn execute(&self, c: &Connection) -> StoreResult<u64> {
        let mut stmt = c.prepare_cached(&self.sql).map_err(db_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(self.binds.iter()))
            .map_err(db_err)?;
        Ok(n as u64)
    }
}

impl Sink for Qb {
    fn sql(&mut self, s: &str) {
        self.sql.push_str(s);
    }
    fn bind(&mut self, v: Bind) {
        let v = match v {
            Bind::Text(s) => Value::Text(s),
            Bind::Int(i) => Value::Integer(i),
            Bind::Float(f) => Value::Real(f),
            Bind::Time(t) => Value::Text(timefmt::format(t)),
        };
        self.sql.push('?');
        self.binds.push(v);
    }
    /// Integer literals, not parameters: SQLite (3.47 on) reads a bound LIMIT while planning
    /// and marks the statement to be re-prepared whenever that parameter is bound again, so
    /// a cached page statement with `LIMIT ?` was parsed and planned anew on every execution
    /// (9% of a filter GET's CPU in the profile of docs/performance.md). The numbers are
    /// ours (clamped `u64`), never client text.
    fn page(&mut self, limit: u64, offset: u64) {
        use crate::common::clamp;
        self.sql
            .push_str(&format!(" LIMIT {} OFFSET {}", clamp(limit), clamp(offset)));
    }
}

/// One result row, owned: column names (shared by the rows of one result) and values.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    names: Arc<[Box<str>]>,
    vals: Vec<Value>,
}

impl Row {
    /// The value of column `col` as a `T`. Errors: `Backend` when there is no such column or
    /// its value is not a `T` (a NULL for a non-`Option`, text for an integer...).
    pub(crate) fn get<T: FromSql>(&self, col: &str) -> StoreResult<T> {
        let i = self
            .names
            .iter()
            .position(|n| &**n == col)
            .ok_or_else(|| backend(format!("no column {col:?} in the result")))?;
        T::column_result(ValueRef::from(&self.vals[i]))
            .map_err(|e| backend(format!("column {col:?}: {e}")))
    }
}

/// The value of column `col` of `row` (see [`Row::get`]).
pub(crate) fn get<T: FromSql>(row: &Row, col: &str) -> StoreResult<T> {
    row.get(col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int, msg: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(msg.to_string()))
    }

    #[test]
    fn errors_map_to_store_errors() {
        let e = db_err(failure(
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE,
            "UNIQUE constraint failed: users.tenant_id, users.user_name_folded",
        ));
        assert!(matches!(e, StoreError::Conflict(ConflictTarget::UserName)));
        let e = db_err(failure(rusqlite::ffi::SQLITE_BUSY, "database is locked"));
        assert!(matches!(e, StoreError::Contention(_)), "{e:?}");
        let e = db_err(failure(rusqlite::ffi::SQLITE_IOERR, "disk I/O error"));
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
    }
}
