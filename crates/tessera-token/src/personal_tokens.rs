//! Personal access tokens, managed by their user through the account API.
//!
//! An expose token is an opaque bearer credential a user hands to a third party,
//! stored only as a keyed digest and checked by introspection. A client token is
//! a session (an ordinary refresh-token family) the user creates for a client of
//! the realm, which then refreshes it at the token endpoint on its own.

use std::sync::Arc;
use std::time::Duration;

use tessera_proto::{OpaqueTokenKind, SecretString, TokenResponse};
use tessera_store::{
    Audit, AuditActor, Insertion, NewPersonalToken, PersonalToken, PersonalTokenId,
    PersonalTokenKind, RevocationReason, Timestamp, TokenEvent, TokenSelection, Tracked, User,
    UserId,
};

use crate::ids::hint;
use crate::input::{checked_names, expiry};
use crate::personal_token_request::{KindRequest, PersonalTokenRequest};
use crate::revocation::deletion_now;
use crate::service::{AccountAccess, Core, PersonalTokenService};
use crate::{
    new_opaque_token, new_uuid, PersonalTokenSettings, RealmState, TokenError, ACCOUNT_AUDIENCE,
    OFFLINE_ACCESS,
};

/// Who manages a user's personal tokens.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The user, signed in: `bearer` is an access token of one of their sessions.
    /// Creating a token also takes their current password.
    User { bearer: &'a str },
    /// An operator of the installation (the CLI), acting for the user `username`.
    Operator { username: &'a str },
}

impl Actor<'_> {
    fn audit<'a>(&self, address: Option<&'a str>) -> Audit<'a> {
        let actor = match self {
            Self::User { .. } => AuditActor::User,
            Self::Operator { .. } => AuditActor::Operator,
        };
        Audit {
            actor,
            actor_id: None,
            address,
        }
    }
}

/// Events per page at most.
const MAX_EVENT_PAGE: i64 = 500;

/// A page of a token's events, newest first.
#[derive(Debug, Clone)]
pub struct TokenEventPage {
    pub events: Vec<TokenEvent>,
    /// Where the next page starts (its `before`), when this one was full.
    pub next_before: Option<i64>,
}

/// Which page of a token's events: `limit` events older than the event `before`.
#[derive(Debug, Clone, Copy)]
pub struct EventPage {
    pub before: Option<i64>,
    pub limit: i64,
}

/// What every creation has checked before its kind's own steps.
struct Creation<'a> {
    realm: &'a str,
    state: Arc<RealmState>,
    user: User,
    actor: Actor<'a>,
    address: Option<&'a str>,
    name: String,
    description: Option<String>,
}

impl Creation<'_> {
    /// A token of `kind` created now; the kind fills in the rest.
    fn token(&self, kind: PersonalTokenKind, now: Timestamp) -> Result<PersonalToken, TokenError> {
        Ok(PersonalToken {
            id: PersonalTokenId::new(new_uuid()?),
            realm: self.realm.to_owned(),
            user_id: self.user.id.clone(),
            kind,
            name: self.name.clone(),
            description: self.description.clone(),
            audience: Vec::new(),
            hint: String::new(),
            family_id: None,
            client_id: None,
            offline: false,
            scope: String::new(),
            created_at: now,
            expires_at: None,
            profile: None,
        })
    }
}

/// The secret of a token just created, shown this once.
#[derive(Debug)]
pub enum CreatedSecret {
    /// The expose token itself.
    Expose(SecretString),
    /// The client token's first access and refresh tokens.
    Client(TokenResponse),
}

impl PersonalTokenService {
    /// The user whose tokens `actor` manages: the subject of a valid access token
    /// of a user session in this realm with the `account` audience, or the user
    /// an operator names.
    async fn acting_user(&self, realm: &str, actor: Actor<'_>) -> Result<User, TokenError> {
        match actor {
            Actor::User { bearer } => {
                let claims = self.core.verify_access_token(realm, bearer).await?;
                if claims.identity.sid.is_none() || !claims.aud.contains(ACCOUNT_AUDIENCE) {
                    return Err(TokenError::InvalidToken);
                }
                self.core
                    .store
                    .find_user_by_id(&UserId::new(&claims.sub))
                    .await?
                    .filter(|user| user.realm == realm)
                    .ok_or(TokenError::InvalidToken)
            }
            Actor::Operator { username } => self
                .core
                .store
                .find_user_by_username(realm, username)
                .await?
                .ok_or_else(|| TokenError::InvalidRequest(format!("no user {username:?}"))),
        }
    }

    /// Creates a personal token of the kind the request names, after checking
    /// the user's password; returns the stored token and its secret, which
    /// exists nowhere else.
    pub async fn create_personal_token(
        &self,
        realm: &str,
        actor: Actor<'_>,
        request: PersonalTokenRequest,
        address: Option<&str>,
    ) -> Result<(PersonalToken, CreatedSecret), TokenError> {
        let kind = request.kind_request()?;
        let state = self.core.realm(realm)?;
        let user = self.acting_user(realm, actor).await?;
        let (name, description) = checked_names(request.name, request.description)?;
        let creation = Creation {
            realm,
            state,
            user,
            actor,
            address,
            name,
            description,
        };
        match kind {
            KindRequest::Expose {
                lifetime,
                expires_at,
                audience,
            } => {
                self.create_expose_token(
                    creation,
                    request.password,
                    (lifetime, expires_at),
                    audience,
                )
                .await
            }
            KindRequest::Client { client_id, offline } => {
                self.create_client_token(creation, request.password, client_id, offline)
                    .await
            }
        }
    }

    async fn create_expose_token(
        &self,
        creation: Creation<'_>,
        password: Option<SecretString>,
        (lifetime, expires_at): (Option<Duration>, Option<Timestamp>),
        audience: Option<Vec<String>>,
    ) -> Result<(PersonalToken, CreatedSecret), TokenError> {
        let settings = &creation.state.config.personal_tokens;
        let audience = expose_audience(settings, audience)?;
        let now = Timestamp::now();
        let expires_at = expiry(settings.lifetimes(), now, lifetime, expires_at)?;
        self.reauthenticate(&creation, password).await?;

        let secret = new_opaque_token(OpaqueTokenKind::Expose)?;
        let row = NewPersonalToken {
            token: PersonalToken {
                audience,
                hint: hint(OpaqueTokenKind::Expose, &secret),
                expires_at: Some(expires_at),
                ..creation.token(PersonalTokenKind::Expose, now)?
            },
            digest: Some(self.core.digester.digest(&secret)),
        };
        self.store_token(&creation, &row).await?;
        Ok((row.token, CreatedSecret::Expose(SecretString::new(secret))))
    }

    /// Creates a client token after checking the user's password: a new session of
    /// the chosen client, answered like a token response. The refresh token is
    /// then exchanged at the token endpoint by that client only.
    async fn create_client_token(
        &self,
        creation: Creation<'_>,
        password: Option<SecretString>,
        client_id: String,
        offline: bool,
    ) -> Result<(PersonalToken, CreatedSecret), TokenError> {
        let client = creation
            .state
            .config
            .clients
            .get(&client_id)
            .filter(|client| client.allows_personal_tokens)
            .ok_or_else(|| {
                TokenError::InvalidRequest(format!(
                    "client {:?} does not accept personal tokens",
                    client_id
                ))
            })?;
        if offline && !client.allows_offline() {
            return Err(TokenError::InvalidRequest(format!(
                "client {:?} does not allow offline tokens",
                client_id
            )));
        }
        let now = Timestamp::now();
        self.reauthenticate(&creation, password).await?;
        let limit = creation.state.config.personal_tokens.max_per_user;
        // Checked before the session exists; the insert below checks again under
        // the user's lock, for a concurrent creation.
        if self
            .core
            .store
            .count_personal_tokens(&creation.user.id)
            .await?
            >= limit
        {
            return Err(TokenError::TokenLimitReached);
        }

        let scopes = Core::resolve_scopes(client, offline.then_some(OFFLINE_ACCESS))?;
        let (family, refresh_token, refresh_row) = self
            .core
            .start_session(
                (creation.realm, client),
                &creation.user.id,
                &scopes,
                offline,
                now,
            )
            .await?;
        let row = NewPersonalToken {
            token: PersonalToken {
                hint: hint(OpaqueTokenKind::Refresh, &refresh_token),
                family_id: Some(family.id.clone()),
                client_id: Some(client.client_id.clone()),
                offline: family.offline,
                scope: family.scope.clone(),
                expires_at: family.expires_at,
                ..creation.token(PersonalTokenKind::Client, now)?
            },
            digest: None,
        };
        let response = self.core.respond_for_session(
            (&creation.state, client, now),
            (&creation.user, &family, AccountAccess::Withheld),
            (&family.scope, None),
            (refresh_token, refresh_row.expires_at),
        )?;
        if let Err(refused) = self.store_token(&creation, &row).await {
            // Another creation took the last place meanwhile: undo the session.
            self.core
                .revoke_session(
                    &creation.state.config,
                    &family.id,
                    now,
                    RevocationReason::Revoked,
                )
                .await?;
            return Err(refused);
        }
        Ok((row.token, CreatedSecret::Client(response)))
    }

    /// Stores a new token under the realm's per-user limit (checked under the
    /// user's lock, so concurrent creations cannot exceed it), with its
    /// `created` event; nothing is stored when it is refused.
    async fn store_token(
        &self,
        creation: &Creation<'_>,
        row: &NewPersonalToken,
    ) -> Result<(), TokenError> {
        let limit = creation.state.config.personal_tokens.max_per_user;
        let audit = creation.actor.audit(creation.address);
        self.core.store_personal_token(row, limit, audit).await
    }

    /// A signed-in user creating a token proves it is them again: their password
    /// is checked exactly as at a login, brute-force counting included.
    /// Operators need no password.
    async fn reauthenticate(
        &self,
        creation: &Creation<'_>,
        password: Option<SecretString>,
    ) -> Result<(), TokenError> {
        if let Actor::Operator { .. } = creation.actor {
            return Ok(());
        }
        let password = password.ok_or_else(|| TokenError::missing_parameter("password"))?;
        let proven = self
            .core
            .authenticate_user(&creation.state.config, &creation.user.username, password)
            .await?;
        if proven.id != creation.user.id {
            return Err(TokenError::InvalidUserCredentials);
        }
        Ok(())
    }

    pub async fn list_personal_tokens(
        &self,
        realm: &str,
        actor: Actor<'_>,
    ) -> Result<Vec<Tracked<PersonalToken>>, TokenError> {
        let user = self.acting_user(realm, actor).await?;
        Ok(self.core.store.list_personal_tokens(&user.id).await?)
    }

    /// Deletes one of the user's tokens (another user's token is not found) or
    /// all of them; returns how many were deleted.
    pub async fn delete_personal_tokens(
        &self,
        realm: &str,
        actor: Actor<'_>,
        selection: TokenSelection<'_>,
        address: Option<&str>,
    ) -> Result<usize, TokenError> {
        let state = self.core.realm(realm)?;
        let user = self.acting_user(realm, actor).await?;
        let (now, feed) = deletion_now(&state.config);
        let deleted = self
            .core
            .store
            .delete_personal_tokens(&user.id, selection, now, feed, actor.audit(address))
            .await?;
        if selection != TokenSelection::All && deleted.is_empty() {
            return Err(TokenError::TokenNotFound);
        }
        Ok(deleted.len())
    }

    /// A page of one of the user's tokens' events, newest first; a token of
    /// another user (or none) is not found. Deleted tokens keep their events.
    pub async fn personal_token_events(
        &self,
        realm: &str,
        actor: Actor<'_>,
        id: &str,
        page: EventPage,
    ) -> Result<TokenEventPage, TokenError> {
        let user = self.acting_user(realm, actor).await?;
        if !(1..=MAX_EVENT_PAGE).contains(&page.limit) {
            return Err(TokenError::InvalidRequest(format!(
                "limit must be between 1 and {MAX_EVENT_PAGE}"
            )));
        }
        let events = self
            .core
            .store
            .token_events(&user.id, &PersonalTokenId::new(id), page.before, page.limit)
            .await?;
        if events.is_empty() && page.before.is_none() {
            return Err(TokenError::TokenNotFound);
        }
        let full_page = i64::try_from(events.len()).is_ok_and(|count| count == page.limit);
        let next_before = events.last().filter(|_| full_page).map(|event| event.id);
        Ok(TokenEventPage {
            events,
            next_before,
        })
    }

    /// Waits until every recorded token use is committed (graceful shutdown).
    pub async fn flush_usage(&self) {
        self.core.usage.flush().await;
    }
}

/// Who may accept a new expose token: the requested resource servers, each one
/// of the realm's `expose_audience`, or all of those.
fn expose_audience(
    settings: &PersonalTokenSettings,
    requested: Option<Vec<String>>,
) -> Result<Vec<String>, TokenError> {
    if settings.expose_audience.is_empty() {
        return Err(TokenError::InvalidRequest(
            "this realm names no resource server for expose tokens (expose_audience)".to_owned(),
        ));
    }
    let Some(mut requested) = requested else {
        return Ok(settings.expose_audience.clone());
    };
    requested.sort();
    requested.dedup();
    let allowed = |aud: &String| settings.expose_audience.contains(aud);
    if requested.is_empty() || !requested.iter().all(allowed) {
        return Err(TokenError::InvalidRequest(format!(
            "audience must be one or more of: {}",
            settings.expose_audience.join(", ")
        )));
    }
    Ok(requested)
}

impl Core {
    /// Stores a new personal token of any kind, or says why not (the per-user
    /// limit, a taken profile id); nothing is stored then.
    pub(crate) async fn store_personal_token(
        &self,
        row: &NewPersonalToken,
        limit: i64,
        audit: Audit<'_>,
    ) -> Result<(), TokenError> {
        match self.store.insert_personal_token(row, limit, audit).await? {
            Insertion::Stored => Ok(()),
            Insertion::LimitReached => Err(TokenError::TokenLimitReached),
            Insertion::DuplicateProfileId => Err(TokenError::DuplicateProfileId),
        }
    }
}
