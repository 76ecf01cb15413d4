//! The OpenAPI description of the operator API, `/api/v1/tenants` (paths and schemas).

use super::{created, list_of, ok, op, r, request, responses, with};
use scimd_directory::store::TenantState;
use serde_json::{json, Map, Value};

/// The security requirement of the operator API's operations: an operator token.
fn operator(m: Map<String, Value>) -> Map<String, Value> {
    with(m, "security", json!([{"operatorAuth": []}]))
}

/// `/api/v1/tenants`.
pub(super) fn tenants_path() -> Value {
    json!({
        "get": operator(with(op("listTenants", "tenants", "List tenants",
            "Operator API (an operator token; only at the root, never under /t/SLUG). Every tenant this server serves, oldest first, with its counts."),
            "responses", responses(&[("200", ok("The tenants", r("TenantList")))], &[]))),
        "post": operator(with(with(op("createTenant", "tenants", "Create a tenant",
            "Operator API. Creates a tenant with its built-in All Users group, a first SCIM token and a first administrator (to change their password at first sign-in), and answers once the URLs and secrets to give the customer (`Cache-Control: no-store`). `slug` is derived from the name when absent (lowercased, other runs of characters made `-`); it matches ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$ and is not one of t, api, scim, oauth, operator, assets, well-known. 400 for a bad name or slug, 409 when another tenant has the name or the slug (slugs of deleted tenants stay taken); never a silent suffix."),
            "requestBody", request(r("TenantCreate"), json!({"name": "Contoso Ltd", "slug": "contoso"}))),
            "responses", responses(&[("201", created("The tenant and its first secrets; `Location` names it", "/api/v1/tenants/{slug}", r("TenantCreated")))], &[400, 409, 413])))
    })
}

/// `/api/v1/tenants/{slug}`.
pub(super) fn tenant_path() -> Value {
    json!({
        "parameters": [{"name": "slug", "in": "path", "required": true,
            "description": "The tenant's slug", "schema": {"type": "string"}}],
        "get": operator(with(op("getTenant", "tenants", "Get a tenant",
            "Operator API. The tenant with its counts. 404 when no tenant has the slug."),
            "responses", responses(&[("200", ok("The tenant", r("Tenant")))], &[404]))),
        "patch": operator(with(with(op("updateTenant", "tenants", "Disable or enable a tenant",
            "Operator API. `{\"state\": \"disabled\"}`: the tenant's SCIM endpoints, admin API and portal answer 403 (within a second on every instance); nothing of it is lost. `{\"state\": \"active\"}` serves it again. 400 for another body, 404 when no tenant has the slug, 409 while it is being deleted."),
            "requestBody", request(r("TenantPatch"), json!({"state": "disabled"}))),
            "responses", responses(&[("200", ok("The tenant after the change", r("Tenant")))], &[400, 404, 409, 413]))),
        "delete": operator(with(op("deleteTenant", "tenants", "Delete a tenant",
            "Operator API. Deletes the tenant and everything of it, for good: no write of it is accepted from then on and its paths answer 404 at once on this server (within a second on every other), its rows are deleted in the background in small transactions (resumed when the server starts again after a crash), its slug stays reserved. 404 when no tenant has the slug; 409 for the root tenant (`--root-tenant`)."),
            "responses", responses(&[("202", ok("The tenant, `deleting`, with its counts as the deletion started", r("Tenant")))], &[404, 409])))
    })
}

/// The schemas of tenants.
pub(super) fn schemas(m: &mut Map<String, Value>) {
    let time = json!({"type": "string", "format": "date-time"});
    let states: Vec<&str> = TenantState::ALL.iter().map(|s| s.as_str()).collect();
    m.insert("Tenant".into(), json!({
        "type": "object",
        "required": ["slug", "name", "state", "users", "groups", "created", "lastScimRequest"],
        "properties": {
            "slug": {"type": "string", "description": "Its path segment: /t/SLUG/scim/v2, /t/SLUG/api/v1, /t/SLUG/"},
            "name": {"type": "string"},
            "state": {"type": "string", "enum": states},
            "users": {"type": "integer", "description": "Its users in every state"},
            "groups": {"type": "integer", "description": "Its groups, the built-in All Users group not counted"},
            "created": time.clone(),
            "lastScimRequest": {"type": ["string", "null"], "format": "date-time", "description": "When a SCIM request last authenticated for it (written at most once a minute); null: never"}
        }
    }));
    m.insert(
        "TenantList".into(),
        list_of("Tenant", "Every tenant (unpaged)"),
    );
    m.insert("TenantCreate".into(), json!({
        "type": "object", "required": ["name"], "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The organisation's name (unique)"},
            "slug": {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"}
        }
    }));
    m.insert("TenantCreated".into(), json!({
        "type": "object",
        "required": ["slug", "name", "scimUrl", "scimToken", "tokenUrl", "portalUrl", "adminUsername", "adminPassword"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "scimUrl": {"type": "string", "description": "The SCIM Tenant URL to give the identity provider"},
            "scimToken": {"type": "string", "description": "Its first SCIM secret token (shown only this once)"},
            "tokenUrl": {"type": "string", "description": "Its OAuth 2.0 token endpoint"},
            "portalUrl": {"type": "string", "description": "Its portal"},
            "adminUsername": {"type": "string"},
            "adminPassword": {"type": "string", "description": "Its first administrator's password, to change at first sign-in (shown only this once)"}
        }
    }));
    m.insert(
        "TenantPatch".into(),
        json!({
            "type": "object", "required": ["state"], "additionalProperties": false,
            "properties": {"state": {"type": "string", "enum": ["active", "disabled"]}}
        }),
    );
}
