//! OAuth clients, the access tokens issued to them, and refused authentications kept for
//! the administrator's diagnostics (issue 16).
//!
//! An access token is found by the hash of its secret across tenants (its row tells the
//! tenant, [`Across::AccessTokenBySecret`]); everything else is a tenant's. A client's
//! access tokens and a tenant's kept refusals are bounded here, in the statements that add
//! to them: the newest `keep` rows stay.

use super::StoreTx;
use crate::exec::Exec;
use crate::rows::{
    access_token_of, client_of, refusal_of, ACCESS_TOKEN_COLS, CLIENT_COLS, REFUSAL_COLS,
};
use crate::sql::{clamp, Across, Bind, Tbl};
use scimd_directory::store::{AccessTokenRow, ClientRow, RefusalCount, RefusalRow, StoreResult};
use time::OffsetDateTime;

pub(super) async fn insert_client<E: Exec>(tx: &mut StoreTx<E>, c: &ClientRow) -> StoreResult<()> {
    let row = [
        Bind::text(&c.id),
        Bind::text(&c.name),
        Bind::Blob(c.secret_sha256.clone()),
        Bind::Time(c.created),
        Bind::opt_time(c.last_used),
        Bind::opt_time(c.revoked),
    ];
    let mut s = tx
        .q()
        .insert(&*c.tenant_id, Tbl::OauthClients, CLIENT_COLS, [row]);
    tx.run(s.may_conflict()).await.map(drop)
}

pub(super) async fn get_client<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    id: &str,
) -> StoreResult<Option<ClientRow>> {
    let key = [("id", Bind::text(id))];
    let s = tx.q().select(t, CLIENT_COLS, (Tbl::OauthClients, ""), key);
    tx.row(s).await?.map(client_of).transpose()
}

pub(super) async fn list_clients<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
) -> StoreResult<Vec<ClientRow>> {
    let mut s = tx.q().select(t, CLIENT_COLS, (Tbl::OauthClients, ""), []);
    s.sql(" ORDER BY created, seq");
    tx.rows(s).await?.into_iter().map(client_of).collect()
}

pub(super) async fn revoke_client<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    id: &str,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let key = [("id", Bind::text(id))];
    let mut s = tx
        .q()
        .update(t, Tbl::OauthClients, [("revoked", Bind::Time(at))], key);
    s.sql(" AND revoked IS NULL");
    Ok(tx.run(s).await? > 0)
}

pub(super) async fn insert_access_token<E: Exec>(
    tx: &mut StoreTx<E>,
    a: &AccessTokenRow,
) -> StoreResult<()> {
    let row = [
        Bind::text(&a.client_id),
        Bind::Blob(a.secret_sha256.clone()),
        Bind::Time(a.created),
        Bind::Time(a.expires),
    ];
    let mut s = tx
        .q()
        .insert(&*a.tenant_id, Tbl::AccessTokens, ACCESS_TOKEN_COLS, [row]);
    tx.run(s.may_conflict()).await.map(drop)
}

pub(super) async fn access_token_by_hash<E: Exec>(
    tx: &mut StoreTx<E>,
    sha256: &[u8],
) -> StoreResult<Option<AccessTokenRow>> {
    let key = [("secret_sha256", Bind::Blob(sha256.to_vec()))];
    let s = tx.q().select(
        Across::AccessTokenBySecret,
        ACCESS_TOKEN_COLS,
        (Tbl::AccessTokens, ""),
        key,
    );
    tx.row(s).await?.map(access_token_of).transpose()
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
        let rows = recent.iter().map(|r| {
            [
                Bind::Time(r.at),
                Bind::text(&r.reason),
                Bind::text(&r.credential),
                Bind::text(&r.method),
                Bind::text(&r.path),
                Bind::opt_text(r.address.as_deref()),
            ]
        });
        let s = tx.q().insert(t, Tbl::AuthRefusals, REFUSAL_COLS, rows);
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
    let mut counts = Vec::new();
    for mut row in tx.rows(s).await? {
        counts.push(RefusalCount {
            hour: row.time("hour")?,
            reason: row.text("reason")?,
            count: row.count("count")?,
        });
    }
    let mut s = tx.q().select(t, REFUSAL_COLS, (Tbl::AuthRefusals, ""), []);
    s.sql(" ORDER BY seq DESC");
    let recent = tx.rows(s).await?.into_iter().map(refusal_of);
    Ok((counts, recent.collect::<StoreResult<_>>()?))
}
