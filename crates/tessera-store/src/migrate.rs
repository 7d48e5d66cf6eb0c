//! A small migration runner: the SQL files are embedded in the binary, applied in
//! order inside one transaction each, and recorded with a checksum so that an
//! edited migration is detected instead of silently diverging.

use sqlx::{Executor, Row};

use crate::{Backend, Store, StoreError, StoreResult};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Migration `$version` named `$name`, from `migrations/{sqlite,postgres}/$file.sql`.
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../../../migrations/postgres/", $file, ".sql")),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "core", "0001_core"),
    migration!(2, "revocation_feed", "0002_revocation_feed"),
    migration!(3, "personal_tokens", "0003_personal_tokens"),
    migration!(4, "hardening", "0004_hardening"),
    migration!(5, "token_profiles", "0005_token_profiles"),
    migration!(6, "user_names", "0006_user_names"),
    migration!(7, "companies", "0007_companies"),
    migration!(8, "endpoints", "0008_endpoints"),
    migration!(9, "browser sign-in", "0009_browser_sign_in"),
];

/// Arbitrary constant: the PostgreSQL advisory lock that serialises migrations
/// when several nodes start at once.
const MIGRATION_LOCK: i64 = 0x0074_6573_7365_7261;

impl Store {
    /// Applies every migration not yet applied. Safe to run from several nodes at once.
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        let result = self.apply_pending(&mut conn).await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    async fn apply_pending(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<()> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tessera_migrations (
                version BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                checksum TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .await?;
        for migration in MIGRATIONS {
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            let checksum = format!("{:08x}", fnv1a(sql));
            let applied = sqlx::query("SELECT checksum FROM tessera_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *conn)
                .await?;
            if let Some(row) = applied {
                let stored: String = row.try_get("checksum")?;
                if stored != checksum {
                    return Err(StoreError::MigrationChanged {
                        version: migration.version,
                    });
                }
                continue;
            }
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "applying migration"
            );
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            tx.execute(sqlx::raw_sql(sql)).await?;
            sqlx::query(
                "INSERT INTO tessera_migrations (version, name, checksum, applied_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(checksum)
            .bind(crate::Timestamp::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// FNV-1a: a stable checksum that needs no extra dependency; it guards against
/// accidental edits, not against an attacker with write access to the binary.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}
