//! `tessera user …`: a realm's users, managed by an operator over the same
//! service calls as the management API's users routes.

use anyhow::bail;
use clap::{Args, Subcommand};
use tessera_token::{
    NewUserRequest, Page, Principal, RoleMappingChange, Services, UserChanges, UserFilter, UserId,
};

use super::{read_password, Console, InRealm};

/// Users `list` shows when not told otherwise.
const DEFAULT_LIST: i64 = 100;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from stdin (or prompted for on a terminal).
    Add {
        #[command(flatten)]
        user: NamedUser,
        #[arg(long)]
        email: Option<String>,
        /// Realm role to grant; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Change a user's email or names.
    Update {
        #[command(flatten)]
        user: NamedUser,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
    },
    /// Set a user's password, read from stdin (or prompted for on a terminal).
    ResetPassword(NamedUser),
    /// Give a user realm roles (repeat `--role`).
    GrantRole(RoleChange),
    /// Take realm roles from a user (repeat `--role`).
    RevokeRole(RoleChange),
    /// Disable a user and revoke all of their sessions and tokens.
    Disable(NamedUser),
    /// Enable a disabled user.
    Enable(NamedUser),
    /// Delete a user with all of their sessions and tokens.
    Delete(NamedUser),
    /// List the realm's users, by username.
    List {
        #[command(flatten)]
        at: InRealm,
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

/// A user of the realm, by `--username`.
#[derive(Debug, Args)]
pub struct NamedUser {
    #[command(flatten)]
    at: InRealm,
    #[arg(long)]
    username: String,
}

/// Realm roles to give a user or take from them.
#[derive(Debug, Args)]
pub struct RoleChange {
    #[command(flatten)]
    user: NamedUser,
    #[arg(long = "role", required = true)]
    roles: Vec<String>,
}

impl NamedUser {
    /// The services, and the user's id.
    async fn open(&self) -> anyhow::Result<(Services, UserId)> {
        self.at.open_for(&self.username).await
    }

    /// Enables or disables the user; looked up first for the message naming
    /// the user and the realm when there is none.
    async fn set_enabled(&self, enabled: bool) -> anyhow::Result<()> {
        let (services, _) = self.open().await?;
        services
            .users
            .set_user_enabled(&self.at.realm, &self.username, enabled)
            .await?;
        Ok(())
    }
}

impl UserCommand {
    pub(super) async fn run(self, console: &mut Console<'_>) -> anyhow::Result<()> {
        let operator = Principal::operator();
        match self {
            Self::Add { user, email, roles } => {
                let services = user.at.open().await?;
                let password = read_password(console)?;
                let NamedUser { at, username } = user;
                let created = services
                    .users
                    .add_user_if_absent(NewUserRequest {
                        realm: at.realm.clone(),
                        username: username.clone(),
                        email,
                        password,
                        enabled: true,
                        valid_until: None,
                        roles,
                    })
                    .await?;
                let realm = at.realm;
                if !created {
                    bail!("user {username:?} already exists in realm {realm:?}");
                }
                writeln!(console.output, "created user {username} in realm {realm}")?;
            }
            Self::Update {
                user,
                email,
                first_name,
                last_name,
            } => {
                if email.is_none() && first_name.is_none() && last_name.is_none() {
                    bail!("nothing to change: give --email, --first-name or --last-name");
                }
                let (services, id) = user.open().await?;
                let changes = UserChanges {
                    email,
                    first_name,
                    last_name,
                    enabled: None,
                };
                services
                    .users
                    .update_user(&user.at.realm, &operator, &id, changes)
                    .await?;
                writeln!(console.output, "updated {}", user.username)?;
            }
            Self::ResetPassword(user) => {
                let (services, id) = user.open().await?;
                let password = read_password(console)?;
                services
                    .users
                    .reset_password(&user.at.realm, &operator, &id, password)
                    .await?;
                writeln!(console.output, "set a new password for {}", user.username)?;
            }
            Self::GrantRole(change) => {
                change.apply((&operator, RoleMappingChange::Give)).await?;
                let roles = change.roles.join(", ");
                writeln!(console.output, "{} now holds {roles}", change.user.username)?;
            }
            Self::RevokeRole(change) => {
                change.apply((&operator, RoleMappingChange::Take)).await?;
                let roles = change.roles.join(", ");
                writeln!(
                    console.output,
                    "{} no longer holds {roles}",
                    change.user.username
                )?;
            }
            Self::Disable(user) => {
                user.set_enabled(false).await?;
                let username = &user.username;
                writeln!(
                    console.output,
                    "disabled {username}; all of their sessions are revoked"
                )?;
            }
            Self::Enable(user) => {
                user.set_enabled(true).await?;
                writeln!(console.output, "enabled {}", user.username)?;
            }
            Self::Delete(user) => {
                let (services, id) = user.open().await?;
                services
                    .users
                    .delete_user_by_id(&user.at.realm, &operator, &id)
                    .await?;
                let username = &user.username;
                writeln!(
                    console.output,
                    "deleted {username} with all of their sessions and tokens"
                )?;
            }
            Self::List {
                at,
                search,
                first,
                max,
            } => {
                let services = at.open().await?;
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
                    .find_users(&at.realm, &operator, &filter, Page { first, max })
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
}

impl RoleChange {
    /// Gives the roles or takes them, as `operator`.
    async fn apply(
        &self,
        (operator, change): (&Principal, RoleMappingChange),
    ) -> anyhow::Result<()> {
        let (services, id) = self.user.open().await?;
        let realm = &self.user.at.realm;
        services
            .users
            .change_role_mappings(realm, operator, &id, (&self.roles, change))
            .await?;
        Ok(())
    }
}
