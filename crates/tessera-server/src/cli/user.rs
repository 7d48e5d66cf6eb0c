//! `tessera user …`: a realm's users, managed by an operator over the same
//! service calls as the management API's users routes.

use anyhow::{bail, Context};
use clap::Subcommand;
use tessera_token::{NewUserRequest, Principal, Services, UserChanges, UserFilter, UserId};

use super::{read_password, Console, ADMIN_PUBLIC_URL};
use crate::{open_service, StorageConfig};

/// Users `list` shows when not told otherwise.
const DEFAULT_LIST: i64 = 100;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from stdin (or prompted for on a terminal).
    Add {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Realm role to grant; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Change a user's email or names.
    Update {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
    /// Set a user's password, read from stdin (or prompted for on a terminal).
    ResetPassword {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
    },
    /// Give a user realm roles (repeat `--role`).
    GrantRole {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Take realm roles from a user (repeat `--role`).
    RevokeRole {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Disable a user and revoke all of their sessions and tokens.
    Disable {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
    },
    /// Delete a user with all of their sessions and tokens.
    Delete {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
    },
    /// List the realm's users, by username.
    List {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        /// Only users whose username, email or names contain this.
        #[arg(long)]
        search: Option<String>,
        /// How many users to skip.
        #[arg(long, default_value_t = 0)]
        first: i64,
        /// How many users at most.
        #[arg(long, default_value_t = DEFAULT_LIST)]
        max: i64,
    },
}

/// The services, and the id of the user `username` of `realm`.
pub(super) async fn user_of(
    storage: &StorageConfig,
    realm: &str,
    username: &str,
) -> anyhow::Result<(Services, UserId)> {
    let services = open_service(storage, ADMIN_PUBLIC_URL).await?;
    let id = services
        .users
        .find_user_by_username(realm, username)
        .await?
        .map(|user| user.id)
        .with_context(|| format!("no user {username:?} in realm {realm:?}"))?;
    Ok((services, id))
}

pub(super) async fn run_user(
    command: UserCommand,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let operator = Principal::operator();
    match command {
        UserCommand::Add {
            storage,
            realm,
            username,
            email,
            roles,
        } => {
            let services = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let password = read_password(console)?;
            let created = services
                .users
                .add_user_if_absent(NewUserRequest {
                    realm: realm.clone(),
                    username: username.clone(),
                    email,
                    password,
                    enabled: true,
                    valid_until: None,
                    roles,
                })
                .await?;
            if !created {
                bail!("user {username:?} already exists in realm {realm:?}");
            }
            writeln!(console.output, "created user {username} in realm {realm}")?;
        }
        UserCommand::Update {
            storage,
            realm,
            username,
            email,
            first_name,
            last_name,
        } => {
            if email.is_none() && first_name.is_none() && last_name.is_none() {
                bail!("nothing to change: give --email, --first-name or --last-name");
            }
            let (services, id) = user_of(&storage, &realm, &username).await?;
            let changes = UserChanges {
                email,
                first_name,
                last_name,
                enabled: None,
            };
            services
                .users
                .update_user(&realm, &operator, &id, changes)
                .await?;
            writeln!(console.output, "updated {username}")?;
        }
        UserCommand::ResetPassword {
            storage,
            realm,
            username,
        } => {
            let (services, id) = user_of(&storage, &realm, &username).await?;
            let password = read_password(console)?;
            services
                .users
                .reset_password(&realm, &operator, &id, password)
                .await?;
            writeln!(console.output, "set a new password for {username}")?;
        }
        UserCommand::GrantRole {
            storage,
            realm,
            username,
            roles,
        } => {
            let (services, id) = user_of(&storage, &realm, &username).await?;
            services
                .users
                .change_role_mappings(&realm, &operator, &id, (&roles, true))
                .await?;
            writeln!(console.output, "{username} now holds {}", roles.join(", "))?;
        }
        UserCommand::RevokeRole {
            storage,
            realm,
            username,
            roles,
        } => {
            let (services, id) = user_of(&storage, &realm, &username).await?;
            services
                .users
                .change_role_mappings(&realm, &operator, &id, (&roles, false))
                .await?;
            writeln!(
                console.output,
                "{username} no longer holds {}",
                roles.join(", ")
            )?;
        }
        UserCommand::Disable {
            storage,
            realm,
            username,
        } => {
            // Looked up first for the message naming the user and the realm.
            let (services, _) = user_of(&storage, &realm, &username).await?;
            services
                .users
                .set_user_enabled(&realm, &username, false)
                .await?;
            writeln!(
                console.output,
                "disabled {username}; all of their sessions are revoked"
            )?;
        }
        UserCommand::Enable {
            storage,
            realm,
            username,
        } => {
            // Looked up first for the message naming the user and the realm.
            let (services, _) = user_of(&storage, &realm, &username).await?;
            services
                .users
                .set_user_enabled(&realm, &username, true)
                .await?;
            writeln!(console.output, "enabled {username}")?;
        }
        UserCommand::Delete {
            storage,
            realm,
            username,
        } => {
            let (services, id) = user_of(&storage, &realm, &username).await?;
            services
                .users
                .delete_user_by_id(&realm, &operator, &id)
                .await?;
            writeln!(
                console.output,
                "deleted {username} with all of their sessions and tokens"
            )?;
        }
        UserCommand::List {
            storage,
            realm,
            search,
            first,
            max,
        } => {
            let services = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let filter = UserFilter {
                search,
                ..UserFilter::default()
            };
            writeln!(
                console.output,
                "{:<36}  {:<24}  {:<8}  roles",
                "id", "username", "enabled"
            )?;
            for user in services
                .users
                .find_users(&realm, &operator, &filter, (first, max))
                .await?
            {
                writeln!(
                    console.output,
                    "{:<36}  {:<24}  {:<8}  {}",
                    user.id,
                    user.username,
                    user.enabled,
                    user.roles.join(",")
                )?;
            }
        }
    }
    Ok(())
}
