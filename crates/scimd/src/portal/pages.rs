//! The portal's pages: one handler per route of [`super::routes`], each with the template
//! it renders. Handlers call the directory's administrator operations (the same ones the
//! admin API calls) and turn their JSON into small view structs.

use super::{
    client_address, cookie, csrf_refused, error_page, is_secure, ok, render, safe_next, see_other,
    server_error, session_cookie_name, set_cookie, with_cookie, Fields, Layout, Page, Posted,
    Signed, SIGNIN_COOKIE, SIGNIN_COOKIE_TLS,
};
use crate::admin_export::ExportFormat;
use crate::admin_routes::{parse_time, AdminError, LOG_OUTCOMES};
use crate::query::decode_query;
use crate::server::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use scim_proto::schema::{AttributeDef, ENTERPRISE_USER_SCHEMA};
use scim_proto::ScimError;
use scimd_directory::admins::{SignIn, SESSION_LIFETIME_SECS};
use scimd_directory::custom::CUSTOM_TYPES;
use scimd_directory::store::{AdminUserFilter, LogQuery, Source, UserState};
use scimd_directory::DirectoryError;
use serde_json::{json, Value};

/// Rows per page of the paged lists.
pub const PAGE_SIZE: u64 = 50;

// ---------------------------------------------------------------- helpers

/// Decoded query parameters.
struct Q(Vec<(String, String)>);

impl Q {
    fn new(raw: Option<String>) -> Q {
        Q(decode_query(raw.as_deref()))
    }
    fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }
    fn page(&self) -> u64 {
        self.get("page")
            .parse::<u64>()
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }
}

/// A query string of the non-empty pairs.
fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

fn with_query(path: &str, q: &str) -> String {
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

/// Paging links of a list.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// "Showing 1–50 of 1,234".
    pub summary: String,
    /// Link to the previous page.
    pub prev: Option<String>,
    /// Link to the next page.
    pub next: Option<String>,
}

fn pager(
    path: &str,
    base: &[(&str, &str)],
    page: u64,
    shown: usize,
    total: u64,
    noun: &str,
) -> Pager {
    let first = (page - 1) * PAGE_SIZE + 1;
    let summary = if total == 0 {
        format!("No {noun}")
    } else if shown == 0 {
        format!(
            "Page {page} is past the end: {} {noun}",
            group_digits(total)
        )
    } else {
        let pages = total.div_ceil(PAGE_SIZE);
        format!(
            "Showing {}–{} of {} {noun} (page {page} of {})",
            group_digits(first),
            group_digits(first + shown as u64 - 1),
            group_digits(total),
            group_digits(pages)
        )
    };
    let link = |p: u64| {
        let ps = p.to_string();
        let mut pairs: Vec<(&str, &str)> = base.to_vec();
        if p > 1 {
            pairs.push(("page", &ps));
        }
        with_query(path, &query_string(&pairs))
    };
    Pager {
        summary,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page * PAGE_SIZE < total).then(|| link(page + 1)),
    }
}

/// `1234567` as `1,234,567`.
fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An RFC 3339 UTC timestamp as `2026-11-30 11:22:33`.
fn when(v: &Value) -> String {
    let s = v.as_str().unwrap_or("");
    let s = s.replace('T', " ");
    s.get(..19).map(str::to_string).unwrap_or(s)
}

fn fmt_time(t: time::OffsetDateTime) -> String {
    when(&json!(scimd_directory::render::rfc3339(t)))
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a
            .iter()
            .map(text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => o
            .get("display")
            .or_else(|| o.get("displayName"))
            .or_else(|| o.get("value"))
            .or_else(|| o.get("formatted"))
            .map(text)
            .unwrap_or_default(),
    }
}

fn source_text(s: &str) -> &'static str {
    match s {
        "scim" => "SCIM (Entra ID)",
        _ => "local",
    }
}

/// A directory error as a page: 4xx errors say what is wrong, storage errors are 500.
fn scim_error_page(e: ScimError, layout: Layout, heading: &str) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(detail = %e.detail, "portal request failed");
    }
    error_page(status, layout, heading, &e.detail)
}

fn not_found(layout: Layout, what: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        layout,
        &format!("{what} not found"),
        &format!(
            "There is no such {}: it may have been deleted.",
            what.to_lowercase()
        ),
    )
}

/// The success message of a redirect's `ok` code.
fn notice(q: &Q) -> Option<String> {
    let name = q.get("name");
    Some(match q.get("ok").as_str() {
        "token-revoked" => format!("Token “{name}” revoked: it no longer authenticates."),
        "settings" => "Settings saved.".to_string(),
        "attribute" => format!("Custom attribute “{name}” added."),
        "attribute-deleted" => format!(
            "Custom attribute “{name}” deleted; values removed from {} users.",
            q.get("n")
        ),
        "user-created" => "Local user created.".to_string(),
        "user-deleted" => format!("User “{name}” deleted permanently."),
        "group-created" => "Local group created.".to_string(),
        "group-deleted" => format!("Group “{name}” deleted."),
        "member-added" => "Member added.".to_string(),
        "member-removed" => "Member removed.".to_string(),
        _ => return None,
    })
}

fn noticed(mut l: Layout, q: &Q) -> Layout {
    if let Some(n) = notice(q) {
        l.notices.push(n);
    }
    l
}

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
    let csrf = scimd_directory::tokens::new_secret();
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
    let bytes = axum::body::to_bytes(body, super::MAX_FORM_BYTES)
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
    let bytes = axum::body::to_bytes(body, super::MAX_FORM_BYTES)
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

// ---------------------------------------------------------------- dashboard

/// One provisioning-log entry as the pages show it.
#[derive(Debug, Clone)]
pub struct LogRow {
    time: String,
    outcome: String,
    outcome_class: String,
    resource_type: String,
    name: String,
    id: String,
    href: Option<String>,
    method: String,
    path: String,
    status: String,
    token: String,
    detail: String,
    changed: Vec<String>,
    warnings: Vec<String>,
}

fn log_row(e: &Value) -> LogRow {
    let outcome = text(&e["outcome"]);
    let rtype = text(&e["resourceType"]);
    let id = text(&e["resourceId"]);
    // No link for a resource that is gone or was never created (a rejected POST).
    let gone = id.is_empty()
        || matches!(outcome.as_str(), "deleted" | "group deleted")
        || outcome == "rejected" && text(&e["method"]).eq_ignore_ascii_case("POST");
    let href = if gone {
        None
    } else if rtype == "Group" {
        Some(format!("/groups/{id}"))
    } else {
        Some(format!("/users/{id}"))
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default()
    };
    let name = text(&e["resourceName"]);
    LogRow {
        time: when(&e["time"]),
        outcome_class: outcome.replace(' ', "-"),
        outcome,
        resource_type: rtype,
        name: if name.is_empty() { id.clone() } else { name },
        id,
        href,
        method: text(&e["method"]),
        path: text(&e["path"]),
        status: text(&e["status"]),
        token: text(&e["tokenName"]),
        detail: text(&e["detail"]),
        changed: strings(&e["changedAttributes"]),
        warnings: strings(&e["warnings"]),
    }
}

/// The dashboard.
#[derive(Template)]
#[template(path = "portal/dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    tenant_url: String,
    users_total: String,
    active: String,
    inactive: String,
    deprovisioned: String,
    scim: String,
    local: String,
    groups: String,
    log_total: String,
    rejected_total: String,
    recent: Vec<LogRow>,
    failures: Vec<LogRow>,
}

/// `GET /dashboard`.
pub async fn dashboard(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(s.layout("Dashboard", "dashboard"), &Q::new(q));
    let d = &st.directory;
    let t = s.tenant();
    let fail =
        |e: ScimError| scim_error_page(e, s.layout("Error", "dashboard"), "Something went wrong");
    let counts = d.counts(t).await.map_err(fail)?;
    let (log_total, recent) = d
        .query_log(
            t,
            &LogQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
    let (rejected_total, failures) = d
        .query_log(
            t,
            &LogQuery {
                outcome: Some("rejected".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
    let n = |v: &Value| group_digits(v.as_u64().unwrap_or(0));
    ok(render(
        StatusCode::OK,
        &DashboardPage {
            layout,
            tenant_url: d.base_url().to_string(),
            users_total: n(&counts["users"]),
            active: n(&counts["usersByState"]["active"]),
            inactive: n(&counts["usersByState"]["inactive"]),
            deprovisioned: n(&counts["usersByState"]["deprovisioned"]),
            scim: n(&counts["usersBySource"]["scim"]),
            local: n(&counts["usersBySource"]["local"]),
            groups: n(&counts["groups"]),
            log_total: group_digits(log_total),
            rejected_total: group_digits(rejected_total),
            recent: recent.iter().map(log_row).collect(),
            failures: failures.iter().map(log_row).collect(),
        },
    ))
}

// ---------------------------------------------------------------- user provisioning

/// A token in the list (never its secret).
#[derive(Debug, Clone)]
pub struct TokenView {
    name: String,
    scope: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

/// A token just created: its secret, shown on this one response only.
#[derive(Debug, Clone)]
pub struct NewToken {
    name: String,
    scope: String,
    secret: String,
}

/// A custom attribute with the name to enter in Entra ID.
#[derive(Debug, Clone)]
pub struct AttrView {
    name: String,
    ty: String,
    path: String,
}

/// Admin › Identity › User Provisioning.
#[derive(Template)]
#[template(path = "portal/provisioning.html")]
pub struct ProvisioningPage {
    layout: Layout,
    tenant_url: String,
    new_token: Option<NewToken>,
    token_error: Option<String>,
    token_name: String,
    tokens: Vec<TokenView>,
    urn: String,
    policy_text: String,
    refuse_text: String,
    department_path: String,
    attrs: Vec<AttrView>,
}

fn provisioning_layout(s: &Signed) -> Layout {
    s.layout("User Provisioning", "provisioning")
        .crumb("Admin", "")
        .crumb("Identity", "")
        .crumb("User Provisioning", "")
}

async fn provisioning_page(
    st: &AppState,
    s: &Signed,
    layout: Layout,
    status: StatusCode,
    new_token: Option<NewToken>,
    token_error: Option<String>,
    token_name: &str,
) -> Page {
    let d = &st.directory;
    let t = s.tenant();
    let tokens = d
        .list_tokens(t)
        .await
        .map_err(|e| server_error(e, s.layout("Error", "provisioning")))?;
    let fail = |e: ScimError| {
        scim_error_page(e, s.layout("Error", "provisioning"), "Something went wrong")
    };
    let settings = d.get_settings(t).await.map_err(fail)?;
    let (urn, attrs) = d.custom_attribute_defs(t).await.map_err(fail)?;
    let tokens = tokens
        .iter()
        .map(|r| TokenView {
            name: r.name.clone(),
            scope: r.scope.as_str().to_string(),
            created: fmt_time(r.created),
            last_used: r.last_used.map(fmt_time).unwrap_or_else(|| "never".into()),
            revoked: r.revoked.map(fmt_time),
        })
        .collect();
    let blank = settings.to_json()["blankValuePolicy"]
        .as_str()
        .unwrap_or("ignore")
        .to_string();
    Ok(render(
        status,
        &ProvisioningPage {
            layout,
            tenant_url: d.base_url().to_string(),
            new_token,
            token_error,
            token_name: token_name.to_string(),
            tokens,
            policy_text: if blank == "clear" {
                "Clear: an empty string or null in an update removes the stored value".into()
            } else {
                "Ignore: an empty string or null in an update keeps the stored value (default)"
                    .into()
            },
            refuse_text: if settings.refuse_inactive_create {
                "Users that arrive inactive (active: false) are refused (default)".into()
            } else {
                "Users that arrive inactive (active: false) are created inactive".into()
            },
            department_path: format!("{ENTERPRISE_USER_SCHEMA}:department"),
            attrs: attrs
                .iter()
                .map(|a| AttrView {
                    name: a.name.clone(),
                    ty: a.ty.clone(),
                    path: format!("{urn}:{}", a.name),
                })
                .collect(),
            urn,
        },
    ))
}

/// `GET /admin/provisioning`.
pub async fn provisioning(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(provisioning_layout(&s), &Q::new(q));
    provisioning_page(&st, &s, layout, StatusCode::OK, None, None, "").await
}

/// `POST /admin/provisioning/tokens`: creates a token and shows its secret on this response
/// only (it is never stored, and the page is not cached).
pub async fn create_token(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").trim().to_string();
    let scope = match p.fields.get("scope") {
        "admin" => scimd_directory::store::TokenScope::Admin,
        _ => scimd_directory::store::TokenScope::Scim,
    };
    match st.directory.create_token(s.tenant(), &name, scope).await {
        Ok(secret) => {
            tracing::info!(token = %name, scope = scope.as_str(), admin = %s.session.username, "token created in the portal");
            provisioning_page(
                &st,
                s,
                provisioning_layout(s),
                StatusCode::CREATED,
                Some(NewToken {
                    name,
                    scope: scope.as_str().to_string(),
                    secret,
                }),
                None,
                "",
            )
            .await
        }
        Err(DirectoryError::Invalid(m) | DirectoryError::Conflict(m)) => {
            provisioning_page(
                &st,
                s,
                provisioning_layout(s),
                StatusCode::BAD_REQUEST,
                None,
                Some(m),
                &name,
            )
            .await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// `POST /admin/provisioning/tokens/revoke`.
pub async fn revoke_token(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").to_string();
    match st.directory.revoke_token(s.tenant(), &name).await {
        Ok(true) => {
            tracing::info!(token = %name, admin = %s.session.username, "token revoked in the portal");
            Ok(see_other(&format!(
                "/admin/provisioning?{}#tokens",
                query_string(&[("ok", "token-revoked"), ("name", &name)])
            )))
        }
        Ok(false) => {
            provisioning_page(
                &st,
                s,
                provisioning_layout(s),
                StatusCode::NOT_FOUND,
                None,
                Some(format!(
                    "There is no active token named “{name}”: it may have been revoked already."
                )),
                "",
            )
            .await
        }
        Err(e) => Err(server_error(e, s.layout("Error", "provisioning"))),
    }
}

/// Admin › Identity › User Provisioning › Edit Settings.
#[derive(Template)]
#[template(path = "portal/settings.html")]
pub struct SettingsPage {
    layout: Layout,
    settings_error: Option<String>,
    urn: String,
    policy: String,
    refuse: bool,
    attrs: Vec<AttrView>,
    add_open: bool,
    add_error: Option<String>,
    add_name: String,
    types: Vec<(String, bool)>,
}

struct SettingsForm {
    settings_error: Option<String>,
    add_error: Option<String>,
    add_name: String,
    add_type: String,
    /// Values to show instead of the stored ones (after a refused save).
    edited: Option<(String, String, bool)>,
}

async fn settings_page(
    st: &AppState,
    s: &Signed,
    layout: Layout,
    status: StatusCode,
    f: SettingsForm,
) -> Page {
    let d = &st.directory;
    let fail = |e: ScimError| {
        scim_error_page(e, s.layout("Error", "provisioning"), "Something went wrong")
    };
    let settings = d.get_settings(s.tenant()).await.map_err(fail)?;
    let (urn, attrs) = d.custom_attribute_defs(s.tenant()).await.map_err(fail)?;
    let j = settings.to_json();
    let (urn_shown, policy, refuse) = f.edited.unwrap_or((
        urn.clone(),
        j["blankValuePolicy"]
            .as_str()
            .unwrap_or("ignore")
            .to_string(),
        settings.refuse_inactive_create,
    ));
    let add_type = if f.add_type.is_empty() {
        "string".to_string()
    } else {
        f.add_type
    };
    Ok(render(
        status,
        &SettingsPage {
            layout,
            settings_error: f.settings_error,
            urn: urn_shown,
            policy,
            refuse,
            attrs: attrs
                .iter()
                .map(|a| AttrView {
                    name: a.name.clone(),
                    ty: a.ty.clone(),
                    path: format!("{urn}:{}", a.name),
                })
                .collect(),
            add_open: f.add_error.is_some(),
            add_error: f.add_error,
            add_name: f.add_name,
            types: CUSTOM_TYPES
                .iter()
                .map(|t| (t.to_string(), t.eq_ignore_ascii_case(&add_type)))
                .collect(),
        },
    ))
}

fn settings_layout(s: &Signed) -> Layout {
    s.layout("Edit Settings · User Provisioning", "provisioning")
        .crumb("Admin", "")
        .crumb("Identity", "")
        .crumb("User Provisioning", "/admin/provisioning")
        .crumb("Edit Settings", "")
}

fn empty_form() -> SettingsForm {
    SettingsForm {
        settings_error: None,
        add_error: None,
        add_name: String::new(),
        add_type: String::new(),
        edited: None,
    }
}

/// `GET /admin/provisioning/settings`.
pub async fn settings_form(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(settings_layout(&s), &Q::new(q));
    settings_page(&st, &s, layout, StatusCode::OK, empty_form()).await
}

/// `POST /admin/provisioning/settings`.
pub async fn save_settings(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let urn = p.fields.get("customSchemaUrn").trim().to_string();
    let policy = p.fields.get("blankValuePolicy").to_string();
    let refuse = p.fields.has("refuseInactiveCreate");
    let patch =
        json!({"customSchemaUrn": urn, "blankValuePolicy": policy, "refuseInactiveCreate": refuse});
    match st.directory.update_settings(s.tenant(), &patch).await {
        Ok(_) => {
            tracing::info!(admin = %s.session.username, settings = %patch, "settings changed in the portal");
            Ok(see_other("/admin/provisioning/settings?ok=settings"))
        }
        Err(e) if e.status < 500 => {
            let mut f = empty_form();
            f.settings_error = Some(e.detail);
            f.edited = Some((urn, policy, refuse));
            settings_page(&st, s, settings_layout(s), StatusCode::BAD_REQUEST, f).await
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "provisioning"),
            "Something went wrong",
        )),
    }
}

/// `POST /admin/provisioning/attributes` ("+ Add Custom Attribute", "Save Changes").
pub async fn add_attribute(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("name").trim().to_string();
    let ty = p.fields.get("type").to_string();
    let ty_opt = if ty.is_empty() {
        None
    } else {
        Some(ty.as_str())
    };
    match st
        .directory
        .create_attribute(s.tenant(), &name, ty_opt)
        .await
    {
        Ok(_) => {
            tracing::info!(attribute = %name, admin = %s.session.username, "custom attribute added in the portal");
            Ok(see_other(&format!(
                "/admin/provisioning/settings?{}#custom-attributes",
                query_string(&[("ok", "attribute"), ("name", &name)])
            )))
        }
        Err(e) if e.status < 500 => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut f = empty_form();
            f.add_error = Some(e.detail);
            f.add_name = name;
            f.add_type = ty;
            settings_page(&st, s, settings_layout(s), status, f).await
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "provisioning"),
            "Something went wrong",
        )),
    }
}

// ---------------------------------------------------------------- attributes

/// One attribute of the Attributes page.
#[derive(Debug, Clone)]
pub struct AttrRow {
    name: String,
    kind: String,
    kind_class: String,
    data_type: String,
    schema: String,
    delete_href: Option<String>,
}

/// Admin › System › Attributes.
#[derive(Template)]
#[template(path = "portal/attributes.html")]
pub struct AttributesPage {
    layout: Layout,
    urn: String,
    rows: Vec<AttrRow>,
}

fn def_rows(out: &mut Vec<AttrRow>, defs: &[AttributeDef], prefix: &str, kind: &str, schema: &str) {
    for a in defs {
        let name = if prefix.is_empty() {
            a.name.clone()
        } else {
            format!("{prefix}.{}", a.name)
        };
        let mut ty = a.ty.as_str().to_string();
        if a.multi_valued {
            ty.push_str(", multi-valued");
        }
        out.push(AttrRow {
            name: name.clone(),
            kind: kind.to_string(),
            kind_class: kind.to_ascii_lowercase(),
            data_type: ty,
            schema: schema.to_string(),
            delete_href: None,
        });
        def_rows(out, &a.sub_attributes, &name, kind, schema);
    }
}

fn attributes_layout(s: &Signed, title: &str) -> Layout {
    s.layout(title, "attributes")
        .crumb("Admin", "")
        .crumb("System", "")
        .crumb("Attributes", "/admin/attributes")
}

/// `GET /admin/attributes`.
pub async fn attributes(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(attributes_layout(&s, "Attributes"), &Q::new(q));
    let (urn, custom) = st
        .directory
        .custom_attribute_defs(s.tenant())
        .await
        .map_err(|e| scim_error_page(e, s.layout("Error", "attributes"), "Something went wrong"))?;
    // Custom (IDP) attributes first: they are the ones administrators manage here.
    let mut rows = vec![];
    for a in &custom {
        rows.push(AttrRow {
            name: a.name.clone(),
            kind: "IDP".into(),
            kind_class: "idp".into(),
            data_type: a.ty.clone(),
            schema: urn.clone(),
            delete_href: Some(format!(
                "/admin/attributes/{}/delete",
                utf8_percent(&a.name)
            )),
        });
    }
    let common: Vec<AttributeDef> = scim_proto::schema::common_attributes()
        .iter()
        .filter(|a| a.name != "meta")
        .cloned()
        .collect();
    let core = scim_proto::schema::user_schema();
    def_rows(&mut rows, &common, "", "Core", &core.id);
    def_rows(&mut rows, &core.attributes, "", "Core", &core.id);
    let ent = scim_proto::schema::enterprise_user_schema();
    def_rows(&mut rows, &ent.attributes, "", "Enterprise", &ent.id);
    ok(render(
        StatusCode::OK,
        &AttributesPage { layout, urn, rows },
    ))
}

/// Percent-encodes a path segment (attribute names are ASCII letters, digits, `-`, `_`).
fn utf8_percent(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The confirmation page of an attribute's deletion.
#[derive(Template)]
#[template(path = "portal/attribute_delete.html")]
pub struct AttributeDeletePage {
    layout: Layout,
    name: String,
    count_text: String,
    urn: String,
    path: String,
    action: String,
}

/// `GET /admin/attributes/{name}/delete`: how many users hold a value, and a confirm button.
pub async fn attribute_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(name): Path<String>,
) -> Page {
    let layout = attributes_layout(&s, &format!("Delete {name}"));
    let d = &st.directory;
    let (urn, attrs) = d
        .custom_attribute_defs(s.tenant())
        .await
        .map_err(|e| scim_error_page(e, s.layout("Error", "attributes"), "Something went wrong"))?;
    let Some(a) = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(&name)) else {
        return Err(not_found(
            s.layout("Not found", "attributes"),
            "Custom attribute",
        ));
    };
    let n = d
        .attribute_value_count(s.tenant(), &a.name)
        .await
        .map_err(|e| scim_error_page(e, s.layout("Error", "attributes"), "Something went wrong"))?;
    let count_text = match n {
        0 => "No user holds a value for this attribute.".to_string(),
        1 => "1 user holds a value for this attribute; it will be removed.".to_string(),
        n => format!(
            "{} users hold a value for this attribute; their values will be removed.",
            group_digits(n)
        ),
    };
    ok(render(
        StatusCode::OK,
        &AttributeDeletePage {
            layout,
            name: a.name.clone(),
            count_text,
            path: format!("{urn}:{}", a.name),
            urn,
            action: format!("/admin/attributes/{}/delete", utf8_percent(&a.name)),
        },
    ))
}

/// `POST /admin/attributes/{name}/delete`.
pub async fn delete_attribute(
    State(st): State<AppState>,
    Path(name): Path<String>,
    p: Posted,
) -> Page {
    let s = &p.signed;
    match st.directory.delete_attribute(s.tenant(), &name).await {
        Ok(n) => {
            tracing::info!(attribute = %name, values = n, admin = %s.session.username, "custom attribute deleted in the portal");
            Ok(see_other(&format!(
                "/admin/attributes?{}",
                query_string(&[
                    ("ok", "attribute-deleted"),
                    ("name", &name),
                    ("n", &n.to_string())
                ])
            )))
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "attributes"),
            "The attribute was not deleted",
        )),
    }
}

// ---------------------------------------------------------------- users

/// One row of the users list.
#[derive(Debug, Clone)]
pub struct UserRow {
    id: String,
    user_name: String,
    name: String,
    email: String,
    state: String,
    source: String,
    source_text: String,
}

fn person_name(u: &Value) -> String {
    let dn = text(&u["displayName"]);
    if !dn.is_empty() {
        return dn;
    }
    let parts: Vec<String> = [
        text(&u["name"]["givenName"]),
        text(&u["name"]["familyName"]),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    parts.join(" ")
}

fn primary_email(u: &Value) -> String {
    let emails = u["emails"].as_array().cloned().unwrap_or_default();
    emails
        .iter()
        .find(|e| e["primary"] == json!(true))
        .or_else(|| emails.first())
        .map(|e| text(&e["value"]))
        .unwrap_or_default()
}

/// Users › Users.
#[derive(Template)]
#[template(path = "portal/users.html")]
pub struct UsersPage {
    layout: Layout,
    q: String,
    state: String,
    source: String,
    error: Option<String>,
    rows: Vec<UserRow>,
    pager: Pager,
}

/// `GET /users`: search, state and source filters, paged in the database.
pub async fn users(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let layout = noticed(
        s.layout("Users", "users")
            .crumb("Users", "")
            .crumb("Users", ""),
        &q,
    );
    let search = q.get("q");
    let state = q.get("state");
    let source = q.get("source");
    let page = q.page();
    let filter = AdminUserFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        state: UserState::parse(&state),
        source: Source::parse(&source),
    };
    let state = filter
        .state
        .map(|x| x.as_str().to_string())
        .unwrap_or_default();
    let source = filter
        .source
        .map(|x| x.as_str().to_string())
        .unwrap_or_default();
    let (total, users) = st
        .directory
        .admin_list_users(s.tenant(), &filter, (page - 1) * PAGE_SIZE + 1, PAGE_SIZE)
        .await
        .map_err(|e| scim_error_page(e, s.layout("Error", "users"), "Something went wrong"))?;
    let rows: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            id: text(&u["id"]),
            user_name: text(&u["userName"]),
            name: person_name(u),
            email: primary_email(u),
            state: text(&u["state"]),
            source: text(&u["source"]),
            source_text: source_text(u["source"].as_str().unwrap_or("")).to_string(),
        })
        .collect();
    let pager = pager(
        "/users",
        &[("q", &search), ("state", &state), ("source", &source)],
        page,
        rows.len(),
        total,
        "users",
    );
    ok(render(
        StatusCode::OK,
        &UsersPage {
            layout,
            q: search,
            state,
            source,
            error: None,
            rows,
            pager,
        },
    ))
}

/// The form of a new local user.
#[derive(Template)]
#[template(path = "portal/user_new.html")]
pub struct NewUserPage {
    layout: Layout,
    error: Option<String>,
    user_name: String,
    given: String,
    family: String,
    email: String,
    display: String,
}

fn new_user_layout(s: &Signed) -> Layout {
    s.layout("Create local user", "users")
        .crumb("Users", "")
        .crumb("Users", "/users")
        .crumb("Create local user", "")
}

/// `GET /users/new`.
pub async fn new_user_form(s: Signed) -> Page {
    ok(render(
        StatusCode::OK,
        &NewUserPage {
            layout: new_user_layout(&s),
            error: None,
            user_name: String::new(),
            given: String::new(),
            family: String::new(),
            email: String::new(),
            display: String::new(),
        },
    ))
}

/// `POST /users`: creates a local user (the product rules on names and emails apply).
pub async fn create_user(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let f = &p.fields;
    let mut body = json!({
        "userName": f.get("userName").trim(),
        "name": {"givenName": f.get("givenName").trim(), "familyName": f.get("familyName").trim()},
        "emails": [{"value": f.get("email").trim(), "type": "work", "primary": true}],
    });
    if f.get("email").trim().is_empty() {
        body["emails"] = json!([]);
    }
    if !f.get("displayName").trim().is_empty() {
        body["displayName"] = json!(f.get("displayName").trim());
    }
    match st.directory.admin_create_user(s.tenant(), &body).await {
        Ok(u) => {
            let id = text(&u["id"]);
            tracing::info!(user = %id, admin = %s.session.username, "local user created in the portal");
            Ok(see_other(&format!("/users/{id}?ok=user-created")))
        }
        Err(e) if e.status < 500 => Ok(render(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            &NewUserPage {
                layout: new_user_layout(s),
                error: Some(e.detail),
                user_name: f.get("userName").to_string(),
                given: f.get("givenName").to_string(),
                family: f.get("familyName").to_string(),
                email: f.get("email").to_string(),
                display: f.get("displayName").to_string(),
            },
        )),
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "users"),
            "Something went wrong",
        )),
    }
}

/// A user as its page shows it.
#[derive(Debug, Clone)]
pub struct UserView {
    heading: String,
    id: String,
    state: String,
    source: String,
    source_text: String,
    is_scim: bool,
    profile: Vec<(String, String)>,
    created: String,
    modified: String,
    enterprise: Vec<(String, String)>,
    custom: Vec<(String, String)>,
    groups: Vec<(String, String)>,
}

/// A user's page (tabs Profile, Attributes, Groups).
#[derive(Template)]
#[template(path = "portal/user.html")]
pub struct UserPage {
    layout: Layout,
    tab: &'static str,
    u: UserView,
    all_users_id: String,
}

async fn user_page(st: &AppState, s: &Signed, id: &str, tab: &'static str, q: Q) -> Page {
    let d = &st.directory;
    let fail = |e: ScimError| {
        if e.status == 404 {
            not_found(s.layout("User not found", "users"), "User")
        } else {
            scim_error_page(e, s.layout("Error", "users"), "Something went wrong")
        }
    };
    let u = d.admin_get_user(s.tenant(), id).await.map_err(fail)?;
    let (urn, custom) = d.custom_attribute_defs(s.tenant()).await.map_err(fail)?;
    let (_, builtin) = d
        .admin_list_groups(s.tenant(), None, 1, 1)
        .await
        .map_err(fail)?;
    let all_users_id = builtin
        .first()
        .filter(|g| g["builtin"] == json!(true))
        .map(|g| text(&g["id"]))
        .unwrap_or_default();
    let user_name = text(&u["userName"]);
    let mut profile = vec![
        ("userName".to_string(), user_name.clone()),
        ("Given name".to_string(), text(&u["name"]["givenName"])),
        ("Family name".to_string(), text(&u["name"]["familyName"])),
        ("Display name".to_string(), text(&u["displayName"])),
        ("Emails".to_string(), text(&u["emails"])),
    ];
    for (label, key) in [
        ("Title", "title"),
        ("Nickname", "nickName"),
        ("User type", "userType"),
        ("Preferred language", "preferredLanguage"),
        ("Locale", "locale"),
        ("Time zone", "timezone"),
        ("Phone numbers", "phoneNumbers"),
        ("Addresses", "addresses"),
        ("externalId", "externalId"),
    ] {
        let v = text(&u[key]);
        if !v.is_empty() {
            profile.push((label.to_string(), v));
        }
    }
    profile.push(("Active".to_string(), text(&u["active"])));
    let ent = &u[ENTERPRISE_USER_SCHEMA];
    let enterprise = [
        ("department", "department"),
        ("employeeNumber", "employeeNumber"),
        ("costCenter", "costCenter"),
        ("organization", "organization"),
        ("division", "division"),
        ("manager", "manager"),
    ]
    .iter()
    .map(|(label, key)| (label.to_string(), text(&ent[*key])))
    .collect();
    let cvals = &u[urn.as_str()];
    let custom = custom
        .iter()
        .map(|a| (a.name.clone(), text(&cvals[a.name.as_str()])))
        .collect();
    let groups = u["groups"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| (text(&g["id"]), text(&g["displayName"])))
                .collect()
        })
        .unwrap_or_default();
    let source = text(&u["source"]);
    let name = person_name(&u);
    let view = UserView {
        heading: if name.is_empty() {
            user_name.clone()
        } else {
            format!("{name} ({user_name})")
        },
        id: text(&u["id"]),
        state: text(&u["state"]),
        is_scim: source == "scim",
        source_text: source_text(&source).to_string(),
        source,
        profile,
        created: when(&u["meta"]["created"]),
        modified: when(&u["meta"]["lastModified"]),
        enterprise,
        custom,
        groups,
    };
    let tab_title = match tab {
        "attributes" => "Attributes",
        "groups" => "Groups",
        _ => "Profile",
    };
    let layout = noticed(
        s.layout(&format!("{user_name} · {tab_title}"), "users")
            .crumb("Users", "")
            .crumb("Users", "/users")
            .crumb(&user_name, ""),
        &q,
    );
    ok(render(
        StatusCode::OK,
        &UserPage {
            layout,
            tab,
            u: view,
            all_users_id,
        },
    ))
}

/// `GET /users/{id}` (Profile tab).
pub async fn user_profile(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Page {
    user_page(&st, &s, &id, "profile", Q::new(q)).await
}

/// `GET /users/{id}/attributes` (Attributes tab: enterprise and custom values).
pub async fn user_attributes(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Page {
    user_page(&st, &s, &id, "attributes", Q::new(q)).await
}

/// `GET /users/{id}/groups` (Groups tab).
pub async fn user_groups(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Page {
    user_page(&st, &s, &id, "groups", Q::new(q)).await
}

/// The confirmation page of a permanent delete.
#[derive(Template)]
#[template(path = "portal/user_delete.html")]
pub struct UserDeletePage {
    layout: Layout,
    id: String,
    user_name: String,
    state: String,
}

/// `GET /users/{id}/delete`: only for inactive and deprovisioned users.
pub async fn user_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Page {
    let u = st
        .directory
        .admin_get_user(s.tenant(), &id)
        .await
        .map_err(|e| {
            if e.status == 404 {
                not_found(s.layout("User not found", "users"), "User")
            } else {
                scim_error_page(e, s.layout("Error", "users"), "Something went wrong")
            }
        })?;
    let user_name = text(&u["userName"]);
    let state = text(&u["state"]);
    if state == "active" {
        return Err(error_page(
            StatusCode::CONFLICT,
            s.layout("Cannot delete an active user", "users"),
            "Active users cannot be deleted",
            &format!("{user_name} is active. Only inactive or deprovisioned users can be deleted permanently: disable or unassign the user in the identity provider first."),
        ));
    }
    ok(render(
        StatusCode::OK,
        &UserDeletePage {
            layout: s
                .layout(&format!("Delete {user_name}"), "users")
                .crumb("Users", "")
                .crumb("Users", "/users")
                .crumb(&user_name, &format!("/users/{id}"))
                .crumb("Delete permanently", ""),
            id,
            user_name,
            state,
        },
    ))
}

/// `POST /users/{id}/delete`: deletes permanently (recorded in the provisioning log as
/// `deleted`, token `portal:<administrator>`).
pub async fn delete_user(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let d = &st.directory;
    let user_name = d
        .admin_get_user(s.tenant(), &id)
        .await
        .map(|u| text(&u["userName"]))
        .unwrap_or_default();
    let caller = s.caller("POST", &p.path);
    match d.admin_delete_user_logged(s.tenant(), &id, &caller).await {
        Ok(()) => {
            tracing::info!(user = %id, admin = %s.session.username, "user deleted permanently in the portal");
            Ok(see_other(&format!(
                "/users?{}",
                query_string(&[("ok", "user-deleted"), ("name", &user_name)])
            )))
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "users"),
            "The user was not deleted",
        )),
    }
}

// ---------------------------------------------------------------- groups

/// One row of the groups list.
#[derive(Debug, Clone)]
pub struct GroupRow {
    id: String,
    name: String,
    builtin: bool,
    source: String,
    source_text: String,
    members: String,
}

/// Groups.
#[derive(Template)]
#[template(path = "portal/groups.html")]
pub struct GroupsPage {
    layout: Layout,
    q: String,
    rows: Vec<GroupRow>,
    pager: Pager,
    error: Option<String>,
    new_name: String,
}

async fn groups_page(
    st: &AppState,
    s: &Signed,
    q: &Q,
    status: StatusCode,
    error: Option<String>,
    new_name: &str,
) -> Page {
    let layout = noticed(
        s.layout("Groups", "groups")
            .crumb("Users", "")
            .crumb("Groups", ""),
        q,
    );
    let search = q.get("q");
    let page = q.page();
    let (total, groups) = st
        .directory
        .admin_list_groups(
            s.tenant(),
            (!search.is_empty()).then_some(search.as_str()),
            (page - 1) * PAGE_SIZE + 1,
            PAGE_SIZE,
        )
        .await
        .map_err(|e| scim_error_page(e, s.layout("Error", "groups"), "Something went wrong"))?;
    let rows: Vec<GroupRow> = groups
        .iter()
        .map(|g| {
            let builtin = g["builtin"] == json!(true);
            let source = text(&g["source"]);
            GroupRow {
                id: text(&g["id"]),
                name: text(&g["displayName"]),
                builtin,
                source_text: if builtin {
                    "built-in".into()
                } else {
                    source_text(&source).to_string()
                },
                source: if builtin { "core".into() } else { source },
                members: group_digits(g["memberCount"].as_u64().unwrap_or(0)),
            }
        })
        .collect();
    let pager = pager(
        "/groups",
        &[("q", &search)],
        page,
        rows.len(),
        total,
        "groups",
    );
    Ok(render(
        status,
        &GroupsPage {
            layout,
            q: search,
            rows,
            pager,
            error,
            new_name: new_name.to_string(),
        },
    ))
}

/// `GET /groups`.
pub async fn groups(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    groups_page(&st, &s, &Q::new(q), StatusCode::OK, None, "").await
}

/// `POST /groups`: creates a local group.
pub async fn create_group(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("displayName").trim().to_string();
    if name.is_empty() {
        return groups_page(
            &st,
            s,
            &Q(vec![]),
            StatusCode::BAD_REQUEST,
            Some("Enter a group name.".into()),
            "",
        )
        .await;
    }
    match st
        .directory
        .admin_create_group(s.tenant(), &json!({ "displayName": name }))
        .await
    {
        Ok(g) => {
            let id = text(&g["id"]);
            tracing::info!(group = %id, admin = %s.session.username, "local group created in the portal");
            Ok(see_other(&format!("/groups/{id}?ok=group-created")))
        }
        Err(e) if e.status < 500 => {
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
            groups_page(&st, s, &Q(vec![]), status, Some(e.detail), &name).await
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "groups"),
            "Something went wrong",
        )),
    }
}

/// A group as its page shows it.
#[derive(Debug, Clone)]
pub struct GroupView {
    id: String,
    name: String,
    builtin: bool,
    editable: bool,
    source: String,
    source_text: String,
    member_count: String,
    created: String,
    modified: String,
}

/// One member.
#[derive(Debug, Clone)]
pub struct MemberView {
    id: String,
    display: String,
    kind: String,
    state: String,
}

/// A group's page.
#[derive(Template)]
#[template(path = "portal/group.html")]
pub struct GroupPage {
    layout: Layout,
    g: GroupView,
    members: Vec<MemberView>,
    pager: Pager,
    error: Option<String>,
    member_value: String,
}

async fn group_page(
    st: &AppState,
    s: &Signed,
    id: &str,
    q: &Q,
    status: StatusCode,
    error: Option<String>,
    member_value: &str,
) -> Page {
    let page = q.page();
    let g = st
        .directory
        .admin_get_group(s.tenant(), id, (page - 1) * PAGE_SIZE + 1, PAGE_SIZE)
        .await
        .map_err(|e| {
            if e.status == 404 {
                not_found(s.layout("Group not found", "groups"), "Group")
            } else {
                scim_error_page(e, s.layout("Error", "groups"), "Something went wrong")
            }
        })?;
    let builtin = g["builtin"] == json!(true);
    let source = text(&g["source"]);
    let total = g["memberCount"].as_u64().unwrap_or(0);
    let members: Vec<MemberView> = g["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| MemberView {
                    id: text(&m["id"]),
                    display: {
                        let d = text(&m["display"]);
                        if d.is_empty() {
                            text(&m["id"])
                        } else {
                            d
                        }
                    },
                    kind: text(&m["type"]),
                    state: text(&m["state"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let name = text(&g["displayName"]);
    let view = GroupView {
        id: text(&g["id"]),
        name: name.clone(),
        builtin,
        editable: !builtin && source == "local",
        source_text: if builtin {
            "built-in".into()
        } else {
            source_text(&source).to_string()
        },
        source: if builtin { "core".into() } else { source },
        member_count: group_digits(total),
        created: when(&g["created"]),
        modified: when(&g["lastModified"]),
    };
    let pager = pager(
        &format!("/groups/{}", view.id),
        &[],
        page,
        members.len(),
        total,
        "members",
    );
    let layout = noticed(
        s.layout(&name, "groups")
            .crumb("Users", "")
            .crumb("Groups", "/groups")
            .crumb(&name, ""),
        q,
    );
    Ok(render(
        status,
        &GroupPage {
            layout,
            g: view,
            members,
            pager,
            error,
            member_value: member_value.to_string(),
        },
    ))
}

/// `GET /groups/{id}`: the group with a page of its members.
pub async fn group(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Page {
    group_page(&st, &s, &id, &Q::new(q), StatusCode::OK, None, "").await
}

/// The confirmation page of a group's deletion.
#[derive(Template)]
#[template(path = "portal/group_delete.html")]
pub struct GroupDeletePage {
    layout: Layout,
    id: String,
    name: String,
    members: String,
}

/// `GET /groups/{id}/delete`: local groups only.
pub async fn group_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Page {
    let g = st
        .directory
        .admin_get_group(s.tenant(), &id, 1, 0)
        .await
        .map_err(|e| {
            if e.status == 404 {
                not_found(s.layout("Group not found", "groups"), "Group")
            } else {
                scim_error_page(e, s.layout("Error", "groups"), "Something went wrong")
            }
        })?;
    let name = text(&g["displayName"]);
    if g["builtin"] == json!(true) || g["source"] != json!("local") {
        return Err(error_page(
            StatusCode::CONFLICT,
            s.layout("Cannot delete this group", "groups"),
            "This group cannot be deleted here",
            &format!("“{name}” is the built-in group or is provisioned by the identity provider; only local groups can be deleted in the portal."),
        ));
    }
    ok(render(
        StatusCode::OK,
        &GroupDeletePage {
            layout: s
                .layout(&format!("Delete {name}"), "groups")
                .crumb("Users", "")
                .crumb("Groups", "/groups")
                .crumb(&name, &format!("/groups/{id}"))
                .crumb("Delete", ""),
            id,
            members: group_digits(g["memberCount"].as_u64().unwrap_or(0)),
            name,
        },
    ))
}

/// `POST /groups/{id}/delete`.
pub async fn delete_group(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let name = st
        .directory
        .admin_get_group(s.tenant(), &id, 1, 0)
        .await
        .map(|g| text(&g["displayName"]))
        .unwrap_or_default();
    match st.directory.admin_delete_group(s.tenant(), &id).await {
        Ok(()) => {
            tracing::info!(group = %id, admin = %s.session.username, "local group deleted in the portal");
            Ok(see_other(&format!(
                "/groups?{}",
                query_string(&[("ok", "group-deleted"), ("name", &name)])
            )))
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "groups"),
            "The group was not deleted",
        )),
    }
}

/// `POST /groups/{id}/members`: adds the user named by `member` (its userName, ignoring
/// case, or its id).
pub async fn add_member(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let d = &st.directory;
    let wanted = p.fields.get("member").trim().to_string();
    let user_id = if wanted.is_empty() {
        None
    } else if let Ok(u) = d.admin_get_user(s.tenant(), &wanted).await {
        Some(text(&u["id"]))
    } else {
        let f = AdminUserFilter {
            search: Some(wanted.clone()),
            ..Default::default()
        };
        let (_, found) = d
            .admin_list_users(s.tenant(), &f, 1, PAGE_SIZE)
            .await
            .map_err(|e| scim_error_page(e, s.layout("Error", "groups"), "Something went wrong"))?;
        found
            .iter()
            .find(|u| text(&u["userName"]).to_lowercase() == wanted.to_lowercase())
            .map(|u| text(&u["id"]))
    };
    let Some(user_id) = user_id else {
        return group_page(
            &st,
            s,
            &id,
            &Q(vec![]),
            StatusCode::BAD_REQUEST,
            Some(format!("There is no user with userName or id “{wanted}”.")),
            &wanted,
        )
        .await;
    };
    match d.admin_add_members(s.tenant(), &id, &[user_id]).await {
        Ok(_) => Ok(see_other(&format!("/groups/{id}?ok=member-added"))),
        Err(e) if e.status < 500 && e.status != 404 => {
            group_page(
                &st,
                s,
                &id,
                &Q(vec![]),
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                Some(e.detail),
                &wanted,
            )
            .await
        }
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "groups"),
            "The member was not added",
        )),
    }
}

/// `POST /groups/{id}/members/remove`: removes the member whose id is `member`.
pub async fn remove_member(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let member = p.fields.get("member").to_string();
    match st
        .directory
        .admin_remove_members(s.tenant(), &id, std::slice::from_ref(&member))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/groups/{id}?ok=member-removed"))),
        Err(e) => Err(scim_error_page(
            e,
            s.layout("Error", "groups"),
            "The member was not removed",
        )),
    }
}

// ---------------------------------------------------------------- provisioning log

/// The provisioning log.
#[derive(Template)]
#[template(path = "portal/log.html")]
pub struct LogPage {
    layout: Layout,
    outcomes: Vec<(String, bool)>,
    f_type: String,
    f_since: String,
    f_until: String,
    f_text: String,
    error: Option<String>,
    rows: Vec<LogRow>,
    pager: Pager,
    csv_href: String,
    jsonl_href: String,
}

/// A `datetime-local` value (`2026-11-30T11:22` or with seconds), read as UTC, or RFC 3339.
fn parse_local(s: &str) -> Option<time::OffsetDateTime> {
    if s.is_empty() {
        return None;
    }
    parse_time(s)
        .or_else(|| parse_time(&format!("{s}Z")))
        .or_else(|| parse_time(&format!("{s}:00Z")))
}

struct LogFilters {
    query: LogQuery,
    outcome: String,
    rtype: String,
    since: String,
    until: String,
    text: String,
    error: Option<String>,
}

fn log_filters(q: &Q) -> LogFilters {
    let mut error = None;
    let outcome = q.get("outcome").to_lowercase();
    let outcome = if outcome.is_empty() || LOG_OUTCOMES.contains(&outcome.as_str()) {
        outcome
    } else {
        error = Some(format!("Unknown outcome “{outcome}”."));
        String::new()
    };
    let rtype = match q.get("resourceType").to_lowercase().as_str() {
        "user" => "User".to_string(),
        "group" => "Group".to_string(),
        _ => String::new(),
    };
    let since_s = q.get("since");
    let until_s = q.get("until");
    let since = parse_local(&since_s);
    let until = parse_local(&until_s);
    if since.is_none() && !since_s.is_empty() || until.is_none() && !until_s.is_empty() {
        error = Some("Times must look like 2026-11-30T08:00 (UTC).".into());
    }
    let text = q.get("text");
    LogFilters {
        query: LogQuery {
            outcome: (!outcome.is_empty()).then(|| outcome.clone()),
            resource_type: (!rtype.is_empty()).then(|| rtype.clone()),
            since,
            until,
            text: (!text.is_empty()).then(|| text.clone()),
            offset: 0,
            limit: 0,
        },
        outcome,
        rtype,
        since: since_s,
        until: until_s,
        text,
        error,
    }
}

/// `GET /log`: filters (outcome, resource type, time range, text), paged, newest first.
pub async fn log(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let layout = s
        .layout("Provisioning log", "log")
        .crumb("Provisioning log", "");
    let f = log_filters(&q);
    let page = q.page();
    let mut lq = f.query.clone();
    lq.offset = (page - 1) * PAGE_SIZE;
    lq.limit = PAGE_SIZE;
    let (total, entries) = st
        .directory
        .query_log(s.tenant(), &lq)
        .await
        .map_err(|e| scim_error_page(e, s.layout("Error", "log"), "Something went wrong"))?;
    let rows: Vec<LogRow> = entries.iter().map(log_row).collect();
    let base = [
        ("outcome", f.outcome.as_str()),
        ("resourceType", f.rtype.as_str()),
        ("since", f.since.as_str()),
        ("until", f.until.as_str()),
        ("text", f.text.as_str()),
    ];
    let pager = pager("/log", &base, page, rows.len(), total, "entries");
    let export = |fmt: &str| {
        let mut pairs = base.to_vec();
        pairs.insert(0, ("format", fmt));
        with_query("/log/export", &query_string(&pairs))
    };
    ok(render(
        StatusCode::OK,
        &LogPage {
            layout,
            outcomes: LOG_OUTCOMES
                .iter()
                .map(|o| (o.to_string(), *o == f.outcome))
                .collect(),
            f_type: f.rtype.clone(),
            f_since: f.since.clone(),
            f_until: f.until.clone(),
            f_text: f.text.clone(),
            error: f.error.clone(),
            rows,
            pager,
            csv_href: export("csv"),
            jsonl_href: export("jsonl"),
        },
    ))
}

/// `GET /log/export?format=csv|jsonl&...`: every entry matching the filters, as the admin
/// API's download.
pub async fn log_export(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let f = log_filters(&q);
    let format = match q.get("format").as_str() {
        "jsonl" => ExportFormat::JsonLines,
        _ => ExportFormat::Csv,
    };
    crate::admin_export::download(
        st.directory.clone(),
        s.tenant().to_string(),
        f.query,
        format,
    )
    .await
    .map_err(|e: AdminError| {
        error_page(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            s.layout("Download failed", "log"),
            "The download failed",
            &e.message,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(100000), "100,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }

    #[test]
    fn paging_links() {
        let p = pager(
            "/users",
            &[("q", "ann"), ("state", "")],
            1,
            50,
            120,
            "users",
        );
        assert_eq!(p.prev, None);
        assert_eq!(p.next.as_deref(), Some("/users?q=ann&page=2"));
        assert!(p.summary.contains("1–50 of 120"), "{}", p.summary);
        let p = pager("/users", &[], 3, 20, 120, "users");
        assert_eq!(p.prev.as_deref(), Some("/users?page=2"));
        assert_eq!(p.next, None);
        let p = pager("/users", &[], 2, 50, 100, "users");
        assert_eq!(p.prev.as_deref(), Some("/users"));
    }

    #[test]
    fn local_times() {
        assert!(parse_local("2026-11-30T08:00").is_some());
        assert!(parse_local("2026-11-30T08:00:05").is_some());
        assert!(parse_local("2026-11-30T08:00:00Z").is_some());
        assert!(parse_local("yesterday").is_none());
    }

    #[test]
    fn log_links() {
        let r = log_row(
            &json!({"outcome": "created", "resourceType": "User", "resourceId": "u1", "resourceName": "a@b", "time": "2026-11-30T11:22:33.123456Z", "status": 201, "method": "POST"}),
        );
        assert_eq!(r.href.as_deref(), Some("/users/u1"));
        assert_eq!(r.time, "2026-11-30 11:22:33");
        let r = log_row(&json!({"outcome": "deleted", "resourceType": "User", "resourceId": "u1"}));
        assert_eq!(r.href, None);
        let r = log_row(
            &json!({"outcome": "rejected", "resourceType": "User", "status": 400, "method": "POST"}),
        );
        assert_eq!(r.href, None);
    }
}
