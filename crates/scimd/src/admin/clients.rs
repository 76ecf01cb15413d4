//! `/api/v1/clients`: OAuth 2.0 clients of the client credentials grant (never their
//! secrets, except once at creation), and `/api/v1/auth-refusals`: the refused
//! authentications of the tenant, for diagnosing an identity provider that cannot connect.

use super::json;
use super::reply::{created, ok, revoked, AdminError, AdminResult, BASE};
use super::request::{object, string_field, Admin, AdminJson, Query};
use crate::state::AppState;
use axum::extract::{Path, RawQuery};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use scimd_directory::directory::DirectoryError;
use scimd_directory::refusals::REFUSAL_COUNT_DAYS;
use scimd_directory::render::rfc3339;
use scimd_directory::store::ClientRow;
use serde_json::{json, Value};

/// The token endpoint of the tenant whose paths the request came in on:
/// `{public-url}/oauth/token` on the root paths, `{public-url}/t/SLUG/oauth/token` on a
/// tenant's (derived from the request's SCIM base URL, which [`crate::tenancy::resolve`] sets).
pub fn token_url(st: &AppState) -> String {
    let base = st.directory.scim_base();
    let tenant_root = base
        .strip_suffix(crate::state::SCIM_BASE)
        .map(str::to_string)
        .unwrap_or_else(|| st.public_url().to_string());
    format!("{tenant_root}{}", crate::oauth::TOKEN_PATH)
}

/// A client as the API shows it (never its secret or hash).
pub fn client(c: &ClientRow) -> Value {
    json!({
        "clientId": c.id,
        "name": c.name,
        "created": rfc3339(c.created),
        "lastUsed": c.last_used.map(rfc3339),
        "revoked": c.revoked.map(rfc3339),
    })
}

/// `GET /api/v1/clients`: every client, revoked ones included, oldest first.
pub(super) async fn list_clients(Admin(st, c): Admin) -> AdminResult {
    let rows = st.directory.list_clients(&c.tenant_id).await?;
    let mut body = json::all(rows.iter().map(client).collect());
    body["tokenUrl"] = json!(token_url(&st));
    ok(&body)
}

/// `POST /api/v1/clients` `{"name": ...}`: 201 `{clientId, clientSecret, tokenUrl, name,
/// created}`, the secret shown only here.
pub(super) async fn create_client(Admin(st, c): Admin, AdminJson(body): AdminJson) -> AdminResult {
    let obj = object(&body, "{\"name\": \"entra-prod\"}")?;
    if let Some(k) = obj.keys().find(|k| *k != "name") {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a client is created from 'name' only"
        )));
    }
    let name = string_field(obj, "name", true)?.unwrap_or_default();
    let made = match st.directory.create_client(&c.origin(), &name).await {
        Ok(m) => m,
        Err(DirectoryError::Conflict(_)) => {
            return Err(AdminError::new(
                409,
                format!(
                    "a client named '{}' already exists; revoke it first (DELETE {BASE}/clients/CLIENT_ID) or choose another name",
                    name.trim()
                ),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(client = %made.row.id, name = %made.row.name, by = %c.token_name, "OAuth client created through the admin API");
    let mut body = client(&made.row);
    body["clientSecret"] = json!(made.secret);
    body["tokenUrl"] = json!(token_url(&st));
    let mut res = created(&body, None)?;
    // The body carries a secret: no cache along the way may keep it.
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `DELETE /api/v1/clients/{clientId}`: 204; 404 when no active client has the id.
pub(super) async fn revoke_client(Admin(st, c): Admin, Path(id): Path<String>) -> AdminResult {
    let done = st.directory.revoke_client(&c.origin(), &id).await?;
    if done {
        tracing::info!(client = %id, by = %c.token_name, "OAuth client revoked through the admin API");
    }
    revoked(done, &format!("client with the id '{id}'"), "clients")
}

/// `GET /api/v1/auth-refusals?hours=24`: the counts of refused authentications per hour
/// and reason over the last `hours` (1 to 720, default 24), newest first, and the last
/// refusals kept (newest first).
pub(super) async fn auth_refusals(Admin(st, c): Admin, RawQuery(q): RawQuery) -> AdminResult {
    let max = REFUSAL_COUNT_DAYS * 24;
    let hours = Query::new(q, &["hours"])?.int("hours")?.unwrap_or(24);
    if !(1..=max).contains(&hours) {
        return Err(AdminError::bad_request(format!(
            "hours must be 1 to {max}, got {hours}"
        )));
    }
    let (counts, recent) = st.refusals.list(&c.tenant_id, hours).await?;
    let counts: Vec<Value> = counts
        .iter()
        .map(|c| json!({"hour": rfc3339(c.hour), "reason": c.reason, "count": c.count}))
        .collect();
    let recent: Vec<Value> = recent
        .iter()
        .map(|r| {
            json!({"at": rfc3339(r.at), "reason": r.reason, "credential": r.credential,
                "method": r.method, "path": r.path, "address": r.address})
        })
        .collect();
    ok(&json!({"hours": hours, "counts": counts, "recent": recent}))
}
