//! Bulk export for `scimd copy` (SQLite side): keyset pages by `seq` (every exported table has one)
//! without one); row counts.

use super::{get, group_of, q, tenant_of, token_of, user_of, SqliteTx};
use crate::common::{clamp, count_of, kind_of, GROUP_COLS, LOG_COLS, USER_COLS};
use crate::timefmt;
use scimd_directory::store::{
    AttributeRow, ExportRow, Exported, MembershipRow, StoreResult, Table,
};

pub(super) fn export_rows(
    tx: &mut SqliteTx,
    table: Table,
    after: i64,
    limit: u64,
) -> StoreResult<Vec<Exported>> {
    let (seq, cols) = match table {
        Table::Tenants => ("seq", "id, name, settings, created"),
        Table::Tokens => (
            "seq",
            "id, tenant_id, name, scope, secret_sha256, created, last_used, revoked",
        ),
        Table::Attributes => ("seq", "tenant_id, name, type, created"),
        Table::Admins => (
            "seq",
            "id, tenant_id, username, password_hash, created, password_changed",
        ),
        Table::Users => ("seq", USER_COLS),
        Table::Groups => ("seq", GROUP_COLS),
        Table::GroupMembers => ("seq", "tenant_id, group_id, member_id, member_kind"),
        Table::ProvisioningLog => ("seq", LOG_COLS),
        Table::UserEmails => return Ok(Vec::new()),
    };
    let sql = format!(
        "SELECT r.{seq} AS export_seq, {cols} FROM {} r WHERE r.{seq} > ? ORDER BY r.{seq} LIMIT {}",
        table.name(),
        clamp(limit)
    );
    let rows = q(sql).bind(after).fetch_all(tx.conn())?;
    if table == Table::Users {
        let users = rows.iter().map(user_of).collect::<StoreResult<Vec<_>>>()?;
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let mut emails = tx.emails_of(&seqs)?;
        return Ok(users
            .into_iter()
            .map(|(seq, mut u)| {
                u.emails = emails.remove(&seq).unwrap_or_default();
                Exported {
                    seq,
                    row: ExportRow::User(u),
                }
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
                    created: timefmt::parse(&get::<String>(row, "created")?)?,
                }),
                Table::Admins => ExportRow::Admin(super::admins::admin_of(row)?),
                Table::Groups => ExportRow::Group(group_of(row)?),
                Table::GroupMembers => ExportRow::Member(MembershipRow {
                    tenant_id: get(row, "tenant_id")?,
                    group_id: get(row, "group_id")?,
                    member_id: get(row, "member_id")?,
                    kind: kind_of(&get::<String>(row, "member_kind")?),
                }),
                _ => ExportRow::Log(super::rules::log_of(row)?),
            };
            Ok(Exported {
                seq: get(row, "export_seq")?,
                row: r,
            })
        })
        .collect()
}

pub(super) fn table_counts(tx: &mut SqliteTx) -> StoreResult<Vec<(Table, u64)>> {
    let mut out = Vec::new();
    for t in Table::ALL {
        let n: i64 = q(format!("SELECT COUNT(*) FROM {}", t.name())).scalar(tx.conn())?;
        out.push((t, count_of(n)));
    }
    Ok(out)
}
