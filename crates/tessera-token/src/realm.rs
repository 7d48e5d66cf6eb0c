//! A realm's configuration as the token service uses it. The server builds these
//! from the realm files; nothing here knows about TOML.

use std::collections::HashMap;
use std::time::Duration;

use tessera_authz::{Catalog, Permissions};
use tessera_keys::SigningAlgorithm;

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub access_token_lifetime: Duration,
    /// Refresh idle window of an ordinary (online) session.
    pub session_idle: Duration,
    /// Absolute lifetime of an ordinary session.
    pub session_max: Duration,
    /// Idle window of an offline session; `None` means it never expires.
    pub offline_idle: Option<Duration>,
    /// Refresh tokens are replaced at every use (RFC 9700 §4.14.2); only
    /// confidential clients may turn this off.
    pub refresh_rotation: bool,
}

#[derive(Debug, Clone)]
pub struct BruteForceSettings {
    pub max_failures: i64,
    pub window: Duration,
    pub lockout: Duration,
}

/// Limits on the personal access tokens of the realm's users.
#[derive(Debug, Clone)]
pub struct PersonalTokenSettings {
    pub max_per_user: i64,
    /// The confidential clients (resource servers) that may accept expose
    /// tokens by introspection, unless a token names fewer at creation.
    pub expose_audience: Vec<String>,
    /// Lifetime of an expose token created without one.
    pub default_lifetime: Duration,
    pub max_lifetime: Duration,
}

/// Limits on the tokens company admins generate for subscriptions.
#[derive(Debug, Clone)]
pub struct CompanyTokenSettings {
    /// Tokens one user may hold for one subscription.
    pub max_per_user: i64,
    /// Tokens one subscription may have in all, userless ones included.
    pub max_per_subscription: i64,
    /// Lifetime of a token generated without one.
    pub default_lifetime: Duration,
    pub max_lifetime: Duration,
}

impl PersonalTokenSettings {
    /// No expose token may live shorter than this.
    pub const MIN_LIFETIME: Duration = Duration::from_secs(60);

    /// The lifetime of a token created without one, and the longest.
    pub(crate) fn lifetimes(&self) -> (Duration, Duration) {
        (self.default_lifetime, self.max_lifetime)
    }
}

impl CompanyTokenSettings {
    /// The lifetime of a token created without one, and the longest.
    pub(crate) fn lifetimes(&self) -> (Duration, Duration) {
        (self.default_lifetime, self.max_lifetime)
    }
}

/// How long a device code lives and how often its device may poll (RFC 8628).
#[derive(Debug, Clone)]
pub struct DeviceFlowSettings {
    pub code_lifetime: Duration,
    /// The least time between two polls; `slow_down` adds five seconds.
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// RFC 6749 §4.1, with PKCE (RFC 7636).
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
    /// RFC 8628 §3.4.
    DeviceCode,
}

impl GrantType {
    pub const ALL: [Self; 5] = [
        Self::AuthorizationCode,
        Self::Password,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::DeviceCode,
    ];

    /// The `grant_type` value of the token endpoint.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|grant| grant.as_str() == value)
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    /// Keyed digest of the secret: present for confidential clients only.
    pub secret_digest: Option<Vec<u8>>,
    pub grants: Vec<GrantType>,
    /// Scopes the client may request; `openid` and `offline_access` must be listed
    /// to be usable.
    pub allowed_scopes: Vec<String>,
    /// Scopes granted even when not requested.
    pub default_scopes: Vec<String>,
    pub audience: Vec<String>,
    /// Users may create client tokens for it: a session they hand to the client.
    pub allows_personal_tokens: bool,
    /// Its user sessions' access tokens carry the `account` audience, which the
    /// account API requires (a console or account-management client).
    pub account_audience: bool,
    /// Its users' access tokens may call the management API, with the
    /// permissions of the users' roles (Keycloak's `admin-cli`).
    pub management: bool,
    /// Where the authorization endpoint may send its answers: compared byte
    /// for byte (RFC 9700 §4.1.1), never as prefixes or patterns.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser afterwards.
    pub post_logout_redirect_uris: Vec<String>,
    pub tokens: TokenSettings,
}

impl Client {
    pub fn is_confidential(&self) -> bool {
        self.secret_digest.is_some()
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }

    pub fn allows_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }

    pub fn allows_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }

    pub fn allows_offline(&self) -> bool {
        self.allowed_scopes
            .iter()
            .any(|s| s == crate::OFFLINE_ACCESS)
    }
}

#[derive(Debug, Clone)]
pub struct Realm {
    pub name: String,
    /// What the hosted pages call the realm ("Sign in to …").
    pub display_name: String,
    /// `{public_url}/realms/{name}`: the `iss` of every token.
    pub issuer: String,
    pub tokens: TokenSettings,
    pub reuse_grace: Duration,
    pub algorithm: SigningAlgorithm,
    pub key_rotation_period: Duration,
    pub brute_force: BruteForceSettings,
    pub device_flow: DeviceFlowSettings,
    pub personal_tokens: PersonalTokenSettings,
    pub company_tokens: CompanyTokenSettings,
    /// Endpoint tokens are also stored sealed under the master key, and a
    /// reveal call (its own permission, audited) shows them again. Off: only
    /// digests are stored, and reveal answers 404.
    pub recoverable_endpoint_tokens: bool,
    pub clients: HashMap<String, Client>,
    /// The realm's roles; a user holds some of them.
    pub roles: Vec<String>,
    /// The resource types and actions grants may name.
    pub catalog: Catalog,
    /// What each role grants; the role [`ADMIN_ROLE`] always grants everything.
    pub role_permissions: HashMap<String, Permissions>,
}

/// The role whose holders may do everything in the realm.
pub const ADMIN_ROLE: &str = "admin";

impl Realm {
    /// The longest any JWT of this realm can live: a retired key must stay in the
    /// JWKS at least this long.
    pub fn max_jwt_lifetime(&self) -> Duration {
        self.clients
            .values()
            .map(|client| client.tokens.access_token_lifetime)
            .chain(std::iter::once(self.tokens.access_token_lifetime))
            .max()
            .unwrap_or(self.tokens.access_token_lifetime)
    }

    /// What a user holding `roles` may do: the union of the roles' grants.
    pub fn permissions_of_roles<'a>(
        &self,
        roles: impl IntoIterator<Item = &'a str>,
    ) -> Permissions {
        let mut permissions = Permissions::none();
        for role in roles {
            if role == ADMIN_ROLE {
                return Permissions::admin();
            }
            if let Some(granted) = self.role_permissions.get(role) {
                permissions = permissions.union(granted);
            }
        }
        permissions
    }
}
