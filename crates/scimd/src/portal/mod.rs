//! The administrative portal, served under `/` (the root tenant's) and under `/t/SLUG/` (the
//! tenant `SLUG`'s; see [`Site`] and [`crate::tenancy`]) on the same port as SCIM: server-rendered
//! HTML (askama templates compiled into the binary, `templates/portal/`) with small
//! progressive enhancements (htmx 2.0.11 and a few lines of `portal.js`, vendored into the
//! binary and served from `/assets/`). Every page works without JavaScript.
//!
//! The operator portal, `/operator/`, is the operator realm's: its operators (`scimd operator
//! create`) sign in there and manage the tenants ([`pages::tenants`]); only its sign-in,
//! password, tenants and audit pages are served there, and the tenants pages nowhere else
//! ([`crate::tenancy`]).
//!
//! Pages are listed in `docs/portal.md`; handlers are in [`pages`], one module per page
//! family; the frame every page shares is `frame.rs`, sessions and CSRF `session.rs`. They call the same
//! [`scimd_directory::Directory`] administrator operations as the admin API.
//!
//! # Security
//!
//! - Sign-in: administrators of the `admins` table (Argon2id passwords, see
//!   [`scimd_directory::admins`]); repeated failures are slowed down and then refused
//!   (counted in the database, so shared by every scimd on it).
//! - Session cookie `scimd_session` (`__Host-scimd_session` when the public URL is HTTPS):
//!   `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` under HTTPS; the database holds only
//!   the SHA-256 of its value; sessions expire after 8 hours. On a tenant's portal every
//!   cookie name ends with `_SLUG` ([`CookieName::at`]), and a session is accepted only on
//!   the portal of its own tenant ([`Signed`]).
//! - CSRF: every form carries the session's CSRF token, checked in constant time on every
//!   POST ([`Posted`]): a POST without it, or with a wrong one, is answered 403 and changes
//!   nothing. The sign-in form uses a double-submit cookie (`scimd_signin`).
//! - Every portal response carries `Content-Security-Policy` ([`CSP`]: `default-src 'self'`,
//!   no inline scripts or styles), `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`,
//!   `X-Content-Type-Options: nosniff`; pages are `Cache-Control: no-store` (a token's secret,
//!   shown once after its creation, is never kept by the browser's cache), assets are cached
//!   for a year (their URLs carry the version).

mod frame;
pub mod pages;
mod session;

pub use frame::{refused_page, too_many_requests, unavailable, Layout, ASSET_VERSION};
pub use session::{
    cookie, CookieName, Fields, Posted, Signed, Site, DEVICE_COOKIE, MAX_FORM_BYTES,
    SESSION_COOKIE, SIGNIN_COOKIE,
};

use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};

/// The Content-Security-Policy of every portal response: only this origin's scripts,
/// styles, images and connections; no inline script or style, no framing, no plugins.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

const HTMX_JS: &str = include_str!("../../assets/htmx.min.js");
const HTMX_LICENSE: &str = include_str!("../../assets/htmx.LICENSE");
const PORTAL_JS: &str = include_str!("../../assets/portal.js");
const PORTAL_CSS: &str = include_str!("../../assets/portal.css");
/// The portal's icon: a 16×16 32-bit ICO of 1,150 bytes, embedded in the binary.
const FAVICON: &[u8] = include_bytes!("../../assets/favicon.ico");

/// The portal's routes (pages, sign-in, assets), with the security headers.
pub fn routes() -> Router<AppState> {
    use pages::users::{self, Deletion, UserTab};
    use pages::{
        account, attributes, audit, dashboard, groups, history, log, provisioning, settings,
        signin, tenants,
    };
    use scimd_directory::audit::ResourceType;
    // User Provisioning (Admin > Identity) and the forms it posts.
    const PROVISIONING: &str = "/admin/provisioning";
    let prov = |sub: &str| format!("{PROVISIONING}{sub}");
    // A user's page, one route a tab.
    let tabs = [
        ("/users/{id}", UserTab::Profile),
        ("/users/{id}/attributes", UserTab::Attributes),
        ("/users/{id}/groups", UserTab::Groups),
    ];
    let router = tabs.into_iter().fold(Router::new(), |r, (path, tab)| {
        r.route(path, get(users::user).layer(Extension(tab)))
    });
    // The History tab of users and groups.
    let histories = [
        ("/users/{id}/history", ResourceType::User),
        ("/groups/{id}/history", ResourceType::Group),
    ];
    let router = histories.into_iter().fold(router, |r, (path, of)| {
        r.route(path, get(history::history).layer(Extension(of)))
    });
    // A user's two deletions: the confirmation page (told which) and the deletion it posts.
    let deletions = [
        (
            "/users/{id}/delete",
            Deletion::Permanent,
            post(users::delete_user),
        ),
        (
            "/users/{id}/soft-delete",
            Deletion::Soft,
            post(users::soft_delete),
        ),
    ];
    let router = deletions
        .into_iter()
        .fold(router, |r, (path, how, delete)| {
            let confirm = get(users::user_delete_form).layer(Extension(how));
            r.route(path, confirm.merge(delete))
        });
    router
        .route("/", get(signin::home))
        .route("/signin", get(signin::signin_form).post(signin::signin))
        .route("/signout", post(signin::signout))
        .route(
            account::PASSWORD_PATH,
            get(account::password_form).post(account::change_password),
        )
        .route("/dashboard", get(dashboard::dashboard))
        .route(PROVISIONING, get(provisioning::provisioning))
        .route(&prov("/tokens"), post(provisioning::create_token))
        .route(&prov("/tokens/revoke"), post(provisioning::revoke_token))
        .route(&prov("/clients"), post(provisioning::create_client))
        .route(&prov("/clients/revoke"), post(provisioning::revoke_client))
        .route(
            &prov("/settings"),
            get(settings::settings_form).post(settings::save_settings),
        )
        .route(&prov("/attributes"), post(settings::add_attribute))
        .route("/admin/attributes", get(attributes::attributes))
        .route(
            "/admin/attributes/{name}/delete",
            get(attributes::attribute_delete_form).post(attributes::delete_attribute),
        )
        .route("/users", get(users::users).post(users::create_user))
        .route("/users/new", get(users::new_user_form))
        .route("/users/{id}/edit", post(users::update_user))
        .route("/users/{id}/active", post(users::set_active))
        .route("/groups", get(groups::groups).post(groups::create_group))
        .route("/groups/{id}", get(groups::group))
        .route(
            "/groups/{id}/delete",
            get(groups::group_delete_form).post(groups::delete_group),
        )
        .route("/groups/{id}/rename", post(groups::rename_group))
        .route("/groups/{id}/members", post(groups::add_member))
        .route("/groups/{id}/members/remove", post(groups::remove_member))
        .route("/log", get(log::log))
        .route("/log/export", get(log::log_export))
        .route("/audit", get(audit::audit))
        .route("/audit/export", get(audit::audit_export))
        .route(
            "/tenants",
            get(tenants::tenants).post(tenants::create_tenant),
        )
        .route("/tenants/{slug}/state", post(tenants::set_state))
        .route(
            "/tenants/{slug}/delete",
            get(tenants::delete_form).post(tenants::delete_tenant),
        )
        .route("/assets/{file}", get(asset))
        .route("/favicon.ico", get(favicon))
        .layer(from_fn(security_headers))
}

/// Adds the security headers to every portal response (see the module documentation).
pub async fn security_headers(req: Request, next: Next) -> Response {
    with_security_headers(next.run(req).await)
}

/// `res` with the portal's security headers (CSP, `X-Frame-Options: DENY`, referrer policy,
/// `nosniff`, COOP, and `Cache-Control: no-store` unless it has its own): for every portal
/// page, those rendered outside the portal's router too (the rate limit's 429 page, the page
/// of a tenant that is not served).
pub fn with_security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// `GET /favicon.ico`: the portal's icon (`image/x-icon`; every page links it), cached for a
/// day (its URL carries no version).
async fn favicon() -> Response {
    let mut r = Response::new(Body::from(FAVICON));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("image/x-icon"));
    r.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

/// `GET /assets/{file}`: the vendored htmx, its license, the portal's script and style.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "htmx.min.js" => (HTMX_JS, "text/javascript; charset=utf-8"),
        "htmx.LICENSE" => (HTMX_LICENSE, "text/plain; charset=utf-8"),
        "portal.js" => (PORTAL_JS, "text/javascript; charset=utf-8"),
        "portal.css" => (PORTAL_CSS, "text/css; charset=utf-8"),
        _ => {
            let mut r = Response::new(Body::from("no such asset"));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return r;
        }
    };
    let mut r = Response::new(Body::from(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ty));
    r.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}
