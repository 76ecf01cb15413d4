//! Bearer authentication of SCIM and admin API requests (RFC 7644 §2, RFC 6750), with
//! failures that explain themselves (RFC 6750 §3):
//!
//! - no credential (or another scheme than Bearer): 401 `WWW-Authenticate: Bearer
//!   realm="scimd"`, with no error code (§3.1: the client may not know authentication is
//!   needed);
//! - a bad, expired or revoked one: 401 with `error="invalid_token"` and an
//!   `error_description` (`the access token expired`, `... was revoked`, `... is not known`;
//!   never the secret or anything derived from it);
//! - a valid credential of the wrong scope: 403 with `error="insufficient_scope"` and the
//!   `scope` needed.
//!
//! The body stays the surface's error (a SCIM error under `/scim/v2`, the admin API's
//! `{"error": ...}` under `/api/v1`) with a detail a person can act on. Every refusal is
//! counted for the administrator's diagnostics ([`refusals`]); unknown paths never reach
//! this code (it runs only on routes that exist).
//!
//! What a secret is decides how it is verified ([`Credential`]): a scimd secret (a static
//! token, or an access token of an OAuth client, told apart by prefix) is looked up in the
//! directory. One more kind of credential (a JWT from an external issuer) is one more
//! variant of [`Credential`] and one more arm of [`verify`]; its refusals are [`Refusal`]s
//! like these. Secrets are never logged. A request with a valid credential is admitted
//! under the credential's rate limit ([`crate::rate::limiter::admit`]).

pub mod refusals;

use crate::errors::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_proto::ScimError;
use scimd_directory::directory::{Caller, DirectoryError, RequestInfo};
use scimd_directory::store::{ActorType, TokenScope};
use scimd_directory::tokens::{Rejected, Rejection};

/// Longest bearer secret looked up; longer ones are rejected without hashing.
const MAX_SECRET_LEN: usize = 512;
/// Longest issuer access token (a JWT, [`crate::issuers::looks_like_jwt`]) accepted: Entra's
/// are 1 to 3 KB.
const MAX_JWT_LEN: usize = 8192;

/// The realm of every challenge.
pub const REALM: &str = "scimd";

/// Why a request was refused: the reasons refusals are counted by (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header of another scheme than Bearer.
    OtherScheme,
    /// A Bearer header whose token is empty, too long or not ASCII.
    Malformed,
    /// A token no credential has.
    Unknown,
    /// An expired token.
    Expired,
    /// A revoked token (or one of a revoked OAuth client).
    Revoked,
    /// A valid token of the wrong scope.
    InsufficientScope,
    /// A valid credential of another tenant than the one whose path the request is on.
    OtherTenant,
    /// A client that failed to authenticate at the OAuth token endpoint ([`crate::oauth`]).
    InvalidClient,
    /// An issuer's access token (a JWT) refused, and why ([`crate::issuers`]).
    Issuer(crate::issuers::Reason),
}

impl Reason {
    /// `missing`, `other_scheme`, `malformed`, `unknown`, `expired`, `revoked`,
    /// `insufficient_scope`, `other_tenant`, `invalid_client`, or an issuer's reason
    /// ([`crate::issuers::Reason::as_str`]: `unknown_issuer`, `wrong_audience`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::OtherScheme => "other_scheme",
            Reason::Malformed => "malformed",
            Reason::Unknown => "unknown",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::OtherTenant => "other_tenant",
            Reason::InvalidClient => "invalid_client",
            Reason::Issuer(r) => r.as_str(),
        }
    }

    /// The RFC 6750 §3.1 error code: none when no bearer token was presented.
    pub fn error_code(self) -> Option<&'static str> {
        match self {
            Reason::Missing | Reason::OtherScheme => None,
            Reason::InsufficientScope => Some("insufficient_scope"),
            Reason::InvalidClient => Some("invalid_client"),
            _ => Some("invalid_token"),
        }
    }

    /// 403 for the wrong scope, else 401.
    pub fn status(self) -> u16 {
        if self == Reason::InsufficientScope {
            403
        } else {
            401
        }
    }

    /// The `error_description` (fixed texts: nothing of the request is echoed).
    fn description(self) -> Option<&'static str> {
        match self {
            Reason::Missing | Reason::OtherScheme => None,
            Reason::Malformed => Some("the bearer token is empty or malformed"),
            Reason::Unknown => Some("the token is not known"),
            Reason::Expired => Some("the token expired"),
            Reason::Revoked => Some("the token was revoked"),
            Reason::InsufficientScope => Some("the token's scope does not allow this request"),
            Reason::OtherTenant => Some("the token is not valid for this tenant"),
            Reason::InvalidClient => Some("client authentication failed"),
            Reason::Issuer(r) => Some(r.description()),
        }
    }
}

/// A refused authentication: the reason, the detail of the error body, the tenant and
/// credential it is attributed to in the refusal records (never a secret), and for
/// [`Reason::InsufficientScope`] the scope needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// What a person reads in the body.
    pub detail: String,
    /// The credential's tenant, when the credential is known (else the path's).
    pub tenant_id: Option<String>,
    /// What was presented (`token 'okta'`, `client 'entra'`, `unknown static token
    /// (scimd_)`, `none`).
    pub credential: String,
    /// The scope needed (insufficient scope only).
    pub scope: Option<&'static str>,
}

impl Refusal {
    /// A refusal without a known credential.
    pub fn new(reason: Reason, credential: &str, detail: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            detail: detail.into(),
            tenant_id: None,
            credential: credential.to_string(),
            scope: None,
        }
    }

    /// The refusal of a credential the directory did not accept.
    pub fn rejected(r: Rejected) -> Refusal {
        let (reason, detail) = match r.reason {
            Rejection::Unknown => (
                Reason::Unknown,
                "the bearer token is not valid: no token or client has this secret".to_string(),
            ),
            Rejection::Expired => {
                // An OAuth client's access token (`client '...'`) is replaced by asking the
                // token endpoint again; a static token by creating another.
                let remedy = if r.credential.starts_with("client ") {
                    "request a new access token from the token endpoint"
                } else {
                    "create a new token"
                };
                let detail = format!(
                    "the bearer token is not valid: it expired ({}); {remedy}",
                    r.credential
                );
                (Reason::Expired, detail)
            }
            Rejection::Revoked => (
                Reason::Revoked,
                format!(
                    "the bearer token is not valid: it was revoked ({})",
                    r.credential
                ),
            ),
        };
        Refusal {
            reason,
            detail,
            tenant_id: r.tenant_id,
            credential: r.credential,
            scope: None,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3): `Bearer realm="scimd"`, then `error`,
    /// `error_description` and `scope` when the reason has them.
    pub fn challenge(&self) -> String {
        let mut c = format!("Bearer realm=\"{REALM}\"");
        if let Some(code) = self.reason.error_code() {
            c.push_str(&format!(", error=\"{code}\""));
        }
        if let Some(d) = self.reason.description() {
            c.push_str(&format!(", error_description=\"{d}\""));
        }
        if let Some(s) = self.scope {
            c.push_str(&format!(", scope=\"{s}\""));
        }
        c
    }

    /// `body` (the surface's error for the status and the detail) with this refusal's
    /// challenge.
    pub fn respond(&self, body: impl FnOnce(u16, &str) -> Response) -> Response {
        let mut res = body(self.reason.status(), &self.detail);
        if let Ok(v) = HeaderValue::from_str(&self.challenge()) {
            res.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// A credential as presented, by how it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A secret scimd issued: a static token or an OAuth access token (the directory tells
    /// them apart by prefix).
    Secret(String),
    /// An access token (a JWT) of a configured issuer ([`crate::issuers`]).
    Jwt(String),
}

/// Why authentication did not produce a caller.
#[derive(Debug)]
pub enum Failure {
    /// The request is refused (401 or 403).
    Refused(Refusal),
    /// The credential is valid but over its rate (429, [`crate::rate`]).
    Limited(crate::rate::limiter::Refused),
    /// The store failed (500).
    Store(DirectoryError),
}

impl From<DirectoryError> for Failure {
    fn from(e: DirectoryError) -> Self {
        Failure::Store(e)
    }
}

/// The credential of the `Authorization` header: `Ok(None)` when there is no header.
///
/// Errors: a refusal for another scheme ([`Reason::OtherScheme`]), an empty or overlong
/// token or a non-ASCII header ([`Reason::Malformed`]).
pub fn presented(headers: &HeaderMap) -> Result<Option<Credential>, Refusal> {
    headers.get(AUTHORIZATION).map(credential_of).transpose()
}

/// The credential of an `Authorization` header's value `v`; errors as [`presented`].
fn credential_of(v: &HeaderValue) -> Result<Credential, Refusal> {
    let malformed = |d: &str| Refusal::new(Reason::Malformed, "malformed bearer token", d);
    let v = v
        .to_str()
        .map_err(|_| malformed("the Authorization header is not valid ASCII"))?
        .trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::new(
            Reason::OtherScheme,
            "another scheme than Bearer",
            "the Authorization header must use the Bearer scheme: `Authorization: Bearer <secret>`",
        ));
    }
    let secret = rest.trim();
    let jwt = crate::issuers::looks_like_jwt(secret);
    let max = if jwt { MAX_JWT_LEN } else { MAX_SECRET_LEN };
    if secret.is_empty() || secret.len() > max {
        return Err(malformed("the bearer token is empty or malformed"));
    }
    let secret = secret.to_string();
    Ok(if jwt {
        Credential::Jwt(secret)
    } else {
        Credential::Secret(secret)
    })
}

/// The bearer secret of the `Authorization` header: `Ok(None)` when there is no header.
///
/// Errors: 401 for another scheme, an empty or overlong secret, or a non-ASCII header.
pub fn bearer_secret(headers: &HeaderMap) -> Result<Option<String>, ScimError> {
    match presented(headers) {
        Ok(None) => Ok(None),
        Ok(Some(Credential::Secret(s) | Credential::Jwt(s))) => Ok(Some(s)),
        Err(r) => Err(ScimError::new(401, None, r.detail)),
    }
}

/// Verifies a presented credential for a request on the paths of tenant `tenant_id` (whose
/// issuers are trusted): the caller, or the refusal. A valid credential of another tenant
/// is refused ([`Reason::OtherTenant`], 401: a token belongs to one tenant). `None`: the
/// request's tenant is not known (a router without [`crate::tenancy::resolve`], or a root
/// tenant the store could not look up): any tenant's credential, the root tenant's issuers.
///
/// Errors: the store's.
pub async fn verify(
    state: &AppState,
    credential: &Credential,
    tenant_id: Option<&str>,
) -> Result<Caller, Failure> {
    let c = verify_credential(state, credential, tenant_id).await?;
    let Some(tenant_id) = tenant_id else {
        return Ok(c);
    };
    if c.tenant_id != tenant_id {
        let detail = if c.scope == TokenScope::Operator {
            "the bearer token is not valid for this tenant: it is an operator token, accepted only by the operator API (/api/v1/tenants); use the token of the tenant whose URL you call"
        } else {
            "the bearer token is not valid for this tenant: it belongs to another tenant of this server; use the token of the tenant whose URL you call"
        };
        return Err(Failure::Refused(Refusal {
            reason: Reason::OtherTenant,
            detail: detail.to_string(),
            tenant_id: Some(tenant_id.to_string()),
            credential: "a credential of another tenant".to_string(),
            scope: None,
        }));
    }
    Ok(c)
}

/// Whether `authorization` (an `Authorization` header's value) carries a credential valid
/// on this server, whatever its scope and tenant: for a request no handler authenticated (a
/// path no route serves, a method the path does not allow), so that the per-address budget
/// of [`crate::rate`] does not count it. An issuer's access token (JWT) is checked against
/// the issuers of the tenant `slug` (the path's, else the root tenant's; none: not valid).
/// Neither logged nor recorded as a refusal: the request was answered already. A store
/// error counts as not valid.
pub async fn is_valid_credential(
    state: &AppState,
    authorization: &HeaderValue,
    slug: Option<&str>,
) -> bool {
    let Ok(credential) = credential_of(authorization) else {
        return false;
    };
    let tenant_id = match (&credential, slug) {
        (Credential::Secret(_), _) => None,
        (Credential::Jwt(_), None) => return false,
        (Credential::Jwt(_), Some(slug)) => match state.directory.resolve_tenant(slug).await {
            Ok(Some(t)) => Some(t.id),
            _ => return false,
        },
    };
    verify_credential(state, &credential, tenant_id.as_deref())
        .await
        .is_ok()
}

async fn verify_credential(
    state: &AppState,
    credential: &Credential,
    tenant_id: Option<&str>,
) -> Result<Caller, Failure> {
    match credential {
        Credential::Secret(s) => match state.directory.authenticate(s).await? {
            Ok(c) => Ok(c),
            Err(r) => Err(Failure::Refused(Refusal::rejected(r))),
        },
        Credential::Jwt(t) => match state
            .issuers
            .authenticate(
                &state.directory,
                &match tenant_id {
                    Some(id) => id.to_string(),
                    None => state.directory.default_tenant_id().await?,
                },
                t,
            )
            .await
        {
            Ok(c) => Ok(c),
            Err(crate::issuers::Refusal::Token(r)) => Err(Failure::Refused(Refusal::new(
                Reason::Issuer(r),
                "issuer access token",
                format!("the bearer token is not valid: {}", r.description()),
            ))),
            Err(crate::issuers::Refusal::Store(e)) => Err(Failure::Store(e)),
        },
    }
}

/// What change records keep of a request: its method, its path (without query string)
/// and the client's address ([`crate::net::client_address`]).
pub fn request_info(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    extensions: &axum::http::Extensions,
) -> RequestInfo {
    // On a tenant's own path, the path as the client sent it (with `/t/SLUG`).
    let path = match crate::tenancy::of(extensions) {
        Some(t) => t.path.clone(),
        None => uri.path().to_string(),
    };
    RequestInfo {
        method: method.as_str().to_string(),
        path,
        address: crate::net::client_address(extensions),
    }
}

/// Authenticates a request for `scope` (`missing` says what to send when no credential
/// is presented): the caller, with the request's method, path and address, or the failure.
/// A valid credential is admitted under its rate limit first (whatever its scope: it is
/// not counted against its address). A refusal is logged (never the secret) and counted
/// ([`refusals`]).
pub async fn authenticate(
    state: &AppState,
    (headers, extensions): (&HeaderMap, &axum::http::Extensions),
    request: RequestInfo,
    (scope, missing): (TokenScope, &str),
) -> Result<Caller, Failure> {
    let tenant = crate::tenancy::of(extensions).map(|t| t.tenant.id.clone());
    // The operator API has no tenant: an operator token is one by its scope (only the
    // operator realm's tokens have it), and a tenant's token is refused for its scope.
    let on = match scope {
        TokenScope::Operator => None,
        _ => tenant.as_deref(),
    };
    let outcome = match presented(headers) {
        Err(r) => Err(Failure::Refused(r)),
        Ok(None) => Err(Failure::Refused(Refusal::new(
            Reason::Missing,
            "none",
            missing,
        ))),
        Ok(Some(c)) => verify(state, &c, on).await,
    };
    let outcome = match outcome {
        Ok(c) => match crate::rate::limiter::admit(&state.limiter, extensions, &c.token_id).await {
            Ok(()) if c.scope == scope => Ok(c),
            Ok(()) => Err(Failure::Refused(wrong_scope(&c, scope))),
            Err(limited) => Err(Failure::Limited(limited)),
        },
        Err(f) => Err(f),
    };
    match outcome {
        Ok(mut c) => {
            c.request = request;
            if scope == TokenScope::Scim {
                state.directory.note_scim_request(&c.tenant_id);
            }
            Ok(c)
        }
        Err(Failure::Refused(mut r)) => {
            tracing::warn!(reason = r.reason.as_str(), credential = %r.credential, path = %request.path, "authentication refused");
            r.tenant_id = r.tenant_id.or(tenant);
            state.refusals.record(&r, &request);
            Err(Failure::Refused(r))
        }
        Err(e) => Err(e),
    }
}

/// The id of the tenant whose paths the request is on ([`crate::tenancy::RequestTenant`]);
/// the root tenant's for a request that has none (a router built without
/// [`crate::tenancy::resolve`]).
///
/// Errors: the store's; `NotFound` when the database has no tenant.
pub async fn tenant_of(
    state: &AppState,
    extensions: &axum::http::Extensions,
) -> Result<String, DirectoryError> {
    match crate::tenancy::of(extensions) {
        Some(t) => Ok(t.tenant.id.clone()),
        None => Ok(state.directory.default_tenant_id().await?),
    }
}

/// The refusal of a valid credential `c` on a surface needing `scope`.
fn wrong_scope(c: &Caller, scope: TokenScope) -> Refusal {
    let what = match c.actor {
        ActorType::Client if c.token_id.starts_with("issuer:") => {
            format!("the issuer token of '{}'", c.token_name)
        }
        ActorType::Client => format!("the OAuth client '{}'", c.token_name),
        _ => format!("the token '{}'", c.token_name),
    };
    let detail = match scope {
        TokenScope::Scim => format!(
            "{what} has scope {}, which is not for SCIM; SCIM endpoints need a token of scope scim",
            c.scope.as_str()
        ),
        TokenScope::Admin => format!(
            "{what} has scope {}, which is not for a tenant's admin API; it needs a token of scope admin (`scimd token create --name NAME --scope admin`)",
            c.scope.as_str()
        ),
        TokenScope::Operator => format!(
            "{what} has scope {}; the operator API ({}) needs an operator token (`scimd token create --name NAME --scope operator`)",
            c.scope.as_str(),
            crate::tenancy::OPERATOR_API
        ),
    };
    Refusal {
        reason: Reason::InsufficientScope,
        detail,
        tenant_id: Some(c.tenant_id.clone()),
        credential: what.replacen("the ", "", 1),
        scope: Some(scope.as_str()),
    }
}

/// Resolves the caller of a request that presents a token; `Ok(None)` when none is presented.
/// Any scope is accepted (used by the public discovery endpoints to pick the caller's tenant).
///
/// Errors: 401 (with its challenge) for a malformed, unknown, expired or revoked token; 500
/// when the store fails.
pub async fn optional_caller(
    state: &AppState,
    (headers, extensions): (&HeaderMap, &axum::http::Extensions),
    request: RequestInfo,
) -> Result<Option<Caller>, Response> {
    let credential = match presented(headers) {
        Ok(None) => return Ok(None),
        Ok(Some(c)) => Ok(c),
        Err(r) => Err(Failure::Refused(r)),
    };
    let tenant = crate::tenancy::of(extensions).map(|t| t.tenant.id.clone());
    let outcome = match credential {
        Ok(c) => verify(state, &c, tenant.as_deref()).await,
        Err(f) => Err(f),
    };
    match outcome {
        Ok(c) => Ok(Some(c)),
        Err(Failure::Refused(mut r)) => {
            tracing::warn!(reason = r.reason.as_str(), credential = %r.credential, "authentication refused");
            r.tenant_id = r.tenant_id.or(tenant);
            state.refusals.record(&r, &request);
            Err(scim_refusal(&r))
        }
        Err(Failure::Limited(r)) => Err(r.answer(state.limiter.limits(), |m| {
            ApiError(ScimError::new(429, None, m)).into_response()
        })),
        Err(Failure::Store(e)) => Err(ApiError::from(e).into_response()),
    }
}

/// A refusal as a SCIM error (RFC 7644 §3.12) with its challenge.
pub fn scim_refusal(r: &Refusal) -> Response {
    r.respond(|status, detail| ApiError(ScimError::new(status, None, detail)).into_response())
}

/// Route layer: requires a `scim`-scope credential (a static token or an OAuth access
/// token) and puts the [`Caller`] (with the request's method and path, for the
/// provisioning log) in the request extensions.
pub async fn require_scim(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let info = request_info(req.method(), req.uri(), req.extensions());
    let missing = "authentication required: send `Authorization: Bearer <secret>` with the secret of a SCIM token or an OAuth access token";
    let parts = (req.headers(), req.extensions());
    let caller = match authenticate(&state, parts, info, (TokenScope::Scim, missing)).await {
        Ok(c) => c,
        Err(Failure::Refused(r)) => return scim_refusal(&r),
        Err(Failure::Limited(r)) => {
            return r.answer(state.limiter.limits(), |m| {
                ApiError(ScimError::new(429, None, m)).into_response()
            })
        }
        Err(Failure::Store(e)) => return ApiError::from(e).into_response(),
    };
    // A write waits for a turn of its tenant's share of the writer (crate::rate::shares).
    let write = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let _turn = if write {
        match state.write_shares.turn(&caller.tenant_id).await {
            Ok(t) => t,
            Err(m) => {
                let e = DirectoryError::from(scimd_directory::StoreError::Contention(m));
                return ApiError::from(e).into_response();
            }
        }
    } else {
        None
    };
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            presented(&h("Basic x")).unwrap_err().reason,
            Reason::OtherScheme
        );
        assert_eq!(
            presented(&h("Bearer ")).unwrap_err().reason,
            Reason::Malformed
        );
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let r = |reason| Refusal::new(reason, "none", "x");
        assert_eq!(r(Reason::Missing).challenge(), "Bearer realm=\"scimd\"");
        assert_eq!(r(Reason::OtherScheme).challenge(), "Bearer realm=\"scimd\"");
        assert_eq!(
            r(Reason::Expired).challenge(),
            "Bearer realm=\"scimd\", error=\"invalid_token\", error_description=\"the token expired\""
        );
        let mut s = r(Reason::InsufficientScope);
        s.scope = Some("scim");
        assert_eq!(
            s.challenge(),
            "Bearer realm=\"scimd\", error=\"insufficient_scope\", error_description=\"the token's scope does not allow this request\", scope=\"scim\""
        );
        assert_eq!(s.reason.status(), 403);
        assert_eq!(r(Reason::Unknown).reason.status(), 401);
    }
}
