//! Password hashing with argon2id on a small dedicated thread pool.
//!
//! Hashing is deliberately slow and memory-hard, so it must never run on the async
//! runtime (it would stall every other request on that worker) and must not run
//! unbounded either (each hash needs `m_cost` KiB). One thread per core does all
//! hashing; requests queue for them. Each thread keeps its argon2 working memory
//! between verifications, so a busy server does not churn 19 MiB allocations
//! (which glibc would otherwise keep in one arena per thread that ever hashed).
//!
//! The queue in front of the threads is bounded: a login takes a
//! [`HashingPermit`] before anything else and is refused at once when none is
//! left, so a flood of password guesses cannot stall every other login behind
//! it or grow memory without bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tessera_keys::PasswordPepper;
use tessera_proto::SecretString;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::TokenError;

/// OWASP's minimum recommendation for argon2id: 19 MiB, 2 iterations, 1 lane.
pub const DEFAULT_ARGON2_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

/// Longest password accepted, in bytes: a longer one is refused before hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The default bound of the hashing queue: a few verifications per hashing
/// thread, at least 16, so that an ordinary burst of logins is never refused.
pub fn default_hashing_queue() -> usize {
    (4 * hashing_threads()).max(16)
}

fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A place in the bounded hashing queue, held while a password is verified.
#[derive(Debug)]
pub struct HashingPermit {
    _held: OwnedSemaphorePermit,
}

type Work = Box<dyn FnOnce(&mut Worker) + Send>;

/// State owned by one hashing thread.
struct Worker {
    argon2: Argon2<'static>,
    memory: Vec<Block>,
}

#[derive(Clone)]
pub struct PasswordHasher {
    queue: mpsc::Sender<Work>,
    /// A hash of a random password with our parameters: verifying against it costs
    /// exactly what a real verification costs, so unknown users take as long as
    /// known ones.
    dummy_hash: Arc<str>,
    verifications: Arc<AtomicU64>,
    permits: Arc<Semaphore>,
    pepper: PasswordPepper,
    params: Params,
}

/// A stored password hash and whether its input was peppered (hashes made
/// before peppering, or imported, were not).
#[derive(Debug, Clone, Copy)]
pub struct StoredPassword<'a> {
    pub phc: &'a str,
    pub peppered: bool,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Starts one hashing thread per core; at most `queue` verifications wait
    /// for them or run at once (`queue_bound`).
    pub fn new(
        (memory_kib, iterations, parallelism): (u32, u32, u32),
        queue_bound: usize,
        pepper: PasswordPepper,
    ) -> Result<Self, TokenError> {
        if queue_bound == 0 {
            return Err(TokenError::InvalidPasswordParameters);
        }
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|_| TokenError::InvalidPasswordParameters)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy_hash = hash_with(&argon2, &pepper.pepper("tessera-dummy-password-for-timing"))?;
        let (queue, jobs) = mpsc::channel::<Work>();
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..hashing_threads() {
            let jobs = Arc::clone(&jobs);
            let mut worker = Worker {
                argon2: argon2.clone(),
                memory: Vec::new(),
            };
            std::thread::Builder::new()
                .name(format!("tessera-hash-{index}"))
                .spawn(move || {
                    lower_thread_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match jobs.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut worker),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|_| TokenError::HashingUnavailable)?;
        }
        Ok(Self {
            queue,
            dummy_hash: dummy_hash.into(),
            verifications: Arc::new(AtomicU64::new(0)),
            permits: Arc::new(Semaphore::new(queue_bound)),
            pepper,
            params,
        })
    }

    /// What argon2id sees of `password` for a hash of this kind.
    fn input(&self, password: &SecretString, peppered: bool) -> Vec<u8> {
        if peppered {
            self.pepper.pepper(password.expose()).to_vec()
        } else {
            password.expose().as_bytes().to_vec()
        }
    }

    /// Whether a hash that just verified should be replaced by one made now:
    /// not peppered, or made with other parameters (an imported or older hash).
    pub fn needs_upgrade(&self, stored: StoredPassword<'_>) -> bool {
        let current = PasswordHash::new(stored.phc).ok().and_then(|hash| {
            let params = Params::try_from(&hash).ok()?;
            Some(
                hash.algorithm == argon2::ARGON2ID_IDENT
                    && (params.m_cost(), params.t_cost(), params.p_cost())
                        == (
                            self.params.m_cost(),
                            self.params.t_cost(),
                            self.params.p_cost(),
                        ),
            )
        });
        !stored.peppered || current != Some(true)
    }

    /// A place in the hashing queue, or [`TokenError::TemporarilyUnavailable`]
    /// at once when it is full.
    pub fn try_reserve(&self) -> Result<HashingPermit, TokenError> {
        Arc::clone(&self.permits)
            .try_acquire_owned()
            .map(|held| HashingPermit { _held: held })
            .map_err(|_| TokenError::TemporarilyUnavailable)
    }

    /// A peppered argon2id hash of `password`.
    pub async fn hash(&self, password: SecretString) -> Result<String, TokenError> {
        let input = self.input(&password, true);
        self.run(move |worker| hash_with(&worker.argon2, &input))
            .await?
    }

    /// Verifies `password` against a PHC string, holding `permit` until done. A
    /// malformed stored hash counts as a mismatch (and is logged), never as an
    /// error the caller could tell apart.
    pub async fn verify(
        &self,
        permit: HashingPermit,
        password: &SecretString,
        stored: StoredPassword<'_>,
    ) -> Result<bool, TokenError> {
        let _permit = permit;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let input = self.input(password, stored.peppered);
        let phc = stored.phc.to_owned();
        self.run(move |worker| worker.verify(&input, &phc)).await
    }

    /// How many verifications (real and dummy) have run: exported as a metric.
    pub fn verification_count(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Spends the time of one verification and always fails.
    pub async fn verify_dummy(
        &self,
        permit: HashingPermit,
        password: &SecretString,
    ) -> Result<bool, TokenError> {
        let dummy = StoredPassword {
            phc: &self.dummy_hash,
            peppered: true,
        };
        self.verify(permit, password, dummy).await?;
        Ok(false)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Worker) -> T + Send + 'static,
    ) -> Result<T, TokenError> {
        let (done, result) = oneshot::channel();
        self.queue
            .send(Box::new(move |worker| {
                // The request was dropped (client gone) while queued: skip the work.
                if !done.is_closed() {
                    let _ = done.send(work(worker));
                }
            }))
            .map_err(|_| TokenError::HashingUnavailable)?;
        result.await.map_err(|_| TokenError::HashingUnavailable)
    }
}

impl Worker {
    fn verify(&mut self, password: &[u8], phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::warn!("stored password hash is not a valid PHC string");
            return false;
        };
        match self.verify_with_own_memory(password, &parsed) {
            Some(matches) => matches,
            // Other parameters (an imported hash): the general path, which allocates.
            None => self.argon2.verify_password(password, &parsed).is_ok(),
        }
    }

    /// Verifies a hash made with this worker's own parameters in its reusable
    /// memory; `None` when the hash uses other parameters.
    fn verify_with_own_memory(
        &mut self,
        password: &[u8],
        parsed: &PasswordHash<'_>,
    ) -> Option<bool> {
        let ours = self.argon2.params();
        let theirs = Params::try_from(parsed).ok()?;
        let expected = parsed.hash?;
        let same = parsed.algorithm == argon2::ARGON2ID_IDENT
            && Version::try_from(parsed.version.unwrap_or(0x13)).ok()? == Version::V0x13
            && (theirs.m_cost(), theirs.t_cost(), theirs.p_cost())
                == (ours.m_cost(), ours.t_cost(), ours.p_cost());
        if !same {
            return None;
        }
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let blocks = ours.block_count();
        if self.memory.len() != blocks {
            self.memory = vec![Block::default(); blocks];
        }
        let mut output = vec![0u8; expected.len()];
        self.argon2
            .hash_password_into_with_memory(password, salt, &mut output, &mut self.memory)
            .ok()?;
        // `Output` compares in constant time.
        Some(argon2::password_hash::Output::new(&output).ok()? == expected)
    }
}

/// Nice value of the hashing threads.
#[cfg(target_os = "linux")]
const HASHING_NICE: libc::c_int = 10;

/// Hashing is bulk work: request handling (and a database on the same machine)
/// should preempt it, so that a flood of logins cannot push refresh latency up.
/// Hashes still get every cycle nobody else wants.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_thread_priority() {
    // SAFETY: setpriority(2) takes plain integers and touches no memory of ours;
    // on Linux, PRIO_PROCESS with id 0 addresses the calling thread only.
    let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHING_NICE) } != 0;
    if failed {
        tracing::debug!("could not lower the priority of a hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_thread_priority() {}

fn hash_with(argon2: &Argon2<'_>, input: &[u8]) -> Result<String, TokenError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(input, &salt)
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

    fn new_hasher(queue: usize) -> PasswordHasher {
        let pepper = tessera_keys::MasterKey::generate()
            .unwrap()
            .password_pepper();
        PasswordHasher::new((1024, 1, 1), queue, pepper).unwrap()
    }

    fn peppered(phc: &str) -> StoredPassword<'_> {
        StoredPassword {
            phc,
            peppered: true,
        }
    }

    fn plain(phc: &str) -> StoredPassword<'_> {
        StoredPassword {
            phc,
            peppered: false,
        }
    }

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let hasher = new_hasher(4);
        let permit = || hasher.try_reserve().unwrap();
        let hash = hasher.hash(SecretString::new("correct")).await.unwrap();
        assert!(is_argon2_phc(&hash));
        for _ in 0..3 {
            // Repeated runs reuse each worker's memory.
            assert!(hasher
                .verify(permit(), &SecretString::new("correct"), peppered(&hash))
                .await
                .unwrap());
            assert!(!hasher
                .verify(permit(), &SecretString::new("wrong"), peppered(&hash))
                .await
                .unwrap());
        }
        assert!(!hasher
            .verify(permit(), &SecretString::new("x"), peppered("garbage"))
            .await
            .unwrap());
        assert!(!hasher
            .verify_dummy(permit(), &SecretString::new("x"))
            .await
            .unwrap());
        assert_eq!(hasher.verification_count(), 8);
        assert!(!hasher.needs_upgrade(peppered(&hash)));
    }

    /// A database dump alone allows no offline guessing: the stored hash is
    /// of the peppered password, which plain argon2id cannot reproduce.
    #[tokio::test]
    async fn a_stored_hash_does_not_verify_the_password_without_the_pepper() {
        let hasher = new_hasher(4);
        let hash = hasher.hash(SecretString::new("correct")).await.unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        let plain_argon2 = Argon2::default();
        assert!(plain_argon2.verify_password(b"correct", &parsed).is_err());
        // Nor with another installation's pepper.
        let other = new_hasher(4);
        let permit = other.try_reserve().unwrap();
        assert!(!other
            .verify(permit, &SecretString::new("correct"), peppered(&hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn hashes_with_other_parameters_or_no_pepper_still_verify_and_ask_for_an_upgrade() {
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 1, 1, None).unwrap(),
        );
        let imported = hash_with(&other, b"imported").unwrap();
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let legacy = hash_with(&argon2i, b"legacy").unwrap();
        let ours_unpeppered = hash_with(
            &Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(1024, 1, 1, None).unwrap(),
            ),
            b"before pepper",
        )
        .unwrap();
        let hasher = new_hasher(4);
        let permit = || hasher.try_reserve().unwrap();
        for (password, stored) in [
            ("imported", plain(&imported)),
            ("legacy", plain(&legacy)),
            ("before pepper", plain(&ours_unpeppered)),
        ] {
            assert!(hasher
                .verify(permit(), &SecretString::new(password), stored)
                .await
                .unwrap());
            assert!(!hasher
                .verify(permit(), &SecretString::new("other"), stored)
                .await
                .unwrap());
            assert!(hasher.needs_upgrade(stored), "{password}");
        }
        assert!(
            hasher.needs_upgrade(peppered(&imported)),
            "other parameters"
        );
    }

    #[test]
    fn the_queue_refuses_beyond_its_bound_and_frees_places_when_done() {
        let hasher = new_hasher(2);
        let first = hasher.try_reserve().unwrap();
        let _second = hasher.try_reserve().unwrap();
        assert!(matches!(
            hasher.try_reserve(),
            Err(TokenError::TemporarilyUnavailable)
        ));
        drop(first);
        assert!(hasher.try_reserve().is_ok());
    }
}
