//! The admin API under `/api/v1`: JSON over HTTP for administrators and the portal, over
//! the same directory SCIM clients provision into.
//!
//! Authentication: `Authorization: Bearer <secret>` of a token of scope `admin` (create one
//! with `scimd token create --name NAME --scope admin`, or `POST /api/v1/tokens`). No token,
//! or a malformed, unknown, expired or revoked one: 401 with its RFC 6750 challenge
//! (`WWW-Authenticate: Bearer realm="scimd"`, with `error="invalid_token"` and a description
//! for a bad token; see [`crate::auth`]); a token of scope `scim`: 403 `insufficient_scope`
//! (and an admin token gets 403 on `/scim/v2`). A wrong method
//! is answered 405 before authentication. `GET /api/v1/openapi.json` is public (it describes
//! the API and holds no data).
//!
//! Every error, whoever produces it (a handler, the router's 404 and 405, a body that is not
//! JSON, a body over the size limit), is `application/json`:
//! `{"error": {"status": 409, "message": "<what went wrong and what to do>"}}`, with that
//! status, and `"scimType"` (RFC 7644 §3.12) in `error` when SCIM validation of a body
//! refused it (the message is then the SCIM `detail`). Client mistakes are 4xx; 500 only for
//! storage failures.
//!
//! | method | path                                   | success                                        |
//! |--------|----------------------------------------|------------------------------------------------|
//! | GET    | `/api/v1/users`                        | 200 list (`search`, `state`, `source`, paging) |
//! | POST   | `/api/v1/users`                        | 201 local user (SCIM attribute names)          |
//! | GET    | `/api/v1/users/{id}`                   | 200 user in any state                          |
//! | PATCH  | `/api/v1/users/{id}`                   | 200 local user after a merge of attributes     |
//! | DELETE | `/api/v1/users/{id}`                   | 204 permanent delete (409 for active users); `?mode=soft` soft delete (local users) |
//! | GET    | `/api/v1/users/{id}/history`           | 200 the user's change records, newest first    |
//! | GET    | `/api/v1/groups`                       | 200 list (`search`, paging)                    |
//! | POST   | `/api/v1/groups`                       | 201 local group                                |
//! | GET    | `/api/v1/groups/{id}`                  | 200 group with a page of members               |
//! | PATCH  | `/api/v1/groups/{id}`                  | 200 local group renamed (`{displayName}`)      |
//! | DELETE | `/api/v1/groups/{id}`                  | 204 (409 for built-in and provisioned groups)  |
//! | GET    | `/api/v1/groups/{id}/history`          | 200 the group's change records, newest first   |
//! | POST   | `/api/v1/groups/{id}/members`          | 200 `{added, memberCount}` (local groups)      |
//! | DELETE | `/api/v1/groups/{id}/members/{userId}` | 204 (local groups; 404 when not a member)      |
//! | GET    | `/api/v1/attributes`                   | 200 list of custom attributes                  |
//! | POST   | `/api/v1/attributes`                   | 201 attribute                                  |
//! | GET    | `/api/v1/attributes/{name}`            | 200 attribute with `usersWithValue`            |
//! | DELETE | `/api/v1/attributes/{name}`            | 204, header `Scimd-Removed-Values: <n>`        |
//! | GET    | `/api/v1/settings`                     | 200 settings                                   |
//! | PATCH  | `/api/v1/settings`                     | 200 full settings after the change             |
//! | GET    | `/api/v1/tokens`                       | 200 list (never secrets or hashes)             |
//! | POST   | `/api/v1/tokens`                       | 201 `{name, scope, secret, created}` (secret shown once) |
//! | DELETE | `/api/v1/tokens/{name}`                | 204 (404 when no active token has the name)    |
//! | GET    | `/api/v1/issuers`                      | 200 list of OIDC issuers                       |
//! | POST   | `/api/v1/issuers`                      | 201 issuer (400 for a refused metadata URL)    |
//! | DELETE | `/api/v1/issuers/{issuer}`             | 204 (by id or percent-encoded URL; else 404)   |
//! | GET    | `/api/v1/clients`                      | 200 OAuth clients and the token URL            |
//! | POST   | `/api/v1/clients`                      | 201 client id, secret (once), token URL        |
//! | DELETE | `/api/v1/clients/{clientId}`           | 204 (404 when no active client has the id)     |
//! | GET    | `/api/v1/auth-refusals`                | 200 refused authentications (`hours`)          |
//! | GET    | `/api/v1/provisioning-log`             | 200 page, or a CSV / JSON Lines download       |
//! | GET    | `/api/v1/audit`                        | 200 page, or a CSV / JSON Lines download       |
//! | GET    | `/api/v1/dashboard`                    | 200 counts, SCIM tenant URL, recent entries    |
//! | GET    | `/api/v1/openapi.json`                 | 200 OpenAPI 3.1 document (public)              |
//! | GET    | `/api/v1/tenants`                      | 200 tenants (operator tokens; [`tenants`])     |
//! | POST   | `/api/v1/tenants`                      | 201 tenant and its first secrets (operator)    |
//! | GET    | `/api/v1/tenants/{slug}`               | 200 tenant (operator)                          |
//! | PATCH  | `/api/v1/tenants/{slug}`               | 200 tenant after `{state}` (operator)          |
//! | DELETE | `/api/v1/tenants/{slug}`               | 202 tenant being deleted (operator)            |
//!
//! Lists answer `{"totalResults", "startIndex", "itemsPerPage", "Resources"}`; paged ones
//! take `startIndex` (1-based, below 1 counts as 1) and `count` (default
//! [`DEFAULT_COUNT`], at most [`scimd_directory::admin::ADMIN_MAX_PAGE`], negative counts
//! as 0). Every DELETE answers 204 without a body. The document served at
//! `/api/v1/openapi.json` ([`openapi`]) describes every route; a test checks
//! that the router and the document list the same routes.

pub mod attributes;
pub mod clients;
pub mod export;
pub mod groups;
pub mod issuers;
pub mod json;
pub mod log;
pub mod openapi;
pub mod records;
pub mod reply;
pub mod request;
pub mod settings;
pub mod tenants;
pub mod tokens;
pub mod users;

pub use reply::{AdminError, BASE};
pub use request::DEFAULT_COUNT;

use crate::metrics::method_label;
use crate::state::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, on, MethodFilter};
use axum::Router;
use reply::no_endpoint;

/// Any request under `/api/v1` that no route matches: 404.
async fn unknown_route(method: Method, uri: axum::http::Uri) -> Response {
    AdminError::not_found(no_endpoint(&method, uri.path())).into_response()
}

// ---------------------------------------------------------------- route table

/// One route of the admin API: method and path template (`{id}` parameters, as in the
/// OpenAPI document).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AdminRoute {
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// Full path template, e.g. `/api/v1/users/{id}`.
    pub path: &'static str,
}

/// Builds the router and the table of its routes together, so the two cannot disagree.
struct Routes {
    router: Router<AppState>,
    table: Vec<AdminRoute>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        self.router = self.router.route(path, on(filter, handler));
        self.table.push(AdminRoute {
            method: method_label(&method),
            path,
        });
        self
    }
}

/// The authenticated routes (method, path, handler), in one place. Every handler takes an
/// [`request::Admin`] first, but the operator API's, which take a [`request::Operator`].
fn protected() -> Routes {
    use attributes::{create_attribute, delete_attribute, get_attribute, list_attributes};
    use clients::{auth_refusals, create_client, list_clients, revoke_client};
    use groups::{add_members, create_group, delete_group, get_group, list_groups, remove_member};
    use issuers::{add_issuer, list_issuers, remove_issuer};
    use log::{dashboard, view, AuditView, LogView};
    use records::{history, Groups, Users};
    use settings::{get_settings, patch_settings};
    use tenants::{create_tenant, delete_tenant, get_tenant, list_tenants, patch_tenant};
    use tokens::{create_token, list_tokens, revoke_token};
    use users::{create_user, delete_user, get_user, list_users, patch};
    use Method as M;
    Routes::new()
        .add(M::GET, "/api/v1/users", list_users)
        .add(M::POST, "/api/v1/users", create_user)
        .add(M::GET, "/api/v1/users/{id}", get_user)
        .add(M::DELETE, "/api/v1/users/{id}", delete_user)
        .add(M::GET, "/api/v1/users/{id}/history", history::<Users>)
        .add(M::GET, "/api/v1/groups", list_groups)
        .add(M::POST, "/api/v1/groups", create_group)
        .add(M::GET, "/api/v1/groups/{id}", get_group)
        .add(M::DELETE, "/api/v1/groups/{id}", delete_group)
        .add(M::GET, "/api/v1/groups/{id}/history", history::<Groups>)
        .add(M::POST, "/api/v1/groups/{id}/members", add_members)
        .add(
            M::DELETE,
            "/api/v1/groups/{id}/members/{userId}",
            remove_member,
        )
        .add(M::GET, "/api/v1/attributes", list_attributes)
        .add(M::POST, "/api/v1/attributes", create_attribute)
        .add(M::GET, "/api/v1/attributes/{name}", get_attribute)
        .add(M::DELETE, "/api/v1/attributes/{name}", delete_attribute)
        .add(M::GET, "/api/v1/settings", get_settings)
        .add(M::PATCH, "/api/v1/settings", patch_settings)
        .add(M::GET, "/api/v1/tokens", list_tokens)
        .add(M::POST, "/api/v1/tokens", create_token)
        .add(M::DELETE, "/api/v1/tokens/{name}", revoke_token)
        .add(M::GET, "/api/v1/issuers", list_issuers)
        .add(M::POST, "/api/v1/issuers", add_issuer)
        .add(M::DELETE, "/api/v1/issuers/{issuer}", remove_issuer)
        .add(M::GET, "/api/v1/clients", list_clients)
        .add(M::POST, "/api/v1/clients", create_client)
        .add(M::DELETE, "/api/v1/clients/{clientId}", revoke_client)
        .add(M::GET, "/api/v1/auth-refusals", auth_refusals)
        .add(M::GET, "/api/v1/provisioning-log", view::<LogView>)
        .add(M::GET, "/api/v1/audit", view::<AuditView>)
        .add(M::GET, "/api/v1/dashboard", dashboard)
        // Changes of local users and groups (provisioned ones are read-only: 409).
        .add(M::PATCH, "/api/v1/users/{id}", patch::<Users>)
        .add(M::PATCH, "/api/v1/groups/{id}", patch::<Groups>)
        // The operator API (operator tokens; only at the root).
        .add(M::GET, "/api/v1/tenants", list_tenants)
        .add(M::POST, "/api/v1/tenants", create_tenant)
        .add(M::GET, "/api/v1/tenants/{slug}", get_tenant)
        .add(M::PATCH, "/api/v1/tenants/{slug}", patch_tenant)
        .add(M::DELETE, "/api/v1/tenants/{slug}", delete_tenant)
}

/// The public routes (no token needed).
fn public() -> Routes {
    Routes::new().add(Method::GET, "/api/v1/openapi.json", openapi::openapi)
}

/// Every route of the admin API, sorted by path then method. The OpenAPI document lists
/// exactly these (checked by a test).
pub fn route_table() -> Vec<AdminRoute> {
    let mut t = protected().table;
    t.extend(public().table);
    t.sort_by(|a, b| (a.path, a.method).cmp(&(b.path, b.method)));
    t
}

/// The methods the route table has for a path template (`/api/v1/users/{id}`), in table
/// order: what a 405's message names.
pub fn allowed_methods(template: &str) -> Vec<&'static str> {
    route_table()
        .into_iter()
        .filter(|r| r.path == template)
        .map(|r| r.method)
        .collect()
}

/// The `/api/v1` router: the authenticated routes (their handlers take an [`request::Admin`]), the
/// public OpenAPI document, and a JSON 404 for any other path under `/api/v1`. (Errors no
/// handler wrote, such as a 405, get their JSON body from [`crate::fallback`].)
pub fn routes() -> Router<AppState> {
    protected()
        .router
        .merge(public().router)
        .route(BASE, any(unknown_route))
        .route("/api/v1/", any(unknown_route))
        .route("/api/v1/{*rest}", any(unknown_route))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn route_table_has_no_duplicates() {
        let t = route_table();
        let mut d = t.clone();
        d.dedup();
        assert_eq!(t, d);
        assert!(t
            .iter()
            .all(|r| r.path.starts_with(BASE) && r.method != "OTHER"));
    }

    #[test]
    fn every_route_is_documented_and_every_operation_routed() {
        let doc = openapi::document("http://x");
        let documented: BTreeSet<(String, String)> =
            openapi::operations(&doc).into_iter().collect();
        let routed: BTreeSet<(String, String)> = route_table()
            .into_iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "documented operations with no route: {extra:?}"
        );
    }
}
