//! In-memory evaluation of a filter against a document: the reference semantics
//! (RFC 7644 §3.4.2.2) that storage back ends must agree with.

use crate::canonical::{fold, identifier_key};
use crate::filter::ast::{CompValue, CompareOp, Filter};
use crate::filter::resolve::{items, lookup, target, Scope, Target};
use crate::schema::{AttrType, AttributeDef, ResourceSchema};
use serde_json::Value;
use std::cmp::Ordering;

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

fn ord_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// `a op b` for strings of attribute `def`: identifiers compare by their keys
/// ([`identifier_key`]: NFC, then folded unless caseExact), other strings folded unless
/// caseExact.
fn string_op(op: CompareOp, a: &str, b: &str, def: &AttributeDef) -> bool {
    let (fa, fb);
    let (a, b) = if def.identifier.is_some() {
        fa = identifier_key(a, def.case_exact);
        fb = identifier_key(b, def.case_exact);
        (fa.as_str(), fb.as_str())
    } else if def.case_exact {
        (a, b)
    } else {
        fa = fold(a);
        fb = fold(b);
        (fa.as_str(), fb.as_str())
    };
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ord_matches(op, a.cmp(b)),
    }
}

/// A boolean from `true`/`false` or the strings "true"/"false" in any case (Entra ID).
fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => str_bool(s),
        _ => None,
    }
}

fn str_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn cmp_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    let int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Parses an RFC 3339 timestamp (`2011-05-13T04:42:34Z`, with fraction or offset).
fn parse_instant(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// `leaf op lit` for one value of an attribute defined by `def` (`op` is not `ne`).
fn compare_leaf(leaf: &Value, op: CompareOp, lit: &CompValue, def: &AttributeDef) -> bool {
    match def.ty {
        AttrType::Boolean => {
            let l = match lit {
                CompValue::Bool(b) => Some(*b),
                CompValue::String(s) => str_bool(s),
                _ => None,
            };
            op == CompareOp::Eq && l.is_some() && lenient_bool(leaf) == l
        }
        AttrType::Integer | AttrType::Decimal => match (leaf, lit) {
            (Value::Number(a), CompValue::Number(b)) => {
                cmp_numbers(a, b).is_some_and(|o| ord_matches(op, o))
            }
            _ => false,
        },
        AttrType::DateTime => match (leaf, lit) {
            (Value::String(a), CompValue::String(b)) => {
                if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    if let (Some(x), Some(y)) = (parse_instant(a), parse_instant(b)) {
                        return ord_matches(op, x.cmp(&y));
                    }
                }
                string_op(op, a, b, def)
            }
            _ => false,
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match (leaf, lit) {
            (Value::String(a), CompValue::String(b)) => string_op(op, a, b, def),
            _ => false,
        },
        AttrType::Complex => false,
    }
}

fn compare_target(t: &Target<'_>, op: CompareOp, lit: &CompValue) -> bool {
    let any = |op: CompareOp| match t.def {
        Some(def) => t.leaves.iter().any(|leaf| compare_leaf(leaf, op, lit, def)),
        None => false,
    };
    match (op, lit) {
        (CompareOp::Eq, CompValue::Null) => !t.present,
        (CompareOp::Ne, CompValue::Null) => t.present,
        (_, CompValue::Null) => false,
        (CompareOp::Ne, _) => !any(CompareOp::Eq),
        (op, _) => any(op),
    }
}

fn eval(f: &Filter, doc: &Value, scope: Scope<'_>) -> bool {
    match f {
        Filter::And(a, b) => eval(a, doc, scope) && eval(b, doc, scope),
        Filter::Or(a, b) => eval(a, doc, scope) || eval(b, doc, scope),
        Filter::Not(a) => !eval(a, doc, scope),
        Filter::Present(path) => target(scope, doc, path).is_some_and(|t| t.present),
        Filter::Compare { path, op, value } => {
            target(scope, doc, path).is_some_and(|t| compare_target(&t, *op, value))
        }
        Filter::ValuePath { attr, filter } => {
            let Scope::Resource(schema) = scope else {
                return false;
            };
            if attr.sub_attr.is_some() {
                return false;
            }
            let Some(r) = schema.resolve_any(attr) else {
                return false;
            };
            items(lookup(doc, &r)).any(|e| eval(filter, e, Scope::Element(r.attr)))
        }
    }
}

/// Whether `resource` (a canonical resource document, see [`crate::normalize`]) matches `filter`.
///
/// Attribute names resolve case-insensitively through `schema`; string comparison is
/// case-exact only where the attribute is `caseExact`. Comparisons on absent attributes
/// are false (so `ne` is true for an absent attribute, as `not (eq)`).
///
/// This is the reference semantics (RFC 7644 §3.4.2.2) storage back ends must mirror:
///
/// - **Lookup**: core attributes at the top level, extension attributes under their
///   schema URN key, `id`/`externalId`/`meta.*` per [`crate::schema::common_attributes`]; keys match
///   ASCII case-insensitively. An unknown attribute matches nothing (not even `ne`);
///   reject such filters up front with [`validate`](crate::filter::validate).
/// - **Values**: a path yields the non-null values it reaches; multi-valued attributes
///   (or a sub-attribute of one, `emails.value`) match when **any** value matches. A
///   complex attribute compared without sub-attribute (`emails co "x"`, `manager eq "id"`)
///   compares its `value` sub-attribute; a complex attribute without `value` never matches.
/// - **`pr`**: true when the path reaches a value that is not null, not `""`, and not an
///   array/object without such values. `eq null` is `not pr`, `ne null` is `pr`; other
///   operators with `null` never match.
/// - **`ne`** is exactly `not (eq)`: true when the attribute is absent, and for a
///   multi-valued attribute true only when *no* value equals the literal.
/// - **Strings** (string, reference, binary): compared after [`fold`] on both sides unless
///   the (sub-)attribute is `caseExact`; identifiers (`userName`, `externalId`, a Group's
///   `displayName`) by their [`identifier_key`] (NFC, then folded unless `caseExact`);
///   `gt`/`ge`/`lt`/`le` compare code point order.
///   `co`/`sw`/`ew` only apply to strings (and dateTime text).
/// - **Booleans**: only `eq` (and `ne`) match; the literal may be `true`/`false` or the
///   string "true"/"false" in any case (Entra ID sends `active eq "True"`).
/// - **Numbers** (integer, decimal): numeric comparison with number literals only.
/// - **dateTime**: `eq`/`gt`/`ge`/`lt`/`le` compare instants when both sides parse as
///   RFC 3339 (`2011-05-13T04:42:34Z` equals `2011-05-13T06:42:34.000+02:00`); otherwise
///   they compare text (folded unless caseExact).
/// - A literal of the wrong type for the attribute (e.g. a number against a string
///   attribute) never matches.
pub fn matches(filter: &Filter, resource: &Value, schema: &ResourceSchema) -> bool {
    eval(filter, resource, Scope::Resource(schema))
}

/// Whether one element of the multi-valued attribute `attr` matches `filter`, whose paths
/// are relative to the element (PATCH value filters, valuePath filters).
///
/// For a complex `attr`, paths name its sub-attributes (`type`, `value`); for a simple
/// multi-valued `attr`, the path `value` names the element itself. Same semantics as
/// [`matches()`]; a nested valuePath never matches.
pub fn matches_element(
    filter: &Filter,
    element: &Value,
    attr: &crate::schema::AttributeDef,
) -> bool {
    eval(filter, element, Scope::Element(attr))
}
