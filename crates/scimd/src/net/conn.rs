//! One connection: the TLS handshake under its deadline, hyper serving HTTP/1.1 or HTTP/2,
//! and a supervisor that enforces the connection's deadlines.
//!
//! What the connection is doing is tracked as it happens ([`Tracker`]): requests start when
//! hyper hands a parsed head to the service and end when their response body has been
//! written (or dropped); the I/O wrapper notes the first byte read on an idle HTTP/1.1
//! connection. From that, the supervisor derives one deadline at a time:
//!
//! | the connection is                        | deadline                               | then                      |
//! |------------------------------------------|----------------------------------------|---------------------------|
//! | new, no request yet                      | start + header-read timeout            | closed                    |
//! | HTTP/1.1, between requests, no byte yet  | idle since + idle timeout              | closed (graceful)         |
//! | HTTP/1.1, next head under way            | first byte + header-read timeout       | closed                    |
//! | HTTP/2, no stream open                   | idle since + idle timeout              | GOAWAY, closed            |
//! | serving requests                         | earliest request limit + response grace| closed (response overdue) |
//!
//! Reserve connections (see [`super::admission`]) use [`super::RESERVE_DEADLINE`] for the
//! head and close after their first response.

use super::admission::{Admission, Class, Member, Membership};
use super::limits::RequestDeadline;
use super::{Limits, Shared, RESERVE_DEADLINE, RESPONSE_GRACE, TIMEOUTS};
use crate::errors;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::header::{CONNECTION, RETRY_AFTER};
use axum::http::{HeaderValue, Method, Request, Response, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use scim_proto::ScimError;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// What ran out when a deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// No complete request head in time: cut.
    Header,
    /// Idle too long: closed gracefully.
    Idle,
    /// Asked to close to make room at the cap: closed gracefully.
    Evicted,
    /// A response still being written past its request's limit: cut.
    Response,
    /// A graceful close that did not finish: cut.
    Closing,
}

/// What a connection is doing, as far as its deadlines are concerned.
pub struct Tracker {
    pub(crate) id: u64,
    membership: Membership,
    header: Duration,
    idle: Duration,
    handshake: Duration,
    admission: Arc<Admission<Tracker>>,
    state: Mutex<State>,
    wake: Notify,
    /// Set while an idle HTTP/1.1 connection waits for the first byte of its next head.
    want_first_byte: AtomicBool,
}

struct State {
    /// Requests started on this connection.
    served: u64,
    /// The connection speaks HTTP/2 (known from its first request).
    h2: bool,
    next_request: u64,
    in_flight: Vec<(u64, RequestDeadline)>,
    /// When the current wait began: the connection's start, or the end of its last request.
    since: Instant,
    /// First byte read since `since` (HTTP/1.1, idle).
    first_byte: Option<Instant>,
    /// Asked to close to make room.
    close: bool,
}

impl Tracker {
    /// A tracker for a connection accepted now.
    fn new(
        id: u64,
        membership: Membership,
        limits: &Limits,
        admission: Arc<Admission<Tracker>>,
    ) -> Self {
        let (header, idle, handshake) = match membership.class() {
            Class::Normal => (
                limits.header_read_timeout,
                limits.idle_timeout,
                limits.tls_handshake_timeout,
            ),
            Class::Reserve => (
                limits.header_read_timeout.min(RESERVE_DEADLINE),
                Duration::ZERO,
                limits.tls_handshake_timeout.min(RESERVE_DEADLINE),
            ),
        };
        Tracker {
            id,
            membership,
            header,
            idle,
            handshake,
            admission,
            state: Mutex::new(State {
                served: 0,
                h2: false,
                next_request: 0,
                in_flight: Vec::new(),
                since: Instant::now(),
                first_byte: None,
                close: false,
            }),
            wake: Notify::new(),
            want_first_byte: AtomicBool::new(false),
        }
    }

    /// The kind of slot the connection holds.
    pub fn class(&self) -> Class {
        self.membership.class()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the wait for the first request (after the TLS handshake).
    fn start(&self) {
        self.lock().since = Instant::now();
    }

    /// Whether the connection was asked to close.
    fn close_requested(&self) -> bool {
        self.lock().close
    }

    /// Completes when the connection is asked to close.
    async fn closed(&self) {
        loop {
            let notified = self.wake.notified();
            if self.close_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Records a request whose head was just read; the guard ends it when dropped.
    fn request_started(self: &Arc<Self>, version: Version, limits: &Limits) -> RequestGuard {
        let deadline = RequestDeadline::new(limits.request_timeout, limits.body_read_timeout);
        let mut st = self.lock();
        st.served += 1;
        st.h2 = version == Version::HTTP_2;
        st.next_request += 1;
        let id = st.next_request;
        st.in_flight.push((id, deadline.clone()));
        st.first_byte = None;
        self.want_first_byte.store(false, Ordering::Relaxed);
        self.admission.busy(self);
        drop(st);
        RequestGuard {
            tracker: self.clone(),
            id,
            deadline,
        }
    }

    /// Records the end of request `id` (its response written or abandoned).
    fn request_finished(self: &Arc<Self>, id: u64) {
        let mut st = self.lock();
        st.in_flight.retain(|(i, _)| *i != id);
        if st.in_flight.is_empty() {
            st.since = Instant::now();
            st.first_byte = None;
            if !st.h2 {
                self.want_first_byte.store(true, Ordering::Relaxed);
            }
            self.admission.enter_idle(self);
        }
        drop(st);
        self.wake.notify_one();
    }

    /// Notes bytes read from the client (cheap unless an idle HTTP/1.1 connection waits for
    /// the first byte of its next head).
    fn on_read(&self) {
        // A load first: reads are frequent, and a swap would write the flag on every one.
        if !self.want_first_byte.load(Ordering::Relaxed)
            || !self.want_first_byte.swap(false, Ordering::Relaxed)
        {
            return;
        }
        let mut st = self.lock();
        if st.in_flight.is_empty() && !st.h2 && st.first_byte.is_none() {
            st.first_byte = Some(Instant::now());
            // A head is under way: closing this connection now would cut a request.
            self.admission.busy(self);
        }
        drop(st);
        self.wake.notify_one();
    }

    /// The next deadline and what runs out then. `closing_since`: when a graceful close
    /// was started (idle, evicted or shutting down).
    fn due(&self, closing_since: Option<Instant>) -> (Instant, Expiry) {
        let st = self.lock();
        if !st.in_flight.is_empty() {
            let earliest = st
                .in_flight
                .iter()
                .filter(|(_, d)| !d.is_lifted())
                .map(|(_, d)| d.deadline() + RESPONSE_GRACE)
                .min();
            return match earliest {
                Some(t) => (t, Expiry::Response),
                // Only exempt requests (downloads, long polls): no deadline until they end.
                None => (far_future(), Expiry::Response),
            };
        }
        if let Some(t) = closing_since {
            // From the end of the last response at the earliest: it may still be flushing.
            return (t.max(st.since) + RESPONSE_GRACE, Expiry::Closing);
        }
        if st.close {
            return (Instant::now(), Expiry::Evicted);
        }
        if st.served == 0 {
            return (st.since + self.header, Expiry::Header);
        }
        match st.first_byte {
            Some(t) if !st.h2 => (t + self.header, Expiry::Header),
            _ => (st.since + self.idle, Expiry::Idle),
        }
    }
}

impl Member for Tracker {
    fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Asks the connection to close as soon as it is idle (to make room at the cap).
    fn request_close(&self) {
        self.lock().close = true;
        self.wake.notify_one();
    }
}

/// Admits a connection just accepted: its tracker, or `None` when it must be closed at once
/// (see [`Admission::admit`]).
pub(crate) fn admit(admission: &Arc<Admission<Tracker>>, limits: &Limits) -> Option<Arc<Tracker>> {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    admission.admit(|membership| {
        Arc::new(Tracker::new(
            NEXT_ID.fetch_add(1, Ordering::Relaxed),
            membership,
            limits,
            admission.clone(),
        ))
    })
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// Ends a request in its connection's tracker when dropped (with the response body).
pub(crate) struct RequestGuard {
    tracker: Arc<Tracker>,
    id: u64,
    deadline: RequestDeadline,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.tracker.request_finished(self.id);
    }
}

/// Gives the connection's slot back when its task ends, however it ends.
struct Slot(Arc<Tracker>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.admission.release(&self.0);
    }
}

/// The connection's byte stream, noting reads in the tracker.
struct TrackedIo<T> {
    inner: T,
    tracker: Arc<Tracker>,
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.on_read();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// `inner` as the response body, ending its request in the tracker when dropped: hyper
/// drops it when the last byte was handed to the connection, or when the connection is
/// gone. The guard rides in the (never called on success) error mapping, which forwards
/// `size_hint` and `is_end_stream`, so a known length is still sent as `Content-Length`.
fn ending_request(inner: Body, guard: RequestGuard) -> Body {
    Body::new(inner.map_err(move |e| {
        let _ = &guard;
        e
    }))
}

/// The per-connection hyper service: tracks requests, gives handlers the peer address and
/// the request's deadlines, and keeps reserve connections to health checks.
struct ConnService {
    shared: Arc<Shared>,
    tracker: Arc<Tracker>,
    peer: SocketAddr,
}

type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, mut req: Request<Incoming>) -> ServiceFuture {
        let version = req.version();
        let guard = self.tracker.request_started(version, &self.shared.limits);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let client = self.shared.trusted.client(self.peer.ip(), req.headers());
        req.extensions_mut()
            .insert(super::client::ClientAddr(client));
        req.extensions_mut().insert(guard.deadline.clone());
        if self.tracker.class() == Class::Reserve && !is_health_check(&req) {
            let res = at_capacity(version, self.shared.admission.max());
            let res = res.map(|inner| ending_request(inner, guard));
            return Box::pin(std::future::ready(Ok(res)));
        }
        let mut app = self.shared.app.clone();
        let reserve = self.tracker.class() == Class::Reserve;
        Box::pin(async move {
            let mut res = match tower::Service::call(&mut app, req).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            if reserve && version < Version::HTTP_2 {
                res.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(res.map(|inner| ending_request(inner, guard)))
        })
    }
}

/// `GET`/`HEAD` `/healthz` or `/readyz`: what reserve connections answer.
fn is_health_check<B>(req: &Request<B>) -> bool {
    (req.method() == Method::GET || req.method() == Method::HEAD)
        && matches!(req.uri().path(), "/healthz" | "/readyz")
}

/// The answer of a reserve connection to anything but a health check: 503 (SCIM error
/// body), `Retry-After`, and on HTTP/1.x `Connection: close`.
fn at_capacity(version: Version, max: usize) -> Response<Body> {
    let mut res = errors::error_response(&ScimError::new(
        503,
        None,
        format!(
            "the server is at its connection limit ({max} connections); only /healthz and /readyz \
             are answered on this connection: retry in a few seconds"
        ),
    ));
    res.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("2"));
    if version < Version::HTTP_2 {
        res.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Serves one accepted connection to its end; the slot is released however it ends.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    tracker: Arc<Tracker>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _slot = Slot(tracker.clone());
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = shared.tls.clone() else {
        tracker.start();
        return run(stream, peer, tracker, shared, shutdown).await;
    };
    let handshake = tokio::select! {
        r = tokio::time::timeout(tracker.handshake, acceptor.accept(stream)) => r,
        _ = tracker.closed() => return,
        _ = shutdown.changed() => return,
    };
    match handshake {
        Ok(Ok(tls)) => {
            tracker.start();
            run(tls, peer, tracker, shared, shutdown).await
        }
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => {
            metrics::counter!(TIMEOUTS, "kind" => "tls_handshake").increment(1);
            tracing::debug!(%peer, "TLS handshake not completed in time; connection closed");
        }
    }
}

/// Serves HTTP on an established byte stream under the supervisor's deadlines.
async fn run<T>(
    io: T,
    peer: SocketAddr,
    tracker: Arc<Tracker>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(TrackedIo {
        inner: io,
        tracker: tracker.clone(),
    });
    let service = ConnService {
        shared: shared.clone(),
        tracker: tracker.clone(),
        peer,
    };
    let builder = match tracker.class() {
        Class::Normal => &shared.builder,
        Class::Reserve => &shared.reserve_builder,
    };
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing_since: Option<Instant> = None;
    let mut shutting_down = false;
    loop {
        let (at, expiry) = tracker.due(closing_since);
        if at <= Instant::now() {
            match expiry {
                Expiry::Idle | Expiry::Evicted => {
                    if expiry == Expiry::Idle {
                        metrics::counter!(TIMEOUTS, "kind" => "idle").increment(1);
                    }
                    if closing_since.is_none() {
                        conn.as_mut().graceful_shutdown();
                    }
                    closing_since = Some(Instant::now());
                    continue;
                }
                Expiry::Header | Expiry::Response | Expiry::Closing => {
                    let kind = match expiry {
                        Expiry::Header => "header",
                        Expiry::Response => "response",
                        _ => "closing",
                    };
                    metrics::counter!(TIMEOUTS, "kind" => kind).increment(1);
                    tracing::debug!(%peer, conn = tracker.id, kind, "connection deadline passed; connection closed");
                    return;
                }
            }
        }
        tokio::select! {
            biased;
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, conn = tracker.id, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tracker.wake.notified() => {}
            _ = shutdown.changed(), if !shutting_down => {
                shutting_down = true;
                if closing_since.is_none() {
                    conn.as_mut().graceful_shutdown();
                    closing_since = Some(Instant::now());
                }
            }
            _ = tokio::time::sleep_until(at) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            ..Limits::default()
        }
    }

    /// Asserts the next deadline is `kind`, `after` from now (within 100 ms).
    #[track_caller]
    fn due_in(t: &Tracker, closing: Option<Instant>, after: Duration, kind: Expiry) {
        let (at, k) = t.due(closing);
        assert_eq!(k, kind);
        let want = Instant::now() + after;
        let diff = if at > want { at - want } else { want - at };
        assert!(
            diff < Duration::from_millis(100),
            "{kind:?} due {diff:?} off"
        );
    }

    #[tokio::test]
    async fn deadlines_follow_what_the_connection_does() {
        let l = limits();
        let admission = Arc::new(Admission::new(4, 1, 1));
        let t = admit(&admission, &l).unwrap();
        t.start();
        // New: the head deadline from the start.
        due_in(&t, None, l.header_read_timeout, Expiry::Header);
        // Serving: the request's limit plus the response grace; none once lifted.
        let g = t.request_started(Version::HTTP_11, &l);
        due_in(
            &t,
            None,
            l.request_timeout + RESPONSE_GRACE,
            Expiry::Response,
        );
        g.deadline.lift();
        assert!(t.due(None).0 > Instant::now() + Duration::from_secs(3600));
        drop(g);
        // Idle HTTP/1.1: the idle deadline, then the head deadline from the first byte.
        due_in(&t, None, l.idle_timeout, Expiry::Idle);
        assert_eq!(admission.counts().idle, 1);
        t.on_read();
        due_in(&t, None, l.header_read_timeout, Expiry::Header);
        assert_eq!(admission.counts().idle, 0, "a head under way is not idle");
        // HTTP/2: bytes (PINGs, SETTINGS) do not end the idle wait.
        drop(t.request_started(Version::HTTP_2, &l));
        t.on_read();
        due_in(&t, None, l.idle_timeout, Expiry::Idle);
        // Asked to close: at once, then the close itself has the response grace.
        t.request_close();
        due_in(&t, None, Duration::ZERO, Expiry::Evicted);
        due_in(&t, Some(Instant::now()), RESPONSE_GRACE, Expiry::Closing);
    }

    #[tokio::test]
    async fn reserve_connections_have_short_deadlines_and_no_idle_wait() {
        let l = limits();
        let admission = Arc::new(Admission::new(1, 1, 1));
        let _normal = admit(&admission, &l).unwrap();
        let t = admit(&admission, &l).unwrap();
        assert_eq!(t.class(), Class::Reserve);
        t.start();
        due_in(
            &t,
            None,
            l.header_read_timeout.min(RESERVE_DEADLINE),
            Expiry::Header,
        );
        drop(t.request_started(Version::HTTP_11, &l));
        due_in(&t, None, Duration::ZERO, Expiry::Idle);
        assert_eq!(
            admission.counts().idle,
            0,
            "reserve connections are never idle-listed"
        );
    }
}
