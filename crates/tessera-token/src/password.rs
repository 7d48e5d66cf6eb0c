//! Password hashing with argon2id on a bounded blocking pool.
//!
//! Hashing is deliberately slow and memory-hard, so it must never run on the async
//! runtime (it would stall every other request on that worker) and must not run
//! unbounded either (each hash holds `m_cost` KiB). A semaphore caps concurrent
//! hashes at the number of cores; excess requests wait their turn.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use argon2::{
    password_hash::{
        rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString,
    },
    Algorithm, Argon2, Params, Version,
};
use tessera_proto::SecretString;
use tokio::sync::Semaphore;

use crate::TokenError;

/// OWASP's minimum recommendation for argon2id: 19 MiB, 2 iterations, 1 lane.
pub const DEFAULT_ARGON2_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of a random password with our parameters: verifying against it costs
    /// exactly what a real verification costs, so unknown users take as long as
    /// known ones.
    dummy_hash: Arc<str>,
    verifications: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, TokenError> {
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|_| TokenError::InvalidPasswordParameters)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let dummy_hash = hash_with(&argon2, "tessera-dummy-password-for-timing")?;
        Ok(Self {
            argon2,
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: dummy_hash.into(),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, TokenError> {
        let argon2 = self.argon2.clone();
        self.run_blocking(move || hash_with(&argon2, password.expose()))
            .await?
    }

    /// Verifies `password` against a PHC string. A malformed stored hash counts as a
    /// mismatch (and is logged), never as an error the caller could tell apart.
    pub async fn verify(&self, password: SecretString, phc: String) -> Result<bool, TokenError> {
        let argon2 = self.argon2.clone();
        self.verifications.fetch_add(1, Ordering::Relaxed);
        self.run_blocking(move || match PasswordHash::new(&phc) {
            Ok(parsed) => argon2
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok(),
            Err(_) => {
                tracing::warn!("stored password hash is not a valid PHC string");
                false
            }
        })
        .await
    }

    /// How many verifications (real and dummy) have run: exported as a metric.
    pub fn verification_count(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Spends the time of one verification and always fails.
    pub async fn verify_dummy(&self, password: SecretString) -> Result<bool, TokenError> {
        self.verify(password, self.dummy_hash.to_string()).await?;
        Ok(false)
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, TokenError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| TokenError::HashingUnavailable)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| TokenError::HashingUnavailable)
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String, TokenError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| TokenError::InvalidPasswordParameters)
}

/// Whether `text` is an argon2 PHC string we can verify (for imported hashes).
pub fn is_argon2_phc(text: &str) -> bool {
    PasswordHash::new(text).is_ok_and(|hash| hash.algorithm.as_str().starts_with("argon2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let hasher = PasswordHasher::new(1024, 1, 1).unwrap();
        let hash = hasher.hash(SecretString::new("correct")).await.unwrap();
        assert!(is_argon2_phc(&hash));
        assert!(hasher
            .verify(SecretString::new("correct"), hash.clone())
            .await
            .unwrap());
        assert!(!hasher
            .verify(SecretString::new("wrong"), hash)
            .await
            .unwrap());
        assert!(!hasher
            .verify(SecretString::new("x"), "garbage".into())
            .await
            .unwrap());
        assert!(!hasher.verify_dummy(SecretString::new("x")).await.unwrap());
    }
}
