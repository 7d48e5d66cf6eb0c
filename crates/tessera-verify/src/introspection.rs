//! Opaque Tessera tokens: checked locally for shape and checksum, then by RFC 7662
//! introspection, with a short cache of answers and one request per token in
//! flight however many requests carry it (single-flight).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ring::digest;
use tessera_proto::{IntrospectionResponse, SecretString};
use tokio::sync::OnceCell;

use crate::{VerifiedToken, VerifyError};

/// Beyond this many cached answers, expired ones are dropped, then all of them.
const MAX_CACHED: usize = 10_000;

type Outcome = Result<VerifiedToken, VerifyError>;

struct Entry {
    outcome: OnceCell<Outcome>,
    created: Instant,
}

/// Where and as whom to introspect.
pub(crate) struct Introspector {
    pub endpoint: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub issuer: String,
    /// `aud` of an active answer must contain one of these, as a JWT's must.
    pub audiences: Vec<String>,
}

pub(crate) struct IntrospectionCache {
    entries: Mutex<HashMap<[u8; 32], Arc<Entry>>>,
    active_ttl: Duration,
    inactive_ttl: Duration,
}

impl IntrospectionCache {
    pub(crate) fn new(active_ttl: Duration, inactive_ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            active_ttl,
            inactive_ttl,
        }
    }

    fn ttl(&self, outcome: &Outcome) -> Duration {
        match outcome {
            Ok(_) => self.active_ttl,
            Err(_) => self.inactive_ttl,
        }
    }

    /// The cached answer for `token`, or the answer of one introspection shared
    /// by every concurrent caller. Failures to reach the issuer are not cached.
    pub(crate) async fn verify(
        &self,
        http: &reqwest::Client,
        introspector: &Introspector,
        token: &str,
    ) -> Outcome {
        // Keyed by a digest: the cache never holds the tokens themselves.
        let mut key = [0u8; 32];
        key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        let entry = self.entry(key);
        let outcome = entry
            .outcome
            .get_or_init(|| introspect(http, introspector, token))
            .await
            .clone();
        if matches!(outcome, Err(VerifyError::Unavailable(_))) {
            self.with_entries(|entries| {
                if entries
                    .get(&key)
                    .is_some_and(|cached| Arc::ptr_eq(cached, &entry))
                {
                    entries.remove(&key);
                }
            });
        }
        outcome
    }

    fn entry(&self, key: [u8; 32]) -> Arc<Entry> {
        self.with_entries(|entries| {
            let fresh = |entry: &Entry| match entry.outcome.get() {
                Some(outcome) => entry.created.elapsed() < self.ttl(outcome),
                None => true,
            };
            if let Some(entry) = entries.get(&key).filter(|entry| fresh(entry)) {
                return Arc::clone(entry);
            }
            if entries.len() >= MAX_CACHED {
                entries.retain(|_, entry| fresh(entry));
                if entries.len() >= MAX_CACHED {
                    entries.clear();
                }
            }
            let entry = Arc::new(Entry {
                outcome: OnceCell::new(),
                created: Instant::now(),
            });
            entries.insert(key, Arc::clone(&entry));
            entry
        })
    }

    fn with_entries<R>(&self, f: impl FnOnce(&mut HashMap<[u8; 32], Arc<Entry>>) -> R) -> R {
        match self.entries.lock() {
            Ok(mut entries) => f(&mut entries),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

async fn introspect(http: &reqwest::Client, introspector: &Introspector, token: &str) -> Outcome {
    let unavailable = |reason: String| VerifyError::Unavailable(reason);
    let response = http
        .post(&introspector.endpoint)
        .basic_auth(
            form_encode(&introspector.client_id),
            Some(form_encode(introspector.client_secret.expose())),
        )
        .form(&[("token", token)])
        .send()
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    if !response.status().is_success() {
        return Err(unavailable(format!(
            "introspection answered {}",
            response.status()
        )));
    }
    let answer: IntrospectionResponse = response
        .json()
        .await
        .map_err(|error| unavailable(error.to_string()))?;
    if answer
        .iss
        .as_deref()
        .is_some_and(|iss| iss != introspector.issuer)
    {
        return Err(VerifyError::WrongIssuer);
    }
    let meant_for_us = answer.aud.as_ref().is_some_and(|aud| {
        introspector
            .audiences
            .iter()
            .any(|audience| aud.contains(audience))
    });
    if answer.active && !meant_for_us {
        return Err(VerifyError::WrongAudience);
    }
    VerifiedToken::from_introspection(&answer).ok_or(VerifyError::Inactive)
}

/// RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
pub(crate) fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
