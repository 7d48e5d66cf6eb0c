//! The users of a realm as the management API manages them (a subset of
//! Keycloak's admin API): search, read, create, edit, reset a password, delete,
//! and realm role mappings. Every call takes the caller's [`Principal`], and no
//! caller may act on a user whose roles grant more than the caller holds, nor
//! give a role that does.

use tessera_authz::{Permissions, TesseraAction};
use tessera_proto::SecretString;
use tessera_store::{Page, RevocationReason, Timestamp, User, UserChanges, UserFilter, UserId};

use crate::principal::Principal;
use crate::revocation::deletion_now;
use crate::service::{Core, UserService};
use crate::{new_uuid, Realm, TokenError, MAX_PASSWORD_BYTES};

/// Users per page at most (Keycloak's `max`).
pub const MAX_USERS_PER_PAGE: i64 = 1000;
/// Longest username, email and name accepted, in characters.
const MAX_FIELD_CHARS: usize = 255;

/// What [`UserService::change_role_mappings`] does with the roles named:
/// Keycloak's `POST` and `DELETE` on a user's realm role mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleMappingChange {
    Give,
    Take,
}

/// A user the management API creates.
#[derive(Debug, Clone)]
pub struct UserRequest {
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub password: Option<SecretString>,
}

impl UserService {
    /// A page of the realm's users the filter finds; needs `user:ListUsers` on
    /// every user.
    pub async fn find_users(
        &self,
        realm: &str,
        principal: &Principal,
        filter: &UserFilter,
        page: Page,
    ) -> Result<Vec<User>, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ListUsers)?;
        if page.first < 0 || !(0..=MAX_USERS_PER_PAGE).contains(&page.max) {
            return Err(TokenError::InvalidRequest(format!(
                "first must not be negative and max must be between 0 and {MAX_USERS_PER_PAGE}"
            )));
        }
        Ok(self.core.store.find_users(realm, filter, page).await?)
    }

    pub async fn count_users(
        &self,
        realm: &str,
        principal: &Principal,
        filter: &UserFilter,
    ) -> Result<i64, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ListUsers)?;
        Ok(self.core.store.count_users(realm, filter).await?)
    }

    /// The user with this id; needs `user:ReadUserConfig` on them.
    pub async fn user(
        &self,
        realm: &str,
        principal: &Principal,
        id: &UserId,
    ) -> Result<User, TokenError> {
        self.core.realm(realm)?;
        principal.require_user_action(TesseraAction::ReadUserConfig, id)?;
        self.core.realm_user(realm, id).await
    }

    /// Creates a user with no roles; needs `user:CreateUser` on every user. A
    /// taken username is a conflict.
    pub async fn create_user(
        &self,
        realm: &str,
        principal: &Principal,
        request: UserRequest,
    ) -> Result<User, TokenError> {
        self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::CreateUser)?;
        let username = checked_field("username", request.username)?;
        let password_hash = match request.password {
            Some(password) => self.core.hasher.hash(checked_password(password)?).await?,
            // No password: the user cannot sign in until one is set, and a
            // hash of fresh random bytes matches nothing anyone can type.
            None => {
                let unusable = SecretString::new(format!("{}{}", new_uuid()?, new_uuid()?));
                self.core.hasher.hash(unusable).await?
            }
        };
        let contact = checked_changes(UserChanges {
            email: request.email,
            first_name: request.first_name,
            last_name: request.last_name,
            enabled: None,
        })?;
        let user = User {
            id: UserId::new(new_uuid()?),
            realm: realm.to_owned(),
            username,
            email: contact.email,
            first_name: contact.first_name,
            last_name: contact.last_name,
            password_hash,
            password_peppered: true,
            enabled: request.enabled,
            valid_until: None,
            roles: Vec::new(),
            created_at: Timestamp::now(),
        };
        if !self.core.store.insert_user_if_absent(&user).await? {
            return Err(TokenError::DuplicateUsername);
        }
        Ok(user)
    }

    /// Edits a user; disabling one revokes all of their sessions and tokens.
    pub async fn update_user(
        &self,
        realm: &str,
        principal: &Principal,
        id: &UserId,
        changes: UserChanges,
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let user = self
            .managed_user(&state.config, principal, TesseraAction::UpdateUser, id)
            .await?;
        let changes = checked_changes(changes)?;
        self.core.store.update_user(&user.id, &changes).await?;
        if changes.enabled == Some(false) {
            self.core
                .revoke_user_sessions(
                    &state.config,
                    &user.id,
                    Timestamp::now(),
                    RevocationReason::UserInactive,
                )
                .await?;
        }
        Ok(())
    }

    /// Sets a new password; needs `user:UpdateUser` on them.
    pub async fn reset_password(
        &self,
        realm: &str,
        principal: &Principal,
        id: &UserId,
        password: SecretString,
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let user = self
            .managed_user(&state.config, principal, TesseraAction::UpdateUser, id)
            .await?;
        let hash = self.core.hasher.hash(checked_password(password)?).await?;
        self.core.store.set_password_hash(&user.id, &hash).await?;
        Ok(())
    }

    /// Deletes a user with all of their sessions and tokens, every one of them
    /// reported on the revocation feed.
    pub async fn delete_user_by_id(
        &self,
        realm: &str,
        principal: &Principal,
        id: &UserId,
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let user = self
            .managed_user(&state.config, principal, TesseraAction::DeleteUser, id)
            .await?;
        let (now, feed) = deletion_now(&state.config);
        self.core
            .store
            .delete_user((realm, &user.username), (now, feed), principal.audit(None))
            .await?;
        Ok(())
    }

    /// The realm's roles; needs `user:ListRoles` on every user.
    pub fn realm_roles(
        &self,
        realm: &str,
        principal: &Principal,
    ) -> Result<Vec<String>, TokenError> {
        let state = self.core.realm(realm)?;
        principal.require_on_every(TesseraAction::ListRoles)?;
        Ok(state.config.roles.clone())
    }

    /// Gives the user these realm roles, or takes them away. Each role must
    /// exist, and grant nothing the caller does not hold.
    pub async fn change_role_mappings(
        &self,
        realm: &str,
        principal: &Principal,
        id: &UserId,
        (roles, change): (&[String], RoleMappingChange),
    ) -> Result<(), TokenError> {
        let state = self.core.realm(realm)?;
        let user = self
            .managed_user(&state.config, principal, TesseraAction::UpdateUser, id)
            .await?;
        for role in roles {
            if !state.config.roles.contains(role) {
                return Err(TokenError::RoleNotFound);
            }
        }
        principal
            .permissions()
            .check_grantable(
                &state
                    .config
                    .permissions_of_roles(roles.iter().map(String::as_str)),
            )
            .map_err(TokenError::Escalation)?;
        let mut now_held = user.roles;
        match change {
            RoleMappingChange::Give => {
                for role in roles {
                    if !now_held.contains(role) {
                        now_held.push(role.clone());
                    }
                }
            }
            RoleMappingChange::Take => now_held.retain(|held| !roles.contains(held)),
        }
        self.core.store.set_user_roles(&user.id, &now_held).await?;
        Ok(())
    }

    /// The user `id`, if the caller may do `action` on them and holds every
    /// grant their roles give: no one manages a user more powerful than itself.
    async fn managed_user(
        &self,
        realm: &Realm,
        principal: &Principal,
        action: TesseraAction,
        id: &UserId,
    ) -> Result<User, TokenError> {
        principal.require_user_action(action, id)?;
        let user = self.core.realm_user(&realm.name, id).await?;
        let theirs: Permissions = realm.permissions_of_roles(user.roles.iter().map(String::as_str));
        principal
            .permissions()
            .check_grantable(&theirs)
            .map_err(TokenError::Escalation)?;
        Ok(user)
    }
}

/// Trimmed, 1 to 255 characters, no control characters.
fn checked_field(field: &str, text: String) -> Result<String, TokenError> {
    crate::input::checked_text(field, text, MAX_FIELD_CHARS)
}

/// The email and names checked, as Keycloak's representation names them.
fn checked_changes(changes: UserChanges) -> Result<UserChanges, TokenError> {
    let checked = |field: &str, value: Option<String>| {
        value.map(|text| checked_field(field, text)).transpose()
    };
    Ok(UserChanges {
        email: checked("email", changes.email)?,
        first_name: checked("firstName", changes.first_name)?,
        last_name: checked("lastName", changes.last_name)?,
        enabled: changes.enabled,
    })
}

fn checked_password(password: SecretString) -> Result<SecretString, TokenError> {
    let length = password.expose().len();
    if length == 0 || length > MAX_PASSWORD_BYTES {
        return Err(TokenError::InvalidRequest(format!(
            "a password must be 1 to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(password)
}

impl Core {
    /// The user `id` of `realm`; one of another realm is not found.
    pub(crate) async fn realm_user(&self, realm: &str, id: &UserId) -> Result<User, TokenError> {
        self.store
            .find_user_by_id(id)
            .await?
            .filter(|user| user.realm == realm)
            .ok_or(TokenError::UserNotFound)
    }
}
