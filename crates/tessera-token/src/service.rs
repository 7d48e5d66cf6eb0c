use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tessera_keys::{Jwks, MasterKey, Sealer, SecretDigester};
use tessera_proto::{
    AccessTokenClaims, Audience, IdTokenClaims, IdentityClaims, RealmAccess, SecretString,
    TokenResponse,
};
use tessera_store::{Family, Store, Timestamp};

use crate::keys::{self, RealmKeys};
use crate::usage::UsageRecorder;
use crate::{
    new_uuid, Client, PasswordHasher, Realm, TokenError, ACCOUNT_AUDIENCE, OFFLINE_ACCESS, OPENID,
};

/// Client credentials as presented (RFC 6749 §2.3.1), by HTTP Basic or in the form.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<SecretString>,
}

/// A realm's configuration and its live keys. The keys outlive a reload of
/// the configuration: a realm kept by a reload keeps its key ring.
#[derive(Debug)]
pub struct RealmState {
    pub config: Realm,
    pub keys: Arc<RealmKeys>,
}

/// Every realm's state, as one snapshot: a request reads the snapshot once
/// and keeps using it, while a reload swaps in a new one atomically.
pub(crate) type RealmSnapshot = HashMap<String, Arc<RealmState>>;

/// What every service shares: the store, the secrets' digester and sealer,
/// the password hasher, the usage recorder and the realms. One per process.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) store: Store,
    realms: RwLock<Arc<RealmSnapshot>>,
    pub(crate) digester: SecretDigester,
    pub(crate) sealer: Sealer,
    pub(crate) hasher: PasswordHasher,
    pub(crate) usage: UsageRecorder,
}

/// Declares each service (a handle on the shared [`Core`]) and [`Services`],
/// which holds one of each: a new service is one line here.
macro_rules! services {
    ($($(#[$doc:meta])* $field:ident: $service:ident,)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone)]
            pub struct $service {
                pub(crate) core: Arc<Core>,
            }
        )*

        /// Every service of one process over one shared core.
        #[derive(Debug, Clone)]
        pub struct Services {
            $(pub $field: $service,)*
            pub(crate) core: Arc<Core>,
        }

        impl Services {
            fn over(core: Arc<Core>) -> Self {
                Self {
                    $($field: $service {
                        core: Arc::clone(&core),
                    },)*
                    core,
                }
            }
        }
    };
}

services! {
    /// The OAuth endpoints: the grants, introspection, revocation, logout,
    /// userinfo and the revocation feed.
    oauth: OAuthService,
    /// Personal tokens (expose and client tokens) and their usage.
    personal_tokens: PersonalTokenService,
    /// Token profiles and the management API's callers.
    token_profiles: TokenProfileService,
    /// Companies, their members and their audit trail.
    companies: CompanyService,
    /// A company's subscriptions, their assignments and their tokens.
    subscriptions: SubscriptionService,
    /// Endpoints, their primary tokens and assignments, the check of a call and
    /// the usage view.
    endpoints: EndpointService,
    /// Secondary endpoint tokens: one per consuming application.
    endpoint_tokens: EndpointTokenService,
    /// Browser and device sign-in: the authorization endpoint, the sign-in form,
    /// browser sessions, RP-initiated logout, and the device verification page.
    sign_in: SignInService,
    /// Signing keys: JWKS, rotation, and re-reading what other nodes rotated.
    keys: KeyService,
    /// Users of the realms, for operators and the realm loader.
    users: UserService,
    /// What keeps an installation healthy: the purge job, readiness, shutdown.
    maintenance: MaintenanceService,
}

/// Who a token is about: a user, or a client acting for itself.
pub(crate) struct Subject<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub roles: &'a [String],
}

/// Whether a session may manage its user's account: the session of a client
/// whose realm entry says `account = true`, and never the session of a
/// personal client token (an add-on holding one must not manage the tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountAccess {
    Granted,
    Withheld,
}

impl AccountAccess {
    pub fn of_session(client: &Client, personal_token: bool) -> Self {
        if client.account_audience && !personal_token {
            Self::Granted
        } else {
            Self::Withheld
        }
    }
}

impl Services {
    /// Records the realms in the store and loads (or creates) their signing keys.
    pub async fn start(
        store: Store,
        master_key: &MasterKey,
        realms: Vec<Realm>,
        hasher: PasswordHasher,
    ) -> Result<Self, TokenError> {
        let core = Arc::new(Core {
            usage: UsageRecorder::spawn(store.clone()),
            store,
            realms: RwLock::new(Arc::new(HashMap::new())),
            digester: master_key.digester(),
            sealer: master_key.sealer()?,
            hasher,
        });
        let mut states = HashMap::new();
        for realm in realms {
            states.insert(realm.name.clone(), core.new_realm_state(realm).await?);
        }
        core.replace_realms(states);
        Ok(Self::over(core))
    }

    /// A realm's configuration and keys; unknown realms are not found.
    pub fn realm(&self, name: &str) -> Result<Arc<RealmState>, TokenError> {
        self.core.realm(name)
    }

    /// Replaces every realm's configuration with `realms` (the realm files read
    /// again), atomically: a request already running keeps the snapshot it
    /// started with, every later one sees the new one. A realm that stays keeps
    /// its signing keys; a new one gets its first key; one left out is gone
    /// (its routes answer 404). Returns how many realms there are now.
    pub async fn reload_realms(&self, realms: Vec<Realm>) -> Result<usize, TokenError> {
        let current = self.core.realms();
        let mut next = HashMap::new();
        for realm in realms {
            let state = match current.get(&realm.name) {
                Some(state) => {
                    self.core.apply_endpoint_secret_policy(&realm).await?;
                    Arc::new(RealmState {
                        config: realm,
                        keys: Arc::clone(&state.keys),
                    })
                }
                None => self.core.new_realm_state(realm).await?,
            };
            next.insert(state.config.name.clone(), state);
        }
        let count = next.len();
        self.core.replace_realms(next);
        Ok(count)
    }
}

impl MaintenanceService {
    /// Password verifications so far, dummy ones for unknown users included.
    pub fn password_verifications(&self) -> u64 {
        self.core.hasher.verification_count()
    }

    /// Whether the database answers (the readiness probe).
    pub async fn database_ready(&self) -> Result<(), TokenError> {
        Ok(self.core.store.ping().await?)
    }

    /// Commits every recorded token use, then closes the database: the last
    /// step of a graceful shutdown, after the last request was answered.
    pub async fn shut_down(&self) {
        self.core.usage.flush().await;
        self.core.store.close().await;
    }
}

impl Core {
    /// The current snapshot of every realm.
    pub(crate) fn realms(&self) -> Arc<RealmSnapshot> {
        match self.realms.read() {
            Ok(realms) => Arc::clone(&realms),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A realm new to this process: recorded in the store, with its signing
    /// keys loaded (or its first key created).
    async fn new_realm_state(&self, realm: Realm) -> Result<Arc<RealmState>, TokenError> {
        let now = Timestamp::now();
        self.store.ensure_realm(&realm.name, now).await?;
        self.apply_endpoint_secret_policy(&realm).await?;
        let keys = keys::load_realm_keys(&self.store, &self.sealer, &realm, now).await?;
        Ok(Arc::new(RealmState {
            config: realm,
            keys: Arc::new(keys),
        }))
    }

    /// A realm that keeps no endpoint token recoverable keeps no sealed copy
    /// either: those stored while it did are dropped when its file says so.
    async fn apply_endpoint_secret_policy(&self, realm: &Realm) -> Result<(), TokenError> {
        if !realm.recoverable_endpoint_tokens {
            let forgotten = self
                .store
                .forget_sealed_endpoint_secrets(&realm.name)
                .await?;
            if forgotten > 0 {
                tracing::info!(
                    realm = %realm.name,
                    forgotten,
                    "recoverable_endpoint_tokens is off: sealed endpoint tokens dropped"
                );
            }
        }
        Ok(())
    }

    fn replace_realms(&self, realms: RealmSnapshot) {
        match self.realms.write() {
            Ok(mut current) => *current = Arc::new(realms),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(realms),
        }
    }

    pub(crate) fn realm(&self, name: &str) -> Result<Arc<RealmState>, TokenError> {
        self.realms()
            .get(name)
            .cloned()
            .ok_or(TokenError::RealmNotFound)
    }

    /// Authenticates the client (RFC 6749 §2.3): confidential clients by secret,
    /// compared as keyed digests in constant time; public clients by id alone.
    pub(crate) fn authenticate_client<'r>(
        &self,
        realm: &'r Realm,
        credentials: &ClientCredentials,
    ) -> Result<&'r Client, TokenError> {
        let client = realm
            .clients
            .get(&credentials.client_id)
            .ok_or(TokenError::UnknownClient)?;
        if let Some(expected) = &client.secret_digest {
            let presented = credentials
                .secret
                .as_ref()
                .ok_or(TokenError::ClientAuthenticationFailed)?;
            if !self.digester.matches(presented.expose(), expected) {
                return Err(TokenError::ClientAuthenticationFailed);
            }
        }
        Ok(client)
    }

    /// The scopes granted for a request: the requested ones (each must be allowed
    /// for the client) followed by the client's defaults.
    pub(crate) fn resolve_scopes(
        client: &Client,
        requested: Option<&str>,
    ) -> Result<Vec<String>, TokenError> {
        let mut granted: Vec<String> = Vec::new();
        let mut invalid: Vec<&str> = Vec::new();
        for scope in requested.unwrap_or_default().split_ascii_whitespace() {
            if scope == OFFLINE_ACCESS && !client.allows_offline() {
                return Err(TokenError::UnauthorizedClient(
                    "Offline tokens not allowed for the client",
                ));
            }
            if !client.allowed_scopes.iter().any(|allowed| allowed == scope) {
                invalid.push(scope);
            } else if !granted.iter().any(|g| g == scope) {
                granted.push(scope.to_owned());
            }
        }
        if !invalid.is_empty() {
            return Err(TokenError::InvalidScope(format!(
                "Invalid scopes: {}",
                invalid.join(" ")
            )));
        }
        for scope in &client.default_scopes {
            if !granted.contains(scope) {
                granted.push(scope.clone());
            }
        }
        Ok(granted)
    }

    /// Signs an access token (RFC 9068) and, when `openid` was granted, an ID token
    /// (with the authorization request's `nonce`, if any). `session` is `None`
    /// for client_credentials tokens.
    pub(crate) fn issue_jwts(
        &self,
        (state, client): (&RealmState, &Client),
        subject: &Subject<'_>,
        session: Option<(&Family, AccountAccess)>,
        (scope, nonce): (&str, Option<&str>),
        now: Timestamp,
    ) -> Result<IssuedJwts, TokenError> {
        let account = session.map_or(AccountAccess::Withheld, |(_, account)| account);
        let session = session.map(|(family, _)| family);
        let realm = &state.config;
        // JWT times are whole seconds: count the lifetime from the truncated `iat`
        // so that a token lives exactly as long as configured.
        let iat = now.unix_seconds();
        let mut exp = Timestamp::from_unix_seconds(iat)
            .saturating_add(client.tokens.access_token_lifetime)
            .unix_seconds();
        if let Some(session_end) = session.filter(|s| !s.offline).and_then(|s| s.expires_at) {
            exp = exp.min(session_end.unix_seconds());
        }
        let mut audience = if client.audience.is_empty() {
            vec![client.client_id.clone()]
        } else {
            client.audience.clone()
        };
        if account == AccountAccess::Granted && !audience.iter().any(|a| a == ACCOUNT_AUDIENCE) {
            audience.push(ACCOUNT_AUDIENCE.to_owned());
        }
        let claims = AccessTokenClaims {
            iss: realm.issuer.clone(),
            sub: subject.id.to_owned(),
            aud: Audience::from_list(audience),
            exp,
            iat,
            nbf: None,
            jti: new_uuid()?,
            client_id: client.client_id.clone(),
            scope: scope.to_owned(),
            azp: client.client_id.clone(),
            typ: "Bearer".to_owned(),
            identity: IdentityClaims {
                sid: session.map(|s| s.id.to_string()),
                preferred_username: Some(subject.username.to_owned()),
                email: subject.email.map(str::to_owned),
            },
            realm_access: RealmAccess {
                roles: subject.roles.to_vec(),
            },
        };
        let current = state.keys.current();
        let key = current.ring.active();
        let access_token = key.sign_jwt("at+jwt", &claims)?;
        let id_token = if scope.split(' ').any(|s| s == OPENID) {
            let id_claims = IdTokenClaims {
                iss: realm.issuer.clone(),
                sub: subject.id.to_owned(),
                aud: client.client_id.clone(),
                exp,
                iat,
                auth_time: session.map_or(iat, |s| s.auth_time.unix_seconds()),
                nonce: nonce.map(str::to_owned),
                jti: new_uuid()?,
                azp: client.client_id.clone(),
                typ: "ID".to_owned(),
                // The access token's, copied only when an ID token is issued.
                identity: claims.identity.clone(),
            };
            Some(key.sign_jwt("JWT", &id_claims)?)
        } else {
            None
        };
        Ok(IssuedJwts {
            access_token,
            id_token,
            expires_in: exp - iat,
        })
    }
}

impl KeyService {
    pub fn jwks(&self, realm: &str) -> Result<Jwks, TokenError> {
        Ok(self.core.realm(realm)?.keys.current().ring.jwks())
    }

    /// DER SubjectPublicKeyInfo of the active key (Keycloak's realm `public_key`).
    pub fn active_public_key(&self, realm: &str) -> Result<Vec<u8>, TokenError> {
        Ok(self
            .core
            .realm(realm)?
            .keys
            .current()
            .ring
            .active()
            .spki_der()
            .to_vec())
    }

    /// Re-reads every realm's keys from the store and rotates those due.
    pub async fn refresh_keys(&self) -> Result<(), TokenError> {
        let now = Timestamp::now();
        for state in self.core.realms().values() {
            keys::refresh_realm_keys(
                &self.core.store,
                &self.core.sealer,
                &state.config,
                &state.keys,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Rotates a realm's signing key now; returns the new key id.
    pub async fn rotate_keys(&self, realm: &str) -> Result<String, TokenError> {
        let state = self.core.realm(realm)?;
        keys::rotate_realm_keys(
            &self.core.store,
            &self.core.sealer,
            &state.config,
            &state.keys,
            Timestamp::now(),
        )
        .await
    }
}

pub(crate) struct IssuedJwts {
    pub access_token: String,
    pub id_token: Option<String>,
    pub expires_in: i64,
}

impl IssuedJwts {
    pub fn into_response(
        self,
        refresh: Option<(String, i64)>,
        session_state: Option<String>,
        scope: String,
    ) -> TokenResponse {
        let (refresh_token, refresh_expires_in) = match refresh {
            Some((token, expires_in)) => (Some(token), expires_in),
            None => (None, 0),
        };
        TokenResponse {
            access_token: self.access_token,
            expires_in: self.expires_in,
            refresh_expires_in,
            refresh_token,
            token_type: "Bearer".to_owned(),
            id_token: self.id_token,
            not_before_policy: 0,
            session_state,
            scope,
        }
    }
}
