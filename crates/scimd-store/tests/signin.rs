//! Sign-in throttling and the heartbeat on both back ends: each check-and-count is one
//! statement, so concurrent attempts are counted exactly; refused attempts count nothing;
//! records expire by time. See `support` for how PostgreSQL is chosen.

#[macro_use]
mod support;

use scimd_directory::store::{Bucket, SlowDown, Store, Throttle};
use serde_json::json;
use std::sync::Arc;
use support::{store, tenant_with, Backend};
use time::Duration;

both!(
    attempts_slow_down_and_start_again,
    concurrent_attempts_are_counted_exactly,
    address_buckets_refill_and_refund,
    expired_records_are_purged,
    the_heartbeat_is_one_row
);

/// Four attempts free, then waits of 5 s and 10 s; a fresh count after 15 minutes.
const RULE: SlowDown<'static> = SlowDown {
    window: Duration::minutes(15),
    delays_ms: &[0, 0, 0, 0, 5_000, 10_000],
};

/// The fixtures' instant: the throttles keep milliseconds.
fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-30 11:22:33.123 UTC)
}

const BUCKET: Bucket = Bucket {
    interval_ms: 45_000,
    burst: 3,
};

async fn attempt(
    s: &dyn Store,
    t: &str,
    user: &str,
    device: &str,
    at: time::OffsetDateTime,
) -> Throttle {
    let mut tx = s.write().await.unwrap();
    let r = tx.signin_attempt(t, user, device, at, &RULE).await.unwrap();
    tx.commit().await.unwrap();
    r
}

/// The count of an allowed attempt; `None` when refused.
async fn allowed(
    s: &dyn Store,
    t: &str,
    user: &str,
    device: &str,
    at: time::OffsetDateTime,
) -> Option<u64> {
    match attempt(s, t, user, device, at).await {
        Throttle::Allowed { count } => Some(count),
        Throttle::Refused { .. } => None,
    }
}

async fn attempts_slow_down_and_start_again(b: Backend) {
    let db = store(b, "signin-slow").await;
    let s = &*db;
    let t = tenant_with(s, "t", json!({})).await;
    let t0 = now();
    for n in 1..=5 {
        assert_eq!(
            attempt(s, &t, "admin", "", t0).await,
            Throttle::Allowed { count: n },
            "attempt {n}"
        );
    }
    // The fifth set a wait of 5 s: refused (and not counted) until then.
    let until = t0 + Duration::seconds(5);
    for at in [t0, t0 + Duration::milliseconds(4_999)] {
        assert_eq!(
            attempt(s, &t, "admin", "", at).await,
            Throttle::Refused { until }
        );
    }
    assert_eq!(allowed(s, &t, "admin", "", until).await, Some(6));
    // Another username, another browser of the same username: counted apart.
    assert_eq!(allowed(s, &t, "ops", "", t0).await, Some(1));
    assert_eq!(allowed(s, &t, "admin", "dev1", t0).await, Some(1));
    // Fifteen minutes without an attempt: the count starts again.
    let later = until + Duration::minutes(15) + Duration::milliseconds(1);
    assert_eq!(allowed(s, &t, "admin", "", later).await, Some(1));
    // Cleared for one browser, or for every one (`scimd admin unlock`).
    let mut tx = s.write().await.unwrap();
    assert_eq!(
        tx.clear_signin_attempts(&t, "admin", Some(""))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tx.clear_signin_attempts(&t, "admin", None).await.unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(allowed(s, &t, "admin", "dev1", t0).await, Some(1));
    // Another tenant's rows are its own.
    let other = tenant_with(s, "other", json!({})).await;
    assert_eq!(allowed(s, &other, "admin", "", t0).await, Some(1));
    db.close().await;
}

async fn concurrent_attempts_are_counted_exactly(b: Backend) {
    let db = store(b, "signin-race").await;
    // Two stores on one database: two instances' pools.
    let stores: [Arc<dyn Store>; 2] = [Arc::new((*db).clone()), Arc::new(db.reopen().await)];
    let t = tenant_with(&db, "t", json!({})).await;
    let t0 = now();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (s, t) = (stores[i % 2].clone(), t.clone());
            tokio::spawn(async move {
                loop {
                    let mut tx = match s.write().await {
                        Ok(tx) => tx,
                        Err(_) => continue,
                    };
                    match tx.signin_attempt(&t, "admin", "", t0, &RULE).await {
                        Ok(r) => {
                            if tx.commit().await.is_ok() {
                                return r;
                            }
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let mut allowed = Vec::new();
    for task in tasks {
        if let Throttle::Allowed { count } = task.await.unwrap() {
            allowed.push(count);
        }
    }
    allowed.sort();
    assert_eq!(
        allowed,
        [1, 2, 3, 4, 5],
        "exactly the free attempts, once each"
    );
    db.close().await;
}

async fn address_buckets_refill_and_refund(b: Backend) {
    let db = store(b, "signin-address").await;
    let s = &*db;
    let t0 = now();
    let take = |at| async move {
        let mut tx = s.write().await.unwrap();
        let r = tx.address_attempt("192.0.2.1", at, &BUCKET).await.unwrap();
        tx.commit().await.unwrap();
        r
    };
    for _ in 0..3 {
        assert!(matches!(take(t0).await, Throttle::Allowed { .. }));
    }
    // Empty: the next unit comes back 45 s after the first was taken.
    assert_eq!(
        take(t0).await,
        Throttle::Refused {
            until: t0 + Duration::seconds(45)
        }
    );
    assert!(matches!(
        take(t0 + Duration::seconds(45)).await,
        Throttle::Allowed { .. }
    ));
    // A success gives its unit back.
    let mut tx = s.write().await.unwrap();
    tx.refund_address_attempt("192.0.2.1", &BUCKET)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        take(t0 + Duration::seconds(45)).await,
        Throttle::Allowed { .. }
    ));
    // Another address has its own bucket.
    let mut tx = s.write().await.unwrap();
    assert!(matches!(
        tx.address_attempt("2001:db8::/64", t0, &BUCKET)
            .await
            .unwrap(),
        Throttle::Allowed { .. }
    ));
    tx.commit().await.unwrap();
    db.close().await;
}

async fn expired_records_are_purged(b: Backend) {
    let db = store(b, "signin-purge").await;
    let s = &*db;
    let t = tenant_with(s, "t", json!({})).await;
    let t0 = now();
    attempt(s, &t, "old", "", t0).await;
    attempt(s, &t, "new", "", t0 + Duration::minutes(10)).await;
    let mut tx = s.write().await.unwrap();
    tx.address_attempt("192.0.2.1", t0, &BUCKET).await.unwrap();
    tx.address_attempt("192.0.2.2", t0 + Duration::minutes(10), &BUCKET)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // At t0 + 12 min: `old`'s last attempt is older than the 11 minutes kept, `new`'s is
    // not; the first address's bucket (45 s) is full again, the second's is not.
    let at = t0 + Duration::minutes(10) + Duration::seconds(30);
    let mut tx = s.write().await.unwrap();
    let n = tx
        .purge_sessions(at, at - Duration::minutes(9))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 2);
    // What stayed still counts.
    assert_eq!(allowed(s, &t, "new", "", at).await, Some(2));
    assert_eq!(allowed(s, &t, "old", "", at).await, Some(1));
    db.close().await;
}

async fn the_heartbeat_is_one_row(b: Backend) {
    let db = store(b, "heartbeat").await;
    let s = &*db;
    for i in 0..3 {
        let mut tx = s.write().await.unwrap();
        tx.touch_heartbeat(now() + Duration::seconds(i))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    db.close().await;
}
