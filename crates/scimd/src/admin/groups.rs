//! `/api/v1/groups`: groups of both sources, local groups and their members.

use super::json;
use super::reply::{created, no_content, ok, AdminError, AdminResult, BASE};
use super::request::{object, string_field, Admin, AdminJson, Query, DEFAULT_COUNT};
use crate::state::AppState;
use axum::extract::{Path, RawQuery};
use scimd_directory::admin::LocalMembers;
use scimd_directory::directory::Caller;
use serde_json::{json, Value};

pub(super) async fn list_groups(Admin(st, c): Admin, RawQuery(q): RawQuery) -> AdminResult {
    let q = Query::new(q, &["search", "startIndex", "count"])?;
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let search = q.text("search");
    let (total, groups) = st
        .directory
        .admin_list_groups(&c.tenant_id, search.as_deref(), start, count)
        .await?;
    let groups: Vec<Value> = groups.iter().map(json::group).collect();
    ok(&json::list(total, start, groups))
}

/// `POST /api/v1/groups` with `{"displayName": "...", "externalId": "..."}` (`externalId`
/// optional): creates a local group; 201 with it. Any other key (members are added
/// afterwards, under `/members`), or a displayName that is not a non-blank string: 400,
/// nothing created.
pub(super) async fn create_group(Admin(st, c): Admin, AdminJson(body): AdminJson) -> AdminResult {
    let obj = object(&body, "{\"displayName\": \"...\"}")?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["displayName", "externalId"].contains(&k.as_str()))
    {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a local group is created from displayName (and optionally externalId) alone; add its members afterwards with POST /api/v1/groups/{{id}}/members"
        )));
    }
    let name = string_field(obj, "displayName", true)?.unwrap_or_default();
    if name.trim().is_empty() {
        return Err(AdminError::bad_request("'displayName' must not be blank"));
    }
    let g = st.directory.admin_create_group(&c.origin(), &body).await?;
    created(&json::group(&g), Some(format!("{BASE}/groups/{}", g.id)))
}

pub(super) async fn get_group(
    Admin(st, c): Admin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AdminResult {
    let (start, count) = Query::new(q, &["startIndex", "count"])?.page(DEFAULT_COUNT)?;
    let page = st
        .directory
        .admin_get_group(&c.tenant_id, &id, start, count)
        .await?;
    ok(&json::group_page(&page))
}

/// `PATCH /api/v1/groups/{id}` with `{"displayName": "..."}` (through
/// [`super::users::patch`]): renames a local group; 200 with the group after. Any other
/// key, or a displayName that is not a non-blank string: 400.
pub(super) async fn patch_group(st: &AppState, c: &Caller, id: &str, body: &Value) -> AdminResult {
    let obj = object(body, "{\"displayName\": \"<new name>\"}")?;
    if let Some(k) = obj.keys().find(|k| *k != "displayName") {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a local group's only changeable attribute is 'displayName' (its members change under /members)"
        )));
    }
    let name = string_field(obj, "displayName", true)?.unwrap_or_default();
    let g = st
        .directory
        .admin_rename_group(&c.origin(), id, &name)
        .await?;
    ok(&json::group(&g))
}

pub(super) async fn delete_group(Admin(st, c): Admin, Path(id): Path<String>) -> AdminResult {
    st.directory.admin_delete_group(&c.origin(), &id).await?;
    Ok(no_content())
}

/// Member ids of a `{"members": [...]}` body: strings, or objects with `value` (as in SCIM)
/// or `id`.
fn member_ids(body: &Value) -> Result<Vec<String>, AdminError> {
    let obj = object(body, "{\"members\": [\"<user id>\", ...]}")?;
    if let Some(k) = obj.keys().find(|k| *k != "members") {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': the body is {{\"members\": [\"<user id>\", ...]}} alone"
        )));
    }
    let arr = match obj.get("members") {
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(AdminError::bad_request(format!(
                "'members' must be an array of user ids, e.g. {{\"members\": [\"<user id>\"]}}, got {other}"
            )))
        }
        None => {
            return Err(AdminError::bad_request(
                "'members' is required: an array of user ids, e.g. {\"members\": [\"<user id>\"]}",
            ))
        }
    };
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

pub(super) async fn add_members(
    Admin(st, c): Admin,
    Path(id): Path<String>,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let ids = member_ids(&body)?;
    let added = st
        .directory
        .admin_edit_members(&c.origin(), &id, LocalMembers::Add(&ids))
        .await?;
    let g = st
        .directory
        .admin_get_group(&c.tenant_id, &id, 1, 0)
        .await?;
    ok(&json!({"added": added, "memberCount": g.group.member_count}))
}

pub(super) async fn remove_member(
    Admin(st, c): Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> AdminResult {
    let n = st
        .directory
        .admin_edit_members(
            &c.origin(),
            &id,
            LocalMembers::Remove(std::slice::from_ref(&user_id)),
        )
        .await?;
    if n == 0 {
        return Err(AdminError::not_found(format!(
            "{user_id} is not a member of group {id}"
        )));
    }
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
