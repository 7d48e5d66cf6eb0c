use tessera_jose::JwtError;

/// Why a token was refused. Every kind but [`VerifyError::Unavailable`] means
/// the token is not acceptable (RFC 6750 `invalid_token`, HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS nor a well-formed Tessera opaque token: wrong segment
    /// count, bad base64, header JSON that does not parse, too long.
    #[error("token is malformed")]
    Malformed,
    /// An opaque token whose checksum does not match: mistyped or forged. Refused
    /// before any network call.
    #[error("opaque token checksum does not match")]
    BadChecksum,
    /// `alg` is not on the allow-list or not the algorithm of the named key
    /// (`none` and `HS*` never are).
    #[error("signing algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header `typ` is not `at+jwt` (RFC 9068 §2.1): an ID token, say.
    #[error("token is not an access token")]
    NotAnAccessToken,
    /// The header names no key, or one the issuer does not publish.
    #[error("signing key is unknown")]
    UnknownKey,
    #[error("signature does not verify")]
    BadSignature,
    /// The payload is not JSON with the claims of a Tessera access token.
    #[error("claims are missing or of the wrong type")]
    InvalidClaims,
    #[error("token was issued by another issuer")]
    WrongIssuer,
    #[error("token is not meant for this audience")]
    WrongAudience,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    /// Its session or the token itself was revoked (revocation feed).
    #[error("token was revoked")]
    Revoked,
    /// The issuer says the opaque token is not active: unknown, expired or revoked.
    #[error("token is not active")]
    Inactive,
    /// The issuer's endpoint check refused the call; the reason is its
    /// (`disabled`, `inactive`, `unassigned`, `method_not_allowed`,
    /// `unknown_token`, `unknown_endpoint`, …).
    #[error("the endpoint check refused the call: {0}")]
    CallRefused(String),
    /// The token could not be checked because the authorization server could not
    /// be reached (introspection of an opaque token). Not the token's fault: 503.
    #[error("authorization server unavailable: {0}")]
    Unavailable(String),
}

impl From<JwtError> for VerifyError {
    fn from(error: JwtError) -> Self {
        match error {
            JwtError::TooLong | JwtError::Malformed => Self::Malformed,
            JwtError::AlgorithmNotAllowed => Self::AlgorithmNotAllowed,
            JwtError::WrongType => Self::NotAnAccessToken,
            JwtError::MissingKeyId | JwtError::UnknownKey => Self::UnknownKey,
            JwtError::BadSignature => Self::BadSignature,
            JwtError::InvalidClaims => Self::InvalidClaims,
        }
    }
}

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("at least one accepted audience is required")]
    NoAudience,
    #[error("the algorithm allow-list is empty")]
    NoAlgorithm,
    #[error("leeway of {0:?} exceeds the 60 s that revocation entries outlive their tokens")]
    LeewayTooLarge(std::time::Duration),
    #[error("OpenID discovery at {url} failed: {reason}")]
    Discovery { url: String, reason: String },
    #[error("discovery names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("HTTP client: {0}")]
    Http(String),
}
