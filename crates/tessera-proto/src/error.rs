use serde::{Deserialize, Serialize};

/// Error codes of the token endpoint and of bearer-token protected resources.
///
/// The first group mirrors RFC 6749 §5.2 (token endpoint errors), the second
/// RFC 6750 §3.1 (bearer token usage), the third RFC 7009 §2.2.1 (revocation);
/// then the authorization endpoint's (RFC 6749 §4.1.2.1, OpenID Connect Core
/// §3.1.2.6) and the device grant's (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    // RFC 6749 §5.2
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    // RFC 6750 §3.1
    InvalidToken,
    InsufficientScope,
    // RFC 7009 §2.2.1
    UnsupportedTokenType,
    // RFC 6749 §4.1.2.1
    AccessDenied,
    UnsupportedResponseType,
    // OpenID Connect Core §3.1.2.6: `prompt=none` without a signed-in user.
    LoginRequired,
    // RFC 8628 §3.5
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    // Not an RFC code: Keycloak answers unknown realms with this body.
    NotFound,
    // RFC 6749 §4.1.2.1: used for failures on our side that the client cannot fix.
    ServerError,
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::NotFound => "not_found",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// The JSON error body, in Keycloak's shape: `{"error": ..., "error_description": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthError {
    pub error: OAuthErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl OAuthError {
    pub fn new(error: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: Some(description.into()),
        }
    }
}
