//! The OpenAPI description of `/api/v1/issuers` (paths, parameter and schemas).

use super::{list_of, ok, op, r, request, responses, with};
use serde_json::{json, Map, Value};

/// `/api/v1/issuers`.
pub(super) fn issuers_path() -> Value {
    json!({
        "get": with(op("listIssuers", "issuers", "List OIDC issuers",
            "The issuers whose JWT access tokens SCIM clients may present (Entra workload identity federation, or any OIDC issuer), oldest first."),
            "responses", responses(&[("200", ok("The issuers", r("IssuerList")))], &[])),
        "post": with(with(op("addIssuer", "issuers", "Add an OIDC issuer",
            "Accepts access tokens of this issuer from then on: tokens whose `iss` is the issuer, `aud` the audience, and `appid` (Entra v1), `azp` (v2) or `client_id` (RFC 9068) one of `appIds`, signed with a key of the issuer's JWKS (from `metadataUrl`, by default the issuer + `/.well-known/openid-configuration`, or from `jwksFile`, an absolute path on the server). 400 for a missing or malformed value, both `metadataUrl` and `jwksFile`, a metadata URL refused by the outbound address rule (not https, or resolving to a loopback, private, link-local or other non-public address, unless the server runs with `--allow-private-outbound`), or a JWKS file that cannot be read; 409 when the issuer is configured already."),
            "requestBody", request(r("IssuerAdd"), json!({
                "issuer": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
                "audience": "api://scimd",
                "appIds": ["00000003-0000-0000-c000-000000000000"]
            }))),
            "responses", responses(&[("201", super::created("The issuer", "/api/v1/issuers/{issuer}", r("Issuer")))], &[400, 409, 413]))
    })
}

/// `/api/v1/issuers/{issuer}`.
pub(super) fn issuer_path() -> Value {
    json!({
        "parameters": [{"name": "issuer", "in": "path", "required": true,
            "description": "The issuer's id, or its URL percent-encoded (https%3A%2F%2Fsts.windows.net%2F…%2F)",
            "schema": {"type": "string"}}],
        "delete": with(op("removeIssuer", "issuers", "Remove an OIDC issuer",
            "Its access tokens are refused from then on (within a second on every instance). 404 when no issuer has this id or URL."),
            "responses", responses(&[("204", json!({"description": "Removed"}))], &[404]))
    })
}

/// The schemas of issuers.
pub(super) fn schemas(m: &mut Map<String, Value>) {
    let string = json!({"type": "string", "minLength": 1});
    m.insert("Issuer".into(), json!({
        "type": "object",
        "required": ["id", "issuer", "audience", "appIds", "metadataUrl", "jwksFile", "created"],
        "properties": {
            "id": {"type": "string"},
            "issuer": {"type": "string", "description": "Compared exactly with a token's `iss`"},
            "audience": {"type": "string", "description": "A token's `aud` must be this"},
            "appIds": {"type": "array", "items": {"type": "string"}, "description": "Allowed `appid` / `azp` / `client_id` values"},
            "metadataUrl": {"type": ["string", "null"], "description": "Where the keys are found (the default URL when none was given; null with a JWKS file)"},
            "jwksFile": {"type": ["string", "null"]},
            "created": {"type": "string", "format": "date-time"}
        }
    }));
    m.insert(
        "IssuerList".into(),
        json!(list_of("Issuer", "Every issuer (unpaged)")),
    );
    m.insert("IssuerAdd".into(), json!({
        "type": "object", "required": ["issuer", "audience", "appIds"], "additionalProperties": false,
        "properties": {
            "issuer": {"type": "string", "maxLength": 2048, "description": "https URL: Entra v1 https://sts.windows.net/TENANT-ID/ or v2 https://login.microsoftonline.com/TENANT-ID/v2.0"},
            "audience": string.clone(),
            "appIds": {"type": "array", "minItems": 1, "maxItems": 100, "items": string},
            "metadataUrl": {"type": "string", "maxLength": 2048},
            "jwksFile": {"type": "string", "description": "Absolute path of a JWKS file on the server (read again when it changes)"}
        }
    }));
}
