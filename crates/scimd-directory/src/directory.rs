//! The directory: SCIM operations turned into decisions and store writes, one transaction
//! per request.

use crate::store::{Store, TokenScope};
use scim_proto::schema::ResourceSchema;
use serde_json::Value;
use std::sync::Arc;

/// Who is calling: the tenant and token a bearer secret resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// Tenant id.
    pub tenant_id: String,
    /// Token id.
    pub token_id: String,
    /// Token name (recorded in the provisioning log; never the secret).
    pub token_name: String,
    /// Token scope.
    pub scope: TokenScope,
    /// The HTTP request being served, for the provisioning log (set by the HTTP layer).
    pub request: RequestInfo,
}

/// The HTTP method and path of a request, as recorded in the provisioning log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestInfo {
    /// `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// The path, without query string (`/scim/v2/Users/…`).
    pub path: String,
}

/// A resource rendered for a client: the full representation (`schemas`, `id`,
/// `externalId`, attributes, `meta` with `resourceType`, `created`, `lastModified`,
/// `location`, `version`; Groups with `members` when loaded, Users with `groups`),
/// before any `attributes`/`excludedAttributes` projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The JSON representation.
    pub resource: Value,
    /// The entity tag, `W/"<version>"`, also in `meta.version` and the `ETag` header.
    pub etag: String,
    /// `meta.location`: the resource's absolute URL.
    pub location: String,
    /// The resource type it was rendered with (the tenant's, at the time of the request),
    /// for projecting it without reading the schema again.
    pub schema: Arc<ResourceSchema>,
}

/// What first start created (printed once by `scimd serve`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// The default tenant's id.
    pub tenant_id: String,
    /// The new SCIM token's secret (shown once, never stored).
    pub scim_token: String,
    /// The portal administrator created (`admin`).
    pub admin_username: String,
    /// Its password (shown once; stored only as an Argon2id hash).
    pub admin_password: String,
}

/// Errors of directory calls that are not SCIM requests (CLI, startup).
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A store failure.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A request that cannot be done, with a message a person can act on.
    #[error("{0}")]
    Invalid(String),
    /// The name is already taken (a live token of that name), with a message a person can
    /// act on.
    #[error("{0}")]
    Conflict(String),
}

/// The directory service. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    base_url: String,
}

impl Directory {
    /// A directory over `store`; `base_url` is the SCIM base URL clients use
    /// (`https://host/scim/v2`, no trailing slash), used for `meta.location` and `Location`.
    pub fn new(store: Arc<dyn Store>, base_url: impl Into<String>) -> Directory {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        Directory {
            inner: Arc::new(Inner { store, base_url }),
        }
    }

    /// The SCIM base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }
}
