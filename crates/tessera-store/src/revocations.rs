//! Revocation: ending sessions and single access tokens, and the feed that tells
//! resource servers verifying JWTs locally about it.
//!
//! Every revocation writes a feed entry in the same transaction, so the feed never
//! misses a revocation that took effect and never reports one that did not.

use sqlx::Row;

use crate::{DeletionFeed, Store, StoreError, StoreResult};

/// Why a family was revoked; stored for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Logout,
    Revoked,
    /// A consumed refresh token was presented again after the grace window (RFC 9700 §4.14.2).
    ReuseDetected,
    UserInactive,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::ReuseDetected => "reuse_detected",
            Self::UserInactive => "user_inactive",
        }
    }
}

/// What a feed entry names: a whole session or one access token. Stored as the
/// name of the claim it matches, `sid` or `jti`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedKind {
    /// A session: every token whose `sid` claim is the id.
    Session,
    /// One access token: the token whose `jti` claim is the id.
    AccessToken,
}

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub kind: RevokedKind,
    pub id: String,
    /// After this instant no token the entry concerns is valid anyway.
    pub relevant_until: i64,
}

impl Store {
    /// Revokes one family; returns false if it was unknown or already revoked.
    /// `relevant_until` bounds the expiry of the access tokens issued in it.
    pub async fn revoke_family(
        &self,
        id: &str,
        now: i64,
        reason: RevocationReason,
        relevant_until: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let revoked = revoke_families_in(&mut tx, ("id", id), now, reason, relevant_until).await?;
        tx.commit().await?;
        Ok(revoked == 1)
    }

    /// Revokes every live family of a user, offline ones included, and puts the
    /// user's expose tokens on the feed (they stay in place: a user enabled again
    /// gets them back at the issuer, but verifiers forget nothing early).
    pub async fn revoke_user_tokens(
        &self,
        user_id: &str,
        now: i64,
        reason: RevocationReason,
        feed: DeletionFeed,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let revoked = revoke_user_tokens_in(&mut tx, user_id, now, reason, feed).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Deletes a user and everything that belongs to them (sessions, refresh
    /// tokens, personal tokens), after putting all of it on the revocation feed,
    /// atomically. Token events stay, for the audit trail, and the username is
    /// remembered so that a realm file does not seed it again. Returns false when
    /// there is no such user.
    pub async fn delete_user(
        &self,
        realm: &str,
        username: &str,
        now: i64,
        feed: DeletionFeed,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query("SELECT id FROM users WHERE realm = $1 AND username = $2")
            .bind(realm)
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let user_id: String = row.try_get("id")?;
        revoke_user_tokens_in(&mut tx, &user_id, now, RevocationReason::UserInactive, feed).await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(&user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO deleted_users (realm, username, deleted_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(realm)
        .bind(username)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes a single access token (one that has no session to revoke instead).
    pub async fn revoke_access_token(
        &self,
        realm: &str,
        jti: &str,
        now: i64,
        relevant_until: i64,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        add_access_token_revocation(&mut conn, (realm, jti), now, relevant_until).await
    }

    pub async fn is_access_token_revoked(&self, realm: &str, jti: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM revocations WHERE realm = $1 AND kind = 'jti' AND id = $2",
        )
        .bind(realm)
        .bind(jti)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Feed entries of `realm` recorded at or after `since` that still matter at `now`.
    pub async fn revocations_since(
        &self,
        realm: &str,
        since: i64,
        now: i64,
    ) -> StoreResult<Vec<Revocation>> {
        let rows = sqlx::query(
            "SELECT kind, id, relevant_until FROM revocations \
             WHERE realm = $1 AND revoked_at >= $2 AND relevant_until > $3 \
             ORDER BY revoked_at, kind, id",
        )
        .bind(realm)
        .bind(since)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind = match row.try_get::<String, _>("kind")?.as_str() {
                    "sid" => RevokedKind::Session,
                    "jti" => RevokedKind::AccessToken,
                    _ => return Err(StoreError::Corrupt("unknown revocation kind")),
                };
                Ok(Revocation {
                    kind,
                    id: row.try_get("id")?,
                    relevant_until: row.try_get("relevant_until")?,
                })
            })
            .collect()
    }

    /// Deletes feed entries that no longer matter; returns how many.
    pub async fn purge_revocations(&self, now: i64) -> StoreResult<u64> {
        let result = sqlx::query("DELETE FROM revocations WHERE relevant_until <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}

/// Revokes the live families where `column = value` and writes their feed
/// entries, inside the caller's transaction. `column` is one of our own column
/// names, never input.
pub(crate) async fn revoke_families_in(
    conn: &mut sqlx::AnyConnection,
    (column, value): (&'static str, &str),
    now: i64,
    reason: RevocationReason,
    relevant_until: i64,
) -> StoreResult<u64> {
    // Concurrent revocations of one family both see it live; the second's entry
    // conflicts and is skipped, and its UPDATE then changes nothing.
    sqlx::query(&format!(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         SELECT realm, 'sid', id, $1, $2 FROM refresh_families \
         WHERE {column} = $3 AND revoked_at IS NULL \
         ON CONFLICT DO NOTHING"
    ))
    .bind(now)
    .bind(relevant_until)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    let revoked = sqlx::query(&format!(
        "UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2 \
         WHERE {column} = $3 AND revoked_at IS NULL"
    ))
    .bind(now)
    .bind(reason.as_str())
    .bind(value)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(revoked)
}

/// Revokes the user's families and puts their expose tokens on the feed, inside
/// the caller's transaction.
async fn revoke_user_tokens_in(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    now: i64,
    reason: RevocationReason,
    feed: DeletionFeed,
) -> StoreResult<u64> {
    // A write first, so that SQLite takes its write lock now (see `lock_user`).
    let revoked =
        revoke_families_in(conn, ("user_id", user_id), now, reason, feed.session_until).await?;
    sqlx::query(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         SELECT realm, 'jti', id, $1, COALESCE(expires_at, $2) + $3 FROM personal_tokens \
         WHERE user_id = $4 AND kind = 'expose' \
         ON CONFLICT DO NOTHING",
    )
    .bind(now)
    .bind(feed.session_until)
    .bind(feed.leeway)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(revoked)
}

/// Puts one token id on the feed, inside the caller's transaction.
pub(crate) async fn add_access_token_revocation(
    conn: &mut sqlx::AnyConnection,
    (realm, jti): (&str, &str),
    now: i64,
    relevant_until: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         VALUES ($1, 'jti', $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(realm)
    .bind(jti)
    .bind(now)
    .bind(relevant_until)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_leave_the_feed_when_their_tokens_expire_and_are_then_purged() {
        let (store, dir) = crate::test_store("revocations").await;
        store
            .revoke_access_token("r", "short", 10, 100)
            .await
            .unwrap();
        store
            .revoke_access_token("r", "long", 20, 500)
            .await
            .unwrap();
        let ids = |entries: Vec<Revocation>| -> Vec<String> {
            entries.into_iter().map(|entry| entry.id).collect()
        };
        assert_eq!(
            ids(store.revocations_since("r", 0, 99).await.unwrap()),
            ["short", "long"]
        );
        assert_eq!(
            ids(store.revocations_since("r", 15, 99).await.unwrap()),
            ["long"]
        );
        assert_eq!(
            ids(store.revocations_since("r", 0, 100).await.unwrap()),
            ["long"]
        );
        assert!(store.is_access_token_revoked("r", "short").await.unwrap());
        assert_eq!(store.purge_revocations(100).await.unwrap(), 1);
        assert!(!store.is_access_token_revoked("r", "short").await.unwrap());
        assert!(store.is_access_token_revoked("r", "long").await.unwrap());
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
