use sqlx::Row;

use crate::{Store, StoreResult};

impl Store {
    /// Records the realm if it is new. Realm settings live in the realm files; the
    /// row anchors foreign keys and holds what the database owns (`tokens_not_before`).
    pub async fn ensure_realm(&self, name: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO realms (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn realm_exists(&self, name: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM realms WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }
}
