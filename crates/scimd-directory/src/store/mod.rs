//! The Store trait: everything the directory needs from a database, one transaction at a time.
//!
//! Implementations live in `scimd-store` (SQLite now, PostgreSQL beside it). Nothing above
//! this trait writes SQL. Every SCIM request runs in exactly one [`Tx`]: reads in a read
//! transaction, writes in a write transaction that is committed once, at the end.
//!
//! The records themselves are in `store/records.rs` and `store/changes.rs` (change records),
//! re-exported here, so every store type is `scimd_directory::store::<Name>`.

mod changes;
mod records;

pub use changes::{
    Actor, ActorType, Cause, Change, ChangeRecord, Channel, MemberChange, MemberKind, RecordQuery,
    RecordView, WarningCount, WarningNote, Window,
};
pub use records::{
    AccessTokenRow, AdminRow, AdminUserFilter, AttributeRow, Bucket, ClientRow, EditedUser,
    EmailKey, ExportRow, Exported, GroupRecord, IssuerRow, ListQuery, MemberRow, MembershipRow,
    RefusalCount, RefusalRow, SessionRow, SlowDown, Source, Table, TenantRow, TenantState,
    Throttle, TokenRow, TokenScope, UserRecord, UserState, Visibility,
};

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;

/// What a unique constraint of the store protects: the subject of [`StoreError::Conflict`].
///
/// A closed vocabulary: each back end maps the constraint a write violated to one of these
/// in one place (`scimd-store`'s schema registry), never by matching message text above
/// the store. [`ConflictTarget::as_str`] (also its `Display`) is the name clients read in
/// `detail` texts (`userName is already in use in this tenant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictTarget {
    /// A user's `userName` (unique per tenant, ignoring case).
    UserName,
    /// A group's `displayName` (unique per tenant, ignoring case).
    DisplayName,
    /// A custom attribute's name (unique per tenant, ignoring case).
    AttributeName,
    /// A token's name (unique per tenant among its non-revoked tokens).
    TokenName,
    /// A token's secret hash (unique across tenants).
    TokenSecret,
    /// An OAuth client's name (unique per tenant among its non-revoked clients).
    ClientName,
    /// A tenant's name.
    TenantName,
    /// A tenant's slug.
    TenantSlug,
    /// A portal administrator's username (unique per tenant, ignoring case).
    AdminUsername,
    /// An issuer's URL (unique per tenant, exact).
    Issuer,
    /// A row's identity: a resource, token, tenant or administrator id, a session hash.
    Id,
    /// A membership: the member is in the group already.
    Membership,
}

impl ConflictTarget {
    /// The name shown in messages: `userName`, `displayName`, `attribute name`,
    /// `token name`, `token secret`, `name` and `slug` (a tenant's), `admin username`, `issuer`, `id`,
    /// `membership`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictTarget::UserName => "userName",
            ConflictTarget::DisplayName => "displayName",
            ConflictTarget::AttributeName => "attribute name",
            ConflictTarget::TokenName => "token name",
            ConflictTarget::TokenSecret => "token secret",
            ConflictTarget::ClientName => "client name",
            ConflictTarget::TenantName => "name",
            ConflictTarget::TenantSlug => "slug",
            ConflictTarget::AdminUsername => "admin username",
            ConflictTarget::Issuer => "issuer",
            ConflictTarget::Id => "id",
            ConflictTarget::Membership => "membership",
        }
    }
}

impl std::fmt::Display for ConflictTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated; the target names what is duplicated.
    #[error("already exists: {0}")]
    Conflict(ConflictTarget),
    /// A filter or sort the back end cannot translate (a client mistake: reported as 400 invalidFilter).
    #[error("unsupported filter: {0}")]
    Unsupported(String),
    /// The transaction could not run because of concurrent ones: PostgreSQL aborted it
    /// (serialization failure, deadlock), or the database stayed busy (SQLite: a lock held
    /// by another process past the busy timeout, no connection free in time). Nothing was
    /// written; the request may be retried.
    #[error("concurrent update: {0}")]
    Contention(String),
    /// The database cannot take writes: it is read-only (a read-only replica, a file system
    /// remounted read-only after a crash) or its disk is full. Nothing was written; the
    /// request may be retried once an operator has fixed the database. The string is the
    /// database's own message (logged, never sent).
    #[error("database cannot take writes ({0}): {1}")]
    Unwritable(Unwritable, String),
    /// A statement ran past the store's statement time limit (`--statement-timeout-secs`;
    /// SQLite: a progress handler interrupts it; PostgreSQL: `statement_timeout`) and was
    /// cancelled; the transaction writes nothing. The limit, when the store knows it (a
    /// PostgreSQL URL may set its own).
    #[error("statement cancelled at the statement time limit ({0:?})")]
    Timeout(Option<std::time::Duration>),
    /// A change to a tenant that is being deleted (`deleting`: its rows are being purged),
    /// refused in the transaction so that nothing of it is written after the mark; the
    /// tenant's id. Nothing was written.
    #[error("tenant {0} is being deleted")]
    TenantDeleting(String),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Backend(String),
}

/// Why a database cannot take writes ([`StoreError::Unwritable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwritable {
    /// The database or its file system is read-only.
    ReadOnly,
    /// The disk (or the database's quota) is full.
    Full,
}

impl Unwritable {
    /// What it is, for people: `the database is read-only`, `the disk is full`.
    pub fn describe(self) -> &'static str {
        match self {
            Unwritable::ReadOnly => "the database is read-only",
            Unwritable::Full => "the database's disk is full",
        }
    }
}

impl std::fmt::Display for Unwritable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unwritable::ReadOnly => "read-only",
            Unwritable::Full => "disk full",
        })
    }
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The resources a SCIM list reads ([`Store::read_list`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// `GET /Users`, `POST /Users/.search`.
    Users,
    /// `GET /Groups`, `POST /Groups/.search`.
    Groups,
}

/// One of a tenant's provisioning credentials (a static bearer token, an OAuth client), by
/// the key [`Tx::revoke_credential`] or [`Tx::touch_credential`] finds its row with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKey<'a> {
    /// The static token whose id is this.
    TokenId(&'a str),
    /// The static token named this: names are unique among a tenant's non-revoked tokens
    /// (revoked ones may share a name with a live one).
    TokenName(&'a str),
    /// The OAuth client whose client_id is this.
    Client(&'a str),
}

/// A change to the member set of a group ([`Tx::edit_members`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberEdit<'a> {
    /// Adds these members (ids with their kind); existing members are left alone.
    Add(&'a [(String, MemberKind)]),
    /// Removes the members of these ids; absent ids are ignored.
    Remove(&'a [String]),
    /// Removes every member.
    Clear,
}

/// Where [`Tx::list_resources`] puts the page it reads; its variant is the kind listed.
#[derive(Debug)]
pub enum ListPage<'a> {
    /// Users, each with its emails.
    Users(&'a mut Vec<UserRecord>),
    /// Groups (never the built-in group).
    Groups(&'a mut Vec<GroupRecord>),
}

/// A bulk edit of the custom attribute values in the documents of every user of a tenant
/// ([`Tx::edit_extension_values`]), in `doc` and in `doc_folded` alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionEdit<'a> {
    /// Removes `doc[urn][name]` (a custom attribute deleted), and the `urn` key where it
    /// ends up empty. Changes the users that had the key, null included; `before` is the
    /// value removed.
    Strip {
        /// The extension's schema URN.
        urn: &'a str,
        /// The attribute's name.
        name: &'a str,
    },
    /// Moves `doc[old]` to `doc[new]` (a custom schema URN change; nothing when the two are
    /// equal). `before` is the object moved.
    Rename {
        /// The URN the values are under.
        old: &'a str,
        /// The URN they move to.
        new: &'a str,
    },
}

/// Opens transactions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A read-only transaction (a consistent snapshot).
    async fn read(&self) -> StoreResult<Box<dyn Tx>>;
    /// A read-only transaction for a SCIM list of `listing` with `filter` from row
    /// `offset`. A store whose readers are few (SQLite) runs lists that may scan (any but
    /// a point lookup on an early page) on a bounded share of them, so that point lookups
    /// (`userName eq ...`, what identity providers send) always find a reader. The default
    /// is [`Store::read`].
    ///
    /// Errors: as [`Store::read`]; `Contention` when no turn for a scan came in time.
    async fn read_list(
        &self,
        listing: Listing,
        filter: Option<&scim_proto::filter::Filter>,
        offset: u64,
    ) -> StoreResult<Box<dyn Tx>> {
        let _ = (listing, filter, offset);
        self.read().await
    }
    /// A write transaction; writers are serialised by the back end (SQLite `BEGIN IMMEDIATE`;
    /// PostgreSQL locks the users and groups a write transaction reads, `SELECT ... FOR
    /// UPDATE`, so a version checked in the transaction stays the one written over).
    async fn write(&self) -> StoreResult<Box<dyn Tx>>;
    /// Whether the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
}

/// The deployment fact (see [`Tx::deployment_fact`]) holding the public base URL (without
/// `/scim/v2`) the last `scimd serve` started with; commands print the URLs they show
/// (an OAuth client's token URL) from it when not given one.
pub const PUBLIC_URL_FACT: &str = "public_url";

/// The deployment fact that takes a new value in every committed transaction that changes
/// what the directory caches per request: a token or OAuth client (created, revoked), a
/// tenant (created, disabled, enabled, deleted), its settings, custom attributes or
/// issuers. A store's `Tx` writes it by itself when one of those operations ran (no caller
/// can forget); every `scimd serve` polls it ([`crate::cache`]) to drop what it cached.
pub const CONFIG_VERSION_FACT: &str = "config_version";

/// How many transactions changing what is cached this process committed, plus how many
/// changes by other processes its watcher saw ([`crate::cache`]); caches compare it with
/// the value they were filled at.
static CONFIG_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The current [`CONFIG_EPOCH`].
pub fn config_epoch() -> u64 {
    CONFIG_EPOCH.load(std::sync::atomic::Ordering::Acquire)
}

/// Advances [`CONFIG_EPOCH`]: everything cached before is stale. A store calls it after
/// committing a transaction that changed what is cached; the watcher when another process
/// did, or when it cannot tell.
pub fn note_config_change() {
    CONFIG_EPOCH.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

/// One transaction. Dropping it without [`Tx::commit`] rolls back.
#[async_trait]
pub trait Tx: Send {
    /// Commits. Durable when it returns.
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// Marks the transaction as the import of a copy (`scimd copy`): rows of a tenant that
    /// is being deleted are written as they come, where any other transaction is refused
    /// `TenantDeleting` when it changes rows of such a tenant.
    fn copying(&mut self);

    // ---- tenants
    /// All tenants, oldest first.
    async fn list_tenants(&mut self) -> StoreResult<Vec<TenantRow>>;
    /// Inserts a tenant. Conflict(TenantName) on a duplicate name, Conflict(TenantSlug) on
    /// a duplicate slug.
    async fn insert_tenant(&mut self, t: &TenantRow) -> StoreResult<()>;
    /// One tenant by id.
    async fn get_tenant(&mut self, id: &str) -> StoreResult<Option<TenantRow>>;
    /// [`Tx::get_tenant`] for a transaction that will change the tenant's row from what it
    /// reads (its settings): in a write transaction the row is locked until the end
    /// (PostgreSQL `FOR UPDATE`; SQLite's writers take turns), so that two such changes do
    /// not both start from the same settings and lose one.
    async fn tenant_for_update(&mut self, id: &str) -> StoreResult<Option<TenantRow>>;
    /// One tenant by slug (exact; slugs are lowercase).
    async fn tenant_by_slug(&mut self, slug: &str) -> StoreResult<Option<TenantRow>>;
    /// Sets a tenant's state; false when there is no tenant `id`, or when it is `deleting`
    /// and `state` is another (a deletion is never undone, even by a caller that read the
    /// state before the deletion committed). The transaction may then change the tenant's
    /// rows (its audit record) whatever the new state.
    async fn set_tenant_state(&mut self, id: &str, state: TenantState) -> StoreResult<bool>;
    /// Records that a SCIM request authenticated for tenant `id` at `at`.
    async fn touch_tenant(&mut self, id: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// Deletes up to `limit` rows of tenant `id` from one of its tables (children before
    /// parents: emails, memberships, warnings, sessions, credentials' traces, change records,
    /// users, groups, attributes, tokens, clients, issuers, administrators); how many (0:
    /// nothing of it is left but its `tenants` row, which keeps the slug reserved). One
    /// small step of a tenant's deletion, for a transaction of its own.
    async fn purge_tenant(&mut self, id: &str, limit: u64) -> StoreResult<u64>;
    /// Replaces a tenant's settings object.
    async fn update_tenant_settings(&mut self, id: &str, settings: &Value) -> StoreResult<()>;

    // ---- tokens
    /// Inserts a token. Conflict(TokenName) when a non-revoked token of that tenant has the name.
    async fn insert_token(&mut self, t: &TokenRow) -> StoreResult<()>;
    /// The token whose secret hashes to `sha256`, revoked or not.
    async fn token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<TokenRow>>;
    /// A tenant's tokens, revoked included, oldest first.
    async fn list_tokens(&mut self, tenant_id: &str) -> StoreResult<Vec<TokenRow>>;
    /// Revokes at `at` the tenant's credential `key` names unless it is revoked already (a
    /// token by its name, [`CredentialKey::TokenName`]; a client by its client_id: its
    /// access tokens stay, refused as `revoked` until they expire); false when there is no
    /// such non-revoked credential.
    async fn revoke_credential(
        &mut self,
        tenant_id: &str,
        key: CredentialKey<'_>,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Records a use at `at` of the tenant's credentials `key` names (a token presented, by
    /// its id; a client issued an access token).
    async fn touch_credential(
        &mut self,
        tenant_id: &str,
        key: CredentialKey<'_>,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    // ---- issuers (OIDC issuers whose JWT access tokens are accepted)
    /// Inserts an issuer. Conflict(Issuer) when the tenant has one of that URL.
    async fn insert_issuer(&mut self, i: &IssuerRow) -> StoreResult<()>;
    /// A tenant's issuers, oldest first.
    async fn list_issuers(&mut self, tenant_id: &str) -> StoreResult<Vec<IssuerRow>>;
    /// Deletes the tenant's issuer whose id is `id`; false when there is none.
    async fn delete_issuer(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool>;

    // ---- OAuth clients and their access tokens (RFC 6749 §4.4)
    /// Inserts a client. Conflict(ClientName) when a non-revoked client of that tenant has the name.
    async fn insert_client(&mut self, c: &ClientRow) -> StoreResult<()>;
    /// The tenant's client whose client_id is `id`, revoked or not.
    async fn get_client(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<ClientRow>>;
    /// A tenant's clients, revoked included, oldest first.
    async fn list_clients(&mut self, tenant_id: &str) -> StoreResult<Vec<ClientRow>>;
    /// Inserts an access token.
    async fn insert_access_token(&mut self, a: &AccessTokenRow) -> StoreResult<()>;
    /// The access token whose secret hashes to `sha256`, expired or not.
    async fn access_token_by_hash(&mut self, sha256: &[u8]) -> StoreResult<Option<AccessTokenRow>>;
    /// Deletes the client's access tokens that expired at `now`, and all but its `keep`
    /// newest; how many were deleted.
    async fn prune_access_tokens(
        &mut self,
        tenant_id: &str,
        client_id: &str,
        now: OffsetDateTime,
        keep: u64,
    ) -> StoreResult<u64>;

    // ---- refused authentications (RFC 6750 §3.1 failures, for diagnostics)
    /// Adds `counts` to the tenant's counts per hour and reason, appends `recent`, then keeps
    /// only the `keep` newest refusals and the counts of hours from `counts_since` on.
    async fn add_refusals(
        &mut self,
        tenant_id: &str,
        counts: &[RefusalCount],
        recent: &[RefusalRow],
        (keep, counts_since): (u64, OffsetDateTime),
    ) -> StoreResult<()>;
    /// The tenant's counts of hours from `since` on (newest first) and its kept refusals
    /// (newest first).
    async fn list_refusals(
        &mut self,
        tenant_id: &str,
        since: OffsetDateTime,
    ) -> StoreResult<(Vec<RefusalCount>, Vec<RefusalRow>)>;

    // ---- users
    /// One user by id, any state.
    async fn get_user(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<UserRecord>>;
    /// The user whose userName equals `user_name` ignoring case, any state.
    async fn user_by_user_name(
        &mut self,
        tenant_id: &str,
        user_name: &str,
    ) -> StoreResult<Option<UserRecord>>;
    /// Inserts a user. Conflict(UserName) on a duplicate userName ignoring case.
    async fn insert_user(&mut self, u: &UserRecord) -> StoreResult<()>;
    /// Rewrites every column of the user with `u.id` (emails included). Conflict(UserName) as insert.
    async fn update_user(&mut self, u: &UserRecord) -> StoreResult<()>;
    /// Deletes the user or group `id` (`kind` says which) permanently, with its memberships
    /// in the tenant's groups (a user: its emails; a group: its own membership rows); false
    /// when absent.
    async fn delete_resource(
        &mut self,
        tenant_id: &str,
        kind: MemberKind,
        id: &str,
    ) -> StoreResult<bool>;
    /// Counts and pages the users or groups (the kind of `page`; the built-in group
    /// excluded) matching the query: the page goes into `page` (replacing what it held), the
    /// total matching is returned.
    async fn list_resources(
        &mut self,
        tenant_id: &str,
        q: &ListQuery<'_>,
        page: ListPage<'_>,
    ) -> StoreResult<u64>;
    /// `(id, displayName)` of those of `ids` that are users of the tenant (any state); also
    /// how the directory checks that ids are users.
    async fn user_names(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<(String, Option<String>)>>;
    /// `(user_id, group_id, group displayName)` for every membership of the given users,
    /// the built-in group excluded.
    async fn groups_of_users(
        &mut self,
        tenant_id: &str,
        user_ids: &[String],
    ) -> StoreResult<Vec<(String, String, String)>>;

    // ---- groups
    /// One group by id (the built-in group included; callers hide it).
    async fn get_group(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<GroupRecord>>;
    /// The group whose displayName equals `name` ignoring case.
    async fn group_by_display_name(
        &mut self,
        tenant_id: &str,
        name: &str,
    ) -> StoreResult<Option<GroupRecord>>;
    /// Inserts a group. Conflict(DisplayName) on a duplicate displayName ignoring case.
    async fn insert_group(&mut self, g: &GroupRecord) -> StoreResult<()>;
    /// Rewrites the group's columns (not its members). Conflict(DisplayName) as insert.
    async fn update_group(&mut self, g: &GroupRecord) -> StoreResult<()>;
    /// `id` of those of `ids` that are groups of the tenant.
    async fn group_ids_existing(
        &mut self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<Vec<String>>;
    /// Members of a group, in insertion order, paged (`limit` None = all).
    async fn group_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        offset: u64,
        limit: Option<u64>,
    ) -> StoreResult<Vec<MemberRow>>;
    /// Members of many groups at once: `(group_id, member)`.
    async fn members_of_groups(
        &mut self,
        tenant_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<(String, MemberRow)>>;
    /// Number of members of a group.
    async fn count_members(&mut self, tenant_id: &str, group_id: &str) -> StoreResult<u64>;
    /// Changes the members of a group by `edit` (see [`MemberEdit`]). Returns the members
    /// added (in the order given) or removed.
    async fn edit_members(
        &mut self,
        tenant_id: &str,
        group_id: &str,
        edit: MemberEdit<'_>,
    ) -> StoreResult<Vec<(String, MemberKind)>>;

    // ---- custom attributes (per tenant)
    /// The tenant's custom attributes, in registration order.
    async fn list_attributes(&mut self, tenant_id: &str) -> StoreResult<Vec<AttributeRow>>;
    /// Registers an attribute. Conflict(AttributeName) when the name exists ignoring case.
    async fn insert_attribute(&mut self, a: &AttributeRow) -> StoreResult<()>;
    /// Deletes the attribute named `name` (ignoring case); false when absent.
    async fn delete_attribute(&mut self, tenant_id: &str, name: &str) -> StoreResult<bool>;
    /// How many users of the tenant (any state) hold a value (present, not null) for
    /// `doc[ext_urn][name]`.
    async fn count_extension_values(
        &mut self,
        tenant_id: &str,
        ext_urn: &str,
        name: &str,
    ) -> StoreResult<u64>;
    /// Applies `edit` to every user of the tenant (see [`ExtensionEdit`]). Returns the users
    /// changed (their version and lastModified are bumped), each with what the edit took
    /// from `doc` (`before`).
    async fn edit_extension_values(
        &mut self,
        tenant_id: &str,
        edit: ExtensionEdit<'_>,
    ) -> StoreResult<Vec<EditedUser>>;

    // ---- directory rules helpers
    /// Ids of the user members of `group_id` that belong to no other group (built-in excluded).
    async fn members_in_no_other_group(
        &mut self,
        tenant_id: &str,
        group_id: &str,
    ) -> StoreResult<Vec<String>>;
    /// Sets the state of the given users whose state is `from` to `to` (bumping version and
    /// lastModified, keeping `doc.active` consistent); returns the users changed, each with
    /// the `active` of its document before (`before`).
    async fn set_users_state(
        &mut self,
        tenant_id: &str,
        ids: &[String],
        from: UserState,
        to: UserState,
        at: OffsetDateTime,
    ) -> StoreResult<Vec<EditedUser>>;
    /// Counts of users by `(state, source)`.
    async fn user_counts(&mut self, tenant_id: &str) -> StoreResult<Vec<(UserState, Source, u64)>>;
    /// Number of groups (built-in excluded).
    async fn group_count(&mut self, tenant_id: &str) -> StoreResult<u64>;

    // ---- change records (the provisioning log, histories, the audit record)
    /// Appends a record; returns its `seq`. A per-member record (`member` set) keeps no
    /// `changes` of its own: it reads back as `[{attribute: "members", before | after:
    /// {value, type}}]`.
    async fn insert_record(&mut self, r: &ChangeRecord) -> StoreResult<i64>;
    /// Appends one per-member record per item of `members`: `base` (its `member`, `outcome`
    /// and `changes` ignored) naming the member, outcome `member added` or `member removed`,
    /// in batches.
    async fn insert_member_records(
        &mut self,
        base: &ChangeRecord,
        members: &[MemberChange],
    ) -> StoreResult<()>;
    /// Records matching the query, newest first, with the total matching.
    async fn query_records(
        &mut self,
        tenant_id: &str,
        q: &RecordQuery,
    ) -> StoreResult<(u64, Vec<ChangeRecord>)>;
    /// Rewrites the resource name, the detail and the changes of the record `r.seq` of the
    /// tenant `r.tenant_id` (and what the `text` filter searches); false when absent.
    async fn rewrite_record(&mut self, r: &ChangeRecord) -> StoreResult<bool>;
    /// Appends `r` holding the coalescing `key`, or, when a record of the tenant holds the
    /// key already, adds `r.count` to that record's count instead (atomic).
    async fn coalesce_record(&mut self, r: &ChangeRecord, key: &str) -> StoreResult<()>;
    /// The coalescing keys of the tenant's records that start with `prefix`. In a write
    /// transaction, other writers asking for them wait until this transaction ends, so that
    /// a bound on their number holds across concurrent writers and instances.
    async fn coalesced_keys(&mut self, tenant_id: &str, prefix: &str) -> StoreResult<Vec<String>>;
    /// Deletes the records of every tenant older than `before`; returns how many.
    async fn purge_records(&mut self, before: OffsetDateTime) -> StoreResult<u64>;

    // ---- warning counts (the dashboard's warnings)
    /// Counts warning `n`: its kind and subject's row gets `n.at` as last time (first time
    /// when new), one more occurrence, `n.example` as example, and one more user unless
    /// `n.user_id` was counted for it already (atomic: one upsert each).
    async fn note_warning(&mut self, n: &WarningNote) -> StoreResult<()>;
    /// The tenant's warning counts, the most recently given first, at most `limit` (an
    /// index range).
    async fn warning_counts(
        &mut self,
        tenant_id: &str,
        limit: u64,
    ) -> StoreResult<Vec<WarningCount>>;

    // ---- administrator listings
    /// Users of the tenant in any state matching `f`, in creation order, paged; with the
    /// total matching.
    async fn admin_list_users(
        &mut self,
        tenant_id: &str,
        f: &AdminUserFilter,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<UserRecord>)>;
    /// Groups of the tenant (the built-in group first) whose displayName contains `search`
    /// ignoring case, paged; with the total matching.
    async fn admin_list_groups(
        &mut self,
        tenant_id: &str,
        search: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<GroupRecord>)>;

    // ---- portal administrators and sessions
    /// Inserts an administrator. Conflict(AdminUsername) when the tenant has one with
    /// that username ignoring case.
    async fn insert_admin(&mut self, a: &AdminRow) -> StoreResult<()>;
    /// The administrator of the tenant whose username equals `username` ignoring case.
    async fn admin_by_username(
        &mut self,
        tenant_id: &str,
        username: &str,
    ) -> StoreResult<Option<AdminRow>>;
    /// One administrator by id; in a write transaction its row is locked until the end
    /// (PostgreSQL `FOR UPDATE`), so that a removal waits for, or is seen by, what follows.
    async fn get_admin(&mut self, tenant_id: &str, id: &str) -> StoreResult<Option<AdminRow>>;
    /// Every administrator of the tenant, oldest first.
    async fn list_admins(&mut self, tenant_id: &str) -> StoreResult<Vec<AdminRow>>;
    /// Deletes the administrator `id` of the tenant, and with it (foreign key, on cascade)
    /// its portal sessions; false when absent. Its sign-in throttling records are
    /// [`Tx::clear_signin_attempts`]'.
    async fn delete_admin(&mut self, tenant_id: &str, id: &str) -> StoreResult<bool>;
    /// Replaces an administrator's password hash (and `password_changed`), and whether it
    /// must be changed at the next sign-in; false when absent.
    async fn set_admin_password(
        &mut self,
        tenant_id: &str,
        id: &str,
        password_hash: &str,
        at: OffsetDateTime,
        must_change: bool,
    ) -> StoreResult<bool>;
    /// Inserts a session.
    async fn insert_session(&mut self, s: &SessionRow) -> StoreResult<()>;
    /// The session whose id hashes to `id_sha256`, expired or not.
    async fn session_by_hash(&mut self, id_sha256: &[u8]) -> StoreResult<Option<SessionRow>>;
    /// Deletes one session; false when absent.
    async fn delete_session(&mut self, id_sha256: &[u8]) -> StoreResult<bool>;
    /// Deletes every session of an administrator but `keep` (the SHA-256 of a session id);
    /// returns how many.
    async fn delete_admin_sessions(
        &mut self,
        tenant_id: &str,
        admin_id: &str,
        keep: Option<&[u8]>,
    ) -> StoreResult<u64>;

    // ---- sign-in throttling (see `crate::admins`)
    /// Checks and counts, in one statement, a sign-in attempt for the administrator username
    /// `username_folded` from `device` (`""`: any browser) at `now`, under `rule`: refused
    /// (nothing counted) while an earlier attempt's wait has not passed, else counted and
    /// let through. Concurrent attempts on any number of instances are counted exactly.
    async fn signin_attempt(
        &mut self,
        tenant_id: &str,
        username_folded: &str,
        device: &str,
        now: OffsetDateTime,
        rule: &SlowDown<'_>,
    ) -> StoreResult<Throttle>;
    /// Forgets the attempts counted for `username_folded` from `device` (every device when
    /// `None`); returns how many records went.
    async fn clear_signin_attempts(
        &mut self,
        tenant_id: &str,
        username_folded: &str,
        device: Option<&str>,
    ) -> StoreResult<u64>;
    /// Checks and counts, in one statement, a failed-sign-in budget unit of the client
    /// address `address` (any tenant's) at `now`: refused (nothing counted) when the
    /// bucket is empty.
    async fn address_attempt(
        &mut self,
        address: &str,
        now: OffsetDateTime,
        bucket: &Bucket,
    ) -> StoreResult<Throttle>;
    /// Gives back the unit [`Tx::address_attempt`] took (the sign-in succeeded).
    async fn refund_address_attempt(&mut self, address: &str, bucket: &Bucket) -> StoreResult<()>;
    /// Deletes, for every tenant, the sessions expired at `now`, the sign-in attempt
    /// records whose last attempt is before `attempts_before`, and the address records
    /// whose bucket is full again at `now`; returns how many rows went.
    async fn purge_sessions(
        &mut self,
        now: OffsetDateTime,
        attempts_before: OffsetDateTime,
    ) -> StoreResult<u64>;

    // ---- readiness
    /// Writes the one heartbeat row (`/readyz`'s probe of whether the database takes
    /// writes). Errors: `Unwritable` when the database is read-only or full.
    async fn touch_heartbeat(&mut self, at: OffsetDateTime) -> StoreResult<()>;

    // ---- the deployment as a whole
    /// Records the fact `name` of the deployment (e.g. [`PUBLIC_URL_FACT`]) as `value`,
    /// replacing the one recorded before, written at `at`. Errors: `Unwritable`.
    async fn set_deployment_fact(
        &mut self,
        name: &str,
        value: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The fact `name` of the deployment, if one was recorded.
    async fn deployment_fact(&mut self, name: &str) -> StoreResult<Option<String>>;

    // ---- bulk copy between stores (`scimd copy`)
    /// Rows of `table` whose sequence number is greater than `after`, in sequence order, at
    /// most `limit` (keyset paging: pass the last `seq` seen): every tenant's when `tenant`
    /// is `None` (`scimd copy`), else only that tenant's (`scimd copy --tenant`; for
    /// [`Table::Tenants`], its own row). A table outside [`Table::COPIED`] gives no rows.
    async fn export_rows(
        &mut self,
        (table, tenant): (Table, Option<&str>),
        after: i64,
        limit: u64,
    ) -> StoreResult<Vec<Exported>>;
    /// Number of rows of every table of [`Table::ALL`]: all tenants together when `tenant`
    /// is `None`, else that tenant's (for [`Table::Tenants`], 1 or 0).
    async fn table_counts(&mut self, tenant: Option<&str>) -> StoreResult<Vec<(Table, u64)>>;
}

#[cfg(test)]
mod tests {
    use super::{ConflictTarget, StoreError};

    /// The names clients read in 409 details, and the `Display` of a conflict, stay what
    /// they were when the target was a string.
    #[test]
    fn conflict_targets_read_as_before() {
        let all = [
            (ConflictTarget::UserName, "userName"),
            (ConflictTarget::DisplayName, "displayName"),
            (ConflictTarget::AttributeName, "attribute name"),
            (ConflictTarget::TokenName, "token name"),
            (ConflictTarget::TokenSecret, "token secret"),
            (ConflictTarget::ClientName, "client name"),
            (ConflictTarget::TenantName, "name"),
            (ConflictTarget::TenantSlug, "slug"),
            (ConflictTarget::AdminUsername, "admin username"),
            (ConflictTarget::Issuer, "issuer"),
            (ConflictTarget::Id, "id"),
            (ConflictTarget::Membership, "membership"),
        ];
        for (t, s) in all {
            assert_eq!(t.to_string(), s);
            assert_eq!(t.as_str(), s);
        }
        assert_eq!(
            StoreError::Conflict(ConflictTarget::UserName).to_string(),
            "already exists: userName"
        );
        let e = scim_proto::ScimError::from(StoreError::Conflict(ConflictTarget::DisplayName));
        assert_eq!(e.status, 409);
        assert_eq!(e.detail, "displayName is already in use in this tenant");
    }
}
