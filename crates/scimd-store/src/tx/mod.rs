//! The one implementation of [`Tx`], for both back ends: every operation is written once,
//! as statements of the statement layer ([`crate::sql`]) run by the transaction's
//! executor ([`Exec`]). One algorithm per operation; what differs per back end is in the
//! executor and the [`crate::dialect::Dialect`].
//!
//! The operations are grouped by subject: `tenants` (tenants, tokens, custom attribute
//! definitions), `users`, `groups`, `documents` (bulk edits of user documents and the
//! directory rules' helpers), `log` (provisioning log, administrator listings), `admins`
//! (portal administrators, sessions, sign-in throttling) and `export` (`scimd copy`).

mod admins;
mod documents;
mod export;
mod groups;
mod log;
mod tenants;
mod users;

pub(crate) use users::list_statement;

use crate::exec::Exec;
use crate::sql::{Across, Row, Scope, Sql};
use async_trait::async_trait;
use scimd_directory::store::{
    AdminRow, AdminUserFilter, AttributeRow, Exported, GroupRecord, ListQuery, LogEntry, LogQuery,
    MemberKind, MemberRow, SessionRow, Source, StoreResult, Table, TenantRow, TokenRow, Tx,
    UserRecord, UserState,
};
use serde_json::Value;
use time::OffsetDateTime;

/// A transaction of either store: its executor, and the operations of [`Tx`] over it.
/// Dropping it without `commit` rolls back (the executor's `Drop`).
pub(crate) struct StoreTx<E> {
    x: E,
}

impl<E: Exec> StoreTx<E> {
    /// A transaction running on `x`.
    pub(crate) fn new(x: E) -> StoreTx<E> {
        StoreTx { x }
    }

    /// The executor.
    pub(crate) fn exec(&mut self) -> &mut E {
        &mut self.x
    }

    /// A statement on the rows of tenant `t`.
    pub(crate) fn of<'t>(&self, t: &'t str) -> Sql<'t> {
        Sql::new(self.x.dialect(), Scope::Tenant(t), self.x.writes())
    }

    /// A statement spanning tenants, for `why`.
    fn across(&self, why: Across) -> Sql<'static> {
        Sql::new(self.x.dialect(), Scope::Across(why), self.x.writes())
    }

    /// A statement on the `tenants` table only.
    fn tenants(&self) -> Sql<'static> {
        Sql::new(self.x.dialect(), Scope::Tenants, self.x.writes())
    }

    /// Runs a statement; its rows.
    pub(crate) async fn rows(&mut self, s: Sql<'_>) -> StoreResult<Vec<Row>> {
        let s = s.finish()?;
        self.x.fetch(&s).await
    }

    /// Runs a statement; its first row, if any.
    async fn row(&mut self, s: Sql<'_>) -> StoreResult<Option<Row>> {
        Ok(self.rows(s).await?.into_iter().next())
    }

    /// Runs a statement returning no rows; how many it changed.
    async fn run(&mut self, s: Sql<'_>) -> StoreResult<u64> {
        let s = s.finish()?;
        self.x.execute(&s).await
    }

    /// Runs a statement; the integer of its first row's first column (`COUNT(*)`,
    /// `RETURNING seq`). Errors: `Backend` when there is no row.
    async fn int(&mut self, s: Sql<'_>) -> StoreResult<i64> {
        match self.row(s).await? {
            Some(mut r) => r.first_int(),
            None => Err(scimd_directory::store::StoreError::Backend(
                "a statement returned no row".into(),
            )),
        }
    }

    /// The rows of the `page` statement (not run when `limit` is 0) and the total: from the
    /// page when it tells it ([`total_from_page`]), else by running the `count` statement,
    /// in the same snapshot.
    async fn page_and_total(
        &mut self,
        offset: u64,
        limit: u64,
        page: StoreResult<Sql<'_>>,
        count: StoreResult<Sql<'_>>,
    ) -> StoreResult<(u64, Vec<Row>)> {
        let rows = if limit == 0 {
            Vec::new()
        } else {
            self.rows(page?).await?
        };
        let total = match total_from_page(offset, limit, rows.len()) {
            Some(t) => t,
            None => crate::sql::count_of(self.int(count?).await?),
        };
        Ok((total, rows))
    }

    /// The total and the rows of a paged listing (may scan: a long statement).
    async fn paged(&mut self, tenant: &str, p: &Paged<'_>) -> StoreResult<(u64, Vec<Row>)> {
        let (d, writes) = (self.x.dialect(), self.x.writes());
        let statement = |count: bool| {
            let mut s = Sql::new(d, Scope::Tenant(tenant), writes);
            s.long();
            if count {
                s.sql("SELECT COUNT(*)");
                (p.from_where)(&mut s);
            } else {
                s.sql("SELECT ").sql(p.cols);
                (p.from_where)(&mut s);
                s.sql(" ORDER BY ")
                    .sql(p.order)
                    .page(Some(p.limit), p.offset);
            }
            Ok(s)
        };
        let (page, count) = (statement(false), statement(true));
        self.page_and_total(p.offset, p.limit, page, count).await
    }
}

/// A paged listing: what to select, from where, in which order, which page.
pub(crate) struct Paged<'a> {
    /// Columns of the page.
    pub(crate) cols: &'a str,
    /// ` FROM ... WHERE ...`, written into a statement.
    pub(crate) from_where: &'a (dyn Fn(&mut Sql<'_>) + Sync),
    /// `ORDER BY` terms of the page.
    pub(crate) order: &'a str,
    /// Rows to return at most (0: only count).
    pub(crate) limit: u64,
    /// Rows to skip.
    pub(crate) offset: u64,
}

/// `totalResults` of a list whose page (`LIMIT limit OFFSET offset`) returned `rows` rows, when
/// the page alone tells it, read in the same snapshot: a page that is not full and not empty
/// is the last one (`offset + rows`); an empty first page means no match. `None` when a
/// `COUNT` is needed (a full page, an empty page past the start, or `limit` 0).
///
/// Saves the `COUNT` statement of nearly every lookup (`userName eq …` finds 0 or 1 of a page
/// of 100) and of the last page of a listing.
pub(crate) fn total_from_page(offset: u64, limit: u64, rows: usize) -> Option<u64> {
    let n = rows as u64;
    if limit == 0 {
        None
    } else if n > 0 && n < limit {
        Some(offset.saturating_add(n))
    } else if n == 0 && offset == 0 {
        Some(0)
    } else {
        None
    }
}

#[async_trait]
impl<E: Exec> Tx for StoreTx<E> {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.x.commit().await
    }

    // ---- tenants, tokens: `tenants`

    async fn list_tenants(&mut self) -> StoreResult<Vec<TenantRow>> {
        tenants::list_tenants(self).await
    }

    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        tenants::insert_tenant(self, t).await
    }

    async fn get_tenant(&mut self, id: &str) -> StoreResult<Option<TenantRow>> {
        tenants::get_tenant(self, id).await
    }

    async fn update_tenant_settings(&mut self, id: &str, settings: &Value) -> StoreResult<()> {
        tenants::update_tenant_settings(self, id, settings).await
    }

    async fn insert_token(&mut self, t: &TokenRow) -> StoreResult<()> {
        tenants::insert_token(self, t).await
    }

    async fn token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<TokenRow>> {
        tenants::token_by_hash(self, sha256).await
    }

    async fn list_tokens(&mut self, tenant_id: &str) -> StoreResult<Vec<TokenRow>> {
        tenants::list_tokens(self, tenant_id).await
    }

    async fn revoke_token(
        &mut self,
        tenant_id: &str,
        name: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        tenants::revoke_token(self, tenant_id, name, at).await
    }

    async fn touch_token(
        &mut self,
        tenant_id: &str,
        id: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        tenants::touch_token(self, tenant_id, id, at).await
    }

    // ---- users: `users`

    async fn get_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<UserRecord>> {
        users::get_user(self, tenant_id, id).await
    }

    async fn user_by_user_name(
        &mut self,
        tenant_id: &str,
        user_name: &str,
    ) -> StoreResult<Option<UserRecord>> {
        users::user_by_user_name(self, tenant_id, user_name).await
    }

    async fn insert_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        users::insert_user(self, u).await
    }

    async fn update_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        users::update_user(self, u).await
    }

    async fn delete_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        users::delete_user(self, tenant_id, id).await
    }

    async fn list_users(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        users::list_users(self, tenant_id, q).await
    }

    async fn user_names(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        users::user_names(self, tenant_id, ids).await
    }

    async fn groups_of_users(
        &mut self,
        tenant_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String, String)>> {
        users::groups_of_users(self, tenant_id, user_ids).await
    }

    // ---- groups and memberships: `groups`

    async fn get_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<GroupRecord>> {
        groups::get_group(self, tenant_id, id).await
    }

    async fn group_by_display_name(
        &mut self,
        tenant_id: &str,
        name: &str,
    ) -> StoreResult<Option<GroupRecord>> {
        groups::group_by_display_name(self, tenant_id, name).await
    }

    async fn insert_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        groups::insert_group(self, g).await
    }

    async fn update_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        groups::update_group(self, g).await
    }

    async fn delete_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        groups::delete_group(self, tenant_id, id).await
    }

    async fn list_groups(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        groups::list_groups(self, tenant_id, q).await
    }

    async fn group_ids_existing(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<String>> {
        groups::group_ids_existing(self, tenant_id, ids).await
    }

    async fn group_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Vec<MemberRow>> {
        groups::group_members(self, tenant_id, group_id, offset, limit).await
    }

    async fn members_of_groups(
        &mut self,
        tenant_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<(String, MemberRow)>> {
        groups::members_of_groups(self, tenant_id, group_ids).await
    }

    async fn count_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        groups::count_members(self, tenant_id, group_id).await
    }

    async fn add_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        members: &[(String, MemberKind)],
    ) -> StoreResult<u64> {
        groups::add_members(self, tenant_id, group_id, members).await
    }

    async fn remove_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        ids: &[String],
    ) -> StoreResult<u64> {
        groups::remove_members(self, tenant_id, group_id, ids).await
    }

    async fn clear_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64> {
        groups::clear_members(self, tenant_id, group_id).await
    }

    // ---- custom attributes: `tenants`; their values in documents: `documents`

    async fn list_attributes(&mut self, tenant_id: &str) -> StoreResult<Vec<AttributeRow>> {
        tenants::list_attributes(self, tenant_id).await
    }

    async fn insert_attribute(&mut self, a: &AttributeRow) -> StoreResult<()> {
        tenants::insert_attribute(self, a).await
    }

    async fn delete_attribute(&mut self, tenant_id: &str, name: &str) -> StoreResult<bool> {
        tenants::delete_attribute(self, tenant_id, name).await
    }

    async fn count_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64> {
        documents::count_extension_values(self, tenant_id, ext_urn, name).await
    }

    async fn strip_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64> {
        documents::strip_extension_values(self, tenant_id, ext_urn, name).await
    }

    async fn rename_extension_key(
        &mut self,
        tenant_id: &str,
        old_urn: &str,
        new_urn: &str,
    ) -> StoreResult<u64> {
        documents::rename_extension_key(self, tenant_id, old_urn, new_urn).await
    }

    // ---- directory rules helpers: `documents`

    async fn members_in_no_other_group(
        &mut self,
        tenant_id: &str,
        group_id: &str,
    ) -> StoreResult<Vec<String>> {
        documents::members_in_no_other_group(self, tenant_id, group_id).await
    }

    async fn set_users_state(
        &mut self,
        tenant_id: &str,
        ids: &[String],
        from: UserState,
        to: UserState,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        documents::set_users_state(self, tenant_id, ids, from, to, at).await
    }

    async fn user_counts(&mut self, tenant_id: &str) -> StoreResult<Vec<(UserState, Source, u64)>> {
        documents::user_counts(self, tenant_id).await
    }

    async fn group_count(&mut self, tenant_id: &str) -> StoreResult<u64> {
        documents::group_count(self, tenant_id).await
    }

    // ---- provisioning log, administrator listings: `log`

    async fn insert_log(&mut self, e: &LogEntry) -> StoreResult<i64> {
        log::insert_log(self, e).await
    }

    async fn query_log(
        &mut self,
        tenant_id: &str,
        q: &LogQuery,
    ) -> StoreResult<(u64, Vec<LogEntry>)> {
        log::query_log(self, tenant_id, q).await
    }

    async fn purge_log(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        log::purge_log(self, before).await
    }

    async fn admin_list_users(
        &mut self,
        tenant_id: &str,
        f: &AdminUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        log::admin_list_users(self, tenant_id, f, offset, limit).await
    }

    async fn admin_list_groups(
        &mut self,
        tenant_id: &str,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        log::admin_list_groups(self, tenant_id, search, offset, limit).await
    }

    // ---- portal administrators and sessions: `admins`

    async fn insert_admin(&mut self, a: &AdminRow) -> StoreResult<()> {
        admins::insert_admin(self, a).await
    }

    async fn admin_by_username(
        &mut self,
        tenant_id: &str,
        username: &str,
    ) -> StoreResult<Option<AdminRow>> {
        admins::admin_by_username(self, tenant_id, username).await
    }

    async fn get_admin(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<AdminRow>> {
        admins::get_admin(self, tenant_id, id).await
    }

    async fn set_admin_password(
        &mut self,
        tenant_id: &str,
        id: &str,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        admins::set_admin_password(self, tenant_id, id, password_hash, at).await
    }

    async fn insert_session(&mut self, s: &SessionRow) -> StoreResult<()> {
        admins::insert_session(self, s).await
    }

    async fn session_by_hash(&mut self, id_sha256: &[u8]) -> StoreResult<Option<SessionRow>> {
        admins::session_by_hash(self, id_sha256).await
    }

    async fn delete_session(&mut self, id_sha256: &[u8]) -> StoreResult<bool> {
        admins::delete_session(self, id_sha256).await
    }

    async fn delete_admin_sessions(&mut self, tenant_id: &str, admin_id: &str) -> StoreResult<u64> {
        admins::delete_admin_sessions(self, tenant_id, admin_id).await
    }

    async fn insert_signin_failure(
        &mut self,
        tenant_id: &str,
        key: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        admins::insert_signin_failure(self, tenant_id, key, at).await
    }

    async fn count_signin_failures(
        &mut self,
        tenant_id: &str,
        key: &str,
        since: OffsetDateTime,
    ) -> StoreResult<u64> {
        admins::count_signin_failures(self, tenant_id, key, since).await
    }

    async fn clear_signin_failures(&mut self, tenant_id: &str, key: &str) -> StoreResult<()> {
        admins::clear_signin_failures(self, tenant_id, key).await
    }

    async fn purge_sessions(
        &mut self,
        now: OffsetDateTime,
        failures_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        admins::purge_sessions(self, now, failures_before).await
    }

    // ---- bulk copy between stores: `export`

    async fn export_rows(
        &mut self,
        table: Table,
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Exported>> {
        export::export_rows(self, table, after, limit).await
    }

    async fn table_counts(&mut self) -> StoreResult<Vec<(Table, u64)>> {
        export::table_counts(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::total_from_page;

    #[test]
    fn totals_known_from_the_page() {
        assert_eq!(total_from_page(0, 100, 0), Some(0));
        assert_eq!(total_from_page(0, 100, 1), Some(1));
        assert_eq!(total_from_page(200, 100, 42), Some(242));
        // A full page may have more after it; an empty page past the start says nothing.
        assert_eq!(total_from_page(0, 100, 100), None);
        assert_eq!(total_from_page(500, 100, 0), None);
        assert_eq!(total_from_page(0, 0, 0), None);
    }
}
