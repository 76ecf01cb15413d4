//! The PostgreSQL executor: statements run on the transaction's pooled sqlx connection
//! (prepared and cached by sqlx per statement text), rows decoded by column type into
//! owned [`Row`]s.
//!
//! A statement that may violate a unique constraint ([`Stmt::conflicts`]) runs inside a
//! savepoint: when it fails (a `Conflict`), only it is rolled back and the transaction
//! goes on, as after a failed statement in SQLite.

use crate::dialect::Dialect;
use crate::exec::Exec;
use crate::schema::conflict_by_name;
use crate::sql::row::Val;
use crate::sql::{Bind, Row, Stmt, Ty};
use scimd_directory::store::{StoreError, StoreResult, Unwritable};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Column, Postgres, Row as _, Transaction, TypeInfo, ValueRef};
use std::sync::Arc;
use time::OffsetDateTime;

/// Advisory-lock keys of [`crate::exec::Turns`]: first-start initialisation, coalescing.
const BOOTSTRAP_LOCK: i64 = 0x5c1d_b007;
const COALESCING_LOCK: i64 = 0x5c1d_c0a1;

/// Maps a database error: a unique violation becomes `Conflict` with the target of the
/// violated constraint (`crate::schema`), a serialization failure or deadlock
/// `Contention`, a write in a read-only transaction (`25006`: a read-only replica,
/// `default_transaction_read_only`) or a full disk (`53100`) `Unwritable`, a statement
/// cancelled by `statement_timeout` `Timeout`, anything else
/// `Backend`.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        match d.code().as_deref() {
            Some("23505") => {
                let c = d.constraint().unwrap_or_default();
                return match conflict_by_name(c) {
                    Some(what) => StoreError::Conflict(what),
                    None => StoreError::Backend(format!(
                        "unknown unique constraint {c:?}: {}",
                        d.message()
                    )),
                };
            }
            Some("40001") | Some("40P01") => {
                return StoreError::Contention(d.message().to_string());
            }
            Some("25006") => {
                return StoreError::Unwritable(Unwritable::ReadOnly, d.message().to_string());
            }
            Some("53100") => {
                return StoreError::Unwritable(Unwritable::Full, d.message().to_string());
            }
            // query_canceled: `statement_timeout` (the executor adds the limit it knows).
            Some("57014") if d.message().contains("statement timeout") => {
                return StoreError::Timeout(None);
            }
            _ => {}
        }
    }
    StoreError::Backend(e.to_string())
}

/// Truncates to the microsecond PostgreSQL keeps.
fn micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// `s` as a sqlx query with its values bound.
fn query(s: &Stmt) -> Query<'_, Postgres, PgArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(s.sql.as_str()));
    for b in &s.binds {
        q = match b {
            Bind::Text(v) | Bind::Json(v) | Bind::Jsonb(v) => q.bind(v.as_str()),
            Bind::Int(i) => q.bind(*i),
            Bind::Float(f) => q.bind(*f),
            Bind::Bool(v) => q.bind(*v),
            Bind::Time(t) => q.bind(micros(*t)),
            Bind::Blob(v) => q.bind(v.as_slice()),
            Bind::Texts(v) => q.bind(v.as_slice()),
            Bind::Ints(v) => q.bind(v.as_slice()),
            Bind::Null(Ty::Text | Ty::Json) => q.bind(None::<String>),
            Bind::Null(Ty::Int) => q.bind(None::<i64>),
            Bind::Null(Ty::Time) => q.bind(None::<OffsetDateTime>),
        };
    }
    q
}

fn decode<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    row: &'r PgRow,
    i: usize,
    wrap: impl FnOnce(T) -> Val,
) -> StoreResult<Val> {
    Ok(row
        .try_get::<Option<T>, _>(i)
        .map_err(db_err)?
        .map_or(Val::Null, wrap))
}

/// One column of `row` as a [`Val`], by its PostgreSQL type.
fn value(row: &PgRow, i: usize) -> StoreResult<Val> {
    let ty = row.columns()[i].type_info().name().to_string();
    match ty.as_str() {
        "INT8" => decode::<i64>(row, i, Val::Int),
        "INT4" => decode::<i32>(row, i, |v| Val::Int(i64::from(v))),
        "INT2" => decode::<i16>(row, i, |v| Val::Int(i64::from(v))),
        "BOOL" => decode::<bool>(row, i, Val::Bool),
        "FLOAT8" => decode::<f64>(row, i, Val::Real),
        "TIMESTAMPTZ" => decode::<OffsetDateTime>(row, i, Val::Time),
        "JSON" | "JSONB" => decode::<Json<serde_json::Value>>(row, i, |v| Val::Json(v.0)),
        "BYTEA" => decode::<Vec<u8>>(row, i, Val::Blob),
        "TEXT[]" => decode::<Vec<String>>(row, i, Val::Texts),
        _ => decode::<String>(row, i, Val::Text),
    }
}

/// Bytes of the values of `row` as PostgreSQL sent them (text, JSON, bytes ...).
fn raw_bytes(row: &PgRow) -> usize {
    (0..row.len())
        .filter_map(|i| row.try_get_raw(i).ok())
        .filter(|v| !v.is_null())
        .map(|v| v.as_bytes().map_or(0, <[u8]>::len))
        .sum()
}

/// The rows of `rows`, owned and typed.
fn rows(rows: Vec<PgRow>) -> StoreResult<Vec<Row>> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let names: Arc<[Box<str>]> = first
        .columns()
        .iter()
        .map(|c| Box::from(c.name()))
        .collect();
    rows.iter()
        .map(|r| {
            let vals = (0..names.len())
                .map(|i| value(r, i))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Row::new(names.clone(), vals))
        })
        .collect()
}

/// The executor of a PostgreSQL transaction. Dropping it without `commit` rolls back.
pub(crate) struct PgExec {
    tx: Transaction<'static, Postgres>,
    /// A write transaction: reads of rows to write over lock them (`FOR UPDATE`).
    write: bool,
    /// The connections' `statement_timeout`, when the store set it (not the URL).
    timeout: Option<std::time::Duration>,
}

impl PgExec {
    /// An executor on the transaction `tx` (`write` for a write transaction) of a pool
    /// whose `statement_timeout` is `timeout` when known.
    pub(super) fn new(
        tx: Transaction<'static, Postgres>,
        write: bool,
        timeout: Option<std::time::Duration>,
    ) -> PgExec {
        PgExec { tx, write, timeout }
    }

    /// `e`, with the statement time limit when it is a `Timeout`.
    fn timed(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Timeout(None) => StoreError::Timeout(self.timeout),
            e => e,
        }
    }

    /// The connection.
    pub(super) fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    async fn simple(&mut self, sql: &'static str) -> StoreResult<()> {
        sqlx::query(sql)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Opens the savepoint a statement that may conflict runs in (see the module).
    async fn savepoint(&mut self, s: &Stmt) -> StoreResult<()> {
        if s.conflicts {
            self.simple("SAVEPOINT scimd_statement").await?;
        }
        Ok(())
    }

    /// Closes the savepoint of [`PgExec::savepoint`]: released after success, rolled back
    /// to after a failure; returns the statement's result.
    async fn settle<T>(&mut self, s: &Stmt, r: Result<T, sqlx::Error>) -> StoreResult<T> {
        if s.conflicts {
            self.simple(if r.is_ok() {
                "RELEASE SAVEPOINT scimd_statement"
            } else {
                "ROLLBACK TO SAVEPOINT scimd_statement"
            })
            .await?;
        }
        r.map_err(db_err)
    }
}

impl Exec for PgExec {
    fn dialect(&self) -> &'static dyn Dialect {
        &super::dialect::PgDialect
    }

    fn writes(&self) -> bool {
        self.write
    }

    async fn fetch(&mut self, s: &Stmt) -> StoreResult<Vec<Row>> {
        self.savepoint(s).await?;
        let r = query(s).fetch_all(&mut *self.tx).await;
        rows(self.settle(s, r).await.map_err(|e| self.timed(e))?)
    }

    async fn fetch_within(&mut self, s: &Stmt, max_bytes: usize) -> StoreResult<(Vec<Row>, bool)> {
        use futures_util::TryStreamExt;
        self.savepoint(s).await?;
        let r = async {
            let mut stream = query(s).fetch(&mut *self.tx);
            let (mut out, mut bytes) = (Vec::new(), 0usize);
            while let Some(row) = stream.try_next().await? {
                if bytes >= max_bytes {
                    return Ok((out, true));
                }
                bytes = bytes.saturating_add(raw_bytes(&row));
                out.push(row);
            }
            Ok((out, false))
        }
        .await;
        let (found, cut) = self.settle(s, r).await.map_err(|e| self.timed(e))?;
        Ok((rows(found)?, cut))
    }

    async fn execute(&mut self, s: &Stmt) -> StoreResult<u64> {
        self.savepoint(s).await?;
        let r = query(s).execute(&mut *self.tx).await;
        let done = self.settle(s, r).await.map_err(|e| self.timed(e))?;
        Ok(done.rows_affected())
    }

    async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await.map_err(db_err)
    }

    async fn serialise(&mut self, what: crate::exec::Turns) -> StoreResult<()> {
        let key = match what {
            crate::exec::Turns::Bootstrap => BOOTSTRAP_LOCK,
            crate::exec::Turns::Coalescing => COALESCING_LOCK,
        };
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
