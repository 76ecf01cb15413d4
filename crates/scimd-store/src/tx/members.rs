//! Membership rows (one per membership, never a JSON array): pages of a group's members,
//! members of many groups, adds and removals in batches, and the lifecycle rule's "users
//! in no other group".

use super::run::StoreTx;
use crate::exec::Exec;
use crate::rows::{kind_str, member_cols, member_of};
use crate::sql::{Bind, Row, Sql, Tbl, MAX_BINDS};
use scimd_directory::store::{MemberKind, MemberRow, StoreResult};
use std::collections::HashMap;

/// Memberships changed: `(member id, kind)`.
type Changed = StoreResult<Vec<(String, MemberKind)>>;

/// The `(member_id, member_kind)` of rows a statement returned.
fn changed_of(rows: Vec<Row>) -> Changed {
    rows.into_iter()
        .map(|mut r| Ok((r.text("member_id")?, r.get("member_kind")?)))
        .collect()
}

impl<E: Exec> StoreTx<E> {
    /// Deletes the memberships of `member_id` (a user or group) in the tenant's groups.
    pub(super) async fn delete_memberships_of(
        &mut self,
        t: &str,
        member: &str,
    ) -> StoreResult<u64> {
        let key = [("member_id", Bind::text(member))];
        let mut s = self.q().delete(t, Tbl::GroupMembers, key);
        self.run(s.long()).await
    }

    /// A page of the members of group `g`, in insertion order (`limit` None: all).
    pub(super) async fn member_page(
        &mut self,
        t: &str,
        g: &str,
        (offset, limit): (u64, Option<u64>),
    ) -> StoreResult<Vec<MemberRow>> {
        // Page on the (group_id, seq) index first, then look up display names for that
        // page only.
        let mut s = self.of(t);
        s.sql("SELECT ");
        member_cols(&mut s);
        s.sql(" FROM (SELECT m.seq, m.tenant_id, m.group_id, m.member_id, m.member_kind FROM ");
        s.table(Tbl::GroupMembers, "m").sql(" WHERE ");
        s.owned_by_key("m", Bind::text(g)).sql(" ORDER BY m.seq");
        s.page(limit, offset).sql(") gm ORDER BY gm.seq");
        s.rows_of(Tbl::GroupMembers, "gm", "m").long();
        let rows = self.rows(s).await?;
        rows.into_iter().map(|r| Ok(member_of(r)?.1)).collect()
    }

    /// `(group id, member)` of every member of the groups `gs`.
    pub(super) async fn members_of(&mut self, t: &str, gs: &[String]) -> Members {
        let q = self.q();
        let build = |chunk: &[String]| {
            let mut s = q.of(t);
            s.sql("SELECT ");
            member_cols(&mut s);
            s.sql(" FROM ")
                .table(Tbl::GroupMembers, "gm")
                .sql(" WHERE ");
            s.tenant("gm").sql(" AND ").in_texts("gm.group_id", chunk);
            s.sql(" ORDER BY gm.group_id, gm.seq").long();
            s
        };
        let rows = self.batched(gs, 1, build).await?;
        rows.into_iter().map(member_of).collect()
    }

    /// How many members group `g` has (from the index alone).
    pub(super) async fn member_count(&mut self, t: &str, g: &str) -> StoreResult<u64> {
        let mut s = self.of(t);
        s.sql("SELECT COUNT(*) FROM ")
            .table(Tbl::GroupMembers, "gm");
        s.sql(" WHERE ").owned_by_key("gm", Bind::text(g)).long();
        self.count(s).await
    }

    /// Adds memberships to group `g` in the order given; ones that exist (or that another
    /// transaction adds meanwhile) are skipped, not errors. Returns those added, in the
    /// order given.
    pub(super) async fn add_to(&mut self, t: &str, g: &str, m: &[(String, MemberKind)]) -> Changed {
        let mut added = Vec::new();
        // Two binds per member plus two for the statement.
        for chunk in m.chunks((MAX_BINDS - 2) / 2) {
            let mut s = self.of(t);
            s.insert_into(
                Tbl::GroupMembers,
                "tenant_id, group_id, member_id, member_kind",
            );
            s.sql("SELECT ")
                .tenant_value()
                .sql(", ")
                .bind(Bind::text(g));
            s.sql(", v.column1, v.column2 FROM (VALUES ");
            for (i, (id, kind)) in chunk.iter().enumerate() {
                s.sql(if i == 0 { "(" } else { ", (" });
                s.binds([Bind::text(id), Bind::text(kind_str(*kind))]);
                s.sql(")");
            }
            // `WHERE true` keeps SQLite's parser from reading ON CONFLICT as a join
            // constraint.
            s.sql(") v WHERE true ON CONFLICT (group_id, member_id) DO NOTHING")
                .sql(" RETURNING member_id, member_kind");
            added.extend(changed_of(self.rows(s).await?)?);
        }
        // RETURNING gives no order: the order given.
        let order: HashMap<&str, usize> = m
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.as_str(), i))
            .collect();
        added.sort_by_key(|(id, _)| order.get(id.as_str()).copied());
        Ok(added)
    }

    /// Removes the memberships of `ids` in group `g`; returns those that went.
    pub(super) async fn remove_from(&mut self, t: &str, g: &str, ids: &[String]) -> Changed {
        let mut removed = Vec::new();
        for chunk in ids.chunks(Sql::list_room(self.x.dialect(), 2)) {
            let key = [("group_id", Bind::text(g))];
            let mut s = self.q().delete(t, Tbl::GroupMembers, key);
            s.sql(" AND ")
                .in_texts("member_id", chunk)
                .sql(" RETURNING member_id, member_kind");
            removed.extend(changed_of(self.rows(s).await?)?);
        }
        Ok(removed)
    }

    /// Removes every membership of group `g`; returns those that went.
    pub(super) async fn clear(&mut self, t: &str, g: &str) -> Changed {
        let mut s = self
            .q()
            .delete(t, Tbl::GroupMembers, [("group_id", Bind::text(g))]);
        s.sql(" RETURNING member_id, member_kind").long();
        changed_of(self.rows(s).await?)
    }

    /// Ids of the user members of `g` that belong to no other group (the built-in group
    /// excluded), in insertion order.
    pub(super) async fn only_in(&mut self, t: &str, g: &str) -> StoreResult<Vec<String>> {
        let not_builtin = self.x.dialect().false_();
        let mut s = self.of(t);
        s.sql("SELECT gm.member_id FROM ")
            .table(Tbl::GroupMembers, "gm");
        s.sql(" WHERE ").owned_by_key("gm", Bind::text(g));
        s.sql(" AND gm.member_kind = 'User' AND NOT EXISTS (SELECT 1 FROM ");
        s.table(Tbl::GroupMembers, "o")
            .sql(" JOIN ")
            .table(Tbl::Groups, "og");
        s.sql(" ON ").owned_by("o", "og");
        s.sql(" WHERE o.member_id = gm.member_id AND o.group_id <> gm.group_id AND ");
        s.tenant("og").sql(" AND og.builtin = ").sql(not_builtin);
        s.sql(") ORDER BY gm.seq").long();
        let rows = self.rows(s).await?;
        rows.into_iter().map(|mut r| r.text("member_id")).collect()
    }
}

/// Members of groups, with their group's id.
type Members = StoreResult<Vec<(String, MemberRow)>>;
