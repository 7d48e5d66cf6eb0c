//! The Tessera server: configuration, realm loading, the HTTP routers and the
//! `tessera` CLI. Handlers are thin: they turn requests into arguments for
//! [`tessera_token::Services`] and their results into Keycloak-shaped responses.

pub mod cli;
pub mod config;
mod duration;
#[cfg(test)]
mod fuzz;
mod http;
mod master_key;
pub mod realm_file;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tessera_keys::SecretDigester;
use tessera_store::Store;
use tessera_token::{NewUserRequest, PasswordHasher, Realm, Services};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{ServeConfig, StorageConfig};

/// Connects to the database and applies the migrations it lacks (`tessera migrate`).
pub async fn migrate_database(storage: &StorageConfig) -> anyhow::Result<()> {
    let store = connect(storage).await?;
    store.migrate().await.context("running migrations")?;
    store.close().await;
    Ok(())
}

async fn connect(storage: &StorageConfig) -> anyhow::Result<Store> {
    Store::connect(&storage.database_url, storage.database_max_connections)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&storage.database_url)))
}

/// Where the realms come from: the realm files, read at start and again on
/// SIGHUP.
#[derive(Clone)]
struct RealmSource {
    dir: PathBuf,
    /// Client secrets in realm files are digested with the master key's subkey.
    digester: SecretDigester,
    /// Base of every realm's issuer, without a trailing slash.
    public_url: String,
}

impl RealmSource {
    /// Reads every realm file: the realms and the users they define.
    fn load(&self) -> anyhow::Result<(Vec<Realm>, Vec<NewUserRequest>)> {
        let loaded = realm_file::load_realm_dir(&self.dir, &self.digester)?;
        let mut realms = Vec::with_capacity(loaded.len());
        let mut users = Vec::new();
        for mut entry in loaded {
            entry.realm.issuer = format!("{}/realms/{}", self.public_url, entry.realm.name);
            realms.push(entry.realm);
            users.extend(entry.users);
        }
        Ok((realms, users))
    }
}

/// Creates the users realm files define and the database lacks.
async fn seed_users(services: &Services, users: Vec<NewUserRequest>) -> anyhow::Result<()> {
    for user in users {
        let username = user.username.clone();
        if services.users.seed_user_if_absent(user).await? {
            tracing::info!(%username, "created user from realm file");
        }
    }
    Ok(())
}

/// Opens the store (running migrations), loads the realms and seeds their users.
pub async fn open_service(storage: &StorageConfig, public_url: &str) -> anyhow::Result<Services> {
    Ok(open(storage, public_url).await?.0)
}

async fn open(
    storage: &StorageConfig,
    public_url: &str,
) -> anyhow::Result<(Services, RealmSource)> {
    let master_key = master_key::load_or_create(&storage.master_key_file)?;
    let store = connect(storage).await?;
    store.migrate().await.context("running migrations")?;
    let source = RealmSource {
        dir: storage.realms.clone(),
        digester: master_key.digester(),
        public_url: public_url.trim_end_matches('/').to_owned(),
    };
    let (realms, users) = source.load()?;
    let hasher = PasswordHasher::new(
        (storage.argon2_memory_kib, storage.argon2_iterations, 1),
        storage.password_queue,
        master_key.password_pepper(),
    )?;
    let services = Services::start(store, &master_key, realms, hasher).await?;
    seed_users(&services, users).await?;
    Ok((services, source))
}

/// Reads the realm files again (on the blocking pool: file reads stay off the
/// async runtime) and swaps the new configuration in. A file that does not load
/// leaves the running configuration as it was.
async fn reload_realms(services: &Services, source: &RealmSource) -> anyhow::Result<usize> {
    let reading = source.clone();
    let (realms, users) = tokio::task::spawn_blocking(move || reading.load()).await??;
    let count = services.reload_realms(realms).await?;
    seed_users(services, users).await?;
    Ok(count)
}

/// Reloads the realm files on every SIGHUP, for as long as the server runs,
/// counting each outcome in `tessera_realm_reloads_total`. The handler is
/// installed before this returns, so a SIGHUP sent once the server has started
/// never falls to the default action (ending the process).
#[cfg(unix)]
fn reload_on_hangup(
    services: Services,
    source: RealmSource,
    metrics: Arc<http::Metrics>,
) -> Option<JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; realm files reload only at start");
            return None;
        }
    };
    Some(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match reload_realms(&services, &source).await {
                Ok(count) => {
                    metrics.record_reload(http::ReloadOutcome::Applied);
                    tracing::info!(realms = count, "realm files reloaded");
                }
                Err(error) => {
                    metrics.record_reload(http::ReloadOutcome::Refused);
                    tracing::error!(
                        error = format!("{error:#}"),
                        "realm files not reloaded; the running configuration stays"
                    );
                }
            }
        }
    }))
}

#[cfg(not(unix))]
fn reload_on_hangup(
    _services: Services,
    _source: RealmSource,
    _metrics: Arc<http::Metrics>,
) -> Option<JoinHandle<()>> {
    None
}

/// A server running in this process: its addresses and a way to stop it gracefully.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The management listener (health and metrics).
    pub management_addr: SocketAddr,
    services: Services,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    management: JoinHandle<std::io::Result<()>>,
    background: JoinHandle<()>,
    reload: Option<JoinHandle<()>>,
}

impl RunningServer {
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Stops accepting, lets in-flight requests finish, commits the recorded
    /// token uses, then closes the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.wait().await
    }

    /// Runs until the server task ends (after a shutdown signal), then shuts down
    /// as [`RunningServer::stop`] does.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let served = (&mut self.task).await;
        self.management.abort();
        self.background.abort();
        if let Some(reload) = &self.reload {
            reload.abort();
        }
        self.services.maintenance.shut_down().await;
        served??;
        Ok(())
    }
}

/// Binds the listener and starts serving. `shutdown_signal` resolving starts a
/// graceful shutdown (in addition to [`RunningServer::stop`]).
pub async fn start(
    config: &ServeConfig,
    shutdown_signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding the public listener {}", config.listen))?;
    let addr = listener.local_addr()?;
    let management_listener = TcpListener::bind(config.management_listen)
        .await
        .with_context(|| {
            format!(
                "binding the management listener {} (choose another with --management-listen; \
                 port 0 picks a free one)",
                config.management_listen
            )
        })?;
    let management_addr = management_listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let (services, source) = open(&config.storage, &public_url).await?;
    let metrics = Arc::new(http::Metrics::default());
    let reload = reload_on_hangup(services.clone(), source, Arc::clone(&metrics));
    let background = tokio::spawn(run_background_jobs(
        services.clone(),
        config.key_refresh_interval(),
        config.retention,
    ));
    let state = http::AppState::new(
        services.clone(),
        metrics,
        public_url.trim_end_matches('/').to_owned(),
    );
    let limits = config.http_limits();
    let app = http::with_timeouts(http::router(state.clone()), &limits);
    let management_app = http::with_timeouts(http::management_router(state), &limits);
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(http::serve(listener, app, limits, async move {
        tokio::select! {
            _ = shutdown_rx => {}
            () = shutdown_signal => {}
        }
    }));
    let management = tokio::spawn(http::serve(
        management_listener,
        management_app,
        limits,
        std::future::pending(),
    ));
    tracing::info!(%addr, %management_addr, %public_url, "tessera listening");
    Ok(RunningServer {
        addr,
        management_addr,
        services,
        shutdown: Some(shutdown_tx),
        task,
        management,
        background,
        reload,
    })
}

/// Dead rows are deleted this often.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Re-reads (and rotates when due) the signing keys, and deletes dead rows
/// (see [`tessera_token::MaintenanceService::purge_dead_rows`]), each on its
/// own schedule.
async fn run_background_jobs(
    services: Services,
    key_refresh: std::time::Duration,
    retention: std::time::Duration,
) {
    let mut keys = tokio::time::interval(key_refresh);
    let mut purge = tokio::time::interval(PURGE_INTERVAL);
    keys.tick().await;
    loop {
        tokio::select! {
            _ = keys.tick() => {
                if let Err(error) = services.keys.refresh_keys().await {
                    tracing::error!(%error, "refreshing signing keys failed");
                }
            }
            _ = purge.tick() => {
                match services.maintenance.purge_dead_rows(retention).await {
                    Ok(report) if report.total() == 0 => {}
                    Ok(report) => tracing::debug!(?report, "purged dead rows"),
                    Err(error) => tracing::error!(%error, "purging dead rows failed"),
                }
            }
        }
    }
}

/// Hides the password of a database URL in messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
