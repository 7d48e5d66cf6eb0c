use sqlx::{any::AnyRow, Row};

use crate::{flag, Store, StoreResult};

/// Role names are stored one per line; the realm loader rejects names with control characters.
const ROLE_SEPARATOR: char = '\n';

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub realm: String,
    pub username: String,
    pub email: Option<String>,
    /// Argon2 PHC string; never a plaintext password.
    pub password_hash: String,
    /// Whether the hash is of the peppered password.
    pub password_peppered: bool,
    pub enabled: bool,
    pub valid_until: Option<i64>,
    pub roles: Vec<String>,
    pub created_at: i64,
}

impl User {
    /// Enabled and not past `valid_until`.
    pub fn is_active(&self, now: i64) -> bool {
        self.enabled && self.valid_until.is_none_or(|until| now < until)
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub realm: String,
    pub username: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub password_peppered: bool,
    pub enabled: bool,
    pub valid_until: Option<i64>,
    pub roles: Vec<String>,
    pub created_at: i64,
}

const USER_COLUMNS: &str = "id, realm, username, email, password_hash, password_peppered, \
     enabled, valid_until, roles, created_at";

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    user_from_prefixed_row(row, "")
}

/// Reads a user whose columns carry `prefix` (as in a join that selected them
/// with [`prefixed_user_columns`]).
pub(crate) fn user_from_prefixed_row(row: &AnyRow, prefix: &str) -> StoreResult<User> {
    let column = |name: &str| format!("{prefix}{name}");
    let roles: String = row.try_get(column("roles").as_str())?;
    Ok(User {
        id: row.try_get(column("id").as_str())?,
        realm: row.try_get(column("realm").as_str())?,
        username: row.try_get(column("username").as_str())?,
        email: row.try_get(column("email").as_str())?,
        password_hash: row.try_get(column("password_hash").as_str())?,
        password_peppered: row.try_get::<i64, _>(column("password_peppered").as_str())? != 0,
        enabled: row.try_get::<i64, _>(column("enabled").as_str())? != 0,
        valid_until: row.try_get(column("valid_until").as_str())?,
        roles: roles
            .split(ROLE_SEPARATOR)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: row.try_get(column("created_at").as_str())?,
    })
}

/// The user columns of table alias `table`, each renamed `{prefix}{column}`.
pub(crate) fn prefixed_user_columns(table: &str, prefix: &str) -> String {
    USER_COLUMNS
        .split(", ")
        .map(|name| format!("{table}.{name} AS {prefix}{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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

    pub async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
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
    pub async fn insert_user_if_absent(&self, user: &NewUser) -> StoreResult<bool> {
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
        user_id: &str,
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
