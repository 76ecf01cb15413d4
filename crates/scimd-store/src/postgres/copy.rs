//! Bulk export for `scimd copy` (PostgreSQL side): keyset pages by `seq`; row counts.

use super::rules::log_of;
use super::{db_err, get, group_of, tenant_of, token_of, PgTx};
use crate::common::{clamp, count_of, kind_of, GROUP_COLS, LOG_COLS, USER_COLS};
use scimd_directory::store::{
    AttributeRow, ExportRow, Exported, MembershipRow, StoreResult, Table,
};
use sqlx::AssertSqlSafe;

pub(super) async fn export_rows(
    tx: &mut PgTx,
    table: Table,
    after: i64,
    limit: u64,
) -> StoreResult<Vec<Exported>> {
    let cols = match table {
        Table::Tenants => "seq, id, name, settings, created",
        Table::Tokens => {
            "seq, id, tenant_id, name, scope, secret_sha256, created, last_used, revoked"
        }
        Table::Attributes => "seq, tenant_id, name, type, created",
        Table::Admins => "seq, id, tenant_id, username, password_hash, created, password_changed",
        Table::Users => USER_COLS,
        Table::Groups => GROUP_COLS,
        Table::GroupMembers => "seq, tenant_id, group_id, member_id, member_kind",
        Table::ProvisioningLog => LOG_COLS,
        Table::UserEmails => return Ok(Vec::new()),
    };
    let sql = format!(
        "SELECT {cols} FROM {} r WHERE r.seq > $1 ORDER BY r.seq LIMIT $2",
        table.name()
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(after)
        .bind(clamp(limit))
        .fetch_all(tx.conn())
        .await
        .map_err(db_err)?;
    if table == Table::Users {
        return Ok(tx
            .users_with_seq(rows)
            .await?
            .into_iter()
            .map(|(seq, u)| Exported {
                seq,
                row: ExportRow::User(u),
            })
            .collect());
    }
    rows.iter()
        .map(|row| {
            let r = match table {
                Table::Tenants => ExportRow::Tenant(tenant_of(row)?),
                Table::Tokens => ExportRow::Token(token_of(row)?),
                Table::Attributes => ExportRow::Attribute(AttributeRow {
                    tenant_id: get(row, "tenant_id")?,
                    name: get(row, "name")?,
                    ty: get(row, "type")?,
                    created: get(row, "created")?,
                }),
                Table::Admins => ExportRow::Admin(super::admins::admin_of(row)?),
                Table::Groups => ExportRow::Group(group_of(row)?),
                Table::GroupMembers => ExportRow::Member(MembershipRow {
                    tenant_id: get(row, "tenant_id")?,
                    group_id: get(row, "group_id")?,
                    member_id: get(row, "member_id")?,
                    kind: kind_of(get(row, "member_kind")?),
                }),
                _ => ExportRow::Log(log_of(row)?),
            };
            Ok(Exported {
                seq: get(row, "seq")?,
                row: r,
            })
        })
        .collect()
}

pub(super) async fn table_counts(tx: &mut PgTx) -> StoreResult<Vec<(Table, u64)>> {
    let mut out = Vec::new();
    for t in Table::ALL {
        let n: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", t.name())))
                .fetch_one(tx.conn())
                .await
                .map_err(db_err)?;
        out.push((t, count_of(n)));
    }
    Ok(out)
}
