//! Canonical paths in a canonical document (`title`, `name.givenName`,
//! `urn:...:enterprise:2.0:User:department`, `...:manager.value`), the form
//! [`super::Normalized::blanks`] lists: read and write by path.

use crate::json::{key_ci, member_ci};
use serde_json::{Map, Value};

/// Splits a canonical path into (URN, attribute, sub-attribute).
fn split_path(path: &str) -> (Option<&str>, &str, Option<&str>) {
    let (urn, rest) = if path.len() > 4 && path.as_bytes()[..4].eq_ignore_ascii_case(b"urn:") {
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

/// The value at a canonical path of a document, as listed in [`Normalized::blanks`](super::Normalized::blanks):
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
    use serde_json::json;

    /// A path whose fourth byte falls inside a character is read as a plain attribute name
    /// (no URN), never sliced there.
    #[test]
    fn a_path_with_a_wide_character_at_the_urn_prefix_is_not_sliced() {
        let path = "\u{1}\u{b34c0}.x";
        assert_eq!(split_path(path), (None, "\u{1}\u{b34c0}", Some("x")));
        let mut doc = json!({});
        set_path(&mut doc, path, json!(1));
        assert_eq!(get_path(&doc, path), Some(&json!(1)));
        assert_eq!(
            split_path("URN:a:b:attr.sub"),
            (Some("URN:a:b"), "attr", Some("sub"))
        );
    }
}
