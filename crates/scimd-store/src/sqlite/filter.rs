//! SCIM filters and sort keys as SQLite SQL (RFC 7644 §3.4.2.2, §3.4.2.3).
//!
//! The translation mirrors `scim_proto::filter::matches`, the reference semantics, over the
//! columns of `users` / `groups` (aliased `r`):
//!
//! - case-insensitive strings are compared in `r.doc_folded` (written by
//!   `scim_proto::normalize::fold_document`) against literals folded in Rust with
//!   `scim_proto::filter::fold`; `caseExact` ones in `r.doc`;
//! - multi-valued attributes become `EXISTS (SELECT 1 FROM json_each(..) e WHERE ..)`, a
//!   valuePath one such `EXISTS` whose conditions all apply to the same element `e`;
//! - `ne` is `NOT COALESCE((eq), 0)`, `eq null` is "not present", `pr` is "present and
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

use crate::timefmt;
use scim_proto::filter::{fold, CompValue, CompareOp, Filter};
use scim_proto::list::SortOrder;
use scim_proto::path::AttrPath;
use scim_proto::schema::{AttrType, AttributeDef, ResourceSchema};
use scimd_directory::store::StoreError;
use sqlx::{QueryBuilder, Sqlite};
use time::OffsetDateTime;

/// The query builder the translation writes into.
pub(crate) type Qb = QueryBuilder<Sqlite>;

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
    /// The tenant whose rows are queried (bound again in sub-queries on tables keyed by tenant).
    pub(crate) tenant_id: &'a str,
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
    /// Read from JSON, so its SQL type must be checked before text / number operations.
    json: bool,
    /// A timestamp column in the stored format (`crate::timefmt`).
    stored_time: bool,
}

impl Scalar {
    fn of(def: &AttributeDef, exact: String, folded: String, json: bool) -> Scalar {
        Scalar {
            exact,
            folded,
            ty: def.ty,
            case_exact: def.case_exact,
            json,
            stored_time: false,
        }
    }
    fn column(def: &AttributeDef, exact: &str, folded: &str) -> Scalar {
        Scalar::of(def, exact.to_string(), folded.to_string(), false)
    }
}

/// Where the elements of a multi-valued (or complex) attribute come from.
#[derive(Debug, Clone)]
enum Ctx<'a> {
    /// A JSON array at `path`; `e` iterates `json_each(r.doc_folded, path)`.
    Array {
        path: String,
        attr: &'a AttributeDef,
    },
    /// A JSON object at `path` (a single-valued complex attribute).
    Object {
        path: String,
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

/// `."name"` for a JSON path; refuses names that would need escaping.
fn json_key(name: &str) -> R<String> {
    if name.contains(['"', '\\', '\'']) || name.chars().any(char::is_control) {
        return Err(unsupported(format!(
            "attribute name {name:?} cannot be used in a filter"
        )));
    }
    Ok(format!(".\"{name}\""))
}

/// An SQL string literal (the text has no `'`: see [`json_key`]).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The fixed-width instant key of a dateTime text in SQL (see [`timefmt::instant_key`]):
/// `YYYY-MM-DDTHH:MM:SS` and nine fractional digits, for text normalised to UTC with `Z`.
fn instant_key_sql(x: &str) -> String {
    format!(
        "(substr({x}, 1, 19) || substr(CASE WHEN substr({x}, 20, 1) = '.' THEN substr({x}, 21, length({x}) - 21) ELSE '' END || '000000000', 1, 9))"
    )
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

impl<'a> Translator<'a> {
    fn is_users(&self) -> bool {
        self.kind == Kind::Users
    }

    /// The JSON path of a resolved top-level attribute: `$."userName"`, `$."urn:..:User"."department"`.
    fn attr_path(&self, urn: &str, is_extension: bool, attr: &AttributeDef) -> R<String> {
        let mut p = String::from("$");
        if is_extension {
            p.push_str(&json_key(urn)?);
        }
        p.push_str(&json_key(&attr.name)?);
        Ok(p)
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
                let exact = format!(
                    "json_extract(r.doc, {})",
                    lit(&self.attr_path(r.schema_urn, false, attr)?)
                );
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
        let exact = format!("json_extract(r.doc, {})", lit(&p));
        let folded = format!("json_extract(r.doc_folded, {})", lit(&p));
        Ok(Target::Scalar(Scalar::of(attr, exact, folded, true)))
    }

    /// The value of sub-attribute `sub` (of `ctx`'s attribute; `None` = the element itself
    /// for a simple multi-valued attribute) for the current element of `ctx`.
    fn sub_scalar(&self, ctx: &Ctx<'a>, sub: Option<&'a AttributeDef>) -> R<Scalar> {
        let attr = ctx.attr();
        let Some(sub) = sub else {
            return match ctx {
                Ctx::Array { path, .. } if attr.ty != AttrType::Complex => {
                    let exact =
                        format!("json_extract(r.doc, {} || '[' || e.key || ']')", lit(path));
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
                let exact = format!("json_extract(r.doc, {} || '[' || e.key || ']' || {})", lit(path), lit(&key));
                // `e.value` of a non-object element is not JSON text: never json_extract it.
                let folded = format!(
                    "CASE WHEN e.type = 'object' THEN json_extract(e.value, {}) END",
                    lit(&format!("${key}"))
                );
                Ok(Scalar::of(sub, exact, folded, true))
            }
            Ctx::Object { path, .. } => {
                let p = format!("{path}{}", json_key(name)?);
                let exact = format!("json_extract(r.doc, {})", lit(&p));
                let folded = format!("json_extract(r.doc_folded, {})", lit(&p));
                Ok(Scalar::of(sub, exact, folded, true))
            }
            Ctx::Members { .. } => match name {
                "value" => Ok(Scalar::column(sub, "gm.member_id", "gm.member_id")),
                "type" => Ok(Scalar::column(sub, "gm.member_kind", "lower(gm.member_kind)")),
                "display" => Ok(Scalar::column(
                    sub,
                    "(SELECT COALESCE(u.display_name, u.user_name) FROM users u WHERE u.id = gm.member_id \
                     UNION ALL SELECT g.display_name FROM groups g WHERE g.id = gm.member_id LIMIT 1)",
                    "(SELECT COALESCE(json_extract(u.doc_folded, '$.\"displayName\"'), u.user_name_folded) FROM users u \
                     WHERE u.id = gm.member_id UNION ALL SELECT g.display_name_folded FROM groups g WHERE g.id = gm.member_id LIMIT 1)",
                )),
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
                _ => Err(unsupported(format!("emails.{name} cannot be filtered through the index"))),
            },
            Ctx::Meta { .. } => match name {
                "created" | "lastModified" => {
                    let col = if name == "created" { "r.created" } else { "r.last_modified" };
                    let mut s = Scalar::column(sub, col, &format!("lower({col})"));
                    s.stored_time = true;
                    Ok(s)
                }
                "resourceType" => {
                    let v = if self.is_users() { "'User'" } else { "'Group'" };
                    Ok(Scalar::column(sub, v, &format!("lower({v})")))
                }
                "version" => Ok(Scalar::column(sub, "('W/\"' || r.version || '\"')", "('w/\"' || r.version || '\"')")),
                _ => Err(unsupported(format!("meta.{name} cannot be filtered on"))),
            },
        }
    }

    /// Opens the element scope of `ctx`; the caller writes the condition and calls [`Self::close`].
    fn open(&self, qb: &mut Qb, ctx: &Ctx<'a>, in_form: bool) {
        match ctx {
            Ctx::Array { path, .. } => {
                qb.push(format!(
                    "EXISTS (SELECT 1 FROM json_each(r.doc_folded, {}) e WHERE ",
                    lit(path)
                ));
            }
            Ctx::Object { .. } | Ctx::Meta { .. } => {
                qb.push("(");
            }
            Ctx::Members { .. } => {
                if in_form {
                    qb.push("r.id IN (SELECT gm.group_id FROM group_members gm WHERE (");
                } else {
                    qb.push(
                        "EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = r.id AND (",
                    );
                }
            }
            Ctx::UserGroups { .. } => {
                let not_builtin = "NOT EXISTS (SELECT 1 FROM groups bg WHERE bg.id = gm.group_id AND bg.builtin <> 0)";
                if in_form {
                    qb.push(format!("r.id IN (SELECT gm.member_id FROM group_members gm WHERE {not_builtin} AND ("));
                } else {
                    qb.push(format!(
                        "EXISTS (SELECT 1 FROM group_members gm WHERE gm.member_id = r.id AND {not_builtin} AND ("
                    ));
                }
            }
            Ctx::Emails { .. } => {
                qb.push("r.seq IN (SELECT ue.user_seq FROM user_emails ue WHERE ue.tenant_id = ");
                qb.push_bind(self.tenant_id.to_string());
                qb.push(" AND (");
            }
        }
    }

    fn close(&self, qb: &mut Qb, ctx: &Ctx<'a>) {
        match ctx {
            Ctx::Array { .. } | Ctx::Object { .. } | Ctx::Meta { .. } => qb.push(")"),
            _ => qb.push("))"),
        };
    }

    /// Writes `filter` as a boolean SQL expression over `r`.
    pub(crate) fn filter(&self, qb: &mut Qb, f: &Filter) -> R<()> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                qb.push("(");
                self.filter(qb, a)?;
                qb.push(if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                self.filter(qb, b)?;
                qb.push(")");
            }
            Filter::Not(a) => {
                qb.push("NOT COALESCE((");
                self.filter(qb, a)?;
                qb.push("), 0)");
            }
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

    fn present(&self, qb: &mut Qb, t: &Target<'a>) -> R<()> {
        match t {
            Target::Scalar(s) => presence(qb, s),
            Target::Elements {
                ctx,
                sub: Some(sub),
            } => {
                let s = self.sub_scalar(ctx, Some(sub))?;
                self.open(qb, ctx, false);
                presence(qb, &s);
                self.close(qb, ctx);
            }
            Target::Elements { ctx, sub: None } => match ctx {
                Ctx::Array { path, .. } | Ctx::Object { path, .. } => {
                    qb.push(format!(
                        "EXISTS (SELECT 1 FROM json_tree(r.doc, {}) t WHERE t.atom IS NOT NULL AND t.atom <> '')",
                        lit(path)
                    ));
                }
                Ctx::Members { .. } | Ctx::UserGroups { .. } | Ctx::Emails { .. } => {
                    self.open(qb, ctx, false);
                    qb.push("1");
                    self.close(qb, ctx);
                }
                Ctx::Meta { .. } => {
                    qb.push("1");
                }
            },
        }
        Ok(())
    }

    fn compare_target(&self, qb: &mut Qb, t: &Target<'a>, op: CompareOp, v: &CompValue) -> R<()> {
        match (op, v) {
            (CompareOp::Eq, CompValue::Null) => {
                qb.push("NOT COALESCE((");
                self.present(qb, t)?;
                qb.push("), 0)");
                return Ok(());
            }
            (CompareOp::Ne, CompValue::Null) => return self.present(qb, t),
            (_, CompValue::Null) => {
                qb.push("0");
                return Ok(());
            }
            (CompareOp::Ne, _) => {
                qb.push("NOT COALESCE((");
                self.compare_target(qb, t, CompareOp::Eq, v)?;
                qb.push("), 0)");
                return Ok(());
            }
            _ => {}
        }
        match t {
            Target::Scalar(s) => compare(qb, s, op, v),
            Target::Elements { ctx, sub } => {
                let attr = ctx.attr();
                let sub = match sub {
                    Some(s) => Some(*s),
                    None if attr.ty == AttrType::Complex => match attr.sub("value") {
                        Some(vd) => Some(vd),
                        None => {
                            // A complex attribute without `value` never matches.
                            qb.push("0");
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
                compare(qb, &s, op, v);
                self.close(qb, ctx);
            }
        }
        Ok(())
    }

    fn value_path(&self, qb: &mut Qb, attr_path: &AttrPath, f: &Filter) -> R<()> {
        if attr_path.sub_attr.is_some() {
            qb.push("0");
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

    fn element_filter(&self, qb: &mut Qb, ctx: &Ctx<'a>, f: &Filter) -> R<()> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                qb.push("(");
                self.element_filter(qb, ctx, a)?;
                qb.push(if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                self.element_filter(qb, ctx, b)?;
                qb.push(")");
            }
            Filter::Not(a) => {
                qb.push("NOT COALESCE((");
                self.element_filter(qb, ctx, a)?;
                qb.push("), 0)");
            }
            Filter::ValuePath { .. } => {
                // A nested valuePath never matches (as `matches`).
                qb.push("0");
            }
            Filter::Present(p) => {
                let s = self.sub_scalar(ctx, self.element_sub(ctx, p)?)?;
                presence(qb, &s);
            }
            Filter::Compare { path, op, value } => {
                let sub = self.element_sub(ctx, path)?;
                if sub.is_some_and(|d| d.ty == AttrType::Complex) {
                    return Err(unsupported(format!("'{}' is complex", display_path(path))));
                }
                let s = self.sub_scalar(ctx, sub)?;
                match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => {
                        qb.push("NOT COALESCE((");
                        presence(qb, &s);
                        qb.push("), 0)");
                    }
                    (CompareOp::Ne, CompValue::Null) => presence(qb, &s),
                    (_, CompValue::Null) => {
                        qb.push("0");
                    }
                    (CompareOp::Ne, v) => {
                        qb.push("NOT COALESCE((");
                        compare(qb, &s, CompareOp::Eq, v);
                        qb.push("), 0)");
                    }
                    (op, v) => compare(qb, &s, *op, v),
                }
            }
        }
        Ok(())
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
                ("meta", Some("resourceType")) => return Ok("NULL".into()),
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
                instant_key_sql(&s.exact)
            } else if is_text(s.ty) && !s.case_exact {
                s.folded.clone()
            } else {
                s.exact.clone()
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
                "CASE WHEN e.type = 'object' THEN json_extract(e.value, '$.\"primary\"') END = 1 DESC, e.key"
            } else {
                "e.key"
            };
            return Ok(format!(
                "(SELECT {} FROM json_each(r.doc_folded, {}) e ORDER BY {order} LIMIT 1)",
                pick(&s),
                lit(&p)
            ));
        }
        if attr.ty == AttrType::Complex {
            let sub = r
                .sub
                .or_else(|| attr.sub("value"))
                .ok_or_else(|| unsupported(format!("cannot sort by '{}'", display_path(path))))?;
            let s = self.sub_scalar(&Ctx::Object { path: p, attr }, Some(sub))?;
            return Ok(pick(&s));
        }
        let exact = format!("json_extract(r.doc, {})", lit(&p));
        let folded = format!("json_extract(r.doc_folded, {})", lit(&p));
        Ok(pick(&Scalar::of(attr, exact, folded, true)))
    }

    /// Writes `ORDER BY ...`: by `sort_by` (NULLs last ascending, first descending, like
    /// PostgreSQL) then `r.seq`; by `r.seq` alone without `sort_by`.
    pub(crate) fn order_by(
        &self,
        qb: &mut Qb,
        sort_by: Option<&AttrPath>,
        order: SortOrder,
    ) -> R<()> {
        match sort_by {
            None => {
                qb.push(" ORDER BY r.seq");
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
                    qb.push(format!(" ORDER BY {x} {dir}"));
                } else {
                    qb.push(format!(" ORDER BY ({x}) IS NULL {dir}, {x} {dir}, r.seq"));
                }
            }
        }
        Ok(())
    }
}

fn is_text(ty: AttrType) -> bool {
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

/// `x` holds a value: not NULL (JSON null / absent), not `""`.
fn presence(qb: &mut Qb, s: &Scalar) {
    let x = &s.exact;
    qb.push(format!("({x} IS NOT NULL AND {x} <> '')"));
}

/// A string operation `x op ?` (text already folded as needed).
fn string_op(qb: &mut Qb, x: &str, op: CompareOp, v: String, guard: bool) {
    qb.push("(");
    if guard {
        qb.push(format!("typeof({x}) = 'text' AND "));
    }
    match op {
        CompareOp::Co => {
            qb.push(format!("instr({x}, "));
            qb.push_bind(v);
            qb.push(") > 0");
        }
        CompareOp::Sw => {
            let n = v.chars().count();
            qb.push(format!("substr({x}, 1, {n}) = "));
            qb.push_bind(v);
        }
        CompareOp::Ew => {
            let n = v.chars().count();
            if n == 0 {
                qb.push(format!("{x} IS NOT NULL"));
            } else {
                qb.push(format!("substr({x}, -{n}) = "));
                qb.push_bind(v);
            }
        }
        _ => {
            qb.push(format!("{x} {} ", op_sql(op)));
            qb.push_bind(v);
        }
    }
    qb.push(")");
}

/// `s op v` for one value (`op` is not `ne`, `v` not null), as `compare_leaf` of `matches`.
fn compare(qb: &mut Qb, s: &Scalar, op: CompareOp, v: &CompValue) {
    match s.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => match v {
            CompValue::String(text) => {
                let (x, v) = if s.case_exact {
                    (&s.exact, text.clone())
                } else {
                    (&s.folded, fold(text))
                };
                string_op(qb, x, op, v, s.json && op != CompareOp::Eq);
            }
            _ => {
                qb.push("0");
            }
        },
        AttrType::Boolean => match lit_bool(v) {
            Some(b) if op == CompareOp::Eq => {
                // json_extract reads JSON true / false as 1 / 0 (documents are canonical:
                // boolean attributes hold JSON booleans).
                qb.push(format!("({} = {})", s.exact, u8::from(b)));
            }
            _ => {
                qb.push("0");
            }
        },
        AttrType::Integer | AttrType::Decimal => match v {
            CompValue::Number(n)
                if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) =>
            {
                let x = &s.exact;
                qb.push("(");
                if s.json {
                    qb.push(format!("typeof({x}) IN ('integer', 'real') AND "));
                }
                qb.push(format!("{x} {} ", op_sql(op)));
                if let Some(i) = n.as_i64() {
                    qb.push_bind(i);
                } else {
                    qb.push_bind(n.as_f64().unwrap_or(f64::NAN));
                }
                qb.push(")");
            }
            _ => {
                qb.push("0");
            }
        },
        AttrType::DateTime => match v {
            CompValue::String(text) => {
                let textual = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
                match parse_instant(text).filter(|_| !textual) {
                    Some(t) if s.stored_time => stored_time_compare(qb, &s.exact, op, t),
                    Some(t) => {
                        qb.push(format!(
                            "(typeof({x}) = 'text' AND {} {} ",
                            instant_key_sql(&s.exact),
                            op_sql(op),
                            x = s.exact
                        ));
                        qb.push_bind(timefmt::instant_key(t));
                        qb.push(")");
                    }
                    None => {
                        // As `matches`: text comparison, folded unless caseExact (dateTime
                        // text is ASCII, so SQL lower() folds it exactly).
                        let (x, v) = if s.case_exact {
                            (s.exact.clone(), text.clone())
                        } else {
                            (format!("lower({})", s.exact), fold(text))
                        };
                        string_op(qb, &x, op, v, false);
                    }
                }
            }
            _ => {
                qb.push("0");
            }
        },
        AttrType::Complex => {
            qb.push("0");
        }
    }
}

/// Compares a timestamp column (stored format, microseconds) with instant `t`, exactly:
/// when `t` has a sub-microsecond part, `eq` is false and the orderings are adjusted.
fn stored_time_compare(qb: &mut Qb, col: &str, op: CompareOp, t: OffsetDateTime) {
    let stored = timefmt::format(t);
    let exact = t.nanosecond().is_multiple_of(1000);
    let op = if exact {
        op_sql(op)
    } else {
        match op {
            CompareOp::Gt | CompareOp::Ge => ">",
            CompareOp::Lt | CompareOp::Le => "<=",
            _ => {
                qb.push("0");
                return;
            }
        }
    };
    qb.push(format!("({col} {op} "));
    qb.push_bind(stored);
    qb.push(")");
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
}
