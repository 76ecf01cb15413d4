//! Keyed GCRA rate limiters over a bounded LRU map.
//!
//! GCRA (the generic cell rate algorithm, as in ATM traffic policing and the `governor`
//! crate) is a token bucket kept as one instant per key: the *theoretical arrival time*
//! `tat`. A limit of one unit every `interval` with bursts of `burst` units lets a unit go
//! at `now` when `tat − tolerance ≤ now`, with `tolerance = (burst − 1) × interval`, and then
//! moves `tat` to `max(tat, now) + interval`.
//!
//! Besides a plain check, [`Keyed::reserve`] queues: a unit that becomes available within
//! `max_wait` is reserved now (its `tat` moved) and the caller waits until then, so at most
//! `max_wait / interval` callers wait per key, and later ones are refused at once instead
//! of piling up.
//!
//! The keys live in an LRU map of fixed capacity (`hashlink`'s, hashed with std's SipHash
//! so that clients cannot choose colliding keys): at capacity the key used least recently
//! is forgotten, which can only give that key a full bucket again. Memory is bounded by the
//! capacity whatever the number of clients.
//!
//! Why not `governor`: its keyed limiter has no reservation (queueing) and its keyed store
//! is a map that only shrinks when asked (`retain_recent`), with no bound on its size.

use hashlink::LruCache;
use std::collections::hash_map::RandomState;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One unit every `interval`, bursts of `burst` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Time for one unit to come back.
    pub interval: Duration,
    /// Units available at once (at least 1).
    pub burst: u32,
}

impl Gcra {
    /// `per_period` units every `period`, bursts of `burst` (both at least 1).
    pub fn new(per_period: u32, period: Duration, burst: u32) -> Gcra {
        Gcra {
            interval: period / per_period.max(1),
            burst: burst.max(1),
        }
    }

    fn tolerance(&self) -> Duration {
        self.interval * (self.burst - 1)
    }
}

/// A GCRA limiter per key, with at most `capacity` keys remembered.
#[derive(Debug)]
pub struct Keyed<K: Hash + Eq> {
    gcra: Gcra,
    tats: Mutex<LruCache<K, Instant, RandomState>>,
}

impl<K: Hash + Eq> Keyed<K> {
    /// A limiter of `gcra` remembering at most `capacity` keys.
    pub fn new(gcra: Gcra, capacity: usize) -> Keyed<K> {
        Keyed {
            gcra,
            tats: Mutex::new(LruCache::with_hasher(capacity.max(1), RandomState::new())),
        }
    }

    /// The limit.
    pub fn gcra(&self) -> Gcra {
        self.gcra
    }

    fn with<T>(&self, f: impl FnOnce(&mut LruCache<K, Instant, RandomState>) -> T) -> T {
        let mut g = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// Takes a unit for `key` at `now`: `Ok(wait)` when one is available within `max_wait`
    /// (reserved: the caller goes on after `wait`, zero when available now); `Err(retry)`
    /// when not, nothing taken, `retry` being how long until one is available.
    pub fn reserve(&self, key: K, now: Instant, max_wait: Duration) -> Result<Duration, Duration> {
        let (interval, tolerance) = (self.gcra.interval, self.gcra.tolerance());
        self.with(|m| {
            let tat = m.get(&key).copied().unwrap_or(now).max(now);
            let at = tat.checked_sub(tolerance).unwrap_or(now).max(now);
            let wait = at - now;
            if wait > max_wait {
                return Err(wait);
            }
            m.insert(key, tat + interval);
            Ok(wait)
        })
    }

    /// How long until a unit of `key` is available, `None` when one is available now
    /// (nothing taken).
    pub fn exhausted(&self, key: &K, now: Instant) -> Option<Duration> {
        let tolerance = self.gcra.tolerance();
        self.with(|m| {
            let tat = *m.peek(key)?;
            let at = tat.checked_sub(tolerance)?;
            (at > now).then(|| at - now)
        })
    }

    /// Takes a unit of `key` whether or not one is available (a failure counted after the
    /// fact); an empty bucket stays empty for at most one interval more, however often it
    /// is charged.
    pub fn charge(&self, key: K, now: Instant) {
        let (interval, tolerance) = (self.gcra.interval, self.gcra.tolerance());
        self.with(|m| {
            let tat = m.get(&key).copied().unwrap_or(now).max(now);
            m.insert(key, (tat + interval).min(now + tolerance + interval));
        });
    }

    /// Charges a unit of `key` at `now` as [`Keyed::charge`] does, in the same step as
    /// [`Keyed::exhausted`]'s check, so that concurrent callers each see the units taken
    /// before them. Returns how long until a unit was available before this charge (`None`:
    /// one was) and whether the charge took a whole unit (an empty bucket's charge only tops
    /// it up to its bound) — only a whole unit may be given back with [`Keyed::refund`].
    pub fn take(&self, key: K, now: Instant) -> (Option<Duration>, bool) {
        let (interval, tolerance) = (self.gcra.interval, self.gcra.tolerance());
        self.with(|m| {
            let tat = m.get(&key).copied().unwrap_or(now).max(now);
            let at = tat.checked_sub(tolerance).unwrap_or(now);
            let over = (at > now).then(|| at - now);
            let next = (tat + interval).min(now + tolerance + interval);
            m.insert(key, next);
            (over, next == tat + interval)
        })
    }

    /// Gives a unit taken from `key` back.
    pub fn refund(&self, key: &K) {
        let interval = self.gcra.interval;
        self.with(|m| {
            if let Some(tat) = m.get_mut(key) {
                *tat = tat.checked_sub(interval).unwrap_or(*tat);
            }
        });
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.with(|m| m.len())
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn bursts_then_one_per_interval() {
        // 60 a minute, bursts of 3.
        let l = Keyed::new(Gcra::new(60, 60 * S, 3), 10);
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.reserve("a", t, Duration::ZERO), Ok(Duration::ZERO));
        }
        assert_eq!(l.reserve("a", t, Duration::ZERO), Err(S));
        assert_eq!(l.exhausted(&"a", t), Some(S));
        assert_eq!(l.exhausted(&"b", t), None, "keys apart");
        assert_eq!(l.reserve("a", t + S, Duration::ZERO), Ok(Duration::ZERO));
        // After a quiet while the whole burst is back, no more.
        let later = t + 100 * S;
        for _ in 0..3 {
            assert!(l.reserve("a", later, Duration::ZERO).is_ok());
        }
        assert!(l.reserve("a", later, Duration::ZERO).is_err());
    }

    #[test]
    fn reservations_queue_up_to_the_wait() {
        // 10 a second, bursts of 2, waits up to 300 ms: 2 at once, then 3 queued.
        let l = Keyed::new(Gcra::new(10, S, 2), 10);
        let t = Instant::now();
        let ms = Duration::from_millis;
        let waits: Vec<_> = (0..7).map(|_| l.reserve("k", t, ms(300))).collect();
        assert_eq!(
            waits,
            [
                Ok(ms(0)),
                Ok(ms(0)),
                Ok(ms(100)),
                Ok(ms(200)),
                Ok(ms(300)),
                Err(ms(400)),
                Err(ms(400))
            ]
        );
    }

    #[test]
    fn charges_refunds_and_the_bound() {
        let l = Keyed::new(Gcra::new(1, S, 2), 2);
        let t = Instant::now();
        for _ in 0..100 {
            l.charge(1u32, t);
        }
        // Charged far beyond empty: available again one interval past empty, not later.
        assert_eq!(l.exhausted(&1, t), Some(S));
        l.refund(&1);
        assert_eq!(l.exhausted(&1, t), None);
        // Two keys fit; a third forgets the one used least recently.
        l.charge(2, t);
        l.charge(2, t);
        assert!(l.exhausted(&2, t).is_some());
        l.charge(3, t);
        assert_eq!(l.len(), 2);
        assert_eq!(l.exhausted(&1, t), None, "forgotten: a full bucket");
    }

    #[test]
    fn take_checks_and_charges_in_one_step() {
        // 1 a second, bursts of 2: two units free, then over, and over stays bounded.
        let l = Keyed::new(Gcra::new(1, S, 2), 10);
        let t = Instant::now();
        assert_eq!(l.take("k", t), (None, true));
        assert_eq!(l.take("k", t), (None, true));
        assert_eq!(
            l.take("k", t),
            (Some(S), false),
            "empty, at its bound: nothing taken"
        );
        assert_eq!(l.exhausted(&"k", t), Some(S));
        // A whole unit taken (the second, say, by a valid credential) can be given back.
        l.refund(&"k");
        assert_eq!(l.exhausted(&"k", t), None);
        assert_eq!(l.take("k", t), (None, true));
        // Empty again; one interval later a unit is free.
        assert_eq!(l.take("k", t + S), (None, true));
    }
}
