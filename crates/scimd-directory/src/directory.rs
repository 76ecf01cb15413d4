//! The directory: SCIM operations turned into decisions and store writes, one transaction
//! per request.

pub use crate::error::DirectoryError;
use crate::hashing::Hashing;
use crate::schemas::Schemas;
use crate::store::{Actor, ActorType, Cause, Channel, Store, TokenScope};
use scim_proto::limits::Limits;
use scim_proto::schema::ResourceSchema;
use serde_json::Value;
use std::sync::Arc;

/// The resource a SCIM write of `/Users/{id}` or `/Groups/{id}` acts on: its `id` and the
/// request's `If-Match` (RFC 7644 §3.14), if any; a write of another version is 412.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The resource's id (the path's last segment).
    pub id: &'a str,
    /// The `If-Match` header's value, when sent.
    pub if_match: Option<&'a str>,
}

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
    /// What kind of credential it is, as change records name the actor of a `scim`-scope
    /// caller: [`ActorType::Token`] for a static token, [`ActorType::Client`] for an access
    /// token of an OAuth client (`token_id` and `token_name` are then the client's id and
    /// name) or of a configured issuer (`token_name` is then `APP-ID@ISSUER`).
    pub actor: ActorType,
    /// The HTTP request being served, for the provisioning log (set by the HTTP layer).
    pub request: RequestInfo,
}

/// The HTTP method and path of a request and the client's address, as change records
/// keep them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestInfo {
    /// `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// The path, without query string (`/scim/v2/Users/…`).
    pub path: String,
    /// The client's IP address, when the server knows it.
    pub address: Option<String>,
}

impl Caller {
    /// Who the caller is in change records: a `scim` token is actor `{type: "token"}`
    /// (an issuer's access token `{type: "client"}`) through `/scim/v2`; an `admin` token
    /// is actor `{type: "admin"}` through the admin API; named by the token's name, with the
    /// request as the cause.
    pub fn origin(&self) -> Origin {
        let (kind, source) = match self.scope {
            TokenScope::Scim => (self.actor, Channel::Scim),
            // An operator token acts as an administrator of the operator realm.
            TokenScope::Admin | TokenScope::Operator => (ActorType::Admin, Channel::Api),
        };
        Origin {
            tenant_id: self.tenant_id.clone(),
            actor: Actor::new(kind, self.token_name.clone()),
            source,
            address: self.request.address.clone(),
            cause: Cause::Request {
                method: self.request.method.clone(),
                path: self.request.path.clone(),
                status: None,
            },
        }
    }
}

/// Who makes a change and through what, as its change records keep it: the tenant, the
/// actor, the channel (`source`), the client's address and the cause (the request, or the
/// command line). Every write of the directory takes one, explicitly.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The tenant changed.
    pub tenant_id: String,
    /// Who.
    pub actor: Actor,
    /// Through what.
    pub source: Channel,
    /// The client's IP address, when known.
    pub address: Option<String>,
    /// The request (method and path; the status is the directory's to fill) or command.
    pub cause: Cause,
}

impl Origin {
    /// A portal administrator `username` of `tenant`, making `request`.
    pub fn portal(tenant: &str, username: &str, request: RequestInfo) -> Origin {
        Origin {
            tenant_id: tenant.to_string(),
            actor: Actor::new(ActorType::Admin, username),
            source: Channel::Portal,
            address: request.address,
            cause: Cause::Request {
                method: request.method,
                path: request.path,
                status: None,
            },
        }
    }

    /// A command line (`scimd token create`) run by the operating-system user `user` on
    /// `tenant`.
    pub fn cli(tenant: &str, user: &str, command: &str) -> Origin {
        Origin {
            tenant_id: tenant.to_string(),
            actor: Actor::new(ActorType::Cli, user),
            source: Channel::Cli,
            address: None,
            cause: Cause::Command(command.to_string()),
        }
    }
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

/// The success status of a SCIM write (RFC 7644 §3.3, §3.5, §3.6): what the client is
/// answered and what the write's provisioning-log entry records, decided once, by the
/// directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStatus {
    /// 201: a resource was created (POST); the response carries it.
    Created,
    /// 200: the response carries the resource.
    Ok,
    /// 204: the response has no body.
    NoContent,
}

impl WriteStatus {
    /// The HTTP status code: 201, 200 or 204.
    pub fn code(self) -> u16 {
        match self {
            WriteStatus::Created => 201,
            WriteStatus::Ok => 200,
            WriteStatus::NoContent => 204,
        }
    }
}

/// A SCIM write that succeeded: the status to answer (also the one logged) and the
/// resource after the write (its `ETag` and `Location` in it). With
/// [`WriteStatus::NoContent`] the response has no body; the entity tag may still be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The status answered and logged.
    pub status: WriteStatus,
    /// The resource after the write.
    pub resource: Rendered,
}

/// What a `PATCH /Groups/{id}` answers: 204 without a body (the common case: Entra ID
/// changes members and asks for nothing back; no member rows are read), or 200 with the
/// group, with or without `members` (RFC 7644 §3.5.2: a PATCH answers 204, or 200 with the
/// resource when `attributes` or `excludedAttributes` asks for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupReply {
    /// 204, no body.
    NoContent,
    /// 200 with the group; `with_members` whether its members are read and rendered.
    Resource {
        /// Whether `members` is part of the response.
        with_members: bool,
    },
}

impl GroupReply {
    /// The status this reply answers.
    pub fn status(self) -> WriteStatus {
        match self {
            GroupReply::NoContent => WriteStatus::NoContent,
            GroupReply::Resource { .. } => WriteStatus::Ok,
        }
    }

    /// Whether the group's members are read for the reply.
    pub fn with_members(self) -> bool {
        matches!(self, GroupReply::Resource { with_members: true })
    }
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

tokio::task_local! {
    /// The SCIM base URL of the request a task serves ([`with_scim_base`]).
    static REQUEST_SCIM_BASE: String;
}

/// Runs `f` with `base` (`<public-url>/t/SLUG/scim/v2`, no trailing slash) as the SCIM base
/// URL of what it renders ([`Directory::scim_base`]). The HTTP layer wraps each request on
/// a tenant's path in it.
pub async fn with_scim_base<F: std::future::Future>(base: String, f: F) -> F::Output {
    REQUEST_SCIM_BASE.scope(base, f).await
}

/// The directory service. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    base_url: String,
    scim_requests: crate::tenants::ScimRequestNotes,
    caches: crate::cache::Caches,
    schemas: Schemas,
    hashing: Hashing,
    limits: Limits,
}

impl Directory {
    /// A directory over `store`; `base_url` is the SCIM base URL clients use
    /// (`https://host/scim/v2`, no trailing slash), used for `meta.location` and `Location`.
    pub fn new(store: Arc<dyn Store>, base_url: impl Into<String>) -> Directory {
        Directory::with_limits(store, base_url, Limits::default())
    }

    /// [`Directory::new`] with the bounds every write must stay within (the server's
    /// `--max-identifier-bytes`, `--max-string-bytes`, `--max-values` and
    /// `--max-members-per-request`; see [`scim_proto::limits`]).
    pub fn with_limits(
        store: Arc<dyn Store>,
        base_url: impl Into<String>,
        limits: Limits,
    ) -> Directory {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        Directory {
            inner: Arc::new(Inner {
                store,
                base_url,
                scim_requests: crate::tenants::ScimRequestNotes::default(),
                caches: crate::cache::Caches::new(crate::cache::DEFAULT_ENTRIES),
                schemas: Schemas::new(),
                hashing: Hashing::per_cpu(),
                limits,
            }),
        }
    }

    /// The bounds every write must stay within.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The root tenant's SCIM base URL, `<public-url>/scim/v2` (no trailing slash): the
    /// deployment's, whatever request is being served.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The SCIM base URL of the request being served: the one [`with_scim_base`] set
    /// (`<public-url>/t/SLUG/scim/v2` for a request that came in on a tenant's path), else
    /// [`Directory::base_url`]. `meta.location`, `$ref` and `Location` are made from it, so
    /// that they use the prefix the request arrived on.
    pub fn scim_base(&self) -> String {
        REQUEST_SCIM_BASE
            .try_with(|b| b.clone())
            .unwrap_or_else(|_| self.inner.base_url.clone())
    }

    /// When this process last wrote each tenant's last SCIM request.
    pub(crate) fn scim_request_notes(&self) -> &crate::tenants::ScimRequestNotes {
        &self.inner.scim_requests
    }

    /// This directory with caches of at most `entries` entries each (`--cache-entries`;
    /// default [`crate::cache::DEFAULT_ENTRIES`]). Call it on a new directory: once it has
    /// been cloned, it is returned unchanged.
    pub fn with_cache_entries(mut self, entries: usize) -> Directory {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.caches = crate::cache::Caches::new(entries);
        }
        self
    }

    /// What each request looks up, cached ([`crate::cache`]).
    pub(crate) fn caches(&self) -> &crate::cache::Caches {
        &self.inner.caches
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The resource types this directory serves.
    pub(crate) fn schemas(&self) -> &Schemas {
        &self.inner.schemas
    }

    /// The turns for password hashing (one per CPU, a short queue).
    pub(crate) fn hashing(&self) -> &Hashing {
        &self.inner.hashing
    }
}
