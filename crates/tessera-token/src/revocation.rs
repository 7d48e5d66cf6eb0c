//! Revoking sessions and access tokens, and the revocation feed that carries each
//! revocation to resource servers verifying JWTs locally.

use tessera_proto::{RevocationFeed, RevokedEntry};
use tessera_store::{DeletionFeed, RevocationReason, RevokedKind};

use crate::{now_millis, ClientCredentials, Realm, TokenError, TokenService};

/// Feed entries outlive the tokens they concern by this much, so that resource
/// servers whose clock leeway accepts a token briefly past `exp` still refuse it.
pub const FEED_LEEWAY_MS: i64 = 60_000;

/// Consecutive feed windows overlap by this much. A revocation is stamped before
/// its transaction commits and nodes' clocks differ a little; the overlap makes
/// sure a poll never skips an entry committed just after the previous poll.
const FEED_OVERLAP_MS: i64 = 30_000;

impl TokenService {
    /// Revokes one session and publishes it on the feed; false if it was unknown
    /// or already revoked.
    pub(crate) async fn revoke_session(
        &self,
        realm: &Realm,
        sid: &str,
        now: i64,
        reason: RevocationReason,
    ) -> Result<bool, TokenError> {
        let until = session_relevant_until(realm, now);
        Ok(self.store.revoke_family(sid, now, reason, until).await?)
    }

    /// Revokes every live session of a user, offline ones included, and puts
    /// their expose tokens on the feed.
    pub(crate) async fn revoke_user_sessions(
        &self,
        realm: &Realm,
        user_id: &str,
        now: i64,
        reason: RevocationReason,
    ) -> Result<u64, TokenError> {
        Ok(self
            .store
            .revoke_user_tokens(user_id, now, reason, deletion_feed(realm, now))
            .await?)
    }

    /// Revokes one access token that has no session; `exp` is its `exp` claim.
    pub(crate) async fn revoke_single_access_token(
        &self,
        realm: &Realm,
        jti: &str,
        exp: i64,
        now: i64,
    ) -> Result<(), TokenError> {
        let until = exp.saturating_mul(1000).saturating_add(FEED_LEEWAY_MS);
        Ok(self
            .store
            .revoke_access_token(&realm.name, jti, now, until)
            .await?)
    }

    /// The revocation feed, for confidential clients: the sessions and access
    /// tokens revoked since `since` (a cursor from an earlier answer; `None` for
    /// everything that still matters), each until its tokens have expired.
    pub async fn revocation_feed(
        &self,
        realm: &str,
        credentials: &ClientCredentials,
        since: Option<&str>,
    ) -> Result<RevocationFeed, TokenError> {
        let state = self.realm(realm)?;
        let client = self.authenticate_client(&state.config, credentials)?;
        if !client.is_confidential() {
            return Err(TokenError::ConfidentialClientRequired);
        }
        let now = now_millis();
        let from = match since {
            None => 0,
            Some(cursor) => parse_cursor(cursor)?
                .min(now)
                .saturating_sub(FEED_OVERLAP_MS),
        };
        let revocations = self
            .store
            .revocations_since(realm, from, now)
            .await?
            .into_iter()
            .map(|entry| {
                let (sid, jti) = match entry.kind {
                    RevokedKind::Session => (Some(entry.id), None),
                    RevokedKind::AccessToken => (None, Some(entry.id)),
                };
                RevokedEntry {
                    sid,
                    jti,
                    // A NumericDate, rounded up so the entry is never dropped early.
                    until: entry.relevant_until.saturating_add(999) / 1000,
                }
            })
            .collect();
        Ok(RevocationFeed {
            revocations,
            next_cursor: now.to_string(),
        })
    }

    /// Deletes revocation entries whose tokens have all expired; returns how many.
    pub async fn purge_expired_revocations(&self) -> Result<u64, TokenError> {
        Ok(self.store.purge_revocations(now_millis()).await?)
    }
}

/// How long the feed entries of what is revoked at `now` matter.
pub(crate) fn deletion_feed(realm: &Realm, now: i64) -> DeletionFeed {
    DeletionFeed {
        session_until: session_relevant_until(realm, now),
        leeway: FEED_LEEWAY_MS,
    }
}

/// Every access token of a session revoked at `now` expires by then (plus leeway).
fn session_relevant_until(realm: &Realm, now: i64) -> i64 {
    now.saturating_add(realm.max_jwt_lifetime())
        .saturating_add(FEED_LEEWAY_MS)
}

/// Cursors are the server's clock in milliseconds; callers treat them as opaque.
fn parse_cursor(cursor: &str) -> Result<i64, TokenError> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|millis| *millis >= 0)
        .ok_or_else(|| {
            TokenError::InvalidRequest(
                "since must be a next_cursor returned by this endpoint".to_owned(),
            )
        })
}
