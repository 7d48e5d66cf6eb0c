//! `tessera endpoint …`: endpoints, their primary tokens, secondary tokens and
//! their assignments, and the usage view, managed by an operator over the same
//! services as the management API. Endpoints are named by their path or id,
//! secondary tokens by their name or id.

use std::ops::ControlFlow;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tessera_token::{
    Endpoint, EndpointAuthentication, EndpointChanges, EndpointId, EndpointMethod, EndpointRequest,
    EndpointToken, EndpointTokenChanges, GeneratedPrimaryToken, Principal, Services,
    MAX_ENDPOINT_PAGE,
};

use super::listing::{print_pages, visit_pages};
use super::{Console, InRealm};
use crate::http::EndpointMethodName as Method;

/// An endpoint of the realm.
#[derive(Debug, Args)]
pub struct AtEndpoint {
    #[command(flatten)]
    at: InRealm,
    /// The endpoint's path or id.
    #[arg(long)]
    endpoint: String,
}

/// A secondary token of the realm.
#[derive(Debug, Args)]
pub struct AtToken {
    #[command(flatten)]
    at: InRealm,
    /// The secondary token's name or id.
    #[arg(long)]
    token: String,
}

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Create an endpoint; with --token-auth, print its primary tokens, once.
    Create {
        #[command(flatten)]
        at: InRealm,
        #[arg(long)]
        name: String,
        #[arg(long)]
        path: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Calls need a token: generates the GET and POST primary tokens.
        #[arg(long)]
        token_auth: bool,
        /// The endpoint takes DELETE (with --token-auth: a DELETE token too).
        #[arg(long)]
        allow_delete: bool,
    },
    /// List the realm's endpoints.
    List(InRealm),
    /// Show an endpoint and its primary tokens (never their secrets).
    Show(AtEndpoint),
    /// Change an endpoint; print the primary tokens that generates, once.
    Update {
        #[command(flatten)]
        at: AtEndpoint,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        path: Option<String>,
        /// Token authentication on (true) or off (false).
        #[arg(long)]
        token_auth: Option<bool>,
        #[arg(long)]
        allow_delete: Option<bool>,
    },
    /// Delete an endpoint with its primary tokens and assignments.
    Delete(AtEndpoint),
    /// Replace one method's primary token and print the new one, once.
    Regenerate {
        #[command(flatten)]
        at: AtEndpoint,
        #[arg(long, value_enum)]
        method: Method,
    },
    /// Print a recoverable primary token again (the realm must keep endpoint
    /// tokens recoverable); recorded in the endpoints' trail.
    Reveal {
        #[command(flatten)]
        at: AtEndpoint,
        #[arg(long, value_enum)]
        method: Method,
    },
    /// Print a recoverable secondary token again; recorded likewise.
    RevealToken(AtToken),
    /// Create a secondary token for an application and print it, once.
    CreateToken {
        #[command(flatten)]
        at: InRealm,
        /// The application's name.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the active secondary tokens, or the inactive ones.
    Tokens {
        #[command(flatten)]
        at: InRealm,
        #[arg(long)]
        inactive: bool,
    },
    /// Enable, disable, activate or deactivate a secondary token.
    UpdateToken {
        #[command(flatten)]
        at: AtToken,
        #[arg(long)]
        enabled: Option<bool>,
        #[arg(long)]
        active: Option<bool>,
    },
    /// Delete a secondary token with its assignments.
    DeleteToken(AtToken),
    /// Let a secondary token call the endpoint with these methods (none:
    /// unassign it).
    Assign {
        #[command(flatten)]
        at: AtEndpoint,
        /// The secondary token's name or id.
        #[arg(long)]
        token: String,
        #[arg(long = "method", value_enum)]
        methods: Vec<Method>,
    },
    /// The endpoint's latest calls, optionally one token's.
    Calls {
        #[command(flatten)]
        at: AtEndpoint,
        /// A token id.
        #[arg(long)]
        token: Option<String>,
    },
    /// Which applications call the endpoint.
    Callers(AtEndpoint),
}

fn authentication(token_auth: bool) -> EndpointAuthentication {
    if token_auth {
        EndpointAuthentication::Token
    } else {
        EndpointAuthentication::None
    }
}

async fn endpoint_of(services: &Services, at: &AtEndpoint) -> anyhow::Result<EndpointId> {
    let operator = Principal::operator();
    let endpoints = |page| {
        services
            .endpoints
            .list_endpoints(&at.at.realm, &operator, page)
    };
    let named = |endpoint: Endpoint| {
        if endpoint.path == at.endpoint || endpoint.id.as_str() == at.endpoint {
            ControlFlow::Break(endpoint.id)
        } else {
            ControlFlow::Continue(())
        }
    };
    match visit_pages(MAX_ENDPOINT_PAGE, endpoints, named).await? {
        Some(id) => Ok(id),
        None => bail!("no endpoint {:?} in realm {:?}", at.endpoint, at.at.realm),
    }
}

async fn token_of(services: &Services, realm: &str, token: &str) -> anyhow::Result<EndpointToken> {
    let operator = Principal::operator();
    let mut found = Vec::new();
    for active in [true, false] {
        let tokens = |page| {
            services
                .endpoint_tokens
                .list_endpoint_tokens(realm, &operator, active, page)
        };
        let named = |candidate: EndpointToken| {
            if candidate.name == token || candidate.id.as_str() == token {
                found.push(candidate);
            }
            ControlFlow::<()>::Continue(())
        };
        visit_pages(MAX_ENDPOINT_PAGE, tokens, named).await?;
    }
    match found.len() {
        1 => found.pop().context("one token found"),
        0 => bail!("no endpoint token {token:?} in realm {realm:?}"),
        _ => bail!("several endpoint tokens are named {token:?}: give its id"),
    }
}

fn print_generated(
    console: &mut Console<'_>,
    generated: &[GeneratedPrimaryToken],
) -> anyhow::Result<()> {
    for token in generated {
        writeln!(
            console.output,
            "{} primary token {}  {}",
            token.method,
            token.id,
            token.secret.expose()
        )?;
    }
    Ok(())
}

fn print_token(console: &mut Console<'_>, token: &EndpointToken) -> anyhow::Result<()> {
    writeln!(
        console.output,
        "{}  {}  {}  {}  {}",
        token.id,
        token.hint,
        if token.enabled { "enabled" } else { "disabled" },
        if token.active { "active" } else { "inactive" },
        token.name
    )?;
    Ok(())
}

impl EndpointCommand {
    pub(super) async fn run(self, console: &mut Console<'_>) -> anyhow::Result<()> {
        let operator = Principal::operator();
        match self {
            Self::Create {
                at,
                name,
                path,
                description,
                token_auth,
                allow_delete,
            } => {
                let services = at.open().await?;
                let request = EndpointRequest {
                    name,
                    description,
                    path,
                    authentication: authentication(token_auth),
                    allow_delete,
                };
                let (endpoint, generated) = services
                    .endpoints
                    .create_endpoint(&at.realm, &operator, request)
                    .await?;
                writeln!(
                    console.output,
                    "created endpoint {}  {}",
                    endpoint.id, endpoint.path
                )?;
                print_generated(console, &generated)?;
            }
            Self::List(at) => {
                let services = at.open().await?;
                let endpoints = |page| {
                    services
                        .endpoints
                        .list_endpoints(&at.realm, &operator, page)
                };
                let print = |endpoint: Endpoint| {
                    writeln!(
                        console.output,
                        "{}  {}  {}  {}",
                        endpoint.id,
                        endpoint.path,
                        endpoint.authentication.as_str(),
                        endpoint.name
                    )?;
                    Ok(())
                };
                print_pages(MAX_ENDPOINT_PAGE, endpoints, print).await?;
            }
            Self::Show(at) => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let (endpoint, primaries) = services
                    .endpoints
                    .endpoint(&at.at.realm, &operator, &id)
                    .await?;
                writeln!(
                    console.output,
                    "{}  {}  {}  allow_delete={}  refused_calls={}",
                    endpoint.id,
                    endpoint.path,
                    endpoint.authentication.as_str(),
                    endpoint.allow_delete,
                    endpoint.refused_calls
                )?;
                for primary in primaries {
                    writeln!(
                        console.output,
                        "{} primary token {}  {}",
                        primary.method, primary.id, primary.hint
                    )?;
                }
            }
            Self::Update {
                at,
                name,
                path,
                token_auth,
                allow_delete,
            } => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let changes = EndpointChanges {
                    name,
                    description: None,
                    path,
                    authentication: token_auth.map(authentication),
                    allow_delete,
                };
                let (endpoint, generated) = services
                    .endpoints
                    .update_endpoint(&at.at.realm, &operator, &id, changes)
                    .await?;
                writeln!(console.output, "updated endpoint {}", endpoint.id)?;
                print_generated(console, &generated)?;
            }
            Self::Delete(at) => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                services
                    .endpoints
                    .delete_endpoint(&at.at.realm, &operator, &id)
                    .await?;
                writeln!(console.output, "deleted endpoint {id}")?;
            }
            Self::Regenerate { at, method } => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let generated = services
                    .endpoints
                    .regenerate_primary_token(&at.at.realm, &operator, &id, method.into())
                    .await?;
                print_generated(console, &[generated])?;
            }
            Self::Reveal { at, method } => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let secret = services
                    .endpoints
                    .reveal_primary_token((&at.at.realm, &operator, None), &id, method.into())
                    .await?;
                writeln!(console.output, "{}", secret.expose())?;
            }
            Self::RevealToken(at) => {
                let services = at.at.open().await?;
                let token = token_of(&services, &at.at.realm, &at.token).await?;
                let secret = services
                    .endpoint_tokens
                    .reveal_endpoint_token((&at.at.realm, &operator, None), &token.id)
                    .await?;
                writeln!(console.output, "{}", secret.expose())?;
            }
            Self::CreateToken {
                at,
                name,
                description,
            } => {
                let services = at.open().await?;
                let (token, secret) = services
                    .endpoint_tokens
                    .create_endpoint_token(&at.realm, &operator, (name, description))
                    .await?;
                writeln!(
                    console.output,
                    "created endpoint token {}  {}",
                    token.id,
                    secret.expose()
                )?;
            }
            Self::Tokens { at, inactive } => {
                let services = at.open().await?;
                let tokens = |page| {
                    services
                        .endpoint_tokens
                        .list_endpoint_tokens(&at.realm, &operator, !inactive, page)
                };
                let print = |token| print_token(console, &token);
                print_pages(MAX_ENDPOINT_PAGE, tokens, print).await?;
            }
            Self::UpdateToken {
                at,
                enabled,
                active,
            } => {
                let services = at.at.open().await?;
                let token = token_of(&services, &at.at.realm, &at.token).await?;
                let changes = EndpointTokenChanges {
                    enabled,
                    active,
                    ..EndpointTokenChanges::default()
                };
                let token = services
                    .endpoint_tokens
                    .update_endpoint_token(&at.at.realm, &operator, &token.id, changes)
                    .await?;
                print_token(console, &token)?;
            }
            Self::DeleteToken(at) => {
                let services = at.at.open().await?;
                let token = token_of(&services, &at.at.realm, &at.token).await?;
                services
                    .endpoint_tokens
                    .delete_endpoint_token(&at.at.realm, &operator, &token.id)
                    .await?;
                writeln!(console.output, "deleted endpoint token {}", token.id)?;
            }
            Self::Assign { at, token, methods } => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let token = token_of(&services, &at.at.realm, &token).await?;
                let methods: Vec<EndpointMethod> = methods.into_iter().map(Into::into).collect();
                services
                    .endpoints
                    .assign_endpoint_token(
                        &at.at.realm,
                        &operator,
                        (&id, &token.id),
                        methods.clone(),
                    )
                    .await?;
                let methods: Vec<&str> = methods.iter().map(|method| method.as_str()).collect();
                writeln!(
                    console.output,
                    "{} may call {id} with: {}",
                    token.name,
                    if methods.is_empty() {
                        "nothing (unassigned)".to_owned()
                    } else {
                        methods.join(", ")
                    }
                )?;
            }
            Self::Calls { at, token } => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let calls = services
                    .endpoints
                    .endpoint_calls(
                        &at.at.realm,
                        &operator,
                        &id,
                        (token.as_deref(), None),
                        MAX_ENDPOINT_PAGE,
                    )
                    .await?;
                for call in calls {
                    writeln!(
                        console.output,
                        "{}  {}  {}  {}  {}  {}",
                        call.at.unix_seconds(),
                        call.method,
                        call.outcome.as_str(),
                        call.token_id,
                        call.address.as_deref().unwrap_or("-"),
                        call.token_name
                    )?;
                }
            }
            Self::Callers(at) => {
                let services = at.at.open().await?;
                let id = endpoint_of(&services, &at).await?;
                let callers = services
                    .endpoints
                    .endpoint_callers(&at.at.realm, &operator, &id)
                    .await?;
                for caller in callers {
                    writeln!(
                        console.output,
                        "{}  {}  calls {}  refused {}  last {}  {}",
                        caller.token_id,
                        caller.token_kind.as_str(),
                        caller.calls,
                        caller.refused_calls,
                        caller.last_called_at.unix_seconds(),
                        caller.token_name
                    )?;
                }
            }
        }
        Ok(())
    }
}
