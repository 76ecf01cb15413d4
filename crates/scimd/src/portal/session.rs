//! Who is signed in: the session and sign-in cookies, the [`Signed`] administrator a page
//! needs, and the CSRF-checked [`Posted`] form every change goes through.

use super::frame::{error_page, see_other, server_error, Layout, ASSET_VERSION};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use scimd_directory::admins::{csrf_matches, PortalSession};
use scimd_directory::directory::{Caller, RequestInfo};
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
/// Name of the trusted-browser cookie over plain HTTP (see
/// [`scimd_directory::signin_throttle`]).
pub const DEVICE_COOKIE: &str = "scimd_device";
/// Name of the trusted-browser cookie under HTTPS.
pub const DEVICE_COOKIE_TLS: &str = "__Host-scimd_device";
/// How long a browser stays trusted after its last sign-in, in seconds (400 days, the
/// longest browsers keep a cookie).
pub const DEVICE_COOKIE_SECS: i64 = 400 * 24 * 3600;
/// Largest accepted form body, in bytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

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

/// The name of the trusted-browser cookie.
pub fn device_cookie_name(secure: bool) -> &'static str {
    if secure {
        DEVICE_COOKIE_TLS
    } else {
        DEVICE_COOKIE
    }
}

/// The key the client's address is throttled under (an IPv4 address or an IPv6 /64, see
/// [`crate::net::client`]); `unknown` when the server runs without connection information.
pub fn client_address(parts: &Parts) -> String {
    crate::net::client::client_key(&parts.extensions)
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
