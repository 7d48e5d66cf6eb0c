//! Prometheus metrics: request counts and latency histograms by endpoint, grant
//! and outcome, exposed with `prometheus-client` in the OpenMetrics text format.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::AppState;

/// The exposition format's media type (OpenMetrics 1.0, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Set by a handler on its response to label the request (the token endpoint
/// labels grant and OAuth error code).
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub grant: &'static str,
    pub result: &'static str,
}

/// Every label value is static: recording a request allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    grant: &'static str,
    outcome: &'static str,
}

/// The route templates the `endpoint` label takes (realm routes without their
/// `/realms/{realm}` or `/auth/realms/{realm}` prefix); any other is `other`.
const ENDPOINTS: &[&str] = &[
    "/",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/protocol/openid-connect/token",
    "/protocol/openid-connect/certs",
    "/protocol/openid-connect/userinfo",
    "/protocol/openid-connect/token/introspect",
    "/protocol/openid-connect/revoke",
    "/protocol/openid-connect/revocations",
    "/protocol/openid-connect/logout",
    "/protocol/openid-connect/logout/confirm",
    "/protocol/openid-connect/auth",
    "/protocol/openid-connect/auth/device",
    "/login-actions/authenticate",
    "/device",
    "/endpoints/check",
    "/account/tokens",
    "/account/tokens/{id}",
    "/account/tokens/{id}/events",
    "/.well-known/oauth-authorization-server/realms/{realm}",
    "/openapi.json",
    "/resources/tessera.css",
    "/admin/realms/{realm}/users",
    "/admin/realms/{realm}/users/count",
    "/admin/realms/{realm}/users/{user}",
    "/admin/realms/{realm}/users/{user}/reset-password",
    "/admin/realms/{realm}/users/{user}/role-mappings/realm",
    "/admin/realms/{realm}/users/{user}/token-profiles",
    "/admin/realms/{realm}/users/{user}/token-profiles/{token_id}",
    "/admin/realms/{realm}/companies",
    "/admin/realms/{realm}/companies/{company}",
    "/admin/realms/{realm}/companies/{company}/members",
    "/admin/realms/{realm}/companies/{company}/members/{user}",
    "/admin/realms/{realm}/companies/{company}/events",
    "/admin/realms/{realm}/companies/{company}/tokens",
    "/admin/realms/{realm}/companies/{company}/subscriptions",
    "/admin/realms/{realm}/companies/{company}/subscriptions/{subscription}",
    "/admin/realms/{realm}/companies/{company}/subscriptions/{subscription}/assignments",
    "/admin/realms/{realm}/companies/{company}/subscriptions/{subscription}/assignments/{user}",
    "/admin/realms/{realm}/companies/{company}/subscriptions/{subscription}/tokens",
    "/admin/realms/{realm}/companies/{company}/subscriptions/{subscription}/tokens/{token}",
    "/admin/realms/{realm}/endpoints",
    "/admin/realms/{realm}/endpoints/{endpoint}",
    "/admin/realms/{realm}/endpoints/{endpoint}/primary-tokens/{method}",
    "/admin/realms/{realm}/endpoints/{endpoint}/primary-tokens/{method}/secret",
    "/admin/realms/{realm}/endpoints/{endpoint}/tokens",
    "/admin/realms/{realm}/endpoints/{endpoint}/tokens/{token}",
    "/admin/realms/{realm}/endpoints/{endpoint}/calls",
    "/admin/realms/{realm}/endpoints/{endpoint}/callers",
    "/admin/realms/{realm}/endpoint-tokens",
    "/admin/realms/{realm}/endpoint-tokens/{token}",
    "/admin/realms/{realm}/endpoint-tokens/{token}/secret",
    "/admin/realms/{realm}/roles",
    "/admin/realms/{realm}/roles/{role}",
];

/// How a reload of the realm files ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new configuration is in force.
    Applied,
    /// A file did not load; the running configuration stays.
    Refused,
}

impl ReloadOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReloadLabels {
    outcome: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    /// Mirrors the hasher's own count at each scrape; the lock keeps two
    /// concurrent scrapes from adding the same increase twice.
    password_verifications: Mutex<Counter>,
    reloads: Family<ReloadLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "tessera_http_requests",
            "HTTP requests by endpoint, grant and outcome",
            requests.clone(),
        );
        let durations = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "tessera_http_request_duration_seconds",
            "HTTP request latency",
            durations.clone(),
        );
        let password_verifications = Counter::default();
        registry.register(
            "tessera_password_verifications",
            "Argon2 verifications, including the equal-cost ones for unknown users",
            password_verifications.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "tessera_realm_reloads",
            "Reloads of the realm files (SIGHUP) by outcome",
            reloads.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            password_verifications: Mutex::new(password_verifications),
            reloads,
        }
    }
}

impl Metrics {
    fn record(&self, labels: &RequestLabels, elapsed_seconds: f64) {
        self.requests.get_or_create(labels).inc();
        self.durations
            .get_or_create(labels)
            .observe(elapsed_seconds);
    }

    pub fn record_reload(&self, outcome: ReloadOutcome) {
        let labels = ReloadLabels {
            outcome: outcome.as_str(),
        };
        self.reloads.get_or_create(&labels).inc();
    }

    pub fn render(&self, password_verifications: u64) -> String {
        {
            let counter = match self.password_verifications.lock() {
                Ok(counter) => counter,
                Err(poisoned) => poisoned.into_inner(),
            };
            counter.inc_by(password_verifications.saturating_sub(counter.get()));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Records every request. The endpoint label is the route template without the
/// realm and the legacy `/auth` prefix, so label cardinality stays fixed.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| endpoint_label(path.as_str()));
    let started = Instant::now();
    let response = next.run(request).await;
    let outcome = response.extensions().get::<Outcome>().copied();
    let labels = RequestLabels {
        endpoint,
        grant: outcome.map_or("", |o| o.grant),
        outcome: outcome.map_or_else(|| status_label(response.status()), |o| o.result),
    };
    state
        .metrics
        .record(&labels, started.elapsed().as_secs_f64());
    response
}

/// The status code of a response no handler labelled, as a static label.
fn status_label(status: StatusCode) -> &'static str {
    const LABELS: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (303, "303"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (500, "500"),
        (503, "503"),
    ];
    LABELS
        .iter()
        .find(|(code, _)| *code == status.as_u16())
        .map_or("other", |(_, label)| label)
}

fn endpoint_label(route: &str) -> &'static str {
    let route = route.strip_prefix("/auth").unwrap_or(route);
    let route = route.strip_prefix("/realms/{realm}").unwrap_or(route);
    let route = if route.is_empty() { "/" } else { route };
    ENDPOINTS
        .iter()
        .find(|&&known| known == route)
        .copied()
        .unwrap_or("other")
}
