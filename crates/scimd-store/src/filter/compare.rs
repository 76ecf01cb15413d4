//! Filters as boolean SQL: logical operators, presence, comparisons by attribute type,
//! value filters (RFC 7644 §3.4.2.2), as `scim_proto::filter::matches` evaluates them.

use super::{
    eq_ci, lit_bool, nul_free, op_sql, parse_instant, point, unsupported, Ctx, Scalar, Target,
    Translator, R,
};
use crate::sql::{Bind, Sql};
use scim_proto::canonical::identifier_key;
use scim_proto::filter::{fold, CompValue, CompareOp, Filter};
use scim_proto::path::AttrPath;
use scim_proto::schema::{AttrType, AttributeDef};
use time::OffsetDateTime;

impl<'a> Translator<'a> {
    /// Writes `filter` as a boolean SQL expression over `r`.
    pub(crate) fn filter(&self, qb: &mut Sql<'_>, f: &Filter) -> R<()> {
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

    /// `s` holds a value (not NULL, not `""`).
    fn presence(&self, qb: &mut Sql<'_>, s: &Scalar) {
        qb.adopt(&s.refs);
        qb.sql(&self.d.presence(&s.exact, s.json));
    }

    fn present(&self, qb: &mut Sql<'_>, t: &Target<'a>) -> R<()> {
        match t {
            Target::Scalar(s) => self.presence(qb, s),
            Target::Elements {
                ctx,
                sub: Some(sub),
            } => {
                let s = self.sub_scalar(qb, ctx, Some(sub))?;
                self.open(qb, ctx, false);
                self.presence(qb, &s);
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
        qb: &mut Sql<'_>,
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
                let s = self.sub_scalar(qb, ctx, sub)?;
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

    fn value_path(&self, qb: &mut Sql<'_>, attr_path: &AttrPath, f: &Filter) -> R<()> {
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
            if self.is_users() && point::emails_indexable(f) {
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
                    "a value filter needs a multi-valued or complex attribute, not '{attr_path}'"
                )))
            }
        };
        self.open(qb, &ctx, point::has_value_eq(f));
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
                "'{p}' inside a value filter of '{}'",
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

    fn element_filter(&self, qb: &mut Sql<'_>, ctx: &Ctx<'a>, f: &Filter) -> R<()> {
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
                let s = self.sub_scalar(qb, ctx, self.element_sub(ctx, p)?)?;
                self.presence(qb, &s);
            }
            Filter::Compare { path, op, value } => {
                let sub = self.element_sub(ctx, path)?;
                if sub.is_some_and(|d| d.ty == AttrType::Complex) {
                    return Err(unsupported(format!("'{path}' is complex")));
                }
                let s = self.sub_scalar(qb, ctx, sub)?;
                match (op, value) {
                    (CompareOp::Eq, CompValue::Null) => {
                        self.not(qb, |qb| {
                            self.presence(qb, &s);
                            Ok(())
                        })?;
                    }
                    (CompareOp::Ne, CompValue::Null) => self.presence(qb, &s),
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
    fn string_op(&self, qb: &mut Sql<'_>, x: &str, json: bool, op: CompareOp, v: String) {
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
    fn compare(&self, qb: &mut Sql<'_>, s: &Scalar, op: CompareOp, v: &CompValue) {
        qb.adopt(&s.refs);
        match s.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => match v {
                CompValue::String(text) => {
                    let (x, v) = match (s.key, s.case_exact) {
                        (true, true) => (&s.exact, identifier_key(text, true)),
                        (true, false) => (&s.folded, identifier_key(text, false)),
                        (false, true) => (&s.exact, text.clone()),
                        (false, false) => (&s.folded, fold(text)),
                    };
                    self.string_op(qb, x, s.json, op, v);
                }
                _ => self.false_(qb),
            },
            AttrType::Boolean => match lit_bool(v) {
                // Documents are canonical: boolean attributes hold JSON booleans.
                Some(b) if op == CompareOp::Eq => {
                    qb.sql(&self.d.bool_eq(&s.exact, s.json, b));
                }
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
    fn stored_time_compare(&self, qb: &mut Sql<'_>, col: &str, op: CompareOp, t: OffsetDateTime) {
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
}
