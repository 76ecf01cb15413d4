//! Who is signed in: the session and sign-in cookies, the [`Signed`] administrator a page
//! needs, and the CSRF-checked [`Posted`] form every change goes through.

use super::frame::{error_page, see_other, server_error, too_many_requests, Layout, ASSET_VERSION};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use scimd_directory::admins::{csrf_matches, PortalSession};
use scimd_directory::directory::{Origin, RequestInfo};

/// A cookie's two names: over plain HTTP, and when the public URL is HTTPS, with the
/// `__Host-` prefix (the browser accepts it only with `Secure`, `Path=/` and no `Domain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieName {
    /// The name over plain HTTP.
    pub plain: &'static str,
    /// The name under HTTPS.
    pub tls: &'static str,
}

impl CookieName {
    /// The name to use on the root portal: [`CookieName::tls`] when `secure` (see
    /// [`is_secure`]).
    pub fn of(self, secure: bool) -> &'static str {
        if secure {
            self.tls
        } else {
            self.plain
        }
    }

    /// The name to use on the portal of `site`: on the root portal [`CookieName::of`]; on a
    /// tenant's own path that name and `_SLUG` (`scimd_session_acme`,
    /// `__Host-scimd_session_acme`), so that a browser keeps one session a tenant and a
    /// cookie of one tenant is never sent as another's. (`__Host-` cookies need `Path=/`:
    /// the names, not the paths, tell the tenants apart.)
    pub fn at(self, site: &Site, secure: bool) -> String {
        match &site.slug {
            None => self.of(secure).to_string(),
            Some(slug) => format!("{}_{slug}", self.of(secure)),
        }
    }
}

/// Which portal a request is for: the root portal at `/` (the root tenant's) or the portal
/// of the tenant `SLUG` on its own path, `/t/SLUG/` (see [`crate::tenancy`]). Links and
/// form actions carry its [`Site::prefix`]; redirects get it from [`crate::tenancy::resolve`]
/// (handlers redirect to paths without it); cookie names are [`CookieName::at`] it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// The slug of `/t/SLUG/`; `None` on the root portal.
    pub slug: Option<String>,
    /// The tenant's name on its own path, once [`crate::tenancy::resolve`] found it (pages
    /// show it, so that an administrator signed in to several tenants sees which one a tab
    /// is); `None` on the root portal, whose pages stay as they were before tenants, and on
    /// the operator portal.
    pub name: Option<String>,
    /// Whether this is the operator portal, `/operator/` (slug `operator`, the operator
    /// realm's: its cookies are `scimd_session_operator` ...).
    pub operator: bool,
}

impl Site {
    /// The page a signed-in administrator lands on (after sign-in, after changing a
    /// generated password, at `/`): the dashboard; on the operator portal, which has none,
    /// the tenants page.
    pub fn home(&self) -> &'static str {
        if self.operator {
            crate::tenancy::TENANTS_PAGES
        } else {
            "/dashboard"
        }
    }

    /// The portal a request came in on (what [`crate::tenancy::route`] found in its path).
    pub fn of(extensions: &axum::http::Extensions) -> Site {
        let slug = crate::tenancy::path_slug(extensions).map(str::to_string);
        let operator = crate::tenancy::on_operator_portal(extensions);
        let name = crate::tenancy::of(extensions)
            .filter(|t| slug.is_some() && !t.prefix.is_empty() && !operator)
            .map(|t| t.tenant.name.clone());
        Site {
            slug,
            name,
            operator,
        }
    }

    /// The path prefix of its pages: `""` on the root portal, `/t/SLUG` on a tenant's,
    /// `/operator` on the operator portal.
    pub fn prefix(&self) -> String {
        if self.operator {
            return crate::tenancy::OPERATOR.to_string();
        }
        match &self.slug {
            None => String::new(),
            Some(slug) => format!("{}{slug}", crate::tenancy::TENANT_PATHS),
        }
    }

    /// The URL of `path` (`/scim/v2`, `/oauth/token`) on this portal's tenant's paths:
    /// `<public-url><prefix><path>`, what the tenant gives its identity provider.
    pub fn url(&self, st: &AppState, path: &str) -> String {
        format!("{}{}{path}", st.public_url(), self.prefix())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Site {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Site::of(&parts.extensions))
    }
}

/// The session cookie.
pub const SESSION_COOKIE: CookieName = CookieName {
    plain: "scimd_session",
    tls: "__Host-scimd_session",
};
/// The sign-in form's double-submit CSRF cookie.
pub const SIGNIN_COOKIE: CookieName = CookieName {
    plain: "scimd_signin",
    tls: "__Host-scimd_signin",
};
/// The trusted-browser cookie (see [`scimd_directory::signin_throttle`]).
pub const DEVICE_COOKIE: CookieName = CookieName {
    plain: "scimd_device",
    tls: "__Host-scimd_device",
};
/// How long a browser stays trusted after its last sign-in, in seconds (400 days, the
/// longest browsers keep a cookie).
pub const DEVICE_COOKIE_SECS: i64 = 400 * 24 * 3600;
/// Largest accepted form body, in bytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Whether the portal is reached over HTTPS (the public URL's scheme): cookies get `Secure`
/// and `__Host-` names.
pub fn is_secure(st: &AppState) -> bool {
    st.https()
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

/// The key the client's address is throttled under (an IPv4 address or an IPv6 /64, see
/// [`crate::net::client`]); `unknown` when the server runs without connection information.
pub fn client_address(parts: &Parts) -> String {
    crate::net::client::client_key(&parts.extensions)
}

/// A signed-in administrator: extracting it requires a live session cookie. Without one, a
/// GET is redirected to the sign-in page (which returns to the page afterwards); anything
/// else is answered 403.
///
/// An administrator whose password was generated by scimd must change it first: until
/// then every page but the password page and signing out redirects there (a GET) or is
/// refused with 403 (anything else).
#[derive(Debug, Clone)]
pub struct Signed {
    /// The session.
    pub session: PortalSession,
    /// The session id (the cookie's value).
    pub id: String,
    /// The portal it is signed in to (the request's).
    pub site: Site,
}

/// Paths an administrator who must change the password may still use.
const BEFORE_PASSWORD_CHANGE: [&str; 2] = ["/account/password", "/signout"];

/// The menu heading a menu entry (`Layout::nav`) stands under, as `templates/portal/base.html`
/// groups them (the product's Admin > Identity and Admin > System paths); `None` for the
/// entries under no heading (the dashboard) and for pages of no entry.
pub fn menu_heading(nav: &str) -> Option<&'static str> {
    match nav {
        "provisioning" | "users" | "groups" | "log" => Some("Identity"),
        "attributes" | "settings" | "tokens" | "audit" => Some("System"),
        _ => None,
    }
}

impl Signed {
    /// The frame of a page of the menu entry `nav`, its breadcrumbs started with the path to
    /// that entry: Admin, then its heading ([`menu_heading`]); none on the operator portal.
    /// The page adds its own crumbs.
    pub fn page(&self, title: &str, nav: &'static str) -> Layout {
        if self.site.operator {
            // The operator portal's menu has no headings.
            return self.layout(title, nav);
        }
        let layout = self.layout(title, nav).crumb("Admin", "");
        match menu_heading(nav) {
            Some(heading) => layout.crumb(heading, ""),
            None => layout,
        }
    }

    /// The frame of a page for this administrator.
    pub fn layout(&self, title: &str, nav: &'static str) -> Layout {
        Layout {
            title: title.to_string(),
            version: ASSET_VERSION,
            prefix: self.site.prefix(),
            tenant: self.site.name.clone().unwrap_or_default(),
            operator: self.site.operator,
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

    /// Who makes a change in the portal, as change records keep it: this administrator
    /// (actor `{type: "admin", name: <username>}`, source `portal`) making `request`.
    pub fn origin(&self, request: RequestInfo) -> Origin {
        Origin::portal(&self.session.tenant_id, &self.session.username, request)
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let site = Site::of(&parts.extensions);
        let session = match live_session(st, &site, &parts.headers, &parts.extensions).await {
            Ok(s) => s,
            Err(e) => return Err(server_error(e, Layout::public(&site, "Error"))),
        };
        let read = parts.method == Method::GET || parts.method == Method::HEAD;
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/dashboard");
        let back = |to: &str| {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", here)
                .finish();
            see_other(&format!("{to}?{q}"))
        };
        if let Some((session, id)) = session {
            // A valid session counts against its administrator's rate only (crate::rate).
            let key = format!("admin:{}", session.admin_id);
            if let Err(r) = crate::rate::limiter::admit(&st.limiter, &parts.extensions, &key).await
            {
                return Err(r.answer(st.limiter.limits(), |m| too_many_requests(&site, m)));
            }
            let signed = Signed {
                session,
                id,
                site: site.clone(),
            };
            if signed.session.must_change_password
                && !BEFORE_PASSWORD_CHANGE.contains(&parts.uri.path())
            {
                return Err(if read {
                    back("/account/password")
                } else {
                    error_page(
                        StatusCode::FORBIDDEN,
                        signed.layout("Change your password first", ""),
                        "Change your password first",
                        "Your password was generated by scimd: choose your own before anything else, so nothing was changed.",
                    )
                });
            }
            return Ok(signed);
        }
        if read {
            return Err(back("/signin"));
        }
        Err(error_page(
            StatusCode::FORBIDDEN,
            Layout::public(&site, "Signed out"),
            "You are not signed in",
            "Your session has ended or you signed out, so the form was not submitted. Sign in and try again.",
        ))
    }
}

/// The session the request's session cookie (of its portal, [`CookieName::at`]) names, and
/// that cookie's value, when the session is live and of the request's tenant: a session of
/// another tenant is none here (whoever holds it is signed out on this portal).
pub async fn live_session(
    st: &AppState,
    site: &Site,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<Option<(PortalSession, String)>, scimd_directory::DirectoryError> {
    let Some(id) = cookie(headers, &SESSION_COOKIE.at(site, is_secure(st))) else {
        return Ok(None);
    };
    let Some(session) = st.directory.portal_session(&id).await? else {
        return Ok(None);
    };
    // The request's tenant: the path's, or the root tenant's on the root portal (when the
    // store could not say which that is, the session's own).
    let tenant = crate::tenancy::of(extensions).map(|t| t.tenant.id.as_str());
    if tenant.is_some_and(|t| t != session.tenant_id) {
        return Ok(None);
    }
    if tenant.is_none() && site.slug.is_some() {
        return Ok(None);
    }
    Ok(Some((session, id)))
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
    /// The request (method, path, client address), for change records.
    pub request: RequestInfo,
}

impl Posted {
    /// Who makes the change the form asks for ([`Signed::origin`]).
    pub fn origin(&self) -> Origin {
        self.signed.origin(self.request.clone())
    }
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
            request: crate::auth::request_info(&parts.method, &parts.uri, &parts.extensions),
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
    fn cookie_names_and_prefixes_of_portals() {
        let root = Site::default();
        let acme = Site {
            slug: Some("acme".into()),
            name: None,
            operator: false,
        };
        let ops = Site {
            slug: Some("operator".into()),
            name: None,
            operator: true,
        };
        assert_eq!(ops.prefix(), "/operator");
        assert_eq!(SESSION_COOKIE.at(&ops, false), "scimd_session_operator");
        assert_eq!(
            SESSION_COOKIE.at(&ops, true),
            "__Host-scimd_session_operator"
        );
        assert_eq!(root.prefix(), "");
        assert_eq!(acme.prefix(), "/t/acme");
        // The root portal keeps the names it had before tenants.
        assert_eq!(SESSION_COOKIE.at(&root, false), "scimd_session");
        assert_eq!(SESSION_COOKIE.at(&root, true), "__Host-scimd_session");
        assert_eq!(SESSION_COOKIE.at(&acme, false), "scimd_session_acme");
        assert_eq!(SESSION_COOKIE.at(&acme, true), "__Host-scimd_session_acme");
        assert_eq!(SIGNIN_COOKIE.at(&acme, true), "__Host-scimd_signin_acme");
        assert_eq!(DEVICE_COOKIE.at(&acme, false), "scimd_device_acme");
        // A slug's characters are all valid in a cookie name.
        let v = set_cookie(&SESSION_COOKIE.at(&acme, true), "x", 60, true);
        assert!(v
            .to_str()
            .unwrap()
            .starts_with("__Host-scimd_session_acme=x; Path=/;"));
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
