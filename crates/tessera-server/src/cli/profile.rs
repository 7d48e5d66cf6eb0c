//! `tessera profile …`: a user's token profiles, managed by an operator over
//! the same service as the management API (with every permission, so no grant
//! is too wide, but unknown types and actions are still refused).

use anyhow::{bail, Context};
use clap::Subcommand;
use tessera_proto::{AuthorizationDetail, WILDCARD};
use tessera_token::{
    profile_permissions, PersonalToken, Principal, Timestamp, TokenProfileChanges,
    TokenProfileRequest, Tracked,
};

use super::{Console, OfUser};

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a token profile and print its token, once.
    Create {
        #[command(flatten)]
        owner: OfUser,
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
    List(OfUser),
    /// Show one token profile with its grants.
    Show {
        #[command(flatten)]
        owner: OfUser,
        #[arg(long)]
        token_id: String,
    },
    /// Edit a token profile: at once here, within one feed poll at verifiers.
    Update {
        #[command(flatten)]
        owner: OfUser,
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
        owner: OfUser,
        #[arg(long = "token-id", required = true)]
        token_ids: Vec<String>,
    },
}

/// `type:identifier:Action,Action`, or `admin`.
fn parse_grant(text: &str) -> anyhow::Result<AuthorizationDetail> {
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

fn print_profile(
    console: &mut Console<'_>,
    Tracked {
        token: profile,
        usage,
    }: &Tracked<PersonalToken>,
) -> anyhow::Result<()> {
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
        usage.use_count,
        profile.name
    )?;
    for grant in profile_permissions(profile)?.grants() {
        writeln!(console.output, "  {grant}")?;
    }
    Ok(())
}

/// Every `--grant`, parsed.
pub(super) fn parse_grants(grants: &[String]) -> anyhow::Result<Vec<AuthorizationDetail>> {
    grants.iter().map(|grant| parse_grant(grant)).collect()
}

impl ProfileCommand {
    pub(super) async fn run(self, console: &mut Console<'_>) -> anyhow::Result<()> {
        let operator = Principal::operator();
        match self {
            Self::Create {
                owner,
                token_id,
                name,
                grants,
                expires_at,
                disabled,
            } => {
                let (services, owner_id) = owner.open().await?;
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
                    permissions: parse_grants(&grants)?,
                    expires_at,
                    enabled: !disabled,
                };
                let (profile, token) = services
                    .token_profiles
                    .create_token_profile(&owner.at.realm, &operator, &owner_id, request, None)
                    .await?;
                print_profile(console, &Tracked::unused(profile))?;
                writeln!(console.output, "token (shown once): {}", token.expose())?;
            }
            Self::List(owner) => {
                let (services, owner_id) = owner.open().await?;
                for profile in services
                    .token_profiles
                    .list_token_profiles(&owner.at.realm, &operator, &owner_id)
                    .await?
                {
                    print_profile(console, &profile)?;
                }
            }
            Self::Show { owner, token_id } => {
                let (services, owner_id) = owner.open().await?;
                let profile = services
                    .token_profiles
                    .token_profile(&owner.at.realm, &operator, &owner_id, &token_id)
                    .await?;
                print_profile(console, &profile)?;
            }
            Self::Update {
                owner,
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
                    Some(parse_grants(&grants)?)
                };
                let changes = TokenProfileChanges {
                    name,
                    enabled,
                    permissions,
                };
                let (services, owner_id) = owner.open().await?;
                let profile = services
                    .token_profiles
                    .update_token_profile(
                        &owner.at.realm,
                        &operator,
                        (&owner_id, &token_id),
                        changes,
                        None,
                    )
                    .await?;
                print_profile(console, &profile)?;
            }
            Self::Delete { owner, token_ids } => {
                let (services, owner_id) = owner.open().await?;
                let deleted = services
                    .token_profiles
                    .delete_token_profiles(&owner.at.realm, &operator, &owner_id, &token_ids, None)
                    .await?;
                let user = &owner.user;
                writeln!(
                    console.output,
                    "deleted {deleted} token profile(s) of {user}"
                )?;
            }
        }
        Ok(())
    }
}
