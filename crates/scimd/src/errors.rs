//! SCIM responses and errors: every response under `/scim/v2`, errors included, is
//! `application/scim+json`, and every error carries an RFC 7644 §3.12 body.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use scim_proto::ScimError;
use scimd_directory::directory::DirectoryError;
use serde_json::Value;

/// The SCIM media type (RFC 7644 §3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The `WWW-Authenticate` challenge sent with every 401.
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"scimd\"";

/// A JSON response with `Content-Type: application/scim+json`.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    json_with_type(status, body, SCIM_CONTENT_TYPE)
}

/// A JSON response with `Content-Type: application/json` (operational endpoints).
pub fn plain_json(status: StatusCode, body: &Value) -> Response {
    json_with_type(status, body, "application/json")
}

fn json_with_type(status: StatusCode, body: &Value, content_type: &'static str) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// An error as a handler returns it; renders as a SCIM error body with its status.
///
/// 401s carry `WWW-Authenticate: Bearer realm="scimd"`. A status outside 400..=599 is
/// rendered as 500.
#[derive(Debug)]
pub struct ApiError(pub ScimError);

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        ApiError(e)
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    /// Renders the error; a 500 from the directory (whose storage errors become 500s) counts
    /// in `scimd_store_errors_total`.
    fn into_response(self) -> Response {
        if self.0.status == 500 {
            crate::metrics::store_error();
        }
        error_response(&self.0)
    }
}

/// Renders a [`ScimError`] (RFC 7644 §3.12).
pub fn error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = e.to_json();
    if status.as_u16() != e.status {
        body["status"] = Value::String(status.as_u16().to_string());
    }
    let mut res = scim_json(status, &body);
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BEARER_CHALLENGE));
    }
    res
}

/// Fallback for unknown routes: 404 with a SCIM error body; for a browser (a GET whose
/// `Accept` names `text/html`, which SCIM clients do not send) a page that says so.
pub async fn not_found(
    method: Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let browser = method == Method::GET
        && headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if browser {
        let message = format!(
            "This server has no page at {}. SCIM clients use <public-url>/scim/v2 (or \
             /t/SLUG/scim/v2); administrators sign in to their tenant's portal.",
            uri.path()
        );
        return crate::portal::unavailable(StatusCode::NOT_FOUND, "Not found", &message);
    }
    error_response(&ScimError::not_found(format!(
        "no endpoint {} {}",
        method,
        uri.path()
    )))
}

/// Whether `path` is `base` or under it.
pub(crate) fn under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// An error answer a layer writes before or instead of a handler (the rate limit's 429, the
/// body deadline's 408, the time limit's 503), in the format of the surface `path` (as routed:
/// a tenant's prefix already taken off) belongs to: a SCIM error (RFC 7644 §3.12) under
/// `/scim/v2`; the admin API's `{"error": {"status", "message"}}` under `/api/v1`; an
/// RFC 6749 §5.2-shaped JSON error at the token endpoint; elsewhere an HTML page of the portal
/// `site` titled `heading`, with the portal's security headers.
pub fn for_surface(
    status: StatusCode,
    (path, site): (&str, &crate::portal::Site),
    heading: &str,
    message: &str,
) -> Response {
    if under(path, crate::state::SCIM_BASE) {
        error_response(&ScimError::new(status.as_u16(), None, message))
    } else if under(path, crate::admin::BASE) {
        crate::admin::AdminError::new(status.as_u16(), message).into_response()
    } else if path == crate::oauth::TOKEN_PATH {
        crate::oauth::layer_error(status, message)
    } else {
        crate::portal::refused_page(status, site, heading, message)
    }
}

/// The response for a panic caught in a handler: 500 with a SCIM error body. The panic
/// message is logged, never sent.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let msg = if let Some(s) = err.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = err.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "unknown panic".to_string()
    };
    tracing::error!(panic = %msg, "handler panicked");
    crate::metrics::panic_caught();
    scim_json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &ScimError::internal(
            "internal error: the server failed while handling this request; it has been logged",
        )
        .to_json(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_bodies() {
        let res = error_response(&ScimError::new(401, None, "no token"));
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()[WWW_AUTHENTICATE], BEARER_CHALLENGE);
        assert_eq!(res.headers()[CONTENT_TYPE], SCIM_CONTENT_TYPE);
        let res = error_response(&ScimError::new(200, None, "odd"));
        assert_eq!(res.status(), 500);
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["status"], "500");
    }
}
