//! The OAuth 2.0 token endpoint of the client credentials grant (RFC 6749 §4.4):
//! `POST /oauth/token` for the root (default) tenant. (With tenants, each tenant's is
//! `/t/SLUG/oauth/token`.)
//!
//! - Request: `application/x-www-form-urlencoded`, at most [`MAX_BODY_BYTES`], with
//!   `grant_type=client_credentials`; the client authenticates with `client_secret_basic`
//!   (`Authorization: Basic`, RFC 6749 §2.3.1: id and secret form-urlencoded, then base64)
//!   or `client_secret_post` (`client_id` and `client_secret` in the body), not both.
//!   `scope` is optional: unknown scope values and `resource` are ignored (Entra sends its
//!   own); a scope value that is not a valid scope-token (§3.3), or `admin`, is
//!   `invalid_scope` (the endpoint grants SCIM provisioning only).
//! - Success (§5.1): 200 `{"access_token", "token_type": "Bearer", "expires_in", "scope":
//!   "scim"}`; the token works on `/scim/v2` of every instance sharing the database until it
//!   expires (`--access-token-ttl`, default one hour) or its client is revoked.
//! - Errors (§5.2): JSON `{"error", "error_description"}`; `invalid_request` (400),
//!   `invalid_client` (401, with `WWW-Authenticate: Basic realm="scimd"` when Basic was
//!   used), `unsupported_grant_type` (400), `invalid_scope` (400). Every answer carries
//!   `Cache-Control: no-store` and `Pragma: no-cache`.
//!
//! The endpoint needs no credential, so it is attack surface: every request that does not
//! end with a token issued counts against its address's budget of requests without a valid
//! credential ([`crate::rate`]); a client that authenticates is admitted under its own rate
//! instead. Client secrets are compared by SHA-256 in constant time, never by a slow hash
//! ([`scimd_directory::clients`]), and failures are counted with the refused
//! authentications ([`crate::auth::refusals`]).

use crate::auth::{request_info, Reason, Refusal};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

/// The path of the root tenant's token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// Largest request body read (a client credentials request is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// The scope every access token has (SCIM provisioning).
pub const GRANTED_SCOPE: &str = "scim";

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route(TOKEN_PATH, post(token))
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code (`invalid_request`, `invalid_client`, ...).
    pub code: &'static str,
    /// What went wrong (never a secret).
    pub description: String,
    /// `invalid_client` after `client_secret_basic`: answered with a Basic challenge.
    pub basic: bool,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
            basic: false,
        }
    }

    fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new("invalid_request", description)
    }

    /// 401 for `invalid_client`, else 400.
    pub fn status(&self) -> StatusCode {
        if self.code == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// The response.
    pub fn response(&self) -> Response {
        let body = json!({"error": self.code, "error_description": self.description});
        let mut res = json_response(self.status(), &body);
        if self.basic {
            let v = HeaderValue::from_static("Basic realm=\"scimd\", charset=\"UTF-8\"");
            res.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// A JSON response that no cache may keep (RFC 6749 §5.1).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// How the client authenticated, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClientAuth {
    id: String,
    secret: String,
    basic: bool,
}

/// The form parameters, each at most once (RFC 6749 §3.2).
fn form(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(j, _)| j == k) {
            return Err(OAuthError::invalid_request(format!(
                "the parameter '{k}' is given more than once"
            )));
        }
    }
    Ok(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The client's credentials: Basic (§2.3.1) or the body, exactly one.
fn client_auth(headers: &HeaderMap, pairs: &[(String, String)]) -> Result<ClientAuth, OAuthError> {
    let in_body = param(pairs, "client_secret").is_some();
    let basic = match headers.get(AUTHORIZATION) {
        None => None,
        Some(v) => Some(basic_credentials(v)?),
    };
    match (basic, in_body) {
        (Some(_), true) => Err(OAuthError::invalid_request(
            "the client authenticated twice (Authorization: Basic and client_secret in the body): use one method",
        )),
        (Some((id, secret)), false) => {
            if param(pairs, "client_id").is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one of the Authorization header",
                ));
            }
            Ok(ClientAuth {
                id,
                secret,
                basic: true,
            })
        }
        (None, true) => Ok(ClientAuth {
            id: param(pairs, "client_id").unwrap_or_default().to_string(),
            secret: param(pairs, "client_secret").unwrap_or_default().to_string(),
            basic: false,
        }),
        (None, false) => Err(OAuthError::new(
            "invalid_client",
            "client authentication required: send the client id and secret with HTTP Basic (client_secret_basic) or as client_id and client_secret in the body (client_secret_post)",
        )),
    }
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`.
pub(crate) fn basic_credentials(v: &HeaderValue) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError {
        code: "invalid_client",
        description: "the Authorization header must be `Basic base64(client_id:client_secret)`"
            .into(),
        basic: true,
    };
    let v = v.to_str().map_err(|_| bad())?.trim();
    let (scheme, rest) = v.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") || rest.len() > 2048 {
        return Err(bad());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok((decode(id), decode(secret)))
}

/// Checks `scope` (RFC 6749 §3.3): every value a valid scope-token, none asking for more
/// than SCIM provisioning. Unknown values are ignored.
fn check_scope(scope: Option<&str>) -> Result<(), OAuthError> {
    let Some(scope) = scope else { return Ok(()) };
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        let valid = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return Err(OAuthError::new(
                "invalid_scope",
                "the scope is malformed (RFC 6749 §3.3: space-separated printable ASCII values without quotes or backslashes)",
            ));
        }
        if token.eq_ignore_ascii_case("admin") {
            return Err(OAuthError::new(
                "invalid_scope",
                "the token endpoint grants SCIM provisioning (scope scim) only; the admin API takes admin tokens (`scimd token create --scope admin`)",
            ));
        }
    }
    Ok(())
}

/// What a token request asks, checked: the client's credentials.
async fn parse(req: Request) -> Result<ClientAuth, OAuthError> {
    let form_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)",
        ));
    }
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            OAuthError::invalid_request(format!(
                "the request body is larger than {MAX_BODY_BYTES} bytes or could not be read"
            ))
        })?;
    let pairs = form(&body)?;
    let auth = client_auth(&headers, &pairs)?;
    match param(&pairs, "grant_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "grant_type is required: grant_type=client_credentials",
            ))
        }
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "this endpoint supports grant_type=client_credentials only",
            ))
        }
    }
    check_scope(param(&pairs, "scope"))?;
    if auth.id.is_empty() || auth.secret.is_empty() {
        return Err(OAuthError {
            basic: auth.basic,
            ..OAuthError::new(
                "invalid_client",
                "the client id and secret must not be empty",
            )
        });
    }
    Ok(auth)
}

/// `POST /oauth/token` (see the module documentation).
async fn token(State(st): State<AppState>, req: Request) -> Response {
    let info = request_info(req.method(), req.uri(), req.extensions());
    let ext = req.extensions().clone();
    // The tenant whose token endpoint this is (its clients only).
    let tenant = match crate::auth::tenant_of(&st, &ext).await {
        Ok(t) => t,
        Err(e) => return server_error(e),
    };
    let refused = |e: OAuthError, st: &AppState| {
        if e.code == "invalid_client" {
            let mut r = Refusal::new(Reason::InvalidClient, "OAuth client", e.description.clone());
            r.tenant_id = Some(tenant.clone());
            st.refusals.record(&r, &info);
        }
        e.response()
    };
    let auth = match parse(req).await {
        Ok(a) => a,
        Err(e) => return refused(e, &st),
    };
    let ttl =
        time::Duration::try_from(st.credentials.access_token_ttl).unwrap_or(time::Duration::HOUR);
    let issued = st
        .directory
        .issue_access_token(&tenant, (&auth.id, &auth.secret), ttl)
        .await;
    match issued {
        Ok(Some(t)) => {
            // A client that authenticated counts against its own rate, not its address.
            if let Err(r) = crate::rate::limiter::admit(&st.limiter, &ext, &auth.id).await {
                return r.answer(st.limiter.limits(), |m| layer_error(StatusCode::TOO_MANY_REQUESTS, m));
            }
            tracing::info!(client = %auth.id, "access token issued");
            json_response(
                StatusCode::OK,
                &json!({
                    "access_token": t.access_token,
                    "token_type": "Bearer",
                    "expires_in": t.expires_in,
                    "scope": GRANTED_SCOPE,
                }),
            )
        }
        Ok(None) => refused(
            OAuthError {
                basic: auth.basic,
                ..OAuthError::new(
                    "invalid_client",
                    "client authentication failed: the client is unknown or revoked, or the secret is wrong",
                )
            },
            &st,
        ),
        Err(e) => server_error(e),
    }
}

/// An error of the token endpoint written by a layer, not by the endpoint (see
/// [`crate::errors::for_surface`]), in the shape of RFC 6749 §5.2: 429 `too_many_requests`
/// (RFC 6749 has no code for it), 503 `temporarily_unavailable`, any other status
/// `invalid_request`; `message` is the `error_description`.
pub fn layer_error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        _ => "invalid_request",
    };
    json_response(
        status,
        &json!({"error": code, "error_description": message}),
    )
}

/// A failure of the directory while issuing a token: its own status where it is not the
/// server's fault (404 for a tenant being deleted; 503, retryable, for contention or a
/// database that cannot take writes), with its message; else 500 `server_error`, logged and
/// counted, its cause never sent.
fn server_error(e: scimd_directory::DirectoryError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE {
        let code = if status.is_client_error() {
            "invalid_request"
        } else {
            "temporarily_unavailable"
        };
        return json_response(
            status,
            &json!({"error": code, "error_description": e.message()}),
        );
    }
    tracing::error!(error = %e, "the token endpoint failed");
    crate::metrics::store_error();
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"error": "server_error", "error_description": "the server failed; it has been logged"}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn store_failures_keep_their_status_and_only_real_ones_are_500() {
        use scimd_directory::StoreError;
        let status = |e: StoreError| {
            let r = server_error(scimd_directory::DirectoryError::Store(e));
            r.status()
        };
        let deleting = StoreError::TenantDeleting("t".into());
        assert_eq!(status(deleting), StatusCode::NOT_FOUND);
        let busy = StoreError::Contention("busy".into());
        assert_eq!(status(busy), StatusCode::SERVICE_UNAVAILABLE);
        let broken = StoreError::Backend("disk".into());
        assert_eq!(status(broken), StatusCode::INTERNAL_SERVER_ERROR);
        let r = server_error(scimd_directory::DirectoryError::Store(
            StoreError::TenantDeleting("t".into()),
        ));
        let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "invalid_request");
        assert!(
            v["error_description"]
                .as_str()
                .unwrap()
                .contains("being deleted"),
            "{v}"
        );
    }

    #[test]
    fn scopes() {
        assert!(check_scope(None).is_ok());
        assert!(check_scope(Some("scim")).is_ok());
        assert!(check_scope(Some("api://x/.default openid")).is_ok());
        assert_eq!(
            check_scope(Some("admin")).unwrap_err().code,
            "invalid_scope"
        );
        assert_eq!(check_scope(Some("a\"b")).unwrap_err().code, "invalid_scope");
    }

    #[test]
    fn basic_and_form() {
        let enc = base64::engine::general_purpose::STANDARD.encode("id%3Ax:s%2Bcret");
        let v = HeaderValue::from_str(&format!("Basic {enc}")).unwrap();
        assert_eq!(
            basic_credentials(&v).unwrap(),
            ("id:x".to_string(), "s+cret".to_string())
        );
        let bad = HeaderValue::from_static("Bearer x");
        assert!(basic_credentials(&bad).unwrap_err().basic);
        assert_eq!(
            form(b"a=1&a=2").unwrap_err().code,
            "invalid_request",
            "a parameter twice"
        );
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v);
        let pairs = form(b"client_secret=x").unwrap();
        assert_eq!(client_auth(&h, &pairs).unwrap_err().code, "invalid_request");
        let none = client_auth(&HeaderMap::new(), &[]).unwrap_err();
        assert_eq!((none.code, none.basic), ("invalid_client", false));
    }
}
