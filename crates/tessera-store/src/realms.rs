use crate::{Store, StoreResult, Timestamp};

impl Store {
    /// Records the realm if it is new. Realm settings live in the realm files; the
    /// row anchors foreign keys and holds what the database owns (`tokens_not_before`).
    pub async fn ensure_realm(&self, name: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query("INSERT INTO realms (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
