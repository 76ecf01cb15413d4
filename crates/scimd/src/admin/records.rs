//! The change records beyond the provisioning log: `/api/v1/users/{id}/history` and
//! `/api/v1/groups/{id}/history` (one resource's records, newest first) and
//! `/api/v1/audit` (administrative actions: a page, or a CSV / JSON Lines download).

use super::export::{self, Feed};
use super::json;
use super::log::{export_format, time_range};
use super::reply::{ok, AdminError, AdminResult};
use super::request::{Admin, Query, DEFAULT_COUNT};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use scimd_directory::admin::AuditFilter;
use scimd_directory::audit::ResourceType;
use scimd_directory::changes::AuditAction;
use scimd_directory::store::Channel;
use serde_json::Value;

/// The filters of an audit request (`action`, `actor`, `source`, `since`, `until`, `text`,
/// `txn`), without paging.
fn audit_filters(q: &Query) -> Result<AuditFilter, AdminError> {
    let action = match q.text("action") {
        None => None,
        Some(a) => Some(AuditAction::parse(&a).ok_or_else(|| {
            AdminError::bad_request(format!(
                "action must be one of {}; got '{a}'",
                AuditAction::names()
            ))
        })?),
    };
    let source = match q.text("source") {
        None => None,
        Some(s) => Some(
            Channel::parse(&s.to_ascii_lowercase())
                .filter(|c| *c != Channel::Scim)
                .ok_or_else(|| {
                    AdminError::bad_request(format!("source must be portal, api or cli; got '{s}'"))
                })?,
        ),
    };
    let (since, until) = time_range(q)?;
    Ok(AuditFilter {
        action,
        actor: q.text("actor"),
        source,
        since,
        until,
        text: q.text("text"),
        txn: q.text("txn"),
    })
}

pub(super) async fn audit(
    State(st): State<AppState>,
    Admin(c): Admin,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> AdminResult {
    let q = Query::new(q);
    let filter = audit_filters(&q)?;
    if let Some(format) = export_format(&q, &headers)? {
        let tenant = c.tenant_id.clone();
        let feed = Feed::Audit(filter);
        return Ok(export::download(st.directory.clone(), tenant, feed, format).await?);
    }
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let (total, entries) = st
        .directory
        .query_audit(&c.tenant_id, &filter, start - 1, count)
        .await?;
    let entries: Vec<Value> = entries.iter().map(json::audit_entry).collect();
    ok(&json::list(total, start, entries))
}

/// A page of the history of `resource_type` `id` (`startIndex`, `count`, `txn`).
async fn history(
    st: &AppState,
    tenant: &str,
    (resource_type, id): (ResourceType, &str),
    q: Option<String>,
) -> AdminResult {
    let q = Query::new(q);
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let (total, records) = st
        .directory
        .history(tenant, resource_type, id, q.text("txn"), (start - 1, count))
        .await?;
    let records: Vec<Value> = records.iter().map(json::record).collect();
    ok(&json::list(total, start, records))
}

pub(super) async fn user_history(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AdminResult {
    history(&st, &c.tenant_id, (ResourceType::User, &id), q).await
}

pub(super) async fn group_history(
    State(st): State<AppState>,
    Admin(c): Admin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AdminResult {
    history(&st, &c.tenant_id, (ResourceType::Group, &id), q).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        Query::new(Some(s.to_string()))
    }

    #[test]
    fn audit_filter_validation() {
        let f = audit_filters(&q("action=Token.Create&source=CLI&actor=ops&txn=x")).unwrap();
        assert_eq!(f.action, Some(AuditAction::TokenCreate));
        assert_eq!(f.source, Some(Channel::Cli));
        assert_eq!(f.actor.as_deref(), Some("ops"));
        assert_eq!(f.txn.as_deref(), Some("x"));
        assert_eq!(audit_filters(&q("action=nope")).unwrap_err().status, 400);
        assert_eq!(audit_filters(&q("source=scim")).unwrap_err().status, 400);
        assert_eq!(
            audit_filters(&q("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"))
                .unwrap_err()
                .status,
            400
        );
    }
}
