//! Where a filter path leads in a document: resolution of attribute paths against a
//! resource schema or one element of a multi-valued attribute, and the values reached.
//! Shared by evaluation ([`super::eval`]) and validation ([`super::validate`]).

use crate::json::member_ci;
use crate::path::attr::AttrPath;
use crate::schema::{AttrType, AttributeDef, Resolved, ResourceSchema};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------

/// Whether `v` holds a value: not null, not `""`, not an array or object without values.
pub(crate) fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(has_value),
        Value::Object(o) => o.values().any(has_value),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The elements of a multi-valued value, or the value itself.
pub(crate) fn items(raw: Option<&Value>) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match raw {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(v) => std::slice::from_ref(v),
    };
    slice.iter()
}

/// Pushes the non-null scalar values of `v` (flattening one array level).
pub(crate) fn push_flat<'v>(out: &mut Vec<&'v Value>, v: &'v Value) {
    match v {
        Value::Null => {}
        Value::Array(a) => out.extend(a.iter().filter(|x| !x.is_null())),
        other => out.push(other),
    }
}

/// What a path designates in one document: the definition governing comparisons, the
/// values compared, and whether anything is present (`pr`).
pub(crate) struct Target<'a> {
    /// `None` for a complex attribute without a `value` sub-attribute.
    pub(crate) def: Option<&'a AttributeDef>,
    pub(crate) leaves: Vec<&'a Value>,
    pub(crate) present: bool,
}

/// The target of attribute `attr` (with optional `sub`) whose raw value is `raw`.
pub(crate) fn target_of<'a>(
    attr: &'a AttributeDef,
    sub: Option<&'a AttributeDef>,
    raw: Option<&'a Value>,
) -> Target<'a> {
    let mut leaves = Vec::new();
    match sub {
        Some(s) => {
            for item in items(raw) {
                if let Some(v) = member_ci(item, &s.name) {
                    push_flat(&mut leaves, v);
                }
            }
            let present = leaves.iter().any(|v| has_value(v));
            Target {
                def: Some(s),
                leaves,
                present,
            }
        }
        None => {
            let present = raw.is_some_and(has_value);
            if attr.ty == AttrType::Complex {
                let def = attr.sub("value");
                if let Some(vd) = def {
                    for item in items(raw) {
                        if let Some(v) = member_ci(item, &vd.name) {
                            push_flat(&mut leaves, v);
                        }
                    }
                }
                Target {
                    def,
                    leaves,
                    present,
                }
            } else {
                if let Some(v) = raw {
                    push_flat(&mut leaves, v);
                }
                Target {
                    def: Some(attr),
                    leaves,
                    present,
                }
            }
        }
    }
}

/// The raw value of resolved attribute `r` in resource document `doc`.
pub(crate) fn lookup<'v>(doc: &'v Value, r: &Resolved<'_>) -> Option<&'v Value> {
    if r.is_extension {
        member_ci(doc, r.schema_urn).and_then(|c| member_ci(c, &r.attr.name))
    } else {
        member_ci(doc, &r.attr.name)
    }
}

/// Where filter paths are resolved: a whole resource, or one element of an attribute.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    Resource(&'a ResourceSchema),
    Element(&'a AttributeDef),
}

/// Resolves `path` relative to one element of `attr`: a sub-attribute of a complex
/// attribute (optionally with its own sub-attribute), or `value` for a simple one.
pub(crate) fn element_defs<'a>(
    attr: &'a AttributeDef,
    path: &AttrPath,
) -> Option<(&'a AttributeDef, Option<&'a AttributeDef>)> {
    if path.uri.is_some() {
        return None;
    }
    if attr.ty == AttrType::Complex {
        let s = attr.sub(&path.attr)?;
        let ss = match &path.sub_attr {
            None => None,
            Some(n) => Some(s.sub(n)?),
        };
        Some((s, ss))
    } else if path.attr.eq_ignore_ascii_case("value") && path.sub_attr.is_none() {
        Some((attr, None))
    } else {
        None
    }
}

pub(crate) fn target<'a>(scope: Scope<'a>, doc: &'a Value, path: &AttrPath) -> Option<Target<'a>> {
    match scope {
        Scope::Resource(schema) => {
            let r = schema.resolve_any(path)?;
            Some(target_of(r.attr, r.sub, lookup(doc, &r)))
        }
        Scope::Element(attr) => {
            let (a, s) = element_defs(attr, path)?;
            let raw = if attr.ty == AttrType::Complex {
                member_ci(doc, &a.name)
            } else {
                Some(doc)
            };
            Some(target_of(a, s, raw))
        }
    }
}
