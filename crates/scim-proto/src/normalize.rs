//! Turning client JSON into canonical resource documents.
//!
//! A *canonical document* is a JSON object holding the client-writable attributes of one
//! resource: core attributes at the top level under their canonical names (`userName`,
//! `name.givenName`, `emails`...), `externalId`, and each extension's attributes under its
//! canonical schema URN key. It never holds `id`, `meta`, `schemas`, `password`, Group
//! `members` or User `groups`: those are kept elsewhere or computed when rendering.
//!
//! Input rules (RFC 7643 §2, §3.1; RFC 7644 §3.3): attribute names match case-insensitively;
//! readOnly attributes and `meta` are ignored; `password` is accepted and dropped;
//! attributes of unknown schemas are ignored; a top-level key that is a full-URN attribute
//! path (`urn:...:enterprise:2.0:User:department`) is read as that attribute; booleans
//! may arrive as the strings "True"/"False" in any case; `null` and `""` mean "no value".
//!
//! Canonical forms:
//! - attribute names are the schema's canonical names, and keys are in schema order
//!   (`externalId`, core attributes, then each extension in publication order), so two
//!   bodies with the same content give byte-identical documents;
//! - `dateTime` values are normalised to UTC RFC 3339, `YYYY-MM-DDTHH:MM:SSZ` or
//!   `YYYY-MM-DDTHH:MM:SS.fffZ` with trailing zeros of the fraction trimmed (see
//!   [`normalize_date_time`]): equal instants give equal strings, and string order is time
//!   order for instants in different seconds;
//! - blank paths (see [`Normalized::blanks`]) are `attr`, `attr.sub`, `URN:attr` or
//!   `URN:attr.sub` with canonical names and the canonical URN, the form [`get_path`] and
//!   [`set_path`] read and write.

use crate::canonical::{canonical_order, sort_by_schema};
use crate::error::{ScimError, ScimResult};
use crate::json::{json_kind, key_ci, member_ci};
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceSchema, Schema};
use serde_json::{Map, Number, Value};

pub use crate::canonical::{canonical_document, fold_document, normalize_date_time};

/// The result of normalising a POST or PUT body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    /// The canonical document.
    pub doc: Value,
    /// For Groups: the member ids given in `members` (in order, duplicates removed), or
    /// `None` when the body had no `members` key.
    pub members: Option<Vec<String>>,
    /// Canonical paths of attributes the client sent as `null` or `""`
    /// (`title`, `name.givenName`, `urn:...:enterprise:2.0:User:department`), for the
    /// blank-value policy.
    pub blanks: Vec<String>,
    /// Human-readable notes about input that was ignored (unknown attribute of a known
    /// extension, readOnly attribute...), for the provisioning log.
    pub warnings: Vec<String>,
}

#[derive(Default)]
struct Ctx {
    blanks: Vec<String>,
    warnings: crate::warnings::Warnings,
}

impl Ctx {
    fn blank(&mut self, path: &str) {
        if !self.blanks.iter().any(|b| b == path) {
            self.blanks.push(path.to_string());
        }
    }
    fn unblank(&mut self, path: &str) {
        self.blanks.retain(|b| b != path);
    }
    fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }
}

/// Normalises a full resource body (POST, PUT) against `schema`.
///
/// Errors: 400 invalidValue for a value of the wrong type or a missing required attribute
/// (`userName` for Users, `displayName` for Groups); 400 invalidSyntax for a body that is
/// not a JSON object.
///
/// Keys are matched case-insensitively. `schemas`, `id` and `meta` are ignored silently (clients
/// echo them back on PUT); `password` (writeOnly) is dropped without a trace; other readOnly
/// attributes (`groups`, `manager.displayName`) and unknown attributes of the core schema or a
/// known extension are ignored with a warning; keys of unknown schema URNs are ignored
/// silently. An extension's attributes are read from an object under its URN key (whether or
/// not the URN is listed in `schemas`) or from full-URN keys
/// (`urn:...:enterprise:2.0:User:department`); `urn:...:core:2.0:User:title` is read as `title`.
///
/// Group `members` are not put in the document: their ids go to [`Normalized::members`]
/// (`members: null` is a blank, recorded as `members`; an element without a non-blank
/// `value` is a 400 invalidValue). `emails`/`name` being required is not enforced here.
pub fn normalize_resource(schema: &ResourceSchema, input: &Value) -> ScimResult<Normalized> {
    let obj = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    if holds_nul(input) {
        // Valid JSON (`\u0000`), but no directory text holds it and PostgreSQL cannot
        // store it: refused the same way on every back end.
        return Err(ScimError::invalid_value(
            "text must not contain the NUL character (U+0000)",
        ));
    }
    let mut ctx = Ctx::default();
    let mut doc = Map::new();
    let mut members = None;
    for (key, value) in obj {
        let lower = key.to_ascii_lowercase();
        if matches!(lower.as_str(), "schemas" | "id" | "meta") {
            continue;
        }
        if lower == "externalid" {
            put_external_id(value, &mut doc, &mut ctx)?;
            continue;
        }
        if lower.starts_with("urn:") {
            put_urn_key(schema, key, value, &mut doc, &mut members, &mut ctx)?;
            continue;
        }
        put_attr(
            schema,
            &schema.core,
            false,
            key,
            value,
            &mut doc,
            &mut members,
            &mut ctx,
        )?;
    }
    let doc = canonical_order(doc, schema);
    let required = if schema.is_user() {
        Some("userName")
    } else if schema.is_group() {
        Some("displayName")
    } else {
        None
    };
    if let Some(req) = required {
        if !matches!(doc.get(req), Some(Value::String(s)) if !s.trim().is_empty()) {
            return Err(ScimError::invalid_value(format!("{req} is required")));
        }
    }
    Ok(Normalized {
        doc: Value::Object(doc),
        members,
        blanks: ctx.blanks,
        warnings: ctx.warnings.into_vec(),
    })
}

fn put_external_id(value: &Value, doc: &mut Map<String, Value>, ctx: &mut Ctx) -> ScimResult<()> {
    match value {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::String(s) => {
            doc.insert("externalId".into(), Value::String(s.clone()));
            ctx.unblank("externalId");
            return Ok(());
        }
        other => return Err(type_error("externalId", "a string", other)),
    }
    doc.shift_remove("externalId");
    ctx.blank("externalId");
    Ok(())
}

/// A top-level key starting with `urn:`: a schema URN (object of its attributes) or a
/// full-URN attribute path.
fn put_urn_key(
    rs: &ResourceSchema,
    key: &str,
    value: &Value,
    doc: &mut Map<String, Value>,
    members: &mut Option<Vec<String>>,
    ctx: &mut Ctx,
) -> ScimResult<()> {
    let core = (rs.core.as_ref(), false);
    let schemas =
        std::iter::once(core).chain(rs.extensions.iter().map(|e| (e.schema.as_ref(), true)));
    // The longest schema URN that is the key itself or a prefix of it followed by ':'.
    let mut best: Option<(&Schema, bool, bool)> = None;
    for (schema, is_ext) in schemas {
        let n = schema.id.len();
        let exact = key.eq_ignore_ascii_case(&schema.id);
        let prefix = key.len() > n + 1
            && key.as_bytes()[n] == b':'
            && key.is_char_boundary(n)
            && key[..n].eq_ignore_ascii_case(&schema.id);
        if (exact || prefix) && best.is_none_or(|(b, _, _)| b.id.len() < n) {
            best = Some((schema, is_ext, exact));
        }
    }
    if let Some((schema, is_ext, exact)) = best {
        if exact {
            let inner = match value {
                Value::Null => return Ok(()),
                Value::Object(o) => o,
                other => return Err(type_error(&schema.id, "an object", other)),
            };
            for (k, v) in inner {
                if !is_ext {
                    match k.to_ascii_lowercase().as_str() {
                        "schemas" | "id" | "meta" => continue,
                        "externalid" => {
                            put_external_id(v, doc, ctx)?;
                            continue;
                        }
                        _ => {}
                    }
                }
                put_attr(rs, schema, is_ext, k, v, doc, members, ctx)?;
            }
            return Ok(());
        }
        let rest = &key[schema.id.len() + 1..];
        if !is_ext {
            match rest.to_ascii_lowercase().as_str() {
                "id" | "meta" | "schemas" => return Ok(()),
                "externalid" => return put_external_id(value, doc, ctx),
                _ => {}
            }
        }
        return put_attr(rs, schema, is_ext, rest, value, doc, members, ctx);
    }
    // A schema this resource type does not have: ignored (RFC 7644 §3.3 lets servers ignore it).
    Ok(())
}

fn is_manager(def: &AttributeDef) -> bool {
    def.ty == AttrType::Complex
        && !def.multi_valued
        && def.name.eq_ignore_ascii_case("manager")
        && def.sub("value").is_some()
}

fn prefix(schema: &Schema, is_ext: bool) -> String {
    if is_ext {
        format!("{}:", schema.id)
    } else {
        String::new()
    }
}

/// Puts attribute `name` (`attr` or `attr.sub`) of `schema` with `value` into the document.
#[allow(clippy::too_many_arguments)]
fn put_attr(
    rs: &ResourceSchema,
    schema: &Schema,
    is_ext: bool,
    name: &str,
    value: &Value,
    doc: &mut Map<String, Value>,
    members: &mut Option<Vec<String>>,
    ctx: &mut Ctx,
) -> ScimResult<()> {
    let pre = prefix(schema, is_ext);
    let (attr_name, sub_name) = match name.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (name, None),
    };
    let Some(def) = schema.attr(attr_name) else {
        ctx.warn(format!("ignored unknown attribute '{pre}{}'", clip(name)));
        return Ok(());
    };
    let path = format!("{pre}{}", def.name);
    match def.mutability {
        Mutability::ReadOnly => {
            ctx.warn(format!("ignored readOnly attribute '{path}'"));
            return Ok(());
        }
        Mutability::WriteOnly => return Ok(()),
        _ => {}
    }
    if !is_ext && rs.is_group() && def.name == "members" {
        if sub_name.is_some() {
            ctx.warn(format!("ignored unknown attribute '{}'", clip(name)));
            return Ok(());
        }
        *members = extract_members(value, ctx)?;
        return Ok(());
    }
    let container = if is_ext {
        let entry = doc
            .entry(schema.id.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        entry.as_object_mut().expect("object")
    } else {
        doc
    };
    if let Some(sub_name) = sub_name {
        let sub = match def.sub(sub_name) {
            Some(sub) if def.ty == AttrType::Complex && !def.multi_valued => sub,
            _ => {
                ctx.warn(format!("ignored unknown attribute '{pre}{}'", clip(name)));
                return Ok(());
            }
        };
        let sub_path = format!("{path}.{}", sub.name);
        match sub.mutability {
            Mutability::ReadOnly => {
                ctx.warn(format!("ignored readOnly attribute '{sub_path}'"));
                return Ok(());
            }
            Mutability::WriteOnly => return Ok(()),
            _ => {}
        }
        let v = coerce(sub, value, &sub_path, true, ctx)?;
        if v.is_null() {
            if let Some(Value::Object(o)) = container.get_mut(&def.name) {
                o.shift_remove(&sub.name);
                if o.is_empty() {
                    container.shift_remove(&def.name);
                }
            }
            return Ok(());
        }
        ctx.unblank(&sub_path);
        let entry = container
            .entry(def.name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let o = entry.as_object_mut().expect("object");
        o.insert(sub.name.clone(), v);
        let sorted = sort_by_schema(std::mem::take(o), &def.sub_attributes);
        *o = sorted;
        return Ok(());
    }
    let v = coerce(def, value, &path, true, ctx)?;
    if v.is_null() {
        container.shift_remove(&def.name);
        return Ok(());
    }
    ctx.unblank(&path);
    match (container.get_mut(&def.name), v) {
        (Some(Value::Object(old)), Value::Object(new)) if !def.multi_valued && !is_manager(def) => {
            old.extend(new);
            let sorted = sort_by_schema(std::mem::take(old), &def.sub_attributes);
            *old = sorted;
        }
        (_, v) => {
            container.insert(def.name.clone(), v);
        }
    }
    Ok(())
}

/// Group `members`: the ids, in order, duplicates removed; `None` for a blank (`null`).
fn extract_members(value: &Value, ctx: &mut Ctx) -> ScimResult<Option<Vec<String>>> {
    let items: Vec<&Value> = match value {
        Value::Null => {
            ctx.blank("members");
            return Ok(None);
        }
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    ctx.unblank("members");
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let raw = match item {
            Value::Null => continue,
            Value::Object(o) => o
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("value"))
                .map(|(_, v)| v),
            other => Some(other),
        };
        let id = match raw {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Null) | None => {
                return Err(ScimError::invalid_value(format!(
                    "members[{i}].value is required"
                )))
            }
            Some(Value::String(_)) => {
                return Err(ScimError::invalid_value(format!(
                    "members[{i}].value is required"
                )))
            }
            Some(other) => {
                return Err(type_error(
                    &format!("members[{i}].value"),
                    "a string",
                    other,
                ))
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(Some(ids))
}

/// Coerces one value for attribute `attr` (a top-level attribute, or a sub-attribute when
/// `attr` is one) to its canonical JSON form: type checks, "True"/"False" booleans,
/// canonical sub-attribute names, a single object given for a multi-valued attribute
/// wrapped in an array, `manager` given as a bare id string or `[{"value": id}]` turned
/// into `{"value": id}`. Returns `Value::Null` for a blank value (`null`, `""`, an empty
/// `manager`).
///
/// Errors: 400 invalidValue naming the attribute and the expected type.
///
/// Details: strings, references and binaries must be JSON strings; booleans are `true`/
/// `false` or those words as strings in any case; integers and decimals are JSON numbers or
/// numeric strings; dateTimes are RFC 3339 strings, normalised by [`normalize_date_time`];
/// complex values are objects whose sub-attributes are coerced recursively (unknown,
/// readOnly and writeOnly sub-attributes dropped; a one-element array is unwrapped; an
/// object with no non-blank sub-attribute is blank). In a multi-valued attribute `null`
/// elements and blank elements (no non-blank `value`, or for attributes without a `value`
/// sub-attribute, nothing but `type`/`primary`/`display`) are dropped, a bare scalar element
/// of a complex attribute with a `value` sub-attribute is read as `{"value": ..}`, and an
/// empty result is blank. Several elements with `primary: true` are kept as sent.
pub fn coerce_value(attr: &AttributeDef, value: &Value) -> ScimResult<Value> {
    let mut ctx = Ctx::default();
    coerce(attr, value, &attr.name, false, &mut ctx)
}

/// Coerces `value` for `def`; `path` names it in errors, warnings and blanks; when `record`
/// is set, blank values are recorded in `ctx.blanks` under their canonical path.
fn coerce(
    def: &AttributeDef,
    value: &Value,
    path: &str,
    record: bool,
    ctx: &mut Ctx,
) -> ScimResult<Value> {
    let v = if def.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            let e = coerce_element(def, item, path, ctx)?;
            if !e.is_null() {
                out.push(e);
            }
        }
        if out.is_empty() {
            Value::Null
        } else {
            Value::Array(out)
        }
    } else if def.ty == AttrType::Complex {
        if is_manager(def) {
            coerce_manager(def, value, path)?
        } else {
            match coerce_single_complex(def, value, path, record, ctx)? {
                // Given a non-empty object whose sub-attributes were all blank: the blanks
                // are recorded per sub-attribute, not for the whole attribute.
                Complex::AllSubsBlank => return Ok(Value::Null),
                Complex::Value(v) => v,
            }
        }
    } else {
        coerce_scalar(def, value, path)?
    };
    if v.is_null() && record {
        ctx.blank(path);
    }
    Ok(v)
}

enum Complex {
    Value(Value),
    AllSubsBlank,
}

fn coerce_single_complex(
    def: &AttributeDef,
    value: &Value,
    path: &str,
    record: bool,
    ctx: &mut Ctx,
) -> ScimResult<Complex> {
    match value {
        Value::Null => Ok(Complex::Value(Value::Null)),
        Value::String(s) if s.is_empty() => Ok(Complex::Value(Value::Null)),
        Value::Array(a) if a.is_empty() => Ok(Complex::Value(Value::Null)),
        Value::Array(a) if a.len() == 1 => coerce_single_complex(def, &a[0], path, record, ctx),
        Value::Object(o) if o.is_empty() => Ok(Complex::Value(Value::Null)),
        Value::Object(o) => {
            let m = coerce_object(def, o, path, record, ctx)?;
            if m.is_empty() {
                Ok(Complex::AllSubsBlank)
            } else {
                Ok(Complex::Value(Value::Object(m)))
            }
        }
        other => Err(type_error(path, "an object", other)),
    }
}

/// The sub-attributes of one complex value, coerced, in schema order; blank ones left out.
fn coerce_object(
    def: &AttributeDef,
    o: &Map<String, Value>,
    path: &str,
    record: bool,
    ctx: &mut Ctx,
) -> ScimResult<Map<String, Value>> {
    let mut m = Map::new();
    for (k, v) in o {
        let Some(sub) = def.sub(k) else {
            ctx.warn(format!("ignored unknown attribute '{path}.{}'", clip(k)));
            continue;
        };
        let sub_path = format!("{path}.{}", sub.name);
        match sub.mutability {
            Mutability::ReadOnly => {
                ctx.warn(format!("ignored readOnly attribute '{sub_path}'"));
                continue;
            }
            Mutability::WriteOnly => continue,
            _ => {}
        }
        let sv = coerce(sub, v, &sub_path, record, ctx)?;
        if sv.is_null() {
            m.shift_remove(&sub.name);
        } else {
            if record {
                ctx.unblank(&sub_path);
            }
            m.insert(sub.name.clone(), sv);
        }
    }
    Ok(sort_by_schema(m, &def.sub_attributes))
}

/// One element of a multi-valued attribute; `Null` when it is blank and must be dropped.
fn coerce_element(
    def: &AttributeDef,
    item: &Value,
    path: &str,
    ctx: &mut Ctx,
) -> ScimResult<Value> {
    if def.ty != AttrType::Complex {
        return coerce_scalar(def, item, path);
    }
    let obj = match item {
        Value::Null => return Ok(Value::Null),
        Value::Object(o) => coerce_object(def, o, path, false, ctx)?,
        Value::String(_) | Value::Number(_) | Value::Bool(_) => match def.sub("value") {
            Some(vdef) => {
                let v = coerce_scalar(vdef, item, &format!("{path}.{}", vdef.name))?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut m = Map::new();
                m.insert(vdef.name.clone(), v);
                m
            }
            None => return Err(type_error(path, "an array of objects", item)),
        },
        Value::Array(_) => return Err(type_error(path, "an array of objects", item)),
    };
    let meaningful = if def.sub("value").is_some() {
        obj.contains_key("value")
    } else {
        obj.keys()
            .any(|k| !matches!(k.as_str(), "type" | "primary" | "display"))
    };
    Ok(if meaningful {
        Value::Object(obj)
    } else {
        Value::Null
    })
}

/// `manager`: a bare id, `{"value": id, ...}` or `[{"value": id, ...}]` → `{"value": id}`;
/// `""`, `null`, `{}`, `[]` or `{"value": ""}` → blank. `$ref` and `displayName` are
/// dropped: the server renders them.
fn coerce_manager(def: &AttributeDef, value: &Value, path: &str) -> ScimResult<Value> {
    let value_name = def
        .sub("value")
        .map(|d| d.name.clone())
        .unwrap_or_else(|| "value".into());
    let id = match value {
        Value::Null => return Ok(Value::Null),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            return match a.iter().find(|v| !v.is_null()) {
                None => Ok(Value::Null),
                Some(first) => coerce_manager(def, first, path),
            }
        }
        Value::Object(o) => match o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("value"))
            .map(|(_, v)| v)
        {
            None | Some(Value::Null) => return Ok(Value::Null),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(type_error(&format!("{path}.value"), "a string", other)),
        },
        other => return Err(type_error(path, "an object or a string", other)),
    };
    if id.is_empty() {
        return Ok(Value::Null);
    }
    let mut m = Map::new();
    m.insert(value_name, Value::String(id));
    Ok(Value::Object(m))
}

/// At most 100 characters of a client-supplied name, for warnings.
fn clip(s: &str) -> String {
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// 400 invalidValue naming the attribute, the expected type and the kind of JSON received
/// (never the value itself, which may be sensitive).
fn type_error(path: &str, expected: &str, got: &Value) -> ScimError {
    ScimError::invalid_value(format!(
        "attribute '{path}' must be {expected}, got {}",
        json_kind(got)
    ))
}

fn coerce_scalar(def: &AttributeDef, value: &Value, path: &str) -> ScimResult<Value> {
    if value.is_null() || matches!(value, Value::String(s) if s.is_empty()) {
        return Ok(Value::Null);
    }
    match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(_) => Ok(value.clone()),
            other => Err(type_error(path, "a string", other)),
        },
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            other => Err(type_error(path, "a boolean (true or false)", other)),
        },
        AttrType::Integer => {
            let n = match value {
                Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.clone()),
                Value::Number(n) => n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| Number::from(f as i64)),
                Value::String(s) => {
                    let t = s.trim();
                    t.parse::<i64>()
                        .map(Number::from)
                        .ok()
                        .or_else(|| t.parse::<u64>().map(Number::from).ok())
                }
                _ => None,
            };
            n.map(Value::Number)
                .ok_or_else(|| type_error(path, "an integer", value))
        }
        AttrType::Decimal => {
            let n = match value {
                Value::Number(n) => Some(n.clone()),
                Value::String(s) => s.trim().parse::<f64>().ok().and_then(Number::from_f64),
                _ => None,
            };
            n.map(Value::Number)
                .ok_or_else(|| type_error(path, "a decimal number", value))
        }
        AttrType::DateTime => match value {
            Value::String(s) => normalize_date_time(s).map(Value::String).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "attribute '{path}' must be an RFC 3339 dateTime, e.g. 2015-09-01T12:00:00Z"
                ))
            }),
            other => Err(type_error(path, "an RFC 3339 dateTime string", other)),
        },
        AttrType::Complex => Err(type_error(path, "an object", value)),
    }
}

/// Whether any string or object key of `v` holds U+0000.
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(holds_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Splits a canonical path into (URN, attribute, sub-attribute).
fn split_path(path: &str) -> (Option<&str>, &str, Option<&str>) {
    let (urn, rest) = if path.len() > 4 && path[..4].eq_ignore_ascii_case("urn:") {
        match path.rfind(':') {
            Some(i) => (Some(&path[..i]), &path[i + 1..]),
            None => (None, path),
        }
    } else {
        (None, path)
    };
    match rest.split_once('.') {
        Some((a, s)) => (urn, a, Some(s)),
        None => (urn, rest, None),
    }
}

/// The value at a canonical path of a document, as listed in [`Normalized::blanks`]:
/// `title`, `name.givenName`, `urn:...:enterprise:2.0:User:department`,
/// `urn:...:enterprise:2.0:User:manager.value`; a bare extension URN gives the whole
/// extension object. Names match case-insensitively. `None` when absent.
pub fn get_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = member_ci(doc, path) {
        return Some(v);
    }
    let (urn, attr, sub) = split_path(path);
    let container = match urn {
        Some(u) => member_ci(doc, u)?,
        None => doc,
    };
    let v = member_ci(container, attr)?;
    match sub {
        Some(s) => member_ci(v, s),
        None => Some(v),
    }
}

/// Sets the value at a canonical path (see [`get_path`]), creating the extension and
/// complex objects on the way (existing keys are matched case-insensitively). Setting
/// `Value::Null` removes the value and then any extension or complex object left empty.
/// A `doc` that is not an object is replaced by one.
pub fn set_path(doc: &mut Value, path: &str, v: Value) {
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let (urn, attr, sub) = split_path(path);
    let mut keys: Vec<&str> = Vec::new();
    if let Some(u) = urn {
        keys.push(u);
    }
    keys.push(attr);
    if let Some(s) = sub {
        keys.push(s);
    }
    // A bare extension URN names the extension object itself.
    if let Some(m) = doc.as_object() {
        if urn.is_some() && key_ci(m, path).is_some() {
            keys = vec![path];
        }
    }
    set_keys(doc, &keys, v);
}

/// Sets `keys` under object `cur`; returns whether `cur` is left empty.
fn set_keys(cur: &mut Value, keys: &[&str], v: Value) -> bool {
    let m = match cur {
        Value::Object(m) => m,
        other => {
            if v.is_null() {
                return false;
            }
            *other = Value::Object(Map::new());
            other.as_object_mut().expect("object")
        }
    };
    let key = key_ci(m, keys[0])
        .cloned()
        .unwrap_or_else(|| keys[0].to_string());
    if keys.len() == 1 {
        if v.is_null() {
            m.shift_remove(&key);
        } else {
            m.insert(key, v);
        }
        return m.is_empty();
    }
    if v.is_null() {
        if let Some(child) = m.get_mut(&key) {
            if child.is_object() && set_keys(child, &keys[1..], v) {
                m.shift_remove(&key);
            }
        }
        return m.is_empty();
    }
    let child = m.entry(key).or_insert_with(|| Value::Object(Map::new()));
    set_keys(child, &keys[1..], v);
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::*;
    use serde_json::json;
    use std::sync::Arc;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn users() -> ResourceSchema {
        user_resource_schema(vec![])
    }

    fn norm(body: Value) -> Normalized {
        normalize_resource(&users(), &body).unwrap()
    }

    fn err(rs: &ResourceSchema, body: Value) -> ScimError {
        normalize_resource(rs, &body).unwrap_err()
    }

    #[test]
    fn entra_create_user() {
        let n = norm(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "externalId": "ext-1",
            "userName": "Test_User_ab6490ee@contoso.com",
            "active": "True",
            "displayName": "Test User",
            "emails": [{"primary": true, "type": "work", "value": "Test_User@contoso.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "given family", "familyName": "family", "givenName": "given"},
            "roles": [{"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "value": "[{\"x\":1}]"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "mgr-id",
            "password": "hunter2"
        }));
        assert_eq!(
            n.doc,
            json!({
                "externalId": "ext-1",
                "userName": "Test_User_ab6490ee@contoso.com",
                "name": {"formatted": "given family", "familyName": "family", "givenName": "given"},
                "displayName": "Test User",
                "active": true,
                "emails": [{"value": "Test_User@contoso.com", "type": "work", "primary": true}],
                "roles": [{"value": "[{\"x\":1}]", "type": "WindowsAzureActiveDirectoryRole", "primary": false}],
                ENT: {"department": "Sales", "manager": {"value": "mgr-id"}}
            })
        );
        assert!(n.blanks.is_empty() && n.warnings.is_empty(), "{n:?}");
        assert_eq!(n.members, None);
        assert!(!format!("{n:?}").contains("hunter2"));
    }

    #[test]
    fn canonical_key_order_is_schema_order() {
        let a = norm(
            json!({"title": "t", "userName": "u", "name": {"givenName": "g", "familyName": "f"}}),
        );
        let b = norm(
            json!({"NAME": {"FamilyName": "f", "givenname": "g"}, "Title": "t", "USERNAME": "u"}),
        );
        assert_eq!(
            serde_json::to_string(&a.doc).unwrap(),
            serde_json::to_string(&b.doc).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&a.doc).unwrap(),
            r#"{"userName":"u","name":{"familyName":"f","givenName":"g"},"title":"t"}"#
        );
    }

    #[test]
    fn enterprise_object_without_urn_in_schemas() {
        let n = norm(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "u",
            "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:user": {
                "Department": "R&D", "employeeNumber": "42",
                "manager": {"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"},
                "shoeSize": "9"
            }
        }));
        assert_eq!(
            n.doc[ENT],
            json!({"employeeNumber": "42", "department": "R&D", "manager": {"value": "m1"}})
        );
        assert_eq!(
            n.warnings,
            [format!("ignored unknown attribute '{ENT}:shoeSize'")]
        );
    }

    #[test]
    fn full_urn_keys() {
        let n = norm(json!({
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "u",
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName": "G",
            "urn:ietf:params:scim:schemas:core:2.0:User:externalId": "e",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "",
            "urn:example:unknown:1.0:User:foo": "ignored",
            "urn:example:unknown:1.0:User": {"foo": "ignored"}
        }));
        assert_eq!(
            n.doc,
            json!({"externalId": "e", "userName": "u", "name": {"givenName": "G"}, ENT: {"manager": {"value": "m"}}})
        );
        assert_eq!(n.blanks, [format!("{ENT}:costCenter")]);
        assert!(n.warnings.is_empty());
    }

    #[test]
    fn blanks_are_listed_not_stored() {
        let n = norm(json!({
            "userName": "u",
            "title": "",
            "nickName": null,
            "name": {"givenName": "", "familyName": "F"},
            "externalId": null,
            "emails": [{"value": "", "type": "work"}],
            "phoneNumbers": null,
            "addresses": [{"type": "work", "country": ""}, null],
            ENT: {"department": null, "manager": {"value": ""}, "division": ""}
        }));
        assert_eq!(n.doc, json!({"userName": "u", "name": {"familyName": "F"}}));
        assert_eq!(
            n.blanks,
            [
                "title".to_string(),
                "nickName".into(),
                "name.givenName".into(),
                "externalId".into(),
                "emails".into(),
                "phoneNumbers".into(),
                "addresses".into(),
                format!("{ENT}:department"),
                format!("{ENT}:manager"),
                format!("{ENT}:division"),
            ]
        );
    }

    #[test]
    fn empty_complex_object_is_blank_but_all_blank_subs_are_listed_per_sub() {
        let n = norm(json!({"userName": "u", "name": {}}));
        assert_eq!(n.blanks, ["name"]);
        let n = norm(json!({"userName": "u", "name": {"givenName": "", "familyName": null}}));
        assert_eq!(n.blanks, ["name.givenName", "name.familyName"]);
        assert!(n.doc.get("name").is_none());
    }

    #[test]
    fn manager_shapes() {
        for (input, expected) in [
            (json!("m1"), json!({"value": "m1"})),
            (
                json!([{"value": "m1", "$ref": "https://x/Users/m1"}]),
                json!({"value": "m1"}),
            ),
            (json!({"VALUE": "m1"}), json!({"value": "m1"})),
            (json!({"value": ""}), Value::Null),
            (json!(""), Value::Null),
            (json!([]), Value::Null),
            (json!({}), Value::Null),
        ] {
            let n = norm(json!({"userName": "u", ENT: {"manager": input.clone()}}));
            match expected {
                Value::Null => {
                    assert!(n.doc.get(ENT).is_none(), "{input}");
                    assert_eq!(n.blanks, [format!("{ENT}:manager")], "{input}");
                }
                e => assert_eq!(n.doc[ENT]["manager"], e, "{input}"),
            }
        }
        assert_eq!(
            err(&users(), json!({"userName": "u", ENT: {"manager": 5}})).status,
            400
        );
    }

    #[test]
    fn readonly_and_unknown_are_ignored_with_warnings() {
        let n = norm(json!({
            "id": "abc", "userName": "u", "groups": [{"value": "g1"}], "foo": 1,
            "name": {"givenName": "G", "nick": "x"},
            "emails": [{"value": "a@b.c", "label": "x"}]
        }));
        assert_eq!(
            n.doc,
            json!({"userName": "u", "name": {"givenName": "G"}, "emails": [{"value": "a@b.c"}]})
        );
        assert_eq!(
            n.warnings,
            [
                "ignored readOnly attribute 'groups'",
                "ignored unknown attribute 'foo'",
                "ignored unknown attribute 'name.nick'",
                "ignored unknown attribute 'emails.label'"
            ]
        );
    }

    #[test]
    fn password_is_dropped_silently() {
        let n = norm(json!({"userName": "u", "PASSWORD": "s3cret!"}));
        assert_eq!(n.doc, json!({"userName": "u"}));
        assert!(n.warnings.is_empty() && n.blanks.is_empty());
    }

    #[test]
    fn nul_characters_are_400_invalid_value() {
        let schema = user_resource_schema(vec![]);
        for body in [
            json!({"userName": "a\u{0}b"}),
            json!({"userName": "ab", "emails": [{"value": "x\u{0}@y"}]}),
            json!({"userName": "ab", "urn:x:ext:2.0:User": {"k\u{0}": "v"}}),
        ] {
            let e = normalize_resource(&schema, &body).unwrap_err();
            assert_eq!(e.status, 400, "{body}");
            assert!(e.detail.contains("NUL"), "{}", e.detail);
        }
    }

    #[test]
    fn wrong_types_are_400_invalid_value() {
        let rs = users();
        for body in [
            json!({"userName": 5}),
            json!({"userName": "u", "title": true}),
            json!({"userName": "u", "active": "yes"}),
            json!({"userName": "u", "active": 1}),
            json!({"userName": "u", "name": "Bob"}),
            json!({"userName": "u", "name": {"givenName": 3}}),
            json!({"userName": "u", "emails": [[1]]}),
            json!({"userName": "u", "emails": [{"primary": "maybe", "value": "x"}]}),
            json!({"userName": "u", "externalId": 12}),
            json!({"userName": "u", ENT: "Sales"}),
        ] {
            let e = err(&rs, body.clone());
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(crate::ScimType::InvalidValue)),
                "{body}"
            );
        }
        let e = err(&rs, json!({"userName": "u", "title": 7}));
        assert_eq!(e.detail, "attribute 'title' must be a string, got a number");
        let e = err(&rs, json!([1]));
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(crate::ScimType::InvalidSyntax))
        );
    }

    #[test]
    fn required_attributes() {
        for body in [
            json!({}),
            json!({"userName": ""}),
            json!({"userName": null}),
            json!({"displayName": "x"}),
        ] {
            let e = err(&users(), body);
            assert_eq!((e.status, e.detail.as_str()), (400, "userName is required"));
        }
        let e = err(&group_resource_schema(), json!({"members": []}));
        assert_eq!(e.detail, "displayName is required");
        // emails / name are published as required but not enforced here.
        assert!(normalize_resource(&users(), &json!({"userName": "u"})).is_ok());
    }

    #[test]
    fn multi_valued_shapes() {
        let n = norm(json!({
            "userName": "u",
            "emails": {"value": "a@b.c", "type": "work"},
            "phoneNumbers": [null, {"value": "+1", "primary": true}, {"value": "+2", "primary": true}],
            "entitlements": ["e1", ""],
            "addresses": [{"type": "home", "locality": "Oslo", "primary": "true"}]
        }));
        assert_eq!(n.doc["emails"], json!([{"value": "a@b.c", "type": "work"}]));
        assert_eq!(
            n.doc["phoneNumbers"],
            json!([{"value": "+1", "primary": true}, {"value": "+2", "primary": true}])
        );
        assert_eq!(n.doc["entitlements"], json!([{"value": "e1"}]));
        assert_eq!(
            n.doc["addresses"],
            json!([{"locality": "Oslo", "type": "home", "primary": true}])
        );
    }

    #[test]
    fn group_members() {
        let rs = group_resource_schema();
        let n = normalize_resource(
            &rs,
            &json!({
                "schemas": [GROUP_SCHEMA], "displayName": "Eng", "externalId": "g-ext",
                "Members": [{"value": "u1", "display": "U1"}, {"value": "u2", "$ref": "x", "type": "User"}, {"value": "u1"}]
            }),
        )
        .unwrap();
        assert_eq!(n.doc, json!({"externalId": "g-ext", "displayName": "Eng"}));
        assert_eq!(n.members, Some(vec!["u1".to_string(), "u2".into()]));
        let n = normalize_resource(&rs, &json!({"displayName": "Eng", "members": []})).unwrap();
        assert_eq!(n.members, Some(vec![]));
        let n = normalize_resource(&rs, &json!({"displayName": "Eng"})).unwrap();
        assert_eq!(n.members, None);
        let n = normalize_resource(&rs, &json!({"displayName": "Eng", "members": null})).unwrap();
        assert_eq!((n.members, n.blanks), (None, vec!["members".to_string()]));
        for bad in [
            json!([{"display": "x"}]),
            json!([{"value": ""}]),
            json!([{"value": null}]),
            json!([{"value": true}]),
        ] {
            let e = err(&rs, json!({"displayName": "Eng", "members": bad}));
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some(crate::ScimType::InvalidValue))
            );
        }
    }

    #[test]
    fn custom_extension_types() {
        let ext = Arc::new(Schema {
            id: "urn:example:custom:2.0:User".into(),
            name: "Custom".into(),
            description: "Custom".into(),
            attributes: vec![
                AttributeDef::new("hired", AttrType::DateTime, "d"),
                AttributeDef::new("level", AttrType::Integer, "i"),
                AttributeDef::new("score", AttrType::Decimal, "d"),
                AttributeDef::new("tags", AttrType::String, "t").with_multi_valued(),
            ],
        });
        let rs = user_resource_schema(vec![ext]);
        let n = normalize_resource(
            &rs,
            &json!({
                "userName": "u",
                "urn:example:custom:2.0:User": {"hired": "2024-03-01T10:00:00.500+02:00", "level": "7", "score": 1.5, "tags": "a"}
            }),
        )
        .unwrap();
        assert_eq!(
            n.doc["urn:example:custom:2.0:User"],
            json!({"hired": "2024-03-01T08:00:00.5Z", "level": 7, "score": 1.5, "tags": ["a"]})
        );
        for bad in [
            json!({"hired": "yesterday"}),
            json!({"level": 1.5}),
            json!({"level": "x"}),
            json!({"score": "abc"}),
            json!({"hired": 5}),
        ] {
            let e = err(
                &rs,
                json!({"userName": "u", "urn:example:custom:2.0:User": bad.clone()}),
            );
            assert_eq!(e.status, 400, "{bad}");
        }
    }

    #[test]
    fn date_times() {
        assert_eq!(
            normalize_date_time("2015-09-01T12:00:00Z").as_deref(),
            Some("2015-09-01T12:00:00Z")
        );
        assert_eq!(
            normalize_date_time("2015-09-01T12:00:00-05:30").as_deref(),
            Some("2015-09-01T17:30:00Z")
        );
        assert_eq!(
            normalize_date_time("2015-09-01T12:00:00.120Z").as_deref(),
            Some("2015-09-01T12:00:00.12Z")
        );
        assert_eq!(
            normalize_date_time("2015-09-01T12:00:00").as_deref(),
            Some("2015-09-01T12:00:00Z")
        );
        assert_eq!(normalize_date_time("2015-09-01"), None);
        assert_eq!(normalize_date_time("not a date"), None);
        // As strings the local forms sort the wrong way; normalised, string order is time order.
        assert!(
            normalize_date_time("2015-09-02T00:30:00+01:00")
                < normalize_date_time("2015-09-01T23:59:59Z")
        );
    }

    #[test]
    fn coerce_value_directly() {
        let u = user_schema();
        assert_eq!(
            coerce_value(u.attr("active").unwrap(), &json!("FALSE")).unwrap(),
            json!(false)
        );
        assert_eq!(
            coerce_value(u.attr("title").unwrap(), &json!("")).unwrap(),
            Value::Null
        );
        assert_eq!(
            coerce_value(u.attr("emails").unwrap(), &json!({"Value": "x@y"})).unwrap(),
            json!([{"value": "x@y"}])
        );
        let e = enterprise_user_schema();
        assert_eq!(
            coerce_value(e.attr("manager").unwrap(), &json!("m")).unwrap(),
            json!({"value": "m"})
        );
        assert_eq!(
            coerce_value(e.attr("manager").unwrap(), &json!([{"value": ""}])).unwrap(),
            Value::Null
        );
        let sub = u.attr("name").unwrap().sub("givenName").unwrap();
        assert_eq!(coerce_value(sub, &json!("G")).unwrap(), json!("G"));
        assert!(coerce_value(sub, &json!(1)).is_err());
    }

    #[test]
    fn fold_document_folds_non_case_exact_strings() {
        let ext = Arc::new(Schema {
            id: "urn:example:c".into(),
            name: "C".into(),
            description: "C".into(),
            attributes: vec![AttributeDef::new("code", AttrType::String, "c").with_case_exact()],
        });
        let rs = user_resource_schema(vec![ext]);
        let doc = json!({
            "externalId": "AbC", "userName": "Bob@Example.COM", "active": true,
            "name": {"givenName": "BOB"}, "emails": [{"value": "B@X.COM", "primary": true}],
            ENT: {"department": "R&D", "manager": {"value": "MGR"}},
            "urn:example:c": {"code": "XyZ"}, "unknown": "KeEp"
        });
        assert_eq!(
            fold_document(&doc, &rs),
            json!({
                "externalId": "AbC", "userName": "bob@example.com", "active": true,
                "name": {"givenName": "bob"}, "emails": [{"value": "b@x.com", "primary": true}],
                ENT: {"department": "r&d", "manager": {"value": "mgr"}},
                "urn:example:c": {"code": "XyZ"}, "unknown": "KeEp"
            })
        );
    }

    #[test]
    fn get_and_set_paths() {
        let mut doc = json!({"userName": "u", "name": {"givenName": "G"}, ENT: {"department": "D", "manager": {"value": "m"}}});
        assert_eq!(get_path(&doc, "username"), Some(&json!("u")));
        assert_eq!(get_path(&doc, "name.givenName"), Some(&json!("G")));
        assert_eq!(
            get_path(&doc, &format!("{ENT}:department")),
            Some(&json!("D"))
        );
        assert_eq!(
            get_path(&doc, &format!("{ENT}:manager.value")),
            Some(&json!("m"))
        );
        assert_eq!(get_path(&doc, ENT).unwrap()["department"], "D");
        assert_eq!(get_path(&doc, "title"), None);
        assert_eq!(get_path(&doc, "name.familyName"), None);

        set_path(&mut doc, "title", json!("T"));
        set_path(&mut doc, "name.familyName", json!("F"));
        set_path(&mut doc, &format!("{ENT}:costCenter"), json!("C"));
        set_path(&mut doc, "urn:example:new:User:x.y", json!(1));
        assert_eq!(doc["title"], "T");
        assert_eq!(doc["name"], json!({"givenName": "G", "familyName": "F"}));
        assert_eq!(doc[ENT]["costCenter"], "C");
        assert_eq!(doc["urn:example:new:User"], json!({"x": {"y": 1}}));

        set_path(&mut doc, "urn:example:new:User:x.y", Value::Null);
        assert!(doc.get("urn:example:new:User").is_none());
        set_path(&mut doc, "name.givenName", Value::Null);
        set_path(&mut doc, "name.familyName", Value::Null);
        assert!(doc.get("name").is_none());
        set_path(&mut doc, &format!("{ENT}:manager"), Value::Null);
        assert!(doc[ENT].get("manager").is_none());
        set_path(&mut doc, ENT, Value::Null);
        assert!(doc.get(ENT).is_none());
        set_path(&mut doc, "nothing.here", Value::Null);
        assert_eq!(doc, json!({"userName": "u", "title": "T"}));
    }

    #[test]
    fn canonical_document_reorders_deeply() {
        let rs = users();
        let doc = json!({
            ENT: {"manager": {"value": "m"}, "department": "D"},
            "emails": [{"primary": true, "value": "a@b"}],
            "name": {"givenName": "G", "familyName": "F"},
            "userName": "u",
            "externalId": "e",
            "x-unknown": 1,
            "urn:example:other": {}
        });
        let c = canonical_document(&doc, &rs);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!(
                r#"{{"externalId":"e","userName":"u","name":{{"familyName":"F","givenName":"G"}},"emails":[{{"value":"a@b","primary":true}}],"{ENT}":{{"department":"D","manager":{{"value":"m"}}}},"x-unknown":1,"urn:example:other":{{}}}}"#
            )
        );
        assert_eq!(canonical_document(&json!(1), &rs), json!(1));
    }

    #[test]
    fn blanks_round_trip_through_get_path() {
        let old = json!({"userName": "u", "title": "Old", "name": {"givenName": "G"}, ENT: {"department": "D"}});
        let n = norm(
            json!({"userName": "u", "title": "", "name": {"givenName": null}, ENT: {"department": ""}}),
        );
        let mut doc = n.doc.clone();
        for p in &n.blanks {
            if let Some(v) = get_path(&old, p) {
                set_path(&mut doc, p, v.clone());
            }
        }
        assert_eq!(doc, old);
    }
}
