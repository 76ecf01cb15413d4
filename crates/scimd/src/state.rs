//! The state the server owns and every handler shares ([`AppState`]): the directory, the
//! body-size limit, the turns for building large list pages, the readiness probe's last
//! outcome. Nothing of it is
//! process-wide: two servers in one process (tests, tools) do not share it.

use scimd_directory::directory::Directory;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The directory service (its base URL is the SCIM base, `<public-url>/scim/v2`).
    pub directory: Directory,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Turns for building large list pages: one per two CPUs, at least one (see
    /// `scim_routes`, which waits for a turn before reading a page of more than 100
    /// resources, so concurrent paging clients cannot hold unbounded memory).
    pub large_pages: Arc<Semaphore>,
    /// The last write probe of `/readyz` (see [`crate::readiness`]).
    pub readiness: Arc<crate::readiness::Readiness>,
    /// The rate limiters (see [`crate::rate::limiter`]).
    pub limiter: Arc<crate::rate::limiter::Limiter>,
    /// The issuers whose JWT access tokens are accepted (see [`crate::issuers`]).
    pub issuers: Arc<crate::issuers::Issuers>,
    /// The counter of refused authentications (see [`crate::auth::refusals`]).
    pub refusals: Arc<crate::auth::refusals::Refusals>,
    /// Lifetimes of credentials (`--access-token-ttl`, `--token-expiry-warning-days`).
    pub credentials: Credentials,
    /// The slug of the tenant the root paths serve (`--root-tenant`; default the one first
    /// start created, `default`); `None` (`--root-tenant none`): the root paths answer 404
    /// (see [`crate::tenancy`]).
    pub root_tenant: Option<String>,
    /// Each tenant's share of the writer: SCIM writes in flight per tenant
    /// (`--max-writes-per-tenant`, see [`crate::rate::shares`]).
    pub write_shares: Arc<crate::rate::shares::WriteShares>,
}

/// Lifetimes of credentials, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// How long an access token of the OAuth token endpoint is valid (`--access-token-ttl`,
    /// default one hour).
    pub access_token_ttl: std::time::Duration,
    /// How many days before its expiry a static token is flagged on the dashboard
    /// (`--token-expiry-warning-days`, default 14).
    pub token_expiry_warning_days: u32,
}

/// Default `--access-token-ttl`: one hour.
pub const DEFAULT_ACCESS_TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(3600);
/// Default `--token-expiry-warning-days`.
pub const DEFAULT_TOKEN_EXPIRY_WARNING_DAYS: u32 = 14;

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            token_expiry_warning_days: DEFAULT_TOKEN_EXPIRY_WARNING_DAYS,
        }
    }
}

/// The SCIM base path, under the public URL (`<public-url>/scim/v2`).
pub const SCIM_BASE: &str = "/scim/v2";

impl AppState {
    /// The state of a server over `directory` accepting bodies up to `max_body_bytes`,
    /// with [`large_page_turns`] turns for large pages.
    pub fn new(directory: Directory, max_body_bytes: usize) -> AppState {
        AppState {
            refusals: crate::auth::refusals::Refusals::new(directory.clone()),
            directory,
            max_body_bytes,
            large_pages: Arc::new(Semaphore::new(large_page_turns())),
            readiness: Arc::default(),
            limiter: Arc::default(),
            issuers: Arc::new(crate::issuers::Issuers::new(Default::default())),
            credentials: Credentials::default(),
            root_tenant: Some(scimd_directory::tenants::FIRST_SLUG.to_string()),
            write_shares: Arc::default(),
        }
    }

    /// The same state with `per_tenant` SCIM writes in flight per tenant at most (0: no
    /// limit; see [`crate::rate::shares`]).
    pub fn with_write_shares(mut self, per_tenant: usize) -> AppState {
        self.write_shares = Arc::new(crate::rate::shares::WriteShares::new(per_tenant));
        self
    }

    /// The same state with the root tenant `slug` (`None`: no root tenant).
    pub fn with_root_tenant(mut self, slug: Option<String>) -> AppState {
        self.root_tenant = slug;
        self
    }

    /// The same state with the issuer options `options` (the defaults otherwise).
    pub fn with_issuer_options(mut self, options: crate::issuers::IssuerOptions) -> AppState {
        self.issuers = Arc::new(crate::issuers::Issuers::new(options));
        self
    }

    /// The same state with the credential lifetimes `c`.
    pub fn with_credentials(mut self, c: Credentials) -> AppState {
        self.credentials = c;
        self
    }

    /// The same state with the rate limits `limits` (the defaults otherwise).
    pub fn with_rate_limits(mut self, limits: crate::rate::limiter::RateLimits) -> AppState {
        self.limiter = Arc::new(crate::rate::limiter::Limiter::new(limits));
        self
    }

    /// The public base URL (`https://host`): the directory's SCIM base URL without
    /// [`SCIM_BASE`].
    pub fn public_url(&self) -> &str {
        let b = self.directory.base_url();
        b.strip_suffix(SCIM_BASE).unwrap_or(b)
    }

    /// Whether clients reach the server over HTTPS (the public URL's scheme: `--tls-cert`,
    /// or `--public-url https://…` behind a TLS proxy).
    pub fn https(&self) -> bool {
        self.public_url()
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    }
}

/// How many large list pages are built at a time: one per two CPUs, at least one.
pub fn large_page_turns() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cpus / 2).max(1)
}
