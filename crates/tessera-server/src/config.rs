use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub use crate::http::HttpLimits;
use tessera_token::{default_hashing_queue, DEFAULT_ARGON2_PARAMS};

/// Where the server finds its state. Shared by `serve` and every CLI command.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Database URL: `sqlite:path/to/file.db` or `postgres://user@host/db`.
    #[arg(
        long = "database",
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite:data/tessera.db"
    )]
    pub database_url: String,
    /// Database connections per node. Writes are group-committed by one of them, so a
    /// few suffice; more mostly add contention on a small machine.
    #[arg(long, env = "TESSERA_DATABASE_MAX_CONNECTIONS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub database_max_connections: u32,
    /// Directory of realm files (`*.toml`), applied at every start.
    #[arg(long, env = "TESSERA_REALMS", default_value = "realms")]
    pub realms: PathBuf,
    /// Master key file; generated with mode 0600 on first start when absent.
    #[arg(
        long,
        env = "TESSERA_MASTER_KEY_FILE",
        default_value = "data/master.key"
    )]
    pub master_key_file: PathBuf,
    /// Argon2id memory cost in KiB for new password hashes (OWASP minimum: 19456).
    #[arg(long, env = "TESSERA_ARGON2_MEMORY_KIB", default_value_t = DEFAULT_ARGON2_PARAMS.0)]
    pub argon2_memory_kib: u32,
    /// Argon2id iterations for new password hashes.
    #[arg(long, env = "TESSERA_ARGON2_ITERATIONS", default_value_t = DEFAULT_ARGON2_PARAMS.1)]
    pub argon2_iterations: u32,
    /// Password checks that may wait for the hashing threads at once; beyond
    /// it, logins are answered 503 `temporarily_unavailable` with `Retry-After`
    /// (default: 4 per core, at least 16).
    #[arg(long, env = "TESSERA_PASSWORD_QUEUE", default_value_t = default_hashing_queue(), value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub password_queue: usize,
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub storage: StorageConfig,
    /// Address to listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Address of the management listener (health and Prometheus metrics,
    /// never on the public one). Port 0 picks a free port; the log names it.
    #[arg(
        long,
        env = "TESSERA_MANAGEMENT_LISTEN",
        default_value = "127.0.0.1:9000"
    )]
    pub management_listen: SocketAddr,
    /// A request's headers must arrive within this, counted from when its
    /// connection is ready for it (so it is also the keep-alive idle time).
    #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = duration_arg)]
    pub header_read_timeout: Duration,
    /// A request still being handled after this is answered 408.
    #[arg(long, env = "TESSERA_REQUEST_TIMEOUT", default_value = "30s", value_parser = duration_arg)]
    pub request_timeout: Duration,
    /// A request body must arrive within this (408 otherwise).
    #[arg(long, env = "TESSERA_BODY_TIMEOUT", default_value = "10s", value_parser = duration_arg)]
    pub body_timeout: Duration,
    /// How long token events, and consumed refresh tokens (for reuse
    /// detection), are kept; expired and revoked rows go at once.
    #[arg(long, env = "TESSERA_RETENTION", default_value = "90d", value_parser = duration_arg)]
    pub retention: Duration,
    /// Connections served at once; more clients wait in the listen backlog.
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,
    /// Public base URL, the issuer prefix (default: http://<listen>).
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How often signing keys are re-read from the database (and rotated when due).
    #[arg(long, env = "TESSERA_KEY_REFRESH_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub key_refresh_seconds: u64,
}

impl ServeConfig {
    pub fn key_refresh_interval(&self) -> Duration {
        Duration::from_secs(self.key_refresh_seconds)
    }

    pub fn http_limits(&self) -> HttpLimits {
        HttpLimits {
            header_read_timeout: self.header_read_timeout,
            request_timeout: self.request_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections,
        }
    }
}

/// `500ms`, `10s`, `2m`: a positive duration.
fn duration_arg(text: &str) -> Result<Duration, String> {
    Some(crate::duration::parse_duration(text)?)
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("{text:?} must be positive"))
}
