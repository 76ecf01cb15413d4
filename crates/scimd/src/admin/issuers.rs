//! `/api/v1/issuers`: the OIDC issuers whose JWT access tokens SCIM clients may present
//! (Entra workload identity federation; see [`crate::issuers`]).
//!
//! `POST` takes `{"issuer", "audience", "appIds": [..], "metadataUrl"?, "jwksFile"?}` and
//! answers 201 with the issuer (the shape of [`issuer_json`]); `DELETE
//! /api/v1/issuers/{issuer}` takes the issuer's id or its URL (percent-encoded) and answers
//! 204. The metadata URL is checked against the server's outbound address rule.

use super::reply::{created, no_content, ok, AdminError, AdminResult, BASE};
use super::request::{object, string_field, Admin, AdminJson};
use crate::issuers::records::{add, issuer_json};
use axum::extract::Path;
use scimd_directory::issuers::new_issuer;
use scimd_directory::store::IssuerRow;
use serde_json::Value;

pub(super) async fn list_issuers(Admin(st, c): Admin) -> AdminResult {
    let rows = st.directory.list_issuers(&c.tenant_id).await?;
    ok(&super::json::all(rows.iter().map(issuer_json).collect()))
}

/// The keys of a `POST` body.
const KEYS: [&str; 5] = ["issuer", "audience", "appIds", "metadataUrl", "jwksFile"];

/// The issuer a `POST` body describes for `tenant_id`, checked.
fn issuer_of(body: &Value, tenant_id: &str) -> Result<IssuerRow, AdminError> {
    let example = "{\"issuer\": \"https://sts.windows.net/TENANT-ID/\", \"audience\": \"api://scimd\", \"appIds\": [\"APP-ID\"]}";
    let obj = object(body, example)?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': an issuer is added from {}",
            KEYS.join(", ")
        )));
    }
    let app_ids =
        match obj.get("appIds") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| AdminError::bad_request("'appIds' must be an array of strings"))?,
            Some(Value::String(s)) => vec![s.clone()],
            None | Some(Value::Null) => return Err(AdminError::bad_request(
                "'appIds' is required: the application ids (appid, azp or client_id) whose tokens to accept",
            )),
            Some(_) => {
                return Err(AdminError::bad_request(
                    "'appIds' must be an array of strings",
                ))
            }
        };
    let issuer = string_field(obj, "issuer", true)?.unwrap_or_default();
    let audience = string_field(obj, "audience", true)?.unwrap_or_default();
    let metadata_url = string_field(obj, "metadataUrl", false)?;
    let jwks_file = string_field(obj, "jwksFile", false)?;
    let (meta, file) = (metadata_url.as_deref(), jwks_file.as_deref());
    Ok(new_issuer(
        tenant_id, &issuer, &audience, &app_ids, meta, file,
    )?)
}

pub(super) async fn add_issuer(Admin(st, c): Admin, AdminJson(body): AdminJson) -> AdminResult {
    let row = issuer_of(&body, &c.tenant_id)?;
    let row = add(&st.directory, &c.origin(), row, st.issuers.outbound()).await?;
    tracing::info!(issuer = %row.issuer, by = %c.token_name, "issuer added through the admin API");
    let location = format!("{BASE}/issuers/{}", row.id);
    created(&issuer_json(&row), Some(location))
}

pub(super) async fn remove_issuer(Admin(st, c): Admin, Path(issuer): Path<String>) -> AdminResult {
    let Some(row) = st.directory.remove_issuer(&c.origin(), &issuer).await? else {
        let hint = "GET /api/v1/issuers lists them; give its id or its URL, percent-encoded";
        return Err(AdminError::not_found(format!(
            "no issuer {issuer} ({hint})"
        )));
    };
    tracing::info!(issuer = %row.issuer, by = %c.token_name, "issuer removed through the admin API");
    Ok(no_content())
}
