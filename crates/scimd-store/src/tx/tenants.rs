//! Tenants, tokens and custom attribute definitions.

use super::StoreTx;
use crate::exec::Exec;
use crate::rows::{attribute_of, tenant_of, token_of, ATTRIBUTE_COLS, TENANT_COLS, TOKEN_COLS};
use crate::sql::{Across, Bind, Tbl};
use scim_proto::filter::fold;
use scimd_directory::store::{AttributeRow, StoreResult, TenantRow, TokenRow};
use serde_json::Value;
use time::OffsetDateTime;

pub(super) async fn list_tenants<E: Exec>(tx: &mut StoreTx<E>) -> StoreResult<Vec<TenantRow>> {
    if tx.x.writes() {
        // A writer that lists tenants may be about to create the first one (first start).
        tx.x.serialise_bootstrap().await?;
    }
    let mut s = tx.tenants();
    s.sql("SELECT ")
        .sql(TENANT_COLS)
        .sql(" FROM ")
        .table(Tbl::Tenants, "")
        .sql(" ORDER BY created, seq");
    tx.rows(s).await?.into_iter().map(tenant_of).collect()
}

pub(super) async fn insert_tenant<E: Exec>(tx: &mut StoreTx<E>, t: &TenantRow) -> StoreResult<()> {
    let mut s = tx.tenants();
    s.insert_into(Tbl::Tenants, TENANT_COLS)
        .sql("VALUES (")
        .binds([
            Bind::text(&t.id),
            Bind::text(&t.name),
            Bind::Json(t.settings.to_string()),
            Bind::Time(t.created),
        ])
        .sql(")")
        .may_conflict();
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn get_tenant<E: Exec>(
    tx: &mut StoreTx<E>,
    id: &str,
) -> StoreResult<Option<TenantRow>> {
    let mut s = tx.tenants();
    s.sql("SELECT ")
        .sql(TENANT_COLS)
        .sql(" FROM ")
        .table(Tbl::Tenants, "")
        .sql(" WHERE id = ")
        .bind(Bind::text(id));
    tx.row(s).await?.map(tenant_of).transpose()
}

pub(super) async fn update_tenant_settings<E: Exec>(
    tx: &mut StoreTx<E>,
    id: &str,
    settings: &Value,
) -> StoreResult<()> {
    let mut s = tx.tenants();
    s.sql("UPDATE ")
        .table(Tbl::Tenants, "")
        .sql(" SET settings = ")
        .bind(Bind::Json(settings.to_string()))
        .sql(" WHERE id = ")
        .bind(Bind::text(id));
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn insert_token<E: Exec>(tx: &mut StoreTx<E>, t: &TokenRow) -> StoreResult<()> {
    let mut s = tx.of(&t.tenant_id);
    s.insert_into(Tbl::Tokens, TOKEN_COLS)
        .sql("VALUES (")
        .bind(Bind::text(&t.id))
        .sql(", ")
        .tenant_value()
        .sql(", ")
        .binds([
            Bind::text(&t.name),
            Bind::text(t.scope.as_str()),
            Bind::Blob(t.secret_sha256.clone()),
            Bind::Time(t.created),
            Bind::opt_time(t.last_used),
            Bind::opt_time(t.revoked),
        ])
        .sql(")")
        .may_conflict();
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn token_by_hash<E: Exec>(
    tx: &mut StoreTx<E>,
    sha256: &[u8],
) -> StoreResult<Option<TokenRow>> {
    let mut s = tx.across(Across::TokenBySecret);
    s.sql("SELECT ")
        .sql(TOKEN_COLS)
        .sql(" FROM ")
        .table(Tbl::Tokens, "")
        .sql(" WHERE secret_sha256 = ")
        .bind(Bind::Blob(sha256.to_vec()));
    tx.row(s).await?.map(token_of).transpose()
}

pub(super) async fn list_tokens<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
) -> StoreResult<Vec<TokenRow>> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(TOKEN_COLS)
        .sql(" FROM ")
        .table(Tbl::Tokens, "")
        .sql(" WHERE ")
        .tenant("")
        .sql(" ORDER BY created, seq");
    tx.rows(s).await?.into_iter().map(token_of).collect()
}

pub(super) async fn revoke_token<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    name: &str,
    at: OffsetDateTime,
) -> StoreResult<bool> {
    let mut s = tx.of(tenant_id);
    s.sql("UPDATE ")
        .table(Tbl::Tokens, "")
        .sql(" SET revoked = ")
        .bind(Bind::Time(at))
        .sql(" WHERE ")
        .tenant("")
        .sql(" AND name = ")
        .bind(Bind::text(name))
        .sql(" AND revoked IS NULL");
    Ok(tx.run(s).await? > 0)
}

pub(super) async fn touch_token<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let mut s = tx.of(tenant_id);
    s.sql("UPDATE ")
        .table(Tbl::Tokens, "")
        .sql(" SET last_used = ")
        .bind(Bind::Time(at))
        .sql(" WHERE id = ")
        .bind(Bind::text(id))
        .sql(" AND ")
        .tenant("");
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn list_attributes<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
) -> StoreResult<Vec<AttributeRow>> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(ATTRIBUTE_COLS)
        .sql(" FROM ")
        .table(Tbl::Attributes, "")
        .sql(" WHERE ")
        .tenant("")
        .sql(" ORDER BY seq");
    tx.rows(s).await?.into_iter().map(attribute_of).collect()
}

pub(super) async fn insert_attribute<E: Exec>(
    tx: &mut StoreTx<E>,
    a: &AttributeRow,
) -> StoreResult<()> {
    let mut s = tx.of(&a.tenant_id);
    s.insert_into(
        Tbl::Attributes,
        "tenant_id, name, name_folded, type, created",
    )
    .sql("VALUES (")
    .tenant_value()
    .sql(", ")
    .binds([
        Bind::text(&a.name),
        Bind::Text(fold(&a.name)),
        Bind::text(&a.ty),
        Bind::Time(a.created),
    ])
    .sql(")")
    .may_conflict();
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn delete_attribute<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    name: &str,
) -> StoreResult<bool> {
    let mut s = tx.of(tenant_id);
    s.sql("DELETE FROM ")
        .table(Tbl::Attributes, "")
        .sql(" WHERE ")
        .tenant("")
        .sql(" AND name_folded = ")
        .bind(Bind::Text(fold(name)));
    Ok(tx.run(s).await? > 0)
}
