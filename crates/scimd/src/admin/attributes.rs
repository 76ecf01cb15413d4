//! `/api/v1/attributes`: the tenant's custom attributes.

use super::json;
use super::reply::{created, no_content, ok, AdminError, AdminResult, BASE};
use super::request::{name_and, Admin, AdminJson};
use axum::extract::Path;
use axum::http::HeaderValue;
use scimd_directory::DirectoryError;

/// Response header of `DELETE /api/v1/attributes/{name}`: how many users held a value that
/// was removed with the attribute.
pub const REMOVED_VALUES_HEADER: &str = "scimd-removed-values";

pub(super) async fn list_attributes(Admin(st, c): Admin) -> AdminResult {
    let attrs = st.directory.list_attributes(&c.tenant_id).await?;
    ok(&json::all(attrs.iter().map(json::attribute).collect()))
}

pub(super) async fn create_attribute(
    Admin(st, c): Admin,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let example = "{\"name\": \"costCode\", \"type\": \"string\"}";
    let (name, ty) = name_and(&body, "type", "an attribute", example)?;
    let a = st
        .directory
        .create_attribute(&c.origin(), &name, ty.as_deref())
        .await?;
    created(
        &json::attribute(&a),
        Some(format!("{BASE}/attributes/{}", a.name)),
    )
}

pub(super) async fn get_attribute(Admin(st, c): Admin, Path(name): Path<String>) -> AdminResult {
    match st.directory.custom_attribute(&c.tenant_id, &name).await {
        Ok(a) => ok(&json::attribute(&a)),
        Err(DirectoryError::NotFound(_)) => Err(AdminError::not_found(format!(
            "no custom attribute named '{name}' (GET {BASE}/attributes lists them)"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn delete_attribute(Admin(st, c): Admin, Path(name): Path<String>) -> AdminResult {
    let n = st.directory.delete_attribute(&c.origin(), &name).await?;
    let mut res = no_content();
    res.headers_mut()
        .insert(REMOVED_VALUES_HEADER, HeaderValue::from(n));
    Ok(res)
}
