//! Users, their emails, and SCIM list queries of users and groups.

use super::StoreTx;
use crate::exec::Exec;
use crate::filter::{is_point_lookup, Kind, Translator};
use crate::rows::{user_of, USER_COLS};
use crate::sql::{Bind, Row, Scope, Sql, Tbl, MAX_BINDS};
use scim_proto::filter::fold;
use scimd_directory::store::{EmailKey, ListQuery, StoreError, StoreResult, UserRecord};
use std::collections::HashMap;

/// Whether the list query `q` runs in microseconds whatever the size of the directory (a
/// point lookup, see [`is_point_lookup`], on an early page), so that it need not leave the
/// async worker.
fn runs_inline(kind: Kind, q: &ListQuery<'_>) -> bool {
    q.offset < 1000 && q.filter.is_some_and(|f| is_point_lookup(kind, f))
}

/// A list query's statement: the page, or `SELECT COUNT(*)` when `count`. Point lookups
/// ([`is_point_lookup`], on an early page) run on the async worker, other lists may scan.
pub(crate) fn list_statement<'t>(
    mut s: Sql<'t>,
    kind: Kind,
    q: &ListQuery<'_>,
    count: bool,
) -> StoreResult<Sql<'t>> {
    if !runs_inline(kind, q) {
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
    /// A list query's total and page rows.
    pub(super) async fn list(
        &mut self,
        kind: Kind,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<Row>)> {
        let page = list_statement(self.of(tenant_id), kind, q, false);
        let count = list_statement(self.of(tenant_id), kind, q, true);
        self.page_and_total(q.offset, q.limit, page, count).await
    }

    /// Emails of users by `seq`, in insertion order, read in `scope` (the users' tenant;
    /// every tenant for an export).
    pub(super) async fn emails_of(
        &mut self,
        scope: Scope<'_>,
        seqs: &[i64],
    ) -> StoreResult<HashMap<i64, Vec<EmailKey>>> {
        let mut out: HashMap<i64, Vec<EmailKey>> = HashMap::new();
        for chunk in seqs.chunks(Sql::list_room(self.x.dialect(), 1)) {
            let mut s = Sql::new(self.x.dialect(), scope, self.x.writes());
            s.sql("SELECT user_seq, value_folded, kind, is_primary FROM ")
                .table(Tbl::UserEmails, "")
                .sql(" WHERE ");
            if let Scope::Tenant(_) = scope {
                s.tenant("").sql(" AND ");
            }
            s.in_ints("user_seq", chunk).sql(" ORDER BY seq");
            for mut row in self.rows(s).await? {
                out.entry(row.int("user_seq")?).or_default().push(EmailKey {
                    value_folded: row.text("value_folded")?,
                    kind: row.opt_text("kind")?,
                    primary: row.bool("is_primary")?,
                });
            }
        }
        Ok(out)
    }

    /// Users of `rows` (with their `seq`) and their emails, read in `scope`.
    pub(super) async fn users_with_seq(
        &mut self,
        scope: Scope<'_>,
        rows: Vec<Row>,
    ) -> StoreResult<Vec<(i64, UserRecord)>> {
        let users = rows
            .into_iter()
            .map(user_of)
            .collect::<StoreResult<Vec<_>>>()?;
        if users.is_empty() {
            return Ok(users);
        }
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let mut emails = self.emails_of(scope, &seqs).await?;
        Ok(users
            .into_iter()
            .map(|(seq, mut u)| {
                u.emails = emails.remove(&seq).unwrap_or_default();
                (seq, u)
            })
            .collect())
    }

    /// Users of `rows` of tenant `tenant_id`, with their emails.
    pub(super) async fn users_with_emails(
        &mut self,
        tenant_id: &str,
        rows: Vec<Row>,
    ) -> StoreResult<Vec<UserRecord>> {
        let users = self.users_with_seq(Scope::Tenant(tenant_id), rows).await?;
        Ok(users.into_iter().map(|(_, u)| u).collect())
    }

    async fn one_user(
        &mut self,
        tenant_id: &str,
        row: Option<Row>,
    ) -> StoreResult<Option<UserRecord>> {
        match row {
            None => Ok(None),
            Some(row) => Ok(self.users_with_emails(tenant_id, vec![row]).await?.pop()),
        }
    }

    /// Inserts the emails of the user `seq`, in order.
    async fn insert_emails(
        &mut self,
        tenant_id: &str,
        seq: i64,
        emails: &[EmailKey],
    ) -> StoreResult<()> {
        for chunk in emails.chunks(MAX_BINDS / 5) {
            let mut s = self.of(tenant_id);
            s.insert_into(
                Tbl::UserEmails,
                "tenant_id, user_seq, value_folded, kind, is_primary",
            )
            .sql("VALUES ");
            for (i, e) in chunk.iter().enumerate() {
                s.sql(if i == 0 { "(" } else { ", (" })
                    .tenant_value()
                    .sql(", ")
                    .binds([
                        Bind::Int(seq),
                        Bind::text(&e.value_folded),
                        Bind::opt_text(e.kind.as_deref()),
                        Bind::Bool(e.primary),
                    ])
                    .sql(")");
            }
            self.run(s).await?;
        }
        Ok(())
    }
}

/// The columns a user write sets, in the order of [`user_values`].
const USER_WRITE_COLS: [&str; 11] = [
    "user_name",
    "user_name_folded",
    "external_id",
    "display_name",
    "state",
    "source",
    "version",
    "created",
    "last_modified",
    "doc",
    "doc_folded",
];

/// The values of [`USER_WRITE_COLS`] for `u`.
fn user_values(u: &UserRecord) -> [Bind; 11] {
    [
        Bind::text(&u.user_name),
        Bind::Text(fold(&u.user_name)),
        Bind::opt_text(u.external_id.as_deref()),
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

pub(super) async fn get_user<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<UserRecord>> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(USER_COLS)
        .sql(" FROM ")
        .table(Tbl::Users, "r")
        .sql(" WHERE r.id = ")
        .bind(Bind::text(id))
        .sql(" AND ")
        .tenant("r")
        .lock_rows();
    let row = tx.row(s).await?;
    tx.one_user(tenant_id, row).await
}

pub(super) async fn user_by_user_name<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    user_name: &str,
) -> StoreResult<Option<UserRecord>> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(USER_COLS)
        .sql(" FROM ")
        .table(Tbl::Users, "r")
        .sql(" WHERE ")
        .tenant("r")
        .sql(" AND r.user_name_folded = ")
        .bind(Bind::Text(fold(user_name)))
        .lock_rows();
    let row = tx.row(s).await?;
    tx.one_user(tenant_id, row).await
}

pub(super) async fn insert_user<E: Exec>(tx: &mut StoreTx<E>, u: &UserRecord) -> StoreResult<()> {
    let mut s = tx.of(&u.tenant_id);
    s.insert_into(
        Tbl::Users,
        &format!("id, tenant_id, {}", USER_WRITE_COLS.join(", ")),
    )
    .sql("VALUES (")
    .bind(Bind::text(&u.id))
    .sql(", ")
    .tenant_value()
    .sql(", ")
    .binds(user_values(u))
    .sql(") RETURNING seq")
    .may_conflict();
    let seq = tx.int(s).await?;
    tx.insert_emails(&u.tenant_id, seq, &u.emails).await
}

pub(super) async fn update_user<E: Exec>(tx: &mut StoreTx<E>, u: &UserRecord) -> StoreResult<()> {
    let mut s = tx.of(&u.tenant_id);
    s.sql("UPDATE ").table(Tbl::Users, "").sql(" SET ");
    for (i, (col, v)) in USER_WRITE_COLS.iter().zip(user_values(u)).enumerate() {
        s.sql(if i == 0 { "" } else { ", " })
            .sql(col)
            .sql(" = ")
            .bind(v);
    }
    s.sql(" WHERE id = ")
        .bind(Bind::text(&u.id))
        .sql(" AND ")
        .tenant("")
        .sql(" RETURNING seq")
        .may_conflict();
    let seq = match tx.row(s).await? {
        Some(mut r) => r.first_int()?,
        None => {
            return Err(StoreError::Backend(format!(
                "update_user: no user {} in tenant {}",
                u.id, u.tenant_id
            )))
        }
    };
    let mut s = tx.of(&u.tenant_id);
    s.sql("DELETE FROM ")
        .table(Tbl::UserEmails, "")
        .sql(" WHERE user_seq = ")
        .bind(Bind::Int(seq))
        .sql(" AND ")
        .tenant("");
    tx.run(s).await?;
    tx.insert_emails(&u.tenant_id, seq, &u.emails).await
}

pub(super) async fn delete_user<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
) -> StoreResult<bool> {
    let mut s = tx.of(tenant_id);
    s.sql("DELETE FROM ")
        .table(Tbl::Users, "")
        .sql(" WHERE id = ")
        .bind(Bind::text(id))
        .sql(" AND ")
        .tenant("")
        .long();
    if tx.run(s).await? == 0 {
        return Ok(false);
    }
    tx.delete_memberships_of(tenant_id, id).await?;
    Ok(true)
}

pub(super) async fn list_users<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    q: &ListQuery<'_>,
) -> StoreResult<(u64, Vec<UserRecord>)> {
    let (total, rows) = tx.list(Kind::Users, tenant_id, q).await?;
    Ok((total, tx.users_with_emails(tenant_id, rows).await?))
}

pub(super) async fn user_names<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    ids: &[String],
) -> StoreResult<Vec<(String, Option<String>)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(Sql::list_room(tx.x.dialect(), 1)) {
        let mut s = tx.of(tenant_id);
        s.sql("SELECT id, display_name AS name FROM ")
            .table(Tbl::Users, "")
            .sql(" WHERE ")
            .tenant("")
            .sql(" AND ")
            .in_texts("id", chunk)
            .sql(" ORDER BY seq");
        for mut row in tx.rows(s).await? {
            out.push((row.text("id")?, row.opt_text("name")?));
        }
    }
    Ok(out)
}

pub(super) async fn groups_of_users<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    user_ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    for chunk in user_ids.chunks(Sql::list_room(tx.x.dialect(), 1)) {
        let mut s = tx.of(tenant_id);
        let no = s.dialect().false_();
        s.sql("SELECT gm.member_id, g.id, g.display_name FROM ")
            .table(Tbl::GroupMembers, "gm")
            .sql(" JOIN ")
            .table(Tbl::Groups, "g")
            .sql(" ON ")
            .owned_by("gm", "g")
            .sql(" WHERE g.builtin = ")
            .sql(no)
            .sql(" AND ")
            .tenant("g")
            .sql(" AND ")
            .in_texts("gm.member_id", chunk)
            .sql(" ORDER BY gm.member_id, g.display_name_folded, g.seq");
        for mut row in tx.rows(s).await? {
            out.push((
                row.text("member_id")?,
                row.text("id")?,
                row.text("display_name")?,
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_proto::filter::parse as parse_filter;
    use scim_proto::list::SortOrder;
    use scim_proto::schema::user_resource_schema;
    use scimd_directory::store::Visibility;

    #[test]
    fn point_lookups_are_recognised() {
        let schema = user_resource_schema(Vec::new());
        let point = |kind: Kind, f: Option<&str>, offset: u64| {
            let f = f.map(|f| parse_filter(f).unwrap());
            runs_inline(
                kind,
                &ListQuery {
                    filter: f.as_ref(),
                    schema: &schema,
                    sort_by: None,
                    sort_order: SortOrder::Ascending,
                    offset,
                    limit: 100,
                    visibility: Visibility::Scim,
                },
            )
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
