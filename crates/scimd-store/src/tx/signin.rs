//! Sign-in throttling and the readiness heartbeat.
//!
//! Each check-and-count is **one statement**, an upsert whose update only happens when the
//! attempt is allowed (`INSERT … ON CONFLICT … DO UPDATE SET … WHERE allowed RETURNING …`):
//! the database serialises concurrent upserts of one row (SQLite: one writer; PostgreSQL:
//! the row lock the conflict takes, under `READ COMMITTED`), so any number of concurrent
//! attempts, on any number of scimd instances, are counted exactly and none slips between a
//! check and its count. An attempt that is refused changes nothing and returns no row; a
//! second statement then reads when the next attempt is accepted (for the answer's
//! `Retry-After` only).
//!
//! Times are Unix milliseconds in integer columns, so the statements compare and add them the
//! same way on both back ends.

use super::StoreTx;
use crate::exec::Exec;
use crate::sql::{Across, Bind, Scope, Tbl};
use scimd_directory::store::{Bucket, SlowDown, StoreError, StoreResult, Throttle};
use time::OffsetDateTime;

/// `t` in Unix milliseconds.
pub(super) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Unix milliseconds as an instant (the epoch for a value out of range).
fn instant(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The wait after attempt number `n` (an SQL expression) under `delays`: `CASE n WHEN 1 THEN
/// d1 … ELSE d_last END`, the delays written as literals (they are the directory's constants,
/// not client input).
fn delay_case(n: &str, delays: &[i64]) -> String {
    let mut out = format!("CASE {n}");
    let (last, each) = delays.split_last().unwrap_or((&0, &[]));
    for (i, d) in each.iter().enumerate() {
        out.push_str(&format!(" WHEN {} THEN {d}", i + 1));
    }
    out.push_str(&format!(" ELSE {last} END"));
    out
}

/// See [`scimd_directory::store::Tx::signin_attempt`]; `(username_folded, device)` is the
/// key counted.
pub(super) async fn signin_attempt<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    (username_folded, device): (&str, &str),
    (now, rule): (OffsetDateTime, &SlowDown<'_>),
) -> StoreResult<Throttle> {
    let st = Tbl::SigninThrottle.name();
    let now_ms = millis(now);
    let window = i64::try_from(rule.window.whole_milliseconds()).unwrap_or(i64::MAX);
    let window_start = now_ms.saturating_sub(window);
    let first = rule.delays_ms.first().copied().unwrap_or(0);
    let stale = format!("{st}.last_attempt < ");
    let mut s = tx.of(t);
    s.insert_into(
        Tbl::SigninThrottle,
        "tenant_id, username_folded, device, attempts, last_attempt, not_before",
    )
    .sql("VALUES (")
    .tenant_value()
    .sql(", ")
    .binds([
        Bind::text(username_folded),
        Bind::text(device),
        Bind::Int(1),
        Bind::Int(now_ms),
        Bind::Int(now_ms.saturating_add(first)),
    ])
    .sql(") ON CONFLICT (tenant_id, username_folded, device) DO UPDATE SET ")
    // A count whose last attempt is older than the window starts again at 1.
    .sql(&format!("attempts = CASE WHEN {stale}"))
    .bind(Bind::Int(window_start))
    .sql(&format!(
        " THEN 1 ELSE {st}.attempts + 1 END, not_before = "
    ))
    .bind(Bind::Int(now_ms))
    .sql(&format!(" + CASE WHEN {stale}"))
    .bind(Bind::Int(window_start))
    .sql(&format!(
        " THEN {first} ELSE {} END, last_attempt = ",
        delay_case(&format!("{st}.attempts + 1"), rule.delays_ms)
    ))
    .bind(Bind::Int(now_ms))
    .sql(&format!(" WHERE {st}.not_before <= "))
    .bind(Bind::Int(now_ms))
    .sql(" RETURNING attempts");
    if let Some(mut row) = tx.row(s).await? {
        let count = u64::try_from(row.first_int()?).unwrap_or(0);
        return Ok(Throttle::Allowed { count });
    }
    let key = [
        ("username_folded", Bind::text(username_folded)),
        ("device", Bind::text(device)),
    ];
    let s = tx
        .q()
        .select(t, "not_before", (Tbl::SigninThrottle, ""), key);
    let until = match tx.row(s).await? {
        Some(mut row) => instant(row.first_int()?),
        None => now,
    };
    Ok(Throttle::Refused { until })
}

/// See [`scimd_directory::store::Tx::clear_signin_attempts`].
pub(super) async fn clear_signin_attempts<E: Exec>(
    tx: &mut StoreTx<E>,
    t: &str,
    username_folded: &str,
    device: Option<&str>,
) -> StoreResult<u64> {
    let mut key = vec![("username_folded", Bind::text(username_folded))];
    if let Some(d) = device {
        key.push(("device", Bind::text(d)));
    }
    let s = tx.q().delete(t, Tbl::SigninThrottle, key);
    tx.run(s).await
}

/// See [`scimd_directory::store::Tx::address_attempt`]: a GCRA bucket per address. Its
/// theoretical arrival time `tat` moves one interval later per unit; a unit is free while
/// `tat` is at most `(burst - 1)` intervals ahead of now.
pub(super) async fn address_attempt<E: Exec>(
    tx: &mut StoreTx<E>,
    address: &str,
    now: OffsetDateTime,
    bucket: &Bucket,
) -> StoreResult<Throttle> {
    let sa = Tbl::SigninAddresses.name();
    let now_ms = millis(now);
    let tolerance = bucket
        .interval_ms
        .saturating_mul(i64::try_from(bucket.burst.max(1) - 1).unwrap_or(i64::MAX));
    let mut s = tx.q().of(Scope::Global);
    s.insert_into(Tbl::SigninAddresses, "address, tat")
        .sql("VALUES (")
        .binds([
            Bind::text(address),
            Bind::Int(now_ms.saturating_add(bucket.interval_ms)),
        ])
        .sql(&format!(
            ") ON CONFLICT (address) DO UPDATE SET tat = CASE WHEN {sa}.tat > "
        ))
        .bind(Bind::Int(now_ms))
        .sql(&format!(" THEN {sa}.tat ELSE "))
        .bind(Bind::Int(now_ms))
        .sql(" END + ")
        .bind(Bind::Int(bucket.interval_ms))
        .sql(&format!(" WHERE {sa}.tat <= "))
        .bind(Bind::Int(now_ms.saturating_add(tolerance)))
        .sql(" RETURNING tat");
    if tx.row(s).await?.is_some() {
        return Ok(Throttle::Allowed { count: 0 });
    }
    let s = tx.q().select(
        Scope::Global,
        "tat",
        (Tbl::SigninAddresses, ""),
        [("address", Bind::text(address))],
    );
    let tat = match tx.row(s).await? {
        Some(mut row) => row.first_int()?,
        None => now_ms,
    };
    Ok(Throttle::Refused {
        until: instant(tat.saturating_sub(tolerance)),
    })
}

/// See [`scimd_directory::store::Tx::refund_address_attempt`].
pub(super) async fn refund_address_attempt<E: Exec>(
    tx: &mut StoreTx<E>,
    address: &str,
    bucket: &Bucket,
) -> StoreResult<()> {
    let sa = Tbl::SigninAddresses.name();
    let mut s = tx.q().of(Scope::Global);
    s.sql("UPDATE ")
        .table(Tbl::SigninAddresses, "")
        .sql(&format!(" SET tat = {sa}.tat - "))
        .bind(Bind::Int(bucket.interval_ms))
        .sql(" WHERE address = ")
        .bind(Bind::text(address));
    tx.run(s).await.map(drop)
}

/// Deletes the attempt records whose last attempt is before `attempts_before` and the
/// address buckets full again at `now` (their `tat` has passed); how many rows went.
pub(super) async fn purge<E: Exec>(
    tx: &mut StoreTx<E>,
    now: OffsetDateTime,
    attempts_before: OffsetDateTime,
) -> StoreResult<u64> {
    let mut s = tx
        .q()
        .delete(Across::RetentionPurge, Tbl::SigninThrottle, []);
    s.sql(" WHERE last_attempt < ")
        .bind(Bind::Int(millis(attempts_before)));
    let mut n = tx.run(s).await?;
    let mut s = tx.q().delete(Scope::Global, Tbl::SigninAddresses, []);
    s.sql(" WHERE tat < ").bind(Bind::Int(millis(now)));
    n += tx.run(s).await?;
    Ok(n)
}

/// See [`scimd_directory::store::Tx::touch_heartbeat`].
pub(super) async fn touch_heartbeat<E: Exec>(
    tx: &mut StoreTx<E>,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let mut s = tx.q().of(Scope::Global);
    s.insert_into(Tbl::Heartbeat, "seq, at")
        .sql("VALUES (1, ")
        .bind(Bind::Time(at))
        .sql(") ON CONFLICT (seq) DO UPDATE SET at = excluded.at");
    match tx.run(s).await? {
        1 => Ok(()),
        n => Err(StoreError::Backend(format!(
            "the heartbeat upsert changed {n} rows, not 1"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_and_times() {
        assert_eq!(
            delay_case("n", &[0, 0, 1000, 60000]),
            "CASE n WHEN 1 THEN 0 WHEN 2 THEN 0 WHEN 3 THEN 1000 ELSE 60000 END"
        );
        assert_eq!(delay_case("n", &[5]), "CASE n ELSE 5 END");
        let t = time::macros::datetime!(2026-01-02 03:04:05.678 UTC);
        assert_eq!(instant(millis(t)), t);
    }
}
