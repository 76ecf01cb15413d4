//! Searches: the administrator listings, filtered and paged, whose text matching compares
//! folded text (case-insensitive substrings); the change records' text filter
//! (`records`) uses the same matching.

use crate::filter::nul_free;

use crate::keys::{display_name_key, user_name_key};
use crate::sql::{Bind, Sql, Tbl};
use scim_proto::filter::{fold, CompareOp};
use scimd_directory::store::AdminUserFilter;

/// `instr`/`strpos(x, ?) > 0`: `x` contains the (folded) `needle`.
pub(super) fn push_contains(qb: &mut Sql<'_>, x: &str, needle: &str) {
    let d = qb.dialect();
    if nul_free(d, CompareOp::Co, needle.to_string()).is_none() {
        qb.sql(d.false_());
        return;
    }
    let (before, after) = d.text_op(x, CompareOp::Co, needle.chars().count());
    qb.sql(&before).bind(Bind::text(needle)).sql(&after);
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
