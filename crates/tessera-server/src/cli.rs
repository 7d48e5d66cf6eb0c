//! The `tessera` command line: `serve`, `migrate`, and user and key administration.

use std::io::{BufRead, Write};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tessera_proto::SecretString;
use tessera_token::NewUserRequest;

use crate::{open_service, ServeConfig, StorageConfig};

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
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

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
    /// List the realm's users.
    List {
        #[command(flatten)]
        storage: StorageConfig,
        #[arg(long)]
        realm: String,
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
            let store = tessera_store::Store::connect(
                &storage.database_url,
                storage.database_max_connections,
            )
            .await?;
            store.migrate().await?;
            store.close().await;
            writeln!(console.output, "migrations applied")?;
        }
        Command::User(command) => run_user(command, console).await?,
        Command::Keys(command) => run_keys(command, console).await?,
    }
    Ok(())
}

async fn run_user(command: UserCommand, console: &mut Console<'_>) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            storage,
            realm,
            username,
            email,
            roles,
        } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            let password = read_password(console)?;
            let created = service
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
        UserCommand::Disable {
            storage,
            realm,
            username,
        } => {
            set_enabled(&storage, &realm, &username, false).await?;
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
            set_enabled(&storage, &realm, &username, true).await?;
            writeln!(console.output, "enabled {username}")?;
        }
        UserCommand::List { storage, realm } => {
            let service = open_service(&storage, ADMIN_PUBLIC_URL).await?;
            writeln!(
                console.output,
                "{:<36}  {:<24}  {:<8}  roles",
                "id", "username", "enabled"
            )?;
            for user in service.list_users(&realm).await? {
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

async fn set_enabled(
    storage: &StorageConfig,
    realm: &str,
    username: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let service = open_service(storage, ADMIN_PUBLIC_URL).await?;
    if !service.set_user_enabled(realm, username, enabled).await? {
        bail!("no user {username:?} in realm {realm:?}");
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
            let kid = service.rotate_keys(&realm).await?;
            writeln!(
                console.output,
                "new active key {kid}; running servers pick it up at their next key refresh"
            )?;
        }
    }
    Ok(())
}

/// Never from argv: a prompt without echo on a terminal, else the first stdin line.
fn read_password(console: &mut Console<'_>) -> anyhow::Result<SecretString> {
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
