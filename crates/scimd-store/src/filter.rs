//! SCIM filters and sort keys as SQL (RFC 7644 §3.4.2.2, §3.4.2.3), for both back ends.
//!
//! The translation mirrors `scim_proto::filter::matches`, the reference semantics, over the
//! columns of `users` / `groups` (aliased `r`). Its structure is shared: which attribute
//! maps to which column or table, path resolution, the type rules of comparisons, `ne` /
//! `not` / `null` handling, membership and email sub-queries. What differs between SQLite
//! and PostgreSQL — how a JSON value is read, iterated and typed, string functions, boolean
//! literals, how timestamps are bound — is asked of a [`Dialect`] (`sqlite::filter`,
//! `postgres::filter`).
//!
//! - case-insensitive strings are compared in `r.doc_folded` (written by
//!   `scim_proto::normalize::fold_document`) against literals folded in Rust with
//!   `scim_proto::filter::fold`; `caseExact` ones in `r.doc`;
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

use scim_proto::filter::{fold, CompValue, CompareOp, Filter};
use scim_proto::list::SortOrder;
use scim_proto::path::AttrPath;
use scim_proto::schema::{AttrType, AttributeDef, ResourceSchema};
use scimd_directory::store::StoreError;
use time::OffsetDateTime;

/// Membership rows SCIM sees: a deprovisioned user is gone from SCIM (provisioning rule 6),
/// so it matches no `members` filter, although its membership row stays (rule 10).
const VISIBLE_MEMBER: &str =
    "NOT EXISTS (SELECT 1 FROM users du WHERE du.id = gm.member_id AND du.state = 'deprovisioned')";

/// A value bound as a parameter of a translated statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// An instant (PostgreSQL `timestamptz`; SQLite binds its stored text form).
    Time(OffsetDateTime),
}

/// Where the translation writes: SQL text and bound parameters, in order. Implemented by
/// PostgreSQL's `sqlx::QueryBuilder` (`$1`, `$2` ...) and by the SQLite store's
/// `sqlite::db::Qb` (`?`).
pub(crate) trait Sink {
    /// Appends SQL text.
    fn sql(&mut self, s: &str);
    /// Appends a placeholder bound to `v`.
    fn bind(&mut self, v: Bind);
    /// Appends ` LIMIT … OFFSET …` for a page of `limit` rows after `offset` (both clamped to
    /// `i64`): bound parameters unless a back end says otherwise.
    fn page(&mut self, limit: u64, offset: u64) {
        self.sql(" LIMIT ");
        self.bind(Bind::Int(crate::common::clamp(limit)));
        self.sql(" OFFSET ");
        self.bind(Bind::Int(crate::common::clamp(offset)));
    }
}

/// Which table `r` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `users r`
    Users,
    /// `groups r`
    Groups,
}

/// A JSON path into a document: object keys from the root, already checked by [`json_key`].
pub(crate) type JPath = [String];

/// The SQL a back end writes for the JSON and text operations of the translation.
///
/// "JSON expressions" below are what [`Dialect::json_at`] returns: in SQLite an SQL value
/// (`json_extract` gives text, integer, real, NULL), in PostgreSQL a `jsonb` value. Column
/// expressions (`r.id`, `ue.kind` ...) are plain SQL values in both.
pub(crate) trait Dialect: Sync {
    /// SQL for true.
    fn true_(&self) -> &'static str;
    /// SQL for false.
    fn false_(&self) -> &'static str;
    /// The exact document of `r`, as a JSON base for [`Dialect::json_at`].
    fn doc(&self) -> &'static str;
    /// The NULL a sort by a constant attribute uses.
    fn null_sort_key(&self) -> &'static str;
    /// The JSON value at `path` of the JSON base `base` (NULL when absent).
    fn json_at(&self, base: &str, path: &JPath) -> String;
    /// The text of the JSON value at `path` of `base`, for values known to be strings.
    fn json_text_at(&self, base: &str, path: &JPath) -> String;
    /// A FROM item iterating the elements of the JSON array at `path` of `base`, aliased
    /// `e` with columns `value` (a JSON expression) and `key` (the position, ascending).
    fn elements(&self, base: &str, path: &JPath) -> String;
    /// The value of element `e` of the array at `path` of the exact document (its
    /// sub-attribute `sub` when given).
    fn element_exact(&self, path: &JPath, sub: Option<&str>) -> String;
    /// Sub-attribute `key` of element `e` (NULL when `e` is not an object).
    fn element_sub(&self, key: &str) -> String;
    /// `ORDER BY` terms putting the element `e` flagged `"primary": true` first.
    fn primary_first(&self) -> String;
    /// Whether the JSON value at `path` of the exact document holds any non-null,
    /// non-empty scalar, at any depth.
    fn any_atom(&self, path: &JPath) -> String;
    /// `x` (JSON when `json`) holds a value: not NULL / JSON null, not `""`.
    fn presence(&self, x: &str, json: bool) -> String;
    /// A condition that `x` (JSON) is a string, to guard text operations, when needed for
    /// `op` (`None`: no guard needed).
    fn string_guard(&self, x: &str, json: bool, op: CompareOp) -> Option<String>;
    /// The text of `x` (JSON when `json`).
    fn text(&self, x: &str, json: bool) -> String;
    /// `text op ?` as SQL before and after the placeholder, for text `t` and a literal of
    /// `n` characters (`co`, `sw`, `ew`, or an ordering / equality operator).
    fn text_op(&self, t: &str, op: CompareOp, n: usize) -> (String, String);
    /// `x = b` for a boolean `x` (JSON when `json`).
    fn bool_eq(&self, x: &str, json: bool, b: bool) -> String;
    /// `x op ?` for a number `x` (JSON when `json`), as SQL before and after the placeholder.
    fn number_op(&self, x: &str, json: bool, op: &str) -> (String, String);
    /// The bound value of a number literal in [`Dialect::number_op`]. One statement text
    /// must always bind one type (statements are prepared and cached by their text).
    fn number_bind(&self, n: &serde_json::Number) -> Bind;
    /// The fixed-width instant key ([`crate::timefmt::instant_key`]) of dateTime text `t`.
    fn instant_key(&self, t: &str) -> String;
    /// A timestamp column's text in the form `crate::timefmt` stores (for text operators).
    fn time_text(&self, col: &str) -> String;
    /// The bound value comparing with a timestamp column (microsecond precision).
    fn time_bind(&self, t: OffsetDateTime) -> Bind;
    /// The sort key of `x` (JSON when `json`) of type `ty`; `folded_text` when `x` is a
    /// case-insensitive string's folded form.
    fn sort_key(&self, x: &str, json: bool, ty: AttrType) -> String;
    /// Wraps a finished sort expression of type `ty` (binary text order for strings).
    fn sort_wrap(&self, x: String, ty: AttrType) -> String;
    /// Whether text values (and so bound text) may hold NUL characters.
    fn text_holds_nul(&self) -> bool;
}

/// Translates filters and sort keys of one resource type.
pub(crate) struct Translator<'a> {
    /// The table.
    pub(crate) kind: Kind,
    /// The resource type's schemas.
    pub(crate) schema: &'a ResourceSchema,
    /// The tenant whose rows are queried (bound again in sub-queries on tables keyed by tenant).
    pub(crate) tenant_id: &'a str,
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
        }
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

/// Whether `f` (relative to an element) has a top-level conjunct `value eq "..."`, which
/// makes an index-driven `IN (SELECT ..)` the better plan for membership rows.
fn has_value_eq(f: &Filter) -> bool {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(_),
        } => path.uri.is_none() && path.sub_attr.is_none() && eq_ci(&path.attr, "value"),
        Filter::And(a, b) => has_value_eq(a) || has_value_eq(b),
        _ => false,
    }
}

/// Whether an element filter on `emails` can be answered from `user_emails`: a
/// conjunction of conditions on `value` / `type` (string literals) and `primary eq true`,
/// with at least one positive comparison on `value`.
fn emails_indexable(f: &Filter) -> bool {
    fn leaf_ok(f: &Filter, has_value: &mut bool) -> bool {
        match f {
            Filter::And(a, b) => leaf_ok(a, has_value) && leaf_ok(b, has_value),
            Filter::Compare { path, op, value }
                if path.uri.is_none() && path.sub_attr.is_none() =>
            {
                let name = path.attr.as_str();
                if eq_ci(name, "primary") {
                    *op == CompareOp::Eq && lit_bool(value) == Some(true)
                } else if eq_ci(name, "value") || eq_ci(name, "type") {
                    if !matches!(value, CompValue::String(_)) {
                        return false;
                    }
                    if eq_ci(name, "value") && *op != CompareOp::Ne {
                        *has_value = true;
                    }
                    true
                } else {
                    false
                }
            }
            Filter::Present(path) if path.uri.is_none() && path.sub_attr.is_none() => {
                eq_ci(&path.attr, "value") || eq_ci(&path.attr, "type")
            }
            _ => false,
        }
    }
    let mut has_value = false;
    leaf_ok(f, &mut has_value) && has_value
}

/// Whether a list filter finds its rows through a unique or near-unique index, so that the
/// query costs microseconds whatever the size of the directory: an `eq` with a string
/// literal on `id`, `userName`, `externalId` or `emails.value` (Users), `id`, `displayName`
/// or `externalId` (Groups), an `emails[…]` element filter that [`emails_indexable`] answers
/// from `user_emails` with a `value eq "…"` in it, or an `and` with one of these on either
/// side. Core-schema URN prefixes are allowed. Everything else may scan (`eq null`,
/// `displayName` of a User, which lives in the document, other operators, `or`, `not`).
pub(crate) fn is_point_lookup(kind: Kind, f: &Filter) -> bool {
    fn core(p: &AttrPath) -> bool {
        p.uri.as_deref().is_none_or(|u| {
            eq_ci(u, "urn:ietf:params:scim:schemas:core:2.0:User")
                || eq_ci(u, "urn:ietf:params:scim:schemas:core:2.0:Group")
        })
    }
    fn value_eq(f: &Filter) -> bool {
        match f {
            Filter::Compare { path, op, value } => {
                *op == CompareOp::Eq
                    && path.uri.is_none()
                    && path.sub_attr.is_none()
                    && eq_ci(&path.attr, "value")
                    && matches!(value, CompValue::String(_))
            }
            Filter::And(a, b) => value_eq(a) || value_eq(b),
            _ => false,
        }
    }
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(_),
        } if core(path) => {
            let a = path.attr.as_str();
            match (kind, path.sub_attr.as_deref()) {
                (Kind::Users, None) => {
                    eq_ci(a, "id") || eq_ci(a, "userName") || eq_ci(a, "externalId")
                }
                (Kind::Users, Some(sub)) => eq_ci(a, "emails") && eq_ci(sub, "value"),
                (Kind::Groups, None) => {
                    eq_ci(a, "id") || eq_ci(a, "displayName") || eq_ci(a, "externalId")
                }
                (Kind::Groups, Some(_)) => false,
            }
        }
        Filter::ValuePath { attr, filter } => {
            kind == Kind::Users
                && core(attr)
                && eq_ci(&attr.attr, "emails")
                && emails_indexable(filter)
                && value_eq(filter)
        }
        Filter::And(a, b) => is_point_lookup(kind, a) || is_point_lookup(kind, b),
        _ => false,
    }
}

impl<'a> Translator<'a> {
    fn is_users(&self) -> bool {
        self.kind == Kind::Users
    }

    fn false_(&self, qb: &mut dyn Sink) {
        qb.sql(self.d.false_());
    }

    /// `NOT COALESCE((` ... `), false)` around what `inner` writes.
    fn not(&self, qb: &mut dyn Sink, inner: impl FnOnce(&mut dyn Sink) -> R<()>) -> R<()> {
        qb.sql("NOT COALESCE((");
        inner(qb)?;
        qb.sql(&format!("), {})", self.d.false_()));
        Ok(())
    }

    /// The JSON path of a resolved top-level attribute: `userName`, `urn:..:User` / `department`.
    fn attr_path(&self, urn: &str, is_extension: bool, attr: &AttributeDef) -> R<Vec<String>> {
        let mut p = Vec::with_capacity(2);
        if is_extension {
            p.push(json_key(urn)?);
        }
        p.push(json_key(&attr.name)?);
        Ok(p)
    }

    /// A value read from both documents at `path`.
    fn json_scalar(&self, def: &AttributeDef, path: &JPath) -> Scalar {
        let exact = self.d.json_at(self.d.doc(), path);
        let folded = self.d.json_at("r.doc_folded", path);
        Scalar::of(def, exact, folded, true)
    }

    /// What a root-level path designates (Unsupported for an unknown attribute).
    fn target(&self, path: &AttrPath, for_compare: bool) -> R<Target<'a>> {
        let r = self
            .schema
            .resolve_any(path)
            .ok_or_else(|| unsupported(format!("unknown attribute '{}'", display_path(path))))?;
        let attr = r.attr;
        let core = !r.is_extension;
        if core {
            let name = attr.name.as_str();
            if name == "id" && r.sub.is_none() {
                return Ok(Target::Scalar(Scalar::column(attr, "r.id", "r.id")));
            }
            if name == "externalId" && r.sub.is_none() && attr.case_exact {
                return Ok(Target::Scalar(Scalar::column(
                    attr,
                    "r.external_id",
                    "r.external_id",
                )));
            }
            if name == "meta" && attr.ty == AttrType::Complex {
                return Ok(Target::Elements {
                    ctx: Ctx::Meta { attr },
                    sub: r.sub,
                });
            }
            if self.is_users() && name == "userName" && !attr.case_exact {
                let exact = self
                    .d
                    .json_text_at(self.d.doc(), &self.attr_path(r.schema_urn, false, attr)?);
                return Ok(Target::Scalar(Scalar::of(
                    attr,
                    exact,
                    "r.user_name_folded".into(),
                    false,
                )));
            }
            if !self.is_users() && name == "displayName" && !attr.case_exact {
                return Ok(Target::Scalar(Scalar::column(
                    attr,
                    "r.display_name",
                    "r.display_name_folded",
                )));
            }
            if self.is_users() && name == "groups" && attr.ty == AttrType::Complex {
                return Ok(Target::Elements {
                    ctx: Ctx::UserGroups { attr },
                    sub: r.sub,
                });
            }
            if !self.is_users() && name == "members" && attr.ty == AttrType::Complex {
                return Ok(Target::Elements {
                    ctx: Ctx::Members { attr },
                    sub: r.sub,
                });
            }
            if self.is_users() && name == "emails" && for_compare && attr.ty == AttrType::Complex {
                let value = r.sub.or_else(|| attr.sub("value"));
                let ty = attr.sub("type");
                if let Some(v) = value {
                    if v.name == "value" && !v.case_exact && ty.is_none_or(|t| !t.case_exact) {
                        return Ok(Target::Elements {
                            ctx: Ctx::Emails { attr },
                            sub: Some(v),
                        });
                    }
                }
            }
        }
        let p = self.attr_path(r.schema_urn, r.is_extension, attr)?;
        if attr.multi_valued {
            return Ok(Target::Elements {
                ctx: Ctx::Array { path: p, attr },
                sub: r.sub,
            });
        }
        if attr.ty == AttrType::Complex {
            return Ok(Target::Elements {
                ctx: Ctx::Object { path: p, attr },
                sub: r.sub,
            });
        }
        Ok(Target::Scalar(self.json_scalar(attr, &p)))
    }

    /// The value of sub-attribute `sub` (of `ctx`'s attribute; `None` = the element itself
    /// for a simple multi-valued attribute) for the current element of `ctx`.
    fn sub_scalar(&self, ctx: &Ctx<'a>, sub: Option<&'a AttributeDef>) -> R<Scalar> {
        let attr = ctx.attr();
        let Some(sub) = sub else {
            return match ctx {
                Ctx::Array { path, .. } if attr.ty != AttrType::Complex => {
                    let exact = self.d.element_exact(path, None);
                    Ok(Scalar::of(attr, exact, "e.value".into(), true))
                }
                _ => Err(unsupported(format!(
                    "'{}' needs a sub-attribute here",
                    attr.name
                ))),
            };
        };
        let name = sub.name.as_str();
        match ctx {
            Ctx::Array { path, .. } => {
                let key = json_key(name)?;
                let exact = self.d.element_exact(path, Some(&key));
                Ok(Scalar::of(sub, exact, self.d.element_sub(&key), true))
            }
            Ctx::Object { path, .. } => {
                let mut p = path.clone();
                p.push(json_key(name)?);
                Ok(self.json_scalar(sub, &p))
            }
            Ctx::Members { .. } => match name {
                "value" => Ok(Scalar::column(sub, "gm.member_id", "gm.member_id")),
                "type" => Ok(Scalar::column(
                    sub,
                    "gm.member_kind",
                    "lower(gm.member_kind)",
                )),
                "display" => {
                    let user_display = self
                        .d
                        .json_text_at("u.doc_folded", &["displayName".to_string()]);
                    Ok(Scalar::of(
                        sub,
                        "(SELECT u.display_name FROM users u WHERE u.id = gm.member_id \
                         UNION ALL SELECT g.display_name FROM groups g WHERE g.id = gm.member_id LIMIT 1)"
                            .to_string(),
                        format!(
                            "(SELECT {user_display} FROM users u \
                             WHERE u.id = gm.member_id UNION ALL SELECT g.display_name_folded FROM groups g WHERE g.id = gm.member_id LIMIT 1)"
                        ),
                        false,
                    ))
                }
                _ => Err(unsupported(format!("members.{name} cannot be filtered on"))),
            },
            Ctx::UserGroups { .. } => match name {
                "value" => Ok(Scalar::column(sub, "gm.group_id", "gm.group_id")),
                "display" => Ok(Scalar::column(
                    sub,
                    "(SELECT g.display_name FROM groups g WHERE g.id = gm.group_id)",
                    "(SELECT g.display_name_folded FROM groups g WHERE g.id = gm.group_id)",
                )),
                "type" => Ok(Scalar::column(sub, "'direct'", "'direct'")),
                _ => Err(unsupported(format!("groups.{name} cannot be filtered on"))),
            },
            Ctx::Emails { .. } => match name {
                "value" => Ok(Scalar::column(sub, "ue.value_folded", "ue.value_folded")),
                "type" => Ok(Scalar::column(sub, "ue.kind", "ue.kind")),
                "primary" => Ok(Scalar::column(sub, "ue.is_primary", "ue.is_primary")),
                _ => Err(unsupported(format!(
                    "emails.{name} cannot be filtered through the index"
                ))),
            },
            Ctx::Meta { .. } => match name {
                "created" | "lastModified" => {
                    let col = if name == "created" {
                        "r.created"
                    } else {
                        "r.last_modified"
                    };
                    let text = self.d.time_text(col);
                    let mut s = Scalar::column(sub, &text, &format!("lower({text})"));
                    s.time_col = Some(col.to_string());
                    Ok(s)
                }
                "resourceType" => {
                    let v = if self.is_users() { "'User'" } else { "'Group'" };
                    Ok(Scalar::column(sub, v, &format!("lower({v})")))
                }
                "version" => Ok(Scalar::column(
                    sub,
                    "('W/\"' || r.version || '\"')",
                    "('w/\"' || r.version || '\"')",
                )),
                _ => Err(unsupported(format!("meta.{name} cannot be filtered on"))),
            },
        }
    }

    /// Opens the element scope of `ctx`; the caller writes the condition and calls [`Self::close`].
    fn open(&self, qb: &mut dyn Sink, ctx: &Ctx<'a>, in_form: bool) {
        match ctx {
            Ctx::Array { path, .. } => {
                qb.sql(&format!(
                    "EXISTS (SELECT 1 FROM {} WHERE ",
                    self.d.elements("r.doc_folded", path)
                ));
            }
            Ctx::Object { .. } | Ctx::Meta { .. } => {
                qb.sql("(");
            }
            Ctx::Members { .. } => {
                if in_form {
                    qb.sql(&format!(
                        "r.id IN (SELECT gm.group_id FROM group_members gm WHERE {VISIBLE_MEMBER} AND ("
                    ));
                } else {
                    qb.sql(&format!(
                        "EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = r.id AND {VISIBLE_MEMBER} AND ("
                    ));
                }
            }
            Ctx::UserGroups { .. } => {
                let not_builtin = format!(
                    "NOT EXISTS (SELECT 1 FROM groups bg WHERE bg.id = gm.group_id AND bg.builtin <> {})",
                    self.d.false_()
                );
                if in_form {
                    qb.sql(&format!(
                        "r.id IN (SELECT gm.member_id FROM group_members gm WHERE {not_builtin} AND ("
                    ));
                } else {
                    qb.sql(&format!(
                        "EXISTS (SELECT 1 FROM group_members gm WHERE gm.member_id = r.id AND {not_builtin} AND ("
                    ));
                }
            }
            Ctx::Emails { .. } => {
                qb.sql("r.seq IN (SELECT ue.user_seq FROM user_emails ue WHERE ue.tenant_id = ");
                qb.bind(Bind::Text(self.tenant_id.to_string()));
                qb.sql(" AND (");
            }
        }
    }

    fn close(&self, qb: &mut dyn Sink, ctx: &Ctx<'a>) {
        match ctx {
            Ctx::Array { .. } | Ctx::Object { .. } | Ctx::Meta { .. } => qb.sql(")"),
            _ => qb.sql("))"),
        };
    }

    /// Writes `filter` as a boolean SQL expression over `r`.
    pub(crate) fn filter(&self, qb: &mut dyn Sink, f: &Filter) -> R<()> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                qb.sql("(");
                self.filter(qb, a)?;
                qb.sql(if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                self.filter(qb, b)?;
                qb.sql(")");
            }
            Filter::Not(a) => self.not(qb, |qb| self.filter(qb, a))?,
            Filter::Present(path) => {
                let t = self.target(path, false)?;
                self.present(qb, &t)?;
            }
            Filter::Compare { path, op, value } => {
                let t = self.target(path, true)?;
                self.compare_target(qb, &t, *op, value)?;
            }
            Filter::ValuePath { attr, filter } => self.value_path(qb, attr, filter)?,
        }
        Ok(())
    }

    fn present(&self, qb: &mut dyn Sink, t: &Target<'a>) -> R<()> {
        match t {
            Target::Scalar(s) => qb.sql(&self.d.presence(&s.exact, s.json)),
            Target::Elements {
                ctx,
                sub: Some(sub),
            } => {
                let s = self.sub_scalar(ctx, Some(sub))?;
                self.open(qb, ctx, false);
                qb.sql(&self.d.presence(&s.exact, s.json));
                self.close(qb, ctx);
            }
            Target::Elements { ctx, sub: None } => match ctx {
                Ctx::Array { path, .. } | Ctx::Object { path, .. } => {
                    qb.sql(&self.d.any_atom(path));
                }
                Ctx::Members { .. } | Ctx::UserGroups { .. } | Ctx::Emails { .. } => {
                    self.open(qb, ctx, false);
                    qb.sql(self.d.true_());
                    self.close(qb, ctx);
                }
                Ctx::Meta { .. } => {
                    qb.sql(self.d.true_());
                }
            },
        }
        Ok(())
    }

    fn compare_target(
        &self,
        qb: &mut dyn Sink,
        t: &Target<'a>,
        op: CompareOp,
        v: &CompValue,
    ) -> R<()> {
        match (op, v) {
            (CompareOp::Eq, CompValue::Null) => return self.not(qb, |qb| self.present(qb, t)),
            (CompareOp::Ne, CompValue::Null) => return self.present(qb, t),
            (_, CompValue::Null) => {
                self.false_(qb);
                return Ok(());
            }
            (CompareOp::Ne, _) => {
                return self.not(qb, |qb| self.compare_target(qb, t, CompareOp::Eq, v))
            }
            _ => {}
        }
        match t {
            Target::Scalar(s) => self.compare(qb, s, op, v),
            Target::Elements { ctx, sub } => {
                let attr = ctx.attr();
                let sub = match sub {
                    Some(s) => Some(*s),
                    None if attr.ty == AttrType::Complex => match attr.sub("value") {
                        Some(vd) => Some(vd),
                        None => {
                            // A complex attribute without `value` never matches.
                            self.false_(qb);
                            return Ok(());
                        }
                    },
                    None => None,
                };
                let s = self.sub_scalar(ctx, sub)?;
                let in_form = op == CompareOp::Eq
                    && matches!(v, CompValue::String(_))
                    && sub.is_some_and(|d| d.name == "value");
                self.open(qb, ctx, in_form);
                self.compare(qb, &s, op, v);
                self.close(qb, ctx);
            }
        }
        Ok(())
    }

    fn value_path(&self, qb: &mut dyn Sink, attr_path: &AttrPath, f: &Filter) -> R<()> {
        if attr_path.sub_attr.is_some() {
            self.false_(qb);
            return Ok(());
        }
        let mut t = self.target(attr_path, false)?;
        if let Target::Elements {
            ctx: Ctx::Array { .. },
            ..
        } = &t
        {
            if self.is_users() && emails_indexable(f) {
                let r = self.schema.resolve_any(attr_path);
                if let Some(r) = r.filter(|r| !r.is_extension && r.attr.name == "emails") {
                    let ci = |n: &str| r.attr.sub(n).is_none_or(|d| !d.case_exact);
                    if ci("value") && ci("type") {
                        t = Target::Elements {
                            ctx: Ctx::Emails { attr: r.attr },
                            sub: None,
                        };
                    }
                }
            }
        }
        let ctx = match t {
            Target::Elements { ctx, .. } => ctx,
            Target::Scalar(_) => {
                return Err(unsupported(format!(
                    "a value filter needs a multi-valued or complex attribute, not '{}'",
                    display_path(attr_path)
                )))
            }
        };
        self.open(qb, &ctx, has_value_eq(f));
        self.element_filter(qb, &ctx, f)?;
        self.close(qb, &ctx);
        Ok(())
    }

    /// The definition of path `p` relative to an element of `ctx`'s attribute
    /// (`None` = the element itself, for a simple multi-valued attribute).
    fn element_sub(&self, ctx: &Ctx<'a>, p: &AttrPath) -> R<Option<&'a AttributeDef>> {
        let attr = ctx.attr();
        if p.uri.is_some() || p.sub_attr.is_some() {
            return Err(unsupported(format!(
                "'{}' inside a value filter of '{}'",
                display_path(p),
                attr.name
            )));
        }
        if attr.ty == AttrType::Complex {
            attr.sub(&p.attr).map(Some).ok_or_else(|| {
                unsupported(format!(
                    "unknown sub-attribute '{}' of '{}'",
                    p.attr, attr.name
                ))
            })
        } else if eq_ci(&p.attr, "value") {
            Ok(None)
        } else {
            Err(unsupported(format!(
                "unknown sub-attribute '{}' of '{}'",
                p.attr, attr.name
            )))
        }
    }

    fn element_filter(&self, qb: &mut dyn Sink, ctx: &Ctx<'a>, f: &Filter) -> R<()> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                qb.sql("(");
                self.element_filter(qb, ctx, a)?;
                qb.sql(if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                self.element_filter(qb, ctx, b)?;
                qb.sql(")");
            }
            Filter::Not(a) => self.not(qb, |qb| self.element_filter(qb, ctx, a))?,
            Filter::ValuePath { .. } => {
                // A nested valuePath never matches (as `matches`).
                self.false_(qb);
            }
            Filter::Present(p) => {
                let s = self.sub_scalar(ctx, self.element_sub(ctx, p)?)?;
                qb.sql(&self.d.presence(&s.exact, s.json));
            }
            Filter::Compare { path, op, value } => {
                let sub = self.element_sub(ctx, path)?;
                if sub.is_some_and(|d| d.ty == AttrType::Complex) {
                    return Err(unsupported(format!("'{}' is complex", display_path(path))));
                }
                let s = self.sub_scalar(ctx, sub)?;
                match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => {
                        self.not(qb, |qb| {
                            qb.sql(&self.d.presence(&s.exact, s.json));
                            Ok(())
                        })?;
                    }
                    (CompareOp::Ne, CompValue::Null) => qb.sql(&self.d.presence(&s.exact, s.json)),
                    (_, CompValue::Null) => self.false_(qb),
                    (CompareOp::Ne, v) => self.not(qb, |qb| {
                        self.compare(qb, &s, CompareOp::Eq, v);
                        Ok(())
                    })?,
                    (op, v) => self.compare(qb, &s, *op, v),
                }
            }
        }
        Ok(())
    }

    /// A string operation `x op ?` (text already folded as needed).
    fn string_op(&self, qb: &mut dyn Sink, x: &str, json: bool, op: CompareOp, v: String) {
        let (op, v) = match nul_free(self.d, op, v) {
            Some(x) => x,
            None => return self.false_(qb),
        };
        qb.sql("(");
        if let Some(guard) = self.d.string_guard(x, json, op) {
            qb.sql(&format!("{guard} AND "));
        }
        let t = self.d.text(x, json);
        let n = v.chars().count();
        if op == CompareOp::Ew && n == 0 {
            qb.sql(&format!("{t} IS NOT NULL"));
        } else {
            let (before, after) = self.d.text_op(&t, op, n);
            qb.sql(&before);
            qb.bind(Bind::Text(v));
            qb.sql(&after);
        }
        qb.sql(")");
    }

    /// `s op v` for one value (`op` is not `ne`, `v` not null), as `compare_leaf` of `matches`.
    fn compare(&self, qb: &mut dyn Sink, s: &Scalar, op: CompareOp, v: &CompValue) {
        match s.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => match v {
                CompValue::String(text) => {
                    let (x, v) = if s.case_exact {
                        (&s.exact, text.clone())
                    } else {
                        (&s.folded, fold(text))
                    };
                    self.string_op(qb, x, s.json, op, v);
                }
                _ => self.false_(qb),
            },
            AttrType::Boolean => match lit_bool(v) {
                // Documents are canonical: boolean attributes hold JSON booleans.
                Some(b) if op == CompareOp::Eq => qb.sql(&self.d.bool_eq(&s.exact, s.json, b)),
                _ => self.false_(qb),
            },
            AttrType::Integer | AttrType::Decimal => match v {
                CompValue::Number(n)
                    if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) =>
                {
                    let (before, after) = self.d.number_op(&s.exact, s.json, op_sql(op));
                    qb.sql(&before);
                    qb.bind(self.d.number_bind(n));
                    qb.sql(&after);
                }
                _ => self.false_(qb),
            },
            AttrType::DateTime => match v {
                CompValue::String(text) => {
                    let textual = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
                    match parse_instant(text).filter(|_| !textual) {
                        Some(t) => match &s.time_col {
                            Some(col) => self.stored_time_compare(qb, col, op, t),
                            None => {
                                // Guarded as for an ordering of text: the key is text.
                                let guard = self
                                    .d
                                    .string_guard(&s.exact, s.json, CompareOp::Gt)
                                    .map(|g| format!("{g} AND "))
                                    .unwrap_or_default();
                                let key = self.d.instant_key(&self.d.text(&s.exact, s.json));
                                qb.sql(&format!("({guard}{key} {} ", op_sql(op)));
                                qb.bind(Bind::Text(crate::timefmt::instant_key(t)));
                                qb.sql(")");
                            }
                        },
                        None => {
                            // As `matches`: text comparison, folded unless caseExact (dateTime
                            // text is ASCII, so SQL lower() folds it exactly).
                            let (x, v) = if s.case_exact {
                                (self.d.text(&s.exact, s.json), text.clone())
                            } else {
                                (
                                    format!("lower({})", self.d.text(&s.exact, s.json)),
                                    fold(text),
                                )
                            };
                            self.string_op(qb, &x, false, op, v);
                        }
                    }
                }
                _ => self.false_(qb),
            },
            AttrType::Complex => self.false_(qb),
        }
    }

    /// Compares a timestamp column (microseconds) with instant `t`, exactly: when `t` has a
    /// sub-microsecond part, `eq` is false and the orderings are adjusted.
    fn stored_time_compare(&self, qb: &mut dyn Sink, col: &str, op: CompareOp, t: OffsetDateTime) {
        let exact = t.nanosecond().is_multiple_of(1000);
        let op = if exact {
            op_sql(op)
        } else {
            match op {
                CompareOp::Gt | CompareOp::Ge => ">",
                CompareOp::Lt | CompareOp::Le => "<=",
                _ => {
                    self.false_(qb);
                    return;
                }
            }
        };
        let truncated = t
            .replace_nanosecond(t.nanosecond() / 1000 * 1000)
            .unwrap_or(t);
        qb.sql(&format!("({col} {op} "));
        qb.bind(self.d.time_bind(truncated));
        qb.sql(")");
    }

    /// The SQL expression a resource sorts by for `sortBy` = `path` (RFC 7644 §3.4.2.3):
    /// the folded value for case-insensitive strings, the primary (else first) element's
    /// value for multi-valued attributes. Unsupported for unknown attributes and
    /// membership attributes.
    fn sort_expr(&self, path: &AttrPath) -> R<String> {
        let r = self.schema.resolve_any(path).ok_or_else(|| {
            unsupported(format!("unknown sort attribute '{}'", display_path(path)))
        })?;
        let attr = r.attr;
        if !r.is_extension {
            match (attr.name.as_str(), r.sub.map(|s| s.name.as_str())) {
                ("id", None) => return Ok("r.id".into()),
                ("externalId", None) if attr.case_exact => return Ok("r.external_id".into()),
                ("meta", Some("created")) => return Ok("r.created".into()),
                ("meta", Some("lastModified")) => return Ok("r.last_modified".into()),
                ("meta", Some("version")) => return Ok("r.version".into()),
                ("meta", Some("location")) => return Ok("r.id".into()),
                ("meta", Some("resourceType")) => return Ok(self.d.null_sort_key().into()),
                ("meta", _) => return Err(unsupported("sortBy meta needs a sub-attribute")),
                ("userName", None) if self.is_users() && !attr.case_exact => {
                    return Ok("r.user_name_folded".into())
                }
                ("displayName", None) if !self.is_users() && !attr.case_exact => {
                    return Ok("r.display_name_folded".into())
                }
                ("groups", _) if self.is_users() => {
                    return Err(unsupported("cannot sort by groups"))
                }
                ("members", _) if !self.is_users() => {
                    return Err(unsupported("cannot sort by members"))
                }
                _ => {}
            }
        }
        let p = self.attr_path(r.schema_urn, r.is_extension, attr)?;
        let pick = |s: &Scalar| -> String {
            if s.ty == AttrType::DateTime {
                self.d.instant_key(&self.d.text(&s.exact, s.json))
            } else if is_text(s.ty) && !s.case_exact {
                self.d.sort_key(&s.folded, s.json, s.ty)
            } else {
                self.d.sort_key(&s.exact, s.json, s.ty)
            }
        };
        if attr.multi_valued {
            let ctx = Ctx::Array {
                path: p.clone(),
                attr,
            };
            let sub = match r.sub {
                Some(s) => Some(s),
                None if attr.ty == AttrType::Complex => {
                    Some(attr.sub("value").ok_or_else(|| {
                        unsupported(format!("cannot sort by '{}'", display_path(path)))
                    })?)
                }
                None => None,
            };
            let s = self.sub_scalar(&ctx, sub)?;
            let order = if attr.ty == AttrType::Complex && attr.sub("primary").is_some() {
                self.d.primary_first()
            } else {
                "e.key".to_string()
            };
            let x = format!(
                "(SELECT {} FROM {} ORDER BY {order} LIMIT 1)",
                pick(&s),
                self.d.elements("r.doc_folded", &p)
            );
            return Ok(self.d.sort_wrap(x, s.ty));
        }
        if attr.ty == AttrType::Complex {
            let sub = r
                .sub
                .or_else(|| attr.sub("value"))
                .ok_or_else(|| unsupported(format!("cannot sort by '{}'", display_path(path))))?;
            let s = self.sub_scalar(&Ctx::Object { path: p, attr }, Some(sub))?;
            return Ok(self.d.sort_wrap(pick(&s), s.ty));
        }
        let s = self.json_scalar(attr, &p);
        Ok(self.d.sort_wrap(pick(&s), s.ty))
    }

    /// Writes `ORDER BY ...`: by `sort_by` (NULLs last ascending, first descending) then
    /// `r.seq`; by `r.seq` alone without `sort_by`.
    pub(crate) fn order_by(
        &self,
        qb: &mut dyn Sink,
        sort_by: Option<&AttrPath>,
        order: SortOrder,
    ) -> R<()> {
        match sort_by {
            None => {
                qb.sql(" ORDER BY r.seq");
            }
            Some(p) => {
                let x = self.sort_expr(p)?;
                let dir = if order == SortOrder::Descending {
                    "DESC"
                } else {
                    "ASC"
                };
                if matches!(
                    x.as_str(),
                    "r.user_name_folded" | "r.display_name_folded" | "r.id"
                ) {
                    // Never NULL and unique: the unique index gives the order, no sort needed.
                    qb.sql(&format!(" ORDER BY {x} {dir}"));
                } else {
                    qb.sql(&format!(" ORDER BY ({x}) IS NULL {dir}, {x} {dir}, r.seq"));
                }
            }
        }
        Ok(())
    }
}

/// A text comparison rewritten for a back end that cannot hold NUL characters in text
/// (PostgreSQL), so stores none: `x op v` for a literal `v` = `p` NUL `rest` is, for every
/// NUL-free `x`, false for `eq` / `co` / `sw` / `ew` (`None`), `x > p` for `gt` / `ge` and
/// `x <= p` for `lt` / `le`. Literals without NUL, and back ends that hold NUL, unchanged.
pub(crate) fn nul_free(d: &dyn Dialect, op: CompareOp, v: String) -> Option<(CompareOp, String)> {
    let Some(i) = v.find('\0').filter(|_| !d.text_holds_nul()) else {
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

fn display_path(p: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(u) = &p.uri {
        s.push_str(u);
        s.push(':');
    }
    s.push_str(&p.attr);
    if let Some(sub) = &p.sub_attr {
        s.push('.');
        s.push_str(sub);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_indexability() {
        let f = |s: &str| scim_proto::filter::parse(s).unwrap();
        assert!(emails_indexable(&f(r#"value eq "a@b""#)));
        assert!(emails_indexable(&f(r#"type eq "work" and value eq "a@b""#)));
        assert!(emails_indexable(&f(
            r#"type eq "work" and value co "a@b" and primary eq true"#
        )));
        assert!(!emails_indexable(&f(r#"type eq "work""#)));
        assert!(!emails_indexable(&f(r#"value ne "x""#)));
        assert!(!emails_indexable(&f(r#"value eq "x" or type eq "work""#)));
        assert!(!emails_indexable(&f(
            r#"value eq "x" and primary eq false"#
        )));
        assert!(!emails_indexable(&f(r#"value eq "x" and display eq "y""#)));
    }

    #[test]
    fn nul_literals_on_a_back_end_without_nul() {
        use CompareOp::*;
        let d: &dyn Dialect = &crate::postgres::filter::PgDialect;
        let v = || "ab\0c".to_string();
        assert_eq!(nul_free(d, Eq, v()), None);
        assert_eq!(nul_free(d, Co, v()), None);
        assert_eq!(nul_free(d, Ge, v()), Some((Gt, "ab".into())));
        assert_eq!(nul_free(d, Lt, v()), Some((Le, "ab".into())));
        assert_eq!(nul_free(d, Eq, "ab".into()), Some((Eq, "ab".into())));
        let s: &dyn Dialect = &crate::sqlite::filter::SqliteDialect;
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
