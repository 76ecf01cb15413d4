//! The common statement shapes, written once for every table: rows by key, a delete, an
//! update, an insert. In a tenant's scope each binds the tenant first (`tenant_id = ?`,
//! or the inserted rows' `tenant_id`), so the predicate is always the layer's.

use super::{Bind, Dialect, Scope, Sql, Tbl};

/// Makes the statements of one transaction: its dialect, and whether it writes (row
/// locks). `Copy`, so statement-building closures do not borrow the transaction.
#[derive(Clone, Copy)]
pub(crate) struct Stmts {
    /// The back end's spelling.
    pub(crate) d: &'static dyn Dialect,
    /// A write transaction.
    pub(crate) writes: bool,
}

impl<'t> From<&'t str> for Scope<'t> {
    fn from(tenant: &'t str) -> Scope<'t> {
        Scope::Tenant(tenant)
    }
}

/// A column and the value it is compared with or set to.
pub(crate) type Col<'c> = (&'c str, Bind);

impl Stmts {
    /// An empty statement of `scope`.
    pub(crate) fn of<'t>(self, scope: impl Into<Scope<'t>>) -> Sql<'t> {
        Sql::new(self.d, scope.into(), self.writes)
    }

    /// ` WHERE a.tenant_id = ? AND a.k = ? …` (the tenant in a tenant's scope only; no
    /// `WHERE` when there is nothing to compare).
    fn filter<'c>(s: &mut Sql<'_>, alias: &'static str, keys: impl IntoIterator<Item = Col<'c>>) {
        let dot = if alias.is_empty() { "" } else { "." };
        let mut first = true;
        let mut and = |s: &mut Sql<'_>| {
            s.sql(if first { " WHERE " } else { " AND " });
            first = false;
        };
        if let Scope::Tenant(_) = s.scope {
            and(s);
            s.tenant(alias);
        }
        for (k, v) in keys {
            and(s);
            s.sql(alias).sql(dot).sql(k).sql(" = ").bind(v);
        }
    }

    /// `SELECT cols FROM table alias WHERE …` ([`Stmts::filter`]).
    pub(crate) fn select<'t, 'c>(
        self,
        scope: impl Into<Scope<'t>>,
        cols: &str,
        (table, alias): (Tbl, &'static str),
        keys: impl IntoIterator<Item = Col<'c>>,
    ) -> Sql<'t> {
        let mut s = self.of(scope);
        s.sql("SELECT ").sql(cols).sql(" FROM ").table(table, alias);
        Stmts::filter(&mut s, alias, keys);
        s
    }

    /// `DELETE FROM table WHERE …`.
    pub(crate) fn delete<'t, 'c>(
        self,
        scope: impl Into<Scope<'t>>,
        table: Tbl,
        keys: impl IntoIterator<Item = Col<'c>>,
    ) -> Sql<'t> {
        let mut s = self.of(scope);
        s.sql("DELETE FROM ").table(table, "");
        Stmts::filter(&mut s, "", keys);
        s
    }

    /// `UPDATE table SET c = ?, … WHERE …`.
    pub(crate) fn update<'t, 'c>(
        self,
        scope: impl Into<Scope<'t>>,
        table: Tbl,
        set: impl IntoIterator<Item = Col<'c>>,
        keys: impl IntoIterator<Item = Col<'c>>,
    ) -> Sql<'t> {
        let mut s = self.of(scope);
        s.sql("UPDATE ").table(table, "").sql(" SET ");
        for (i, (c, v)) in set.into_iter().enumerate() {
            s.sql(if i == 0 { "" } else { ", " })
                .sql(c)
                .sql(" = ")
                .bind(v);
        }
        Stmts::filter(&mut s, "", keys);
        s
    }

    /// `INSERT INTO table (cols) VALUES (…), …`: one row per item of `rows`, each giving
    /// the values of `cols` (`a, b, c`) but `tenant_id`, which the layer binds to the
    /// scope's tenant. A row with too few or too many values is a misuse `finish` reports.
    pub(crate) fn insert<'t, R: IntoIterator<Item = Bind>>(
        self,
        scope: impl Into<Scope<'t>>,
        table: Tbl,
        cols: &str,
        rows: impl IntoIterator<Item = R>,
    ) -> Sql<'t> {
        let mut s = self.of(scope);
        s.insert_into(table, cols).sql("VALUES ");
        let names: Vec<&str> = cols.split(", ").collect();
        for (r, row) in rows.into_iter().enumerate() {
            s.sql(if r == 0 { "(" } else { ", (" });
            let mut values = row.into_iter();
            for (i, name) in names.iter().enumerate() {
                s.sql(if i == 0 { "" } else { ", " });
                if *name == "tenant_id" {
                    s.tenant_value();
                    continue;
                }
                match values.next() {
                    Some(v) => {
                        s.bind(v);
                    }
                    None => s.misuse(format!("no value for column {name}")),
                }
            }
            if values.next().is_some() {
                s.misuse("more values than columns".into());
            }
            s.sql(")");
        }
        s
    }
}
