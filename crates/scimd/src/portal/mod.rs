//! The administrative portal, served under `/` on the same port as SCIM: server-rendered
//! HTML (askama templates compiled into the binary, `templates/portal/`) with small
//! progressive enhancements (htmx 2.0.11 and a few lines of `portal.js`, vendored into the
//! binary and served from `/assets/`). Every page works without JavaScript.
//!
//! Pages are listed in `docs/portal.md`; handlers are in [`pages`]. They call the same
//! [`scimd_directory::Directory`] administrator operations as the admin API.
//!
//! # Security
//!
//! - Sign-in: administrators of the `admins` table (Argon2id passwords, see
//!   [`scimd_directory::admins`]); repeated failures are slowed down and then refused
//!   (counted in the database, so shared by every scimd on it).
//! - Session cookie `scimd_session` (`__Host-scimd_session` when the public URL is HTTPS):
//!   `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` under HTTPS; the database holds only
//!   the SHA-256 of its value; sessions expire after 8 hours.
//! - CSRF: every form carries the session's CSRF token, checked in constant time on every
//!   POST ([`Posted`]): a POST without it, or with a wrong one, is answered 403 and changes
//!   nothing. The sign-in form uses a double-submit cookie (`scimd_signin`).
//! - Every portal response carries `Content-Security-Policy` ([`CSP`]: `default-src 'self'`,
//!   no inline scripts or styles), `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`,
//!   `X-Content-Type-Options: nosniff`; pages are `Cache-Control: no-store` (a token's secret,
//!   shown once after its creation, is never kept by the browser's cache), assets are cached
//!   for a year (their URLs carry the version).

pub mod pages;

use crate::server::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use scimd_directory::admins::{csrf_matches, PortalSession};
use scimd_directory::directory::{Caller, DirectoryError, RequestInfo};
use scimd_directory::store::TokenScope;

/// Name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "scimd_session";
/// Name of the session cookie when the public URL is HTTPS (`__Host-` prefix: the browser
/// accepts it only with `Secure`, `Path=/` and no `Domain`).
pub const SESSION_COOKIE_TLS: &str = "__Host-scimd_session";
/// Name of the sign-in form's double-submit CSRF cookie over plain HTTP.
pub const SIGNIN_COOKIE: &str = "scimd_signin";
/// Name of the sign-in form's CSRF cookie under HTTPS.
pub const SIGNIN_COOKIE_TLS: &str = "__Host-scimd_signin";
/// Largest accepted form body, in bytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The Content-Security-Policy of every portal response: only this origin's scripts,
/// styles, images and connections; no inline script or style, no framing, no plugins.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The version in asset URLs (`/assets/portal.css?v=...`), so a long cache never serves an
/// old file after an upgrade.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

const HTMX_JS: &str = include_str!("../../assets/htmx.min.js");
const HTMX_LICENSE: &str = include_str!("../../assets/htmx.LICENSE");
const PORTAL_JS: &str = include_str!("../../assets/portal.js");
const PORTAL_CSS: &str = include_str!("../../assets/portal.css");

/// The portal's routes (pages, sign-in, assets), with the security headers.
pub fn routes() -> Router<AppState> {
    use pages as p;
    Router::new()
        .route("/", get(p::home))
        .route("/signin", get(p::signin_form).post(p::signin))
        .route("/signout", post(p::signout))
        .route("/dashboard", get(p::dashboard))
        .route("/admin/provisioning", get(p::provisioning))
        .route("/admin/provisioning/tokens", post(p::create_token))
        .route("/admin/provisioning/tokens/revoke", post(p::revoke_token))
        .route(
            "/admin/provisioning/settings",
            get(p::settings_form).post(p::save_settings),
        )
        .route("/admin/provisioning/attributes", post(p::add_attribute))
        .route("/admin/attributes", get(p::attributes))
        .route(
            "/admin/attributes/{name}/delete",
            get(p::attribute_delete_form).post(p::delete_attribute),
        )
        .route("/users", get(p::users).post(p::create_user))
        .route("/users/new", get(p::new_user_form))
        .route("/users/{id}", get(p::user_profile))
        .route("/users/{id}/attributes", get(p::user_attributes))
        .route("/users/{id}/groups", get(p::user_groups))
        .route(
            "/users/{id}/delete",
            get(p::user_delete_form).post(p::delete_user),
        )
        .route("/groups", get(p::groups).post(p::create_group))
        .route("/groups/{id}", get(p::group))
        .route(
            "/groups/{id}/delete",
            get(p::group_delete_form).post(p::delete_group),
        )
        .route("/groups/{id}/members", post(p::add_member))
        .route("/groups/{id}/members/remove", post(p::remove_member))
        .route("/log", get(p::log))
        .route("/log/export", get(p::log_export))
        .route("/assets/{file}", get(asset))
        .layer(from_fn(security_headers))
}

/// Adds the security headers to every portal response (see the module documentation).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
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

// ---------------------------------------------------------------- rendering

/// The frame every page shares: title, navigation, the signed-in administrator, the CSRF
/// token for the sign-out form, breadcrumbs and notices.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The page title (the `<title>` is `<title> · scimd`).
    pub title: String,
    /// Asset version.
    pub version: &'static str,
    /// Whether an administrator is signed in (shows the navigation).
    pub signed_in: bool,
    /// The active navigation entry.
    pub nav: &'static str,
    /// The administrator's username.
    pub username: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// Breadcrumbs (the last one is the current page; an empty `href` is not a link).
    pub crumbs: Vec<Crumb>,
    /// Success messages.
    pub notices: Vec<String>,
}

/// One breadcrumb.
#[derive(Debug, Clone, Default)]
pub struct Crumb {
    /// Text.
    pub label: String,
    /// Link, or empty.
    pub href: String,
}

impl Layout {
    /// A layout for a page nobody needs to be signed in to see.
    pub fn public(title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            version: ASSET_VERSION,
            ..Default::default()
        }
    }

    /// Adds a breadcrumb.
    pub fn crumb(mut self, label: &str, href: &str) -> Layout {
        self.crumbs.push(Crumb {
            label: label.to_string(),
            href: href.to_string(),
        });
        self
    }
}

/// Renders a template as an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => {
            let mut r = Response::new(Body::from(html));
            *r.status_mut() = status;
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "portal template failed");
            let mut r = Response::new(Body::from("the page could not be rendered"));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "portal/error.html")]
pub struct ErrorPage {
    /// Frame.
    pub layout: Layout,
    /// Heading.
    pub heading: String,
    /// What went wrong and what to do.
    pub message: String,
    /// Where to go from here.
    pub back_href: String,
    /// Its text.
    pub back_label: String,
}

/// An error page with `status`; `layout` says whether the navigation shows.
pub fn error_page(
    status: StatusCode,
    mut layout: Layout,
    heading: &str,
    message: &str,
) -> Response {
    layout.title = heading.to_string();
    let (back_href, back_label) = if layout.signed_in {
        ("/dashboard", "Back to the dashboard")
    } else {
        ("/signin", "Sign in")
    };
    render(
        status,
        &ErrorPage {
            layout,
            heading: heading.to_string(),
            message: message.to_string(),
            back_href: back_href.to_string(),
            back_label: back_label.to_string(),
        },
    )
}

/// A `303 See Other` to `to` (after a POST, the browser GETs the result page).
pub fn see_other(to: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

// ---------------------------------------------------------------- cookies and sessions

/// Whether the portal is reached over HTTPS (the public URL's scheme): cookies get `Secure`
/// and `__Host-` names.
pub fn is_secure(st: &AppState) -> bool {
    st.directory
        .base_url()
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` when `secure`;
/// `max_age` seconds (0 deletes the cookie).
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let s = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Adds a `Set-Cookie` header to a response.
pub fn with_cookie(mut r: Response, v: HeaderValue) -> Response {
    r.headers_mut().append(SET_COOKIE, v);
    r
}

/// The name of the session cookie.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SESSION_COOKIE_TLS
    } else {
        SESSION_COOKIE
    }
}

/// The client's address (for sign-in throttling): the TCP peer's IP, `unknown` when the
/// server runs without connection information (in-process tests).
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// A storage failure, as a page.
pub fn server_error(e: DirectoryError, layout: Layout) -> Response {
    tracing::error!(error = %e, "portal request failed");
    crate::metrics::store_error();
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        layout,
        "Something went wrong",
        "The directory could not complete the request because of a storage error. Nothing was changed; try again.",
    )
}

/// A signed-in administrator: extracting it requires a live session cookie. Without one, a
/// GET is redirected to the sign-in page (which returns to the page afterwards); anything
/// else is answered 403.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The session.
    pub session: PortalSession,
}

impl Signed {
    /// The frame of a page for this administrator.
    pub fn layout(&self, title: &str, nav: &'static str) -> Layout {
        Layout {
            title: title.to_string(),
            version: ASSET_VERSION,
            signed_in: true,
            nav,
            username: self.session.username.clone(),
            csrf: self.session.csrf_token.clone(),
            crumbs: vec![],
            notices: vec![],
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.session.tenant_id
    }

    /// The caller recorded in the provisioning log for a change made in the portal: token
    /// name `portal:<username>`, the request's method and path.
    pub fn caller(&self, method: &str, path: &str) -> Caller {
        Caller {
            tenant_id: self.session.tenant_id.clone(),
            token_id: self.session.admin_id.clone(),
            token_name: format!("portal:{}", self.session.username),
            scope: TokenScope::Admin,
            request: RequestInfo {
                method: method.to_string(),
                path: path.to_string(),
            },
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let name = session_cookie_name(is_secure(st));
        let session = match cookie(&parts.headers, name) {
            None => None,
            Some(id) => match st.directory.portal_session(&id).await {
                Ok(s) => s,
                Err(e) => return Err(server_error(e, Layout::public("Error"))),
            },
        };
        if let Some(session) = session {
            return Ok(Signed { session });
        }
        if parts.method == Method::GET || parts.method == Method::HEAD {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/dashboard");
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            return Err(see_other(&format!("/signin?{q}")));
        }
        Err(error_page(
            StatusCode::FORBIDDEN,
            Layout::public("Signed out"),
            "You are not signed in",
            "Your session has ended or you signed out, so the form was not submitted. Sign in and try again.",
        ))
    }
}

/// The fields of a submitted form, in order.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Whether `name` was sent (a checked checkbox).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A form POSTed by a signed-in administrator whose CSRF token (field `csrf`) matches the
/// session's. A missing or wrong token is answered 403 and the handler never runs.
pub struct Posted {
    /// The administrator.
    pub signed: Signed,
    /// The form's fields.
    pub fields: Fields,
    /// The request path (for the provisioning log).
    pub path: String,
}

impl axum::extract::FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let signed = Signed::from_request_parts(&mut parts, st).await?;
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return Err(error_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    signed.layout("Form too large", ""),
                    "The form is too large",
                    "The submitted form is larger than the portal accepts.",
                ))
            }
        };
        let fields = Fields::parse(&bytes);
        if !csrf_matches(&signed.session.csrf_token, fields.get("csrf")) {
            tracing::warn!(admin = %signed.session.username, path = %parts.uri.path(), "portal POST refused: missing or wrong CSRF token");
            return Err(csrf_refused(signed.layout("Request refused", "")));
        }
        Ok(Posted {
            signed,
            fields,
            path: parts.uri.path().to_string(),
        })
    }
}

/// The 403 page of a form without a valid CSRF token.
pub fn csrf_refused(layout: Layout) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        layout,
        "Request refused",
        "The form did not carry a valid security token (CSRF protection), so nothing was changed. Reload the page and submit the form again.",
    )
}

/// Whether `next` is a local path safe to redirect to after sign-in (starts with one `/`).
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/signin")
        && !next.starts_with("/signout")
}

/// The result of a page handler: the page, or an error page (both are responses; the
/// `Result` lets handlers use `?`).
pub type Page = Result<Response, Response>;

/// Converts a ready response into a [`Page`].
#[allow(clippy::result_large_err)] // both variants are responses
pub fn ok(r: impl IntoResponse) -> Page {
    Ok(r.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_parse() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; scimd_session=abc ; b=2"),
        );
        h.append(COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&h, "scimd_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c").as_deref(), Some("3"));
        assert_eq!(cookie(&h, "scimd"), None);
        let v = set_cookie("scimd_session", "x", 60, true);
        let s = v.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Strict") && s.contains("Secure"));
        assert!(!set_cookie("a", "b", 0, false)
            .to_str()
            .unwrap()
            .contains("Secure"));
    }

    #[test]
    fn next_paths() {
        assert!(safe_next("/users?q=a"));
        assert!(!safe_next("//evil.example"));
        assert!(!safe_next("https://evil.example"));
        assert!(!safe_next("/\\evil"));
        assert!(!safe_next("/signin"));
    }

    #[test]
    fn fields() {
        let f = Fields::parse(b"csrf=x&name=a+b&flag=true&name=second");
        assert_eq!(f.get("name"), "a b");
        assert!(f.has("flag"));
        assert_eq!(f.get("missing"), "");
    }
}
