//! The provisioning log and the administrator listings: filtered, paged searches whose
//! text matching compares folded text (case-insensitive substrings).

use super::{Paged, StoreTx};
use crate::exec::Exec;
use crate::filter::nul_free;
use crate::rows::{group_of, log_of, GROUP_COLS, LOG_COLS, USER_COLS};
use crate::sql::{Across, Bind, Sql, Tbl};
use scim_proto::filter::{fold, CompareOp};
use scimd_directory::store::{
    AdminUserFilter, GroupRecord, LogEntry, LogQuery, StoreResult, UserRecord,
};
use time::OffsetDateTime;

/// The folded text the log's `text` filter searches: resource name, resource id, path,
/// detail and token name, each folded, joined with `\n`.
fn log_search_text(e: &LogEntry) -> String {
    [
        e.resource_name.as_deref().unwrap_or(""),
        e.resource_id.as_deref().unwrap_or(""),
        &e.path,
        e.detail.as_deref().unwrap_or(""),
        &e.token_name,
    ]
    .map(fold)
    .join("\n")
}

/// `instr`/`strpos(x, ?) > 0`: `x` contains the (folded) `needle`.
fn push_contains(qb: &mut Sql<'_>, x: &str, needle: &str) {
    let d = qb.dialect();
    if nul_free(d, CompareOp::Co, needle.to_string()).is_none() {
        qb.sql(d.false_());
        return;
    }
    let (before, after) = d.text_op(x, CompareOp::Co, needle.chars().count());
    qb.sql(&before).bind(Bind::text(needle)).sql(&after);
}

/// `FROM provisioning_log WHERE ...` of a log query.
fn push_log_where(qb: &mut Sql<'_>, q: &LogQuery) {
    qb.sql(" FROM ")
        .table(Tbl::ProvisioningLog, "")
        .sql(" WHERE ")
        .tenant("");
    if let Some(o) = &q.outcome {
        qb.sql(" AND outcome = ").bind(Bind::text(o));
    }
    if let Some(t) = &q.resource_type {
        qb.sql(" AND resource_type = ").bind(Bind::text(t));
    }
    if let Some(t) = q.since {
        qb.sql(" AND at >= ").bind(Bind::Time(t));
    }
    if let Some(t) = q.until {
        qb.sql(" AND at < ").bind(Bind::Time(t));
    }
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        qb.sql(" AND ");
        push_contains(qb, "search_folded", &fold(text));
    }
}

/// `FROM users r WHERE ...` of an administrator user listing. The search is a scan of the
/// tenant's users: a substring of folded text (userName column, displayName and name parts
/// of `doc_folded`, the user's folded emails).
fn push_admin_users_where(qb: &mut Sql<'_>, f: &AdminUserFilter) {
    qb.sql(" FROM ")
        .table(Tbl::Users, "r")
        .sql(" WHERE ")
        .tenant("r");
    if let Some(s) = f.state {
        qb.sql(" AND r.state = ").bind(Bind::text(s.as_str()));
    }
    if let Some(s) = f.source {
        qb.sql(" AND r.source = ").bind(Bind::text(s.as_str()));
    }
    if let Some(search) = f.search.as_deref().filter(|s| !s.is_empty()) {
        let s = fold(search);
        let d = qb.dialect();
        qb.sql(" AND (");
        push_contains(qb, "r.user_name_folded", &s);
        for path in [
            &["displayName"][..],
            &["name", "givenName"],
            &["name", "familyName"],
        ] {
            let path: Vec<String> = path.iter().map(|k| k.to_string()).collect();
            qb.sql(" OR ");
            push_contains(qb, &d.json_text_at("r.doc_folded", &path), &s);
        }
        qb.sql(" OR EXISTS (SELECT 1 FROM ")
            .table(Tbl::UserEmails, "e")
            .sql(" WHERE ")
            .owned_by("e", "r")
            .sql(" AND ");
        push_contains(qb, "e.value_folded", &s);
        qb.sql("))");
    }
}

/// `FROM groups r WHERE ...` of an administrator group listing.
fn push_admin_groups_where(qb: &mut Sql<'_>, search: Option<&str>) {
    qb.sql(" FROM ")
        .table(Tbl::Groups, "r")
        .sql(" WHERE ")
        .tenant("r");
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        qb.sql(" AND ");
        push_contains(qb, "r.display_name_folded", &fold(s));
    }
}

pub(super) async fn insert_log<E: Exec>(tx: &mut StoreTx<E>, e: &LogEntry) -> StoreResult<i64> {
    let mut s = tx.of(&e.tenant_id);
    s.insert_into(
        Tbl::ProvisioningLog,
        "tenant_id, at, token_name, method, path, resource_type, resource_id, \
         resource_name, outcome, status, detail, changed, warnings, search_folded",
    )
    .sql("VALUES (")
    .tenant_value()
    .sql(", ")
    .binds([
        Bind::Time(e.at),
        Bind::text(&e.token_name),
        Bind::text(&e.method),
        Bind::text(&e.path),
        Bind::text(&e.resource_type),
        Bind::opt_text(e.resource_id.as_deref()),
        Bind::opt_text(e.resource_name.as_deref()),
        Bind::text(&e.outcome),
        Bind::Int(i64::from(e.status)),
        Bind::opt_text(e.detail.as_deref()),
        Bind::Texts(e.changed.clone()),
        Bind::Texts(e.warnings.clone()),
        Bind::Text(log_search_text(e)),
    ])
    .sql(") RETURNING seq");
    tx.int(s).await
}

pub(super) async fn query_log<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    q: &LogQuery,
) -> StoreResult<(u64, Vec<LogEntry>)> {
    let (total, rows) = tx
        .paged(
            tenant_id,
            &Paged {
                cols: LOG_COLS,
                from_where: &|qb| push_log_where(qb, q),
                order: "seq DESC",
                limit: q.limit,
                offset: q.offset,
            },
        )
        .await?;
    Ok((
        total,
        rows.into_iter().map(log_of).collect::<StoreResult<_>>()?,
    ))
}

pub(super) async fn purge_log<E: Exec>(
    tx: &mut StoreTx<E>,
    before: OffsetDateTime,
) -> StoreResult<u64> {
    let mut s = tx.across(Across::RetentionPurge);
    s.sql("DELETE FROM ")
        .table(Tbl::ProvisioningLog, "")
        .sql(" WHERE at < ")
        .bind(Bind::Time(before))
        .long();
    tx.run(s).await
}

pub(super) async fn admin_list_users<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    f: &AdminUserFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(u64, Vec<UserRecord>)> {
    let (total, rows) = tx
        .paged(
            tenant_id,
            &Paged {
                cols: USER_COLS,
                from_where: &|qb| push_admin_users_where(qb, f),
                order: "r.seq",
                limit,
                offset,
            },
        )
        .await?;
    Ok((total, tx.users_with_emails(tenant_id, rows).await?))
}

pub(super) async fn admin_list_groups<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    search: Option<&str>,
    offset: u64,
    limit: u64,
) -> StoreResult<(u64, Vec<GroupRecord>)> {
    let (total, rows) = tx
        .paged(
            tenant_id,
            &Paged {
                cols: GROUP_COLS,
                from_where: &|qb| push_admin_groups_where(qb, search),
                order: "r.builtin DESC, r.seq",
                limit,
                offset,
            },
        )
        .await?;
    Ok((
        total,
        rows.into_iter().map(group_of).collect::<StoreResult<_>>()?,
    ))
}
