//! Signing keys for Tessera.
//!
//! The master key (one per installation, kept in a 0600 file) derives two
//! subkeys: one encrypts signing keys at rest (AES-256-GCM), one computes the
//! keyed digests under which tokens and client secrets are stored. Signing keys
//! are generated here, sealed before they reach the store, and opened into a
//! [`KeyRing`] that signs and verifies JWTs and publishes the JWKS.

mod keyring;
mod master;
mod rsa_keys;

pub use keyring::{KeyRing, SigningKey};
pub use master::{MasterKey, MasterKeyError, PasswordPepper, Sealer, SecretDigester};
pub use tessera_jose::{Jwk, Jwks, JwtError, SigningAlgorithm, VerifyingKey};

/// Errors from key handling. None of them carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generation,
    #[error("stored key material is invalid for {0}")]
    InvalidKeyMaterial(SigningAlgorithm),
    #[error("sealed key could not be opened (wrong master key or corrupted data)")]
    Unseal,
    #[error("signing failed")]
    Signing,
    #[error(transparent)]
    UnsupportedAlgorithm(#[from] tessera_jose::UnsupportedAlgorithm),
}
