//! Signing in and out (`/`, `/signin`, `/signout`).

use super::common::Q;
use crate::portal::frame::{render, see_other, server_error, Layout};
use crate::portal::session::{
    client_address, cookie, csrf_refused, is_secure, safe_next, session_cookie_name, set_cookie,
    with_cookie, Fields, Signed, MAX_FORM_BYTES, SIGNIN_COOKIE, SIGNIN_COOKIE_TLS,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use scimd_directory::admins::{SignIn, SESSION_LIFETIME_SECS};

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
}

fn signin_page(
    st: &AppState,
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
            layout: Layout::public("Sign in"),
            csrf: csrf.clone(),
            next: next.to_string(),
            username: username.to_string(),
            error,
        },
    );
    let name = if secure {
        SIGNIN_COOKIE_TLS
    } else {
        SIGNIN_COOKIE
    };
    with_cookie(r, set_cookie(name, &csrf, 3600, secure))
}

/// `GET /`: the dashboard, or the sign-in page.
pub async fn home(State(st): State<AppState>, req: Request) -> Response {
    let secure = is_secure(&st);
    let signed_in = match cookie(req.headers(), session_cookie_name(secure)) {
        Some(id) => matches!(st.directory.portal_session(&id).await, Ok(Some(_))),
        None => false,
    };
    see_other(if signed_in { "/dashboard" } else { "/signin" })
}

/// `GET /signin`.
pub async fn signin_form(State(st): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let q = Q::new(q);
    signin_page(&st, StatusCode::OK, &q.get("next"), "", None)
}

/// `POST /signin`: checks the double-submit CSRF cookie, then the password (with
/// throttling); on success sets the session cookie and redirects to `next` or the dashboard.
pub async fn signin(State(st): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let secure = is_secure(&st);
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .unwrap_or_default();
    let f = Fields::parse(&bytes);
    let username = f.get("username").trim().to_string();
    let next = f.get("next").to_string();
    let cookie_name = if secure {
        SIGNIN_COOKIE_TLS
    } else {
        SIGNIN_COOKIE
    };
    let expected = cookie(&parts.headers, cookie_name).unwrap_or_default();
    if !scimd_directory::admins::csrf_matches(&expected, f.get("csrf")) {
        return signin_page(
            &st,
            StatusCode::FORBIDDEN,
            &next,
            &username,
            Some("The sign-in form had expired (or cookies are blocked), so it was not submitted. Enter your password again.".into()),
        );
    }
    if username.is_empty() || f.get("password").is_empty() {
        return signin_page(
            &st,
            StatusCode::BAD_REQUEST,
            &next,
            &username,
            Some("Enter your username and password.".into()),
        );
    }
    let tenant = match st.directory.default_tenant_id().await {
        Ok(t) => t,
        Err(e) => return server_error(e, Layout::public("Error")),
    };
    let client = client_address(&parts);
    match st
        .directory
        .sign_in(&tenant, &username, f.get("password"), &client)
        .await
    {
        Err(e) => server_error(e, Layout::public("Error")),
        Ok(SignIn::Throttled { retry_after_secs }) => {
            tracing::warn!(username = %username, client = %client, "portal sign-in throttled");
            let mut r = signin_page(
                &st,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                &username,
                Some(format!(
                    "Too many failed sign-ins for this username from your address. Sign-in is blocked for {} minutes; try again later.",
                    retry_after_secs.div_ceil(60)
                )),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(RETRY_AFTER, v);
            }
            r
        }
        Ok(SignIn::Refused {
            delay,
            attempts_left,
        }) => {
            tracing::warn!(username = %username, client = %client, "portal sign-in failed");
            tokio::time::sleep(delay).await;
            let more = if attempts_left == 0 {
                " Further attempts are blocked for a while.".to_string()
            } else if attempts_left <= 2 {
                format!(" {attempts_left} attempts left before sign-in is blocked for a while.")
            } else {
                String::new()
            };
            signin_page(
                &st,
                StatusCode::UNAUTHORIZED,
                &next,
                &username,
                Some(format!("Wrong username or password.{more}")),
            )
        }
        Ok(SignIn::SignedIn {
            session_id,
            session,
        }) => {
            tracing::info!(admin = %session.username, client = %client, "portal sign-in");
            let to = if safe_next(&next) {
                next.as_str()
            } else {
                "/dashboard"
            };
            let r = see_other(to);
            let r = with_cookie(
                r,
                set_cookie(
                    session_cookie_name(secure),
                    &session_id,
                    SESSION_LIFETIME_SECS,
                    secure,
                ),
            );
            with_cookie(r, set_cookie(cookie_name, "", 0, secure))
        }
    }
}

/// `POST /signout`.
pub async fn signout(State(st): State<AppState>, req: Request) -> Response {
    let secure = is_secure(&st);
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
    if let Some(id) = cookie(&parts.headers, session_cookie_name(secure)) {
        if let Err(e) = st.directory.sign_out(&id).await {
            return server_error(e, Layout::public("Error"));
        }
    }
    with_cookie(
        see_other("/signin"),
        set_cookie(session_cookie_name(secure), "", 0, secure),
    )
}
