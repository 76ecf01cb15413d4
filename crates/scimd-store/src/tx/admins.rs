//! The administrative portal's rows: administrators, sessions and failed sign-ins.

use super::StoreTx;
use crate::exec::Exec;
use crate::rows::{admin_of, session_of, ADMIN_COLS, SESSION_COLS};
use crate::sql::{Across, Bind, Sql, Tbl};
use scim_proto::filter::fold;
use scimd_directory::store::{AdminRow, SessionRow, StoreResult};
use time::OffsetDateTime;

/// `SELECT` of administrator columns of the tenant, `WHERE tenant_id = ? AND` what follows.
fn admins_where<'t, E: Exec>(tx: &StoreTx<E>, tenant_id: &'t str) -> Sql<'t> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(ADMIN_COLS)
        .sql(" FROM ")
        .table(Tbl::Admins, "")
        .sql(" WHERE ")
        .tenant("")
        .sql(" AND ");
    s
}

pub(super) async fn insert_admin<E: Exec>(tx: &mut StoreTx<E>, a: &AdminRow) -> StoreResult<()> {
    let mut s = tx.of(&a.tenant_id);
    s.insert_into(
        Tbl::Admins,
        "id, tenant_id, username, username_folded, password_hash, created, password_changed",
    )
    .sql("VALUES (")
    .bind(Bind::text(&a.id))
    .sql(", ")
    .tenant_value()
    .sql(", ")
    .binds([
        Bind::text(&a.username),
        Bind::Text(fold(&a.username)),
        Bind::text(&a.password_hash),
        Bind::Time(a.created),
        Bind::Time(a.password_changed),
    ])
    .sql(")")
    .may_conflict();
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn admin_by_username<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    username: &str,
) -> StoreResult<Option<AdminRow>> {
    let mut s = admins_where(tx, tenant_id);
    s.sql("username_folded = ").bind(Bind::Text(fold(username)));
    tx.row(s).await?.map(admin_of).transpose()
}

pub(super) async fn get_admin<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<AdminRow>> {
    let mut s = admins_where(tx, tenant_id);
    s.sql("id = ").bind(Bind::text(id));
    tx.row(s).await?.map(admin_of).transpose()
}

pub(super) async fn set_admin_password<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
    password_hash: &str,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let mut s = tx.of(tenant_id);
    s.sql("UPDATE ")
        .table(Tbl::Admins, "")
        .sql(" SET password_hash = ")
        .bind(Bind::text(password_hash))
        .sql(", password_changed = ")
        .bind(Bind::Time(at))
        .sql(" WHERE ")
        .tenant("")
        .sql(" AND id = ")
        .bind(Bind::text(id));
    Ok(tx.run(s).await? > 0)
}

pub(super) async fn insert_session<E: Exec>(
    tx: &mut StoreTx<E>,
    session: &SessionRow,
) -> StoreResult<()> {
    let mut s = tx.of(&session.tenant_id);
    s.insert_into(Tbl::Sessions, SESSION_COLS)
        .sql("VALUES (")
        .bind(Bind::Blob(session.id_sha256.clone()))
        .sql(", ")
        .tenant_value()
        .sql(", ")
        .binds([
            Bind::text(&session.admin_id),
            Bind::text(&session.csrf_token),
            Bind::Time(session.created),
            Bind::Time(session.expires),
        ])
        .sql(")");
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn session_by_hash<E: Exec>(
    tx: &mut StoreTx<E>,
    id_sha256: &[u8],
) -> StoreResult<Option<SessionRow>> {
    let mut s = tx.across(Across::SessionBySecret);
    s.sql("SELECT ")
        .sql(SESSION_COLS)
        .sql(" FROM ")
        .table(Tbl::Sessions, "")
        .sql(" WHERE id_sha256 = ")
        .bind(Bind::Blob(id_sha256.to_vec()));
    tx.row(s).await?.map(session_of).transpose()
}

pub(super) async fn delete_session<E: Exec>(
    tx: &mut StoreTx<E>,
    id_sha256: &[u8],
) -> StoreResult<bool> {
    let mut s = tx.across(Across::SessionBySecret);
    s.sql("DELETE FROM ")
        .table(Tbl::Sessions, "")
        .sql(" WHERE id_sha256 = ")
        .bind(Bind::Blob(id_sha256.to_vec()));
    Ok(tx.run(s).await? > 0)
}

pub(super) async fn delete_admin_sessions<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    admin_id: &str,
) -> StoreResult<u64> {
    let mut s = tx.of(tenant_id);
    s.sql("DELETE FROM ")
        .table(Tbl::Sessions, "")
        .sql(" WHERE ")
        .tenant("")
        .sql(" AND admin_id = ")
        .bind(Bind::text(admin_id));
    tx.run(s).await
}

pub(super) async fn insert_signin_failure<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    key: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let mut s = tx.of(tenant_id);
    s.insert_into(Tbl::SigninFailures, "tenant_id, key, at")
        .sql("VALUES (")
        .tenant_value()
        .sql(", ")
        .binds([Bind::text(key), Bind::Time(at)])
        .sql(")");
    tx.run(s).await?;
    Ok(())
}

/// `… signin_failures WHERE tenant_id = ? AND key = ?`, after `head`.
fn failures_of<'t, E: Exec>(tx: &StoreTx<E>, head: &str, tenant_id: &'t str, key: &str) -> Sql<'t> {
    let mut s = tx.of(tenant_id);
    s.sql(head)
        .table(Tbl::SigninFailures, "")
        .sql(" WHERE ")
        .tenant("")
        .sql(" AND key = ")
        .bind(Bind::text(key));
    s
}

pub(super) async fn count_signin_failures<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    key: &str,
    since: OffsetDateTime,
) -> StoreResult<u64> {
    let mut s = failures_of(tx, "SELECT COUNT(*) FROM ", tenant_id, key);
    s.sql(" AND at >= ").bind(Bind::Time(since));
    Ok(crate::sql::count_of(tx.int(s).await?))
}

pub(super) async fn clear_signin_failures<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    key: &str,
) -> StoreResult<()> {
    let s = failures_of(tx, "DELETE FROM ", tenant_id, key);
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn purge_sessions<E: Exec>(
    tx: &mut StoreTx<E>,
    now: OffsetDateTime,
    failures_before: OffsetDateTime,
) -> StoreResult<u64> {
    let mut s = tx.across(Across::RetentionPurge);
    s.sql("DELETE FROM ")
        .table(Tbl::Sessions, "")
        .sql(" WHERE expires <= ")
        .bind(Bind::Time(now));
    let a = tx.run(s).await?;
    let mut s = tx.across(Across::RetentionPurge);
    s.sql("DELETE FROM ")
        .table(Tbl::SigninFailures, "")
        .sql(" WHERE at < ")
        .bind(Bind::Time(failures_before));
    Ok(a + tx.run(s).await?)
}
