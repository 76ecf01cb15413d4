//! Groups and memberships (one row per membership, never a JSON array).

use super::StoreTx;
use crate::exec::Exec;
use crate::filter::Kind;
use crate::rows::{group_of, kind_str, member_cols, member_of, GROUP_COLS};
use crate::sql::{Bind, Sql, Tbl, MAX_BINDS};
use scim_proto::filter::fold;
use scimd_directory::store::{
    GroupRecord, ListQuery, MemberKind, MemberRow, StoreError, StoreResult,
};

impl<E: Exec> StoreTx<E> {
    /// Deletes the memberships of `member_id` (a user or group) in the tenant's groups.
    pub(super) async fn delete_memberships_of(
        &mut self,
        tenant_id: &str,
        member_id: &str,
    ) -> StoreResult<u64> {
        let mut s = self.of(tenant_id);
        s.sql("DELETE FROM ")
            .table(Tbl::GroupMembers, "")
            .sql(" WHERE member_id = ")
            .bind(Bind::text(member_id))
            .sql(" AND ")
            .tenant("")
            .long();
        self.run(s).await
    }
}

/// The columns a group write sets, in the order of [`group_values`].
const GROUP_WRITE_COLS: [&str; 10] = [
    "display_name",
    "display_name_folded",
    "external_id",
    "source",
    "builtin",
    "version",
    "created",
    "last_modified",
    "doc",
    "doc_folded",
];

/// The values of [`GROUP_WRITE_COLS`] for `g`.
fn group_values(g: &GroupRecord) -> [Bind; 10] {
    [
        Bind::text(&g.display_name),
        Bind::Text(fold(&g.display_name)),
        Bind::opt_text(g.external_id.as_deref()),
        Bind::text(g.source.as_str()),
        Bind::Bool(g.builtin),
        Bind::Int(g.version),
        Bind::Time(g.created),
        Bind::Time(g.last_modified),
        Bind::Json(g.doc.to_string()),
        Bind::Jsonb(g.doc_folded.to_string()),
    ]
}

pub(super) async fn get_group<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<GroupRecord>> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(GROUP_COLS)
        .sql(" FROM ")
        .table(Tbl::Groups, "r")
        .sql(" WHERE r.id = ")
        .bind(Bind::text(id))
        .sql(" AND ")
        .tenant("r")
        .lock_rows();
    tx.row(s).await?.map(group_of).transpose()
}

pub(super) async fn group_by_display_name<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    name: &str,
) -> StoreResult<Option<GroupRecord>> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ")
        .sql(GROUP_COLS)
        .sql(" FROM ")
        .table(Tbl::Groups, "r")
        .sql(" WHERE ")
        .tenant("r")
        .sql(" AND r.display_name_folded = ")
        .bind(Bind::Text(fold(name)))
        .lock_rows();
    tx.row(s).await?.map(group_of).transpose()
}

pub(super) async fn insert_group<E: Exec>(tx: &mut StoreTx<E>, g: &GroupRecord) -> StoreResult<()> {
    let mut s = tx.of(&g.tenant_id);
    s.insert_into(
        Tbl::Groups,
        &format!("id, tenant_id, {}", GROUP_WRITE_COLS.join(", ")),
    )
    .sql("VALUES (")
    .bind(Bind::text(&g.id))
    .sql(", ")
    .tenant_value()
    .sql(", ")
    .binds(group_values(g))
    .sql(")")
    .may_conflict();
    tx.run(s).await?;
    Ok(())
}

pub(super) async fn update_group<E: Exec>(tx: &mut StoreTx<E>, g: &GroupRecord) -> StoreResult<()> {
    let mut s = tx.of(&g.tenant_id);
    s.sql("UPDATE ").table(Tbl::Groups, "").sql(" SET ");
    for (i, (col, v)) in GROUP_WRITE_COLS.iter().zip(group_values(g)).enumerate() {
        s.sql(if i == 0 { "" } else { ", " })
            .sql(col)
            .sql(" = ")
            .bind(v);
    }
    s.sql(" WHERE id = ")
        .bind(Bind::text(&g.id))
        .sql(" AND ")
        .tenant("")
        .may_conflict();
    if tx.run(s).await? == 0 {
        return Err(StoreError::Backend(format!(
            "update_group: no group {} in tenant {}",
            g.id, g.tenant_id
        )));
    }
    Ok(())
}

pub(super) async fn delete_group<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    id: &str,
) -> StoreResult<bool> {
    // Its own membership rows go by ON DELETE CASCADE; memberships of it in other groups here.
    let mut s = tx.of(tenant_id);
    s.sql("DELETE FROM ")
        .table(Tbl::Groups, "")
        .sql(" WHERE id = ")
        .bind(Bind::text(id))
        .sql(" AND ")
        .tenant("")
        .long();
    if tx.run(s).await? == 0 {
        return Ok(false);
    }
    tx.delete_memberships_of(tenant_id, id).await?;
    Ok(true)
}

pub(super) async fn list_groups<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    q: &ListQuery<'_>,
) -> StoreResult<(u64, Vec<GroupRecord>)> {
    let (total, rows) = tx.list(Kind::Groups, tenant_id, q).await?;
    Ok((
        total,
        rows.into_iter().map(group_of).collect::<StoreResult<_>>()?,
    ))
}

pub(super) async fn group_ids_existing<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    ids: &[String],
) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(Sql::list_room(tx.x.dialect(), 1)) {
        let mut s = tx.of(tenant_id);
        s.sql("SELECT id FROM ")
            .table(Tbl::Groups, "")
            .sql(" WHERE ")
            .tenant("")
            .sql(" AND ")
            .in_texts("id", chunk)
            .sql(" ORDER BY seq");
        for mut row in tx.rows(s).await? {
            out.push(row.text("id")?);
        }
    }
    Ok(out)
}

pub(super) async fn group_members<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    group_id: &str,
    offset: u64,
    limit: Option<u64>,
) -> StoreResult<Vec<MemberRow>> {
    // Page on the (group_id, seq) index first, then look up display names for that page only.
    let mut s = tx.of(tenant_id);
    s.sql("SELECT ");
    member_cols(&mut s);
    s.sql(" FROM (SELECT m.seq, m.tenant_id, m.group_id, m.member_id, m.member_kind FROM ")
        .table(Tbl::GroupMembers, "m")
        .sql(" WHERE ")
        .owned_by_key("m", Bind::text(group_id))
        .sql(" ORDER BY m.seq")
        .page(limit, offset)
        .sql(") gm ORDER BY gm.seq")
        .rows_of(Tbl::GroupMembers, "gm", "m")
        .long();
    tx.rows(s)
        .await?
        .into_iter()
        .map(|r| member_of(r).map(|(_, m)| m))
        .collect()
}

pub(super) async fn members_of_groups<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    group_ids: &[String],
) -> StoreResult<Vec<(String, MemberRow)>> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(Sql::list_room(tx.x.dialect(), 1)) {
        let mut s = tx.of(tenant_id);
        s.sql("SELECT ");
        member_cols(&mut s);
        s.sql(" FROM ")
            .table(Tbl::GroupMembers, "gm")
            .sql(" WHERE ")
            .tenant("gm")
            .sql(" AND ")
            .in_texts("gm.group_id", chunk)
            .sql(" ORDER BY gm.group_id, gm.seq")
            .long();
        for row in tx.rows(s).await? {
            out.push(member_of(row)?);
        }
    }
    Ok(out)
}

pub(super) async fn count_members<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    group_id: &str,
) -> StoreResult<u64> {
    let mut s = tx.of(tenant_id);
    s.sql("SELECT COUNT(*) FROM ")
        .table(Tbl::GroupMembers, "gm")
        .sql(" WHERE ")
        .owned_by_key("gm", Bind::text(group_id))
        .long();
    Ok(crate::sql::count_of(tx.int(s).await?))
}

pub(super) async fn add_members<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    group_id: &str,
    members: &[(String, MemberKind)],
) -> StoreResult<u64> {
    let mut added = 0;
    // Two binds per member plus two for the statement. Rows another transaction inserted
    // concurrently are skipped, not errors; rows go in in the order given.
    for chunk in members.chunks((MAX_BINDS - 2) / 2) {
        let mut s = tx.of(tenant_id);
        s.insert_into(
            Tbl::GroupMembers,
            "tenant_id, group_id, member_id, member_kind",
        )
        .sql("SELECT ")
        .tenant_value()
        .sql(", ")
        .bind(Bind::text(group_id))
        .sql(", v.column1, v.column2 FROM (VALUES ");
        for (i, (id, kind)) in chunk.iter().enumerate() {
            s.sql(if i == 0 { "(" } else { ", (" })
                .bind(Bind::text(id))
                .sql(", ")
                .bind(Bind::text(kind_str(*kind)))
                .sql(")");
        }
        // `WHERE true` keeps SQLite's parser from reading ON CONFLICT as a join constraint.
        s.sql(") v WHERE true ON CONFLICT (group_id, member_id) DO NOTHING");
        added += tx.run(s).await?;
    }
    Ok(added)
}

pub(super) async fn remove_members<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    group_id: &str,
    ids: &[String],
) -> StoreResult<u64> {
    let mut removed = 0;
    for chunk in ids.chunks(Sql::list_room(tx.x.dialect(), 2)) {
        let mut s = tx.of(tenant_id);
        s.sql("DELETE FROM ")
            .table(Tbl::GroupMembers, "")
            .sql(" WHERE group_id = ")
            .bind(Bind::text(group_id))
            .sql(" AND ")
            .tenant("")
            .sql(" AND ")
            .in_texts("member_id", chunk);
        removed += tx.run(s).await?;
    }
    Ok(removed)
}

pub(super) async fn clear_members<E: Exec>(
    tx: &mut StoreTx<E>,
    tenant_id: &str,
    group_id: &str,
) -> StoreResult<u64> {
    let mut s = tx.of(tenant_id);
    s.sql("DELETE FROM ")
        .table(Tbl::GroupMembers, "")
        .sql(" WHERE group_id = ")
        .bind(Bind::text(group_id))
        .sql(" AND ")
        .tenant("")
        .long();
    tx.run(s).await
}
