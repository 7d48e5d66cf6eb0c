//! The `tessera` command line: `serve`, `migrate`, and user, key, personal-token,
//! token-profile, company and endpoint administration.

mod company;
mod endpoint;
mod listing;
mod profile;
mod user;

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use tessera_proto::SecretString;
use tessera_token::{
    Actor, CreatedSecret, PersonalTokenId, PersonalTokenKind, PersonalTokenRequest, Services,
    TokenSelection, Tracked, UserId,
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
    List(OfUser),
    /// Create a token for a user and print its secret, once.
    Create {
        #[command(flatten)]
        owner: OfUser,
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
        owner: OfUser,
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the realm's published signing keys.
    List(InRealm),
    /// Make a new signing key active; the previous one stays published until its tokens expire.
    Rotate(InRealm),
}

/// The database and the realm a command acts in.
#[derive(Debug, Args)]
pub struct InRealm {
    #[command(flatten)]
    storage: StorageConfig,
    #[arg(long)]
    realm: String,
}

impl InRealm {
    async fn open(&self) -> anyhow::Result<Services> {
        open_service(&self.storage, ADMIN_PUBLIC_URL).await
    }

    /// The services, and the id of the realm's user `username`.
    async fn open_for(&self, username: &str) -> anyhow::Result<(Services, UserId)> {
        let services = self.open().await?;
        let id = user_id(&services, &self.realm, username).await?;
        Ok((services, id))
    }
}

/// The id of the user `username` of `realm`.
async fn user_id(services: &Services, realm: &str, username: &str) -> anyhow::Result<UserId> {
    services
        .users
        .find_user_by_username(realm, username)
        .await?
        .map(|user| user.id)
        .with_context(|| format!("no user {username:?} in realm {realm:?}"))
}

/// A user of the realm, by `--user`: whose tokens or profiles.
#[derive(Debug, Args)]
pub struct OfUser {
    #[command(flatten)]
    at: InRealm,
    /// The username of the user whose tokens or profiles these are.
    #[arg(long)]
    user: String,
}

impl OfUser {
    /// The services, and the user's id.
    async fn open(&self) -> anyhow::Result<(Services, UserId)> {
        self.at.open_for(&self.user).await
    }

    /// Acting for the user as an operator: no password asked.
    fn actor(&self) -> Actor<'_> {
        Actor::Operator {
            username: &self.user,
        }
    }
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
        Command::User(command) => command.run(console).await?,
        Command::Keys(command) => command.run(console).await?,
        Command::Token(command) => command.run(console).await?,
        Command::Profile(command) => command.run(console).await?,
        Command::Company(command) => command.run(console).await?,
        Command::Endpoint(command) => command.run(console).await?,
    }
    Ok(())
}

impl TokenCommand {
    async fn run(self, console: &mut Console<'_>) -> anyhow::Result<()> {
        match self {
            Self::List(owner) => {
                let services = owner.at.open().await?;
                writeln!(
                    console.output,
                    "{:<36}  {:<7}  {:<14}  {:<12}  {:>5}  name",
                    "id", "type", "hint", "client", "uses"
                )?;
                for Tracked { token, usage } in services
                    .personal_tokens
                    .list_personal_tokens(&owner.at.realm, owner.actor())
                    .await?
                {
                    writeln!(
                        console.output,
                        "{:<36}  {:<7}  {:<14}  {:<12}  {:>5}  {}",
                        token.id,
                        token.kind.as_str(),
                        token.hint,
                        token.client_id.as_deref().unwrap_or("-"),
                        usage.use_count,
                        token.name
                    )?;
                }
            }
            Self::Create {
                owner,
                kind,
                name,
                description,
                lifetime,
                audience,
                client_id,
                offline,
            } => {
                let services = owner.at.open().await?;
                let lifetime = lifetime
                    .map(|text| crate::duration::parse_duration(&text))
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
                let (token, secret) = services
                    .personal_tokens
                    .create_personal_token(&owner.at.realm, owner.actor(), request, None)
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
            Self::Revoke { owner, id, all: _ } => {
                let services = owner.at.open().await?;
                let id = id.map(PersonalTokenId::new);
                let selection = id.as_ref().map_or(TokenSelection::All, TokenSelection::One);
                let deleted = services
                    .personal_tokens
                    .delete_personal_tokens(&owner.at.realm, owner.actor(), selection, None)
                    .await?;
                writeln!(
                    console.output,
                    "deleted {deleted} token(s) of {}",
                    owner.user
                )?;
            }
        }
        Ok(())
    }
}

impl KeysCommand {
    async fn run(self, console: &mut Console<'_>) -> anyhow::Result<()> {
        match self {
            Self::List(at) => {
                let services = at.open().await?;
                let current = services.realm(&at.realm)?.keys.current();
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
            Self::Rotate(at) => {
                let kid = at.open().await?.keys.rotate_keys(&at.realm).await?;
                writeln!(
                    console.output,
                    "new active key {kid}; running servers pick it up at their next key refresh"
                )?;
            }
        }
        Ok(())
    }
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
