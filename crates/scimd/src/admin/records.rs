//! The histories of the change records: `/api/v1/users/{id}/history` and
//! `/api/v1/groups/{id}/history` (one resource's records, newest first). The provisioning
//! log and the audit record are served by `log`.

use super::json;
use super::reply::{ok, AdminResult};
use super::request::{Admin, Query, DEFAULT_COUNT};
use axum::extract::{Path, RawQuery};
use scimd_directory::audit::ResourceType;
use serde_json::Value;

/// The kind of resource a history route serves.
pub(super) trait Kind {
    /// `User` or `Group`.
    const TYPE: ResourceType;
}

/// `/api/v1/users/{id}/history`.
pub(super) struct Users;

impl Kind for Users {
    const TYPE: ResourceType = ResourceType::User;
}

/// `/api/v1/groups/{id}/history`.
pub(super) struct Groups;

impl Kind for Groups {
    const TYPE: ResourceType = ResourceType::Group;
}

/// A page of the history of the `K` whose id is in the path (`startIndex`, `count`,
/// `txn`). 404 as [`scimd_directory::Directory::history`].
pub(super) async fn history<K: Kind>(
    Admin(st, c): Admin,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AdminResult {
    let q = Query::new(q, &["startIndex", "count", "txn"])?;
    let (start, count) = q.page(DEFAULT_COUNT)?;
    let (total, records) = st
        .directory
        .history(
            &c.tenant_id,
            K::TYPE,
            &id,
            q.text("txn"),
            (start - 1, count),
        )
        .await?;
    let records: Vec<Value> = records.iter().map(json::record).collect();
    ok(&json::list(total, start, records))
}
