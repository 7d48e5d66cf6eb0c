//! RFC 7662 introspection of the opaque bearer tokens users own: expose tokens
//! and token profiles. Both are looked up by their keyed digest, and every use
//! of a known one is recorded (off the request path). [`Introspection`], the
//! request, is what every opaque kind's introspection takes, company tokens'
//! too.

use tessera_authz::Permissions;
use tessera_proto::{Audience, AuthorizationDetail, IntrospectionResponse, RealmAccess};
use tessera_store::{
    PersonalToken, PersonalTokenKind, Presentation, StoreError, Timestamp, TokenUse, Tracked,
    UseOutcome, User,
};

use crate::service::Core;
use crate::{Realm, TokenError};

/// An RFC 7662 introspection request of an opaque token, by an authenticated
/// confidential client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Introspection<'a> {
    pub realm: &'a Realm,
    pub token: &'a str,
    pub client_id: &'a str,
    /// The caller's, recorded with the use.
    pub address: Option<&'a str>,
}

impl<'a> Introspection<'a> {
    /// Who presented the token, as its use is recorded.
    pub(crate) fn presenter(&self) -> (Option<&'a str>, Option<&'a str>) {
        (Some(self.client_id), self.address)
    }
}

/// A bearer token found by its digest, with its user, checked now.
pub(crate) struct CheckedBearer {
    pub token: PersonalToken,
    pub user: User,
    pub outcome: UseOutcome,
}

impl Core {
    /// The expose token or token profile `token` of `realm`, with the outcome of
    /// using it now for a caller that `audience_ok` says it was meant for; the
    /// use is recorded. Unknown tokens are [`TokenError::InvalidToken`].
    pub(crate) async fn check_bearer_token(
        &self,
        realm: &Realm,
        token: &str,
        (client_id, address): (Option<&str>, Option<&str>),
        audience_ok: impl FnOnce(&PersonalToken) -> bool,
    ) -> Result<CheckedBearer, TokenError> {
        let (Tracked { token: stored, .. }, user) = self
            .store
            .find_bearer_token(&realm.name, &self.digester.digest(token))
            .await?
            .ok_or(TokenError::InvalidToken)?;
        let now = Timestamp::now();
        let outcome = if !audience_ok(&stored) {
            UseOutcome::WrongAudience
        } else if stored
            .profile
            .as_ref()
            .is_some_and(|profile| !profile.enabled)
        {
            UseOutcome::Disabled
        } else if stored.expires_at.is_some_and(|at| now >= at) {
            UseOutcome::Expired
        } else if !user.is_active(now) {
            UseOutcome::UserInactive
        } else {
            UseOutcome::Active
        };
        self.usage
            .record(TokenUse {
                token_id: stored.id.clone(),
                realm: stored.realm.clone(),
                user_id: user.id.clone(),
                presentation: Presentation::new((client_id, address), outcome, now),
            })
            .await;
        Ok(CheckedBearer {
            token: stored,
            user,
            outcome,
        })
    }

    /// RFC 7662 introspection of an expose token or a token profile for the
    /// confidential client `client_id`. Only a resource server the token was
    /// meant for learns that it is active (RFC 7662 §4, RFC 9700 §2.3): an
    /// expose token's audience, or for a profile the realm's `expose_audience`.
    pub(crate) async fn introspect_bearer_token(
        &self,
        request: Introspection<'_>,
    ) -> Result<IntrospectionResponse, TokenError> {
        let audience_of = |stored: &PersonalToken| {
            if stored.audience.is_empty() {
                request.realm.personal_tokens.expose_audience.clone()
            } else {
                stored.audience.clone()
            }
        };
        let checked = self
            .check_bearer_token(
                request.realm,
                request.token,
                request.presenter(),
                |stored| {
                    audience_of(stored)
                        .iter()
                        .any(|aud| aud == request.client_id)
                },
            )
            .await?;
        if checked.outcome != UseOutcome::Active {
            return Err(TokenError::InvalidToken);
        }
        let CheckedBearer { token, user, .. } = checked;
        let audience = audience_of(&token);
        let permissions = match token.kind {
            PersonalTokenKind::Profile => Some(profile_details(&token)?),
            PersonalTokenKind::Expose | PersonalTokenKind::Client => None,
        };
        let mut answer = IntrospectionResponse {
            active: true,
            token_type: Some(token.kind.as_str().to_owned()),
            username: Some(user.username),
            exp: token.expires_at.map(Timestamp::unix_seconds),
            iat: Some(token.created_at.unix_seconds()),
            sub: Some(user.id.into()),
            aud: Some(Audience::from_list(audience)),
            iss: Some(request.realm.issuer.clone()),
            jti: Some(token.id.into()),
            realm_access: Some(RealmAccess { roles: user.roles }),
            ..IntrospectionResponse::default()
        };
        match (token.kind, &token.profile) {
            (PersonalTokenKind::Profile, Some(profile)) => {
                answer.authorization_details = permissions;
                answer.token_id = Some(profile.profile_id.clone());
                answer.name = Some(token.name);
            }
            (PersonalTokenKind::Expose, _) => answer.scope = Some(token.scope),
            (PersonalTokenKind::Profile | PersonalTokenKind::Client, _) => {
                return Err(TokenError::InvalidToken)
            }
        }
        Ok(answer)
    }
}

/// A token profile's permissions, as the service wrote them after checking
/// them: a token that is no profile, or a value that does not parse, is corrupt.
pub fn profile_permissions(token: &PersonalToken) -> Result<Permissions, TokenError> {
    stored_permissions(stored_profile_permissions(token)?)
}

fn profile_details(token: &PersonalToken) -> Result<Vec<AuthorizationDetail>, TokenError> {
    stored_details(stored_profile_permissions(token)?)
}

fn stored_profile_permissions(token: &PersonalToken) -> Result<&str, TokenError> {
    let profile = token.profile.as_ref().ok_or_else(corrupt_permissions)?;
    Ok(&profile.permissions)
}

/// Permissions the service stored after checking them (RFC 9396 details as
/// JSON): a value that does not parse is corrupt.
pub(crate) fn stored_permissions(stored: &str) -> Result<Permissions, TokenError> {
    Permissions::from_details(&stored_details(stored)?).map_err(|_| corrupt_permissions())
}

/// Stored permissions as introspection answers them. They were written only
/// after [`Permissions`] checked them, so on this hot path one parse suffices.
pub(crate) fn stored_details(stored: &str) -> Result<Vec<AuthorizationDetail>, TokenError> {
    serde_json::from_str(stored).map_err(|_| corrupt_permissions())
}

fn corrupt_permissions() -> TokenError {
    TokenError::Store(StoreError::Corrupt("stored permissions"))
}
