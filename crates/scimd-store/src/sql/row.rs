//! Result rows, owned and back-end neutral: what the executors return and the row mappers
//! read. The typed getters absorb how each back end spells a type: a timestamp is RFC 3339
//! text in SQLite and `timestamptz` in PostgreSQL, a boolean an integer or a `bool`, a
//! document JSON text or a decoded `json`, a list of strings JSON text or `text[]`.
//!
//! Getters move the value out of the row (the row is read once, by one mapper), so a
//! document is parsed from the text the executor copied, never copied again.

use super::Bind;
use crate::timefmt;
use scimd_directory::store::{StoreError, StoreResult};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// NULL (also what a getter leaves behind).
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// A boolean.
    Bool(bool),
    /// An instant.
    Time(OffsetDateTime),
    /// A decoded JSON value.
    Json(Value),
    /// A list of strings.
    Texts(Vec<String>),
}

/// One result row: column names (shared by the rows of a result) and values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    names: Arc<[Box<str>]>,
    vals: Vec<Val>,
}

fn bad(col: &str, want: &str, got: &Val) -> StoreError {
    StoreError::Backend(format!("column {col:?}: expected {want}, found {got:?}"))
}

impl Row {
    /// A row of `vals`, named by `names` (same length).
    pub(crate) fn new(names: Arc<[Box<str>]>, vals: Vec<Val>) -> Row {
        Row { names, vals }
    }

    /// The value of column `col` as `T` reads it ([`Column`]).
    pub(crate) fn get<T: Column>(&mut self, col: &str) -> StoreResult<T> {
        T::read(self, col)
    }

    /// Moves the value of column `col` out. Errors: `Backend` when there is no such column.
    pub(crate) fn take(&mut self, col: &str) -> StoreResult<Val> {
        let i = self
            .names
            .iter()
            .position(|n| &**n == col)
            .ok_or_else(|| StoreError::Backend(format!("no column {col:?} in the result")))?;
        Ok(std::mem::replace(&mut self.vals[i], Val::Null))
    }

    /// The integer in the first column (`SELECT COUNT(*) …`, `RETURNING seq`).
    pub(crate) fn first_int(&mut self) -> StoreResult<i64> {
        match self
            .vals
            .first_mut()
            .map(|v| std::mem::replace(v, Val::Null))
        {
            Some(Val::Int(i)) => Ok(i),
            v => Err(bad("1", "an integer", &v.unwrap_or(Val::Null))),
        }
    }

    /// Text, or NULL.
    pub(crate) fn opt_text(&mut self, col: &str) -> StoreResult<Option<String>> {
        match self.take(col)? {
            Val::Null => Ok(None),
            Val::Text(s) => Ok(Some(s)),
            v => Err(bad(col, "text", &v)),
        }
    }

    /// Text. Errors: `Backend` for NULL or another type.
    pub(crate) fn text(&mut self, col: &str) -> StoreResult<String> {
        self.opt_text(col)?
            .ok_or_else(|| bad(col, "text", &Val::Null))
    }

    /// An integer (a boolean reads as 0 / 1).
    pub(crate) fn int(&mut self, col: &str) -> StoreResult<i64> {
        match self.take(col)? {
            Val::Int(i) => Ok(i),
            Val::Bool(b) => Ok(i64::from(b)),
            v => Err(bad(col, "an integer", &v)),
        }
    }

    /// An integer, or NULL.
    pub(crate) fn opt_int(&mut self, col: &str) -> StoreResult<Option<i64>> {
        match self.take(col)? {
            Val::Null => Ok(None),
            Val::Int(i) => Ok(Some(i)),
            Val::Bool(b) => Ok(Some(i64::from(b))),
            v => Err(bad(col, "an integer", &v)),
        }
    }

    /// A count (negative reads as 0).
    pub(crate) fn count(&mut self, col: &str) -> StoreResult<u64> {
        Ok(super::count_of(self.int(col)?))
    }

    /// A boolean (SQLite: a non-zero integer is true).
    pub(crate) fn bool(&mut self, col: &str) -> StoreResult<bool> {
        match self.take(col)? {
            Val::Bool(b) => Ok(b),
            Val::Int(i) => Ok(i != 0),
            v => Err(bad(col, "a boolean", &v)),
        }
    }

    /// An instant, or NULL (SQLite: the stored text, see `timefmt`).
    pub(crate) fn opt_time(&mut self, col: &str) -> StoreResult<Option<OffsetDateTime>> {
        match self.take(col)? {
            Val::Null => Ok(None),
            Val::Time(t) => Ok(Some(t)),
            Val::Text(s) => timefmt::parse(&s).map(Some),
            v => Err(bad(col, "a timestamp", &v)),
        }
    }

    /// An instant.
    pub(crate) fn time(&mut self, col: &str) -> StoreResult<OffsetDateTime> {
        self.opt_time(col)?
            .ok_or_else(|| bad(col, "a timestamp", &Val::Null))
    }

    /// A JSON document (SQLite: parsed from its text).
    pub(crate) fn json(&mut self, col: &str) -> StoreResult<Value> {
        self.opt_json(col)?
            .ok_or_else(|| bad(col, "JSON", &Val::Null))
    }

    /// A JSON document, or NULL.
    pub(crate) fn opt_json(&mut self, col: &str) -> StoreResult<Option<Value>> {
        match self.take(col)? {
            Val::Null => Ok(None),
            Val::Json(v) => Ok(Some(v)),
            Val::Text(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| StoreError::Backend(format!("bad stored {col} JSON: {e}"))),
            v => Err(bad(col, "JSON", &v)),
        }
    }

    /// Bytes.
    pub(crate) fn blob(&mut self, col: &str) -> StoreResult<Vec<u8>> {
        match self.take(col)? {
            Val::Blob(b) => Ok(b),
            v => Err(bad(col, "bytes", &v)),
        }
    }

    /// A list of strings (SQLite: JSON text; NULL is the empty list).
    pub(crate) fn texts(&mut self, col: &str) -> StoreResult<Vec<String>> {
        match self.take(col)? {
            Val::Null => Ok(Vec::new()),
            Val::Texts(v) => Ok(v),
            Val::Text(s) => serde_json::from_str(&s)
                .map_err(|e| StoreError::Backend(format!("bad stored {col} list: {e}"))),
            v => Err(bad(col, "a list of strings", &v)),
        }
    }
}

/// A type kept in one column: how a result row's value reads as it (the [`Row`] getter that
/// absorbs the back ends' spellings) and what binds it. Lets a row type be read and written
/// field for column (`crate::rows`).
pub(crate) trait Column: Sized {
    /// The value of column `col`. Errors: `Backend` for a missing column, NULL where a
    /// value is required, or a value of another type.
    fn read(row: &mut Row, col: &str) -> StoreResult<Self>;
    /// The value as a statement binds it.
    fn bind(&self) -> Bind;
}

/// `impl Column` for types read by one getter of [`Row`]; `|v| bind` gives the bound value
/// of `v`, the field.
macro_rules! columns {
    ($($(#[$doc:meta])* $ty:ty: $get:ident, |$v:ident| $bind:expr;)*) => {$(
        $(#[$doc])*
        impl Column for $ty {
            fn read(row: &mut Row, col: &str) -> StoreResult<Self> {
                row.$get(col)
            }
            fn bind(&self) -> Bind {
                let $v = self;
                $bind
            }
        }
    )*};
}

columns! {
    String: text, |s| Bind::text(s);
    Option<String>: opt_text, |s| Bind::opt_text(s.as_deref());
    i64: int, |n| Bind::Int(*n);
    /// A count: a negative stored value reads as 0, a count past `i64` binds clamped.
    u64: count, |n| Bind::count(*n);
    bool: bool, |b| Bind::Bool(*b);
    OffsetDateTime: time, |t| Bind::Time(*t);
    Option<OffsetDateTime>: opt_time, |t| Bind::opt_time(*t);
    /// A JSON document kept as written (PostgreSQL `json`).
    Value: json, |v| Bind::Json(v.to_string());
    Vec<u8>: blob, |b| Bind::Blob(b.clone());
    /// A list of strings (PostgreSQL `text[]`).
    Vec<String>: texts, |v| Bind::Texts(v.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn row(vals: Vec<(&str, Val)>) -> Row {
        let names: Arc<[Box<str>]> = vals.iter().map(|(n, _)| Box::from(*n)).collect();
        Row::new(names, vals.into_iter().map(|(_, v)| v).collect())
    }

    #[test]
    fn getters_read_either_spelling() {
        let t = datetime!(2026-11-30 11:22:33.123456 UTC);
        let mut a = row(vec![
            ("at", Val::Text("2026-11-30T11:22:33.123456Z".into())),
            ("flag", Val::Int(1)),
            ("doc", Val::Text(r#"{"a":1}"#.into())),
            ("list", Val::Text(r#"["x","y"]"#.into())),
            ("none", Val::Null),
        ]);
        let mut b = row(vec![
            ("at", Val::Time(t)),
            ("flag", Val::Bool(true)),
            ("doc", Val::Json(serde_json::json!({"a": 1}))),
            ("list", Val::Texts(vec!["x".into(), "y".into()])),
            ("none", Val::Null),
        ]);
        for r in [&mut a, &mut b] {
            assert_eq!(r.time("at").unwrap(), t);
            assert!(r.bool("flag").unwrap());
            assert_eq!(r.json("doc").unwrap(), serde_json::json!({"a": 1}));
            assert_eq!(r.texts("list").unwrap(), ["x", "y"]);
            assert_eq!(r.texts("none").unwrap(), Vec::<String>::new());
            assert!(r.text("none").is_err(), "NULL is not text");
            assert!(r.int("missing").is_err());
        }
    }
}
