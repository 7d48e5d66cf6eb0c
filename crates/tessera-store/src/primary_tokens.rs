//! An endpoint's primary tokens, one per method its configuration allows.
//! Their secrets are stored as keyed digests (and sealed, only when the realm
//! keeps endpoint tokens recoverable); a replaced one goes on the feed.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::endpoint_methods::{method_from_row, EndpointMethod};
use crate::revocations::announce_changed;
use crate::sql::parameter_list;
use crate::{EndpointId, PrimaryTokenId, Store, StoreResult, Timestamp};

/// A primary token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryToken {
    pub id: PrimaryTokenId,
    pub endpoint_id: EndpointId,
    pub method: EndpointMethod,
    pub hint: String,
    pub created_at: Timestamp,
}

/// A primary token to store: its digest, and its sealed secret only when the
/// realm keeps endpoint tokens recoverable.
#[derive(Debug, Clone)]
pub struct NewPrimaryToken {
    pub id: PrimaryTokenId,
    pub method: EndpointMethod,
    pub digest: Vec<u8>,
    pub hint: String,
    pub sealed: Option<Vec<u8>>,
}

fn primary_from_row(row: &AnyRow) -> StoreResult<PrimaryToken> {
    Ok(PrimaryToken {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        method: method_from_row(row, "method")?,
        hint: row.try_get("hint")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) async fn insert_primaries(
    conn: &mut sqlx::AnyConnection,
    endpoint: &EndpointId,
    primaries: &[&NewPrimaryToken],
    now: Timestamp,
) -> StoreResult<()> {
    for primary in primaries {
        sqlx::query(
            "INSERT INTO endpoint_primary_tokens (id, endpoint_id, method, digest, hint, sealed, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&primary.id)
        .bind(endpoint)
        .bind(primary.method.as_str())
        .bind(&primary.digest)
        .bind(&primary.hint)
        .bind(&primary.sealed)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Removes the endpoint's primary tokens for `methods` and what was assigned
/// to them.
pub(crate) async fn remove_primaries(
    conn: &mut sqlx::AnyConnection,
    endpoint: &EndpointId,
    methods: &[EndpointMethod],
) -> StoreResult<()> {
    for table in ["endpoint_token_assignments", "endpoint_primary_tokens"] {
        let sql = format!(
            "DELETE FROM {table} WHERE endpoint_id = $1 AND method IN ({})",
            parameter_list(methods.len(), 2)
        );
        let mut query = sqlx::query(&sql).bind(endpoint);
        for method in methods {
            query = query.bind(method.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The methods the endpoint has a primary token for.
pub(crate) async fn primary_methods(
    conn: &mut sqlx::AnyConnection,
    endpoint: &EndpointId,
) -> StoreResult<Vec<EndpointMethod>> {
    sqlx::query("SELECT method FROM endpoint_primary_tokens WHERE endpoint_id = $1")
        .bind(endpoint)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| method_from_row(row, "method"))
        .collect()
}

impl Store {
    /// The endpoint's primary tokens, by method.
    pub async fn primary_tokens(&self, endpoint: &EndpointId) -> StoreResult<Vec<PrimaryToken>> {
        let rows = sqlx::query(
            "SELECT id, endpoint_id, method, hint, created_at FROM endpoint_primary_tokens \
             WHERE endpoint_id = $1",
        )
        .bind(endpoint)
        .fetch_all(&self.pool)
        .await?;
        let mut primaries = rows
            .iter()
            .map(primary_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        primaries.sort_by_key(|primary| primary.method);
        Ok(primaries)
    }

    /// Replaces the secret of the endpoint's primary token for `method`: the
    /// old one stops working at once, and goes on the feed. None when the
    /// endpoint has no such token.
    pub async fn regenerate_primary_token(
        &self,
        (realm, id): (&str, &EndpointId),
        replacement: &NewPrimaryToken,
        (now, notice_until): (Timestamp, Timestamp),
    ) -> StoreResult<Option<PrimaryToken>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(
            "UPDATE endpoint_primary_tokens SET digest = $1, hint = $2, sealed = $3, \
             created_at = $4 WHERE endpoint_id = $5 AND method = $6 \
             AND endpoint_id IN (SELECT id FROM endpoints WHERE realm = $7) \
             RETURNING id, endpoint_id, method, hint, created_at",
        )
        .bind(&replacement.digest)
        .bind(&replacement.hint)
        .bind(&replacement.sealed)
        .bind(now)
        .bind(id)
        .bind(replacement.method.as_str())
        .bind(realm)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let primary = primary_from_row(&row)?;
        announce_changed(
            &mut tx,
            realm,
            &[primary.id.to_string()],
            (now, notice_until),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(primary))
    }
}
