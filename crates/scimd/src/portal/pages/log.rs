//! The provisioning log (`/log`): filtered and paged, and its downloads (`/log/export`).

use super::common::{pager, query_string, text, when, with_query, Pager, PAGE_SIZE, Q};
use crate::admin::export::ExportFormat;
use crate::admin::LOG_OUTCOMES;
use crate::portal::frame::{directory_error, ok, render, Layout, Page};
use crate::portal::session::Signed;
use crate::query::parse_time;
use crate::state::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use scimd_directory::store::LogQuery;
use serde_json::Value;

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

pub(super) fn log_row(e: &Value) -> LogRow {
    let outcome = text(&e["outcome"]);
    let rtype = text(&e["resourceType"]);
    let id = text(&e["resourceId"]);
    // No link for a resource that is gone or was never created (a rejected POST).
    let gone = id.is_empty()
        || matches!(outcome.as_str(), "deleted" | "group deleted")
        || outcome == "rejected" && text(&e["method"]).eq_ignore_ascii_case("POST");
    let href = if gone {
        None
    } else if rtype == "Group" {
        Some(format!("/groups/{id}"))
    } else {
        Some(format!("/users/{id}"))
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default()
    };
    let name = text(&e["resourceName"]);
    LogRow {
        time: when(&e["time"]),
        outcome_class: outcome.replace(' ', "-"),
        outcome,
        resource_type: rtype,
        name: if name.is_empty() { id.clone() } else { name },
        id,
        href,
        method: text(&e["method"]),
        path: text(&e["path"]),
        status: text(&e["status"]),
        token: text(&e["tokenName"]),
        detail: text(&e["detail"]),
        changed: strings(&e["changedAttributes"]),
        warnings: strings(&e["warnings"]),
    }
}

// ---------------------------------------------------------------- provisioning log

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
fn parse_local(s: &str) -> Option<time::OffsetDateTime> {
    if s.is_empty() {
        return None;
    }
    parse_time(s)
        .or_else(|| parse_time(&format!("{s}Z")))
        .or_else(|| parse_time(&format!("{s}:00Z")))
}

struct LogFilters {
    query: LogQuery,
    outcome: String,
    rtype: String,
    since: String,
    until: String,
    text: String,
    error: Option<String>,
}

fn log_filters(q: &Q) -> LogFilters {
    let mut error = None;
    let outcome = q.get("outcome").to_lowercase();
    let outcome = if outcome.is_empty() || LOG_OUTCOMES.contains(&outcome.as_str()) {
        outcome
    } else {
        error = Some(format!("Unknown outcome “{outcome}”."));
        String::new()
    };
    let rtype = match q.get("resourceType").to_lowercase().as_str() {
        "user" => "User".to_string(),
        "group" => "Group".to_string(),
        _ => String::new(),
    };
    let since_s = q.get("since");
    let until_s = q.get("until");
    let since = parse_local(&since_s);
    let until = parse_local(&until_s);
    if since.is_none() && !since_s.is_empty() || until.is_none() && !until_s.is_empty() {
        error = Some("Times must look like 2026-11-30T08:00 (UTC).".into());
    }
    let text = q.get("text");
    LogFilters {
        query: LogQuery {
            outcome: (!outcome.is_empty()).then(|| outcome.clone()),
            resource_type: (!rtype.is_empty()).then(|| rtype.clone()),
            since,
            until,
            text: (!text.is_empty()).then(|| text.clone()),
            offset: 0,
            limit: 0,
        },
        outcome,
        rtype,
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
        .layout("Provisioning log", "log")
        .crumb("Provisioning log", "");
    let f = log_filters(&q);
    let page = q.page();
    let mut lq = f.query.clone();
    lq.offset = (page - 1) * PAGE_SIZE;
    lq.limit = PAGE_SIZE;
    let (total, entries) = st
        .directory
        .query_log(s.tenant(), &lq)
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
            outcomes: LOG_OUTCOMES
                .iter()
                .map(|o| (o.to_string(), *o == f.outcome))
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
        f.query,
        format,
    )
    .await
    .map_err(|e| directory_error(e, s.layout("Download failed", "log"), "The download failed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn local_times() {
        assert!(parse_local("2026-11-30T08:00").is_some());
        assert!(parse_local("2026-11-30T08:00:05").is_some());
        assert!(parse_local("2026-11-30T08:00:00Z").is_some());
        assert!(parse_local("yesterday").is_none());
    }

    #[test]
    fn log_links() {
        let r = log_row(
            &json!({"outcome": "created", "resourceType": "User", "resourceId": "u1", "resourceName": "a@b", "time": "2026-11-30T11:22:33.123456Z", "status": 201, "method": "POST"}),
        );
        assert_eq!(r.href.as_deref(), Some("/users/u1"));
        assert_eq!(r.time, "2026-11-30 11:22:33");
        let r = log_row(&json!({"outcome": "deleted", "resourceType": "User", "resourceId": "u1"}));
        assert_eq!(r.href, None);
        let r = log_row(
            &json!({"outcome": "rejected", "resourceType": "User", "status": 400, "method": "POST"}),
        );
        assert_eq!(r.href, None);
    }
}
