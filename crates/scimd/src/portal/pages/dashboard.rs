//! The dashboard (`/dashboard`): provisioning warnings, a warning for tokens that expire
//! within `--token-expiry-warning-days` (or have expired), counts and the latest
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
    expiring: Vec<ExpiringToken>,
    warning_days: u32,
}

/// An active token that expires within `--token-expiry-warning-days` (or has expired).
#[derive(Debug, Clone)]
pub struct ExpiringToken {
    /// The token's name.
    pub(crate) name: String,
    /// When it expires (UTC).
    pub(crate) expires: String,
    /// `expires in 3 days`, `expires in less than a day`, `expired`.
    pub(crate) when: String,
}

/// The tenant's active (not revoked) tokens expiring within `days` days of `now`, or
/// expired, soonest first.
pub(crate) fn expiring_tokens(
    tokens: &[scimd_directory::store::TokenRow],
    now: time::OffsetDateTime,
    days: u32,
) -> Vec<ExpiringToken> {
    let horizon = now + time::Duration::days(i64::from(days));
    let mut soon: Vec<_> = tokens
        .iter()
        .filter(|t| t.revoked.is_none())
        .filter_map(|t| t.expires.filter(|e| *e <= horizon).map(|e| (e, t)))
        .collect();
    soon.sort_by_key(|(e, _)| *e);
    soon.into_iter()
        .map(|(e, t)| {
            let left = (e - now).whole_days();
            let when = if e <= now {
                "expired".to_string()
            } else if left == 0 {
                "expires in less than a day".to_string()
            } else if left == 1 {
                "expires in 1 day".to_string()
            } else {
                format!("expires in {left} days")
            };
            ExpiringToken {
                name: t.name.clone(),
                expires: super::common::fmt_time(e),
                when,
            }
        })
        .collect()
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
        .records(t, &LogFilter::default(), 0, 10)
        .await
        .map_err(fail)?;
    let rejected = LogFilter {
        outcome: Some(LogOutcome::Rejected),
        ..Default::default()
    };
    let (rejected_total, failures) = d.records(t, &rejected, 0, 5).await.map_err(fail)?;
    let warnings = warnings(&st, t).await.map_err(fail)?;
    let tokens = d.list_tokens(t).await.map_err(fail)?;
    let warning_days = st.credentials.token_expiry_warning_days;
    let expiring = expiring_tokens(&tokens, scimd_directory::render::now(), warning_days);
    ok(render(
        StatusCode::OK,
        &DashboardPage {
            layout,
            tenant_url: s.site.url(&st, crate::state::SCIM_BASE),
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
            expiring,
            warning_days,
        },
    ))
}
