//! The dashboard (`/dashboard`): counts and the latest provisioning-log entries.

use super::common::{group_digits, noticed, Q};
use super::log::{log_row, LogRow};
use crate::portal::frame::{directory_error, ok, render, Layout, Page};
use crate::portal::session::Signed;
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::store::LogQuery;
use scimd_directory::DirectoryError;
use serde_json::Value;

/// The dashboard.
#[derive(Template)]
#[template(path = "portal/dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    tenant_url: String,
    users_total: String,
    active: String,
    inactive: String,
    deprovisioned: String,
    scim: String,
    local: String,
    groups: String,
    log_total: String,
    rejected_total: String,
    recent: Vec<LogRow>,
    failures: Vec<LogRow>,
}

/// `GET /dashboard`.
pub async fn dashboard(State(st): State<AppState>, s: Signed, RawQuery(q): RawQuery) -> Page {
    let layout = noticed(s.layout("Dashboard", "dashboard"), &Q::new(q));
    let d = &st.directory;
    let t = s.tenant();
    let fail = |e: DirectoryError| {
        directory_error(e, s.layout("Error", "dashboard"), "Something went wrong")
    };
    let counts = d.counts(t).await.map_err(fail)?;
    let (log_total, recent) = d
        .query_log(
            t,
            &LogQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
    let (rejected_total, failures) = d
        .query_log(
            t,
            &LogQuery {
                outcome: Some("rejected".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
    let n = |v: &Value| group_digits(v.as_u64().unwrap_or(0));
    ok(render(
        StatusCode::OK,
        &DashboardPage {
            layout,
            tenant_url: d.base_url().to_string(),
            users_total: n(&counts["users"]),
            active: n(&counts["usersByState"]["active"]),
            inactive: n(&counts["usersByState"]["inactive"]),
            deprovisioned: n(&counts["usersByState"]["deprovisioned"]),
            scim: n(&counts["usersBySource"]["scim"]),
            local: n(&counts["usersBySource"]["local"]),
            groups: n(&counts["groups"]),
            log_total: group_digits(log_total),
            rejected_total: group_digits(rejected_total),
            recent: recent.iter().map(log_row).collect(),
            failures: failures.iter().map(log_row).collect(),
        },
    ))
}
