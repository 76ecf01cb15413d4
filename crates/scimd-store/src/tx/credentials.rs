//! OAuth clients, the access tokens issued to them, and refused authentications kept for
//! the administrator's diagnostics (issue 16).
//!
//! An access token is found by the hash of its secret across tenants (its row tells the
//! tenant, [`Across::AccessTokenBySecret`]); everything else is a tenant's. A client's
//! access tokens and a tenant's kept refusals are bounded here, in the statements that add
//! to them: the newest `keep` rows stay.

use super::StoreTx;
use crate::exec::Exec;
use crate::rows::{read_row, Insert, Stored};
use crate::sql::{clamp, Across, Bind, Col, Tbl};
use scimd_directory::store::{
    AccessTokenRow, CredentialKey, RefusalCount, RefusalRow, StoreResult,
};
use time::OffsetDateTime;

/// The table of the credential `key` names (bearer tokens, OAuth clients), and the column
/// and value that find its row.
fn row_of(key: CredentialKey<'_>) -> (Tbl, Col<'static>) {
    match key {
        CredentialKey::TokenId(id) => (Tbl::Tokens, ("id", Bind::text(id))),
        CredentialKey::TokenName(name) => (Tbl::Tokens, ("name", Bind::text(name))),
        CredentialKey::Client(id) => (Tbl::OauthClients, ("id", Bind::text(id))),
    }
}

/// Sets `last_used` of the tenant's credentials `key` names to `at`.
pub(super) async fn touch<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    key: CredentialKey<'_>,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let (table, key) = row_of(key);
    let set = [("last_used", Bind::Time(at))];
    let s = tx.q().update(t, table, set, [key]);
    tx.run(s).await.map(drop)
}

/// Revokes at `at` the tenant's credential `key` names, unless it is revoked already;
/// whether it was.
pub(super) async fn revoke<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    key: CredentialKey<'_>,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let (table, key) = row_of(key);
    let mut s = tx
        .q()
        .update(t, table, [("revoked", Bind::Time(at))], [key]);
    s.sql(" AND revoked IS NULL");
    Ok(tx.run(s).await? > 0)
}

pub(super) async fn access_token_by_hash<E: Exec>(
    tx: &mut StoreTx<E>,
    sha256: &[u8],
) -> StoreResult<Option<AccessTokenRow>> {
    let key = ("secret_sha256", Bind::Blob(sha256.to_vec()));
    tx.one(Across::AccessTokenBySecret, key).await
}

pub(super) async fn prune_access_tokens<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    client_id: &str,
    now: OffsetDateTime,
    keep: u64,
) -> StoreResult<u64> {
    let key = [("client_id", Bind::text(client_id))];
    let mut s = tx.q().delete(t, Tbl::AccessTokens, key);
    s.sql(" AND (expires <= ")
        .bind(Bind::Time(now))
        .sql(" OR seq NOT IN (SELECT k.seq FROM ")
        .table(Tbl::AccessTokens, "k")
        .sql(" WHERE ")
        .tenant("k")
        .sql(" AND k.client_id = ")
        .bind(Bind::text(client_id))
        .sql(" ORDER BY k.seq DESC LIMIT ")
        .bind(Bind::Int(clamp(keep)))
        .sql("))");
    tx.run(s).await
}

pub(super) async fn add_refusals<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    counts: &[RefusalCount],
    recent: &[RefusalRow],
    (keep, counts_since): (u64, OffsetDateTime),
) -> StoreResult<()> {
    let table = Tbl::AuthRefusalCounts.name();
    for c in counts {
        let mut s = tx.of(t);
        s.insert_into(Tbl::AuthRefusalCounts, "tenant_id, hour, reason, count")
            .sql("VALUES (")
            .tenant_value()
            .sql(", ")
            .binds([
                Bind::Time(c.hour),
                Bind::text(&c.reason),
                Bind::Int(clamp(c.count)),
            ])
            .sql(&format!(
                ") ON CONFLICT (tenant_id, hour, reason) DO UPDATE SET count = {table}.count + excluded.count"
            ));
        tx.run(s).await?;
    }
    if !recent.is_empty() {
        let rows = recent.iter().map(Insert::binds);
        let s = tx.q().insert(t, RefusalRow::TABLE, RefusalRow::COLS, rows);
        tx.run(s).await?;
    }
    let mut s = tx.q().delete(t, Tbl::AuthRefusals, []);
    s.sql(" AND seq NOT IN (SELECT k.seq FROM ")
        .table(Tbl::AuthRefusals, "k")
        .sql(" WHERE ")
        .tenant("k")
        .sql(" ORDER BY k.seq DESC LIMIT ")
        .bind(Bind::Int(clamp(keep)))
        .sql(")");
    tx.run(s).await?;
    let mut s = tx.q().delete(t, Tbl::AuthRefusalCounts, []);
    s.sql(" AND hour < ").bind(Bind::Time(counts_since));
    tx.run(s).await.map(drop)
}

pub(super) async fn list_refusals<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    since: OffsetDateTime,
) -> StoreResult<(Vec<RefusalCount>, Vec<RefusalRow>)> {
    let mut s = tx
        .q()
        .select(t, "hour, reason, count", (Tbl::AuthRefusalCounts, ""), []);
    s.sql(" AND hour >= ")
        .bind(Bind::Time(since))
        .sql(" ORDER BY hour DESC, reason");
    let counts = tx
        .rows(s)
        .await?
        .into_iter()
        .map(|mut row| Ok(read_row!(row => RefusalCount { hour, reason, count })));
    let counts = counts.collect::<StoreResult<_>>()?;
    Ok((counts, tx.all(t, "seq DESC").await?))
}
