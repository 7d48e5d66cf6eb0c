use tessera_keys::KeyError;
use tessera_store::StoreError;

/// Everything a token operation can fail with, said in the domain's terms. The
/// server maps each to an HTTP status and an RFC 6749 §5.2 error in Keycloak's
/// wording, in one place (`tessera-server`'s `http/error.rs`); the internal ones
/// ([`TokenError::is_internal`]) all become one opaque `server_error`.
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
    /// RFC 6749 §4.1.2.1: the redirect URI is not one the client registered.
    #[error("invalid redirect_uri")]
    InvalidRedirectUri,
    #[error("unsupported response_type")]
    UnsupportedResponseType,
    /// OpenID Connect Core §3.1.2.6: `prompt=none`, and the browser is not
    /// signed in (or its sign-in is older than `max_age`).
    #[error("login required")]
    LoginRequired,
    /// The user said no (the device grant's verification page).
    #[error("access denied")]
    AccessDenied,
    /// RFC 8628 §3.5: the user has not decided yet.
    #[error("authorization pending")]
    AuthorizationPending,
    /// RFC 8628 §3.5: polled faster than the interval, which grows by five seconds.
    #[error("slow down")]
    SlowDown,
    /// RFC 8628 §3.5: the device code has expired.
    #[error("expired token")]
    ExpiredToken,
    /// A user code that no pending device authorization has.
    #[error("unknown or expired user code")]
    UnknownUserCode,
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
    /// RFC 7009 §2.2.1: this endpoint does not revoke that kind of token.
    #[error("unsupported token type")]
    UnsupportedTokenType,
    #[error("no such token")]
    TokenNotFound,
    #[error("personal token limit reached")]
    TokenLimitReached,
    #[error("the user already has a token profile with this id")]
    DuplicateProfileId,
    /// Not found, or not visible to the caller (which is told the same).
    #[error("no such user")]
    UserNotFound,
    #[error("a user with this username exists")]
    DuplicateUsername,
    #[error("no such role")]
    RoleNotFound,
    /// Not found, or not visible to the caller (which is told the same).
    #[error("no such company")]
    CompanyNotFound,
    #[error("a company with this name exists")]
    DuplicateCompanyName,
    #[error("no such subscription")]
    SubscriptionNotFound,
    #[error("the company has a subscription with this name")]
    DuplicateSubscriptionName,
    /// Only members of the company may be assigned to its subscriptions.
    #[error("the user is no member of the company")]
    NotCompanyMember,
    /// Only assigned users may receive user tokens for a subscription.
    #[error("the user is not assigned to the subscription")]
    NotAssigned,
    #[error("company token limit reached: {0}")]
    CompanyTokenLimitReached(&'static str),
    #[error("no such endpoint")]
    EndpointNotFound,
    #[error("the realm has an endpoint with this path")]
    DuplicateEndpointPath,
    #[error("no such endpoint token")]
    EndpointTokenNotFound,
    /// A secondary token stands in for a primary token: there must be one.
    #[error("the endpoint has no {0} token")]
    NoPrimaryToken(tessera_store::EndpointMethod),
    /// The caller's grants do not allow this action.
    #[error("permission {0} required")]
    Forbidden(tessera_authz::TesseraAction),
    /// Grants that are malformed or unknown to the realm's catalog.
    #[error("invalid permissions: {0}")]
    InvalidGrants(tessera_authz::GrantError),
    /// Grants wider than the caller holds.
    #[error(transparent)]
    Escalation(tessera_authz::Escalation),
    /// Too many logins are waiting for password hashing, or for a brute-force
    /// slot of the same account: the client should retry shortly.
    #[error("temporarily unavailable")]
    TemporarilyUnavailable,

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

    /// `value` when the store did what was asked (inserted, found, deleted),
    /// else `failure`: the store's `false` said in the domain's terms.
    pub(crate) fn when_done<T>(done: bool, value: T, failure: Self) -> Result<T, Self> {
        if done {
            Ok(value)
        } else {
            Err(failure)
        }
    }

    /// A failure on our side that the client cannot fix: logged, and answered
    /// as an opaque `server_error`.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(_)
                | Self::Keys(_)
                | Self::Random
                | Self::HashingUnavailable
                | Self::InvalidPasswordParameters
        )
    }
}
