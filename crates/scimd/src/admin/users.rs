//! `/api/v1/users`: users in every state, local users, permanent deletes.

use super::json;
use super::records::Kind;
use super::reply::{created, no_content, ok, AdminError, AdminResult, BASE};
use super::request::{object, Admin, AdminJson, Query, DEFAULT_COUNT};
use crate::state::AppState;
use axum::extract::{Path, RawQuery};
use scimd_directory::audit::ResourceType;
use scimd_directory::directory::Caller;
use scimd_directory::store::{AdminUserFilter, Source, UserState};
use serde_json::Value;

pub(super) async fn list_users(Admin(st, c): Admin, RawQuery(q): RawQuery) -> AdminResult {
    let q = Query::new(q, &["search", "state", "source", "startIndex", "count"])?;
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

pub(super) async fn create_user(Admin(st, c): Admin, AdminJson(body): AdminJson) -> AdminResult {
    object(
        &body,
        "a user with SCIM attribute names: userName, name, emails ...",
    )?;
    let u = st.directory.admin_create_user(&c.origin(), &body).await?;
    created(&json::user(&u), Some(format!("{BASE}/users/{}", u.id)))
}

pub(super) async fn get_user(Admin(st, c): Admin, Path(id): Path<String>) -> AdminResult {
    ok(&json::user(
        &st.directory.admin_get_user(&c.tenant_id, &id).await?,
    ))
}

/// `PATCH /api/v1/users/{id}` and `PATCH /api/v1/groups/{id}`: a change of a local user
/// ([`patch_user`]) or group ([`super::groups::patch_group`]) whose id is in the path.
pub(super) async fn patch<K: Kind>(
    Admin(st, c): Admin,
    Path(id): Path<String>,
    AdminJson(body): AdminJson,
) -> AdminResult {
    match K::TYPE {
        ResourceType::User => patch_user(&st, &c, &id, &body).await,
        ResourceType::Group => super::groups::patch_group(&st, &c, &id, &body).await,
    }
}

/// `PATCH /api/v1/users/{id}`: a merge of SCIM attribute names to set on a local user
/// ([`scimd_directory::Directory::admin_update_user`]); 200 with the user after.
async fn patch_user(st: &AppState, c: &Caller, id: &str, body: &Value) -> AdminResult {
    object(
        body,
        "SCIM attribute names to set, e.g. {\"displayName\": \"Ada\", \"active\": false}",
    )?;
    let u = st
        .directory
        .admin_update_user(&c.origin(), id, body)
        .await?;
    ok(&json::user(&u))
}

/// How `DELETE /api/v1/users/{id}` deletes: `mode=permanent` (the default) or `mode=soft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeleteMode {
    Permanent,
    Soft,
}

impl DeleteMode {
    fn parse(s: &str) -> Option<DeleteMode> {
        match s.to_ascii_lowercase().as_str() {
            "permanent" => Some(DeleteMode::Permanent),
            "soft" => Some(DeleteMode::Soft),
            _ => None,
        }
    }
}

/// `DELETE /api/v1/users/{id}[?mode=soft|permanent]`: 204. Without `mode`, or with
/// `permanent`, a permanent delete (inactive or deprovisioned users only); `soft` soft
/// deletes a local user. Another `mode`: 400.
pub(super) async fn delete_user(
    Admin(st, c): Admin,
    RawQuery(q): RawQuery,
    Path(id): Path<String>,
) -> AdminResult {
    let q = Query::new(q, &["mode"])?;
    let mode = match q.get("mode") {
        None => DeleteMode::Permanent,
        Some(m) => DeleteMode::parse(m.trim()).ok_or_else(|| {
            AdminError::bad_request(format!(
                "mode must be soft (the user becomes deprovisioned and can be enabled again) or permanent (the default: the user is removed for good); got '{m}'"
            ))
        })?,
    };
    match mode {
        DeleteMode::Permanent => st.directory.admin_delete_user(&c.origin(), &id).await?,
        DeleteMode::Soft => {
            st.directory
                .admin_soft_delete_user(&c.origin(), &id)
                .await?;
        }
    }
    Ok(no_content())
}
