//! What a filter's attribute paths designate: columns, document values, elements of
//! multi-valued attributes, membership and email rows; and the scopes (`EXISTS`, `IN`) that
//! iterate elements.

use super::{json_key, unsupported, Ctx, Kind, Scalar, Target, Translator, R};
use crate::dialect::JPath;
use crate::sql::{Sql, Tbl};
use scim_proto::path::AttrPath;
use scim_proto::schema::{AttrType, AttributeDef};

impl<'a> Translator<'a> {
    pub(super) fn is_users(&self) -> bool {
        self.kind == Kind::Users
    }

    pub(super) fn false_(&self, qb: &mut Sql<'_>) {
        qb.sql(self.d.false_());
    }

    /// `NOT COALESCE((` ... `), false)` around what `inner` writes.
    pub(super) fn not(&self, qb: &mut Sql<'_>, inner: impl FnOnce(&mut Sql<'_>) -> R<()>) -> R<()> {
        qb.sql("NOT COALESCE((");
        inner(qb)?;
        qb.sql(&format!("), {})", self.d.false_()));
        Ok(())
    }

    /// The JSON path of a resolved top-level attribute: `userName`, `urn:..:User` / `department`.
    pub(super) fn attr_path(
        &self,
        urn: &str,
        is_extension: bool,
        attr: &AttributeDef,
    ) -> R<Vec<String>> {
        let mut p = Vec::with_capacity(2);
        if is_extension {
            p.push(json_key(urn)?);
        }
        p.push(json_key(&attr.name)?);
        Ok(p)
    }

    /// A value read from both documents at `path`.
    pub(super) fn json_scalar(&self, def: &AttributeDef, path: &JPath) -> Scalar {
        let exact = self.d.json_at(self.d.doc(), path);
        let folded = self.d.json_at("r.doc_folded", path);
        Scalar::of(def, exact, folded, true)
    }

    /// What a root-level path designates (Unsupported for an unknown attribute).
    pub(super) fn target(&self, path: &AttrPath, for_compare: bool) -> R<Target<'a>> {
        let r = self
            .schema
            .resolve_any(path)
            .ok_or_else(|| unsupported(format!("unknown attribute '{path}'")))?;
        let attr = r.attr;
        let core = !r.is_extension;
        if core {
            let name = attr.name.as_str();
            if name == "id" && r.sub.is_none() {
                return Ok(Target::Scalar(Scalar::column(attr, "r.id", "r.id")));
            }
            if name == "externalId" && r.sub.is_none() && attr.case_exact {
                return Ok(Target::Scalar(
                    Scalar::column(attr, "r.external_id", "r.external_id").keyed(),
                ));
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
                return Ok(Target::Scalar(
                    Scalar::of(attr, exact, "r.user_name_folded".into(), false).keyed(),
                ));
            }
            if !self.is_users() && name == "displayName" && !attr.case_exact {
                return Ok(Target::Scalar(
                    Scalar::column(attr, "r.display_name", "r.display_name_folded").keyed(),
                ));
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
    /// for a simple multi-valued attribute) for the current element of `ctx`. Values read
    /// through a sub-query are built with `qb`'s statement layer (their references go with
    /// the [`Scalar`]).
    pub(super) fn sub_scalar(
        &self,
        qb: &Sql<'_>,
        ctx: &Ctx<'a>,
        sub: Option<&'a AttributeDef>,
    ) -> R<Scalar> {
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
                    let member_display = |user: &str, group: &str| {
                        let mut f = qb.fragment();
                        f.sql(&format!("(SELECT {user} FROM "))
                            .table(Tbl::Users, "u")
                            .sql(" WHERE u.id = gm.member_id AND ")
                            .same_tenant("u", "gm")
                            .sql(&format!(" UNION ALL SELECT {group} FROM "))
                            .table(Tbl::Groups, "g")
                            .sql(" WHERE g.id = gm.member_id AND ")
                            .same_tenant("g", "gm")
                            .sql(" LIMIT 1)");
                        f.into_fragment()
                    };
                    let (exact, refs) = member_display("u.display_name", "g.display_name")?;
                    let (folded, _) = member_display(&user_display, "g.display_name_folded")?;
                    Ok(Scalar::of(sub, exact, folded, false).reading(refs))
                }
                _ => Err(unsupported(format!("members.{name} cannot be filtered on"))),
            },
            Ctx::UserGroups { .. } => match name {
                "value" => Ok(Scalar::column(sub, "gm.group_id", "gm.group_id")),
                "display" => {
                    let group_display = |col: &str| {
                        let mut f = qb.fragment();
                        f.sql(&format!("(SELECT g.{col} FROM "))
                            .table(Tbl::Groups, "g")
                            .sql(" WHERE g.id = gm.group_id AND ")
                            .same_tenant("g", "gm")
                            .sql(")");
                        f.into_fragment()
                    };
                    let (exact, refs) = group_display("display_name")?;
                    let (folded, _) = group_display("display_name_folded")?;
                    Ok(Scalar::of(sub, exact, folded, false).reading(refs))
                }
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

    /// `NOT EXISTS (… users du …)`: the member of membership row `gm` is not a deprovisioned
    /// user. A deprovisioned user is gone from SCIM (provisioning rule 6), so it matches no
    /// `members` filter, although its membership row stays (rule 10).
    fn visible_member(&self, qb: &mut Sql<'_>) {
        qb.sql("NOT EXISTS (SELECT 1 FROM ")
            .table(Tbl::Users, "du")
            .sql(" WHERE du.id = gm.member_id AND ")
            .same_tenant("du", "gm")
            .sql(" AND du.state = 'deprovisioned')");
    }

    /// `NOT EXISTS (… groups bg …)`: the group of membership row `gm` is not the built-in
    /// group.
    fn not_builtin(&self, qb: &mut Sql<'_>) {
        qb.sql("NOT EXISTS (SELECT 1 FROM ")
            .table(Tbl::Groups, "bg")
            .sql(" WHERE bg.id = gm.group_id AND ")
            .same_tenant("bg", "gm")
            .sql(" AND bg.builtin <> ")
            .sql(self.d.false_())
            .sql(")");
    }

    /// Opens the element scope of `ctx`; the caller writes the condition and calls
    /// [`Self::close`]. `in_form`: membership rows found by their own index (`r.id IN
    /// (SELECT …)`) rather than per resource (`EXISTS`).
    pub(super) fn open(&self, qb: &mut Sql<'_>, ctx: &Ctx<'a>, in_form: bool) {
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
            Ctx::Members { .. } | Ctx::UserGroups { .. } => {
                let members = matches!(ctx, Ctx::Members { .. });
                if in_form {
                    let found = if members {
                        "gm.group_id"
                    } else {
                        "gm.member_id"
                    };
                    qb.sql(&format!("r.id IN (SELECT {found} FROM "));
                    qb.table(Tbl::GroupMembers, "gm")
                        .sql(" WHERE ")
                        .tenant("gm");
                } else {
                    qb.sql("EXISTS (SELECT 1 FROM ");
                    qb.table(Tbl::GroupMembers, "gm").sql(" WHERE ");
                    if members {
                        qb.owned_by("gm", "r");
                    } else {
                        qb.sql("gm.member_id = r.id AND ").same_tenant("gm", "r");
                    }
                }
                qb.sql(" AND ");
                if members {
                    self.visible_member(qb);
                } else {
                    self.not_builtin(qb);
                }
                qb.sql(" AND (");
            }
            Ctx::Emails { .. } => {
                qb.sql("r.seq IN (SELECT ue.user_seq FROM ")
                    .table(Tbl::UserEmails, "ue")
                    .sql(" WHERE ")
                    .tenant("ue")
                    .sql(" AND (");
            }
        }
    }

    pub(super) fn close(&self, qb: &mut Sql<'_>, ctx: &Ctx<'a>) {
        match ctx {
            Ctx::Array { .. } | Ctx::Object { .. } | Ctx::Meta { .. } => qb.sql(")"),
            _ => qb.sql("))"),
        };
    }
}
