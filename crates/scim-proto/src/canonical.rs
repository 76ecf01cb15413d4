//! Canonical forms: the case fold of case-insensitive strings (RFC 7643 §2.1), the one
//! spelling of a dateTime (RFC 7643 §2.3.5), the one key order of a resource document, and
//! its folded copy. The filter evaluator, the normaliser (POST, PUT), the PATCH engine and
//! the stores all compare and store values in these forms; "a PATCH result equals what a
//! PUT of the same content stores" rests on there being one key order (`canonical_order`).

use crate::schema::{AttrType, AttributeDef, ResourceSchema, Schema};
use serde_json::{Map, Value};

/// The case fold used for every case-insensitive string comparison (RFC 7643 §2.1,
/// `caseExact: false`): Unicode lower-casing with [`str::to_lowercase`]. Storage layers
/// must fold lookup columns and literals with exactly this function.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// The lookup and uniqueness key of an identifier (`userName`, `externalId`, a Group's
/// `displayName`; see [`crate::identifier::Identifier`]): its Unicode NFC form (UAX #15), then
/// [`fold`]ed unless `case_exact`. Canonically equivalent spellings — `josé` with a
/// precomposed `é` (U+00E9) or with `e` and a combining acute accent (U+0065 U+0301) — have
/// one key, so they name one user. Values are stored as sent; stores keep this key beside
/// them, and filters compare literals through it.
pub fn identifier_key(s: &str, case_exact: bool) -> String {
    use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
    let nfc = if is_nfc_quick(s.chars()) == IsNormalized::Yes {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.nfc().collect::<String>())
    };
    if case_exact {
        nfc.into_owned()
    } else {
        fold(&nfc)
    }
}

/// Normalises an `xsd:dateTime` / RFC 3339 string to UTC, formatted with
/// `time::format_description::well_known::Rfc3339`: `YYYY-MM-DDTHH:MM:SSZ`, or with the
/// fraction of a second (trailing zeros trimmed) when it is not zero. A date-time without an
/// offset is read as UTC. `None` when `s` is not a valid date-time or its year is outside
/// 0000..=9999.
///
/// Equal instants give equal strings, and string order is time order for instants in
/// different seconds (within one second, `...05Z` sorts after `...05.5Z`). Filters and
/// stores comparing dateTime attributes should normalise the literal with this function.
pub fn normalize_date_time(s: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
    let s = s.trim();
    let dt = match OffsetDateTime::parse(s, &Rfc3339) {
        Ok(dt) => dt,
        Err(_) => {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
            );
            PrimitiveDateTime::parse(s, &fmt).ok()?.assume_utc()
        }
    };
    dt.checked_to_offset(UtcOffset::UTC)?.format(&Rfc3339).ok()
}

/// Reorders the keys of `m` to follow `defs` (keys not in `defs` go last, in input order).
pub(crate) fn sort_by_schema(m: Map<String, Value>, defs: &[AttributeDef]) -> Map<String, Value> {
    let mut entries: Vec<(usize, String, Value)> = m
        .into_iter()
        .map(|(k, v)| {
            (
                defs.iter().position(|d| d.name == k).unwrap_or(usize::MAX),
                k,
                v,
            )
        })
        .collect();
    entries.sort_by_key(|e| e.0);
    entries.into_iter().map(|(_, k, v)| (k, v)).collect()
}

/// `v` with the sub-attributes of complex values (and of each element of multi-valued
/// complex values) in schema order.
pub(crate) fn order_value(def: &AttributeDef, v: Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.into_iter().map(|e| order_value(def, e)).collect()),
        Value::Object(o) if def.ty == AttrType::Complex => {
            Value::Object(order_fields(o, &def.sub_attributes))
        }
        other => other,
    }
}

/// The members of `o` (attributes of a schema, or sub-attributes of a complex value) in
/// the order of `defs`, each value ordered by its definition (names matched
/// case-insensitively, as [`crate::schema::Schema::attr`] and [`AttributeDef::sub`] do).
fn order_fields(o: Map<String, Value>, defs: &[AttributeDef]) -> Map<String, Value> {
    let o = o
        .into_iter()
        .map(|(k, v)| {
            let v = match defs.iter().find(|d| d.name.eq_ignore_ascii_case(&k)) {
                Some(d) => order_value(d, v),
                None => v,
            };
            (k, v)
        })
        .collect();
    sort_by_schema(o, defs)
}

/// The canonical key order, the only one: `externalId`, the core attributes in schema
/// order, then each non-empty extension object (its attributes in schema order) in
/// publication order, then any other key in its input order; sub-attributes of complex
/// values (and of each element of multi-valued ones) in schema order. An empty extension
/// object is dropped (it holds no value). [`crate::normalize::normalize_resource`] (POST,
/// PUT) and [`crate::patch::apply`] both end with it, so equal content is equal bytes.
pub(crate) fn canonical_order(
    mut doc: Map<String, Value>,
    rs: &ResourceSchema,
) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(v) = doc.shift_remove("externalId") {
        out.insert("externalId".into(), v);
    }
    for def in &rs.core.attributes {
        if let Some(v) = doc.shift_remove(&def.name) {
            out.insert(def.name.clone(), order_value(def, v));
        }
    }
    for ext in &rs.extensions {
        match doc.shift_remove(&ext.schema.id) {
            Some(Value::Object(o)) if o.is_empty() => {}
            Some(Value::Object(o)) => {
                out.insert(
                    ext.schema.id.clone(),
                    Value::Object(order_fields(o, &ext.schema.attributes)),
                );
            }
            Some(other) => {
                out.insert(ext.schema.id.clone(), other);
            }
            None => {}
        }
    }
    out.extend(doc);
    out
}

/// `doc` (a canonical document) with its keys in canonical order, as
/// [`crate::normalize::normalize_resource`] produces them: `externalId`, the core
/// attributes in schema order, then each extension object in publication order (empty ones
/// removed), sub-attributes of complex values in schema order; keys the schema does not
/// know keep their relative order at the end. Useful after [`crate::normalize::set_path`],
/// so that equal content serialises to equal bytes. A non-object `doc` is returned
/// unchanged.
pub fn canonical_document(doc: &Value, schema: &ResourceSchema) -> Value {
    match doc {
        Value::Object(o) => Value::Object(canonical_order(o.clone(), schema)),
        other => other.clone(),
    }
}

fn fold_value(def: &AttributeDef, v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|e| fold_value(def, e)).collect()),
        Value::Object(o) if def.ty == AttrType::Complex => Value::Object(
            o.iter()
                .map(|(k, sv)| {
                    (
                        k.clone(),
                        def.sub(k)
                            .map(|s| fold_value(s, sv))
                            .unwrap_or_else(|| sv.clone()),
                    )
                })
                .collect(),
        ),
        Value::String(s)
            if matches!(
                def.ty,
                AttrType::String | AttrType::Reference | AttrType::Binary
            ) && !def.case_exact =>
        {
            Value::String(fold(s))
        }
        other => other.clone(),
    }
}

fn fold_attrs(o: &Map<String, Value>, schema: &Schema) -> Map<String, Value> {
    o.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                schema
                    .attr(k)
                    .map(|d| fold_value(d, v))
                    .unwrap_or_else(|| v.clone()),
            )
        })
        .collect()
}

/// A copy of canonical document `doc` in which every string value of an attribute or
/// sub-attribute that is not `caseExact` (per `schema`, including extension objects under
/// their URN keys; `externalId` is caseExact and stays as is) is folded with
/// [`fold`], for storage
/// back ends to compare case-insensitive attributes against. Keys, non-string values and
/// keys the schema does not know are copied unchanged.
pub fn fold_document(doc: &Value, schema: &ResourceSchema) -> Value {
    let Some(obj) = doc.as_object() else {
        return doc.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let folded = match (schema.extension(k), v) {
            (Some(ext), Value::Object(o)) => Value::Object(fold_attrs(o, &ext.schema)),
            _ => match schema
                .core
                .attr(k)
                .or_else(|| crate::schema::common_attribute(k))
            {
                Some(def) => fold_value(def, v),
                None => v.clone(),
            },
        };
        out.insert(k.clone(), folded);
    }
    Value::Object(out)
}
