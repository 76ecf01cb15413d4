//! Sort keys (RFC 7644 §3.4.2.3): what a resource sorts by for `sortBy`, and `ORDER BY`.

use super::{is_text, unsupported, Ctx, Scalar, Translator, R};
use crate::sql::Sql;
use scim_proto::list::SortOrder;
use scim_proto::path::AttrPath;
use scim_proto::schema::AttrType;

impl<'a> Translator<'a> {
    /// The SQL expression a resource sorts by for `sortBy` = `path` (RFC 7644 §3.4.2.3):
    /// the folded value for case-insensitive strings, the primary (else first) element's
    /// value for multi-valued attributes. Unsupported for unknown attributes and
    /// membership attributes.
    fn sort_expr(&self, qb: &Sql<'_>, path: &AttrPath) -> R<String> {
        let r = self
            .schema
            .resolve_any(path)
            .ok_or_else(|| unsupported(format!("unknown sort attribute '{path}'")))?;
        let attr = r.attr;
        if !r.is_extension {
            match (attr.name.as_str(), r.sub.map(|s| s.name.as_str())) {
                ("id", None) => return Ok("r.id".into()),
                ("externalId", None) if attr.case_exact => return Ok("r.external_id".into()),
                ("meta", Some("created")) => return Ok("r.created".into()),
                ("meta", Some("lastModified")) => return Ok("r.last_modified".into()),
                ("meta", Some("version")) => return Ok("r.version".into()),
                ("meta", Some("location")) => return Ok("r.id".into()),
                ("meta", Some("resourceType")) => return Ok(self.d.words().null_sort_key.into()),
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
                None if attr.ty == AttrType::Complex => Some(
                    attr.sub("value")
                        .ok_or_else(|| unsupported(format!("cannot sort by '{path}'")))?,
                ),
                None => None,
            };
            let s = self.sub_scalar(qb, &ctx, sub)?;
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
                .ok_or_else(|| unsupported(format!("cannot sort by '{path}'")))?;
            let s = self.sub_scalar(qb, &Ctx::Object { path: p, attr }, Some(sub))?;
            return Ok(self.d.sort_wrap(pick(&s), s.ty));
        }
        let s = self.json_scalar(attr, &p);
        Ok(self.d.sort_wrap(pick(&s), s.ty))
    }

    /// Writes `ORDER BY ...`: by `sort_by` (NULLs last ascending, first descending) then
    /// `r.seq`; by `r.seq` alone without `sort_by`.
    pub(crate) fn order_by(
        &self,
        qb: &mut Sql<'_>,
        sort_by: Option<&AttrPath>,
        order: SortOrder,
    ) -> R<()> {
        match sort_by {
            None => {
                qb.sql(" ORDER BY r.seq");
            }
            Some(p) => {
                let x = self.sort_expr(qb, p)?;
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
