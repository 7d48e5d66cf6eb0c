//! Wire types shared by the Tessera server and the resource-server verifier.
//!
//! Everything here is what crosses the network: token responses, OAuth errors,
//! JWT claims, introspection answers, permissions (RFC 9396 authorization
//! details), the revocation feed and the opaque token format. Nothing here
//! touches storage or keys, so a verifier can depend on it without pulling the
//! server in.

mod authorization_details;
mod claims;
mod discovery;
mod endpoint_check;
mod error;
#[cfg(test)]
mod fuzz;
mod introspection;
mod opaque;
mod revocation_feed;
mod secret;
#[cfg(feature = "strategies")]
pub mod strategies;
mod token_response;

pub use authorization_details::{AuthorizationDetail, WILDCARD};
pub use claims::{AccessTokenClaims, Audience, IdTokenClaims, IdentityClaims, RealmAccess};
pub use discovery::{ProviderMetadata, RealmRepresentation};
pub use endpoint_check::EndpointCheckResponse;
pub use error::{OAuthError, OAuthErrorCode};
pub use introspection::IntrospectionResponse;
pub use opaque::{
    OpaqueTokenError, OpaqueTokenKind, ParsedOpaqueToken, SecondaryEndpointToken, OPAQUE_BODY_LEN,
};
pub use revocation_feed::{
    RevocationFeed, RevokedEntry, MAX_FEED_PAGE, MAX_INTROSPECTION_CACHE_SECONDS,
};
pub use secret::SecretString;
pub use token_response::{DeviceAuthorizationResponse, TokenResponse};
