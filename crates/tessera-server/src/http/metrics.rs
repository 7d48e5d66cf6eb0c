//! Prometheus metrics: request counts and latency histograms by endpoint, grant
//! and outcome, rendered in the text exposition format.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

use super::AppState;

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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    endpoint: String,
    grant: &'static str,
    outcome: String,
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<SeriesKey, Series>>,
}

impl Metrics {
    fn record(&self, key: SeriesKey, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut series = match self.series.lock() {
            Ok(series) => series,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = series.entry(key).or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|&upper| seconds <= upper) {
            entry.buckets[bucket] += 1;
        }
    }

    pub fn render(&self, password_verifications: u64) -> String {
        let series = match self.series.lock() {
            Ok(series) => series,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = String::new();
        out.push_str(
            "# HELP tessera_http_requests_total HTTP requests by endpoint, grant and outcome.\n",
        );
        out.push_str("# TYPE tessera_http_requests_total counter\n");
        for (key, value) in series.iter() {
            let _ = writeln!(
                out,
                "tessera_http_requests_total{{{}}} {}",
                labels(key),
                value.count
            );
        }
        out.push_str("# HELP tessera_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE tessera_http_request_duration_seconds histogram\n");
        for (key, value) in series.iter() {
            let labels = labels(key);
            let mut cumulative = 0;
            for (upper, count) in BUCKETS.iter().zip(value.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "tessera_http_request_duration_seconds_bucket{{{labels},le=\"{upper}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                value.count
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_sum{{{labels}}} {}",
                value.sum_seconds
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_count{{{labels}}} {}",
                value.count
            );
        }
        out.push_str("# HELP tessera_password_verifications_total Argon2 verifications, including the equal-cost ones for unknown users.\n");
        out.push_str("# TYPE tessera_password_verifications_total counter\n");
        let _ = writeln!(
            out,
            "tessera_password_verifications_total {password_verifications}"
        );
        out
    }
}

fn labels(key: &SeriesKey) -> String {
    format!(
        "endpoint=\"{}\",grant=\"{}\",outcome=\"{}\"",
        key.endpoint, key.grant, key.outcome
    )
}

/// Records every request. The endpoint label is the route template without the
/// realm and the legacy `/auth` prefix, so label cardinality stays fixed.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = request.extensions().get::<MatchedPath>().map_or_else(
        || "unmatched".to_owned(),
        |path| endpoint_label(path.as_str()),
    );
    let started = Instant::now();
    let response = next.run(request).await;
    let outcome = response.extensions().get::<Outcome>().copied();
    let key = SeriesKey {
        endpoint,
        grant: outcome.map_or("", |o| o.grant),
        outcome: outcome.map_or_else(
            || response.status().as_u16().to_string(),
            |o| o.result.to_owned(),
        ),
    };
    state.metrics.record(key, started.elapsed());
    response
}

fn endpoint_label(route: &str) -> String {
    let route = route.strip_prefix("/auth").unwrap_or(route);
    let route = route.strip_prefix("/realms/{realm}").unwrap_or(route);
    if route.is_empty() {
        "/".to_owned()
    } else {
        route.to_owned()
    }
}
