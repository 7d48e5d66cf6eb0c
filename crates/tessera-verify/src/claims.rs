use tessera_proto::{AccessTokenClaims, IntrospectionResponse};

/// How the token reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// A JWT access token, verified locally.
    Jwt,
    /// An opaque Tessera token, checked by introspection (RFC 7662).
    Opaque,
}

/// The verified facts about a token a resource server acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub format: TokenFormat,
    /// `sub`: the user, or for client-credentials tokens the client's service account.
    pub subject: String,
    /// The client the token was issued to (`client_id`, also `azp`).
    pub client_id: String,
    /// Space-separated scopes (`scope`); see [`VerifiedToken::scopes`].
    pub scope: String,
    /// Realm roles (`realm_access.roles`).
    pub roles: Vec<String>,
    /// The session (`sid`); `None` for tokens without one (client credentials).
    pub session_id: Option<String>,
    /// The token's own id (`jti`).
    pub token_id: Option<String>,
    pub username: Option<String>,
    /// `exp` as a NumericDate (seconds since the epoch); `None` for an opaque
    /// token that does not expire.
    pub expires_at: Option<i64>,
}

impl VerifiedToken {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|scope| !scope.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|granted| granted == role)
    }

    pub(crate) fn from_jwt(claims: AccessTokenClaims) -> Self {
        Self {
            format: TokenFormat::Jwt,
            subject: claims.sub,
            client_id: claims.client_id,
            scope: claims.scope,
            roles: claims.realm_access.roles,
            session_id: claims.sid,
            token_id: Some(claims.jti),
            username: claims.preferred_username,
            expires_at: Some(claims.exp),
        }
    }

    /// `None` unless the answer is active and names a subject.
    pub(crate) fn from_introspection(answer: IntrospectionResponse) -> Option<Self> {
        if !answer.active {
            return None;
        }
        Some(Self {
            format: TokenFormat::Opaque,
            subject: answer.sub?,
            client_id: answer.client_id.unwrap_or_default(),
            scope: answer.scope.unwrap_or_default(),
            roles: answer
                .realm_access
                .map(|access| access.roles)
                .unwrap_or_default(),
            session_id: answer.sid,
            token_id: answer.jti,
            username: answer.username,
            expires_at: answer.exp,
        })
    }
}
