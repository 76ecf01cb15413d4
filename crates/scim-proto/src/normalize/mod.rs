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
//! attributes of unknown schemas are ignored with a warning; a top-level key that is a
//! full-URN attribute path (`urn:...:enterprise:2.0:User:department`) is read as that
//! attribute; booleans may arrive as the strings "True"/"False" in any case; `null` and `""`
//! mean "no value".
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
//!
//! Layout: reading a body (`mod.rs`), coercing values to their attribute's type
//! (`coerce.rs`), canonical paths in documents (`doc_path.rs`); the key order and the
//! folded copy are in [`crate::canonical`].

pub(crate) mod coerce;
mod doc_path;

pub use crate::canonical::{canonical_document, fold_document, normalize_date_time};
pub(crate) use coerce::coerce_noting;
pub use coerce::coerce_value;
pub use doc_path::{get_path, set_path};

use crate::canonical::{canonical_order, sort_by_schema};
use crate::error::{ScimError, ScimResult};
use crate::json::refuse_nul;
use crate::limits::Limits;
use crate::schema::{AttrType, ResourceSchema, Schema};
use coerce::{clip, coerce, is_manager, type_error, Ctx};
use serde_json::{Map, Value};

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

/// Normalises a full resource body (POST, PUT) against `schema`.
///
/// Errors: 400 invalidValue for a value of the wrong type or a missing required attribute
/// (`userName` for Users, `displayName` for Groups); 400 invalidSyntax for a body that is
/// not a JSON object.
///
/// Keys are matched case-insensitively. `schemas`, `id` and `meta` are ignored silently (clients
/// echo them back on PUT); `password` (writeOnly) is dropped without a trace; other readOnly
/// attributes (`groups`, `manager.displayName`) and unknown attributes of the core schema or a
/// known extension are ignored with a warning; so are keys of unknown schema URNs. An
/// extension's attributes are read from an object under its URN key (whether or not the URN
/// is listed in `schemas`) or from full-URN keys (`urn:...:enterprise:2.0:User:department`);
/// `urn:...:core:2.0:User:title` is read as `title`.
///
/// Group `members` are not put in the document: their ids go to [`Normalized::members`]
/// (`members: null` is a blank, recorded as `members`; an element without a non-blank
/// `value` is a 400 invalidValue). `emails`/`name` being required is not enforced here.
///
/// Keys of a schema URN the resource type does not have (an extension the tenant does not
/// use, e.g. `urn:ietf:params:scim:schemas:extension:ivanti:2.0:User` where the tenant's
/// custom schema has another URN) are ignored with a warning naming the URN and the
/// attributes. Of several values of a multi-valued attribute with `primary: true`, the
/// first is kept primary and the others get `primary: false`, with a warning.
///
/// The input is checked against the default [`Limits`]; see [`normalize_resource_with`].
pub fn normalize_resource(schema: &ResourceSchema, input: &Value) -> ScimResult<Normalized> {
    normalize_resource_with(schema, input, &Limits::default())
}

/// [`normalize_resource`] under `limits`: the whole document is checked with
/// [`Limits::check_document`] (string lengths, value counts, identifier characters) and
/// the `members` given with [`Limits::check_members`].
///
/// Errors: as [`normalize_resource`]; 400 invalidValue naming the attribute and the limit,
/// or the character an identifier may not hold.
pub fn normalize_resource_with(
    schema: &ResourceSchema,
    input: &Value,
    limits: &Limits,
) -> ScimResult<Normalized> {
    let obj = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    refuse_nul(input)?;
    let mut ctx = Ctx::default();
    let mut out = Out::default();
    for (key, value) in obj {
        let lower = key.to_ascii_lowercase();
        if matches!(lower.as_str(), "schemas" | "id" | "meta") {
            continue;
        }
        if lower == "externalid" {
            put_external_id(value, &mut out.doc, &mut ctx)?;
            continue;
        }
        if lower.starts_with("urn:") {
            put_urn_key(schema, key, value, &mut out, &mut ctx)?;
            continue;
        }
        put_attr(schema, &schema.core, false, key, value, &mut out, &mut ctx)?;
    }
    let Out { doc, members } = out;
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
    limits.check_document(&doc, schema, None)?;
    if let Some(m) = &members {
        limits.check_members(m.len())?;
    }
    Ok(Normalized {
        doc: Value::Object(doc),
        members,
        blanks: ctx.blanks,
        warnings: ctx.warnings.into_vec(),
    })
}

/// What a body normalizes into, as it is built: the document, and for Groups the member
/// ids of `members` (`None` while the body has given none).
#[derive(Default)]
struct Out {
    doc: Map<String, Value>,
    members: Option<Vec<String>>,
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
    out: &mut Out,
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
                            put_external_id(v, &mut out.doc, ctx)?;
                            continue;
                        }
                        _ => {}
                    }
                }
                put_attr(rs, schema, is_ext, k, v, out, ctx)?;
            }
            return Ok(());
        }
        let rest = &key[schema.id.len() + 1..];
        if !is_ext {
            match rest.to_ascii_lowercase().as_str() {
                "id" | "meta" | "schemas" => return Ok(()),
                "externalid" => return put_external_id(value, &mut out.doc, ctx),
                _ => {}
            }
        }
        return put_attr(rs, schema, is_ext, rest, value, out, ctx);
    }
    // A schema this resource type does not have: ignored (RFC 7644 §3.3 lets servers ignore
    // it), with a warning naming it and its attributes, so that a mapping to the wrong URN
    // is seen in the provisioning log.
    ctx.warn(unknown_schema_warning(key, value));
    Ok(())
}

/// The warning for a key of a schema URN the resource type does not have: an object under
/// the URN (`"urn:...:ivanti:2.0:User": {"costCode": ...}`) names the URN and its
/// attributes; any other value is read as a full-URN attribute path
/// (`"urn:...:ivanti:2.0:User:costCode": ...`), the URN being what precedes the last `:`.
/// Names are clipped, values never shown.
pub(crate) fn unknown_schema_warning(key: &str, value: &Value) -> String {
    /// Attribute names listed in one warning, then "and N more".
    const SHOWN: usize = 10;
    let (urn, names): (&str, Vec<&str>) = match value {
        Value::Object(o) => (key, o.keys().map(String::as_str).collect()),
        _ => match key.rsplit_once(':') {
            Some((urn, attr)) => (urn, vec![attr]),
            None => (key, vec![]),
        },
    };
    let mut shown: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("'{}'", clip(n)))
        .collect();
    if names.len() > SHOWN {
        shown.push(format!("and {} more", names.len() - SHOWN));
    }
    let what = match names.len() {
        0 => "ignored a value".to_string(),
        1 => format!("ignored attribute {}", shown.join(", ")),
        _ => format!("ignored attributes {}", shown.join(", ")),
    };
    format!("{what} of unknown schema '{}'", clip(urn))
}

fn prefix(schema: &Schema, is_ext: bool) -> String {
    if is_ext {
        format!("{}:", schema.id)
    } else {
        String::new()
    }
}

/// Puts attribute `name` (`attr` or `attr.sub`) of `schema` with `value` into the document
/// (Group `members` into the member ids).
fn put_attr(
    rs: &ResourceSchema,
    schema: &Schema,
    is_ext: bool,
    name: &str,
    value: &Value,
    out: &mut Out,
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
    if !ctx.writable(def.mutability, &path) {
        return Ok(());
    }
    if !is_ext && rs.is_group() && def.name == "members" {
        if sub_name.is_some() {
            ctx.warn(format!("ignored unknown attribute '{}'", clip(name)));
            return Ok(());
        }
        out.members = extract_members(value, ctx)?;
        return Ok(());
    }
    let doc = &mut out.doc;
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
        if !ctx.writable(sub.mutability, &sub_path) {
            return Ok(());
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

#[cfg(test)]
mod tests;
