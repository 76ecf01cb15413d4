//! Helpers on documents and multi-valued elements: where an attribute sits, blanks,
//! primary, hollow elements, equality of values, the element a value filter describes,
//! and error details.

use super::request::PatchOpKind;
use crate::canonical::{self, order_value};
use crate::error::ScimError;
use crate::filter::{CompValue, Filter};
use crate::normalize;
pub(super) use crate::normalize::coerce::is_manager;
use crate::schema::AttributeDef;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Where an attribute lives: the extension URN key (canonical) or the top level.
#[derive(Clone, Copy)]
pub(super) struct Target<'s> {
    pub(super) ext: Option<&'s str>,
    pub(super) attr: &'s AttributeDef,
}

impl Target<'_> {
    pub(super) fn changed_name(&self) -> String {
        match self.ext {
            None => self.attr.name.clone(),
            Some(urn) => format!("{urn}:{}", self.attr.name),
        }
    }
}

/// The element a filter describes, from its `eq` comparisons joined by `and`
/// (`type eq "work"` → `{"type":"work"}`); `None` when the filter is anything else.
pub(super) fn element_from_filter(f: &Filter, attr: &AttributeDef) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for f in f.conjuncts() {
        let (name, value) = f.bare_eq()?;
        let d = attr.sub(name)?;
        let raw = match value {
            CompValue::String(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        let c = normalize::coerce_value(d, &raw).ok()?;
        if is_blank(&c) {
            return None;
        }
        out.insert(d.name.clone(), c);
    }
    Some(out)
}

pub(super) fn slot<'d>(doc: &'d Map<String, Value>, t: &Target<'_>) -> Option<&'d Value> {
    match t.ext {
        None => doc.get(&t.attr.name),
        Some(urn) => doc.get(urn)?.as_object()?.get(&t.attr.name),
    }
}

/// The object holding `t`'s attribute: the document, or its extension object (created).
pub(super) fn slot_mut<'d>(
    doc: &'d mut Map<String, Value>,
    t: &Target<'_>,
) -> &'d mut Map<String, Value> {
    let Some(urn) = t.ext else { return doc };
    let e = doc
        .entry(urn.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !e.is_object() {
        *e = Value::Object(Map::new());
    }
    match e {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Drops an extension object left empty.
pub(super) fn tidy_extension(doc: &mut Map<String, Value>, t: &Target<'_>) {
    if let Some(urn) = t.ext {
        if doc
            .get(urn)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            doc.shift_remove(urn);
        }
    }
}

pub(super) fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

pub(super) fn is_blank_manager(c: &Value) -> bool {
    match c {
        Value::Object(o) => o.get("value").is_none_or(is_blank),
        Value::Array(a) => a.is_empty(),
        other => is_blank(other),
    }
}

/// A string that is equal for equal elements of `attr` whatever their key order.
pub(super) fn element_key(attr: &AttributeDef, e: &Value) -> String {
    order_value(attr, e.clone()).to_string()
}

pub(super) fn is_primary(e: &Value) -> bool {
    e.get("primary") == Some(&Value::Bool(true))
}

/// Keeps `primary: true` only on `winner` (RFC 7644 §3.5.2).
pub(super) fn enforce_single_primary(arr: &mut [Value], winner: Option<usize>) {
    let Some(w) = winner else { return };
    for (i, e) in arr.iter_mut().enumerate() {
        if i != w && is_primary(e) {
            if let Value::Object(o) = e {
                o.insert("primary".to_string(), Value::Bool(false));
            }
        }
    }
}

pub(super) fn elements(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

pub(super) fn array_of(map: &Map<String, Value>, name: &str) -> Vec<Value> {
    match map.get(name) {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

pub(super) fn put_array(map: &mut Map<String, Value>, name: &str, arr: Vec<Value>) {
    if arr.is_empty() {
        map.shift_remove(name);
    } else {
        map.insert(name.to_string(), Value::Array(arr));
    }
}

pub(super) fn object1(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

pub(super) fn remove_key(e: &mut Value, key: &str) {
    if let Value::Object(o) = e {
        o.shift_remove(key);
    }
}

/// An element that means nothing (the rule of [`crate::normalize`]): without its `value`
/// when the attribute has one, else with nothing but `type`/`primary`/`display`.
pub(super) fn is_hollow(attr: &AttributeDef, e: &Value) -> bool {
    match e {
        Value::Object(o) => match attr.sub("value") {
            Some(d) => !o.contains_key(&d.name),
            None => o
                .keys()
                .all(|k| matches!(k.as_str(), "type" | "primary" | "display")),
        },
        Value::Null => true,
        _ => false,
    }
}

pub(super) fn drop_hollow(arr: &mut Vec<Value>, attr: &AttributeDef, among: &[usize]) {
    let among: HashSet<usize> = among.iter().copied().collect();
    let mut i = 0;
    arr.retain(|e| {
        let keep = !(among.contains(&i) && is_hollow(attr, e));
        i += 1;
        keep
    });
}

pub(super) fn remove_indices(arr: &mut Vec<Value>, idx: &[usize]) {
    let idx: HashSet<usize> = idx.iter().copied().collect();
    let mut i = 0;
    arr.retain(|_| {
        let keep = !idx.contains(&i);
        i += 1;
        keep
    });
}

/// Whether element `e` carries every sub-attribute value of `g` (or equals the simple value `g`).
pub(super) fn same_value(attr: &AttributeDef, e: &Value, g: &Value) -> bool {
    match (e, g) {
        (Value::Object(eo), Value::Object(go)) => go.iter().all(|(k, gv)| {
            let fold = attr.sub(k).is_some_and(|d| !d.case_exact);
            eo.get(k).is_some_and(|ev| scalar_eq(ev, gv, fold))
        }),
        _ => scalar_eq(e, g, !attr.case_exact),
    }
}

/// The key under which [`scalar_eq`] values are equal.
pub(super) fn scalar_key(v: &Value, fold: bool) -> String {
    match v {
        Value::String(x) if fold => format!("s:{}", canonical::fold(x)),
        Value::String(x) => format!("s:{x}"),
        other => format!("j:{other}"),
    }
}

pub(super) fn scalar_eq(a: &Value, b: &Value, fold: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if fold => {
            x == y || canonical::fold(x) == canonical::fold(y)
        }
        _ => a == b,
    }
}

pub(super) fn no_match(attr: &AttributeDef, kind: PatchOpKind) -> ScimError {
    ScimError::no_target(format!(
        "{}: no value of '{}' matches the filter, and only `eq` comparisons joined by `and` say how to create one",
        kind.as_str(),
        attr.name
    ))
}
