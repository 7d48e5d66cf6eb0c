//! User administration used by the CLI and the realm loader.

use tessera_proto::SecretString;
use tessera_store::{Timestamp, User, UserChanges, UserId};

use crate::principal::Principal;
use crate::service::UserService;
use crate::{is_argon2_phc, new_uuid, TokenError};

/// A user to create. `password` is either plaintext (hashed here) or an argon2
/// PHC string (imported as is).
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    pub realm: String,
    pub username: String,
    pub email: Option<String>,
    pub password: SecretString,
    pub enabled: bool,
    pub valid_until: Option<Timestamp>,
    pub roles: Vec<String>,
}

impl UserService {
    /// Creates the user unless the username is taken; returns whether it did. The
    /// database owns users afterwards: an existing user is never overwritten.
    pub async fn add_user_if_absent(&self, request: NewUserRequest) -> Result<bool, TokenError> {
        self.core.realm(&request.realm)?;
        if self
            .core
            .store
            .find_user_by_username(&request.realm, &request.username)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        // An imported hash is kept as it is, unpeppered, until the user's
        // next successful login replaces it.
        let imported = is_argon2_phc(request.password.expose());
        let password_hash = if imported {
            request.password.expose().to_owned()
        } else {
            self.core.hasher.hash(request.password).await?
        };
        let user = User {
            id: UserId::new(new_uuid()?),
            realm: request.realm,
            username: request.username,
            email: request.email,
            first_name: None,
            last_name: None,
            password_hash,
            password_peppered: !imported,
            enabled: request.enabled,
            valid_until: request.valid_until,
            roles: request.roles,
            created_at: Timestamp::now(),
        };
        Ok(self.core.store.insert_user_if_absent(&user).await?)
    }

    /// Creates a user a realm file defines, unless the username is taken or an
    /// operator deleted that user; returns whether it did.
    pub async fn seed_user_if_absent(&self, request: NewUserRequest) -> Result<bool, TokenError> {
        if self
            .core
            .store
            .was_user_deleted(&request.realm, &request.username)
            .await?
        {
            return Ok(false);
        }
        self.add_user_if_absent(request).await
    }

    /// Enables or disables the user `username` as an operator; disabling
    /// revokes every session and token at once, offline ones included. Fails
    /// with [`TokenError::UserNotFound`] when there is no such user.
    pub async fn set_user_enabled(
        &self,
        realm: &str,
        username: &str,
        enabled: bool,
    ) -> Result<(), TokenError> {
        let user = self
            .find_user_by_username(realm, username)
            .await?
            .ok_or(TokenError::UserNotFound)?;
        let changes = UserChanges {
            enabled: Some(enabled),
            ..UserChanges::default()
        };
        self.update_user(realm, &Principal::operator(), &user.id, changes)
            .await
    }

    pub async fn find_user_by_username(
        &self,
        realm: &str,
        username: &str,
    ) -> Result<Option<User>, TokenError> {
        self.core.realm(realm)?;
        Ok(self
            .core
            .store
            .find_user_by_username(realm, username)
            .await?)
    }
}
