//! The connection layer: scimd's accept loop, connection cap and per-connection deadlines,
//! in front of hyper's HTTP/1.1 and HTTP/2 server (plain TCP or TLS).
//!
//! scimd's one port faces the internet (Entra ID provisions only into a public HTTPS URL),
//! so nothing a client can do without a token may hold the server's resources for long:
//!
//! - **Connection cap** ([`Limits::max_connections`]): a connection takes a slot when it is
//!   accepted and keeps it for its life. At the cap, the connection idle longest between
//!   requests (HTTP/1.1 keep-alive, or HTTP/2 with no stream open) is closed and its slot
//!   handed over; with none idle, a small **reserve** of [`RESERVE_CONNECTIONS`] slots still
//!   accepts, under a short deadline ([`RESERVE_DEADLINE`]), and answers only `/healthz` and
//!   `/readyz` (anything else: 503 with `Connection: close`); with the reserve full too, its
//!   oldest connection that has not yet sent a request gives way, so a probe is never
//!   refused for long. See [`admission`].
//! - **Deadlines** on every connection ([`conn`]): the TLS handshake, the request head
//!   (from the connection's start, or from the first byte of a head on a kept-alive
//!   connection), the idle wait between requests, and the whole exchange of a request.
//! - **Request limits** ([`limits`]): a total deadline on reading a request body (408), and a
//!   time limit on a request (503) that streamed downloads and long polls opt out of.
//! - **File descriptors** ([`fdlimit`]): the soft `RLIMIT_NOFILE` is raised to the hard
//!   limit at start, and the default cap is derived from it with headroom.
//! - **The client's address** ([`client`]): what every request carries for throttles and
//!   logs.
//!
//! docs/security.md gives every limit, its default and the reasoning.

pub mod admission;
pub mod client;
pub mod conn;
pub mod fdlimit;
pub mod limits;

pub use limits::{unlimited, RequestDeadline, Unbounded};

use admission::Admission;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

/// The client's address of a request: the TCP peer's IP, which the connection layer puts
/// in the request's extensions; `None` when the server runs without it (in-process
/// routers). The one place request handlers take a client address from (throttling,
/// change records).
pub fn client_address(extensions: &axum::http::Extensions) -> Option<String> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Default deadline for a request head, seconds ([`Limits::header_read_timeout`]).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default total deadline for reading a request body, seconds ([`Limits::body_read_timeout`]).
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 30;
/// Default idle keep-alive deadline, seconds ([`Limits::idle_timeout`]).
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 75;
/// Default request time limit, seconds ([`Limits::request_timeout`]).
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 120;
/// Default TLS handshake deadline, seconds ([`Limits::tls_handshake_timeout`]).
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT_SECS: u64 = 10;
/// Longest accepted value of any of the timeouts, seconds (one day).
pub const MAX_TIMEOUT_SECS: u64 = 86_400;
/// Largest accepted `--max-connections`.
pub const MAX_MAX_CONNECTIONS: u64 = 1_000_000;

/// Connections accepted beyond the cap to answer health checks (see the module docs).
pub const RESERVE_CONNECTIONS: usize = 16;
/// Deadline of a reserve connection for its TLS handshake and, separately, for its request
/// head (each capped by the configured deadline when that is shorter).
pub const RESERVE_DEADLINE: Duration = Duration::from_secs(2);
/// How long after a request's time limit its response may still take to be written before
/// the connection is cut (the time limit's own 503 must get out).
pub const RESPONSE_GRACE: Duration = Duration::from_secs(5);
/// HTTP/2: streams a client may have open at once on one connection (RFC 9113 §6.5.2
/// recommends no fewer than 100).
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 100;
/// HTTP/2: interval of keep-alive PINGs on a connection that has been silent.
pub const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// HTTP/2: how long a PING may go unanswered before the connection is closed.
pub const H2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2: streams a client may reset before the server accepted them, at once (the
/// "rapid reset" attack, CVE-2023-44487, is bounded by this).
pub const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// HTTP/2: streams the server may reset because of the client's protocol errors before it
/// closes the connection.
pub const H2_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;
/// HTTP/2: largest header list (`SETTINGS_MAX_HEADER_LIST_SIZE`), bytes.
pub const H2_MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

/// Listen backlog: connections the kernel completes and queues before they are accepted
/// (std's default is 128; a burst of connections then has its SYNs dropped and its
/// clients, health probes among them, wait a second or more to retry). The kernel caps it at
/// `net.core.somaxconn`.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Metric: connections open, by class (`normal`, `reserve`).
pub const CONNECTIONS: &str = "scimd_connections";
/// Metric: connections closed at the cap to make room (idle keep-alive, waiting reserve).
pub const CONNECTIONS_EVICTED: &str = "scimd_connections_evicted_total";
/// Metric: connections closed at accept because the cap and the reserve were full.
pub const CONNECTIONS_REFUSED: &str = "scimd_connections_refused_total";
/// Metric: connections and requests cut by a deadline, by `kind` (`tls_handshake`,
/// `header`, `idle`, `body`, `request`, `response`).
pub const TIMEOUTS: &str = "scimd_timeouts_total";

/// The connection and request limits of the public port (flags `--header-read-timeout-secs`,
/// `--body-read-timeout-secs`, `--idle-timeout-secs`, `--request-timeout-secs`,
/// `--tls-handshake-timeout-secs`, `--max-connections`; the same as `SCIMD_*` variables and
/// TOML keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for a complete request head: from the connection's start (after the TLS
    /// handshake) for its first request, from the first byte of the head on a kept-alive
    /// HTTP/1.1 connection. On expiry the connection is closed without a response.
    pub header_read_timeout: Duration,
    /// Total deadline for a request body, from the moment its head was read, however the
    /// bytes trickle in. On expiry: 408 with `Connection: close`.
    pub body_read_timeout: Duration,
    /// How long a connection may wait with no request in progress (HTTP/1.1 keep-alive, or
    /// HTTP/2 with no stream open) before it is closed.
    pub idle_timeout: Duration,
    /// Time limit of one request, from its head to the last byte of its response. The handler
    /// is stopped at the limit (503); a response still being written [`RESPONSE_GRACE`] after
    /// it cuts the connection. Streamed downloads and long polls are exempt ([`Unbounded`],
    /// [`unlimited`]).
    pub request_timeout: Duration,
    /// Deadline for the TLS handshake, from the TCP accept.
    pub tls_handshake_timeout: Duration,
    /// Connections served at once (plus [`RESERVE_CONNECTIONS`] for health checks); `None`:
    /// derived from the file-descriptor limit at start ([`fdlimit::default_max_connections`]).
    pub max_connections: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(DEFAULT_BODY_READ_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
            tls_handshake_timeout: Duration::from_secs(DEFAULT_TLS_HANDSHAKE_TIMEOUT_SECS),
            max_connections: None,
        }
    }
}

/// What every connection task shares: the app, the TLS acceptor, the HTTP builders, the
/// limits and the admission registry.
pub(crate) struct Shared {
    pub(crate) app: Router,
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    pub(crate) limits: Limits,
    pub(crate) admission: Arc<Admission<conn::Tracker>>,
    /// Whose `X-Forwarded-For` names the client.
    pub(crate) trusted: client::TrustedProxies,
    /// hyper's HTTP/1.1 + HTTP/2 server settings for ordinary connections.
    pub(crate) builder: auto::Builder<TokioExecutor>,
    /// The same for reserve connections: no keep-alive, one HTTP/2 stream.
    pub(crate) reserve_builder: auto::Builder<TokioExecutor>,
}

/// hyper's server settings. Reserve connections serve one request and close.
fn http_builder(limits: &Limits, reserve: bool) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    // hyper's own header timer runs from the moment it waits for a head, idle wait included;
    // the precise deadlines (head, idle) are the connection supervisor's (conn.rs), and
    // hyper's timer only backs them up with their sum.
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout + limits.idle_timeout)
        .keep_alive(!reserve);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(if reserve {
            1
        } else {
            H2_MAX_CONCURRENT_STREAMS
        })
        .keep_alive_interval(H2_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(H2_KEEP_ALIVE_TIMEOUT)
        .max_pending_accept_reset_streams(H2_MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(H2_MAX_LOCAL_ERROR_RESET_STREAMS)
        .max_header_list_size(H2_MAX_HEADER_LIST_SIZE);
    b
}

/// Describes the connection metrics (once per process).
fn describe_metrics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        metrics::describe_gauge!(CONNECTIONS, "Connections open, by class (normal, reserve)");
        metrics::describe_counter!(
            CONNECTIONS_EVICTED,
            "Connections closed at the connection cap to make room for new ones"
        );
        metrics::describe_counter!(
            CONNECTIONS_REFUSED,
            "Connections closed at accept: the connection cap and its reserve were full"
        );
        metrics::describe_counter!(
            TIMEOUTS,
            "Connections and requests cut by a deadline, by kind"
        );
    });
}

/// Starts serving `app` on `listener` (TLS when `tls` is given) in a background task, under
/// `limits`, taking the client's address from `X-Forwarded-For` when the peer is one of
/// `trusted` (see [`client`]). Raises the soft file-descriptor limit first and logs the
/// numbers.
///
/// The task accepts until `stop` completes (or its sender is dropped), then stops
/// accepting, asks every connection to finish (HTTP/1.1: after the response in progress;
/// HTTP/2: GOAWAY), waits up to `grace`, and closes what is left.
///
/// Errors: a listener that cannot be registered with the runtime.
pub fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    (limits, trusted): (Limits, client::TrustedProxies),
    stop: oneshot::Receiver<()>,
    grace: Duration,
) -> io::Result<JoinHandle<io::Result<()>>> {
    describe_metrics();
    let fds = fdlimit::raise();
    let max = match limits.max_connections {
        Some(n) => {
            let safe = fdlimit::default_max_connections(fds.soft);
            if n > safe {
                tracing::warn!(
                    max_connections = n,
                    descriptor_limit = fds.soft,
                    "--max-connections is above what the file-descriptor limit leaves room for ({safe}); \
                     at the cap, accepts may fail with 'Too many open files'"
                );
            }
            n
        }
        None => fdlimit::default_max_connections(fds.soft),
    };
    tracing::info!(
        descriptor_limit_before = fds.before,
        descriptor_limit = fds.soft,
        descriptor_hard_limit = fds.hard,
        max_connections = max,
        reserve = RESERVE_CONNECTIONS,
        "connection limits"
    );
    // Listening again on a listening socket only changes its backlog.
    #[cfg(unix)]
    rustix::net::listen(&listener, LISTEN_BACKLOG)?;
    let listener = TcpListener::from_std(listener)?;
    let shared = Arc::new(Shared {
        app,
        tls: tls.map(tokio_rustls::TlsAcceptor::from),
        limits,
        admission: Arc::new(Admission::new(max, RESERVE_CONNECTIONS, closing_max(max))),
        trusted,
        builder: http_builder(&limits, false),
        reserve_builder: http_builder(&limits, true),
    });
    Ok(tokio::spawn(accept_loop(listener, shared, stop, grace)))
}

/// Connections asked to close to make room that may be closing at once: a sixteenth of
/// the cap (the descriptors [`fdlimit::default_max_connections`] keeps for them), at least
/// [`RESERVE_CONNECTIONS`].
fn closing_max(max: usize) -> usize {
    (max / 16).max(RESERVE_CONNECTIONS)
}

/// A log line at most every [`Throttle::EVERY`], with the count of events in between.
struct Throttle {
    last: Option<Instant>,
    count: u64,
}

impl Throttle {
    const EVERY: Duration = Duration::from_secs(10);

    fn new() -> Self {
        Throttle {
            last: None,
            count: 0,
        }
    }

    /// Counts one event; `Some(events since the last log)` when a line is due.
    fn tick(&mut self) -> Option<u64> {
        self.count += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Self::EVERY)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.count))
    }
}

/// Whether an accept error concerns only the one connection (the next accept may succeed at
/// once), as opposed to the process (out of descriptors or memory: back off).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
    grace: Duration,
) -> io::Result<()> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut refused = Throttle::new();
    let mut failed = Throttle::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        tracing::error!(error = %e, "a connection task panicked");
                    }
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match conn::admit(&shared.admission, &shared.limits) {
                    Some(tracker) => {
                        tasks.spawn(conn::serve(stream, peer, tracker, shared.clone(), shutdown_rx.clone()));
                    }
                    None => {
                        drop(stream);
                        metrics::counter!(CONNECTIONS_REFUSED).increment(1);
                        if let Some(n) = refused.tick() {
                            tracing::warn!(
                                refused = n,
                                max_connections = shared.admission.max(),
                                reserve = RESERVE_CONNECTIONS,
                                "connection cap and reserve full: new connections closed at accept"
                            );
                        }
                    }
                },
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    if let Some(n) = failed.tick() {
                        tracing::warn!(error = %e, failures = n, "accept failed; pausing accepts for 100 ms");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = tasks.len(),
            "connections still open {grace:?} after the shutdown signal; closing them"
        );
        tasks.shutdown().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn throttle_logs_at_most_every_ten_seconds() {
        let mut t = Throttle::new();
        assert_eq!(t.tick(), Some(1));
        assert_eq!(t.tick(), None);
        assert_eq!(t.tick(), None);
        t.last = Some(Instant::now() - Throttle::EVERY);
        assert_eq!(t.tick(), Some(3));
    }
}
