//! Raw argon2id verification rate with the server's default parameters, on every
//! core: the ceiling for password grants. Used by `bench/run.sh`.

use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tessera_token::DEFAULT_ARGON2_PARAMS;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (memory, iterations, parallelism) = DEFAULT_ARGON2_PARAMS;
    let params = Params::new(memory, iterations, parallelism, None).map_err(|e| e.to_string())?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let hash = argon2
        .hash_password(b"bench-password", &SaltString::generate(&mut OsRng))
        .map_err(|e| e.to_string())?
        .to_string();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let seconds = std::env::var("ARGON2_RATE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let started = Instant::now();
    let verified: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| {
                    let mut count = 0usize;
                    while started.elapsed() < duration {
                        if let Ok(parsed) = PasswordHash::new(&hash) {
                            if argon2.verify_password(b"bench-password", &parsed).is_ok() {
                                count += 1;
                            }
                        }
                    }
                    count
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let rate = verified as f64 / started.elapsed().as_secs_f64();
    println!(
        "raw argon2id (m={memory} KiB, t={iterations}, p={parallelism}) verifications/s on {cores} cores: {rate:.1}"
    );
    Ok(())
}
