//! What verification costs on top of the signature check.
//!
//! For each algorithm Tessera signs with, `verify/<alg>` runs the whole cached-key
//! path of [`Verifier::verify_jwt_with_cached_keys`] (split, base64, header and
//! claims JSON, key lookup, signature, `iss`/`aud`/`exp`/`nbf` and revocation
//! checks) and `ring/<alg>` only ring's signature verification of the same token,
//! with message and signature already decoded. The difference is our overhead;
//! `overhead/<alg>` measures it directly, timing the two alternately in chunks of
//! 64 verifications so that the machine's drift between runs cancels out.
//!
//! `jsonwebtoken/<alg>` verifies the same token with the `jsonwebtoken` crate
//! (signature, `alg`, `iss`, `aud`, `exp`, `nbf`, then `typ`, into typed claims of
//! the same fields), and `jsonwebtoken-overhead/<alg>` is its cost on top of ring,
//! measured the same way: the library we would build on instead, side by side.
//!
//! Run: `cargo bench -p tessera-verify --bench verify`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::json;
use tessera_keys::{SigningAlgorithm, SigningKey};
use tessera_verify::{KeySet, Verifier};

const ISSUER: &str = "https://auth.example.com/realms/dc";

/// Claims the size and shape of a Tessera password-grant access token.
fn claims() -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": ISSUER, "sub": "0b7f4f1e-8a61-4f57-9d2a-4d9e0a3f6c11", "aud": "datablocks-api",
        "exp": now + 300, "iat": now, "jti": "5c2f7a0e-1b3d-4e8f-a6c9-7d0b2e4f6a81",
        "client_id": "pydc", "scope": "openid profile email", "azp": "pydc", "typ": "Bearer",
        "sid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "preferred_username": "demo",
        "email": "demo@example.com", "realm_access": {"roles": ["user", "datablocks-reader"]}
    })
}

/// ring's verification of `token` with `key`'s public material, nothing else.
fn raw_verifier(key: &SigningKey, token: &str) -> impl Fn() -> bool {
    let jwk = key.verifying_key().to_jwk();
    let decode =
        |member: &Option<String>| URL_SAFE_NO_PAD.decode(member.as_ref().unwrap()).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let message = input.as_bytes().to_vec();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let alg = key.verifying_key().algorithm();
    let public: Vec<Vec<u8>> = match alg {
        SigningAlgorithm::Es256 => vec![[&[4u8][..], &decode(&jwk.x), &decode(&jwk.y)].concat()],
        SigningAlgorithm::EdDsa => vec![decode(&jwk.x)],
        SigningAlgorithm::Rs256 => vec![decode(&jwk.n), decode(&jwk.e)],
    };
    move || match alg {
        SigningAlgorithm::Es256 => {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public[0])
                .verify(&message, &signature)
                .is_ok()
        }
        SigningAlgorithm::EdDsa => UnparsedPublicKey::new(&signature::ED25519, &public[0])
            .verify(&message, &signature)
            .is_ok(),
        SigningAlgorithm::Rs256 => RsaPublicKeyComponents {
            n: &public[0],
            e: &public[1],
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, &message, &signature)
        .is_ok(),
    }
}

/// The claims a resource server reads, as `jsonwebtoken` deserialises them.
/// Deserialising them is the work measured; nothing reads them afterwards.
#[derive(Deserialize)]
#[allow(dead_code)]
struct LibraryClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: String,
    scope: String,
    azp: String,
    sid: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
    realm_access: RealmRoles,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RealmRoles {
    roles: Vec<String>,
}

/// `jsonwebtoken`'s verification of `token`, with the checks ours makes.
fn library_verifier(key: &SigningKey, token: &str) -> impl Fn() -> bool {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let jwk = key.verifying_key().to_jwk();
    let member = |member: &Option<String>| member.clone().unwrap();
    let (decoding_key, algorithm) = match key.verifying_key().algorithm() {
        SigningAlgorithm::Es256 => (
            DecodingKey::from_ec_components(&member(&jwk.x), &member(&jwk.y)).unwrap(),
            Algorithm::ES256,
        ),
        SigningAlgorithm::EdDsa => (
            DecodingKey::from_ed_components(&member(&jwk.x)).unwrap(),
            Algorithm::EdDSA,
        ),
        SigningAlgorithm::Rs256 => (
            DecodingKey::from_rsa_components(&member(&jwk.n), &member(&jwk.e)).unwrap(),
            Algorithm::RS256,
        ),
    };
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&["datablocks-api"]);
    validation.validate_nbf = true;
    validation.leeway = 60;
    let token = token.to_owned();
    move || {
        jsonwebtoken::decode::<LibraryClaims>(&token, &decoding_key, &validation)
            .is_ok_and(|data| data.header.typ.as_deref() == Some("at+jwt"))
    }
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for alg in SigningAlgorithm::ALL {
        let (key, _) = SigningKey::generate(alg).unwrap();
        let token = key.sign_jwt("at+jwt", &claims()).unwrap();
        let verifier = runtime
            .block_on(
                Verifier::builder(ISSUER)
                    .audience("datablocks-api")
                    .fixed_keys(KeySet::new([key.verifying_key().clone()]))
                    .build(),
            )
            .unwrap();
        verifier.verify_jwt_with_cached_keys(&token).unwrap();
        let raw = raw_verifier(&key, &token);
        assert!(raw());
        let mut group = c.benchmark_group(alg.as_str());
        group.bench_function("ring", |b| b.iter(|| black_box(raw())));
        let verify = || {
            verifier
                .verify_jwt_with_cached_keys(black_box(&token))
                .is_ok()
        };
        group.bench_function("verify", |b| b.iter(|| black_box(verify())));
        group.bench_function("overhead", |b| {
            b.iter_custom(|iterations| interleaved_difference(iterations, &verify, &raw))
        });
        let library = library_verifier(&key, &token);
        assert!(library());
        group.bench_function("jsonwebtoken", |b| b.iter(|| black_box(library())));
        group.bench_function("jsonwebtoken-overhead", |b| {
            b.iter_custom(|iterations| interleaved_difference(iterations, &library, &raw))
        });
        group.finish();
    }
}

/// Total time of `iterations` runs of `measured` minus as many runs of
/// `baseline`, run alternately in chunks, so both see the same machine state.
fn interleaved_difference(
    iterations: u64,
    measured: &impl Fn() -> bool,
    baseline: &impl Fn() -> bool,
) -> Duration {
    const CHUNK: u64 = 64;
    let (mut measured_total, mut baseline_total) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < iterations {
        let chunk = CHUNK.min(iterations - done);
        let start = Instant::now();
        for _ in 0..chunk {
            black_box(baseline());
        }
        baseline_total += start.elapsed();
        let start = Instant::now();
        for _ in 0..chunk {
            black_box(measured());
        }
        measured_total += start.elapsed();
        done += chunk;
    }
    // Criterion refuses a zero sample; a chunk where noise made the measured
    // side faster counts as (almost) no overhead rather than a negative one.
    measured_total
        .saturating_sub(baseline_total)
        .max(Duration::from_nanos(iterations))
}

criterion_group!(benches, verification);
criterion_main!(benches);
