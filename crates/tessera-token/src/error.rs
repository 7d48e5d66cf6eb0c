use tessera_keys::KeyError;
use tessera_proto::{OAuthError, OAuthErrorCode};
use tessera_store::StoreError;

/// Everything a token operation can fail with. The client-facing variants map to
/// RFC 6749 §5.2 errors in Keycloak's wording (see [`TokenError::to_oauth`]); the
/// internal ones all become one opaque `server_error`, with details only in the log.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("realm does not exist")]
    RealmNotFound,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unknown client")]
    UnknownClient,
    #[error("client authentication failed")]
    ClientAuthenticationFailed,
    #[error("unauthorized client: {0}")]
    UnauthorizedClient(&'static str),
    #[error("invalid user credentials")]
    InvalidUserCredentials,
    #[error("account disabled")]
    AccountDisabled,
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("invalid scope: {0}")]
    InvalidScope(String),
    #[error("invalid bearer token")]
    InvalidToken,
    #[error("public client may not call this endpoint")]
    ConfidentialClientRequired,
    #[error("token was issued to another client")]
    UnmatchingClients,
    #[error("no such token")]
    TokenNotFound,
    #[error("personal token limit reached")]
    TokenLimitReached,

    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("the system random generator failed")]
    Random,
    #[error("password hashing is unavailable")]
    HashingUnavailable,
    #[error("invalid password hashing parameters")]
    InvalidPasswordParameters,
}

impl TokenError {
    pub fn missing_parameter(name: &str) -> Self {
        Self::InvalidRequest(format!("Missing parameter: {name}"))
    }

    /// The HTTP status and JSON body a client sees.
    pub fn to_oauth(&self) -> (u16, OAuthError) {
        use OAuthErrorCode as Code;
        let (status, code, description): (u16, Code, &str) = match self {
            Self::RealmNotFound => (404, Code::NotFound, "Realm does not exist"),
            Self::InvalidRequest(description) => (400, Code::InvalidRequest, description),
            Self::UnknownClient => (
                401,
                Code::InvalidClient,
                "Invalid client or Invalid client credentials",
            ),
            Self::ClientAuthenticationFailed => (
                401,
                Code::UnauthorizedClient,
                "Invalid client or Invalid client credentials",
            ),
            Self::UnauthorizedClient(description) => (400, Code::UnauthorizedClient, description),
            Self::InvalidUserCredentials => (401, Code::InvalidGrant, "Invalid user credentials"),
            Self::AccountDisabled => (400, Code::InvalidGrant, "Account disabled"),
            Self::InvalidGrant(description) => (400, Code::InvalidGrant, description),
            Self::UnsupportedGrantType => {
                (400, Code::UnsupportedGrantType, "Unsupported grant_type")
            }
            Self::InvalidScope(description) => (400, Code::InvalidScope, description),
            Self::InvalidToken => (401, Code::InvalidToken, "Token verification failed"),
            Self::ConfidentialClientRequired => (
                401,
                Code::InvalidClient,
                "Public client is not permitted to invoke this endpoint",
            ),
            Self::UnmatchingClients => (400, Code::InvalidToken, "Unmatching clients"),
            Self::TokenNotFound => (404, Code::NotFound, "Token not found"),
            Self::TokenLimitReached => (
                409,
                Code::InvalidRequest,
                "Personal token limit reached; delete a token first",
            ),
            Self::Store(_)
            | Self::Keys(_)
            | Self::Random
            | Self::HashingUnavailable
            | Self::InvalidPasswordParameters => (500, Code::ServerError, "Internal server error"),
        };
        (status, OAuthError::new(code, description))
    }

    pub fn is_internal(&self) -> bool {
        self.to_oauth().0 >= 500
    }
}
