//! Checking and ending sessions: access-token verification, userinfo,
//! introspection (RFC 7662), revocation (RFC 7009) and logout.

use serde::Serialize;
use tessera_proto::{
    AccessTokenClaims, IntrospectionResponse, OpaqueTokenKind, ParsedOpaqueToken, RealmAccess,
};
use tessera_store::{RevocationReason, SessionId, Timestamp};

use crate::introspection::Introspection;
use crate::service::{Core, OAuthService};
use crate::{ClientCredentials, TokenError};

/// OpenID Connect Core §5.3.2 userinfo response.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub sub: String,
    pub preferred_username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Core {
    /// Verifies an access token completely: signature and header, `iss`, `exp`, and
    /// that its session (or, without one, the token itself) was not revoked and its
    /// user is still active.
    pub async fn verify_access_token(
        &self,
        realm: &str,
        token: &str,
    ) -> Result<AccessTokenClaims, TokenError> {
        let state = self.realm(realm)?;
        let claims: AccessTokenClaims = state
            .keys
            .current()
            .ring
            .verify_jwt(token, "at+jwt")
            .map_err(|_| TokenError::InvalidToken)?;
        let now = Timestamp::now();
        if claims.iss != state.config.issuer
            || claims.typ != "Bearer"
            || Timestamp::from_unix_seconds(claims.exp) <= now
        {
            return Err(TokenError::InvalidToken);
        }
        match &claims.identity.sid {
            Some(sid) => {
                let family = self
                    .store
                    .find_family(&SessionId::new(sid))
                    .await?
                    .filter(|family| family.is_live(now) && family.user_id.as_str() == claims.sub)
                    .ok_or(TokenError::InvalidToken)?;
                self.active_user_of(&family, now)
                    .await
                    .map_err(|_| TokenError::InvalidToken)?;
            }
            None => {
                if self
                    .store
                    .is_access_token_revoked(realm, &claims.jti)
                    .await?
                {
                    return Err(TokenError::InvalidToken);
                }
            }
        }
        Ok(claims)
    }
}

impl OAuthService {
    pub async fn userinfo(&self, realm: &str, bearer: &str) -> Result<UserInfo, TokenError> {
        let claims = self.core.verify_access_token(realm, bearer).await?;
        Ok(UserInfo {
            sub: claims.sub,
            preferred_username: claims.identity.preferred_username.unwrap_or_default(),
            email: claims.identity.email,
        })
    }

    /// RFC 7662 introspection, for confidential clients. Anything not currently
    /// valid is `{"active": false}` without a reason.
    /// `address` is the caller's, recorded with each use of a personal token.
    pub async fn introspect(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        token: Option<&str>,
        address: Option<&str>,
    ) -> Result<IntrospectionResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client = self.core.authenticate_client(&state.config, credentials)?;
        if !client.is_confidential() {
            return Err(TokenError::ConfidentialClientRequired);
        }
        let token = token.ok_or_else(|| TokenError::missing_parameter("token"))?;
        // Every opaque kind is named here, so a new kind does not compile until
        // it is decided how it introspects; anything else is tried as a JWT.
        let kind = ParsedOpaqueToken::parse(token).map(|parsed| parsed.kind);
        let request = Introspection {
            realm: &state.config,
            token,
            client_id: &client.client_id,
            address,
        };
        let answer = match kind {
            Ok(OpaqueTokenKind::Expose | OpaqueTokenKind::Profile) => {
                self.core.introspect_bearer_token(request).await
            }
            Ok(OpaqueTokenKind::Refresh) => {
                self.introspect_refresh_token(realm, token, &client.client_id)
                    .await
            }
            Ok(OpaqueTokenKind::Company) => self.core.introspect_company_token(request).await,
            // Checked by the endpoint check only: introspection says nothing of
            // it; codes and browser sessions are no tokens a client holds.
            Ok(
                OpaqueTokenKind::EndpointPrimary
                | OpaqueTokenKind::AuthorizationCode
                | OpaqueTokenKind::BrowserSession
                | OpaqueTokenKind::DeviceCode,
            ) => Err(TokenError::InvalidToken),
            Err(_) => self
                .core
                .verify_access_token(realm, token)
                .await
                .map(|claims| IntrospectionResponse {
                    active: true,
                    scope: Some(claims.scope),
                    client_id: Some(claims.client_id),
                    username: claims.identity.preferred_username,
                    token_type: Some("Bearer".to_owned()),
                    exp: Some(claims.exp),
                    iat: Some(claims.iat),
                    sub: Some(claims.sub),
                    aud: Some(claims.aud),
                    iss: Some(claims.iss),
                    jti: Some(claims.jti),
                    sid: claims.identity.sid,
                    realm_access: Some(claims.realm_access),
                    ..IntrospectionResponse::default()
                }),
        };
        match answer {
            Ok(active) => Ok(active),
            Err(error) if error.is_internal() => Err(error),
            Err(_) => Ok(IntrospectionResponse::inactive()),
        }
    }

    /// A refresh token is active only to the client it was issued to (RFC
    /// 9700 §2.3): any other caller learns nothing about it.
    async fn introspect_refresh_token(
        &self,
        realm: &str,
        token: &str,
        caller: &str,
    ) -> Result<IntrospectionResponse, TokenError> {
        let (_, stored) = self.core.find_refresh_token(realm, token).await?;
        let now = Timestamp::now();
        let family = &stored.family;
        let usable = family.client_id == caller
            && family.is_live(now)
            && stored.consumed_at.is_none()
            && stored.expires_at.is_none_or(|at| now < at);
        if !usable {
            return Err(TokenError::InvalidToken);
        }
        let user = stored.user.clone();
        self.core.ensure_user_active(&user, now).await?;
        Ok(IntrospectionResponse {
            active: true,
            scope: Some(family.scope.clone()),
            client_id: Some(family.client_id.clone()),
            username: Some(user.username),
            token_type: Some(if family.offline { "Offline" } else { "Refresh" }.to_owned()),
            exp: stored.expires_at.map(Timestamp::unix_seconds),
            iat: Some(stored.issued_at.unix_seconds()),
            sub: Some(user.id.into()),
            aud: None,
            iss: Some(self.core.realm(realm)?.config.issuer.clone()),
            jti: None,
            sid: Some(family.id.to_string()),
            realm_access: Some(RealmAccess { roles: user.roles }),
            ..IntrospectionResponse::default()
        })
    }

    /// RFC 7009 revocation. A refresh token revokes its family; an access token
    /// revokes its session, or itself when it has none. Unknown or invalid tokens
    /// are answered with success (§2.2), tokens of another client are refused.
    /// Expose tokens are not revoked here (their user deletes them through the
    /// account API): they get `unsupported_token_type` (§2.2.1), not a success
    /// that did nothing.
    pub async fn revoke(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        token: Option<&str>,
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let client = self.core.authenticate_client(&state.config, credentials)?;
        let token = token.ok_or_else(|| TokenError::missing_parameter("token"))?;
        let now = Timestamp::now();
        if let Ok(parsed) = ParsedOpaqueToken::parse(token) {
            match parsed.kind {
                OpaqueTokenKind::Refresh => {}
                OpaqueTokenKind::Expose
                | OpaqueTokenKind::Profile
                | OpaqueTokenKind::Company
                | OpaqueTokenKind::EndpointPrimary
                | OpaqueTokenKind::AuthorizationCode
                | OpaqueTokenKind::BrowserSession
                | OpaqueTokenKind::DeviceCode => return Err(TokenError::UnsupportedTokenType),
            }
            let stored = match self.core.find_refresh_token(realm, token).await {
                Ok((_, stored)) => stored,
                // Unknown tokens are revoked already (RFC 7009 §2.2); a failing
                // database must not be reported as a successful revocation.
                Err(error) if error.is_internal() => return Err(error),
                Err(_) => return Ok(()),
            };
            if stored.family.client_id != client.client_id {
                return Err(TokenError::UnmatchingClients);
            }
            self.core
                .revoke_session(
                    &state.config,
                    &stored.family.id,
                    now,
                    RevocationReason::Revoked,
                )
                .await?;
            return Ok(());
        }
        let Ok(claims) = state
            .keys
            .current()
            .ring
            .verify_jwt::<AccessTokenClaims>(token, "at+jwt")
        else {
            return Ok(());
        };
        if claims.iss != state.config.issuer {
            return Ok(());
        }
        if claims.azp != client.client_id {
            return Err(TokenError::UnmatchingClients);
        }
        match &claims.identity.sid {
            Some(sid) => {
                self.core
                    .revoke_session(
                        &state.config,
                        &SessionId::new(sid),
                        now,
                        RevocationReason::Revoked,
                    )
                    .await?;
            }
            None => {
                self.core
                    .revoke_single_access_token(&state.config, &claims.jti, claims.exp, now)
                    .await?;
            }
        }
        Ok(())
    }

    /// Keycloak's back-channel logout: ends the session of the presented refresh token.
    pub async fn logout(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        refresh_token: Option<&str>,
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let client = self.core.authenticate_client(&state.config, credentials)?;
        let token = refresh_token.ok_or_else(|| TokenError::missing_parameter("refresh_token"))?;
        let (_, stored) = self.core.find_refresh_token(realm, token).await?;
        if stored.family.client_id != client.client_id {
            return Err(TokenError::InvalidGrant(
                "Invalid refresh token. Token client and authorized client don't match",
            ));
        }
        let now = Timestamp::now();
        if !stored.family.is_live(now) {
            return Err(TokenError::InvalidGrant("Session not active"));
        }
        self.core
            .revoke_session(
                &state.config,
                &stored.family.id,
                now,
                RevocationReason::Logout,
            )
            .await?;
        Ok(())
    }
}
