//! Token profiles: API tokens a user owns whose permissions say which
//! resources of which type they may touch, with which actions. Their secret is
//! shown once, at creation; an edit takes effect at the next introspection here
//! and, through the feed's `changed` entry, at every verifier within one poll.

use std::collections::HashSet;

use tessera_authz::{Permissions, TesseraAction};
use tessera_proto::{AuthorizationDetail, OpaqueTokenKind, SecretString};
use tessera_store::{
    NewPersonalToken, PersonalToken, PersonalTokenId, PersonalTokenKind, ProfileChanges,
    ProfileFields, Timestamp, TokenSelection, Tracked, UserId,
};

use crate::ids::hint;
use crate::input::{checked_text, expiry};
use crate::principal::Principal;
use crate::revocation::deletion_feed;
use crate::service::TokenProfileService;
use crate::{new_opaque_token, new_uuid, Realm, TokenError};

/// A profile id is a short slug its owner picks: it names the profile in URLs.
const MAX_TOKEN_ID_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 100;
/// Profiles one call may delete.
pub const MAX_PROFILES_PER_DELETE: usize = 100;

/// A new token profile, as the management API and the CLI receive it.
#[derive(Debug, Clone)]
pub struct TokenProfileRequest {
    pub token_id: String,
    pub name: String,
    pub permissions: Vec<AuthorizationDetail>,
    /// `None`: the token does not expire.
    pub expires_at: Option<Timestamp>,
    pub enabled: bool,
}

/// An edit of a token profile; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct TokenProfileChanges {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub permissions: Option<Vec<AuthorizationDetail>>,
}

impl TokenProfileService {
    /// The caller presenting `bearer` to the management API.
    pub async fn principal(
        &self,
        realm: &str,
        bearer: &str,
        address: Option<&str>,
    ) -> Result<Principal, TokenError> {
        let state = self.core.realm(realm)?;
        self.core
            .management_principal(&state, bearer, address)
            .await
    }

    /// Creates a profile for `owner`; returns it and its token, which exists
    /// nowhere else.
    pub async fn create_token_profile(
        &self,
        realm: &str,
        principal: &Principal,
        owner: &UserId,
        request: TokenProfileRequest,
        address: Option<&str>,
    ) -> Result<(PersonalToken, SecretString), TokenError> {
        let state = self.core.realm(realm)?;
        principal.require_token_action(
            owner,
            TesseraAction::CreateToken,
            Some(&request.token_id),
        )?;
        let token_id = checked_token_id(request.token_id)?;
        let name = checked_text("name", request.name, MAX_NAME_CHARS)?;
        let permissions = checked_permissions(&state.config, principal, &request.permissions)?;
        let now = Timestamp::now();
        let settings = &state.config.personal_tokens;
        let expires_at = request
            .expires_at
            .map(|at| expiry(settings.lifetimes(), now, None, Some(at)))
            .transpose()?;
        let user = self.core.realm_user(realm, owner).await?;

        let secret = new_opaque_token(OpaqueTokenKind::Profile)?;
        let row = NewPersonalToken {
            token: PersonalToken {
                id: PersonalTokenId::new(new_uuid()?),
                realm: realm.to_owned(),
                user_id: user.id,
                kind: PersonalTokenKind::Profile,
                name,
                description: None,
                audience: Vec::new(),
                hint: hint(OpaqueTokenKind::Profile, &secret),
                family_id: None,
                client_id: None,
                offline: false,
                scope: String::new(),
                created_at: now,
                expires_at,
                profile: Some(ProfileFields {
                    profile_id: token_id,
                    enabled: request.enabled,
                    permissions: stored_form(&permissions)?,
                    updated_at: None,
                }),
            },
            digest: Some(self.core.digester.digest(&secret)),
        };
        self.core
            .store_personal_token(&row, settings.max_per_user, principal.audit(address))
            .await?;
        Ok((row.token, SecretString::new(secret)))
    }

    /// `owner`'s profiles the caller may list, newest first.
    pub async fn list_token_profiles(
        &self,
        realm: &str,
        principal: &Principal,
        owner: &UserId,
    ) -> Result<Vec<Tracked<PersonalToken>>, TokenError> {
        self.core.realm(realm)?;
        principal.require_token_action(owner, TesseraAction::ListTokens, None)?;
        let user = self.core.realm_user(realm, owner).await?;
        let tokens = self.core.store.list_personal_tokens(&user.id).await?;
        Ok(tokens
            .into_iter()
            .filter(|listed| {
                listed.token.profile.as_ref().is_some_and(|profile| {
                    principal
                        .require_token_action(
                            owner,
                            TesseraAction::ListTokens,
                            Some(&profile.profile_id),
                        )
                        .is_ok()
                })
            })
            .collect())
    }

    pub async fn token_profile(
        &self,
        realm: &str,
        principal: &Principal,
        owner: &UserId,
        token_id: &str,
    ) -> Result<Tracked<PersonalToken>, TokenError> {
        self.core.realm(realm)?;
        principal.require_token_action(owner, TesseraAction::ReadTokenConfig, Some(token_id))?;
        let user = self.core.realm_user(realm, owner).await?;
        self.core
            .store
            .find_token_profile(&user.id, token_id)
            .await?
            .ok_or(TokenError::TokenNotFound)
    }

    /// Edits a profile: at once here, within one feed poll at every verifier.
    pub async fn update_token_profile(
        &self,
        realm: &str,
        principal: &Principal,
        (owner, token_id): (&UserId, &str),
        changes: TokenProfileChanges,
        address: Option<&str>,
    ) -> Result<Tracked<PersonalToken>, TokenError> {
        let state = self.core.realm(realm)?;
        principal.require_token_action(owner, TesseraAction::UpdateToken, Some(token_id))?;
        if changes.name.is_none() && changes.enabled.is_none() && changes.permissions.is_none() {
            return Err(TokenError::InvalidRequest(
                "nothing to change: give a name, enabled or permissions".to_owned(),
            ));
        }
        let name = changes
            .name
            .map(|name| checked_text("name", name, MAX_NAME_CHARS))
            .transpose()?;
        let permissions = changes
            .permissions
            .map(|details| {
                checked_permissions(&state.config, principal, &details)
                    .and_then(|permissions| stored_form(&permissions))
            })
            .transpose()?;
        let user = self.core.realm_user(realm, owner).await?;
        let now = Timestamp::now();
        let notice_until = deletion_feed(&state.config, now).expose_until;
        self.core
            .store
            .update_token_profile(
                (&user.id, token_id),
                &ProfileChanges {
                    name,
                    enabled: changes.enabled,
                    permissions,
                },
                (now, notice_until),
                principal.audit(address),
            )
            .await?
            .ok_or(TokenError::TokenNotFound)
    }

    /// Deletes `owner`'s profiles with these ids, all of them or (when one is
    /// not found or not the caller's to delete) none; returns how many.
    pub async fn delete_token_profiles(
        &self,
        realm: &str,
        principal: &Principal,
        owner: &UserId,
        token_ids: &[String],
        address: Option<&str>,
    ) -> Result<usize, TokenError> {
        let state = self.core.realm(realm)?;
        let token_ids: Vec<String> = token_ids
            .iter()
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if token_ids.is_empty() || token_ids.len() > MAX_PROFILES_PER_DELETE {
            return Err(TokenError::InvalidRequest(format!(
                "name 1 to {MAX_PROFILES_PER_DELETE} token profiles to delete"
            )));
        }
        for token_id in &token_ids {
            principal.require_token_action(owner, TesseraAction::DeleteToken, Some(token_id))?;
        }
        let user = self.core.realm_user(realm, owner).await?;
        let now = Timestamp::now();
        let deleted = self
            .core
            .store
            .delete_personal_tokens(
                &user.id,
                TokenSelection::Profiles(&token_ids),
                now,
                deletion_feed(&state.config, now),
                principal.audit(address),
            )
            .await?;
        if deleted.is_empty() {
            return Err(TokenError::TokenNotFound);
        }
        Ok(deleted.len())
    }
}

/// A slug: letters, digits, `-`, `_` and `.`, starting with a letter or digit.
fn checked_token_id(token_id: String) -> Result<String, TokenError> {
    let mut chars = token_id.chars();
    let slug = token_id.chars().count() <= MAX_TOKEN_ID_CHARS
        && chars
            .next()
            .is_some_and(|first| first.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if slug {
        Ok(token_id)
    } else {
        Err(TokenError::InvalidRequest(format!(
            "token_id must be 1 to {MAX_TOKEN_ID_CHARS} letters, digits, '-', '_' or '.', \
             starting with a letter or digit"
        )))
    }
}

/// The grants requested: well formed, known to the realm's catalog, and no
/// wider than what the caller may grant.
pub(crate) fn checked_permissions(
    realm: &Realm,
    principal: &Principal,
    details: &[AuthorizationDetail],
) -> Result<Permissions, TokenError> {
    let permissions = Permissions::from_details(details).map_err(TokenError::InvalidGrants)?;
    realm
        .catalog
        .check(&permissions)
        .map_err(TokenError::InvalidGrants)?;
    principal
        .grantable()
        .check_grantable(&permissions)
        .map_err(TokenError::Escalation)?;
    Ok(permissions)
}

pub(crate) fn stored_form(permissions: &Permissions) -> Result<String, TokenError> {
    serde_json::to_string(&permissions.to_details())
        .map_err(|_| TokenError::InvalidRequest("permissions cannot be stored".to_owned()))
}
