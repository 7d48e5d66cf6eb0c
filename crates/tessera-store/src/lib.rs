//! Tessera storage: one interface over SQLite and PostgreSQL.
//!
//! [`Store`] runs the same SQL on both backends through sqlx's `Any` driver; the
//! schema differs only in column types and lives in `migrations/{sqlite,postgres}`.
//! Every moment is a [`Timestamp`] (milliseconds since the Unix epoch, stored as
//! a BIGINT) and every lifetime or window a [`std::time::Duration`]. The store
//! never sees a plaintext token or secret: callers hand it keyed digests and
//! sealed keys.

mod authorization_codes;
mod browser_sessions;
mod companies;
mod company_bearers;
mod company_events;
mod company_tokens;
mod device_authorizations;
mod endpoint_calls;
mod endpoint_methods;
mod endpoint_tokens;
mod endpoints;
mod group_commit;
mod ids;
mod keys;
mod login_attempts;
mod migrate;
mod page;
mod personal_tokens;
mod primary_tokens;
mod realms;
mod refresh;
mod retention;
mod revocations;
mod rows;
mod session_write;
mod sql;
mod time;
mod token_events;
mod token_profiles;
mod token_uses;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use authorization_codes::{NewAuthorizationCode, StoredAuthorizationCode};
pub use browser_sessions::{BrowserSession, NewBrowserSession};
pub use companies::{Member, Naming, SubscriptionChanges};
pub use company_bearers::{BearerUser, CompanyBearer, CompanyTokenUse};
pub use company_events::{CompanyEvent, CompanyEventKind};
pub use company_tokens::{
    CompanyToken, CompanyTokenHolder, CompanyTokenInsertion, CompanyTokenLimits, CompanyTokenScope,
    NewCompanyToken,
};
pub use device_authorizations::{DeviceAuthorization, DeviceDecision, NewDeviceAuthorization};
pub use endpoint_calls::{
    CallOutcome, CallerLookup, CallerSummary, EndpointCall, EndpointCallRecord, EndpointCaller,
    EndpointTokenKind,
};
pub use endpoint_methods::EndpointMethod;
pub use endpoint_tokens::{Assignment, EndpointToken, EndpointTokenChanges, RevealTarget};
pub use endpoints::{Endpoint, EndpointAuthentication, EndpointChanges, EndpointEdit};
pub use ids::{
    BrowserSessionId, CompanyId, CompanyTokenId, EndpointId, EndpointTokenId, PersonalTokenId,
    PrimaryTokenId, SessionId, SubscriptionId, UserId,
};
pub use keys::StoredSigningKey;
pub use login_attempts::{LoginLimits, LoginOutcome, LoginSlot};
pub use page::Page;
pub use personal_tokens::{
    Insertion, NewPersonalToken, PersonalToken, ProfileFields, TokenSelection,
};
pub use primary_tokens::{NewPrimaryToken, PrimaryToken};
pub use refresh::{Family, NewRefreshToken, RefreshTokenState};
pub use retention::{PurgeReport, RetentionCutoffs};
pub use revocations::{DeletionFeed, FeedStart, Revocation, RevocationReason, RevokedKind};
pub use rows::{Company, PersonalTokenKind, Standing, Subscription, User};
pub use time::Timestamp;
pub use token_events::{
    Audit, AuditActor, EventOutcome, TokenEvent, TokenEventKind, TokenUse, UseOutcome,
};
pub use token_profiles::ProfileChanges;
pub use token_uses::{Presentation, TokenUsage, Tracked};
pub use users::{UserChanges, UserFilter};

use session_write::SessionWrite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error("could not create the database directory or file {path}: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
    #[error("migration {version} was changed after it was applied")]
    MigrationChanged { version: i64 },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(&'static str),
    #[error("group commit failed: {0}")]
    GroupCommit(String),
    #[error("the database writer has stopped")]
    WriterStopped,
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Opens a transaction that may write. SQLite's default (deferred) transaction
/// takes the write lock at its first write, and one that read before then fails
/// at once, with no busy wait (SQLITE_BUSY_SNAPSHOT), when another writer
/// committed in between; `IMMEDIATE` takes the lock at the start, so that
/// contention means waiting.
async fn begin_write(
    pool: &AnyPool,
    backend: Backend,
) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
    let statement = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    Ok(pool.begin_with(statement).await?)
}

/// The storage handle, cheap to clone (it wraps a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    group_commit: group_commit::GroupCommitter<SessionWrite>,
}

impl Store {
    /// Connects to `url`: `sqlite:path` (the file and its directory are created when
    /// absent) or `postgres://…`, with at most `max_connections` connections.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            // A ping before every query doubles the round trips of the hot path; a
            // connection that went bad fails its query and is dropped from the pool.
            .test_before_acquire(false);
        let pool = match backend {
            Backend::Sqlite => {
                pool_options
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL makes every
                            // commit durable before we answer; the busy timeout turns
                            // writer contention into waiting rather than errors.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => pool_options.connect_with(options).await?,
        };
        let group_commit = group_commit::GroupCommitter::spawn(pool.clone(), backend);
        Ok(Self {
            pool,
            backend,
            group_commit,
        })
    }

    /// A transaction that may write; every write transaction opens here.
    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        begin_write(&self.pool, self.backend).await
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Cheap round trip used by the readiness probe.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Turns `sqlite:path` into a URL that creates the file, and creates its
/// directory and (readable by its owner only) the file itself.
fn prepare_sqlite_url(url: &str) -> StoreResult<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDirectory {
                path: parent.display().to_string(),
                source,
            })?;
        }
        create_private_file(Path::new(path))?;
    }
    let mode = if query.contains("mode=") {
        ""
    } else {
        "mode=rwc"
    };
    let separator = if query.is_empty() || mode.is_empty() {
        ""
    } else {
        "&"
    };
    Ok(format!("sqlite://{path}?{query}{separator}{mode}"))
}

/// Creates the database file with mode 0600 when absent, so that it holds no
/// secret but is still nobody else's business (SQLite gives its `-wal` and
/// `-shm` files the same mode).
fn create_private_file(path: &Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreateDirectory {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// A migrated SQLite store in a fresh directory, with realm `r`.
#[cfg(test)]
pub(crate) async fn test_store(name: &str) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tessera-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::connect(&format!("sqlite:{}/t.db", dir.display()), 2)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .ensure_realm("r", Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    (store, dir)
}
