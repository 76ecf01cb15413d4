//! The OpenAPI description of the credentials an identity provider uses besides static
//! tokens: OAuth clients (`/api/v1/clients`) and the refused authentications
//! (`/api/v1/auth-refusals`), paths and schemas.

use super::{list_of, nullable, op, r, request, responses, with};
use serde_json::{json, Map, Value};

/// `/api/v1/clients`.
pub(super) fn clients_path() -> Value {
    json!({
        "get": with(op("listClients", "clients", "List OAuth clients",
            "Every OAuth client of the tenant (client credentials grant, RFC 6749 §4.4), revoked ones included, oldest first, and `tokenUrl`, the token endpoint to give the identity provider. Secrets and their hashes are never shown."),
            "responses", responses(&[("200", super::ok("The clients", r("ClientList")))], &[])),
        "post": with(with(op("createClient", "clients", "Create an OAuth client",
            "Creates a client and answers its `clientId`, its `clientSecret` (the only time it is shown) and `tokenUrl`. Its access tokens have scope `scim`. 409 when an active client has the name."),
            "requestBody", request(r("ClientCreate"), json!({"name": "entra-prod"}))),
            "responses", responses(&[("201", super::ok("The client and its secret", r("ClientCreated")))], &[400, 409, 413]))
    })
}

/// `/api/v1/clients/{clientId}`.
pub(super) fn client_path() -> Value {
    json!({
        "parameters": [{"name": "clientId", "in": "path", "required": true, "description": "The client's id", "schema": {"type": "string"}}],
        "delete": with(op("revokeClient", "clients", "Revoke an OAuth client",
            "Revokes the client: it gets no more access tokens, and the ones it holds are refused (401 invalid_token, `revoked`) on every instance from the revocation on. Recorded in the audit record. 404 when no active client has the id."),
            "responses", responses(&[("204", json!({"description": "Revoked"}))], &[404]))
    })
}

/// `/api/v1/auth-refusals`.
pub(super) fn refusals_path() -> Value {
    json!({
        "get": with(with(op("getAuthRefusals", "auth-refusals", "Refused authentications",
            "Why requests were refused (RFC 6750 §3.1), for diagnosing an identity provider that cannot connect: counts per hour and reason over the last `hours`, newest first, and the last 100 refusals of the tenant (which credential: its kind and name, never a secret; method, path, address). Recorded at most once a second per tenant; requests to unknown paths are never recorded."),
            "parameters", json!([{"name": "hours", "in": "query", "required": false,
                "description": "How many hours of counts (1 to 720, default 24)", "schema": {"type": "integer", "minimum": 1, "maximum": 720}}])),
            "responses", responses(&[("200", super::ok("The refusals", r("AuthRefusals")))], &[400]))
    })
}

/// The schemas of these paths.
pub(super) fn schemas(m: &mut Map<String, Value>) {
    let date_time = json!({"type": "string", "format": "date-time"});
    let client = json!({
        "clientId": {"type": "string", "description": "The client_id (public)"},
        "name": {"type": "string"},
        "created": date_time,
        "lastUsed": {"type": ["string", "null"], "format": "date-time", "description": "When it was last issued a token, recorded at most once a minute"},
        "revoked": {"type": ["string", "null"], "format": "date-time"}
    });
    m.insert(
        "Client".into(),
        json!({
            "type": "object", "required": ["clientId", "name", "created", "lastUsed", "revoked"],
            "properties": client
        }),
    );
    let mut list = list_of("Client", "Every client (unpaged)");
    if let Some(a) = list["required"].as_array_mut() {
        a.push(json!("tokenUrl"));
    }
    list["properties"]["tokenUrl"] =
        json!({"type": "string", "description": "The token endpoint: {public-url}/oauth/token"});
    m.insert("ClientList".into(), list);
    m.insert(
        "ClientCreate".into(),
        json!({
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100}}
        }),
    );
    let mut created = client.clone();
    created["clientSecret"] =
        json!({"type": "string", "description": "The client secret: shown only in this response"});
    created["tokenUrl"] =
        json!({"type": "string", "description": "The token endpoint: {public-url}/oauth/token"});
    m.insert(
        "ClientCreated".into(),
        json!({
            "type": "object", "required": ["clientId", "clientSecret", "tokenUrl", "name"],
            "properties": created
        }),
    );
    let reason = json!({"type": "string", "enum": ["missing", "other_scheme", "malformed", "unknown", "expired", "revoked", "insufficient_scope", "invalid_client", "algorithm_not_allowed", "unknown_issuer", "keys_unavailable", "unknown_key", "bad_signature", "not_yet_valid", "missing_claim", "wrong_audience", "delegated", "app_not_allowed"]});
    m.insert("AuthRefusals".into(), json!({
        "type": "object", "required": ["hours", "counts", "recent"],
        "properties": {
            "hours": {"type": "integer"},
            "counts": {"type": "array", "items": {"type": "object", "required": ["hour", "reason", "count"], "properties": {
                "hour": {"type": "string", "format": "date-time", "description": "The hour's start (UTC)"},
                "reason": reason.clone(),
                "count": {"type": "integer", "minimum": 1}}}},
            "recent": {"type": "array", "maxItems": 100, "items": {"type": "object",
                "required": ["at", "reason", "credential", "method", "path", "address"], "properties": {
                "at": date_time,
                "reason": reason,
                "credential": {"type": "string", "description": "What was presented: `token 'NAME'`, `client 'NAME'`, or the kind of an unknown secret (`unknown static token (scimd_)`); never the secret"},
                "method": {"type": "string"},
                "path": {"type": "string"},
                "address": nullable("string")}}}
        }
    }));
}
