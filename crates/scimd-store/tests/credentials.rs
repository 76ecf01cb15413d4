//! OAuth clients, access tokens and refused authentications in the stores (issue 16): the
//! bounds the statements keep (a client's live access tokens, a tenant's kept refusals)
//! and the coalesced counts, on SQLite and PostgreSQL.

#[macro_use]
mod support;

use scimd_directory::store::{
    AccessTokenRow, ClientRow, CredentialKey, RefusalCount, RefusalRow, Store,
};
use serde_json::json;
use support::{now, store, tenant_with, Backend};
use time::Duration;

both!(
    access_tokens_of_a_client_stay_bounded,
    refusals_are_counted_and_the_newest_kept
);

async fn access_tokens_of_a_client_stay_bounded(b: Backend) {
    let s = store(b, "clients").await;
    let t = tenant_with(&s, "t", json!({})).await;
    let client = ClientRow {
        id: "scimd_client_1".into(),
        tenant_id: t.clone(),
        name: "entra".into(),
        secret_sha256: vec![7; 32],
        created: now(),
        last_used: None,
        revoked: None,
    };
    let mut tx = s.write().await.unwrap();
    tx.insert_client(&client).await.unwrap();
    let dup = ClientRow {
        id: "scimd_client_2".into(),
        ..client.clone()
    };
    assert!(
        tx.insert_client(&dup).await.is_err(),
        "a live name is unique"
    );
    tx.commit().await.unwrap();
    let at = |i: u8, expires| AccessTokenRow {
        tenant_id: t.clone(),
        client_id: client.id.clone(),
        secret_sha256: vec![i; 32],
        created: now(),
        expires,
    };
    let mut tx = s.write().await.unwrap();
    // One expired, then five live: pruning to 3 keeps the three newest live ones.
    tx.insert_access_token(&at(0, now() - Duration::minutes(1)))
        .await
        .unwrap();
    for i in 1..=5 {
        tx.insert_access_token(&at(i, now() + Duration::hours(1)))
            .await
            .unwrap();
    }
    let gone = tx
        .prune_access_tokens(&t, &client.id, now(), 3)
        .await
        .unwrap();
    assert_eq!(gone, 3);
    for i in 0..=5u8 {
        let found = tx.access_token_by_hash(&[i; 32]).await.unwrap();
        assert_eq!(found.is_some(), i >= 3, "token {i}");
    }
    assert_eq!(
        tx.access_token_by_hash(&[5; 32]).await.unwrap(),
        Some(at(
            5,
            tx.access_token_by_hash(&[5; 32])
                .await
                .unwrap()
                .unwrap()
                .expires
        ))
    );
    assert!(tx
        .revoke_credential(&t, CredentialKey::Client(&client.id), now())
        .await
        .unwrap());
    assert!(!tx
        .revoke_credential(&t, CredentialKey::Client(&client.id), now())
        .await
        .unwrap());
    let c = tx.get_client(&t, &client.id).await.unwrap().unwrap();
    assert!(c.revoked.is_some());
    assert_eq!(tx.list_clients(&t).await.unwrap().len(), 1);
    // Another tenant sees none of it.
    tx.commit().await.unwrap();
    let other = tenant_with(&s, "u", json!({})).await;
    let mut tx = s.read().await.unwrap();
    assert!(tx.get_client(&other, &client.id).await.unwrap().is_none());
}

async fn refusals_are_counted_and_the_newest_kept(b: Backend) {
    let s = store(b, "refusals").await;
    let t = tenant_with(&s, "t", json!({})).await;
    let hour = scimd_directory::refusals::hour_of(now());
    let count = |reason: &str, n| RefusalCount {
        hour,
        reason: reason.into(),
        count: n,
    };
    let refusal = |i: usize| RefusalRow {
        tenant_id: t.clone(),
        at: now(),
        reason: "unknown".into(),
        credential: "unknown static token (scimd_)".into(),
        method: "GET".into(),
        path: format!("/scim/v2/Users/{i}"),
        address: Some("192.0.2.1".into()),
    };
    let old = hour - Duration::days(40);
    for round in 0..3 {
        let mut tx = s.write().await.unwrap();
        let recent: Vec<RefusalRow> = (round * 3..round * 3 + 3).map(refusal).collect();
        let mut counts = vec![count("unknown", 3), count("expired", 1)];
        counts.push(RefusalCount {
            hour: old,
            ..count("unknown", 1)
        });
        tx.add_refusals(&t, &counts, &recent, (4, hour - Duration::days(30)))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = s.read().await.unwrap();
    let (counts, recent) = tx.list_refusals(&t, old).await.unwrap();
    assert_eq!(counts, vec![count("expired", 3), count("unknown", 9)]);
    let paths: Vec<&str> = recent.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/scim/v2/Users/8",
            "/scim/v2/Users/7",
            "/scim/v2/Users/6",
            "/scim/v2/Users/5"
        ]
    );
}
