//! `tessera profile …`: a user's token profiles, managed by an operator over
//! the same service as the management API (with every permission, so no grant
//! is too wide, but unknown types and actions are still refused).

use anyhow::{bail, Context};
use clap::Subcommand;
use tessera_proto::{AuthorizationDetail, WILDCARD};
use tessera_token::{
    profile_permissions, PersonalToken, Principal, Timestamp, TokenProfileChanges,
    TokenProfileRequest,
};

use super::{user::user_of, Console};
use crate::StorageConfig;

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a token profile and print its token, once.
    Create {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        /// The owner's username.
        #[arg(long)]
        user: String,
        #[arg(long)]
        token_id: String,
        #[arg(long)]
        name: String,
        /// A grant, `type:identifier:Action,Action` (`*` for all) or `admin`;
        /// repeat for several.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// When the token stops working (RFC 3339); default: never.
        #[arg(long)]
        expires_at: Option<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// List a user's token profiles (never their tokens).
    List {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
    },
    /// Show one token profile with its grants.
    Show {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        token_id: String,
    },
    /// Edit a token profile: at once here, within one feed poll at verifiers.
    Update {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        token_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
        /// Replaces every grant; repeat for several.
        #[arg(long = "grant")]
        grants: Vec<String>,
    },
    /// Delete token profiles (repeat `--token-id`): all of them or none.
    Delete {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long = "token-id", required = true)]
        token_ids: Vec<String>,
    },
}

/// `type:identifier:Action,Action`, or `admin`.
pub(super) fn parse_grant(text: &str) -> anyhow::Result<AuthorizationDetail> {
    if text == "admin" {
        return Ok(AuthorizationDetail {
            resource_type: text.to_owned(),
            identifier: None,
            actions: Vec::new(),
        });
    }
    let mut parts = text.splitn(3, ':');
    let (Some(resource_type), Some(identifier), Some(actions)) =
        (parts.next(), parts.next(), parts.next())
    else {
        bail!("grant {text:?} is not type:identifier:actions (or admin)");
    };
    Ok(AuthorizationDetail {
        resource_type: resource_type.to_owned(),
        identifier: Some(identifier.to_owned()),
        actions: if actions == WILDCARD {
            vec![WILDCARD.to_owned()]
        } else {
            actions.split(',').map(str::to_owned).collect()
        },
    })
}

fn print_profile(console: &mut Console<'_>, profile: &PersonalToken) -> anyhow::Result<()> {
    let Some(fields) = &profile.profile else {
        bail!("{} is not a token profile", profile.id);
    };
    writeln!(
        console.output,
        "{}  {}  {}  uses {}  {}",
        fields.profile_id,
        if fields.enabled {
            "enabled "
        } else {
            "disabled"
        },
        profile.hint,
        profile.use_count,
        profile.name
    )?;
    for grant in profile_permissions(profile)?.grants() {
        writeln!(console.output, "  {grant}")?;
    }
    Ok(())
}

pub(super) async fn run_profile(
    command: ProfileCommand,
    console: &mut Console<'_>,
) -> anyhow::Result<()> {
    let operator = Principal::operator();
    match command {
        ProfileCommand::Create {
            storage,
            realm,
            user,
            token_id,
            name,
            grants,
            expires_at,
            disabled,
        } => {
            let (services, owner) = user_of(&storage, &realm, &user).await?;
            let expires_at = expires_at
                .map(|text| {
                    chrono::DateTime::parse_from_rfc3339(&text)
                        .map(|at| Timestamp::from_millis(at.timestamp_millis()))
                        .with_context(|| format!("--expires-at {text:?}"))
                })
                .transpose()?;
            let request = TokenProfileRequest {
                token_id,
                name,
                permissions: grants
                    .iter()
                    .map(|grant| parse_grant(grant))
                    .collect::<Result<_, _>>()?,
                expires_at,
                enabled: !disabled,
            };
            let (profile, token) = services
                .token_profiles
                .create_token_profile(&realm, &operator, &owner, request, None)
                .await?;
            print_profile(console, &profile)?;
            writeln!(console.output, "token (shown once): {}", token.expose())?;
        }
        ProfileCommand::List {
            storage,
            realm,
            user,
        } => {
            let (services, owner) = user_of(&storage, &realm, &user).await?;
            for profile in services
                .token_profiles
                .list_token_profiles(&realm, &operator, &owner)
                .await?
            {
                print_profile(console, &profile)?;
            }
        }
        ProfileCommand::Show {
            storage,
            realm,
            user,
            token_id,
        } => {
            let (services, owner) = user_of(&storage, &realm, &user).await?;
            let profile = services
                .token_profiles
                .token_profile(&realm, &operator, &owner, &token_id)
                .await?;
            print_profile(console, &profile)?;
        }
        ProfileCommand::Update {
            storage,
            realm,
            user,
            token_id,
            name,
            enable,
            disable,
            grants,
        } => {
            let enabled = match (enable, disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let permissions = if grants.is_empty() {
                None
            } else {
                Some(
                    grants
                        .iter()
                        .map(|grant| parse_grant(grant))
                        .collect::<Result<_, _>>()?,
                )
            };
            let (services, owner) = user_of(&storage, &realm, &user).await?;
            let profile = services
                .token_profiles
                .update_token_profile(
                    &realm,
                    &operator,
                    (&owner, &token_id),
                    TokenProfileChanges {
                        name,
                        enabled,
                        permissions,
                    },
                    None,
                )
                .await?;
            print_profile(console, &profile)?;
        }
        ProfileCommand::Delete {
            storage,
            realm,
            user,
            token_ids,
        } => {
            let (services, owner) = user_of(&storage, &realm, &user).await?;
            let deleted = services
                .token_profiles
                .delete_token_profiles(&realm, &operator, &owner, &token_ids, None)
                .await?;
            writeln!(
                console.output,
                "deleted {deleted} token profile(s) of {user}"
            )?;
        }
    }
    Ok(())
}
