//! The one mapping from failures to HTTP responses.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_proto::{OAuthError, OAuthErrorCode};
use tessera_token::TokenError;

/// A failed request. Every variant renders Keycloak's JSON error shape.
#[derive(Debug)]
pub enum ApiError {
    Token(TokenError),
    /// A request the OAuth layer never saw: bad content type, body, encoding.
    BadRequest(String),
    PayloadTooLarge,
    /// The request or its body took longer than the server's limits.
    RequestTimeout,
    NotFound,
    /// RFC 6750 §3: a protected resource without (`None`) or with a bad bearer token.
    Bearer(Option<TokenError>),
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        Self::Token(error)
    }
}

/// The status and body a client sees for a domain error: RFC 6749 §5.2 codes in
/// Keycloak's wording.
pub fn token_error_body(error: &TokenError) -> (StatusCode, OAuthError) {
    use OAuthErrorCode as Code;
    use TokenError as E;
    let (status, code, description): (StatusCode, Code, Cow<'_, str>) = match error {
        E::RealmNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Realm does not exist".into(),
        ),
        E::InvalidRequest(description) => (
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            description.into(),
        ),
        E::UnknownClient => (
            StatusCode::UNAUTHORIZED,
            Code::InvalidClient,
            "Invalid client or Invalid client credentials".into(),
        ),
        E::ClientAuthenticationFailed => (
            StatusCode::UNAUTHORIZED,
            Code::UnauthorizedClient,
            "Invalid client or Invalid client credentials".into(),
        ),
        E::UnauthorizedClient(description) => (
            StatusCode::BAD_REQUEST,
            Code::UnauthorizedClient,
            (*description).into(),
        ),
        E::InvalidUserCredentials => (
            StatusCode::UNAUTHORIZED,
            Code::InvalidGrant,
            "Invalid user credentials".into(),
        ),
        E::AccountDisabled => (
            StatusCode::BAD_REQUEST,
            Code::InvalidGrant,
            "Account disabled".into(),
        ),
        E::InvalidGrant(description) => (
            StatusCode::BAD_REQUEST,
            Code::InvalidGrant,
            (*description).into(),
        ),
        E::InvalidRedirectUri => (
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "Invalid parameter: redirect_uri".into(),
        ),
        E::UnsupportedResponseType => (
            StatusCode::BAD_REQUEST,
            Code::UnsupportedResponseType,
            "Unsupported response_type (only code)".into(),
        ),
        E::LoginRequired => (
            StatusCode::BAD_REQUEST,
            Code::LoginRequired,
            "Login required".into(),
        ),
        E::AccessDenied => (
            StatusCode::BAD_REQUEST,
            Code::AccessDenied,
            "The user denied the request".into(),
        ),
        // RFC 8628 §3.5: the pending answers are 400s like every token error.
        E::AuthorizationPending => (
            StatusCode::BAD_REQUEST,
            Code::AuthorizationPending,
            "The authorization request is still pending".into(),
        ),
        E::SlowDown => (
            StatusCode::BAD_REQUEST,
            Code::SlowDown,
            "Polling too fast: wait five seconds longer between polls".into(),
        ),
        E::ExpiredToken => (
            StatusCode::BAD_REQUEST,
            Code::ExpiredToken,
            "The device code has expired".into(),
        ),
        E::UnknownUserCode => (
            StatusCode::BAD_REQUEST,
            Code::InvalidGrant,
            "Unknown or expired code".into(),
        ),
        E::UnsupportedGrantType => (
            StatusCode::BAD_REQUEST,
            Code::UnsupportedGrantType,
            "Unsupported grant_type".into(),
        ),
        E::InvalidScope(description) => (
            StatusCode::BAD_REQUEST,
            Code::InvalidScope,
            description.into(),
        ),
        E::InvalidToken => (
            StatusCode::UNAUTHORIZED,
            Code::InvalidToken,
            "Token verification failed".into(),
        ),
        E::ConfidentialClientRequired => (
            StatusCode::UNAUTHORIZED,
            Code::InvalidClient,
            "Public client is not permitted to invoke this endpoint".into(),
        ),
        E::UnmatchingClients => (
            StatusCode::BAD_REQUEST,
            Code::InvalidToken,
            "Unmatching clients".into(),
        ),
        E::TokenNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Token not found".into(),
        ),
        E::UnsupportedTokenType => (
            StatusCode::BAD_REQUEST,
            Code::UnsupportedTokenType,
            "Personal tokens and token profiles are deleted by their owner, not revoked here"
                .into(),
        ),
        E::TokenLimitReached => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "Personal token limit reached; delete a token first".into(),
        ),
        E::DuplicateProfileId => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "The user already has a token profile with this token_id".into(),
        ),
        E::UserNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "User not found".into(),
        ),
        E::RoleNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Could not find role".into(),
        ),
        E::CompanyNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Company not found".into(),
        ),
        E::SubscriptionNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Subscription not found".into(),
        ),
        E::DuplicateCompanyName => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "A company with this name exists".into(),
        ),
        E::DuplicateSubscriptionName => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "The company has a subscription with this name".into(),
        ),
        E::NotCompanyMember => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "The user is no member of the company; add them first".into(),
        ),
        E::NotAssigned => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "The user is not assigned to the subscription; assign them first".into(),
        ),
        E::CompanyTokenLimitReached(which) => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            format!("Token limit reached ({which}); delete a token first").into(),
        ),
        E::EndpointNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Endpoint not found".into(),
        ),
        E::EndpointTokenNotFound => (
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Endpoint token not found".into(),
        ),
        E::DuplicateEndpointPath => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "The realm has an endpoint with this path".into(),
        ),
        E::NoPrimaryToken(method) => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            format!(
                "The endpoint has no {} primary token (token authentication off, or deleting \
                 not allowed)",
                method.as_str()
            )
            .into(),
        ),
        E::DuplicateUsername => (
            StatusCode::CONFLICT,
            Code::InvalidRequest,
            "User exists with same username".into(),
        ),
        // RFC 6750 §3.1: the token lacks the privileges the request needs.
        E::Forbidden(action) => (
            StatusCode::FORBIDDEN,
            Code::InsufficientScope,
            format!("Permission {action} required").into(),
        ),
        E::Escalation(escalation) => (
            StatusCode::FORBIDDEN,
            Code::InsufficientScope,
            format!(
                "Cannot grant {}: it is wider than what the caller holds",
                escalation.grant
            )
            .into(),
        ),
        E::InvalidGrants(error) => (
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            format!("Invalid permissions: {error}").into(),
        ),
        E::TemporarilyUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            Code::TemporarilyUnavailable,
            "Too many login attempts in progress; retry shortly".into(),
        ),
        E::Store(_)
        | E::Keys(_)
        | E::Random
        | E::HashingUnavailable
        | E::InvalidPasswordParameters => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::ServerError,
            "Internal server error".into(),
        ),
    };
    (status, OAuthError::new(code, description))
}

/// Seconds a client told to come back (503) should wait.
const RETRY_AFTER_SECONDS: &str = "1";

fn body(status: StatusCode, error: OAuthError) -> Response {
    (status, Json(error)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Token(error) => {
                if error.is_internal() {
                    tracing::error!(%error, "request failed");
                }
                let (status, oauth) = token_error_body(&error);
                let mut response = body(status, oauth);
                // RFC 6749 §5.2: a 401 for client authentication carries a challenge.
                if status == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tessera\""),
                    );
                }
                // RFC 9110 §10.2.3: say when to come back.
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    response.headers_mut().insert(
                        header::RETRY_AFTER,
                        HeaderValue::from_static(RETRY_AFTER_SECONDS),
                    );
                }
                response
            }
            Self::BadRequest(description) => body(
                StatusCode::BAD_REQUEST,
                OAuthError::new(OAuthErrorCode::InvalidRequest, description),
            ),
            Self::PayloadTooLarge => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                OAuthError::new(OAuthErrorCode::InvalidRequest, "Request body too large"),
            ),
            Self::RequestTimeout => body(
                StatusCode::REQUEST_TIMEOUT,
                OAuthError::new(OAuthErrorCode::InvalidRequest, "Request timed out"),
            ),
            Self::NotFound => body(
                StatusCode::NOT_FOUND,
                OAuthError::new(OAuthErrorCode::NotFound, "Not found"),
            ),
            Self::Bearer(error) => {
                let (challenge, mut response) = match error {
                    Some(TokenError::RealmNotFound) => {
                        return Self::Token(TokenError::RealmNotFound).into_response()
                    }
                    Some(error) if error.is_internal() => {
                        return Self::Token(error).into_response()
                    }
                    Some(_) => (
                        "Bearer realm=\"tessera\", error=\"invalid_token\", \
                         error_description=\"Token verification failed\"",
                        body(
                            StatusCode::UNAUTHORIZED,
                            OAuthError::new(
                                OAuthErrorCode::InvalidToken,
                                "Token verification failed",
                            ),
                        ),
                    ),
                    None => (
                        "Bearer realm=\"tessera\"",
                        body(
                            StatusCode::UNAUTHORIZED,
                            OAuthError::new(OAuthErrorCode::InvalidRequest, "Missing bearer token"),
                        ),
                    ),
                };
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                response
            }
        }
    }
}
