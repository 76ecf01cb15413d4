//! Request limits: a total deadline on reading a request body, and a time limit on a
//! request, with the opt-outs that streamed downloads and long polls need.
//!
//! The connection layer ([`super::conn`]) starts a [`RequestDeadline`] when it has read a
//! request head and puts it in the request's extensions; [`enforce`], a middleware inside the
//! router (after the request id and the request log, so its answers are logged and counted
//! like any other), applies it:
//!
//! - **Body deadline** (`--body-read-timeout-secs`): the request body is wrapped so that
//!   reading it fails once the deadline has passed, however steadily the bytes trickle in
//!   (a per-read idle timer would let a client send one byte every few seconds for ever).
//!   The handler's answer is then replaced by 408 with `Connection: close` (HTTP/1.x), and
//!   the connection closes after it: the rest of the body is never read. The 408 is always
//!   written (it is small, the socket's buffer takes it); only a client that does not read
//!   it would have the connection cut, by the response deadline below.
//! - **Time limit** (`--request-timeout-secs`): a handler that has not produced its response
//!   head by the deadline is stopped and the client gets 503. The response must then be
//!   written within [`super::RESPONSE_GRACE`] of the deadline, or the connection is cut (a
//!   client that stops reading cannot hold a connection). A response marked [`Unbounded`]
//!   (the provisioning-log downloads) and a request passed through [`unlimited`] (a route
//!   layer, for long polls) are exempt.
//!
//! Without a [`RequestDeadline`] (a router driven in-process, in tests) nothing is limited.

use super::TIMEOUTS;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Method, StatusCode, Version};
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The deadlines of one request, from the moment its head was read. Found in the request's
/// extensions (`Extension<RequestDeadline>`) when scimd serves the request itself.
#[derive(Debug, Clone)]
pub struct RequestDeadline(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    start: Instant,
    limit: Duration,
    body_limit: Duration,
    lifted: AtomicBool,
    body_expired: AtomicBool,
}

impl RequestDeadline {
    /// Deadlines starting now: `limit` for the request, `body_limit` for reading its body.
    pub fn new(limit: Duration, body_limit: Duration) -> RequestDeadline {
        RequestDeadline(Arc::new(Inner {
            start: Instant::now(),
            limit,
            body_limit,
            lifted: AtomicBool::new(false),
            body_expired: AtomicBool::new(false),
        }))
    }

    /// When the request's time limit runs out.
    pub fn deadline(&self) -> Instant {
        self.0.start + self.0.limit
    }

    /// When reading the request body must have finished.
    pub fn body_deadline(&self) -> Instant {
        self.0.start + self.0.body_limit
    }

    /// Exempts the request from its time limit (long polls, streamed downloads); the body
    /// deadline still applies.
    pub fn lift(&self) {
        self.0.lifted.store(true, Ordering::Relaxed);
    }

    /// Whether [`RequestDeadline::lift`] was called.
    pub fn is_lifted(&self) -> bool {
        self.0.lifted.load(Ordering::Relaxed)
    }

    /// Whether reading the body failed because its deadline passed.
    pub fn body_expired(&self) -> bool {
        self.0.body_expired.load(Ordering::Relaxed)
    }

    /// Completes when the time limit runs out; never, once lifted.
    async fn expired(&self) {
        tokio::time::sleep_until(self.deadline()).await;
        if self.is_lifted() {
            std::future::pending::<()>().await;
        }
    }
}

/// Response extension: this response's body is a stream that may rightly take longer than
/// the request time limit (a download); the connection is not cut for it.
#[derive(Debug, Clone, Copy)]
pub struct Unbounded;

/// Route layer (`route_layer(from_fn(net::unlimited))`): exempts the route's requests from
/// the request time limit, for handlers that wait on purpose (long polls).
pub async fn unlimited(req: Request, next: Next) -> Response {
    if let Some(d) = req.extensions().get::<RequestDeadline>() {
        d.lift();
    }
    next.run(req).await
}

/// The error reading a body past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within {0} s")]
pub struct BodyTimeout(u64);

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Body,
    deadline: RequestDeadline,
    timer: Option<Pin<Box<Sleep>>>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        let at = this.deadline.body_deadline();
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.as_mut().poll(cx).is_ready() {
            this.deadline.0.body_expired.store(true, Ordering::Relaxed);
            let secs = this.deadline.0.body_limit.as_secs();
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout(secs)))));
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Adds `Connection: close` on HTTP/1.x (HTTP/2 forbids the header).
fn closing(version: Version, mut res: Response) -> Response {
    if version < Version::HTTP_2 {
        res.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Middleware applying the request's [`RequestDeadline`] (see the module docs).
///
/// Answers: 503 when the handler outlives the time limit; 408 when the body was not
/// received by its deadline; both in the format of the request's surface
/// ([`crate::errors::for_surface`]: a SCIM error, the admin API's, the token endpoint's, a
/// portal page) and with `Connection: close` on HTTP/1.x.
pub async fn enforce(req: Request, next: Next) -> Response {
    let Some(deadline) = req.extensions().get::<RequestDeadline>().cloned() else {
        return next.run(req).await;
    };
    let version = req.version();
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Answers in the format of the request's surface (a portal page, an OAuth error ...).
    // (The URI's clone shares its bytes; the site is a slug at most.)
    let uri = req.uri().clone();
    let site = crate::portal::Site::of(req.extensions());
    let answer = |status: StatusCode, heading: &str, message: String| {
        crate::errors::for_surface(status, (uri.path(), &site), heading, &message)
    };
    let req = req.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: deadline.clone(),
            timer: None,
        })
    });
    let run = next.run(req);
    tokio::pin!(run);
    let res = tokio::select! {
        res = &mut run => res,
        () = deadline.expired() => {
            metrics::counter!(TIMEOUTS, "kind" => "request").increment(1);
            let outcome = if writes {
                "a change it was making may or may not have been saved: read the resource before retrying"
            } else {
                "retry later"
            };
            return closing(version, answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not answered in time",
                format!(
                    "the request was not answered within {} s (the server's --request-timeout-secs) and was stopped; {outcome}",
                    deadline.0.limit.as_secs()
                ),
            ));
        }
    };
    if deadline.body_expired() {
        metrics::counter!(TIMEOUTS, "kind" => "body").increment(1);
        return closing(
            version,
            answer(
                StatusCode::REQUEST_TIMEOUT,
                "Request timed out",
                format!(
                    "the request body was not received within {} s of the request's head (the server's \
                     --body-read-timeout-secs); nothing was changed: send the body without pauses",
                    deadline.0.body_limit.as_secs()
                ),
            ),
        );
    }
    if res.extensions().get::<Unbounded>().is_some() {
        deadline.lift();
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::middleware::from_fn;
    use axum::routing::{get, post};
    use axum::Router;
    use tower::ServiceExt;

    fn app() -> Router {
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "done"
        };
        Router::new()
            .route("/slow", get(slow))
            .route("/poll", get(slow).route_layer(from_fn(unlimited)))
            .route(
                "/echo",
                post(|body: Bytes| async move { format!("{}", body.len()) }),
            )
            .layer(from_fn(enforce))
    }

    fn with_deadline(mut req: Request, limit_ms: u64, body_ms: u64) -> (Request, RequestDeadline) {
        let d = RequestDeadline::new(
            Duration::from_millis(limit_ms),
            Duration::from_millis(body_ms),
        );
        req.extensions_mut().insert(d.clone());
        (req, d)
    }

    async fn status_and_body(res: Response) -> (u16, String) {
        let status = res.status().as_u16();
        let b = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&b).to_string())
    }

    #[tokio::test]
    async fn time_limit_stops_slow_handlers_unless_the_route_opts_out() {
        let (req, _) = with_deadline(
            Request::get("/slow").body(Body::empty()).unwrap(),
            150,
            1000,
        );
        let res = app().oneshot(req).await.unwrap();
        assert_eq!(res.headers()[CONNECTION], "close");
        let (status, body) = status_and_body(res).await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body.contains("--request-timeout-secs") && body.contains("retry later"),
            "{body}"
        );

        let (req, d) = with_deadline(
            Request::get("/poll").body(Body::empty()).unwrap(),
            150,
            1000,
        );
        let (status, body) = status_and_body(app().oneshot(req).await.unwrap()).await;
        assert_eq!((status, body.as_str()), (200, "done"));
        assert!(d.is_lifted());

        // Without a deadline (in-process use) nothing is limited.
        let req = Request::get("/slow").body(Body::empty()).unwrap();
        assert_eq!(app().oneshot(req).await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn a_body_not_received_by_its_deadline_is_408() {
        // A body that trickles a byte every 50 ms, for ever.
        let trickle = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), ()))
        });
        let req = Request::post("/echo")
            .body(Body::from_stream(trickle))
            .unwrap();
        let (req, d) = with_deadline(req, 5000, 300);
        let started = std::time::Instant::now();
        let res = app().oneshot(req).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(d.body_expired());
        assert_eq!(res.headers()[CONNECTION], "close");
        let (status, body) = status_and_body(res).await;
        assert_eq!(status, 408, "{body}");
        assert!(body.contains("--body-read-timeout-secs"), "{body}");

        // A body in time passes.
        let req = Request::post("/echo").body(Body::from("abc")).unwrap();
        let (req, _) = with_deadline(req, 5000, 300);
        let (status, body) = status_and_body(app().oneshot(req).await.unwrap()).await;
        assert_eq!((status, body.as_str()), (200, "3"));
    }

    #[tokio::test]
    async fn unbounded_responses_lift_the_limit() {
        let app = Router::new()
            .route(
                "/download",
                get(|| async {
                    let mut res = Response::new(Body::from("rows"));
                    res.extensions_mut().insert(Unbounded);
                    res
                }),
            )
            .layer(from_fn(enforce));
        let (req, d) = with_deadline(
            Request::get("/download").body(Body::empty()).unwrap(),
            1000,
            1000,
        );
        assert_eq!(app.oneshot(req).await.unwrap().status(), 200);
        assert!(d.is_lifted());
    }
}
