//! What each request looks up, from memory (issue 15): the tenant its path names (by slug,
//! found or not), bearer tokens and OAuth access tokens by the hash of their secret, and
//! each tenant's settings and custom attributes.
//!
//! # Invalidation
//!
//! Every store transaction that changes one of these (a token or client created or revoked,
//! a tenant created, disabled, enabled or deleted, its settings, custom attributes or
//! issuers) writes a new value of the deployment fact
//! [`CONFIG_VERSION_FACT`](crate::store::CONFIG_VERSION_FACT) before it commits and, once
//! committed, advances this process's epoch ([`crate::store::note_config_change`]): the
//! process that made a change drops what it cached at once. Every `scimd serve` runs a
//! [`Directory::watch_config`] task that reads the fact every [`WATCH_EVERY`] and advances
//! the epoch when it changed — another process (the CLI, another instance on the same
//! PostgreSQL) made a change — or when it could not be read (everything is dropped when the
//! database comes back). So a token revoked from the command line stops working on every
//! running server within a second, on SQLite and on PostgreSQL, whatever happens to any one
//! connection: there is no listener to lose, only a read that either answers or flushes.
//!
//! Caching is on only while a watcher runs ([`Directory::watch_config`]): a command-line
//! process, which has none, reads the database every time.
//!
//! # Bounds
//!
//! Each cache holds at most its configured number of entries (default
//! [`DEFAULT_ENTRIES`]); when full it starts again empty, so memory does not grow with the
//! number of tenants or tokens. Only found credentials are cached: an unknown secret is
//! looked up every time (and is behind the per-address limit of requests without a valid
//! credential). Slugs are cached found or not (a tenant created later changes the
//! configuration version, which drops them).
//! An entry is also dropped after [`MAX_AGE`], whatever the epoch says.

use crate::directory::Directory;
use crate::settings::TenantSettings;
use crate::store::{config_epoch, note_config_change, CONFIG_VERSION_FACT};
use crate::store::{AccessTokenRow, AttributeRow, ClientRow, TenantRow, TokenRow};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the watcher reads [`CONFIG_VERSION_FACT`].
pub const WATCH_EVERY: Duration = Duration::from_millis(250);

/// Entries a cache holds at most, unless configured otherwise.
pub const DEFAULT_ENTRIES: usize = 10_000;

/// The longest an entry is kept, changes or not.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// Whether a watcher runs in this process (caching is on only then).
static WATCHING: AtomicBool = AtomicBool::new(false);

/// Whether caching is on: a watcher runs in this process ([`Directory::watch_config`]).
pub fn enabled() -> bool {
    WATCHING.load(Ordering::Acquire)
}

/// A bounded map of looked-up values, emptied when the configuration epoch moves.
pub struct Cache<K, V> {
    inner: Mutex<Inner<K, V>>,
    entries: usize,
}

struct Inner<K, V> {
    epoch: u64,
    map: HashMap<K, (Instant, V)>,
}

impl<K: Hash + Eq + Clone, V: Clone> Cache<K, V> {
    /// An empty cache of at most `entries` entries (at least 1).
    pub fn new(entries: usize) -> Cache<K, V> {
        Cache {
            inner: Mutex::new(Inner {
                epoch: config_epoch(),
                map: HashMap::new(),
            }),
            entries: entries.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = config_epoch();
        if g.epoch != now {
            g.map.clear();
            g.epoch = now;
        }
        g
    }

    /// The value cached for `k`, when caching is on and it is current.
    pub fn get(&self, k: &K) -> Option<V> {
        if !enabled() {
            return None;
        }
        let g = self.lock();
        g.map
            .get(k)
            .filter(|(at, _)| at.elapsed() < MAX_AGE)
            .map(|(_, v)| v.clone())
    }

    /// Caches `v` for `k`, read when the epoch was `read_at` ([`config_epoch`] taken before
    /// the read): not when a change was committed since (the value may be older than it).
    pub fn put(&self, k: K, v: V, read_at: u64) {
        if !enabled() {
            return;
        }
        let mut g = self.lock();
        if g.epoch != read_at {
            return;
        }
        if g.map.len() >= self.entries {
            g.map.clear();
        }
        g.map.insert(k, (Instant::now(), v));
    }

    /// The value of `k`: the cached one when current, else the one `load` reads, which is
    /// cached when it is `Some` (read under the epoch taken before `load` ran, see
    /// [`Cache::put`]). `None` when `load` found nothing; `load`'s error as is.
    pub async fn get_or_load<E, Fut>(
        &self,
        k: K,
        load: impl FnOnce() -> Fut,
    ) -> Result<Option<V>, E>
    where
        Fut: std::future::Future<Output = Result<Option<V>, E>>,
    {
        if let Some(v) = self.get(&k) {
            return Ok(Some(v));
        }
        let at = config_epoch();
        let found = load().await?;
        if let Some(v) = &found {
            self.put(k, v.clone(), at);
        }
        Ok(found)
    }

    /// Changes the cached value of `k` in place, if there is one (bookkeeping such as a
    /// token's last use, which does not invalidate anything).
    pub fn update(&self, k: &K, f: impl FnOnce(&mut V)) {
        let mut g = self.lock();
        if let Some((_, v)) = g.map.get_mut(k) {
            f(v);
        }
    }
}

/// The caches of a [`Directory`].
pub(crate) struct Caches {
    /// Static tokens by the SHA-256 of their secret.
    pub(crate) tokens: Cache<Vec<u8>, TokenRow>,
    /// OAuth access tokens by the SHA-256 of their secret, with their client.
    pub(crate) access_tokens: Cache<Vec<u8>, (AccessTokenRow, ClientRow)>,
    /// Each tenant's settings and custom attribute definitions, by tenant id.
    pub(crate) contexts: Cache<String, (TenantSettings, Vec<AttributeRow>)>,
    /// Tenants by slug, found or not (a request's path names its tenant).
    pub(crate) tenants: Cache<String, Option<TenantRow>>,
}

impl Caches {
    /// Empty caches of at most `entries` entries each.
    pub(crate) fn new(entries: usize) -> Caches {
        Caches {
            tokens: Cache::new(entries),
            access_tokens: Cache::new(entries),
            contexts: Cache::new(entries),
            tenants: Cache::new(entries),
        }
    }
}

impl Directory {
    /// Watches [`CONFIG_VERSION_FACT`] every [`WATCH_EVERY`] until the process ends, and
    /// turns caching on ([`crate::cache`]): a change of its value, or a failure to read it,
    /// drops everything cached. `scimd serve` spawns it.
    pub async fn watch_config(self) {
        let mut seen = self.read_config_version().await.ok();
        WATCHING.store(true, Ordering::Release);
        tracing::debug!(every = ?WATCH_EVERY, "caching per-request lookups; watching the configuration version");
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            match self.read_config_version().await {
                Ok(v) if Some(&v) == seen.as_ref() => {}
                Ok(v) => {
                    tracing::debug!(version = ?v, "configuration changed; caches dropped");
                    note_config_change();
                    seen = Some(v);
                }
                Err(e) => {
                    // Cannot tell what changed: drop everything, and again until it answers.
                    tracing::debug!(error = %e, "configuration version not read; caches dropped");
                    note_config_change();
                    seen = None;
                }
            }
        }
    }

    async fn read_config_version(&self) -> Result<Option<String>, crate::StoreError> {
        let mut tx = self.store().read().await?;
        tx.deployment_fact(CONFIG_VERSION_FACT).await
    }
}
