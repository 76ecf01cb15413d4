//! The directory rules' bulk edits of user documents: values of custom attributes
//! (counted, stripped, moved to a new schema URN) and state changes of many users.
//!
//! Document edits are made in Rust on the rows read (locked in a PostgreSQL write
//! transaction) and written back in batches, on both back ends: `doc` is kept as written,
//! key order included, which PostgreSQL's `jsonb` functions would not keep; SQLite runs the
//! same statements. Batches keep memory and statement size bounded for any number of users;
//! rows are found through the `(tenant_id, seq)` index (keyset paging) or by id.

use super::run::{Count, StoreTx};
use crate::exec::Exec;
use crate::rows::read_row;
use crate::sql::{Bind, Sql, Tbl, Ty, MAX_BINDS};
use scimd_directory::store::{EditedUser, StoreError, StoreResult, UserState};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Users read and rewritten per statement by document edits (three binds each per write).
const EDIT_BATCH: usize = (MAX_BINDS - 3) / 3;

/// A document key of an edit's path. Errors: Backend for the keys SQLite's JSON paths
/// cannot spell (empty, or holding a double quote or a backslash; neither occurs in an
/// ATTRNAME, nor in a usable schema URN).
fn key(k: &str) -> StoreResult<String> {
    if k.is_empty() || k.contains('"') || k.contains('\\') {
        return Err(StoreError::Backend(format!(
            "cannot address the document key {k:?}: keys must be non-empty and hold no '\"' or '\\'"
        )));
    }
    Ok(k.to_string())
}

/// Appends `type(base at path) <op>`: the JSON type of the value at `path` of `base`
/// compared by `op` (`IS NOT NULL`: present, null included; `<> 'null'`: holds a value).
fn json_type_is(s: &mut Sql<'_>, base: &str, path: &[String], op: &str) {
    let (before, path, after) = s.dialect().json_type_at(base, path);
    s.sql(&before).bind(path).sql(&after).sql(" ").sql(op);
}

/// A user row read for an edit.
struct Doc {
    seq: i64,
    id: String,
    user_name: String,
    doc: Value,
    doc_folded: Value,
}

impl Doc {
    /// The user as an edit reports it, with the value the edit replaced.
    fn edited(&self, before: Option<Value>) -> EditedUser {
        EditedUser {
            id: self.id.clone(),
            user_name: self.user_name.clone(),
            before,
        }
    }
}

impl<E: Exec> StoreTx<E> {
    /// Writes `doc` / `doc_folded` (and `state` when given) of the users of `docs`, bumping
    /// version and setting lastModified to `at`. Returns how many rows changed.
    async fn write_documents(
        &mut self,
        tenant_id: &str,
        docs: &[Doc],
        state: Option<UserState>,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut changed = 0;
        for chunk in docs.chunks(EDIT_BATCH) {
            let mut s = self.of(tenant_id);
            s.sql("UPDATE ")
                .table(Tbl::Users, "")
                .sql(" SET doc = v.column2, doc_folded = v.column3, state = COALESCE(")
                .bind(state.map_or(Bind::Null(Ty::Text), |s| Bind::text(s.as_str())))
                .sql(", state), version = version + 1, last_modified = ")
                .bind(Bind::Time(at))
                .sql(" FROM (VALUES ");
            for (i, d) in chunk.iter().enumerate() {
                s.sql(if i == 0 { "(" } else { ", (" })
                    .binds([
                        Bind::Int(d.seq),
                        Bind::Json(d.doc.to_string()),
                        Bind::Jsonb(d.doc_folded.to_string()),
                    ])
                    .sql(")");
            }
            s.sql(") AS v WHERE users.seq = v.column1 AND ")
                .tenant("")
                .long();
            changed += self.run(s).await?;
        }
        Ok(changed)
    }

    /// Reads `doc` and `doc_folded` of rows of users `r`: the statement's `WHERE` terms after
    /// the tenant's are written by `filter`; in `seq` order, locked to be written over.
    async fn read_documents(
        &mut self,
        tenant_id: &str,
        filter: impl FnOnce(&mut Sql<'_>),
    ) -> StoreResult<Vec<Doc>> {
        let mut s = self.of(tenant_id);
        s.sql("SELECT r.seq, r.id, r.user_name, r.doc, r.doc_folded FROM ")
            .table(Tbl::Users, "r")
            .sql(" WHERE ")
            .tenant("r");
        filter(&mut s);
        s.long();
        let docs = self
            .rows(s)
            .await?
            .into_iter()
            .map(|mut row| Ok(read_row!(row => Doc { seq, id, user_name, doc, doc_folded })));
        docs.collect()
    }

    /// Applies `edit` to `doc` and `doc_folded` of every user of the tenant where either
    /// holds something at `path` (present, null included), bumping version and lastModified
    /// of those `edit` changed (`edit` gives the value it replaced, `None` when it changed
    /// nothing). Returns the users changed, each with the value replaced in `doc`.
    async fn edit_documents(
        &mut self,
        tenant_id: &str,
        path: &[String],
        edit: impl Fn(&mut Value) -> Option<Value>,
    ) -> StoreResult<Vec<EditedUser>> {
        let now = OffsetDateTime::now_utc();
        let doc = self.x.dialect().doc();
        let mut after = 0i64;
        let mut changed = Vec::new();
        loop {
            let rows = self
                .read_documents(tenant_id, |s| {
                    s.sql(" AND r.seq > ").bind(Bind::Int(after)).sql(" AND (");
                    json_type_is(s, doc, path, "IS NOT NULL");
                    s.sql(" OR ");
                    json_type_is(s, "r.doc_folded", path, "IS NOT NULL");
                    s.sql(") ORDER BY r.seq")
                        .page(Some(EDIT_BATCH as u64), 0)
                        .lock_rows();
                })
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            let mut edited = Vec::with_capacity(rows.len());
            for mut r in rows {
                let a = edit(&mut r.doc);
                let b = edit(&mut r.doc_folded);
                if a.is_some() || b.is_some() {
                    changed.push(r.edited(a));
                    edited.push(r);
                }
            }
            self.write_documents(tenant_id, &edited, None, now).await?;
        }
        Ok(changed)
    }
}

fn object_mut<'v>(v: &'v mut Value, k: &str) -> Option<&'v mut Map<String, Value>> {
    v.as_object_mut()?.get_mut(k)?.as_object_mut()
}

/// Removes attribute `name` from the extension object `urn` of `doc`, and the object where
/// it was its only key; the value removed (`None`: `doc` did not change).
fn strip(doc: &mut Value, urn: &str, name: &str) -> Option<Value> {
    let ext = object_mut(doc, urn).filter(|e| e.contains_key(name))?;
    if ext.keys().any(|k| k != name) {
        return ext.shift_remove(name);
    }
    // The attribute is the extension's only key: the whole object goes.
    let removed = ext.get(name).cloned();
    doc.as_object_mut()?.shift_remove(urn);
    removed
}

/// Moves `doc[old]` to `doc[new]` (an existing `new` value is replaced in place, else the
/// value is appended); the value moved (`None`: `doc` did not change).
fn rename(doc: &mut Value, old: &str, new: &str) -> Option<Value> {
    let top = doc.as_object_mut()?;
    let v = top.shift_remove(old)?;
    top.insert(new.to_string(), v.clone());
    Some(v)
}

impl<E: Exec> StoreTx<E> {
    /// How many users of tenant `t` hold a value (not null) at `doc[urn][name]`.
    pub(super) async fn count_values(&mut self, t: &str, urn: &str, name: &str) -> Count {
        let path = [key(urn)?, key(name)?];
        let mut s = self.q().select(t, "COUNT(*)", (Tbl::Users, "r"), []);
        s.sql(" AND ").long();
        // The JSON type: NULL when absent, 'null' for a JSON null; neither holds a value.
        let doc = s.dialect().doc();
        json_type_is(&mut s, doc, &path, "<> 'null'");
        self.count(s).await
    }

    /// Removes `doc[urn][name]` from the tenant's users ([`strip`]); those changed, with the
    /// value removed.
    pub(super) async fn strip_values(
        &mut self,
        t: &str,
        urn: &str,
        name: &str,
    ) -> StoreResult<Vec<EditedUser>> {
        let path = [key(urn)?, key(name)?];
        self.edit_documents(t, &path, |doc| strip(doc, urn, name))
            .await
    }

    /// Moves `doc[old]` to `doc[new]` in the tenant's users ([`rename`]); those changed,
    /// with the value moved.
    pub(super) async fn rename_key(
        &mut self,
        t: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<Vec<EditedUser>> {
        if old == new {
            return Ok(Vec::new());
        }
        let (path, _) = ([key(old)?], key(new)?);
        self.edit_documents(t, &path, |doc| rename(doc, old, new))
            .await
    }

    /// Sets the state of the users `ids` whose state is `from` to `to`, and `active` in
    /// their documents; those changed, with `active` of their document before.
    pub(super) async fn set_state(
        &mut self,
        t: &str,
        ids: &[String],
        (from, to): (UserState, UserState),
        at: OffsetDateTime,
    ) -> StoreResult<Vec<EditedUser>> {
        if from == to {
            return Ok(Vec::new());
        }
        let active = Value::Bool(to == UserState::Active);
        let mut changed = Vec::new();
        for chunk in ids.chunks(EDIT_BATCH) {
            let mut rows = self
                .read_documents(t, |s| {
                    s.sql(" AND r.state = ").bind(Bind::text(from.as_str()));
                    s.sql(" AND ").in_texts("r.id", chunk);
                    s.sql(" ORDER BY r.seq").lock_rows();
                })
                .await?;
            for r in rows.iter_mut() {
                let before = r.doc.get("active").cloned();
                changed.push(r.edited(before));
                for d in [&mut r.doc, &mut r.doc_folded] {
                    if let Some(o) = d.as_object_mut() {
                        o.insert("active".into(), active.clone());
                    }
                }
            }
            self.write_documents(t, &rows, Some(to), at).await?;
        }
        Ok(changed)
    }
}
