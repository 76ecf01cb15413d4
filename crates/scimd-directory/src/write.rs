//! What the SCIM writes on users and groups share: the required name of a document, the
//! optional text of a lookup column, and the `If-Match` check (RFC 7644 §3.14).

use crate::render;
use scim_proto::{ScimError, ScimResult};
use serde_json::Value;

/// The non-blank string `key` of a document (`userName`, `displayName`). Errors: 400
/// invalidValue when it is missing or blank.
pub(crate) fn required_text(doc: &Value, key: &str) -> ScimResult<String> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .ok_or_else(|| ScimError::invalid_value(format!("{key} is required and must not be blank")))
}

/// The string `key` of a document, if it has one (`externalId`, `displayName`).
pub(crate) fn text(doc: &Value, key: &str) -> Option<String> {
    doc.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Checks an `If-Match` header against the stored version: 412 when stale.
pub(crate) fn check_if_match(if_match: Option<&str>, version: i64) -> ScimResult<()> {
    match if_match {
        Some(h) if !render::if_match_ok(h, version) => {
            Err(ScimError::precondition_failed(format!(
                "the resource has changed: its current version is {}, the request's If-Match was {h}",
                render::etag(version)
            )))
        }
        _ => Ok(()),
    }
}
