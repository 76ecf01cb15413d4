//! Users (`/users`): the list, a new local user, a user's page (Profile, Attributes and
//! Groups tabs; the History tab is [`super::history`]) and permanent deletion. Whether a
//! user may be deleted is the directory's decision ([`scimd_directory::admin::AdminUser::deletable`]); the user's SCIM document is only displayed.

use super::common::{
    load_error, noticed, pager, query_string, source_text, text, when, DeletePage, Deleted, Pager,
    PAGE_SIZE, Q,
};
use crate::portal::frame::{directory_error, error_page, ok, render, see_other, Layout, Page};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Extension;
use scim_proto::schema::ENTERPRISE_USER_SCHEMA;
use scimd_directory::admin::AdminUser;
use scimd_directory::store::{AdminUserFilter, Source, UserState};
use scimd_directory::DirectoryError;
use serde_json::{json, Value};

/// One row of the users list.
#[derive(Debug, Clone)]
pub struct UserRow {
    id: String,
    user_name: String,
    name: String,
    email: String,
    state: String,
    source: String,
    source_text: String,
}

/// The heading of a user's page: `Name (userName)`, or the userName of a user without a
/// name.
pub(super) fn heading(u: &AdminUser) -> String {
    let name = person_name(&u.resource);
    if name.is_empty() {
        u.user_name.clone()
    } else {
        format!("{name} ({})", u.user_name)
    }
}

fn person_name(u: &Value) -> String {
    let dn = text(&u["displayName"]);
    if !dn.is_empty() {
        return dn;
    }
    let parts: Vec<String> = [
        text(&u["name"]["givenName"]),
        text(&u["name"]["familyName"]),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    parts.join(" ")
}

fn primary_email(u: &Value) -> String {
    let emails = u["emails"].as_array().cloned().unwrap_or_default();
    emails
        .iter()
        .find(|e| e["primary"].as_bool() == Some(true))
        .or_else(|| emails.first())
        .map(|e| text(&e["value"]))
        .unwrap_or_default()
}

/// Users › Users.
#[derive(Template)]
#[template(path = "portal/users.html")]
pub struct UsersPage {
    layout: Layout,
    q: String,
    state: String,
    source: String,
    error: Option<String>,
    rows: Vec<UserRow>,
    pager: Pager,
}

/// `GET /users`: search, state and source filters, paged in the database.
pub async fn users(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let layout = noticed(
        s.layout("Users", "users")
            .crumb("Users", "")
            .crumb("Users", ""),
        &q,
    );
    let search = q.get("q");
    let state = q.get("state");
    let source = q.get("source");
    let page = q.page();
    let filter = AdminUserFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        state: UserState::parse(&state),
        source: Source::parse(&source),
    };
    let state = filter
        .state
        .map(|x| x.as_str().to_string())
        .unwrap_or_default();
    let source = filter
        .source
        .map(|x| x.as_str().to_string())
        .unwrap_or_default();
    let (total, users) = st
        .directory
        .admin_list_users(s.tenant(), &filter, (page - 1) * PAGE_SIZE + 1, PAGE_SIZE)
        .await
        .map_err(|e| directory_error(e, s.layout("Error", "users"), "Something went wrong"))?;
    let rows: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            id: u.id.clone(),
            user_name: u.user_name.clone(),
            name: person_name(&u.resource),
            email: primary_email(&u.resource),
            state: u.state.as_str().to_string(),
            source: u.source.as_str().to_string(),
            source_text: source_text(u.source).to_string(),
        })
        .collect();
    let pager = pager(
        "/users",
        &[("q", &search), ("state", &state), ("source", &source)],
        page,
        rows.len(),
        total,
        "users",
    );
    ok(render(
        StatusCode::OK,
        &UsersPage {
            layout,
            q: search,
            state,
            source,
            error: None,
            rows,
            pager,
        },
    ))
}

/// The form of a new local user.
#[derive(Template)]
#[template(path = "portal/user_new.html")]
pub struct NewUserPage {
    layout: Layout,
    error: Option<String>,
    user_name: String,
    given: String,
    family: String,
    email: String,
    display: String,
}

fn new_user_layout(s: &Signed) -> Layout {
    s.layout("Create local user", "users")
        .crumb("Users", "")
        .crumb("Users", "/users")
        .crumb("Create local user", "")
}

/// `GET /users/new`.
pub async fn new_user_form(s: Signed) -> Page {
    ok(render(
        StatusCode::OK,
        &NewUserPage {
            layout: new_user_layout(&s),
            error: None,
            user_name: String::new(),
            given: String::new(),
            family: String::new(),
            email: String::new(),
            display: String::new(),
        },
    ))
}

/// `POST /users`: creates a local user (the product rules on names and emails apply).
pub async fn create_user(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let f = &p.fields;
    let mut body = json!({
        "userName": f.get("userName").trim(),
        "name": {"givenName": f.get("givenName").trim(), "familyName": f.get("familyName").trim()},
        "emails": [{"value": f.get("email").trim(), "type": "work", "primary": true}],
    });
    if f.get("email").trim().is_empty() {
        body["emails"] = json!([]);
    }
    if !f.get("displayName").trim().is_empty() {
        body["displayName"] = json!(f.get("displayName").trim());
    }
    match st.directory.admin_create_user(&p.origin(), &body).await {
        Ok(u) => {
            tracing::info!(user = %u.id, admin = %s.session.username, "local user created in the portal");
            Ok(see_other(&format!("/users/{}?ok=user-created", u.id)))
        }
        Err(e) if e.status() < 500 => Ok(render(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            &NewUserPage {
                layout: new_user_layout(s),
                error: Some(e.message()),
                user_name: f.get("userName").to_string(),
                given: f.get("givenName").to_string(),
                family: f.get("familyName").to_string(),
                email: f.get("email").to_string(),
                display: f.get("displayName").to_string(),
            },
        )),
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "users"),
            "Something went wrong",
        )),
    }
}

/// A tab of a user's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTab {
    /// Core attributes (`/users/{id}`).
    Profile,
    /// Enterprise and custom attributes (`/users/{id}/attributes`).
    Attributes,
    /// Group memberships (`/users/{id}/groups`).
    Groups,
    /// Change records (`/users/{id}/history`, see [`super::history`]).
    History,
}

impl UserTab {
    /// The tab's title.
    fn title(self) -> &'static str {
        match self {
            UserTab::Profile => "Profile",
            UserTab::Attributes => "Attributes",
            UserTab::Groups => "Groups",
            UserTab::History => "History",
        }
    }
}

/// A user as its page shows it.
#[derive(Debug, Clone)]
pub struct UserView {
    heading: String,
    id: String,
    state: String,
    deprovisioned: bool,
    deletable: bool,
    source: String,
    source_text: String,
    is_scim: bool,
    profile: Vec<(String, String)>,
    created: String,
    modified: String,
    enterprise: Vec<(String, String)>,
    custom: Vec<(String, String)>,
    groups: Vec<(String, String)>,
}

/// The profile fields of a SCIM user document, labelled: userName, names, emails, then the
/// other core attributes that have a value, then `active`.
fn profile(u: &Value) -> Vec<(String, String)> {
    let mut profile = vec![
        ("userName".to_string(), text(&u["userName"])),
        ("Given name".to_string(), text(&u["name"]["givenName"])),
        ("Family name".to_string(), text(&u["name"]["familyName"])),
        ("Display name".to_string(), text(&u["displayName"])),
        ("Emails".to_string(), text(&u["emails"])),
    ];
    for (label, key) in [
        ("Title", "title"),
        ("Nickname", "nickName"),
        ("User type", "userType"),
        ("Preferred language", "preferredLanguage"),
        ("Locale", "locale"),
        ("Time zone", "timezone"),
        ("Phone numbers", "phoneNumbers"),
        ("Addresses", "addresses"),
        ("externalId", "externalId"),
    ] {
        let v = text(&u[key]);
        if !v.is_empty() {
            profile.push((label.to_string(), v));
        }
    }
    profile.push(("Active".to_string(), text(&u["active"])));
    profile
}

/// A user's page (tabs Profile, Attributes, Groups).
#[derive(Template)]
#[template(path = "portal/user.html")]
pub struct UserPage {
    layout: Layout,
    tab: UserTab,
    u: UserView,
    all_users_id: Option<String>,
}

async fn user_page(st: &AppState, s: &Signed, id: &str, tab: UserTab, q: Q) -> Page {
    let d = &st.directory;
    let fail = load_error(s, "users", "User");
    let u = d.admin_get_user(s.tenant(), id).await.map_err(&fail)?;
    let custom = d.custom_schema(s.tenant()).await.map_err(&fail)?;
    let all_users_id = match d.all_users_group(s.tenant()).await {
        Ok(g) => Some(g.id),
        Err(DirectoryError::NotFound(_)) => None,
        Err(e) => return Err(fail(e)),
    };
    let doc = &u.resource;
    let ent = &doc[ENTERPRISE_USER_SCHEMA];
    let enterprise = [
        "department",
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "manager",
    ]
    .iter()
    .map(|key| (key.to_string(), text(&ent[*key])))
    .collect();
    let values = &doc[custom.urn.as_str()];
    let custom = custom
        .attributes
        .iter()
        .map(|a| (a.name.clone(), text(&values[a.name.as_str()])))
        .collect();
    let view = UserView {
        heading: heading(&u),
        id: u.id.clone(),
        state: u.state.as_str().to_string(),
        deprovisioned: u.state == UserState::Deprovisioned,
        deletable: u.deletable(),
        source: u.source.as_str().to_string(),
        source_text: source_text(u.source).to_string(),
        is_scim: u.source == Source::Scim,
        profile: profile(doc),
        created: when(doc["meta"]["created"].as_str().unwrap_or("")),
        modified: when(doc["meta"]["lastModified"].as_str().unwrap_or("")),
        enterprise,
        custom,
        groups: u
            .groups
            .iter()
            .map(|g| (g.id.clone(), g.display_name.clone()))
            .collect(),
    };
    let layout = noticed(
        s.layout(&format!("{} · {}", u.user_name, tab.title()), "users")
            .crumb("Users", "")
            .crumb("Users", "/users")
            .crumb(&u.user_name, ""),
        &q,
    );
    ok(render(
        StatusCode::OK,
        &UserPage {
            layout,
            tab,
            u: view,
            all_users_id,
        },
    ))
}

/// `GET /users/{id}`, `/users/{id}/attributes` and `/users/{id}/groups`: the user's page
/// with the tab the route gives (as a request extension, see [`UserTab`]).
pub async fn user(
    State(st): State<AppState>,
    Extension(tab): Extension<UserTab>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Page {
    user_page(&st, &s, &id, tab, Q::new(q)).await
}

/// `GET /users/{id}/delete`: only for inactive and deprovisioned users.
pub async fn user_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Page {
    let u = st
        .directory
        .admin_get_user(s.tenant(), &id)
        .await
        .map_err(load_error(&s, "users", "User"))?;
    let user_name = u.user_name.clone();
    if !u.deletable() {
        return Err(error_page(
            StatusCode::CONFLICT,
            s.layout("Cannot delete an active user", "users"),
            "Active users cannot be deleted",
            &format!("{user_name} is active. Only inactive or deprovisioned users can be deleted permanently: disable or unassign the user in the identity provider first."),
        ));
    }
    ok(render(
        StatusCode::OK,
        &DeletePage {
            layout: s
                .layout(&format!("Delete {user_name}"), "users")
                .crumb("Users", "")
                .crumb("Users", "/users")
                .crumb(&user_name, &format!("/users/{id}"))
                .crumb("Delete permanently", ""),
            action: format!("/users/{id}/delete"),
            cancel: format!("/users/{id}"),
            what: Deleted::User {
                user_name,
                state: u.state.as_str().to_string(),
            },
        },
    ))
}

/// `POST /users/{id}/delete`: deletes permanently (recorded in the provisioning log as
/// `deleted`, token `portal:<administrator>`, and in the audit record; the user's change
/// records are pseudonymised).
pub async fn delete_user(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let d = &st.directory;
    let user_name = d
        .admin_get_user(s.tenant(), &id)
        .await
        .map(|u| u.user_name)
        .unwrap_or_default();
    match d.admin_delete_user(&p.origin(), &id).await {
        Ok(()) => {
            tracing::info!(user = %id, admin = %s.session.username, "user deleted permanently in the portal");
            Ok(see_other(&format!(
                "/users?{}",
                query_string(&[("ok", "user-deleted"), ("name", &user_name)])
            )))
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "users"),
            "The user was not deleted",
        )),
    }
}
