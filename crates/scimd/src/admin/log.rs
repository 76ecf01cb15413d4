//! `/api/v1/provisioning-log` (a page, or a CSV / JSON Lines download) and
//! `/api/v1/dashboard`; the filters and the page-or-download answer the audit record's
//! route shares.

use super::export::{self, ExportFormat, Feed};
use super::json;
use super::reply::{ok, AdminError, AdminResult};
use super::request::{Admin, Query, DEFAULT_COUNT};
use crate::state::AppState;
use axum::extract::RawQuery;
use axum::http::header::ACCEPT;
use axum::http::HeaderMap;
use scimd_directory::admin::{AuditFilter, LogFilter, ProvisioningEntry};
use scimd_directory::audit::{LogOutcome, ResourceType};
use scimd_directory::changes::AuditAction;
use scimd_directory::render::rfc3339;
use scimd_directory::store::{Channel, Window};
use serde_json::json;

/// The filters of a provisioning-log request (`outcome`, `resourceType`, `since`, `until`,
/// `text`), without paging.
fn log_filters(q: &Query) -> Result<LogFilter, AdminError> {
    let outcome = q.choice("outcome", LogOutcome::parse, &LogOutcome::names())?;
    let types = ResourceType::ALL.map(ResourceType::as_str).join(", ");
    let resource_type = q.choice("resourceType", ResourceType::parse, &types)?;
    Ok(LogFilter {
        outcome,
        resource_type,
        window: window(q)?,
    })
}

/// The filters of an audit request (`action`, `actor`, `source`, `since`, `until`, `text`,
/// `txn`), without paging.
fn audit_filters(q: &Query) -> Result<AuditFilter, AdminError> {
    let action = q.choice("action", AuditAction::parse, &AuditAction::names())?;
    let admin_side =
        |s: &str| Channel::parse(&s.to_ascii_lowercase()).filter(|c| *c != Channel::Scim);
    let source = q.choice("source", admin_side, "portal, api, cli")?;
    Ok(AuditFilter {
        action,
        actor: q.text("actor"),
        source,
        window: window(q)?,
    })
}

/// `since`, `until`, `text` and `txn` of a request: the window every view of the change
/// records takes. Errors: 400 for a malformed time, or `since` after `until`.
pub(super) fn window(q: &Query) -> Result<Window, AdminError> {
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
    Ok(Window {
        since,
        until,
        text: q.text("text"),
        txn: q.text("txn"),
    })
}

/// Answers a view of the change records: a download of every entry `feed` gives when the
/// request asks for one ([`export_format`]), else a page (`startIndex`, `count`).
async fn serve(
    st: &AppState,
    tenant: &str,
    (q, headers): (&Query, &HeaderMap),
    feed: Feed,
) -> AdminResult {
    if let Some(format) = export_format(q, headers)? {
        let d = st.directory.clone();
        return Ok(export::download(d, tenant.to_string(), feed, format).await?);
    }
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let (total, entries) = feed.page(&st.directory, tenant, (start - 1, count)).await?;
    ok(&json::list(total, start, entries))
}

/// The download format a request asks for: the `format` parameter (`csv`, `jsonl`, or
/// `json` for a page), else the `Accept` header (`text/csv`, `application/x-ndjson`).
fn export_format(q: &Query, headers: &HeaderMap) -> Result<Option<ExportFormat>, AdminError> {
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

/// The query parameters every view of the change records takes besides its own filters:
/// the window ([`window`]), paging, and `format` (the downloads).
const WINDOW_AND_PAGING: &[&str] = &[
    "since",
    "until",
    "text",
    "txn",
    "startIndex",
    "count",
    "format",
];

/// A view of the change records a route serves: how it reads its request's filters.
pub(super) trait View {
    /// The query parameters of the view's own filters (it takes [`WINDOW_AND_PAGING`] too).
    const FILTERS: &'static [&'static str];
    /// The feed the request's filters select. Errors: 400 for a malformed filter.
    fn feed(q: &Query) -> Result<Feed, AdminError>;
}

/// `GET /api/v1/provisioning-log`.
pub(super) struct LogView;

impl View for LogView {
    const FILTERS: &'static [&'static str] = &["outcome", "resourceType"];
    fn feed(q: &Query) -> Result<Feed, AdminError> {
        Ok(Feed::Log(log_filters(q)?))
    }
}

/// `GET /api/v1/audit`.
pub(super) struct AuditView;

impl View for AuditView {
    const FILTERS: &'static [&'static str] = &["action", "actor", "source"];
    fn feed(q: &Query) -> Result<Feed, AdminError> {
        Ok(Feed::Audit(audit_filters(q)?))
    }
}

/// The route of view `V`: a page, or a CSV / JSON Lines download ([`serve`]).
pub(super) async fn view<V: View>(
    Admin(st, c): Admin,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let known: Vec<&str> = V::FILTERS
        .iter()
        .chain(WINDOW_AND_PAGING)
        .copied()
        .collect();
    let q = Query::new(q, &known)?;
    let feed = V::feed(&q)?;
    serve(&st, &c.tenant_id, (&q, &headers), feed).await
}

pub(super) async fn dashboard(Admin(st, c): Admin) -> AdminResult {
    let d = &st.directory;
    let t = &c.tenant_id;
    let counts = d.counts(t).await?;
    let (log_total, recent_log) = d.records(t, &LogFilter::default(), 0, 10).await?;
    let rejected = LogFilter {
        outcome: Some(LogOutcome::Rejected),
        ..Default::default()
    };
    let (rejected_total, recent_rejected) = d.records(t, &rejected, 0, 10).await?;
    let entries = |v: &[ProvisioningEntry]| v.iter().map(json::log_entry).collect::<Vec<_>>();
    let warnings = d.provisioning_warnings(t).await?;
    ok(&json!({
        // The SCIM base of the paths the request came in on (`/t/SLUG/scim/v2` on a tenant's).
        "scimTenantUrl": d.scim_base(),
        "counts": json::counts(&counts),
        "logEntries": log_total,
        "rejectedEntries": rejected_total,
        "recentLog": entries(&recent_log),
        "recentRejected": entries(&recent_rejected),
        "warnings": warnings.iter().map(json::warning).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::request::tests::q;
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn log_filter_validation() {
        let lq = log_filters(&q("outcome=Rejected&resourceType=user&text=%20bob%20")).unwrap();
        assert_eq!(lq.outcome.map(LogOutcome::as_str), Some("rejected"));
        assert_eq!(lq.resource_type.map(ResourceType::as_str), Some("User"));
        assert_eq!(lq.window.text.as_deref(), Some("bob"));
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
    fn audit_filter_validation() {
        let f = audit_filters(&q("action=Token.Create&source=CLI&actor=ops&txn=x")).unwrap();
        assert_eq!(f.action, Some(AuditAction::TokenCreate));
        assert_eq!(f.source, Some(Channel::Cli));
        assert_eq!(f.actor.as_deref(), Some("ops"));
        assert_eq!(f.window.txn.as_deref(), Some("x"));
        assert_eq!(audit_filters(&q("action=nope")).unwrap_err().status, 400);
        assert_eq!(audit_filters(&q("source=scim")).unwrap_err().status, 400);
        assert_eq!(
            audit_filters(&q("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"))
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
        use ExportFormat::{Csv, JsonLines};
        for (query, accept, want) in [
            ("", &none, None),
            ("format=CSV", &none, Some(Csv)),
            ("format=jsonl", &csv, Some(JsonLines)),
            ("", &csv, Some(Csv)),
            ("", &nd, Some(JsonLines)),
            ("format=json", &csv, None),
        ] {
            assert_eq!(export_format(&q(query), accept).unwrap(), want, "{query}");
        }
        assert_eq!(
            export_format(&q("format=xml"), &none).unwrap_err().status,
            400
        );
    }
}
