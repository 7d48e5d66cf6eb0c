use sqlx::Row;

use crate::rows::{user_from_row, ROLE_SEPARATOR, USER_COLUMNS};
use crate::sql::flag;
use crate::{Page, Store, StoreResult, User, UserId};

/// Which of a realm's users a search finds, as Keycloak's admin API asks:
/// `username` matches the username (in part, or whole with `exact`), `search`
/// any of username, email and names in part; both ignore case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub username: Option<String>,
    pub exact: bool,
    pub search: Option<String>,
}

/// What an edit of a user sets; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
}

/// `%text%` for `LIKE … ESCAPE '\'`, lowercased, its own wildcards escaped.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

impl UserFilter {
    /// The `WHERE` conditions after `realm = $1`, and their values in order.
    fn conditions(&self) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        if let Some(username) = &self.username {
            if self.exact {
                values.push(username.to_lowercase());
                sql.push_str(&format!(" AND LOWER(username) = ${}", values.len() + 1));
            } else {
                values.push(contains_pattern(username));
                sql.push_str(&format!(
                    " AND LOWER(username) LIKE ${} ESCAPE '\\'",
                    values.len() + 1
                ));
            }
        }
        if let Some(search) = &self.search {
            values.push(contains_pattern(search));
            let n = values.len() + 1;
            sql.push_str(&format!(
                " AND (LOWER(username) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(COALESCE(email, '')) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(COALESCE(first_name, '')) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(COALESCE(last_name, '')) LIKE ${n} ESCAPE '\\')"
            ));
        }
        (sql, values)
    }
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

    /// Inserts the user unless one with that username exists; returns whether it did.
    pub async fn insert_user_if_absent(&self, user: &User) -> StoreResult<bool> {
        let roles = user.roles.join(&ROLE_SEPARATOR.to_string());
        let mut tx = self.begin_write().await?;
        let result = sqlx::query(
            "INSERT INTO users (id, realm, username, email, password_hash, enabled, valid_until, \
             roles, created_at, password_peppered, first_name, last_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
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
        .bind(&user.first_name)
        .bind(&user.last_name)
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

    /// A page of the realm's users the filter finds, by username: `max` from
    /// the `first`. An administrative search, not a hot path: a `search` in
    /// part reads every user of the realm.
    pub async fn find_users(
        &self,
        realm: &str,
        filter: &UserFilter,
        page: Page,
    ) -> StoreResult<Vec<User>> {
        let (conditions, values) = filter.conditions();
        let n = values.len() + 2;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE realm = $1{conditions} \
             ORDER BY username LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let mut query = sqlx::query(&sql).bind(realm);
        for value in values {
            query = query.bind(value);
        }
        query
            .bind(page.max)
            .bind(page.first)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    /// How many of the realm's users the filter finds.
    pub async fn count_users(&self, realm: &str, filter: &UserFilter) -> StoreResult<i64> {
        let (conditions, values) = filter.conditions();
        let sql = format!("SELECT COUNT(*) AS n FROM users WHERE realm = $1{conditions}");
        let mut query = sqlx::query(&sql).bind(realm);
        for value in values {
            query = query.bind(value);
        }
        Ok(query.fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// Applies `changes` to the user; returns false when there is no such user.
    pub async fn update_user(&self, id: &UserId, changes: &UserChanges) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE users SET email = COALESCE($1, email), \
             first_name = COALESCE($2, first_name), last_name = COALESCE($3, last_name), \
             enabled = COALESCE($4, enabled) WHERE id = $5",
        )
        .bind(&changes.email)
        .bind(&changes.first_name)
        .bind(&changes.last_name)
        .bind(changes.enabled.map(flag))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces the user's password hash (peppered, current parameters).
    pub async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET password_hash = $1, password_peppered = 1 WHERE id = $2")
                .bind(hash)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces the user's realm roles.
    pub async fn set_user_roles(&self, id: &UserId, roles: &[String]) -> StoreResult<bool> {
        let result = sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
            .bind(roles.join(&ROLE_SEPARATOR.to_string()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
