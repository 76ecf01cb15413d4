//! Checking a parsed filter against a resource type before it is run: every path must
//! resolve and every literal must fit its attribute (RFC 7644 §3.4.2.2, Table 3).

use crate::canonical::normalize_date_time;
use crate::error::{ScimError, ScimResult};
use crate::filter::ast::{CompValue, CompareOp, Filter};
use crate::filter::resolve::{element_defs, Scope};
use crate::path::attr::AttrPath;
use crate::schema::{AttrType, AttributeDef, ResourceSchema};

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

fn check_compare(
    path: &AttrPath,
    leaf: &AttributeDef,
    op: CompareOp,
    value: &CompValue,
) -> ScimResult<()> {
    if matches!(value, CompValue::Null) {
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Ok(());
        }
        return Err(ScimError::invalid_filter(format!(
            "'null' can only be compared with 'eq' or 'ne', not '{op}' (attribute '{path}')"
        )));
    }
    if leaf.ty == AttrType::Complex {
        if op.is_ordering() {
            return Err(ScimError::invalid_filter(format!(
                "operator '{op}' cannot be applied to the complex attribute '{path}'"
            )));
        }
        if leaf.sub("value").is_none() {
            return Err(ScimError::invalid_filter(format!(
                "the complex attribute '{path}' cannot be compared directly; name one of its sub-attributes (e.g. '{path}.{}')",
                leaf.sub_attributes.first().map(|s| s.name.as_str()).unwrap_or("value")
            )));
        }
        let value_def = leaf.sub("value").unwrap_or(leaf);
        return check_scalar(path, value_def, op, value);
    }
    check_scalar(path, leaf, op, value)
}

/// Whether a literal can be compared with an attribute of type `ty` by `op`: strings with
/// string-like attributes, numbers with numbers, booleans (or the strings "true"/"false",
/// as Entra ID sends them) with booleans, RFC 3339 instants with dateTime attributes (any
/// string for `co`/`sw`/`ew`). A literal of another type is a client mistake, not an
/// empty result.
fn literal_fits(ty: AttrType, op: CompareOp, value: &CompValue) -> bool {
    match (ty, value) {
        (_, CompValue::Null) | (AttrType::Complex, _) => true,
        (AttrType::Boolean, CompValue::Bool(_)) => true,
        (AttrType::Boolean, CompValue::String(s)) => {
            s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
        }
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(_)) => true,
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(_)) => true,
        (AttrType::DateTime, CompValue::String(s)) => {
            matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                || normalize_date_time(s).is_some()
        }
        _ => false,
    }
}

fn check_scalar(
    path: &AttrPath,
    def: &AttributeDef,
    op: CompareOp,
    value: &CompValue,
) -> ScimResult<()> {
    if def.returned == crate::schema::Returned::Never {
        return Err(ScimError::invalid_filter(format!(
            "'{path}' is never returned and cannot be filtered on"
        )));
    }
    if !literal_fits(def.ty, op, value) {
        let want = match def.ty {
            AttrType::Boolean => "true or false",
            AttrType::Integer | AttrType::Decimal => "a number",
            AttrType::DateTime => {
                "an RFC 3339 date and time in quotes, e.g. \"2026-01-31T12:00:00Z\""
            }
            _ => "a string in double quotes",
        };
        return Err(ScimError::invalid_filter(format!(
            "'{path}' is compared with {value}, which does not fit its type; give {want}"
        )));
    }
    if op.is_ordering() && matches!(def.ty, AttrType::Boolean | AttrType::Binary) {
        let ty = if def.ty == AttrType::Boolean {
            "boolean"
        } else {
            "binary"
        };
        return Err(ScimError::invalid_filter(format!(
            "operator '{op}' is not supported on the {ty} attribute '{path}' (RFC 7644 §3.4.2.2)"
        )));
    }
    Ok(())
}

fn validate_in(f: &Filter, scope: Scope<'_>) -> ScimResult<()> {
    let defs = |path: &AttrPath| -> ScimResult<(&AttributeDef, Option<&AttributeDef>)> {
        let found = match scope {
            Scope::Resource(schema) => schema.resolve_any(path).map(|r| (r.attr, r.sub)),
            Scope::Element(attr) => element_defs(attr, path),
        };
        found.ok_or_else(|| match scope {
            Scope::Resource(_) => {
                ScimError::invalid_filter(format!("unknown attribute '{path}' in filter"))
            }
            Scope::Element(attr) => ScimError::invalid_filter(format!(
                "unknown sub-attribute '{path}' of '{}' in filter",
                attr.name
            )),
        })
    };
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_in(a, scope)?;
            validate_in(b, scope)
        }
        Filter::Not(a) => validate_in(a, scope),
        Filter::Present(path) => defs(path).map(|_| ()),
        Filter::Compare { path, op, value } => {
            let (top, sub) = defs(path)?;
            check_compare(path, sub.unwrap_or(top), *op, value)
        }
        Filter::ValuePath { attr, filter } => {
            let Scope::Resource(_) = scope else {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter '[...]' cannot be nested inside another value filter ('{attr}')"
                )));
            };
            if attr.sub_attr.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter '[...]' must follow an attribute name, not the sub-attribute path '{attr}'"
                )));
            }
            let (top, _) = defs(attr)?;
            if !top.multi_valued && top.ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "a value filter '[...]' needs a multi-valued or complex attribute; '{attr}' is neither"
                )));
            }
            validate_in(filter, Scope::Element(top))
        }
    }
}

/// Checks a parsed filter against the resource type: every path must resolve (through
/// [`ResourceSchema::resolve_any`], so `id`, `externalId` and `meta.*` are known), valuePaths must name a
/// multi-valued or complex attribute, `gt`/`ge`/`lt`/`le` are refused on boolean, binary
/// and complex attributes (RFC 7644 §3.4.2.2 Table 3), a complex attribute without a
/// `value` sub-attribute cannot be compared directly, and `null` only goes with `eq`/`ne`.
///
/// Errors: 400 `invalidFilter`, e.g. `unknown attribute 'foo' in filter`.
pub fn validate(filter: &Filter, schema: &ResourceSchema) -> ScimResult<()> {
    validate_in(filter, Scope::Resource(schema))
}

/// Like [`validate`] for a filter whose paths are relative to one element of `attr`
/// (PATCH value filters such as the `type eq "work"` in `emails[type eq "work"]`).
///
/// Errors: 400 `invalidFilter`.
pub fn validate_value_filter(filter: &Filter, attr: &AttributeDef) -> ScimResult<()> {
    validate_in(filter, Scope::Element(attr))
}
