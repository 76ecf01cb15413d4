//! Row types and their columns: how the records of `scimd_directory::store` are read from
//! result rows (once for both back ends: the getters of [`Row`] read either spelling) and,
//! for those inserted as they are read, written.
//!
//! A record kept field for column in one table is a line of `tables!`: its columns, the
//! mapper and the insert values all follow from its fields, each read and bound as its type
//! says ([`Column`]). Records with columns of their own shape (users, groups, change records,
//! issuers, memberships with their member's names) are read with [`read_row!`].

use crate::sql::{Bind, Column, Row, Sql, Tbl};
use scimd_directory::store::{
    AccessTokenRow, Actor, ActorType, AdminRow, AttributeRow, Cause, Change, ChangeRecord, Channel,
    ClientRow, GroupRecord, IssuerRow, MemberKind, MemberRow, MembershipRow, RefusalRow,
    SessionRow, Source, StoreError, StoreResult, TenantRow, TenantState, TokenRow, TokenScope,
    UserRecord, UserState,
};

/// Builds the struct `$ty` from the result row `$row` (a `mut` [`Row`] binding): each field
/// read from the column of its name, or of the name after `=`, as its type reads a column
/// ([`Column`]); a field written `field: value` takes the value; the fields after `;` take
/// the local variables of their names. Errors (`?`, in the calling function): `Backend`
/// for a missing column or a stored value of another type.
macro_rules! read_row {
    ($row:ident => $ty:ident {
        $($f:ident $(= $c:literal)? $(: $v:expr)?),* $(; $($local:ident),*)?
    }) => {
        $ty {
            $($f: $crate::rows::read_row!(@field $row, $f $(= $c)? $(: $v)?),)*
            $($($local,)*)?
        }
    };
    (@field $row:ident, $f:ident) => {
        $row.get(stringify!($f))?
    };
    (@field $row:ident, $f:ident = $c:literal) => {
        $row.get($c)?
    };
    (@field $row:ident, $f:ident : $v:expr) => {
        $v
    };
}
pub(crate) use read_row;

/// A record kept field for column in one table (a line of `tables!`; issuers written out):
/// the table, its columns, and how a result row of them reads.
pub(crate) trait Stored: Sized {
    /// The table.
    const TABLE: Tbl;
    /// The columns, `a, b, c`, one per field: its name, or the name the table gives it.
    const COLS: &'static str;
    /// Reads a result row of [`Stored::COLS`]. Errors: `Backend` for a missing column or
    /// a stored value of another type.
    fn read(row: Row) -> StoreResult<Self>;
}

/// A [`Stored`] record inserted as it is read (a line of `tables!` marked `+ Insert`).
pub(crate) trait Insert: Stored {
    /// The values of [`Stored::COLS`] but `tenant_id` (the statement layer binds the
    /// statement's tenant: `crate::sql::Stmts::insert`).
    fn binds(&self) -> Vec<Bind>;
}

/// Declares [`Stored`] (and, marked `+ Insert`, [`Insert`]) for records kept field for
/// column: `Record in Table { field, field = "column", … }`.
macro_rules! tables {
    ($(
        $ty:ident $(+ $insert:ident)? in $tbl:ident {
            $f0:ident $(= $c0:literal)? $(, $f:ident $(= $c:literal)?)*
        }
    )*) => {$(
        impl Stored for $ty {
            const TABLE: Tbl = Tbl::$tbl;
            const COLS: &'static str =
                concat!(tables!(@col $f0 $(= $c0)?) $(, ", ", tables!(@col $f $(= $c)?))*);
            fn read(mut row: Row) -> StoreResult<Self> {
                Ok(read_row!(row => $ty { $f0 $(= $c0)?, $($f $(= $c)?),* }))
            }
        }
        tables!(@insert $ty $(+ $insert)?; [$f0 $(= $c0)?] $([$f $(= $c)?])*);
    )*};
    (@col $f:ident) => {
        stringify!($f)
    };
    (@col $f:ident = $c:literal) => {
        $c
    };
    (@insert $ty:ident; $($fields:tt)*) => {};
    (@insert $ty:ident + Insert; $([$f:ident $(= $c:literal)?])*) => {
        impl Insert for $ty {
            fn binds(&self) -> Vec<Bind> {
                let mut binds = Vec::new();
                $(if tables!(@col $f $(= $c)?) != "tenant_id" {
                    binds.push(self.$f.bind());
                })*
                binds
            }
        }
    };
}

tables! {
    TenantRow + Insert in Tenants { id, name, slug, state, settings, created, last_scim_request }
    TokenRow + Insert in Tokens {
        id, tenant_id, name, scope, secret_sha256, created, last_used, revoked, expires
    }
    ClientRow + Insert in OauthClients {
        id, tenant_id, name, secret_sha256, created, last_used, revoked
    }
    AccessTokenRow + Insert in AccessTokens { tenant_id, client_id, secret_sha256, created, expires }
    RefusalRow + Insert in AuthRefusals { tenant_id, at, reason, credential, method, path, address }
    SessionRow + Insert in Sessions { id_sha256, tenant_id, admin_id, csrf_token, created, expires }
    AttributeRow in Attributes { tenant_id, name, ty = "type", created }
    AdminRow in Admins {
        id, tenant_id, username, password_hash, created, password_changed, must_change_password
    }
    MembershipRow in GroupMembers { tenant_id, group_id, member_id, kind = "member_kind" }
}

/// Columns of a user row `r`.
pub(crate) const USER_COLS: &str =
    "r.seq, r.id, r.tenant_id, r.user_name, r.external_id, r.display_name, r.state, r.source, \
                         r.version, r.created, r.last_modified, r.doc, r.doc_folded";

/// Columns of a group row `r`.
pub(crate) const GROUP_COLS: &str =
    "r.seq, r.id, r.tenant_id, r.display_name, r.external_id, r.source, r.builtin, r.version, \
                          r.created, r.last_modified, r.doc, r.doc_folded";

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

/// How a member's kind is stored (`User`, `Group`).
pub(crate) fn kind_str(k: MemberKind) -> &'static str {
    match k {
        MemberKind::User => "User",
        MemberKind::Group => "Group",
    }
}

/// The member kind stored as `s` ([`kind_str`]; anything else reads as a user).
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

/// `s` parsed by `parse`. Errors: `Backend` naming `what` when it does not parse.
fn parsed<T>(s: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(s).ok_or_else(|| backend(format!("bad stored {what} {s:?}")))
}

/// `impl Column` for the product's enumerations stored as their `as_str`, read by their
/// `parse` (`Backend` naming the column's meaning for any other text).
macro_rules! text_columns {
    ($($ty:ident: $what:literal),*) => {$(
        impl Column for $ty {
            fn read(row: &mut Row, col: &str) -> StoreResult<Self> {
                parsed(&row.text(col)?, $what, $ty::parse)
            }
            fn bind(&self) -> Bind {
                Bind::text(self.as_str())
            }
        }
    )*};
}

text_columns!(
    Source: "source",
    UserState: "user state",
    TenantState: "tenant state"
);

/// Stored as its `as_str`, `operator` included.
impl Column for TokenScope {
    fn read(row: &mut Row, col: &str) -> StoreResult<Self> {
        parsed(&row.text(col)?, "token scope", TokenScope::parse_stored)
    }
    fn bind(&self) -> Bind {
        Bind::text(self.as_str())
    }
}

/// Stored as [`kind_str`]; anything but `Group` reads as a user.
impl Column for MemberKind {
    fn read(row: &mut Row, col: &str) -> StoreResult<Self> {
        Ok(kind_of(&row.text(col)?))
    }
    fn bind(&self) -> Bind {
        Bind::text(kind_str(*self))
    }
}

/// Issuers are kept field for column too, but for `app_ids`: a JSON array of strings
/// (`json`), not a list column.
impl Stored for IssuerRow {
    const TABLE: Tbl = Tbl::Issuers;
    const COLS: &'static str =
        "id, tenant_id, issuer, audience, app_ids, metadata_url, jwks_file, created";
    fn read(mut row: Row) -> StoreResult<Self> {
        let app_ids = serde_json::from_value::<Vec<String>>(row.json("app_ids")?)
            .map_err(|e| backend(format!("bad stored issuer app_ids: {e}")))?;
        Ok(read_row!(row => IssuerRow {
            id, tenant_id, issuer, audience, metadata_url, jwks_file, created; app_ids
        }))
    }
}

/// A user row of [`USER_COLS`] without its emails, and its `seq`.
pub(crate) fn user_of(mut row: Row) -> StoreResult<(i64, UserRecord)> {
    let seq = row.int("seq")?;
    let user = read_row!(row => UserRecord {
        id, tenant_id, user_name, external_id, display_name, state, source, version, created,
        last_modified, doc, doc_folded, emails: Vec::new()
    });
    Ok((seq, user))
}

/// A group row of [`GROUP_COLS`].
pub(crate) fn group_of(mut row: Row) -> StoreResult<GroupRecord> {
    Ok(read_row!(row => GroupRecord {
        id, tenant_id, display_name, external_id, source, builtin, version, created,
        last_modified, doc, doc_folded
    }))
}

/// A member of [`member_cols`] and its group id.
pub(crate) fn member_of(mut row: Row) -> StoreResult<(String, MemberRow)> {
    let group_id = row.text("group_id")?;
    let member = read_row!(row => MemberRow {
        id = "member_id", kind = "member_kind", display, user_name = "member_user_name",
        state: row.opt_text("member_state")?.and_then(|s| UserState::parse(&s))
    });
    Ok((group_id, member))
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

/// A change record of [`RECORD_COLS`].
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
    Ok(read_row!(row => ChangeRecord {
        tenant_id, txn, at, address, resource_type, resource_id, resource_name, action, detail,
        warnings, count = "occurrences", log = "in_log", audit = "in_audit";
        seq, actor, source, cause, member, outcome, changes
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Ty;
    use time::macros::datetime;

    #[test]
    fn columns_and_binds_follow_the_fields() {
        assert_eq!(
            TokenRow::COLS,
            "id, tenant_id, name, scope, secret_sha256, created, last_used, revoked, expires"
        );
        assert_eq!(AttributeRow::COLS, "tenant_id, name, type, created");
        assert_eq!(
            MembershipRow::COLS,
            "tenant_id, group_id, member_id, member_kind"
        );
        let at = datetime!(2026-12-06 12:00 UTC);
        let client = ClientRow {
            id: "c1".into(),
            tenant_id: "t1".into(),
            name: "app".into(),
            secret_sha256: vec![1, 2],
            created: at,
            last_used: Some(at),
            revoked: None,
        };
        // `tenant_id` is the statement's tenant, bound by the layer.
        assert_eq!(
            client.binds(),
            [
                Bind::text("c1"),
                Bind::text("app"),
                Bind::Blob(vec![1, 2]),
                Bind::Time(at),
                Bind::Time(at),
                Bind::Null(Ty::Time),
            ]
        );
    }
}
