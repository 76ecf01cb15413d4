//! The HTTP server: router assembly, store opening, binding, TLS, graceful shutdown.
//!
//! Routes:
//! - `/scim/v2/...`: SCIM 2.0 (see [`crate::scim_routes`]).
//! - `/api/v1/...`: the admin API, JSON with admin-token auth (see [`crate::admin`]).
//! - `GET /healthz`: 200 whenever the process serves.
//! - `GET /readyz`: 200 when the store answers a ping, else 503.
//! - `GET /metrics`: Prometheus text exposition (see [`crate::metrics`]).
//! - `/` and the pages under it: the administrative portal (see [`crate::portal`]).
//!
//! Connections (accept loop, cap, deadlines, TLS handshakes) are [`crate::net`]'s.
//!
//! Middleware, outermost first: request id (`x-request-id`, generated when absent, echoed
//! on the response), logging + metrics, request limits
//! ([`crate::net::limits`]), panic catching (500 SCIM body), error bodies (SCIM, or
//! the admin API's under `/api/v1`) for responses produced outside handlers (404, 405, 413;
//! see [`crate::fallback`]).

use crate::config::Config;
use crate::errors::{self, plain_json};
use crate::state::AppState;
use crate::{metrics, scim_routes, tls};
use anyhow::{anyhow, bail, Context};
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use scimd_directory::directory::{Bootstrap, Directory};
use scimd_directory::Store;
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
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
        .merge(crate::portal::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .fallback(errors::not_found);
    with_middleware(routes, state)
}

/// Adds the middleware stack to `routes` (route templates for metrics, request ids,
/// logging and metrics, panic catching, error bodies) and binds the state.
pub(crate) fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .route_layer(from_fn(metrics::tag_route))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(from_fn(metrics::observe))
                .layer(from_fn(crate::net::limits::enforce))
                .layer(CatchPanicLayer::custom(errors::panic_response))
                .layer(from_fn(crate::fallback::error_bodies)),
        )
        .with_state(state)
}

/// `GET /healthz`: 200 `{"status":"ok"}` while the process serves.
async fn healthz() -> Response {
    plain_json(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /readyz`: 200 `{"status":"ready"}` when the store answers, else 503
/// `{"status":"unavailable"}` (the store's error is logged, not sent).
async fn readyz(State(state): State<AppState>) -> Response {
    let (status, body) = match state.directory.store().ping().await {
        Ok(()) => (StatusCode::OK, json!({"status": "ready"})),
        Err(e) => {
            metrics::store_error();
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "unavailable", "detail": "the database does not answer"}),
            )
        }
    };
    plain_json(status, &body)
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

/// The file path of a `sqlite:` URL (`sqlite://PATH`, `sqlite:PATH`, query removed);
/// `None` for in-memory databases.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path)
    }
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
            std::fs::create_dir_all(parent).with_context(|| {
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
/// ([`Directory::bootstrap`]) and starts serving in the background, with the
/// provisioning-log purge task ([`crate::retention`]) unless the retention is 0.
///
/// Errors: a bad database URL or unopenable database, an address that cannot be bound,
/// unusable TLS files.
pub async fn start(config: &Config) -> anyhow::Result<Running> {
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
    let directory = Directory::with_limits(store, scim_base.clone(), config.input.limits);
    let bootstrap = directory
        .bootstrap()
        .await
        .context("cannot initialise the database")?;
    let max_body_bytes = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    let app = router(AppState::new(directory.clone(), max_body_bytes));

    let (stopper, stop) = tokio::sync::oneshot::channel::<()>();
    let join = crate::net::serve(
        std_listener,
        rustls_config,
        app,
        config.limits,
        stop,
        SHUTDOWN_GRACE,
    )
    .context("cannot register the listening socket")?;
    let purger = crate::retention::spawn(directory.clone(), config.log_retention_days);
    tracing::info!(addr = %local_addr, scim_base = %scim_base, database = %redact_url(&config.database), "serving");
    Ok(Running {
        local_addr,
        public_url,
        scim_base,
        tls: config.tls.is_some(),
        bootstrap,
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

/// The text printed once on first start: the SCIM base URL and the new token, labelled
/// for pasting into Microsoft Entra ID, then the portal's URL and its first administrator
/// with its password.
pub fn bootstrap_banner(scim_base: &str, b: &Bootstrap) -> String {
    let portal = scim_base
        .strip_suffix(crate::scim_routes::BASE)
        .unwrap_or(scim_base);
    format!(
        "scimd initialised a new database and created a SCIM token.\n\
         \n\
         SCIM Tenant URL: {scim_base}\n\
         Secret Token: {}\n\
         \n\
         Paste these into Microsoft Entra ID: Enterprise application > Provisioning >\n\
         Admin Credentials (Tenant URL and Secret Token), then Test Connection.\n\
         The secret is shown only this once; create more with `scimd token create --name NAME`.\n\
         \n\
         Portal: {portal}/\n\
         Administrator: {}\n\
         Password: {}\n\
         \n\
         The password is shown only this once; reset it with\n\
         `scimd admin reset-password --username {}`.\n",
        b.scim_token, b.admin_username, b.admin_password, b.admin_username
    )
}

/// `scimd serve`: starts, prints the bootstrap banner (stdout) on first start and
/// `listening on <url>` (stderr) when ready, then serves until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let running = start(&config).await?;
    if let Some(b) = &running.bootstrap {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bootstrap_banner(&running.scim_base, b).as_bytes());
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

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://./scimd-data/scimd.db"),
            Some("./scimd-data/scimd.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x/scimd.db?mode=rwc"),
            Some("/tmp/x/scimd.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db"), Some("x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
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
