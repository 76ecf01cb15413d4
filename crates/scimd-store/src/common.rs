//! What both stores share besides filter translation: column lists, the statements whose
//! shape does not depend on the back end (list pages, provisioning-log and administrator
//! searches, written through a [`Dialect`] into a [`Sink`]), and value mappings.

use crate::filter::{Bind, Dialect, Kind, Sink, Translator};
use scim_proto::filter::{fold, CompareOp};
use scimd_directory::store::{
    AdminUserFilter, ListQuery, LogEntry, LogQuery, MemberKind, Source, StoreError, StoreResult,
    TokenScope, UserState, Visibility,
};

/// Columns of a user row `r`, in the order both stores read them.
pub(crate) const USER_COLS: &str =
    "r.seq, r.id, r.tenant_id, r.user_name, r.external_id, r.display_name, r.state, r.source, \
                         r.version, r.created, r.last_modified, r.doc, r.doc_folded";

/// Columns of a group row `r`.
pub(crate) const GROUP_COLS: &str =
    "r.seq, r.id, r.tenant_id, r.display_name, r.external_id, r.source, r.builtin, r.version, \
                          r.created, r.last_modified, r.doc, r.doc_folded";

/// Member id, kind, display name (the user's or group's displayName, if any) and, for
/// users, userName and state, of `gm` rows.
pub(crate) const MEMBER_COLS: &str = "gm.group_id, gm.member_id, gm.member_kind, \
     CASE gm.member_kind WHEN 'User' THEN (SELECT u.display_name FROM users u WHERE u.id = gm.member_id) \
     ELSE (SELECT g.display_name FROM groups g WHERE g.id = gm.member_id) END AS display, \
     (SELECT u.user_name FROM users u WHERE u.id = gm.member_id) AS member_user_name, \
     (SELECT u.state FROM users u WHERE u.id = gm.member_id) AS member_state";

/// Columns of a provisioning-log row.
pub(crate) const LOG_COLS: &str =
    "seq, tenant_id, at, token_name, method, path, resource_type, resource_id, \
     resource_name, outcome, status, detail, changed, warnings";

pub(crate) fn backend(msg: impl Into<String>) -> StoreError {
    StoreError::Backend(msg.into())
}

/// A row count or page size as SQL wants it.
pub(crate) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count read from SQL.
pub(crate) fn count_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn kind_str(k: MemberKind) -> &'static str {
    match k {
        MemberKind::User => "User",
        MemberKind::Group => "Group",
    }
}

pub(crate) fn kind_of(s: &str) -> MemberKind {
    if s == "Group" {
        MemberKind::Group
    } else {
        MemberKind::User
    }
}

pub(crate) fn source_of(s: &str) -> StoreResult<Source> {
    Source::parse(s).ok_or_else(|| backend(format!("bad stored source {s:?}")))
}

pub(crate) fn state_of(s: &str) -> StoreResult<UserState> {
    UserState::parse(s).ok_or_else(|| backend(format!("bad stored user state {s:?}")))
}

pub(crate) fn scope_of(s: &str) -> StoreResult<TokenScope> {
    TokenScope::parse(s).ok_or_else(|| backend(format!("bad stored token scope {s:?}")))
}

pub(crate) fn status_of(n: i64) -> StoreResult<u16> {
    u16::try_from(n).map_err(|_| backend(format!("bad stored provisioning-log status {n}")))
}

/// The folded text the log's `text` filter searches: resource name, resource id, path,
/// detail and token name, each folded, joined with `\n`.
pub(crate) fn log_search_text(e: &LogEntry) -> String {
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
fn push_contains(qb: &mut dyn Sink, d: &dyn Dialect, x: &str, needle: &str) {
    if crate::filter::nul_free(d, CompareOp::Co, needle.to_string()).is_none() {
        qb.sql(d.false_());
        return;
    }
    let (before, after) = d.text_op(x, CompareOp::Co, needle.chars().count());
    qb.sql(&before);
    qb.bind(Bind::Text(needle.to_string()));
    qb.sql(&after);
}

/// A paged listing: what to select, from where, in which order, which page.
pub(crate) struct Paged<'a> {
    /// Columns of the page.
    pub(crate) cols: &'a str,
    /// ` FROM ... WHERE ...`, written into a statement.
    pub(crate) from_where: &'a (dyn Fn(&mut dyn Sink) + Sync),
    /// `ORDER BY` terms of the page.
    pub(crate) order: &'a str,
    /// Rows to return at most (0: only count).
    pub(crate) limit: u64,
    /// Rows to skip.
    pub(crate) offset: u64,
}

impl Paged<'_> {
    /// `SELECT COUNT(*) FROM ... WHERE ...` into `qb`.
    pub(crate) fn count(&self, qb: &mut dyn Sink) {
        qb.sql("SELECT COUNT(*)");
        (self.from_where)(qb);
    }
    /// `SELECT cols FROM ... WHERE ... ORDER BY ... LIMIT … OFFSET …` into `qb`.
    pub(crate) fn page(&self, qb: &mut dyn Sink) {
        qb.sql(&format!("SELECT {}", self.cols));
        (self.from_where)(qb);
        qb.sql(&format!(" ORDER BY {}", self.order));
        push_page(qb, self.limit, self.offset);
    }
}

/// `totalResults` of a list whose page (`LIMIT limit OFFSET offset`) returned `rows` rows, when
/// the page alone tells it, read in the same snapshot: a page that is not full and not empty
/// is the last one (`offset + rows`); an empty first page means no match. `None` when a
/// `COUNT` is needed (a full page, an empty page past the start, or `limit` 0).
///
/// Saves the `COUNT` statement of nearly every lookup (`userName eq …` finds 0 or 1 of a page
/// of 100) and of the last page of a listing.
pub(crate) fn total_from_page(offset: u64, limit: u64, rows: usize) -> Option<u64> {
    let n = rows as u64;
    if limit == 0 {
        None
    } else if n > 0 && n < limit {
        Some(offset.saturating_add(n))
    } else if n == 0 && offset == 0 {
        Some(0)
    } else {
        None
    }
}

/// ` LIMIT … OFFSET …` as the back end writes it ([`Sink::page`]).
pub(crate) fn push_page(qb: &mut dyn Sink, limit: u64, offset: u64) {
    qb.page(limit, offset);
}

impl Translator<'_> {
    /// `SELECT COUNT(*)` (when `count`) or the page of a list query of users or groups
    /// (deprovisioned users unless `Visibility::All`, never the built-in group).
    pub(crate) fn list(
        &self,
        qb: &mut dyn Sink,
        q: &ListQuery<'_>,
        count: bool,
    ) -> StoreResult<()> {
        let (table, cols) = match self.kind {
            Kind::Users => ("users", USER_COLS),
            Kind::Groups => ("groups", GROUP_COLS),
        };
        if count {
            qb.sql(&format!(
                "SELECT COUNT(*) FROM {table} r WHERE r.tenant_id = "
            ));
        } else {
            qb.sql(&format!(
                "SELECT {cols} FROM {table} r WHERE r.tenant_id = "
            ));
        }
        qb.bind(Bind::Text(self.tenant_id.to_string()));
        match self.kind {
            Kind::Users => {
                if q.visibility == Visibility::Scim {
                    qb.sql(" AND r.state <> 'deprovisioned'");
                }
            }
            Kind::Groups => {
                qb.sql(&format!(" AND r.builtin = {}", self.d.false_()));
            }
        }
        if let Some(f) = q.filter {
            qb.sql(" AND ");
            self.filter(qb, f)?;
        }
        if !count {
            self.order_by(qb, q.sort_by, q.sort_order)?;
            push_page(qb, q.limit, q.offset);
        }
        Ok(())
    }
}

/// `FROM provisioning_log WHERE ...` of a log query.
pub(crate) fn push_log_where(qb: &mut dyn Sink, d: &dyn Dialect, tenant_id: &str, q: &LogQuery) {
    qb.sql(" FROM provisioning_log WHERE tenant_id = ");
    qb.bind(Bind::Text(tenant_id.to_string()));
    if let Some(o) = &q.outcome {
        qb.sql(" AND outcome = ");
        qb.bind(Bind::Text(o.clone()));
    }
    if let Some(t) = &q.resource_type {
        qb.sql(" AND resource_type = ");
        qb.bind(Bind::Text(t.clone()));
    }
    if let Some(t) = q.since {
        qb.sql(" AND at >= ");
        qb.bind(d.time_bind(t));
    }
    if let Some(t) = q.until {
        qb.sql(" AND at < ");
        qb.bind(d.time_bind(t));
    }
    if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
        qb.sql(" AND ");
        push_contains(qb, d, "search_folded", &fold(text));
    }
}

/// `FROM users r WHERE ...` of an administrator user listing. The search is a scan of the
/// tenant's users: a substring of folded text (userName column, displayName and name parts
/// of `doc_folded`, the user's folded emails).
pub(crate) fn push_admin_users_where(
    qb: &mut dyn Sink,
    d: &dyn Dialect,
    tenant_id: &str,
    f: &AdminUserFilter,
) {
    qb.sql(" FROM users r WHERE r.tenant_id = ");
    qb.bind(Bind::Text(tenant_id.to_string()));
    if let Some(s) = f.state {
        qb.sql(" AND r.state = ");
        qb.bind(Bind::Text(s.as_str().to_string()));
    }
    if let Some(s) = f.source {
        qb.sql(" AND r.source = ");
        qb.bind(Bind::Text(s.as_str().to_string()));
    }
    if let Some(search) = f.search.as_deref().filter(|s| !s.is_empty()) {
        let s = fold(search);
        qb.sql(" AND (");
        push_contains(qb, d, "r.user_name_folded", &s);
        for path in [
            &["displayName"][..],
            &["name", "givenName"],
            &["name", "familyName"],
        ] {
            let path: Vec<String> = path.iter().map(|k| k.to_string()).collect();
            qb.sql(" OR ");
            push_contains(qb, d, &d.json_text_at("r.doc_folded", &path), &s);
        }
        qb.sql(" OR EXISTS (SELECT 1 FROM user_emails e WHERE e.user_seq = r.seq AND ");
        push_contains(qb, d, "e.value_folded", &s);
        qb.sql("))");
    }
}

/// `FROM groups r WHERE ...` of an administrator group listing.
pub(crate) fn push_admin_groups_where(
    qb: &mut dyn Sink,
    d: &dyn Dialect,
    tenant_id: &str,
    search: Option<&str>,
) {
    qb.sql(" FROM groups r WHERE r.tenant_id = ");
    qb.bind(Bind::Text(tenant_id.to_string()));
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        qb.sql(" AND ");
        push_contains(qb, d, "r.display_name_folded", &fold(s));
    }
}

#[cfg(test)]
mod tests {
    use super::total_from_page;

    #[test]
    fn totals_known_from_the_page() {
        assert_eq!(total_from_page(0, 100, 0), Some(0));
        assert_eq!(total_from_page(0, 100, 1), Some(1));
        assert_eq!(total_from_page(200, 100, 42), Some(242));
        // A full page may have more after it; an empty page past the start says nothing.
        assert_eq!(total_from_page(0, 100, 100), None);
        assert_eq!(total_from_page(500, 100, 0), None);
        assert_eq!(total_from_page(0, 0, 0), None);
    }
}
