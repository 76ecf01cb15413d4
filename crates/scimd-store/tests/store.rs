//! Integration tests of the stores: every test body runs against SQLite (a temporary file)
//! and against PostgreSQL (a fresh database) when `SCIMD_TEST_PG_URL` is set; see
//! `support`.

#[macro_use]
mod support;

use scim_proto::filter::{self, fold, Filter};
use scim_proto::list::SortOrder;
use scim_proto::normalize::fold_document;
use scim_proto::path::AttrPath;
use scim_proto::schema::{
    group_resource_schema, AttrType, AttributeDef, ResourceSchema, ENTERPRISE_USER_SCHEMA,
};
use scimd_directory::store::{
    ConflictTarget, CredentialKey, EmailKey, ListPage, ListQuery, MemberEdit, MemberKind, Store,
    StoreError, TenantRow, TenantState, TokenRow, TokenScope, Tx, UserRecord, UserState,
    Visibility,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::{group_record, list_users, now, store, tenant_with, user_record, Backend, TestStore};

async fn tenant(s: &TestStore, name: &str) -> String {
    tenant_with(s, name, json!({"a": 1})).await
}
use time::macros::datetime;
use time::OffsetDateTime;

both!(
    open_creates_directories_and_pings,
    tenants_crud,
    tokens_by_hash_and_revoke,
    users_crud_and_case_insensitive_uniqueness,
    transactions_roll_back_on_drop,
    concurrent_writers_serialise,
    a_tenant_being_deleted_takes_no_more_writes,
    settings_changes_take_turns,
    groups_and_memberships,
    filter_push_down_agrees_with_matches,
    common_attributes_filter_on_columns,
    sorting_and_paging,
    visibility_and_builtin_groups,
    hot_filters_use_indexes,
    odd_documents_do_not_break_queries,
    filter_cross_product_agrees_with_matches,
);

const TEST_EXT: &str = "urn:scimd:test:1.0:User";

fn user_schema() -> ResourceSchema {
    let def = AttributeDef::new;
    let attributes = vec![
        def("level", AttrType::Integer, "an integer"),
        def("score", AttrType::Decimal, "a decimal"),
        def("hired", AttrType::DateTime, "a dateTime"),
        def("tags", AttrType::String, "strings").with_multi_valued(),
        def("code", AttrType::String, "case-exact").with_case_exact(),
    ];
    support::user_schema_with(TEST_EXT, "Test", attributes)
}

fn query<'a>(schema: &'a ResourceSchema, filter: Option<&'a Filter>) -> ListQuery<'a> {
    ListQuery {
        filter,
        schema,
        sort_by: None,
        sort_order: SortOrder::Ascending,
        offset: 0,
        limit: 1000,
        visibility: Visibility::Scim,
        max_bytes: None,
    }
}

// ---------------------------------------------------------------------------------------

/// Inserts `users` in one committed write transaction.
async fn insert_users(s: &TestStore, users: &[UserRecord]) {
    let mut tx = s.write().await.unwrap();
    for u in users {
        tx.insert_user(u).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// A new store `name` with a tenant `t` holding the [`filter_users`]:
/// `(store, tenant id, user schema, the users)`.
async fn store_with_filter_users(
    b: Backend,
    name: &str,
) -> (support::Db, String, ResourceSchema, Vec<UserRecord>) {
    let s = store(b, name).await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let users = filter_users(&schema, &tid);
    insert_users(&s, &users).await;
    (s, tid, schema, users)
}

/// `filter` parsed; panics with the parse error.
fn parsed(filter: &str) -> Filter {
    filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

/// How many members `edit` of the group `g` of the tenant `tid` added or removed.
async fn edited(tx: &mut Box<dyn Tx>, tid: &str, g: &str, edit: MemberEdit<'_>) -> usize {
    tx.edit_members(tid, g, edit).await.unwrap().len()
}

/// Deletes the user or group `id` (`kind`) of the tenant `tid`, then checks that a second
/// delete finds nothing.
async fn delete_once(tx: &mut Box<dyn Tx>, tid: &str, kind: MemberKind, id: &str) {
    assert!(tx.delete_resource(tid, kind, id).await.unwrap());
    assert!(!tx.delete_resource(tid, kind, id).await.unwrap());
}

/// How many groups of the tenant `tid` `list_resources` finds with `filter` (which must parse).
async fn matching_groups(
    tx: &mut Box<dyn Tx>,
    tid: &str,
    schema: &ResourceSchema,
    filter: &str,
) -> u64 {
    let f = parsed(filter);
    let page = ListPage::Groups(&mut Vec::new());
    tx.list_resources(tid, &query(schema, Some(&f)), page)
        .await
        .unwrap()
}

/// How many users of the tenant `tid` `list_resources` finds with `filter` (which must parse).
async fn matching_users(
    tx: &mut Box<dyn Tx>,
    tid: &str,
    schema: &ResourceSchema,
    filter: &str,
) -> u64 {
    list_users(tx, tid, &query(schema, Some(&parsed(filter))))
        .await
        .unwrap()
        .0
}

async fn open_creates_directories_and_pings(b: Backend) {
    let s = store(b, "open").await;
    if let TestStore::Sqlite(sq) = &*s {
        assert!(sq.path().exists());
        assert!(scimd_store::SqliteStore::open("sqlite::memory:")
            .await
            .is_err());
    }
    s.ping().await.unwrap();
    // Reopening applies no migration twice.
    let again = s.reopen().await;
    again.ping().await.unwrap();
    again.close().await;
}

async fn tenants_crud(b: Backend) {
    let s = store(b, "tenants").await;
    let id = tenant(&s, "default").await;
    let mut tx = s.write().await.unwrap();
    let t = tx.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(t.name, "default");
    assert_eq!(t.settings, json!({"a": 1}));
    assert_eq!(t.created, now());
    tx.update_tenant_settings(&id, &json!({"b": true}))
        .await
        .unwrap();
    assert_eq!(
        tx.get_tenant(&id).await.unwrap().unwrap().settings,
        json!({"b": true})
    );
    let dup = TenantRow {
        id: "other".into(),
        name: "default".into(),
        slug: "other".into(),
        state: TenantState::Active,
        last_scim_request: None,
        settings: json!({}),
        created: now(),
    };
    assert!(
        matches!(tx.insert_tenant(&dup).await, Err(StoreError::Conflict(w)) if w == ConflictTarget::TenantName && w.to_string() == "name")
    );
    let same_slug = TenantRow {
        name: "another".into(),
        slug: "default".into(),
        ..dup.clone()
    };
    assert!(
        matches!(tx.insert_tenant(&same_slug).await, Err(StoreError::Conflict(w)) if w == ConflictTarget::TenantSlug)
    );
    assert_eq!(tx.list_tenants().await.unwrap().len(), 1);
    assert!(tx.get_tenant("nope").await.unwrap().is_none());
    // By slug; state; the last SCIM request.
    assert_eq!(tx.tenant_by_slug("default").await.unwrap().unwrap().id, id);
    assert!(tx.tenant_by_slug("Default").await.unwrap().is_none());
    assert_eq!(t.state, TenantState::Active);
    assert_eq!(t.last_scim_request, None);
    assert!(tx
        .set_tenant_state(&id, TenantState::Disabled)
        .await
        .unwrap());
    assert!(!tx
        .set_tenant_state("nope", TenantState::Disabled)
        .await
        .unwrap());
    let later = now() + time::Duration::minutes(5);
    tx.touch_tenant(&id, later).await.unwrap();
    let t = tx.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(
        (t.state, t.last_scim_request),
        (TenantState::Disabled, Some(later))
    );
    tx.commit().await.unwrap();
}

async fn tokens_by_hash_and_revoke(b: Backend) {
    let s = store(b, "tokens").await;
    let tid = tenant(&s, "t").await;
    let tok = |name: &str, secret: u8| TokenRow {
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tid.clone(),
        name: name.to_string(),
        scope: TokenScope::Scim,
        secret_sha256: vec![secret; 32],
        created: now(),
        last_used: None,
        revoked: None,
        expires: None,
    };
    let mut tx = s.write().await.unwrap();
    let a = tok("entra", 1);
    tx.insert_token(&a).await.unwrap();
    assert_eq!(tx.token_by_hash(&[1; 32]).await.unwrap().as_ref(), Some(&a));
    assert!(tx.token_by_hash(&[9; 32]).await.unwrap().is_none());
    assert!(
        matches!(tx.insert_token(&tok("entra", 2)).await, Err(StoreError::Conflict(w)) if w == ConflictTarget::TokenName && w.to_string() == "token name")
    );
    let later = datetime!(2026-12-01 00:00:00 UTC);
    let (by_id, by_name) = (
        CredentialKey::TokenId(&a.id),
        CredentialKey::TokenName("entra"),
    );
    tx.touch_credential(&tid, by_id, later).await.unwrap();
    assert_eq!(
        tx.token_by_hash(&[1; 32]).await.unwrap().unwrap().last_used,
        Some(later)
    );
    // Another tenant's id for the token changes nothing (statements bind the tenant).
    let elsewhere = datetime!(2027-01-01 00:00:00 UTC);
    tx.touch_credential("another-tenant", by_id, elsewhere)
        .await
        .unwrap();
    assert!(!tx
        .revoke_credential("another-tenant", by_name, elsewhere)
        .await
        .unwrap());
    let touched = tx.token_by_hash(&[1; 32]).await.unwrap().unwrap();
    assert_eq!((touched.last_used, touched.revoked), (Some(later), None));
    assert!(tx.revoke_credential(&tid, by_name, later).await.unwrap());
    assert!(!tx.revoke_credential(&tid, by_name, later).await.unwrap());
    let revoked = tx.token_by_hash(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(revoked.revoked, Some(later));
    // The name is free again once revoked.
    let mut b = tok("entra", 3);
    b.scope = TokenScope::Admin;
    tx.insert_token(&b).await.unwrap();
    let all = tx.list_tokens(&tid).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].scope, TokenScope::Admin);
    tx.commit().await.unwrap();
}

async fn users_crud_and_case_insensitive_uniqueness(b: Backend) {
    let s = store(b, "users").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let mut u = user_record(
        &schema,
        &tid,
        json!({"userName": "émile", "displayName": "Émile Zola", "externalId": "E1",
               "emails": [{"value": "Emile@Example.com", "type": "work", "primary": true}]}),
    );
    let mut tx = s.write().await.unwrap();
    tx.insert_user(&u).await.unwrap();
    let got = tx.get_user(&tid, &u.id).await.unwrap().unwrap();
    assert_eq!(got, u);
    let by_name = tx.user_by_user_name(&tid, "ÉMILE").await.unwrap().unwrap();
    assert_eq!(by_name.id, u.id);
    assert!(tx.get_user("other-tenant", &u.id).await.unwrap().is_none());

    let dup = user_record(&schema, &tid, json!({"userName": "ÉMILE"}));
    assert!(
        matches!(tx.insert_user(&dup).await, Err(StoreError::Conflict(w)) if w == ConflictTarget::UserName && w.to_string() == "userName")
    );
    // The same userName in another tenant is fine.
    let tid2 = {
        tx.insert_tenant(&TenantRow {
            id: "t2".into(),
            name: "t2".into(),
            slug: "t2".into(),
            state: scimd_directory::store::TenantState::Active,
            last_scim_request: None,
            settings: json!({}),
            created: now(),
        })
        .await
        .unwrap();
        "t2".to_string()
    };
    tx.insert_user(&user_record(&schema, &tid2, json!({"userName": "ÉMILE"})))
        .await
        .unwrap();

    // Update rewrites every column, emails included.
    u.doc = json!({"userName": "emile2", "emails": [{"value": "a@b.c"}, {"value": "d@e.f", "type": "home"}]});
    u.doc_folded = fold_document(&u.doc, &schema);
    u.user_name = "emile2".into();
    u.emails = vec![
        EmailKey {
            value_folded: "a@b.c".into(),
            kind: None,
            primary: false,
        },
        EmailKey {
            value_folded: "d@e.f".into(),
            kind: Some("home".into()),
            primary: false,
        },
    ];
    u.state = UserState::Inactive;
    u.version = 2;
    u.last_modified = datetime!(2026-12-24 10:00:00.5 +01:00);
    tx.update_user(&u).await.unwrap();
    let got = tx.get_user(&tid, &u.id).await.unwrap().unwrap();
    assert_eq!(got, u);
    let other = user_record(&schema, &tid, json!({"userName": "zed"}));
    tx.insert_user(&other).await.unwrap();
    let mut clash = other.clone();
    clash.user_name = "EMILE2".into();
    assert!(
        matches!(tx.update_user(&clash).await, Err(StoreError::Conflict(w)) if w == ConflictTarget::UserName && w.to_string() == "userName")
    );

    let names = tx
        .user_names(&tid, &[u.id.clone(), other.id.clone(), "missing".into()])
        .await
        .unwrap();
    assert_eq!(
        names,
        vec![
            (u.id.clone(), Some("Émile Zola".to_string())),
            (other.id.clone(), None)
        ]
    );

    delete_once(&mut tx, &tid, MemberKind::User, &u.id).await;
    assert!(tx.get_user(&tid, &u.id).await.unwrap().is_none());
    tx.commit().await.unwrap();
}

async fn transactions_roll_back_on_drop(b: Backend) {
    let s = store(b, "rollback").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let u = user_record(&schema, &tid, json!({"userName": "ghost"}));
    {
        let mut tx = s.write().await.unwrap();
        tx.insert_user(&u).await.unwrap();
        // dropped without commit
    }
    let mut r = s.read().await.unwrap();
    assert!(r.get_user(&tid, &u.id).await.unwrap().is_none());
    drop(r);
    let mut tx = s.write().await.unwrap();
    tx.insert_user(&u).await.unwrap();
    tx.commit().await.unwrap();
    let mut r = s.read().await.unwrap();
    assert!(r.get_user(&tid, &u.id).await.unwrap().is_some());
}

async fn concurrent_writers_serialise(b: Backend) {
    let s = store(b, "concurrent").await;
    let tid = tenant(&s, "t").await;
    let schema = Arc::new(user_schema());
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (s, tid, schema) = (s.clone(), tid.clone(), schema.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                let mut tx = s.write().await.expect("begin");
                let u = user_record(&schema, &tid, json!({"userName": format!("w{w}-{i}")}));
                tx.insert_user(&u).await.expect("insert");
                tokio::task::yield_now().await;
                tx.commit().await.expect("commit");
                let mut r = s.read().await.expect("read");
                r.get_user(&tid, &u.id)
                    .await
                    .expect("get")
                    .expect("visible");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut r = s.read().await.unwrap();
    let (n, _) = list_users(&mut r, &tid, &query(&schema, None))
        .await
        .unwrap();
    assert_eq!(n, 120);
}

/// Two changes of a tenant's settings read through `tenant_for_update` take turns: the
/// second reads what the first wrote, so neither change is lost.
async fn settings_changes_take_turns(b: Backend) {
    let s = store(b, "settings-turns").await;
    let tid = tenant(&s, "t").await;
    let mut first = s.write().await.unwrap();
    let t = first.tenant_for_update(&tid).await.unwrap().unwrap();
    assert_eq!(t.settings, json!({"a": 1}));
    let second = {
        let (s, tid) = (s.clone(), tid.clone());
        tokio::spawn(async move {
            let mut tx = s.write().await.unwrap();
            let mut settings = tx.tenant_for_update(&tid).await.unwrap().unwrap().settings;
            settings["b"] = json!(2);
            tx.update_tenant_settings(&tid, &settings).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second waits for the first");
    first
        .update_tenant_settings(&tid, &json!({"a": 1, "c": 3}))
        .await
        .unwrap();
    first.commit().await.unwrap();
    second.await.unwrap();
    let mut r = s.read().await.unwrap();
    let t = r.get_tenant(&tid).await.unwrap().unwrap();
    assert_eq!(t.settings, json!({"a": 1, "b": 2, "c": 3}));
}

/// Once a tenant is marked `deleting`, no transaction writes rows of it (but the purge and
/// a copy's import), and a write in flight when the mark comes ends first, so the purge
/// that follows finds its rows (SQLite: writers take turns; PostgreSQL: the write
/// share-locks the tenant's row, which the mark's update waits for).
async fn a_tenant_being_deleted_takes_no_more_writes(b: Backend) {
    let s = store(b, "deleting").await;
    let tid = tenant(&s, "doomed").await;
    let other = tenant(&s, "kept").await;
    let schema = user_schema();
    let user = |t: &str, name: &str| user_record(&schema, t, json!({"userName": name}));
    let mut tx = s.write().await.unwrap();
    tx.insert_user(&user(&tid, "before")).await.unwrap();
    tx.commit().await.unwrap();

    // A write in flight; the mark waits for it.
    let mut in_flight = s.write().await.unwrap();
    in_flight
        .insert_user(&user(&tid, "in-flight"))
        .await
        .unwrap();
    let mark = {
        let (s, tid) = (s.clone(), tid.clone());
        tokio::spawn(async move {
            let mut tx = s.write().await.unwrap();
            assert!(tx
                .set_tenant_state(&tid, TenantState::Deleting)
                .await
                .unwrap());
            // Its own rows (an audit record) may change in the same transaction.
            tx.delete_admin(&tid, "no such administrator")
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !mark.is_finished(),
        "the mark waits for the write in flight"
    );
    in_flight.commit().await.unwrap();
    mark.await.unwrap();

    // A deletion is never undone by a state change read before it.
    let mut tx = s.write().await.unwrap();
    assert!(!tx
        .set_tenant_state(&tid, TenantState::Disabled)
        .await
        .unwrap());
    drop(tx);

    // After it: every change of the tenant's rows is refused, reads are not; other
    // tenants write on.
    let mut tx = s.write().await.unwrap();
    let late = tx.insert_user(&user(&tid, "late")).await;
    assert!(
        matches!(&late, Err(StoreError::TenantDeleting(t)) if *t == tid),
        "{late:?}"
    );
    drop(tx);
    let mut tx = s.write().await.unwrap();
    assert!(tx
        .user_by_user_name(&tid, "before")
        .await
        .unwrap()
        .is_some());
    tx.insert_user(&user(&other, "late")).await.unwrap();
    tx.commit().await.unwrap();

    // The purge deletes both the rows written before the mark and the one in flight.
    loop {
        let mut tx = s.write().await.unwrap();
        let n = tx.purge_tenant(&tid, 500).await.unwrap();
        tx.commit().await.unwrap();
        if n == 0 {
            break;
        }
    }
    let mut r = s.read().await.unwrap();
    for name in ["before", "in-flight"] {
        assert!(
            r.user_by_user_name(&tid, name).await.unwrap().is_none(),
            "{name}"
        );
    }
    assert!(r.user_by_user_name(&other, "late").await.unwrap().is_some());
    drop(r);

    // A copy's import writes a tenant being deleted as it is.
    let mut tx = s.write().await.unwrap();
    tx.copying();
    tx.insert_user(&user(&tid, "copied")).await.unwrap();
    tx.commit().await.unwrap();
}

async fn groups_and_memberships(b: Backend) {
    let s = store(b, "groups").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let gschema = group_resource_schema();
    let mut tx = s.write().await.unwrap();
    let mut g = group_record(&tid, "Straße Team", false);
    tx.insert_group(&g).await.unwrap();
    let all_users = group_record(&tid, "All Users", true);
    tx.insert_group(&all_users).await.unwrap();
    assert!(matches!(
        tx.insert_group(&group_record(&tid, "STRASSE team", false))
            .await,
        Ok(())
    ));
    assert!(matches!(
        tx.insert_group(&group_record(&tid, "straße TEAM", false)).await,
        Err(StoreError::Conflict(w)) if w == ConflictTarget::DisplayName && w.to_string() == "displayName"
    ));
    assert_eq!(
        tx.group_by_display_name(&tid, "STRAßE TEAM")
            .await
            .unwrap()
            .unwrap()
            .id,
        g.id
    );
    g.display_name = "Renamed".into();
    g.version = 2;
    tx.update_group(&g).await.unwrap();
    assert_eq!(tx.get_group(&tid, &g.id).await.unwrap().unwrap(), g);

    // Memberships: 5,000 ids in one call, idempotent.
    let alice = user_record(
        &schema,
        &tid,
        json!({"userName": "alice", "displayName": "Alice A"}),
    );
    let bob = user_record(&schema, &tid, json!({"userName": "bob"}));
    tx.insert_user(&alice).await.unwrap();
    tx.insert_user(&bob).await.unwrap();
    let mut ids: Vec<(String, MemberKind)> = vec![
        (alice.id.clone(), MemberKind::User),
        (bob.id.clone(), MemberKind::User),
    ];
    ids.extend((0..4998).map(|i| (format!("00000000-0000-0000-0000-{i:012}"), MemberKind::User)));
    let t0 = std::time::Instant::now();
    assert_eq!(
        edited(&mut tx, &tid, &g.id, MemberEdit::Add(&ids)).await,
        5000
    );
    let add_time = t0.elapsed();
    assert_eq!(edited(&mut tx, &tid, &g.id, MemberEdit::Add(&ids)).await, 0);
    assert_eq!(tx.count_members(&tid, &g.id).await.unwrap(), 5000);
    assert_eq!(tx.count_members("other", &g.id).await.unwrap(), 0);
    let nested = group_record(&tid, "Nested", false);
    tx.insert_group(&nested).await.unwrap();
    assert_eq!(
        edited(
            &mut tx,
            &tid,
            &g.id,
            MemberEdit::Add(&[(nested.id.clone(), MemberKind::Group)])
        )
        .await,
        1
    );
    tx.edit_members(
        &tid,
        &all_users.id,
        MemberEdit::Add(&[(alice.id.clone(), MemberKind::User)]),
    )
    .await
    .unwrap();

    let first = tx.group_members(&tid, &g.id, 0, Some(3)).await.unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].id, alice.id);
    assert_eq!(first[0].display.as_deref(), Some("Alice A"));
    assert_eq!(first[1].display, None, "bob has no displayName");
    assert_eq!(first[2].display, None);
    let last = tx.group_members(&tid, &g.id, 5000, None).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].kind, MemberKind::Group);
    assert_eq!(last[0].display.as_deref(), Some("Nested"));
    let all = tx.group_members(&tid, &g.id, 0, None).await.unwrap();
    assert_eq!(all.len(), 5001);
    let pages: Vec<_> = {
        let mut v = Vec::new();
        for p in 0..6 {
            v.extend(
                tx.group_members(&tid, &g.id, p * 1000, Some(1000))
                    .await
                    .unwrap(),
            );
        }
        v
    };
    assert_eq!(pages, all);

    let of = tx
        .members_of_groups(&tid, &[g.id.clone(), nested.id.clone()])
        .await
        .unwrap();
    assert_eq!(of.len(), 5001);
    let mut of_users = tx
        .groups_of_users(&tid, &[alice.id.clone(), bob.id.clone()])
        .await
        .unwrap();
    of_users.sort();
    let mut expected = vec![
        (alice.id.clone(), g.id.clone(), "Renamed".to_string()),
        (bob.id.clone(), g.id.clone(), "Renamed".to_string()),
    ];
    expected.sort();
    assert_eq!(of_users, expected, "built-in group excluded");
    assert_eq!(
        tx.group_ids_existing(&tid, &[g.id.clone(), "nope".into()])
            .await
            .unwrap(),
        vec![g.id.clone()]
    );

    // Filters on membership.
    let f = filter::parse(&format!("members[value eq \"{}\"]", bob.id)).unwrap();
    let mut found = Vec::new();
    let n = tx
        .list_resources(
            &tid,
            &query(&gschema, Some(&f)),
            ListPage::Groups(&mut found),
        )
        .await
        .unwrap();
    assert_eq!((n, found[0].id.clone()), (1, g.id.clone()));
    assert_eq!(
        matching_groups(
            &mut tx,
            &tid,
            &gschema,
            &format!("members.value eq \"{}\"", alice.id.to_uppercase())
        )
        .await,
        1,
        "built-in group hidden"
    );
    assert_eq!(
        matching_groups(&mut tx, &tid, &gschema, "members[type eq \"group\"]").await,
        1
    );
    assert_eq!(
        matching_groups(&mut tx, &tid, &gschema, "members[display eq \"ALICE a\"]").await,
        1
    );
    assert_eq!(
        matching_groups(&mut tx, &tid, &gschema, "members pr").await,
        1
    );
    assert_eq!(
        matching_groups(&mut tx, &tid, &gschema, "not (members pr)").await,
        2
    );
    let f = filter::parse(&format!("groups.value eq \"{}\"", g.id)).unwrap();
    let (n, found) = list_users(&mut tx, &tid, &query(&schema, Some(&f)))
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        found
            .iter()
            .map(|u| u.user_name.as_str())
            .collect::<Vec<_>>(),
        vec!["alice", "bob"]
    );
    assert_eq!(
        matching_users(
            &mut tx,
            &tid,
            &schema,
            &format!("groups[value eq \"{}\"]", all_users.id)
        )
        .await,
        0,
        "built-in group is no group"
    );
    assert_eq!(
        matching_users(&mut tx, &tid, &schema, "groups[display eq \"renamed\"]").await,
        2
    );
    assert_eq!(matching_users(&mut tx, &tid, &schema, "groups pr").await, 2);

    let removing: Vec<String> = ids[2500..].iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        edited(&mut tx, &tid, &g.id, MemberEdit::Remove(&removing)).await,
        2500
    );
    assert_eq!(
        edited(&mut tx, &tid, &g.id, MemberEdit::Remove(&removing)).await,
        0
    );
    assert_eq!(tx.count_members(&tid, &g.id).await.unwrap(), 2501);

    // Deleting a user or a group removes its memberships.
    assert!(tx
        .delete_resource(&tid, MemberKind::User, &bob.id)
        .await
        .unwrap());
    assert_eq!(tx.count_members(&tid, &g.id).await.unwrap(), 2500);
    assert!(tx
        .delete_resource(&tid, MemberKind::Group, &nested.id)
        .await
        .unwrap());
    assert_eq!(tx.count_members(&tid, &g.id).await.unwrap(), 2499);
    assert_eq!(edited(&mut tx, &tid, &g.id, MemberEdit::Clear).await, 2499);
    assert_eq!(tx.count_members(&tid, &g.id).await.unwrap(), 0);
    delete_once(&mut tx, &tid, MemberKind::Group, &g.id).await;
    tx.commit().await.unwrap();
    eprintln!("add_members of 5000 ids: {add_time:?}");
}

// ---------------------------------------------------------------------------------------
// Filter push-down

fn filter_users(schema: &ResourceSchema, tid: &str) -> Vec<UserRecord> {
    let ent = ENTERPRISE_USER_SCHEMA;
    let bodies = vec![
        json!({"userName": "alice", "name": {"givenName": "Alice", "familyName": "Anderson"}, "displayName": "Alice A",
               "title": "Engineer", "active": true, "externalId": "ext-1",
               "emails": [{"value": "alice@example.com", "type": "work", "primary": true},
                          {"value": "alice@home.org", "type": "home"}],
               ent: {"department": "Sales", "employeeNumber": "100", "manager": {"value": "m1"}},
               TEST_EXT: {"level": 5, "score": 1.5, "hired": "2021-06-01T00:00:00Z", "tags": ["red", "blue"], "code": "ABC"}}),
        json!({"userName": "Bob", "name": {"givenName": "Bob", "familyName": "Brown"}, "active": false,
               "emails": [{"value": "BOB@Example.com", "type": "work"}],
               ent: {"department": "sales", "employeeNumber": "200"},
               TEST_EXT: {"level": 2, "score": 0.5, "hired": "2020-01-01T10:00:00.5+02:00", "tags": ["green"], "code": "abc"}}),
        json!({"userName": "émile", "name": {"givenName": "Émile", "familyName": "Zola"}, "displayName": "ÉMILE",
               "active": "True", "emails": [{"value": "emile@example.fr", "type": "home", "primary": true}],
               ent: {"department": "Écriture"}, TEST_EXT: {"level": 3, "hired": "2021-06-01T02:00:00+02:00"}}),
        json!({"userName": "dave", "title": "Manager", "active": true, "externalId": "EXT-1",
               "emails": [{"value": "dave@example.org"}], TEST_EXT: {"tags": ["Blue", "black"]}}),
        json!({"userName": "eve", "nickName": "evil", "active": false,
               "emails": [{"value": "eve@evil.example", "type": "other"}, {"value": "eve@example.com", "type": "work", "primary": false}],
               ent: {"manager": {"value": "m2", "displayName": "Boss"}}}),
        json!({"userName": "frank", "name": {"givenName": "frank"}, "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
               TEST_EXT: {"level": 10, "score": 10, "code": "XYZ"}}),
        json!({"userName": "grace", "name": {"familyName": "Hopper"}, "title": "Rear Admiral", "active": true,
               "emails": [{"value": "grace@navy.mil", "type": "work", "display": "Grace"}]}),
        json!({"userName": "heidi", "userType": "Contractor", "active": true,
               "addresses": [{"locality": "Zürich", "country": "CH", "type": "work"}]}),
        json!({"userName": "ivan", "locale": "ru-RU", "emails": [{"type": "work", "display": "no value"}]}),
        json!({"userName": "judy", "title": "", "displayName": "Judy", "roles": [{"value": "admin"}, {"value": "auditor", "primary": true}]}),
        json!({"userName": "STRASSE", "displayName": "Straße", "active": true}),
        json!({"userName": "mallory", "x509Certificates": [{"value": "TUlJQ0F6Q0NB"}], "active": false}),
        json!({"userName": "niaj", "entitlements": [{"value": "VPN", "type": "net"}], TEST_EXT: {"hired": "2019-12-31T23:59:59.999Z"}}),
        json!({"userName": "olivia", "name": {"givenName": "Olivia", "middleName": "M"}, TEST_EXT: {"level": -1}}),
        json!({"userName": "peggy", "emails": [{"value": "peggy@example.com", "type": "WORK", "primary": true}], "active": true}),
        json!({"userName": "rupert", "ims": [{"value": "rupert", "type": "xmpp"}], ent: {"organization": "ACME", "division": "R&D"}}),
        json!({"userName": "sybil", "preferredLanguage": "en-GB", "timezone": "Europe/London"}),
        json!({"userName": "trent", "profileUrl": "https://example.com/trent", "active": true}),
        json!({"userName": "victor", "displayName": "Victor", "name": {"formatted": "Victor V."}}),
        json!({"userName": "walter", "emails": [{"value": "walter@example.com"}, {"value": "w@Example.COM", "type": "work"}], TEST_EXT: {"score": 2}}),
    ];
    bodies
        .into_iter()
        .map(|b| user_record(schema, tid, b))
        .collect()
}

const FILTERS: &[&str] = &[
    r#"userName eq "alice""#,
    r#"userName eq "ALICE""#,
    r#"userName eq "ÉMILE""#,
    r#"userName eq "strasse""#,
    r#"userName co "li""#,
    r#"userName sw "A""#,
    r#"userName ew "E""#,
    r#"userName gt "m""#,
    r#"userName le "bob""#,
    r#"userName gt "eve\u0000""#,
    r#"userName le "eve\u0000z""#,
    r#"userName eq 5"#,
    r#"externalId eq "ext-1""#,
    r#"externalId eq "EXT-1""#,
    r#"externalId pr"#,
    r#"name.givenName eq "alice""#,
    r#"name.familyName co "O""#,
    r#"name pr"#,
    r#"name[givenName pr and familyName pr]"#,
    r#"displayName eq "émile""#,
    r#"displayName lt "M""#,
    r#"emails.value eq "alice@example.com""#,
    r#"emails eq "BOB@EXAMPLE.COM""#,
    r#"emails[value eq "w@example.com"]"#,
    r#"emails[type eq "work" and value co "example.com"]"#,
    r#"emails[type eq "work"]"#,
    r#"emails[type eq "home"]"#,
    r#"emails[primary eq true and type eq "work"]"#,
    r#"emails[primary eq "True"]"#,
    r#"emails[primary eq false]"#,
    r#"emails[not (type eq "work")]"#,
    r#"emails[type ne "work" and value pr]"#,
    r#"emails[value eq "eve@example.com" and primary eq true]"#,
    r#"emails.value ew ".org""#,
    r#"emails.value sw "EVE""#,
    r#"emails.type ne "work""#,
    r#"emails ne "alice@example.com""#,
    r#"emails pr"#,
    r#"not (emails pr)"#,
    r#"emails.value pr"#,
    r#"emails.display pr"#,
    r#"emails eq null"#,
    r#"emails.value ne null"#,
    r#"active eq true"#,
    r#"active eq "False""#,
    r#"active ne true"#,
    r#"active eq "yes""#,
    r#"not (active eq true)"#,
    r#"title pr"#,
    r#"title eq null"#,
    r#"title ne null"#,
    r#"title eq "engineer" or title sw "rear""#,
    r#"nickName ne "evil""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "SALES""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department co "écri""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "M1""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m2""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr"#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt "150""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization pr and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division ew "d""#,
    r#"urn:scimd:test:1.0:User:level gt 3"#,
    r#"urn:scimd:test:1.0:User:level eq 5"#,
    r#"urn:scimd:test:1.0:User:level ge 2.5"#,
    r#"urn:scimd:test:1.0:User:level lt 0"#,
    r#"urn:scimd:test:1.0:User:level eq "5""#,
    r#"urn:scimd:test:1.0:User:level ne 5"#,
    r#"urn:scimd:test:1.0:User:score lt 1.5"#,
    r#"urn:scimd:test:1.0:User:score ge 2"#,
    r#"urn:scimd:test:1.0:User:hired gt "2020-01-01T00:00:00Z""#,
    r#"urn:scimd:test:1.0:User:hired eq "2021-06-01T02:00:00+02:00""#,
    r#"urn:scimd:test:1.0:User:hired eq "2020-01-01T08:00:00.500Z""#,
    r#"urn:scimd:test:1.0:User:hired ge "2020-01-01T08:00:00.5000001Z""#,
    r#"urn:scimd:test:1.0:User:hired lt "2020-01-01T08:00:00.6Z""#,
    r#"urn:scimd:test:1.0:User:hired le "2019-12-31T23:59:59.999Z""#,
    r#"urn:scimd:test:1.0:User:hired co "2021""#,
    r#"urn:scimd:test:1.0:User:hired sw "2020-01-01t""#,
    r#"urn:scimd:test:1.0:User:hired gt "2020""#,
    r#"urn:scimd:test:1.0:User:tags eq "BLUE""#,
    r#"urn:scimd:test:1.0:User:tags[value sw "bl"]"#,
    r#"urn:scimd:test:1.0:User:tags ne "red""#,
    r#"urn:scimd:test:1.0:User:tags pr"#,
    r#"urn:scimd:test:1.0:User:code eq "ABC""#,
    r#"urn:scimd:test:1.0:User:code eq "abc""#,
    r#"urn:scimd:test:1.0:User:code gt "X""#,
    r#"urn:scimd:test:1.0:User:code co "b""#,
    r#"x509Certificates.value eq "tuljq0f6q0nb""#,
    r#"roles[primary eq true and value eq "AUDITOR"]"#,
    r#"roles.value eq "admin" and not (roles.value eq "auditor")"#,
    r#"phoneNumbers[type eq "mobile" and value co "555"]"#,
    r#"addresses[locality eq "zürich"]"#,
    r#"addresses.country eq "ch""#,
    r#"userType eq "contractor" or locale sw "ru""#,
    r#"(userName sw "a" or userName sw "b") and active eq true"#,
    r#"not (emails[type eq "work"]) and active pr"#,
    r#"profileUrl co "EXAMPLE.com/""#,
    r#"entitlements[type eq "NET"]"#,
    r#"ims[value eq "rupert" and type eq "xmpp"]"#,
    r#"name.formatted pr or name.middleName pr"#,
];

async fn filter_push_down_agrees_with_matches(b: Backend) {
    let s = store(b, "filters").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let users = filter_users(&schema, &tid);
    assert!(
        users.iter().any(|u| u.doc.get(TEST_EXT).is_some()),
        "extension attributes normalised"
    );
    insert_users(&s, &users).await;

    let mut r = s.read().await.unwrap();
    let mut failures = Vec::new();
    let mut discriminating = 0;
    for text in FILTERS {
        let f = filter::parse(text).unwrap_or_else(|e| panic!("parse {text}: {e:?}"));
        // Filters whose literal does not fit the attribute's type are refused before they
        // reach a store (400 invalidFilter); the store must still agree with `matches` on
        // them, so they are compared too. Any other validation failure is a test mistake.
        if let Err(e) = filter::validate(&f, &schema) {
            assert!(
                e.detail.contains("does not fit its type"),
                "validate {text}: {e:?}"
            );
        }
        let expected: BTreeSet<&str> = users
            .iter()
            .filter(|u| filter::matches(&f, &u.doc, &schema))
            .map(|u| u.user_name.as_str())
            .collect();
        let (n, got) = match list_users(&mut r, &tid, &query(&schema, Some(&f))).await {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{text}: {e}"));
                continue;
            }
        };
        let got: BTreeSet<&str> = got.iter().map(|u| u.user_name.as_str()).collect();
        eprintln!("{text}: {got:?}");
        if !got.is_empty() && got.len() < users.len() {
            discriminating += 1;
        }
        if got != expected || n as usize != expected.len() {
            let got: Vec<_> = got.into_iter().collect();
            failures.push(format!(
                "{text}: SQL {got:?} (count {n}), matches {expected:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "filters that disagree:\n{}",
        failures.join("\n")
    );
    assert!(
        discriminating * 10 >= FILTERS.len() * 8,
        "too few filters select a proper subset: {discriminating}"
    );
}

async fn common_attributes_filter_on_columns(b: Backend) {
    let s = store(b, "common").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let mut users = filter_users(&schema, &tid);
    users[1].created = datetime!(2025-01-01 00:00:00.000001 UTC);
    users[1].last_modified = datetime!(2027-01-01 00:00:00 UTC);
    users[2].state = UserState::Deprovisioned;
    let mut tx = s.write().await.unwrap();
    for u in &users {
        tx.insert_user(u).await.unwrap();
    }
    let count = |f: &str| {
        let f = filter::parse(f).unwrap();
        filter::validate(&f, &schema).unwrap();
        f
    };
    let cases: Vec<(String, u64)> = vec![
        (format!("id eq \"{}\"", users[0].id), 1),
        (format!("id eq \"{}\"", users[0].id.to_uppercase()), 0),
        (format!("id ne \"{}\"", users[0].id), 18),
        ("meta.resourceType eq \"User\"".into(), 19),
        ("meta.resourceType eq \"Group\"".into(), 0),
        ("meta.created lt \"2026-01-01T00:00:00Z\"".into(), 1),
        (
            "meta.created gt \"2025-01-01T00:00:00.0000005Z\"".into(),
            19,
        ),
        (
            "meta.created eq \"2025-01-01T01:00:00.000001+01:00\"".into(),
            1,
        ),
        ("meta.created le \"2025-01-01T00:00:00.0000009Z\"".into(), 0),
        ("meta.created le \"2025-01-01T00:00:00.0000011Z\"".into(), 1),
        ("meta.created lt \"2025-01-01T00:00:00.000001Z\"".into(), 0),
        ("meta.lastModified ge \"2027-01-01T00:00:00Z\"".into(), 1),
        ("meta.version eq \"W/\\\"1\\\"\"".into(), 19),
        ("userName eq \"émile\"".into(), 0),
    ];
    for (f, n) in &cases {
        let parsed = count(f);
        let (got, _) = list_users(&mut tx, &tid, &query(&schema, Some(&parsed)))
            .await
            .unwrap();
        assert_eq!(got, *n, "{f}");
    }
    let f = count("userName eq \"émile\"");
    let mut q = query(&schema, Some(&f));
    q.visibility = Visibility::All;
    assert_eq!(list_users(&mut tx, &tid, &q).await.unwrap().0, 1);
    // Unknown attributes are reported, not ignored.
    let f = filter::parse("nosuch eq \"x\"").unwrap();
    assert!(matches!(
        list_users(&mut tx, &tid, &query(&schema, Some(&f))).await,
        Err(StoreError::Unsupported(_))
    ));
}

fn sort_key(u: &UserRecord, attr: &str) -> Option<Value> {
    let d = &u.doc_folded;
    match attr {
        "userName" => Some(json!(fold(&u.user_name))),
        "name.familyName" => d.get("name").and_then(|n| n.get("familyName")).cloned(),
        "emails" => {
            let a = d.get("emails")?.as_array()?;
            let e = a
                .iter()
                .find(|e| e.get("primary") == Some(&json!(true)))
                .or(a.first())?;
            e.get("value").cloned()
        }
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" => d
            .get(ENTERPRISE_USER_SCHEMA)
            .and_then(|x| x.get("department"))
            .cloned(),
        "urn:scimd:test:1.0:User:level" => d.get(TEST_EXT).and_then(|x| x.get("level")).cloned(),
        "urn:scimd:test:1.0:User:hired" => d
            .get(TEST_EXT)
            .and_then(|x| x.get("hired"))
            .and_then(Value::as_str)
            .map(|s| {
                let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .unwrap();
                json!(t.unix_timestamp_nanos() as f64)
            }),
        _ => unreachable!(),
    }
}

fn cmp_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap()
            .partial_cmp(&y.as_f64().unwrap())
            .unwrap(),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => panic!("mixed sort keys"),
    }
}

async fn sorting_and_paging(b: Backend) {
    let (s, tid, schema, users) = store_with_filter_users(b, "sorting").await;
    let mut r = s.read().await.unwrap();

    // Default order: creation order, pages never overlap.
    let mut seen = Vec::new();
    for page in 0..4 {
        let mut q = query(&schema, None);
        q.offset = page * 6;
        q.limit = 6;
        let (n, got) = list_users(&mut r, &tid, &q).await.unwrap();
        assert_eq!(n, 20);
        seen.extend(got.into_iter().map(|u| u.user_name));
    }
    assert_eq!(
        seen,
        users
            .iter()
            .map(|u| u.user_name.clone())
            .collect::<Vec<_>>()
    );
    let mut q = query(&schema, None);
    q.limit = 0;
    let (n, got) = list_users(&mut r, &tid, &q).await.unwrap();
    assert_eq!((n, got.len()), (20, 0));

    for attr in [
        "userName",
        "name.familyName",
        "emails",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:scimd:test:1.0:User:level",
        "urn:scimd:test:1.0:User:hired",
    ] {
        for order in [SortOrder::Ascending, SortOrder::Descending] {
            // Expected: by key, NULLs last ascending (first descending), ties in creation order.
            let mut expected: Vec<(Option<Value>, usize, &str)> = users
                .iter()
                .enumerate()
                .map(|(i, u)| (sort_key(u, attr), i, u.user_name.as_str()))
                .collect();
            expected.sort_by(|a, b| {
                let key = match (&a.0, &b.0) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(x), Some(y)) => cmp_json(x, y),
                };
                let key = if order == SortOrder::Descending {
                    key.reverse()
                } else {
                    key
                };
                key.then(a.1.cmp(&b.1))
            });
            let expected: Vec<&str> = expected.into_iter().map(|e| e.2).collect();
            let path = AttrPath::parse(attr).unwrap();
            let mut got = Vec::new();
            for page in 0..3 {
                let mut q = query(&schema, None);
                q.sort_by = Some(&path);
                q.sort_order = order;
                q.offset = page * 7;
                q.limit = 7;
                let (_, us) = list_users(&mut r, &tid, &q).await.unwrap();
                got.extend(us.into_iter().map(|u| u.user_name));
            }
            assert_eq!(got, expected, "sortBy={attr} {order:?}");
        }
    }
    let path = AttrPath::parse("groups").unwrap();
    let mut q = query(&schema, None);
    q.sort_by = Some(&path);
    assert!(matches!(
        list_users(&mut r, &tid, &q).await,
        Err(StoreError::Unsupported(_))
    ));
}

async fn visibility_and_builtin_groups(b: Backend) {
    let s = store(b, "visibility").await;
    let tid = tenant(&s, "t").await;
    let (schema, gschema) = (user_schema(), group_resource_schema());
    let mut tx = s.write().await.unwrap();
    for (i, state) in [
        UserState::Active,
        UserState::Inactive,
        UserState::Deprovisioned,
    ]
    .into_iter()
    .enumerate()
    {
        let mut u = user_record(&schema, &tid, json!({"userName": format!("u{i}")}));
        u.state = state;
        tx.insert_user(&u).await.unwrap();
    }
    tx.insert_group(&group_record(&tid, "All Users", true))
        .await
        .unwrap();
    tx.insert_group(&group_record(&tid, "Admins", false))
        .await
        .unwrap();
    let mut q = query(&schema, None);
    assert_eq!(list_users(&mut tx, &tid, &q).await.unwrap().0, 2);
    q.visibility = Visibility::All;
    assert_eq!(list_users(&mut tx, &tid, &q).await.unwrap().0, 3);
    let mut gs = Vec::new();
    let q = query(&gschema, None);
    let n = tx
        .list_resources(&tid, &q, ListPage::Groups(&mut gs))
        .await
        .unwrap();
    assert_eq!((n, gs[0].display_name.as_str()), (1, "Admins"));
    assert_eq!(
        matching_groups(&mut tx, &tid, &gschema, "displayName eq \"ADMINS\"").await,
        1
    );
    assert_eq!(
        matching_groups(&mut tx, &tid, &gschema, "displayName eq \"all users\"").await,
        0
    );
    assert_eq!(
        list_users(&mut tx, "other", &query(&schema, None))
            .await
            .unwrap()
            .0,
        0
    );
}

// ---------------------------------------------------------------------------------------
// Query plans

fn assert_indexed(b: Backend, plan: &[String], what: &str) {
    let text = plan.join("\n");
    eprintln!("{what}:\n{text}\n");
    if b == Backend::Postgres {
        // Planned with sequential scans disabled: one left means no index can answer.
        assert!(
            plan.iter().any(|l| l.contains("Index")),
            "{what}: no index used:\n{text}"
        );
        assert!(
            !plan.iter().any(|l| l.contains("Seq Scan")),
            "{what}: full scan:\n{text}"
        );
        // The creation-order index may only be used to fetch rows by seq.
        for (i, l) in plan.iter().enumerate() {
            if l.contains("_by_tenant_seq on") {
                let cond = plan.get(i + 1).map_or("", String::as_str);
                assert!(
                    cond.contains("Index Cond") && cond.contains("seq ="),
                    "{what}: walks every row of the tenant:\n{text}"
                );
            }
        }
        return;
    }
    assert!(
        plan.iter().any(|l| l.contains("USING INDEX")
            || l.contains("USING COVERING INDEX")
            || l.contains("USING INTEGER PRIMARY KEY")),
        "{what}: no index used:\n{text}"
    );
    assert!(
        !plan
            .iter()
            .any(|l| l.starts_with("SEARCH r ") && l.ends_with("(tenant_id=?)")),
        "{what}: walks every row of the tenant:\n{text}"
    );
    assert!(
        !plan.iter().any(|l| {
            let l = l.trim();
            (l.starts_with("SCAN r")
                || l.starts_with("SCAN users")
                || l.starts_with("SCAN groups")
                || l.starts_with("SCAN gm")
                || l.starts_with("SCAN group_members")
                || l.starts_with("SCAN ue"))
                && !l.contains("INDEX")
        }),
        "{what}: full scan:\n{text}"
    );
}

/// Whether a plan sorts rows (instead of reading them in index order).
fn sorts(plan: &[String]) -> bool {
    plan.iter().any(|l| {
        l.contains("TEMP B-TREE") || l.trim_start().starts_with("Sort") || l.contains("->  Sort")
    })
}

/// PostgreSQL plans by statistics: give it a tenant of some size (5,000 users with emails,
/// 500 groups, 5,000 memberships) and analysed tables, as production has.
async fn populate_for_plans(db: &support::Db, tid: &str) {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
    for sql in [
        "INSERT INTO users (id, tenant_id, user_name, user_name_folded, external_id, state, source, version, \
         created, last_modified, doc, doc_folded) SELECT 'u' || i, $1, 'user' || i, 'user' || i, 'ext-' || i, \
         'active', 'scim', 1, now(), now(), '{}', '{}' FROM generate_series(1, 5000) i",
        "INSERT INTO user_emails (tenant_id, user_seq, value_folded, kind) \
         SELECT $1, seq, user_name_folded || '@example.com', 'work' FROM users",
        "INSERT INTO groups (id, tenant_id, display_name, display_name_folded, source, version, created, \
         last_modified, doc, doc_folded) SELECT 'g' || i, $1, 'G' || i, 'g' || i, 'scim', 1, now(), now(), '{}', '{}' \
         FROM generate_series(1, 500) i",
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_kind) \
         SELECT $1, 'g' || (i % 500 + 1), 'u' || i, 'User' FROM generate_series(1, 5000) i",
    ] {
        sqlx::query(sql).bind(tid).execute(&mut c).await.unwrap();
    }
    sqlx::query("ANALYZE users, user_emails, groups, group_members")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

async fn hot_filters_use_indexes(b: Backend) {
    let s = store(b, "plans").await;
    let tid = tenant(&s, "t").await;
    if b == Backend::Postgres {
        populate_for_plans(&s, &tid).await;
    }
    let schema = user_schema();
    let gschema = group_resource_schema();
    let user_filters = [
        r#"userName eq "alice""#,
        r#"externalId eq "ext-1""#,
        r#"id eq "0f6c1d0e-0000-4000-8000-000000000000""#,
        r#"emails.value eq "a@example.com""#,
        r#"emails eq "a@example.com""#,
        r#"emails[type eq "work" and value eq "a@example.com"]"#,
        r#"emails[type eq "work"].value eq "a@example.com""#,
        r#"groups.value eq "0f6c1d0e-0000-4000-8000-000000000000""#,
        r#"userName eq "alice" or externalId eq "x""#,
    ];
    let group_filters = [
        r#"displayName eq "Admins""#,
        r#"members[value eq "0f6c1d0e-0000-4000-8000-000000000000"]"#,
        r#"members.value eq "0f6c1d0e-0000-4000-8000-000000000000""#,
        r#"externalId eq "g1""#,
    ];
    let by_schema = [(&schema, &user_filters[..]), (&gschema, &group_filters[..])];
    for (schema, filters) in by_schema {
        for text in filters {
            let f = filter::parse(text).unwrap();
            let plan = s
                .explain_list(&tid, &query(schema, Some(&f)))
                .await
                .unwrap();
            assert_indexed(b, &plan, text);
        }
    }
    // Sorting by userName / displayName walks the unique index.
    for (attr, groups) in [("userName", false), ("displayName", true)] {
        let path = AttrPath::parse(attr).unwrap();
        let mut q = query(if groups { &gschema } else { &schema }, None);
        q.sort_by = Some(&path);
        q.sort_order = SortOrder::Descending;
        q.limit = 100;
        let plan = s.explain_list(&tid, &q).await.unwrap();
        eprintln!("sortBy={attr}:\n{}", plan.join("\n"));
        assert!(!sorts(&plan), "sortBy={attr} sorts:\n{}", plan.join("\n"));
    }
    // Paging without a filter walks an index in creation order: no sort, no table scan.
    for (visibility, groups) in [
        (Visibility::Scim, false),
        (Visibility::All, false),
        (Visibility::Scim, true),
    ] {
        let mut q = query(if groups { &gschema } else { &schema }, None);
        q.visibility = visibility;
        q.offset = 500;
        q.limit = 100;
        let plan = s.explain_list(&tid, &q).await.unwrap();
        eprintln!("paging:\n{}", plan.join("\n"));
        assert!(
            plan.iter().any(|l| l.contains("USING INDEX")
                || l.contains("USING COVERING INDEX")
                || l.contains("Index")),
            "{plan:?}"
        );
        assert!(!sorts(&plan), "paging sorts:\n{}", plan.join("\n"));
    }
}

/// Timings on a larger tenant: `SCIMD_PERF_USERS=1000000 cargo test -p scimd-store --test store
/// -- --ignored perf --nocapture` (`SCIMD_PERF_BACKEND=postgres` with `SCIMD_TEST_PG_URL` set
/// for PostgreSQL). Prints, asserts nothing but results.
#[tokio::test]
#[ignore]
async fn perf_large_tenant() {
    let b = match std::env::var("SCIMD_PERF_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let n: usize = std::env::var("SCIMD_PERF_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let s = store(b, "perf").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let gschema = group_resource_schema();
    let all = group_record(&tid, "All Users", true);
    let team = group_record(&tid, "Team", false);
    let t0 = std::time::Instant::now();
    let mut ids = Vec::with_capacity(n);
    for batch in 0..n.div_ceil(10_000) {
        let mut tx = s.write().await.unwrap();
        if batch == 0 {
            tx.insert_group(&all).await.unwrap();
            tx.insert_group(&team).await.unwrap();
        }
        let mut members = Vec::new();
        for i in batch * 10_000..((batch + 1) * 10_000).min(n) {
            let mut u = user_record(
                &schema,
                &tid,
                json!({"userName": format!("user{i}@example.com"), "externalId": format!("ext-{i}"),
                       "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 1000)},
                       "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
                       "active": i % 10 != 0,
                       ENTERPRISE_USER_SCHEMA: {"department": format!("dept{}", i % 50)}}),
            );
            u.id = format!("{:08x}-0000-4000-8000-{i:012}", i);
            ids.push(u.id.clone());
            tx.insert_user(&u).await.unwrap();
            members.push((u.id.clone(), MemberKind::User));
        }
        tx.edit_members(&tid, &all.id, MemberEdit::Add(&members))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    eprintln!("insert {n} users (+ All Users rows): {:?}", t0.elapsed());

    let mut tx = s.write().await.unwrap();
    let t = std::time::Instant::now();
    let some: Vec<_> = ids
        .iter()
        .step_by(20)
        .map(|id| (id.clone(), MemberKind::User))
        .collect();
    tx.edit_members(&tid, &team.id, MemberEdit::Add(&some))
        .await
        .unwrap();
    eprintln!("add {} members in one call: {:?}", some.len(), t.elapsed());
    let t = std::time::Instant::now();
    tx.edit_members(
        &tid,
        &team.id,
        MemberEdit::Add(&[(ids[1].clone(), MemberKind::User)]),
    )
    .await
    .unwrap();
    eprintln!(
        "add 1 member to a {}-member group: {:?}",
        some.len(),
        t.elapsed()
    );
    tx.commit().await.unwrap();

    let mut r = s.read().await.unwrap();
    let mid = n / 2;
    let cases = [
        format!("userName eq \"USER{mid}@example.com\""),
        format!("externalId eq \"ext-{mid}\""),
        format!("id eq \"{}\"", ids[mid]),
        format!("emails[type eq \"work\" and value eq \"user{mid}@example.com\"]"),
        format!("emails.value eq \"user{mid}@example.com\""),
        format!("groups.value eq \"{}\"", team.id),
        "name.familyName eq \"family7\"".to_string(),
        "active eq false".to_string(),
    ];
    for c in &cases {
        let f = filter::parse(c).unwrap();
        let t = std::time::Instant::now();
        let (total, page) = list_users(&mut r, &tid, &query(&schema, Some(&f)))
            .await
            .unwrap();
        eprintln!(
            "{c}: {total} found, {} returned, {:?}",
            page.len(),
            t.elapsed()
        );
    }
    for offset in [0, n as u64 / 2, n as u64 - 100] {
        let mut q = query(&schema, None);
        q.offset = offset;
        q.limit = 100;
        let t = std::time::Instant::now();
        let (total, page) = list_users(&mut r, &tid, &q).await.unwrap();
        eprintln!(
            "page at offset {offset}: {total} total, {} returned, {:?}",
            page.len(),
            t.elapsed()
        );
    }
    let path = AttrPath::parse("userName").unwrap();
    let mut q = query(&schema, None);
    q.sort_by = Some(&path);
    q.limit = 100;
    let t = std::time::Instant::now();
    list_users(&mut r, &tid, &q).await.unwrap();
    eprintln!("sortBy=userName first page: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let c = r.count_members(&tid, &all.id).await.unwrap();
    eprintln!("count_members of All Users ({c}): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let m = r
        .group_members(&tid, &all.id, c / 2, Some(100))
        .await
        .unwrap();
    eprintln!(
        "group_members page at {}: {} rows, {:?}",
        c / 2,
        m.len(),
        t.elapsed()
    );
    let f = filter::parse(&format!("members[value eq \"{}\"]", ids[mid])).unwrap();
    let t = std::time::Instant::now();
    let g = r
        .list_resources(
            &tid,
            &query(&gschema, Some(&f)),
            ListPage::Groups(&mut Vec::new()),
        )
        .await
        .unwrap();
    eprintln!("members[value eq ..]: {g} groups, {:?}", t.elapsed());
}

async fn odd_documents_do_not_break_queries(b: Backend) {
    let s = store(b, "odd").await;
    let tid = tenant(&s, "t").await;
    let schema = user_schema();
    let mut u = user_record(&schema, &tid, json!({"userName": "odd"}));
    // Not canonical: scalars where objects are expected.
    u.doc = json!({"userName": "odd", "emails": ["x@y.z", {"value": "a@b.c", "type": "work"}], "roles": "admin"});
    u.doc_folded = u.doc.clone();
    let mut tx = s.write().await.unwrap();
    tx.insert_user(&u).await.unwrap();
    for text in [
        r#"emails[type eq "work"]"#,
        r#"emails.type pr"#,
        r#"roles.value eq "admin""#,
    ] {
        let f = filter::parse(text).unwrap();
        list_users(&mut tx, &tid, &query(&schema, Some(&f)))
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    let path = AttrPath::parse("emails").unwrap();
    let mut q = query(&schema, None);
    q.sort_by = Some(&path);
    let (n, _) = list_users(&mut tx, &tid, &q).await.unwrap();
    assert_eq!(n, 1);
}

/// Every attribute × operator × literal combination that validates: SQL agrees with `matches`.
async fn filter_cross_product_agrees_with_matches(b: Backend) {
    let (s, tid, schema, users) = store_with_filter_users(b, "cross").await;
    let attrs = [
        "userName",
        "displayName",
        "title",
        "nickName",
        "externalId",
        "name.givenName",
        "name",
        "emails",
        "emails.value",
        "emails.type",
        "emails.primary",
        "emails.display",
        "active",
        "roles.value",
        "roles.primary",
        "x509Certificates.value",
        "addresses.locality",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
        "urn:scimd:test:1.0:User:level",
        "urn:scimd:test:1.0:User:score",
        "urn:scimd:test:1.0:User:hired",
        "urn:scimd:test:1.0:User:tags",
        "urn:scimd:test:1.0:User:code",
    ];
    let ops = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
    let literals = [
        r#""alice""#,
        r#""ALICE@EXAMPLE.COM""#,
        r#""""#,
        r#""example""#,
        r#""e""#,
        r#""work""#,
        r#""sales""#,
        r#""True""#,
        r#""abc""#,
        r#""blue""#,
        r#""2021-06-01T00:00:00Z""#,
        r#""2020-01-01T08:00:00.5Z""#,
        r#""2020""#,
        "5",
        "2.5",
        "-1",
        "true",
        "false",
        "null",
    ];
    let mut texts: Vec<String> = Vec::new();
    for a in attrs {
        texts.push(format!("{a} pr"));
        for op in ops {
            for l in literals {
                texts.push(format!("{a} {op} {l}"));
            }
        }
    }
    for sub in ["type", "value", "primary", "display"] {
        for op in ["eq", "ne", "co", "gt"] {
            for l in [r#""work""#, r#""ALICE@example.com""#, "true", r#""Grace""#] {
                texts.push(format!("emails[{sub} {op} {l}]"));
                texts.push(format!("emails[value pr and {sub} {op} {l}]"));
                texts.push(format!(
                    "emails[value co \"example\" and not ({sub} {op} {l})]"
                ));
            }
        }
    }
    let mut r = s.read().await.unwrap();
    let (mut checked, mut failures) = (0, Vec::new());
    for text in &texts {
        let Ok(f) = filter::parse(text) else { continue };
        if filter::validate(&f, &schema).is_err() {
            continue;
        }
        checked += 1;
        let expected: BTreeSet<&str> = users
            .iter()
            .filter(|u| filter::matches(&f, &u.doc, &schema))
            .map(|u| u.user_name.as_str())
            .collect();
        match list_users(&mut r, &tid, &query(&schema, Some(&f))).await {
            Ok((_, got)) => {
                let got: BTreeSet<&str> = got.iter().map(|u| u.user_name.as_str()).collect();
                if got != expected {
                    failures.push(format!("{text}: SQL {got:?}, matches {expected:?}"));
                }
            }
            Err(e) => failures.push(format!("{text}: {e}")),
        }
    }
    eprintln!("{checked} filters checked");
    assert!(checked > 1000, "only {checked} filters validated");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
