use sqlx::Row;

use crate::{
    rows::{user_from_row, ROLE_SEPARATOR, USER_COLUMNS},
    sql::flag,
    Store, StoreResult, User, UserId,
};

impl Store {
    pub async fn find_user_by_username(
        &self,
        realm: &str,
        username: &str,
    ) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE realm = $1 AND username = $2");
        sqlx::query(&sql)
            .bind(realm)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    pub async fn find_user_by_id(&self, id: &UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    pub async fn list_users(&self, realm: &str) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE realm = $1 ORDER BY username");
        sqlx::query(&sql)
            .bind(realm)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    /// Inserts the user unless one with that username exists; returns whether it did.
    pub async fn insert_user_if_absent(&self, user: &User) -> StoreResult<bool> {
        let roles = user.roles.join(&ROLE_SEPARATOR.to_string());
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query(
            "INSERT INTO users (id, realm, username, email, password_hash, enabled, valid_until, \
             roles, created_at, password_peppered) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(&user.id)
        .bind(&user.realm)
        .bind(&user.username)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(flag(user.enabled))
        .bind(user.valid_until)
        .bind(roles)
        .bind(user.created_at)
        .bind(flag(user.password_peppered))
        .execute(&mut *tx)
        .await?;
        // Created again on purpose: a realm file may seed it from now on.
        sqlx::query("DELETE FROM deleted_users WHERE realm = $1 AND username = $2")
            .bind(&user.realm)
            .bind(&user.username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    /// Whether an operator deleted this user (see [`Store::delete_user`]).
    pub async fn was_user_deleted(&self, realm: &str, username: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM deleted_users WHERE realm = $1 AND username = $2",
        )
        .bind(realm)
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Replaces a password hash with a peppered one made with the current
    /// parameters, unless the hash changed meanwhile; returns whether it did.
    pub async fn upgrade_password_hash(
        &self,
        user_id: &UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE users SET password_hash = $1, password_peppered = 1 \
             WHERE id = $2 AND password_hash = $3",
        )
        .bind(new_hash)
        .bind(user_id)
        .bind(old_hash)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Returns false when no such user exists.
    pub async fn set_user_enabled(
        &self,
        realm: &str,
        username: &str,
        enabled: bool,
    ) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET enabled = $1 WHERE realm = $2 AND username = $3")
                .bind(flag(enabled))
                .bind(realm)
                .bind(username)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }
}
