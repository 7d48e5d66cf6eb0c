//! The HTTP/1.1 accept loop: hyper with a timer, so that slow or idle clients
//! are cut off, and a cap on concurrent connections.
//!
//! `axum::serve` runs hyper without a timer, which leaves even the header-read
//! timeout off: a client trickling its headers a byte at a time would hold a
//! connection (and its task) forever. Here hyper closes a connection whose
//! request headers have not all arrived within `header_read_timeout` of it
//! becoming ready for a request, which is also how long an idle keep-alive
//! connection is kept. Request and body timeouts are tower-http layers (see
//! [`with_timeouts`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use super::error::ApiError;

/// Limits on what one client can hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Request headers must arrive within this; also the keep-alive idle time.
    pub header_read_timeout: Duration,
    /// A request is answered 408 if its handling takes longer.
    pub request_timeout: Duration,
    /// A request body must arrive within this (408 otherwise).
    pub body_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

/// How long a graceful shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The router with the request and body timeouts of `limits`. A request cut
/// off by them is answered 408 with the same JSON error body as every other
/// refusal.
pub fn with_timeouts(router: Router, limits: &HttpLimits) -> Router {
    // Around the router as one service, as in `router`, so that no route gets
    // a boxed layer of its own.
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .layer(axum::middleware::map_response(timeout_body))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                limits.request_timeout,
            ))
            .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
            .service(router),
    )
}

/// The timeout layer's own 408 has no body: give it the error body.
async fn timeout_body(response: Response) -> Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        ApiError::RequestTimeout.into_response()
    } else {
        response
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in
/// flight finish (for at most [`DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or the peer gave up: wait a little
                    // rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain timeout");
    }
    Ok(())
}
