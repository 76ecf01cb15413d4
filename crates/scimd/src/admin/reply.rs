//! What the admin API answers: JSON bodies, the `{"error": ...}` body of every error
//! ([`AdminError`]), lists, and the base path.

use crate::errors::BEARER_CHALLENGE;
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use scim_proto::{ScimError, ScimType};
use scimd_directory::directory::DirectoryError;
use serde_json::{json, Value};

/// The admin API's base path.
pub const BASE: &str = "/api/v1";

// ---------------------------------------------------------------- errors

/// An admin API error: an HTTP status and a message a person can act on. Renders as
/// `{"error": {"status": <number>, "message": "..."}}` (`application/json`), with
/// `scimType` (RFC 7644 §3.12: `invalidValue`, `invalidPath`, `mutability` ...) when SCIM
/// validation of a body refused it; a 401 carries `WWW-Authenticate: Bearer realm="scimd"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    /// HTTP status (400..=599; anything else renders as 500).
    pub status: u16,
    /// What went wrong, and what to do about it.
    pub message: String,
    /// The SCIM `scimType` of an error SCIM validation raised, if any.
    pub scim_type: Option<ScimType>,
}

impl AdminError {
    /// An error with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            message: message.into(),
            scim_type: None,
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> AdminError {
        Self::new(400, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> AdminError {
        Self::new(404, message)
    }
}

impl From<ScimError> for AdminError {
    fn from(e: ScimError) -> Self {
        AdminError {
            scim_type: e.scim_type,
            ..AdminError::new(e.status, e.detail)
        }
    }
}

impl From<DirectoryError> for AdminError {
    /// Keeps the `scimType` of an error SCIM validation raised ([`DirectoryError::Protocol`]);
    /// the directory's own conflicts and refusals have none.
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Protocol(e) => e.into(),
            e => AdminError::new(e.status(), e.message()),
        }
    }
}

/// The JSON body of an admin error.
pub fn error_body(status: u16, message: &str) -> Value {
    json!({"error": {"status": status, "message": message}})
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            crate::metrics::store_error();
        }
        let mut body = error_body(status.as_u16(), &self.message);
        if let Some(t) = self.scim_type {
            body["error"]["scimType"] = Value::from(t.as_str());
        }
        let mut res = json_response(status, &body);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BEARER_CHALLENGE));
        }
        res
    }
}

pub(super) type AdminResult = Result<Response, AdminError>;

/// A JSON response (`application/json`).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

pub(super) fn ok(body: &Value) -> AdminResult {
    Ok(json_response(StatusCode::OK, body))
}

pub(super) fn created(body: &Value, location: Option<String>) -> AdminResult {
    let mut res = json_response(StatusCode::CREATED, body);
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(LOCATION, v);
    }
    Ok(res)
}

pub(super) fn no_content() -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// The answer to a revocation by `key`: 204 when `revoked`, else 404 with a detail that
/// names what was looked for (`what`, e.g. "token named 'x'") and the listing that shows
/// the active ones (`list`, a path under [`BASE`]).
pub(super) fn revoked(revoked: bool, what: &str, list: &str) -> AdminResult {
    if revoked {
        Ok(no_content())
    } else {
        Err(AdminError::not_found(format!(
            "no active {what} (GET {BASE}/{list} lists them)"
        )))
    }
}

/// The message of a request no admin route matches.
pub fn no_endpoint(method: &Method, path: &str) -> String {
    format!(
        "no endpoint {method} {path}: see GET {BASE}/openapi.json for the routes of the admin API"
    )
}
