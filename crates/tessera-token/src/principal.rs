//! Who calls the management API and what they may do. A caller is a user
//! signed in through a management client (their roles' grants), a token
//! profile's token (its own grants) or an operator of the installation (the
//! CLI: everything). Every decision the routes need is made here, over the
//! permission model of `tessera-authz`.

use tessera_authz::{Grant, Permissions, TesseraAction};
use tessera_proto::{OpaqueTokenKind, ParsedOpaqueToken};
use tessera_store::{Audit, AuditActor, PersonalTokenId, UseOutcome, User, UserId};

use crate::introspection::profile_permissions;
use crate::service::Core;
use crate::{RealmState, TokenError};

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An access token of a user's session with a management client.
    User,
    /// A token profile's token (the profile's id in the store).
    Profile(PersonalTokenId),
    /// An operator of the installation, through the CLI.
    Operator,
}

/// A caller of the management API.
#[derive(Debug, Clone)]
pub struct Principal {
    kind: PrincipalKind,
    /// The signed-in user, or the profile's owner; none for an operator.
    user: Option<User>,
    permissions: Permissions,
}

impl Principal {
    /// An operator of the installation may do everything.
    pub fn operator() -> Self {
        Self {
            kind: PrincipalKind::Operator,
            user: None,
            permissions: Permissions::admin(),
        }
    }

    /// A signed-in user holding no permission at all: what every check that
    /// must come before the caller's permissions is tested with.
    #[cfg(test)]
    pub(crate) fn powerless() -> Self {
        Self {
            kind: PrincipalKind::User,
            user: None,
            permissions: Permissions::default(),
        }
    }

    pub fn kind(&self) -> &PrincipalKind {
        &self.kind
    }

    /// The user, or the profile's owner.
    pub fn user(&self) -> Option<&User> {
        self.user.as_ref()
    }

    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    pub(crate) fn audit<'a>(&'a self, address: Option<&'a str>) -> Audit<'a> {
        let actor = match self.kind {
            PrincipalKind::Operator => AuditActor::Operator,
            PrincipalKind::User | PrincipalKind::Profile(_) => AuditActor::Management,
        };
        Audit {
            actor,
            actor_id: self.user.as_ref().map(|user| &user.id),
            address,
        }
    }

    fn is_user(&self, user_id: &UserId) -> bool {
        self.user.as_ref().is_some_and(|user| &user.id == user_id)
    }

    /// May the caller do `action` on `owner`'s token profile `token_id` (or, with
    /// `None`, on some of them, as a list or a creation asks)? A user holds
    /// every action on their own profiles; a profile token what it was granted,
    /// on its owner's; only `admin` reaches another user's, which are otherwise
    /// not even seen (their user is not found).
    pub(crate) fn require_token_action(
        &self,
        owner: &UserId,
        action: TesseraAction,
        token_id: Option<&str>,
    ) -> Result<(), TokenError> {
        if self.permissions.is_admin() {
            return Ok(());
        }
        if !self.is_user(owner) {
            return Err(TokenError::UserNotFound);
        }
        if self.kind == PrincipalKind::User || self.may(action, token_id) {
            Ok(())
        } else {
            Err(TokenError::Forbidden(action))
        }
    }

    /// May the caller do `action` on the user `id`? Not at all: 403. On some
    /// other users only: this one is not even seen (404).
    pub(crate) fn require_user_action(
        &self,
        action: TesseraAction,
        id: &UserId,
    ) -> Result<(), TokenError> {
        self.require_action_on(action, id.as_str(), TokenError::UserNotFound)
    }

    /// May the caller do `action` on the resource `id`? Not at all: 403. On
    /// some other resources of the type only: this one is `hidden` (a 404).
    pub(crate) fn require_action_on(
        &self,
        action: TesseraAction,
        id: &str,
        hidden: TokenError,
    ) -> Result<(), TokenError> {
        if self.may(action, Some(id)) {
            Ok(())
        } else if self.may(action, None) {
            Err(hidden)
        } else {
            Err(TokenError::Forbidden(action))
        }
    }

    /// May the caller do `action` on every user (`*`), as listing, counting
    /// and creating users need?
    pub(crate) fn require_on_every(&self, action: TesseraAction) -> Result<(), TokenError> {
        if self
            .permissions
            .permits_every(action.resource_type(), action.name())
        {
            Ok(())
        } else {
            Err(TokenError::Forbidden(action))
        }
    }

    /// Whether the caller's grants allow `action` on the resource `id` of the
    /// action's type, or with `None` on some resource of it.
    pub(crate) fn may(&self, action: TesseraAction, id: Option<&str>) -> bool {
        let (resource_type, action) = (action.resource_type(), action.name());
        match id {
            Some(id) => self.permissions.permits(resource_type, id, action),
            None => self.permissions.permits_some(resource_type, action),
        }
    }

    /// What the caller may put into a token profile of its own user: its
    /// grants, and for a user also every action on their own profiles. No
    /// escalation: nothing beyond this can be granted.
    pub(crate) fn grantable(&self) -> Permissions {
        let mut grantable = self.permissions.clone();
        if self.kind == PrincipalKind::User {
            if let Ok(own_tokens) =
                Grant::new(TesseraAction::CreateToken.resource_type(), None, &[])
            {
                grantable.add(own_tokens);
            }
        }
        grantable
    }
}

impl Core {
    /// The caller presenting `bearer` to the management API of `state`'s realm:
    /// a user's access token from a client marked `management`, or a token
    /// profile's token (whose use is recorded like an introspection).
    pub(crate) async fn management_principal(
        &self,
        state: &RealmState,
        bearer: &str,
        address: Option<&str>,
    ) -> Result<Principal, TokenError> {
        let realm = &state.config;
        if let Ok(parsed) = ParsedOpaqueToken::parse(bearer) {
            if parsed.kind != OpaqueTokenKind::Profile {
                return Err(TokenError::InvalidToken);
            }
            let checked = self
                .check_bearer_token(realm, bearer, (None, address), |_| true)
                .await?;
            if checked.outcome != UseOutcome::Active || checked.token.profile.is_none() {
                return Err(TokenError::InvalidToken);
            }
            return Ok(Principal {
                permissions: profile_permissions(&checked.token)?,
                kind: PrincipalKind::Profile(checked.token.id),
                user: Some(checked.user),
            });
        }
        let claims = self.verify_access_token(&realm.name, bearer).await?;
        let from_management_client = realm
            .clients
            .get(&claims.client_id)
            .is_some_and(|client| client.management);
        if claims.identity.sid.is_none() || !from_management_client {
            return Err(TokenError::InvalidToken);
        }
        let user = self
            .store
            .find_user_by_id(&UserId::new(&claims.sub))
            .await?
            .filter(|user| user.realm == realm.name)
            .ok_or(TokenError::InvalidToken)?;
        Ok(Principal {
            permissions: realm.permissions_of_roles(user.roles.iter().map(String::as_str)),
            kind: PrincipalKind::User,
            user: Some(user),
        })
    }
}
