//! Column lists and row mappers: how the records of `scimd_directory::store` are read from
//! result rows, once for both back ends (the getters of [`Row`] read either spelling).

use crate::sql::{Row, Sql, Tbl};
use scimd_directory::store::{
    AccessTokenRow, Actor, ActorType, AdminRow, AttributeRow, Cause, Change, ChangeRecord, Channel,
    ClientRow, GroupRecord, IssuerRow, MemberKind, MemberRow, RefusalRow, SessionRow, Source,
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
    "id, tenant_id, name, scope, secret_sha256, created, last_used, revoked, expires";

/// Columns of an OAuth client row.
pub(crate) const CLIENT_COLS: &str =
    "id, tenant_id, name, secret_sha256, created, last_used, revoked";

/// Columns of an access token row.
pub(crate) const ACCESS_TOKEN_COLS: &str = "tenant_id, client_id, secret_sha256, created, expires";

/// Columns of a kept refusal row.
pub(crate) const REFUSAL_COLS: &str = "tenant_id, at, reason, credential, method, path, address";

/// Columns of an issuer row.
pub(crate) const ISSUER_COLS: &str =
    "id, tenant_id, issuer, audience, app_ids, metadata_url, jwks_file, created";

/// Columns of a custom attribute row.
pub(crate) const ATTRIBUTE_COLS: &str = "tenant_id, name, type, created";

/// Columns of a change record written by an insert, in the order of
/// `tx::records::record_values` (`tenant_id` bound by the layer).
pub(crate) const RECORD_WRITE_COLS: &str =
    "tenant_id, txn, at, actor_type, actor_name, source, address, cause, cause_name, method, \
     path, status, resource_type, resource_id, resource_name, member_id, member_kind, outcome, \
     action, detail, changes, warnings, occurrences, in_log, in_audit, search_folded";

/// Columns of a change record row `r`.
pub(crate) const RECORD_COLS: &str =
    "r.seq, r.tenant_id, r.txn, r.at, r.actor_type, r.actor_name, r.source, r.address, \
     r.cause, r.cause_name, r.method, r.path, r.status, r.resource_type, r.resource_id, \
     r.resource_name, r.member_id, r.member_kind, r.outcome, r.action, r.detail, r.changes, \
     r.warnings, r.occurrences, r.in_log, r.in_audit";

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

pub(crate) fn kind_of(s: &str) -> MemberKind {
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
        expires: row.opt_time("expires")?,
    })
}

pub(crate) fn client_of(mut row: Row) -> StoreResult<ClientRow> {
    Ok(ClientRow {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        name: row.text("name")?,
        secret_sha256: row.blob("secret_sha256")?,
        created: row.time("created")?,
        last_used: row.opt_time("last_used")?,
        revoked: row.opt_time("revoked")?,
    })
}

pub(crate) fn access_token_of(mut row: Row) -> StoreResult<AccessTokenRow> {
    Ok(AccessTokenRow {
        tenant_id: row.text("tenant_id")?,
        client_id: row.text("client_id")?,
        secret_sha256: row.blob("secret_sha256")?,
        created: row.time("created")?,
        expires: row.time("expires")?,
    })
}

pub(crate) fn refusal_of(mut row: Row) -> StoreResult<RefusalRow> {
    Ok(RefusalRow {
        tenant_id: row.text("tenant_id")?,
        at: row.time("at")?,
        reason: row.text("reason")?,
        credential: row.text("credential")?,
        method: row.text("method")?,
        path: row.text("path")?,
        address: row.opt_text("address")?,
    })
}

pub(crate) fn issuer_of(mut row: Row) -> StoreResult<IssuerRow> {
    let app_ids = row.json("app_ids")?;
    let app_ids = serde_json::from_value::<Vec<String>>(app_ids)
        .map_err(|e| backend(format!("bad stored issuer app_ids: {e}")))?;
    let keys_from = [row.opt_text("metadata_url")?, row.opt_text("jwks_file")?];
    let [metadata_url, jwks_file] = keys_from;
    Ok(IssuerRow {
        id: row.text("id")?,
        tenant_id: row.text("tenant_id")?,
        issuer: row.text("issuer")?,
        audience: row.text("audience")?,
        app_ids,
        metadata_url,
        jwks_file,
        created: row.time("created")?,
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

/// The outcome of a per-member record.
pub(crate) fn member_outcome(added: bool) -> &'static str {
    if added {
        "member added"
    } else {
        "member removed"
    }
}

/// The change a per-member record stands for: `members` gains (or loses) `{value, type}`.
fn member_change(id: &str, kind: MemberKind, added: bool) -> Change {
    let v = serde_json::json!({"value": id, "type": kind_str(kind)});
    let (before, after) = if added {
        (None, Some(v))
    } else {
        (Some(v), None)
    };
    Change::new("members", before, after)
}

pub(crate) fn record_of(mut row: Row) -> StoreResult<ChangeRecord> {
    let seq = row.int("seq")?;
    let bad =
        |what: &str, v: &str| backend(format!("change record {seq}: bad stored {what} {v:?}"));
    let actor_type = row.text("actor_type")?;
    let actor = Actor::new(
        ActorType::parse(&actor_type).ok_or_else(|| bad("actor type", &actor_type))?,
        row.text("actor_name")?,
    );
    let source = row.text("source")?;
    let source = Channel::parse(&source).ok_or_else(|| bad("source", &source))?;
    let cause_name = row.opt_text("cause_name")?.unwrap_or_default();
    let cause = match row.text("cause")?.as_str() {
        "request" => Cause::Request {
            method: row.opt_text("method")?.unwrap_or_default(),
            path: row.opt_text("path")?.unwrap_or_default(),
            status: row.opt_int("status")?.and_then(|s| u16::try_from(s).ok()),
        },
        "rule" => Cause::Rule(cause_name),
        "command" => Cause::Command(cause_name),
        other => return Err(bad("cause", other)),
    };
    let member = match (row.opt_text("member_id")?, row.opt_text("member_kind")?) {
        (Some(id), Some(k)) => Some((id, kind_of(&k))),
        _ => None,
    };
    let outcome = row.text("outcome")?;
    let changes = match row.opt_json("changes")? {
        Some(v) => {
            serde_json::from_value::<Vec<Change>>(v).map_err(|e| bad("changes", &e.to_string()))?
        }
        None => match &member {
            Some((id, kind)) => vec![member_change(id, *kind, outcome == member_outcome(true))],
            None => Vec::new(),
        },
    };
    Ok(ChangeRecord {
        seq,
        tenant_id: row.text("tenant_id")?,
        txn: row.text("txn")?,
        at: row.time("at")?,
        actor,
        source,
        address: row.opt_text("address")?,
        cause,
        resource_type: row.opt_text("resource_type")?,
        resource_id: row.opt_text("resource_id")?,
        resource_name: row.opt_text("resource_name")?,
        member,
        outcome,
        action: row.opt_text("action")?,
        detail: row.opt_text("detail")?,
        changes,
        warnings: row.texts("warnings")?,
        count: row.count("occurrences")?,
        log: row.bool("in_log")?,
        audit: row.bool("in_audit")?,
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
