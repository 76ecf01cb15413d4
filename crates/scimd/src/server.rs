//! The HTTP server: router assembly, store opening, binding, TLS, graceful shutdown.
//!
//! Routes:
//! - `/scim/v2/...`: SCIM 2.0 (see [`crate::scim_routes`]).
//! - `/api/v1/...`: the admin API, JSON with admin-token auth (see [`crate::admin`]).
//! - `GET /healthz`: 200 whenever the process serves.
//! - `GET /readyz`: 200 when the store answers a read and takes a write, else 503 with the
//!   reason (see [`crate::readiness`]).
//! - `GET /metrics`: Prometheus text exposition (see [`crate::metrics`]).
//! - `/` and the pages under it: the administrative portal (see [`crate::portal`]).
//!
//! Connections (accept loop, cap, deadlines, TLS handshakes) are [`crate::net`]'s.
//!
//! Middleware, outermost first: HSTS (`Strict-Transport-Security: max-age=31536000` on
//! every response when the public URL is HTTPS), request id (`x-request-id`, generated when
//! absent, echoed on the response), logging + metrics, the rate limit per client address
//! ([`crate::rate`]), request limits ([`crate::net::limits`]), panic catching (500 SCIM body), error bodies (SCIM, or
//! the admin API's under `/api/v1`) for responses produced outside handlers (404, 405, 413;
//! see [`crate::fallback`]).

use crate::config::{sqlite_path, Config};
use crate::errors::{self, plain_json};
use crate::state::AppState;
use crate::{metrics, scim_routes, tls};
use anyhow::{anyhow, bail, Context};
use axum::extract::State;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state, map_response};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use scimd_directory::directory::{Bootstrap, Directory};
use scimd_directory::tenants::FIRST_SLUG;
use scimd_directory::Store;
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Builds the full router over `state` (all routes and middleware).
/// Installs the metrics recorder on first use.
pub fn router(state: AppState) -> Router {
    metrics::handle();
    let auth = from_fn_with_state(state.clone(), crate::auth::require_scim);
    let routes = Router::new()
        .merge(scim_routes::resource_routes().route_layer(auth))
        .merge(scim_routes::discovery_routes())
        .merge(crate::admin::routes())
        .merge(crate::oauth::routes())
        .merge(crate::portal::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .fallback(errors::not_found);
    // Tenants' paths are rewritten before routing (see `tenancy`): one router serves all.
    Router::new()
        .fallback_service(with_middleware(routes, state))
        .layer(from_fn(crate::tenancy::route))
}

/// The HSTS header value sent when the public URL is HTTPS: a year, the usual minimum for
/// preload lists; subdomains are the operator's to decide, so they are not included.
pub const HSTS: &str = "max-age=31536000";

/// Adds the middleware stack to `routes` (HSTS, route templates for metrics, request ids,
/// logging and metrics, panic catching, error bodies) and binds the state.
pub(crate) fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let https = state.https();
    routes
        .route_layer(from_fn(metrics::tag_route))
        .layer(
            ServiceBuilder::new()
                .layer(map_response(move |mut res: Response| async move {
                    if https {
                        res.headers_mut()
                            .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
                    }
                    res
                }))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(from_fn(metrics::observe))
                .layer(from_fn_with_state(state.clone(), crate::rate::guard))
                .layer(from_fn(crate::net::limits::enforce))
                .layer(CatchPanicLayer::custom(errors::panic_response))
                .layer(from_fn(crate::fallback::error_bodies))
                .layer(from_fn_with_state(state.clone(), crate::tenancy::resolve)),
        )
        .with_state(state)
}

/// `GET /readyz`: whether this instance can serve reads and writes (see
/// [`crate::readiness`]).
async fn readyz(State(st): State<AppState>) -> Response {
    crate::readiness::readyz(&st.directory, &st.readiness).await
}

/// `GET /healthz`: 200 `{"status":"ok"}` while the process serves.
async fn healthz() -> Response {
    plain_json(StatusCode::OK, &json!({"status": "ok"}))
}

/// A database URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split(':').next().unwrap_or("");
            return format!("{scheme}://{user}:***@{host}{tail}");
        }
    }
    url.to_string()
}

/// Whether a database URL names PostgreSQL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Opens the store a database URL names and applies its pending migrations, its statements
/// limited to `statement_timeout` each. SQLite (`sqlite://PATH`): the parent directory of
/// the file is created when missing. PostgreSQL (`postgres://user:password@host:port/db`):
/// a pooled [`scimd_store::PgStore`] (the database must exist; TLS to it is not built in,
/// see the README; a `statement_timeout` in the URL's `options` wins).
///
/// Errors: an unknown scheme, a database that cannot be reached, opened or migrated
/// (messages never show the password).
pub async fn open_store(url: &str, statement_timeout: Duration) -> anyhow::Result<Arc<dyn Store>> {
    if is_postgres_url(url) {
        let o = scimd_store::PgOptions {
            statement_timeout,
            ..Default::default()
        };
        let store = scimd_store::PgStore::open_with(url.trim(), &o)
            .await
            .map_err(|e| anyhow!("cannot open the database {}: {e}", redact_url(url)))?;
        return Ok(Arc::new(store));
    }
    let lower = url.to_ascii_lowercase();
    if !lower.starts_with("sqlite:") {
        bail!(
            "unsupported database URL {:?}: expected sqlite://PATH (e.g. {}) or postgres://USER:PASSWORD@HOST:PORT/DATABASE",
            redact_url(url),
            crate::config::DEFAULT_DATABASE
        );
    }
    if let Some(parent) = sqlite_path(url).and_then(|p| Path::new(p).parent()) {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            // Owner only (0700 on Unix): the database holds users' data and password and
            // secret hashes, and SQLite creates its files with the umask's mode (often 0644).
            let mut folder = std::fs::DirBuilder::new();
            folder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
            folder.create(parent).with_context(|| {
                format!("cannot create the database directory {}", parent.display())
            })?;
        }
    }
    let o = scimd_store::SqliteOptions { statement_timeout };
    let store = scimd_store::SqliteStore::open_with(url, &o)
        .await
        .map_err(|e| anyhow!("cannot open the database {}: {e}", redact_url(url)))?;
    // The durability setting in force belongs in the log of every start.
    tracing::info!(
        path = %store.path().display(),
        synchronous = store.synchronous().as_str(),
        readers = store.readers_max(),
        scans = store.scans_max(),
        statement_timeout_secs = store.statement_timeout().as_secs(),
        "SQLite database opened"
    );
    Ok(Arc::new(store))
}

/// A started server: its address and URLs, what first start created, and the means to
/// stop it gracefully.
pub struct Running {
    /// The bound socket address (the real port when `--listen` asked for port 0).
    pub local_addr: SocketAddr,
    /// The public base URL (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// The SCIM base URL (`<public_url>/scim/v2`).
    pub scim_base: String,
    /// Whether the server speaks HTTPS.
    pub tls: bool,
    /// What first start created on an empty database (the secret is shown once), else `None`.
    pub bootstrap: Option<Bootstrap>,
    /// Where first start wrote `bootstrap`'s secrets (see [`crate::first_start`]).
    pub first_start_file: Option<PathBuf>,
    /// The directory the server serves (for in-process tests and tools).
    pub directory: Directory,
    stopper: Option<tokio::sync::oneshot::Sender<()>>,
    purger: Option<crate::retention::Purger>,
    join: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting connections, lets in-flight requests finish (at most
    /// [`SHUTDOWN_GRACE`]), and returns when the server has stopped.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(p) = self.purger.take() {
            p.stop().await;
        }
        if let Some(tx) = self.stopper.take() {
            let _ = tx.send(());
        }
        match tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), &mut self.join).await {
            Ok(r) => flatten(r),
            Err(_) => {
                self.join.abort();
                tracing::warn!(
                    "in-flight requests did not finish within {:?}; stopped anyway",
                    SHUTDOWN_GRACE
                );
                Ok(())
            }
        }
    }

    /// Serves until `signal` completes, then shuts down gracefully. Returns early with the
    /// error if the server fails by itself.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            _ = signal => {}
            r = &mut self.join => {
                if let Some(p) = self.purger.take() {
                    p.stop().await;
                }
                return flatten(r);
            }
        }
        tracing::info!("shutting down: finishing in-flight requests");
        self.shutdown().await
    }
}

fn flatten(r: Result<std::io::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow!("the server failed: {e}")),
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(anyhow!("the server task failed: {e}")),
    }
}

/// Opens the store, binds the listen address, initialises an empty database
/// ([`Directory::bootstrap`], its secrets written to `first-start-secrets.txt` in the data
/// folder, see [`crate::first_start`]) and starts serving in the background, with the
/// provisioning-log purge task ([`crate::retention`]) unless the retention is 0.
///
/// Errors: PostgreSQL without `--data-dir`, a bad database URL or unopenable database, an
/// address that cannot be bound, unusable TLS files, a first start whose secrets file
/// cannot be written (it exists, or the folder is not writable).
pub async fn start(config: &Config) -> anyhow::Result<Running> {
    if config.data_folder().is_none() && is_postgres_url(&config.database) {
        bail!(
            "--data-dir is required with PostgreSQL: the folder where scimd writes its own files \
             (on first start, {} with the SCIM token and the administrator's password; mode 0600)",
            crate::first_start::FIRST_START_SECRETS
        );
    }
    let rustls_config = match &config.tls {
        Some(files) => Some(tls::load(files).await?),
        None => None,
    };
    let store = open_store(&config.database, config.input.statement_timeout).await?;
    let std_listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    std_listener
        .set_nonblocking(true)
        .context("cannot configure the listening socket")?;
    let local_addr = std_listener
        .local_addr()
        .context("cannot read the bound address")?;
    if config.public_url.is_none() && local_addr.ip().is_unspecified() {
        tracing::warn!(
            "bound to the wildcard address {local_addr} without --public-url: resource locations will \
             name {local_addr}; set --public-url to the URL clients use"
        );
    }
    let public_url = config.public_base(local_addr);
    let scim_base = format!("{public_url}/scim/v2");
    let directory = Directory::with_limits(store, scim_base.clone(), config.input.limits)
        .with_cache_entries(config.cache_entries);
    // A store opened has a data folder: SQLite's file's, or PostgreSQL's --data-dir.
    let data_folder = config.data_folder().unwrap_or_else(|| PathBuf::from("."));
    let first_scim_base = first_tenant_scim_base(config, &public_url);
    let (bootstrap, first_start_file) =
        bootstrap(&directory, &data_folder, &first_scim_base).await?;
    // What commands print their URLs from (`scimd client create`'s token URL). Not fatal:
    // serving does not depend on it.
    if let Err(e) = directory.record_public_url(&public_url).await {
        tracing::warn!(error = %e, "cannot record the public URL for the command line");
    }
    let max_body_bytes = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    let app = router(
        AppState::new(directory.clone(), max_body_bytes)
            .with_rate_limits(config.rate_limits)
            .with_issuer_options(config.issuers.clone())
            .with_credentials(config.credentials)
            .with_root_tenant(config.root_tenant.clone())
            .with_write_shares(config.max_writes_per_tenant),
    );

    let (stopper, stop) = tokio::sync::oneshot::channel::<()>();
    let join = crate::net::serve(
        std_listener,
        rustls_config,
        app,
        (config.limits, config.trusted_proxies.clone()),
        stop,
        SHUTDOWN_GRACE,
    )
    .context("cannot register the listening socket")?;
    let purger = crate::retention::spawn(directory.clone(), config.log_retention_days);
    // Tenant deletions a `scimd tenant delete` left unfinished (interrupted, killed) finish
    // in the background, a small transaction at a time.
    let deletions = directory.clone();
    tokio::spawn(async move {
        match deletions.resume_tenant_deletions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "unfinished tenant deletions completed"),
            Err(e) => tracing::warn!(error = %e, "unfinished tenant deletions not completed"),
        }
    });
    // Per-request lookups (tokens, each tenant's settings and custom attributes) from
    // memory, dropped when this or any other process changes them (within a second).
    tokio::spawn(directory.clone().watch_config());
    tracing::info!(addr = %local_addr, scim_base = %scim_base, database = %redact_url(&config.database), "serving");
    Ok(Running {
        local_addr,
        public_url,
        scim_base,
        tls: config.tls.is_some(),
        bootstrap,
        first_start_file,
        directory,
        stopper: Some(stopper),
        purger,
        join,
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// First start: initialises an empty database, writing its secrets to
/// `first-start-secrets.txt` in `data_folder` before they are committed (a file that exists
/// is an error, and a commit that fails removes the file it wrote). Returns what was
/// created and the file, or nothing on a database already initialised.
async fn bootstrap(
    directory: &Directory,
    data_folder: &Path,
    scim_base: &str,
) -> anyhow::Result<(Option<Bootstrap>, Option<PathBuf>)> {
    let path = data_folder.join(crate::first_start::FIRST_START_SECRETS);
    let wrote = std::sync::atomic::AtomicBool::new(false);
    let made = directory
        .bootstrap_then(|b| {
            std::fs::create_dir_all(data_folder)
                .and_then(|()| crate::first_start::write(&path, &bootstrap_banner(scim_base, b)))
                .map_err(|e| {
                    format!(
                        "cannot write the first start's secrets to {} (it must not exist yet; \
                         set --data-dir to a folder this user can write): {e}",
                        path.display()
                    )
                })?;
            wrote.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        })
        .await;
    match made {
        Ok(b) => {
            let file = b.is_some().then_some(path);
            Ok((b, file))
        }
        Err(e) => {
            if wrote.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = std::fs::remove_file(&path);
            }
            Err(anyhow!("cannot initialise the database: {e}"))
        }
    }
}

/// The SCIM base URL of the tenant first start creates ([`FIRST_SLUG`]): the root's,
/// `{public_url}/scim/v2`, when it is the root tenant (the default); else its own,
/// `{public_url}/t/default/scim/v2` (under `--root-tenant none` the root paths answer 404).
fn first_tenant_scim_base(config: &Config, public_url: &str) -> String {
    match config.root_tenant.as_deref() {
        Some(FIRST_SLUG) => format!("{public_url}{}", scim_routes::BASE),
        _ => crate::tenancy::TenantUrls::of(public_url, FIRST_SLUG).scim,
    }
}

/// The text of the first start's secrets (see [`crate::first_start::banner`]).
pub fn bootstrap_banner(scim_base: &str, b: &Bootstrap) -> String {
    crate::first_start::banner(scim_base, b)
}

/// `scimd serve`: starts; on first start says on stdout where its secrets are (and shows
/// them when stdout is a terminal); prints `listening on <url>` (stderr) when ready, then
/// serves until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let running = start(&config).await?;
    if let (Some(b), Some(file)) = (&running.bootstrap, &running.first_start_file) {
        use std::io::{IsTerminal, Write};
        let terminal = std::io::stdout().is_terminal();
        let text = crate::first_start::announcement(
            file,
            &bootstrap_banner(&first_tenant_scim_base(&config, &running.public_url), b),
            terminal,
        );
        tracing::info!(file = %file.display(), "first start: the SCIM token and the administrator's password are in the file");
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    let scheme = if running.tls { "https" } else { "http" };
    eprintln!("listening on {scheme}://{}", running.local_addr);
    running.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/scimd"),
            "postgres://u:***@db:5432/scimd"
        );
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[tokio::test]
    async fn postgres_urls_open_postgres() {
        assert!(is_postgres_url("postgresql://u@h/db") && !is_postgres_url("sqlite://x"));
        // Nothing listens on port 1: the failure names the database, never the password.
        let t = Duration::from_secs(30);
        let e = open_store("postgres://u:secret@127.0.0.1:1/db?sslmode=require", t)
            .await
            .err()
            .unwrap();
        let m = format!("{e:#}");
        assert!(m.contains("cannot connect") && !m.contains("secret"), "{m}");
        let e = open_store("mysql://x", t).await.err().unwrap();
        assert!(e.to_string().contains("unsupported database URL"), "{e}");
    }
}
