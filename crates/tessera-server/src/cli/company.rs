//! `tessera company …`: companies, their members, subscriptions, assignments
//! and tokens, managed by an operator over the same services as the management
//! API. Companies and subscriptions are named by their name or their id, users
//! by their username.

use std::ops::ControlFlow;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tessera_token::{
    AssignmentChange, Company, CompanyId, CompanyToken, CompanyTokenFilter, CompanyTokenHolder,
    CompanyTokenId, CompanyTokenRequest, CompanyTokenSelection, Principal, Services, Subscription,
    SubscriptionRequest, Timestamp, Tracked, UserId, MAX_COMPANY_PAGE, MAX_COMPANY_TOKEN_PAGE,
};

use super::listing::{print_pages, visit_pages};
use super::profile::parse_grants;
use super::{user_id, Console, InRealm};
use crate::duration::parse_duration;

/// The realm and the company a command acts in.
#[derive(Debug, Args)]
pub struct InCompany {
    #[command(flatten)]
    at: InRealm,
    /// The company's name or id.
    #[arg(long)]
    company: String,
}

impl InCompany {
    fn realm(&self) -> &str {
        &self.at.realm
    }
}

/// A subscription of the company.
#[derive(Debug, Args)]
pub struct InSubscription {
    #[command(flatten)]
    company: InCompany,
    /// The subscription's name or id.
    #[arg(long)]
    subscription: String,
}

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Create a company.
    Create {
        #[command(flatten)]
        at: InRealm,
        #[arg(long)]
        name: String,
    },
    /// List the realm's companies.
    List(InRealm),
    /// Delete a company with its members, subscriptions and tokens.
    Delete(InCompany),
    /// Add a member, or give a member these company roles instead of theirs.
    AddMember {
        #[command(flatten)]
        at: InCompany,
        /// The member's username.
        #[arg(long)]
        user: String,
        /// A company role (`company-admin` manages the company); repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Remove a member with their assignments and tokens in the company.
    RemoveMember {
        #[command(flatten)]
        at: InCompany,
        #[arg(long)]
        user: String,
    },
    /// List the company's members.
    Members(InCompany),
    /// Create a subscription to one API of the realm.
    Subscribe {
        #[command(flatten)]
        at: InCompany,
        #[arg(long)]
        name: String,
        /// The client id of the API.
        #[arg(long)]
        audience: String,
        /// A grant its tokens carry, `type:identifier:Action,Action`; repeat for several.
        #[arg(long = "grant")]
        grants: Vec<String>,
    },
    /// List the company's subscriptions.
    Subscriptions(InCompany),
    /// Assign a member to a subscription.
    Assign {
        #[command(flatten)]
        at: InSubscription,
        #[arg(long)]
        user: String,
    },
    /// End an assignment, deleting the user's tokens for the subscription.
    Unassign {
        #[command(flatten)]
        at: InSubscription,
        #[arg(long)]
        user: String,
    },
    /// Generate a token for a subscription and print it, once.
    GenerateToken {
        #[command(flatten)]
        at: InSubscription,
        /// The assigned member it is for; without it the token is userless.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        name: String,
        /// How long it lives (e.g. 30d); default: the realm's.
        #[arg(long, value_parser = parse_duration)]
        lifetime: Option<Duration>,
    },
    /// List the company's tokens (never their secrets).
    Tokens {
        #[command(flatten)]
        at: InCompany,
        /// Only this subscription's (name or id).
        #[arg(long)]
        subscription: Option<String>,
        /// Only this user's.
        #[arg(long, conflicts_with = "userless")]
        user: Option<String>,
        /// Only userless tokens.
        #[arg(long)]
        userless: bool,
    },
    /// Delete one token.
    DeleteToken {
        #[command(flatten)]
        at: InSubscription,
        #[arg(long)]
        token_id: String,
    },
    /// Print the company's audit trail, newest first.
    Events(InCompany),
}

/// The services, and the company named (by name or id).
async fn company_of(at: &InCompany) -> anyhow::Result<(Services, CompanyId)> {
    let services = at.at.open().await?;
    let operator = Principal::operator();
    let named = |company: Company| {
        if company.name == at.company || company.id.as_str() == at.company {
            ControlFlow::Break(company.id)
        } else {
            ControlFlow::Continue(())
        }
    };
    let companies = |page| {
        services
            .companies
            .list_companies(at.realm(), &operator, page)
    };
    match visit_pages(MAX_COMPANY_PAGE, companies, named).await? {
        Some(id) => Ok((services, id)),
        None => bail!("no company {:?} in realm {:?}", at.company, at.realm()),
    }
}

async fn subscription_of(
    services: &Services,
    at: &InCompany,
    (company, subscription): (&CompanyId, &str),
) -> anyhow::Result<Subscription> {
    services
        .subscriptions
        .list_subscriptions(at.realm(), &Principal::operator(), company)
        .await?
        .into_iter()
        .find(|found| found.name == subscription || found.id.as_str() == subscription)
        .with_context(|| format!("no subscription {subscription:?} in {:?}", at.company))
}

/// Assigns the user to the subscription, or ends the assignment.
async fn change_assignment(
    at: &InSubscription,
    username: &str,
    change: AssignmentChange,
) -> anyhow::Result<()> {
    let (services, company) = company_of(&at.company).await?;
    let realm = at.company.realm();
    let subscription =
        subscription_of(&services, &at.company, (&company, &at.subscription)).await?;
    let user = user_id(&services, realm, username).await?;
    let ids = (&company, &subscription.id, &user);
    services
        .subscriptions
        .change_assignment(realm, &Principal::operator(), ids, (change, None))
        .await?;
    Ok(())
}

fn print_token(
    console: &mut Console<'_>,
    Tracked { token, usage }: &Tracked<CompanyToken>,
) -> anyhow::Result<()> {
    writeln!(
        console.output,
        "{}  {}  {}  expires {}  uses {}  {}",
        token.id,
        token.subscription_id,
        token.user_id.as_ref().map_or("userless", UserId::as_str),
        token.expires_at.unix_seconds(),
        usage.use_count,
        token.name
    )?;
    Ok(())
}

impl CompanyCommand {
    pub(super) async fn run(self, console: &mut Console<'_>) -> anyhow::Result<()> {
        let operator = Principal::operator();
        match self {
            Self::Create { at, name } => {
                let company = at
                    .open()
                    .await?
                    .companies
                    .create_company(&at.realm, &operator, name, None)
                    .await?;
                writeln!(
                    console.output,
                    "created company {}  {}",
                    company.id, company.name
                )?;
            }
            Self::List(at) => {
                let services = at.open().await?;
                let companies = |page| {
                    services
                        .companies
                        .list_companies(&at.realm, &operator, page)
                };
                let print = |company: Company| {
                    writeln!(console.output, "{}  {}", company.id, company.name)?;
                    Ok(())
                };
                print_pages(MAX_COMPANY_PAGE, companies, print).await?;
            }
            Self::Delete(at) => {
                let (services, company) = company_of(&at).await?;
                services
                    .companies
                    .delete_company(at.realm(), &operator, &company, None)
                    .await?;
                writeln!(console.output, "deleted company {}", at.company)?;
            }
            Self::AddMember { at, user, roles } => {
                let (services, company) = company_of(&at).await?;
                let id = user_id(&services, at.realm(), &user).await?;
                let added = services
                    .companies
                    .put_member(at.realm(), &operator, (&company, &id), (roles, None))
                    .await?;
                let done = if added { "added" } else { "updated" };
                writeln!(console.output, "{done} member {user}")?;
            }
            Self::RemoveMember { at, user } => {
                let (services, company) = company_of(&at).await?;
                let id = user_id(&services, at.realm(), &user).await?;
                services
                    .companies
                    .remove_member(at.realm(), &operator, (&company, &id), None)
                    .await?;
                writeln!(console.output, "removed member {user}")?;
            }
            Self::Members(at) => {
                let (services, company) = company_of(&at).await?;
                for member in services
                    .companies
                    .members(at.realm(), &operator, &company)
                    .await?
                {
                    let roles = member.roles.join(",");
                    writeln!(
                        console.output,
                        "{}  {}  {roles}",
                        member.user.id, member.user.username
                    )?;
                }
            }
            Self::Subscribe {
                at,
                name,
                audience,
                grants,
            } => {
                let (services, company) = company_of(&at).await?;
                let request = SubscriptionRequest {
                    name,
                    audience,
                    permissions: parse_grants(&grants)?,
                    valid_from: None,
                    valid_until: None,
                    enabled: true,
                };
                let subscription = services
                    .subscriptions
                    .create_subscription(at.realm(), &operator, &company, (request, None))
                    .await?;
                writeln!(
                    console.output,
                    "created subscription {}  {}",
                    subscription.id, subscription.name
                )?;
            }
            Self::Subscriptions(at) => {
                let (services, company) = company_of(&at).await?;
                let now = Timestamp::now();
                for subscription in services
                    .subscriptions
                    .list_subscriptions(at.realm(), &operator, &company)
                    .await?
                {
                    let state = if subscription.is_active(now) {
                        "active  "
                    } else {
                        "inactive"
                    };
                    writeln!(
                        console.output,
                        "{}  {state}  {}  {}",
                        subscription.id, subscription.audience, subscription.name
                    )?;
                }
            }
            Self::Assign { at, user } => {
                change_assignment(&at, &user, AssignmentChange::Assign).await?;
                writeln!(console.output, "assigned {user}")?;
            }
            Self::Unassign { at, user } => {
                change_assignment(&at, &user, AssignmentChange::Unassign).await?;
                writeln!(console.output, "unassigned {user}")?;
            }
            Self::GenerateToken {
                at,
                user,
                name,
                lifetime,
            } => {
                let (services, company) = company_of(&at.company).await?;
                let subscription =
                    subscription_of(&services, &at.company, (&company, &at.subscription)).await?;
                let user = match &user {
                    Some(username) => Some(user_id(&services, at.company.realm(), username).await?),
                    None => None,
                };
                let request = CompanyTokenRequest {
                    user,
                    name,
                    lifetime,
                };
                let generated = services
                    .subscriptions
                    .create_company_token(
                        at.company.realm(),
                        &operator,
                        (&company, &subscription.id),
                        (request, None),
                    )
                    .await?;
                print_token(console, &Tracked::unused(generated.token))?;
                writeln!(
                    console.output,
                    "token (shown once): {}",
                    generated.secret.expose()
                )?;
            }
            Self::Tokens {
                at,
                subscription,
                user,
                userless,
            } => {
                let (services, company) = company_of(&at).await?;
                let subscription = match &subscription {
                    Some(named) => {
                        Some(subscription_of(&services, &at, (&company, named)).await?.id)
                    }
                    None => None,
                };
                let user = match &user {
                    Some(username) => Some(user_id(&services, at.realm(), username).await?),
                    None => None,
                };
                let holder = match (&user, userless) {
                    (Some(user), _) => CompanyTokenHolder::User(user),
                    (None, true) => CompanyTokenHolder::Userless,
                    (None, false) => CompanyTokenHolder::Anyone,
                };
                let filter = CompanyTokenFilter {
                    subscription: subscription.as_ref(),
                    holder,
                };
                let tokens = |page| {
                    services.subscriptions.company_tokens(
                        at.realm(),
                        &operator,
                        &company,
                        (filter, page),
                    )
                };
                let print = |token| print_token(console, &token);
                print_pages(MAX_COMPANY_TOKEN_PAGE, tokens, print).await?;
            }
            Self::DeleteToken { at, token_id } => {
                let (services, company) = company_of(&at.company).await?;
                let subscription =
                    subscription_of(&services, &at.company, (&company, &at.subscription)).await?;
                let token = CompanyTokenId::new(token_id);
                services
                    .subscriptions
                    .delete_company_tokens(
                        at.company.realm(),
                        &operator,
                        (&company, &subscription.id),
                        (CompanyTokenSelection::One(&token), None),
                    )
                    .await?;
                writeln!(console.output, "deleted token {token}")?;
            }
            Self::Events(at) => {
                let (services, company) = company_of(&at).await?;
                for event in services
                    .companies
                    .events(at.realm(), &operator, &company, (None, MAX_COMPANY_PAGE))
                    .await?
                {
                    writeln!(
                        console.output,
                        "{}  {}  actor {}  user {}  token {}  {}",
                        event.at.unix_seconds(),
                        event.event.as_str(),
                        event.actor_id.as_ref().map_or("-", UserId::as_str),
                        event.user_id.as_ref().map_or("-", UserId::as_str),
                        event.token_id.as_ref().map_or("-", CompanyTokenId::as_str),
                        event.outcome.as_str(),
                    )?;
                }
            }
        }
        Ok(())
    }
}
