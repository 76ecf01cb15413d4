//! Column lists and row mappers: how the records of `scimd_directory::store` are read from
//! result rows, once for both back ends (the getters of [`Row`] read either spelling).

use crate::sql::{Row, Sql, Tbl};
use scimd_directory::store::{
    AdminRow, AttributeRow, GroupRecord, LogEntry, MemberKind, MemberRow, SessionRow, Source,
    StoreError, StoreResult, TenantRow, TokenRow, TokenScope, UserRecord, UserState,
};

/// Columns of a user row `r`.
pub(crate) const USER_COLS: &str =
    "r.seq, r.id, r.tenant_id, r.user_name, r.external_id, r.display_name, r.state, r.source, \
                         r.version, r.created, r.last_modified, r.doc, r.doc_folded";

/// Columns of a group row `r`.
pub(crate) const GROUP_COLS: &str =
    "r.seq, r.id, r.tenant_id, r.display_name, r.external_id, r.source, r.builtin, r.version, \
                          r.created, r.last_modified, r.doc, r.doc_folded";

/// Columns of a tenant row.
pub(crate) const TENANT_COLS: &str = "id, name, settings, created";

/// Columns of a token row.
pub(crate) const TOKEN_COLS: &str =
    "id, tenant_id, name, scope, secret_sha256, created, last_used, revoked";

/// Columns of a custom attribute row.
pub(crate) const ATTRIBUTE_COLS: &str = "tenant_id, name, type, created";

/// Columns of a provisioning-log row.
pub(crate) const LOG_COLS: &str =
    "seq, tenant_id, at, token_name, method, path, resource_type, resource_id, \
     resource_name, outcome, status, detail, changed, warnings";

/// Columns of an administrator row.
pub(crate) const ADMIN_COLS: &str =
    "id, tenant_id, username, password_hash, created, password_changed, must_change_password";

/// Columns of a session row.
pub(crate) const SESSION_COLS: &str =
    "id_sha256, tenant_id, admin_id, csrf_token, created, expires";

/// Columns of a membership row (as copied).
pub(crate) const MEMBERSHIP_COLS: &str = "tenant_id, group_id, member_id, member_kind";

/// Writes the columns of membership rows `gm`: group id, member id, kind, display name (the
/// user's or group's displayName, if any) and, for users, userName and state.
pub(crate) fn member_cols(qb: &mut Sql<'_>) {
    let user = |qb: &mut Sql<'_>, col: &str| {
        qb.sql(&format!("(SELECT u.{col} FROM "))
            .table(Tbl::Users, "u")
            .sql(" WHERE u.id = gm.member_id AND ")
            .same_tenant("u", "gm")
            .sql(")");
    };
    qb.sql("gm.group_id, gm.member_id, gm.member_kind, CASE gm.member_kind WHEN 'User' THEN ");
    user(qb, "display_name");
    qb.sql(" ELSE (SELECT g.display_name FROM ")
        .table(Tbl::Groups, "g")
        .sql(" WHERE g.id = gm.member_id AND ")
        .same_tenant("g", "gm")
        .sql(") END AS display, ");
    user(qb, "user_name");
    qb.sql(" AS member_user_name, ");
    user(qb, "state");
    qb.sql(" AS member_state");
}

pub(crate) fn kind_str(k: MemberKind) -> &'static str {
    match k {
        MemberKind::User => "User",
        MemberKind::Group => "Group",
    }
}

fn kind_of(s: &str) -> MemberKind {
    if s == "Group" {
        MemberKind::Group
    } else {
        MemberKind::User
    }
}

fn backend(msg: String) -> StoreError {
    StoreError::Backend(msg)
}

fn source_of(s: &str) -> StoreResult<Source> {
    Source::parse(s).ok_or_else(|| backend(format!("bad stored source {s:?}")))
}

fn state_of(s: &str) -> StoreResult<UserState> {
    UserState::parse(s).ok_or_else(|| backend(format!("bad stored user state {s:?}")))
}

pub(crate) fn tenant_of(mut row: Row) -> StoreResult<TenantRow> {
    Ok(TenantRow {
        id: row.text("id")?,
        name: row.text("name")?,
        settings: row.json("settings")?,
        created: row.time("created")?,
    })
}

pub(crate) fn token_of(mut row: Row) -> StoreResult<TokenRow> {
    let scope = row.text("scope")?;
    Ok(TokenRow {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        name: row.text("name")?,
        scope: TokenScope::parse(&scope)
            .ok_or_else(|| backend(format!("bad stored token scope {scope:?}")))?,
        secret_sha256: row.blob("secret_sha256")?,
        created: row.time("created")?,
        last_used: row.opt_time("last_used")?,
        revoked: row.opt_time("revoked")?,
    })
}

/// A user row without its emails, and its `seq`.
pub(crate) fn user_of(mut row: Row) -> StoreResult<(i64, UserRecord)> {
    Ok((
        row.int("seq")?,
        UserRecord {
            id: row.text("id")?,
            tenant_id: row.text("tenant_id")?,
            user_name: row.text("user_name")?,
            external_id: row.opt_text("external_id")?,
            display_name: row.opt_text("display_name")?,
            state: state_of(&row.text("state")?)?,
            source: source_of(&row.text("source")?)?,
            version: row.int("version")?,
            created: row.time("created")?,
            last_modified: row.time("last_modified")?,
            doc: row.json("doc")?,
            doc_folded: row.json("doc_folded")?,
            emails: Vec::new(),
        },
    ))
}

pub(crate) fn group_of(mut row: Row) -> StoreResult<GroupRecord> {
    Ok(GroupRecord {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        display_name: row.text("display_name")?,
        external_id: row.opt_text("external_id")?,
        source: source_of(&row.text("source")?)?,
        builtin: row.bool("builtin")?,
        version: row.int("version")?,
        created: row.time("created")?,
        last_modified: row.time("last_modified")?,
        doc: row.json("doc")?,
        doc_folded: row.json("doc_folded")?,
    })
}

/// A member of [`member_cols`] and its group id.
pub(crate) fn member_of(mut row: Row) -> StoreResult<(String, MemberRow)> {
    Ok((
        row.text("group_id")?,
        MemberRow {
            id: row.text("member_id")?,
            kind: kind_of(&row.text("member_kind")?),
            display: row.opt_text("display")?,
            user_name: row.opt_text("member_user_name")?,
            state: row
                .opt_text("member_state")?
                .and_then(|s| UserState::parse(&s)),
        },
    ))
}

/// A membership of [`MEMBERSHIP_COLS`].
pub(crate) fn membership_of(mut row: Row) -> StoreResult<scimd_directory::store::MembershipRow> {
    Ok(scimd_directory::store::MembershipRow {
        tenant_id: row.text("tenant_id")?,
        group_id: row.text("group_id")?,
        member_id: row.text("member_id")?,
        kind: kind_of(&row.text("member_kind")?),
    })
}

pub(crate) fn attribute_of(mut row: Row) -> StoreResult<AttributeRow> {
    Ok(AttributeRow {
        tenant_id: row.text("tenant_id")?,
        name: row.text("name")?,
        ty: row.text("type")?,
        created: row.time("created")?,
    })
}

pub(crate) fn log_of(mut row: Row) -> StoreResult<LogEntry> {
    let status = row.int("status")?;
    Ok(LogEntry {
        seq: row.int("seq")?,
        tenant_id: row.text("tenant_id")?,
        at: row.time("at")?,
        token_name: row.opt_text("token_name")?.unwrap_or_default(),
        method: row.text("method")?,
        path: row.text("path")?,
        resource_type: row.opt_text("resource_type")?.unwrap_or_default(),
        resource_id: row.opt_text("resource_id")?,
        resource_name: row.opt_text("resource_name")?,
        outcome: row.text("outcome")?,
        status: u16::try_from(status)
            .map_err(|_| backend(format!("bad stored provisioning-log status {status}")))?,
        detail: row.opt_text("detail")?,
        changed: row.texts("changed")?,
        warnings: row.texts("warnings")?,
    })
}

pub(crate) fn admin_of(mut row: Row) -> StoreResult<AdminRow> {
    Ok(AdminRow {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        username: row.text("username")?,
        password_hash: row.text("password_hash")?,
        created: row.time("created")?,
        password_changed: row.time("password_changed")?,
        must_change_password: row.bool("must_change_password")?,
    })
}

pub(crate) fn session_of(mut row: Row) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        id_sha256: row.blob("id_sha256")?,
        tenant_id: row.text("tenant_id")?,
        admin_id: row.text("admin_id")?,
        csrf_token: row.text("csrf_token")?,
        created: row.time("created")?,
        expires: row.time("expires")?,
    })
}
