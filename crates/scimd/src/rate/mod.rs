//! Rate limits that never hurt a real identity provider: a tower layer keyed by what the edge
//! knows, the client's address ([`crate::net::client`]) and the credential.
//!
//! Entra ID has no client-side rate limit for non-gallery applications, Microsoft asks SCIM
//! servers to sustain at least 25 requests/s per tenant and quarantines a provisioning job
//! that keeps getting 429s, and Entra and Okta send from addresses every one of their
//! customers shares. So the limits are two, and they never meet:
//!
//! - **Per client address, only requests without a valid credential** (none, or one that
//!   fails: an unknown bearer token, an ended session, a wrong password):
//!   [`limiter::RateLimits::unauthenticated_per_minute`] with bursts of
//!   [`limiter::RateLimits::unauthenticated_burst`], answered 429 with `Retry-After`. A request
//!   without any credential takes its unit before it runs; one with a credential runs, and is
//!   counted only when the credential turns out not to be valid (while the address is over
//!   its budget, such a failure is answered 429 rather than 401). Over the budget, the
//!   credential is checked before the request runs ([`genuine_credential`]): a made-up one
//!   gets 429 without running anything. A request with a valid credential is never refused
//!   because of other requests from its address. A bearer token
//!   on a path no route serves (404) or with a method the path does not allow (405) is
//!   looked at by no handler, so [`guard`] checks it itself: valid, the request is not
//!   counted either.
//!   Not counted at all: `/healthz`, `/readyz`, `/metrics` (probes and scrapers), the
//!   portal's `/assets/` (static, cached for a year) and its sign-in form (`GET /signin`:
//!   a browser must be able to load it to present its trusted-browser cookie; the sign-in
//!   itself, the POST, is counted).
//! - **Per credential, every request with a valid one** (a bearer token, by token id; a
//!   portal session, by administrator): [`limiter::RateLimits::per_credential`] requests/s with
//!   bursts of [`limiter::RateLimits::burst`]. Beyond it a request first waits, up to
//!   [`limiter::MAX_QUEUE_WAIT`], in the credential's queue (a GCRA reservation), and only then gets
//!   429.
//!
//! The state is per instance, in memory, in LRU maps of fixed size ([`limiter::ADDRESS_KEYS`],
//! [`limiter::CREDENTIAL_KEYS`]; see [`gcra`]). 0 turns a limit off. 429 bodies fit the surface: a
//! SCIM error under `/scim/v2`, `{"error": ...}` under `/api/v1`, an OAuth-shaped JSON error
//! at the token endpoint (`/oauth/token`, which counts as a request without a valid credential
//! unless it issues a token), an HTML page elsewhere.
//!
//! Two layers, so that nothing low in the stack depends on the surfaces: [`limiter`] holds
//! the limiters and the per-credential admission ([`limiter::admit`], called where a
//! credential is checked, which answers its own surface's 429); this module is the
//! per-address middleware ([`guard`], installed by [`crate::server`]), which sits above
//! every surface and answers the 429 of the one a request's path belongs to.

pub mod gcra;
pub mod limiter;
pub mod shares;

use crate::errors::under;
use crate::net::client::{client_addr, AddrKey};
use crate::portal::Site;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{Extensions, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use limiter::{Limit, Refused, Valid};
use std::time::{Duration, Instant};

/// The 429 of the surface `path` belongs to (see the module documentation), with
/// `Retry-After` (see [`Refused::answer`]); a portal page of the portal `site`.
fn response(refused: &Refused, st: &AppState, path: &str, site: &Site) -> Response {
    refused.answer(st.limiter.limits(), |message| {
        let status = StatusCode::TOO_MANY_REQUESTS;
        crate::errors::for_surface(status, (path, site), "Too many requests", message)
    })
}

/// Requests no address budget counts: probes, the metrics scrape, the portal's static
/// assets (and its favicon) and its sign-in form.
fn exempt(method: &Method, path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.ico")
        || path.starts_with("/assets/")
        || (path == "/signin" && (method == Method::GET || method == Method::HEAD))
}

/// Whether a request presents a credential of its surface (valid or not: that is for its
/// handler to find out): a bearer token under `/scim/v2` and `/api/v1`, an `Authorization`
/// header (HTTP Basic, a client's id and secret) at the token endpoint, one of the portal's
/// session or trusted-browser cookies elsewhere (those of the portal the request is for,
/// [`crate::portal::CookieName::at`]). A credential of another surface (a bearer
/// header on a portal page, say) is none: it cannot make the request valid, so it must not
/// let the request run before the address's budget is checked.
fn presents_credential(req: &Request, path: &str) -> bool {
    use crate::portal::{cookie, DEVICE_COOKIE, SESSION_COOKIE};
    let h = req.headers();
    if under(path, crate::state::SCIM_BASE) || under(path, crate::admin::BASE) {
        return h.contains_key(AUTHORIZATION);
    }
    if path == crate::oauth::TOKEN_PATH && h.contains_key(AUTHORIZATION) {
        // A client authenticating with HTTP Basic (client_secret_basic).
        return true;
    }
    let site = Site::of(req.extensions());
    [SESSION_COOKIE, DEVICE_COOKIE]
        .iter()
        .flat_map(|c| [c.at(&site, false), c.at(&site, true)])
        .any(|name| cookie(h, &name).is_some())
}

/// Whether the credential a request presents ([`presents_credential`]) is genuine, checked
/// before the request runs when its address is over its budget: a bearer token valid on
/// this server (any tenant, any scope: [`crate::auth::is_valid_credential`]), at the token
/// endpoint the HTTP Basic id and secret of one of its tenant's OAuth clients, a live
/// session of the portal's tenant, or a trusted-browser cookie of one of its administrators
/// ([`scimd_directory::Directory::is_trusted_browser`]). Whether it suffices for the request
/// is still the handler's to find; what this spares is running a handler (a sign-in's
/// throttles and records, a token lookup's refusal records) for a made-up credential from
/// an address that has spent its budget. A store error counts as not genuine.
async fn genuine_credential(
    st: &AppState,
    (h, extensions): (&HeaderMap, &Extensions),
    path: &str,
    site: &Site,
) -> bool {
    use crate::portal::{cookie, DEVICE_COOKIE, SESSION_COOKIE};
    let slug = crate::tenancy::path_slug(extensions).or(st.root_tenant.as_deref());
    if under(path, crate::state::SCIM_BASE) || under(path, crate::admin::BASE) {
        return match h.get(AUTHORIZATION) {
            Some(bearer) => crate::auth::is_valid_credential(st, bearer, slug).await,
            None => false,
        };
    }
    // The tenant of the path (the token endpoint's, the portal's): this layer runs before
    // `tenancy::resolve` has looked it up (the operator portal's is the operator realm).
    let tenant = match (site.operator, slug) {
        (true, _) => st.directory.operator_realm().await,
        (false, Some(slug)) => st.directory.resolve_tenant(slug).await,
        (false, None) => return false,
    };
    let Ok(Some(tenant)) = tenant else {
        return false;
    };
    if path == crate::oauth::TOKEN_PATH {
        let Some(Ok((id, secret))) = h.get(AUTHORIZATION).map(crate::oauth::basic_credentials)
        else {
            return false;
        };
        let genuine = st.directory.is_genuine_client(&tenant.id, (&id, &secret));
        return matches!(genuine.await, Ok(true));
    }
    let named = |c: crate::portal::CookieName| {
        [false, true]
            .into_iter()
            .find_map(|secure| cookie(h, &c.at(site, secure)))
    };
    if let Some(id) = named(SESSION_COOKIE) {
        let session = st.directory.portal_session(&id).await;
        if matches!(session, Ok(Some(s)) if s.tenant_id == tenant.id) {
            return true;
        }
    }
    let Some(device) = named(DEVICE_COOKIE) else {
        return false;
    };
    matches!(
        st.directory.is_trusted_browser(&tenant.id, &device).await,
        Ok(true)
    )
}

/// Whether `status` is an answer a request gets without a handler (so without its
/// credential looked at): 404 for a path no route serves, 405 for a method the path does not
/// allow. (A handler's own 404 comes after its credential was checked.)
fn unrouted(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    )
}

/// The layer: the per-address budget of requests without a valid credential (see the module
/// documentation). Requests without a client address (in-process servers) pass.
pub async fn guard(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let (Some(limiter), Some(ip)) = (&st.limiter.addresses, client_addr(req.extensions())) else {
        return next.run(req).await;
    };
    if exempt(req.method(), &path) {
        return next.run(req).await;
    }
    let key = AddrKey::of(ip);
    let site = Site::of(req.extensions());
    let valid = Valid::default();
    req.extensions_mut().insert(valid.clone());
    let refused = |retry_after| {
        let r = Refused {
            limit: Limit::Address,
            retry_after,
        };
        response(&r, &st, &path, &site)
    };
    if !presents_credential(&req, &path) {
        if let Err(retry) = limiter.reserve(key, Instant::now(), Duration::ZERO) {
            tracing::debug!(client = %key, "rate limit: address over its unauthenticated budget");
            return refused(retry);
        }
        let res = next.run(req).await;
        if valid.is_set() {
            limiter.refund(&key);
        }
        return res;
    }
    // Charged before the credential is checked, so that requests in flight at once each see
    // the others' units taken (a slow server must not let more guesses through), and
    // refunded when the credential turns out valid: valid credentials never spend the budget.
    let (over, took) = limiter.take(key, Instant::now());
    // Over the budget, a made-up credential must not buy a run of the handler.
    if let Some(retry) = over {
        let parts = (req.headers(), req.extensions());
        if !genuine_credential(&st, parts, &path, &site).await {
            tracing::debug!(client = %key, "rate limit: address over its budget, credential not genuine");
            return refused(retry);
        }
    }
    let bearer = req.headers().get(AUTHORIZATION).cloned();
    let path_slug = crate::tenancy::path_slug(req.extensions()).map(str::to_string);
    let res = next.run(req).await;
    // A path no route serves, or a method the path does not allow: no handler looked at the
    // bearer token, so it is checked here (a client with a valid token that asks for what
    // does not exist is no guesser, and must not spend its address's budget).
    if !valid.is_set() && unrouted(res.status()) {
        if let Some(bearer) = &bearer {
            let slug = path_slug.as_deref().or(st.root_tenant.as_deref());
            if crate::auth::is_valid_credential(&st, bearer, slug).await {
                valid.set();
            }
        }
    }
    if valid.is_set() {
        if took {
            limiter.refund(&key);
        }
        return res;
    }
    match over {
        Some(retry) => refused(retry),
        None => res,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surfaces_and_exemptions() {
        assert!(under("/scim/v2/Users", "/scim/v2"));
        assert!(under("/api/v1", "/api/v1"));
        assert!(!under("/api/v10", "/api/v1"));
        let get = Method::GET;
        assert!(exempt(&get, "/healthz") && exempt(&get, "/readyz") && exempt(&get, "/metrics"));
        assert!(exempt(&get, "/assets/htmx.min.js") && exempt(&get, "/signin"));
        assert!(exempt(&get, "/favicon.ico"));
        assert!(!exempt(&Method::POST, "/signin"));
        assert!(!exempt(&get, "/scim/v2/Users") && !exempt(&get, "/healthz/x"));
        // A credential counts on its own surface only.
        let req = |path: &str, header: (&str, &str)| {
            let r = Request::builder()
                .uri(path)
                .header(header.0, header.1)
                .body(axum::body::Body::empty())
                .unwrap();
            presents_credential(&r, path)
        };
        let bearer = ("authorization", "Bearer x");
        let session = ("cookie", "scimd_session=x");
        assert!(req("/scim/v2/Users", bearer) && req("/api/v1/users", bearer));
        assert!(!req("/signin", bearer) && !req("/users", bearer));
        assert!(req("/users", session) && !req("/scim/v2/Users", session));
        // At the token endpoint, a client's HTTP Basic id and secret.
        assert!(req("/oauth/token", ("authorization", "Basic eDp5")));
        assert!(!req(
            "/oauth/token",
            ("content-type", "application/x-www-form-urlencoded")
        ));
    }
}
