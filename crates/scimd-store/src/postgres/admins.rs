//! The store side of the administrative portal: administrators, sessions and failed
//! sign-ins (tables of `migrations/postgres/0002_portal.sql`). [`super::PgTx`]'s `Tx`
//! methods delegate here.

use super::{db_err, get, micros, PgTx};
use scim_proto::filter::fold;
use scimd_directory::store::{AdminRow, SessionRow, StoreResult};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

const ADMIN_COLS: &str = "id, tenant_id, username, password_hash, created, password_changed";
const SESSION_COLS: &str = "id_sha256, tenant_id, admin_id, csrf_token, created, expires";

pub(super) fn admin_of(row: &PgRow) -> StoreResult<AdminRow> {
    Ok(AdminRow {
        id: get(row, "id")?,
        tenant_id: get(row, "tenant_id")?,
        username: get(row, "username")?,
        password_hash: get(row, "password_hash")?,
        created: get(row, "created")?,
        password_changed: get(row, "password_changed")?,
    })
}

fn session_of(row: &PgRow) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        id_sha256: get(row, "id_sha256")?,
        tenant_id: get(row, "tenant_id")?,
        admin_id: get(row, "admin_id")?,
        csrf_token: get(row, "csrf_token")?,
        created: get(row, "created")?,
        expires: get(row, "expires")?,
    })
}

pub(super) async fn insert_admin(tx: &mut PgTx, a: &AdminRow) -> StoreResult<()> {
    tx.savepoint().await?;
    let r = sqlx::query(
        "INSERT INTO admins (id, tenant_id, username, username_folded, password_hash, created, password_changed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.id)
    .bind(&a.tenant_id)
    .bind(&a.username)
    .bind(fold(&a.username))
    .bind(&a.password_hash)
    .bind(micros(a.created))
    .bind(micros(a.password_changed))
    .execute(tx.conn())
    .await;
    tx.settle(r).await?;
    Ok(())
}

pub(super) async fn admin_by_username(
    tx: &mut PgTx,
    tenant_id: &str,
    username: &str,
) -> StoreResult<Option<AdminRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ADMIN_COLS} FROM admins WHERE tenant_id = $1 AND username_folded = $2"
    )))
    .bind(tenant_id)
    .bind(fold(username))
    .fetch_optional(tx.conn())
    .await
    .map_err(db_err)?;
    row.as_ref().map(admin_of).transpose()
}

pub(super) async fn get_admin(
    tx: &mut PgTx,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<AdminRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ADMIN_COLS} FROM admins WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(tx.conn())
    .await
    .map_err(db_err)?;
    row.as_ref().map(admin_of).transpose()
}

pub(super) async fn set_admin_password(
    tx: &mut PgTx,
    tenant_id: &str,
    id: &str,
    password_hash: &str,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE admins SET password_hash = $1, password_changed = $2 WHERE tenant_id = $3 AND id = $4",
    )
    .bind(password_hash)
    .bind(micros(at))
    .bind(tenant_id)
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn insert_session(tx: &mut PgTx, s: &SessionRow) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"
    )))
    .bind(&s.id_sha256)
    .bind(&s.tenant_id)
    .bind(&s.admin_id)
    .bind(&s.csrf_token)
    .bind(micros(s.created))
    .bind(micros(s.expires))
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn session_by_hash(
    tx: &mut PgTx,
    id_sha256: &[u8],
) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE id_sha256 = $1"
    )))
    .bind(id_sha256)
    .fetch_optional(tx.conn())
    .await
    .map_err(db_err)?;
    row.as_ref().map(session_of).transpose()
}

pub(super) async fn delete_session(tx: &mut PgTx, id_sha256: &[u8]) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
        .bind(id_sha256)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_admin_sessions(
    tx: &mut PgTx,
    tenant_id: &str,
    admin_id: &str,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND admin_id = $2")
        .bind(tenant_id)
        .bind(admin_id)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

pub(super) async fn insert_signin_failure(
    tx: &mut PgTx,
    tenant_id: &str,
    key: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO signin_failures (tenant_id, key, at) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(key)
        .bind(micros(at))
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(super) async fn count_signin_failures(
    tx: &mut PgTx,
    tenant_id: &str,
    key: &str,
    since: OffsetDateTime,
) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM signin_failures WHERE tenant_id = $1 AND key = $2 AND at >= $3",
    )
    .bind(tenant_id)
    .bind(key)
    .bind(micros(since))
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(n.max(0) as u64)
}

pub(super) async fn clear_signin_failures(
    tx: &mut PgTx,
    tenant_id: &str,
    key: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM signin_failures WHERE tenant_id = $1 AND key = $2")
        .bind(tenant_id)
        .bind(key)
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(super) async fn purge_sessions(
    tx: &mut PgTx,
    now: OffsetDateTime,
    failures_before: OffsetDateTime,
) -> StoreResult<u64> {
    let a = sqlx::query("DELETE FROM sessions WHERE expires <= $1")
        .bind(micros(now))
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    let b = sqlx::query("DELETE FROM signin_failures WHERE at < $1")
        .bind(micros(failures_before))
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(a.rows_affected() + b.rows_affected())
}
