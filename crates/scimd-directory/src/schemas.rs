//! The resource types a directory serves, owned by the [`Directory`](crate::directory::Directory) (no
//! process-wide cache: two directories in one process never share one): Group, the User
//! type without custom attributes (as published while a tenant has none), and each
//! tenant's User type with its custom-attribute extension, rebuilt only when the custom
//! schema URN or the attribute definitions it was built from change (both are re-read in
//! every request's transaction, so a change made by another process is seen at once).

use crate::custom;
use crate::store::AttributeRow;
use scim_proto::schema::{group_resource_schema, user_resource_schema, ResourceSchema};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a tenant's User type is built from: the custom schema URN and the custom
/// attributes' `(name, type)` in registration order.
type SchemaKey = (String, Vec<(String, String)>);

/// The resource types of one directory.
pub(crate) struct Schemas {
    group: Arc<ResourceSchema>,
    plain_user: Arc<ResourceSchema>,
    tenants: Mutex<HashMap<String, (SchemaKey, Arc<ResourceSchema>)>>,
}

impl Schemas {
    pub(crate) fn new() -> Schemas {
        Schemas {
            group: Arc::new(group_resource_schema()),
            plain_user: Arc::new(user_resource_schema(vec![])),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The Group resource type.
    pub(crate) fn group(&self) -> Arc<ResourceSchema> {
        self.group.clone()
    }

    /// The User resource type without a custom extension.
    pub(crate) fn plain_user(&self) -> Arc<ResourceSchema> {
        self.plain_user.clone()
    }

    /// The User resource type of `tenant` with the custom extension at `urn` holding
    /// `attrs` (the extension is part of the type even with no attribute, so values sent for
    /// unregistered attributes are recognised as such, ignored with a warning, rather than
    /// refused as an unknown schema).
    pub(crate) fn user(
        &self,
        tenant: &str,
        urn: &str,
        attrs: &[AttributeRow],
    ) -> Arc<ResourceSchema> {
        let key: SchemaKey = (
            urn.to_string(),
            attrs
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        );
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, s)) = tenants.get(tenant) {
            if *k == key {
                return s.clone();
            }
        }
        let defs: Vec<_> = attrs
            .iter()
            .filter_map(|a| Some((a.name.clone(), custom::CustomType::parse(&a.ty)?)))
            .collect();
        let schema = Arc::new(user_resource_schema(vec![custom::custom_schema(
            urn, &defs,
        )]));
        tenants.insert(tenant.to_string(), (key, schema.clone()));
        schema
    }
}
