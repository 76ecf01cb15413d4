//! Bearer-token authentication of SCIM requests (RFC 7644 §2: `Authorization: Bearer`).
//!
//! Resource endpoints (`/Users`, `/Groups`, `/.search`) require a token of scope `scim`:
//! a missing, malformed, unknown or revoked token is answered 401 with
//! `WWW-Authenticate: Bearer realm="scimd"`; a valid token of scope `admin` is answered 403
//! (admin tokens are for `/api/v1`; keeping the scopes apart means a leaked provisioning
//! secret cannot administer the server and an admin secret is not pasted into an IdP).
//! Secrets are never logged. A request with a valid token is admitted under the token's
//! rate limit ([`crate::rate::limiter::admit`]): 429 beyond it.

use crate::errors::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_proto::ScimError;
use scimd_directory::directory::{Caller, RequestInfo};
use scimd_directory::store::TokenScope;

/// Longest bearer secret looked up; longer ones are rejected without hashing.
const MAX_SECRET_LEN: usize = 512;
/// Longest issuer access token (a JWT, [`crate::issuers::looks_like_jwt`]) accepted: Entra's
/// are 1 to 3 KB.
const MAX_JWT_LEN: usize = 8192;

/// The bearer secret of the `Authorization` header: `Ok(None)` when there is no header.
///
/// Errors: 401 for another scheme, an empty or overlong secret, or a non-ASCII header.
pub fn bearer_secret(headers: &HeaderMap) -> Result<Option<String>, ScimError> {
    let Some(v) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .map_err(|_| ScimError::new(401, None, "the Authorization header is not valid ASCII"))?
        .trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ScimError::new(
            401,
            None,
            "the Authorization header must use the Bearer scheme: `Authorization: Bearer <secret>`",
        ));
    }
    let secret = rest.trim();
    let max = if crate::issuers::looks_like_jwt(secret) {
        MAX_JWT_LEN
    } else {
        MAX_SECRET_LEN
    };
    if secret.is_empty() || secret.len() > max {
        return Err(ScimError::new(
            401,
            None,
            "the bearer token is empty or malformed",
        ));
    }
    Ok(Some(secret.to_string()))
}

fn invalid_token() -> ScimError {
    ScimError::new(
        401,
        None,
        "the bearer token is not valid: it is unknown or has been revoked",
    )
}

/// What change records keep of a request: its method, its path (without query string)
/// and the client's address ([`crate::net::client_address`]).
pub fn request_info(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    extensions: &axum::http::Extensions,
) -> RequestInfo {
    RequestInfo {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        address: crate::net::client_address(extensions),
    }
}

/// The caller of a bearer secret: a JWT is an issuer's access token, refused with its
/// reason ([`crate::issuers`]); anything else a static token (`Ok(None)`: unknown or
/// revoked).
async fn authenticate(state: &AppState, secret: &str) -> Result<Option<Caller>, Response> {
    if crate::issuers::looks_like_jwt(secret) {
        let c = state.issuers.authenticate(&state.directory, secret).await;
        return c.map(Some).map_err(IntoResponse::into_response);
    }
    let c = state.directory.authenticate(secret).await;
    c.map_err(|e| ApiError::from(e).into_response())
}

/// Resolves the caller of a request that presents a token; `Ok(None)` when none is presented.
/// Any scope is accepted (used by the public discovery endpoints to pick the caller's tenant).
///
/// Errors: 401 for a malformed, unknown or revoked token or a refused issuer access token;
/// 500 when the store fails.
pub async fn optional_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, Response> {
    let secret = bearer_secret(headers).map_err(|e| ApiError(e).into_response())?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    match authenticate(state, &secret).await? {
        Some(c) => Ok(Some(c)),
        None => {
            tracing::warn!("authentication failed: unknown or revoked token");
            Err(ApiError(invalid_token()).into_response())
        }
    }
}

/// Route layer: requires a `scim`-scope bearer token and puts the [`Caller`] (with the
/// request's method and path, for the provisioning log) in the request extensions.
pub async fn require_scim(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let caller = match bearer_secret(req.headers()) {
        Err(e) => {
            tracing::warn!("authentication failed: malformed Authorization header");
            return ApiError(e).into_response();
        }
        Ok(None) => {
            return ApiError(ScimError::new(
                401,
                None,
                "authentication required: send `Authorization: Bearer <secret>` with the secret of a SCIM token",
            ))
            .into_response()
        }
        Ok(Some(secret)) => match authenticate(&state, &secret).await {
            Ok(Some(c)) => {
                // A valid token counts against its own rate only (crate::rate).
                let limiter = &state.limiter;
                if let Err(r) = crate::rate::limiter::admit(limiter, req.extensions(), &c.token_id).await {
                    return r.answer(limiter.limits(), |m| {
                        ApiError(ScimError::new(429, None, m)).into_response()
                    });
                }
                c
            }
            Ok(None) => {
                tracing::warn!("authentication failed: unknown or revoked token");
                return ApiError(invalid_token()).into_response();
            }
            Err(r) => return r,
        },
    };
    if caller.scope != TokenScope::Scim {
        tracing::warn!(token = %caller.token_name, "a token of scope admin was used on /scim/v2");
        return ApiError(ScimError::new(
            403,
            None,
            format!(
                "the token '{}' has scope {}, which is for the admin API; SCIM endpoints need a token of scope scim",
                caller.token_name,
                caller.scope.as_str()
            ),
        ))
        .into_response();
    }
    let mut caller = caller;
    caller.request = request_info(req.method(), req.uri(), req.extensions());
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn h(v: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        m
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_secret(&HeaderMap::new()).unwrap(), None);
        assert_eq!(
            bearer_secret(&h("Bearer abc")).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(
            bearer_secret(&h("bearer   abc  ")).unwrap().as_deref(),
            Some("abc")
        );
        assert_eq!(
            bearer_secret(&h("Basic dXNlcjpwYXNz")).unwrap_err().status,
            401
        );
        assert_eq!(bearer_secret(&h("Bearer")).unwrap_err().status, 401);
        assert_eq!(bearer_secret(&h("Bearer ")).unwrap_err().status, 401);
        assert!(bearer_secret(&h(&format!("Bearer {}", "a".repeat(600)))).is_err());
    }
}
