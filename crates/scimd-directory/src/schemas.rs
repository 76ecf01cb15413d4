//! The resource types a directory serves, owned by the [`Directory`](crate::directory::Directory) (no
//! process-wide cache: two directories in one process never share one): Group, the User
//! type without custom attributes (as published while a tenant has none), and each
//! tenant's User type with its custom-attribute extension. A User type is built from the
//! custom schema URN and the attribute definitions alone, so it is kept by those (at most
//! [`USER_TYPES`] of them) and shared by every tenant that has the same: a thousand tenants
//! with the default settings use one, which stays small in memory and hot in the CPU's
//! caches. A tenant whose URN or attributes change gets the type of its new ones at its
//! next request (both are read for every request, from the tenant's context).

use crate::custom;
use crate::store::AttributeRow;
use scim_proto::schema::{group_resource_schema, user_resource_schema, ResourceSchema};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a tenant's User type is built from: the custom schema URN and the custom
/// attributes' `(name, type)` in registration order.
type SchemaKey = (String, Vec<(String, String)>);

/// Distinct User types kept at most; beyond, the map starts again empty (memory does not
/// grow with the number of tenants).
pub const USER_TYPES: usize = 1000;

/// The resource types of one directory.
pub(crate) struct Schemas {
    group: Arc<ResourceSchema>,
    plain_user: Arc<ResourceSchema>,
    users: Mutex<HashMap<SchemaKey, Arc<ResourceSchema>>>,
}

impl Schemas {
    pub(crate) fn new() -> Schemas {
        Schemas {
            group: Arc::new(group_resource_schema()),
            plain_user: Arc::new(user_resource_schema(vec![])),
            users: Mutex::new(HashMap::new()),
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

    /// The User resource type with the custom extension at `urn` holding `attrs` (the
    /// extension is part of the type even with no attribute, so values sent for
    /// unregistered attributes are recognised as such, ignored with a warning, rather than
    /// refused as an unknown schema): the one already built for the same URN and
    /// attributes, whichever tenant it was built for.
    pub(crate) fn user(&self, urn: &str, attrs: &[AttributeRow]) -> Arc<ResourceSchema> {
        let key: SchemaKey = (
            urn.to_string(),
            attrs
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        );
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = users.get(&key) {
            return s.clone();
        }
        let defs: Vec<_> = attrs
            .iter()
            .filter_map(|a| Some((a.name.clone(), custom::CustomType::parse(&a.ty)?)))
            .collect();
        let schema = Arc::new(user_resource_schema(vec![custom::custom_schema(
            urn, &defs,
        )]));
        if users.len() >= USER_TYPES {
            users.clear();
        }
        users.insert(key, schema.clone());
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(tenant: &str, name: &str, ty: &str) -> AttributeRow {
        AttributeRow {
            tenant_id: tenant.into(),
            name: name.into(),
            ty: ty.into(),
            created: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn tenants_with_the_same_urn_and_attributes_share_one_user_type() {
        let s = Schemas::new();
        let urn = "urn:example:custom";
        let (a, b) = (
            attr("a", "costCode", "string"),
            attr("b", "costCode", "string"),
        );
        let of_a = s.user(urn, std::slice::from_ref(&a));
        assert!(
            Arc::ptr_eq(&of_a, &s.user(urn, &[b])),
            "the same type, built once"
        );
        // Another attribute, type, order or URN is another type.
        let other = [
            s.user(urn, &[attr("b", "costCode", "integer")]),
            s.user(urn, &[attr("b", "region", "string")]),
            s.user(urn, &[a.clone(), attr("a", "region", "string")]),
            s.user(urn, &[]),
            s.user("urn:example:other", std::slice::from_ref(&a)),
        ];
        for (i, o) in other.iter().enumerate() {
            assert!(!Arc::ptr_eq(&of_a, o), "{i}");
        }
        let custom = |t: &ResourceSchema| {
            t.extensions
                .iter()
                .any(|e| e.schema.attr("costCode").is_some())
        };
        assert!(custom(&of_a) && !custom(&other[3]));
    }

    #[test]
    fn the_user_types_kept_are_bounded() {
        let s = Schemas::new();
        for i in 0..USER_TYPES + 5 {
            s.user(&format!("urn:example:{i}"), &[]);
        }
        assert!(s.users.lock().unwrap().len() <= USER_TYPES);
    }
}
