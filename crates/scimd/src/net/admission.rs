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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The kind of slot a connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// An ordinary connection, within `--max-connections`.
    Normal,
    /// A reserve connection beyond the cap: health checks only, short deadlines.
    Reserve,
}

impl Class {
    /// `normal` or `reserve` (metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Normal => "normal",
            Class::Reserve => "reserve",
        }
    }
}

/// Where a member's slot is; changed under the registry's lock.
mod slot {
    /// It holds a slot of its class.
    pub const HELD: u8 = 0;
    /// It was asked to close to make room: its class slot went to another connection and it
    /// counts among the closing.
    pub const CLOSING: u8 = 1;
    /// Released.
    pub const RELEASED: u8 = 2;
}

/// A connection's entry in the registry: its class, and where it is listed. Embedded in
/// what the registry tracks ([`Member`]).
#[derive(Debug)]
pub struct Membership {
    class: Class,
    slot: AtomicU8,
    /// Position in the idle list (0: not in it).
    idle_seq: AtomicU64,
    /// Position in the waiting-reserve list (0: not in it).
    wait_seq: AtomicU64,
}

impl Membership {
    fn new(class: Class) -> Membership {
        Membership {
            class,
            slot: AtomicU8::new(slot::HELD),
            idle_seq: AtomicU64::new(0),
            wait_seq: AtomicU64::new(0),
        }
    }

    /// The kind of slot.
    pub fn class(&self) -> Class {
        self.class
    }
}

/// What the registry tracks: a connection that has a [`Membership`] and can be asked to
/// close.
pub trait Member: Send + Sync {
    /// The connection's entry.
    fn membership(&self) -> &Membership;
    /// Asks the connection to close as soon as it has no request in progress.
    fn request_close(&self);
}

/// The connection registry: slot counts and the connections that may be closed to make room.
pub struct Admission<M> {
    max: usize,
    reserve: usize,
    closing_max: usize,
    inner: Mutex<Inner<M>>,
}

struct Inner<M> {
    normal: usize,
    reserve: usize,
    /// Connections asked to close to make room, not closed yet.
    closing: usize,
    /// Sequence numbers of entries below, increasing: older entries sort first.
    seq: u64,
    /// Idle ordinary connections, longest idle first.
    idle: BTreeMap<u64, Arc<M>>,
    /// Reserve connections that have not started a request, oldest first.
    waiting: BTreeMap<u64, Arc<M>>,
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

impl<M: Member> Admission<M> {
    /// A registry for `max` ordinary connections and `reserve` more for health checks; at
    /// most `closing_max` connections asked to close may be closing at once.
    pub fn new(max: usize, reserve: usize, closing_max: usize) -> Admission<M> {
        Admission {
            max,
            reserve,
            closing_max,
            inner: Mutex::new(Inner {
                normal: 0,
                reserve: 0,
                closing: 0,
                seq: 0,
                idle: BTreeMap::new(),
                waiting: BTreeMap::new(),
            }),
        }
    }

    /// The cap on ordinary connections.
    pub fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> MutexGuard<'_, Inner<M>> {
        // The registry stays consistent if a holder panicked (every update is one step).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection, made by `make` from its membership, or `None` when it must
    /// be closed at once. May ask another connection to close (see the module docs).
    pub fn admit(&self, make: impl FnOnce(Membership) -> Arc<M>) -> Option<Arc<M>> {
        let mut g = self.lock();
        let may_evict = g.closing < self.closing_max;
        let (class, victim) = if g.normal < self.max {
            g.normal += 1;
            (Class::Normal, None)
        } else if let Some((_, v)) = may_evict.then(|| g.idle.pop_first()).flatten() {
            // The slot passes from the idle connection to the new one.
            v.membership().idle_seq.store(0, Ordering::Relaxed);
            (Class::Normal, Some(v))
        } else if g.reserve < self.reserve {
            g.reserve += 1;
            (Class::Reserve, None)
        } else if let Some((_, v)) = may_evict.then(|| g.waiting.pop_first()).flatten() {
            v.membership().wait_seq.store(0, Ordering::Relaxed);
            (Class::Reserve, Some(v))
        } else {
            return None;
        };
        if let Some(v) = &victim {
            v.membership().slot.store(slot::CLOSING, Ordering::Relaxed);
            g.closing += 1;
        }
        let member = make(Membership::new(class));
        if class == Class::Reserve {
            g.seq += 1;
            let seq = g.seq;
            member.membership().wait_seq.store(seq, Ordering::Relaxed);
            g.waiting.insert(seq, member.clone());
        }
        drop(g);
        metrics::gauge!(super::CONNECTIONS, "class" => class.as_str()).increment(1.0);
        if let Some(v) = victim {
            metrics::counter!(super::CONNECTIONS_EVICTED).increment(1);
            v.request_close();
        }
        Some(member)
    }

    /// Records that an ordinary connection became idle (closable to make room).
    pub fn enter_idle(&self, m: &Arc<M>) {
        let ms = m.membership();
        if ms.class != Class::Normal {
            return;
        }
        let mut g = self.lock();
        if ms.slot.load(Ordering::Relaxed) != slot::HELD || ms.idle_seq.load(Ordering::Relaxed) != 0
        {
            return;
        }
        g.seq += 1;
        let seq = g.seq;
        ms.idle_seq.store(seq, Ordering::Relaxed);
        g.idle.insert(seq, m.clone());
    }

    /// Records that a connection started receiving a request: it is neither idle nor a
    /// reserve connection waiting for its request any more.
    pub fn busy(&self, m: &M) {
        let ms = m.membership();
        if ms.idle_seq.load(Ordering::Relaxed) == 0 && ms.wait_seq.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut g = self.lock();
        Self::unlist(&mut g, ms);
    }

    fn unlist(g: &mut Inner<M>, ms: &Membership) {
        let idle = ms.idle_seq.swap(0, Ordering::Relaxed);
        if idle != 0 {
            g.idle.remove(&idle);
        }
        let wait = ms.wait_seq.swap(0, Ordering::Relaxed);
        if wait != 0 {
            g.waiting.remove(&wait);
        }
    }

    /// Gives a finished connection's slot back (or its place among the closing).
    pub fn release(&self, m: &M) {
        let ms = m.membership();
        let mut g = self.lock();
        Self::unlist(&mut g, ms);
        match ms.slot.swap(slot::RELEASED, Ordering::Relaxed) {
            slot::HELD => match ms.class {
                Class::Normal => g.normal -= 1,
                Class::Reserve => g.reserve -= 1,
            },
            slot::CLOSING => g.closing -= 1,
            _ => {}
        }
        drop(g);
        metrics::gauge!(super::CONNECTIONS, "class" => ms.class.as_str()).decrement(1.0);
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
    use std::sync::atomic::AtomicBool;

    /// A stand-in connection.
    struct Conn {
        membership: Membership,
        closing: AtomicBool,
    }

    impl Member for Conn {
        fn membership(&self) -> &Membership {
            &self.membership
        }
        fn request_close(&self) {
            self.closing.store(true, Ordering::Relaxed);
        }
    }

    impl Conn {
        fn class(&self) -> Class {
            self.membership.class()
        }
        fn close_requested(&self) -> bool {
            self.closing.load(Ordering::Relaxed)
        }
    }

    fn registry(max: usize, reserve: usize) -> Admission<Conn> {
        Admission::new(max, reserve, 2)
    }

    fn admit(a: &Admission<Conn>) -> Option<Arc<Conn>> {
        a.admit(|membership| {
            Arc::new(Conn {
                membership,
                closing: AtomicBool::new(false),
            })
        })
    }

    /// `N` connections admitted one after another (each must be).
    fn admitted<const N: usize>(a: &Admission<Conn>) -> [Arc<Conn>; N] {
        std::array::from_fn(|i| admit(a).unwrap_or_else(|| panic!("connection {i} refused")))
    }

    #[test]
    fn cap_then_reserve_then_refusal() {
        let a = registry(2, 1);
        let [n1, n2] = admitted(&a);
        assert_eq!((n1.class(), n2.class()), (Class::Normal, Class::Normal));
        let r = admit(&a).unwrap();
        assert_eq!(r.class(), Class::Reserve);
        // The reserve connection is answering a probe: nothing can make room.
        a.busy(&r);
        assert!(admit(&a).is_none());
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
        assert_eq!(admit(&a).unwrap().class(), Class::Normal);
    }

    #[test]
    fn idle_connections_make_room_first_longest_idle_first() {
        let a = registry(2, 1);
        let [n1, n2] = admitted(&a);
        a.enter_idle(&n2);
        a.enter_idle(&n1);
        let n3 = admit(&a).unwrap();
        assert_eq!(
            n3.class(),
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
        assert_eq!(admit(&a).unwrap().class(), Class::Reserve);
    }

    #[test]
    fn a_full_reserve_gives_way_to_new_connections() {
        let a = registry(1, 2);
        let [_n, r1, r2, r3] = admitted(&a);
        assert_eq!(r3.class(), Class::Reserve);
        assert!(r1.close_requested() && !r2.close_requested());
        assert_eq!(a.counts().reserve, 2);
        a.release(&r1);
        assert_eq!(a.counts().reserve, 2, "r1's slot went to r3");
    }

    #[test]
    fn no_more_than_closing_max_are_closing_at_once() {
        let a = registry(1, 1);
        let [_n, r1, r2, r3] = admitted(&a);
        assert!(r1.close_requested() && r2.close_requested() && !r3.close_requested());
        assert_eq!(a.counts().closing, 2);
        // Two are still closing: a new connection is refused rather than a third evicted.
        assert!(admit(&a).is_none());
        a.release(&r1);
        assert!(
            admit(&a).is_some(),
            "room to evict again once one has closed"
        );
        assert!(r3.close_requested());
    }
}
