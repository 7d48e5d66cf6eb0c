//! The public half of Tessera's JOSE: the signing algorithms, JSON Web Keys and
//! compact-JWS verification.
//!
//! Both the server and the resource-server verifier use this crate; it holds no
//! private-key code, so a verifier depending on it carries none either.

mod algorithm;
#[cfg(test)]
mod fuzz;
mod jwk;
mod jws;
mod key;
#[cfg(test)]
mod test_keys;

pub use algorithm::{SigningAlgorithm, UnsupportedAlgorithm};
pub use jwk::{Jwk, Jwks};
pub use jws::{encode_segment, JwtError, JWT_MAX_LEN};
pub use key::{KeyMaterialError, KeySet, VerifyingKey};
