//! Request bodies: JSON read under the configured size limit.
//!
//! Content types are taken leniently: `application/scim+json`, `application/json` (any
//! parameters), none at all, or anything else — the body is parsed as JSON whatever the
//! header says, since identity providers are not consistent about it.

use crate::errors::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use scim_proto::ScimError;
use serde_json::Value;

/// A JSON request body (any JSON value; handlers check its shape).
///
/// Rejections: 413 for a body over the limit; 400 invalidSyntax for an empty body or
/// invalid JSON (the detail names line and column); 400 for a body that cannot be read.
#[derive(Debug)]
pub struct JsonBody(pub Value);

/// The 413 error for a body over `limit` bytes.
pub fn too_large(limit: usize) -> ScimError {
    ScimError::new(
        413,
        None,
        format!("the request body is larger than {limit} bytes, the largest this server accepts (maxPayloadSize)"),
    )
}

/// Parses a body as JSON. A UTF-8 byte-order mark is skipped.
///
/// Errors: 400 invalidSyntax for an empty body or invalid JSON.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ScimError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax(
            "the request body is empty: expected a JSON object",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.max_body_bytes;
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit).into());
        }
        let bytes = match Limited::new(req.into_body(), limit).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return Err(too_large(limit).into())
            }
            Err(e) => {
                return Err(ScimError::invalid_syntax(format!(
                    "the request body could not be read: {e}"
                ))
                .into());
            }
        };
        Ok(JsonBody(parse_json(&bytes)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_parsing() {
        assert_eq!(parse_json(b"{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(
            parse_json(b"\xEF\xBB\xBF{}").unwrap(),
            serde_json::json!({})
        );
        let e = parse_json(b"").unwrap_err();
        assert_eq!(e.status, 400);
        let e = parse_json(b"{\n  \"a\": }").unwrap_err();
        assert_eq!(e.scim_type, Some(scim_proto::ScimType::InvalidSyntax));
        assert!(e.detail.contains("line 2"), "{}", e.detail);
    }
}
