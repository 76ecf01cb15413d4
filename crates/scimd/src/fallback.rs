//! The one middleware for error responses no handler wrote: axum's 405 for a wrong method
//! (with `Allow`), body-limit 413s, extractor rejections (a path segment that is not valid
//! UTF-8 ...). It rewrites them into the error body of the surface the request was for —
//! an RFC 7644 §3.12 SCIM error (`application/scim+json`), or under `/api/v1` the admin API's
//! `{"error": {"status", "message"}}` (`application/json`) — keeping their status and
//! headers. Responses that already have a JSON or HTML body (every handler's errors, the
//! portal's error pages) pass through unchanged.
//!
//! It is the innermost layer of [`crate::server::router`] (axum runs it around each route).

use crate::admin::reply::no_endpoint;
use crate::admin::{allowed_methods, AdminError, BASE};
use crate::errors::{error_response, SCIM_CONTENT_TYPE};
use axum::extract::{MatchedPath, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_proto::ScimError;

/// Longest extractor rejection text read into an error message, in bytes.
const REJECTION_BYTES: usize = 4096;

/// Which API an error body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// `/scim/v2` and everything outside the admin API.
    Scim,
    /// The admin API under `/api/v1`.
    Admin,
}

impl Surface {
    fn of(path: &str) -> Surface {
        if crate::errors::under(path, BASE) {
            Surface::Admin
        } else {
            Surface::Scim
        }
    }

    /// The message of a 404 no route answered.
    fn no_endpoint(self, method: &Method, path: &str) -> String {
        match self {
            Surface::Scim => format!("no endpoint {method} {path}"),
            Surface::Admin => no_endpoint(method, path),
        }
    }

    /// The media type this surface's bodies are sent as (for a 415's message).
    fn media_type(self) -> &'static str {
        match self {
            Surface::Scim => SCIM_CONTENT_TYPE,
            Surface::Admin => "application/json",
        }
    }

    /// This surface's error body for `status` and `message`.
    fn render(self, status: StatusCode, message: String) -> Response {
        match self {
            Surface::Scim => error_response(&ScimError::new(status.as_u16(), None, message)),
            Surface::Admin => AdminError::new(status.as_u16(), message).into_response(),
        }
    }
}

/// Whether a response already carries a body its client can read: JSON (SCIM or plain) or
/// HTML (the portal's error pages).
fn has_body(res: &Response) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with(SCIM_CONTENT_TYPE)
                || ct.starts_with("application/json")
                || ct.starts_with("text/html")
        })
}

/// Rewrites an error response that has no JSON or HTML body into the error body of the
/// request's surface (see the module documentation).
pub async fn error_bodies(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || has_body(&res) {
        return res;
    }
    let surface = Surface::of(&path);
    // The router adds `Allow` outside every layer: the admin API names its methods from its
    // route table; elsewhere the message names none (the header still does).
    let allow = match (surface, template) {
        (Surface::Admin, Some(t)) => allowed_methods(&t).join(", "),
        _ => String::new(),
    };
    let (mut parts, body) = res.into_parts();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED if allow.is_empty() => {
            format!("method {method} is not allowed on {path}")
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("method {method} is not allowed on {path}; allowed: {allow}")
        }
        StatusCode::NOT_FOUND => surface.no_endpoint(&method, &path),
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than this server accepts".to_string()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            format!("unsupported content type: send {}", surface.media_type())
        }
        s => {
            // An extractor rejection: its text is short and meant for the client.
            let bytes = axum::body::to_bytes(body, REJECTION_BYTES)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            if text.is_empty() {
                s.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            }
        }
    };
    let (fresh_parts, fresh_body) = surface.render(status, message).into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    for (k, v) in fresh_parts.headers.iter() {
        parts.headers.insert(k, v.clone());
    }
    Response::from_parts(parts, fresh_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces() {
        assert_eq!(Surface::of("/api/v1"), Surface::Admin);
        assert_eq!(Surface::of("/api/v1/users/x"), Surface::Admin);
        assert_eq!(Surface::of("/api/v10"), Surface::Scim);
        assert_eq!(Surface::of("/scim/v2/Users"), Surface::Scim);
        assert_eq!(Surface::of("/users"), Surface::Scim);
    }
}
