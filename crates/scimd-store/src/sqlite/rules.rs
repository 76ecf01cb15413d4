//! The store side of the product's directory rules: custom attributes (and their values in
//! user documents), lifecycle helpers, dashboard counts, the provisioning log and the
//! administrator listings. [`super::SqliteTx`]'s `Tx` methods delegate here.
//!
//! JSON paths into documents are built in Rust and bound as parameters, never spliced into
//! the SQL; keys are quoted (`$."urn:...:User"."costCode"`), so a key holding a double quote
//! or a backslash (neither occurs in a URN or an ATTRNAME) is refused.

use super::filter::SqliteDialect;
use super::{get, group_of, q, Qb, Row, SqliteTx, MAX_BINDS};
use crate::common::{
    backend, count_of, log_search_text, push_admin_groups_where, push_admin_users_where,
    push_log_where, source_of, state_of, status_of, Paged, GROUP_COLS, LOG_COLS, USER_COLS,
};
use crate::timefmt;
use scim_proto::filter::fold;
use scimd_directory::store::{
    AdminUserFilter, AttributeRow, GroupRecord, LogEntry, LogQuery, Source, StoreResult,
    UserRecord, UserState,
};
use time::OffsetDateTime;

/// `key` quoted as a JSON path label (`"key"`). Errors: Backend for a key SQLite's path
/// syntax cannot spell.
fn label(key: &str) -> StoreResult<String> {
    if key.is_empty() || key.contains('"') || key.contains('\\') {
        return Err(backend(format!(
            "cannot address the document key {key:?}: keys must be non-empty and hold no '\"' or '\\'"
        )));
    }
    Ok(format!("\"{key}\""))
}

/// `$."<urn>"`: the extension object of a document.
fn ext_path(urn: &str) -> StoreResult<String> {
    Ok(format!("$.{}", label(urn)?))
}

/// `$."<urn>"."<name>"`: one attribute of an extension object.
fn ext_attr_path(urn: &str, name: &str) -> StoreResult<String> {
    Ok(format!("$.{}.{}", label(urn)?, label(name)?))
}

// ---------------------------------------------------------------------------------------
// Custom attributes
// ---------------------------------------------------------------------------------------

fn attribute_of(row: &Row) -> StoreResult<AttributeRow> {
    Ok(AttributeRow {
        tenant_id: get(row, "tenant_id")?,
        name: get(row, "name")?,
        ty: get(row, "type")?,
        created: timefmt::parse(&get::<String>(row, "created")?)?,
    })
}

pub(super) fn list_attributes(
    tx: &mut SqliteTx,
    tenant_id: &str,
) -> StoreResult<Vec<AttributeRow>> {
    let rows = q(
        "SELECT tenant_id, name, type, created FROM attributes WHERE tenant_id = ? ORDER BY seq",
    )
    .bind(tenant_id)
    .fetch_all(tx.conn())?;
    rows.iter().map(attribute_of).collect()
}

pub(super) fn insert_attribute(tx: &mut SqliteTx, a: &AttributeRow) -> StoreResult<()> {
    q(
        "INSERT INTO attributes (tenant_id, name, name_folded, type, created) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&a.tenant_id)
    .bind(&a.name)
    .bind(fold(&a.name))
    .bind(&a.ty)
    .bind(timefmt::format(a.created))
    .execute(tx.conn())?;
    Ok(())
}

pub(super) fn delete_attribute(
    tx: &mut SqliteTx,
    tenant_id: &str,
    name: &str,
) -> StoreResult<bool> {
    let done = q("DELETE FROM attributes WHERE tenant_id = ? AND name_folded = ?")
        .bind(tenant_id)
        .bind(fold(name))
        .execute(tx.conn())?;
    Ok(done > 0)
}

pub(super) fn count_extension_values(
    tx: &mut SqliteTx,
    tenant_id: &str,
    ext_urn: &str,
    name: &str,
) -> StoreResult<u64> {
    // json_type: NULL when absent, 'null' for a JSON null; neither holds a value.
    let n: i64 =
        q("SELECT COUNT(*) FROM users WHERE tenant_id = ?1 AND json_type(doc, ?2) <> 'null'")
            .bind(tenant_id)
            .bind(ext_attr_path(ext_urn, name)?)
            .scalar(tx.conn())?;
    Ok(count_of(n))
}

pub(super) fn strip_extension_values(
    tx: &mut SqliteTx,
    tenant_id: &str,
    ext_urn: &str,
    name: &str,
) -> StoreResult<u64> {
    // ?1 the extension object, ?2 the attribute in it, ?3 its key. Where the attribute is the
    // object's only key, the whole object goes (which removes the attribute too). SET
    // expressions read the row as it was before the update.
    let one = |col: &str| {
        format!(
            "CASE WHEN json_type({col}, ?2) IS NULL THEN {col} \
             WHEN NOT EXISTS (SELECT 1 FROM json_each({col}, ?1) WHERE key IS NOT ?3) THEN json_remove({col}, ?1) \
             ELSE json_remove({col}, ?2) END"
        )
    };
    let sql = format!(
        "UPDATE users SET doc = {}, doc_folded = {}, version = version + 1, last_modified = ?4 \
         WHERE tenant_id = ?5 AND (json_type(doc, ?2) IS NOT NULL OR json_type(doc_folded, ?2) IS NOT NULL)",
        one("doc"),
        one("doc_folded")
    );
    let done = q(sql)
        .bind(ext_path(ext_urn)?)
        .bind(ext_attr_path(ext_urn, name)?)
        .bind(name)
        .bind(timefmt::format(OffsetDateTime::now_utc()))
        .bind(tenant_id)
        .execute(tx.conn())?;
    Ok(done)
}

pub(super) fn rename_extension_key(
    tx: &mut SqliteTx,
    tenant_id: &str,
    old_urn: &str,
    new_urn: &str,
) -> StoreResult<u64> {
    if old_urn == new_urn {
        return Ok(0);
    }
    // `->` gives the JSON text of the value (a string stays quoted); json() marks it as JSON
    // so that json_set inserts it as is. An existing `new_urn` value is replaced.
    let one = |col: &str| {
        format!(
            "CASE WHEN json_type({col}, ?1) IS NULL THEN {col} \
             ELSE json_set(json_remove({col}, ?1), ?2, json({col} -> ?1)) END"
        )
    };
    let sql = format!(
        "UPDATE users SET doc = {}, doc_folded = {}, version = version + 1, last_modified = ?3 \
         WHERE tenant_id = ?4 AND (json_type(doc, ?1) IS NOT NULL OR json_type(doc_folded, ?1) IS NOT NULL)",
        one("doc"),
        one("doc_folded")
    );
    let done = q(sql)
        .bind(ext_path(old_urn)?)
        .bind(ext_path(new_urn)?)
        .bind(timefmt::format(OffsetDateTime::now_utc()))
        .bind(tenant_id)
        .execute(tx.conn())?;
    Ok(done)
}

// ---------------------------------------------------------------------------------------
// Directory rules helpers
// ---------------------------------------------------------------------------------------

pub(super) fn members_in_no_other_group(
    tx: &mut SqliteTx,
    tenant_id: &str,
    group_id: &str,
) -> StoreResult<Vec<String>> {
    q("SELECT gm.member_id FROM group_members gm \
         WHERE gm.group_id = (SELECT id FROM groups WHERE id = ?1 AND tenant_id = ?2) \
         AND gm.member_kind = 'User' \
         AND NOT EXISTS (SELECT 1 FROM group_members o JOIN groups og ON og.id = o.group_id \
                         WHERE o.member_id = gm.member_id AND o.group_id <> gm.group_id \
                         AND og.tenant_id = ?2 AND og.builtin = 0) \
         ORDER BY gm.seq")
    .bind(group_id)
    .bind(tenant_id)
    .scalars(tx.conn())
}

pub(super) fn set_users_state(
    tx: &mut SqliteTx,
    tenant_id: &str,
    ids: &[String],
    from: UserState,
    to: UserState,
    at: OffsetDateTime,
) -> StoreResult<u64> {
    if from == to || ids.is_empty() {
        return Ok(0);
    }
    // A constant, not client text.
    let active = if to == UserState::Active {
        "json('true')"
    } else {
        "json('false')"
    };
    let at = timefmt::format(at);
    let mut changed = 0;
    // Four binds for the statement, the rest for ids.
    for chunk in ids.chunks(MAX_BINDS - 4) {
        let mut qb: Qb = Qb::new("UPDATE users SET state = ");
        qb.push_bind(to.as_str());
        qb.push(", version = version + 1, last_modified = ");
        qb.push_bind(at.clone());
        qb.push(format!(
            ", doc = json_set(doc, '$.active', {active}), \
             doc_folded = json_set(doc_folded, '$.active', {active}) WHERE tenant_id = "
        ));
        qb.push_bind(tenant_id.to_string());
        qb.push(" AND state = ");
        qb.push_bind(from.as_str());
        qb.push(" AND id IN (");
        qb.push_binds(chunk.iter());
        qb.push(")");
        changed += qb.execute(tx.conn())?;
    }
    Ok(changed)
}

pub(super) fn user_counts(
    tx: &mut SqliteTx,
    tenant_id: &str,
) -> StoreResult<Vec<(UserState, Source, u64)>> {
    let rows = q(
        "SELECT state, source, COUNT(*) AS n FROM users WHERE tenant_id = ? \
         GROUP BY state, source ORDER BY state, source",
    )
    .bind(tenant_id)
    .fetch_all(tx.conn())?;
    rows.iter()
        .map(|row| {
            Ok((
                state_of(&get::<String>(row, "state")?)?,
                source_of(&get::<String>(row, "source")?)?,
                count_of(get(row, "n")?),
            ))
        })
        .collect()
}

pub(super) fn group_count(tx: &mut SqliteTx, tenant_id: &str) -> StoreResult<u64> {
    let n: i64 = q("SELECT COUNT(*) FROM groups WHERE tenant_id = ? AND builtin = 0")
        .bind(tenant_id)
        .scalar(tx.conn())?;
    Ok(count_of(n))
}

// ---------------------------------------------------------------------------------------
// Provisioning log
// ---------------------------------------------------------------------------------------

fn strings_json(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn strings_of(s: Option<String>, what: &str) -> StoreResult<Vec<String>> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| backend(format!("bad stored provisioning-log {what} JSON: {e}"))),
    }
}

pub(super) fn log_of(row: &Row) -> StoreResult<LogEntry> {
    Ok(LogEntry {
        seq: get(row, "seq")?,
        tenant_id: get(row, "tenant_id")?,
        at: timefmt::parse(&get::<String>(row, "at")?)?,
        token_name: get::<Option<String>>(row, "token_name")?.unwrap_or_default(),
        method: get(row, "method")?,
        path: get(row, "path")?,
        resource_type: get::<Option<String>>(row, "resource_type")?.unwrap_or_default(),
        resource_id: get(row, "resource_id")?,
        resource_name: get(row, "resource_name")?,
        outcome: get(row, "outcome")?,
        status: status_of(get(row, "status")?)?,
        detail: get(row, "detail")?,
        changed: strings_of(get(row, "changed")?, "changed")?,
        warnings: strings_of(get(row, "warnings")?, "warnings")?,
    })
}

pub(super) fn insert_log(tx: &mut SqliteTx, e: &LogEntry) -> StoreResult<i64> {
    q(
        "INSERT INTO provisioning_log (tenant_id, at, token_name, method, path, resource_type, resource_id, \
         resource_name, outcome, status, detail, changed, warnings, search_folded) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
    )
    .bind(&e.tenant_id)
    .bind(timefmt::format(e.at))
    .bind(&e.token_name)
    .bind(&e.method)
    .bind(&e.path)
    .bind(&e.resource_type)
    .bind(&e.resource_id)
    .bind(&e.resource_name)
    .bind(&e.outcome)
    .bind(i64::from(e.status))
    .bind(&e.detail)
    .bind(strings_json(&e.changed))
    .bind(strings_json(&e.warnings))
    .bind(log_search_text(e))
    .scalar(tx.conn())
}

pub(super) fn query_log(
    tx: &mut SqliteTx,
    tenant_id: &str,
    q: &LogQuery,
) -> StoreResult<(u64, Vec<LogEntry>)> {
    let (total, rows) = tx.paged(&Paged {
        cols: LOG_COLS,
        from_where: &|qb| push_log_where(qb, &SqliteDialect, tenant_id, q),
        order: "seq DESC",
        limit: q.limit,
        offset: q.offset,
    })?;
    Ok((total, rows.iter().map(log_of).collect::<StoreResult<_>>()?))
}

pub(super) fn purge_log(tx: &mut SqliteTx, before: OffsetDateTime) -> StoreResult<u64> {
    let done = q("DELETE FROM provisioning_log WHERE at < ?")
        .bind(timefmt::format(before))
        .execute(tx.conn())?;
    Ok(done)
}

// ---------------------------------------------------------------------------------------
// Administrator listings
// ---------------------------------------------------------------------------------------

pub(super) fn admin_list_users(
    tx: &mut SqliteTx,
    tenant_id: &str,
    f: &AdminUserFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(u64, Vec<UserRecord>)> {
    let (total, rows) = tx.paged(&Paged {
        cols: USER_COLS,
        from_where: &|qb| push_admin_users_where(qb, &SqliteDialect, tenant_id, f),
        order: "r.seq",
        limit,
        offset,
    })?;
    Ok((total, tx.users_with_emails(rows)?))
}

pub(super) fn admin_list_groups(
    tx: &mut SqliteTx,
    tenant_id: &str,
    search: Option<&str>,
    offset: u64,
    limit: u64,
) -> StoreResult<(u64, Vec<GroupRecord>)> {
    let (total, rows) = tx.paged(&Paged {
        cols: GROUP_COLS,
        from_where: &|qb| push_admin_groups_where(qb, &SqliteDialect, tenant_id, search),
        order: "r.builtin DESC, r.seq",
        limit,
        offset,
    })?;
    Ok((
        total,
        rows.iter().map(group_of).collect::<StoreResult<_>>()?,
    ))
}
