//! `/api/v1/tokens`: API tokens (never their secrets, except once at creation).

use super::json;
use super::reply::{created, ok, revoked, AdminError, AdminResult, BASE};
use super::request::{object, string_field, Admin, AdminJson};
use axum::extract::Path;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use scimd_directory::directory::DirectoryError;
use scimd_directory::store::TokenScope;
use serde_json::json;

pub(super) async fn list_tokens(Admin(st, c): Admin) -> AdminResult {
    let rows = st.directory.list_tokens(&c.tenant_id).await?;
    ok(&json::all(rows.iter().map(json::token).collect()))
}

/// `POST /api/v1/tokens`: `{"name": ..., "scope": "scim"|"admin", "expiresIn": "90d"}`
/// (`scope` default `scim`; `expiresIn` a whole number of `m`, `h` or `d`, absent or null:
/// never expires). 201 with the secret (shown once) and `expires` (RFC 3339 or null).
pub(super) async fn create_token(Admin(st, c): Admin, AdminJson(body): AdminJson) -> AdminResult {
    let example = "{\"name\": \"entra-prod\", \"scope\": \"scim\", \"expiresIn\": \"90d\"}";
    let obj = object(&body, example)?;
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "scope" | "expiresIn"))
    {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a token is created from 'name', 'scope' and 'expiresIn'"
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
    let lifetime = match string_field(obj, "expiresIn", false)? {
        None => None,
        Some(v) => Some(
            crate::lifetime::parse(&v, crate::lifetime::TOKEN_UNITS)
                .map_err(|e| AdminError::bad_request(format!("expiresIn: {e}")))?,
        ),
    };
    let trimmed = name.trim().to_string();
    let (secret, row) = match st
        .directory
        .create_token(&c.origin(), &trimmed, scope, lifetime)
        .await
    {
        Ok(made) => made,
        Err(DirectoryError::Conflict(_)) => return Err(duplicate_token(&trimmed)),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(token = %trimmed, scope = scope.as_str(), by = %c.token_name, "token created through the admin API");
    let mut body = json::token(&row);
    body["secret"] = json!(secret);
    let mut res = created(&body, None)?;
    // The body carries a secret: no cache along the way may keep it.
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn duplicate_token(name: &str) -> AdminError {
    AdminError::new(
        409,
        format!("a token named '{name}' already exists; revoke it first (DELETE {BASE}/tokens/{name}) or choose another name"),
    )
}

pub(super) async fn revoke_token(Admin(st, c): Admin, Path(name): Path<String>) -> AdminResult {
    let done = st.directory.revoke_token(&c.origin(), &name).await?;
    if done {
        tracing::info!(token = %name, by = %c.token_name, "token revoked through the admin API");
    }
    revoked(done, &format!("token named '{name}'"), "tokens")
}
