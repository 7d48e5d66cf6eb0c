//! The JWKS cache: the issuer's keys, refreshed on the schedule its
//! `Cache-Control` allows and refetched when a token names an unknown key.
//!
//! One background task does every fetch, so concurrent requests for a refetch
//! share a single one (single-flight), and a refetch is requested at most once
//! per `refetch_interval` (a flood of made-up `kid`s costs one fetch per
//! interval). A failed fetch keeps the keys already held: tokens signed by them
//! keep verifying while the authorization server is down.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tessera_jose::{Jwks, KeySet, VerifyingKey};
use tokio::sync::{watch, Notify};

/// Without a `Cache-Control: max-age`, keys are re-read this often.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Whatever `max-age` says, keys are re-read at least this often.
const LONGEST_MAX_AGE: Duration = Duration::from_secs(3600);

pub(crate) struct KeyCache {
    current: RwLock<Arc<KeySet>>,
    /// Bumped after every fetch attempt, successful or not, to wake waiters.
    attempts: watch::Sender<u64>,
    last_attempt: Mutex<Option<Instant>>,
    wake: Arc<Notify>,
    refetch_interval: Duration,
    /// `None` for a fixed key set that is never fetched.
    jwks_uri: Option<String>,
}

impl KeyCache {
    pub(crate) fn fixed(keys: KeySet) -> Self {
        Self::new(keys, None, Duration::MAX)
    }

    pub(crate) fn fetched_from(jwks_uri: String, refetch_interval: Duration) -> Self {
        Self::new(KeySet::default(), Some(jwks_uri), refetch_interval)
    }

    fn new(keys: KeySet, jwks_uri: Option<String>, refetch_interval: Duration) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys)),
            attempts: watch::Sender::new(0),
            last_attempt: Mutex::new(None),
            wake: Arc::new(Notify::new()),
            refetch_interval,
            jwks_uri,
        }
    }

    pub(crate) fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(keys) => Arc::clone(&keys),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn last_attempt(&self) -> Option<Instant> {
        match self.last_attempt.lock() {
            Ok(last) => *last,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// A refetch for an unknown `kid` is allowed once per `refetch_interval`.
    pub(crate) fn may_refetch(&self) -> bool {
        self.jwks_uri.is_some()
            && self
                .last_attempt()
                .is_none_or(|at| at.elapsed() >= self.refetch_interval)
    }

    /// Asks the background task for a fetch and waits until it has tried.
    pub(crate) async fn refetch(&self, wait_at_most: Duration) {
        let mut attempts = self.attempts.subscribe();
        self.wake.notify_one();
        let _ = tokio::time::timeout(wait_at_most, attempts.changed()).await;
    }

    /// Fetches the JWKS once; returns how long the answer may be cached.
    pub(crate) async fn fetch(&self, http: &reqwest::Client) -> Result<Duration, String> {
        let Some(uri) = &self.jwks_uri else {
            return Ok(LONGEST_MAX_AGE);
        };
        match self.last_attempt.lock() {
            Ok(mut last) => *last = Some(Instant::now()),
            Err(poisoned) => *poisoned.into_inner() = Some(Instant::now()),
        }
        let outcome = fetch_jwks(http, uri).await;
        if let Ok((keys, _)) = &outcome {
            let keys = Arc::new(keys.clone());
            match self.current.write() {
                Ok(mut current) => *current = keys,
                Err(poisoned) => *poisoned.into_inner() = keys,
            }
        }
        self.attempts.send_modify(|count| *count += 1);
        outcome.map(|(_, max_age)| max_age)
    }

    /// Fetches once and says when to fetch next: when the answer's cache lifetime
    /// ends, but never sooner than `refetch_interval` (nor sooner after a failure).
    pub(crate) async fn refresh(&self, http: &reqwest::Client) -> Duration {
        match self.fetch(http).await {
            Ok(max_age) => max_age.max(self.refetch_interval),
            Err(error) => {
                tracing::warn!(%error, "JWKS refresh failed; keeping the cached keys");
                self.refetch_interval
            }
        }
    }

    /// Notified when a request wants a refetch.
    pub(crate) fn wake_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }
}

async fn fetch_jwks(http: &reqwest::Client, uri: &str) -> Result<(KeySet, Duration), String> {
    let response = http.get(uri).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{uri} answered {}", response.status()));
    }
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .and_then(cache_lifetime)
        .unwrap_or(DEFAULT_MAX_AGE)
        .min(LONGEST_MAX_AGE);
    let jwks: Jwks = response.json().await.map_err(|e| e.to_string())?;
    let keys = jwks.keys.iter().filter_map(|jwk| {
        VerifyingKey::from_jwk(jwk)
            .inspect_err(|error| tracing::debug!(%error, "skipping JWKS entry"))
            .ok()
    });
    Ok((KeySet::new(keys), max_age))
}

/// The lifetime a `Cache-Control` value allows (RFC 9111 §5.2.2): `max-age`, or
/// zero for `no-store` and `no-cache`.
fn cache_lifetime(value: &str) -> Option<Duration> {
    let mut lifetime = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            lifetime = seconds
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    lifetime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_is_read_as_rfc_9111_says() {
        assert_eq!(
            cache_lifetime("public, max-age=60"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            cache_lifetime("Max-Age=\"5\""),
            Some(Duration::from_secs(5))
        );
        assert_eq!(cache_lifetime("no-store"), Some(Duration::ZERO));
        assert_eq!(cache_lifetime("public"), None);
        assert_eq!(cache_lifetime("max-age=soon"), None);
    }
}
