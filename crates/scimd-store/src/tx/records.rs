//! Change records (table `changes`): appended one statement per record, per-member records
//! in batches, read through one of three views (the provisioning log, the audit record, a
//! resource's history), rewritten for the privacy rule, and coalesced (failed sign-ins).

use super::run::StoreTx;
use super::search::push_contains;
use crate::exec::Exec;
use crate::rows::{kind_str, member_outcome, record_of, RECORD_COLS, RECORD_WRITE_COLS};
use crate::sql::{Bind, Sql, Tbl, Ty, MAX_BINDS};
use scim_proto::filter::fold;
use scimd_directory::admin::token_name;
use scimd_directory::store::{
    Cause, ChangeRecord, MemberChange, RecordQuery, RecordView, StoreError, StoreResult,
};

/// The folded text the `text` filter searches, for provisioning-log and audit records:
/// resource name, resource id, path (or command), detail, the log's token name of the
/// actor, address; each folded, joined with `\n`. Empty for other records (never searched).
fn search_text(r: &ChangeRecord) -> String {
    if !(r.log || r.audit) {
        return String::new();
    }
    let path = match &r.cause {
        Cause::Request { path, .. } => path.as_str(),
        Cause::Command(c) => c.as_str(),
        Cause::Rule(_) => "",
    };
    [
        r.resource_name.as_deref().unwrap_or(""),
        r.resource_id.as_deref().unwrap_or(""),
        path,
        r.detail.as_deref().unwrap_or(""),
        &token_name(&r.actor, r.source),
        r.address.as_deref().unwrap_or(""),
    ]
    .map(fold)
    .join("\n")
}

/// The stored `changes` of a record: its JSON array, NULL when it has none (and always for
/// a per-member record, whose change is its member).
fn changes_value(r: &ChangeRecord) -> StoreResult<Bind> {
    if r.changes.is_empty() || r.member.is_some() {
        return Ok(Bind::Null(Ty::Json));
    }
    serde_json::to_string(&r.changes)
        .map(Bind::Json)
        .map_err(|e| StoreError::Backend(format!("cannot serialise changes: {e}")))
}

/// `(cause, cause_name, method, path, status)` of a cause.
fn cause_values(c: &Cause) -> [Bind; 5] {
    let (kind, name) = match c {
        Cause::Request {
            method,
            path,
            status,
        } => {
            let status = status.map_or(Bind::Null(Ty::Int), |s| Bind::Int(i64::from(s)));
            let (method, path) = (Bind::text(method), Bind::text(path));
            return [
                Bind::text("request"),
                Bind::Null(Ty::Text),
                method,
                path,
                status,
            ];
        }
        Cause::Rule(name) => ("rule", name),
        Cause::Command(cmd) => ("command", cmd),
    };
    let none = Bind::Null(Ty::Text);
    [
        Bind::text(kind),
        Bind::text(name),
        none.clone(),
        none,
        Bind::Null(Ty::Int),
    ]
}

/// The values of [`RECORD_WRITE_COLS`] but `tenant_id`, for `r`.
fn record_values(r: &ChangeRecord) -> StoreResult<Vec<Bind>> {
    let opt = |v: &Option<String>| Bind::opt_text(v.as_deref());
    let mut v = vec![
        Bind::text(&r.txn),
        Bind::Time(r.at),
        Bind::text(r.actor.kind.as_str()),
        Bind::text(&r.actor.name),
        Bind::text(r.source.as_str()),
        opt(&r.address),
    ];
    v.extend(cause_values(&r.cause));
    v.extend([
        opt(&r.resource_type),
        opt(&r.resource_id),
        opt(&r.resource_name),
        Bind::opt_text(r.member.as_ref().map(|m| m.0.as_str())),
        Bind::opt_text(r.member.as_ref().map(|m| kind_str(m.1))),
        Bind::text(&r.outcome),
        opt(&r.action),
        opt(&r.detail),
        changes_value(r)?,
        Bind::Texts(r.warnings.clone()),
        Bind::count(r.count.max(1)),
        Bind::Bool(r.log),
        Bind::Bool(r.audit),
        Bind::Text(search_text(r)),
    ]);
    Ok(v)
}

/// ` FROM changes r WHERE …` of a record query.
fn records_where(qb: &mut Sql<'_>, q: &RecordQuery) {
    qb.sql(" FROM ")
        .table(Tbl::Changes, "r")
        .sql(" WHERE ")
        .tenant("r");
    match &q.view {
        // The partial indexes' predicates, spelled as they are.
        RecordView::Log => {
            qb.sql(" AND r.in_log");
        }
        RecordView::Audit => {
            qb.sql(" AND r.in_audit");
        }
        RecordView::Resource(id) => {
            // Each side on its own index (resource_id, member_id), not an OR of both.
            qb.sql(" AND r.seq IN (SELECT a.seq FROM ")
                .table(Tbl::Changes, "a")
                .sql(" WHERE a.resource_id = ")
                .bind(Bind::text(id))
                .sql(" AND ")
                .tenant("a")
                .sql(" UNION ALL SELECT b.seq FROM ")
                .table(Tbl::Changes, "b")
                .sql(" WHERE b.member_id = ")
                .bind(Bind::text(id))
                .sql(" AND ")
                .tenant("b")
                .sql(")");
        }
    }
    let eq = |qb: &mut Sql<'_>, col: &str, v: &Option<String>| {
        if let Some(v) = v {
            qb.sql(" AND ").sql(col).sql(" = ").bind(Bind::text(v));
        }
    };
    let w = &q.window;
    eq(qb, "r.txn", &w.txn);
    eq(qb, "r.outcome", &q.outcome);
    eq(qb, "r.resource_type", &q.resource_type);
    eq(qb, "r.action", &q.action);
    eq(qb, "r.actor_name", &q.actor);
    eq(qb, "r.source", &q.source.map(|s| s.as_str().to_string()));
    if let Some(t) = w.since {
        qb.sql(" AND r.at >= ").bind(Bind::Time(t));
    }
    if let Some(t) = w.until {
        qb.sql(" AND r.at < ").bind(Bind::Time(t));
    }
    if let Some(text) = w.text.as_deref().filter(|t| !t.is_empty()) {
        qb.sql(" AND ");
        push_contains(qb, "r.search_folded", &fold(text));
    }
}

impl<E: Exec> StoreTx<E> {
    /// Appends `r`; its `seq`.
    pub(super) async fn insert_change(&mut self, r: &ChangeRecord) -> StoreResult<i64> {
        let row = record_values(r)?;
        let mut s = self
            .q()
            .insert(&*r.tenant_id, Tbl::Changes, RECORD_WRITE_COLS, [row]);
        s.sql(" RETURNING seq");
        self.int(s).await
    }

    /// Appends the per-member records of `members`, copies of `base` naming each member.
    pub(super) async fn insert_member_changes(
        &mut self,
        base: &ChangeRecord,
        members: &[MemberChange],
    ) -> StoreResult<()> {
        let mut base = base.clone();
        base.member = None;
        base.changes.clear();
        base.log = false;
        base.audit = false;
        let mut values = record_values(&base)?;
        // The last columns (member, outcome ... search text) come from each member's row.
        let cols: Vec<&str> = RECORD_WRITE_COLS.split(", ").collect();
        let member_at = cols.iter().position(|c| *c == "member_id").unwrap_or(0);
        values.truncate(member_at - 1);
        let constant = &cols[..member_at];
        let per_member = 3;
        let room = (MAX_BINDS - values.len() - 1) / per_member;
        for chunk in members.chunks(room.max(1)) {
            let mut s = self.of(&base.tenant_id);
            let names = format!("{}, member_id, member_kind, outcome", constant.join(", "));
            s.insert_into(Tbl::Changes, &names).sql("SELECT ");
            s.tenant_value();
            for v in values.iter().cloned() {
                s.sql(", ").bind(v);
            }
            s.sql(", v.column1, v.column2, v.column3 FROM (VALUES ");
            for (i, m) in chunk.iter().enumerate() {
                s.sql(if i == 0 { "(" } else { ", (" });
                s.binds([
                    Bind::text(&m.id),
                    Bind::text(kind_str(m.kind)),
                    Bind::text(member_outcome(m.added)),
                ]);
                s.sql(")");
            }
            s.sql(") v");
            self.run(s).await?;
        }
        Ok(())
    }

    /// Records of tenant `t` matching `q`, newest first, with the total.
    pub(super) async fn changes_of(
        &mut self,
        t: &str,
        q: &RecordQuery,
    ) -> StoreResult<(u64, Vec<ChangeRecord>)> {
        let by = |s: &mut Sql<'_>| records_where(s, q);
        let (total, rows) = self
            .paged(t, (RECORD_COLS, "r.seq DESC", (q.offset, q.limit), &by))
            .await?;
        let records = rows
            .into_iter()
            .map(record_of)
            .collect::<StoreResult<_>>()?;
        Ok((total, records))
    }

    /// Rewrites the resource name, detail and changes (and search text) of record `r.seq`.
    pub(super) async fn rewrite_change(&mut self, r: &ChangeRecord) -> StoreResult<bool> {
        let set = [
            ("resource_name", Bind::opt_text(r.resource_name.as_deref())),
            ("detail", Bind::opt_text(r.detail.as_deref())),
            ("changes", changes_value(r)?),
            ("search_folded", Bind::Text(search_text(r))),
        ];
        let key = [("seq", Bind::Int(r.seq))];
        let s = self.q().update(&*r.tenant_id, Tbl::Changes, set, key);
        Ok(self.run(s).await? > 0)
    }

    /// Appends `r` under coalescing key `key`, or adds its count to the record holding it.
    pub(super) async fn coalesce_change(&mut self, r: &ChangeRecord, key: &str) -> StoreResult<()> {
        let mut row = record_values(r)?;
        row.push(Bind::text(key));
        let cols = format!("{RECORD_WRITE_COLS}, coalesce_key");
        let mut s = self.q().insert(&*r.tenant_id, Tbl::Changes, &cols, [row]);
        s.sql(
            " ON CONFLICT (tenant_id, coalesce_key) WHERE coalesce_key IS NOT NULL \
             DO UPDATE SET occurrences = changes.occurrences + excluded.occurrences",
        );
        self.run(s).await.map(drop)
    }

    /// The coalescing keys of tenant `t` starting with `prefix` (a range of the unique
    /// index, byte order).
    pub(super) async fn coalesced(&mut self, t: &str, prefix: &str) -> StoreResult<Vec<String>> {
        let mut upper = prefix.to_string();
        match upper.pop() {
            // The smallest text above every text starting with `prefix`.
            Some(c) => upper.push(char::from_u32(c as u32 + 1).unwrap_or(char::MAX)),
            None => upper.push(char::MAX),
        }
        let mut s = self.q().select(t, "coalesce_key", (Tbl::Changes, ""), []);
        s.sql(" AND coalesce_key >= ")
            .bind(Bind::text(prefix))
            .sql(" AND coalesce_key < ")
            .bind(Bind::Text(upper));
        let rows = self.rows(s).await?;
        rows.into_iter()
            .map(|mut r| r.text("coalesce_key"))
            .collect()
    }
}
