//! [`Verifier`]: configuration, the verification paths, and the background tasks
//! that keep keys and revocations current.

use std::num::NonZeroUsize;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_jose::{KeySet, SigningAlgorithm};
use tessera_proto::{
    OpaqueTokenError, ParsedOpaqueToken, RevocationFeed, SecretString,
    MAX_INTROSPECTION_CACHE_SECONDS,
};

use crate::discovery::{discover, Endpoints};
use crate::endpoint_check::{EndpointCaller, EndpointCheckCache};
use crate::introspection::{form_encode, CacheCapacity, IntrospectionCache, Introspector};
use crate::jwks::KeyCache;
use crate::revocations::RevokedSet;
use crate::wire_claims::WireClaims;
use crate::{BuildError, VerifiedToken, VerifyError};

/// Revocation entries outlive their tokens by 60 s on the server; a larger
/// leeway would accept revoked tokens after their entry is gone.
const MAX_LEEWAY: Duration = Duration::from_secs(60);
/// Every call to the authorization server gives up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Every opaque token starts with this (the prefixed Tessera format).
const OPAQUE_PREFIX: &str = "tsr_";

/// Verifies Tessera access tokens for a resource server. Cheap to clone; every
/// clone shares the key cache, the revocation set and the introspection cache.
/// Background tasks stop when the last clone is dropped.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .finish_non_exhaustive()
    }
}

struct Inner {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<SigningAlgorithm>,
    leeway: i64,
    http: reqwest::Client,
    keys: KeyCache,
    revoked: RevokedSet,
    introspector: Option<Introspector>,
    introspection: IntrospectionCache,
    endpoint_check_url: String,
    endpoint_checks: EndpointCheckCache,
}

/// Builds a [`Verifier`]; start with [`Verifier::builder`].
#[derive(Debug, Clone)]
pub struct VerifierBuilder {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<SigningAlgorithm>,
    leeway: Duration,
    jwks_uri: Option<String>,
    fixed_keys: Option<KeySet>,
    client: Option<(String, SecretString)>,
    revocation_poll_interval: Duration,
    jwks_refetch_interval: Duration,
    introspection_ttl: (Duration, Duration),
    introspection_capacity: CacheCapacity,
    http: Option<reqwest::Client>,
}

impl Verifier {
    /// Starts a verifier for the realm whose issuer URL is `issuer`
    /// (`https://…/realms/{realm}`); its endpoints are found by OpenID discovery
    /// unless [`VerifierBuilder::jwks_uri`] is given.
    pub fn builder(issuer: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audiences: Vec::new(),
            algorithms: SigningAlgorithm::ALL.to_vec(),
            leeway: Duration::from_secs(30),
            jwks_uri: None,
            fixed_keys: None,
            client: None,
            revocation_poll_interval: Duration::from_secs(5),
            jwks_refetch_interval: Duration::from_secs(10),
            introspection_ttl: (Duration::from_secs(10), Duration::from_secs(5)),
            introspection_capacity: CacheCapacity::DEFAULT,
            http: None,
        }
    }
}

impl VerifierBuilder {
    /// An audience this resource server accepts (`aud` must contain one). Required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The accepted signing algorithms; default: all three Tessera signs with.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = SigningAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock leeway for `exp`, `nbf` and `iat`; default 30 s, at most 60 s.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Reads keys from this JWKS URL instead of the one discovery names; the
    /// introspection and revocation-feed endpoints are then Tessera's standard
    /// paths under the issuer.
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Verifies with exactly these keys and never fetches any (tests, benchmarks,
    /// air-gapped deployments).
    pub fn fixed_keys(mut self, keys: KeySet) -> Self {
        self.fixed_keys = Some(keys);
        self
    }

    /// The resource server's own confidential client. Needed for introspection of
    /// opaque tokens and for the revocation feed.
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        secret: impl Into<SecretString>,
    ) -> Self {
        self.client = Some((client_id.into(), secret.into()));
        self
    }

    /// How often the revocation feed is polled; default 5 s. Zero turns polling off.
    pub fn revocation_poll_interval(mut self, interval: Duration) -> Self {
        self.revocation_poll_interval = interval;
        self
    }

    /// A token naming an unknown key triggers at most one JWKS fetch per this
    /// interval; default 10 s.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_refetch_interval = interval;
        self
    }

    /// How long introspection answers are cached: active tokens, inactive ones.
    /// Defaults 10 s and 5 s. A revoked opaque token is refused at the latest
    /// `active` after its revocation.
    /// The active TTL is capped at the server's
    /// [`MAX_INTROSPECTION_CACHE_SECONDS`]: the revocation feed reports a
    /// deleted opaque token only that long.
    pub fn introspection_cache_ttl(mut self, active: Duration, inactive: Duration) -> Self {
        let longest = Duration::from_secs(MAX_INTROSPECTION_CACHE_SECONDS);
        self.introspection_ttl = (active.min(longest), inactive);
        self
    }

    /// How many introspection answers are kept, least recently used out first:
    /// active ones, inactive ones. Defaults 10,000 and 1,000. Inactive answers
    /// have their own list so that a flood of made-up tokens (anyone can
    /// compute a valid checksum) evicts only its own answers.
    pub fn introspection_cache_capacity(
        mut self,
        active: NonZeroUsize,
        inactive: NonZeroUsize,
    ) -> Self {
        self.introspection_capacity = CacheCapacity { active, inactive };
        self
    }

    /// The HTTP client for calls to the authorization server (for TLS settings,
    /// proxies). Default: a client with a 5 s timeout.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates the configuration, runs discovery when needed, loads the keys
    /// (a failure here is logged and retried: tokens are refused until keys
    /// arrive) and starts the background tasks. Must run inside a tokio runtime.
    pub async fn build(self) -> Result<Verifier, BuildError> {
        if self.audiences.is_empty() {
            return Err(BuildError::NoAudience);
        }
        if self.algorithms.is_empty() {
            return Err(BuildError::NoAlgorithm);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(BuildError::LeewayTooLarge(self.leeway));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(HTTP_TIMEOUT)
                .connect_timeout(Duration::from_secs(2))
                .build()
                .map_err(|error| BuildError::Http(error.to_string()))?,
        };
        let endpoints = match (&self.fixed_keys, &self.jwks_uri) {
            (None, None) => discover(&http, &self.issuer).await?,
            (_, jwks_uri) => Endpoints::standard(&self.issuer, jwks_uri.clone()),
        };
        let keys = match self.fixed_keys {
            Some(keys) => KeyCache::fixed(keys),
            None => KeyCache::fetched_from(endpoints.jwks_uri, self.jwks_refetch_interval),
        };
        let endpoint_check_url = format!("{}/endpoints/check", self.issuer);
        let introspector = self.client.map(|(client_id, client_secret)| Introspector {
            endpoint: endpoints.introspection_endpoint,
            client_id,
            client_secret,
            issuer: self.issuer.clone(),
            audiences: self.audiences.clone(),
        });
        let poll_feed = introspector.is_some() && !self.revocation_poll_interval.is_zero();
        if introspector.is_none() {
            tracing::warn!(
                issuer = %self.issuer,
                "no client credentials: revocations reach this verifier only when tokens expire"
            );
        }
        let inner = Arc::new(Inner {
            issuer: self.issuer,
            audiences: self.audiences,
            algorithms: self.algorithms,
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(0),
            http,
            keys,
            revoked: RevokedSet::default(),
            introspector,
            introspection: IntrospectionCache::new(
                self.introspection_ttl,
                self.introspection_capacity,
            ),
            endpoint_check_url,
            endpoint_checks: EndpointCheckCache::new(
                self.introspection_ttl.0,
                self.introspection_capacity.active,
            ),
        });
        if inner.keys.may_refetch() {
            let first_wait = inner.keys.refresh(&inner.http).await;
            spawn_key_refresher(Arc::downgrade(&inner), first_wait);
        }
        if poll_feed {
            if let Some(feed_endpoint) = endpoints.revocation_feed_endpoint {
                spawn_feed_poller(
                    Arc::downgrade(&inner),
                    feed_endpoint,
                    self.revocation_poll_interval,
                );
            }
        }
        Ok(Verifier { inner })
    }
}

impl Verifier {
    /// Verifies a bearer token: a JWT locally (refetching the JWKS once if it
    /// names an unknown key), an opaque Tessera token by introspection.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        if token.starts_with(OPAQUE_PREFIX) {
            return self.verify_opaque(token).await;
        }
        match self.verify_jwt_with_cached_keys(token) {
            Err(VerifyError::UnknownKey) if self.inner.keys.may_refetch() => {
                self.inner.keys.refetch(HTTP_TIMEOUT).await;
                self.verify_jwt_with_cached_keys(token)
            }
            outcome => outcome,
        }
    }

    /// Verifies a JWT access token with the keys already held, without any I/O:
    /// header and signature, `iss`, `aud`, `exp`, `nbf`, `iat` and the
    /// revocation feed.
    pub fn verify_jwt_with_cached_keys(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let inner = &*self.inner;
        inner
            .keys
            .snapshot()
            .verify_jws(token, "at+jwt", &inner.algorithms, |payload| {
                // One UTF-8 check of the whole payload is cheaper than serde_json's
                // check of every string in it.
                let payload =
                    std::str::from_utf8(payload).map_err(|_| VerifyError::InvalidClaims)?;
                let claims: WireClaims<'_> =
                    serde_json::from_str(payload).map_err(|_| VerifyError::InvalidClaims)?;
                self.check_claims(&claims)?;
                Ok(VerifiedToken::from_jwt(&claims))
            })?
    }

    /// `iss`, `aud`, `exp`, `nbf` (or `iat`) with leeway, and the revocation feed.
    fn check_claims(&self, claims: &WireClaims<'_>) -> Result<(), VerifyError> {
        let inner = &*self.inner;
        if claims.iss != inner.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        if !inner.audiences.iter().any(|aud| claims.aud.contains(aud)) {
            return Err(VerifyError::WrongAudience);
        }
        let now = now_secs();
        if now >= claims.exp.saturating_add(inner.leeway) {
            return Err(VerifyError::Expired);
        }
        let not_before = claims.nbf.unwrap_or(claims.iat);
        if not_before > now.saturating_add(inner.leeway) {
            return Err(VerifyError::NotYetValid);
        }
        if inner
            .revoked
            .is_revoked(claims.sid.as_deref(), Some(&claims.jti))
        {
            return Err(VerifyError::Revoked);
        }
        Ok(())
    }

    async fn verify_opaque(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let parsed = ParsedOpaqueToken::parse(token).map_err(|error| match error {
            OpaqueTokenError::Malformed => VerifyError::Malformed,
            OpaqueTokenError::BadChecksum => VerifyError::BadChecksum,
        })?;
        if !parsed.kind.is_bearer_credential() {
            return Err(VerifyError::NotAnAccessToken);
        }
        let inner = &*self.inner;
        let introspector = inner.introspector.as_ref().ok_or_else(|| {
            VerifyError::Unavailable("opaque tokens need client credentials".to_owned())
        })?;
        let verified = inner
            .introspection
            .verify(&inner.http, introspector, token)
            .await?;
        if verified
            .expires_at()
            .is_some_and(|exp| now_secs() >= exp.saturating_add(inner.leeway))
        {
            return Err(VerifyError::Expired);
        }
        if inner
            .revoked
            .is_revoked(verified.session_id(), verified.token_id())
        {
            return Err(VerifyError::Revoked);
        }
        Ok(verified)
    }

    /// May `token` call the endpoint `endpoint` (its id) with `method`?
    /// Allowed: the token that made the call, or `None` when the endpoint
    /// takes calls without a token. A token of neither endpoint shape is
    /// refused without a request; allowed answers are cached as long as
    /// active introspection answers, and the revocation feed evicts them when
    /// the token or the endpoint changes.
    pub async fn check_endpoint_call(
        &self,
        endpoint: &str,
        method: &str,
        token: &str,
    ) -> Result<Option<EndpointCaller>, VerifyError> {
        let inner = &*self.inner;
        let checker = inner.introspector.as_ref().ok_or_else(|| {
            VerifyError::Unavailable("endpoint checks need client credentials".to_owned())
        })?;
        inner
            .endpoint_checks
            .check(
                &inner.http,
                (checker, &inner.endpoint_check_url),
                (endpoint, method, token),
            )
            .await
    }

    /// The issuer URL this verifier accepts.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// How many revoked sessions and tokens the verifier currently refuses.
    pub fn revoked_count(&self) -> usize {
        self.inner.revoked.len()
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

fn spawn_key_refresher(verifier: Weak<Inner>, first_wait: Duration) {
    let Some(wake) = verifier.upgrade().map(|inner| inner.keys.wake_signal()) else {
        return;
    };
    tokio::spawn(async move {
        let mut next = tokio::time::Instant::now() + first_wait;
        loop {
            let requested = tokio::select! {
                () = tokio::time::sleep_until(next) => false,
                () = wake.notified() => true,
            };
            let Some(inner) = verifier.upgrade() else {
                return;
            };
            // Requests that arrived while the last fetch ran left a wake-up behind;
            // the rate limit, not the number of requests, decides.
            if requested && !inner.keys.may_refetch() {
                continue;
            }
            next = tokio::time::Instant::now() + inner.keys.refresh(&inner.http).await;
        }
    });
}

fn spawn_feed_poller(verifier: Weak<Inner>, endpoint: String, interval: Duration) {
    tokio::spawn(async move {
        let mut cursor: Option<String> = None;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(inner) = verifier.upgrade() else {
                return;
            };
            // A full page says more follow: read them at once, not a tick later.
            loop {
                match poll_feed(&inner, &endpoint, cursor.as_deref()).await {
                    Ok(feed) => {
                        inner.revoked.merge(&feed, now_secs());
                        let changed = || {
                            feed.revocations
                                .iter()
                                .filter_map(|entry| entry.changed.as_deref())
                        };
                        inner.introspection.forget_tokens(changed());
                        inner.endpoint_checks.forget_tokens(changed());
                        cursor = Some(feed.next_cursor);
                        if feed.has_more {
                            continue;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "polling the revocation feed failed; will retry");
                    }
                }
                break;
            }
        }
    });
}

async fn poll_feed(
    inner: &Inner,
    endpoint: &str,
    cursor: Option<&str>,
) -> Result<RevocationFeed, String> {
    let Some(client) = &inner.introspector else {
        return Err("no client credentials".to_owned());
    };
    let mut request = inner.http.get(endpoint).basic_auth(
        form_encode(&client.client_id),
        Some(form_encode(client.client_secret.expose())),
    );
    if let Some(cursor) = cursor {
        request = request.query(&[("since", cursor)]);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{endpoint} answered {}", response.status()));
    }
    response.json().await.map_err(|error| error.to_string())
}
