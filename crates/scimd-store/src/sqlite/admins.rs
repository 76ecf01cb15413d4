//! The store side of the administrative portal: administrators, sessions and failed
//! sign-ins (tables of `migrations/sqlite/0003_portal.sql`). [`super::SqliteTx`]'s `Tx`
//! methods delegate here.

use super::{get, q, Row, SqliteTx};
use crate::timefmt;
use scim_proto::filter::fold;
use scimd_directory::store::{AdminRow, SessionRow, StoreResult};
use time::OffsetDateTime;

const ADMIN_COLS: &str = "id, tenant_id, username, password_hash, created, password_changed";
const SESSION_COLS: &str = "id_sha256, tenant_id, admin_id, csrf_token, created, expires";

pub(super) fn admin_of(row: &Row) -> StoreResult<AdminRow> {
    Ok(AdminRow {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        username: get(row, "username")?,
        password_hash: get(row, "password_hash")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
        password_changed: timefmt::parse(&get::<String>(row, "password_changed")?)?,
    })
}

fn session_of(row: &Row) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        id_sha256: get(row, "id_sha256")?,
        tenant_id: get(row, "tenant_id")?,
        admin_id: get(row, "admin_id")?,
        csrf_token: get(row, "csrf_token")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
        expires: timefmt::parse(&get::<String>(row, "expires")?)?,
    })
}

pub(super) fn insert_admin(tx: &mut SqliteTx, a: &AdminRow) -> StoreResult<()> {
    q(
        "INSERT INTO admins (id, tenant_id, username, username_folded, password_hash, created, password_changed) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(&a.tenant_id)
    .bind(&a.username)
    .bind(fold(&a.username))
    .bind(&a.password_hash)
    .bind(timefmt::format(a.created))
    .bind(timefmt::format(a.password_changed))
    .execute(tx.conn())?;
    Ok(())
}

pub(super) fn admin_by_username(
    tx: &mut SqliteTx,
    tenant_id: &str,
    username: &str,
) -> StoreResult<Option<AdminRow>> {
    let row = q(format!(
        "SELECT {ADMIN_COLS} FROM admins WHERE tenant_id = ? AND username_folded = ?"
    ))
    .bind(tenant_id)
    .bind(fold(username))
    .fetch_optional(tx.conn())?;
    row.as_ref().map(admin_of).transpose()
}

pub(super) fn get_admin(
    tx: &mut SqliteTx,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<AdminRow>> {
    let row = q(format!(
        "SELECT {ADMIN_COLS} FROM admins WHERE tenant_id = ? AND id = ?"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(tx.conn())?;
    row.as_ref().map(admin_of).transpose()
}

pub(super) fn set_admin_password(
    tx: &mut SqliteTx,
    tenant_id: &str,
    id: &str,
    password_hash: &str,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let done = q(
        "UPDATE admins SET password_hash = ?, password_changed = ? WHERE tenant_id = ? AND id = ?",
    )
    .bind(password_hash)
    .bind(timefmt::format(at))
    .bind(tenant_id)
    .bind(id)
    .execute(tx.conn())?;
    Ok(done > 0)
}

pub(super) fn insert_session(tx: &mut SqliteTx, s: &SessionRow) -> StoreResult<()> {
    q(format!(
        "INSERT INTO sessions ({SESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
    ))
    .bind(&s.id_sha256)
    .bind(&s.tenant_id)
    .bind(&s.admin_id)
    .bind(&s.csrf_token)
    .bind(timefmt::format(s.created))
    .bind(timefmt::format(s.expires))
    .execute(tx.conn())?;
    Ok(())
}

pub(super) fn session_by_hash(
    tx: &mut SqliteTx,
    id_sha256: &[u8],
) -> StoreResult<Option<SessionRow>> {
    let row = q(format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE id_sha256 = ?"
    ))
    .bind(id_sha256)
    .fetch_optional(tx.conn())?;
    row.as_ref().map(session_of).transpose()
}

pub(super) fn delete_session(tx: &mut SqliteTx, id_sha256: &[u8]) -> StoreResult<bool> {
    let done = q("DELETE FROM sessions WHERE id_sha256 = ?")
        .bind(id_sha256)
        .execute(tx.conn())?;
    Ok(done > 0)
}

pub(super) fn delete_admin_sessions(
    tx: &mut SqliteTx,
    tenant_id: &str,
    admin_id: &str,
) -> StoreResult<u64> {
    let done = q("DELETE FROM sessions WHERE tenant_id = ? AND admin_id = ?")
        .bind(tenant_id)
        .bind(admin_id)
        .execute(tx.conn())?;
    Ok(done)
}

pub(super) fn insert_signin_failure(
    tx: &mut SqliteTx,
    tenant_id: &str,
    key: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    q("INSERT INTO signin_failures (tenant_id, key, at) VALUES (?, ?, ?)")
        .bind(tenant_id)
        .bind(key)
        .bind(timefmt::format(at))
        .execute(tx.conn())?;
    Ok(())
}

pub(super) fn count_signin_failures(
    tx: &mut SqliteTx,
    tenant_id: &str,
    key: &str,
    since: OffsetDateTime,
) -> StoreResult<u64> {
    let n: i64 =
        q("SELECT COUNT(*) FROM signin_failures WHERE tenant_id = ? AND key = ? AND at >= ?")
            .bind(tenant_id)
            .bind(key)
            .bind(timefmt::format(since))
            .scalar(tx.conn())?;
    Ok(n.max(0) as u64)
}

pub(super) fn clear_signin_failures(
    tx: &mut SqliteTx,
    tenant_id: &str,
    key: &str,
) -> StoreResult<()> {
    q("DELETE FROM signin_failures WHERE tenant_id = ? AND key = ?")
        .bind(tenant_id)
        .bind(key)
        .execute(tx.conn())?;
    Ok(())
}

pub(super) fn purge_sessions(
    tx: &mut SqliteTx,
    now: OffsetDateTime,
    failures_before: OffsetDateTime,
) -> StoreResult<u64> {
    let a = q("DELETE FROM sessions WHERE expires <= ?")
        .bind(timefmt::format(now))
        .execute(tx.conn())?;
    let b = q("DELETE FROM signin_failures WHERE at < ?")
        .bind(timefmt::format(failures_before))
        .execute(tx.conn())?;
    Ok(a + b)
}
