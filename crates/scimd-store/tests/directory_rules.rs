//! Integration tests of the store methods behind the product's directory rules: custom
//! attributes and their values, lifecycle helpers, counts, the provisioning log (a view of
//! the change records) and the administrator listings. Every test body runs against SQLite and, when
//! `SCIMD_TEST_PG_URL` is set, PostgreSQL (see `support`).

#[macro_use]
mod support;

use scim_proto::schema::{AttrType, AttributeDef, ResourceSchema};
use scimd_directory::store::{
    Actor, ActorType, AdminUserFilter, AttributeRow, Cause, Change, ChangeRecord, Channel,
    ConflictTarget, ExtensionEdit, GroupRecord, MemberChange, MemberEdit, MemberKind, RecordQuery,
    RecordView, Source, Store, StoreError, Tx, UserRecord, UserState, Window,
};
use serde_json::json;
use support::{group_record as group, now, store, tenant_with, user_record as user};
use support::{Backend, TestStore};

async fn tenant(s: &TestStore, name: &str) -> String {
    tenant_with(s, name, json!({})).await
}
use time::macros::datetime;
use time::OffsetDateTime;

both!(
    attributes_registered_per_tenant_ignoring_case,
    extension_values_count_and_strip,
    extension_key_rename_moves_values,
    members_in_no_other_group_and_state_changes,
    provisioning_log_filters_paging_and_purge,
    change_record_views_coalescing_and_rewrites,
    admin_listings_search_names_and_emails,
    reopening_keeps_data_and_migrations,
);

const EXT: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";
const EXT2: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

/// The User schema with the custom extension under `urn`.
fn schema_with(urn: &str) -> ResourceSchema {
    let string = |name| AttributeDef::new(name, AttrType::String, "a string");
    let level = AttributeDef::new("level", AttrType::Integer, "an integer");
    support::user_schema_with(
        urn,
        "Custom",
        vec![string("costCode"), string("badge"), level],
    )
}

async fn get_user(tx: &mut Box<dyn Tx>, tid: &str, id: &str) -> UserRecord {
    tx.get_user(tid, id).await.unwrap().expect("user")
}

/// A new store `name` with two tenants, `t` and `o` (the other): `(store, t's id, o's id)`.
async fn store_with_tenants_t_and_o(b: Backend, name: &str) -> (support::Db, String, String) {
    let s = store(b, name).await;
    let tid = tenant(&s, "t").await;
    let other = tenant(&s, "o").await;
    (s, tid, other)
}

/// `count_extension_values` of `doc[urn][key]` in the tenant `tid`, which must succeed.
async fn extension_value_count(tx: &mut Box<dyn Tx>, tid: &str, urn: &str, key: &str) -> u64 {
    tx.count_extension_values(tid, urn, key)
        .await
        .unwrap_or_else(|e| panic!("count {urn}:{key}: {e}"))
}

/// `edit_extension_values` of `edit` in the tenant `tid`, which must succeed: how many users
/// changed.
async fn edited_extension_values(tx: &mut Box<dyn Tx>, tid: &str, edit: ExtensionEdit<'_>) -> u64 {
    let edited = tx
        .edit_extension_values(tid, edit)
        .await
        .unwrap_or_else(|e| panic!("{edit:?}: {e}"));
    edited.len() as u64
}

/// [`edited_extension_values`] of `doc[urn][name]` stripped.
async fn stripped_extension_values(tx: &mut Box<dyn Tx>, tid: &str, urn: &str, name: &str) -> u64 {
    edited_extension_values(tx, tid, ExtensionEdit::Strip { urn, name }).await
}

/// [`edited_extension_values`] of `doc[old]` renamed to `doc[new]`.
async fn renamed_extension_key(tx: &mut Box<dyn Tx>, tid: &str, old: &str, new: &str) -> u64 {
    edited_extension_values(tx, tid, ExtensionEdit::Rename { old, new }).await
}

// ---------------------------------------------------------------------------------------

async fn attributes_registered_per_tenant_ignoring_case(b: Backend) {
    let s = store(b, "attrs").await;
    let t1 = tenant(&s, "t1").await;
    let t2 = tenant(&s, "t2").await;
    let attr = |tid: &str, name: &str, ty: &str, secs: i64| AttributeRow {
        tenant_id: tid.to_string(),
        name: name.to_string(),
        ty: ty.to_string(),
        created: now() + time::Duration::seconds(secs),
    };
    let mut tx = s.write().await.unwrap();
    assert!(tx.list_attributes(&t1).await.unwrap().is_empty());
    // Registration order, not name or time order.
    let a = attr(&t1, "zeta", "string", 10);
    let b = attr(&t1, "costCode", "string", 5);
    let c = attr(&t1, "level", "integer", 0);
    for x in [&a, &b, &c] {
        tx.insert_attribute(x).await.unwrap();
    }
    assert!(matches!(
        tx.insert_attribute(&attr(&t1, "COSTCODE", "boolean", 0)).await,
        Err(StoreError::Conflict(w)) if w == ConflictTarget::AttributeName && w.to_string() == "attribute name"
    ));
    // Another tenant may use the name.
    tx.insert_attribute(&attr(&t2, "costcode", "boolean", 0))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.read().await.unwrap();
    assert_eq!(
        tx.list_attributes(&t1).await.unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(tx.list_attributes(&t2).await.unwrap().len(), 1);
    drop(tx);

    let mut tx = s.write().await.unwrap();
    assert!(tx.delete_attribute(&t1, "CostCode").await.unwrap());
    assert!(!tx.delete_attribute(&t1, "costCode").await.unwrap());
    assert!(!tx.delete_attribute(&t1, "missing").await.unwrap());
    let d = attr(&t1, "CostCode", "decimal", -5);
    tx.insert_attribute(&d).await.unwrap();
    assert_eq!(tx.list_attributes(&t1).await.unwrap(), vec![a, c, d]);
    // The other tenant's attribute is untouched.
    assert_eq!(tx.list_attributes(&t2).await.unwrap()[0].name, "costcode");
    tx.commit().await.unwrap();
}

async fn extension_values_count_and_strip(b: Backend) {
    let (s, tid, other) = store_with_tenants_t_and_o(b, "strip").await;
    let schema = schema_with(EXT);
    let ext_user = |tenant: &str, input| user(&schema, tenant, input);
    let mut both = ext_user(
        &tid,
        json!({"userName": "both", "name": {"givenName": "Zoë"},
               EXT: {"costCode": "CC-Ünïcode", "badge": "B-7", "level": 12}}),
    );
    // Keys the schema does not know, with numbers JSON functions must not reformat.
    for d in [&mut both.doc, &mut both.doc_folded] {
        d[EXT]["ratio"] = json!(0.1);
        d[EXT]["big"] = json!(9_007_199_254_740_993_u64);
    }
    both.doc["title"] = json!("Ingénieur \"quoted\"");
    both.doc_folded["title"] = json!("ingénieur \"quoted\"");
    let only = ext_user(&tid, json!({"userName": "only", EXT: {"costCode": "CC-2"}}));
    let mut null = ext_user(&tid, json!({"userName": "null", EXT: {"badge": "x"}}));
    for d in [&mut null.doc, &mut null.doc_folded] {
        d[EXT] = json!({"costCode": null});
    }
    let none = ext_user(&tid, json!({"userName": "none", EXT: {"badge": "N"}}));
    let bare = ext_user(&tid, json!({"userName": "bare"}));
    let foreign = ext_user(
        &other,
        json!({"userName": "foreign", EXT: {"costCode": "F"}}),
    );
    let mut deprovisioned = ext_user(
        &tid,
        json!({"userName": "gone", EXT: {"costCode": "G", "level": 3}}),
    );
    deprovisioned.state = UserState::Deprovisioned;
    let mut tx = s.write().await.unwrap();
    for u in [&both, &only, &null, &none, &bare, &foreign, &deprovisioned] {
        tx.insert_user(u).await.unwrap();
    }
    // Present and not null, in any state; this tenant only.
    assert_eq!(
        extension_value_count(&mut tx, &tid, EXT, "costCode").await,
        3
    );
    assert_eq!(extension_value_count(&mut tx, &tid, EXT, "badge").await, 2);
    assert_eq!(extension_value_count(&mut tx, &tid, EXT, "level").await, 2);
    assert_eq!(
        extension_value_count(&mut tx, &tid, EXT2, "costCode").await,
        0
    );
    // Keys are exact (documents are canonical).
    assert_eq!(
        extension_value_count(&mut tx, &tid, EXT, "costcode").await,
        0
    );
    assert!(matches!(
        tx.count_extension_values(&tid, "urn:bad\"urn", "x").await,
        Err(StoreError::Backend(_))
    ));

    // Strip: every holder of the key (null included) changes.
    assert_eq!(
        stripped_extension_values(&mut tx, &tid, EXT, "costCode").await,
        4
    );
    assert_eq!(
        extension_value_count(&mut tx, &tid, EXT, "costCode").await,
        0
    );
    assert_eq!(
        extension_value_count(&mut tx, &other, EXT, "costCode").await,
        1
    );

    // Other keys stay, in doc and doc_folded, with their values as they were.
    let b = get_user(&mut tx, &tid, &both.id).await;
    let kept = json!({"badge": "B-7", "level": 12, "ratio": 0.1, "big": 9_007_199_254_740_993_u64});
    assert_eq!(b.doc[EXT], kept);
    assert_eq!(b.doc_folded[EXT]["badge"], json!("b-7"));
    assert_eq!(b.doc_folded[EXT]["big"], kept["big"]);
    assert_eq!(b.doc["name"], json!({"givenName": "Zoë"}));
    assert_eq!(b.doc_folded["name"], json!({"givenName": "zoë"}));
    assert_eq!(b.doc["title"], json!("Ingénieur \"quoted\""));
    assert_eq!(b.doc["userName"], json!("both"));
    assert_eq!(b.version, 2);
    assert!(b.last_modified > now());
    // The extension object is removed where it ends up empty.
    for id in [&only.id, &null.id] {
        let u = get_user(&mut tx, &tid, id).await;
        assert!(u.doc.get(EXT).is_none(), "{}", u.doc);
        assert!(u.doc_folded.get(EXT).is_none(), "{}", u.doc_folded);
        assert_eq!(u.version, 2);
    }
    let g = get_user(&mut tx, &tid, &deprovisioned.id).await;
    assert_eq!(g.doc[EXT], json!({"level": 3}));
    assert_eq!(g.state, UserState::Deprovisioned);
    // Users without the key are untouched.
    for (t, u) in [(&tid, &none), (&tid, &bare), (&other, &foreign)] {
        assert_eq!(&get_user(&mut tx, t, &u.id).await, u);
    }
    // Nothing left to strip.
    assert_eq!(
        stripped_extension_values(&mut tx, &tid, EXT, "costCode").await,
        0
    );
    // Stripping the last key of an object removes the object.
    assert_eq!(
        stripped_extension_values(&mut tx, &tid, EXT, "badge").await,
        2
    );
    let n = get_user(&mut tx, &tid, &none.id).await;
    assert!(n.doc.get(EXT).is_none());
    assert_eq!(n.version, 2);
    let b = get_user(&mut tx, &tid, &both.id).await;
    assert_eq!(
        b.doc[EXT],
        json!({"level": 12, "ratio": 0.1, "big": 9_007_199_254_740_993_u64})
    );
    assert_eq!(b.version, 3);
    tx.commit().await.unwrap();
}

async fn extension_key_rename_moves_values(b: Backend) {
    let (s, tid, other) = store_with_tenants_t_and_o(b, "rename").await;
    let schema = schema_with(EXT);
    let a = user(
        &schema,
        &tid,
        json!({"userName": "a", "displayName": "Ä", EXT: {"costCode": "Cc-1", "level": 7}}),
    );
    let b = user(&schema, &tid, json!({"userName": "b", EXT: {"badge": "X"}}));
    let c = user(&schema, &tid, json!({"userName": "c"}));
    let f = user(
        &schema,
        &other,
        json!({"userName": "f", EXT: {"badge": "Y"}}),
    );
    let mut tx = s.write().await.unwrap();
    for u in [&a, &b, &c, &f] {
        tx.insert_user(u).await.unwrap();
    }
    assert_eq!(renamed_extension_key(&mut tx, &tid, EXT, EXT).await, 0);
    assert_eq!(renamed_extension_key(&mut tx, &tid, EXT, EXT2).await, 2);
    let a2 = get_user(&mut tx, &tid, &a.id).await;
    assert!(a2.doc.get(EXT).is_none());
    assert!(a2.doc_folded.get(EXT).is_none());
    assert_eq!(a2.doc[EXT2], a.doc[EXT]);
    assert_eq!(a2.doc_folded[EXT2], a.doc_folded[EXT]);
    assert_eq!(a2.doc_folded[EXT2]["costCode"], json!("cc-1"));
    assert_eq!(a2.doc["displayName"], json!("Ä"));
    assert_eq!(a2.version, 2);
    assert!(a2.last_modified > now());
    let b2 = get_user(&mut tx, &tid, &b.id).await;
    assert_eq!(b2.doc[EXT2], json!({"badge": "X"}));
    // Users without the key and other tenants are untouched.
    assert_eq!(get_user(&mut tx, &tid, &c.id).await, c);
    assert_eq!(get_user(&mut tx, &other, &f.id).await, f);
    assert_eq!(
        extension_value_count(&mut tx, &tid, EXT2, "costCode").await,
        1
    );
    assert_eq!(
        extension_value_count(&mut tx, &tid, EXT, "costCode").await,
        0
    );
    // And back.
    assert_eq!(renamed_extension_key(&mut tx, &tid, EXT2, EXT).await, 2);
    let a3 = get_user(&mut tx, &tid, &a.id).await;
    assert_eq!(a3.doc, a.doc);
    assert_eq!(a3.doc_folded, a.doc_folded);
    assert_eq!(a3.version, 3);
    tx.commit().await.unwrap();
}

async fn members_in_no_other_group_and_state_changes(b: Backend) {
    let (s, tid, other) = store_with_tenants_t_and_o(b, "state").await;
    let schema = schema_with(EXT);
    let mut tx = s.write().await.unwrap();
    let users: Vec<UserRecord> = (0..5)
        .map(|i| {
            user(
                &schema,
                &tid,
                json!({"userName": format!("u{i}"), "active": true}),
            )
        })
        .collect();
    for u in &users {
        tx.insert_user(u).await.unwrap();
    }
    let (g1, g2, g3) = (
        group(&tid, "G1", false),
        group(&tid, "G2", false),
        group(&tid, "G3", false),
    );
    let all = group(&tid, "All Users", true);
    for g in [&g1, &g2, &g3, &all] {
        tx.insert_group(g).await.unwrap();
    }
    let m = |i: usize| (users[i].id.clone(), MemberKind::User);
    // u0: G1 only; u1: G1 and G2; u2: G2 only; u3: G1 and the built-in group; u4: none.
    // G3 is a (nested) group member of G1 and not a user.
    tx.edit_members(
        &tid,
        &g1.id,
        MemberEdit::Add(&[m(3), m(0), m(1), (g3.id.clone(), MemberKind::Group)]),
    )
    .await
    .unwrap();
    tx.edit_members(&tid, &g2.id, MemberEdit::Add(&[m(1), m(2)]))
        .await
        .unwrap();
    tx.edit_members(&tid, &all.id, MemberEdit::Add(&[m(3)]))
        .await
        .unwrap();
    assert_eq!(
        tx.members_in_no_other_group(&tid, &g1.id).await.unwrap(),
        vec![users[3].id.clone(), users[0].id.clone()]
    );
    assert_eq!(
        tx.members_in_no_other_group(&tid, &g2.id).await.unwrap(),
        vec![users[2].id.clone()]
    );
    assert!(tx
        .members_in_no_other_group(&tid, &g3.id)
        .await
        .unwrap()
        .is_empty());
    assert!(tx
        .members_in_no_other_group(&other, &g1.id)
        .await
        .unwrap()
        .is_empty());
    assert!(tx
        .members_in_no_other_group(&tid, "no-such-group")
        .await
        .unwrap()
        .is_empty());

    // set_users_state: only users in state `from`, of this tenant.
    let mut inactive = user(&schema, &tid, json!({"userName": "off", "active": false}));
    inactive.state = UserState::Inactive;
    tx.insert_user(&inactive).await.unwrap();
    let foreign = user(&schema, &other, json!({"userName": "u0", "active": true}));
    tx.insert_user(&foreign).await.unwrap();
    let at = datetime!(2027-01-02 03:04:05.678901 UTC);
    // Spread over several statements (ids are chunked): real ids at both ends.
    let mut ids: Vec<String> = vec![users[0].id.clone(), inactive.id.clone(), foreign.id.clone()];
    ids.extend((0..1200).map(|i| format!("00000000-0000-0000-0000-{i:012}")));
    ids.push(users[1].id.clone());
    ids.push(users[0].id.clone());
    assert_eq!(
        tx.set_users_state(&tid, &ids, UserState::Active, UserState::Inactive, at)
            .await
            .unwrap()
            .len(),
        2
    );
    for i in [0, 1] {
        let u = get_user(&mut tx, &tid, &users[i].id).await;
        assert_eq!(u.state, UserState::Inactive);
        assert_eq!(u.doc["active"], json!(false));
        assert_eq!(u.doc_folded["active"], json!(false));
        assert_eq!(u.version, 2);
        assert_eq!(u.last_modified, at);
        assert_eq!(u.doc["userName"], users[i].doc["userName"]);
    }
    assert_eq!(get_user(&mut tx, &tid, &inactive.id).await, inactive);
    assert_eq!(get_user(&mut tx, &other, &foreign.id).await, foreign);
    assert_eq!(get_user(&mut tx, &tid, &users[2].id).await, users[2]);
    // from == to and empty lists change nothing.
    assert_eq!(
        tx.set_users_state(&tid, &ids, UserState::Inactive, UserState::Inactive, at)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        tx.set_users_state(&tid, &[], UserState::Active, UserState::Inactive, at)
            .await
            .unwrap()
            .len(),
        0
    );
    // Back to active: `active` becomes true (also where the document had no `active`).
    let plain = user(&schema, &tid, json!({"userName": "plain"}));
    let mut plain_off = plain.clone();
    plain_off.state = UserState::Deprovisioned;
    tx.insert_user(&plain_off).await.unwrap();
    assert_eq!(
        tx.set_users_state(
            &tid,
            &[users[0].id.clone(), inactive.id.clone(), plain.id.clone()],
            UserState::Inactive,
            UserState::Active,
            at
        )
        .await
        .unwrap()
        .len(),
        2
    );
    let u0 = get_user(&mut tx, &tid, &users[0].id).await;
    assert_eq!((u0.state, u0.version), (UserState::Active, 3));
    assert_eq!(u0.doc["active"], json!(true));
    let off = get_user(&mut tx, &tid, &inactive.id).await;
    assert_eq!(off.doc["active"], json!(true));
    assert_eq!(off.doc_folded["active"], json!(true));
    assert_eq!(
        tx.set_users_state(
            &tid,
            std::slice::from_ref(&plain.id),
            UserState::Deprovisioned,
            UserState::Active,
            at
        )
        .await
        .unwrap()
        .len(),
        1
    );
    let p = get_user(&mut tx, &tid, &plain.id).await;
    assert_eq!(p.doc["active"], json!(true));
    assert_eq!(p.state, UserState::Active);

    // Counts.
    let mut local = user(&schema, &tid, json!({"userName": "local"}));
    local.source = Source::Local;
    local.state = UserState::Inactive;
    tx.insert_user(&local).await.unwrap();
    let counts = tx.user_counts(&tid).await.unwrap();
    let count = |st: UserState, src: Source| {
        counts
            .iter()
            .find(|c| c.0 == st && c.1 == src)
            .map_or(0, |c| c.2)
    };
    // Active: u0, u2, u3, u4, off, plain; inactive: u1 (scim), local.
    assert_eq!(count(UserState::Active, Source::Scim), 6);
    assert_eq!(count(UserState::Inactive, Source::Scim), 1);
    assert_eq!(count(UserState::Inactive, Source::Local), 1);
    assert_eq!(counts.iter().map(|c| c.2).sum::<u64>(), 8);
    assert_eq!(counts.len(), 3);
    assert_eq!(
        tx.user_counts(&other).await.unwrap(),
        vec![(UserState::Active, Source::Scim, 1)]
    );
    assert_eq!(tx.group_count(&tid).await.unwrap(), 3);
    assert_eq!(tx.group_count(&other).await.unwrap(), 0);
    tx.commit().await.unwrap();
}

/// `base` changed by `f`: one case of a table of record queries.
fn with(base: &RecordQuery, f: impl FnOnce(&mut RecordQuery)) -> RecordQuery {
    let mut q = base.clone();
    f(&mut q);
    q
}

/// A provisioning-log record (the request record of a SCIM write).
fn log_entry(tid: &str, at: OffsetDateTime, outcome: &str, rt: &str, name: &str) -> ChangeRecord {
    ChangeRecord {
        seq: 0,
        tenant_id: tid.to_string(),
        txn: uuid::Uuid::new_v4().to_string(),
        at,
        actor: Actor::new(ActorType::Token, "Entra Connector"),
        source: Channel::Scim,
        address: None,
        cause: Cause::Request {
            method: "POST".to_string(),
            path: format!("/scim/v2/{rt}s"),
            status: Some(201),
        },
        resource_type: Some(rt.to_string()),
        resource_id: Some(uuid::Uuid::new_v4().to_string()),
        resource_name: Some(name.to_string()),
        member: None,
        outcome: outcome.to_string(),
        action: None,
        detail: None,
        changes: vec![
            Change::new("userName", None, Some(json!(name))),
            Change::new("name", Some(json!({"givenName": "A"})), None),
        ],
        warnings: vec![],
        count: 1,
        log: true,
        audit: false,
    }
}

async fn provisioning_log_filters_paging_and_purge(b: Backend) {
    let (s, tid, other) = store_with_tenants_t_and_o(b, "log").await;
    let t0 = datetime!(2026-01-01 00:00:00 UTC);
    let hours = |h: i64| t0 + time::Duration::hours(h);
    let mut tx = s.write().await.unwrap();
    let mut entries = [
        log_entry(&tid, hours(0), "created", "User", "alice@example.com"),
        log_entry(&tid, hours(1), "updated", "User", "Ðórr ÉQUIPE"),
        log_entry(&tid, hours(2), "created", "Group", "Sales Team"),
        log_entry(&tid, hours(3), "rejected", "User", "bob"),
        log_entry(&tid, hours(4), "deleted", "Group", "Old Team"),
    ];
    entries[3].cause = Cause::Request {
        method: "POST".to_string(),
        path: "/scim/v2/Users".to_string(),
        status: Some(409),
    };
    entries[3].detail = Some("userName 'BOB' already EXISTS".into());
    entries[3].warnings = vec!["ignored attribute 'foo'".into(), "x\"y".into()];
    entries[3].changes = vec![];
    entries[3].resource_id = None;
    entries[4].actor.name = "Okta Üser".into();
    entries[4].resource_name = None;
    for e in entries.iter_mut() {
        e.seq = tx.insert_record(e).await.unwrap();
    }
    assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));
    let foreign = log_entry(&other, hours(1), "created", "User", "alice@example.com");
    tx.insert_record(&foreign).await.unwrap();
    // Records of other views are not log entries.
    let mut history_only = log_entry(&tid, hours(2), "created", "User", "alice@example.com");
    history_only.log = false;
    tx.insert_record(&history_only).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.read().await.unwrap();
    let all = RecordQuery {
        limit: 100,
        ..RecordQuery::default()
    };
    let newest_first: Vec<ChangeRecord> = entries.iter().rev().cloned().collect();
    assert_eq!(
        tx.query_records(&tid, &all).await.unwrap(),
        (5, newest_first.clone())
    );

    let q = |f: &dyn Fn(&mut RecordQuery)| with(&all, f);
    let text = |t: &str| q(&|q| q.window.text = Some(t.to_string()));
    let page = |offset: u64, limit: u64| {
        q(&|q| {
            q.offset = offset;
            q.limit = limit;
        })
    };
    let id0 = entries[0].resource_id.clone().unwrap().to_uppercase();
    // Each case: what it checks, the query, the total and the page as positions in
    // `entries` (`None`: only the total is checked).
    let cases: Vec<(&str, RecordQuery, u64, Option<Vec<usize>>)> = vec![
        (
            "outcome is exact",
            q(&|q| q.outcome = Some("created".into())),
            2,
            Some(vec![2, 0]),
        ),
        (
            "outcome is case-sensitive",
            q(&|q| q.outcome = Some("Created".into())),
            0,
            Some(vec![]),
        ),
        (
            "resource type",
            q(&|q| q.resource_type = Some("Group".into())),
            2,
            Some(vec![4, 2]),
        ),
        (
            "time range: since inclusive, until exclusive",
            q(&|q| {
                q.window.since = Some(hours(1));
                q.window.until = Some(hours(3));
            }),
            2,
            Some(vec![2, 1]),
        ),
        // Text: case-insensitive substring of name, id, path, detail or token name.
        ("text in a name", text("ðÓRR équipe"), 1, Some(vec![1])),
        ("text in a detail", text("already exists"), 1, Some(vec![3])),
        ("text in a token name", text("okta üSER"), 1, Some(vec![4])),
        (
            "text in a path",
            text("/SCIM/V2/GROUPS"),
            2,
            Some(vec![4, 2]),
        ),
        ("text in a resource id", text(&id0), 1, Some(vec![0])),
        ("text in most token names", text("ENTRA"), 4, None),
        ("text '%' is literal", text("%"), 0, None),
        ("empty text matches all", text(""), 5, None),
        (
            "filters combine with AND",
            q(&|q| {
                q.window.text = Some("team".into());
                q.outcome = Some("created".into());
                q.window.since = Some(hours(1));
            }),
            1,
            Some(vec![2]),
        ),
        // Paging: the total is the whole match.
        ("a middle page", page(1, 2), 5, Some(vec![3, 2])),
        ("the last page", page(4, 2), 5, Some(vec![0])),
        ("past the end", q(&|q| q.offset = 5), 5, Some(vec![])),
        ("limit 0", q(&|q| q.limit = 0), 5, Some(vec![])),
    ];
    for (what, query, total, positions) in cases {
        let (n, rows) = tx.query_records(&tid, &query).await.unwrap();
        assert_eq!(n, total, "{what}: total");
        if let Some(positions) = positions {
            let want: Vec<i64> = positions.iter().map(|&i| entries[i].seq).collect();
            let got: Vec<i64> = rows.iter().map(|e| e.seq).collect();
            assert_eq!(got, want, "{what}: page");
        }
    }
    // Tenants are separate.
    let (n, rows) = tx.query_records(&other, &all).await.unwrap();
    assert_eq!((n, rows[0].tenant_id.as_str()), (1, other.as_str()));
    drop(tx);

    // Purge: strictly older than `before`, every tenant.
    let mut tx = s.write().await.unwrap();
    assert_eq!(tx.purge_records(hours(2)).await.unwrap(), 3);
    assert_eq!(tx.purge_records(hours(2)).await.unwrap(), 0);
    tx.commit().await.unwrap();
    let mut tx = s.read().await.unwrap();
    assert_eq!(
        tx.query_records(&tid, &all).await.unwrap(),
        (3, newest_first[..3].to_vec())
    );
    assert_eq!(tx.query_records(&other, &all).await.unwrap().0, 0);
}

/// The views other than the log: a resource's history (its records and the per-member
/// records naming it, which read back as a `members` change), the audit record and its
/// filters; coalesced records count up under one key; a rewrite changes the name, the
/// detail, the changes and what the text filter finds.
async fn change_record_views_coalescing_and_rewrites(b: Backend) {
    let s = store(b, "records").await;
    let tid = tenant(&s, "t").await;
    let mut tx = s.write().await.unwrap();
    let mut group = log_entry(&tid, now(), "updated", "Group", "Staff");
    group.resource_id = Some("g-1".into());
    group.seq = tx.insert_record(&group).await.unwrap();
    let members = [
        MemberChange {
            id: "u-1".into(),
            kind: MemberKind::User,
            added: true,
        },
        MemberChange {
            id: "g-2".into(),
            kind: MemberKind::Group,
            added: false,
        },
    ];
    tx.insert_member_records(&group, &members).await.unwrap();
    let mut action = log_entry(&tid, now(), "succeeded", "Token", "entra");
    action.resource_id = Some("k-1".into());
    action.actor = Actor::new(ActorType::Cli, "ops");
    action.source = Channel::Cli;
    action.cause = Cause::Command("scimd token create".into());
    action.action = Some("token.create".into());
    action.address = Some("192.0.2.9".into());
    (action.log, action.audit) = (false, true);
    action.seq = tx.insert_record(&action).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = s.read().await.unwrap();
    let view = |v: RecordView| RecordQuery {
        view: v,
        limit: 10,
        ..RecordQuery::default()
    };
    let (n, user) = tx
        .query_records(&tid, &view(RecordView::Resource("u-1".into())))
        .await
        .unwrap();
    assert_eq!(n, 1);
    let m = &user[0];
    assert_eq!(m.member, Some(("u-1".to_string(), MemberKind::User)));
    assert_eq!(
        (m.outcome.as_str(), m.txn.as_str()),
        ("member added", group.txn.as_str())
    );
    assert_eq!(m.resource_id.as_deref(), Some("g-1"));
    assert_eq!(
        m.changes,
        [Change::new(
            "members",
            None,
            Some(json!({"value": "u-1", "type": "User"}))
        )]
    );
    assert!(!m.log && !m.audit && m.warnings.is_empty());
    let (n, g) = tx
        .query_records(&tid, &view(RecordView::Resource("g-1".into())))
        .await
        .unwrap();
    assert_eq!(n, 3, "the group's record and its two members'");
    assert_eq!(g[2], group);
    assert_eq!(g[0].outcome, "member removed");
    assert_eq!(
        g[0].changes[0].before,
        Some(json!({"value": "g-2", "type": "Group"}))
    );
    let (n, nested) = tx
        .query_records(&tid, &view(RecordView::Resource("g-2".into())))
        .await
        .unwrap();
    assert_eq!(
        (n, nested[0].seq),
        (1, g[0].seq),
        "a group's history: as a member too"
    );
    let audit = view(RecordView::Audit);
    assert_eq!(
        tx.query_records(&tid, &audit).await.unwrap(),
        (1, vec![action.clone()])
    );
    // The audit filters: each case, what it checks, the query and how many records match.
    let cases = [
        (
            "action",
            with(&audit, |q| q.action = Some("token.create".into())),
            1,
        ),
        (
            "actor and source",
            with(&audit, |q| {
                q.actor = Some("ops".into());
                q.source = Some(Channel::Cli);
            }),
            1,
        ),
        (
            "text in the address, transaction",
            with(&audit, |q| {
                q.window.text = Some("192.0.2".into());
                q.window.txn = Some(action.txn.clone());
            }),
            1,
        ),
        (
            "another action",
            with(&audit, |q| q.action = Some("token.revoke".into())),
            0,
        ),
        (
            "actor is case-sensitive",
            with(&audit, |q| q.actor = Some("OPS".into())),
            0,
        ),
        (
            "another source",
            with(&audit, |q| q.source = Some(Channel::Api)),
            0,
        ),
    ];
    for (what, q, n) in cases {
        let found = tx.query_records(&tid, &q).await.unwrap().0;
        assert_eq!(found, n, "{what}: {q:?}");
    }
    drop(tx);

    // Coalesced: one record per key, counting up; keys listed by prefix.
    let mut tx = s.write().await.unwrap();
    let mut failure = action.clone();
    failure.action = Some("signin.failure".into());
    for key in ["f|10:01|a", "f|10:01|a", "f|10:01|b", "f|10:02|a"] {
        tx.coalesce_record(&failure, key).await.unwrap();
    }
    let mut keys = tx.coalesced_keys(&tid, "f|10:01|").await.unwrap();
    keys.sort();
    assert_eq!(keys, ["f|10:01|a", "f|10:01|b"]);
    assert!(tx
        .coalesced_keys(&tid, "f|10:03|")
        .await
        .unwrap()
        .is_empty());
    // A rewrite: the name, the detail, the changes; the text filter follows.
    let mut redacted = group.clone();
    redacted.resource_name = Some("pseudonym".into());
    redacted.detail = Some("removed".into());
    redacted.changes = vec![Change {
        attribute: "userName".into(),
        redacted: true,
        ..Change::default()
    }];
    assert!(tx.rewrite_record(&redacted).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = s.read().await.unwrap();
    let counts: Vec<u64> = tx
        .query_records(
            &tid,
            &RecordQuery {
                action: Some("signin.failure".into()),
                ..audit.clone()
            },
        )
        .await
        .unwrap()
        .1
        .iter()
        .map(|r| r.count)
        .collect();
    assert_eq!(
        counts,
        [1, 1, 2],
        "newest first: 10:02 a, 10:01 b, 10:01 a twice"
    );
    let text = |t: &str| RecordQuery {
        window: Window {
            text: Some(t.into()),
            ..Window::default()
        },
        ..view(RecordView::Log)
    };
    assert_eq!(tx.query_records(&tid, &text("staff")).await.unwrap().0, 0);
    let (n, v) = tx.query_records(&tid, &text("PSEUDONYM")).await.unwrap();
    assert_eq!((n, &v[0]), (1, &redacted));
}

async fn admin_listings_search_names_and_emails(b: Backend) {
    let (s, tid, other) = store_with_tenants_t_and_o(b, "admin").await;
    let schema = schema_with(EXT);
    let mut a = user(
        &schema,
        &tid,
        json!({"userName": "ANNA.ÖSTERGÅRD@example.com", "displayName": "Anna Östergård",
               "name": {"givenName": "Anna", "familyName": "Östergård"},
               "emails": [{"value": "Anna.Ostergard@Contoso.COM", "type": "work", "primary": true}]}),
    );
    a.source = Source::Local;
    let mut b = user(
        &schema,
        &tid,
        json!({"userName": "bjorn", "displayName": "Björn Ångström",
               "name": {"givenName": "BJÖRN", "familyName": "Ångström"},
               "emails": [{"value": "b@fabrikam.example", "type": "work"},
                          {"value": "Bjorn.Private@Ähnlich.example", "type": "home"}]}),
    );
    b.state = UserState::Deprovisioned;
    let c = user(
        &schema,
        &tid,
        json!({"userName": "carol", "name": {"givenName": "Çarol", "familyName": "Smith"},
               "title": "Östergård fan"}),
    );
    let mut d = user(
        &schema,
        &tid,
        json!({"userName": "dave", "displayName": "Straße"}),
    );
    d.state = UserState::Inactive;
    let f = user(
        &schema,
        &other,
        json!({"userName": "anna", "emails": [{"value": "anna@contoso.com"}]}),
    );
    let mut tx = s.write().await.unwrap();
    for u in [&a, &b, &c, &d, &f] {
        tx.insert_user(u).await.unwrap();
    }
    let names = |r: (u64, Vec<UserRecord>)| {
        (
            r.0,
            r.1.iter().map(|u| u.user_name.clone()).collect::<Vec<_>>(),
        )
    };
    let search = |s: &str| AdminUserFilter {
        search: Some(s.to_string()),
        ..AdminUserFilter::default()
    };
    // Every state, creation order, emails attached.
    let (n, all) = tx
        .admin_list_users(&tid, &AdminUserFilter::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(all, vec![a.clone(), b.clone(), c.clone(), d.clone()]);
    let list = |f: AdminUserFilter| f;
    for (q, expect) in [
        ("östergård", vec!["ANNA.ÖSTERGÅRD@example.com"]), // userName, displayName, familyName
        ("CONTOSO.com", vec!["ANNA.ÖSTERGÅRD@example.com"]), // email only
        ("ähnlich", vec!["bjorn"]),                        // second email
        ("FABRIKAM", vec!["bjorn"]),
        ("björn", vec!["bjorn"]),    // given name / displayName
        ("ÅNGSTRÖM", vec!["bjorn"]), // family name
        ("çarol", vec!["carol"]),    // given name only
        ("smith", vec!["carol"]),    // family name only
        ("STRASSE", vec![]),         // no Unicode case expansion: fold is to_lowercase
        ("straße", vec!["dave"]),
        ("fan", vec![]), // title is not searched
        (
            "a",
            vec!["ANNA.ÖSTERGÅRD@example.com", "bjorn", "carol", "dave"],
        ),
        ("%", vec![]),
        ("_", vec![]),
    ] {
        let r = names(
            tx.admin_list_users(&tid, &list(search(q)), 0, 100)
                .await
                .unwrap(),
        );
        assert_eq!(
            r,
            (
                expect.len() as u64,
                expect.iter().map(|s| s.to_string()).collect()
            ),
            "{q}"
        );
    }
    // State and source, AND-ed with the search.
    let f = AdminUserFilter {
        state: Some(UserState::Deprovisioned),
        ..AdminUserFilter::default()
    };
    assert_eq!(
        names(tx.admin_list_users(&tid, &f, 0, 100).await.unwrap()),
        (1, vec!["bjorn".to_string()])
    );
    let f = AdminUserFilter {
        source: Some(Source::Local),
        ..AdminUserFilter::default()
    };
    assert_eq!(
        names(tx.admin_list_users(&tid, &f, 0, 100).await.unwrap()).0,
        1
    );
    let f = AdminUserFilter {
        search: Some("a".into()),
        state: Some(UserState::Active),
        source: Some(Source::Scim),
    };
    assert_eq!(
        names(tx.admin_list_users(&tid, &f, 0, 100).await.unwrap()),
        (1, vec!["carol".to_string()])
    );
    // Paging.
    assert_eq!(
        names(tx.admin_list_users(&tid, &search("a"), 1, 2).await.unwrap()),
        (4, vec!["bjorn".to_string(), "carol".to_string()])
    );
    assert_eq!(
        names(tx.admin_list_users(&tid, &search("a"), 4, 2).await.unwrap()),
        (4, vec![])
    );
    assert_eq!(
        names(tx.admin_list_users(&tid, &search("a"), 0, 0).await.unwrap()),
        (4, vec![])
    );
    // The other tenant.
    assert_eq!(
        names(
            tx.admin_list_users(&other, &search("CONTOSO"), 0, 10)
                .await
                .unwrap()
        ),
        (1, vec!["anna".to_string()])
    );

    // Groups: the built-in group first, then creation order.
    let g1 = group(&tid, "Équipe Nord", false);
    let g2 = group(&tid, "Sales", false);
    let all_users = group(&tid, "All Users", true);
    let g3 = group(&tid, "équipe sud", false);
    let g4 = group(&other, "Équipe", false);
    for g in [&g1, &g2, &all_users, &g3, &g4] {
        tx.insert_group(g).await.unwrap();
    }
    let gnames = |r: (u64, Vec<GroupRecord>)| {
        (
            r.0,
            r.1.iter()
                .map(|g| g.display_name.clone())
                .collect::<Vec<_>>(),
        )
    };
    let (n, groups) = tx.admin_list_groups(&tid, None, 0, 100).await.unwrap();
    assert_eq!(n, 4);
    assert_eq!(
        groups,
        vec![all_users.clone(), g1.clone(), g2.clone(), g3.clone()]
    );
    for (search, offset, limit, total, names) in [
        ("ÉQUIPE", 0, 100, 2, vec!["Équipe Nord", "équipe sud"]),
        ("users", 0, 100, 1, vec!["All Users"]),
        ("", 1, 2, 4, vec!["Équipe Nord", "Sales"]),
        ("nothing", 0, 10, 0, vec![]),
    ] {
        let listed = tx
            .admin_list_groups(&tid, Some(search), offset, limit)
            .await;
        let names: Vec<String> = names.into_iter().map(String::from).collect();
        assert_eq!(
            gnames(listed.unwrap()),
            (total, names),
            "search {search:?}, offset {offset}, limit {limit}"
        );
    }
    tx.commit().await.unwrap();
}

async fn reopening_keeps_data_and_migrations(b: Backend) {
    let s = store(b, "reopen").await;
    let tid = tenant(&s, "t").await;
    let mut tx = s.write().await.unwrap();
    tx.insert_attribute(&AttributeRow {
        tenant_id: tid.clone(),
        name: "costCode".into(),
        ty: "string".into(),
        created: now(),
    })
    .await
    .unwrap();
    tx.insert_record(&log_entry(&tid, now(), "created", "User", "x"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    s.close().await;
    let again = s.reopen().await;
    let mut tx = again.read().await.unwrap();
    assert_eq!(tx.list_attributes(&tid).await.unwrap().len(), 1);
    let (n, rows) = tx
        .query_records(
            &tid,
            &RecordQuery {
                window: Window {
                    text: Some("X".into()),
                    ..Window::default()
                },
                limit: 10,
                ..RecordQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((n, rows[0].resource_name.as_deref()), (1, Some("x")));
    drop(tx);
    again.close().await;
}
