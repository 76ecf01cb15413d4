//! Small helpers on JSON values shared by the filter evaluator, the normaliser and the
//! PATCH engine: member lookup by a case-insensitive key (attribute names are
//! case-insensitive, RFC 7643 §2.1), and the kind of a value and a clipped copy of client
//! text for error details.

use crate::error::{ScimError, ScimResult};
use serde_json::{Map, Value};

/// The key of `obj` that names `key`: its exact spelling first, else the first key equal
/// to it ASCII case-insensitively.
pub(crate) fn key_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a String> {
    match obj.get_key_value(key) {
        Some((k, _)) => Some(k),
        None => obj.keys().find(|k| k.eq_ignore_ascii_case(key)),
    }
}

/// The member `key` of `obj`, exact spelling first, then ASCII case-insensitively.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// [`get_ci`] on a value that may not be an object (`None` then).
pub(crate) fn member_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    get_ci(v.as_object()?, key)
}

/// The kind of a JSON value for error details (`a string`, `an array`...): names the
/// shape received, never the value, which may be sensitive.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Shortens `s` to at most `max` characters for an error message (char-boundary safe).
pub(crate) fn clip(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// At most 100 characters of client input, for PATCH error details and warnings.
pub(crate) fn clip_detail(s: &str) -> String {
    clip(s, 100)
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

/// Refuses client text holding U+0000: valid JSON (`\u0000`), but no directory text holds
/// it and PostgreSQL cannot store it, so every way in (POST, PUT, PATCH) refuses it the
/// same way on every back end.
///
/// Errors: 400 invalidValue `text must not contain the NUL character (U+0000)`.
pub(crate) fn refuse_nul(v: &Value) -> ScimResult<()> {
    if holds_nul(v) {
        return Err(ScimError::invalid_value(
            "text must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}
