//! Revocation: ending sessions and single access tokens, and the feed that tells
//! resource servers verifying JWTs locally about it.
//!
//! Every revocation writes a feed entry in the same transaction, so the feed never
//! misses a revocation that took effect and never reports one that did not.

use std::time::Duration;

use sqlx::Row;

use crate::company_tokens::{feed_company_tokens, retire_company_tokens, CompanyTokenScope};
use crate::rows::PersonalTokenKind;
use crate::time::duration_millis;
use crate::{
    Audit, BrowserSessionId, SessionId, Store, StoreError, StoreResult, Timestamp, UserId,
};

/// How long the revocation-feed entries of deleted tokens matter.
#[derive(Debug, Clone, Copy)]
pub struct DeletionFeed {
    /// For a client token's session: when its last access token has expired.
    pub session_until: Timestamp,
    /// For an expose token: when no verifier can still hold a cached "active"
    /// introspection answer for it (or its expiry plus `leeway`, if sooner).
    pub expose_until: Timestamp,
    /// Verifiers' clock leeway, added to an expose token's own expiry.
    pub leeway: Duration,
}

impl DeletionFeed {
    /// How long the feed entry of an expose token expiring at `expires_at` matters.
    pub fn expose_entry_until(&self, expires_at: Option<Timestamp>) -> Timestamp {
        expires_at.map_or(self.expose_until, |at| {
            at.saturating_add(self.leeway).min(self.expose_until)
        })
    }
}

/// Why a family was revoked; stored for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Logout,
    /// An authorization code was presented again (RFC 6749 §4.1.2): the
    /// session started with it is revoked.
    CodeReplayed,
    Revoked,
    /// A consumed refresh token was presented again after the grace window (RFC 9700 §4.14.2).
    ReuseDetected,
    UserInactive,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::CodeReplayed => "code_replayed",
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
    /// Not revoked: what introspection says of the token with this id changed
    /// (a token profile edited, disabled or enabled), so cached answers go.
    Changed,
}

impl RevokedKind {
    /// The claim the entry matches, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Session => "sid",
            Self::AccessToken => "jti",
            Self::Changed => "changed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "sid" => Some(Self::Session),
            "jti" => Some(Self::AccessToken),
            "changed" => Some(Self::Changed),
            _ => None,
        }
    }
}

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub kind: RevokedKind,
    pub id: String,
    pub revoked_at: Timestamp,
    /// After this instant no token the entry concerns is valid anyway.
    pub relevant_until: Timestamp,
}

/// Where a page of the feed starts: at an instant, or right after an entry
/// (the last of a full page). Entries are ordered by (`revoked_at`, kind, id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStart {
    At(Timestamp),
    After {
        revoked_at: Timestamp,
        kind: RevokedKind,
        id: String,
    },
}

impl Store {
    /// Revokes one family; returns false if it was unknown or already revoked.
    /// `relevant_until` bounds the expiry of the access tokens issued in it.
    pub async fn revoke_family(
        &self,
        id: &SessionId,
        now: Timestamp,
        reason: RevocationReason,
        relevant_until: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let revoked =
            revoke_families_in(&mut tx, Families::One(id), now, reason, relevant_until).await?;
        tx.commit().await?;
        Ok(revoked == 1)
    }

    /// Revokes every live family of a user, offline ones included, and puts the
    /// user's expose tokens on the feed (they stay in place: a user enabled again
    /// gets them back at the issuer, but verifiers forget nothing early).
    pub async fn revoke_user_tokens(
        &self,
        user_id: &UserId,
        now: Timestamp,
        reason: RevocationReason,
        feed: DeletionFeed,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let revoked = revoke_user_tokens_in(&mut tx, user_id, now, reason, feed).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Deletes a user and everything that belongs to them (sessions, refresh
    /// tokens, personal tokens, company tokens, memberships), after putting all
    /// of it on the revocation feed, atomically. Token events stay, for the audit trail, and the username is
    /// remembered so that a realm file does not seed it again. Returns false when
    /// there is no such user.
    pub async fn delete_user(
        &self,
        (realm, username): (&str, &str),
        (now, feed): (Timestamp, DeletionFeed),
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query("SELECT id FROM users WHERE realm = $1 AND username = $2")
            .bind(realm)
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let user_id: UserId = row.try_get("id")?;
        revoke_user_tokens_in(&mut tx, &user_id, now, RevocationReason::UserInactive, feed).await?;
        let company_tokens = CompanyTokenScope::User(&user_id);
        retire_company_tokens(&mut tx, company_tokens, (now, &feed), audit).await?;
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
        now: Timestamp,
        relevant_until: Timestamp,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        add_token_entry(
            &mut conn,
            RevokedKind::AccessToken,
            (realm, jti),
            now,
            relevant_until,
        )
        .await
    }

    pub async fn is_access_token_revoked(&self, realm: &str, jti: &str) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM revocations WHERE realm = $1 AND kind = $3 AND id = $2",
        )
        .bind(realm)
        .bind(jti)
        .bind(RevokedKind::AccessToken.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// At most `limit` feed entries of `realm` from `start` on that still
    /// matter at `now`, in feed order.
    pub async fn revocations_page(
        &self,
        realm: &str,
        start: &FeedStart,
        now: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Revocation>> {
        const COLUMNS: &str = "SELECT kind, id, revoked_at, relevant_until FROM revocations";
        const ORDER: &str = "ORDER BY revoked_at, kind, id LIMIT $4";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match start {
            FeedStart::At(since) => {
                sqlx::query(&format!(
                    "{COLUMNS} WHERE realm = $1 AND revoked_at >= $2 AND relevant_until > $3 \
                     {ORDER}"
                ))
                .bind(realm)
                .bind(since)
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            FeedStart::After {
                revoked_at,
                kind,
                id,
            } => {
                sqlx::query(&format!(
                    "{COLUMNS} WHERE realm = $1 AND revoked_at >= $2 AND relevant_until > $3 \
                     AND (revoked_at > $2 OR kind > $5 OR (kind = $5 AND id > $6)) {ORDER}"
                ))
                .bind(realm)
                .bind(revoked_at)
                .bind(now)
                .bind(limit)
                .bind(kind.as_str())
                .bind(id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(Revocation {
                    kind: RevokedKind::parse(&kind)
                        .ok_or(StoreError::Corrupt("unknown revocation kind"))?,
                    id: row.try_get("id")?,
                    revoked_at: row.try_get("revoked_at")?,
                    relevant_until: row.try_get("relevant_until")?,
                })
            })
            .collect()
    }
}

/// Which families a revocation ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Families<'a> {
    One(&'a SessionId),
    OfUser(&'a UserId),
    /// The online families started from one browser session: a logout ends
    /// them, while offline ones outlive it (`offline_access`, as in Keycloak).
    OnlineOfBrowserSession(&'a BrowserSessionId),
}

impl<'a> Families<'a> {
    /// The condition on `refresh_families`, with the id as `$3`.
    fn condition(self) -> &'static str {
        match self {
            Self::One(_) => "id = $3",
            Self::OfUser(_) => "user_id = $3",
            Self::OnlineOfBrowserSession(_) => "browser_session_id = $3 AND offline = 0",
        }
    }

    fn id(self) -> &'a str {
        match self {
            Self::One(id) => id.as_str(),
            Self::OfUser(id) => id.as_str(),
            Self::OnlineOfBrowserSession(id) => id.as_str(),
        }
    }
}

/// Revokes the live families selected and writes their feed entries, inside
/// the caller's transaction.
pub(crate) async fn revoke_families_in(
    conn: &mut sqlx::AnyConnection,
    families: Families<'_>,
    now: Timestamp,
    reason: RevocationReason,
    relevant_until: Timestamp,
) -> StoreResult<u64> {
    let condition = families.condition();
    // Concurrent revocations of one family both see it live; the second's entry
    // conflicts and is skipped, and its UPDATE then changes nothing.
    sqlx::query(&format!(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         SELECT realm, $4, id, $1, $2 FROM refresh_families \
         WHERE {condition} AND revoked_at IS NULL \
         ON CONFLICT DO NOTHING"
    ))
    .bind(now)
    .bind(relevant_until)
    .bind(families.id())
    .bind(RevokedKind::Session.as_str())
    .execute(&mut *conn)
    .await?;
    let revoked = sqlx::query(&format!(
        "UPDATE refresh_families SET revoked_at = $1, revoked_reason = $2 \
         WHERE {condition} AND revoked_at IS NULL"
    ))
    .bind(now)
    .bind(reason.as_str())
    .bind(families.id())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(revoked)
}

/// Revokes the user's families and puts their expose tokens and token profiles
/// on the feed, inside the caller's transaction.
async fn revoke_user_tokens_in(
    conn: &mut sqlx::AnyConnection,
    user_id: &UserId,
    now: Timestamp,
    reason: RevocationReason,
    feed: DeletionFeed,
) -> StoreResult<u64> {
    let revoked = revoke_families_in(
        conn,
        Families::OfUser(user_id),
        now,
        reason,
        feed.session_until,
    )
    .await?;
    // Each entry matters until no verifier can hold a cached answer for the
    // token any more, or until the token expires (plus leeway) if sooner.
    sqlx::query(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         SELECT realm, $5, id, $1, \
           CASE WHEN expires_at IS NOT NULL AND expires_at + $3 < $2 \
             THEN expires_at + $3 ELSE $2 END \
         FROM personal_tokens WHERE user_id = $4 AND kind IN ($6, $7) \
         ON CONFLICT DO NOTHING",
    )
    .bind(now)
    .bind(feed.expose_until)
    .bind(duration_millis(feed.leeway))
    .bind(user_id)
    .bind(RevokedKind::AccessToken.as_str())
    .bind(PersonalTokenKind::BEARER[0].as_str())
    .bind(PersonalTokenKind::BEARER[1].as_str())
    .execute(&mut *conn)
    .await?;
    feed_company_tokens(conn, CompanyTokenScope::User(user_id), (now, &feed)).await?;
    Ok(revoked)
}

/// Puts one token on the feed, inside the caller's transaction: revoked
/// (`AccessToken`) or changed (`Changed`). A later entry of the same kind for
/// the same token moves it to its own time, so that a verifier polling since
/// the first one sees it again.
pub(crate) async fn add_token_entry(
    conn: &mut sqlx::AnyConnection,
    kind: RevokedKind,
    (realm, jti): (&str, &str),
    now: Timestamp,
    relevant_until: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         VALUES ($1, $5, $2, $3, $4) ON CONFLICT (realm, kind, id) DO UPDATE \
         SET revoked_at = excluded.revoked_at, relevant_until = excluded.relevant_until",
    )
    .bind(realm)
    .bind(jti)
    .bind(now)
    .bind(relevant_until)
    .bind(kind.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives each of `ids` a `changed` feed entry mattering until `notice_until`.
pub(crate) async fn announce_changed(
    conn: &mut sqlx::AnyConnection,
    realm: &str,
    ids: &[String],
    (now, notice_until): (Timestamp, Timestamp),
) -> StoreResult<()> {
    for id in ids {
        add_token_entry(
            &mut *conn,
            RevokedKind::Changed,
            (realm, id),
            now,
            notice_until,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    #[tokio::test]
    async fn entries_leave_the_feed_when_their_tokens_expire_and_are_then_purged() {
        let (store, dir) = crate::test_store("revocations").await;
        store
            .revoke_access_token("r", "short", at(10), at(100))
            .await
            .unwrap();
        store
            .revoke_access_token("r", "long", at(20), at(500))
            .await
            .unwrap();
        let ids = |entries: Vec<Revocation>| -> Vec<String> {
            entries.into_iter().map(|entry| entry.id).collect()
        };
        let page = |start: FeedStart, now: i64, limit: usize| {
            let store = &store;
            async move {
                ids(store
                    .revocations_page("r", &start, at(now), limit)
                    .await
                    .unwrap())
            }
        };
        assert_eq!(page(FeedStart::At(at(0)), 99, 10).await, ["short", "long"]);
        assert_eq!(page(FeedStart::At(at(15)), 99, 10).await, ["long"]);
        assert_eq!(page(FeedStart::At(at(0)), 100, 10).await, ["long"]);
        // Pages continue right after their last entry, ties on time included.
        store
            .revoke_access_token("r", "a-tie", at(20), at(500))
            .await
            .unwrap();
        assert_eq!(page(FeedStart::At(at(0)), 99, 2).await, ["short", "a-tie"]);
        let after = |revoked_at, id: &str| FeedStart::After {
            revoked_at: at(revoked_at),
            kind: RevokedKind::AccessToken,
            id: id.to_owned(),
        };
        assert_eq!(page(after(20, "a-tie"), 99, 2).await, ["long"]);
        assert_eq!(page(after(10, "short"), 99, 1).await, ["a-tie"]);
        assert!(page(after(20, "long"), 99, 2).await.is_empty());
        assert!(store.is_access_token_revoked("r", "short").await.unwrap());
        let cutoffs = crate::RetentionCutoffs {
            now: at(100),
            events_before: at(0),
            consumed_before: at(0),
            revoked_before: at(0),
            attempts_before: at(0),
            grants_expired_before: at(0),
        };
        assert_eq!(store.purge(cutoffs).await.unwrap().revocations, 1);
        assert!(!store.is_access_token_revoked("r", "short").await.unwrap());
        assert!(store.is_access_token_revoked("r", "long").await.unwrap());
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
