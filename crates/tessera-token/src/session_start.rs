//! Starting a user session (a refresh-token family) and the token response
//! of one: what every grant that signs a user in ends with.

use tessera_proto::{OpaqueTokenKind, TokenResponse};
use tessera_store::{Family, NewRefreshToken, SessionId, Timestamp, User, UserId};

use crate::service::{AccountAccess, Core, RealmState, Subject};
use crate::{new_opaque_token, new_uuid, Client, TokenError};

impl Core {
    /// Starts a session (a refresh-token family) of `client` for the user, with
    /// its first refresh token, durably; an offline session has no absolute end.
    pub(crate) async fn start_session(
        &self,
        (realm, client): (&str, &Client),
        user_id: &UserId,
        scopes: &[String],
        offline: bool,
        now: Timestamp,
    ) -> Result<(Family, String, NewRefreshToken), TokenError> {
        let family = Self::new_family((realm, client), user_id, scopes, offline, now)?;
        let (refresh_token, refresh_row) = self.new_refresh_token(client, &family, now)?;
        self.store.create_family(&family, &refresh_row).await?;
        Ok((family, refresh_token, refresh_row))
    }

    /// A new session of `client` for the user, signed in now and not through
    /// a browser (the caller says otherwise where it was).
    pub(crate) fn new_family(
        (realm, client): (&str, &Client),
        user_id: &UserId,
        scopes: &[String],
        offline: bool,
        now: Timestamp,
    ) -> Result<Family, TokenError> {
        Ok(Family {
            id: SessionId::new(new_uuid()?),
            realm: realm.to_owned(),
            client_id: client.client_id.clone(),
            user_id: user_id.clone(),
            scope: scopes.join(" "),
            offline,
            created_at: now,
            expires_at: (!offline).then_some(now.saturating_add(client.tokens.session_max)),
            revoked_at: None,
            auth_time: now,
            browser_session: None,
        })
    }

    /// When a refresh token issued now stops working: the idle window, capped by the
    /// session's absolute end; offline tokens follow the offline idle window only.
    pub(crate) fn refresh_expiry(
        &self,
        client: &Client,
        family: &Family,
        now: Timestamp,
    ) -> Option<Timestamp> {
        if family.offline {
            client
                .tokens
                .offline_idle
                .map(|idle| now.saturating_add(idle))
        } else {
            let idle_end = now.saturating_add(client.tokens.session_idle);
            Some(family.expires_at.map_or(idle_end, |end| idle_end.min(end)))
        }
    }

    pub(crate) fn new_refresh_token(
        &self,
        client: &Client,
        family: &Family,
        now: Timestamp,
    ) -> Result<(String, NewRefreshToken), TokenError> {
        let token = new_opaque_token(OpaqueTokenKind::Refresh)?;
        let row = NewRefreshToken {
            digest: self.digester.digest(&token),
            family_id: family.id.clone(),
            issued_at: now,
            expires_at: self.refresh_expiry(client, family, now),
        };
        Ok((token, row))
    }

    /// The token response of a user session; `refresh` is the refresh token issued
    /// (or, without rotation, kept) and its stored expiry; `nonce` is the
    /// authorization request's, for the ID token of a code exchange.
    pub(crate) fn respond_for_session(
        &self,
        (state, client, now): (&RealmState, &Client, Timestamp),
        (user, family, account): (&User, &Family, AccountAccess),
        (scope, nonce): (&str, Option<&str>),
        refresh: (String, Option<Timestamp>),
    ) -> Result<TokenResponse, TokenError> {
        let subject = Subject {
            id: user.id.as_str(),
            username: &user.username,
            email: user.email.as_deref(),
            roles: &user.roles,
        };
        let jwts = self.issue_jwts(
            (state, client),
            &subject,
            Some((family, account)),
            (scope, nonce),
            now,
        )?;
        let (refresh_token, expires_at) = refresh;
        // Keycloak reports 0 for offline tokens, whatever their idle window.
        let refresh_expires_in = match (family.offline, expires_at) {
            (false, Some(at)) => {
                i64::try_from(at.saturating_duration_since(now).as_secs()).unwrap_or(i64::MAX)
            }
            _ => 0,
        };
        Ok(jwts.into_response(
            Some((refresh_token, refresh_expires_in)),
            Some(family.id.to_string()),
            scope.to_owned(),
        ))
    }
}
