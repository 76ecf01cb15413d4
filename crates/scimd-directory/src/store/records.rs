//! The records the store keeps and the queries it answers: rows of the tables (tenants,
//! tokens, users, groups, memberships, custom attributes, administrators, sessions; change
//! records are in `changes.rs`), what a listing asks for, and what `scimd copy` moves.
//!
//! They are plain data; the rules that produce and read them are the directory's.

use super::changes::{ChangeRecord, MemberKind};
use scim_proto::filter::Filter;
use scim_proto::list::{ListParams, SortOrder};
use scim_proto::path::AttrPath;
use scim_proto::schema::ResourceSchema;
use serde_json::Value;
use time::OffsetDateTime;

/// A tenant: the unit of isolation. Every row of every other table belongs to one.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRow {
    /// UUID string.
    pub id: String,
    /// Unique name, as an operator wrote it (`default` for the one first start made).
    pub name: String,
    /// Unique path segment (`/t/SLUG/scim/v2`), matching
    /// `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`; kept (never reused) after a delete.
    pub slug: String,
    /// Whether it is served.
    pub state: TenantState,
    /// Tenant settings as a JSON object (see the directory's `TenantSettings`).
    pub settings: Value,
    /// Creation time.
    pub created: OffsetDateTime,
    /// When a SCIM request last authenticated for it (written at most once a minute);
    /// `None`: never.
    pub last_scim_request: Option<OffsetDateTime>,
}

impl TenantRow {
    /// A new active tenant `(name, slug)` with a fresh UUID, created `created`, with
    /// `settings` (a JSON object) and no SCIM request yet.
    pub fn new(name: &str, slug: &str, settings: Value, created: OffsetDateTime) -> TenantRow {
        TenantRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            slug: slug.to_string(),
            state: TenantState::Active,
            settings,
            created,
            last_scim_request: None,
        }
    }
}

/// The state of a tenant (column `tenants.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantState {
    /// Served.
    Active,
    /// Kept but not served: its SCIM, admin API and portal answer 403.
    Disabled,
    /// Being deleted: its paths answer 404 while its rows go.
    Deleting,
}

impl TenantState {
    /// The three states.
    pub const ALL: [TenantState; 3] = [
        TenantState::Active,
        TenantState::Disabled,
        TenantState::Deleting,
    ];

    /// `active`, `disabled` or `deleting`.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantState::Active => "active",
            TenantState::Disabled => "disabled",
            TenantState::Deleting => "deleting",
        }
    }

    /// Parses what [`TenantState::as_str`] gives.
    pub fn parse(s: &str) -> Option<TenantState> {
        TenantState::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Scope of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// May call `/scim/v2`.
    Scim,
    /// May call `/api/v1`.
    Admin,
    /// May call the operator API, `/api/v1/tenants` at the root (issue 15): a token of no
    /// customer tenant, kept in the operator realm ([`crate::tenants::OPERATOR_SLUG`]) and
    /// refused on every tenant's paths.
    Operator,
}

impl TokenScope {
    /// The scopes of a tenant's tokens (what a tenant's administrator may create).
    pub const ALL: [TokenScope; 2] = [TokenScope::Scim, TokenScope::Admin];

    /// `scim`, `admin` or `operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Scim => "scim",
            TokenScope::Admin => "admin",
            TokenScope::Operator => "operator",
        }
    }

    /// Parses `scim` / `admin` (case-insensitive): the scopes a tenant's token may have.
    /// `operator` is not one of them (see [`TokenScope::parse_stored`]).
    pub fn parse(s: &str) -> Option<TokenScope> {
        match s.to_ascii_lowercase().as_str() {
            "scim" => Some(TokenScope::Scim),
            "admin" => Some(TokenScope::Admin),
            _ => None,
        }
    }

    /// Parses what [`TokenScope::as_str`] gives, `operator` included (a stored scope).
    pub fn parse_stored(s: &str) -> Option<TokenScope> {
        match s {
            "operator" => Some(TokenScope::Operator),
            _ => TokenScope::parse(s),
        }
    }
}

/// An OIDC issuer whose JWT access tokens are accepted on `/scim/v2` (Entra workload
/// identity federation, or any issuer publishing a JWKS): table `issuers`. Keys are never
/// stored; they come from `metadata_url` (the issuer's OpenID Provider Metadata, whose
/// `jwks_uri` is fetched) or `jwks_file`, at most one of the two given; with neither, the
/// metadata URL is the issuer + `/.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerRow {
    /// Row id (UUID v4); `DELETE /api/v1/issuers/{id}` and `scimd issuer remove` take it
    /// as well as the URL.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// The issuer URL, exactly as tokens carry it in `iss` (Entra v1:
    /// `https://sts.windows.net/TENANT-ID/`; v2: `https://login.microsoftonline.com/TENANT-ID/v2.0`).
    pub issuer: String,
    /// The audience tokens must carry in `aud`.
    pub audience: String,
    /// Application (client) ids allowed: a token's `appid` (Entra v1), else `azp` (v2),
    /// else `client_id` (RFC 9068) must be one of them. Never empty.
    pub app_ids: Vec<String>,
    /// The metadata URL given, if any (else the default, see above, unless `jwks_file`).
    pub metadata_url: Option<String>,
    /// A JWKS file on the server, if given: an absolute path, read instead of fetching keys
    /// (again whenever its modification time changes).
    pub jwks_file: Option<String>,
    /// When it was added.
    pub created: OffsetDateTime,
}

/// A bearer token. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    /// UUID string.
    pub id: String,
    /// Owning tenant id.
    pub tenant_id: String,
    /// Name, unique per tenant among non-revoked tokens.
    pub name: String,
    /// Scope.
    pub scope: TokenScope,
    /// SHA-256 of the secret (32 bytes).
    pub secret_sha256: Vec<u8>,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Last successful use, if any.
    pub last_used: Option<OffsetDateTime>,
    /// Revocation time; a revoked token never authenticates.
    pub revoked: Option<OffsetDateTime>,
    /// Expiry: the token does not authenticate at or after it; `None` never expires.
    pub expires: Option<OffsetDateTime>,
}

/// An OAuth 2.0 client of the client credentials grant (RFC 6749 §2.3.1, §4.4). Only the
/// SHA-256 of its secret is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRow {
    /// The client_id (public; `scimd_client_` and 32 hex characters).
    pub id: String,
    /// Owning tenant id.
    pub tenant_id: String,
    /// Name, unique per tenant among non-revoked clients.
    pub name: String,
    /// SHA-256 of the secret (32 bytes).
    pub secret_sha256: Vec<u8>,
    /// Creation time.
    pub created: OffsetDateTime,
    /// When it was last issued a token, if ever.
    pub last_used: Option<OffsetDateTime>,
    /// Revocation time; a revoked client gets no token and its tokens stop working.
    pub revoked: Option<OffsetDateTime>,
}

/// An access token issued to a client by the token endpoint (opaque; only the SHA-256 of
/// the secret is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenRow {
    /// Owning tenant id.
    pub tenant_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// SHA-256 of the secret (32 bytes).
    pub secret_sha256: Vec<u8>,
    /// Issue time.
    pub created: OffsetDateTime,
    /// Expiry: not accepted at or after it.
    pub expires: OffsetDateTime,
}

/// Refused authentications of one reason in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCount {
    /// The hour's start (UTC, whole hour).
    pub hour: OffsetDateTime,
    /// The reason (`missing`, `malformed`, `unknown`, `expired`, `revoked`,
    /// `insufficient_scope`, `invalid_client`).
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// One refused authentication, as kept for diagnostics. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalRow {
    /// Owning tenant id.
    pub tenant_id: String,
    /// When.
    pub at: OffsetDateTime,
    /// The reason (see [`RefusalCount::reason`]).
    pub reason: String,
    /// Which credential: its kind and, when it is known, its name (`token 'okta'`,
    /// `client 'entra'`, `unknown static token`, `none`).
    pub credential: String,
    /// The request's method.
    pub method: String,
    /// The request's path (without query string).
    pub path: String,
    /// The client's address, when known.
    pub address: Option<String>,
}

/// Lifecycle state of a user (product rules: soft delete, disable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    /// Active.
    Active,
    /// Disabled (`active` false); still visible over SCIM.
    Inactive,
    /// Deleted by the identity provider (soft delete); invisible over SCIM.
    Deprovisioned,
}

impl UserState {
    /// Every state.
    pub const ALL: [UserState; 3] = [
        UserState::Active,
        UserState::Inactive,
        UserState::Deprovisioned,
    ];

    /// `active` / `inactive` / `deprovisioned`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Active => "active",
            UserState::Inactive => "inactive",
            UserState::Deprovisioned => "deprovisioned",
        }
    }
    /// Parses the names of [`UserState::as_str`].
    pub fn parse(s: &str) -> Option<UserState> {
        match s {
            "active" => Some(UserState::Active),
            "inactive" => Some(UserState::Inactive),
            "deprovisioned" => Some(UserState::Deprovisioned),
            _ => None,
        }
    }
}

/// Where a user or group came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Created by an administrator.
    Local,
    /// Provisioned over SCIM.
    Scim,
}

impl Source {
    /// Both sources.
    pub const ALL: [Source; 2] = [Source::Local, Source::Scim];

    /// `local` / `scim`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Scim => "scim",
        }
    }
    /// Parses the names of [`Source::as_str`].
    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "local" => Some(Source::Local),
            "scim" => Some(Source::Scim),
            _ => None,
        }
    }
}

/// One email of a user, as indexed for lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailKey {
    /// The address, case-folded with `scim_proto::filter::fold`.
    pub value_folded: String,
    /// `type` (`work`, `home`...), case-folded, if given.
    pub kind: Option<String>,
    /// `primary`.
    pub primary: bool,
}

/// A stored user.
///
/// `doc` is the canonical document (see `scim_proto::normalize`); `doc_folded` is
/// `scim_proto::normalize::fold_document(doc)`, against which case-insensitive filters
/// compare. The lookup columns (`user_name`, `external_id`, `display_name`, `emails`) are
/// copies of values in `doc`, kept by the directory; the store keeps the key of `user_name`
/// (`scim_proto::canonical::identifier_key`: NFC, case-folded) for its unique index, and
/// stores `external_id` as its key (NFC), so a record read back has the NFC form there
/// (the document keeps the value as sent).
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// UUID string; the SCIM `id`.
    pub id: String,
    /// Owning tenant id.
    pub tenant_id: String,
    /// `userName` as given.
    pub user_name: String,
    /// `externalId`, if any: as given when written; its key (NFC) when read back.
    pub external_id: Option<String>,
    /// `displayName`, if any.
    pub display_name: Option<String>,
    /// Lifecycle state.
    pub state: UserState,
    /// Source.
    pub source: Source,
    /// Version, incremented by every write; rendered as `W/"<version>"`.
    pub version: i64,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Last modification time.
    pub last_modified: OffsetDateTime,
    /// Canonical document.
    pub doc: Value,
    /// Case-folded copy of `doc`.
    pub doc_folded: Value,
    /// Emails, for lookups.
    pub emails: Vec<EmailKey>,
}

/// A stored group. Membership is kept as rows, never in `doc`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    /// UUID string; the SCIM `id`.
    pub id: String,
    /// Owning tenant id.
    pub tenant_id: String,
    /// `displayName` as given (unique per tenant by its key, NFC and case-folded, which the
    /// store keeps).
    pub display_name: String,
    /// `externalId`, if any: as given when written; its key (NFC) when read back (the
    /// document keeps the value as sent).
    pub external_id: Option<String>,
    /// Source.
    pub source: Source,
    /// Whether this is the tenant's built-in "All Users" group (never exposed over SCIM).
    pub builtin: bool,
    /// Version, incremented by every write including membership changes.
    pub version: i64,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Last modification time.
    pub last_modified: OffsetDateTime,
    /// Canonical document (without `members`).
    pub doc: Value,
    /// Case-folded copy of `doc`.
    pub doc_folded: Value,
}

/// One member of a group, as rendered in `members`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    /// The member's id.
    pub id: String,
    /// User or Group.
    pub kind: MemberKind,
    /// The member's displayName, if it has one (RFC 7643 `members.display`).
    pub display: Option<String>,
    /// A user member's userName (`None` for groups).
    pub user_name: Option<String>,
    /// A user member's state (`None` for groups); SCIM does not show deprovisioned members.
    pub state: Option<UserState>,
}

/// Which users a listing includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// Users that SCIM clients see: every state but `deprovisioned`.
    #[default]
    Scim,
    /// Every user (administrators).
    All,
}

/// A list query: filter, sort and page, evaluated entirely by the database.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    /// The filter, already validated against `schema`.
    pub filter: Option<&'a Filter>,
    /// The resource type's schemas (for attribute types, multi-valuedness, caseExact).
    pub schema: &'a ResourceSchema,
    /// Sort attribute, if any; otherwise creation order.
    pub sort_by: Option<&'a AttrPath>,
    /// Sort direction.
    pub sort_order: SortOrder,
    /// Rows to skip (startIndex - 1).
    pub offset: u64,
    /// Rows to return at most (0: only count).
    pub limit: u64,
    /// Which users are visible (ignored for groups; the built-in group is never listed).
    pub visibility: Visibility,
    /// When set, the page stops once its rows hold this many bytes of stored values
    /// (documents, columns), at least one row: fewer rows than `limit` may come back though
    /// more match (RFC 7644 §3.4.2.4 allows fewer), and the total is still every match.
    pub max_bytes: Option<usize>,
}

impl<'a> ListQuery<'a> {
    /// What a SCIM list request asks (RFC 7644 §3.4.2): the filter, sort and page of `p`
    /// over `schema` (`offset` is `startIndex` - 1), the resources SCIM sees, and pages
    /// stopped at `max_bytes`.
    pub fn scim(p: &'a ListParams, schema: &'a ResourceSchema, max_bytes: usize) -> Self {
        ListQuery {
            filter: p.filter.as_ref(),
            schema,
            sort_by: p.sort_by.as_ref(),
            sort_order: p.sort_order,
            offset: p.start_index.saturating_sub(1),
            limit: p.count,
            visibility: Visibility::Scim,
            max_bytes: Some(max_bytes),
        }
    }
}

/// A registered custom user attribute of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRow {
    /// Owning tenant id.
    pub tenant_id: String,
    /// Name as registered (RFC 7643 ATTRNAME; unique per tenant ignoring case).
    pub name: String,
    /// Data type: `string`, `boolean`, `integer`, `decimal` or `dateTime`.
    pub ty: String,
    /// Registration time.
    pub created: OffsetDateTime,
}

/// A user a bulk edit changed: its id and userName, and the value the edit replaced in its
/// document (`None` when it held none there).
#[derive(Debug, Clone, PartialEq)]
pub struct EditedUser {
    /// The user's id.
    pub id: String,
    /// Its userName.
    pub user_name: String,
    /// The value before the edit.
    pub before: Option<Value>,
}

/// Administrator-side filters on a user listing ([`Tx::admin_list_users`](super::Tx::admin_list_users)); all optional,
/// combined with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdminUserFilter {
    /// Case-insensitive substring of userName, displayName, given/family name or any email.
    pub search: Option<String>,
    /// Only users in this state.
    pub state: Option<UserState>,
    /// Only users from this source.
    pub source: Option<Source>,
}

/// A portal administrator (table `admins`). The password is kept only as an Argon2id PHC
/// string (`$argon2id$v=19$...`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRow {
    /// UUID string.
    pub id: String,
    /// Owning tenant id.
    pub tenant_id: String,
    /// Sign-in name as given (unique per tenant ignoring case; the store folds it).
    pub username: String,
    /// Argon2id PHC string of the password.
    pub password_hash: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Last password change (creation included).
    pub password_changed: OffsetDateTime,
    /// The password was generated by scimd (shown once): it must be changed at the next
    /// sign-in before anything else.
    pub must_change_password: bool,
}

/// A throttle's answer to one attempt ([`crate::store::Tx::signin_attempt`],
/// [`crate::store::Tx::address_attempt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Counted and let through: `count` attempts are counted now, this one included (for an
    /// address bucket: 0).
    Allowed {
        /// Attempts counted.
        count: u64,
    },
    /// Refused, nothing counted: the next attempt is accepted from `until` on.
    Refused {
        /// When the next attempt is accepted.
        until: OffsetDateTime,
    },
}

/// How sign-in attempts for one username slow down: after the `n`-th attempt since the last
/// success (n from 1), the next one is accepted `delays_ms[n - 1]` milliseconds later (the
/// last value for every later `n`); the count starts again after `window` without an
/// attempt. A rule of the directory (`crate::admins`); the store applies it atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowDown<'a> {
    /// Without an attempt for this long, the count starts again.
    pub window: time::Duration,
    /// Wait after each attempt, in milliseconds, by attempt number (at least one value).
    pub delays_ms: &'a [i64],
}

/// A GCRA token bucket: `burst` units, one more every `interval_ms` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Milliseconds for one unit to come back.
    pub interval_ms: i64,
    /// Units the bucket holds (at least 1).
    pub burst: u64,
}

/// A portal session (table `sessions`). The session id itself (the cookie value) is never
/// stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// SHA-256 of the session id (32 bytes); the key.
    pub id_sha256: Vec<u8>,
    /// Owning tenant id.
    pub tenant_id: String,
    /// The administrator signed in.
    pub admin_id: String,
    /// The session's CSRF token (random; every portal form carries it).
    pub csrf_token: String,
    /// Creation time (sign-in).
    pub created: OffsetDateTime,
    /// Expiry: the session is not accepted at or after this time.
    pub expires: OffsetDateTime,
}

/// A table of a deployment, as `scimd copy` moves it between stores. [`Table::COPIED`]
/// lists the tables copied, parents first; `UserEmails` is copied with `Users` (the emails
/// of a [`UserRecord`]) and only counted on its own. Portal sessions and failed sign-ins
/// are not copied: they are short-lived (administrators sign in again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `tenants`.
    Tenants,
    /// `tokens` (hashes only; secrets are never stored).
    Tokens,
    /// `attributes` (custom attribute definitions).
    Attributes,
    /// `admins` (portal administrators, password hashes only).
    Admins,
    /// `users`.
    Users,
    /// `user_emails` (the email index of users).
    UserEmails,
    /// `groups` (the built-in group included).
    Groups,
    /// `group_members`.
    GroupMembers,
    /// `changes` (change records: the provisioning log, histories, the audit record).
    Changes,
    /// `issuers` (OIDC issuers whose access tokens are accepted).
    Issuers,
    /// `oauth_clients` (OAuth 2.0 clients, secret hashes only; their short-lived access
    /// tokens are not copied: clients ask the token endpoint again).
    OauthClients,
}

impl Table {
    /// Tables [`Tx::export_rows`](super::Tx::export_rows) reads and `scimd copy` writes, in copy order.
    pub const COPIED: [Table; 10] = [
        Table::Tenants,
        Table::Tokens,
        Table::OauthClients,
        Table::Issuers,
        Table::Attributes,
        Table::Admins,
        Table::Users,
        Table::Groups,
        Table::GroupMembers,
        Table::Changes,
    ];
    /// Every table [`Tx::table_counts`](super::Tx::table_counts) counts.
    pub const ALL: [Table; 11] = [
        Table::Tenants,
        Table::Tokens,
        Table::OauthClients,
        Table::Issuers,
        Table::Attributes,
        Table::Admins,
        Table::Users,
        Table::UserEmails,
        Table::Groups,
        Table::GroupMembers,
        Table::Changes,
    ];
    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Tenants => "tenants",
            Table::Tokens => "tokens",
            Table::Attributes => "attributes",
            Table::Admins => "admins",
            Table::Users => "users",
            Table::UserEmails => "user_emails",
            Table::Groups => "groups",
            Table::GroupMembers => "group_members",
            Table::Changes => "changes",
            Table::Issuers => "issuers",
            Table::OauthClients => "oauth_clients",
        }
    }
}

/// One membership row, as copied between stores.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipRow {
    /// Owning tenant id.
    pub tenant_id: String,
    /// The group.
    pub group_id: String,
    /// The member (a user or group id).
    pub member_id: String,
    /// The member's kind.
    pub kind: MemberKind,
}

/// A row of one of the [`Table::COPIED`] tables.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportRow {
    /// A tenant.
    Tenant(TenantRow),
    /// A token.
    Token(TokenRow),
    /// An OIDC issuer.
    Issuer(IssuerRow),
    /// An OAuth client.
    Client(ClientRow),
    /// A custom attribute definition.
    Attribute(AttributeRow),
    /// A portal administrator.
    Admin(AdminRow),
    /// A user with its emails.
    User(UserRecord),
    /// A group (without members).
    Group(GroupRecord),
    /// A membership.
    Member(MembershipRow),
    /// A change record.
    Record(ChangeRecord),
}

/// An exported row and its position: the store's insertion sequence number of the row,
/// which listings use as their order and tie-break (a copy inserts rows in this order, so
/// listings keep their order; the numbers themselves are the target's).
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// Insertion sequence number (unique per table, ascending in insertion order).
    pub seq: i64,
    /// The row.
    pub row: ExportRow,
}
