//! Users (`/users`): the list, a new local user, a user's page (Profile, Attributes and
//! Groups tabs; the History tab is [`super::history`]), and for local users the edit form,
//! Disable / Enable and the soft delete; permanent deletion. Whether a user may be deleted is
//! the directory's decision ([`scimd_directory::admin::AdminUser::deletable`]); the user's SCIM
//! document is only displayed.

use super::common::{
    deleted, load_error, noticed, pager, redirect_or_error, source_text, text, when, DeletePage,
    Deleted, Pager, PAGE_SIZE, Q,
};
use crate::portal::frame::{directory_error, error_page, ok, render, see_other, Layout, Page};
use crate::portal::session::{Fields, Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Extension;
use scim_proto::schema::ENTERPRISE_USER_SCHEMA;
use scimd_directory::admin::AdminUser;
use scimd_directory::store::{AdminUserFilter, Source, UserState};
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
    let layout = noticed(s.page("Users", "users").crumb("Users", ""), &q);
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
    s.page("Create local user", "users")
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
    /// A local user that is not soft-deleted (Disable or Enable, Soft delete offered).
    active: bool,
    profile: Vec<(String, String)>,
    created: String,
    modified: String,
    enterprise: Vec<(String, String)>,
    custom: Vec<(String, String)>,
    /// `(id, displayName, builtin)`: All Users first.
    groups: Vec<(String, String, bool)>,
}

/// One field of a local user's edit form.
#[derive(Debug, Clone)]
pub struct EditField {
    /// The form field's name (and its input's id, `e-<name>`).
    name: &'static str,
    /// Its label.
    label: &'static str,
    /// `text` or `email`.
    kind: &'static str,
    /// Whether the product rules require a value.
    required: bool,
    /// The value shown: the stored one, or the one entered before a refused save.
    value: String,
}

/// The edit form's fields: `(name, label, input type, required)`.
const EDIT_FIELDS: [(&str, &str, &str, bool); 6] = [
    ("userName", "userName", "text", true),
    ("givenName", "Given name", "text", true),
    ("familyName", "Family name", "text", true),
    ("email", "Email (primary)", "email", true),
    ("displayName", "Display name", "text", false),
    ("title", "Title", "text", false),
];

/// The index of the email a form edits: the primary one, else the first.
fn edited_email(u: &Value) -> Option<usize> {
    let emails = u["emails"].as_array()?;
    emails
        .iter()
        .position(|e| e["primary"].as_bool() == Some(true))
        .or((!emails.is_empty()).then_some(0))
}

/// The stored value of an edit form field.
fn stored_field(u: &Value, name: &str) -> String {
    match name {
        "givenName" | "familyName" => text(&u["name"][name]),
        "email" => edited_email(u)
            .map(|i| text(&u["emails"][i]["value"]))
            .unwrap_or_default(),
        _ => text(&u[name]),
    }
}

/// The edit form's fields, with the values of `entered` when given, else the stored ones.
fn edit_fields(u: &Value, entered: Option<&Fields>) -> Vec<EditField> {
    EDIT_FIELDS
        .iter()
        .map(|&(name, label, kind, required)| EditField {
            name,
            label,
            kind,
            required,
            value: match entered {
                Some(f) => f.get(name).to_string(),
                None => stored_field(u, name),
            },
        })
        .collect()
}

/// The admin-API merge body of a posted edit form over the stored user `u`: the names,
/// userName, displayName and title as entered (blank optional ones cleared), and the
/// edited email changed in place, the user's other emails kept.
fn edit_body(u: &Value, f: &Fields) -> Value {
    let opt = |k: &str| {
        let v = f.get(k).trim();
        if v.is_empty() {
            Value::Null
        } else {
            json!(v)
        }
    };
    let mut emails = u["emails"].as_array().cloned().unwrap_or_default();
    let email = f.get("email").trim();
    match edited_email(u) {
        Some(i) if email.is_empty() => {
            emails.remove(i);
        }
        Some(i) => emails[i]["value"] = json!(email),
        None if !email.is_empty() => {
            emails.push(json!({"value": email, "type": "work", "primary": true}))
        }
        None => {}
    }
    json!({
        "userName": f.get("userName").trim(),
        "name": {"givenName": f.get("givenName").trim(), "familyName": f.get("familyName").trim()},
        "emails": emails,
        "displayName": opt("displayName"),
        "title": opt("title"),
    })
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
    /// The edit form of a local user (empty for a provisioned one).
    fields: Vec<EditField>,
    /// Why the last save was refused.
    edit_error: Option<String>,
}

/// A refused edit: the status, the message and the values entered.
struct Refused<'a> {
    status: StatusCode,
    message: String,
    entered: &'a Fields,
}

/// The labels of the profile fields a local user's edit form shows (not repeated below it).
const EDITED_LABELS: [&str; 6] = [
    "userName",
    "Given name",
    "Family name",
    "Display name",
    "Emails",
    "Title",
];

async fn user_page(st: &AppState, s: &Signed, id: &str, tab: UserTab, q: Q) -> Page {
    user_page_with(st, s, id, tab, q, None).await
}

async fn user_page_with(
    st: &AppState,
    s: &Signed,
    id: &str,
    tab: UserTab,
    q: Q,
    refused: Option<Refused<'_>>,
) -> Page {
    let d = &st.directory;
    let fail = load_error(s, "users", "User");
    let u = d.admin_get_user(s.tenant(), id).await.map_err(&fail)?;
    let custom = d.custom_schema(s.tenant()).await.map_err(&fail)?;
    let doc = &u.resource;
    let local = u.read_only().is_none();
    let mut profile = profile(doc);
    if local {
        profile.retain(|(label, _)| !EDITED_LABELS.contains(&label.as_str()));
    }
    let fields = if local {
        edit_fields(doc, refused.as_ref().map(|r| r.entered))
    } else {
        vec![]
    };
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
        active: u.state == UserState::Active,
        profile,
        created: when(doc["meta"]["created"].as_str().unwrap_or("")),
        modified: when(doc["meta"]["lastModified"].as_str().unwrap_or("")),
        enterprise,
        custom,
        groups: u
            .groups
            .iter()
            .map(|g| (g.id.clone(), g.display_name.clone(), g.builtin))
            .collect(),
    };
    let layout = noticed(
        s.page(&format!("{} · {}", u.user_name, tab.title()), "users")
            .crumb("Users", "/users")
            .crumb(&u.user_name, ""),
        &q,
    );
    let (status, edit_error) = match refused {
        Some(r) => (r.status, Some(r.message)),
        None => (StatusCode::OK, None),
    };
    ok(render(
        status,
        &UserPage {
            layout,
            tab,
            u: view,
            fields,
            edit_error,
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

/// How a user is deleted: for good, or softly (a local user becomes deprovisioned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// A permanent delete (`/users/{id}/delete`).
    Permanent,
    /// A soft delete (`/users/{id}/soft-delete`).
    Soft,
}

/// The confirmation page of a deletion of user `id`, or the page that says why it cannot be
/// done: a permanent delete only for inactive and deprovisioned users, a soft delete only
/// for local users not soft-deleted yet.
async fn delete_confirmation(st: &AppState, s: &Signed, id: &str, how: Deletion) -> Page {
    let u = st
        .directory
        .admin_get_user(s.tenant(), id)
        .await
        .map_err(load_error(s, "users", "User"))?;
    let user_name = u.user_name.clone();
    let local = u.read_only().is_none();
    let refusal = match how {
        Deletion::Permanent if !u.deletable() => Some((
            "Cannot delete an active user",
            "Active users cannot be deleted",
            format!(
                "{user_name} is active. Only inactive or deprovisioned users can be deleted permanently: {}.",
                if local {
                    "disable it (Disable on its page) or soft delete it first"
                } else {
                    "it is provisioned by Entra ID: disable or unassign it there first"
                }
            ),
        )),
        Deletion::Soft if !local || u.state == UserState::Deprovisioned => Some((
            "Cannot soft delete this user",
            "This user cannot be soft deleted here",
            format!("{user_name} is provisioned by Entra ID (delete it there) or is already soft-deleted."),
        )),
        _ => None,
    };
    if let Some((title, heading, message)) = refusal {
        let layout = s.layout(title, "users");
        return Err(error_page(StatusCode::CONFLICT, layout, heading, &message));
    }
    let (title, crumb, path, what) = match how {
        Deletion::Permanent => (
            format!("Delete {user_name}"),
            "Delete permanently",
            "delete",
            Deleted::User {
                user_name: user_name.clone(),
                state: u.state.as_str().to_string(),
            },
        ),
        Deletion::Soft => (
            format!("Soft delete {user_name}"),
            "Soft delete",
            "soft-delete",
            Deleted::SoftUser {
                user_name: user_name.clone(),
            },
        ),
    };
    let layout = s
        .page(&title, "users")
        .crumb("Users", "/users")
        .crumb(&user_name, &format!("/users/{id}"))
        .crumb(crumb, "");
    let page = DeletePage {
        layout,
        action: format!("/users/{id}/{path}"),
        cancel: format!("/users/{id}"),
        what,
    };
    ok(render(StatusCode::OK, &page))
}

/// `GET /users/{id}/delete` (only for inactive and deprovisioned users) and `GET
/// /users/{id}/soft-delete` (local users not soft-deleted yet): the confirmation of the
/// deletion the route gives (as a request extension, see [`Deletion`]).
pub async fn user_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    Extension(how): Extension<Deletion>,
) -> Page {
    delete_confirmation(&st, &s, &id, how).await
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
    let result = d.admin_delete_user(&p.origin(), &id).await;
    deleted(result, s, ("user", "users"), (&id, &user_name))
}

/// `POST /users/{id}/edit`: saves a local user's edit form (a merge through
/// [`scimd_directory::Directory::admin_update_user`]: the product rules apply, the change is
/// recorded with its values before and after). A refused save shows the page again with the
/// message and the values entered.
pub async fn update_user(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let (s, d) = (&p.signed, &st.directory);
    let fail = load_error(s, "users", "User");
    let u = d.admin_get_user(s.tenant(), &id).await.map_err(fail)?;
    let body = edit_body(&u.resource, &p.fields);
    match d.admin_update_user(&p.origin(), &id, &body).await {
        Ok(_) => {
            tracing::info!(user = %id, admin = %s.session.username, "local user changed in the portal");
            Ok(see_other(&format!("/users/{id}?ok=user-updated")))
        }
        Err(e) if e.status() < 500 && e.status() != 404 => {
            let refused = Refused {
                status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                message: e.message(),
                entered: &p.fields,
            };
            user_page_with(&st, s, &id, UserTab::Profile, Q(vec![]), Some(refused)).await
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "users"),
            "The user was not changed",
        )),
    }
}

/// `POST /users/{id}/active`: enables (`active=true`) or disables (`active=false`) a
/// local user; enabling a soft-deleted user brings it back.
pub async fn set_active(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let active = match p.fields.get("active") {
        "true" => true,
        "false" => false,
        other => {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                s.layout("Error", "users"),
                "The user was not changed",
                &format!("active must be true or false, got “{other}”."),
            ))
        }
    };
    let done = if active {
        "user-enabled"
    } else {
        "user-disabled"
    };
    let r = st
        .directory
        .admin_update_user(&p.origin(), &id, &json!({ "active": active }))
        .await;
    tracing::info!(user = %id, admin = %s.session.username, active, ok = r.is_ok(), "local user enabled or disabled in the portal");
    let to = format!("/users/{id}?ok={done}");
    redirect_or_error(r, s, ("users", &to), "The user was not changed")
}

/// `POST /users/{id}/soft-delete`: soft-deletes a local user (it becomes deprovisioned;
/// recorded in the audit record and its history).
pub async fn soft_delete(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let r = st.directory.admin_soft_delete_user(&p.origin(), &id).await;
    tracing::info!(user = %id, admin = %s.session.username, ok = r.is_ok(), "local user soft-deleted in the portal");
    let to = format!("/users/{id}?ok=user-soft-deleted");
    redirect_or_error(r, s, ("users", &to), "The user was not deleted")
}
