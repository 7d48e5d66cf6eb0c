//! Verify Tessera access tokens in a resource server.
//!
//! A [`Verifier`] checks JWT access tokens locally against the issuer's cached
//! JWKS (typ `at+jwt`, algorithm allow-list, `iss`, `aud`, `exp`/`nbf`/`iat`
//! with leeway) and refuses those whose session or id the issuer's revocation
//! feed has reported, within one poll interval of the revocation. Opaque
//! Tessera tokens are checked by introspection, with a short cache; a token
//! profile's answer carries its permissions, which [`VerifiedToken::permits`]
//! evaluates (and a feed entry for a changed profile evicts). With the
//! `axum` feature (on by default), [`axum::Authenticated`] extracts a verified
//! token and [`axum::RequireBearerLayer`] protects whole routers.
//!
//! ```no_run
//! # async fn example() -> Result<(), tessera_verify::BuildError> {
//! let verifier = tessera_verify::Verifier::builder("https://auth.example.com/realms/dc")
//!     .audience("datablocks-api")
//!     .client_credentials("datablocks-api", "secret from the environment".to_owned())
//!     .build()
//!     .await?;
//! match verifier.verify("eyJ…").await {
//!     Ok(token) if token.permits("device", "d-17", "AccessDeviceResources") => {
//!         println!("{} may use device d-17", token.subject())
//!     }
//!     Ok(token) => println!("{} may {}", token.subject(), token.scope()),
//!     Err(error) => println!("refused: {error}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The wire contract this library implements is in `docs/verifying-tokens.md`.

#[cfg(feature = "axum")]
pub mod axum;
mod claims;
mod discovery;
mod endpoint_check;
mod error;
#[cfg(test)]
mod fuzz;
mod introspection;
mod jwks;
mod revocations;
mod verifier;
mod wire_claims;

pub use claims::{CompanyToken, TokenFormat, VerifiedToken};
pub use endpoint_check::{EndpointCaller, EndpointTokenKind};
pub use error::{BuildError, VerifyError};
pub use tessera_jose::{KeySet, SigningAlgorithm, VerifyingKey};
pub use verifier::{Verifier, VerifierBuilder};
