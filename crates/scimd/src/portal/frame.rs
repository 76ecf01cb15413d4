//! The frame of every portal page and the responses pages are made of: the layout
//! (title, navigation, breadcrumbs, notices), template rendering, error pages and redirects.

use askama::Template;
use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use scimd_directory::directory::DirectoryError;

/// The version in asset URLs (`/assets/portal.css?v=...`), so a long cache never serves an
/// old file after an upgrade.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The frame every page shares: title, navigation, the signed-in administrator, the CSRF
/// token for the sign-out form, breadcrumbs and notices.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The page title (the `<title>` is `<title> · scimd`).
    pub title: String,
    /// Asset version.
    pub version: &'static str,
    /// The path prefix of the portal's pages (`""` on the root portal, `/t/SLUG` on a
    /// tenant's; see [`super::Site`]): templates put it before every link and form action
    /// (assets are the same for every portal and stay at the root).
    pub prefix: String,
    /// The tenant's name on a tenant's portal (shown beside the brand and on the sign-in
    /// page); empty on the root portal.
    pub tenant: String,
    /// Whether this is the operator portal (its own navigation: Tenants, Audit).
    pub operator: bool,
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
    /// A layout for a page of the portal `site` nobody needs to be signed in to see.
    pub fn public(site: &super::Site, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            version: ASSET_VERSION,
            prefix: site.prefix(),
            tenant: site.name.clone().unwrap_or_default(),
            operator: site.operator,
            ..Default::default()
        }
    }

    /// Adds a breadcrumb (`href` a path of the portal without its prefix, or empty).
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
    /// Where to go from here (a path of the portal without its prefix; empty: nowhere).
    pub back_href: String,
    /// Its text.
    pub back_label: String,
}

/// An error page with `status`; `layout` says whether the navigation shows (and the page
/// links back to the dashboard, else to the sign-in page).
pub fn error_page(
    status: StatusCode,
    mut layout: Layout,
    heading: &str,
    message: &str,
) -> Response {
    layout.title = heading.to_string();
    let (back_href, back_label) = if layout.signed_in && layout.operator {
        ("/tenants", "Back to the tenants")
    } else if layout.signed_in {
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

/// A `303 See Other` to `to` (after a POST, the browser GETs the result page): a path of
/// the portal without its prefix, which [`crate::tenancy::resolve`] puts before it on a
/// tenant's portal.
pub fn see_other(to: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// A directory error as a page with its status: a client's mistake (4xx) says what is
/// wrong and what to do; a store failure (5xx, logged when it happened) says that nothing
/// changed, and a 500 counts in `scimd_store_errors_total` as on the other surfaces.
pub fn directory_error(e: DirectoryError, layout: Layout, heading: &str) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        crate::metrics::store_error();
    }
    error_page(status, layout, heading, &e.message())
}

/// A directory error that interrupted a page: [`directory_error`] headed "Something went
/// wrong".
pub fn server_error(e: DirectoryError, layout: Layout) -> Response {
    directory_error(e, layout, "Something went wrong")
}

/// The result of a page handler: the page, or an error page (both are responses; the
/// `Result` lets handlers use `?`).
pub type Page = Result<Response, Response>;

/// Converts a ready response into a [`Page`].
#[allow(clippy::result_large_err)] // both variants are responses
pub fn ok(r: impl IntoResponse) -> Page {
    Ok(r.into_response())
}

/// The page of a request a rate limit refused (429; see [`crate::rate`]) on the portal
/// `site`: `message` says which limit and when to try again.
pub fn too_many_requests(site: &super::Site, message: &str) -> Response {
    refused_page(
        StatusCode::TOO_MANY_REQUESTS,
        site,
        "Too many requests",
        message,
    )
}

/// The page of a request a layer answered before the portal's router (a rate limit's 429,
/// a body deadline's 408, a time limit's 503) on the portal `site`: `heading` and `message`,
/// a link to sign in, and the portal's security headers (which the router's layer never
/// adds to it).
pub fn refused_page(
    status: StatusCode,
    site: &super::Site,
    heading: &str,
    message: &str,
) -> Response {
    super::with_security_headers(error_page(
        status,
        Layout::public(site, heading),
        heading,
        message,
    ))
}

/// The page of a portal that is not served (see [`crate::tenancy::resolve`]): 404 for a
/// tenant that does not exist or is being deleted (and the root portal under
/// `--root-tenant none`), 403 for a disabled tenant; `message` says which. It links
/// nowhere: no page of that portal would answer.
pub fn unavailable(status: StatusCode, heading: &str, message: &str) -> Response {
    let page = render(
        status,
        &ErrorPage {
            layout: Layout {
                title: heading.to_string(),
                version: ASSET_VERSION,
                ..Default::default()
            },
            heading: heading.to_string(),
            message: message.to_string(),
            back_href: String::new(),
            back_label: String::new(),
        },
    );
    super::with_security_headers(page)
}
