//! Per-realm signing keys: loaded from the store, generated when absent, rotated
//! on schedule or on demand. Every node reads the same rows, so every node signs
//! with the same key and publishes the same JWKS.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tessera_keys::{KeyError, KeyRing, Sealer, SigningAlgorithm, SigningKey};
use tessera_store::{Store, StoredSigningKey, Timestamp};

use crate::{Realm, TokenError};

/// A retired key stays published this long beyond the longest token lifetime, to
/// absorb clock skew between nodes and resource servers.
const PUBLISH_MARGIN: Duration = Duration::from_secs(60);

/// The keys a realm signs and verifies with right now.
#[derive(Debug)]
pub struct CurrentKeys {
    pub ring: KeyRing,
    pub active_created_at: Timestamp,
    pub active_generation: i64,
}

/// A realm's current keys, swapped atomically on reload.
#[derive(Debug)]
pub struct RealmKeys(RwLock<Arc<CurrentKeys>>);

impl RealmKeys {
    pub fn current(&self) -> Arc<CurrentKeys> {
        match self.0.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, loaded: CurrentKeys) {
        match self.0.write() {
            Ok(mut current) => *current = Arc::new(loaded),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(loaded),
        }
    }
}

/// Loads keys from the store, creating the realm's first key when there is none.
pub async fn load_realm_keys(
    store: &Store,
    sealer: &Sealer,
    realm: &Realm,
    now: Timestamp,
) -> Result<RealmKeys, TokenError> {
    let loaded = match load(store, sealer, realm, now).await? {
        Some(loaded) => loaded,
        None => {
            add_key(store, sealer, &realm.name, realm.algorithm, 1, now).await?;
            load(store, sealer, realm, now)
                .await?
                .ok_or(TokenError::Keys(KeyError::Generation))?
        }
    };
    Ok(RealmKeys(RwLock::new(Arc::new(loaded))))
}

/// Re-reads the realm's keys (another node or the CLI may have rotated them) and
/// rotates when the active key is older than the realm's rotation period.
pub async fn refresh_realm_keys(
    store: &Store,
    sealer: &Sealer,
    realm: &Realm,
    keys: &RealmKeys,
    now: Timestamp,
) -> Result<(), TokenError> {
    if let Some(loaded) = load(store, sealer, realm, now).await? {
        keys.replace(loaded);
    }
    let age = now.saturating_duration_since(keys.current().active_created_at);
    if !realm.key_rotation_period.is_zero() && age >= realm.key_rotation_period {
        rotate_realm_keys(store, sealer, realm, keys, now).await?;
    }
    Ok(())
}

/// Makes a new key active now; the previous one stays published. Returns the new kid.
pub async fn rotate_realm_keys(
    store: &Store,
    sealer: &Sealer,
    realm: &Realm,
    keys: &RealmKeys,
    now: Timestamp,
) -> Result<String, TokenError> {
    let generation = keys.current().active_generation + 1;
    let kid = add_key(store, sealer, &realm.name, realm.algorithm, generation, now).await?;
    if let Some(loaded) = load(store, sealer, realm, now).await? {
        keys.replace(loaded);
    }
    Ok(kid)
}

async fn add_key(
    store: &Store,
    sealer: &Sealer,
    realm: &str,
    algorithm: SigningAlgorithm,
    generation: i64,
    now: Timestamp,
) -> Result<String, TokenError> {
    let (key, pkcs8) = SigningKey::generate(algorithm)?;
    let kid = key.kid().to_owned();
    let stored = StoredSigningKey {
        kid: kid.clone(),
        realm: realm.to_owned(),
        generation,
        algorithm: algorithm.as_str().to_owned(),
        public_key: key.spki_der().to_vec(),
        sealed_private_key: sealer.seal(&pkcs8, &kid)?,
        created_at: now,
        retired_at: None,
    };
    // When another node won the race for this generation, its key is just as good.
    store.add_signing_key(&stored).await?;
    Ok(kid)
}

/// Opens a stored key and checks that it is the key its row names.
fn open_key(sealer: &Sealer, row: &StoredSigningKey) -> Result<SigningKey, TokenError> {
    let algorithm: SigningAlgorithm = row.algorithm.parse().map_err(KeyError::from)?;
    let pkcs8 = sealer.open(&row.sealed_private_key, &row.kid)?;
    let key = SigningKey::from_pkcs8(algorithm, &pkcs8)?;
    if key.kid() != row.kid {
        return Err(
            tessera_store::StoreError::Corrupt("signing key does not match its kid").into(),
        );
    }
    Ok(key)
}

async fn load(
    store: &Store,
    sealer: &Sealer,
    realm: &Realm,
    now: Timestamp,
) -> Result<Option<CurrentKeys>, TokenError> {
    let retired_since = now
        .saturating_sub(realm.max_jwt_lifetime())
        .saturating_sub(PUBLISH_MARGIN);
    let rows = store.signing_keys(&realm.name, retired_since).await?;
    let Some(active_row) = rows.iter().find(|row| row.retired_at.is_none()) else {
        return Ok(None);
    };
    let active = open_key(sealer, active_row)?;
    // A retired key is published (and trusted) only if its sealed private key opens
    // under our master key and matches: a row planted by someone who can write to
    // the database but lacks the master key is ignored.
    let previous = rows
        .iter()
        .filter(|row| row.kid != active_row.kid)
        .filter_map(|row| match open_key(sealer, row) {
            Ok(key) => Some(key.verifying_key().clone()),
            Err(error) => {
                tracing::error!(kid = %row.kid, %error, "ignoring a signing key that does not open");
                None
            }
        })
        .collect();
    Ok(Some(CurrentKeys {
        ring: KeyRing::new(active, previous),
        active_created_at: active_row.created_at,
        active_generation: active_row.generation,
    }))
}
