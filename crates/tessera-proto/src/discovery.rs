//! What a realm publishes about itself: OpenID Connect Discovery 1.0 §3 /
//! RFC 8414 §2 provider metadata, and Keycloak's realm representation.

use serde::{Deserialize, Serialize};

/// Provider metadata (one document serves OpenID Connect Discovery and RFC 8414).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub end_session_endpoint: String,
    /// RFC 8628 §4.
    pub device_authorization_endpoint: String,
    /// Tessera's revocation feed (see `docs/verifying-tokens.md`).
    pub revocation_feed_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    /// RFC 7636 §4.2: `S256` only; `plain` is refused.
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub userinfo_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
}

/// Keycloak's public realm representation (`GET /realms/{realm}`), which older
/// adapters read for the realm's `public_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealmRepresentation {
    pub realm: String,
    /// Base64 DER SubjectPublicKeyInfo of the active signing key.
    pub public_key: String,
    #[serde(rename = "token-service")]
    pub token_service: String,
    #[serde(rename = "account-service")]
    pub account_service: String,
    #[serde(rename = "tokens-not-before")]
    pub tokens_not_before: i64,
}
