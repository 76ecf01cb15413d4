//! Groups (`/groups`): the list, a new local group, a group's page with its members, member
//! changes, renaming and deletion. What may be done to a group is the directory's decision
//! ([`AdminGroup::may_delete`], [`AdminGroup::may_edit_members`]); the pages only show it.

use super::common::{
    deleted, fmt_time, group_digits, load_error, noticed, pager, query_string, source_text,
    DeletePage, Deleted, Pager, PAGE_SIZE, Q,
};
use crate::portal::frame::{directory_error, error_page, ok, render, see_other, Layout, Page};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::admin::{AdminGroup, AdminMember, LocalMembers, ReadOnly};
use scimd_directory::audit::ResourceType;
use scimd_directory::store::MemberKind;
use serde_json::json;

/// The badge of a group's source: its CSS class and text (the built-in group is `core`).
fn badge(g: &AdminGroup) -> (String, String) {
    if g.builtin {
        ("core".into(), "built-in".into())
    } else {
        (
            g.source.as_str().to_string(),
            source_text(g.source).to_string(),
        )
    }
}

/// Groups.
#[derive(Template)]
#[template(path = "portal/groups.html")]
pub struct GroupsPage {
    layout: Layout,
    q: String,
    rows: Vec<GroupView>,
    pager: Pager,
    error: Option<String>,
    new_name: String,
}

async fn groups_page(
    st: &AppState,
    s: &Signed,
    q: &Q,
    status: StatusCode,
    error: Option<String>,
    new_name: &str,
) -> Page {
    let layout = noticed(s.page("Groups", "groups").crumb("Groups", ""), q);
    let search = q.get("q");
    let page = q.page();
    let (total, groups) = st
        .directory
        .admin_list_groups(
            s.tenant(),
            (!search.is_empty()).then_some(search.as_str()),
            (page - 1) * PAGE_SIZE + 1,
            PAGE_SIZE,
        )
        .await
        .map_err(|e| directory_error(e, s.layout("Error", "groups"), "Something went wrong"))?;
    let rows: Vec<GroupView> = groups.iter().map(GroupView::of).collect();
    let pager = pager(
        "/groups",
        &[("q", &search)],
        page,
        rows.len(),
        total,
        "groups",
    );
    Ok(render(
        status,
        &GroupsPage {
            layout,
            q: search,
            rows,
            pager,
            error,
            new_name: new_name.to_string(),
        },
    ))
}

/// `GET /groups`.
pub async fn groups(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    groups_page(&st, &s, &Q::new(q), StatusCode::OK, None, "").await
}

/// `POST /groups`: creates a local group.
pub async fn create_group(State(st): State<AppState>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("displayName").trim().to_string();
    if name.is_empty() {
        return groups_page(
            &st,
            s,
            &Q(vec![]),
            StatusCode::BAD_REQUEST,
            Some("Enter a group name.".into()),
            "",
        )
        .await;
    }
    match st
        .directory
        .admin_create_group(&p.origin(), &json!({ "displayName": name }))
        .await
    {
        Ok(g) => {
            tracing::info!(group = %g.id, admin = %s.session.username, "local group created in the portal");
            Ok(see_other(&format!("/groups/{}?ok=group-created", g.id)))
        }
        Err(e) if e.status() < 500 => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            groups_page(&st, s, &Q(vec![]), status, Some(e.message()), &name).await
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "groups"),
            "Something went wrong",
        )),
    }
}

/// A group as the portal shows it: a row of the groups list, the head of its own page.
#[derive(Debug, Clone)]
pub struct GroupView {
    id: String,
    name: String,
    builtin: bool,
    provisioned: bool,
    may_delete: bool,
    may_edit_members: bool,
    source: String,
    source_text: String,
    member_count: String,
    created: String,
    modified: String,
}

impl GroupView {
    fn of(g: &AdminGroup) -> GroupView {
        let (source, source_text) = badge(g);
        GroupView {
            id: g.id.clone(),
            name: g.display_name.clone(),
            builtin: g.builtin,
            provisioned: g.read_only == Some(ReadOnly::Provisioned),
            may_delete: g.may_delete(),
            may_edit_members: g.may_edit_members(),
            source,
            source_text,
            member_count: group_digits(g.member_count),
            created: fmt_time(g.created),
            modified: fmt_time(g.last_modified),
        }
    }
}

/// One member.
#[derive(Debug, Clone)]
pub struct MemberView {
    id: String,
    href: String,
    display: String,
    kind: String,
    state: String,
}

impl MemberView {
    fn of(m: &AdminMember) -> MemberView {
        let href = match m.kind {
            MemberKind::User => format!("/users/{}", m.id),
            MemberKind::Group => format!("/groups/{}", m.id),
        };
        MemberView {
            id: m.id.clone(),
            href,
            display: m
                .display
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| m.id.clone()),
            kind: ResourceType::from(m.kind).as_str().to_string(),
            state: m.state.map_or("", |s| s.as_str()).to_string(),
        }
    }
}

/// A group's page.
#[derive(Template)]
#[template(path = "portal/group.html")]
pub struct GroupPage {
    layout: Layout,
    g: GroupView,
    members: Vec<MemberView>,
    pager: Pager,
    error: Option<String>,
    member_value: String,
    /// Why the last rename was refused.
    rename_error: Option<String>,
    /// The name in the rename form.
    rename_value: String,
}

/// What a group page shows after a refused form: the status, the message of the members
/// form or of the rename form, and the value entered.
enum GroupRefusal {
    Member(String, String),
    Rename(String, String),
}

async fn group_page(
    st: &AppState,
    s: &Signed,
    id: &str,
    q: &Q,
    status: StatusCode,
    error: Option<String>,
    member_value: &str,
) -> Page {
    let refusal = error.map(|e| GroupRefusal::Member(e, member_value.to_string()));
    group_page_with(st, s, id, q, status, refusal).await
}

async fn group_page_with(
    st: &AppState,
    s: &Signed,
    id: &str,
    q: &Q,
    status: StatusCode,
    refusal: Option<GroupRefusal>,
) -> Page {
    let page = q.page();
    let p = st
        .directory
        .admin_get_group(s.tenant(), id, (page - 1) * PAGE_SIZE + 1, PAGE_SIZE)
        .await
        .map_err(load_error(s, "groups", "Group"))?;
    let members: Vec<MemberView> = p.members.iter().map(MemberView::of).collect();
    let view = GroupView::of(&p.group);
    let pager = pager(
        &format!("/groups/{}", view.id),
        &[],
        page,
        members.len(),
        p.group.member_count,
        "members",
    );
    let name = &p.group.display_name;
    let layout = noticed(
        s.page(name, "groups")
            .crumb("Groups", "/groups")
            .crumb(name, ""),
        q,
    );
    let (error, member_value, rename_error, rename_value) = match refusal {
        Some(GroupRefusal::Member(e, v)) => (Some(e), v, None, name.clone()),
        Some(GroupRefusal::Rename(e, v)) => (None, String::new(), Some(e), v),
        None => (None, String::new(), None, name.clone()),
    };
    Ok(render(
        status,
        &GroupPage {
            layout,
            g: view,
            members,
            pager,
            error,
            member_value,
            rename_error,
            rename_value,
        },
    ))
}

/// `GET /groups/{id}`: the group with a page of its members.
pub async fn group(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Page {
    group_page(&st, &s, &id, &Q::new(q), StatusCode::OK, None, "").await
}

/// `GET /groups/{id}/delete`: local groups only.
pub async fn group_delete_form(
    State(st): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> Page {
    let g = st
        .directory
        .admin_get_group(s.tenant(), &id, 1, 0)
        .await
        .map_err(load_error(&s, "groups", "Group"))?
        .group;
    let name = g.display_name.clone();
    if !g.may_delete() {
        return Err(error_page(
            StatusCode::CONFLICT,
            s.layout("Cannot delete this group", "groups"),
            "This group cannot be deleted here",
            &format!("“{name}” is the built-in group or is provisioned by the identity provider; only local groups can be deleted in the portal."),
        ));
    }
    ok(render(
        StatusCode::OK,
        &DeletePage {
            layout: s
                .page(&format!("Delete {name}"), "groups")
                .crumb("Groups", "/groups")
                .crumb(&name, &format!("/groups/{id}"))
                .crumb("Delete", ""),
            action: format!("/groups/{id}/delete"),
            cancel: format!("/groups/{id}"),
            what: Deleted::Group {
                members: group_digits(g.member_count),
                name,
            },
        },
    ))
}

/// `POST /groups/{id}/rename`: renames a local group to `displayName` (recorded in the
/// audit record); a refused name shows the page again with the message and the name.
pub async fn rename_group(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let name = p.fields.get("displayName").to_string();
    match st
        .directory
        .admin_rename_group(&p.origin(), &id, name.trim())
        .await
    {
        Ok(_) => {
            tracing::info!(group = %id, admin = %s.session.username, "local group renamed in the portal");
            Ok(see_other(&format!("/groups/{id}?ok=group-renamed")))
        }
        Err(e) if e.status() < 500 && e.status() != 404 => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let refusal = GroupRefusal::Rename(e.message(), name);
            group_page_with(&st, s, &id, &Q(vec![]), status, Some(refusal)).await
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "groups"),
            "The group was not renamed",
        )),
    }
}

/// `POST /groups/{id}/delete`.
pub async fn delete_group(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let name = st
        .directory
        .admin_get_group(s.tenant(), &id, 1, 0)
        .await
        .map(|p| p.group.display_name)
        .unwrap_or_default();
    let result = st.directory.admin_delete_group(&p.origin(), &id).await;
    deleted(result, s, ("group", "groups"), (&id, &name))
}

/// `POST /groups/{id}/members`: adds the user named by `member` (its id, or its userName
/// ignoring case).
pub async fn add_member(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let d = &st.directory;
    let wanted = p.fields.get("member").trim().to_string();
    let user = if wanted.is_empty() {
        None
    } else {
        d.admin_find_user(s.tenant(), &wanted)
            .await
            .map_err(|e| directory_error(e, s.layout("Error", "groups"), "Something went wrong"))?
    };
    let Some(user) = user else {
        return group_page(
            &st,
            s,
            &id,
            &Q(vec![]),
            StatusCode::BAD_REQUEST,
            Some(format!("There is no user with userName or id “{wanted}”.")),
            &wanted,
        )
        .await;
    };
    match d
        .admin_edit_members(&p.origin(), &id, LocalMembers::Add(&[user.id]))
        .await
    {
        Ok(0) => Ok(see_other(&format!(
            "/groups/{id}?{}",
            query_string(&[("ok", "member-already"), ("name", &user.user_name)])
        ))),
        Ok(_) => Ok(see_other(&format!("/groups/{id}?ok=member-added"))),
        Err(e) if e.status() < 500 && e.status() != 404 => {
            group_page(
                &st,
                s,
                &id,
                &Q(vec![]),
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                Some(e.message()),
                &wanted,
            )
            .await
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "groups"),
            "The member was not added",
        )),
    }
}

/// `POST /groups/{id}/members/remove`: removes the member whose id is `member`.
pub async fn remove_member(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let member = p.fields.get("member").to_string();
    match st
        .directory
        .admin_edit_members(
            &p.origin(),
            &id,
            LocalMembers::Remove(std::slice::from_ref(&member)),
        )
        .await
    {
        Ok(_) => Ok(see_other(&format!("/groups/{id}?ok=member-removed"))),
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "groups"),
            "The member was not removed",
        )),
    }
}
