//! The dashboard (`/dashboard`): provisioning warnings, counts and the latest
//! provisioning-log entries.

use super::common::{group_digits, noticed, Q};
use super::log::{log_row, LogRow};
use super::warnings::{warnings, WarningView};
use crate::portal::frame::{directory_error, ok, render, Layout, Page};
use crate::portal::session::Signed;
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::admin::LogFilter;
use scimd_directory::audit::LogOutcome;
use scimd_directory::DirectoryError;

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
    warnings: Vec<WarningView>,
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
        .query_log(t, &LogFilter::default(), 0, 10)
        .await
        .map_err(fail)?;
    let rejected = LogFilter {
        outcome: Some(LogOutcome::Rejected),
        ..Default::default()
    };
    let (rejected_total, failures) = d.query_log(t, &rejected, 0, 5).await.map_err(fail)?;
    let warnings = warnings(&st, t).await.map_err(fail)?;
    ok(render(
        StatusCode::OK,
        &DashboardPage {
            layout,
            tenant_url: d.base_url().to_string(),
            users_total: group_digits(counts.users),
            active: group_digits(counts.active),
            inactive: group_digits(counts.inactive),
            deprovisioned: group_digits(counts.deprovisioned),
            scim: group_digits(counts.scim),
            local: group_digits(counts.local),
            groups: group_digits(counts.groups),
            log_total: group_digits(log_total),
            rejected_total: group_digits(rejected_total),
            recent: recent.iter().map(log_row).collect(),
            failures: failures.iter().map(log_row).collect(),
            warnings,
        },
    ))
}
