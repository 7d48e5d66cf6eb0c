//! The one mapping from failures to HTTP responses.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use tessera_proto::{OAuthError, OAuthErrorCode};
use tessera_token::TokenError;

/// A failed request. Every variant renders Keycloak's JSON error shape.
#[derive(Debug)]
pub enum ApiError {
    Token(TokenError),
    /// A request the OAuth layer never saw: bad content type, body, encoding.
    BadRequest(String),
    PayloadTooLarge,
    NotFound,
    /// RFC 6750 §3: a protected resource without (`None`) or with a bad bearer token.
    Bearer(Option<TokenError>),
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        Self::Token(error)
    }
}

fn body(status: u16, error: OAuthError) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(error)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Token(error) => {
                if error.is_internal() {
                    tracing::error!(%error, "request failed");
                }
                let (status, oauth) = error.to_oauth();
                let mut response = body(status, oauth);
                // RFC 6749 §5.2: a 401 for client authentication carries a challenge.
                if status == 401 {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tessera\""),
                    );
                }
                response
            }
            Self::BadRequest(description) => body(
                400,
                OAuthError::new(OAuthErrorCode::InvalidRequest, description),
            ),
            Self::PayloadTooLarge => body(
                413,
                OAuthError::new(OAuthErrorCode::InvalidRequest, "Request body too large"),
            ),
            Self::NotFound => body(404, OAuthError::new(OAuthErrorCode::NotFound, "Not found")),
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
                            401,
                            OAuthError::new(
                                OAuthErrorCode::InvalidToken,
                                "Token verification failed",
                            ),
                        ),
                    ),
                    None => (
                        "Bearer realm=\"tessera\"",
                        body(
                            401,
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
