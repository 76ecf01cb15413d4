//! Groups (`/groups`): the list, a new local group, a group's page with its members, member
//! changes and deletion.

use super::common::{
    group_digits, not_found, noticed, pager, query_string, source_text, text, when, Pager,
    PAGE_SIZE, Q,
};
use crate::portal::frame::{directory_error, error_page, ok, render, see_other, Layout, Page};
use crate::portal::session::{Posted, Signed};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::store::AdminUserFilter;
use serde_json::json;

// ---------------------------------------------------------------- groups

/// One row of the groups list.
#[derive(Debug, Clone)]
pub struct GroupRow {
    id: String,
    name: String,
    builtin: bool,
    source: String,
    source_text: String,
    members: String,
}

/// Groups.
#[derive(Template)]
#[template(path = "portal/groups.html")]
pub struct GroupsPage {
    layout: Layout,
    q: String,
    rows: Vec<GroupRow>,
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
    let layout = noticed(
        s.layout("Groups", "groups")
            .crumb("Users", "")
            .crumb("Groups", ""),
        q,
    );
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
    let rows: Vec<GroupRow> = groups
        .iter()
        .map(|g| {
            let builtin = g["builtin"] == json!(true);
            let source = text(&g["source"]);
            GroupRow {
                id: text(&g["id"]),
                name: text(&g["displayName"]),
                builtin,
                source_text: if builtin {
                    "built-in".into()
                } else {
                    source_text(&source).to_string()
                },
                source: if builtin { "core".into() } else { source },
                members: group_digits(g["memberCount"].as_u64().unwrap_or(0)),
            }
        })
        .collect();
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
        .admin_create_group(s.tenant(), &json!({ "displayName": name }))
        .await
    {
        Ok(g) => {
            let id = text(&g["id"]);
            tracing::info!(group = %id, admin = %s.session.username, "local group created in the portal");
            Ok(see_other(&format!("/groups/{id}?ok=group-created")))
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

/// A group as its page shows it.
#[derive(Debug, Clone)]
pub struct GroupView {
    id: String,
    name: String,
    builtin: bool,
    editable: bool,
    source: String,
    source_text: String,
    member_count: String,
    created: String,
    modified: String,
}

/// One member.
#[derive(Debug, Clone)]
pub struct MemberView {
    id: String,
    display: String,
    kind: String,
    state: String,
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
    let page = q.page();
    let g = st
        .directory
        .admin_get_group(s.tenant(), id, (page - 1) * PAGE_SIZE + 1, PAGE_SIZE)
        .await
        .map_err(|e| {
            if e.status() == 404 {
                not_found(s.layout("Group not found", "groups"), "Group")
            } else {
                directory_error(e, s.layout("Error", "groups"), "Something went wrong")
            }
        })?;
    let builtin = g["builtin"] == json!(true);
    let source = text(&g["source"]);
    let total = g["memberCount"].as_u64().unwrap_or(0);
    let members: Vec<MemberView> = g["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| MemberView {
                    id: text(&m["id"]),
                    display: {
                        let d = text(&m["display"]);
                        if d.is_empty() {
                            text(&m["id"])
                        } else {
                            d
                        }
                    },
                    kind: text(&m["type"]),
                    state: text(&m["state"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let name = text(&g["displayName"]);
    let view = GroupView {
        id: text(&g["id"]),
        name: name.clone(),
        builtin,
        editable: !builtin && source == "local",
        source_text: if builtin {
            "built-in".into()
        } else {
            source_text(&source).to_string()
        },
        source: if builtin { "core".into() } else { source },
        member_count: group_digits(total),
        created: when(&g["created"]),
        modified: when(&g["lastModified"]),
    };
    let pager = pager(
        &format!("/groups/{}", view.id),
        &[],
        page,
        members.len(),
        total,
        "members",
    );
    let layout = noticed(
        s.layout(&name, "groups")
            .crumb("Users", "")
            .crumb("Groups", "/groups")
            .crumb(&name, ""),
        q,
    );
    Ok(render(
        status,
        &GroupPage {
            layout,
            g: view,
            members,
            pager,
            error,
            member_value: member_value.to_string(),
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

/// The confirmation page of a group's deletion.
#[derive(Template)]
#[template(path = "portal/group_delete.html")]
pub struct GroupDeletePage {
    layout: Layout,
    id: String,
    name: String,
    members: String,
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
        .map_err(|e| {
            if e.status() == 404 {
                not_found(s.layout("Group not found", "groups"), "Group")
            } else {
                directory_error(e, s.layout("Error", "groups"), "Something went wrong")
            }
        })?;
    let name = text(&g["displayName"]);
    if g["builtin"] == json!(true) || g["source"] != json!("local") {
        return Err(error_page(
            StatusCode::CONFLICT,
            s.layout("Cannot delete this group", "groups"),
            "This group cannot be deleted here",
            &format!("“{name}” is the built-in group or is provisioned by the identity provider; only local groups can be deleted in the portal."),
        ));
    }
    ok(render(
        StatusCode::OK,
        &GroupDeletePage {
            layout: s
                .layout(&format!("Delete {name}"), "groups")
                .crumb("Users", "")
                .crumb("Groups", "/groups")
                .crumb(&name, &format!("/groups/{id}"))
                .crumb("Delete", ""),
            id,
            members: group_digits(g["memberCount"].as_u64().unwrap_or(0)),
            name,
        },
    ))
}

/// `POST /groups/{id}/delete`.
pub async fn delete_group(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let name = st
        .directory
        .admin_get_group(s.tenant(), &id, 1, 0)
        .await
        .map(|g| text(&g["displayName"]))
        .unwrap_or_default();
    match st.directory.admin_delete_group(s.tenant(), &id).await {
        Ok(()) => {
            tracing::info!(group = %id, admin = %s.session.username, "local group deleted in the portal");
            Ok(see_other(&format!(
                "/groups?{}",
                query_string(&[("ok", "group-deleted"), ("name", &name)])
            )))
        }
        Err(e) => Err(directory_error(
            e,
            s.layout("Error", "groups"),
            "The group was not deleted",
        )),
    }
}

/// `POST /groups/{id}/members`: adds the user named by `member` (its userName, ignoring
/// case, or its id).
pub async fn add_member(State(st): State<AppState>, Path(id): Path<String>, p: Posted) -> Page {
    let s = &p.signed;
    let d = &st.directory;
    let wanted = p.fields.get("member").trim().to_string();
    let user_id = if wanted.is_empty() {
        None
    } else if let Ok(u) = d.admin_get_user(s.tenant(), &wanted).await {
        Some(text(&u["id"]))
    } else {
        let f = AdminUserFilter {
            search: Some(wanted.clone()),
            ..Default::default()
        };
        let (_, found) = d
            .admin_list_users(s.tenant(), &f, 1, PAGE_SIZE)
            .await
            .map_err(|e| directory_error(e, s.layout("Error", "groups"), "Something went wrong"))?;
        found
            .iter()
            .find(|u| text(&u["userName"]).to_lowercase() == wanted.to_lowercase())
            .map(|u| text(&u["id"]))
    };
    let Some(user_id) = user_id else {
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
    match d.admin_add_members(s.tenant(), &id, &[user_id]).await {
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
        .admin_remove_members(s.tenant(), &id, std::slice::from_ref(&member))
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
