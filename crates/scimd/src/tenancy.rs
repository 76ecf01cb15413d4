//! Which tenant a request is for (issue 15): its path says.
//!
//! - `/t/SLUG/scim/v2/...`, `/t/SLUG/api/v1/...` and `/t/SLUG/oauth/...` are the tenant
//!   `SLUG`'s SCIM base, admin API and token endpoint, and the other paths under `/t/SLUG/`
//!   its portal (`/t/SLUG/` itself, `/t/SLUG/signin`, `/t/SLUG/users` ...). The path is
//!   rewritten without the `/t/SLUG` prefix before routing, so one router serves every
//!   tenant; the prefix is kept in the request's [`RequestTenant`].
//! - `/scim/v2`, `/api/v1`, `/oauth/...` and the portal at `/` serve the *root tenant*
//!   (`--root-tenant SLUG`, by default the one first start created, `default`); with
//!   `--root-tenant none` they answer 404.
//! - `/api/v1/tenants...`, the operator API, is served only at the root, whatever
//!   `--root-tenant` says, to operator tokens ([`scimd_directory::operators`]); under
//!   `/t/SLUG` it answers 404.
//! - `/operator/...` is the operator portal (the operator realm's, [`scimd_directory::operators`]):
//!   only its sign-in, sign-out, password change, tenants pages and audit record
//!   ([`OPERATOR_PAGES`]) are rewritten to the portal's paths (prefix `/operator`); its other
//!   paths answer 404, and so do the tenants pages (`/tenants...`) on every other portal.
//!   Before the first `scimd operator create` it answers 404 with a page that says so.
//! - `/healthz`, `/readyz` and `/metrics` belong to the deployment, and the portal's assets
//!   (`/assets/...`, `/favicon.ico`) are every portal's: they are served at the root only
//!   (also under `--root-tenant none`), never under `/t/SLUG`.
//!
//! The portal of a tenant's path puts its prefix before its links and form actions
//! ([`crate::portal::Site`]); its redirects are relative to it (`/dashboard`), and [`resolve`]
//! puts the prefix before their `Location`. Its cookies are named for the tenant
//! ([`crate::portal::CookieName::at`]), and a session is good only on the portal of its own
//! tenant.
//!
//! A slug no tenant has, or a tenant being deleted: 404. A disabled tenant: 403 with a
//! detail that says so; nothing of it is lost. Both are answered before authentication,
//! so an unknown slug is never counted as a refused authentication.
//!
//! For a request on a tenant's path, [`route`] sets the SCIM base URL of what is rendered
//! (`meta.location`, `$ref`, `Location`) to `<public-url>/t/SLUG/scim/v2`
//! ([`scimd_directory::directory::with_scim_base`]) and puts the prefix before the admin
//! API's relative `Location` headers. Authentication then refuses (401) a credential of
//! another tenant than the path's ([`crate::auth`]).

use crate::admin::{AdminError, BASE as ADMIN_BASE};
use crate::errors::{error_response, under};
use crate::state::{AppState, SCIM_BASE};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_proto::ScimError;
use scimd_directory::directory::with_scim_base;
use scimd_directory::store::{TenantRow, TenantState};
use scimd_directory::tenants::check_slug;

/// The first segment of a tenant's paths: `/t/SLUG/...`.
pub const TENANT_PATHS: &str = "/t/";

/// The URLs a tenant's customer is given (`{public-url}/t/SLUG/...`): what `scimd tenant
/// create`, the operator API and the operator portal print for a new tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUrls {
    /// The SCIM Tenant URL (`.../t/SLUG/scim/v2`), for the identity provider.
    pub scim: String,
    /// The OAuth 2.0 token endpoint (`.../t/SLUG/oauth/token`).
    pub token: String,
    /// The tenant's portal (`.../t/SLUG/`).
    pub portal: String,
}

impl TenantUrls {
    /// The URLs of tenant `slug` on `public_url` (no trailing slash).
    pub fn of(public_url: &str, slug: &str) -> TenantUrls {
        let prefix = format!("{public_url}{TENANT_PATHS}{slug}");
        TenantUrls {
            scim: format!("{prefix}{SCIM_BASE}"),
            token: format!("{prefix}{}", crate::oauth::TOKEN_PATH),
            portal: format!("{prefix}/"),
        }
    }
}

/// The token endpoint's path prefix.
const OAUTH: &str = "/oauth/";

/// The tenant a request on the SCIM, admin API or token endpoint paths is for (a request
/// extension, set by [`route`]).
#[derive(Debug, Clone)]
pub struct RequestTenant {
    /// The tenant (active).
    pub tenant: TenantRow,
    /// The path prefix the request came in on: `""` on the root paths, `/t/SLUG` on the
    /// tenant's own.
    pub prefix: String,
    /// The request's path as the client sent it (with the prefix), for the change records.
    pub path: String,
}

/// Which surface a path (without prefix) is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    Scim,
    Admin,
    OAuth,
}

fn surface_of(path: &str) -> Option<Surface> {
    if under(path, SCIM_BASE) {
        Some(Surface::Scim)
    } else if under(path, ADMIN_BASE) {
        Some(Surface::Admin)
    } else if path.starts_with(OAUTH) {
        Some(Surface::OAuth)
    } else {
        None
    }
}

/// The operator API's paths (`/api/v1/tenants...`): served only at the root, for the
/// operator realm ([`scimd_directory::operators`]), whatever `--root-tenant` says.
pub const OPERATOR_API: &str = "/api/v1/tenants";

/// Whether `path` (without prefix) is the operator API's.
fn operator_path(path: &str) -> bool {
    under(path, OPERATOR_API)
}

/// The paths that belong to the deployment, not to a tenant.
fn deployment_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The portal's assets: the same for every tenant's portal, served at the root only.
fn asset_path(path: &str) -> bool {
    path.starts_with("/assets/") || path == "/favicon.ico"
}

/// The operator portal's prefix (issue 15): at the root only, never a tenant's.
pub const OPERATOR: &str = "/operator";

/// The operator portal's pages (their paths without the prefix; a page and what is under
/// it): sign-in, sign-out, the password change, the tenants pages and the audit record of
/// operator actions. Any other path under `/operator` answers 404.
pub const OPERATOR_PAGES: [&str; 6] = [
    "/signin",
    "/signout",
    "/account/password",
    TENANTS_PAGES,
    "/audit",
    "/audit/export",
];

/// The tenants pages: served only on the operator portal.
pub const TENANTS_PAGES: &str = "/tenants";

/// The operator portal's path without its prefix (`/operator/tenants` → `/tenants`,
/// `/operator` → `/`), when it is one of its pages; `None` for other paths.
fn operator_page(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(OPERATOR)?;
    if rest.is_empty() || rest == "/" {
        return Some("/");
    }
    OPERATOR_PAGES
        .iter()
        .any(|p| under(rest, p))
        .then_some(rest)
}

/// Whether `rest` (a path under `/t/SLUG`) is the tenant's portal: what is not one of its
/// API surfaces, the deployment's paths, the assets or the operator's pages (those stay
/// unrewritten under `/t/`, so routing answers 404).
fn portal_path(rest: &str) -> bool {
    !deployment_path(rest) && !asset_path(rest) && !under(rest, OPERATOR)
}

/// `/t/SLUG/REST` split into `(SLUG, /REST)`; `None` when the path is not under `/t/`.
fn split_tenant_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(TENANT_PATHS)?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    })
}

/// The error of `status` with `detail` in the body of `surface`.
fn refuse(surface: Option<Surface>, status: u16, detail: String) -> Response {
    match surface {
        Some(Surface::Admin) => AdminError::new(status, detail).into_response(),
        Some(Surface::Scim) | Some(Surface::OAuth) => {
            error_response(&ScimError::new(status, None, detail))
        }
        // The portal: a page that says so.
        None if status == 403 => {
            crate::portal::unavailable(StatusCode::FORBIDDEN, "This tenant is disabled", &detail)
        }
        None if status == 404 => {
            crate::portal::unavailable(StatusCode::NOT_FOUND, "Not found", &detail)
        }
        None => {
            let mut res = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
                format!("{detail}\n"),
            )
                .into_response();
            res.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
    }
}

/// What the path of a request says of its tenant, found before routing by [`route`].
#[derive(Debug, Clone)]
struct PathTenant {
    /// The slug of `/t/SLUG/...` (the operator realm's on `/operator/...`).
    slug: String,
    /// Whether the request is for the operator portal, `/operator/...`.
    operator: bool,
    /// The path as the client sent it.
    original: String,
}

/// Outermost middleware (runs before routing): rewrites `/t/SLUG/<surface>...` (SCIM, admin
/// API, token endpoint; a syntactically valid slug) to `/<surface>...`, and the other paths
/// of its portal `/t/SLUG/<page>` to `/<page>` (`/t/SLUG` to `/`), and keeps what it
/// removed for [`resolve`]; the operator portal's pages `/operator/<page>` to `/<page>`
/// ([`OPERATOR_PAGES`]). Any other path is left as it is (under `/t/` and `/operator`,
/// routing answers 404).
pub async fn route(mut req: Request, next: Next) -> Response {
    let original = req.uri().path().to_string();
    let found = if let Some(rest) = operator_page(&original) {
        let slug = scimd_directory::operators::OPERATOR_SLUG;
        Some((rest, slug, true))
    } else {
        split_tenant_path(&original)
            .filter(|(slug, rest)| {
                (surface_of(rest).is_some() || portal_path(rest)) && check_slug(slug).is_ok()
            })
            .map(|(slug, rest)| (if rest.is_empty() { "/" } else { rest }, slug, false))
    };
    if let Some((rest, slug, operator)) = found {
        let rewritten = match req.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        if let Ok(u) = rewritten.parse::<Uri>() {
            let tenant = PathTenant {
                slug: slug.to_string(),
                operator,
                original: original.clone(),
            };
            *req.uri_mut() = u;
            req.extensions_mut().insert(tenant);
        }
    }
    next.run(req).await
}

/// Route middleware (after the rate limits, before the handlers): resolves the request's
/// tenant (see the module documentation), answers 404 or 403 for one that is not served,
/// and runs the request with its [`RequestTenant`] and SCIM base URL.
pub async fn resolve(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    // The deployment's own paths, the portal's assets (every portal's), and paths no route
    // serves (their 404 needs no tenant: junk paths cost no lookup).
    if deployment_path(&path)
        || asset_path(&path)
        || req.extensions().get::<MatchedPath>().is_none()
    {
        return next.run(req).await;
    }
    let surface = surface_of(&path);
    if operator_path(&path) {
        return operator(req, next).await;
    }
    let on_operator_portal = req
        .extensions()
        .get::<PathTenant>()
        .is_some_and(|p| p.operator);
    if on_operator_portal {
        return operator_portal(st, req, next).await;
    }
    if under(&path, TENANTS_PAGES) {
        let detail = format!(
            "no page {}: the tenants are managed on the operator portal, {OPERATOR}/",
            req.uri().path()
        );
        return refuse(None, 404, detail);
    }
    let (slug, prefix, original) = match req.extensions().get::<PathTenant>() {
        Some(p) => (
            Some(p.slug.clone()),
            format!("/t/{}", p.slug),
            p.original.clone(),
        ),
        None => (st.root_tenant.clone(), String::new(), path.clone()),
    };
    let Some(slug) = slug else {
        // `--root-tenant none`: the root paths serve no tenant.
        let detail =
            format!(
            "no endpoint {} {original}: this server serves each tenant on its own paths, /t/SLUG{}",
            req.method(),
            if surface.is_some() { path.as_str() } else { "/..." }
        );
        return refuse(surface, 404, detail);
    };
    let tenant = match st.directory.resolve_tenant(&slug).await {
        Ok(t) => t,
        // The store is failing: on the root paths the request goes on as before tenants
        // (what needs the store fails there with its own error; what does not, the static
        // discovery documents, still answers); on a tenant's path it cannot be served.
        Err(e) if prefix.is_empty() => {
            tracing::warn!(error = %e, "the root tenant could not be looked up");
            return next.run(req).await;
        }
        Err(e) => return crate::errors::ApiError::from(e).into_response(),
    };
    let tenant = match tenant {
        Some(t) if t.state == TenantState::Active => t,
        Some(t) if t.state == TenantState::Disabled => {
            let detail = format!(
                "the tenant '{}' is disabled: its SCIM endpoints, admin API and portal answer 403 until the operator of this server enables it again; nothing of it was lost",
                t.slug
            );
            return refuse(surface, 403, detail);
        }
        _ if prefix.is_empty() => {
            let detail = format!(
                "the root tenant '{slug}' (--root-tenant) does not exist or is being deleted"
            );
            return refuse(surface, 404, detail);
        }
        _ => return refuse(surface, 404, format!("no tenant at {TENANT_PATHS}{slug}")),
    };
    req.extensions_mut().insert(RequestTenant {
        tenant,
        prefix: prefix.clone(),
        path: original,
    });
    if surface.is_none() {
        // The portal: its redirects are to its own paths, relative to its prefix.
        let mut res = next.run(req).await;
        if !prefix.is_empty() {
            prefix_location(&mut res, &prefix);
        }
        return res;
    }
    let base = format!("{}{prefix}{SCIM_BASE}", st.public_url());
    let mut res = with_scim_base(base, next.run(req)).await;
    if !prefix.is_empty() {
        prefix_location(&mut res, &prefix);
    }
    res
}

/// A request on the operator API's paths: at the root, runs without a tenant (operator
/// tokens are checked by their scope, [`crate::admin::request::Operator`]; no store lookup
/// before authentication); on a tenant's path, 404.
async fn operator(req: Request, next: Next) -> Response {
    if let Some(p) = req.extensions().get::<PathTenant>() {
        let detail = format!(
            "no endpoint {} {}: the operator API is served only at the root, {OPERATOR_API}",
            req.method(),
            p.original
        );
        return refuse(Some(Surface::Admin), 404, detail);
    }
    next.run(req).await
}

/// A request for the operator portal (`/operator/...`, rewritten by [`route`]): served as
/// the operator realm's portal, prefix `/operator`; 404 before the realm has an operator.
/// (Its pages send a signed-in operator to the tenants page, [`crate::portal::Site::home`].)
async fn operator_portal(st: AppState, mut req: Request, next: Next) -> Response {
    let realm = match st.directory.operator_realm().await {
        Ok(Some(realm)) => realm,
        Ok(None) => {
            let detail = "there is no operator yet: create one with `scimd operator create USERNAME`, which prints the password to sign in with here";
            return refuse(None, 404, detail.to_string());
        }
        Err(e) => return crate::errors::ApiError::from(e).into_response(),
    };
    let original = req
        .extensions()
        .get::<PathTenant>()
        .map(|p| p.original.clone())
        .unwrap_or_default();
    req.extensions_mut().insert(RequestTenant {
        tenant: realm,
        prefix: OPERATOR.to_string(),
        path: original,
    });
    let mut res = next.run(req).await;
    prefix_location(&mut res, OPERATOR);
    res
}

/// Puts `prefix` before a `Location` that is a path of this server (the admin API's are
/// relative: `/api/v1/users/ID`).
fn prefix_location(res: &mut Response, prefix: &str) {
    let Some(loc) = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    if loc.starts_with('/') && !loc.starts_with("//") {
        if let Ok(v) = HeaderValue::from_str(&format!("{prefix}{loc}")) {
            res.headers_mut().insert(LOCATION, v);
        }
    }
}

/// The slug of the tenant's path (`/t/SLUG/...`) a request came in on, found by [`route`]
/// before any lookup (the operator realm's, `operator`, on the operator portal); `None` on
/// the root paths.
pub fn path_slug(extensions: &axum::http::Extensions) -> Option<&str> {
    extensions.get::<PathTenant>().map(|p| p.slug.as_str())
}

/// Whether a request came in on the operator portal, `/operator/...` (see [`route`]).
pub fn on_operator_portal(extensions: &axum::http::Extensions) -> bool {
    extensions.get::<PathTenant>().is_some_and(|p| p.operator)
}

/// The tenant of a request, when it is on a tenant's paths (see [`route`]).
pub fn of(extensions: &axum::http::Extensions) -> Option<&RequestTenant> {
    extensions.get::<RequestTenant>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_slug_and_rest() {
        assert_eq!(
            split_tenant_path("/t/acme/scim/v2/Users"),
            Some(("acme", "/scim/v2/Users"))
        );
        assert_eq!(split_tenant_path("/t/acme"), Some(("acme", "")));
        assert_eq!(split_tenant_path("/scim/v2/Users"), None);
        assert!(portal_path("/users") && portal_path("") && portal_path("/"));
        assert!(!portal_path("/assets/portal.css") && !portal_path("/favicon.ico"));
        assert!(!portal_path("/healthz") && !portal_path("/metrics"));
        assert!(!portal_path("/operator") && !portal_path("/operator/tenants"));
        assert!(portal_path("/operators"));
        for (path, page) in [
            ("/operator", Some("/")),
            ("/operator/", Some("/")),
            ("/operator/tenants", Some("/tenants")),
            (
                "/operator/tenants/acme/delete",
                Some("/tenants/acme/delete"),
            ),
            ("/operator/signin", Some("/signin")),
            ("/operator/users", None),
            ("/operator/dashboard", None),
            ("/operator/scim/v2/Users", None),
            ("/operators", None),
            ("/operator/tenantsx", None),
        ] {
            assert_eq!(operator_page(path), page, "{path}");
        }
        assert_eq!(surface_of("/scim/v2"), Some(Surface::Scim));
        assert_eq!(surface_of("/scim/v2x"), None);
        assert_eq!(surface_of("/api/v1/users"), Some(Surface::Admin));
        assert_eq!(surface_of("/oauth/token"), Some(Surface::OAuth));
        assert_eq!(surface_of("/users"), None);
    }
}
