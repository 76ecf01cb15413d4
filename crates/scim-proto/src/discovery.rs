//! Discovery endpoint bodies (RFC 7644 §4; RFC 7643 §5, §6, §7): `/Schemas/{id}`,
//! `/ResourceTypes/{name}` and `/ServiceProviderConfig`.
//!
//! Every function takes the service's base URL (e.g. `https://scim.example.com/scim/v2`,
//! a trailing `/` is ignored) to render `meta.location`.

use crate::schema::{
    AttrType, AttributeDef, ResourceSchema, Schema, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA,
};
use serde_json::{json, Map, Value};

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// One attribute definition as published in `/Schemas` (RFC 7643 §7): `name`, `type`,
/// `multiValued`, `description`, `required`, `caseExact`, `mutability`, `returned`,
/// `uniqueness`, then `canonicalValues` (only when there are any), `referenceTypes` (for
/// `reference` attributes) and `subAttributes` (for `complex` attributes), recursively.
pub fn attribute_json(attr: &AttributeDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(attr.name.clone()));
    m.insert("type".into(), Value::String(attr.ty.as_str().into()));
    m.insert("multiValued".into(), Value::Bool(attr.multi_valued));
    m.insert(
        "description".into(),
        Value::String(attr.description.clone()),
    );
    m.insert("required".into(), Value::Bool(attr.required));
    m.insert("caseExact".into(), Value::Bool(attr.case_exact));
    m.insert(
        "mutability".into(),
        Value::String(attr.mutability.as_str().into()),
    );
    m.insert(
        "returned".into(),
        Value::String(attr.returned.as_str().into()),
    );
    m.insert(
        "uniqueness".into(),
        Value::String(attr.uniqueness.as_str().into()),
    );
    if !attr.canonical_values.is_empty() {
        m.insert("canonicalValues".into(), json!(attr.canonical_values));
    }
    if attr.ty == AttrType::Reference {
        m.insert("referenceTypes".into(), json!(attr.reference_types));
    }
    if attr.ty == AttrType::Complex {
        m.insert(
            "subAttributes".into(),
            Value::Array(attr.sub_attributes.iter().map(attribute_json).collect()),
        );
    }
    Value::Object(m)
}

/// The full representation of a schema (RFC 7643 §7, example in §8.7.1), as served at
/// `GET /Schemas/{id}`:
///
/// `{"schemas":[SCHEMA_SCHEMA],"id":urn,"name":..,"description":..,"attributes":[..],
/// "meta":{"resourceType":"Schema","location":base_url + "/Schemas/" + urn}}`
///
/// Each attribute is rendered by [`attribute_json`].
pub fn schema_json(schema: &Schema, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base(base_url), schema.id),
        },
    })
}

/// A resource type (RFC 7643 §6, example in §8.6), as served at
/// `GET /ResourceTypes/{name}`:
///
/// `{"schemas":[RESOURCE_TYPE_SCHEMA],"id":"User","name":"User","endpoint":"/Users",
/// "description":..,"schema":core URN,"schemaExtensions":[{"schema":urn,"required":false}],
/// "meta":{"resourceType":"ResourceType","location":base_url + "/ResourceTypes/User"}}`
///
/// `schemaExtensions` is omitted when the resource type has no extensions (as for Group).
pub fn resource_type_json(rs: &ResourceSchema, base_url: &str) -> Value {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([RESOURCE_TYPE_SCHEMA]));
    m.insert("id".into(), Value::String(rs.name.clone()));
    m.insert("name".into(), Value::String(rs.name.clone()));
    m.insert("endpoint".into(), Value::String(rs.endpoint.clone()));
    m.insert("description".into(), Value::String(rs.description.clone()));
    m.insert("schema".into(), Value::String(rs.core.id.clone()));
    if !rs.extensions.is_empty() {
        let exts = rs
            .extensions
            .iter()
            .map(|e| json!({"schema": e.schema.id, "required": e.required}))
            .collect();
        m.insert("schemaExtensions".into(), Value::Array(exts));
    }
    m.insert(
        "meta".into(),
        json!({
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base(base_url), rs.name),
        }),
    );
    Value::Object(m)
}

/// What the service supports, for [`service_provider_config_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderFeatures {
    /// Largest page served (`filter.maxResults`), normally [`crate::list::MAX_PAGE_SIZE`].
    pub max_results: u64,
    /// Largest request body accepted, in bytes (`bulk.maxPayloadSize`).
    pub max_payload_bytes: u64,
    /// Whether `/Bulk` is served (`bulk.supported`).
    pub bulk_supported: bool,
    /// Published as `documentationUri` when set.
    pub documentation_uri: Option<String>,
}

/// The `/ServiceProviderConfig` body (RFC 7643 §5, example in §8.5), stating what scimd
/// really does: `patch`, `filter` (with `maxResults`), `sort` and `etag` supported;
/// `changePassword` not supported; `bulk` as given in `cfg` with `maxOperations` 0 and
/// `maxPayloadSize` = `cfg.max_payload_bytes`; one authentication scheme, the bearer
/// tokens issued by `scimd token create` (type `oauthbearertoken`, primary);
/// `meta {resourceType:"ServiceProviderConfig", location: base_url + "/ServiceProviderConfig"}`.
pub fn service_provider_config_json(cfg: &ServiceProviderFeatures, base_url: &str) -> Value {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([SERVICE_PROVIDER_CONFIG_SCHEMA]));
    if let Some(doc) = &cfg.documentation_uri {
        m.insert("documentationUri".into(), Value::String(doc.clone()));
    }
    m.insert("patch".into(), json!({"supported": true}));
    m.insert(
        "bulk".into(),
        json!({"supported": cfg.bulk_supported, "maxOperations": 0, "maxPayloadSize": cfg.max_payload_bytes}),
    );
    m.insert(
        "filter".into(),
        json!({"supported": true, "maxResults": cfg.max_results}),
    );
    m.insert("changePassword".into(), json!({"supported": false}));
    m.insert("sort".into(), json!({"supported": true}));
    m.insert("etag".into(), json!({"supported": true}));
    m.insert(
        "authenticationSchemes".into(),
        json!([{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token issued by scimd (scimd token create)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }]),
    );
    m.insert(
        "meta".into(),
        json!({
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        }),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::*;
    use std::sync::Arc;

    const BASE: &str = "https://scim.example.com/scim/v2/";

    #[test]
    fn user_schema_json_round_trip() {
        let v = schema_json(&user_schema(), BASE);
        assert_eq!(v["schemas"], json!([SCHEMA_SCHEMA]));
        assert_eq!(v["id"], USER_SCHEMA);
        assert_eq!(v["name"], "User");
        assert_eq!(v["meta"]["resourceType"], "Schema");
        assert_eq!(
            v["meta"]["location"],
            format!("https://scim.example.com/scim/v2/Schemas/{USER_SCHEMA}")
        );
        let attrs = v["attributes"].as_array().unwrap();
        assert_eq!(attrs.len(), user_schema().attributes.len());
        let user_name = &attrs[0];
        assert_eq!(
            *user_name,
            json!({
                "name": "userName", "type": "string", "multiValued": false,
                "description": user_schema().attributes[0].description,
                "required": true, "caseExact": false, "mutability": "readWrite",
                "returned": "default", "uniqueness": "server"
            })
        );
        let pw = attrs.iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(
            (pw["mutability"].as_str(), pw["returned"].as_str()),
            (Some("writeOnly"), Some("never"))
        );
        let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["type"], "complex");
        assert_eq!(emails["multiValued"], true);
        let subs = emails["subAttributes"].as_array().unwrap();
        assert_eq!(subs[2]["canonicalValues"], json!(["work", "home", "other"]));
        assert!(subs[0].get("canonicalValues").is_none());
        assert!(subs[0].get("subAttributes").is_none());
        let profile = attrs.iter().find(|a| a["name"] == "profileUrl").unwrap();
        assert_eq!(profile["referenceTypes"], json!(["external"]));
        let groups = attrs.iter().find(|a| a["name"] == "groups").unwrap();
        assert_eq!(groups["subAttributes"][1]["name"], "$ref");
        assert_eq!(
            groups["subAttributes"][1]["referenceTypes"],
            json!(["User", "Group"])
        );
        let x509 = attrs
            .iter()
            .find(|a| a["name"] == "x509Certificates")
            .unwrap();
        assert_eq!(x509["subAttributes"][0]["type"], "binary");
        // Every attribute carries every characteristic.
        for a in attrs {
            for k in [
                "name",
                "type",
                "multiValued",
                "description",
                "required",
                "caseExact",
                "mutability",
                "returned",
                "uniqueness",
            ] {
                assert!(a.get(k).is_some(), "{} lacks {k}", a["name"]);
            }
        }
    }

    #[test]
    fn enterprise_and_group_schema_json() {
        let v = schema_json(&enterprise_user_schema(), "http://h");
        assert_eq!(
            v["meta"]["location"],
            format!("http://h/Schemas/{ENTERPRISE_USER_SCHEMA}")
        );
        let mgr = &v["attributes"][5];
        assert_eq!(mgr["name"], "manager");
        assert_eq!(mgr["subAttributes"][2]["mutability"], "readOnly");
        let g = schema_json(&group_schema(), "http://h");
        assert_eq!(
            g["attributes"][1]["subAttributes"][3]["canonicalValues"],
            json!(["User", "Group"])
        );
    }

    #[test]
    fn resource_types() {
        let custom = Arc::new(Schema {
            id: "urn:x:custom".into(),
            name: "C".into(),
            description: "C".into(),
            attributes: vec![],
        });
        let u = resource_type_json(&user_resource_schema(vec![custom]), BASE);
        assert_eq!(
            u,
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
                "schema": USER_SCHEMA,
                "schemaExtensions": [
                    {"schema": ENTERPRISE_USER_SCHEMA, "required": false},
                    {"schema": "urn:x:custom", "required": false}
                ],
                "meta": {"resourceType": "ResourceType", "location": "https://scim.example.com/scim/v2/ResourceTypes/User"}
            })
        );
        let g = resource_type_json(&group_resource_schema(), "http://h");
        assert!(g.get("schemaExtensions").is_none());
        assert_eq!(g["schema"], GROUP_SCHEMA);
        assert_eq!(g["meta"]["location"], "http://h/ResourceTypes/Group");
    }

    #[test]
    fn service_provider_config() {
        let cfg = ServiceProviderFeatures {
            max_results: 1000,
            max_payload_bytes: 1_048_576,
            bulk_supported: false,
            documentation_uri: Some("https://docs.example.com/scim".into()),
        };
        let v = service_provider_config_json(&cfg, BASE);
        assert_eq!(v["schemas"], json!([SERVICE_PROVIDER_CONFIG_SCHEMA]));
        assert_eq!(v["documentationUri"], "https://docs.example.com/scim");
        assert_eq!(v["patch"]["supported"], true);
        assert_eq!(
            v["bulk"],
            json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 1_048_576})
        );
        assert_eq!(v["filter"], json!({"supported": true, "maxResults": 1000}));
        assert_eq!(v["changePassword"]["supported"], false);
        assert_eq!(v["sort"]["supported"], true);
        assert_eq!(v["etag"]["supported"], true);
        let auth = &v["authenticationSchemes"][0];
        assert_eq!(auth["type"], "oauthbearertoken");
        assert_eq!(auth["name"], "OAuth Bearer Token");
        assert_eq!(auth["primary"], true);
        assert_eq!(
            v["meta"],
            json!({"resourceType": "ServiceProviderConfig", "location": "https://scim.example.com/scim/v2/ServiceProviderConfig"})
        );
        let no_doc = service_provider_config_json(
            &ServiceProviderFeatures {
                documentation_uri: None,
                ..cfg
            },
            BASE,
        );
        assert!(no_doc.get("documentationUri").is_none());
    }
}
