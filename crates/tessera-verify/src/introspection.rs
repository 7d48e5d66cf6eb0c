//! Opaque Tessera tokens: checked locally for shape and checksum, then by RFC 7662
//! introspection, with a short cache of answers and one request per token in
//! flight however many requests carry it (single-flight).

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use ring::digest;
use tessera_proto::{IntrospectionResponse, SecretString};
use tokio::sync::OnceCell;

use crate::{VerifiedToken, VerifyError};

type Outcome = Result<VerifiedToken, VerifyError>;

type Key = [u8; 32];

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

/// How many answers the cache keeps, each list least recently used first out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheCapacity {
    pub active: NonZeroUsize,
    pub inactive: NonZeroUsize,
}

impl CacheCapacity {
    pub(crate) const DEFAULT: Self = Self {
        active: at_least_one(10_000),
        inactive: at_least_one(1_000),
    };
}

const fn at_least_one(count: usize) -> NonZeroUsize {
    match NonZeroUsize::new(count) {
        Some(count) => count,
        None => NonZeroUsize::MIN,
    }
}

/// Answers in two least-recently-used lists. Negative answers (and
/// introspections in flight) have a list of their own: anyone can mint
/// well-formed tokens with valid checksums, and a flood of them must evict only
/// each other, never the answers for real tokens.
pub(crate) struct IntrospectionCache {
    lists: Mutex<Lists>,
    active_ttl: Duration,
    inactive_ttl: Duration,
}

struct Lists {
    active: LruCache<Key, Arc<Entry>>,
    /// Inactive answers, and entries whose introspection is still under way.
    inactive: LruCache<Key, Arc<Entry>>,
    /// Token id → the keys its answers were cached under, for tokens the feed
    /// said changed: a disabled profile's next answer is negative and names no
    /// token, and must still be forgotten when the profile is enabled again.
    changed: LruCache<String, Vec<Key>>,
}

/// Tokens whose keys are remembered after a change notice.
const CHANGED_TOKENS: NonZeroUsize = at_least_one(1_024);

impl IntrospectionCache {
    pub(crate) fn new(ttl: (Duration, Duration), capacity: CacheCapacity) -> Self {
        Self {
            lists: Mutex::new(Lists {
                active: LruCache::new(capacity.active),
                inactive: LruCache::new(capacity.inactive),
                changed: LruCache::new(CHANGED_TOKENS),
            }),
            active_ttl: ttl.0,
            inactive_ttl: ttl.1,
        }
    }

    fn is_fresh(&self, entry: &Entry) -> bool {
        let ttl = match entry.outcome.get() {
            Some(Ok(_)) => self.active_ttl,
            Some(Err(_)) => self.inactive_ttl,
            None => return true,
        };
        entry.created.elapsed() < ttl
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
        self.file(key, &entry, &outcome);
        outcome
    }

    /// The fresh entry for `key`, or a new pending one in the inactive list.
    fn entry(&self, key: Key) -> Arc<Entry> {
        self.with_lists(|lists| {
            let cached = match lists.active.get(&key) {
                Some(entry) => Some(entry),
                None => lists.inactive.get(&key),
            };
            if let Some(entry) = cached.filter(|entry| self.is_fresh(entry)) {
                return Arc::clone(entry);
            }
            lists.active.pop(&key);
            let entry = Arc::new(Entry {
                outcome: OnceCell::new(),
                created: Instant::now(),
            });
            lists.inactive.put(key, Arc::clone(&entry));
            entry
        })
    }

    /// Moves a settled entry to the list its answer belongs in (even if a flood
    /// pushed it out while pending); an entry whose introspection could not
    /// reach the issuer is dropped so the next caller tries again.
    fn file(&self, key: Key, entry: &Arc<Entry>, outcome: &Outcome) {
        let listed_in = |list: &LruCache<Key, Arc<Entry>>| {
            list.peek(&key)
                .is_some_and(|listed| Arc::ptr_eq(listed, entry))
        };
        self.with_lists(|lists| match outcome {
            Ok(_) => {
                if listed_in(&lists.inactive) {
                    lists.inactive.pop(&key);
                }
                if !listed_in(&lists.active) {
                    lists.active.put(key, Arc::clone(entry));
                }
            }
            Err(VerifyError::Unavailable(_)) => {
                if listed_in(&lists.inactive) {
                    lists.inactive.pop(&key);
                }
            }
            Err(_) => {}
        });
    }

    /// Forgets the answers for the tokens with these ids (`jti`), so that the
    /// next use asks the issuer again: what it says of them has changed.
    pub(crate) fn forget_tokens<'a>(&self, token_ids: impl Iterator<Item = &'a str>) {
        let token_ids: HashSet<&str> = token_ids.collect();
        if token_ids.is_empty() {
            return;
        }
        self.with_lists(|lists| {
            let active: Vec<(Key, String)> = lists
                .active
                .iter()
                .filter_map(|(key, entry)| match entry.outcome.get() {
                    Some(Ok(token)) => token
                        .token_id()
                        .filter(|id| token_ids.contains(id))
                        .map(|id| (*key, id.to_owned())),
                    _ => None,
                })
                .collect();
            for (key, token_id) in active {
                let keys = lists.changed.get_or_insert_mut(token_id, Vec::new);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            for token_id in &token_ids {
                let Some(keys) = lists.changed.get(*token_id) else {
                    continue;
                };
                for key in keys.clone() {
                    lists.active.pop(&key);
                    lists.inactive.pop(&key);
                }
            }
        });
    }

    fn with_lists<R>(&self, f: impl FnOnce(&mut Lists) -> R) -> R {
        match self.lists.lock() {
            Ok(mut lists) => f(&mut lists),
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
