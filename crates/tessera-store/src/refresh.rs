use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{prefixed_user_columns, user_from_prefixed_row};
use crate::sql::{flag, parameter_list, placeholders};
use crate::{
    BrowserSessionId, PersonalTokenId, SessionId, Store, StoreResult, Timestamp, User, UserId,
};

/// One login session and the chain of refresh tokens rotated from it.
#[derive(Debug, Clone)]
pub struct Family {
    pub id: SessionId,
    pub realm: String,
    pub client_id: String,
    pub user_id: UserId,
    pub scope: String,
    pub offline: bool,
    pub created_at: Timestamp,
    /// Absolute end of the session; `None` for offline sessions without one.
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// When the user last proved who they are (OpenID Connect `auth_time`):
    /// the password grant's own time, or a browser sign-in's.
    pub auth_time: Timestamp,
    /// The signed-in browser this session was started from, if any: ending
    /// that browser session (logout) ends this one unless it is offline.
    pub browser_session: Option<BrowserSessionId>,
}

impl Family {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Keyed digest of the token; the token itself never reaches the store.
    pub digest: Vec<u8>,
    pub family_id: SessionId,
    pub issued_at: Timestamp,
    /// Idle expiry, already capped by the family's absolute expiry; `None` = never.
    pub expires_at: Option<Timestamp>,
}

/// A stored refresh token with its family and the family's user, read in one query.
#[derive(Debug, Clone)]
pub struct RefreshTokenState {
    pub family: Family,
    pub user: User,
    pub issued_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub consumed_at: Option<Timestamp>,
    /// Set when a replay of an earlier token of the family inside the grace
    /// window replaced this one: presenting it again is reuse.
    pub superseded_at: Option<Timestamp>,
    /// The personal (client) token whose session this is, if any.
    pub personal_token_id: Option<PersonalTokenId>,
}

const FAMILY_COLUMNS: &str = "f.id, f.realm, f.client_id, f.user_id, f.scope, f.offline, \
     f.created_at, f.expires_at, f.revoked_at, COALESCE(f.auth_time, f.created_at) AS auth_time, \
     f.browser_session_id";

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
        auth_time: row.try_get("auth_time")?,
        browser_session: row.try_get("browser_session_id")?,
    })
}

impl Store {
    pub async fn find_refresh_token(
        &self,
        digest: &[u8],
    ) -> StoreResult<Option<RefreshTokenState>> {
        let sql = format!(
            "SELECT {FAMILY_COLUMNS}, t.issued_at AS t_issued_at, t.expires_at AS t_expires_at, \
             t.consumed_at AS t_consumed_at, t.superseded_at AS t_superseded_at, p.id AS p_id, {} \
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
            superseded_at: row.try_get("t_superseded_at")?,
            personal_token_id: row.try_get("p_id")?,
        }))
    }

    /// Extends an unconsumed token's idle expiry (used when rotation is turned off).
    pub async fn extend_refresh_token(
        &self,
        digest: &[u8],
        expires_at: Option<Timestamp>,
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

    pub async fn find_family(&self, id: &SessionId) -> StoreResult<Option<Family>> {
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

/// Locks the rows of the live (not revoked) families among `ids`, stamping
/// their last refresh, and returns the ids of those it locked. Every write that
/// consumes or adds a refresh token takes this lock first, inside its
/// transaction: a revocation committed before it is seen, one committed after
/// it waits, and concurrent rotations of one family on several nodes run one
/// after the other, so a family never gains two live tokens.
pub(crate) async fn lock_live_families(
    conn: &mut sqlx::AnyConnection,
    ids: &[&SessionId],
    now: Timestamp,
) -> StoreResult<HashSet<SessionId>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "UPDATE refresh_families SET last_refreshed_at = $1 \
         WHERE revoked_at IS NULL AND id IN ({}) RETURNING id",
        parameter_list(ids.len(), 2)
    );
    let mut query = sqlx::query(&sql).persistent(ids.len() == 1).bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok(row.try_get::<SessionId, _>("id")?))
        .collect()
}

/// Marks the unconsumed ones among `digests` consumed; returns those it marked.
/// The caller has locked their families (see [`lock_live_families`]).
pub(crate) async fn consume_tokens(
    conn: &mut sqlx::AnyConnection,
    digests: &[&[u8]],
    now: Timestamp,
) -> StoreResult<HashSet<Vec<u8>>> {
    if digests.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "UPDATE refresh_tokens SET consumed_at = $1 \
         WHERE consumed_at IS NULL AND digest IN ({}) RETURNING digest",
        parameter_list(digests.len(), 2)
    );
    let mut query = sqlx::query(&sql).persistent(digests.len() == 1).bind(now);
    for digest in digests {
        query = query.bind(*digest);
    }
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok(row.try_get::<Vec<u8>, _>("digest")?))
        .collect()
}

/// Supersedes every unconsumed token of a (locked) family.
pub(crate) async fn supersede_live_tokens(
    conn: &mut sqlx::AnyConnection,
    family_id: &SessionId,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET consumed_at = $1, superseded_at = $1 \
         WHERE family_id = $2 AND consumed_at IS NULL",
    )
    .bind(now)
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_families(
    conn: &mut sqlx::AnyConnection,
    families: &[&Family],
) -> StoreResult<()> {
    if families.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO refresh_families (id, realm, client_id, user_id, scope, offline, \
         created_at, expires_at, auth_time, browser_session_id) VALUES {}",
        placeholders(families.len(), 10, 1)
    );
    let mut query = sqlx::query(&sql).persistent(families.len() == 1);
    for family in families {
        query = query
            .bind(&family.id)
            .bind(&family.realm)
            .bind(&family.client_id)
            .bind(&family.user_id)
            .bind(&family.scope)
            .bind(flag(family.offline))
            .bind(family.created_at)
            .bind(family.expires_at)
            .bind(family.auth_time)
            .bind(&family.browser_session);
    }
    query.execute(conn).await?;
    Ok(())
}

pub(crate) async fn insert_tokens(
    conn: &mut sqlx::AnyConnection,
    tokens: &[&NewRefreshToken],
) -> StoreResult<()> {
    if tokens.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO refresh_tokens (digest, family_id, issued_at, expires_at) VALUES {}",
        placeholders(tokens.len(), 4, 1)
    );
    let mut query = sqlx::query(&sql).persistent(tokens.len() == 1);
    for token in tokens {
        query = query
            .bind(&token.digest)
            .bind(&token.family_id)
            .bind(token.issued_at)
            .bind(token.expires_at);
    }
    query.execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RevocationReason, User};

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    fn token(digest: u8, family: &str) -> NewRefreshToken {
        NewRefreshToken {
            digest: vec![digest; 32],
            family_id: SessionId::new(family),
            issued_at: at(1),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn revoked_families_get_no_new_tokens_even_from_requests_already_in_flight() {
        let (store, dir) = crate::test_store("refresh").await;
        let user = User {
            id: UserId::new("u"),
            realm: "r".into(),
            username: "u".into(),
            email: None,
            first_name: None,
            last_name: None,
            password_hash: "x".into(),
            password_peppered: true,
            enabled: true,
            valid_until: None,
            roles: vec![],
            created_at: at(0),
        };
        store.insert_user_if_absent(&user).await.unwrap();
        let family = Family {
            id: SessionId::new("f"),
            realm: "r".into(),
            client_id: "c".into(),
            user_id: UserId::new("u"),
            scope: String::new(),
            offline: false,
            created_at: at(0),
            expires_at: None,
            revoked_at: None,
            auth_time: at(0),
            browser_session: None,
        };
        store.create_family(&family, &token(1, "f")).await.unwrap();
        // A request read the token as live, then the session was revoked.
        assert!(store.find_refresh_token(&[1; 32]).await.unwrap().is_some());
        store
            .revoke_family(
                &SessionId::new("f"),
                at(5),
                RevocationReason::Logout,
                at(10),
            )
            .await
            .unwrap();
        assert!(!store
            .rotate_refresh_token(&[1; 32], at(6), &token(2, "f"))
            .await
            .unwrap());
        assert!(!store
            .replace_live_refresh_token(&token(3, "f"), at(6))
            .await
            .unwrap());
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
