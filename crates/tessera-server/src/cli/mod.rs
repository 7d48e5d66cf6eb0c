//! The `tessera` command line: `serve`, `migrate`, and user, key, personal-token,
//! token-profile, company and endpoint administration.

mod company;
mod endpoint;
mod profile;
mod user;

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tessera_proto::SecretString;
use tessera_token::{
    Actor, CreatedSecret, PersonalTokenId, PersonalTokenKind, PersonalTokenRequest, TokenSelection,
};

use crate::{migrate_database, open_service, ServeConfig, StorageConfig};

#[derive(Debug, Parser)]
#[command(name = "tessera", version, about = "Tessera authorization server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrations run first).
    Serve(ServeConfig),
    /// Run database migrations and exit.
    Migrate(StorageConfig),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage a user's personal access tokens (as an operator: no password asked).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage a user's token profiles (as an operator).
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Manage companies, their members, subscriptions and tokens (as an operator).
    #[command(subcommand)]
    Company(company::CompanyCommand),
    /// Manage endpoints, their primary and secondary tokens, and read their
    /// usage (as an operator).
    #[command(subcommand)]
    Endpoint(endpoint::EndpointCommand),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TokenType {
    Expose,
    Client,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List a user's tokens (never their secrets).
    List {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
    },
    /// Create a token for a user and print its secret, once.
    Create {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long = "type", value_enum, default_value = "expose")]
        kind: TokenType,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Expose tokens: how long it lives (`90d`, `12h`); default: the realm's.
        #[arg(long)]
        lifetime: Option<String>,
        /// Expose tokens: a resource server that may accept it (repeat for
        /// several); default: the realm's whole `expose_audience`.
        #[arg(long = "audience")]
        audience: Vec<String>,
        /// Client tokens: the client the session is for.
        #[arg(long)]
        client_id: Option<String>,
        /// Client tokens: an offline session.
        #[arg(long)]
        offline: bool,
    },
    /// Delete one of a user's tokens (`--id`) or all of them (`--all`).
    Revoke {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the realm's published signing keys.
    List {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
    },
    /// Make a new signing key active; the previous one stays published until its tokens expire.
    Rotate {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
    },
}

/// The issuer prefix only matters to `serve`; administration commands never sign.
const ADMIN_PUBLIC_URL: &str = "http://localhost";

/// Where administration commands read passwords and write their report. The
/// binary passes the terminal; tests pass buffers.
pub struct Console<'a> {
    pub input: &'a mut dyn BufRead,
    pub output: &'a mut dyn Write,
    /// Prompt without echo instead of reading `input`.
    pub interactive: bool,
}

pub async fn run_admin(command: Command, console: &mut Console<'_>) -> anyhow::Result<()> {
    match command {
        Command::Serve(_) => bail!("serve is handled by the binary"),
        Command::Migrate(storage) => {
            migrate_database(&storage).await?;
            writeln!(console.output, "migrations applied")?;
        }
        Command::User(command) => user::run_user(command, console).await?,
        Command::Keys(command) => run_keys(command, console).await?,
        Command::Token(command) => run_token(command, console).await?,
        Command::Profile(command) => profile::run_profile(command, console).await?,
        Command::Company(command) => company::run_company(command, console).await?,
        Command::Endpoint(command) => endpoint::run_endpoint(command, console).await?,
    }
    Ok(())
}

async fn run_token(command: TokenCommand, console: &mut Console<'_>) -> anyhow::Result<()> {
    match command {
        TokenCommand::List {
            storage,
            realm,
            user,
        } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let actor = Actor::Operator { username: &user };
            writeln!(
                console.output,
                "{:<36}  {:<7}  {:<14}  {:<12}  {:>5}  name",
                "id", "type", "hint", "client", "uses"
            )?;
            for token in service
                .personal_tokens
                .list_personal_tokens(&realm, actor)
                .await?
            {
                writeln!(
                    console.output,
                    "{:<36}  {:<7}  {:<14}  {:<12}  {:>5}  {}",
                    token.id,
                    token.kind.as_str(),
                    token.hint,
                    token.client_id.as_deref().unwrap_or("-"),
                    token.use_count,
                    token.name
                )?;
            }
        }
        TokenCommand::Create {
            storage,
            realm,
            user,
            kind,
            name,
            description,
            lifetime,
            audience,
            client_id,
            offline,
        } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let actor = Actor::Operator { username: &user };
            let lifetime = lifetime
                .map(|text| crate::realm_file::parse_duration(&text))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let request = PersonalTokenRequest {
                kind: match kind {
                    TokenType::Expose => PersonalTokenKind::Expose,
                    TokenType::Client => PersonalTokenKind::Client,
                },
                name,
                description,
                password: None,
                lifetime,
                expires_at: None,
                audience: (!audience.is_empty()).then_some(audience),
                client_id,
                offline,
            };
            let (token, secret) = service
                .personal_tokens
                .create_personal_token(&realm, actor, request, None)
                .await?;
            match secret {
                CreatedSecret::Expose(secret) => {
                    writeln!(console.output, "created expose token {}", token.id)?;
                    writeln!(console.output, "token: {}", secret.expose())?;
                }
                CreatedSecret::Client(response) => {
                    writeln!(console.output, "created client token {}", token.id)?;
                    writeln!(console.output, "access_token: {}", response.access_token)?;
                    if let Some(refresh_token) = response.refresh_token {
                        writeln!(console.output, "refresh_token: {refresh_token}")?;
                    }
                }
            }
            writeln!(console.output, "(shown once: it cannot be displayed again)")?;
        }
        TokenCommand::Revoke {
            storage,
            realm,
            user,
            id,
            all: _,
        } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let actor = Actor::Operator { username: &user };
            let id = id.map(PersonalTokenId::new);
            let deleted = service
                .personal_tokens
                .delete_personal_tokens(
                    &realm,
                    actor,
                    id.as_ref().map_or(TokenSelection::All, TokenSelection::One),
                    None,
                )
                .await?;
            writeln!(console.output, "deleted {deleted} token(s) of {user}")?;
        }
    }
    Ok(())
}

async fn run_keys(command: KeysCommand, console: &mut Console<'_>) -> anyhow::Result<()> {
    match command {
        KeysCommand::List { storage, realm } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let current = service.realm(&realm)?.keys.current();
            let active = current.ring.active().kid();
            for key in current.ring.published_keys() {
                let state = if key.kid() == active {
                    "active"
                } else {
                    "retired"
                };
                let alg = key.algorithm().as_str();
                writeln!(console.output, "{}  {alg:<6}  {state}", key.kid())?;
            }
        }
        KeysCommand::Rotate { storage, realm } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let kid = service.keys.rotate_keys(&realm).await?;
            writeln!(
                console.output,
                "new active key {kid}; running servers pick it up at their next key refresh"
            )?;
        }
    }
    Ok(())
}

/// Never from argv: a prompt without echo on a terminal, else the first stdin line.
pub(crate) fn read_password(console: &mut Console<'_>) -> anyhow::Result<SecretString> {
    let password = if console.interactive {
        rpassword::prompt_password("Password: ").context("reading password")?
    } else {
        let mut line = String::new();
        console.input.read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(SecretString::new(password))
}
