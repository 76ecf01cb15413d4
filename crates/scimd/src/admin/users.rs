//! `/api/v1/users`: users in every state, local users, permanent deletes.

use super::json;
use super::reply::{created, no_content, ok, AdminResult, BASE};
use super::request::{object, Admin, AdminJson, Query, DEFAULT_COUNT};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use scimd_directory::store::{AdminUserFilter, Source, UserState};
use serde_json::Value;

pub(super) async fn list_users(
    State(st): State<AppState>,
    Admin(c): Admin,
    RawQuery(q): RawQuery,
) -> AdminResult {
    let q = Query::new(q);
    let state = |s: &str| UserState::parse(&s.to_ascii_lowercase());
    let state = q.choice("state", state, "active, inactive, deprovisioned")?;
    let source = |s: &str| Source::parse(&s.to_ascii_lowercase());
    let source = q.choice("source", source, "local, scim")?;
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
    let users: Vec<Value> = users.iter().map(json::user).collect();
    ok(&json::list(total, start, users))
}

pub(super) async fn create_user(
    State(st): State<AppState>,
    Admin(c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    object(
        &body,
        "a user with SCIM attribute names: userName, name, emails ...",
    )?;
    let u = st.directory.admin_create_user(&c.origin(), &body).await?;
    created(&json::user(&u), Some(format!("{BASE}/users/{}", u.id)))
}

pub(super) async fn get_user(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
) -> AdminResult {
    ok(&json::user(
        &st.directory.admin_get_user(&c.tenant_id, &id).await?,
    ))
}

pub(super) async fn delete_user(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
) -> AdminResult {
    st.directory.admin_delete_user(&c.origin(), &id).await?;
    Ok(no_content())
}
