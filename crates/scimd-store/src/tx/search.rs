//! Searches: the provisioning log and the administrator listings, filtered and paged, whose
//! text matching compares folded text (case-insensitive substrings); and log entries.

use super::run::StoreTx;
use crate::exec::Exec;
use crate::filter::nul_free;

use crate::keys::{display_name_key, user_name_key};
use crate::sql::{Bind, Sql, Tbl};
use scim_proto::filter::{fold, CompareOp};
use scimd_directory::store::{AdminUserFilter, LogEntry, LogQuery, StoreResult};

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
pub(super) fn log_where(qb: &mut Sql<'_>, q: &LogQuery) {
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
pub(super) fn admin_users_where(qb: &mut Sql<'_>, f: &AdminUserFilter) {
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
        push_contains(qb, "r.user_name_folded", &user_name_key(search));
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
pub(super) fn admin_groups_where(qb: &mut Sql<'_>, search: Option<&str>) {
    qb.sql(" FROM ")
        .table(Tbl::Groups, "r")
        .sql(" WHERE ")
        .tenant("r");
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        qb.sql(" AND ");
        push_contains(qb, "r.display_name_folded", &display_name_key(s));
    }
}

pub(super) async fn insert_log<E: Exec>(tx: &mut StoreTx<E>, e: &LogEntry) -> StoreResult<i64> {
    let cols = "tenant_id, at, token_name, method, path, resource_type, resource_id, \
                resource_name, outcome, status, detail, changed, warnings, search_folded";
    let opt = |v: &Option<String>| Bind::opt_text(v.as_deref());
    let row = [
        Bind::Time(e.at),
        Bind::text(&e.token_name),
        Bind::text(&e.method),
        Bind::text(&e.path),
        Bind::text(&e.resource_type),
        opt(&e.resource_id),
        opt(&e.resource_name),
        Bind::text(&e.outcome),
        Bind::Int(i64::from(e.status)),
        opt(&e.detail),
        Bind::Texts(e.changed.clone()),
        Bind::Texts(e.warnings.clone()),
        Bind::Text(log_search_text(e)),
    ];
    let mut s = tx
        .q()
        .insert(&*e.tenant_id, Tbl::ProvisioningLog, cols, [row]);
    s.sql(" RETURNING seq");
    tx.int(s).await
}
