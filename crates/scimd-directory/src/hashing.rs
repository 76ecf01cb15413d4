//! Password hashing off the async workers.
//!
//! Argon2id is deliberately slow (some 20–50 ms of one CPU per hash with the `argon2` crate's
//! defaults, 19 MiB). Run on the async workers, a sign-in spray takes them from every other
//! request: SCIM latency rose from 11 ms to 652 ms (p50) in a measurement. So every hash and
//! every verification runs on tokio's blocking threads, and only with a **turn**
//! ([`Hashing::turn`]): one per CPU at a time. A caller that finds every turn taken waits in a
//! short queue; beyond it, it gets [`DirectoryError::Busy`] (503) at once rather than piling
//! up work no one will wait for.
//!
//! A turn is taken before a sign-in is checked against its throttles and held until its
//! password is verified, so the rate at which sign-ins reach the database (and create
//! throttling records) is bounded by the turns too.

use crate::error::DirectoryError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Callers that may wait for a turn, per turn (the queue is this many times the turns).
pub const QUEUE_PER_TURN: usize = 4;

/// The turns for password hashing of one directory (see the module documentation).
#[derive(Debug)]
pub struct Hashing {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

/// A turn to hash: while it is held, [`Turn::run`] runs hashing work on a blocking thread.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

/// Counts a caller waiting for a turn while it exists.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hashing {
    /// `turns` turns (at least 1) and a queue of `queue` waiting callers.
    pub fn new(turns: usize, queue: usize) -> Hashing {
        Hashing {
            turns: Arc::new(Semaphore::new(turns.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// One turn per CPU, and [`QUEUE_PER_TURN`] waiting callers per turn.
    pub fn per_cpu() -> Hashing {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hashing::new(cpus, cpus * QUEUE_PER_TURN)
    }

    /// A turn: at once when one is free, else after waiting in the queue.
    ///
    /// Errors: `Busy` (503) when the queue is full.
    pub async fn turn(&self) -> Result<Turn, DirectoryError> {
        if let Ok(p) = self.turns.clone().try_acquire_owned() {
            return Ok(Turn { _permit: p });
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy());
        }
        let _waiting = Waiting(&self.waiting);
        match self.turns.clone().acquire_owned().await {
            Ok(p) => Ok(Turn { _permit: p }),
            Err(_) => Err(busy()),
        }
    }
}

fn busy() -> DirectoryError {
    DirectoryError::Busy(
        "the server is checking too many passwords at once; try again in a moment".into(),
    )
}

impl Turn {
    /// Runs `f` on a blocking thread and returns its result. A panic in `f` is resumed here.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match tokio::task::spawn_blocking(f).await {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_queue_callers_are_told_to_come_back() {
        let h = Arc::new(Hashing::new(1, 1));
        let first = h.turn().await.unwrap();
        // The second waits in the queue ...
        let h2 = h.clone();
        let second = tokio::spawn(async move { h2.turn().await.map(drop) });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // ... the third finds the queue full.
        let e = h.turn().await.unwrap_err();
        assert_eq!(e.status(), 503);
        assert_eq!(first.run(|| 2 + 2).await, 4);
        drop(first);
        second.await.unwrap().unwrap();
        // A waiter that gives up leaves the queue.
        let held = h.turn().await.unwrap();
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(20), h.turn()).await;
        assert!(gave_up.is_err());
        assert_eq!(h.waiting.load(Ordering::SeqCst), 0);
        drop(held);
    }
}
