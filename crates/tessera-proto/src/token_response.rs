use serde::{Deserialize, Serialize};

/// The token endpoint's success body (RFC 6749 §5.1) in Keycloak's shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: i64,
    /// Seconds until the refresh token expires; 0 for offline tokens without expiry
    /// (Keycloak's convention) and when no refresh token is issued.
    pub refresh_expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub token_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(rename = "not-before-policy")]
    pub not_before_policy: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    pub scope: String,
}

/// The device authorization endpoint's answer (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    /// What the user types on the verification page, `XXXX-XXXX`.
    pub user_code: String,
    pub verification_uri: String,
    /// The verification page with the user code filled in (for a QR code or a link).
    pub verification_uri_complete: String,
    pub expires_in: i64,
    /// Seconds the device must wait between polls.
    pub interval: i64,
}
