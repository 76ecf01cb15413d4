//! Small helpers on JSON values shared by the filter evaluator, the normaliser and the
//! PATCH engine: member lookup by a case-insensitive key (attribute names are
//! case-insensitive, RFC 7643 §2.1), and the kind of a value and a clipped copy of client
//! text for error details.

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
