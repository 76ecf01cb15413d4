//! `/api/v1/tokens`: API tokens (never their secrets, except once at creation).

use super::json;
use super::reply::{created, no_content, ok, AdminError, AdminResult, BASE};
use super::request::{name_and, Admin, AdminJson};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use scimd_directory::directory::DirectoryError;
use scimd_directory::render::rfc3339;
use scimd_directory::store::TokenScope;
use serde_json::json;

pub(super) async fn list_tokens(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    let rows = st.directory.list_tokens(&c.tenant_id).await?;
    ok(&json::all(rows.iter().map(json::token).collect()))
}

pub(super) async fn create_token(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let example = "{\"name\": \"entra-prod\", \"scope\": \"scim\"}";
    let (name, scope) = name_and(&body, "scope", "a token", example)?;
    let scope = match scope {
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
        .create_token(&c.origin(), &trimmed, scope)
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
    let mut res = created(
        &json!({"name": trimmed, "scope": scope.as_str(), "secret": secret, "created": created_at}),
        None,
    )?;
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

pub(super) async fn revoke_token(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(name): Path<String>,
) -> AdminResult {
    if st.directory.revoke_token(&c.origin(), &name).await? {
        tracing::info!(token = %name, by = %c.token_name, "token revoked through the admin API");
        Ok(no_content())
    } else {
        Err(AdminError::not_found(format!(
            "no active token named '{name}' (GET {BASE}/tokens lists them)"
        )))
    }
}
