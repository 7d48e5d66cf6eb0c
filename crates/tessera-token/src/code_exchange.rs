//! The authorization code's exchange at the token endpoint (RFC 6749 §4.1.3,
//! RFC 7636 §4.6): single-use, short-lived, bound to its client, redirect URI
//! and PKCE challenge; a replay revokes what the code issued.

use tessera_proto::{OpaqueTokenKind, ParsedOpaqueToken, TokenResponse};
use tessera_store::{BrowserSession, Family, RevocationReason, SessionId, Timestamp};

use crate::authorization::verifier_matches;
use crate::service::{AccountAccess, Core, OAuthService, RealmState};
use crate::{Client, ClientCredentials, GrantType, TokenError, OFFLINE_ACCESS};

const INVALID_CODE: &str = "Code not valid";

impl OAuthService {
    /// Authorization code grant (RFC 6749 §4.1.3): the code is single-use,
    /// short-lived and bound to its client, redirect URI and PKCE challenge.
    /// A code presented again revokes the session it started (§4.1.2).
    pub(crate) async fn authorization_code_grant(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        (code, redirect_uri, code_verifier): (Option<&str>, Option<&str>, Option<&str>),
    ) -> Result<TokenResponse, TokenError> {
        let state = self.core.realm(realm)?;
        let client =
            self.core
                .client_for_grant(&state.config, credentials, GrantType::AuthorizationCode)?;
        let code = code.ok_or_else(|| TokenError::missing_parameter("code"))?;
        match ParsedOpaqueToken::parse(code) {
            Ok(parsed) if parsed.kind == OpaqueTokenKind::AuthorizationCode => {}
            _ => return Err(TokenError::InvalidGrant(INVALID_CODE)),
        }
        let digest = self.core.digester.digest(code);
        let stored = self
            .core
            .store
            .find_authorization_code(&digest)
            .await?
            .filter(|stored| stored.code.realm == realm)
            .ok_or(TokenError::InvalidGrant(INVALID_CODE))?;
        let now = Timestamp::now();
        if stored.consumed_at.is_some() {
            self.revoke_replayed_code(&state, stored.family_id.as_ref(), now)
                .await?;
            return Err(TokenError::InvalidGrant(INVALID_CODE));
        }
        let issued = &stored.code;
        if issued.client_id != client.client_id || now >= issued.expires_at {
            return Err(TokenError::InvalidGrant(INVALID_CODE));
        }
        if redirect_uri != Some(issued.redirect_uri.as_str()) {
            return Err(TokenError::InvalidGrant("Incorrect redirect_uri"));
        }
        match (&issued.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) if verifier_matches(verifier, challenge) => {}
            (Some(_), Some(_)) => return Err(TokenError::InvalidGrant("PKCE verification failed")),
            (Some(_), None) => {
                return Err(TokenError::InvalidGrant("PKCE code verifier not specified"))
            }
            // RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
            (None, Some(_)) => {
                return Err(TokenError::InvalidGrant(
                    "PKCE code verifier given, but no challenge was",
                ))
            }
            (None, None) => {}
        }
        let session = &stored.browser_session;
        if !session.is_live(now, state.config.tokens.session_idle) {
            return Err(TokenError::InvalidGrant("Session not active"));
        }
        let user = &stored.user;
        self.core.ensure_user_active(user, now).await?;
        let family = Core::new_browser_family((realm, client), session, &issued.scope, now)?;
        let (refresh_token, refresh_row) = self.core.new_refresh_token(client, &family, now)?;
        if !self
            .core
            .store
            .redeem_authorization_code(&digest, (now, &family, &refresh_row))
            .await?
        {
            // A concurrent exchange of the same code won (a replay too), or the
            // browser session was logged out meanwhile.
            let current = self.core.store.find_authorization_code(&digest).await?;
            return match current.and_then(|code| code.family_id) {
                Some(winner) => {
                    self.revoke_replayed_code(&state, Some(&winner), now)
                        .await?;
                    Err(TokenError::InvalidGrant(INVALID_CODE))
                }
                None => Err(TokenError::InvalidGrant("Session not active")),
            };
        }
        self.core.respond_for_session(
            (&state, client, now),
            (user, &family, AccountAccess::of_session(client, false)),
            (&family.scope, issued.nonce.as_deref()),
            (refresh_token, refresh_row.expires_at),
        )
    }

    /// RFC 6749 §4.1.2: the tokens issued from a replayed code are revoked.
    async fn revoke_replayed_code(
        &self,
        state: &RealmState,
        family: Option<&SessionId>,
        now: Timestamp,
    ) -> Result<(), TokenError> {
        if let Some(family) = family {
            self.core
                .revoke_session(&state.config, family, now, RevocationReason::CodeReplayed)
                .await?;
            tracing::warn!(family = %family, realm = %state.config.name, "authorization code replayed; session revoked");
        }
        Ok(())
    }
}

impl Core {
    /// A new session of `client` for the user of a browser session, who
    /// signed in there, with the scopes granted (space-separated).
    pub(crate) fn new_browser_family(
        (realm, client): (&str, &Client),
        session: &BrowserSession,
        scope: &str,
        now: Timestamp,
    ) -> Result<Family, TokenError> {
        let scopes: Vec<String> = scope.split_ascii_whitespace().map(str::to_owned).collect();
        let offline = scopes.iter().any(|s| s == OFFLINE_ACCESS);
        let mut family =
            Self::new_family((realm, client), &session.user_id, &scopes, offline, now)?;
        family.auth_time = session.auth_time;
        family.browser_session = Some(session.id.clone());
        Ok(family)
    }
}
