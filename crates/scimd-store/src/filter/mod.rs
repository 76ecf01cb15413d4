//! SCIM filters and sort keys as SQL (RFC 7644 §3.4.2.2, §3.4.2.3), for both back ends.
//!
//! The translation mirrors `scim_proto::filter::matches`, the reference semantics, over the
//! columns of `users` / `groups` (aliased `r`). Its structure is shared: which attribute
//! maps to which column or table, path resolution, the type rules of comparisons, `ne` /
//! `not` / `null` handling, membership and email sub-queries. What differs between SQLite
//! and PostgreSQL — how a JSON value is read, iterated and typed, string functions, boolean
//! literals, how timestamps are bound — is asked of a [`Dialect`] (`sqlite::dialect`,
//! `postgres::dialect`). Statements are written into the statement layer's [`Sql`], so
//! every sub-query on a tenant table is bound to the tenant like the statement itself.
//!
//! - case-insensitive strings are compared in `r.doc_folded` (written by
//!   `scim_proto::normalize::fold_document`) against literals folded in Rust with
//!   `scim_proto::filter::fold`; `caseExact` ones in `r.doc`; identifiers (`userName`,
//!   `externalId`, a Group's `displayName`) in their key columns against the literal's key
//!   (`crate::keys`: NFC, folded unless caseExact);
//! - multi-valued attributes become `EXISTS (SELECT 1 FROM <elements> e WHERE ..)`, a
//!   valuePath one such `EXISTS` whose conditions all apply to the same element `e`;
//! - `ne` is `NOT COALESCE((eq), false)`, `eq null` is "not present", `pr` is "present and
//!   non-empty" (as `matches`: not null, not `""`, not a container without such values);
//! - dateTime values (stored normalised to UTC by `scim_proto::normalize`, e.g.
//!   `2026-01-01T10:00:00.5Z`) compare as instants through a fixed-width key built both in
//!   SQL and in Rust ([`crate::timefmt::instant_key`]).
//!
//! What documents do not hold comes from columns and rows: `id`, `externalId`, `meta.*`,
//! User `groups` and Group `members` (membership rows); and the hot lookups go through
//! indexed columns: `userName` (`user_name_folded`), `externalId`, `id`, `emails` with a
//! positive `value` comparison (`user_emails`), Group `displayName`
//! (`display_name_folded`), `members.value` / `groups.value` (`group_members`).
//!
//! Every literal is a bound parameter; the only text put into the SQL are column names,
//! operators and JSON paths built from schema attribute names (quoted, and refused when
//! they hold a quote or backslash).

mod compare;
mod point;
mod sort;
mod target;

pub(crate) use crate::dialect::Dialect;
use crate::sql::{Ref, Sql, Tbl};
pub(crate) use point::is_point_lookup;
use scim_proto::filter::{CompValue, CompareOp};
use scim_proto::schema::{AttrType, AttributeDef, ResourceSchema};
use scimd_directory::store::{ListQuery, StoreError, Visibility};
use time::OffsetDateTime;

/// Which table `r` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `users r`
    Users,
    /// `groups r`
    Groups,
}

/// Translates filters and sort keys of one resource type.
pub(crate) struct Translator<'a> {
    /// The table.
    pub(crate) kind: Kind,
    /// The resource type's schemas.
    pub(crate) schema: &'a ResourceSchema,
    /// The back end's SQL.
    pub(crate) d: &'a dyn Dialect,
}

type R<T> = Result<T, StoreError>;

fn unsupported(msg: impl Into<String>) -> StoreError {
    StoreError::Unsupported(msg.into())
}

/// One value to compare: SQL expressions reading it as written and case-folded.
#[derive(Debug, Clone)]
struct Scalar {
    /// The value as written (`r.doc`, a column ...).
    exact: String,
    /// The value folded when its attribute is a case-insensitive string (else as `exact`).
    folded: String,
    ty: AttrType,
    case_exact: bool,
    /// Read from JSON, so its type must be checked before text / number operations.
    json: bool,
    /// A timestamp column (compared as an instant with a bound time).
    time_col: Option<String>,
    /// A key column of an identifier (`crate::keys`): string literals are compared through
    /// the identifier's key (NFC, folded unless caseExact), as the column holds it.
    key: bool,
    /// The tables a sub-query in `exact` / `folded` reads (adopted by the statement that
    /// writes them, see `Sql::adopt`).
    refs: Vec<Ref>,
}

impl Scalar {
    fn of(def: &AttributeDef, exact: String, folded: String, json: bool) -> Scalar {
        Scalar {
            exact,
            folded,
            ty: def.ty,
            case_exact: def.case_exact,
            json,
            time_col: None,
            key: false,
            refs: Vec::new(),
        }
    }
    /// The value is an identifier whose key column `folded` (or `exact`, when caseExact)
    /// holds its key.
    fn keyed(mut self) -> Scalar {
        self.key = true;
        self
    }
    /// The value, read through a sub-query on the tables `refs`.
    fn reading(mut self, refs: Vec<Ref>) -> Scalar {
        self.refs = refs;
        self
    }
    fn column(def: &AttributeDef, exact: &str, folded: &str) -> Scalar {
        Scalar::of(def, exact.to_string(), folded.to_string(), false)
    }
}

/// Where the elements of a multi-valued (or complex) attribute come from.
#[derive(Debug, Clone)]
enum Ctx<'a> {
    /// A JSON array at `path`; `e` iterates its elements in `r.doc_folded`.
    Array {
        path: Vec<String>,
        attr: &'a AttributeDef,
    },
    /// A JSON object at `path` (a single-valued complex attribute).
    Object {
        path: Vec<String>,
        attr: &'a AttributeDef,
    },
    /// Group `members`: rows `gm` of `group_members` of group `r`.
    Members { attr: &'a AttributeDef },
    /// User `groups`: rows `gm` of `group_members` whose member is user `r` (built-in group excluded).
    UserGroups { attr: &'a AttributeDef },
    /// User `emails` through the `user_emails` index (rows `ue`); only for conditions that
    /// require a `value` (the table holds emails that have one).
    Emails { attr: &'a AttributeDef },
    /// `meta`: columns of `r`.
    Meta { attr: &'a AttributeDef },
}

impl<'a> Ctx<'a> {
    fn attr(&self) -> &'a AttributeDef {
        match self {
            Ctx::Array { attr, .. }
            | Ctx::Object { attr, .. }
            | Ctx::Members { attr }
            | Ctx::UserGroups { attr }
            | Ctx::Emails { attr }
            | Ctx::Meta { attr } => attr,
        }
    }
}

/// What a root-level attribute path designates.
enum Target<'a> {
    /// One value per resource.
    Scalar(Scalar),
    /// Values of elements of `ctx`; `sub` is the sub-attribute the path names, if any.
    Elements {
        ctx: Ctx<'a>,
        sub: Option<&'a AttributeDef>,
    },
}

/// A document key usable in a JSON path of either back end; refuses names that would need
/// escaping (a quote, a backslash, a control character).
pub(crate) fn json_key(name: &str) -> R<String> {
    if name.contains(['"', '\\', '\'']) || name.chars().any(char::is_control) {
        return Err(unsupported(format!(
            "attribute name {name:?} cannot be used in a filter"
        )));
    }
    Ok(name.to_string())
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn op_sql(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// The SQL operator of an equality or ordering comparison (`=` for the text operators).
pub(crate) fn comparison_sql(op: CompareOp) -> &'static str {
    op_sql(op)
}

/// `true`/`false` from a boolean literal or the strings "true"/"false" in any case.
fn lit_bool(v: &CompValue) -> Option<bool> {
    match v {
        CompValue::Bool(b) => Some(*b),
        CompValue::String(s) if eq_ci(s, "true") => Some(true),
        CompValue::String(s) if eq_ci(s, "false") => Some(false),
        _ => None,
    }
}

fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

impl Translator<'_> {
    /// `SELECT COUNT(*)` (when `count`) or the page of a list query of users or groups
    /// (deprovisioned users unless `Visibility::All`, never the built-in group).
    pub(crate) fn list(&self, qb: &mut Sql<'_>, q: &ListQuery<'_>, count: bool) -> R<()> {
        let (table, cols) = match self.kind {
            Kind::Users => (Tbl::Users, crate::rows::USER_COLS),
            Kind::Groups => (Tbl::Groups, crate::rows::GROUP_COLS),
        };
        qb.sql(if count { "SELECT COUNT(*)" } else { "SELECT " });
        if !count {
            qb.sql(cols);
        }
        qb.sql(" FROM ")
            .table(table, "r")
            .sql(" WHERE ")
            .tenant("r");
        match self.kind {
            Kind::Users => {
                if q.visibility == Visibility::Scim {
                    qb.sql(" AND r.state <> 'deprovisioned'");
                }
            }
            Kind::Groups => {
                qb.sql(" AND r.builtin = ").sql(self.d.false_());
            }
        }
        if let Some(f) = q.filter {
            qb.sql(" AND ");
            self.filter(qb, f)?;
        }
        if !count {
            self.order_by(qb, q.sort_by, q.sort_order)?;
            qb.page(Some(q.limit), q.offset);
        }
        Ok(())
    }
}

/// A text comparison rewritten for a back end that cannot hold NUL characters in text
/// (PostgreSQL), so stores none: `x op v` for a literal `v` = `p` NUL `rest` is, for every
/// NUL-free `x`, false for `eq` / `co` / `sw` / `ew` (`None`), `x > p` for `gt` / `ge` and
/// `x <= p` for `lt` / `le`. Literals without NUL, and back ends that hold NUL, unchanged.
pub(crate) fn nul_free(d: &dyn Dialect, op: CompareOp, v: String) -> Option<(CompareOp, String)> {
    let Some(i) = v.find('\0').filter(|_| !d.words().text_holds_nul) else {
        return Some((op, v));
    };
    let prefix = v[..i].to_string();
    match op {
        CompareOp::Gt | CompareOp::Ge => Some((CompareOp::Gt, prefix)),
        CompareOp::Lt | CompareOp::Le => Some((CompareOp::Le, prefix)),
        _ => None,
    }
}

/// Whether values of `ty` compare as text.
pub(crate) fn is_text(ty: AttrType) -> bool {
    matches!(
        ty,
        AttrType::String | AttrType::Reference | AttrType::Binary
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_literals_on_a_back_end_without_nul() {
        use CompareOp::*;
        let d: &dyn Dialect = &crate::postgres::dialect::PgDialect;
        let v = || "ab\0c".to_string();
        assert_eq!(nul_free(d, Eq, v()), None);
        assert_eq!(nul_free(d, Co, v()), None);
        assert_eq!(nul_free(d, Ge, v()), Some((Gt, "ab".into())));
        assert_eq!(nul_free(d, Lt, v()), Some((Le, "ab".into())));
        assert_eq!(nul_free(d, Eq, "ab".into()), Some((Eq, "ab".into())));
        let s: &dyn Dialect = &crate::sqlite::dialect::SqliteDialect;
        assert_eq!(nul_free(s, Eq, v()), Some((Eq, v())));
    }

    #[test]
    fn keys_needing_escapes_are_refused() {
        assert!(json_key("department").is_ok());
        assert!(json_key("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_ok());
        for bad in ["a\"b", "a\\b", "a'b", "a\nb"] {
            assert!(json_key(bad).is_err(), "{bad:?}");
        }
    }
}
