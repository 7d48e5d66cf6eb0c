//! Endpoint tokens: may this token call this endpoint with this method? A
//! token of neither endpoint shape is refused locally; the others are asked of
//! the issuer's endpoint check, and allowed answers are cached briefly. The
//! revocation feed's `changed` entries (a token disabled, deactivated,
//! unassigned, regenerated, an endpoint changed) evict them.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use ring::digest;
use tessera_proto::{
    EndpointCheckResponse, OpaqueTokenError, OpaqueTokenKind, ParsedOpaqueToken,
    SecondaryEndpointToken,
};

use crate::introspection::{form_encode, Introspector};
use crate::VerifyError;

/// Which of an endpoint's tokens made an allowed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointTokenKind {
    /// The endpoint's own token for one method (the platform's).
    Primary,
    /// A consuming application's token.
    Secondary,
}

/// The token an allowed call was made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointCaller {
    pub kind: EndpointTokenKind,
    pub token_id: String,
    /// The application's name (a secondary token's), or `GET primary`, ….
    pub name: String,
}

type Key = [u8; 32];

/// Allowed answers, least recently used out first.
pub(crate) struct EndpointCheckCache {
    answers: Mutex<LruCache<Key, (Instant, EndpointCaller)>>,
    ttl: Duration,
}

/// Refuses `token` unless it has the shape of an endpoint token: a
/// `tsr_ep_` primary token or 64 alphanumeric characters with a checksum.
pub(crate) fn check_shape(token: &str) -> Result<(), VerifyError> {
    let shape_error = |error| match error {
        OpaqueTokenError::Malformed => VerifyError::Malformed,
        OpaqueTokenError::BadChecksum => VerifyError::BadChecksum,
    };
    if token.starts_with(OpaqueTokenKind::EndpointPrimary.prefix()) {
        return ParsedOpaqueToken::parse(token)
            .map(|_| ())
            .map_err(shape_error);
    }
    SecondaryEndpointToken::check(token).map_err(shape_error)
}

impl EndpointCheckCache {
    pub(crate) fn new(ttl: Duration, capacity: NonZeroUsize) -> Self {
        Self {
            answers: Mutex::new(LruCache::new(capacity)),
            ttl,
        }
    }

    /// The cached allowed answer for the call, or the issuer's: the caller,
    /// or `None` when the endpoint takes calls without a token (never
    /// cached: turning token authentication on names no token on the feed).
    pub(crate) async fn check(
        &self,
        http: &reqwest::Client,
        (checker, url): (&Introspector, &str),
        (endpoint, method, token): (&str, &str, &str),
    ) -> Result<Option<EndpointCaller>, VerifyError> {
        check_shape(token)?;
        // Keyed by a digest of the whole call: the cache holds no token.
        let mut context = digest::Context::new(&digest::SHA256);
        for part in [endpoint, method, token] {
            context.update(part.as_bytes());
            context.update(&[0]);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(context.finish().as_ref());
        if let Some(caller) = self.with_answers(|answers| {
            answers
                .get(&key)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, caller)| caller.clone())
        }) {
            return Ok(Some(caller));
        }
        let caller = ask(http, (checker, url), (endpoint, method, token)).await?;
        if let Some(caller) = &caller {
            self.with_answers(|answers| answers.put(key, (Instant::now(), caller.clone())));
        }
        Ok(caller)
    }

    /// Forgets the answers for the tokens with these ids.
    pub(crate) fn forget_tokens<'a>(&self, token_ids: impl Iterator<Item = &'a str>) {
        let token_ids: HashSet<&str> = token_ids.collect();
        if token_ids.is_empty() {
            return;
        }
        self.with_answers(|answers| {
            let stale: Vec<Key> = answers
                .iter()
                .filter(|(_, (_, caller))| token_ids.contains(caller.token_id.as_str()))
                .map(|(key, _)| *key)
                .collect();
            for key in stale {
                answers.pop(&key);
            }
        });
    }

    fn with_answers<R>(
        &self,
        f: impl FnOnce(&mut LruCache<Key, (Instant, EndpointCaller)>) -> R,
    ) -> R {
        match self.answers.lock() {
            Ok(mut answers) => f(&mut answers),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

async fn ask(
    http: &reqwest::Client,
    (checker, url): (&Introspector, &str),
    (endpoint, method, token): (&str, &str, &str),
) -> Result<Option<EndpointCaller>, VerifyError> {
    let unavailable = |reason: String| VerifyError::Unavailable(reason);
    let send = || {
        http.post(url)
            .basic_auth(
                form_encode(&checker.client_id),
                Some(form_encode(checker.client_secret.expose())),
            )
            .form(&[("endpoint", endpoint), ("method", method), ("token", token)])
            .send()
    };
    // A pooled connection the issuer closed as idle can fail the request
    // before it was sent; the check changes nothing, so it is asked again once.
    let response = match send().await {
        Err(error) if error.is_request() || error.is_connect() => send().await,
        sent => sent,
    }
    .map_err(|error| unavailable(error.to_string()))?;
    if !response.status().is_success() {
        return Err(unavailable(format!(
            "the endpoint check answered {}",
            response.status()
        )));
    }
    let answer: EndpointCheckResponse = response
        .json()
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    if !answer.allowed {
        return Err(VerifyError::CallRefused(
            answer.reason.unwrap_or_else(|| "refused".to_owned()),
        ));
    }
    let kind = match answer.token_kind.as_deref() {
        Some("primary") => EndpointTokenKind::Primary,
        Some("secondary") => EndpointTokenKind::Secondary,
        // An endpoint without token authentication names no token.
        None => return Ok(None),
        Some(other) => {
            return Err(unavailable(format!(
                "the endpoint check named an unknown token kind {other:?}"
            )))
        }
    };
    match (answer.token_id, answer.name) {
        (Some(token_id), Some(name)) => Ok(Some(EndpointCaller {
            kind,
            token_id,
            name,
        })),
        _ => Err(unavailable("the endpoint check named no token".to_owned())),
    }
}
