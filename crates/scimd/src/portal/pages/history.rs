//! The History tab of a user (`/users/{id}/history`) and of a group
//! (`/groups/{id}/history`): the change records of the resource, newest first, paged, one
//! transaction at a time with `?txn=` — served by [`scimd_directory::Directory::history`],
//! as the admin API's `/api/v1/users/{id}/history` and `/api/v1/groups/{id}/history`.

use super::common::{load_error, pager, source_text, Pager, PAGE_SIZE, Q};
use super::records::RecordRow;
use super::users::{heading, UserTab};
use crate::portal::frame::{ok, render, Layout, Page};
use crate::portal::session::Signed;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Extension;
use scimd_directory::audit::ResourceType;
use scimd_directory::store::ChangeRecord;
use scimd_directory::DirectoryError;

/// The head of a user's page (name, badges, tabs).
#[derive(Debug, Clone)]
pub struct UserHead {
    id: String,
    heading: String,
    state: String,
    source: String,
    source_text: String,
}

/// The head of a group's page.
#[derive(Debug, Clone)]
pub struct GroupHead {
    id: String,
    name: String,
    builtin: bool,
    source: String,
    source_text: String,
}

/// What the records of a history page are: its transaction filter, rows and paging.
#[derive(Debug, Clone)]
pub struct Records {
    /// The transaction shown alone (`?txn=`), or empty.
    txn: String,
    rows: Vec<RecordRow>,
    pager: Pager,
}

/// A user's History tab.
#[derive(Template)]
#[template(path = "portal/user_history.html")]
pub struct UserHistoryPage {
    layout: Layout,
    tab: UserTab,
    u: UserHead,
    txn_base: String,
    h: Records,
}

/// A group's History tab.
#[derive(Template)]
#[template(path = "portal/group_history.html")]
pub struct GroupHistoryPage {
    layout: Layout,
    history_tab: bool,
    g: GroupHead,
    txn_base: String,
    h: Records,
}

/// A page of the history of `id` (the `txn` and `page` of `q`), with its links under `base`.
async fn records(
    st: &AppState,
    s: &Signed,
    (rt, id): (ResourceType, &str),
    q: &Q,
    base: &str,
) -> Result<Records, DirectoryError> {
    let txn = q.get("txn");
    let page = q.page();
    let (total, recs): (u64, Vec<ChangeRecord>) = st
        .directory
        .history(
            s.tenant(),
            rt,
            id,
            (!txn.is_empty()).then(|| txn.clone()),
            ((page - 1) * PAGE_SIZE, PAGE_SIZE),
        )
        .await?;
    let rows: Vec<RecordRow> = recs.iter().map(|r| RecordRow::of(r, Some(id))).collect();
    let pager = pager(base, &[("txn", &txn)], page, rows.len(), total, "records");
    Ok(Records { txn, rows, pager })
}

/// `GET /users/{id}/history` and `GET /groups/{id}/history`: the change records of the
/// user or group (the resource type is the route's request extension), `txn` and `page`.
pub async fn history(
    s: Signed,
    Extension(rt): Extension<ResourceType>,
    State(st): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Page {
    let q = Q::new(raw);
    match rt {
        ResourceType::User => user_history(&st, &s, &id, &q).await,
        ResourceType::Group => group_history(&st, &s, &id, &q).await,
    }
}

/// A user's History tab.
async fn user_history(st: &AppState, s: &Signed, id: &str, q: &Q) -> Page {
    let fail = load_error(s, "users", "User");
    let u = st
        .directory
        .admin_get_user(s.tenant(), id)
        .await
        .map_err(&fail)?;
    let base = format!("/users/{}/history", u.id);
    let h = records(st, s, (ResourceType::User, &u.id), q, &base)
        .await
        .map_err(&fail)?;
    let head = UserHead {
        heading: heading(&u),
        id: u.id.clone(),
        state: u.state.as_str().to_string(),
        source: u.source.as_str().to_string(),
        source_text: source_text(u.source).to_string(),
    };
    let layout = s
        .page(&format!("{} · History", u.user_name), "users")
        .crumb("Users", "/users")
        .crumb(&u.user_name, &format!("/users/{}", u.id))
        .crumb("History", "");
    ok(render(
        StatusCode::OK,
        &UserHistoryPage {
            layout,
            tab: UserTab::History,
            u: head,
            txn_base: base,
            h,
        },
    ))
}

/// A group's History tab; a deleted group's records stay readable until retention removes
/// them.
async fn group_history(st: &AppState, s: &Signed, id: &str, q: &Q) -> Page {
    let fail = load_error(s, "groups", "Group");
    let group = match st.directory.admin_get_group(s.tenant(), id, 1, 0).await {
        Ok(p) => Some(p.group),
        Err(DirectoryError::NotFound(_)) => None,
        Err(e) => return Err(fail(e)),
    };
    let base = format!("/groups/{id}/history");
    let h = records(st, s, (ResourceType::Group, id), q, &base)
        .await
        .map_err(&fail)?;
    let head = match &group {
        Some(g) => GroupHead {
            id: g.id.clone(),
            name: g.display_name.clone(),
            builtin: g.builtin,
            source: g.source.as_str().to_string(),
            source_text: source_text(g.source).to_string(),
        },
        None => GroupHead {
            id: id.to_string(),
            name: format!("Deleted group {id}"),
            builtin: false,
            source: "deprovisioned".into(),
            source_text: "deleted".into(),
        },
    };
    let layout = s
        .page(&format!("{} · History", head.name), "groups")
        .crumb("Groups", "/groups")
        .crumb(&head.name, &format!("/groups/{id}"))
        .crumb("History", "");
    ok(render(
        StatusCode::OK,
        &GroupHistoryPage {
            layout,
            history_tab: true,
            g: head,
            txn_base: base,
            h,
        },
    ))
}
