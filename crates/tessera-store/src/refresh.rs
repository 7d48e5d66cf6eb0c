use sqlx::{any::AnyRow, Row};

use crate::{
    flag,
    group_commit::insert_tokens,
    users::{prefixed_user_columns, user_from_prefixed_row},
    Store, StoreResult, User,
};

/// One login session and the chain of refresh tokens rotated from it.
#[derive(Debug, Clone)]
pub struct Family {
    pub id: String,
    pub realm: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub offline: bool,
    pub created_at: i64,
    /// Absolute end of the session; `None` for offline sessions without one.
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Family {
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Keyed digest of the token; the token itself never reaches the store.
    pub digest: Vec<u8>,
    pub family_id: String,
    pub issued_at: i64,
    /// Idle expiry, already capped by the family's absolute expiry; `None` = never.
    pub expires_at: Option<i64>,
}

/// A stored refresh token with its family and the family's user, read in one query.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub family: Family,
    pub user: User,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub consumed_at: Option<i64>,
    /// The personal (client) token whose session this is, if any.
    pub personal_token_id: Option<String>,
}

const FAMILY_COLUMNS: &str = "f.id, f.realm, f.client_id, f.user_id, f.scope, f.offline, \
     f.created_at, f.expires_at, f.revoked_at";

fn family_from_row(row: &AnyRow) -> StoreResult<Family> {
    Ok(Family {
        id: row.try_get("id")?,
        realm: row.try_get("realm")?,
        client_id: row.try_get("client_id")?,
        user_id: row.try_get("user_id")?,
        scope: row.try_get("scope")?,
        offline: row.try_get::<i64, _>("offline")? != 0,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Store {
    /// Starts a session with its first refresh token, atomically.
    pub async fn create_family(
        &self,
        family: &Family,
        first_token: &NewRefreshToken,
    ) -> StoreResult<()> {
        self.write_session(SessionWrite::CreateFamily {
            family: family.clone(),
            first_token: first_token.clone(),
        })
        .await
        .map(drop)
    }

    pub async fn find_refresh_token(
        &self,
        digest: &[u8],
    ) -> StoreResult<Option<RefreshTokenState>> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS}, t.issued_at AS t_issued_at, t.expires_at AS t_expires_at, \
             t.consumed_at AS t_consumed_at, p.id AS p_id, {} \
             FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id \
             JOIN users u ON u.id = f.user_id \
             LEFT JOIN personal_tokens p ON p.family_id = f.id \
             WHERE t.digest = $1",
            prefixed_user_columns("u", "u_")
        );
        let Some(row) = sqlx::query(&sql)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(RefreshTokenState {
            family: family_from_row(&row)?,
            user: user_from_prefixed_row(&row, "u_")?,
            issued_at: row.try_get("t_issued_at")?,
            expires_at: row.try_get("t_expires_at")?,
            consumed_at: row.try_get("t_consumed_at")?,
            personal_token_id: row.try_get("p_id")?,
        }))
    }

    /// Marks the token consumed and stores its replacement, atomically. Returns false
    /// (and stores nothing) when the token had already been consumed: exactly one of
    /// several concurrent rotations wins, on one node or many.
    pub async fn rotate_refresh_token(
        &self,
        digest: &[u8],
        now: i64,
        replacement: &NewRefreshToken,
    ) -> StoreResult<bool> {
        self.write_session(SessionWrite::Rotate {
            digest: digest.to_vec(),
            now,
            replacement: replacement.clone(),
        })
        .await
    }

    /// Adds a token to a family without consuming another (the grace-window retry).
    /// Returns false (and adds nothing) when the family has been revoked.
    pub async fn add_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<bool> {
        self.write_session(SessionWrite::AddToken(token.clone()))
            .await
    }

    /// Extends an unconsumed token's idle expiry (used when rotation is turned off).
    pub async fn extend_refresh_token(
        &self,
        digest: &[u8],
        expires_at: Option<i64>,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE refresh_tokens SET expires_at = $1 WHERE digest = $2 AND consumed_at IS NULL",
        )
        .bind(expires_at)
        .bind(digest)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn find_family(&self, id: &str) -> StoreResult<Option<Family>> {
        let sql = format!("SELECT {FAMILY_COLUMNS} FROM refresh_families f WHERE f.id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(family_from_row)
            .transpose()
    }
}

/// Condition on `refresh_tokens` rows: their family is not revoked. Checked by the
/// writes themselves, so a revocation committed after a request read the token
/// still stops that request.
pub(crate) const LIVE_FAMILY: &str =
    "family_id IN (SELECT id FROM refresh_families WHERE revoked_at IS NULL)";

/// Inserts `token` only if its family is not revoked; returns whether it did.
pub(crate) async fn add_token_to_live_family(
    conn: &mut sqlx::AnyConnection,
    token: &NewRefreshToken,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "INSERT INTO refresh_tokens (digest, family_id, issued_at, expires_at) \
         SELECT $1, $2, $3, $4 WHERE EXISTS \
         (SELECT 1 FROM refresh_families WHERE id = $2 AND revoked_at IS NULL)",
    )
    .bind(&token.digest)
    .bind(&token.family_id)
    .bind(token.issued_at)
    .bind(token.expires_at)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// A new session means its user just proved their password: forget counted
/// login attempts (see [`Store::count_login_attempt`]).
pub(crate) async fn reset_login_failures(
    conn: &mut sqlx::AnyConnection,
    user_ids: &[&str],
) -> StoreResult<()> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = (1..=user_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "UPDATE users SET failed_logins = 0, failures_since = 0, locked_until = 0 \
         WHERE failed_logins <> 0 AND id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql).persistent(false);
    for id in user_ids {
        query = query.bind(*id);
    }
    query.execute(conn).await?;
    Ok(())
}

/// The writes on the token hot path. They go through [`Store::write_session`], which
/// may batch several into one transaction (group commit), so each must be
/// self-contained and leave nothing behind when it fails.
#[derive(Debug)]
pub(crate) enum SessionWrite {
    CreateFamily {
        family: Family,
        first_token: NewRefreshToken,
    },
    Rotate {
        digest: Vec<u8>,
        now: i64,
        replacement: NewRefreshToken,
    },
    AddToken(NewRefreshToken),
    CountLoginAttempt {
        user_id: String,
        now: i64,
        limits: crate::LoginLimits,
    },
}

impl SessionWrite {
    /// Applies the write inside the caller's transaction. Returns false when a
    /// rotation found its token already consumed (and wrote nothing), and as the
    /// write's own answer otherwise (see each store method).
    pub(crate) async fn apply(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<bool> {
        match self {
            Self::CreateFamily {
                family,
                first_token,
            } => {
                sqlx::query(
                    "INSERT INTO refresh_families (id, realm, client_id, user_id, scope, offline, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&family.id)
                .bind(&family.realm)
                .bind(&family.client_id)
                .bind(&family.user_id)
                .bind(&family.scope)
                .bind(flag(family.offline))
                .bind(family.created_at)
                .bind(family.expires_at)
                .execute(&mut *conn)
                .await?;
                reset_login_failures(&mut *conn, &[family.user_id.as_str()]).await?;
                insert_tokens(conn, &[first_token]).await?;
                Ok(true)
            }
            Self::Rotate {
                digest,
                now,
                replacement,
            } => {
                let consumed = sqlx::query(&format!(
                    "UPDATE refresh_tokens SET consumed_at = $1 \
                     WHERE digest = $2 AND consumed_at IS NULL AND {LIVE_FAMILY}"
                ))
                .bind(now)
                .bind(digest)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
                if consumed {
                    insert_tokens(conn, &[replacement]).await?;
                }
                Ok(consumed)
            }
            Self::AddToken(token) => add_token_to_live_family(conn, token).await,
            Self::CountLoginAttempt {
                user_id,
                now,
                limits,
            } => crate::users::count_login_attempt(conn, user_id, *now, *limits).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewUser, RevocationReason};

    fn token(digest: u8, family: &str) -> NewRefreshToken {
        NewRefreshToken {
            digest: vec![digest; 32],
            family_id: family.to_owned(),
            issued_at: 1,
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn revoked_families_get_no_new_tokens_even_from_requests_already_in_flight() {
        let (store, dir) = crate::test_store("refresh").await;
        let user = NewUser {
            id: "u".into(),
            realm: "r".into(),
            username: "u".into(),
            email: None,
            password_hash: "x".into(),
            enabled: true,
            valid_until: None,
            roles: vec![],
            created_at: 0,
        };
        store.insert_user_if_absent(&user).await.unwrap();
        let family = Family {
            id: "f".into(),
            realm: "r".into(),
            client_id: "c".into(),
            user_id: "u".into(),
            scope: String::new(),
            offline: false,
            created_at: 0,
            expires_at: None,
            revoked_at: None,
        };
        store.create_family(&family, &token(1, "f")).await.unwrap();
        // A request read the token as live, then the session was revoked.
        assert!(store.find_refresh_token(&[1; 32]).await.unwrap().is_some());
        store
            .revoke_family("f", 5, RevocationReason::Logout, 10)
            .await
            .unwrap();
        assert!(!store
            .rotate_refresh_token(&[1; 32], 6, &token(2, "f"))
            .await
            .unwrap());
        assert!(!store.add_refresh_token(&token(3, "f")).await.unwrap());
        for digest in [2u8, 3] {
            assert!(store
                .find_refresh_token(&[digest; 32])
                .await
                .unwrap()
                .is_none());
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
