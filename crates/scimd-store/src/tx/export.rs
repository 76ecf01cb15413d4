//! Bulk export for `scimd copy`: keyset pages by `seq` (every copied table has one, its
//! primary key), every tenant's rows; and the row count of every table.

use super::run::StoreTx;
use crate::exec::Exec;
use crate::rows::{group_of, record_of, Stored, GROUP_COLS, RECORD_COLS, USER_COLS};
use crate::sql::{Across, Bind, Scope, Tbl};
use scimd_directory::store::{
    AdminRow, AttributeRow, ClientRow, ExportRow, Exported, IssuerRow, MembershipRow, StoreResult,
    Table, TenantRow, TokenRow,
};

/// A page of `table`'s rows after `seq` `after`: every tenant's, or only those of `tenant`
/// (for `tenants`, its own row).
pub(super) async fn export_rows<E: Exec>(
    tx: &mut StoreTx<E>,
    (table, tenant): (Table, Option<&str>),
    after: i64,
    limit: u64,
) -> StoreResult<Vec<Exported>> {
    let cols = match table {
        Table::Tenants => TenantRow::COLS,
        Table::Tokens => TokenRow::COLS,
        Table::Issuers => IssuerRow::COLS,
        Table::OauthClients => ClientRow::COLS,
        Table::Attributes => AttributeRow::COLS,
        Table::Admins => AdminRow::COLS,
        Table::Users => USER_COLS,
        Table::Groups => GROUP_COLS,
        Table::GroupMembers => MembershipRow::COLS,
        Table::Changes => RECORD_COLS,
        Table::UserEmails => return Ok(Vec::new()),
    };
    let cols = format!("r.seq AS export_seq, {cols}");
    let from = (Tbl::of(table), "r");
    let mut s = match (tenant, table) {
        (None, _) => tx.q().select(Across::Export, &cols, from, []),
        (Some(t), Table::Tenants) => {
            tx.q()
                .select(Scope::Tenants, &cols, from, [("id", Bind::text(t))])
        }
        (Some(t), _) => tx.q().select(t, &cols, from, []),
    };
    s.sql(if tenant.is_some() { " AND" } else { " WHERE" })
        .sql(" r.seq > ")
        .bind(Bind::Int(after))
        .sql(" ORDER BY r.seq");
    s.page(Some(limit), 0).long();
    let mut rows = tx.rows(s).await?;
    if table == Table::Users {
        let users = tx
            .users_with_seq(Scope::Across(Across::Export), rows)
            .await?;
        return Ok(users
            .into_iter()
            .map(|(seq, u)| Exported {
                seq,
                row: ExportRow::User(u),
            })
            .collect());
    }
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows.drain(..) {
        let seq = row.int("export_seq")?;
        let r = match table {
            Table::Tenants => ExportRow::Tenant(TenantRow::read(row)?),
            Table::Tokens => ExportRow::Token(TokenRow::read(row)?),
            Table::Issuers => ExportRow::Issuer(IssuerRow::read(row)?),
            Table::OauthClients => ExportRow::Client(ClientRow::read(row)?),
            Table::Attributes => ExportRow::Attribute(AttributeRow::read(row)?),
            Table::Admins => ExportRow::Admin(AdminRow::read(row)?),
            Table::Groups => ExportRow::Group(group_of(row)?),
            Table::GroupMembers => ExportRow::Member(MembershipRow::read(row)?),
            _ => ExportRow::Record(record_of(row)?),
        };
        out.push(Exported { seq, row: r });
    }
    Ok(out)
}

/// The row count of every table: all tenants', or only `tenant`'s.
pub(super) async fn table_counts<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant: Option<&str>,
) -> StoreResult<Vec<(Table, u64)>> {
    let mut out = Vec::new();
    for t in Table::ALL {
        let from = (Tbl::of(t), "");
        let mut s = match (tenant, t) {
            (None, _) => tx.q().select(Across::TableCounts, "COUNT(*)", from, []),
            (Some(id), Table::Tenants) => {
                tx.q()
                    .select(Scope::Tenants, "COUNT(*)", from, [("id", Bind::text(id))])
            }
            (Some(id), _) => tx.q().select(id, "COUNT(*)", from, []),
        };
        out.push((t, tx.count(s.long()).await?));
    }
    Ok(out)
}
