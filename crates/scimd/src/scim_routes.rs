//! The SCIM 2.0 endpoints under `/scim/v2` (RFC 7644).
//!
//! Resource endpoints (bearer token of scope `scim` required, see [`crate::auth`]):
//!
//! | method | path                        | success                                              |
//! |--------|-----------------------------|------------------------------------------------------|
//! | GET    | `/Users`, `/Groups`         | 200 ListResponse (§3.4.2)                            |
//! | POST   | `/Users/.search`, `/Groups/.search`, `/.search` | 200 ListResponse (§3.4.3)        |
//! | POST   | `/Users`, `/Groups`         | 201, `Location`, `ETag` (§3.3)                       |
//! | GET    | `/Users/{id}`, `/Groups/{id}` | 200 with `ETag`; 304 when `If-None-Match` matches (§3.4.1, §3.14) |
//! | PUT    | `/Users/{id}`, `/Groups/{id}` | 200 (§3.5.1)                                       |
//! | PATCH  | `/Users/{id}`               | 200 with the resource (§3.5.2)                       |
//! | PATCH  | `/Groups/{id}`              | 204, or 200 with the resource when `attributes` / `excludedAttributes` is given |
//! | DELETE | `/Users/{id}`, `/Groups/{id}` | 204 (§3.6)                                         |
//!
//! `attributes` / `excludedAttributes` (§3.9) apply to every response carrying resources,
//! reads and writes. `If-Match` (§3.14) is passed to the directory, which compares it.
//! The root `/.search` runs the search on Users and on Groups, sums the totals and pages
//! over the concatenation, Users first.
//!
//! Discovery endpoints (§4; public, GET only, a `filter` parameter is refused with 403):
//! `/ServiceProviderConfig`, `/Schemas`, `/Schemas/{urn}`, `/ResourceTypes`,
//! `/ResourceTypes/{name}`. A request presenting a token sees its tenant's User schema
//! (custom attributes); an anonymous one sees the default tenant's. `/Me` and `/Bulk`
//! answer 501 (not supported).

use crate::auth::optional_caller;
use crate::body::JsonBody;
use crate::errors::{scim_json, ApiError};
use crate::query::{decode_query, has_param, if_none_match_matches, projection, Projection};
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
use scim_proto::discovery::{
    resource_type_json, schema_json, service_provider_config_json, ServiceProviderFeatures,
};
use scim_proto::list::{fit_page, list_response, ListParams, MAX_PAGE_SIZE};
use scim_proto::path::AttrPath;
use scim_proto::projection::{is_returned, project};
use scim_proto::schema::{ResourceSchema, Schema};
use scim_proto::{ScimError, ScimType};
use scimd_directory::directory::{
    Caller, GroupReply, Rendered, RequestInfo, Target, WriteStatus, Written,
};
use scimd_directory::store::TokenScope;
use serde_json::Value;
use std::sync::Arc;

/// The SCIM base path.
pub const BASE: &str = crate::state::SCIM_BASE;

type ApiResult = Result<Response, ApiError>;

/// The authenticated resource routes (the caller's [`Caller`] must be in the request
/// extensions: add [`crate::auth::require_scim`] as a route layer).
pub fn resource_routes() -> Router<AppState> {
    Router::new()
        .merge(kind_routes(Kind::User))
        .merge(kind_routes(Kind::Group))
        .route("/scim/v2/.search", post(search_root))
}

/// The routes of one resource type's endpoint (`/Users` or `/Groups`), each handler told
/// the type by the [`Kind`] request extension.
fn kind_routes(kind: Kind) -> Router<AppState> {
    let base = format!("{BASE}/{}", kind.endpoint());
    Router::new()
        .route(&base, get(list).post(create))
        .route(&format!("{base}/.search"), post(list))
        .route(
            &format!("{base}/{{id}}"),
            get(get_one).put(update).patch(update).delete(delete),
        )
        .layer(Extension(kind))
}

/// Every SCIM route as `(method, path template)`, built from the same resource types and
/// discovery collections as [`resource_routes`] and [`discovery_routes`] (`/Me` and `/Bulk`
/// answer every method; `GET` stands for them). For tests that must reach every route (the
/// tenant isolation test).
pub fn route_table() -> Vec<(&'static str, String)> {
    let mut t: Vec<(&'static str, String)> = vec![
        ("POST", format!("{BASE}/.search")),
        ("GET", format!("{BASE}/ServiceProviderConfig")),
        ("GET", format!("{BASE}/Me")),
        ("GET", format!("{BASE}/Bulk")),
    ];
    for kind in [Kind::User, Kind::Group] {
        let base = format!("{BASE}/{}", kind.endpoint());
        t.push(("GET", base.clone()));
        t.push(("POST", base.clone()));
        t.push(("POST", format!("{base}/.search")));
        for m in ["GET", "PUT", "PATCH", "DELETE"] {
            t.push((m, format!("{base}/{{id}}")));
        }
    }
    for of in [Collection::Schemas, Collection::ResourceTypes] {
        let base = format!("{BASE}/{}", of.endpoint());
        t.push(("GET", format!("{base}/{{name}}")));
        t.push(("GET", base));
    }
    t
}

/// The public discovery routes.
pub fn discovery_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .merge(collection_routes(Collection::Schemas))
        .merge(collection_routes(Collection::ResourceTypes))
        .route("/scim/v2/Me", any(me))
        .route("/scim/v2/Bulk", any(bulk))
}

// ---------------------------------------------------------------- helpers

/// What a request on one resource carries besides its id and body: its resource type, the
/// caller, the query string, and the conditional headers (RFC 7644 §3.14).
struct On {
    kind: Kind,
    c: Caller,
    query: Option<String>,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for On {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<On, ApiError> {
        let c =
            parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
                ScimError::internal("the request reached a handler unauthenticated")
            })?;
        let kind = parts.extensions.get::<Kind>().copied().ok_or_else(|| {
            ScimError::internal("the request reached a handler without its resource type")
        })?;
        Ok(On {
            kind,
            c,
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers.clone(),
        })
    }
}

impl On {
    /// `attributes` / `excludedAttributes` (RFC 7644 §3.9). Errors: 400 invalidPath.
    fn projection(&self) -> Result<Projection, ApiError> {
        Ok(projection(&decode_query(self.query.as_deref()))?)
    }

    /// The `If-Match` header. A header that is not visible ASCII cannot match any entity
    /// tag: 412.
    fn if_match(&self) -> Result<Option<String>, ApiError> {
        match self.headers.get(IF_MATCH) {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Ok(s) => Ok(Some(s.trim().to_string())),
                Err(_) => Err(ScimError::precondition_failed(
                    "the If-Match header matches no version of this resource",
                )
                .into()),
            },
        }
    }

    /// Whether an `If-None-Match` header matches the resource's entity tag.
    fn unchanged(&self, etag: &str) -> bool {
        self.headers
            .get(IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|h| if_none_match_matches(h, etag))
    }
}

fn set_etag(res: &mut Response, etag: &str) {
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(ETAG, v);
    }
}

/// A single-resource response: the projected resource with its `ETag` (and `Location`
/// for 201).
fn resource_response(status: StatusCode, r: &Rendered, p: &Projection) -> Response {
    let body = project(&r.resource, &r.schema, &p.attributes, &p.excluded);
    let mut res = scim_json(status, &body);
    set_etag(&mut res, &r.etag);
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(&r.location) {
            res.headers_mut().insert(LOCATION, v);
        }
    }
    res
}

/// A body-less response (304, 204) with an optional entity tag.
fn empty(status: StatusCode, etag: Option<&str>) -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = status;
    if let Some(e) = etag {
        set_etag(&mut res, e);
    }
    res
}

/// The status a write answers, as the directory decided it (and logged it).
fn status_of(s: WriteStatus) -> StatusCode {
    StatusCode::from_u16(s.code()).unwrap_or(StatusCode::OK)
}

/// The response of a successful write: the projected resource with the status the
/// directory decided (and logged), or no body for 204 (with the entity tag).
fn written(w: &Written, p: &Projection) -> Response {
    match w.status {
        WriteStatus::NoContent => empty(StatusCode::NO_CONTENT, Some(&w.resource.etag)),
        s => resource_response(status_of(s), &w.resource, p),
    }
}

/// The list parameters of a request: from the query string of a GET (RFC 7644 §3.4.2), from
/// the SearchRequest body of a POST to `.search` (§3.4.3). Errors: 400 for malformed
/// parameters; the body's own errors (413, 400 invalidSyntax).
struct Listing(ListParams);

impl FromRequest<AppState> for Listing {
    type Rejection = ApiError;

    async fn from_request(req: Request, st: &AppState) -> Result<Listing, ApiError> {
        if req.method() == Method::POST {
            let JsonBody(body) = JsonBody::from_request(req, st).await?;
            Ok(Listing(ListParams::from_search_body(&body)?))
        } else {
            let pairs = decode_query(req.uri().query());
            Ok(Listing(ListParams::from_query(&pairs)?))
        }
    }
}

/// The projected resources of a page under the page byte budget (`--max-page-bytes`): the
/// longest prefix whose JSON fits, at least one resource however large ([`fit_page`]), so
/// a page holds fewer resources than `count` when they are large (RFC 7644 §3.4.2.4;
/// `itemsPerPage` says how many, `totalResults` is unchanged). Whether some were dropped.
fn budgeted(st: &AppState, items: &[Rendered], p: &ListParams) -> (Vec<Value>, bool) {
    let mut resources = project_all(items, p);
    let cut = fit_page(&mut resources, st.directory.limits().max_page_bytes);
    (resources, cut)
}

/// Projects each item with the resource type it was rendered with.
fn project_all(items: &[Rendered], p: &ListParams) -> Vec<Value> {
    items
        .iter()
        .map(|r| {
            project(
                &r.resource,
                &r.schema,
                &p.attributes,
                &p.excluded_attributes,
            )
        })
        .collect()
}

fn ok_list(total: u64, start_index: u64, resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &list_response(total, start_index, resources),
    )
}

// ---------------------------------------------------------------- Users and Groups

/// The resource type a resource route serves (each is mounted once per type, see
/// [`kind_routes`]).
#[derive(Debug, Clone, Copy)]
enum Kind {
    User,
    Group,
}

impl Kind {
    /// The endpoint's name (RFC 7644 §3.2).
    fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}

/// Whether a response with these `attributes` / `excludedAttributes` shows group members
/// (when not, no member rows are read).
fn members_returned(st: &AppState, attributes: &[AttrPath], excluded: &[AttrPath]) -> bool {
    let schema = st.directory.group_schema();
    is_returned(&schema, "members", attributes, excluded)
}

/// `GET /Users`, `GET /Groups` and their `POST .search`.
async fn list(
    State(st): State<AppState>,
    Extension(kind): Extension<Kind>,
    Extension(c): Extension<Caller>,
    Listing(p): Listing,
) -> ApiResult {
    let _turn = large_page_turn(&st, &p).await?;
    let d = &st.directory;
    let (total, items) = match kind {
        Kind::User => d.list_users(&c, &p).await?,
        Kind::Group => {
            let with_members = members_returned(&st, &p.attributes, &p.excluded_attributes);
            d.list_groups(&c, &p, with_members).await?
        }
    };
    Ok(ok_list(total, p.start_index, budgeted(&st, &items, &p).0))
}

/// Pages of more than this many resources (`count`) are "large" (see [`large_page_turn`]).
const LARGE_PAGE: u64 = 100;

/// How long a large list page waits for its turn before 503.
const LARGE_PAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits for a turn to build a large list page (`count` above [`LARGE_PAGE`]).
///
/// Such a page holds every resource of it in memory several times over while it is read,
/// rendered, projected and serialised (about 35 KB per full User, so some 35 MB for
/// `count=1000`), and takes CPU time in proportion. At most one per two CPUs (at least one) is
/// built at a time (the server's [`AppState::large_pages`] turns); the others wait, up to [`LARGE_PAGE_WAIT`]. This bounds the memory of
/// concurrent paging clients (docs/performance.md, resident memory); requests with the
/// default `count` (100) or less never wait here. (A single group with a very large `members`
/// is not bounded by this.) `None` for a request that needs no turn (`count` at most
/// [`LARGE_PAGE`]).
///
/// Errors: 503 when no turn came within [`LARGE_PAGE_WAIT`] (nothing was read; retry, or ask
/// for smaller pages).
async fn large_page_turn<'a>(
    st: &'a AppState,
    p: &ListParams,
) -> Result<Option<tokio::sync::SemaphorePermit<'a>>, ScimError> {
    if p.count <= LARGE_PAGE {
        return Ok(None);
    }
    match tokio::time::timeout(LARGE_PAGE_WAIT, st.large_pages.acquire()).await {
        // The semaphore is never closed.
        Ok(permit) => Ok(permit.ok()),
        Err(_) => Err(ScimError::new(
            503,
            None,
            format!(
                "the server is busy building other large pages (count above {LARGE_PAGE}) and none \
                 finished within {} s; nothing was read: retry later, or ask for smaller pages",
                LARGE_PAGE_WAIT.as_secs()
            ),
        )),
    }
}

/// `GET /Users/{id}`, `GET /Groups/{id}`: 304 when `If-None-Match` matches.
async fn get_one(State(st): State<AppState>, Path(id): Path<String>, on: On) -> ApiResult {
    let p = on.projection()?;
    let d = &st.directory;
    let r = match on.kind {
        Kind::User => d.get_user(&on.c, &id).await?,
        Kind::Group => {
            let with_members = members_returned(&st, &p.attributes, &p.excluded);
            d.get_group(&on.c, &id, with_members).await?
        }
    };
    if on.unchanged(&r.etag) {
        return Ok(empty(StatusCode::NOT_MODIFIED, Some(&r.etag)));
    }
    Ok(resource_response(StatusCode::OK, &r, &p))
}

/// `POST /Users`, `POST /Groups`.
async fn create(State(st): State<AppState>, on: On, JsonBody(body): JsonBody) -> ApiResult {
    let p = on.projection()?;
    let w = match on.kind {
        Kind::User => st.directory.create_user(&on.c, &body).await?,
        Kind::Group => st.directory.create_group(&on.c, &body).await?,
    };
    Ok(written(&w, &p))
}

/// `PUT` (replace, RFC 7644 §3.5.1) and `PATCH` (§3.5.2) of `/Users/{id}`, `/Groups/{id}`.
async fn update(
    State(st): State<AppState>,
    method: Method,
    Path(id): Path<String>,
    on: On,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let (p, im) = (on.projection()?, on.if_match()?);
    let (d, c) = (&st.directory, &on.c);
    let t = Target {
        id: &id,
        if_match: im.as_deref(),
    };
    let patch = method == Method::PATCH;
    let w = match on.kind {
        Kind::User if patch => d.patch_user(c, t, &body).await?,
        Kind::User => d.replace_user(c, t, &body).await?,
        Kind::Group if patch => {
            let reply = if p.requested {
                GroupReply::Resource {
                    with_members: members_returned(&st, &p.attributes, &p.excluded),
                }
            } else {
                // The common Entra case (membership changes): no body, and no member rows read.
                GroupReply::NoContent
            };
            d.patch_group(c, t, &body, reply).await?
        }
        Kind::Group => d.replace_group(c, t, &body).await?,
    };
    Ok(written(&w, &p))
}

/// `DELETE /Users/{id}`, `DELETE /Groups/{id}`.
async fn delete(State(st): State<AppState>, Path(id): Path<String>, on: On) -> ApiResult {
    let im = on.if_match()?;
    let t = Target {
        id: &id,
        if_match: im.as_deref(),
    };
    let status = match on.kind {
        Kind::User => st.directory.delete_user(&on.c, t).await?,
        Kind::Group => st.directory.delete_group(&on.c, t).await?,
    };
    Ok(empty(status_of(status), None))
}

// ---------------------------------------------------------------- root search

/// Whether an error of one resource type's search means "this filter or sort does not
/// apply to this type" (an attribute it does not have) rather than a bad request.
fn inapplicable(e: &ScimError) -> bool {
    e.status == 400
        && matches!(
            e.scim_type,
            Some(ScimType::InvalidFilter) | Some(ScimType::InvalidPath)
        )
}

/// `POST /.search` (RFC 7644 §3.4.3 at the root): Users then Groups. A filter or sort
/// naming an attribute only one type has matches nothing of the other type; when it
/// applies to neither, the Users error is returned.
async fn search_root(
    State(st): State<AppState>,
    Extension(c): Extension<Caller>,
    Listing(p): Listing,
) -> ApiResult {
    let dir = &st.directory;
    let _turn = large_page_turn(&st, &p).await?;

    let (users, users_err) = match dir.list_users(&c, &p).await {
        Ok(v) => (Some(v), None),
        Err(e) if inapplicable(&e) => (None, Some(e)),
        Err(e) => return Err(e.into()),
    };
    let (user_total, user_items) = users.unwrap_or((0, Vec::new()));
    let (mut resources, cut) = budgeted(&st, &user_items, &p);
    // Users the page had room for by count but not by bytes: the next page starts with
    // them, so no group may follow them on this one.
    let users_due = p
        .count
        .min(user_total.saturating_sub(p.start_index.max(1) - 1));
    if cut || (resources.len() as u64) < users_due {
        return Ok(ok_list(
            user_total + groups_total(&st, &c, &p).await?,
            p.start_index,
            resources,
        ));
    }

    let skip = p
        .start_index
        .max(1)
        .saturating_sub(1)
        .saturating_sub(user_total);
    let mut gp = p.clone();
    gp.start_index = skip + 1;
    gp.count = p.count.saturating_sub(user_items.len() as u64);
    let with_members = members_returned(&st, &p.attributes, &p.excluded_attributes);
    let (group_total, group_items) = match dir.list_groups(&c, &gp, with_members).await {
        Ok(v) => v,
        Err(e) if inapplicable(&e) => match users_err {
            Some(ue) => return Err(ue.into()),
            None => (0, Vec::new()),
        },
        Err(e) => return Err(e.into()),
    };

    resources.extend(project_all(&group_items, &p));
    fit_page(&mut resources, st.directory.limits().max_page_bytes);
    Ok(ok_list(user_total + group_total, p.start_index, resources))
}

/// How many groups a root search matches (0 when its filter or sort does not apply to
/// groups), for a page that holds no group.
async fn groups_total(st: &AppState, c: &Caller, p: &ListParams) -> Result<u64, ApiError> {
    let mut gp = p.clone();
    gp.count = 0;
    match st.directory.list_groups(c, &gp, false).await {
        Ok((total, _)) => Ok(total),
        Err(e) if inapplicable(&e) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- discovery

/// RFC 7644 §4: a `filter` on a discovery endpoint is refused with 403, so a client cannot
/// take the unfiltered answer for a filtered one. Other query parameters are ignored.
fn refuse_filter(q: &Option<String>) -> Result<(), ApiError> {
    if has_param(&decode_query(q.as_deref()), "filter") {
        return Err(ScimError::new(
            403,
            None,
            "filtering is not supported on the discovery endpoints (RFC 7644 §4); request the list without a filter",
        )
        .into());
    }
    Ok(())
}

/// The caller of a discovery request when it presents a token (admitted under its rate
/// limit, [`crate::rate::limiter::admit`]); when anonymous, an anonymous caller of the
/// tenant whose paths the request is on. Rejections: 401 for a token that
/// is not valid, 429 over the token's rate.
struct DiscoveryCaller(Caller);

impl FromRequestParts<AppState> for DiscoveryCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let info = crate::auth::request_info(&parts.method, &parts.uri, &parts.extensions);
        let c = optional_caller(st, (&parts.headers, &parts.extensions), info).await?;
        if let Some(c) = &c {
            crate::rate::limiter::admit(&st.limiter, &parts.extensions, &c.token_id)
                .await
                .map_err(|r| {
                    r.answer(st.limiter.limits(), |m| {
                        ApiError(ScimError::new(429, None, m)).into_response()
                    })
                })?;
        }
        let c = match c {
            Some(c) => c,
            // Anonymous: of the tenant whose paths the request is on (looked up only when a
            // response needs the tenant: the custom schema).
            None => Caller {
                tenant_id: crate::tenancy::of(&parts.extensions)
                    .map(|t| t.tenant.id.clone())
                    .unwrap_or_default(),
                token_id: String::new(),
                token_name: "(anonymous)".to_string(),
                scope: TokenScope::Scim,
                actor: scimd_directory::store::ActorType::Token,
                request: RequestInfo::default(),
            },
        };
        Ok(DiscoveryCaller(c))
    }
}

/// The resource types of the tenant a discovery response describes: the token's when one
/// is presented, else the tenant's whose paths the request is on (anonymous; the root
/// tenant when that is not known).
async fn resource_schemas(
    st: &AppState,
    mut c: Caller,
) -> Result<Vec<Arc<ResourceSchema>>, ApiError> {
    if c.tenant_id.is_empty() {
        c.tenant_id = st.directory.default_tenant_id().await?;
    }
    Ok(vec![
        st.directory.user_schema(&c).await?,
        st.directory.group_schema(),
    ])
}

/// Every schema of every resource type, core schemas first, each once.
fn all_schemas(types: &[Arc<ResourceSchema>]) -> Vec<&Schema> {
    let mut out: Vec<&Schema> = Vec::new();
    let cores = types.iter().map(|t| t.core.as_ref());
    let exts = types
        .iter()
        .flat_map(|t| t.extensions.iter().map(|e| e.schema.as_ref()));
    for s in cores.chain(exts) {
        if !out.iter().any(|o| o.id.eq_ignore_ascii_case(&s.id)) {
            out.push(s);
        }
    }
    out
}

async fn service_provider_config(
    State(st): State<AppState>,
    _: DiscoveryCaller,
    RawQuery(q): RawQuery,
) -> ApiResult {
    refuse_filter(&q)?;
    let features = ServiceProviderFeatures {
        max_results: MAX_PAGE_SIZE,
        max_payload_bytes: st.max_body_bytes as u64,
        bulk_supported: false,
        documentation_uri: None,
    };
    Ok(scim_json(
        StatusCode::OK,
        &service_provider_config_json(&features, &st.directory.scim_base()),
    ))
}

/// A discovery collection whose members are read one by one by name (RFC 7644 §4).
#[derive(Debug, Clone, Copy)]
enum Collection {
    /// `/Schemas`, members read by schema URN.
    Schemas,
    /// `/ResourceTypes`, members read by name.
    ResourceTypes,
}

impl Collection {
    fn endpoint(self) -> &'static str {
        match self {
            Collection::Schemas => "Schemas",
            Collection::ResourceTypes => "ResourceTypes",
        }
    }

    /// The 404 detail for a name no member has.
    fn missing(self, name: &str) -> String {
        match self {
            Collection::Schemas => {
                format!("no schema {name}: GET /Schemas lists the schemas served")
            }
            Collection::ResourceTypes => {
                format!("no resource type {name}: the resource types are User and Group")
            }
        }
    }

    /// The members for the tenant a discovery response describes (see
    /// [`resource_schemas`]), each with the name it is read by (compared ignoring case).
    async fn members(self, st: &AppState, c: Caller) -> Result<Vec<(String, Value)>, ApiError> {
        let types = resource_schemas(st, c).await?;
        let base = st.directory.scim_base();
        let base = base.as_str();
        Ok(match self {
            Collection::Schemas => all_schemas(&types)
                .into_iter()
                .map(|s| (s.id.clone(), schema_json(s, base)))
                .collect(),
            Collection::ResourceTypes => types
                .iter()
                .map(|t| (t.name.clone(), resource_type_json(t, base)))
                .collect(),
        })
    }
}

/// The routes of a discovery collection: the list and its members, each handler told the
/// collection by the [`Collection`] request extension.
fn collection_routes(of: Collection) -> Router<AppState> {
    let base = format!("{BASE}/{}", of.endpoint());
    Router::new()
        .route(&base, get(list_collection))
        .route(&format!("{base}/{{name}}"), get(get_member))
        .layer(Extension(of))
}

/// `GET /Schemas`, `GET /ResourceTypes`: every member, as a ListResponse.
async fn list_collection(
    State(st): State<AppState>,
    Extension(of): Extension<Collection>,
    RawQuery(q): RawQuery,
    DiscoveryCaller(c): DiscoveryCaller,
) -> ApiResult {
    refuse_filter(&q)?;
    let items: Vec<Value> = of
        .members(&st, c)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    Ok(ok_list(items.len() as u64, 1, items))
}

/// `GET /Schemas/{urn}`, `GET /ResourceTypes/{name}`: one member, 404 for another name.
async fn get_member(
    State(st): State<AppState>,
    Extension(of): Extension<Collection>,
    Path(name): Path<String>,
    DiscoveryCaller(c): DiscoveryCaller,
) -> ApiResult {
    let members = of.members(&st, c).await?;
    match members
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        Some((_, v)) => Ok(scim_json(StatusCode::OK, &v)),
        None => Err(ScimError::not_found(of.missing(&name)).into()),
    }
}

/// `/Me` (RFC 7644 §3.11): not supported, 501.
async fn me() -> ApiResult {
    Err(ScimError::new(
        501,
        None,
        "/Me is not supported: scimd tokens identify a client, not a user",
    )
    .into())
}

/// `/Bulk` (RFC 7644 §3.7): not supported, 501 (`bulk.supported` is false).
async fn bulk() -> ApiResult {
    Err(ScimError::new(
        501,
        None,
        "bulk operations are not supported (see /ServiceProviderConfig)",
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inapplicable_errors() {
        assert!(inapplicable(&ScimError::invalid_filter("x")));
        assert!(inapplicable(&ScimError::invalid_path("x")));
        assert!(!inapplicable(&ScimError::invalid_value("x")));
        assert!(!inapplicable(&ScimError::internal("x")));
    }

    #[test]
    fn filter_refused_on_discovery() {
        assert!(refuse_filter(&Some("filter=x".into())).is_err());
        assert!(refuse_filter(&Some("Filter=x".into())).is_err());
        assert!(refuse_filter(&Some("count=1".into())).is_ok());
        assert!(refuse_filter(&None).is_ok());
    }
}
