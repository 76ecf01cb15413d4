//! The one implementation of [`Tx`], for both back ends: every operation is written once,
//! as statements of the statement layer ([`crate::sql`]) run by the transaction's
//! executor ([`Exec`]). One algorithm per operation; what differs per back end is in the
//! executor and the [`crate::dialect::Dialect`].
//!
//! Operations of one or two fixed statements are written here, in the `Tx` impl. The
//! others have modules: `users` (users with their emails, list queries), `members`
//! (membership rows), `documents` (bulk edits of user documents, directory rules'
//! helpers), `records` (change records: the provisioning log, histories, the audit
//! record), `warnings` (warning counts), `search` (administrator listings), `export` (`scimd copy`), `signin` (sign-in
//! throttles), `steps` (migration steps run in Rust); `run` holds how statements run (rows,
//! counts, pages, batches).

mod credentials;
mod documents;
mod export;
mod members;
mod records;
mod run;
mod search;
mod signin;
mod steps;
mod users;
mod warnings;

pub(crate) use run::StoreTx;
pub(crate) use steps::run_migration_steps;
pub(crate) use users::{explain, runs_inline};

use crate::exec::Exec;
use crate::filter::Kind;
use crate::keys::{display_name_key, external_id_key, user_name_key};
use crate::rows::{group_of, Insert, Stored, GROUP_COLS, USER_COLS};
use crate::sql::{clamp, Across, Bind, Scope, Sql, Tbl};
use async_trait::async_trait;
use scim_proto::filter::fold;
use scimd_directory::store::{
    AccessTokenRow, AdminRow, AdminUserFilter, AttributeRow, Bucket, ChangeRecord, ClientRow,
    CredentialKey, EditedUser, Exported, ExtensionEdit, GroupRecord, IssuerRow, ListPage,
    ListQuery, MemberChange, MemberEdit, MemberKind, MemberRow, RecordQuery, RefusalCount,
    RefusalRow, SessionRow, SlowDown, Source, StoreError, StoreResult, Table, TenantRow,
    TenantState, Throttle, TokenRow, Tx, UserRecord, UserState, WarningCount, WarningNote,
};
use serde_json::Value;
use time::OffsetDateTime;

/// The columns a group write sets, in the order of [`group_values`].
const GROUP_WRITE_COLS: &str = "display_name, display_name_folded, external_id, source, builtin, \
     version, created, last_modified, doc, doc_folded";

/// The values of [`GROUP_WRITE_COLS`] for `g`.
fn group_values(g: &GroupRecord) -> [Bind; 10] {
    [
        Bind::text(&g.display_name),
        Bind::Text(display_name_key(&g.display_name)),
        Bind::opt_text(g.external_id.as_deref().map(external_id_key).as_deref()),
        Bind::text(g.source.as_str()),
        Bind::Bool(g.builtin),
        Bind::Int(g.version),
        Bind::Time(g.created),
        Bind::Time(g.last_modified),
        Bind::Json(g.doc.to_string()),
        Bind::Jsonb(g.doc_folded.to_string()),
    ]
}

#[async_trait]
impl<E: Exec> Tx for StoreTx<E> {
    fn copying(&mut self) {
        self.copying = true;
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        let config = self.config;
        if config {
            // Other processes' caches see the change by this fact (within their poll).
            // (Unique enough: the time in nanoseconds and this process.)
            let now = OffsetDateTime::now_utc();
            let version = format!("{}-{}", now.unix_timestamp_nanos(), std::process::id());
            let fact = scimd_directory::store::CONFIG_VERSION_FACT;
            self.set_deployment_fact(fact, &version, now).await?;
        }
        self.into_exec().commit().await?;
        if config {
            // This process's caches, at once.
            scimd_directory::store::note_config_change();
        }
        Ok(())
    }

    // ---- tenants and tokens

    async fn list_tenants(&mut self) -> StoreResult<Vec<TenantRow>> {
        if self.x.writes() {
            // A writer that lists tenants may be about to create the first one.
            self.x.serialise(crate::exec::Turns::Bootstrap).await?;
        }
        self.all(Scope::Tenants, "created, seq").await
    }

    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()> {
        self.config_changed();
        self.insert_row(Scope::Tenants, t).await
    }

    async fn get_tenant(&mut self, id: &str) -> StoreResult<Option<TenantRow>> {
        self.one(Scope::Tenants, ("id", Bind::text(id))).await
    }

    async fn tenant_for_update(&mut self, id: &str) -> StoreResult<Option<TenantRow>> {
        self.one_locked(Scope::Tenants, ("id", Bind::text(id)))
            .await
    }

    async fn tenant_by_slug(&mut self, slug: &str) -> StoreResult<Option<TenantRow>> {
        self.one(Scope::Tenants, ("slug", Bind::text(slug))).await
    }

    async fn set_tenant_state(&mut self, id: &str, state: TenantState) -> StoreResult<bool> {
        self.config_changed();
        let deleting = TenantState::Deleting.as_str();
        let set = [("state", Bind::text(state.as_str()))];
        let mut s = self
            .q()
            .update(Scope::Tenants, Tbl::Tenants, set, [("id", Bind::text(id))]);
        if state != TenantState::Deleting {
            // Never out of `deleting`, even for a caller that read the state before a
            // deletion committed (PostgreSQL evaluates this on the row as it is now).
            s.sql(" AND state <> ").bind(Bind::text(deleting));
        }
        let changed = self.run(s).await? > 0;
        if changed {
            // Its own audit record follows in this transaction, whatever the new state.
            self.guarded.push(id.to_string());
        }
        Ok(changed)
    }

    async fn touch_tenant(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()> {
        let set = [("last_scim_request", Bind::Time(at))];
        let s = self
            .q()
            .update(Scope::Tenants, Tbl::Tenants, set, [("id", Bind::text(id))]);
        self.run(s).await.map(drop)
    }

    async fn purge_tenant(&mut self, id: &str, limit: u64) -> StoreResult<u64> {
        // Not a change of what is cached: the tenant is `deleting` already (that change
        // dropped the caches), so nothing of it is served; flushing every server's caches at
        // each step of a large deletion would cost the other tenants for nothing.
        // Children first, so that no cascade makes a step larger than `limit` rows.
        self.guarded.push(id.to_string());
        const ORDER: [Tbl; 17] = [
            Tbl::UserEmails,
            Tbl::GroupMembers,
            Tbl::WarningUsers,
            Tbl::WarningCounts,
            Tbl::Sessions,
            Tbl::AccessTokens,
            Tbl::AuthRefusals,
            Tbl::AuthRefusalCounts,
            Tbl::SigninThrottle,
            Tbl::Changes,
            Tbl::Users,
            Tbl::Groups,
            Tbl::Attributes,
            Tbl::Tokens,
            Tbl::OauthClients,
            Tbl::Issuers,
            Tbl::Admins,
        ];
        for table in ORDER {
            let mut s = self.q().delete(id, table, []);
            if table != Tbl::Sessions {
                // (A tenant's sessions are a handful; the table has no `seq`.)
                s.sql(" AND seq IN (SELECT k.seq FROM ")
                    .table(table, "k")
                    .sql(" WHERE ")
                    .tenant("k")
                    .sql(" ORDER BY k.seq LIMIT ")
                    .bind(Bind::Int(clamp(limit)))
                    .sql(")");
            }
            let n = self.run(s.long()).await?;
            if n > 0 {
                return Ok(n);
            }
        }
        Ok(0)
    }

    async fn update_tenant_settings(&mut self, id: &str, settings: &Value) -> StoreResult<()> {
        self.config_changed();
        let set = [("settings", Bind::Json(settings.to_string()))];
        let s = self
            .q()
            .update(Scope::Tenants, Tbl::Tenants, set, [("id", Bind::text(id))]);
        self.run(s).await.map(drop)
    }

    async fn insert_token(&mut self, t: &TokenRow) -> StoreResult<()> {
        self.config_changed();
        self.insert_row(&*t.tenant_id, t).await
    }

    async fn token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<TokenRow>> {
        let key = ("secret_sha256", Bind::Blob(sha256.to_vec()));
        self.one(Across::TokenBySecret, key).await
    }

    async fn list_tokens(&mut self, tenant_id: &str) -> StoreResult<Vec<TokenRow>> {
        self.all(tenant_id, "created, seq").await
    }

    async fn revoke_credential(
        &mut self,
        t: &str,
        key: CredentialKey<'_>,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.config_changed();
        credentials::revoke(self, t, key, at).await
    }

    async fn touch_credential(
        &mut self,
        t: &str,
        key: CredentialKey<'_>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        credentials::touch(self, t, key, at).await
    }

    // ---- issuers

    async fn insert_issuer(&mut self, i: &IssuerRow) -> StoreResult<()> {
        self.config_changed();
        let app_ids = serde_json::to_string(&i.app_ids)
            .map_err(|e| StoreError::Backend(format!("issuer app_ids: {e}")))?;
        let row = [
            Bind::text(&i.id),
            Bind::text(&i.issuer),
            Bind::text(&i.audience),
            Bind::Json(app_ids),
            Bind::opt_text(i.metadata_url.as_deref()),
            Bind::opt_text(i.jwks_file.as_deref()),
            Bind::Time(i.created),
        ];
        let table = (Tbl::Issuers, IssuerRow::COLS);
        self.insert_values(&*i.tenant_id, table, row.into()).await
    }

    async fn list_issuers(&mut self, t: &str) -> StoreResult<Vec<IssuerRow>> {
        self.all(t, "created, seq").await
    }

    async fn delete_issuer(&mut self, t: &str, id: &str) -> StoreResult<bool> {
        self.config_changed();
        let s = self.q().delete(t, Tbl::Issuers, [("id", Bind::text(id))]);
        Ok(self.run(s).await? > 0)
    }

    // ---- OAuth clients, access tokens, refusals: `credentials`

    async fn insert_client(&mut self, c: &ClientRow) -> StoreResult<()> {
        self.config_changed();
        self.insert_row(&*c.tenant_id, c).await
    }

    async fn get_client(&mut self, t: &str, id: &str) -> StoreResult<Option<ClientRow>> {
        self.one(t, ("id", Bind::text(id))).await
    }

    async fn list_clients(&mut self, t: &str) -> StoreResult<Vec<ClientRow>> {
        self.all(t, "created, seq").await
    }

    async fn insert_access_token(&mut self, a: &AccessTokenRow) -> StoreResult<()> {
        self.insert_row(&*a.tenant_id, a).await
    }

    async fn access_token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<AccessTokenRow>> {
        credentials::access_token_by_hash(self, sha256).await
    }

    async fn prune_access_tokens(
        &mut self,
        t: &str,
        client_id: &str,
        now: OffsetDateTime,
        keep: u64,
    ) -> StoreResult<u64> {
        let n = credentials::prune_access_tokens(self, t, client_id, now, keep).await?;
        if n > 0 {
            // A cached access token may be among them.
            self.config_changed();
        }
        Ok(n)
    }

    async fn add_refusals(
        &mut self,
        t: &str,
        counts: &[RefusalCount],
        recent: &[RefusalRow],
        bounds: (u64, OffsetDateTime),
    ) -> StoreResult<()> {
        credentials::add_refusals(self, t, counts, recent, bounds).await
    }

    async fn list_refusals(
        &mut self,
        t: &str,
        since: OffsetDateTime,
    ) -> StoreResult<(Vec<RefusalCount>, Vec<RefusalRow>)> {
        credentials::list_refusals(self, t, since).await
    }

    // ---- users: `users`

    async fn get_user(&mut self, t: &str, id: &str) -> StoreResult<Option<UserRecord>> {
        let key = ("id", Bind::text(id));
        let row = self.locked_row(t, USER_COLS, Tbl::Users, key).await?;
        self.one_user(t, row).await
    }

    async fn user_by_user_name(&mut self, t: &str, name: &str) -> StoreResult<Option<UserRecord>> {
        let key = ("user_name_folded", Bind::Text(user_name_key(name)));
        let row = self.locked_row(t, USER_COLS, Tbl::Users, key).await?;
        self.one_user(t, row).await
    }

    async fn insert_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        users::insert_user(self, u).await
    }

    async fn update_user(&mut self, u: &UserRecord) -> StoreResult<()> {
        users::update_user(self, u).await
    }

    async fn delete_resource(&mut self, t: &str, kind: MemberKind, id: &str) -> StoreResult<bool> {
        let table = match kind {
            MemberKind::User => Tbl::Users,
            MemberKind::Group => Tbl::Groups,
        };
        let mut s = self.q().delete(t, table, [("id", Bind::text(id))]);
        if self.run(s.long()).await? == 0 {
            return Ok(false);
        }
        // A user's emails and a group's own membership rows go by ON DELETE CASCADE; its
        // memberships in the tenant's groups here.
        self.delete_memberships_of(t, id).await.map(|_| true)
    }

    async fn list_resources(
        &mut self,
        t: &str,
        q: &ListQuery<'_>,
        page: ListPage<'_>,
    ) -> StoreResult<u64> {
        let kind = match page {
            ListPage::Users(_) => Kind::Users,
            ListPage::Groups(_) => Kind::Groups,
        };
        let (total, rows) = self.list(kind, t, q).await?;
        match page {
            ListPage::Users(users) => *users = self.users_with_emails(t, rows).await?,
            ListPage::Groups(groups) => {
                *groups = rows.into_iter().map(group_of).collect::<StoreResult<_>>()?
            }
        }
        Ok(total)
    }

    async fn user_names(
        &mut self,
        t: &str,
        ids: &[String],
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        let cols = "id, display_name AS name";
        let rows = self.rows_by_ids(t, cols, Tbl::Users, ids).await?;
        let pair = |mut r: crate::sql::Row| Ok((r.text("id")?, r.opt_text("name")?));
        rows.into_iter().map(pair).collect()
    }

    async fn groups_of_users(
        &mut self,
        t: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String, String)>> {
        users::groups_of_users(self, t, user_ids).await
    }

    // ---- groups

    async fn get_group(&mut self, t: &str, id: &str) -> StoreResult<Option<GroupRecord>> {
        let key = ("id", Bind::text(id));
        let row = self.locked_row(t, GROUP_COLS, Tbl::Groups, key).await?;
        row.map(group_of).transpose()
    }

    async fn group_by_display_name(
        &mut self,
        t: &str,
        name: &str,
    ) -> StoreResult<Option<GroupRecord>> {
        let key = ("display_name_folded", Bind::Text(display_name_key(name)));
        let row = self.locked_row(t, GROUP_COLS, Tbl::Groups, key).await?;
        row.map(group_of).transpose()
    }

    async fn insert_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        let cols = format!("id, tenant_id, {GROUP_WRITE_COLS}");
        let row = std::iter::once(Bind::text(&g.id)).chain(group_values(g));
        let mut s = self.q().insert(&*g.tenant_id, Tbl::Groups, &cols, [row]);
        self.run(s.may_conflict()).await.map(drop)
    }

    async fn update_group(&mut self, g: &GroupRecord) -> StoreResult<()> {
        let set = GROUP_WRITE_COLS.split(", ").zip(group_values(g));
        let key = [("id", Bind::text(&g.id))];
        let mut s = self.q().update(&*g.tenant_id, Tbl::Groups, set, key);
        if self.run(s.may_conflict()).await? == 0 {
            let (id, t) = (&g.id, &g.tenant_id);
            return Err(StoreError::Backend(format!(
                "update_group: no group {id} in tenant {t}"
            )));
        }
        Ok(())
    }

    async fn group_ids_existing(&mut self, t: &str, ids: &[String]) -> StoreResult<Vec<String>> {
        let rows = self.rows_by_ids(t, "id", Tbl::Groups, ids).await?;
        rows.into_iter().map(|mut r| r.text("id")).collect()
    }

    // ---- memberships: `members`

    async fn group_members(
        &mut self,
        t: &str,
        group_id: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Vec<MemberRow>> {
        self.member_page(t, group_id, (offset, limit)).await
    }

    async fn members_of_groups(
        &mut self,
        t: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<(String, MemberRow)>> {
        self.members_of(t, group_ids).await
    }

    async fn count_members(&mut self, t: &str, group_id: &str) -> StoreResult<u64> {
        self.member_count(t, group_id).await
    }

    async fn edit_members(
        &mut self,
        t: &str,
        group_id: &str,
        edit: MemberEdit<'_>,
    ) -> StoreResult<Vec<(String, MemberKind)>> {
        match edit {
            MemberEdit::Add(members) => self.add_to(t, group_id, members).await,
            MemberEdit::Remove(ids) => self.remove_from(t, group_id, ids).await,
            MemberEdit::Clear => self.clear(t, group_id).await,
        }
    }

    // ---- custom attributes; their values in documents: `documents`

    async fn list_attributes(&mut self, t: &str) -> StoreResult<Vec<AttributeRow>> {
        self.all(t, "seq").await
    }

    async fn insert_attribute(&mut self, a: &AttributeRow) -> StoreResult<()> {
        self.config_changed();
        let cols = "tenant_id, name, name_folded, type, created";
        let row = [
            Bind::text(&a.name),
            Bind::Text(fold(&a.name)),
            Bind::text(&a.ty),
            Bind::Time(a.created),
        ];
        let table = (Tbl::Attributes, cols);
        self.insert_values(&*a.tenant_id, table, row.into()).await
    }

    async fn delete_attribute(&mut self, t: &str, name: &str) -> StoreResult<bool> {
        self.config_changed();
        let key = [("name_folded", Bind::Text(fold(name)))];
        let s = self.q().delete(t, Tbl::Attributes, key);
        Ok(self.run(s).await? > 0)
    }

    async fn count_extension_values(&mut self, t: &str, urn: &str, name: &str) -> StoreResult<u64> {
        self.count_values(t, urn, name).await
    }

    async fn edit_extension_values(
        &mut self,
        t: &str,
        edit: ExtensionEdit<'_>,
    ) -> StoreResult<Vec<EditedUser>> {
        match edit {
            ExtensionEdit::Strip { urn, name } => self.strip_values(t, urn, name).await,
            ExtensionEdit::Rename { old, new } => self.rename_key(t, old, new).await,
        }
    }

    // ---- directory rules helpers: `documents`

    async fn members_in_no_other_group(
        &mut self,
        t: &str,
        group: &str,
    ) -> StoreResult<Vec<String>> {
        self.only_in(t, group).await
    }

    async fn set_users_state(
        &mut self,
        t: &str,
        ids: &[String],
        from: UserState,
        to: UserState,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<EditedUser>> {
        self.set_state(t, ids, (from, to), at).await
    }

    async fn user_counts(&mut self, t: &str) -> StoreResult<Vec<(UserState, Source, u64)>> {
        let cols = "state, source, COUNT(*) AS n";
        let mut s = self.q().select(t, cols, (Tbl::Users, ""), []);
        s.sql(" GROUP BY state, source ORDER BY state, source")
            .long();
        let mut out = Vec::new();
        for mut row in self.rows(s).await? {
            out.push((row.get("state")?, row.get("source")?, row.count("n")?));
        }
        Ok(out)
    }

    async fn group_count(&mut self, t: &str) -> StoreResult<u64> {
        let not_builtin = [("builtin", Bind::Bool(false))];
        let mut s = self
            .q()
            .select(t, "COUNT(*)", (Tbl::Groups, ""), not_builtin);
        self.count(s.long()).await
    }

    // ---- change records: `records`

    async fn insert_record(&mut self, r: &ChangeRecord) -> StoreResult<i64> {
        self.insert_change(r).await
    }

    async fn insert_member_records(
        &mut self,
        base: &ChangeRecord,
        members: &[MemberChange],
    ) -> StoreResult<()> {
        self.insert_member_changes(base, members).await
    }

    async fn query_records(
        &mut self,
        t: &str,
        q: &RecordQuery,
    ) -> StoreResult<(u64, Vec<ChangeRecord>)> {
        self.changes_of(t, q).await
    }

    async fn rewrite_record(&mut self, r: &ChangeRecord) -> StoreResult<bool> {
        self.rewrite_change(r).await
    }

    async fn coalesce_record(&mut self, r: &ChangeRecord, key: &str) -> StoreResult<()> {
        self.coalesce_change(r, key).await
    }

    async fn coalesced_keys(&mut self, t: &str, prefix: &str) -> StoreResult<Vec<String>> {
        // The caller decides from these keys which record to coalesce into: writers
        // deciding at once would each see room for one more key.
        self.x.serialise(crate::exec::Turns::Coalescing).await?;
        self.coalesced(t, prefix).await
    }

    async fn purge_records(&mut self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut s = self.q().delete(Across::RetentionPurge, Tbl::Changes, []);
        s.sql(" WHERE at < ").bind(Bind::Time(before)).long();
        self.run(s).await
    }

    // ---- warning counts: `warnings`

    async fn note_warning(&mut self, n: &WarningNote) -> StoreResult<()> {
        self.count_warning(n).await
    }

    async fn warning_counts(&mut self, t: &str, limit: u64) -> StoreResult<Vec<WarningCount>> {
        self.counted_warnings(t, limit).await
    }

    // ---- administrator listings: `search`

    async fn admin_list_users(
        &mut self,
        t: &str,
        f: &AdminUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<UserRecord>)> {
        let by = |s: &mut Sql<'_>| search::admin_users_where(s, f);
        let (total, rows) = self
            .paged(t, (USER_COLS, "r.seq", (offset, limit), &by))
            .await?;
        Ok((total, self.users_with_emails(t, rows).await?))
    }

    async fn admin_list_groups(
        &mut self,
        t: &str,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<GroupRecord>)> {
        let by = |s: &mut Sql<'_>| search::admin_groups_where(s, search);
        let order = "r.builtin DESC, r.seq";
        let (total, rows) = self
            .paged(t, (GROUP_COLS, order, (offset, limit), &by))
            .await?;
        Ok((
            total,
            rows.into_iter().map(group_of).collect::<StoreResult<_>>()?,
        ))
    }

    // ---- portal administrators, sessions, sign-in throttling

    async fn insert_admin(&mut self, a: &AdminRow) -> StoreResult<()> {
        let cols = "id, tenant_id, username, username_folded, password_hash, created, \
                    password_changed, must_change_password";
        let row = [
            Bind::text(&a.id),
            Bind::text(&a.username),
            Bind::Text(fold(&a.username)),
            Bind::text(&a.password_hash),
            Bind::Time(a.created),
            Bind::Time(a.password_changed),
            Bind::Bool(a.must_change_password),
        ];
        let table = (Tbl::Admins, cols);
        self.insert_values(&*a.tenant_id, table, row.into()).await
    }

    async fn admin_by_username(&mut self, t: &str, name: &str) -> StoreResult<Option<AdminRow>> {
        self.one(t, ("username_folded", Bind::Text(fold(name))))
            .await
    }

    async fn get_admin(&mut self, t: &str, id: &str) -> StoreResult<Option<AdminRow>> {
        self.one_locked(t, ("id", Bind::text(id))).await
    }

    async fn list_admins(&mut self, t: &str) -> StoreResult<Vec<AdminRow>> {
        self.all(t, "created, seq").await
    }

    async fn delete_admin(&mut self, t: &str, id: &str) -> StoreResult<bool> {
        let s = self.q().delete(t, Tbl::Admins, [("id", Bind::text(id))]);
        Ok(self.run(s).await? > 0)
    }

    async fn set_admin_password(
        &mut self,
        t: &str,
        id: &str,
        password_hash: &str,
        at: OffsetDateTime,
        must_change: bool,
    ) -> StoreResult<bool> {
        let set = [
            ("password_hash", Bind::text(password_hash)),
            ("password_changed", Bind::Time(at)),
            ("must_change_password", Bind::Bool(must_change)),
        ];
        let s = self
            .q()
            .update(t, Tbl::Admins, set, [("id", Bind::text(id))]);
        Ok(self.run(s).await? > 0)
    }

    async fn insert_session(&mut self, session: &SessionRow) -> StoreResult<()> {
        let (tenant, row) = (&*session.tenant_id, session.binds());
        let s = self
            .q()
            .insert(tenant, SessionRow::TABLE, SessionRow::COLS, [row]);
        self.run(s).await.map(drop)
    }

    async fn session_by_hash(&mut self, id_sha256: &[u8]) -> StoreResult<Option<SessionRow>> {
        let key = ("id_sha256", Bind::Blob(id_sha256.to_vec()));
        self.one(Across::SessionBySecret, key).await
    }

    async fn delete_session(&mut self, id_sha256: &[u8]) -> StoreResult<bool> {
        let key = [("id_sha256", Bind::Blob(id_sha256.to_vec()))];
        let s = self.q().delete(Across::SessionBySecret, Tbl::Sessions, key);
        Ok(self.run(s).await? > 0)
    }

    async fn delete_admin_sessions(
        &mut self,
        t: &str,
        admin_id: &str,
        keep: Option<&[u8]>,
    ) -> StoreResult<u64> {
        let mut s = self
            .q()
            .delete(t, Tbl::Sessions, [("admin_id", Bind::text(admin_id))]);
        if let Some(keep) = keep {
            s.sql(" AND id_sha256 <> ").bind(Bind::Blob(keep.to_vec()));
        }
        self.run(s).await
    }

    // ---- sign-in throttling: `signin`

    async fn signin_attempt(
        &mut self,
        t: &str,
        username_folded: &str,
        device: &str,
        now: OffsetDateTime,
        rule: &SlowDown<'_>,
    ) -> StoreResult<Throttle> {
        signin::signin_attempt(self, t, (username_folded, device), (now, rule)).await
    }

    async fn clear_signin_attempts(
        &mut self,
        t: &str,
        username_folded: &str,
        device: Option<&str>,
    ) -> StoreResult<u64> {
        signin::clear_signin_attempts(self, t, username_folded, device).await
    }

    async fn address_attempt(
        &mut self,
        address: &str,
        now: OffsetDateTime,
        bucket: &Bucket,
    ) -> StoreResult<Throttle> {
        signin::address_attempt(self, address, now, bucket).await
    }

    async fn refund_address_attempt(&mut self, address: &str, bucket: &Bucket) -> StoreResult<()> {
        signin::refund_address_attempt(self, address, bucket).await
    }

    async fn purge_sessions(
        &mut self,
        now: OffsetDateTime,
        attempts_before: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut s = self.q().delete(Across::RetentionPurge, Tbl::Sessions, []);
        s.sql(" WHERE expires <= ").bind(Bind::Time(now));
        let n = self.run(s).await?;
        Ok(n + signin::purge(self, now, attempts_before).await?)
    }

    async fn touch_heartbeat(&mut self, at: OffsetDateTime) -> StoreResult<()> {
        signin::touch_heartbeat(self, at).await
    }

    async fn set_deployment_fact(
        &mut self,
        name: &str,
        value: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut s = self.q().of(Scope::Global);
        s.insert_into(Tbl::Deployment, "name, value, updated")
            .sql("VALUES (")
            .binds([Bind::text(name), Bind::text(value), Bind::Time(at)])
            .sql(") ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated");
        self.run(s).await.map(drop)
    }

    async fn deployment_fact(&mut self, name: &str) -> StoreResult<Option<String>> {
        let key = [("name", Bind::text(name))];
        let s = self
            .q()
            .select(Scope::Global, "value", (Tbl::Deployment, ""), key);
        match self.row(s).await? {
            Some(mut row) => Ok(Some(row.text("value")?)),
            None => Ok(None),
        }
    }

    // ---- bulk copy between stores: `export`

    async fn export_rows(
        &mut self,
        of: (Table, Option<&str>),
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Exported>> {
        export::export_rows(self, of, after, limit).await
    }

    async fn table_counts(&mut self, tenant: Option<&str>) -> StoreResult<Vec<(Table, u64)>> {
        export::table_counts(self, tenant).await
    }
}
