//! Coercing a client value to its attribute's type (RFC 7643 §2.3): strings, booleans
//! (also `"True"`/`"False"`), numbers, dateTimes in their canonical form, complex and
//! multi-valued values, the enterprise `manager`; blanks and warnings are recorded in
//! [`Ctx`] on the way.

use crate::canonical::{normalize_date_time, sort_by_schema};
use crate::error::{ScimError, ScimResult};
use crate::json::json_kind;
use crate::schema::{AttrType, AttributeDef, Mutability};
use crate::warnings::Warnings;
use serde_json::{Map, Number, Value};

/// What coercion records besides the value: blank paths and warnings.
#[derive(Default)]
pub(crate) struct Ctx {
    pub(crate) blanks: Vec<String>,
    pub(crate) warnings: Warnings,
}

impl Ctx {
    pub(crate) fn blank(&mut self, path: &str) {
        if !self.blanks.iter().any(|b| b == path) {
            self.blanks.push(path.to_string());
        }
    }
    pub(crate) fn unblank(&mut self, path: &str) {
        self.blanks.retain(|b| b != path);
    }
    pub(crate) fn warn(&mut self, w: String) {
        self.warnings.push(w);
    }
    /// Whether the client may write an attribute of this mutability, named `path`:
    /// readOnly ones are ignored with a warning, writeOnly ones (`password`) silently.
    pub(crate) fn writable(&mut self, mutability: Mutability, path: &str) -> bool {
        match mutability {
            Mutability::ReadOnly => {
                self.warn(format!("ignored readOnly attribute '{path}'"));
                false
            }
            Mutability::WriteOnly => false,
            _ => true,
        }
    }
}

/// The enterprise `manager`: a single-valued complex attribute named `manager` with a
/// `value` sub-attribute (stored as `{"value": id}`, RFC 7643 §4.3).
pub(crate) fn is_manager(def: &AttributeDef) -> bool {
    def.ty == AttrType::Complex
        && !def.multi_valued
        && def.name.eq_ignore_ascii_case("manager")
        && def.sub("value").is_some()
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
/// empty result is blank. Of several elements with `primary: true` the first is kept
/// primary and the others get `primary: false` (RFC 7643 §2.4).
pub fn coerce_value(attr: &AttributeDef, value: &Value) -> ScimResult<Value> {
    let mut ctx = Ctx::default();
    coerce(attr, value, &attr.name, false, &mut ctx)
}

/// [`coerce_value`], adding what it notes (unknown or readOnly sub-attributes dropped,
/// a second primary value cleared) to `warnings`.
pub(crate) fn coerce_noting(
    attr: &AttributeDef,
    value: &Value,
    warnings: &mut Warnings,
) -> ScimResult<Value> {
    let mut ctx = Ctx {
        blanks: Vec::new(),
        warnings: std::mem::take(warnings),
    };
    let r = coerce(attr, value, &attr.name, false, &mut ctx);
    *warnings = ctx.warnings;
    r
}

/// Coerces `value` for `def`; `path` names it in errors, warnings and blanks; when `record`
/// is set, blank values are recorded in `ctx.blanks` under their canonical path.
pub(crate) fn coerce(
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
        keep_first_primary(&mut out, path, ctx);
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
        if !ctx.writable(sub.mutability, &sub_path) {
            continue;
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

/// Of the elements of one multi-valued value with `primary: true`, keeps the first (in
/// document order) and sets `primary: false` on the others, with a warning naming the
/// attribute (RFC 7643 §2.4: the primary value appears no more than once).
fn keep_first_primary(out: &mut [Value], path: &str, ctx: &mut Ctx) {
    let mut primaries = 0;
    for e in out.iter_mut() {
        if let Value::Object(o) = e {
            if o.get("primary") == Some(&Value::Bool(true)) {
                primaries += 1;
                if primaries > 1 {
                    o.insert("primary".to_string(), Value::Bool(false));
                }
            }
        }
    }
    if primaries > 1 {
        ctx.warn(format!(
            "'{path}': {primaries} values had \"primary\": true; the first was kept as the \
             primary value and the others were set to false (RFC 7643 §2.4)"
        ));
    }
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
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// 400 invalidValue naming the attribute, the expected type and the kind of JSON received
/// (never the value itself, which may be sensitive).
pub(crate) fn type_error(path: &str, expected: &str, got: &Value) -> ScimError {
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
