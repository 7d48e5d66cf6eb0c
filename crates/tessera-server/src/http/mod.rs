//! HTTP routers. Every realm route is served at `/realms/{realm}/…` and at
//! Keycloak's legacy `/auth/realms/{realm}/…`.

pub(crate) mod account;
mod browser_logout;
mod caller;
mod companies;
mod company_tokens;
mod device;
mod endpoint_assignments;
mod endpoint_tokens;
mod endpoint_usage;
mod endpoints;
mod error;
pub(crate) mod form;
mod management;
mod metrics;
mod oidc;
mod openapi;
mod pages;
mod refusals;
mod roles;
mod serve;
mod sign_in;
mod subscriptions;
mod tags;
mod token_profiles;
mod token_usage;
mod users;

pub use endpoints::Method as EndpointMethodName;
pub use metrics::{Metrics, ReloadOutcome};
pub use serve::{serve, with_timeouts, HttpLimits};

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use tessera_token::Services;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use self::error::ApiError;

/// Request bodies beyond this are refused with 413 before they are read whole.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler reads. Axum clones the state for each extraction and
/// middleware call, so it is one `Arc`: a clone is one atomic increment of
/// one counter, not one per service (those counters are shared by every
/// core, and their cache lines bounced between them on every request).
#[derive(Clone)]
pub struct AppState(Arc<AppContext>);

pub struct AppContext {
    pub services: Services,
    pub metrics: Arc<Metrics>,
    /// Base URL without trailing slash; realm URLs are `{public_url}/realms/{realm}`.
    pub public_url: String,
}

impl AppState {
    pub fn new(services: Services, metrics: Arc<Metrics>, public_url: String) -> Self {
        Self(Arc::new(AppContext {
            services,
            metrics,
            public_url,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppContext;

    fn deref(&self) -> &AppContext {
        &self.0
    }
}

/// The management listener's routes: health and metrics, for operators and
/// their monitoring, never on the public listener.
pub fn management_router(state: AppState) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}

/// The public listener's routes.
pub fn router(state: AppState) -> Router {
    let realm_routes = Router::new()
        .route("/", get(oidc::realm_info))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oidc::discovery),
        )
        .route("/protocol/openid-connect/token", post(oidc::token))
        .route("/protocol/openid-connect/certs", get(oidc::certs))
        .route(
            "/protocol/openid-connect/userinfo",
            get(oidc::userinfo_get).post(oidc::userinfo_post),
        )
        .route(
            "/protocol/openid-connect/token/introspect",
            post(oidc::introspect),
        )
        .route("/protocol/openid-connect/revoke", post(oidc::revoke))
        .route(
            "/protocol/openid-connect/revocations",
            get(oidc::revocations),
        )
        .route(
            "/protocol/openid-connect/logout",
            get(browser_logout::logout_get).post(browser_logout::logout_post),
        )
        .route(
            "/protocol/openid-connect/logout/confirm",
            post(browser_logout::confirm),
        )
        .route(
            "/protocol/openid-connect/auth",
            get(sign_in::authorize_get).post(sign_in::authorize_post),
        )
        .route("/login-actions/authenticate", post(sign_in::authenticate))
        .route("/protocol/openid-connect/auth/device", post(device::start))
        .route("/device", get(device::page).post(device::decide))
        .route("/endpoints/check", post(endpoint_tokens::check))
        .merge(Router::from(account::routes()));
    let routes = Router::new()
        .nest("/realms/{realm}", realm_routes.clone())
        .nest("/auth/realms/{realm}", realm_routes)
        .nest("/admin/realms/{realm}", Router::from(management::routes()))
        .route("/openapi.json", get(openapi::document))
        .route(pages::STYLESHEET_PATH, get(stylesheet))
        .route(
            "/.well-known/oauth-authorization-server/realms/{realm}",
            get(oidc::discovery),
        )
        .fallback(|| async { ApiError::NotFound })
        // Inside the router: it reads the route the request matched.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state);
    // Around the router, not on it: `Router::layer` wraps every route in each
    // layer, and a request then clones (and allocates) the chain of boxed
    // routes it goes through. Outermost first: every request gets an
    // `x-request-id` (a client's own is kept), credentials are marked sensitive
    // before the trace span can see them, and the id is echoed on the response.
    Router::new().fallback_service(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(SetSensitiveRequestHeadersLayer::from_shared(Arc::from([
                header::AUTHORIZATION,
                header::COOKIE,
            ])))
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(middleware::map_response(default_no_store))
            .service(routes),
    )
}

/// One span per request, at debug level so that it costs nothing unless asked
/// for (`RUST_LOG=tower_http=debug`). The path only: a query string is never
/// logged.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        request_id,
    )
}

/// Token responses and errors must not be cached (RFC 6749 §5.1); routes that
/// are cacheable (JWKS, discovery) set their own `Cache-Control`.
async fn default_no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

/// The health endpoints' body, as Keycloak's (`{"status": "UP"}`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct HealthStatus {
    status: Health,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
enum Health {
    Up,
    Down,
}

async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: Health::Up })
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.services.maintenance.database_ready().await {
        Ok(()) => Json(HealthStatus { status: Health::Up }).into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(HealthStatus {
                    status: Health::Down,
                }),
            )
                .into_response()
        }
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        pages::STYLESHEET,
    )
        .into_response()
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state
            .metrics
            .render(state.services.maintenance.password_verifications()),
    )
        .into_response()
}
