//! `/api/v1/provisioning-log` (a page, or a CSV / JSON Lines download) and
//! `/api/v1/dashboard`; the request helpers the audit record's route shares.

use super::export::{self, ExportFormat, Feed};
use super::json;
use super::reply::{ok, AdminError, AdminResult};
use super::request::{Admin, Query, DEFAULT_COUNT};
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header::ACCEPT;
use axum::http::HeaderMap;
use scimd_directory::admin::{LogFilter, ProvisioningEntry};
use scimd_directory::audit::{LogOutcome, ResourceType};
use scimd_directory::render::rfc3339;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// The filters of a provisioning-log request (`outcome`, `resourceType`, `since`, `until`,
/// `text`), without paging.
fn log_filters(q: &Query) -> Result<LogFilter, AdminError> {
    let outcome = match q.text("outcome") {
        None => None,
        Some(o) => Some(LogOutcome::parse(&o).ok_or_else(|| {
            AdminError::bad_request(format!(
                "outcome must be one of {}; got '{o}'",
                LogOutcome::names()
            ))
        })?),
    };
    let resource_type = match q.text("resourceType") {
        None => None,
        Some(t) => Some(ResourceType::parse(&t).ok_or_else(|| {
            AdminError::bad_request(format!("resourceType must be User or Group, got '{t}'"))
        })?),
    };
    let (since, until) = time_range(q)?;
    Ok(LogFilter {
        outcome,
        resource_type,
        since,
        until,
        text: q.text("text"),
        txn: q.text("txn"),
    })
}

/// `since` and `until` of a request. Errors: 400 when malformed, or `since` after `until`.
pub(super) fn time_range(
    q: &Query,
) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), AdminError> {
    let since = q.time("since")?;
    let until = q.time("until")?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(AdminError::bad_request(format!(
                "since ({}) is after until ({})",
                rfc3339(s),
                rfc3339(u)
            )));
        }
    }
    Ok((since, until))
}

/// The download format a request asks for: the `format` parameter (`csv`, `jsonl`, or
/// `json` for a page), else the `Accept` header (`text/csv`, `application/x-ndjson`).
pub(super) fn export_format(
    q: &Query,
    headers: &HeaderMap,
) -> Result<Option<ExportFormat>, AdminError> {
    if let Some(f) = q.text("format") {
        return match f.to_ascii_lowercase().as_str() {
            "csv" => Ok(Some(ExportFormat::Csv)),
            "jsonl" | "ndjson" => Ok(Some(ExportFormat::JsonLines)),
            "json" => Ok(None),
            _ => Err(AdminError::bad_request(format!(
                "format must be csv or jsonl (a download of every matching entry), or json (a page); got '{f}'"
            ))),
        };
    }
    let accept = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&"text/csv") {
        Ok(Some(ExportFormat::Csv))
    } else if types.iter().any(|t| {
        matches!(
            *t,
            "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines"
        )
    }) {
        Ok(Some(ExportFormat::JsonLines))
    } else {
        Ok(None)
    }
}

pub(super) async fn provisioning_log(
    State(st): State<AppState>,
    Admin(c): Admin,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let q = Query::new(q);
    let filter = log_filters(&q)?;
    if let Some(format) = export_format(&q, &headers)? {
        let tenant = c.tenant_id.clone();
        let feed = Feed::Log(filter);
        return Ok(export::download(st.directory.clone(), tenant, feed, format).await?);
    }
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let (total, entries) = st
        .directory
        .query_log(&c.tenant_id, &filter, start - 1, count)
        .await?;
    let entries: Vec<Value> = entries.iter().map(json::log_entry).collect();
    ok(&json::list(total, start, entries))
}

pub(super) async fn dashboard(State(st): State<AppState>, Admin(c): Admin) -> AdminResult {
    let d = &st.directory;
    let t = &c.tenant_id;
    let counts = d.counts(t).await?;
    let (log_total, recent_log) = d.query_log(t, &LogFilter::default(), 0, 10).await?;
    let rejected = LogFilter {
        outcome: Some(LogOutcome::Rejected),
        ..Default::default()
    };
    let (rejected_total, recent_rejected) = d.query_log(t, &rejected, 0, 10).await?;
    let entries = |v: &[ProvisioningEntry]| v.iter().map(json::log_entry).collect::<Vec<_>>();
    ok(&json!({
        "scimTenantUrl": d.base_url(),
        "counts": json::counts(&counts),
        "logEntries": log_total,
        "rejectedEntries": rejected_total,
        "recentLog": entries(&recent_log),
        "recentRejected": entries(&recent_rejected),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn q(s: &str) -> Query {
        Query::new(Some(s.to_string()))
    }

    #[test]
    fn log_filter_validation() {
        let lq = log_filters(&q("outcome=Rejected&resourceType=user&text=%20bob%20")).unwrap();
        assert_eq!(lq.outcome.map(LogOutcome::as_str), Some("rejected"));
        assert_eq!(lq.resource_type.map(ResourceType::as_str), Some("User"));
        assert_eq!(lq.text.as_deref(), Some("bob"));
        assert_eq!(log_filters(&q("outcome=nope")).unwrap_err().status, 400);
        assert_eq!(
            log_filters(&q("resourceType=Device")).unwrap_err().status,
            400
        );
        assert_eq!(
            log_filters(&q("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn export_negotiation() {
        let none = HeaderMap::new();
        let mut csv = HeaderMap::new();
        csv.insert(
            ACCEPT,
            HeaderValue::from_static("text/csv;q=0.9, */*;q=0.1"),
        );
        let mut nd = HeaderMap::new();
        nd.insert(ACCEPT, HeaderValue::from_static("application/x-ndjson"));
        assert_eq!(export_format(&q(""), &none).unwrap(), None);
        assert_eq!(
            export_format(&q("format=CSV"), &none).unwrap(),
            Some(ExportFormat::Csv)
        );
        assert_eq!(
            export_format(&q("format=jsonl"), &csv).unwrap(),
            Some(ExportFormat::JsonLines)
        );
        assert_eq!(
            export_format(&q(""), &csv).unwrap(),
            Some(ExportFormat::Csv)
        );
        assert_eq!(
            export_format(&q(""), &nd).unwrap(),
            Some(ExportFormat::JsonLines)
        );
        assert_eq!(export_format(&q("format=json"), &csv).unwrap(), None);
        assert_eq!(
            export_format(&q("format=xml"), &none).unwrap_err().status,
            400
        );
    }
}
