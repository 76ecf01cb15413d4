//! `/api/v1/attributes`: the tenant's custom attributes.

use super::reply::{created, list_body, no_content, ok, AdminError, AdminResult, BASE};
use super::request::{object, string_field, Admin, AdminJson};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderValue;

/// Response header of `DELETE /api/v1/attributes/{name}`: how many users held a value that
/// was removed with the attribute.
pub const REMOVED_VALUES_HEADER: &str = "scimd-removed-values";

// ---------------------------------------------------------------- custom attributes

pub(super) async fn list_attributes(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    let attrs = st.directory.list_attributes(&c.tenant_id).await?;
    let n = attrs.len() as u64;
    ok(&list_body(n, 1, attrs))
}

pub(super) async fn create_attribute(
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

pub(super) async fn get_attribute(
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

pub(super) async fn delete_attribute(
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
