//! The grants of RFC 6749 that Tessera serves, dispatched from one request
//! type: password, refresh with rotation, client credentials; the code
//! exchange is in `code_exchange.rs`, the device grant's polls in `device.rs`.

use tessera_proto::{OpaqueTokenKind, ParsedOpaqueToken, SecretString, TokenResponse};
use tessera_store::{
    Family, Presentation, RefreshTokenState, RevocationReason, Timestamp, TokenUse, UseOutcome,
    User,
};

use crate::service::{AccountAccess, Core, OAuthService, RealmState, Subject};
use crate::{Client, ClientCredentials, GrantType, Realm, TokenError, OFFLINE_ACCESS};

const INVALID_REFRESH_TOKEN: &str = "Invalid refresh token";

/// A token-endpoint request, by grant, with the parameters each one reads.
#[derive(Debug)]
pub enum TokenRequest<'a> {
    /// RFC 6749 §4.3.
    Password {
        username: Option<&'a str>,
        password: Option<SecretString>,
        scope: Option<&'a str>,
    },
    /// RFC 6749 §6. `address` is the caller's, recorded for client tokens.
    RefreshToken {
        refresh_token: Option<&'a str>,
        scope: Option<&'a str>,
        address: Option<&'a str>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials { scope: Option<&'a str> },
    /// RFC 6749 §4.1.3, with the PKCE verifier (RFC 7636 §4.5).
    AuthorizationCode {
        code: Option<&'a str>,
        redirect_uri: Option<&'a str>,
        code_verifier: Option<&'a str>,
    },
    /// RFC 8628 §3.4.
    DeviceCode { device_code: Option<&'a str> },
}

impl OAuthService {
    /// Answers a token-endpoint request with the grant it names.
    pub async fn token(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        request: TokenRequest<'_>,
    ) -> Result<TokenResponse, TokenError> {
        match request {
            TokenRequest::Password {
                username,
                password,
                scope,
            } => {
                self.password_grant(realm, credentials, username, password, scope)
                    .await
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
                address,
            } => {
                self.refresh_grant(realm, credentials, refresh_token, scope, address)
                    .await
            }
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials_grant(realm, credentials, scope)
                    .await
            }
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.authorization_code_grant(
                    realm,
                    credentials,
                    (code, redirect_uri, code_verifier),
                )
                .await
            }
            TokenRequest::DeviceCode { device_code } => {
                self.device_code_grant(realm, credentials, device_code)
                    .await
            }
        }
    }

    /// Resource owner password credentials grant (RFC 6749 §4.3).
    ///
    /// Unknown users, wrong passwords and locked accounts get the same 401 after the
    /// same hashing work, so neither the answer nor its timing tells a guesser which
    /// usernames exist. "Account disabled" is only said once the password is proven.
    async fn password_grant(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        username: Option<&str>,
        password: Option<SecretString>,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client = self
            .core
            .client_for_grant(&state.config, credentials, GrantType::Password)?;
        let username = username.ok_or_else(|| TokenError::missing_parameter("username"))?;
        let password = password.ok_or_else(|| TokenError::missing_parameter("password"))?;
        let scopes = Core::resolve_scopes(client, scope)?;

        let (user, now) = self
            .core
            .authenticate_active_user(&state.config, username, password)
            .await?;

        let offline = scopes.iter().any(|s| s == OFFLINE_ACCESS);
        let (family, refresh_token, refresh_row) = self
            .core
            .start_session((realm, client), &user.id, &scopes, offline, now)
            .await?;
        self.core.respond_for_session(
            (&state, client, now),
            (&user, &family, AccountAccess::of_session(client, false)),
            (&family.scope, None),
            (refresh_token, refresh_row.expires_at),
        )
    }

    /// Refresh token grant (RFC 6749 §6) with rotation and reuse detection.
    ///
    /// Every use consumes the token and returns a new one in the same family. A
    /// consumed token presented again within the realm's grace window (a client
    /// retrying after a lost response) yields a fresh pair; after the window it is
    /// treated as stolen and the whole family is revoked (RFC 9700 §4.14.2).
    /// `address` is the caller's, recorded when the session is a client token's.
    async fn refresh_grant(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        refresh_token: Option<&str>,
        scope: Option<&str>,
        address: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client =
            self.core
                .client_for_grant(&state.config, credentials, GrantType::RefreshToken)?;
        let presented =
            refresh_token.ok_or_else(|| TokenError::missing_parameter("refresh_token"))?;
        let now = Timestamp::now();
        let (digest, stored) = self.core.find_refresh_token(realm, presented).await?;
        if stored.family.client_id != client.client_id {
            return Err(TokenError::InvalidGrant(
                "Invalid refresh token. Token client and authorized client don't match",
            ));
        }
        let family = &stored.family;
        if !family.is_live(now) {
            return Err(TokenError::InvalidGrant("Session not active"));
        }
        if stored.expires_at.is_some_and(|at| now >= at) {
            return Err(TokenError::InvalidGrant("Token is not active"));
        }
        let user = &stored.user;
        self.core.ensure_user_active(user, now).await?;
        let scope = narrow_scope(&family.scope, scope)?;

        let refresh = if client.tokens.refresh_rotation {
            self.rotate(&state, client, (&digest, &stored), now).await?
        } else {
            let expires_at = self.core.refresh_expiry(client, family, now);
            if !self
                .core
                .store
                .extend_refresh_token(&digest, expires_at)
                .await?
            {
                return Err(TokenError::InvalidGrant(INVALID_REFRESH_TOKEN));
            }
            (presented.to_owned(), expires_at)
        };
        let account = AccountAccess::of_session(client, stored.personal_token_id.is_some());
        let response = self.core.respond_for_session(
            (&state, client, now),
            (user, family, account),
            (&scope, None),
            refresh,
        )?;
        if let Some(token_id) = &stored.personal_token_id {
            self.core
                .usage
                .record(TokenUse {
                    token_id: token_id.clone(),
                    realm: realm.to_owned(),
                    user_id: user.id.clone(),
                    presentation: Presentation::new(
                        (Some(&client.client_id), address),
                        UseOutcome::Refreshed,
                        now,
                    ),
                })
                .await;
        }
        Ok(response)
    }

    /// Consumes the presented refresh token and stores its successor; returns the
    /// successor and its expiry.
    ///
    /// A consumed token has at most one live successor (RFC 9700 §4.14.2): a
    /// replay inside the grace window (a client retrying after a lost answer)
    /// gets a new successor and the previous one dies at once. Presenting a
    /// token that died that way, or a consumed token after the window, revokes
    /// the whole family.
    async fn rotate(
        &self,
        state: &RealmState,
        client: &Client,
        (digest, stored): (&[u8], &RefreshTokenState),
        now: Timestamp,
    ) -> Result<(String, Option<Timestamp>), TokenError> {
        let family = &stored.family;
        let (new_token, new_row) = self.core.new_refresh_token(client, family, now)?;
        let rotated = stored.consumed_at.is_none()
            && self
                .core
                .store
                .rotate_refresh_token(digest, now, &new_row)
                .await?;
        if !rotated {
            // Consumed earlier (a retry or a replay), or just now by a concurrent
            // request, or the session was revoked since our read: look again.
            let current = match stored.consumed_at {
                Some(_) => stored.clone(),
                None => self
                    .core
                    .store
                    .find_refresh_token(digest)
                    .await?
                    .ok_or(TokenError::InvalidGrant(INVALID_REFRESH_TOKEN))?,
            };
            if !current.family.is_live(now) {
                return Err(TokenError::InvalidGrant("Session not active"));
            }
            let grace = state.config.reuse_grace;
            let consumed_at = current.consumed_at.unwrap_or(now);
            let reused = current.superseded_at.is_some()
                || grace.is_zero()
                || now.saturating_duration_since(consumed_at) > grace;
            if reused {
                self.core
                    .revoke_session(
                        &state.config,
                        &family.id,
                        now,
                        RevocationReason::ReuseDetected,
                    )
                    .await?;
                tracing::warn!(family = %family.id, realm = %family.realm, "refresh token reuse detected; family revoked");
                return Err(TokenError::InvalidGrant(
                    "Refresh token reuse detected; session revoked",
                ));
            }
            // The store supersedes the family's live token, and adds this one
            // only while the session is live.
            if !self
                .core
                .store
                .replace_live_refresh_token(&new_row, now)
                .await?
            {
                return Err(TokenError::InvalidGrant("Session not active"));
            }
        }
        Ok((new_token, new_row.expires_at))
    }

    /// Client credentials grant (RFC 6749 §4.4): the client is the subject; no refresh token.
    async fn client_credentials_grant(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client = self.core.authenticate_client(&state.config, credentials)?;
        if !client.is_confidential() {
            return Err(TokenError::UnauthorizedClient(
                "Public client not allowed to retrieve service account",
            ));
        }
        require_grant(client, GrantType::ClientCredentials)?;
        let scopes = Core::resolve_scopes(client, scope)?;
        if scopes.iter().any(|s| s == OFFLINE_ACCESS) {
            return Err(TokenError::InvalidScope(
                "offline_access needs a user session".to_owned(),
            ));
        }
        let scope = scopes.join(" ");
        let username = format!("service-account-{}", client.client_id);
        let subject = Subject {
            id: &client.client_id,
            username: &username,
            email: None,
            roles: &[],
        };
        let now = Timestamp::now();
        let jwts = self
            .core
            .issue_jwts((&state, client), &subject, None, (&scope, None), now)?;
        Ok(jwts.into_response(None, None, scope))
    }
}

impl Core {
    /// Parses, digests and looks up a refresh token of this realm. Malformed tokens
    /// are rejected by their checksum before any database access.
    pub(crate) async fn find_refresh_token(
        &self,
        realm: &str,
        presented: &str,
    ) -> Result<(Vec<u8>, RefreshTokenState), TokenError> {
        let parsed = ParsedOpaqueToken::parse(presented)
            .map_err(|_| TokenError::InvalidGrant(INVALID_REFRESH_TOKEN))?;
        if parsed.kind != OpaqueTokenKind::Refresh {
            return Err(TokenError::InvalidGrant(INVALID_REFRESH_TOKEN));
        }
        let digest = self.digester.digest(presented);
        match self.store.find_refresh_token(&digest).await? {
            Some(stored) if stored.family.realm == realm => Ok((digest, stored)),
            _ => Err(TokenError::InvalidGrant(INVALID_REFRESH_TOKEN)),
        }
    }

    /// The session's user, if still allowed in.
    pub(crate) async fn active_user_of(
        &self,
        family: &Family,
        now: Timestamp,
    ) -> Result<User, TokenError> {
        let user = self
            .store
            .find_user_by_id(&family.user_id)
            .await?
            .ok_or(TokenError::InvalidGrant("Session not active"))?;
        self.ensure_user_active(&user, now).await?;
        Ok(user)
    }

    /// Refuses a disabled or expired user, revoking all of their sessions on the spot.
    pub(crate) async fn ensure_user_active(
        &self,
        user: &User,
        now: Timestamp,
    ) -> Result<(), TokenError> {
        if user.is_active(now) {
            return Ok(());
        }
        let realm = &self.realm(&user.realm)?.config;
        self.revoke_user_sessions(realm, &user.id, now, RevocationReason::UserInactive)
            .await?;
        Err(TokenError::AccountDisabled)
    }
}

impl Core {
    /// The authenticated client, if the grant is one it may use.
    pub(crate) fn client_for_grant<'r>(
        &self,
        realm: &'r Realm,
        credentials: &ClientCredentials,
        grant: GrantType,
    ) -> Result<&'r Client, TokenError> {
        let client = self.authenticate_client(realm, credentials)?;
        require_grant(client, grant)?;
        Ok(client)
    }
}

fn require_grant(client: &Client, grant: GrantType) -> Result<(), TokenError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(TokenError::UnauthorizedClient(match grant {
            GrantType::AuthorizationCode => "Client not allowed for the authorization code flow",
            GrantType::DeviceCode => {
                "Client is not allowed to initiate OAuth 2.0 Device Authorization Grant"
            }
            GrantType::Password => "Client not allowed for direct access grants",
            GrantType::RefreshToken => "Client not allowed to use refresh tokens",
            GrantType::ClientCredentials => "Client not enabled to retrieve service account",
        }))
    }
}

/// RFC 6749 §6: a refresh may ask for fewer scopes than the session has, never more.
fn narrow_scope(session_scope: &str, requested: Option<&str>) -> Result<String, TokenError> {
    let Some(requested) = requested.filter(|r| !r.trim().is_empty()) else {
        return Ok(session_scope.to_owned());
    };
    let granted: Vec<&str> = session_scope.split(' ').collect();
    let mut narrowed: Vec<&str> = Vec::new();
    for scope in requested.split_ascii_whitespace() {
        if !granted.contains(&scope) {
            return Err(TokenError::InvalidScope(format!(
                "Scope {scope} was not granted to this session"
            )));
        }
        if !narrowed.contains(&scope) {
            narrowed.push(scope);
        }
    }
    Ok(narrowed.join(" "))
}
