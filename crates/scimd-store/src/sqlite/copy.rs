//! Bulk export and import for `scimd copy` (SQLite side): keyset pages by `seq` (the rowid
//! for tables without one), rows inserted with their `seq` / rowid kept (AUTOINCREMENT
//! counters follow explicit values by themselves).

use super::{db_err, get, group_of, tenant_of, token_of, user_of, SqliteTx};
use crate::common::{
    clamp, count_of, kind_of, kind_str, log_search_text, GROUP_COLS, LOG_COLS, USER_COLS,
};
use crate::timefmt;
use scim_proto::filter::fold;
use scimd_directory::store::{
    AttributeRow, ExportRow, Exported, MembershipRow, StoreResult, Table,
};
use sqlx::AssertSqlSafe;

pub(super) async fn export_rows(
    tx: &mut SqliteTx,
    table: Table,
    after: i64,
    limit: u64,
) -> StoreResult<Vec<Exported>> {
    let (seq, cols) = match table {
        Table::Tenants => ("rowid", "id, name, settings, created"),
        Table::Tokens => (
            "rowid",
            "id, tenant_id, name, scope, secret_sha256, created, last_used, revoked",
        ),
        Table::Attributes => ("seq", "tenant_id, name, type, created"),
        Table::Admins => (
            "rowid",
            "id, tenant_id, username, password_hash, created, password_changed",
        ),
        Table::Users => ("seq", USER_COLS),
        Table::Groups => ("seq", GROUP_COLS),
        Table::GroupMembers => ("seq", "tenant_id, group_id, member_id, member_kind"),
        Table::ProvisioningLog => ("seq", LOG_COLS),
        Table::UserEmails => return Ok(Vec::new()),
    };
    let sql = format!(
        "SELECT r.{seq} AS export_seq, {cols} FROM {} r WHERE r.{seq} > ? ORDER BY r.{seq} LIMIT ?",
        table.name()
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(after)
        .bind(clamp(limit))
        .fetch_all(tx.conn())
        .await
        .map_err(db_err)?;
    if table == Table::Users {
        let users = rows.iter().map(user_of).collect::<StoreResult<Vec<_>>>()?;
        let seqs: Vec<i64> = users.iter().map(|(s, _)| *s).collect();
        let mut emails = tx.emails_of(&seqs).await?;
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

pub(super) async fn import_rows(tx: &mut SqliteTx, rows: &[Exported]) -> StoreResult<()> {
    for e in rows {
        let seq = e.seq;
        let q = match &e.row {
            ExportRow::Tenant(t) => sqlx::query(
                "INSERT INTO tenants (rowid, id, name, settings, created) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&t.id)
            .bind(&t.name)
            .bind(t.settings.to_string())
            .bind(timefmt::format(t.created)),
            ExportRow::Token(t) => sqlx::query(
                "INSERT INTO tokens (rowid, id, tenant_id, name, scope, secret_sha256, created, last_used, revoked) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&t.id)
            .bind(&t.tenant_id)
            .bind(&t.name)
            .bind(t.scope.as_str())
            .bind(&t.secret_sha256)
            .bind(timefmt::format(t.created))
            .bind(timefmt::format_opt(t.last_used))
            .bind(timefmt::format_opt(t.revoked)),
            ExportRow::Attribute(a) => sqlx::query(
                "INSERT INTO attributes (seq, tenant_id, name, name_folded, type, created) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&a.tenant_id)
            .bind(&a.name)
            .bind(fold(&a.name))
            .bind(&a.ty)
            .bind(timefmt::format(a.created)),
            ExportRow::Admin(a) => sqlx::query(
                "INSERT INTO admins (rowid, id, tenant_id, username, username_folded, password_hash, created, \
                 password_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&a.id)
            .bind(&a.tenant_id)
            .bind(&a.username)
            .bind(fold(&a.username))
            .bind(&a.password_hash)
            .bind(timefmt::format(a.created))
            .bind(timefmt::format(a.password_changed)),
            ExportRow::User(u) => sqlx::query(
                "INSERT INTO users (seq, id, tenant_id, user_name, user_name_folded, external_id, display_name, \
                 state, source, version, created, last_modified, doc, doc_folded) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&u.id)
            .bind(&u.tenant_id)
            .bind(&u.user_name)
            .bind(fold(&u.user_name))
            .bind(&u.external_id)
            .bind(&u.display_name)
            .bind(u.state.as_str())
            .bind(u.source.as_str())
            .bind(u.version)
            .bind(timefmt::format(u.created))
            .bind(timefmt::format(u.last_modified))
            .bind(u.doc.to_string())
            .bind(u.doc_folded.to_string()),
            ExportRow::Group(g) => sqlx::query(
                "INSERT INTO groups (seq, id, tenant_id, display_name, display_name_folded, external_id, source, \
                 builtin, version, created, last_modified, doc, doc_folded) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&g.id)
            .bind(&g.tenant_id)
            .bind(&g.display_name)
            .bind(fold(&g.display_name))
            .bind(&g.external_id)
            .bind(g.source.as_str())
            .bind(i64::from(g.builtin))
            .bind(g.version)
            .bind(timefmt::format(g.created))
            .bind(timefmt::format(g.last_modified))
            .bind(g.doc.to_string())
            .bind(g.doc_folded.to_string()),
            ExportRow::Member(m) => sqlx::query(
                "INSERT INTO group_members (seq, tenant_id, group_id, member_id, member_kind) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&m.tenant_id)
            .bind(&m.group_id)
            .bind(&m.member_id)
            .bind(kind_str(m.kind)),
            ExportRow::Log(l) => sqlx::query(
                "INSERT INTO provisioning_log (seq, tenant_id, at, token_name, method, path, resource_type, \
                 resource_id, resource_name, outcome, status, detail, changed, warnings, search_folded) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(seq)
            .bind(&l.tenant_id)
            .bind(timefmt::format(l.at))
            .bind(&l.token_name)
            .bind(&l.method)
            .bind(&l.path)
            .bind(&l.resource_type)
            .bind(&l.resource_id)
            .bind(&l.resource_name)
            .bind(&l.outcome)
            .bind(i64::from(l.status))
            .bind(&l.detail)
            .bind(serde_json::Value::from(l.changed.clone()).to_string())
            .bind(serde_json::Value::from(l.warnings.clone()).to_string())
            .bind(log_search_text(l)),
        };
        q.execute(tx.conn()).await.map_err(db_err)?;
        if let ExportRow::User(u) = &e.row {
            tx.insert_emails(&u.tenant_id, seq, &u.emails).await?;
        }
    }
    Ok(())
}

pub(super) async fn table_counts(tx: &mut SqliteTx) -> StoreResult<Vec<(Table, u64)>> {
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
