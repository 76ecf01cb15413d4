//! Users with their emails (the `user_emails` index rows), and SCIM list queries of users
//! and groups.

use super::run::StoreTx;
use crate::exec::Exec;
use crate::filter::{is_point_lookup, Kind, Translator};
use crate::keys::{external_id_key, user_name_key};
use crate::rows::{read_row, user_of};
use crate::sql::{Bind, Row, Scope, Sql, Tbl, MAX_BINDS};
use scim_proto::filter::Filter;
use scimd_directory::store::{EmailKey, ListQuery, StoreError, StoreResult, UserRecord};
use std::collections::HashMap;

/// Whether a list of `kind` with `filter` from row `offset` runs in microseconds whatever
/// the size of the directory (a point lookup, see [`is_point_lookup`], on an early page),
/// so that it need not leave the async worker, nor wait for a turn to scan.
pub(crate) fn runs_inline(kind: Kind, filter: Option<&Filter>, offset: u64) -> bool {
    offset < 1000 && filter.is_some_and(|f| is_point_lookup(kind, f))
}

/// `EXPLAIN` (`prefix`) of the page statement of list query `q` of tenant `t` (users, or
/// groups for the Group schema), run on `x`: the plan's lines, from column `column`.
pub(crate) async fn explain<E: Exec>(
    x: E,
    prefix: &str,
    column: &str,
    t: &str,
    q: &ListQuery<'_>,
) -> StoreResult<Vec<String>> {
    let mut tx = StoreTx::new(x);
    let kind = if q.schema.name == "Group" {
        Kind::Groups
    } else {
        Kind::Users
    };
    let mut s = tx.of(t);
    s.sql(prefix);
    let rows = tx.rows(list_statement(s, kind, q, false)?).await?;
    rows.into_iter().map(|mut r| r.text(column)).collect()
}

/// A list query's statement: the page, or `SELECT COUNT(*)` when `count`. Point lookups
/// ([`is_point_lookup`], on an early page) run on the async worker, other lists may scan.
fn list_statement<'t>(
    mut s: Sql<'t>,
    kind: Kind,
    q: &ListQuery<'_>,
    count: bool,
) -> StoreResult<Sql<'t>> {
    if !runs_inline(kind, q.filter, q.offset) {
        s.long();
    }
    let t = Translator {
        kind,
        schema: q.schema,
        d: s.dialect(),
    };
    t.list(&mut s, q, count)?;
    Ok(s)
}

impl<E: Exec> StoreTx<E> {
    /// The row of `table` (users or groups, alias `r`, columns `cols`) whose `key` matches,
    /// locked for the rest of the write transaction.
    pub(super) async fn locked_row(
        &mut self,
        t: &str,
        cols: &str,
        table: Tbl,
        key: (&str, Bind),
    ) -> StoreResult<Option<Row>> {
        let mut s = self.q().select(t, cols, (table, "r"), [key]);
        self.row(s.lock_rows()).await
    }

    /// The rows (columns `cols`) of `table` whose `id` is one of `ids`, in `seq` order.
    pub(super) async fn rows_by_ids(
        &mut self,
        t: &str,
        cols: &str,
        table: Tbl,
        ids: &[String],
    ) -> StoreResult<Vec<Row>> {
        let q = self.q();
        self.batched(ids, 1, |chunk| {
            let mut s = q.select(t, cols, (table, ""), []);
            s.sql(" AND ").in_texts("id", chunk).sql(" ORDER BY seq");
            s
        })
        .await
    }

    /// A list query's total and page rows.
    pub(super) async fn list(
        &mut self,
        kind: Kind,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<Row>)> {
        let page = list_statement(self.of(tenant_id), kind, q, false);
        let count = list_statement(self.of(tenant_id), kind, q, true);
        self.page_and_total((q.offset, q.limit, q.max_bytes), page, count)
            .await
    }

    /// Emails of users by `seq`, in insertion order, read in `scope` (the users' tenant;
    /// every tenant for an export).
    async fn emails_of(
        &mut self,
        scope: Scope<'_>,
        seqs: &[i64],
    ) -> StoreResult<HashMap<i64, Vec<EmailKey>>> {
        let q = self.q();
        let cols = "user_seq, value_folded, kind, is_primary";
        let rows = self
            .batched(seqs, 1, |chunk| {
                let mut s = q.select(scope, cols, (Tbl::UserEmails, ""), []);
                let and = if let Scope::Tenant(_) = scope {
                    " AND "
                } else {
                    " WHERE "
                };
                s.sql(and).in_ints("user_seq", chunk).sql(" ORDER BY seq");
                s
            })
            .await?;
        let mut out: HashMap<i64, Vec<EmailKey>> = HashMap::new();
        for mut row in rows {
            let e = read_row!(row => EmailKey { value_folded, kind, primary = "is_primary" });
            out.entry(row.int("user_seq")?).or_default().push(e);
        }
        Ok(out)
    }

    /// Users of `rows` (with their `seq`) and their emails, read in `scope`.
    pub(super) async fn users_with_seq(
        &mut self,
        scope: Scope<'_>,
        rows: Vec<Row>,
    ) -> StoreResult<Vec<(i64, UserRecord)>> {
        let mut users = rows
            .into_iter()
            .map(user_of)
            .collect::<StoreResult<Vec<_>>>()?;
        if users.is_empty() {
            return Ok(users);
        }
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let mut emails = self.emails_of(scope, &seqs).await?;
        for (seq, u) in &mut users {
            u.emails = emails.remove(seq).unwrap_or_default();
        }
        Ok(users)
    }

    /// Users of `rows` of tenant `t`, with their emails.
    pub(super) async fn users_with_emails(
        &mut self,
        t: &str,
        rows: Vec<Row>,
    ) -> StoreResult<Vec<UserRecord>> {
        let users = self.users_with_seq(Scope::Tenant(t), rows).await?;
        Ok(users.into_iter().map(|(_, u)| u).collect())
    }

    /// The user of `row` of tenant `t`, with its emails.
    pub(super) async fn one_user(
        &mut self,
        t: &str,
        row: Option<Row>,
    ) -> StoreResult<Option<UserRecord>> {
        let rows = row.into_iter().collect();
        Ok(self.users_with_emails(t, rows).await?.pop())
    }

    /// Inserts the emails of the user `seq`, in order.
    async fn insert_emails(&mut self, t: &str, seq: i64, emails: &[EmailKey]) -> StoreResult<()> {
        let cols = "tenant_id, user_seq, value_folded, kind, is_primary";
        for chunk in emails.chunks(MAX_BINDS / 5) {
            let rows = chunk.iter().map(|e| {
                let kind = Bind::opt_text(e.kind.as_deref());
                [
                    Bind::Int(seq),
                    Bind::text(&e.value_folded),
                    kind,
                    Bind::Bool(e.primary),
                ]
            });
            let s = self.q().insert(t, Tbl::UserEmails, cols, rows);
            self.run(s).await?;
        }
        Ok(())
    }
}

/// The columns a user write sets, in the order of [`user_values`].
const USER_WRITE_COLS: &str = "user_name, user_name_folded, external_id, display_name, state, \
     source, version, created, last_modified, doc, doc_folded";

/// The values of [`USER_WRITE_COLS`] for `u`.
fn user_values(u: &UserRecord) -> [Bind; 11] {
    [
        Bind::text(&u.user_name),
        Bind::Text(user_name_key(&u.user_name)),
        Bind::opt_text(u.external_id.as_deref().map(external_id_key).as_deref()),
        Bind::opt_text(u.display_name.as_deref()),
        Bind::text(u.state.as_str()),
        Bind::text(u.source.as_str()),
        Bind::Int(u.version),
        Bind::Time(u.created),
        Bind::Time(u.last_modified),
        Bind::Json(u.doc.to_string()),
        Bind::Jsonb(u.doc_folded.to_string()),
    ]
}

pub(super) async fn insert_user<E: Exec>(tx: &mut StoreTx<E>, u: &UserRecord) -> StoreResult<()> {
    let cols = format!("id, tenant_id, {USER_WRITE_COLS}");
    let row = std::iter::once(Bind::text(&u.id)).chain(user_values(u));
    let mut s = tx.q().insert(&*u.tenant_id, Tbl::Users, &cols, [row]);
    s.sql(" RETURNING seq").may_conflict();
    let seq = tx.int(s).await?;
    tx.insert_emails(&u.tenant_id, seq, &u.emails).await
}

pub(super) async fn update_user<E: Exec>(tx: &mut StoreTx<E>, u: &UserRecord) -> StoreResult<()> {
    let t = &*u.tenant_id;
    let set = USER_WRITE_COLS.split(", ").zip(user_values(u));
    let mut s = tx
        .q()
        .update(t, Tbl::Users, set, [("id", Bind::text(&u.id))]);
    s.sql(" RETURNING seq").may_conflict();
    let Some(mut row) = tx.row(s).await? else {
        let id = &u.id;
        return Err(StoreError::Backend(format!(
            "update_user: no user {id} in tenant {t}"
        )));
    };
    let seq = row.first_int()?;
    let s = tx
        .q()
        .delete(t, Tbl::UserEmails, [("user_seq", Bind::Int(seq))]);
    tx.run(s).await?;
    tx.insert_emails(t, seq, &u.emails).await
}

/// `(user id, group id, group displayName)` of the memberships of `user_ids` in the
/// tenant's groups, the built-in group excluded.
pub(super) async fn groups_of_users<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    user_ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    let q = tx.q();
    let rows = tx
        .batched(user_ids, 1, |chunk| {
            let mut s = q.of(t);
            s.sql("SELECT gm.member_id, g.id, g.display_name FROM ")
                .table(Tbl::GroupMembers, "gm")
                .sql(" JOIN ")
                .table(Tbl::Groups, "g")
                .sql(" ON ")
                .owned_by("gm", "g")
                .sql(" WHERE g.builtin = ")
                .sql(q.d.false_())
                .sql(" AND ")
                .tenant("g")
                .sql(" AND ")
                .in_texts("gm.member_id", chunk)
                .sql(" ORDER BY gm.member_id, g.display_name_folded, g.seq");
            s
        })
        .await?;
    let triple = |mut r: Row| Ok((r.text("member_id")?, r.text("id")?, r.text("display_name")?));
    rows.into_iter().map(triple).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_proto::filter::parse as parse_filter;

    #[test]
    fn point_lookups_are_recognised() {
        let point = |kind: Kind, f: Option<&str>, offset: u64| {
            let f = f.map(|f| parse_filter(f).unwrap());
            runs_inline(kind, f.as_ref(), offset)
        };
        for f in [
            r#"userName eq "a""#,
            r#"externalId eq "a""#,
            r#"id eq "a""#,
            r#"emails.value eq "a@x""#,
            r#"emails[type eq "work"].value eq "a@x""#,
            r#"emails[type eq "work" and value eq "a@x"]"#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            r#"userName eq "a" and title co "x""#,
        ] {
            assert!(point(Kind::Users, Some(f), 0), "{f}");
        }
        for f in [
            r#"userName ne "a""#,
            r#"userName sw "a""#,
            r#"userName eq null"#,
            r#"emails.value eq null"#,
            r#"displayName eq "a""#,
            r#"userName eq "a" or title co "x""#,
            r#"title eq "a""#,
            r#"emails[type eq "work"]"#,
            r#"emails[value co "a"]"#,
            r#"emails[value eq "a" and display eq "b"]"#,
            r#"emails[value eq "a" and primary eq false]"#,
            r#"not (userName eq "a")"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1""#,
        ] {
            assert!(!point(Kind::Users, Some(f), 0), "{f}");
        }
        assert!(point(Kind::Groups, Some(r#"displayName eq "a""#), 0));
        assert!(point(Kind::Groups, Some(r#"externalId eq "a""#), 0));
        assert!(!point(Kind::Groups, Some(r#"userName eq "a""#), 0));
        assert!(!point(Kind::Groups, Some(r#"members.value eq "a""#), 0));
        assert!(!point(Kind::Users, None, 0));
        assert!(!point(Kind::Users, Some(r#"userName eq "a""#), 5000));
    }
}
