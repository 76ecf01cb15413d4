//! The OpenAPI 3.1 document of the admin API, served at `GET /api/v1/openapi.json`.
//!
//! Written by hand as JSON (no code generation, no build-time downloads). It must list
//! exactly the routes of [`super::route_table`]: a unit test compares the two,
//! and the integration suite probes every documented operation over HTTP.

mod credentials;
mod issuers;
mod records;
mod tenants;

use super::reply::AdminResult;
use crate::state::AppState;
use axum::extract::State;
use scimd_directory::audit::ResourceType;
use scimd_directory::custom::CustomType;
use scimd_directory::settings::{blank_policy_name, BLANK_POLICIES};
use scimd_directory::store::{Source, TokenScope, UserState};
use serde_json::{json, Map, Value};

/// OpenAPI version of the document.
pub const OPENAPI_VERSION: &str = "3.1.0";

pub(super) fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The names of a closed vocabulary, as an `enum`.
pub(super) fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Value {
    all.iter().map(|t| Value::from(name(*t))).collect()
}

pub(super) fn p(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

pub(super) fn json_body(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

pub(super) fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": json_body(schema) })
}

/// A 201 response whose `Location` header names the resource created (`location`: its
/// path template).
pub(super) fn created(description: &str, location: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "headers": {"Location": {"description": location, "schema": {"type": "string"}}},
        "content": json_body(schema)
    })
}

pub(super) fn request(schema: Value, example: Value) -> Value {
    json!({
        "required": true,
        "content": { "application/json": { "schema": schema, "example": example } }
    })
}

/// `responses` of an authenticated operation: the given successes, these error statuses,
/// and always 401, 403 and 500.
pub(super) fn responses(success: &[(&str, Value)], errors: &[u16]) -> Value {
    let mut m = Map::new();
    for (code, v) in success {
        m.insert((*code).to_string(), v.clone());
    }
    let mut codes: Vec<u16> = errors.to_vec();
    codes.extend([401, 403, 500]);
    codes.sort_unstable();
    codes.dedup();
    for c in codes {
        let name = match c {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            413 => "PayloadTooLarge",
            _ => "ServerError",
        };
        m.insert(
            c.to_string(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }
    Value::Object(m)
}

pub(super) fn op(id: &str, tag: &str, summary: &str, description: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("operationId".into(), json!(id));
    m.insert("tags".into(), json!([tag]));
    m.insert("summary".into(), json!(summary));
    m.insert("description".into(), json!(description));
    m
}

pub(super) fn with(mut m: Map<String, Value>, key: &str, v: Value) -> Map<String, Value> {
    m.insert(key.into(), v);
    m
}

fn paths() -> Value {
    let users = json!({
        "get": with(with(op("listUsers", "users", "List users",
            "Users in every state (active, inactive, deprovisioned) and from both sources, oldest first, filtered and paged."),
            "parameters", json!([p("Search"), p("UserState"), p("UserSource"), p("StartIndex"), p("Count")])),
            "responses", responses(&[("200", ok("A page of users", r("UserList")))], &[400])),
        "post": with(with(op("createUser", "users", "Create a local user",
            "Creates a user with source `local`, from a body with SCIM attribute names; SCIM clients see it with the same id. The product's rules apply: an email, `name.givenName` and `name.familyName` are required. As strict as an edit: 400 (nothing created) for an unknown or readOnly attribute, sub-attribute or extension schema URN, `password`, a value of the wrong type, or a `manager` that is no user of the tenant; `schemas` may list the core User schema and the tenant's extensions only. 409 when the userName is taken (ignoring case) by a user in any state."),
            "requestBody", request(r("UserCreate"), json!({
                "userName": "jdoe@example.com",
                "name": {"givenName": "Jane", "familyName": "Doe"},
                "emails": [{"value": "jdoe@example.com", "type": "work", "primary": true}]
            }))),
            "responses", responses(&[("201", created("The user created; `Location` names it", "/api/v1/users/{id}", r("User")))], &[400, 409, 413]))
    });
    let user = json!({
        "parameters": [p("UserId")],
        "get": with(op("getUser", "users", "Get a user",
            "One user in any state, with `state`, `source`, `groups` and every attribute value (custom attributes under the tenant's custom schema URN)."),
            "responses", responses(&[("200", ok("The user", r("User")))], &[404])),
        "patch": with(with(op("patchUser", "users", "Change a local user",
            "A merge: the body names the SCIM attributes to set (`name` and extension objects merge their sub-attributes; multi-valued attributes such as `emails` are replaced whole; `null` or `\"\"` clears an attribute); what it does not name is kept. `\"active\": false` disables the user, `true` enables it (a soft-deleted one too). `userName` may change (unique ignoring case: 409). The product rules apply: given name, family name and an email stay mandatory. 400 (nothing changed) for an unknown attribute, a readOnly one (`id`, `meta`, `groups`), `schemas`, `password`, or a value of the wrong type. 409 for a user provisioned by the identity provider: Entra ID is its source, change it there. Recorded in the audit record (`user.update`) and the user's history with every value before and after."),
            "requestBody", request(r("UserPatch"), json!({"displayName": "Ada King", "active": false}))),
            "responses", responses(&[("200", ok("The user after the change", r("User")))], &[400, 404, 409, 413])),
        "delete": with(with(op("deleteUser", "users", "Delete a user permanently, or soft delete a local user",
            "Without `mode` (or `mode=permanent`): deletes the user and its memberships for good; only inactive or deprovisioned users (409 for an active user: disable a local one first, a provisioned one in the identity provider). `mode=soft`: a local user becomes deprovisioned (hidden from SCIM, memberships kept, can be enabled again with PATCH `{\"active\": true}`); 409 for a provisioned user or one already soft-deleted. Another `mode`: 400."),
            "parameters", json!([{"name": "mode", "in": "query", "required": false,
                "description": "`permanent` (default) or `soft`", "schema": {"type": "string", "enum": ["permanent", "soft"]}}])),
            "responses", responses(&[("204", json!({"description": "Deleted"}))], &[400, 404, 409]))
    });
    let groups = json!({
        "get": with(with(op("listGroups", "groups", "List groups",
            "Groups of both sources, the built-in \"All Users\" group first, filtered by a displayName substring and paged."),
            "parameters", json!([p("Search"), p("StartIndex"), p("Count")])),
            "responses", responses(&[("200", ok("A page of groups", r("GroupList")))], &[400])),
        "post": with(with(op("createGroup", "groups", "Create a local group",
            "Creates a group with source `local` from `displayName` and an optional `externalId` alone (400 for any other key: members are added afterwards under `/members`). Group names are unique ignoring case across sources (409)."),
            "requestBody", request(r("GroupCreate"), json!({"displayName": "Field engineers"}))),
            "responses", responses(&[("201", created("The group created; `Location` names it", "/api/v1/groups/{id}", r("Group")))], &[400, 409, 413]))
    });
    let group = json!({
        "parameters": [p("GroupId")],
        "get": with(with(op("getGroup", "groups", "Get a group with a page of its members",
            "The group and one page of its members (`startIndex`, `count` page the members; `memberCount` is the total). The All Users group lists every user."),
            "parameters", json!([p("StartIndex"), p("Count")])),
            "responses", responses(&[("200", ok("The group", r("GroupDetail")))], &[400, 404])),
        "patch": with(with(op("patchGroup", "groups", "Rename a local group",
            "Sets the displayName of a local group (its only changeable attribute; members change under `/members`). 400 for another key or a blank name; 409 for the built-in All Users group, a group provisioned by the identity provider (rename it there), or a name another group has (ignoring case). Recorded in the audit record (`group.rename`)."),
            "requestBody", request(r("GroupPatch"), json!({"displayName": "Field engineers EMEA"}))),
            "responses", responses(&[("200", ok("The group after the change", r("Group")))], &[400, 404, 409, 413])),
        "delete": with(op("deleteGroup", "groups", "Delete a local group",
            "Deletes a local group (its members stay). 409 for the built-in All Users group and for groups provisioned by the identity provider (delete those there)."),
            "responses", responses(&[("204", json!({"description": "Deleted"}))], &[404, 409]))
    });
    let members = json!({
        "parameters": [p("GroupId")],
        "post": with(with(op("addGroupMembers", "groups", "Add users to a local group",
            "Adds users (by id) to a local group; users already members are left alone. 400 when an id is not a user of the tenant; 409 for the built-in or a provisioned group."),
            "requestBody", request(r("MembersAdd"), json!({"members": ["2819c223-7f76-453a-919d-413861904646"]}))),
            "responses", responses(&[("200", ok("How many were added", r("MembersAdded")))], &[400, 404, 409, 413]))
    });
    let member = json!({
        "parameters": [p("GroupId"), p("MemberUserId")],
        "delete": with(op("removeGroupMember", "groups", "Remove a user from a local group",
            "404 when the group does not exist or the user is not a member of it; 409 for the built-in or a provisioned group."),
            "responses", responses(&[("204", json!({"description": "Removed"}))], &[404, 409]))
    });
    let attributes = json!({
        "get": with(op("listAttributes", "attributes", "List custom attributes",
            "The tenant's custom user attributes, in registration order, each with how many users hold a value. All of them, unpaged."),
            "responses", responses(&[("200", ok("The attributes", r("AttributeList")))], &[])),
        "post": with(with(op("createAttribute", "attributes", "Register a custom attribute",
            "Registers a custom user attribute in the tenant's extension schema. The name follows RFC 7643 ATTRNAME (a letter, then letters, digits, `-`, `_`; at most 64 characters) and is unique ignoring case (409). Attributes cannot be renamed."),
            "requestBody", request(r("AttributeCreate"), json!({"name": "costCode", "type": "string"}))),
            "responses", responses(&[("201", created("The attribute registered", "/api/v1/attributes/{name}", r("Attribute")))], &[400, 409, 413]))
    });
    let attribute = json!({
        "parameters": [p("AttributeName")],
        "get": with(op("getAttribute", "attributes", "Get a custom attribute",
            "One custom attribute (name compared ignoring case) with `usersWithValue`: how many users a delete would remove a value from."),
            "responses", responses(&[("200", ok("The attribute", r("Attribute")))], &[404])),
        "delete": with(op("deleteAttribute", "attributes", "Delete a custom attribute",
            "Deletes the attribute and removes its values from every user. Like every DELETE of this API it answers 204 without a body; the `Scimd-Removed-Values` header tells how many users held a value."),
            "responses", responses(&[("204", json!({
                "description": "Deleted",
                "headers": {"Scimd-Removed-Values": {"description": "How many users held a value that was removed", "schema": {"type": "integer", "minimum": 0}}}
            }))], &[404]))
    });
    let settings = json!({
        "get": with(op("getSettings", "settings", "Get the tenant settings", "The provisioning settings of the tenant."),
            "responses", responses(&[("200", ok("The settings", r("Settings")))], &[])),
        "patch": with(with(op("updateSettings", "settings", "Change tenant settings",
            "Changes the settings the body names and answers all of them. 400 for an unknown key, a value of the wrong type, a `blankValuePolicy` other than `ignore`/`clear`, or a `customSchemaUrn` that is not a URN or is a standard schema's. Changing the URN moves every stored custom value to the new URN."),
            "requestBody", request(r("SettingsPatch"), json!({"customSchemaUrn": "urn:ietf:params:scim:schemas:extension:ivanti:2.0:User"}))),
            "responses", responses(&[("200", ok("The settings after the change", r("Settings")))], &[400, 413]))
    });
    let tokens = json!({
        "get": with(op("listTokens", "tokens", "List API tokens",
            "Every token of the tenant, revoked ones included, oldest first. Secrets and their hashes are never shown."),
            "responses", responses(&[("200", ok("The tokens", r("TokenList")))], &[])),
        "post": with(with(op("createToken", "tokens", "Create an API token",
            "Creates a token and answers its secret (`scimd_` and 64 hex characters): the only time it is shown. Scope `scim` is for an identity provider (`/scim/v2`), `admin` for this API. `expiresIn` (`90d`, `12h`, `30m`) makes it expire; without it, it never does. Several tokens of one scope may be active at once (rotation: create the new one, switch the identity provider, revoke the old one). 409 when an active token has the name."),
            "requestBody", request(r("TokenCreate"), json!({"name": "entra-prod", "scope": "scim", "expiresIn": "90d"}))),
            "responses", responses(&[("201", ok("The token and its secret", r("TokenCreated")))], &[400, 409, 413]))
    });
    let token = json!({
        "parameters": [p("TokenName")],
        "delete": with(op("revokeToken", "tokens", "Revoke an API token",
            "Revokes the active token with this name: it stops authenticating at once. 404 when no active token has the name."),
            "responses", responses(&[("204", json!({"description": "Revoked"}))], &[404]))
    });
    let dashboard = json!({
        "get": with(op("getDashboard", "dashboard", "Dashboard",
            "User and group counts, the SCIM tenant URL to paste into the identity provider, and the latest provisioning-log entries."),
            "responses", responses(&[("200", ok("The dashboard", r("Dashboard")))], &[]))
    });
    let openapi = json!({
        "get": {
            "operationId": "getOpenApi",
            "tags": ["meta"],
            "summary": "This document",
            "description": "The OpenAPI 3.1 document of the admin API. Public: no token needed.",
            "security": [],
            "responses": {"200": {"description": "The document", "content": {"application/json": {"schema": {"type": "object"}}}}}
        }
    });
    json!({
        "/api/v1/users": users,
        "/api/v1/users/{id}": user,
        "/api/v1/groups": groups,
        "/api/v1/groups/{id}": group,
        "/api/v1/groups/{id}/members": members,
        "/api/v1/groups/{id}/members/{userId}": member,
        "/api/v1/attributes": attributes,
        "/api/v1/attributes/{name}": attribute,
        "/api/v1/settings": settings,
        "/api/v1/tokens": tokens,
        "/api/v1/tokens/{name}": token,
        "/api/v1/issuers": issuers::issuers_path(),
        "/api/v1/issuers/{issuer}": issuers::issuer_path(),
        "/api/v1/clients": credentials::clients_path(),
        "/api/v1/clients/{clientId}": credentials::client_path(),
        "/api/v1/auth-refusals": credentials::refusals_path(),
        "/api/v1/users/{id}/history": records::history_path("User"),
        "/api/v1/groups/{id}/history": records::history_path("Group"),
        "/api/v1/provisioning-log": records::log_path(),
        "/api/v1/audit": records::audit_path(),
        "/api/v1/dashboard": dashboard,
        "/api/v1/openapi.json": openapi,
        "/api/v1/tenants": tenants::tenants_path(),
        "/api/v1/tenants/{slug}": tenants::tenant_path(),
    })
}

pub(super) fn list_of(item: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": ["totalResults", "startIndex", "itemsPerPage", "Resources"],
        "properties": {
            "totalResults": {"type": "integer", "minimum": 0, "description": "How many match, over all pages"},
            "startIndex": {"type": "integer", "minimum": 1, "description": "1-based index of the first item of this page"},
            "itemsPerPage": {"type": "integer", "minimum": 0, "description": "How many items this page holds"},
            "Resources": {"type": "array", "items": r(item)}
        }
    })
}

pub(super) fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": json_body(r("Error")) })
}

fn schemas() -> Map<String, Value> {
    let date_time = json!({"type": "string", "format": "date-time"});
    let mut m = Map::new();
    m.insert("Error".into(), json!({
                "type": "object",
                "description": "Every error of the admin API, including the router's 404 (unknown route) and 405 (wrong method, with an `Allow` header)",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {
                        "status": {"type": "integer", "description": "The HTTP status, repeated"},
                        "message": {"type": "string", "description": "What went wrong and what to do about it"},
                        "scimType": {"type": "string", "description": "When SCIM validation of the body refused it: its scimType (RFC 7644 §3.12), e.g. invalidValue, invalidPath, mutability; the message is the SCIM detail"}
                    }
                }},
                "example": {"error": {"status": 409, "message": "user 'jdoe@example.com' is active: only inactive or deprovisioned users can be deleted permanently; it is provisioned by the identity provider: disable or unassign it in Entra ID first"}}
            }));
    m.insert(
        "GroupRef".into(),
        json!({
            "type": "object", "required": ["id", "displayName", "builtin"],
            "properties": {"id": {"type": "string"}, "displayName": {"type": "string"},
                "builtin": {"type": "boolean", "description": "Whether it is the built-in All Users group (every user is in it; SCIM never lists it)"}}
        }),
    );
    m.insert("User".into(), json!({
                "type": "object",
                "description": "The user's SCIM representation (RFC 7643 §4.1: schemas, id, externalId, userName, name, displayName, emails, active, the enterprise extension, the tenant's custom extension under its URN, meta) plus `state`, `source` and `groups`.",
                "required": ["id", "userName", "state", "source", "groups"],
                "properties": {
                    "schemas": {"type": "array", "items": {"type": "string"}},
                    "id": {"type": "string"},
                    "externalId": {"type": "string"},
                    "userName": {"type": "string"},
                    "displayName": {"type": "string"},
                    "name": {"type": "object", "properties": {
                        "givenName": {"type": "string"}, "familyName": {"type": "string"}, "formatted": {"type": "string"}}},
                    "emails": {"type": "array", "items": {"type": "object", "properties": {
                        "value": {"type": "string"}, "type": {"type": "string"}, "primary": {"type": "boolean"}}}},
                    "active": {"type": "boolean"},
                    "state": {"type": "string", "enum": names(&UserState::ALL, UserState::as_str)},
                    "source": {"type": "string", "enum": names(&Source::ALL, Source::as_str)},
                    "groups": {"type": "array", "items": r("GroupRef"), "description": "Groups the user is a member of: the built-in All Users group first (`builtin: true`), then the others. Over SCIM a user's `groups` never lists All Users."},
                    "meta": {"type": "object"}
                },
                "additionalProperties": true
            }));
    m.insert("UserCreate".into(), json!({
                "type": "object",
                "description": "A user with SCIM attribute names (RFC 7643 §4.1). `emails`, `name.givenName` and `name.familyName` are required by the product's rules.",
                "required": ["userName", "name", "emails"],
                "properties": {
                    "schemas": {"type": "array", "items": {"type": "string"}},
                    "userName": {"type": "string"},
                    "externalId": {"type": "string"},
                    "displayName": {"type": "string"},
                    "name": {"type": "object", "required": ["givenName", "familyName"], "properties": {
                        "givenName": {"type": "string"}, "familyName": {"type": "string"}}},
                    "emails": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["value"], "properties": {
                        "value": {"type": "string"}, "type": {"type": "string"}, "primary": {"type": "boolean"}}}},
                    "active": {"type": "boolean", "default": true}
                },
                "additionalProperties": true
            }));
    m.insert("UserList".into(), json!(list_of("User", "A page of users")));
    m.insert(
        "Group".into(),
        json!({
            "type": "object",
            "required": ["id", "displayName", "source", "builtin", "memberCount"],
            "properties": {
                "id": {"type": "string"},
                "displayName": {"type": "string"},
                "externalId": nullable("string"),
                "source": {"type": "string", "enum": names(&Source::ALL, Source::as_str)},
                "builtin": {"type": "boolean", "description": "True for the All Users group"},
                "memberCount": {"type": "integer", "minimum": 0},
                "created": date_time,
                "lastModified": date_time
            }
        }),
    );
    m.insert("Member".into(), json!({
                "type": "object",
                "required": ["id", "type"],
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string", "enum": names(&ResourceType::ALL, ResourceType::as_str)},
                    "display": nullable("string"),
                    "state": {"type": "string", "enum": names(&UserState::ALL, UserState::as_str), "description": "A user member's state (a nested group has none)"}
                }
            }));
    m.insert("GroupDetail".into(), json!({
                "allOf": [r("Group"), {
                    "type": "object",
                    "required": ["members", "membersStartIndex"],
                    "properties": {
                        "members": {"type": "array", "items": r("Member"), "description": "One page of members; `memberCount` is the total"},
                        "membersStartIndex": {"type": "integer", "minimum": 1}
                    }
                }]
            }));
    m.insert("UserPatch".into(), json!({
                "type": "object", "minProperties": 1,
                "description": "SCIM attribute names (RFC 7643 §4.1; extension attributes under their schema URN) to set on a local user; a merge.",
                "properties": {
                    "userName": {"type": "string"},
                    "externalId": {"type": ["string", "null"]},
                    "displayName": {"type": ["string", "null"]},
                    "name": {"type": "object"},
                    "emails": {"type": "array", "items": {"type": "object"}},
                    "active": {"type": "boolean"}
                },
                "additionalProperties": true
            }));
    m.insert(
        "GroupPatch".into(),
        json!({
            "type": "object", "required": ["displayName"], "additionalProperties": false,
            "properties": {"displayName": {"type": "string", "minLength": 1}}
        }),
    );
    m.insert("GroupCreate".into(), json!({
                "type": "object", "required": ["displayName"], "additionalProperties": false,
                "properties": {"displayName": {"type": "string", "minLength": 1}, "externalId": {"type": "string"}}
            }));
    m.insert(
        "GroupList".into(),
        json!(list_of("Group", "A page of groups")),
    );
    m.insert("MembersAdd".into(), json!({
                "type": "object", "required": ["members"], "additionalProperties": false,
                "properties": {"members": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "User ids"}}
            }));
    m.insert("MembersAdded".into(), json!({
                "type": "object", "required": ["added", "memberCount"],
                "properties": {
                    "added": {"type": "integer", "minimum": 0, "description": "Users that were not members before"},
                    "memberCount": {"type": "integer", "minimum": 0}
                }
            }));
    m.insert("Attribute".into(), json!({
                "type": "object",
                "required": ["name", "type", "category", "schema", "scimPath"],
                "properties": {
                    "name": {"type": "string"},
                    "type": {"type": "string", "enum": names(&CustomType::ALL, CustomType::as_str)},
                    "category": {"type": "string", "const": "IDP"},
                    "schema": {"type": "string", "description": "The tenant's custom schema URN"},
                    "scimPath": {"type": "string", "description": "`<schema URN>:<name>`: the path an identity provider maps"},
                    "created": date_time,
                    "usersWithValue": {"type": "integer", "minimum": 0}
                }
            }));
    m.insert("AttributeCreate".into(), json!({
                "type": "object", "required": ["name"], "additionalProperties": false,
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,63}$"},
                    "type": {"type": "string", "enum": names(&CustomType::ALL, CustomType::as_str), "default": "string"}
                }
            }));
    m.insert(
        "AttributeList".into(),
        json!(list_of("Attribute", "Every custom attribute (unpaged)")),
    );
    m.insert("Settings".into(), json!({
                "type": "object",
                "required": ["customSchemaUrn", "blankValuePolicy", "refuseInactiveCreate"],
                "properties": {
                    "customSchemaUrn": {"type": "string", "description": "URN of the custom-attribute extension schema", "default": "urn:ietf:params:scim:schemas:extension:scimd:2.0:User"},
                    "blankValuePolicy": {"type": "string", "enum": names(&BLANK_POLICIES, blank_policy_name), "description": "What an empty string or null in a PUT or PATCH does", "default": "ignore"},
                    "refuseInactiveCreate": {"type": "boolean", "description": "Whether a SCIM POST of a user with active false is refused", "default": true}
                }
            }));
    m.insert(
        "SettingsPatch".into(),
        json!({
            "type": "object", "additionalProperties": false,
            "properties": {
                "customSchemaUrn": {"type": "string"},
                "blankValuePolicy": {"type": "string", "enum": names(&BLANK_POLICIES, blank_policy_name)},
                "refuseInactiveCreate": {"type": "boolean"}
            }
        }),
    );
    m.insert("Token".into(), json!({
                "type": "object",
                "required": ["name", "scope", "created", "lastUsed", "revoked", "expires"],
                "properties": {
                    "name": {"type": "string"},
                    "scope": {"type": "string", "enum": names(&TokenScope::ALL, TokenScope::as_str)},
                    "created": date_time,
                    "lastUsed": {"type": ["string", "null"], "format": "date-time", "description": "Last use, recorded at most once a minute"},
                    "revoked": {"type": ["string", "null"], "format": "date-time"},
                    "expires": {"type": ["string", "null"], "format": "date-time", "description": "When it stops authenticating (401 invalid_token, expired); null: never"}
                }
            }));
    m.insert(
        "TokenList".into(),
        json!(list_of("Token", "Every token (unpaged)")),
    );
    m.insert(
        "TokenCreate".into(),
        json!({
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100},
                "scope": {"type": "string", "enum": names(&TokenScope::ALL, TokenScope::as_str), "default": "scim"},
                "expiresIn": {"type": ["string", "null"], "pattern": "^[0-9]+[mhd]$", "description": "Lifetime: a whole number of m (minutes), h (hours) or d (days), e.g. 90d; absent or null: never expires"}
            }
        }),
    );
    m.insert("TokenCreated".into(), json!({
                "type": "object", "required": ["name", "scope", "secret", "expires"],
                "properties": {
                    "name": {"type": "string"},
                    "scope": {"type": "string", "enum": names(&TokenScope::ALL, TokenScope::as_str)},
                    "secret": {"type": "string", "description": "The bearer secret: shown only in this response"},
                    "created": date_time,
                    "lastUsed": {"type": "null"},
                    "revoked": {"type": "null"},
                    "expires": {"type": ["string", "null"], "format": "date-time", "description": "When it stops authenticating; null: never"}
                }
            }));
    records::schemas(&mut m);
    issuers::schemas(&mut m);
    tenants::schemas(&mut m);
    credentials::schemas(&mut m);
    m.insert("Counts".into(), json!({
                "type": "object",
                "required": ["users", "usersByState", "usersBySource", "groups"],
                "properties": {
                    "users": {"type": "integer"},
                    "usersByState": {"type": "object", "properties": {
                        "active": {"type": "integer"}, "inactive": {"type": "integer"}, "deprovisioned": {"type": "integer"}}},
                    "usersBySource": {"type": "object", "properties": {
                        "local": {"type": "integer"}, "scim": {"type": "integer"}}},
                    "groups": {"type": "integer", "description": "Groups, the built-in one excluded"}
                }
            }));
    m.insert("Dashboard".into(), json!({
                "type": "object",
                "required": ["scimTenantUrl", "counts", "logEntries", "rejectedEntries", "recentLog", "recentRejected", "warnings"],
                "properties": {
                    "scimTenantUrl": {"type": "string", "description": "The SCIM base URL to paste into the identity provider (Tenant URL)"},
                    "counts": r("Counts"),
                    "logEntries": {"type": "integer", "description": "Entries in the provisioning log"},
                    "rejectedEntries": {"type": "integer", "description": "Rejected requests in the provisioning log"},
                    "recentLog": {"type": "array", "maxItems": 10, "items": r("LogEntry")},
                    "recentRejected": {"type": "array", "maxItems": 10, "items": r("LogEntry")},
                    "warnings": {"type": "array", "maxItems": 20, "items": r("ProvisioningWarning"),
                        "description": "Warnings of provisioning that call for an administrator, the most recently given first"}
                }
            }));
    m.insert("ProvisioningWarning".into(), json!({
                "type": "object",
                "required": ["kind", "subject", "example", "firstSeen", "lastSeen", "occurrences", "users"],
                "properties": {
                    "kind": {"type": "string", "enum": ["unknown-schema", "normalised"],
                        "description": "unknown-schema: attributes under a schema URN the tenant does not know were ignored; normalised: a value was changed to be valid"},
                    "subject": {"type": "string", "description": "The schema URN (unknown-schema) or the attribute (normalised)"},
                    "example": {"type": "string", "description": "The latest such warning of the provisioning log"},
                    "firstSeen": {"type": "string", "format": "date-time"},
                    "lastSeen": {"type": "string", "format": "date-time"},
                    "occurrences": {"type": "integer", "description": "Writes that gave it"},
                    "users": {"type": "integer", "description": "Distinct users those writes were about"}
                }
            }));
    m
}

fn components() -> Value {
    json!({
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "The secret of a token of scope `admin` (`scimd token create --name NAME --scope admin`, or POST /api/v1/tokens). Tokens of scope `scim` get 403."
            },
            "operatorAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "The operator API's (/api/v1/tenants, only at the root): the secret of an operator token (`scimd token create --name NAME --scope operator`). A tenant's tokens get 403."
            }
        },
        "parameters": {
            "StartIndex": {"name": "startIndex", "in": "query", "required": false,
                "description": "1-based index of the first item; below 1 counts as 1; 400 when not an integer",
                "schema": {"type": "integer", "default": 1}},
            "Count": {"name": "count", "in": "query", "required": false,
                "description": "Items per page: default 50, at most 500 (larger counts as 500, negative as 0); 400 when not an integer",
                "schema": {"type": "integer", "default": 50}},
            "Search": {"name": "search", "in": "query", "required": false,
                "description": "Case-insensitive substring (users: userName, displayName, given or family name, any email; groups: displayName)",
                "schema": {"type": "string"}},
            "UserState": {"name": "state", "in": "query", "required": false,
                "description": "Only users in this state; 400 for another value",
                "schema": {"type": "string", "enum": names(&UserState::ALL, UserState::as_str)}},
            "UserSource": {"name": "source", "in": "query", "required": false,
                "description": "Only users from this source (case-insensitive); 400 for another value",
                "schema": {"type": "string", "enum": names(&Source::ALL, Source::as_str)}},
            "UserId": {"name": "id", "in": "path", "required": true, "description": "The user's id (the same as over SCIM)", "schema": {"type": "string"}},
            "GroupId": {"name": "id", "in": "path", "required": true, "description": "The group's id (the same as over SCIM)", "schema": {"type": "string"}},
            "MemberUserId": {"name": "userId", "in": "path", "required": true, "description": "The member user's id", "schema": {"type": "string"}},
            "AttributeName": {"name": "name", "in": "path", "required": true, "description": "The attribute's name (compared ignoring case)", "schema": {"type": "string"}},
            "TokenName": {"name": "name", "in": "path", "required": true, "description": "The token's name", "schema": {"type": "string"}}
        },
        "responses": {
            "BadRequest": error_response("The request is malformed or breaks a rule; the message says which and how to fix it"),
            "Unauthorized": {
                "description": "No token, a malformed one, or an unknown, expired or revoked token",
                "headers": {"WWW-Authenticate": {"description": "RFC 6750 §3: `Bearer realm=\"scimd\"` without a token; with `error=\"invalid_token\"` and an `error_description` (`the token expired`, `the token was revoked`, `the token is not known`) for a bad one", "schema": {"type": "string"}}},
                "content": json_body(r("Error"))
            },
            "Forbidden": {
                "description": "The token has scope `scim`: the admin API needs a token of scope `admin`",
                "headers": {"WWW-Authenticate": {"description": "`Bearer realm=\"scimd\", error=\"insufficient_scope\", error_description=\"...\", scope=\"admin\"` (RFC 6750 §3.1)", "schema": {"type": "string"}}},
                "content": json_body(r("Error"))
            },
            "NotFound": error_response("No such resource (or, for any method, no such route)"),
            "Conflict": error_response("The request conflicts with the directory's state (a duplicate name, an active user, a built-in or provisioned group)"),
            "PayloadTooLarge": error_response("The request body is larger than the server accepts"),
            "ServerError": error_response("A storage failure; nothing was changed and the request may be retried")
        },
        "schemas": schemas(),
    })
}

/// The document, with `server_url` (the public base URL, e.g. `https://scim.example.com`) as
/// its server.
pub fn document(server_url: &str) -> Value {
    json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "scimd admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Administration of a scimd directory: users in every state, local users and groups, custom attributes, tenant settings, API tokens, OIDC issuers, the provisioning log, the history of every user and group, the audit record. Ids are the same as over SCIM. Every error is JSON: {\"error\": {\"status\": <HTTP status>, \"message\": \"...\"}}. Lists answer {totalResults, startIndex, itemsPerPage, Resources}. Every DELETE answers 204 without a body."
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "users"}, {"name": "groups"}, {"name": "attributes"}, {"name": "settings"},
            {"name": "tokens"}, {"name": "issuers"}, {"name": "provisioning-log"}, {"name": "history"}, {"name": "audit"},
            {"name": "dashboard"}, {"name": "tenants", "description": "The operator API: tenants, for operator tokens, only at the root"}, {"name": "meta"}
        ],
        "paths": paths(),
        "components": components(),
    })
}

/// `(METHOD, path)` of every operation in a document, sorted.
pub fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = vec![];
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for m in [
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ] {
                    if item.contains_key(m) {
                        out.push((m.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// `GET /api/v1/openapi.json` (public).
pub(super) async fn openapi(
    State(st): State<AppState>,
    tenant: Option<axum::Extension<crate::tenancy::RequestTenant>>,
) -> AdminResult {
    // On a tenant's path (`/t/SLUG/api/v1/openapi.json`) its paths are under its prefix.
    let prefix = tenant.map(|t| t.0.prefix).unwrap_or_default();
    super::reply::ok(&document(&format!("{}{prefix}", st.public_url())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every `$ref` resolves, every path parameter is declared, operation ids are unique.
    #[test]
    fn document_is_consistent() {
        let doc = document("http://x");
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(s)) = m.get("$ref") {
                        out.push(s.clone());
                    }
                    m.values().for_each(|x| refs(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
                _ => {}
            }
        }
        let mut all = vec![];
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in &all {
            let ptr = r.strip_prefix('#').expect("local ref");
            assert!(doc.pointer(ptr).is_some(), "unresolved $ref {r}");
        }
        let resolve = |v: &Value| -> Value {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => doc.pointer(r.strip_prefix('#').unwrap()).unwrap().clone(),
                None => v.clone(),
            }
        };
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let wanted: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect();
            for (m, o) in item.as_object().unwrap() {
                if m == "parameters" {
                    continue;
                }
                assert!(
                    ids.insert(o["operationId"].as_str().unwrap().to_string()),
                    "duplicate operationId"
                );
                assert!(o["responses"].as_object().is_some_and(|r| !r.is_empty()));
                let mut declared = BTreeSet::new();
                for p in item["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(o["parameters"].as_array().into_iter().flatten())
                {
                    let p = resolve(p);
                    if p["in"] == "path" {
                        assert_eq!(p["required"], true);
                        declared.insert(p["name"].as_str().unwrap().to_string());
                    }
                }
                assert_eq!(declared, wanted, "path parameters of {m} {path}");
            }
        }
    }
}
