//! Signing in and out (`/`, `/signin`, `/signout`).

use super::common::Q;
use crate::portal::frame::{render, see_other, server_error, Layout};
use crate::portal::session::{
    client_address, cookie, csrf_refused, is_secure, live_session, safe_next, set_cookie,
    with_cookie, Fields, Signed, Site, DEVICE_COOKIE, DEVICE_COOKIE_SECS, MAX_FORM_BYTES,
    SESSION_COOKIE, SIGNIN_COOKIE,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use scimd_directory::admins::{check_username, SignIn, SESSION_LIFETIME_SECS};
use scimd_directory::signin_throttle::ThrottledBy;
use scimd_directory::DirectoryError;

// ---------------------------------------------------------------- sign-in

/// The sign-in page.
#[derive(Template)]
#[template(path = "portal/signin.html")]
pub struct SignInPage {
    layout: Layout,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    /// The tenant's slug on its own portal (for the reset command the page names).
    slug: Option<String>,
}

fn signin_page(
    st: &AppState,
    site: &Site,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    let secure = is_secure(st);
    let csrf = scimd_directory::secret::new_secret();
    let next = if safe_next(next) { next } else { "" };
    let r = render(
        status,
        &SignInPage {
            layout: Layout::public(site, "Sign in"),
            csrf: csrf.clone(),
            next: next.to_string(),
            username: username.to_string(),
            error,
            slug: site.slug.clone(),
        },
    );
    let name = SIGNIN_COOKIE.at(site, secure);
    with_cookie(r, set_cookie(&name, &csrf, 3600, secure))
}

/// `GET /`: the dashboard, or the sign-in page.
pub async fn home(State(st): State<AppState>, site: Site, req: Request) -> Response {
    let signed_in = matches!(
        live_session(&st, &site, req.headers(), req.extensions()).await,
        Ok(Some(_))
    );
    if signed_in {
        crate::rate::limiter::authenticated(req.extensions());
    }
    see_other(if signed_in { site.home() } else { "/signin" })
}

/// `GET /signin`.
pub async fn signin_form(
    State(st): State<AppState>,
    site: Site,
    RawQuery(q): RawQuery,
) -> Response {
    let q = Q::new(q);
    signin_page(&st, &site, StatusCode::OK, &q.get("next"), "", None)
}

/// `POST /signin`: checks the double-submit CSRF cookie, then the password (with
/// throttling); on success sets the session cookie and the trusted-browser cookie and
/// redirects to `next` or the dashboard (or first to the password change a generated
/// password needs). Only the administrators of the request's tenant can sign in, and the
/// cookies are those of its portal ([`crate::portal::CookieName::at`]).
pub async fn signin(State(st): State<AppState>, site: Site, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let secure = is_secure(&st);
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    let f = Fields::parse(&bytes);
    let username = f.get("username").trim().to_string();
    // Shown back in the form and logged only when it could be an administrator's name: a
    // 64 KiB username goes nowhere.
    let shown = if check_username(&username).is_ok() {
        username.as_str()
    } else {
        ""
    };
    let next = f.get("next").to_string();
    // The form shown again, with what went wrong.
    let again = |status: StatusCode, message: String| {
        signin_page(&st, &site, status, &next, shown, Some(message))
    };
    let cookie_name = SIGNIN_COOKIE.at(&site, secure);
    let expected = cookie(&parts.headers, &cookie_name).unwrap_or_default();
    if !scimd_directory::admins::csrf_matches(&expected, f.get("csrf")) {
        let expired = "The sign-in form had expired (or cookies are blocked), so it was not submitted. Enter your password again.";
        return again(StatusCode::FORBIDDEN, expired.to_string());
    }
    if username.is_empty() || f.get("password").is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your username and password.".to_string(),
        );
    }
    let tenant = match crate::auth::tenant_of(&st, &parts.extensions).await {
        Ok(t) => t,
        Err(e) => return server_error(e, Layout::public(&site, "Error")),
    };
    let client = client_address(&parts);
    let path = crate::auth::request_info(&parts.method, &parts.uri, &parts.extensions).path;
    let device = cookie(&parts.headers, &DEVICE_COOKIE.at(&site, secure));
    let outcome = st
        .directory
        .sign_in(
            &tenant,
            &username,
            f.get("password"),
            (&client, &path),
            device.as_deref(),
        )
        .await;
    match outcome {
        Err(e @ DirectoryError::Busy(_)) => {
            tracing::warn!(client = %client, "portal sign-in refused: the password checks are all busy");
            let mut r = again(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{} (the server is busy).", e.message()),
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Err(e) => server_error(e, Layout::public(&site, "Error")),
        Ok(SignIn::Throttled {
            by,
            retry_after_secs,
        }) => {
            log_attempt(&username, &client, "portal sign-in throttled");
            let whose = match by {
                ThrottledBy::Username => "for this username",
                ThrottledBy::Address => "from your network address",
            };
            let message = format!(
                "Too many failed sign-ins {whose}, so this one was not checked. Try again in {}.",
                duration_words(retry_after_secs)
            );
            let mut r = again(StatusCode::TOO_MANY_REQUESTS, message);
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(RETRY_AFTER, v);
            }
            r
        }
        Ok(SignIn::Refused {
            attempts_left,
            wait,
        }) => {
            log_attempt(&username, &client, "portal sign-in failed");
            let more = if !wait.is_zero() {
                format!(
                    " Further attempts are blocked for {} (each failure makes the wait longer, up to a minute).",
                    duration_words(wait.as_secs().max(1))
                )
            } else if attempts_left <= 2 {
                format!(" {attempts_left} attempts left before sign-in slows down.")
            } else {
                String::new()
            };
            again(
                StatusCode::UNAUTHORIZED,
                format!("Wrong username or password.{more}"),
            )
        }
        Ok(SignIn::SignedIn {
            session_id,
            session,
            device,
        }) => {
            tracing::info!(admin = ?session.username, client = %client, "portal sign-in");
            // A right password is a valid credential: not counted against the address.
            crate::rate::limiter::authenticated(&parts.extensions);
            let to = if safe_next(&next) {
                next.as_str()
            } else {
                site.home()
            };
            // A generated password is changed first; the page then goes on to `to`.
            let r = if session.must_change_password {
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", to)
                    .finish();
                see_other(&format!("{}?{q}", super::account::PASSWORD_PATH))
            } else {
                see_other(to)
            };
            let cookies = [
                (
                    SESSION_COOKIE.at(&site, secure),
                    &session_id,
                    SESSION_LIFETIME_SECS,
                ),
                (DEVICE_COOKIE.at(&site, secure), &device, DEVICE_COOKIE_SECS),
            ];
            let r = cookies.iter().fold(r, |r, (name, value, secs)| {
                with_cookie(r, set_cookie(name, value, *secs, secure))
            });
            with_cookie(r, set_cookie(&cookie_name, "", 0, secure))
        }
    }
}

/// Logs a refused sign-in. The username is a `Debug` field (quoted, control characters
/// escaped, so no value can forge a log line) and only when it could be an administrator's
/// name; otherwise only its length.
fn log_attempt(username: &str, client: &str, what: &str) {
    if check_username(username).is_ok() {
        tracing::warn!(username = ?username, client = %client, "{what}");
    } else {
        tracing::warn!(username_bytes = username.len(), client = %client, "{what}");
    }
}

/// `n` seconds in words: `1 second`, `40 seconds`, `2 minutes`.
fn duration_words(n: u64) -> String {
    match n {
        1 => "1 second".into(),
        n if n < 120 => format!("{n} seconds"),
        n => format!("{} minutes", n.div_ceil(60)),
    }
}

/// `POST /signout`: ends the session of the request's portal (a session on another
/// tenant's portal stays).
pub async fn signout(State(st): State<AppState>, site: Site, req: Request) -> Response {
    let secure = is_secure(&st);
    let session_cookie = SESSION_COOKIE.at(&site, secure);
    let (mut parts, body) = req.into_parts();
    let signed = match <Signed as axum::extract::FromRequestParts<AppState>>::from_request_parts(
        &mut parts, &st,
    )
    .await
    {
        Ok(s) => s,
        Err(_) => return see_other("/signin"),
    };
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    if !scimd_directory::admins::csrf_matches(
        &signed.session.csrf_token,
        Fields::parse(&bytes).get("csrf"),
    ) {
        return csrf_refused(signed.layout("Request refused", ""));
    }
    if let Err(e) = st.directory.sign_out(&signed.id).await {
        return server_error(e, Layout::public(&site, "Error"));
    }
    with_cookie(
        see_other("/signin"),
        set_cookie(&session_cookie, "", 0, secure),
    )
}
