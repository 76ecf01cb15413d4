//! Migration parity: `migrations/sqlite` and `migrations/postgres` describe the same schema.
//!
//! Both folders are applied to fresh databases (a SQLite file; a PostgreSQL database when
//! `SCIMD_TEST_PG_URL` names a server, else the test says so and passes) and their catalogs
//! are read back and compared, table by table: columns (name, nullability, type family),
//! primary keys, unique constraints (by columns: SQLite keeps no names for them), foreign
//! keys (columns, referenced table and columns, `ON DELETE`), and indexes (name, columns,
//! uniqueness, partial predicate).
//!
//! Type families are SQLite's storage classes, which is what the two spellings share:
//! `text` (PostgreSQL `text`, `json`, `jsonb`, `timestamptz`, `text[]`: SQLite stores each
//! as TEXT), `integer` (`bigint`, `integer`, `boolean`) and `blob` (`bytea`). PostgreSQL
//! `INCLUDE` columns count as trailing index columns (SQLite has no `INCLUDE`: its indexes
//! carry them as keys).

#[macro_use]
mod support;

use rusqlite::Connection;
use scimd_directory::store::{Store, TokenScope};
use scimd_store::SqliteStore;
use std::collections::{BTreeMap, BTreeSet};
use support::{open, pg_url, scratch, store, Backend, Scratch, TestStore, PG_URL_VAR};

both!(
    databases_migrate_forward_keeping_their_rows,
    provisioning_log_entries_become_change_records,
    identifier_keys_are_recomputed_when_migrating
);

/// One column: type family and NOT NULL.
type Column = (String, bool);

/// A foreign key: columns, referenced table, referenced columns, `ON DELETE` action.
type ForeignKey = (Vec<String>, String, Vec<String>, String);

/// An index made with CREATE INDEX: columns, unique, partial predicate (normalised).
type Index = (Vec<String>, bool, Option<String>);

/// What the comparison reads of one table.
#[derive(Debug, Default, PartialEq, Eq)]
struct TableShape {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    unique: BTreeSet<Vec<String>>,
    foreign_keys: BTreeSet<ForeignKey>,
    indexes: BTreeMap<String, Index>,
}

type Shape = BTreeMap<String, TableShape>;

fn sqlite_family(declared: &str) -> String {
    match declared.to_ascii_uppercase().as_str() {
        "TEXT" => "text",
        "INTEGER" => "integer",
        "BLOB" => "blob",
        other => panic!("SQLite column type {other} has no family here: add it"),
    }
    .to_string()
}

fn pg_family(ty: &str) -> String {
    match ty {
        "text" | "json" | "jsonb" | "timestamp with time zone" | "text[]" => "text",
        "bigint" | "integer" | "smallint" | "boolean" => "integer",
        "bytea" => "blob",
        other => panic!("PostgreSQL column type {other} has no family here: add it"),
    }
    .to_string()
}

/// A partial-index predicate without case, parentheses and repeated blanks.
fn predicate(p: &str) -> String {
    p.to_ascii_lowercase()
        .replace(['(', ')'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn sqlite_shape(path: &std::path::Path) -> Shape {
    let c = Connection::open(path).unwrap();
    let strings = |sql: &str| -> Vec<String> {
        let mut s = c.prepare(sql).unwrap();
        s.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut shape = Shape::new();
    for t in strings(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    ) {
        let mut ts = TableShape::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut s = c.prepare(&format!("PRAGMA table_info(\"{t}\")")).unwrap();
        let cols = s
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("name")?,
                    r.get::<_, String>("type")?,
                    r.get::<_, i64>("notnull")?,
                    r.get::<_, i64>("pk")?,
                ))
            })
            .unwrap();
        for col in cols {
            let (name, ty, notnull, pk_pos) = col.unwrap();
            if pk_pos > 0 {
                pk.push((pk_pos, name.clone()));
            }
            // A primary-key column holds no NULL (SQLite's INTEGER PRIMARY KEY is the rowid).
            ts.columns
                .insert(name, (sqlite_family(&ty), notnull != 0 || pk_pos > 0));
        }
        pk.sort();
        ts.primary_key = pk.into_iter().map(|(_, n)| n).collect();
        let mut s = c.prepare(&format!("PRAGMA index_list(\"{t}\")")).unwrap();
        let indexes: Vec<(String, i64, String)> = s
            .query_map([], |r| {
                Ok((r.get("name")?, r.get("unique")?, r.get("origin")?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (name, unique, origin) in indexes {
            let mut s = c
                .prepare(&format!("PRAGMA index_info(\"{name}\")"))
                .unwrap();
            let mut cols: Vec<(i64, String)> = s
                .query_map([], |r| Ok((r.get("seqno")?, r.get("name")?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            cols.sort();
            let cols: Vec<String> = cols.into_iter().map(|(_, n)| n).collect();
            match origin.as_str() {
                "pk" => {}
                "u" => {
                    ts.unique.insert(cols);
                }
                _ => {
                    let sql: String = c
                        .query_row(
                            "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?",
                            [&name],
                            |r| r.get(0),
                        )
                        .unwrap();
                    let pred = sql.split_once(" WHERE ").map(|(_, p)| predicate(p));
                    ts.indexes.insert(name, (cols, unique != 0, pred));
                }
            }
        }
        let mut s = c
            .prepare(&format!("PRAGMA foreign_key_list(\"{t}\")"))
            .unwrap();
        let fks: Vec<(i64, String, String, String, String)> = s
            .query_map([], |r| {
                Ok((
                    r.get("id")?,
                    r.get("table")?,
                    r.get("from")?,
                    r.get("to")?,
                    r.get("on_delete")?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for (id, table, from, to, on_delete) in fks {
            let e = by_id
                .entry(id)
                .or_insert_with(|| (Vec::new(), table, Vec::new(), on_delete));
            e.0.push(from);
            e.2.push(to);
        }
        ts.foreign_keys = by_id.into_values().collect();
        shape.insert(t, ts);
    }
    shape
}

async fn pg_shape(url: &str) -> Shape {
    use sqlx::{Connection, Row};
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
         AND tablename <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    // Column names of `attnums` of table `rel`, in order.
    const NAMES: &str = "(SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(%s) WITH ORDINALITY k(n, ord) \
         JOIN pg_attribute a ON a.attrelid = %r AND a.attnum = k.n)";
    let names = |attnums: &str, rel: &str| NAMES.replace("%s", attnums).replace("%r", rel);
    let mut shape = Shape::new();
    for t in tables {
        let mut ts = TableShape::default();
        let rel = format!("'public.{t}'::regclass");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT attname::text, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute \
             WHERE attrelid = {rel} AND attnum > 0 AND NOT attisdropped"
        )))
        .fetch_all(&mut c)
        .await
        .unwrap();
        for r in rows {
            let ty: String = r.get(1);
            ts.columns.insert(r.get(0), (pg_family(&ty), r.get(2)));
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT contype::text, {}, confrelid::regclass::text, {}, confdeltype::text FROM pg_constraint \
             WHERE conrelid = {rel} AND contype IN ('p', 'u', 'f')",
            names("conkey", "conrelid"),
            names("confkey", "confrelid")
        )))
        .fetch_all(&mut c)
        .await
        .unwrap();
        for r in rows {
            let kind: String = r.get(0);
            let cols: Vec<String> = r.get(1);
            match kind.as_str() {
                "p" => ts.primary_key = cols,
                "u" => {
                    ts.unique.insert(cols);
                }
                _ => {
                    let action = match r.get::<String, _>(4).as_str() {
                        "c" => "CASCADE",
                        "a" => "NO ACTION",
                        "r" => "RESTRICT",
                        "n" => "SET NULL",
                        _ => "SET DEFAULT",
                    };
                    ts.foreign_keys
                        .insert((cols, r.get(2), r.get(3), action.to_string()));
                }
            }
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT i.relname::text, ix.indisunique, {}, pg_get_expr(ix.indpred, ix.indrelid) \
             FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid WHERE ix.indrelid = {rel} \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid)",
            names("ix.indkey::int2[]", "ix.indrelid")
        )))
        .fetch_all(&mut c)
        .await
        .unwrap();
        for r in rows {
            let pred: Option<String> = r.get(3);
            ts.indexes.insert(
                r.get(0),
                (r.get(2), r.get(1), pred.as_deref().map(predicate)),
            );
        }
        shape.insert(t, ts);
    }
    c.close().await.ok();
    shape
}

/// The entries of `sqlite` and `pg` that differ (or are in one only), one line each into
/// `out`: columns (type family, NOT NULL), indexes (columns, unique, predicate).
fn differing<T: PartialEq + std::fmt::Debug>(
    out: &mut Vec<String>,
    what: &str,
    sqlite: &BTreeMap<String, T>,
    pg: &BTreeMap<String, T>,
) {
    let names: BTreeSet<&String> = sqlite.keys().chain(pg.keys()).collect();
    for n in names {
        let (x, y) = (sqlite.get(n), pg.get(n));
        if x != y {
            out.push(format!("{what} {n}: SQLite {x:?}, PostgreSQL {y:?}"));
        }
    }
}

/// What only one of `sqlite` and `pg` holds, one line each into `out`.
fn only_in<T: Ord + std::fmt::Debug>(
    out: &mut Vec<String>,
    t: &str,
    what: &str,
    sqlite: &BTreeSet<T>,
    pg: &BTreeSet<T>,
) {
    for x in sqlite.symmetric_difference(pg) {
        let side = if sqlite.contains(x) {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        out.push(format!("{t}: {what} {x:?} only in {side}"));
    }
}

/// The differences between two shapes, one line each.
fn differences(sqlite: &Shape, pg: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = sqlite.keys().chain(pg.keys()).collect();
    for t in names {
        let (a, b) = match (sqlite.get(t), pg.get(t)) {
            (Some(a), Some(b)) => (a, b),
            (a, _) => {
                let side = if a.is_some() { "SQLite" } else { "PostgreSQL" };
                out.push(format!("table {t}: only in {side}"));
                continue;
            }
        };
        differing(&mut out, &format!("{t}: column"), &a.columns, &b.columns);
        if a.primary_key != b.primary_key {
            out.push(format!(
                "{t}: primary key SQLite {:?}, PostgreSQL {:?}",
                a.primary_key, b.primary_key
            ));
        }
        only_in(&mut out, t, "unique constraint", &a.unique, &b.unique);
        only_in(&mut out, t, "foreign key", &a.foreign_keys, &b.foreign_keys);
        differing(&mut out, &format!("{t}: index"), &a.indexes, &b.indexes);
    }
    out
}

#[tokio::test]
async fn both_migration_folders_make_the_same_schema() {
    if pg_url().is_none() {
        eprintln!("{PG_URL_VAR} is not set: the migration parity check needs PostgreSQL; skipped");
        return;
    }
    let lite = store(Backend::Sqlite, "parity").await;
    let pg = store(Backend::Postgres, "parity").await;
    let TestStore::Sqlite(s) = &*lite else {
        unreachable!()
    };
    s.close().await;
    let a = sqlite_shape(s.path());
    let b = pg_shape(pg.url()).await;
    assert!(a.len() >= 11, "the SQLite schema was read: {:?}", a.keys());
    let diff = differences(&a, &b);
    assert!(
        diff.is_empty(),
        "the migration folders differ:\n{}",
        diff.join("\n")
    );
}

/// The schema before `seq` became every table's key: SQLite's 0001–0003, PostgreSQL's
/// 0001–0002.
fn previous_version(b: Backend) -> i64 {
    match b {
        Backend::Sqlite => 3,
        Backend::Postgres => 2,
    }
}

/// Rows of a deployment at the previous schema version, written in SQL (the store itself
/// only speaks the latest): two tenants, tokens, administrators and a session, users with
/// emails, a group with members, a failed sign-in (of a table since dropped) and a log
/// entry.
fn previous_rows(b: Backend) -> Vec<String> {
    let blob = |byte: u8| match b {
        Backend::Sqlite => format!("X'{}'", format!("{byte:02x}").repeat(32)),
        Backend::Postgres => format!("'\\x{}'::bytea", format!("{byte:02x}").repeat(32)),
    };
    let t = "'2026-01-01T00:00:00.000000Z'";
    let no = if b == Backend::Sqlite { "0" } else { "false" };
    vec![
        format!("INSERT INTO tenants (id, name, settings, created) VALUES ('t-b', 'second', '{{}}', {t})"),
        format!("INSERT INTO tenants (id, name, settings, created) VALUES ('t-a', 'default', '{{\"x\": 1}}', {t})"),
        format!("INSERT INTO tokens (id, tenant_id, name, scope, secret_sha256, created) VALUES ('k2', 't-a', 'zeta', 'scim', {}, {t})", blob(2)),
        format!("INSERT INTO tokens (id, tenant_id, name, scope, secret_sha256, created) VALUES ('k1', 't-a', 'alpha', 'admin', {}, {t})", blob(1)),
        format!("INSERT INTO admins (id, tenant_id, username, username_folded, password_hash, created, password_changed) \
                 VALUES ('a1', 't-a', 'Root', 'root', '$argon2id$x', {t}, {t})"),
        format!("INSERT INTO sessions (id_sha256, tenant_id, admin_id, csrf_token, created, expires) \
                 VALUES ({}, 't-a', 'a1', 'csrf', {t}, '2027-01-01T00:00:00.000000Z')", blob(9)),
        format!("INSERT INTO users (id, tenant_id, user_name, user_name_folded, state, source, version, created, last_modified, doc, doc_folded) \
                 VALUES ('u1', 't-a', 'Ann', 'ann', 'active', 'scim', 1, {t}, {t}, '{{\"userName\":\"Ann\"}}', '{{\"userName\":\"ann\"}}')"),
        "INSERT INTO user_emails (tenant_id, user_seq, value_folded, kind, is_primary) VALUES ('t-a', 1, 'z@x', 'work', 1)".replace(", 1)", if b == Backend::Sqlite { ", 1)" } else { ", true)" }),
        format!("INSERT INTO user_emails (tenant_id, user_seq, value_folded, kind, is_primary) VALUES ('t-a', 1, 'a@x', NULL, {no})"),
        format!("INSERT INTO groups (id, tenant_id, display_name, display_name_folded, source, builtin, version, created, last_modified, doc, doc_folded) \
                 VALUES ('g1', 't-a', 'Staff', 'staff', 'scim', {no}, 1, {t}, {t}, '{{\"displayName\":\"Staff\"}}', '{{\"displayName\":\"staff\"}}')"),
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_kind) VALUES ('t-a', 'g1', 'u1', 'User')".to_string(),
        format!("INSERT INTO signin_failures (tenant_id, key, at) VALUES ('t-a', 'root|127.0.0.1', {t})"),
        format!("INSERT INTO provisioning_log (tenant_id, at, token_name, method, path, outcome, status, search_folded) \
                 VALUES ('t-a', {t}, 'zeta', 'POST', '/Users', 'created', 201, 'ann')"),
    ]
}

/// A scratch database of back end `b` migrated up to `version` with `rows` inserted (SQL:
/// the store itself only speaks the latest schema).
async fn database_at(b: Backend, name: &str, version: i64, rows: Vec<String>) -> Scratch {
    use sqlx::{ConnectOptions, Connection, Executor};
    let db = scratch(b, name).await;
    let folder = match b {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let migrator =
        sqlx::migrate::Migrator::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder))
            .await
            .unwrap();
    match b {
        Backend::Sqlite => {
            let path = db.url().trim_start_matches("sqlite://");
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            migrator.run_to(version, &mut c).await.unwrap();
            for sql in rows {
                c.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
            c.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            migrator.run_to(version, &mut c).await.unwrap();
            for sql in rows {
                c.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
            c.close().await.unwrap();
        }
    }
    db
}

/// A database at the previous schema version, with rows, migrates to the latest keeping
/// every row, their order and the links between them (no table rebuild cascades).
async fn databases_migrate_forward_keeping_their_rows(b: Backend) {
    let db = database_at(b, "forward", previous_version(b), previous_rows(b)).await;
    let s = open(b, db.url()).await;
    let mut tx = s.read().await.unwrap();
    let tenants = tx.list_tenants().await.unwrap();
    let names: Vec<&str> = tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["second", "default"],
        "same created: insertion order"
    );
    assert_eq!(tenants[1].settings, serde_json::json!({"x": 1}));
    let tokens = tx.list_tokens("t-a").await.unwrap();
    let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha"]);
    assert_eq!(tokens[1].scope, TokenScope::Admin);
    assert_eq!(tx.token_by_hash(&[1; 32]).await.unwrap().unwrap().id, "k1");
    let admin = tx.admin_by_username("t-a", "ROOT").await.unwrap().unwrap();
    assert_eq!(admin.id, "a1");
    let session = tx.session_by_hash(&[9; 32]).await.unwrap().unwrap();
    assert_eq!(
        session.admin_id, "a1",
        "rebuilding admins kept its sessions"
    );
    let user = tx.get_user("t-a", "u1").await.unwrap().unwrap();
    let emails: Vec<&str> = user
        .emails
        .iter()
        .map(|e| e.value_folded.as_str())
        .collect();
    assert_eq!(emails, ["z@x", "a@x"], "emails keep their order");
    assert!(user.emails[0].primary);
    assert_eq!(tx.count_members("t-a", "g1").await.unwrap(), 1);
    // Administrators from before the must-change flag keep their passwords as they are;
    // failed sign-ins (transient throttling records) are not carried over.
    assert!(!admin.must_change_password);
    let counts = tx.table_counts(None).await.unwrap();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    // 2 tenants, 2 tokens, 1 admin, 1 user, 2 emails, 1 group, 1 member, 1 log entry.
    assert_eq!(total, 11, "{counts:?}");
    drop(tx);
    // New rows go after the old ones.
    let mut tx = s.write().await.unwrap();
    tx.insert_tenant(&scimd_directory::store::TenantRow {
        id: "t-c".into(),
        name: "third".into(),
        slug: "third".into(),
        state: scimd_directory::store::TenantState::Active,
        last_scim_request: None,
        settings: serde_json::json!({}),
        created: time::macros::datetime!(2025-06-01 00:00 UTC),
    })
    .await
    .unwrap();
    let names: Vec<String> = tx
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["third", "second", "default"]);
    tx.commit().await.unwrap();
    s.close().await;
}

/// The provisioning log before change records (SQLite 0004, PostgreSQL 0003): its entries
/// become change records, in their order and with their fields: the token's name as the
/// actor, the request as the cause, the changed attributes by name (the log never kept
/// values), warnings and details; a portal's permanent delete is an audit record too; new
/// records follow them.
async fn provisioning_log_entries_become_change_records(b: Backend) {
    use scimd_directory::store::{ActorType, Cause, Channel, RecordQuery, RecordView};
    let version = match b {
        Backend::Sqlite => 4,
        Backend::Postgres => 3,
    };
    let (list, changed, warned) = match b {
        Backend::Sqlite => ("'[]'", r#"'["userName","emails"]'"#, r#"'["ignored x"]'"#),
        Backend::Postgres => ("'{}'", "'{userName,emails}'", "'{\"ignored x\"}'"),
    };
    let t = |s: u8| format!("'2026-01-01T00:00:0{s}.000000Z'");
    let cols = "tenant_id, at, token_name, method, path, resource_type, resource_id, \
                resource_name, outcome, status, detail, changed, warnings, search_folded";
    let rows = vec![
        "INSERT INTO tenants (id, name, settings, created) VALUES ('t-a', 'default', '{}', '2026-01-01T00:00:00.000000Z')".to_string(),
        format!("INSERT INTO provisioning_log ({cols}) VALUES ('t-a', {}, 'entra', 'POST', '/scim/v2/Users', 'User', 'u1', 'ann', 'created', 201, NULL, {changed}, {warned}, 'ann')", t(1)),
        format!("INSERT INTO provisioning_log ({cols}) VALUES ('t-a', {}, 'entra', 'POST', '/scim/v2/Users', 'User', NULL, 'bob', 'rejected', 409, 'taken', {list}, {list}, 'bob')", t(2)),
        format!("INSERT INTO provisioning_log ({cols}) VALUES ('t-a', {}, 'portal:root', 'POST', '/users/u1/delete', 'User', 'u1', 'ann', 'deleted', 204, NULL, {list}, {list}, 'ann')", t(3)),
    ];
    let db = database_at(b, "changes", version, rows).await;
    let s = open(b, db.url()).await;
    let mut tx = s.read().await.unwrap();
    let log = RecordQuery {
        limit: 10,
        ..RecordQuery::default()
    };
    let (n, v) = tx.query_records("t-a", &log).await.unwrap();
    assert_eq!(n, 3);
    let outcomes: Vec<&str> = v.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["deleted", "rejected", "created"], "newest first");
    assert!(v.windows(2).all(|w| w[0].seq > w[1].seq));
    let created = &v[2];
    assert_eq!(created.actor.kind, ActorType::Token);
    assert_eq!(created.actor.name, "entra");
    assert_eq!(created.source, Channel::Scim);
    assert_eq!(
        created.cause,
        Cause::Request {
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            status: Some(201),
        }
    );
    assert_eq!(created.changed(), ["userName", "emails"]);
    assert!(created
        .changes
        .iter()
        .all(|c| c.before.is_none() && c.after.is_none()));
    assert_eq!(created.warnings, ["ignored x"]);
    assert_eq!(created.resource_id.as_deref(), Some("u1"));
    assert_eq!(created.at, time::macros::datetime!(2026-01-01 00:00:01 UTC));
    assert!(created.log && !created.audit);
    assert_eq!(v[1].detail.as_deref(), Some("taken"));
    assert!(v[1].changes.is_empty() && v[1].warnings.is_empty());
    let deleted = &v[0];
    assert_eq!(deleted.actor.kind, ActorType::Admin);
    assert_eq!(deleted.actor.name, "root");
    assert_eq!(deleted.source, Channel::Portal);
    assert_eq!(deleted.action.as_deref(), Some("user.delete"));
    assert!(deleted.log && deleted.audit);
    let audit = RecordQuery {
        view: RecordView::Audit,
        limit: 10,
        ..RecordQuery::default()
    };
    assert_eq!(
        tx.query_records("t-a", &audit).await.unwrap().1,
        vec![deleted.clone()]
    );
    let history = RecordQuery {
        view: RecordView::Resource("u1".into()),
        limit: 10,
        ..RecordQuery::default()
    };
    assert_eq!(tx.query_records("t-a", &history).await.unwrap().0, 2);
    drop(tx);
    let mut tx = s.write().await.unwrap();
    let mut next = created.clone();
    next.txn = "new".into();
    let seq = tx.insert_record(&next).await.unwrap();
    assert!(seq > deleted.seq, "new records follow the migrated ones");
    tx.commit().await.unwrap();
    s.close().await;
}

/// The schema before the identifier keys (SQLite 0001–0006, PostgreSQL 0001–0005).
fn before_identifier_keys(b: Backend) -> i64 {
    match b {
        Backend::Sqlite => 6,
        Backend::Postgres => 5,
    }
}

/// Users and groups whose keys were their case fold only (before issue 14): non-NFC
/// userNames, displayNames and externalIds, and pairs that become one key under NFC.
fn unkeyed_rows(b: Backend) -> Vec<String> {
    let t = "'2026-01-01T00:00:00.000000Z'";
    let no = if b == Backend::Sqlite { "0" } else { "false" };
    let user = |id: &str, name: &str, ext: Option<&str>| {
        let ext = ext.map_or("NULL".to_string(), |e| format!("'{e}'"));
        format!(
            "INSERT INTO users (id, tenant_id, user_name, user_name_folded, external_id, state, source, version, created, last_modified, doc, doc_folded) \
             VALUES ('{id}', 't-a', '{name}', '{}', {ext}, 'active', 'scim', 1, {t}, {t}, '{{}}', '{{}}')",
            name.to_lowercase()
        )
    };
    let group = |id: &str, name: &str, ext: Option<&str>| {
        let ext = ext.map_or("NULL".to_string(), |e| format!("'{e}'"));
        format!(
            "INSERT INTO groups (id, tenant_id, display_name, display_name_folded, external_id, source, builtin, version, created, last_modified, doc, doc_folded) \
             VALUES ('{id}', 't-a', '{name}', '{}', {ext}, 'scim', {no}, 1, {t}, {t}, '{{}}', '{{}}')",
            name.to_lowercase()
        )
    };
    vec![
        format!("INSERT INTO tenants (id, name, settings, created) VALUES ('t-a', 'default', '{{}}', {t})"),
        // u1 (decomposed) and u2 (precomposed, holding the key already): u2 keeps it.
        user("u1", "Jose\u{301}", Some("E\u{301}x")),
        user("u2", "JOS\u{c9}", None),
        user("u3", "Zoe\u{308}", None),
        // u4 and u5: two non-NFC spellings of one name, neither holding its key: the first
        // inserted gets it.
        user("u4", "xa\u{323}\u{302}", None),
        user("u5", "xa\u{302}\u{323}", None),
        group("g1", "Caf\u{e9}", Some("G\u{301}")),
        group("g2", "Cafe\u{301}", None),
    ]
}

/// Migrating recomputes the identifier keys (NFC, folded but for externalId) of existing
/// rows on both back ends, and rows whose keys collide do not make it fail: the row that
/// had the key, else the first inserted, gets it; the other keeps its own and a write of it
/// is a conflict.
async fn identifier_keys_are_recomputed_when_migrating(b: Backend) {
    use scim_proto::filter::parse;
    use scim_proto::list::SortOrder;
    use scim_proto::schema::user_resource_schema;
    use scimd_directory::store::{ConflictTarget, ListQuery, StoreError, Visibility};
    let db = database_at(b, "rekey", before_identifier_keys(b), unkeyed_rows(b)).await;
    let s = open(b, db.url()).await;
    let mut tx = s.read().await.unwrap();
    let by_name = |u: Option<scimd_directory::store::UserRecord>| u.map(|u| u.id);
    for (name, id) in [
        ("jos\u{e9}", "u2"),
        ("JOSE\u{301}", "u2"),
        ("ZO\u{cb}", "u3"),
        ("zoe\u{308}", "u3"),
        ("X\u{1ead}", "u4"),
    ] {
        let found = by_name(tx.user_by_user_name("t-a", name).await.unwrap());
        assert_eq!(found.as_deref(), Some(id), "{name:?}");
    }
    // The colliding rows are still there, as stored.
    let u1 = tx.get_user("t-a", "u1").await.unwrap().unwrap();
    assert_eq!(u1.user_name, "Jose\u{301}");
    assert_eq!(
        u1.external_id.as_deref(),
        Some("\u{c9}x"),
        "externalId key: NFC"
    );
    let u5 = tx.get_user("t-a", "u5").await.unwrap().unwrap();
    assert_eq!(u5.user_name, "xa\u{302}\u{323}");
    let g = tx
        .group_by_display_name("t-a", "CAFE\u{301}")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g.id, "g1");
    assert_eq!(g.external_id.as_deref(), Some("\u{1f4}"));
    // Filters on externalId compare NFC forms (case-exact).
    let schema = user_resource_schema(vec![]);
    let f = parse("externalId eq \"\u{c9}x\"").unwrap();
    let q = ListQuery {
        filter: Some(&f),
        schema: &schema,
        sort_by: None,
        sort_order: SortOrder::Ascending,
        offset: 0,
        limit: 10,
        visibility: Visibility::Scim,
        max_bytes: None,
    };
    let (n, users) = support::list_users(&mut tx, "t-a", &q).await.unwrap();
    assert_eq!((n, users[0].id.as_str()), (1, "u1"));
    drop(tx);
    // A write of a user that kept its old key is a conflict on the userName.
    let mut tx = s.write().await.unwrap();
    let e = tx.update_user(&u1).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(ConflictTarget::UserName)),
        "{e:?}"
    );
    drop(tx);
    // The step ran once: opening again changes nothing.
    s.close().await;
    let s = open(b, db.url()).await;
    let mut tx = s.read().await.unwrap();
    let found = by_name(tx.user_by_user_name("t-a", "X\u{1ead}").await.unwrap());
    assert_eq!(found.as_deref(), Some("u4"));
    drop(tx);
    s.close().await;
}

/// SQLite checks foreign keys after migrating (they are off while it migrates), a check that
/// reads every child row; it runs when the migrations applied differ from the count it last
/// passed with (kept in `user_version`), and not on every open.
#[tokio::test]
async fn sqlite_checks_foreign_keys_when_migrations_changed_and_not_on_every_open() {
    let db = store(Backend::Sqlite, "fk-check").await;
    let TestStore::Sqlite(s) = &*db else {
        unreachable!()
    };
    s.close().await;
    let path = s.path().to_path_buf();
    let raw = Connection::open(&path).unwrap();
    let applied: i64 = raw
        .query_row(
            "SELECT count(*) FROM _sqlx_migrations WHERE success",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let version = |c: &Connection| -> i64 {
        c.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    assert!(applied >= 13, "{applied}");
    assert_eq!(
        version(&raw),
        applied,
        "the first open's check was recorded"
    );
    // A token whose tenant does not exist (foreign keys are per connection: off on this one).
    raw.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    raw.execute(
        "INSERT INTO tokens (id, tenant_id, name, scope, secret_sha256, created) \
         VALUES ('orphan', 'no-such-tenant', 'x', 'scim', x'00', '2026-01-01T00:00:00.000000Z')",
        [],
    )
    .unwrap();
    // Nothing migrated since the last check: the open does not read the rows again.
    let again = SqliteStore::open(db.url())
        .await
        .expect("open without a check");
    again.close().await;
    // As after a migration (the count differs from the one checked): the orphan is found,
    // and the open refused.
    raw.execute_batch("PRAGMA user_version = 0").unwrap();
    let e = SqliteStore::open(db.url()).await.unwrap_err().to_string();
    assert!(e.contains("1 rows whose foreign key points nowhere"), "{e}");
    assert_eq!(version(&raw), 0, "a failed check is not recorded");
    // Once repaired, the next open checks, passes and records it.
    raw.execute("DELETE FROM tokens WHERE id = 'orphan'", [])
        .unwrap();
    let fixed = SqliteStore::open(db.url())
        .await
        .expect("open after repair");
    fixed.close().await;
    assert_eq!(version(&raw), applied);
}
