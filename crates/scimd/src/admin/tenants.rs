//! `/api/v1/tenants`: the operator API (issue 15), served only at the root and only to
//! operator tokens ([`Operator`]; `scimd token create --name NAME --scope operator`). It does
//! what `scimd tenant` does: create, list, show, disable, enable and delete tenants. Each
//! action is recorded in the operator realm's audit record and in the tenant's own
//! ([`scimd_directory::operators`]).
//!
//! | method | path                      | success                                                   |
//! |--------|---------------------------|-----------------------------------------------------------|
//! | GET    | `/api/v1/tenants`         | 200 list of `{slug, name, state, users, groups, created, lastScimRequest}` |
//! | POST   | `/api/v1/tenants`         | 201 `{slug, name, scimUrl, scimToken, tokenUrl, portalUrl, adminUsername, adminPassword}` (secrets shown once) |
//! | GET    | `/api/v1/tenants/{slug}`  | 200 the tenant                                            |
//! | PATCH  | `/api/v1/tenants/{slug}`  | 200 the tenant after `{"state": "active"\|"disabled"}`    |
//! | DELETE | `/api/v1/tenants/{slug}`  | 202 the tenant, `deleting` (its rows go in the background) |

use super::json;
use super::reply::{created, json_response, ok, AdminError, AdminResult};
use super::request::{object, string_field, AdminJson, Operator};
use crate::state::AppState;
use crate::tenancy::TenantUrls;
use crate::tenancy::OPERATOR_API;
use axum::extract::Path;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use scimd_directory::operators::acting_as;
use scimd_directory::store::TenantState;

/// `GET /api/v1/tenants`: every tenant, oldest first, with its counts.
pub(super) async fn list_tenants(Operator(st, _): Operator) -> AdminResult {
    let all = st.directory.tenants().await?;
    ok(&json::all(all.iter().map(json::tenant).collect()))
}

/// `POST /api/v1/tenants`: `{"name": ..., "slug": ...}` (`slug` optional: derived from the
/// name). 201 with the tenant's SCIM Tenant URL, first SCIM secret token, token endpoint,
/// portal and first administrator's username and password, shown this once
/// (`Cache-Control: no-store`); `Location: /api/v1/tenants/SLUG`. 400 for a bad name or
/// slug, 409 when another tenant has either.
pub(super) async fn create_tenant(
    Operator(st, c): Operator,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let example = "{\"name\": \"Contoso Ltd\", \"slug\": \"contoso\"}";
    let obj = object(&body, example)?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "name" | "slug")) {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a tenant is created from 'name' and 'slug'"
        )));
    }
    let name = string_field(obj, "name", true)?.unwrap_or_default();
    let slug = string_field(obj, "slug", false)?;
    let origin = c.origin();
    let (tenant, made) = st
        .directory
        .create_tenant(&acting_as(&origin), &name, slug.as_deref())
        .await?;
    tracing::info!(slug = %tenant.slug, by = %c.token_name, "tenant created through the operator API");
    let urls = TenantUrls::of(st.public_url(), &tenant.slug);
    let body = json::created_tenant(&tenant, &made, &urls);
    let mut res = created(&body, Some(format!("{OPERATOR_API}/{}", tenant.slug)))?;
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /api/v1/tenants/{slug}`: the tenant with its counts; 404 when there is none.
pub(super) async fn get_tenant(Operator(st, _): Operator, Path(slug): Path<String>) -> AdminResult {
    ok(&json::tenant(&st.directory.tenant(&slug).await?))
}

/// `PATCH /api/v1/tenants/{slug}`: `{"state": "disabled"}` disables the tenant (its SCIM
/// endpoints, admin API and portal answer 403; nothing is lost), `{"state": "active"}`
/// enables it again. 200 with the tenant after; 400 for another body; 404 when there is no
/// such tenant; 409 while it is being deleted.
pub(super) async fn patch_tenant(
    Operator(st, c): Operator,
    Path(slug): Path<String>,
    AdminJson(body): AdminJson,
) -> AdminResult {
    let example = "{\"state\": \"disabled\"}";
    let obj = object(&body, example)?;
    if let Some(k) = obj.keys().find(|k| k.as_str() != "state") {
        return Err(AdminError::bad_request(format!(
            "unknown key '{k}': a tenant's 'state' is what can be changed, e.g. {example}"
        )));
    }
    let state = match string_field(obj, "state", true)?.as_deref() {
        Some("active") => TenantState::Active,
        Some("disabled") => TenantState::Disabled,
        other => {
            return Err(AdminError::bad_request(format!(
                "state must be \"active\" or \"disabled\" (DELETE deletes a tenant), got {}",
                other
                    .map(|s| format!("'{s}'"))
                    .unwrap_or_else(|| "nothing".into())
            )))
        }
    };
    let origin = c.origin();
    st.directory
        .set_tenant_state(&acting_as(&origin), &slug, state)
        .await?;
    ok(&json::tenant(&st.directory.tenant(&slug).await?))
}

/// `DELETE /api/v1/tenants/{slug}`: starts deleting the tenant and everything of it, for
/// good: no write of it is accepted from then on, its paths answer 404 at once on this server
/// (within a second on every other); its rows are deleted in the background in small
/// transactions (resumed at the next start after a crash); its slug stays reserved. 202
/// with the tenant (`state: "deleting"`, its counts as the deletion started). 404 when there is none; 409 for the root tenant
/// (`--root-tenant`: configure another first).
pub(super) async fn delete_tenant(
    Operator(st, c): Operator,
    Path(slug): Path<String>,
) -> AdminResult {
    // Its counts as the deletion starts (404 when there is no such tenant).
    let mut summary = st.directory.tenant(&slug).await?;
    let (origin, root) = (c.origin(), st.root_tenant.as_deref());
    summary.tenant = st
        .directory
        .start_tenant_deletion(&acting_as(&origin), &slug, root)
        .await?;
    purge_in_background(&st);
    Ok(json_response(StatusCode::ACCEPTED, &json::tenant(&summary)))
}

/// Deletes the rows of the tenants being deleted, step by step, in the background (a
/// failure is logged; the next start resumes).
pub(crate) fn purge_in_background(st: &AppState) {
    let dir = st.directory.clone();
    tokio::spawn(async move {
        match dir.resume_tenant_deletions().await {
            Ok(n) => tracing::info!(rows = n, "tenant deletion finished"),
            Err(e) => {
                tracing::warn!(error = %e, "tenant deletion stopped; it resumes at the next start")
            }
        }
    });
}
