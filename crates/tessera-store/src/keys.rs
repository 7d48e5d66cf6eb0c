use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Store, StoreResult, Timestamp};

/// A signing key as stored: public part in the clear, private part sealed with the
/// master key (the store cannot open it).
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    pub realm: String,
    /// 1 for a realm's first key, +1 per rotation; unique per realm, so two nodes
    /// rotating at once cannot both succeed.
    pub generation: i64,
    pub algorithm: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

fn key_from_row(row: &AnyRow) -> StoreResult<StoredSigningKey> {
    Ok(StoredSigningKey {
        kid: row.try_get("kid")?,
        realm: row.try_get("realm")?,
        generation: row.try_get("generation")?,
        algorithm: row.try_get("algorithm")?,
        public_key: row.try_get("public_key")?,
        sealed_private_key: row.try_get("sealed_private_key")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

impl Store {
    /// The realm's current key and every key retired at or after `retired_since`,
    /// newest generation first.
    pub async fn signing_keys(
        &self,
        realm: &str,
        retired_since: Timestamp,
    ) -> StoreResult<Vec<StoredSigningKey>> {
        sqlx::query(
            "SELECT kid, realm, generation, algorithm, public_key, sealed_private_key, created_at, \
             retired_at FROM signing_keys \
             WHERE realm = $1 AND (retired_at IS NULL OR retired_at >= $2) \
             ORDER BY generation DESC",
        )
        .bind(realm)
        .bind(retired_since)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(key_from_row)
        .collect()
    }

    /// Stores `key` as the realm's newest key and retires the ones before it, in one
    /// transaction. Returns false (and changes nothing) when another node already
    /// stored a key of that generation.
    pub async fn add_signing_key(&self, key: &StoredSigningKey) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO signing_keys (kid, realm, generation, algorithm, public_key, \
             sealed_private_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.realm)
        .bind(key.generation)
        .bind(&key.algorithm)
        .bind(&key.public_key)
        .bind(&key.sealed_private_key)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 \
             WHERE realm = $2 AND generation < $3 AND retired_at IS NULL",
        )
        .bind(key.created_at)
        .bind(&key.realm)
        .bind(key.generation)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
