//! Admission: the connection cap, held for each connection's whole life, and who makes room
//! at the cap.
//!
//! A connection takes a slot when it is accepted ([`Admission::admit`]) and gives it back
//! when its task ends, however it ends ([`Admission::release`], from a drop guard). At the
//! cap, in this order:
//!
//! 1. the connection idle longest (a kept-alive HTTP/1.1 connection waiting for its next
//!    request, or an HTTP/2 connection with no stream open) is asked to close and its slot
//!    goes to the new connection;
//! 2. else the new connection takes one of the reserve slots: it is served under short
//!    deadlines and may only ask for `/healthz` or `/readyz`;
//! 3. else the oldest reserve connection that has not started a request is closed and its
//!    reserve slot goes to the new connection (so flooding the reserve cannot lock a health
//!    probe out for longer than it takes the probe to send its request);
//! 4. else (every reserve connection is answering a probe) the new connection is closed.
//!
//! A connection asked to close keeps its descriptor until its task has closed it: such
//! connections are counted apart, and at most `closing_max` of them at once, so that a burst
//! of new connections cannot run the process out of descriptors faster than the old ones
//! close (when that many are still closing, new connections are not admitted by eviction).

use super::conn::{Class, Tracker};
use super::Limits;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The connection registry: slot counts and the connections that may be closed to make room.
pub struct Admission {
    max: usize,
    reserve: usize,
    closing_max: usize,
    limits: Limits,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    normal: usize,
    reserve: usize,
    /// Connections asked to close to make room, not closed yet.
    closing: usize,
    /// Sequence numbers of entries below, increasing: older entries sort first.
    seq: u64,
    /// Idle ordinary connections, longest idle first.
    idle: BTreeMap<u64, Arc<Tracker>>,
    /// Reserve connections that have not started a request, oldest first.
    waiting: BTreeMap<u64, Arc<Tracker>>,
}

/// Slot counts at one moment (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Ordinary connections holding a slot.
    pub normal: usize,
    /// Reserve connections holding a slot.
    pub reserve: usize,
    /// Ordinary connections idle (closable to make room).
    pub idle: usize,
    /// Connections asked to close to make room, not closed yet.
    pub closing: usize,
}

/// Where a connection's slot is (see [`Tracker::slot`]); changed under the registry's lock.
pub(crate) mod slot {
    /// It holds a slot of its class.
    pub const HELD: u8 = 0;
    /// It was asked to close to make room: its class slot went to another connection and it
    /// counts among the closing.
    pub const CLOSING: u8 = 1;
    /// Released.
    pub const RELEASED: u8 = 2;
}

impl Admission {
    /// A registry for `max` ordinary connections and `reserve` more for health checks, whose
    /// connections run under `limits`; at most `closing_max` connections asked to close may be
    /// closing at once.
    pub fn new(max: usize, reserve: usize, closing_max: usize, limits: Limits) -> Admission {
        Admission {
            max,
            reserve,
            closing_max,
            limits,
            next_id: AtomicU64::new(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The cap on ordinary connections.
    pub fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The registry stays consistent if a holder panicked (every update is one step).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection: its tracker (ordinary or reserve), or `None` when it must be
    /// closed at once. May ask another connection to close (see the module docs).
    pub fn admit(self: &Arc<Self>) -> Option<Arc<Tracker>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut g = self.lock();
        let may_evict = g.closing < self.closing_max;
        let (class, victim) = if g.normal < self.max {
            g.normal += 1;
            (Class::Normal, None)
        } else if let Some(victim) = may_evict.then(|| g.idle.pop_first()).flatten() {
            // The slot passes from the idle connection to the new one.
            victim.1.idle_seq.store(0, Ordering::Relaxed);
            (Class::Normal, Some(victim.1))
        } else if g.reserve < self.reserve {
            g.reserve += 1;
            (Class::Reserve, None)
        } else if let Some(victim) = may_evict.then(|| g.waiting.pop_first()).flatten() {
            victim.1.wait_seq.store(0, Ordering::Relaxed);
            (Class::Reserve, Some(victim.1))
        } else {
            return None;
        };
        if let Some(v) = &victim {
            v.slot.store(slot::CLOSING, Ordering::Relaxed);
            g.closing += 1;
        }
        let tracker = Arc::new(Tracker::new(id, class, &self.limits, self.clone()));
        if class == Class::Reserve {
            g.seq += 1;
            let seq = g.seq;
            tracker.wait_seq.store(seq, Ordering::Relaxed);
            g.waiting.insert(seq, tracker.clone());
        }
        drop(g);
        metrics::gauge!(super::CONNECTIONS, "class" => class.as_str()).increment(1.0);
        if let Some(v) = victim {
            metrics::counter!(super::CONNECTIONS_EVICTED).increment(1);
            v.request_close();
        }
        Some(tracker)
    }

    /// Records that an ordinary connection became idle (closable to make room).
    pub(crate) fn enter_idle(&self, t: &Arc<Tracker>) {
        if t.class != Class::Normal {
            return;
        }
        let mut g = self.lock();
        if t.slot.load(Ordering::Relaxed) != slot::HELD || t.idle_seq.load(Ordering::Relaxed) != 0 {
            return;
        }
        g.seq += 1;
        let seq = g.seq;
        t.idle_seq.store(seq, Ordering::Relaxed);
        g.idle.insert(seq, t.clone());
    }

    /// Records that a connection started receiving a request: it is neither idle nor a
    /// reserve connection waiting for its request any more.
    pub(crate) fn busy(&self, t: &Tracker) {
        if t.idle_seq.load(Ordering::Relaxed) == 0 && t.wait_seq.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut g = self.lock();
        Self::unlist(&mut g, t);
    }

    fn unlist(g: &mut Inner, t: &Tracker) {
        let idle = t.idle_seq.swap(0, Ordering::Relaxed);
        if idle != 0 {
            g.idle.remove(&idle);
        }
        let wait = t.wait_seq.swap(0, Ordering::Relaxed);
        if wait != 0 {
            g.waiting.remove(&wait);
        }
    }

    /// Gives a finished connection's slot back (unless it was handed over already).
    pub(crate) fn release(&self, t: &Tracker) {
        let mut g = self.lock();
        Self::unlist(&mut g, t);
        match t.slot.swap(slot::RELEASED, Ordering::Relaxed) {
            slot::HELD => match t.class {
                Class::Normal => g.normal -= 1,
                Class::Reserve => g.reserve -= 1,
            },
            slot::CLOSING => g.closing -= 1,
            _ => {}
        }
        drop(g);
        metrics::gauge!(super::CONNECTIONS, "class" => t.class.as_str()).decrement(1.0);
    }

    /// The slot counts now.
    pub fn counts(&self) -> Counts {
        let g = self.lock();
        Counts {
            normal: g.normal,
            reserve: g.reserve,
            idle: g.idle.len(),
            closing: g.closing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(max: usize, reserve: usize) -> Arc<Admission> {
        Arc::new(Admission::new(max, reserve, 2, Limits::default()))
    }

    #[test]
    fn cap_then_reserve_then_refusal() {
        let a = registry(2, 1);
        let n1 = a.admit().unwrap();
        let n2 = a.admit().unwrap();
        assert_eq!((n1.class, n2.class), (Class::Normal, Class::Normal));
        let r = a.admit().unwrap();
        assert_eq!(r.class, Class::Reserve);
        // The reserve connection is answering a probe: nothing can make room.
        r.request_started_for_test();
        assert!(a.admit().is_none());
        a.release(&r);
        a.release(&n1);
        assert_eq!(
            a.counts(),
            Counts {
                normal: 1,
                reserve: 0,
                idle: 0,
                closing: 0,
            }
        );
        assert_eq!(a.admit().unwrap().class, Class::Normal);
    }

    #[test]
    fn idle_connections_make_room_first_longest_idle_first() {
        let a = registry(2, 1);
        let n1 = a.admit().unwrap();
        let n2 = a.admit().unwrap();
        a.enter_idle(&n2);
        a.enter_idle(&n1);
        let n3 = a.admit().unwrap();
        assert_eq!(
            n3.class,
            Class::Normal,
            "an idle connection's slot is handed over"
        );
        assert!(n2.close_requested(), "the longest idle is asked to close");
        assert!(!n1.close_requested());
        assert_eq!(a.counts().closing, 1);
        // Its release later does not free the slot a second time.
        a.release(&n2);
        assert_eq!(a.counts().normal, 2);
        assert_eq!(a.counts().closing, 0);
        // A connection that became busy is no longer closable.
        a.busy(&n1);
        assert_eq!(a.admit().unwrap().class, Class::Reserve);
    }

    #[test]
    fn a_full_reserve_gives_way_to_new_connections() {
        let a = registry(1, 2);
        let _n = a.admit().unwrap();
        let r1 = a.admit().unwrap();
        let r2 = a.admit().unwrap();
        let r3 = a.admit().unwrap();
        assert_eq!(r3.class, Class::Reserve);
        assert!(r1.close_requested() && !r2.close_requested());
        assert_eq!(a.counts().reserve, 2);
        a.release(&r1);
        assert_eq!(a.counts().reserve, 2, "r1's slot went to r3");
    }

    #[test]
    fn no_more_than_closing_max_are_closing_at_once() {
        let a = registry(1, 1);
        let _n = a.admit().unwrap();
        let r1 = a.admit().unwrap();
        let r2 = a.admit().unwrap();
        let r3 = a.admit().unwrap();
        assert!(r1.close_requested() && r2.close_requested() && !r3.close_requested());
        assert_eq!(a.counts().closing, 2);
        // Two are still closing: a new connection is refused rather than a third evicted.
        assert!(a.admit().is_none());
        a.release(&r1);
        assert!(
            a.admit().is_some(),
            "room to evict again once one has closed"
        );
        assert!(r3.close_requested());
    }
}
