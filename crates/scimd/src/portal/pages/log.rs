//! The provisioning log (`/log`): filtered and paged, and its downloads (`/log/export`).

use super::common::{fmt_time, pager, query_string, with_query, Pager, PAGE_SIZE, Q};
use crate::admin::export::ExportFormat;
use crate::portal::frame::{directory_error, ok, render, Layout, Page};
use crate::portal::session::Signed;
use crate::query::parse_time;
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::admin::{LogFilter, ProvisioningEntry};
use scimd_directory::audit::{LogOutcome, ResourceType};
use scimd_directory::store::Window;

/// One provisioning-log entry as the pages show it.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub(super) time: String,
    pub(super) outcome: String,
    pub(super) outcome_class: String,
    pub(super) resource_type: String,
    pub(super) name: String,
    pub(super) id: String,
    pub(super) href: Option<String>,
    pub(super) method: String,
    pub(super) path: String,
    pub(super) status: String,
    pub(super) token: String,
    pub(super) detail: String,
    pub(super) changed: Vec<String>,
    pub(super) warnings: Vec<String>,
}

pub(super) fn log_row(e: &ProvisioningEntry) -> LogRow {
    let id = e.resource_id.clone().unwrap_or_default();
    // No link for a resource that is gone or was never created (a rejected POST).
    let href = e.resource_may_exist().then(|| match e.resource_type {
        ResourceType::Group => format!("/groups/{id}"),
        ResourceType::User => format!("/users/{id}"),
    });
    let outcome = e.outcome.as_str();
    LogRow {
        time: fmt_time(e.at),
        outcome_class: outcome.replace(' ', "-"),
        outcome: outcome.to_string(),
        resource_type: e.resource_type.as_str().to_string(),
        name: e
            .resource_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.clone()),
        id,
        href,
        method: e.method.clone(),
        path: e.path.clone(),
        status: e.status.to_string(),
        token: e.token_name.clone(),
        detail: e.detail.clone().unwrap_or_default(),
        changed: e.changed.clone(),
        warnings: e.warnings.clone(),
    }
}

/// The provisioning log.
#[derive(Template)]
#[template(path = "portal/log.html")]
pub struct LogPage {
    layout: Layout,
    outcomes: Vec<(String, bool)>,
    f_type: String,
    f_since: String,
    f_until: String,
    f_text: String,
    error: Option<String>,
    rows: Vec<LogRow>,
    pager: Pager,
    csv_href: String,
    jsonl_href: String,
}

/// A `datetime-local` value (`2026-11-30T11:22` or with seconds), read as UTC, or RFC 3339.
pub(super) fn parse_local(s: &str) -> Option<time::OffsetDateTime> {
    if s.is_empty() {
        return None;
    }
    parse_time(s)
        .or_else(|| parse_time(&format!("{s}Z")))
        .or_else(|| parse_time(&format!("{s}:00Z")))
}

struct LogFilters {
    filter: LogFilter,
    outcome: String,
    rtype: String,
    since: String,
    until: String,
    text: String,
    error: Option<String>,
}

fn log_filters(q: &Q) -> LogFilters {
    let mut error = None;
    let outcome_s = q.get("outcome");
    let outcome = LogOutcome::parse(&outcome_s);
    if outcome.is_none() && !outcome_s.is_empty() {
        error = Some(format!("Unknown outcome “{}”.", outcome_s.to_lowercase()));
    }
    let rtype = ResourceType::parse(&q.get("resourceType"));
    let since_s = q.get("since");
    let until_s = q.get("until");
    let since = parse_local(&since_s);
    let until = parse_local(&until_s);
    if since.is_none() && !since_s.is_empty() || until.is_none() && !until_s.is_empty() {
        error = Some("Times must look like 2026-11-30T08:00 (UTC).".into());
    }
    let text = q.get("text");
    LogFilters {
        filter: LogFilter {
            outcome,
            resource_type: rtype,
            window: Window {
                since,
                until,
                text: (!text.is_empty()).then(|| text.clone()),
                txn: None,
            },
        },
        outcome: outcome.map_or("", LogOutcome::as_str).to_string(),
        rtype: rtype.map_or("", ResourceType::as_str).to_string(),
        since: since_s,
        until: until_s,
        text,
        error,
    }
}

/// `GET /log`: filters (outcome, resource type, time range, text), paged, newest first.
pub async fn log(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let layout = s
        .page("Provisioning log", "log")
        .crumb("Provisioning log", "");
    let f = log_filters(&q);
    let page = q.page();
    let (total, entries) = st
        .directory
        .records(s.tenant(), &f.filter, (page - 1) * PAGE_SIZE, PAGE_SIZE)
        .await
        .map_err(|e| directory_error(e, s.layout("Error", "log"), "Something went wrong"))?;
    let rows: Vec<LogRow> = entries.iter().map(log_row).collect();
    let base = [
        ("outcome", f.outcome.as_str()),
        ("resourceType", f.rtype.as_str()),
        ("since", f.since.as_str()),
        ("until", f.until.as_str()),
        ("text", f.text.as_str()),
    ];
    let pager = pager("/log", &base, page, rows.len(), total, "entries");
    let export = |fmt: &str| {
        let mut pairs = base.to_vec();
        pairs.insert(0, ("format", fmt));
        with_query("/log/export", &query_string(&pairs))
    };
    ok(render(
        StatusCode::OK,
        &LogPage {
            layout,
            outcomes: LogOutcome::ALL
                .iter()
                .map(|o| (o.as_str().to_string(), o.as_str() == f.outcome))
                .collect(),
            f_type: f.rtype.clone(),
            f_since: f.since.clone(),
            f_until: f.until.clone(),
            f_text: f.text.clone(),
            error: f.error.clone(),
            rows,
            pager,
            csv_href: export("csv"),
            jsonl_href: export("jsonl"),
        },
    ))
}

/// `GET /log/export?format=csv|jsonl&...`: every entry matching the filters, as the admin
/// API's download.
pub async fn log_export(State(st): State<AppState>, s: Signed, RawQuery(raw): RawQuery) -> Page {
    let q = Q::new(raw);
    let f = log_filters(&q);
    let format = match q.get("format").as_str() {
        "jsonl" => ExportFormat::JsonLines,
        _ => ExportFormat::Csv,
    };
    crate::admin::export::download(
        st.directory.clone(),
        s.tenant().to_string(),
        crate::admin::export::Feed::Log(f.filter),
        format,
    )
    .await
    .map_err(|e| directory_error(e, s.layout("Download failed", "log"), "The download failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn entry(outcome: LogOutcome, method: &str, id: Option<&str>) -> ProvisioningEntry {
        ProvisioningEntry {
            seq: 1,
            txn: "t".into(),
            actor: scimd_directory::store::Actor::new(
                scimd_directory::store::ActorType::Token,
                "initial",
            ),
            cause: scimd_directory::store::Cause::Rule("r".into()),
            changes: vec![],
            at: datetime!(2026-11-30 11:22:33.123456 UTC),
            token_name: "initial".into(),
            method: method.into(),
            path: "/scim/v2/Users".into(),
            resource_type: ResourceType::User,
            resource_id: id.map(str::to_string),
            resource_name: Some("a@b".into()),
            outcome,
            status: 201,
            detail: None,
            changed: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn local_times() {
        assert!(parse_local("2026-11-30T08:00").is_some());
        assert!(parse_local("2026-11-30T08:00:05").is_some());
        assert!(parse_local("2026-11-30T08:00:00Z").is_some());
        assert!(parse_local("yesterday").is_none());
    }

    #[test]
    fn log_links() {
        let r = log_row(&entry(LogOutcome::Created, "POST", Some("u1")));
        assert_eq!(r.href.as_deref(), Some("/users/u1"));
        assert_eq!(r.time, "2026-11-30 11:22:33");
        let r = log_row(&entry(LogOutcome::Deleted, "DELETE", Some("u1")));
        assert_eq!(r.href, None);
        let r = log_row(&entry(LogOutcome::Rejected, "POST", None));
        assert_eq!(r.href, None);
    }
}
