//! Bulk export and import for `scimd copy` (PostgreSQL side): keyset pages by `seq`, rows
//! inserted with their `seq` kept, identity sequences moved past the copied rows.

use super::rules::log_of;
use super::{db_err, get, group_of, micros, tenant_of, token_of, PgTx};
use crate::common::{
    clamp, count_of, kind_of, kind_str, log_search_text, GROUP_COLS, LOG_COLS, USER_COLS,
};
use scim_proto::filter::fold;
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

/// Inserts one exported row with its `seq`.
async fn import_one(tx: &mut PgTx, e: &Exported) -> StoreResult<()> {
    let seq = e.seq;
    let q = match &e.row {
        ExportRow::Tenant(t) => sqlx::query(
            "INSERT INTO tenants (seq, id, name, settings, created) VALUES ($1, $2, $3, $4::json, $5)",
        )
        .bind(seq)
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.settings.to_string())
        .bind(micros(t.created)),
        ExportRow::Token(t) => sqlx::query(
            "INSERT INTO tokens (seq, id, tenant_id, name, scope, secret_sha256, created, last_used, revoked) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(&t.id)
        .bind(&t.tenant_id)
        .bind(&t.name)
        .bind(t.scope.as_str())
        .bind(&t.secret_sha256)
        .bind(micros(t.created))
        .bind(t.last_used.map(micros))
        .bind(t.revoked.map(micros)),
        ExportRow::Attribute(a) => sqlx::query(
            "INSERT INTO attributes (seq, tenant_id, name, name_folded, type, created) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(seq)
        .bind(&a.tenant_id)
        .bind(&a.name)
        .bind(fold(&a.name))
        .bind(&a.ty)
        .bind(micros(a.created)),
        ExportRow::Admin(a) => sqlx::query(
            "INSERT INTO admins (seq, id, tenant_id, username, username_folded, password_hash, created, \
             password_changed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(&a.id)
        .bind(&a.tenant_id)
        .bind(&a.username)
        .bind(fold(&a.username))
        .bind(&a.password_hash)
        .bind(micros(a.created))
        .bind(micros(a.password_changed)),
        ExportRow::User(u) => sqlx::query(
            "INSERT INTO users (seq, id, tenant_id, user_name, user_name_folded, external_id, display_name, state, \
             source, version, created, last_modified, doc, doc_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::json, $14::jsonb)",
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
        .bind(micros(u.created))
        .bind(micros(u.last_modified))
        .bind(u.doc.to_string())
        .bind(u.doc_folded.to_string()),
        ExportRow::Group(g) => sqlx::query(
            "INSERT INTO groups (seq, id, tenant_id, display_name, display_name_folded, external_id, source, builtin, \
             version, created, last_modified, doc, doc_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13::jsonb)",
        )
        .bind(seq)
        .bind(&g.id)
        .bind(&g.tenant_id)
        .bind(&g.display_name)
        .bind(fold(&g.display_name))
        .bind(&g.external_id)
        .bind(g.source.as_str())
        .bind(g.builtin)
        .bind(g.version)
        .bind(micros(g.created))
        .bind(micros(g.last_modified))
        .bind(g.doc.to_string())
        .bind(g.doc_folded.to_string()),
        ExportRow::Member(m) => sqlx::query(
            "INSERT INTO group_members (seq, tenant_id, group_id, member_id, member_kind) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(seq)
        .bind(&m.tenant_id)
        .bind(&m.group_id)
        .bind(&m.member_id)
        .bind(kind_str(m.kind)),
        ExportRow::Log(l) => sqlx::query(
            "INSERT INTO provisioning_log (seq, tenant_id, at, token_name, method, path, resource_type, resource_id, \
             resource_name, outcome, status, detail, changed, warnings, search_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(seq)
        .bind(&l.tenant_id)
        .bind(micros(l.at))
        .bind(&l.token_name)
        .bind(&l.method)
        .bind(&l.path)
        .bind(&l.resource_type)
        .bind(&l.resource_id)
        .bind(&l.resource_name)
        .bind(&l.outcome)
        .bind(i32::from(l.status))
        .bind(&l.detail)
        .bind(&l.changed)
        .bind(&l.warnings)
        .bind(log_search_text(l)),
    };
    // No savepoint: a failed import fails the whole copy (its transaction rolls back).
    q.execute(tx.conn()).await.map_err(db_err)?;
    if let ExportRow::User(u) = &e.row {
        tx.insert_emails(&u.tenant_id, seq, &u.emails).await?;
    }
    Ok(())
}

pub(super) async fn import_rows(tx: &mut PgTx, rows: &[Exported]) -> StoreResult<()> {
    let mut touched: Vec<&'static str> = Vec::new();
    for e in rows {
        import_one(tx, e).await?;
        let t = match &e.row {
            ExportRow::Tenant(_) => "tenants",
            ExportRow::Token(_) => "tokens",
            ExportRow::Attribute(_) => "attributes",
            ExportRow::Admin(_) => "admins",
            ExportRow::User(_) => "users",
            ExportRow::Group(_) => "groups",
            ExportRow::Member(_) => "group_members",
            ExportRow::Log(_) => "provisioning_log",
        };
        if !touched.contains(&t) {
            touched.push(t);
        }
    }
    // Explicit `seq`s do not advance the identity sequences: move them past the rows.
    for t in touched {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{t}', 'seq'), m) FROM (SELECT max(seq) AS m FROM {t}) x WHERE m IS NOT NULL"
        )))
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    }
    Ok(())
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
