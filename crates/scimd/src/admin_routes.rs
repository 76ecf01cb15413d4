//! The admin API under `/api/v1`: JSON over HTTP for administrators and the portal, over
//! the same directory SCIM clients provision into.
//!
//! Authentication: `Authorization: Bearer <secret>` of a token of scope `admin` (create one
//! with `scimd token create --name NAME --scope admin`, or `POST /api/v1/tokens`). No token,
//! or a malformed, unknown or revoked one: 401 with `WWW-Authenticate: Bearer realm="scimd"`;
//! a token of scope `scim`: 403 (and an admin token gets 403 on `/scim/v2`). A wrong method
//! is answered 405 before authentication. `GET /api/v1/openapi.json` is public (it describes
//! the API and holds no data).
//!
//! Every error, whoever produces it (a handler, the router's 404 and 405, a body that is not
//! JSON, a body over the size limit), is `application/json`:
//! `{"error": {"status": 409, "message": "<what went wrong and what to do>"}}`, with that
//! status. Client mistakes are 4xx; 500 only for storage failures.
//!
//! | method | path                                   | success                                        |
//! |--------|----------------------------------------|------------------------------------------------|
//! | GET    | `/api/v1/users`                        | 200 list (`search`, `state`, `source`, paging) |
//! | POST   | `/api/v1/users`                        | 201 local user (SCIM attribute names)          |
//! | GET    | `/api/v1/users/{id}`                   | 200 user in any state                          |
//! | DELETE | `/api/v1/users/{id}`                   | 204 permanent delete (409 for active users)    |
//! | GET    | `/api/v1/groups`                       | 200 list (`search`, paging)                    |
//! | POST   | `/api/v1/groups`                       | 201 local group                                |
//! | GET    | `/api/v1/groups/{id}`                  | 200 group with a page of members               |
//! | DELETE | `/api/v1/groups/{id}`                  | 204 (409 for built-in and provisioned groups)  |
//! | POST   | `/api/v1/groups/{id}/members`          | 200 `{added, memberCount}` (local groups)      |
//! | DELETE | `/api/v1/groups/{id}/members/{userId}` | 204 (local groups; 404 when not a member)      |
//! | GET    | `/api/v1/attributes`                   | 200 list of custom attributes                  |
//! | POST   | `/api/v1/attributes`                   | 201 attribute                                  |
//! | GET    | `/api/v1/attributes/{name}`            | 200 attribute with `usersWithValue`            |
//! | DELETE | `/api/v1/attributes/{name}`            | 204, header `Scimd-Removed-Values: <n>`        |
//! | GET    | `/api/v1/settings`                     | 200 settings                                   |
//! | PATCH  | `/api/v1/settings`                     | 200 full settings after the change             |
//! | GET    | `/api/v1/tokens`                       | 200 list (never secrets or hashes)             |
//! | POST   | `/api/v1/tokens`                       | 201 `{name, scope, secret, created}` (secret shown once) |
//! | DELETE | `/api/v1/tokens/{name}`                | 204 (404 when no active token has the name)    |
//! | GET    | `/api/v1/provisioning-log`             | 200 page, or a CSV / JSON Lines download       |
//! | GET    | `/api/v1/dashboard`                    | 200 counts, SCIM tenant URL, recent entries    |
//! | GET    | `/api/v1/openapi.json`                 | 200 OpenAPI 3.1 document (public)              |
//!
//! Lists answer `{"totalResults", "startIndex", "itemsPerPage", "Resources"}`; paged ones
//! take `startIndex` (1-based, below 1 counts as 1) and `count` (default
//! [`DEFAULT_COUNT`], at most [`scimd_directory::admin::ADMIN_MAX_PAGE`], negative counts
//! as 0). Every DELETE answers 204 without a body. The document served at
//! `/api/v1/openapi.json` ([`crate::admin_openapi`]) describes every route; a test checks
//! that the router and the document list the same routes.

use crate::admin_export::{self, ExportFormat};
use crate::auth::bearer_secret;
use crate::body::JsonBody;
use crate::errors::BEARER_CHALLENGE;
use crate::query::decode_query;
use crate::server::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, RawQuery, Request, State};
use axum::handler::Handler;
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, on, MethodFilter};
use axum::Router;
use scim_proto::ScimError;
use scimd_directory::admin::ADMIN_MAX_PAGE;
use scimd_directory::directory::{Caller, DirectoryError, RequestInfo};
use scimd_directory::store::{AdminUserFilter, LogQuery, Source, TokenRow, TokenScope, UserState};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The admin API's base path.
pub const BASE: &str = "/api/v1";

/// Page size of the paged lists when `count` is not given.
pub const DEFAULT_COUNT: u64 = 50;

/// Outcomes the provisioning log records (the `outcome` filter accepts these).
pub const LOG_OUTCOMES: &[&str] = &[
    "created",
    "updated",
    "disabled",
    "enabled",
    "deprovisioned",
    "revived",
    "adopted",
    "group deleted",
    "deleted",
    "rejected",
];

/// Response header of `DELETE /api/v1/attributes/{name}`: how many users held a value that
/// was removed with the attribute.
pub const REMOVED_VALUES_HEADER: &str = "scimd-removed-values";

// ---------------------------------------------------------------- errors

/// An admin API error: an HTTP status and a message a person can act on. Renders as
/// `{"error": {"status": <number>, "message": "..."}}` (`application/json`); a 401 carries
/// `WWW-Authenticate: Bearer realm="scimd"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    /// HTTP status (400..=599; anything else renders as 500).
    pub status: u16,
    /// What went wrong, and what to do about it.
    pub message: String,
}

impl AdminError {
    /// An error with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> AdminError {
        Self::new(400, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> AdminError {
        Self::new(404, message)
    }
}

impl From<ScimError> for AdminError {
    fn from(e: ScimError) -> Self {
        AdminError::new(e.status, e.detail)
    }
}

impl From<DirectoryError> for AdminError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Invalid(m) => AdminError::bad_request(m),
            DirectoryError::Conflict(m) => AdminError::new(409, m),
            DirectoryError::Store(s) => {
                tracing::error!(error = %s, "store error");
                AdminError::new(
                    500,
                    "the directory could not complete the request because of a storage error; it changed nothing and may be retried",
                )
            }
        }
    }
}

/// The JSON body of an admin error.
pub fn error_body(status: u16, message: &str) -> Value {
    json!({"error": {"status": status, "message": message}})
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            crate::metrics::store_error();
        }
        let mut res = json_response(status, &error_body(status.as_u16(), &self.message));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BEARER_CHALLENGE));
        }
        res
    }
}

type AdminResult = Result<Response, AdminError>;

/// A JSON response (`application/json`).
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut res = Response::new(Body::from(bytes));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

fn ok(body: &Value) -> AdminResult {
    Ok(json_response(StatusCode::OK, body))
}

fn created(body: &Value, location: Option<String>) -> AdminResult {
    let mut res = json_response(StatusCode::CREATED, body);
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(LOCATION, v);
    }
    Ok(res)
}

fn no_content() -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// Middleware on every `/api/v1` route: rewrites error responses that are not JSON (the
/// router's 405 for a wrong method, extractor rejections such as a malformed path
/// segment) into admin error bodies, keeping their status and headers (`Allow` among them).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if is_json {
        return res;
    }
    // The `Allow` header is added outside this layer: name the methods from the route table.
    let allow = template
        .map(|t| {
            route_table()
                .into_iter()
                .filter(|r| r.path == t)
                .map(|r| r.method)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED if allow.is_empty() => {
            format!("method {method} is not allowed on {path}")
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("method {method} is not allowed on {path}; allowed: {allow}")
        }
        StatusCode::NOT_FOUND => no_endpoint(&method, &path),
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than this server accepts".to_string()
        }
        s => {
            // An extractor rejection (e.g. a path segment that is not valid UTF-8): its
            // text is short and meant for the client.
            let (_, body) = res.into_parts();
            let bytes = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            let message = if text.is_empty() {
                s.canonical_reason().unwrap_or("error").to_string()
            } else {
                text
            };
            return AdminError::new(s.as_u16(), message).into_response();
        }
    };
    let (mut parts, _) = res.into_parts();
    let fresh = AdminError::new(status.as_u16(), message).into_response();
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    for (k, v) in fresh_parts.headers.iter() {
        parts.headers.insert(k, v.clone());
    }
    Response::from_parts(parts, body)
}

fn no_endpoint(method: &Method, path: &str) -> String {
    format!(
        "no endpoint {method} {path}: see GET {BASE}/openapi.json for the routes of the admin API"
    )
}

/// Any request under `/api/v1` that no route matches: 404.
async fn unknown_route(method: Method, uri: axum::http::Uri) -> Response {
    AdminError::not_found(no_endpoint(&method, uri.path())).into_response()
}

// ---------------------------------------------------------------- authentication

/// The authenticated caller of an admin route: extracting it requires a bearer token of
/// scope `admin`. 401 (with `WWW-Authenticate`) without a valid token, 403 for a token of
/// scope `scim`. It is an extractor rather than a route layer so that a wrong method is
/// answered 405 before any authentication, and so handlers list it first (nothing is read
/// from the request before the caller is known).
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let secret = match bearer_secret(&parts.headers) {
            Err(e) => {
                tracing::warn!("admin API authentication failed: malformed Authorization header");
                return Err(e.into());
            }
            Ok(None) => {
                return Err(AdminError::new(
                    401,
                    "authentication required: send `Authorization: Bearer <secret>` with the secret of an admin token (create one with `scimd token create --name NAME --scope admin`)",
                ))
            }
            Ok(Some(s)) => s,
        };
        let Some(caller) = state.directory.authenticate(&secret).await? else {
            tracing::warn!("admin API authentication failed: unknown or revoked token");
            return Err(AdminError::new(
                401,
                "the bearer token is not valid: it is unknown or has been revoked",
            ));
        };
        if caller.scope != TokenScope::Admin {
            tracing::warn!(token = %caller.token_name, "a token of scope scim was used on the admin API");
            return Err(AdminError::new(
                403,
                format!(
                    "the token '{}' has scope {}, which is for SCIM provisioning; the admin API needs a token of scope admin (`scimd token create --name NAME --scope admin`)",
                    caller.token_name,
                    caller.scope.as_str()
                ),
            ));
        }
        let mut caller = caller;
        caller.request = RequestInfo {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
        };
        Ok(Admin(caller))
    }
}

// ---------------------------------------------------------------- request helpers

/// A JSON request body under the configured size limit; errors render as admin errors
/// (400 for an empty body or invalid JSON, 413 for a body over the limit).
#[derive(Debug)]
pub struct AdminJson(pub Value);

impl FromRequest<AppState> for AdminJson {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match JsonBody::from_request(req, state).await {
            Ok(JsonBody(v)) => Ok(AdminJson(v)),
            Err(e) => Err(e.0.into()),
        }
    }
}

fn object<'a>(
    body: &'a Value,
    what: &str,
) -> Result<&'a serde_json::Map<String, Value>, AdminError> {
    body.as_object().ok_or_else(|| {
        AdminError::bad_request(format!("the request body must be a JSON object ({what})"))
    })
}

/// Decoded query parameters (names compared ignoring case; the first value wins).
struct Query(Vec<(String, String)>);

impl Query {
    fn new(raw: Option<String>) -> Query {
        Query(decode_query(raw.as_deref()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A non-blank parameter, trimmed.
    fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    fn int(&self, name: &str) -> Result<Option<i64>, AdminError> {
        match self.get(name).map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                AdminError::bad_request(format!("{name} must be an integer, got '{s}'"))
            }),
        }
    }

    /// `startIndex` (1-based; below 1 counts as 1) and `count` (default `default`, negative
    /// counts as 0, at most [`ADMIN_MAX_PAGE`]).
    fn page(&self, default: u64) -> Result<(u64, u64), AdminError> {
        self.page_named("startIndex", "count", default)
    }

    fn page_named(&self, start: &str, count: &str, default: u64) -> Result<(u64, u64), AdminError> {
        let s = self.int(start)?.unwrap_or(1).max(1) as u64;
        let c = match self.int(count)? {
            None => default,
            Some(n) => (n.max(0) as u64).min(ADMIN_MAX_PAGE),
        };
        Ok((s, c))
    }

    fn time(&self, name: &str) -> Result<Option<OffsetDateTime>, AdminError> {
        match self.text(name) {
            None => Ok(None),
            Some(s) => parse_time(&s).map(Some).ok_or_else(|| {
                AdminError::bad_request(format!(
                    "{name} must be an RFC 3339 date and time such as 2026-01-31T08:00:00Z, got '{s}'"
                ))
            }),
        }
    }
}

/// Parses an RFC 3339 timestamp. A space where the offset's `+` should be (a `+` left
/// unescaped in a query string decodes as a space) is read as `+`.
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&s.replace(' ', "+"), &Rfc3339).ok())
}

fn list_body(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn string_field(
    obj: &serde_json::Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<String>, AdminError> {
    match obj.get(key) {
        None | Some(Value::Null) if required => {
            Err(AdminError::bad_request(format!("'{key}' is required")))
        }
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AdminError::bad_request(format!("'{key}' must be a string"))),
    }
}

// ---------------------------------------------------------------- route table

/// One route of the admin API: method and path template (`{id}` parameters, as in the
/// OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AdminRoute {
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// Full path template, e.g. `/api/v1/users/{id}`.
    pub path: &'static str,
}

/// Builds the router and the table of its routes together, so the two cannot disagree.
struct Routes {
    router: Router<AppState>,
    table: Vec<AdminRoute>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        self.router = self.router.route(path, on(filter, handler));
        self.table.push(AdminRoute {
            method: static_method(&method),
            path,
        });
        self
    }
}

fn static_method(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// The authenticated routes (method, path, handler), in one place. Every handler takes an
/// [`Admin`] first.
fn protected() -> Routes {
    use Method as M;
    Routes::new()
        .add(M::GET, "/api/v1/users", list_users)
        .add(M::POST, "/api/v1/users", create_user)
        .add(M::GET, "/api/v1/users/{id}", get_user)
        .add(M::DELETE, "/api/v1/users/{id}", delete_user)
        .add(M::GET, "/api/v1/groups", list_groups)
        .add(M::POST, "/api/v1/groups", create_group)
        .add(M::GET, "/api/v1/groups/{id}", get_group)
        .add(M::DELETE, "/api/v1/groups/{id}", delete_group)
        .add(M::POST, "/api/v1/groups/{id}/members", add_members)
        .add(
            M::DELETE,
            "/api/v1/groups/{id}/members/{userId}",
            remove_member,
        )
        .add(M::GET, "/api/v1/attributes", list_attributes)
        .add(M::POST, "/api/v1/attributes", create_attribute)
        .add(M::GET, "/api/v1/attributes/{name}", get_attribute)
        .add(M::DELETE, "/api/v1/attributes/{name}", delete_attribute)
        .add(M::GET, "/api/v1/settings", get_settings)
        .add(M::PATCH, "/api/v1/settings", patch_settings)
        .add(M::GET, "/api/v1/tokens", list_tokens)
        .add(M::POST, "/api/v1/tokens", create_token)
        .add(M::DELETE, "/api/v1/tokens/{name}", revoke_token)
        .add(M::GET, "/api/v1/provisioning-log", provisioning_log)
        .add(M::GET, "/api/v1/dashboard", dashboard)
}

/// The public routes (no token needed).
fn public() -> Routes {
    Routes::new().add(Method::GET, "/api/v1/openapi.json", openapi)
}

/// Every route of the admin API, sorted by path then method. The OpenAPI document lists
/// exactly these (checked by a test).
pub fn route_table() -> Vec<AdminRoute> {
    let mut t = protected().table;
    t.extend(public().table);
    t.sort_by(|a, b| (a.path, a.method).cmp(&(b.path, b.method)));
    t
}

/// The `/api/v1` router: the authenticated routes (their handlers take an [`Admin`]), the
/// public OpenAPI document, a JSON 404 for any other path under `/api/v1`, and JSON error
/// bodies for everything (see [`json_errors`]).
pub fn routes() -> Router<AppState> {
    protected()
        .router
        .merge(public().router)
        .route(BASE, any(unknown_route))
        .route("/api/v1/", any(unknown_route))
        .route("/api/v1/{*rest}", any(unknown_route))
        .layer(from_fn(json_errors))
}

// ---------------------------------------------------------------- users

async fn list_users(
    State(st): State<AppState>,
    Admin(c): Admin,
    RawQuery(q): RawQuery,
) -> AdminResult {
    let q = Query::new(q);
    let state = match q.text("state") {
        None => None,
        Some(s) => Some(UserState::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            AdminError::bad_request(format!(
                "state must be active, inactive or deprovisioned, got '{s}'"
            ))
        })?),
    };
    let source = match q.text("source") {
        None => None,
        Some(s) => Some(Source::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            AdminError::bad_request(format!("source must be local or scim, got '{s}'"))
        })?),
    };
    let filter = AdminUserFilter {
        search: q.text("search"),
        state,
        source,
    };
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let (total, users) = st
        .directory
        .admin_list_users(&c.tenant_id, &filter, start, count)
        .await?;
    ok(&list_body(total, start, users))
}

async fn create_user(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    object(
        &body,
        "a user with SCIM attribute names: userName, name, emails ...",
    )?;
    let u = st.directory.admin_create_user(&c.tenant_id, &body).await?;
    let loc = u["id"].as_str().map(|id| format!("{BASE}/users/{id}"));
    created(&u, loc)
}

async fn get_user(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
) -> AdminResult {
    ok(&st.directory.admin_get_user(&c.tenant_id, &id).await?)
}

async fn delete_user(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
) -> AdminResult {
    st.directory.admin_delete_user(&c.tenant_id, &id).await?;
    Ok(no_content())
}

// ---------------------------------------------------------------- groups

async fn list_groups(
    State(st): State<AppState>,
    Admin(c): Admin,
    RawQuery(q): RawQuery,
) -> AdminResult {
    let q = Query::new(q);
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let search = q.text("search");
    let (total, groups) = st
        .directory
        .admin_list_groups(&c.tenant_id, search.as_deref(), start, count)
        .await?;
    ok(&list_body(total, start, groups))
}

async fn create_group(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let obj = object(&body, "{\"displayName\": \"...\"}")?;
    let name = string_field(obj, "displayName", true)?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(AdminError::bad_request("'displayName' must not be blank"));
    }
    let g = st.directory.admin_create_group(&c.tenant_id, &body).await?;
    let loc = g["id"].as_str().map(|id| format!("{BASE}/groups/{id}"));
    created(&g, loc)
}

async fn get_group(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AdminResult {
    let (start, count) = Query::new(q).page(DEFAULT_COUNT)?;
    ok(&st
        .directory
        .admin_get_group(&c.tenant_id, &id, start, count)
        .await?)
}

async fn delete_group(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
) -> AdminResult {
    st.directory.admin_delete_group(&c.tenant_id, &id).await?;
    Ok(no_content())
}

/// Member ids of a `{"members": [...]}` body: strings, or objects with `value` (as in SCIM)
/// or `id`.
fn member_ids(body: &Value) -> Result<Vec<String>, AdminError> {
    let obj = object(body, "{\"members\": [\"<user id>\", ...]}")?;
    let arr = obj
        .get("members")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            AdminError::bad_request(
                "'members' is required: an array of user ids, e.g. {\"members\": [\"<user id>\"]}",
            )
        })?;
    let mut ids = Vec::with_capacity(arr.len());
    for m in arr {
        let id = m
            .as_str()
            .or_else(|| m.get("value").and_then(Value::as_str))
            .or_else(|| m.get("id").and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                AdminError::bad_request(format!(
                    "each member must be a user id (a string), got {m}"
                ))
            })?;
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(AdminError::bad_request(
            "'members' is empty: give at least one user id",
        ));
    }
    Ok(ids)
}

async fn add_members(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let ids = member_ids(&body)?;
    let added = st
        .directory
        .admin_add_members(&c.tenant_id, &id, &ids)
        .await?;
    let g = st
        .directory
        .admin_get_group(&c.tenant_id, &id, 1, 0)
        .await?;
    ok(&json!({"added": added, "memberCount": g["memberCount"]}))
}

async fn remove_member(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> AdminResult {
    let n = st
        .directory
        .admin_remove_members(&c.tenant_id, &id, std::slice::from_ref(&user_id))
        .await?;
    if n == 0 {
        return Err(AdminError::not_found(format!(
            "{user_id} is not a member of group {id}"
        )));
    }
    Ok(no_content())
}

// ---------------------------------------------------------------- custom attributes

async fn list_attributes(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    let attrs = st.directory.list_attributes(&c.tenant_id).await?;
    let n = attrs.len() as u64;
    ok(&list_body(n, 1, attrs))
}

async fn create_attribute(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let obj = object(&body, "{\"name\": \"costCode\", \"type\": \"string\"}")?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "name" | "type")) {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': an attribute is created from 'name' and 'type'"
        )));
    }
    let name = string_field(obj, "name", true)?.unwrap_or_default();
    let ty = string_field(obj, "type", false)?;
    let a = st
        .directory
        .create_attribute(&c.tenant_id, &name, ty.as_deref())
        .await?;
    let loc = a["name"].as_str().map(|n| format!("{BASE}/attributes/{n}"));
    created(&a, loc)
}

async fn get_attribute(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(name): Path<String>,
) -> AdminResult {
    let attrs = st.directory.list_attributes(&c.tenant_id).await?;
    let a = attrs
        .into_iter()
        .find(|a| {
            a["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        })
        .ok_or_else(|| {
            AdminError::not_found(format!(
                "no custom attribute named '{name}' (GET {BASE}/attributes lists them)"
            ))
        })?;
    ok(&a)
}

async fn delete_attribute(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(name): Path<String>,
) -> AdminResult {
    let n = st.directory.delete_attribute(&c.tenant_id, &name).await?;
    let mut res = no_content();
    res.headers_mut()
        .insert(REMOVED_VALUES_HEADER, HeaderValue::from(n));
    Ok(res)
}

// ---------------------------------------------------------------- settings

async fn get_settings(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    ok(&st.directory.get_settings(&c.tenant_id).await?.to_json())
}

async fn patch_settings(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    object(
        &body,
        "any of customSchemaUrn, blankValuePolicy, refuseInactiveCreate",
    )?;
    ok(&st
        .directory
        .update_settings(&c.tenant_id, &body)
        .await?
        .to_json())
}

// ---------------------------------------------------------------- tokens

fn rfc3339(t: OffsetDateTime) -> String {
    scimd_directory::render::rfc3339(t)
}

/// A token as the admin API shows it: never the secret or its hash.
pub fn token_json(t: &TokenRow) -> Value {
    json!({
        "name": t.name,
        "scope": t.scope.as_str(),
        "created": rfc3339(t.created),
        "lastUsed": t.last_used.map(rfc3339),
        "revoked": t.revoked.map(rfc3339),
    })
}

async fn list_tokens(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    let rows = st.directory.list_tokens(&c.tenant_id).await?;
    let items: Vec<Value> = rows.iter().map(token_json).collect();
    ok(&list_body(items.len() as u64, 1, items))
}

async fn create_token(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let obj = object(&body, "{\"name\": \"entra-prod\", \"scope\": \"scim\"}")?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "name" | "scope")) {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a token is created from 'name' and 'scope'"
        )));
    }
    let name = string_field(obj, "name", true)?.unwrap_or_default();
    let scope = match string_field(obj, "scope", false)? {
        None => TokenScope::Scim,
        Some(s) => TokenScope::parse(s.trim()).ok_or_else(|| {
            AdminError::bad_request(format!(
                "scope must be scim (for an identity provider) or admin (for this API), got '{s}'"
            ))
        })?,
    };
    let trimmed = name.trim().to_string();
    let secret = match st
        .directory
        .create_token(&c.tenant_id, &trimmed, scope)
        .await
    {
        Ok(s) => s,
        Err(DirectoryError::Conflict(_)) => return Err(duplicate_token(&trimmed)),
        Err(e) => return Err(e.into()),
    };
    let created_at = st
        .directory
        .list_tokens(&c.tenant_id)
        .await?
        .into_iter()
        .rev()
        .find(|t| t.revoked.is_none() && t.name == trimmed)
        .map(|t| rfc3339(t.created));
    tracing::info!(token = %trimmed, scope = scope.as_str(), by = %c.token_name, "token created through the admin API");
    created(
        &json!({"name": trimmed, "scope": scope.as_str(), "secret": secret, "created": created_at}),
        None,
    )
}

fn duplicate_token(name: &str) -> AdminError {
    AdminError::new(
        409,
        format!("a token named '{name}' already exists; revoke it first (DELETE {BASE}/tokens/{name}) or choose another name"),
    )
}

async fn revoke_token(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(name): Path<String>,
) -> AdminResult {
    if st.directory.revoke_token(&c.tenant_id, &name).await? {
        tracing::info!(token = %name, by = %c.token_name, "token revoked through the admin API");
        Ok(no_content())
    } else {
        Err(AdminError::not_found(format!(
            "no active token named '{name}' (GET {BASE}/tokens lists them)"
        )))
    }
}

// ---------------------------------------------------------------- provisioning log

/// The filters of a provisioning-log request (`outcome`, `resourceType`, `since`, `until`,
/// `text`), without paging.
fn log_filters(q: &Query) -> Result<LogQuery, AdminError> {
    let outcome = match q.text("outcome") {
        None => None,
        Some(o) => {
            let lower = o.to_ascii_lowercase();
            if !LOG_OUTCOMES.contains(&lower.as_str()) {
                return Err(AdminError::bad_request(format!(
                    "outcome must be one of {}; got '{o}'",
                    LOG_OUTCOMES.join(", ")
                )));
            }
            Some(lower)
        }
    };
    let resource_type = match q.text("resourceType") {
        None => None,
        Some(t) => Some(match t.to_ascii_lowercase().as_str() {
            "user" => "User".to_string(),
            "group" => "Group".to_string(),
            _ => {
                return Err(AdminError::bad_request(format!(
                    "resourceType must be User or Group, got '{t}'"
                )))
            }
        }),
    };
    let since = q.time("since")?;
    let until = q.time("until")?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(AdminError::bad_request(format!(
                "since ({}) is after until ({})",
                rfc3339(s),
                rfc3339(u)
            )));
        }
    }
    Ok(LogQuery {
        outcome,
        resource_type,
        since,
        until,
        text: q.text("text"),
        offset: 0,
        limit: 0,
    })
}

/// The download format a request asks for: the `format` parameter (`csv`, `jsonl`, or
/// `json` for a page), else the `Accept` header (`text/csv`, `application/x-ndjson`).
fn export_format(q: &Query, headers: &HeaderMap) -> Result<Option<ExportFormat>, AdminError> {
    if let Some(f) = q.text("format") {
        return match f.to_ascii_lowercase().as_str() {
            "csv" => Ok(Some(ExportFormat::Csv)),
            "jsonl" | "ndjson" => Ok(Some(ExportFormat::JsonLines)),
            "json" => Ok(None),
            _ => Err(AdminError::bad_request(format!(
                "format must be csv or jsonl (a download of every matching entry), or json (a page); got '{f}'"
            ))),
        };
    }
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&"text/csv") {
        Ok(Some(ExportFormat::Csv))
    } else if types.iter().any(|t| {
        matches!(
            *t,
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines"
        )
    }) {
        Ok(Some(ExportFormat::JsonLines))
    } else {
        Ok(None)
    }
}

async fn provisioning_log(
    State(st): State<AppState>,
    Admin(c): Admin,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let q = Query::new(q);
    let mut lq = log_filters(&q)?;
    if let Some(format) = export_format(&q, &headers)? {
        return admin_export::download(st.directory.clone(), c.tenant_id.clone(), lq, format).await;
    }
    let (start, count) = q.page(DEFAULT_COUNT)?;
    lq.offset = start - 1;
    lq.limit = count;
    let (total, entries) = st.directory.query_log(&c.tenant_id, &lq).await?;
    ok(&list_body(total, start, entries))
}

// ---------------------------------------------------------------- dashboard, OpenAPI

/// The public base URL (`https://host`), from the directory's SCIM base URL.
pub fn public_base(st: &AppState) -> String {
    let b = st.directory.base_url();
    b.strip_suffix(crate::scim_routes::BASE)
        .unwrap_or(b)
        .to_string()
}

async fn dashboard(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    let counts = st.directory.counts(&c.tenant_id).await?;
    let recent = LogQuery {
        limit: 10,
        ..Default::default()
    };
    let (log_total, recent_log) = st.directory.query_log(&c.tenant_id, &recent).await?;
    let rejected = LogQuery {
        outcome: Some("rejected".into()),
        limit: 10,
        ..Default::default()
    };
    let (rejected_total, recent_rejected) = st.directory.query_log(&c.tenant_id, &rejected).await?;
    ok(&json!({
        "scimTenantUrl": st.directory.base_url(),
        "counts": counts,
        "logEntries": log_total,
        "rejectedEntries": rejected_total,
        "recentLog": recent_log,
        "recentRejected": recent_rejected,
    }))
}

async fn openapi(State(st): State<AppState>) -> AdminResult {
    ok(&crate::admin_openapi::document(&public_base(&st)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::new(Some(s.to_string()))
    }

    #[test]
    fn paging_parameters() {
        assert_eq!(q("").page(50).unwrap(), (1, 50));
        assert_eq!(q("startIndex=0&count=-3").page(50).unwrap(), (1, 0));
        assert_eq!(q("startindex=11&COUNT=100000").page(50).unwrap(), (11, 500));
        assert_eq!(q("startIndex=x").page(50).unwrap_err().status, 400);
        assert_eq!(q("count=1.5").page(50).unwrap_err().status, 400);
    }

    #[test]
    fn times() {
        assert!(parse_time("2026-01-31T08:00:00Z").is_some());
        // `+` decoded as a space from a query string
        let t = parse_time("2026-01-31T08:00:00 02:00").unwrap();
        assert_eq!(t.offset().whole_hours(), 2);
        assert!(parse_time("2026-01-31").is_none());
        assert!(q("since=yesterday").time("since").is_err());
    }

    #[test]
    fn log_filter_validation() {
        let lq = log_filters(&q("outcome=Rejected&resourceType=user&text=%20bob%20")).unwrap();
        assert_eq!(lq.outcome.as_deref(), Some("rejected"));
        assert_eq!(lq.resource_type.as_deref(), Some("User"));
        assert_eq!(lq.text.as_deref(), Some("bob"));
        assert_eq!(log_filters(&q("outcome=nope")).unwrap_err().status, 400);
        assert_eq!(
            log_filters(&q("resourceType=Device")).unwrap_err().status,
            400
        );
        assert_eq!(
            log_filters(&q("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn export_negotiation() {
        let none = HeaderMap::new();
        let mut csv = HeaderMap::new();
        csv.insert(
            ACCEPT,
            HeaderValue::from_static("text/csv;q=0.9, */*;q=0.1"),
        );
        let mut nd = HeaderMap::new();
        nd.insert(ACCEPT, HeaderValue::from_static("application/x-ndjson"));
        assert_eq!(export_format(&q(""), &none).unwrap(), None);
        assert_eq!(
            export_format(&q("format=CSV"), &none).unwrap(),
            Some(ExportFormat::Csv)
        );
        assert_eq!(
            export_format(&q("format=jsonl"), &csv).unwrap(),
            Some(ExportFormat::JsonLines)
        );
        assert_eq!(
            export_format(&q(""), &csv).unwrap(),
            Some(ExportFormat::Csv)
        );
        assert_eq!(
            export_format(&q(""), &nd).unwrap(),
            Some(ExportFormat::JsonLines)
        );
        assert_eq!(export_format(&q("format=json"), &csv).unwrap(), None);
        assert_eq!(
            export_format(&q("format=xml"), &none).unwrap_err().status,
            400
        );
    }

    #[test]
    fn member_bodies() {
        assert_eq!(
            member_ids(&json!({"members": ["a", {"value": "b"}, {"id": "c"}, "a"]})).unwrap(),
            vec!["a", "b", "c"]
        );
        assert_eq!(member_ids(&json!({"members": []})).unwrap_err().status, 400);
        assert_eq!(
            member_ids(&json!({"members": [1]})).unwrap_err().status,
            400
        );
        assert_eq!(member_ids(&json!(["a"])).unwrap_err().status, 400);
    }

    #[test]
    fn route_table_has_no_duplicates() {
        let t = route_table();
        let mut d = t.clone();
        d.dedup();
        assert_eq!(t, d);
        assert!(t
            .iter()
            .all(|r| r.path.starts_with(BASE) && r.method != "OTHER"));
    }
}

/// Router-level checks that need no database: a store that is always down stands in, so
/// only routing, authentication before any store access, and error shapes are exercised.
#[cfg(test)]
mod router_checks {
    use super::*;
    use crate::server::router;
    use async_trait::async_trait;
    use axum::http::header::ALLOW;
    use scimd_directory::directory::Directory;
    use scimd_directory::store::{Store, StoreError, StoreResult, Tx};
    use std::sync::Arc;
    use tower::ServiceExt;

    struct DownStore;

    #[async_trait]
    impl Store for DownStore {
        async fn read(&self) -> StoreResult<Box<dyn Tx>> {
            Err(StoreError::Backend("down".into()))
        }
        async fn write(&self) -> StoreResult<Box<dyn Tx>> {
            Err(StoreError::Backend("down".into()))
        }
        async fn ping(&self) -> StoreResult<()> {
            Err(StoreError::Backend("down".into()))
        }
    }

    async fn call(method: &str, path: &str, auth: Option<&str>) -> (u16, HeaderMap, Value) {
        let app = router(AppState {
            directory: Directory::new(Arc::new(DownStore), "http://admin.test/scim/v2"),
            max_body_bytes: 4096,
        });
        let mut b = axum::http::Request::builder().method(method).uri(path);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let res = app.oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
            .await
            .unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn concrete(path: &str) -> String {
        path.replace("{id}", "x1")
            .replace("{userId}", "u1")
            .replace("{name}", "n1")
    }

    fn assert_admin_error(status: u16, headers: &HeaderMap, body: &Value, want: u16) {
        assert_eq!(status, want, "{body}");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert_eq!(body["error"]["status"], want, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }

    /// Every route of the table is served (an unauthenticated request reaches the auth
    /// layer: 401), every other method on its path is a JSON 405 with `Allow`.
    #[tokio::test]
    async fn table_matches_router() {
        let table = route_table();
        for r in &table {
            let path = concrete(r.path);
            let (s, h, b) = call(r.method, &path, None).await;
            if r.path.ends_with("openapi.json") {
                assert_eq!(s, 200, "{} {path}", r.method);
                continue;
            }
            assert_admin_error(s, &h, &b, 401);
            assert_eq!(h[WWW_AUTHENTICATE], BEARER_CHALLENGE);
            for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                if table.iter().any(|x| x.path == r.path && x.method == m) {
                    continue;
                }
                let (s, h, b) = call(m, &path, None).await;
                assert_admin_error(s, &h, &b, 405);
                assert!(h.contains_key(ALLOW), "{m} {path}");
                let msg = b["error"]["message"].as_str().unwrap();
                assert!(
                    msg.contains(&format!("allowed: {}", r.method))
                        || msg.contains(&format!(", {}", r.method)),
                    "{msg}"
                );
            }
        }
    }

    #[tokio::test]
    async fn unknown_routes_are_json_404s() {
        for p in [
            "/api/v1",
            "/api/v1/",
            "/api/v1/nope",
            "/api/v1/users/a/b/c",
            "/api/v2/users",
        ] {
            let (s, h, b) = call("GET", p, Some("Bearer x")).await;
            if p.starts_with("/api/v1") {
                assert_admin_error(s, &h, &b, 404);
            } else {
                assert_eq!(s, 404);
            }
        }
    }

    #[tokio::test]
    async fn store_failure_during_auth_is_a_json_500() {
        let (s, h, b) = call("GET", "/api/v1/users", Some("Bearer abc")).await;
        assert_admin_error(s, &h, &b, 500);
        let (s, h, b) = call("GET", "/api/v1/users", Some("Basic abc")).await;
        assert_admin_error(s, &h, &b, 401);
    }

    #[tokio::test]
    async fn openapi_document_is_public_and_names_the_server() {
        let (s, _, b) = call("GET", "/api/v1/openapi.json", None).await;
        assert_eq!(s, 200);
        assert_eq!(b["openapi"], "3.1.0");
        assert_eq!(b["servers"][0]["url"], "http://admin.test");
    }
}
