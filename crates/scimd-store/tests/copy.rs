//! `copy_store`: a populated SQLite deployment copied into a fresh store of each back end
//! (SQLite always, PostgreSQL when `SCIMD_TEST_PG_URL` is set) and back, compared row for
//! row; a non-empty target refused.

#[macro_use]
mod support;

use scim_proto::filter::{self, fold};
use scim_proto::list::SortOrder;
use scim_proto::normalize::{fold_document, normalize_resource};
use scim_proto::path::AttrPath;
use scim_proto::schema::{group_resource_schema, user_resource_schema, ResourceSchema};
use scimd_directory::store::{
    Actor, ActorType, AdminRow, AttributeRow, Cause, Change, ChangeRecord, Channel, ClientRow,
    EmailKey, ExportRow, GroupRecord, IssuerRow, ListPage, ListQuery, MemberChange, MemberEdit,
    MemberKind, Source, Store, Table, TenantRow, TokenRow, TokenScope, UserRecord, UserState,
    Visibility,
};
use scimd_store::{copy_store, CopyError};
use serde_json::{json, Value};
use support::{store, Backend};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

both!(copy_keeps_every_row, copy_refuses_a_non_empty_target);

fn t0() -> OffsetDateTime {
    datetime!(2026-03-01 08:00:00.123456 UTC)
}

fn user(schema: &ResourceSchema, tenant: &str, i: usize) -> UserRecord {
    let body = json!({
        "userName": format!("User{i}@Example.com"),
        "displayName": if i.is_multiple_of(3) { Value::Null } else { json!(format!("User {i}")) },
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 4)},
        "active": !i.is_multiple_of(5),
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true},
                   {"value": format!("u{i}@home.example"), "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": format!("Dept {}", i % 3)},
    });
    let doc = normalize_resource(schema, &body).unwrap().doc;
    UserRecord {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        tenant_id: tenant.to_string(),
        user_name: doc["userName"].as_str().unwrap().to_string(),
        external_id: Some(format!("ext-{i}")),
        display_name: doc
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_string),
        state: match i % 7 {
            0 => UserState::Deprovisioned,
            1 => UserState::Inactive,
            _ => UserState::Active,
        },
        source: if i.is_multiple_of(4) {
            Source::Local
        } else {
            Source::Scim
        },
        version: 1 + i as i64,
        created: t0() + Duration::seconds(i as i64),
        last_modified: t0() + Duration::milliseconds(1500 * i as i64 + 7),
        doc_folded: fold_document(&doc, schema),
        emails: vec![
            EmailKey {
                value_folded: format!("user{i}@example.com"),
                kind: Some("work".into()),
                primary: true,
            },
            EmailKey {
                value_folded: format!("u{i}@home.example"),
                kind: Some("home".into()),
                primary: false,
            },
        ],
        doc,
    }
}

fn group(tenant: &str, name: &str, builtin: bool, i: i64) -> GroupRecord {
    let doc = json!({"displayName": name});
    GroupRecord {
        id: format!("10000000-0000-4000-8000-{i:012}"),
        tenant_id: tenant.to_string(),
        display_name: name.to_string(),
        external_id: (!builtin).then(|| format!("g-{i}")),
        source: Source::Scim,
        builtin,
        version: i + 1,
        created: t0() + Duration::minutes(i),
        last_modified: t0() + Duration::minutes(i + 1),
        doc_folded: json!({"displayName": fold(name)}),
        doc,
    }
}

/// A small deployment of two tenants with every kind of row.
async fn populate(s: &dyn Store) {
    let schema = user_resource_schema(vec![]);
    let mut tx = s.write().await.unwrap();
    for (id, name) in [("tenant-a", "default"), ("tenant-b", "second")] {
        tx.insert_tenant(&TenantRow {
            id: id.into(),
            name: name.into(),
            slug: name.into(),
            state: scimd_directory::store::TenantState::Active,
            last_scim_request: None,
            settings: json!({"zeta": 1, "alpha": {"b": true, "a": [1, 2]}}),
            created: t0(),
        })
        .await
        .unwrap();
    }
    for (i, (name, scope)) in [("entra", TokenScope::Scim), ("ops", TokenScope::Admin)]
        .into_iter()
        .enumerate()
    {
        tx.insert_token(&TokenRow {
            id: format!("token-{i}"),
            tenant_id: "tenant-a".into(),
            name: name.into(),
            scope,
            secret_sha256: vec![i as u8 + 1; 32],
            created: t0(),
            last_used: Some(t0() + Duration::hours(1)),
            revoked: (i == 1).then(|| t0() + Duration::hours(2)),
            expires: (i == 0).then(|| t0() + Duration::days(90)),
        })
        .await
        .unwrap();
    }
    for (i, name) in ["entra-oauth", "old-oauth"].into_iter().enumerate() {
        tx.insert_client(&ClientRow {
            id: format!("scimd_client_{i:032x}"),
            tenant_id: "tenant-a".into(),
            name: name.into(),
            secret_sha256: vec![0x40 + i as u8; 32],
            created: t0(),
            last_used: (i == 0).then(|| t0() + Duration::minutes(5)),
            revoked: (i == 1).then(|| t0() + Duration::hours(3)),
        })
        .await
        .unwrap();
    }
    tx.insert_issuer(&IssuerRow {
        id: "issuer-1".into(),
        tenant_id: "tenant-a".into(),
        issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/".into(),
        audience: "api://scimd".into(),
        app_ids: vec!["app-1".into(), "app-2".into()],
        metadata_url: None,
        jwks_file: Some("/etc/scimd/jwks.json".into()),
        created: t0(),
    })
    .await
    .unwrap();
    tx.insert_attribute(&AttributeRow {
        tenant_id: "tenant-a".into(),
        name: "costCode".into(),
        ty: "string".into(),
        created: t0(),
    })
    .await
    .unwrap();
    tx.insert_admin(&AdminRow {
        id: "admin-1".into(),
        tenant_id: "tenant-a".into(),
        username: "Root".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created: t0(),
        password_changed: t0(),
        must_change_password: true,
    })
    .await
    .unwrap();
    let all = group("tenant-a", "All Users", true, 0);
    tx.insert_group(&all).await.unwrap();
    let mut members = Vec::new();
    for i in 1..=40 {
        let tenant = if i % 10 == 0 { "tenant-b" } else { "tenant-a" };
        let u = user(&schema, tenant, i);
        tx.insert_user(&u).await.unwrap();
        if tenant == "tenant-a" {
            members.push((u.id.clone(), MemberKind::User));
        }
    }
    let g1 = group("tenant-a", "Engineering", false, 1);
    let g2 = group("tenant-a", "Straße Team", false, 2);
    tx.insert_group(&g1).await.unwrap();
    tx.insert_group(&g2).await.unwrap();
    tx.edit_members("tenant-a", &all.id, MemberEdit::Add(&members))
        .await
        .unwrap();
    tx.edit_members("tenant-a", &g1.id, MemberEdit::Add(&members[..10]))
        .await
        .unwrap();
    let mut nested = members[5..15].to_vec();
    nested.push((g1.id.clone(), MemberKind::Group));
    tx.edit_members("tenant-a", &g2.id, MemberEdit::Add(&nested))
        .await
        .unwrap();
    for i in 0..25 {
        let request = Cause::Request {
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            status: Some(if i % 5 == 0 { 409 } else { 201 }),
        };
        let r = ChangeRecord {
            seq: 0,
            tenant_id: "tenant-a".into(),
            txn: format!("txn-{i}"),
            at: t0() + Duration::seconds(i),
            actor: Actor::new(ActorType::Token, "entra"),
            source: Channel::Scim,
            address: (i % 3 == 0).then(|| "192.0.2.7".to_string()),
            cause: request,
            resource_type: Some("User".into()),
            resource_id: Some(format!("id-{i}")),
            resource_name: Some(format!("User{i}")),
            member: None,
            outcome: if i % 5 == 0 { "rejected" } else { "created" }.into(),
            action: None,
            detail: (i % 5 == 0).then(|| "userName is already in use".to_string()),
            changes: vec![
                Change::new("userName", None, Some(json!(format!("User{i}")))),
                Change::new(
                    "emails",
                    None,
                    Some(json!([{"value": "a@b", "primary": true}])),
                ),
            ],
            warnings: if i % 2 == 0 {
                vec!["ignored x".into()]
            } else {
                vec![]
            },
            count: 1,
            log: true,
            audit: false,
        };
        tx.insert_record(&r).await.unwrap();
        // Every other kind: per-member records, a rule's side effect, an administrative
        // action with a count.
        let ms = [MemberChange {
            id: format!("id-{i}"),
            kind: MemberKind::User,
            added: i % 2 == 0,
        }];
        tx.insert_member_records(&r, &ms).await.unwrap();
        let mut rule = r.clone();
        rule.actor = Actor::new(ActorType::Rule, "group-delete-disables-members");
        rule.cause = Cause::Rule("group-delete-disables-members".into());
        rule.log = false;
        tx.insert_record(&rule).await.unwrap();
        let mut action = r.clone();
        action.actor = Actor::new(ActorType::Cli, "ops");
        action.source = Channel::Cli;
        action.cause = Cause::Command("scimd token create".into());
        action.action = Some("token.create".into());
        action.count = 1 + i as u64;
        (action.log, action.audit) = (false, true);
        tx.insert_record(&action).await.unwrap();
    }
    // A deleted row leaves a gap in the sequence: the copy keeps the order.
    assert!(tx
        .delete_resource(
            "tenant-a",
            MemberKind::User,
            "00000000-0000-4000-8000-000000000003"
        )
        .await
        .unwrap());
    tx.commit().await.unwrap();
}

/// Every row of every copied table, in order (sequence numbers checked ascending, then left
/// out: a copy keeps the order, not the numbers; a change record's `seq` likewise).
async fn dump(s: &dyn Store) -> Vec<(Table, Vec<ExportRow>)> {
    let mut tx = s.read().await.unwrap();
    let mut out = Vec::new();
    for t in Table::COPIED {
        let mut rows = Vec::new();
        let mut after = i64::MIN;
        loop {
            let page = tx.export_rows((t, None), after, 7).await.unwrap();
            let Some(last) = page.last() else { break };
            for e in &page {
                assert!(e.seq > after, "{t:?} not in sequence order");
                after = e.seq;
            }
            assert_eq!(after, last.seq);
            rows.extend(page.into_iter().map(|e| match e.row {
                ExportRow::Record(mut l) => {
                    l.seq = 0;
                    ExportRow::Record(l)
                }
                r => r,
            }));
        }
        out.push((t, rows));
    }
    out
}

/// What SCIM listings see: users (every state) by a filter and a sort, groups, members.
async fn views(s: &dyn Store) -> Vec<String> {
    let schema = user_resource_schema(vec![]);
    let gschema = group_resource_schema();
    let mut tx = s.read().await.unwrap();
    let mut out = Vec::new();
    let f =
        filter::parse(r#"emails[type eq "work" and value co "example.com"] and active eq true"#)
            .unwrap();
    let sort = AttrPath::parse("name.familyName").unwrap();
    let q = ListQuery {
        filter: Some(&f),
        schema: &schema,
        sort_by: Some(&sort),
        sort_order: SortOrder::Descending,
        offset: 2,
        limit: 9,
        visibility: Visibility::All,
        max_bytes: None,
    };
    let (n, users) = support::list_users(&mut tx, "tenant-a", &q).await.unwrap();
    out.push(format!(
        "{n} {:?}",
        users.iter().map(|u| &u.id).collect::<Vec<_>>()
    ));
    let q = ListQuery {
        filter: None,
        schema: &gschema,
        sort_by: None,
        sort_order: SortOrder::Ascending,
        offset: 0,
        limit: 100,
        visibility: Visibility::Scim,
        max_bytes: None,
    };
    let mut groups = Vec::new();
    let page = ListPage::Groups(&mut groups);
    tx.list_resources("tenant-a", &q, page).await.unwrap();
    for g in groups {
        let m = tx.group_members("tenant-a", &g.id, 0, None).await.unwrap();
        out.push(format!("{} {m:?}", g.display_name));
    }
    out
}

async fn copy_keeps_every_row(b: Backend) {
    let source = store(Backend::Sqlite, "copy-src").await;
    populate(&*source).await;
    let before = dump(&*source).await;
    assert!(before.iter().all(|(_, rows)| !rows.is_empty()));

    let target = store(b, "copy-dst").await;
    let mut pages = 0;
    let counts = copy_store(&*source, &*target, |_, _| pages += 1)
        .await
        .unwrap();
    assert!(pages >= Table::COPIED.len());
    for c in &counts {
        assert_eq!(c.source, c.target, "{c:?}");
    }
    let users = counts.iter().find(|c| c.table == Table::Users).unwrap();
    assert_eq!(users.source, 39);
    let emails = counts
        .iter()
        .find(|c| c.table == Table::UserEmails)
        .unwrap();
    assert_eq!(emails.target, 78);
    let records = counts.iter().find(|c| c.table == Table::Changes).unwrap();
    assert_eq!(
        records.target, 100,
        "25 each of request, member, rule, action records"
    );
    assert_eq!(dump(&*target).await, before, "rows differ after the copy");
    assert_eq!(views(&*target).await, views(&*source).await);

    // The copy is a working store: new rows get new sequence numbers, after the copied ones.
    let mut tx = target.write().await.unwrap();
    let u = user(&user_resource_schema(vec![]), "tenant-a", 99);
    tx.insert_user(&u).await.unwrap();
    tx.commit().await.unwrap();
    let after = dump(&*target).await;
    let (_, users) = after.iter().find(|(t, _)| *t == Table::Users).unwrap();
    assert_eq!(users.last(), Some(&ExportRow::User(u)));

    // And back again, into a fresh SQLite file.
    let back = store(Backend::Sqlite, "copy-back").await;
    copy_store(&*target, &*back, |_, _| {}).await.unwrap();
    assert_eq!(dump(&*back).await, after);
}

async fn copy_refuses_a_non_empty_target(b: Backend) {
    let source = store(Backend::Sqlite, "copy-src2").await;
    populate(&*source).await;
    let target = store(b, "copy-full").await;
    support::tenant_with(&target, "existing", json!({})).await;
    match copy_store(&*source, &*target, |_, _| {}).await {
        Err(e @ CopyError::TargetNotEmpty(_)) => {
            assert!(e.to_string().contains("1 tenants"), "{e}")
        }
        other => panic!("expected TargetNotEmpty, got {other:?}"),
    }
    // Nothing was written.
    let mut tx = target.read().await.unwrap();
    assert_eq!(tx.list_tenants().await.unwrap().len(), 1);
}
