//! Which filters find their rows through a unique or near-unique index (point lookups),
//! and which element filters the `user_emails` index answers.

use super::{eq_ci, lit_bool, Kind};
use scim_proto::filter::{CompValue, CompareOp, Filter};
use scim_proto::path::AttrPath;

/// Whether `f` (relative to an element) has a top-level conjunct `value eq "..."`, which
/// makes an index-driven `IN (SELECT ..)` the better plan for membership rows.
pub(super) fn has_value_eq(f: &Filter) -> bool {
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
pub(super) fn emails_indexable(f: &Filter) -> bool {
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
