//! The operator portal's tenants pages (`/operator/tenants`, issue 15; served only there,
//! see [`crate::tenancy`]): every tenant with its state and counts, a form that creates
//! one (its SCIM Tenant URL, secret token and first administrator shown once), and per
//! tenant Disable / Enable and Delete (confirmed by typing the slug; never the root
//! tenant). They call the same directory operations as the operator API
//! ([`crate::admin::tenants`]); each action is recorded in the operator realm's audit
//! record and the tenant's own, with the operator as the actor.

use super::common::{fmt_time, noticed, query_string, Q};
use crate::portal::frame::{directory_error, error_page, render, see_other, Layout};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use crate::tenancy::TenantUrls;
use askama::Template;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use scimd_directory::operators::acting_as;
use scimd_directory::store::TenantState;
use scimd_directory::tenants::TenantSummary;
use scimd_directory::DirectoryError;

/// The tenants page.
#[derive(Template)]
#[template(path = "portal/tenants.html")]
pub struct TenantsPage {
    layout: Layout,
    rows: Vec<TenantLine>,
    form: CreateForm,
}

/// One tenant of the list.
pub struct TenantLine {
    slug: String,
    name: String,
    state: &'static str,
    users: u64,
    groups: u64,
    created: String,
    last_scim_request: String,
    /// Whether it is the root tenant (served on the root paths; cannot be deleted).
    root: bool,
}

/// The create form as it is shown (again, after a refusal).
#[derive(Default)]
pub struct CreateForm {
    name: String,
    slug: String,
    error: Option<String>,
}

/// The page of a tenant just created: its URLs and secrets, shown this once.
#[derive(Template)]
#[template(path = "portal/tenant_created.html")]
pub struct CreatedPage {
    layout: Layout,
    slug: String,
    name: String,
    scim_url: String,
    scim_token: String,
    token_url: String,
    portal_url: String,
    admin_username: String,
    admin_password: String,
}

/// The confirmation page of a tenant's deletion.
#[derive(Template)]
#[template(path = "portal/tenant_delete.html")]
pub struct DeletePage {
    layout: Layout,
    slug: String,
    name: String,
    users: u64,
    groups: u64,
    /// Whether it is the root tenant (then there is no form: it cannot be deleted).
    root: bool,
    error: Option<String>,
}

/// 404 outside the operator portal (where [`crate::tenancy::resolve`] already answers so;
/// kept here so that the pages never serve another portal).
#[allow(clippy::result_large_err)]
/// `T` — the administrator ([`Signed`]) or their form ([`Posted`]) — on the operator portal
/// only: on a tenant's portal these pages answer 404 ("The tenants are managed on the
/// operator portal").
pub struct OnOperatorPortal<T>(pub T);

/// What carries the signed-in session.
pub trait HasSession {
    /// The signed-in administrator.
    fn signed(&self) -> &Signed;
}

impl HasSession for Signed {
    fn signed(&self) -> &Signed {
        self
    }
}

impl HasSession for Posted {
    fn signed(&self) -> &Signed {
        &self.signed
    }
}

impl<T, M> FromRequest<AppState, M> for OnOperatorPortal<T>
where
    T: FromRequest<AppState, M, Rejection = Response> + HasSession,
{
    type Rejection = Response;

    async fn from_request(req: Request, st: &AppState) -> Result<Self, Response> {
        let t = T::from_request(req, st).await?;
        let s = t.signed();
        if !s.site.operator {
            return Err(error_page(
                StatusCode::NOT_FOUND,
                s.layout("Not found", ""),
                "Not found",
                "The tenants are managed on the operator portal, /operator/.",
            ));
        }
        Ok(OnOperatorPortal(t))
    }
}

fn line(st: &AppState, t: &TenantSummary) -> TenantLine {
    TenantLine {
        slug: t.tenant.slug.clone(),
        name: t.tenant.name.clone(),
        state: t.tenant.state.as_str(),
        users: t.users,
        groups: t.groups,
        created: fmt_time(t.tenant.created),
        last_scim_request: t
            .tenant
            .last_scim_request
            .map(fmt_time)
            .unwrap_or_else(|| "never".to_string()),
        root: st.root_tenant.as_deref() == Some(t.tenant.slug.as_str()),
    }
}

/// The tenants page with `form`, answered with `status`.
async fn list_page(
    st: &AppState,
    s: &Signed,
    layout: Layout,
    status: StatusCode,
    form: CreateForm,
) -> Response {
    let all = match st.directory.tenants().await {
        Ok(all) => all,
        Err(e) => return directory_error(e, s.layout("Error", "tenants"), "Something went wrong"),
    };
    let rows = all.iter().map(|t| line(st, t)).collect();
    render(status, &TenantsPage { layout, rows, form })
}

/// `GET /tenants`: every tenant (oldest first) and the create form.
pub async fn tenants(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
    OnOperatorPortal(s): OnOperatorPortal<Signed>,
) -> Response {
    let layout = noticed(s.layout("Tenants", "tenants"), &Q::new(q));
    list_page(&st, &s, layout, StatusCode::OK, CreateForm::default()).await
}

/// `POST /tenants`: creates a tenant from `name` and `slug` (optional: made from the name)
/// and shows, once, its SCIM Tenant URL, secret token, token endpoint, portal and first
/// administrator (the page is `Cache-Control: no-store`, as every portal page). A bad or
/// taken name or slug: the page again, the form kept, with what is wrong.
pub async fn create_tenant(
    State(st): State<AppState>,
    OnOperatorPortal(p): OnOperatorPortal<Posted>,
) -> Response {
    let s = &p.signed;
    let name = p.fields.get("name").trim().to_string();
    let slug = p.fields.get("slug").trim().to_string();
    let origin = p.origin();
    let by = acting_as(&origin);
    let made = st
        .directory
        .create_tenant(&by, &name, (!slug.is_empty()).then_some(slug.as_str()))
        .await;
    let (tenant, made) = match made {
        Ok(m) => m,
        Err(e) if e.status() < 500 && !matches!(e, DirectoryError::Busy(_)) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let form = CreateForm {
                name,
                slug,
                error: Some(e.message()),
            };
            return list_page(&st, s, s.layout("Tenants", "tenants"), status, form).await;
        }
        Err(e) => return directory_error(e, s.layout("Error", "tenants"), "Something went wrong"),
    };
    tracing::info!(slug = %tenant.slug, by = ?s.session.username, "tenant created on the operator portal");
    let urls = TenantUrls::of(st.public_url(), &tenant.slug);
    let layout = s
        .layout("Tenant created", "tenants")
        .crumb("Tenants", "/tenants")
        .crumb(&tenant.name, "");
    render(
        StatusCode::CREATED,
        &CreatedPage {
            layout,
            scim_url: urls.scim,
            token_url: urls.token,
            portal_url: urls.portal,
            slug: tenant.slug,
            name: tenant.name,
            scim_token: made.scim_token,
            admin_username: made.admin_username,
            admin_password: made.admin_password,
        },
    )
}

/// `POST /tenants/{slug}/state`: `state=disabled` disables the tenant (its SCIM endpoints,
/// admin API and portal answer 403; nothing is lost), `state=active` enables it again;
/// back to the list with a notice.
pub async fn set_state(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    OnOperatorPortal(p): OnOperatorPortal<Posted>,
) -> Response {
    let s = &p.signed;
    let (state, ok) = match p.fields.get("state") {
        "active" => (TenantState::Active, "tenant-enabled"),
        "disabled" => (TenantState::Disabled, "tenant-disabled"),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                s.layout("Not changed", "tenants"),
                "Not changed",
                "A tenant is either enabled or disabled: the form asked for neither.",
            )
        }
    };
    let origin = p.origin();
    let by = acting_as(&origin);
    match st.directory.set_tenant_state(&by, &slug, state).await {
        Ok(_) => see_other(&format!(
            "/tenants?{}",
            query_string(&[("ok", ok), ("name", &slug)])
        )),
        Err(e) => directory_error(e, s.layout("Not changed", "tenants"), "Not changed"),
    }
}

/// The deletion page of `slug` with `error`, answered with `status`.
async fn delete_page(
    st: &AppState,
    s: &Signed,
    slug: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let t = match st.directory.tenant(slug).await {
        Ok(t) => t,
        Err(e) => return directory_error(e, s.layout("Not found", "tenants"), "No such tenant"),
    };
    let layout = s
        .layout("Delete tenant", "tenants")
        .crumb("Tenants", "/tenants")
        .crumb(&t.tenant.name, "");
    let l = line(st, &t);
    render(
        status,
        &DeletePage {
            layout,
            slug: l.slug,
            name: l.name,
            users: l.users,
            groups: l.groups,
            root: l.root,
            error,
        },
    )
}

/// `GET /tenants/{slug}/delete`: what a deletion removes, and the slug to type to confirm
/// it; for the root tenant, why it cannot be deleted.
pub async fn delete_form(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    OnOperatorPortal(s): OnOperatorPortal<Signed>,
) -> Response {
    delete_page(&st, &s, &slug, StatusCode::OK, None).await
}

/// `POST /tenants/{slug}/delete`: with `confirm` equal to the slug, starts deleting the
/// tenant for good (its paths answer 404 at once; its rows go in the background, as with
/// the operator API) and goes back to the list. Another `confirm`: the page again, nothing
/// deleted (400). The root tenant: 409, nothing deleted.
pub async fn delete_tenant(
    State(st): State<AppState>,
    Path(slug): Path<String>,
    OnOperatorPortal(p): OnOperatorPortal<Posted>,
) -> Response {
    let s = &p.signed;
    if p.fields.get("confirm").trim() != slug {
        let e = format!("Type the slug, {slug}, to confirm the deletion: nothing was deleted.");
        return delete_page(&st, s, &slug, StatusCode::BAD_REQUEST, Some(e)).await;
    }
    let origin = p.origin();
    let by = acting_as(&origin);
    let root = st.root_tenant.as_deref();
    match st.directory.start_tenant_deletion(&by, &slug, root).await {
        Ok(_) => {
            tracing::info!(slug = %slug, by = ?s.session.username, "tenant deletion started on the operator portal");
            crate::admin::tenants::purge_in_background(&st);
            see_other(&format!(
                "/tenants?{}",
                query_string(&[("ok", "tenant-deleting"), ("name", &slug)])
            ))
        }
        // The root tenant: the page again, with why.
        Err(DirectoryError::Conflict(m)) => {
            delete_page(&st, s, &slug, StatusCode::CONFLICT, Some(m)).await
        }
        Err(e) => directory_error(e, s.layout("Not deleted", "tenants"), "Not deleted"),
    }
}
