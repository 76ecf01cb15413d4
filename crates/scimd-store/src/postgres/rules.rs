//! The PostgreSQL side of the product's directory rules: custom attributes (and their
//! values in user documents), lifecycle helpers, counts, the provisioning log and the
//! administrator listings. [`super::PgTx`]'s `Tx` methods delegate here.
//!
//! Edits of user documents (stripping or moving an extension key, `active` on a state
//! change) are made in Rust on the locked rows and written back, not with `jsonb` functions:
//! `doc` is kept as written (key order included), which `jsonb` would not keep.

use super::filter::PgDialect;
use super::{db_err, get, group_of, micros, PgTx};
use crate::common::{
    backend, count_of, log_search_text, push_admin_groups_where, push_admin_users_where,
    push_log_where, source_of, state_of, status_of, Paged, GROUP_COLS, LOG_COLS, USER_COLS,
};
use scim_proto::filter::fold;
use scimd_directory::store::{
    AdminUserFilter, AttributeRow, GroupRecord, LogEntry, LogQuery, Source, StoreResult,
    UserRecord, UserState,
};
use serde_json::{Map, Value};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use time::OffsetDateTime;

/// Users rewritten per statement by document edits.
const EDIT_BATCH: i64 = 500;

/// A document key for a `text[]` path. Errors: Backend for the keys the SQLite store
/// cannot address either (empty, or holding a double quote or a backslash; neither occurs
/// in a URN or an ATTRNAME), so both stores accept the same keys.
fn key(k: &str) -> StoreResult<String> {
    if k.is_empty() || k.contains('"') || k.contains('\\') {
        return Err(backend(format!(
            "cannot address the document key {k:?}: keys must be non-empty and hold no '\"' or '\\'"
        )));
    }
    Ok(k.to_string())
}

// ---------------------------------------------------------------------------------------
// Custom attributes
// ---------------------------------------------------------------------------------------

pub(super) async fn list_attributes(
    tx: &mut PgTx,
    tenant_id: &str,
) -> StoreResult<Vec<AttributeRow>> {
    let rows = sqlx::query(
        "SELECT tenant_id, name, type, created FROM attributes WHERE tenant_id = $1 ORDER BY seq",
    )
    .bind(tenant_id)
    .fetch_all(tx.conn())
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(AttributeRow {
                tenant_id: get(row, "tenant_id")?,
                name: get(row, "name")?,
                ty: get(row, "type")?,
                created: get(row, "created")?,
            })
        })
        .collect()
}

pub(super) async fn insert_attribute(tx: &mut PgTx, a: &AttributeRow) -> StoreResult<()> {
    tx.savepoint().await?;
    let r = sqlx::query(
        "INSERT INTO attributes (tenant_id, name, name_folded, type, created) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&a.tenant_id)
    .bind(&a.name)
    .bind(fold(&a.name))
    .bind(&a.ty)
    .bind(micros(a.created))
    .execute(tx.conn())
    .await;
    tx.settle(r).await?;
    Ok(())
}

pub(super) async fn delete_attribute(
    tx: &mut PgTx,
    tenant_id: &str,
    name: &str,
) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM attributes WHERE tenant_id = $1 AND name_folded = $2")
        .bind(tenant_id)
        .bind(fold(name))
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn count_extension_values(
    tx: &mut PgTx,
    tenant_id: &str,
    ext_urn: &str,
    name: &str,
) -> StoreResult<u64> {
    // jsonb_typeof: NULL when absent, 'null' for a JSON null; neither holds a value.
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND jsonb_typeof(doc::jsonb #> $2) <> 'null'",
    )
    .bind(tenant_id)
    .bind(vec![key(ext_urn)?, key(name)?])
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(count_of(n))
}

/// Applies `edit` to `doc` and `doc_folded` of every user of the tenant where either holds
/// something at `path` (present, null included), bumping version and lastModified of those
/// `edit` changed. Rows are locked, edited in Rust and written back in batches. Returns how
/// many users changed.
async fn edit_documents(
    tx: &mut PgTx,
    tenant_id: &str,
    path: Vec<String>,
    edit: impl Fn(&mut Value) -> bool,
) -> StoreResult<u64> {
    let now = micros(OffsetDateTime::now_utc());
    let mut after = 0i64;
    let mut changed = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, doc, doc_folded FROM users WHERE tenant_id = $1 AND seq > $2 \
             AND ((doc::jsonb #> $3) IS NOT NULL OR (doc_folded #> $3) IS NOT NULL) \
             ORDER BY seq LIMIT $4 FOR UPDATE",
        )
        .bind(tenant_id)
        .bind(after)
        .bind(&path)
        .bind(EDIT_BATCH)
        .fetch_all(tx.conn())
        .await
        .map_err(db_err)?;
        let Some(last) = rows.last() else { break };
        after = get(last, "seq")?;
        let mut seqs = Vec::new();
        let mut docs = Vec::new();
        let mut folded = Vec::new();
        for row in &rows {
            let mut doc = get::<Json<Value>>(row, "doc")?.0;
            let mut doc_folded = get::<Json<Value>>(row, "doc_folded")?.0;
            let a = edit(&mut doc);
            let b = edit(&mut doc_folded);
            if a || b {
                seqs.push(get::<i64>(row, "seq")?);
                docs.push(doc.to_string());
                folded.push(doc_folded.to_string());
            }
        }
        changed += write_documents(tx, &seqs, &docs, &folded, None, now).await?;
    }
    Ok(changed)
}

/// Writes `doc` / `doc_folded` (and `state` when given) of the users `seqs`, bumping
/// version and setting lastModified to `at`.
async fn write_documents(
    tx: &mut PgTx,
    seqs: &[i64],
    docs: &[String],
    folded: &[String],
    state: Option<UserState>,
    at: OffsetDateTime,
) -> StoreResult<u64> {
    if seqs.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE users u SET doc = v.doc::json, doc_folded = v.doc_folded::jsonb, \
         state = COALESCE($5, u.state), version = u.version + 1, last_modified = $4 \
         FROM UNNEST($1::bigint[], $2::text[], $3::text[]) AS v(seq, doc, doc_folded) WHERE u.seq = v.seq",
    )
    .bind(seqs)
    .bind(docs)
    .bind(folded)
    .bind(at)
    .bind(state.map(UserState::as_str))
    .execute(tx.conn())
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected())
}

fn object_mut<'v>(v: &'v mut Value, k: &str) -> Option<&'v mut Map<String, Value>> {
    v.as_object_mut()?.get_mut(k)?.as_object_mut()
}

pub(super) async fn strip_extension_values(
    tx: &mut PgTx,
    tenant_id: &str,
    ext_urn: &str,
    name: &str,
) -> StoreResult<u64> {
    let path = vec![key(ext_urn)?, key(name)?];
    edit_documents(tx, tenant_id, path, |doc| {
        let Some(ext) = object_mut(doc, ext_urn) else {
            return false;
        };
        if !ext.contains_key(name) {
            return false;
        }
        if ext.keys().all(|k| k == name) {
            // The attribute is the extension's only key: the whole object goes.
            if let Some(top) = doc.as_object_mut() {
                top.shift_remove(ext_urn);
            }
        } else {
            ext.shift_remove(name);
        }
        true
    })
    .await
}

pub(super) async fn rename_extension_key(
    tx: &mut PgTx,
    tenant_id: &str,
    old_urn: &str,
    new_urn: &str,
) -> StoreResult<u64> {
    if old_urn == new_urn {
        return Ok(0);
    }
    let (old, new) = (key(old_urn)?, key(new_urn)?);
    edit_documents(tx, tenant_id, vec![old.clone()], |doc| {
        let Some(top) = doc.as_object_mut() else {
            return false;
        };
        match top.shift_remove(&old) {
            // An existing `new_urn` value is replaced (in place), else the value is appended.
            Some(v) => {
                top.insert(new.clone(), v);
                true
            }
            None => false,
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Directory rules helpers
// ---------------------------------------------------------------------------------------

pub(super) async fn members_in_no_other_group(
    tx: &mut PgTx,
    tenant_id: &str,
    group_id: &str,
) -> StoreResult<Vec<String>> {
    sqlx::query_scalar(
        "SELECT gm.member_id FROM group_members gm \
         WHERE gm.group_id = (SELECT id FROM groups WHERE id = $1 AND tenant_id = $2) \
         AND gm.member_kind = 'User' \
         AND NOT EXISTS (SELECT 1 FROM group_members o JOIN groups og ON og.id = o.group_id \
                         WHERE o.member_id = gm.member_id AND o.group_id <> gm.group_id \
                         AND og.tenant_id = $2 AND NOT og.builtin) \
         ORDER BY gm.seq",
    )
    .bind(group_id)
    .bind(tenant_id)
    .fetch_all(tx.conn())
    .await
    .map_err(db_err)
}

pub(super) async fn set_users_state(
    tx: &mut PgTx,
    tenant_id: &str,
    ids: &[String],
    from: UserState,
    to: UserState,
    at: OffsetDateTime,
) -> StoreResult<u64> {
    if from == to || ids.is_empty() {
        return Ok(0);
    }
    let active = Value::Bool(to == UserState::Active);
    let mut changed = 0;
    for chunk in ids.chunks(EDIT_BATCH as usize) {
        let rows: Vec<PgRow> = sqlx::query(
            "SELECT seq, doc, doc_folded FROM users WHERE tenant_id = $1 AND state = $2 AND id = ANY($3) \
             ORDER BY seq FOR UPDATE",
        )
        .bind(tenant_id)
        .bind(from.as_str())
        .bind(chunk)
        .fetch_all(tx.conn())
        .await
        .map_err(db_err)?;
        let mut seqs = Vec::with_capacity(rows.len());
        let mut docs = Vec::with_capacity(rows.len());
        let mut folded = Vec::with_capacity(rows.len());
        for row in &rows {
            seqs.push(get::<i64>(row, "seq")?);
            for (col, out) in [("doc", &mut docs), ("doc_folded", &mut folded)] {
                let mut d = get::<Json<Value>>(row, col)?.0;
                if let Some(o) = d.as_object_mut() {
                    o.insert("active".into(), active.clone());
                }
                out.push(d.to_string());
            }
        }
        changed += write_documents(tx, &seqs, &docs, &folded, Some(to), micros(at)).await?;
    }
    Ok(changed)
}

pub(super) async fn user_counts(
    tx: &mut PgTx,
    tenant_id: &str,
) -> StoreResult<Vec<(UserState, Source, u64)>> {
    let rows = sqlx::query(
        "SELECT state, source, COUNT(*) AS n FROM users WHERE tenant_id = $1 \
         GROUP BY state, source ORDER BY state, source",
    )
    .bind(tenant_id)
    .fetch_all(tx.conn())
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok((
                state_of(get(row, "state")?)?,
                source_of(get(row, "source")?)?,
                count_of(get(row, "n")?),
            ))
        })
        .collect()
}

pub(super) async fn group_count(tx: &mut PgTx, tenant_id: &str) -> StoreResult<u64> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE tenant_id = $1 AND NOT builtin")
            .bind(tenant_id)
            .fetch_one(tx.conn())
            .await
            .map_err(db_err)?;
    Ok(count_of(n))
}

// ---------------------------------------------------------------------------------------
// Provisioning log
// ---------------------------------------------------------------------------------------

pub(super) fn log_of(row: &PgRow) -> StoreResult<LogEntry> {
    Ok(LogEntry {
        seq: get(row, "seq")?,
        tenant_id: get(row, "tenant_id")?,
        at: get(row, "at")?,
        token_name: get::<Option<String>>(row, "token_name")?.unwrap_or_default(),
        method: get(row, "method")?,
        path: get(row, "path")?,
        resource_type: get::<Option<String>>(row, "resource_type")?.unwrap_or_default(),
        resource_id: get(row, "resource_id")?,
        resource_name: get(row, "resource_name")?,
        outcome: get(row, "outcome")?,
        status: status_of(i64::from(get::<i32>(row, "status")?))?,
        detail: get(row, "detail")?,
        changed: get(row, "changed")?,
        warnings: get(row, "warnings")?,
    })
}

pub(super) async fn insert_log(tx: &mut PgTx, e: &LogEntry) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO provisioning_log (tenant_id, at, token_name, method, path, resource_type, resource_id, \
         resource_name, outcome, status, detail, changed, warnings, search_folded) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING seq",
    )
    .bind(&e.tenant_id)
    .bind(micros(e.at))
    .bind(&e.token_name)
    .bind(&e.method)
    .bind(&e.path)
    .bind(&e.resource_type)
    .bind(&e.resource_id)
    .bind(&e.resource_name)
    .bind(&e.outcome)
    .bind(i32::from(e.status))
    .bind(&e.detail)
    .bind(&e.changed)
    .bind(&e.warnings)
    .bind(log_search_text(e))
    .fetch_one(tx.conn())
    .await
    .map_err(db_err)
}

pub(super) async fn query_log(
    tx: &mut PgTx,
    tenant_id: &str,
    q: &LogQuery,
) -> StoreResult<(u64, Vec<LogEntry>)> {
    let (total, rows) = tx
        .paged(&Paged {
            cols: LOG_COLS,
            from_where: &|qb| push_log_where(qb, &PgDialect, tenant_id, q),
            order: "seq DESC",
            limit: q.limit,
            offset: q.offset,
        })
        .await?;
    Ok((total, rows.iter().map(log_of).collect::<StoreResult<_>>()?))
}

pub(super) async fn purge_log(tx: &mut PgTx, before: OffsetDateTime) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM provisioning_log WHERE at < $1")
        .bind(micros(before))
        .execute(tx.conn())
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

// ---------------------------------------------------------------------------------------
// Administrator listings
// ---------------------------------------------------------------------------------------

pub(super) async fn admin_list_users(
    tx: &mut PgTx,
    tenant_id: &str,
    f: &AdminUserFilter,
    offset: u64,
    limit: u64,
) -> StoreResult<(u64, Vec<UserRecord>)> {
    let (total, rows) = tx
        .paged(&Paged {
            cols: USER_COLS,
            from_where: &|qb| push_admin_users_where(qb, &PgDialect, tenant_id, f),
            order: "r.seq",
            limit,
            offset,
        })
        .await?;
    Ok((total, tx.users_with_emails(rows).await?))
}

pub(super) async fn admin_list_groups(
    tx: &mut PgTx,
    tenant_id: &str,
    search: Option<&str>,
    offset: u64,
    limit: u64,
) -> StoreResult<(u64, Vec<GroupRecord>)> {
    let (total, rows) = tx
        .paged(&Paged {
            cols: GROUP_COLS,
            from_where: &|qb| push_admin_groups_where(qb, &PgDialect, tenant_id, search),
            order: "r.builtin DESC, r.seq",
            limit,
            offset,
        })
        .await?;
    Ok((
        total,
        rows.iter().map(group_of).collect::<StoreResult<_>>()?,
    ))
}
